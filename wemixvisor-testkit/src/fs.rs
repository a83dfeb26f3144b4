//! [`FaultFs`]: a [`FileSystem`] that fails on purpose.
//!
//! It wraps a real file system (usually [`wemixvisor_core::OsFs`] over a temp
//! dir), records every call, and makes the n-th call of a chosen operation
//! (or of any fallible operation) fail with ENOSPC or EIO. A test loops
//! `n = 1..` until the operation under test succeeds, and checks after each
//! failure that nothing was lost or left half-done.
//!
//! Only fallible operations can fail; `exists`, `is_executable` and
//! `entry_exists` are recorded but always answer truthfully.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wemixvisor_core::{CoreError, FileSystem};

/// The kind of [`FileSystem`] call, for choosing where to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FsOp {
    /// `read`.
    Read,
    /// `write_atomic`.
    WriteAtomic,
    /// `replace_symlink`.
    ReplaceSymlink,
    /// `read_link`.
    ReadLink,
    /// `exists` (never fails).
    Exists,
    /// `is_executable` (never fails).
    IsExecutable,
    /// `create_dir_all`.
    CreateDirAll,
    /// `remove_file`.
    RemoveFile,
    /// `rename`.
    Rename,
    /// `remove_dir_all`.
    RemoveDirAll,
    /// `set_mode`.
    SetMode,
    /// `copy`.
    Copy,
    /// `read_dir`.
    ReadDir,
    /// `entry_exists` (never fails).
    EntryExists,
    /// `sync`.
    Sync,
}

/// The error to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// "No space left on device".
    NoSpace,
    /// "Input/output error".
    Io,
}

