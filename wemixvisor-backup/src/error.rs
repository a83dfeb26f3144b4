use std::path::{Path, PathBuf};

use wemixvisor_core::CoreError;

/// Everything that can go wrong while taking, checking, restoring or pruning
/// snapshots.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// An I/O operation on a path failed.
    #[error("{op} '{}': {source}", path.display())]
    Io {
        /// What was being done ("copy", "hard-link", ...).
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The filesystem holding a path ran out of space mid-way.
    #[error("no space left on the device holding '{}' while trying to {op}\nhelp: free space, or remove old snapshots with `wemixvisor backup prune`", path.display())]
    DiskFull {
        /// What was being done.
        op: &'static str,
        /// The path being written.
        path: PathBuf,
    },
    /// The filesystem does not have room for the operation, checked up front.
    #[error("not enough space on the device holding '{}': need {needed} bytes, {available} available\nhelp: free space, or remove old snapshots with `wemixvisor backup prune`", path.display())]
    NoSpace {
        /// Where the data would go.
        path: PathBuf,
        /// Bytes the operation must write.
        needed: u64,
        /// Bytes free for this user.
        available: u64,
    },
    /// A failure reported by the core primitives (atomic writes, locks).
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A snapshot name is not usable as part of a directory name.
    #[error("invalid snapshot name '{name}': {reason}\nhelp: use 1 to 64 letters, digits, '.', '_', '-' or '+', starting with a letter or digit")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An include or exclude glob does not parse.
    #[error("invalid backup pattern '{pattern}': {reason}\nhelp: fix `backup.include` / `backup.exclude` in wemixvisor.toml (globs relative to chain-data, e.g. \"logs/**\")")]
    BadPattern {
        /// The pattern given.
        pattern: String,
        /// Why it does not parse.
        reason: String,
    },
    /// No snapshot has this id.
    #[error("no snapshot '{id}'\nhelp: `wemixvisor backup list` shows the ids")]
    UnknownSnapshot {
        /// The id asked for.
        id: String,
    },
    /// More than one snapshot starts with this id.
    #[error("snapshot id '{id}' is ambiguous: it matches {}\nhelp: give the full id", candidates.join(", "))]
    AmbiguousSnapshot {
        /// The id asked for.
        id: String,
        /// The ids it matches.
        candidates: Vec<String>,
    },
    /// The snapshot has no (readable) manifest, so it is not a good snapshot.
    #[error("snapshot '{id}' is incomplete: {reason}\nhelp: it cannot be used; `wemixvisor backup prune` removes interrupted snapshots")]
    Incomplete {
        /// The snapshot id.
        id: String,
        /// Why (no manifest, unreadable manifest, ...).
        reason: String,
    },
    /// A manifest exists but cannot be read.
    #[error("manifest '{}' is unreadable: {reason}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// The parse error.
        reason: String,
    },
    /// The node (or the supervisor that restarts it) is running.
    #[error("{what} is running (pid {pid}, from '{}'); refusing to touch the chain data under it\nhelp: stop it first with `wemixvisor stop`; if no such process runs, remove the stale pid file", pid_file.display())]
    NodeRunning {
        /// "the node" or "wemixvisor".
        what: &'static str,
        /// Its pid.
        pid: u32,
        /// The pid file that named it.
        pid_file: PathBuf,
    },
    /// Another backup operation holds the backups lock.
    #[error("another backup operation is running (pid {pid})\nhelp: wait for it to finish; if no such process runs, remove '{}'", lock.display())]
    Busy {
        /// Its pid (0 when unknown).
        pid: u32,
        /// The lock file.
        lock: PathBuf,
    },
    /// A restore found that the snapshot does not match its manifest.
    #[error("snapshot '{id}' is damaged: {problems} file(s) do not match the manifest (first: {first}); nothing was changed\nhelp: run `wemixvisor backup verify {id}` for the full list, and restore another snapshot")]
    Damaged {
        /// The snapshot id.
        id: String,
        /// How many problems were found.
        problems: usize,
        /// The first problem, as text.
        first: String,
    },
    /// There is no chain data to snapshot.
    #[error("chain data directory '{}' does not exist\nhelp: check --home / WEMIX_HOME, or run `wemixvisor init`", path.display())]
    NoData {
        /// The expected directory.
        path: PathBuf,
    },
    /// A path in the chain data cannot be recorded in a manifest.
    #[error("'{}' has a name that is not valid UTF-8 and cannot be recorded in a manifest\nhelp: rename it, or add it to `backup.exclude`", path.display())]
    NonUtf8Path {
        /// The offending path.
        path: PathBuf,
    },
    /// The operation was cancelled (interrupt); nothing it made is left as good.
    #[error("cancelled; the partial snapshot was discarded")]
    Cancelled,
}

impl BackupError {
    /// Wraps an I/O error with what was being done and where, turning
    /// "no space left" into [`BackupError::DiskFull`].
    pub fn io(op: &'static str, path: impl AsRef<Path>, source: std::io::Error) -> Self {
        let path = path.as_ref().to_path_buf();
        if source.kind() == std::io::ErrorKind::StorageFull
            || source.raw_os_error() == Some(nix::libc::ENOSPC)
        {
            return BackupError::DiskFull { op, path };
        }
        BackupError::Io { op, path, source }
    }

    /// True when the error comes from what the user asked for (unknown id, bad
    /// name or pattern) rather than from the operation failing: exit code 2.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            BackupError::InvalidName { .. }
                | BackupError::BadPattern { .. }
                | BackupError::UnknownSnapshot { .. }
                | BackupError::AmbiguousSnapshot { .. }
        )
    }
}

impl From<BackupError> for CoreError {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::Core(c) => c,
            other => {
                let mut text = other.to_string();
                let mut source = std::error::Error::source(&other);
                while let Some(s) = source {
                    let cause = s.to_string();
                    if !text.contains(&cause) {
                        text.push_str(": ");
                        text.push_str(&cause);
                    }
                    source = s.source();
                }
                CoreError::Backup(text)
            }
        }
    }
}
