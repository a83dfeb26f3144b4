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

impl PidLock {
    /// Takes the lock and writes this process's pid into the file.
    ///
    /// Fails with [`CoreError::Locked`] naming the holder's pid when another
    /// live process holds it.
    pub fn acquire(path: &Path) -> Result<Self, CoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| CoreError::io("open", path, e))?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(f) => f,
            Err((mut file, _)) => {
                let mut s = String::new();
                let _ = file.read_to_string(&mut s);
                return Err(CoreError::Locked {
                    path: path.to_path_buf(),
                    pid: s.trim().parse().unwrap_or(0),
                });
            }
        };
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|_| file.sync_all())
            .map_err(|e| CoreError::io("write", path, e))?;
        Ok(PidLock {
            path: path.to_path_buf(),
            _file: file,
        })
    }

    /// The pid file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the pid of the process holding `path`, or `None` when nobody
    /// holds it (no file, or a stale file of a dead process).
    pub fn holder(path: &Path) -> Option<u32> {
        let file = OpenOptions::new().read(true).write(true).open(path).ok()?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(_unlocked_on_drop) => None,
            Err((mut file, _)) => {
                let mut s = String::new();
                file.read_to_string(&mut s).ok()?;
                s.trim().parse().ok()
            }
        }
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

    #[test]
    fn pid_alive_self_and_nonsense() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
        assert!(!pid_alive(u32::MAX));
    }
}
