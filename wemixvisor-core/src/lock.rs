//! Pid files held under an exclusive `flock`, so that one supervisor owns a
//! home at a time and a stale file from a dead process never blocks a start.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use crate::CoreError;

/// An exclusive lock on a pid file, released when dropped.
///
/// The lock is an advisory `flock` on the open file: the kernel drops it when
/// the process dies, so a pid file left by a crashed supervisor is simply
/// re-locked and overwritten.
#[derive(Debug)]
pub struct PidLock {
    path: PathBuf,
    _file: Flock<File>,
}

/// Times `acquire` reopens the path when the file it locked was replaced
/// between open and lock.
const REPLACED_RETRIES: usize = 8;

/// `(device, inode)` of an open file and of a path.
fn same_file(file: &File, path: &Path) -> Result<bool, std::io::Error> {
    use std::os::unix::fs::MetadataExt;
    let a = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(b) => Ok(a.dev() == b.dev() && a.ino() == b.ino()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// The first line of a pid file as a pid (0 and garbage are `None`).
fn parse_pid(s: &str) -> Option<u32> {
    s.lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .filter(|&p| p > 0)
}

impl PidLock {
    /// Takes the lock and writes this process's pid into the file.
    ///
    /// Fails with [`CoreError::Locked`] naming the holder's pid when another
    /// live process holds it. After locking, the locked file is checked to
    /// still be the one at `path` (a releasing holder unlinks it, and
    /// another process may have created a new one in between); if not, the
    /// path is opened and locked again.
    pub fn acquire(path: &Path) -> Result<Self, CoreError> {
        Self::acquire_with(path, || {})
    }

    /// [`Self::acquire`] with a hook run between open and lock (tests
    /// replace the file there).
    fn acquire_with(path: &Path, mut between: impl FnMut()) -> Result<Self, CoreError> {
        for _ in 0..REPLACED_RETRIES {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(|e| CoreError::io("open", path, e))?;
            between();
            let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(f) => f,
                Err((mut file, _)) => {
                    let mut s = String::new();
                    let _ = file.read_to_string(&mut s);
                    return Err(CoreError::Locked {
                        path: path.to_path_buf(),
                        pid: parse_pid(&s).unwrap_or(0),
                    });
                }
            };
            if !same_file(&file, path).map_err(|e| CoreError::io("stat", path, e))? {
                // Locked an unlinked or replaced file: that lock guards
                // nothing. Unlock (drop) and try the file now at `path`.
                continue;
            }
            // Write the pid over the old text, then cut the rest, so a
            // concurrent `holder` reads either the old or the new first line.
            let pid = format!("{}\n", std::process::id());
            file.seek(SeekFrom::Start(0))
                .and_then(|_| file.write_all(pid.as_bytes()))
                .and_then(|_| file.set_len(pid.len() as u64))
                .and_then(|_| file.sync_all())
                .map_err(|e| CoreError::io("write", path, e))?;
            return Ok(PidLock {
                path: path.to_path_buf(),
                _file: file,
            });
        }
        Err(CoreError::io(
            "lock",
            path,
            std::io::Error::other(format!(
                "the file was replaced {REPLACED_RETRIES} times while being locked"
            )),
        ))
    }

    /// The pid file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the pid of the process holding `path`, or `None` when nobody
    /// holds it (no file, an empty or unreadable one, or a stale file of a
    /// dead process).
    ///
    /// Never locks: a probe holding the lock even for a moment would make a
    /// concurrent [`Self::acquire`] fail. It reads the recorded pid and
    /// checks that the process lives, so a stale file whose pid was reused
    /// by another process reads as held; [`Self::acquire`] stays the
    /// authority (it takes over a stale file).
    pub fn holder(path: &Path) -> Option<u32> {
        let s = std::fs::read_to_string(path).ok()?;
        parse_pid(&s).filter(|&pid| pid_alive(pid))
    }
}

impl Drop for PidLock {
    fn drop(&mut self) {
        // Removing the file first, then unlocking (when `_file` drops) keeps a
        // racing acquirer from locking a file that is about to disappear.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// True when a process with this pid exists (it may belong to another user).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 0 {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_is_refused_with_holder_pid() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pid");
        let lock = PidLock::acquire(&p).unwrap();
        match PidLock::acquire(&p) {
            Err(CoreError::Locked { pid, .. }) => assert_eq!(pid, std::process::id()),
            other => panic!("expected Locked, got {other:?}"),
        }
        assert_eq!(PidLock::holder(&p), Some(std::process::id()));
        drop(lock);
        assert!(!p.exists());
        assert_eq!(PidLock::holder(&p), None);
    }

    #[test]
    fn stale_pid_file_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pid");
        std::fs::write(&p, "999999\n").unwrap();
        assert_eq!(PidLock::holder(&p), None);
        let _lock = PidLock::acquire(&p).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert_eq!(s.trim(), std::process::id().to_string());
    }

    /// `holder` racing `acquire` never makes `acquire` fail.
    #[test]
    fn holder_never_makes_acquire_fail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pid");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let prober = {
            let (p, stop) = (p.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut seen = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if PidLock::holder(&p) == Some(std::process::id()) {
                        seen += 1;
                    }
                }
                seen
            })
        };
        for i in 0..300 {
            match PidLock::acquire(&p) {
                Ok(lock) => drop(lock),
                Err(e) => panic!("acquire {i} failed while holder() probed: {e}"),
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        prober.join().unwrap();
    }

    /// The file unlinked and recreated between open and lock is noticed:
    /// the lock ends up on the file at the path, not on the orphan.
    #[test]
    fn replaced_lock_file_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pid");
        let mut replaced = 0;
        let lock = PidLock::acquire_with(&p, || {
            if replaced == 0 {
                std::fs::remove_file(&p).unwrap();
                std::fs::write(&p, "").unwrap();
            }
            replaced += 1;
        })
        .unwrap();
        assert_eq!(replaced, 2, "the replaced file was locked and kept");
        // The lock is on the file now at the path.
        assert!(matches!(
            PidLock::acquire(&p),
            Err(CoreError::Locked { pid, .. }) if pid == std::process::id()
        ));
        assert_eq!(PidLock::holder(&p), Some(std::process::id()));
        drop(lock);

        // A path replaced on every attempt ends in an error, not a lock.
        let err = PidLock::acquire_with(&p, || {
            let _ = std::fs::remove_file(&p);
            std::fs::write(&p, "").unwrap();
        })
        .unwrap_err();
        assert!(err.to_string().contains("replaced"), "{err}");
    }

    #[test]
    fn pid_alive_self_and_nonsense() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
        assert!(!pid_alive(u32::MAX));
    }
}
