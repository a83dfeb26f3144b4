//! The one-pass copy: every byte is read once, hashed and written in the same
//! pass (or cloned by the filesystem and then hashed from the clone), plus
//! the small filesystem helpers around it (free space, durability).

use std::cell::RefCell;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use filetime::FileTime;
use sha2::{Digest, Sha256};

use crate::progress::{CancelFlag, Progress};
use crate::BackupError;

/// Size of the per-thread copy buffer.
const CHUNK: usize = 1 << 20;

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Shared state of one copy job (a snapshot or a restore).
pub(crate) struct Copier<'a> {
    pub progress: &'a dyn Progress,
    pub cancel: &'a CancelFlag,
    /// Still worth trying copy-on-write clones (cleared on the first
    /// "not supported" answer, so unsupported filesystems pay once).
    pub try_clone: AtomicBool,
    /// Fsync each file as it is written (where `syncfs` is not available).
    pub fsync_each: bool,
    /// Still worth trying `copy_file_range` (cleared when the kernel refuses).
    /// Read on Linux only: elsewhere every copy goes through user space.
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    pub kernel_copy: AtomicBool,
}

/// What a copy produced.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Copied {
    /// Bytes copied (the size of the copy, which is what was hashed).
    pub size: u64,
    /// Sha256 of the copy.
    pub sha256: [u8; 32],
    /// True when the filesystem cloned the data (reflink).
    pub cloned: bool,
}

/// Result of copying one file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CopyOutcome {
    /// The copy was made.
    Copied(Copied),
    /// The source disappeared before it could be opened.
    Vanished,
}