impl Fault {
    fn errno(self) -> i32 {
        match self {
            Fault::NoSpace => 28, // ENOSPC
            Fault::Io => 5,       // EIO
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// `(op or None for any fallible op, n, fault)`.
    plan: Option<(Option<FsOp>, usize, Fault)>,
    /// Fallible calls of the planned op seen so far.
    seen: usize,
    calls: Vec<(FsOp, PathBuf)>,
    injected: Option<(FsOp, PathBuf)>,
}

/// A [`FileSystem`] over `F` that records calls and injects one fault.
/// Clones share the plan and the record.
#[derive(Debug, Clone)]
pub struct FaultFs<F> {
    inner: F,
    state: Arc<Mutex<State>>,
}

impl<F: FileSystem> FaultFs<F> {
    /// Wraps `inner`, injecting nothing yet.
    pub fn new(inner: F) -> Self {
        FaultFs {
            inner,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Fails the `n`-th (1-based) call of `op` (of any fallible op when
    /// `None`) with `fault`; resets the counts and the record.
    pub fn fail_at(&self, op: Option<FsOp>, n: usize, fault: Fault) {
        let mut s = self.lock();
        *s = State {
            plan: Some((op, n, fault)),
            ..State::default()
        };
    }

    /// Injects nothing from now on; resets the counts and the record.
    pub fn clear(&self) {
        *self.lock() = State::default();
    }

    /// Every call since the last `fail_at`/`clear`, in order.
    pub fn calls(&self) -> Vec<(FsOp, PathBuf)> {
        self.lock().calls.clone()
    }

    /// The call that got the fault, if one did.
    pub fn injected(&self) -> Option<(FsOp, PathBuf)> {
        self.lock().injected.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A test that panicked while holding it has failed anyway.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, op: FsOp, path: &Path) {
        self.lock().calls.push((op, path.to_path_buf()));
    }

    /// Records a fallible call and says whether it must fail.
    fn check(&self, op: FsOp, path: &Path) -> Result<(), CoreError> {
        let mut s = self.lock();
        s.calls.push((op, path.to_path_buf()));
        let Some((want, n, fault)) = s.plan else {
            return Ok(());
        };
        if want.is_some_and(|w| w != op) {
            return Ok(());
        }
        s.seen += 1;
        if s.seen == n {
            s.injected = Some((op, path.to_path_buf()));
            return Err(CoreError::io(
                "injected",
                path,
                std::io::Error::from_raw_os_error(fault.errno()),
            ));
        }
        Ok(())
    }
}

impl<F: FileSystem> FileSystem for FaultFs<F> {
    fn read(&self, path: &Path) -> Result<Vec<u8>, CoreError> {
        self.check(FsOp::Read, path)?;
        self.inner.read(path)
    }
    fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> Result<(), CoreError> {
        self.check(FsOp::WriteAtomic, path)?;
        self.inner.write_atomic(path, data, mode)
    }
    fn replace_symlink(&self, link: &Path, target: &Path) -> Result<(), CoreError> {
        self.check(FsOp::ReplaceSymlink, link)?;
        self.inner.replace_symlink(link, target)
    }
    fn read_link(&self, link: &Path) -> Result<PathBuf, CoreError> {
        self.check(FsOp::ReadLink, link)?;
        self.inner.read_link(link)
    }
    fn exists(&self, path: &Path) -> bool {
        self.record(FsOp::Exists, path);
        self.inner.exists(path)
    }
    fn is_executable(&self, path: &Path) -> bool {
        self.record(FsOp::IsExecutable, path);
        self.inner.is_executable(path)
    }
    fn create_dir_all(&self, path: &Path) -> Result<(), CoreError> {
        self.check(FsOp::CreateDirAll, path)?;
        self.inner.create_dir_all(path)
    }
    fn remove_file(&self, path: &Path) -> Result<(), CoreError> {
        self.check(FsOp::RemoveFile, path)?;
        self.inner.remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<(), CoreError> {
        self.check(FsOp::Rename, from)?;
        self.inner.rename(from, to)
    }
    fn remove_dir_all(&self, path: &Path) -> Result<(), CoreError> {
        self.check(FsOp::RemoveDirAll, path)?;
        self.inner.remove_dir_all(path)
    }
    fn set_mode(&self, path: &Path, mode: u32) -> Result<(), CoreError> {
        self.check(FsOp::SetMode, path)?;
        self.inner.set_mode(path, mode)
    }
    fn copy(&self, from: &Path, to: &Path, mode: u32) -> Result<u64, CoreError> {
        self.check(FsOp::Copy, to)?;
        self.inner.copy(from, to, mode)
    }
    fn read_dir(&self, dir: &Path) -> Result<Vec<(PathBuf, bool)>, CoreError> {
        self.check(FsOp::ReadDir, dir)?;
        self.inner.read_dir(dir)
    }
    fn entry_exists(&self, path: &Path) -> bool {
        self.record(FsOp::EntryExists, path);
        self.inner.entry_exists(path)
    }
    fn sync(&self, path: &Path) -> Result<(), CoreError> {
        self.check(FsOp::Sync, path)?;
        self.inner.sync(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wemixvisor_core::OsFs;

    #[test]
    fn fails_exactly_the_nth_call_of_the_chosen_op() {
        let d = tempfile::tempdir().unwrap();
        let fs = FaultFs::new(OsFs);
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        fs.fail_at(Some(FsOp::WriteAtomic), 2, Fault::NoSpace);
        fs.write_atomic(&a, b"1", 0o600).unwrap();
        assert!(!fs.exists(&b));
        let e = fs.write_atomic(&b, b"2", 0o600).unwrap_err();
        assert!(e.to_string().contains("No space left"), "{e}");
        assert!(!b.exists(), "an injected failure does nothing");
        fs.write_atomic(&b, b"3", 0o600).unwrap();
        assert_eq!(fs.injected(), Some((FsOp::WriteAtomic, b.clone())));
        assert_eq!(fs.calls().len(), 4);

        fs.fail_at(None, 1, Fault::Io);
        let e = fs.sync(&a).unwrap_err();
        assert!(e.to_string().contains("Input/output"), "{e}");
        fs.clear();
        fs.sync(&a).unwrap();
    }
}
