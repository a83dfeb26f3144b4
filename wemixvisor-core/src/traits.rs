use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{atomic, ChainError, CoreError, ExitInfo, LaunchSpec, NodeError, NodeState};

/// The node's sync state as `eth_syncing` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncStatus {
    /// `false`: in sync.
    Synced,
    /// Catching up.
    Syncing {
        /// `currentBlock`.
        current: u64,
        /// `highestBlock`.
        highest: u64,
    },
}

/// The node's JSON-RPC, as the supervisor needs it (`eth_*`, `net_*`, `web3_*`).
///
/// Implemented over HTTP by `wemixvisor-governance`; the upgrade pipeline and
/// health checks are written against this trait.
#[async_trait]
pub trait ChainClient: Send + Sync {
    /// `eth_blockNumber`: the head height.
    async fn block_number(&self) -> Result<u64, ChainError>;
    /// `web3_clientVersion`.
    async fn client_version(&self) -> Result<String, ChainError>;
    /// `eth_syncing`.
    async fn syncing(&self) -> Result<SyncStatus, ChainError>;
    /// `net_peerCount`.
    async fn peer_count(&self) -> Result<u64, ChainError>;
}

/// A supervised node process, driven with systemctl-like verbs.
///
/// Implementations own at most one child at a time. `stop` is graceful
/// (SIGTERM to the process group, the configured grace, then SIGKILL) and
/// returns only when the whole group is gone.
#[async_trait]
pub trait NodeProcess: Send + Sync {
    /// Spawns the node from `spec`; fails if one is already running.
    async fn start(&self, spec: &LaunchSpec) -> Result<u32, NodeError>;
    /// Stops the node gracefully; `None` when it was not running.
    async fn stop(&self) -> Result<Option<ExitInfo>, NodeError>;
    /// Sends a signal (by number) to the node's process group.
    async fn signal(&self, signal: i32) -> Result<(), NodeError>;
    /// Waits for the exit of the most recently started run; returns at
    /// once when it has already exited, `None` when nothing was started.
    async fn wait(&self) -> Option<ExitInfo>;
    /// Pid of the running node.
    fn pid(&self) -> Option<u32>;
    /// Current state.
    fn state(&self) -> NodeState;
}

/// Filesystem operations whose atomicity the upgrade path depends on.
///
/// Synchronous on purpose: they are short local operations, and keeping them
/// blocking makes their ordering (write, fsync, rename) obvious.
pub trait FileSystem: Send + Sync {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> Result<Vec<u8>, CoreError>;
    /// Writes atomically (temp, fsync, rename, fsync dir).
    fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> Result<(), CoreError>;
    /// Points a symlink at `target` atomically.
    fn replace_symlink(&self, link: &Path, target: &Path) -> Result<(), CoreError>;
    /// Reads a symlink's target.
    fn read_link(&self, link: &Path) -> Result<PathBuf, CoreError>;
    /// True when `path` exists (following links).
    fn exists(&self, path: &Path) -> bool;
    /// True when `path` is an executable regular file.
    fn is_executable(&self, path: &Path) -> bool;
    /// Creates a directory tree with mode 0700.
    fn create_dir_all(&self, path: &Path) -> Result<(), CoreError>;
    /// Removes a file; a missing file is not an error.
    fn remove_file(&self, path: &Path) -> Result<(), CoreError>;
}

/// [`FileSystem`] on the real operating system.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsFs;

impl FileSystem for OsFs {
    fn read(&self, path: &Path) -> Result<Vec<u8>, CoreError> {
        std::fs::read(path).map_err(|e| CoreError::io("read", path, e))
    }
    fn write_atomic(&self, path: &Path, data: &[u8], mode: u32) -> Result<(), CoreError> {
        atomic::write_atomic(path, data, mode)
    }
    fn replace_symlink(&self, link: &Path, target: &Path) -> Result<(), CoreError> {
        atomic::replace_symlink(link, target)
    }
    fn read_link(&self, link: &Path) -> Result<PathBuf, CoreError> {
        std::fs::read_link(link).map_err(|e| CoreError::io("read link", link, e))
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
    fn is_executable(&self, path: &Path) -> bool {
        atomic::is_executable(path)
    }
    fn create_dir_all(&self, path: &Path) -> Result<(), CoreError> {
        atomic::create_dir_private(path)
    }
    fn remove_file(&self, path: &Path) -> Result<(), CoreError> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CoreError::io("remove", path, e)),
        }
    }
}

/// A finished snapshot, as the upgrade path records it in its journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRef {
    /// Snapshot id (directory name under `backups/<kind>/`).
    pub id: String,
    /// Where it lives.
    pub path: PathBuf,
}

/// The backup seam the upgrade pipeline calls: snapshot the chain data before
/// a switch-over, and put it back on rollback. Implemented by
/// `wemixvisor-backup`. Callers guarantee the node is stopped.
pub trait DataBackup: Send + Sync {
    /// Takes an automatic snapshot of `chain-data/` labelled `label`
    /// (e.g. `pre-upgrade-v2`), recording `head` when known.
    fn snapshot_before_upgrade(
        &self,
        label: &str,
        head: Option<u64>,
    ) -> Result<SnapshotRef, CoreError>;
    /// Restores the snapshot `id` over `chain-data/` (atomic swap).
    fn restore(&self, id: &str) -> Result<(), CoreError>;
}