impl Copier<'_> {
    /// Copies `src` to the new file `dst` (which must not exist), hashing the
    /// bytes on the way, then sets `mode` and `mtime` on the copy. On failure
    /// the partial copy is removed.
    pub fn copy(
        &self,
        src: &Path,
        dst: &Path,
        mode: u32,
        mtime: Option<FileTime>,
    ) -> Result<CopyOutcome, BackupError> {
        self.check_cancel()?;
        if let Some(out) = self.clone_file(src, dst, mode, mtime)? {
            return Ok(out);
        }
        let src_f = match File::open(src) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(CopyOutcome::Vanished),
            Err(e) => return Err(BackupError::io("open", src, e)),
        };
        advise_sequential(&src_f);
        let dst_f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dst)
            .map_err(|e| BackupError::io("create", dst, e))?;
        let guard = RemoveOnDrop(Some(dst));
        let (size, sha256) = self.pump_into(&src_f, 0, &dst_f, src, dst)?;
        self.finish_file(&dst_f, dst, mode, mtime)?;
        guard.disarm();
        Ok(CopyOutcome::Copied(Copied {
            size,
            sha256,
            cloned: false,
        }))
    }

    /// Clones `src` to the new file `dst` where the filesystem supports it
    /// (reflink), hashes the clone, and sets `mode` and `mtime`. `Ok(None)`
    /// when no clone was made (unsupported: later calls stop trying).
    pub fn clone_file(
        &self,
        src: &Path,
        dst: &Path,
        mode: u32,
        mtime: Option<FileTime>,
    ) -> Result<Option<CopyOutcome>, BackupError> {
        if !self.try_clone.load(Ordering::Relaxed) {
            return Ok(None);
        }
        match reflink_copy::reflink(src, dst) {
            Ok(()) => {
                let guard = RemoveOnDrop(Some(dst));
                let f = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(dst)
                    .map_err(|e| BackupError::io("open the clone", dst, e))?;
                let (size, sha256) = self.pump(&f, None::<&File>, src, dst)?;
                self.finish_file(&f, dst, mode, mtime)?;
                guard.disarm();
                Ok(Some(CopyOutcome::Copied(Copied {
                    size,
                    sha256,
                    cloned: true,
                })))
            }
            Err(e) if e.kind() == ErrorKind::NotFound && !src.exists() => {
                Ok(Some(CopyOutcome::Vanished))
            }
            Err(e) => {
                // The clone attempt removes what it created. Unsupported:
                // stop trying. Anything else: the caller falls back to a
                // plain copy, which reports a real error (permissions, space).
                if clone_unsupported(&e) {
                    self.try_clone.store(false, Ordering::Relaxed);
                }
                Ok(None)
            }
        }
    }

    /// Copies the bytes of `src` from `offset` on into the new file `dst`,
    /// hashing them. `Ok(None)` when `src` is gone or now shorter than
    /// `offset`. Sets `mode` (the mtime is not meaningful for a segment).
    pub fn copy_tail(
        &self,
        src: &Path,
        offset: u64,
        dst: &Path,
        mode: u32,
    ) -> Result<Option<(u64, [u8; 32])>, BackupError> {
        self.check_cancel()?;
        let src_f = match File::open(src) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(BackupError::io("open", src, e)),
        };
        let len = src_f
            .metadata()
            .map_err(|e| BackupError::io("stat", src, e))?
            .len();
        if len < offset {
            return Ok(None);
        }
        let dst_f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dst)
            .map_err(|e| BackupError::io("create", dst, e))?;
        let guard = RemoveOnDrop(Some(dst));
        let out = self.pump_into(&src_f, offset, &dst_f, src, dst)?;
        self.finish_file(&dst_f, dst, mode, None)?;
        guard.disarm();
        Ok(Some(out))
    }

    /// Appends the whole of `src` to `dst` (at its current end), hashing
    /// what was appended. `Ok(None)` when `src` is missing.
    pub fn append(
        &self,
        src: &Path,
        dst: &File,
        dst_path: &Path,
    ) -> Result<Option<(u64, [u8; 32])>, BackupError> {
        self.check_cancel()?;
        let src_f = match File::open(src) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(BackupError::io("open", src, e)),
        };
        advise_sequential(&src_f);
        self.pump_into(&src_f, 0, dst, src, dst_path).map(Some)
    }

    /// Sets mode and mtime on a file assembled with [`Copier::append`], and
    /// fsyncs it where each file must be.
    pub fn finish(
        &self,
        f: &File,
        path: &Path,
        mode: u32,
        mtime: Option<FileTime>,
    ) -> Result<(), BackupError> {
        self.finish_file(f, path, mode, mtime)
    }

    /// Copies `src` from `offset` to its end onto `dst` at its current
    /// position, in the kernel (`copy_file_range`) where it can, hashing the
    /// copied range from the page cache; read and write otherwise.
    fn pump_into(
        &self,
        src: &File,
        offset: u64,
        dst: &File,
        src_path: &Path,
        dst_path: &Path,
    ) -> Result<(u64, [u8; 32]), BackupError> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if self.kernel_copy.load(Ordering::Relaxed) {
            match self.pump_kernel(src, offset, dst, src_path, dst_path)? {
                Some(out) => return Ok(out),
                None => self.kernel_copy.store(false, Ordering::Relaxed),
            }
        }
        let mut s = src;
        std::io::Seek::seek(&mut s, std::io::SeekFrom::Start(offset))
            .map_err(|e| BackupError::io("seek", src_path, e))?;
        self.pump(src, Some(dst), src_path, dst_path)
    }

    /// `copy_file_range` loop; `Ok(None)` when the kernel refuses before
    /// anything was copied (then the caller falls back to read and write).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn pump_kernel(
        &self,
        src: &File,
        offset: u64,
        dst: &File,
        src_path: &Path,
        dst_path: &Path,
    ) -> Result<Option<(u64, [u8; 32])>, BackupError> {
        use nix::errno::Errno;
        use std::os::unix::fs::FileExt;
        BUF.with(|cell| {
            let mut buf = cell.borrow_mut();
            if buf.len() != CHUNK {
                buf.resize(CHUNK, 0);
            }
            let mut hasher = Sha256::new();
            let mut total = 0u64;
            let mut off_in = i64::try_from(offset).map_err(|_| {
                BackupError::io("seek", src_path, std::io::Error::other("offset too large"))
            })?;
            loop {
                self.check_cancel()?;
                let start = off_in;
                let n = match nix::fcntl::copy_file_range(src, Some(&mut off_in), dst, None, CHUNK)
                {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(Errno::EINTR) => continue,
                    Err(Errno::EXDEV | Errno::ENOSYS | Errno::EINVAL | Errno::EOPNOTSUPP)
                        if total == 0 =>
                    {
                        return Ok(None)
                    }
                    Err(e) => return Err(BackupError::io("copy", src_path, e.into())),
                };
                // Hash what was just copied, from the source's page cache.
                let mut done = 0usize;
                while done < n {
                    let pos = u64::try_from(start).unwrap_or(0) + done as u64;
                    let want = n - done;
                    match src.read_at(&mut buf[..want], pos) {
                        Ok(0) => {
                            return Err(BackupError::io(
                                "read",
                                src_path,
                                std::io::Error::new(
                                    ErrorKind::UnexpectedEof,
                                    "the file shrank while it was copied",
                                ),
                            ))
                        }
                        Ok(k) => {
                            hasher.update(&buf[..k]);
                            done += k;
                        }
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Err(BackupError::io("read", src_path, e)),
                    }
                }
                total += n as u64;
                self.progress.advance(n as u64);
            }
            let _ = dst_path;
            Ok(Some((total, hasher.finalize().into())))
        })
    }

    fn finish_file(
        &self,
        f: &File,
        path: &Path,
        mode: u32,
        mtime: Option<FileTime>,
    ) -> Result<(), BackupError> {
        if self.fsync_each {
            f.sync_all()
                .map_err(|e| BackupError::io("fsync", path, e))?;
        }
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| BackupError::io("chmod", path, e))?;
        if let Some(t) = mtime {
            filetime::set_file_handle_times(f, None, Some(t))
                .map_err(|e| BackupError::io("set the mtime of", path, e))?;
        }
        Ok(())
    }

    /// Hashes a whole file, reporting progress. `Ok(None)` when it is missing.
    pub fn hash(&self, path: &Path) -> Result<Option<(u64, [u8; 32])>, BackupError> {
        self.check_cancel()?;
        let f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(BackupError::io("open", path, e)),
        };
        advise_sequential(&f);
        self.pump(&f, None::<&File>, path, path).map(Some)
    }

    fn check_cancel(&self) -> Result<(), BackupError> {
        if self.cancel.is_cancelled() {
            Err(BackupError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Reads `src` to the end, hashing, and writing to `dst` when given.
    fn pump(
        &self,
        mut src: &File,
        mut dst: Option<&File>,
        src_path: &Path,
        dst_path: &Path,
    ) -> Result<(u64, [u8; 32]), BackupError> {
        BUF.with(|cell| {
            let mut buf = cell.borrow_mut();
            if buf.len() != CHUNK {
                buf.resize(CHUNK, 0);
            }
            let mut hasher = Sha256::new();
            let mut total = 0u64;
            loop {
                self.check_cancel()?;
                let n = match src.read(&mut buf[..]) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(BackupError::io("read", src_path, e)),
                };
                let chunk = &buf[..n];
                hasher.update(chunk);
                if let Some(d) = dst.as_mut() {
                    d.write_all(chunk)
                        .map_err(|e| BackupError::io("write", dst_path, e))?;
                }
                total += n as u64;
                self.progress.advance(n as u64);
            }
            Ok((total, hasher.finalize().into()))
        })
    }
}

/// Removes a half-written file unless disarmed.
struct RemoveOnDrop<'p>(Option<&'p Path>);

