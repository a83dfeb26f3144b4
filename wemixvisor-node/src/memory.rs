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

/// One executable mapping of `/proc/self/maps`: start, length.
fn exec_ranges(maps: &str, exe: &Path) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let range = f.next()?;
            let perms = f.next()?;
            let path = f.nth(3)?;
            // Only code (never written, so no private copy to lose), and
            // only this program's own file.
            if perms != "r-xp" || Path::new(path) != exe {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            let start = usize::from_str_radix(a, 16).ok()?;
            let end = usize::from_str_radix(b, 16).ok()?;
            (end > start).then(|| (start, end - start))
        })
        .collect()
}

/// Drops the mappings of this executable's code pages (`MADV_DONTNEED` on
/// its `r-xp` mappings); returns the bytes advised. Linux only; elsewhere
/// it does nothing.
pub fn release_code_pages() -> std::io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let exe = std::fs::read_link("/proc/self/exe")?;
        let maps = std::fs::read_to_string("/proc/self/maps")?;
        let mut total = 0;
        for (start, len) in exec_ranges(&maps, &exe) {
            let Some(addr) = std::ptr::NonNull::new(start as *mut std::ffi::c_void) else {
                continue;
            };
            #[allow(unsafe_code)]
            // SAFETY: the range is a whole read-only, executable, private
            // mapping of this program's file, as the kernel lists it. Code
            // pages are never written, so there is no private copy to
            // discard: MADV_DONTNEED only unmaps the pages, and the next
            // use faults the same bytes back in from the file.
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
    fn only_this_programs_code_mappings() {
        let maps = "\
55d0c0000000-55d0c0100000 r--p 00000000 fd:01 42 /usr/bin/wemixvisor
55d0c0100000-55d0c0900000 r-xp 00100000 fd:01 42 /usr/bin/wemixvisor
55d0c0900000-55d0c0a00000 r--p 00900000 fd:01 42 /usr/bin/wemixvisor
55d0c0a00000-55d0c0a10000 rw-p 00a00000 fd:01 42 /usr/bin/wemixvisor
7f0000000000-7f0000100000 r-xp 00000000 fd:01 7 /usr/lib/libc.so.6
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0 [vdso]
";
        assert_eq!(
            exec_ranges(maps, Path::new("/usr/bin/wemixvisor")),
            vec![(0x55d0c0100000, 0x800000)]
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
