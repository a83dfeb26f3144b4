//! Gives back the pages of the supervisor's own code that only start-up
//! needed.
//!
//! An idle supervisor's resident memory is mostly its executable's code:
//! every page start-up ran (argument parsing, configuration, recovery,
//! the first start) stays mapped, and the kernel maps the neighbours of
//! each page it faults in as well. Those pages are clean copies of the
//! file, so dropping the mappings loses nothing: code that runs again is
//! mapped again from the page cache, and what stays resident is what the
//! running loop actually uses.

use std::path::Path;

/// The mappings of `smaps` that are safe to drop: this program's file,
/// not writable, and holding no private (anonymous) copy of any page, so
/// every resident page is a clean copy of the file. That leaves out the
/// data the dynamic linker relocated before making it read-only.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // parsed on Linux only; tested everywhere
fn clean_ranges(smaps: &str, exe: &Path) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, usize)> = None;
    let mut flush = |cur: &mut Option<(usize, usize)>, anon_kb: Option<u64>| {
        if let (Some(r), Some(0)) = (cur.take(), anon_kb) {
            out.push(r);
        }
    };
    let mut anon_kb: Option<u64> = None;
    for l in smaps.lines() {
        let mut f = l.split_whitespace();
        let Some(first) = f.next() else { continue };
        if let Some((a, b)) = first.split_once('-') {
            let (Ok(start), Ok(end)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            else {
                continue;
            };
            flush(&mut cur, anon_kb);
            anon_kb = None;
            let perms = f.next().unwrap_or("");
            let path = f.nth(3);
            let ours = path.is_some_and(|p| Path::new(p) == exe);
            if ours && end > start && perms.starts_with('r') && !perms.contains('w') {
                cur = Some((start, end - start));
            }
        } else if first == "Anonymous:" {
            anon_kb = f.next().and_then(|v| v.parse().ok());
        }
    }
    flush(&mut cur, anon_kb);
    out
}

/// Drops this executable's clean read-only mappings (code, constants)
/// with `MADV_DONTNEED`; returns the bytes advised. Linux only; elsewhere
/// it does nothing.
pub fn release_code_pages() -> std::io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let exe = std::fs::read_link("/proc/self/exe")?;
        let smaps = std::fs::read_to_string("/proc/self/smaps")?;
        let mut total = 0;
        for (start, len) in clean_ranges(&smaps, &exe) {
            let Some(addr) = std::ptr::NonNull::new(start as *mut std::ffi::c_void) else {
                continue;
            };
            #[allow(unsafe_code)]
            // SAFETY: the range is a whole read-only private mapping of this
            // program's file holding no anonymous page, as the kernel lists
            // it; being read-only, nothing can write one into it since. So
            // there is no private copy to discard: MADV_DONTNEED only unmaps
            // clean pages, and the next use faults the same bytes back in
            // from the file.
            let r = unsafe {
                nix::sys::mman::madvise(addr, len, nix::sys::mman::MmapAdvise::MADV_DONTNEED)
            };
            r.map_err(std::io::Error::from)?;
            total += len;
        }
        Ok(total)
    }
    #[cfg(not(target_os = "linux"))]
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clean_read_only_mappings_of_this_program() {
        let smaps = "\
55d0c0000000-55d0c0100000 r--p 00000000 fd:01 42 /usr/bin/wemixvisor
Rss:                 900 kB
Anonymous:             0 kB
55d0c0100000-55d0c0900000 r-xp 00100000 fd:01 42 /usr/bin/wemixvisor
Anonymous:             0 kB
55d0c0900000-55d0c0a00000 r--p 00900000 fd:01 42 /usr/bin/wemixvisor
Anonymous:            64 kB
55d0c0a00000-55d0c0a10000 rw-p 00a00000 fd:01 42 /usr/bin/wemixvisor
Anonymous:             8 kB
7f0000000000-7f0000100000 r-xp 00000000 fd:01 7 /usr/lib/libc.so.6
Anonymous:             0 kB
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
Anonymous:          1024 kB
55d0c0b00000-55d0c0b01000 r--p 00b00000 fd:01 42 /usr/bin/wemixvisor
";
        assert_eq!(
            clean_ranges(smaps, Path::new("/usr/bin/wemixvisor")),
            // the relocated read-only data (anonymous pages) and a mapping
            // whose anonymous count is unknown are left alone
            vec![(0x55d0c0000000, 0x100000), (0x55d0c0100000, 0x800000)]
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_test_binary_keeps_running_after_its_code_pages_are_released() {
        let n = release_code_pages().unwrap();
        assert!(n > 0);
        // code runs again after the release: it is faulted back in
        let v: Vec<u64> = (1..=1000).collect();
        assert_eq!(v.iter().sum::<u64>(), 500_500);
    }
}