impl RemoveOnDrop<'_> {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

fn clone_unsupported(e: &std::io::Error) -> bool {
    use nix::libc;
    e.kind() == ErrorKind::Unsupported
        || matches!(
            e.raw_os_error(),
            Some(libc::EOPNOTSUPP | libc::EXDEV | libc::EINVAL | libc::ENOTTY | libc::ENOSYS)
        )
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn advise_sequential(f: &File) {
    use std::os::fd::AsRawFd;
    // Only a hint; a failure changes nothing.
    let _ = nix::fcntl::posix_fadvise(
        f.as_raw_fd(),
        0,
        0,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL,
    );
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn advise_sequential(_f: &File) {}

/// Lowercase hex of a digest.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

/// Bytes available to this user on the filesystem holding `path`.
pub(crate) fn available_bytes(path: &Path) -> Option<u64> {
    let st = nix::sys::statvfs::statvfs(path).ok()?;
    #[allow(clippy::useless_conversion)]
    let avail = u64::from(st.blocks_available()).saturating_mul(u64::from(st.fragment_size()));
    Some(avail)
}

/// Fails with [`BackupError::NoSpace`] when `needed` bytes (plus a 1 %
/// margin for metadata) do not fit on the filesystem holding `path`.
pub(crate) fn ensure_space(path: &Path, needed: u64) -> Result<(), BackupError> {
    let Some(available) = available_bytes(path) else {
        return Ok(());
    };
    let with_margin = needed.saturating_add(needed / 100).saturating_add(1 << 20);
    if with_margin > available {
        return Err(BackupError::NoSpace {
            path: path.to_path_buf(),
            needed: with_margin,
            available,
        });
    }
    Ok(())
}

/// True when files written one by one must be fsynced individually, because
/// the platform cannot flush a whole filesystem at the end.
pub(crate) const FSYNC_EACH_FILE: bool = !cfg!(any(target_os = "linux", target_os = "android"));

/// Makes everything written under `dir` durable: one `syncfs` on Linux; on
/// other systems files were fsynced one by one, and `dirs` are fsynced here.
pub(crate) fn make_durable<'a>(
    dir: &Path,
    dirs: impl IntoIterator<Item = &'a Path>,
) -> Result<(), BackupError> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::AsRawFd;
        let _ = dirs;
        let f = File::open(dir).map_err(|e| BackupError::io("open", dir, e))?;
        nix::unistd::syncfs(f.as_raw_fd())
            .map_err(|e| BackupError::io("sync the filesystem of", dir, e.into()))?;
        Ok(())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        for d in dirs {
            wemixvisor_core::atomic::fsync_dir(d)?;
        }
        wemixvisor_core::atomic::fsync_dir(dir)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn copy_hashes_in_one_pass_and_sets_mode_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let data: Vec<u8> = (0..(3 * CHUNK + 17)).map(|i| (i % 251) as u8).collect();
        fs::write(&src, &data).unwrap();
        let cancel = CancelFlag::new();
        let c = Copier {
            progress: &NoProgress,
            cancel: &cancel,
            try_clone: AtomicBool::new(true),
            fsync_each: true,
            kernel_copy: AtomicBool::new(true),
        };
        let dst = dir.path().join("dst");
        let t = FileTime::from_unix_time(1_700_000_000, 5);
        let CopyOutcome::Copied(out) = c.copy(&src, &dst, 0o400, Some(t)).unwrap() else {
            panic!("vanished")
        };
        assert_eq!(out.size, data.len() as u64);
        assert_eq!(to_hex(&out.sha256), to_hex(&Sha256::digest(&data)));
        assert_eq!(fs::read(&dst).unwrap(), data);
        let md = fs::metadata(&dst).unwrap();
        assert_eq!(md.permissions().mode() & 0o7777, 0o400);
        assert_eq!(FileTime::from_last_modification_time(&md), t);
        assert_eq!(c.hash(&dst).unwrap().unwrap(), (out.size, out.sha256));

        assert!(matches!(
            c.copy(&dir.path().join("gone"), &dir.path().join("x"), 0o400, None)
                .unwrap(),
            CopyOutcome::Vanished
        ));
        assert!(c.hash(&dir.path().join("gone")).unwrap().is_none());

        cancel.cancel();
        let e = c
            .copy(&src, &dir.path().join("y"), 0o400, None)
            .unwrap_err();
        assert!(matches!(e, BackupError::Cancelled));
        assert!(!dir.path().join("y").exists());
    }

    #[test]
    fn space_is_checked_up_front_and_errors_carry_help() {
        let dir = tempfile::tempdir().unwrap();
        ensure_space(dir.path(), 1).unwrap();
        let e = ensure_space(dir.path(), u64::MAX / 4).unwrap_err();
        assert!(matches!(e, BackupError::NoSpace { .. }), "{e}");
        let text = e.to_string();
        assert!(text.contains("need") && text.contains("help: "), "{text}");
        let full = BackupError::io(
            "write",
            dir.path(),
            std::io::Error::from_raw_os_error(nix::libc::ENOSPC),
        );
        assert!(matches!(full, BackupError::DiskFull { .. }), "{full}");
        let core: wemixvisor_core::CoreError = full.into();
        assert!(core.to_string().contains("backup prune"), "{core}");
    }

    #[test]
    fn clone_is_used_where_supported_and_given_up_once_refused() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let data: Vec<u8> = (0..100_000).map(|i| (i % 241) as u8).collect();
        fs::write(&src, &data).unwrap();
        let cancel = CancelFlag::new();
        let c = Copier {
            progress: &NoProgress,
            cancel: &cancel,
            try_clone: AtomicBool::new(true),
            fsync_each: false,
            kernel_copy: AtomicBool::new(true),
        };
        let dst = dir.path().join("dst");
        match c.clone_file(&src, &dst, 0o400, None).unwrap() {
            // A filesystem that clones (XFS, btrfs): hashed from the clone.
            Some(CopyOutcome::Copied(out)) => {
                assert!(out.cloned);
                assert_eq!(to_hex(&out.sha256), to_hex(&Sha256::digest(&data)));
                assert_eq!(fs::read(&dst).unwrap(), data);
                assert!(c.try_clone.load(Ordering::Relaxed));
            }
            Some(CopyOutcome::Vanished) => panic!("the source is there"),
            // ext4, tmpfs: refused once, never tried again, nothing left.
            None => {
                assert!(!c.try_clone.load(Ordering::Relaxed));
                assert!(!dst.exists());
                assert!(c.clone_file(&src, &dst, 0o400, None).unwrap().is_none());
                // The copy falls back to the kernel copy, still hashing.
                let CopyOutcome::Copied(out) = c.copy(&src, &dst, 0o400, None).unwrap() else {
                    panic!("vanished")
                };
                assert!(!out.cloned);
                assert_eq!(to_hex(&out.sha256), to_hex(&Sha256::digest(&data)));
                assert_eq!(fs::read(&dst).unwrap(), data);
            }
        }
        // A tail from an offset, by kernel copy and by read and write.
        for kernel in [true, false] {
            c.kernel_copy.store(kernel, Ordering::Relaxed);
            let tail = dir.path().join(format!("tail-{kernel}"));
            let (n, sha) = c.copy_tail(&src, 40_000, &tail, 0o400).unwrap().unwrap();
            assert_eq!(n, 60_000);
            assert_eq!(to_hex(&sha), to_hex(&Sha256::digest(&data[40_000..])));
            assert_eq!(fs::read(&tail).unwrap(), &data[40_000..]);
        }
        assert!(c
            .copy_tail(&src, 200_000, &dir.path().join("t"), 0o400)
            .unwrap()
            .is_none());
    }

    #[test]
    fn hex() {
        assert_eq!(to_hex(&[0x00, 0xab, 0x7f]), "00ab7f");
    }
}
