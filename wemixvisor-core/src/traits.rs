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

/// Which validators produce blocks since a height, as `istanbul_*` tells:
/// the upgrade verification uses it to tell "waiting for quorum" (the chain
/// halted at a hard fork until enough validators run the new binary) from a
/// broken node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumView {
    /// Size of the validator set.
    pub validators: usize,
    /// Validators that sealed a block at or after the height asked about.
    pub active: usize,
}

impl QuorumView {
    /// Active validators BFT needs: more than two thirds, `⌊2n/3⌋ + 1`.
    pub fn quorum(&self) -> usize {
        self.validators * 2 / 3 + 1
    }

    /// True when enough validators are back for blocks to be made.
    pub fn has_quorum(&self) -> bool {
        self.validators > 0 && self.active >= self.quorum()
    }
}

/// Where the node pushes new heads (`eth_subscribe("newHeads")`), as its
/// command line says: its IPC socket (`<datadir>/geth.ipc` unless
/// `--ipcdisable`, or `--ipcpath`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadEndpoint {
    /// A Unix socket speaking JSON-RPC (geth's IPC).
    Ipc(PathBuf),
}

impl std::fmt::Display for HeadEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadEndpoint::Ipc(p) => write!(f, "ipc:{}", p.display()),
        }
    }
}

/// New heads as the node announces them, newest first served: a slow
/// reader skips to the latest head rather than queueing every block.
#[async_trait]
pub trait HeadStream: Send {
    /// The next head height; `None` once the subscription has ended (the
    /// node stopped, or closed the connection).
    async fn next_head(&mut self) -> Option<u64>;
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
    /// Validators producing blocks at or after `since` (from
    /// `istanbul_getValidators` and `istanbul_status`). The default says the
    /// node cannot tell.
    async fn quorum_view(&self, since: u64) -> Result<QuorumView, ChainError> {
        let _ = since;
        Err(ChainError::MethodUnavailable {
            method: "istanbul_status".into(),
        })
    }
    /// Subscribes to new heads at `endpoint` (`eth_subscribe("newHeads")`).
    /// The default says the client cannot: the caller polls
    /// [`ChainClient::block_number`] instead.
    async fn subscribe_heads(
        &self,
        endpoint: &HeadEndpoint,
    ) -> Result<Box<dyn HeadStream>, ChainError> {
        let _ = endpoint;
        Err(ChainError::MethodUnavailable {
            method: "eth_subscribe".into(),
        })
    }
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
    /// How long the current run has been up; `None` when nothing runs.
    fn uptime(&self) -> Option<std::time::Duration> {
        None
    }
    /// How long the last finished run lasted.
    fn last_run_duration(&self) -> Option<std::time::Duration> {
        None
    }
    /// Number of starts after the first one.
    fn restarts(&self) -> u32 {
        0
    }
    /// Sets the state shown by `status` (e.g. [`NodeState::Upgrading`]
    /// during a switch-over); implementations that derive their state
    /// from the process may ignore it.
    fn set_state(&self, _state: NodeState) {}
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

    // ---- the binary store's install transaction ----

    /// Renames `from` to `to` (atomic within one file system).
    fn rename(&self, from: &Path, to: &Path) -> Result<(), CoreError>;
    /// Removes a directory tree; a missing one is not an error.
    fn remove_dir_all(&self, path: &Path) -> Result<(), CoreError>;
    /// Sets the permission bits of `path`.
    fn set_mode(&self, path: &Path, mode: u32) -> Result<(), CoreError>;
    /// Copies `from` to `to` atomically (temp, fsync, rename) with `mode`.
    fn copy(&self, from: &Path, to: &Path, mode: u32) -> Result<u64, CoreError>;
    /// The entries of a directory, sorted, each with "is a directory".
    fn read_dir(&self, dir: &Path) -> Result<Vec<(PathBuf, bool)>, CoreError>;
    /// True when something (a link included, dangling or not) is at `path`.
    fn entry_exists(&self, path: &Path) -> bool;
    /// Flushes a file, or a directory's entries, to disk.
    fn sync(&self, path: &Path) -> Result<(), CoreError>;
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
    fn rename(&self, from: &Path, to: &Path) -> Result<(), CoreError> {
        std::fs::rename(from, to).map_err(|e| CoreError::io("rename", from, e))
    }
    fn remove_dir_all(&self, path: &Path) -> Result<(), CoreError> {
        match std::fs::remove_dir_all(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CoreError::io("remove", path, e)),
        }
    }
    fn set_mode(&self, path: &Path, mode: u32) -> Result<(), CoreError> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| CoreError::io("chmod", path, e))
    }
    fn copy(&self, from: &Path, to: &Path, mode: u32) -> Result<u64, CoreError> {
        atomic::copy_atomic(from, to, mode)
    }
    fn read_dir(&self, dir: &Path) -> Result<Vec<(PathBuf, bool)>, CoreError> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| CoreError::io("read", dir, e))? {
            let e = e.map_err(|e| CoreError::io("read", dir, e))?;
            let ft = e
                .file_type()
                .map_err(|er| CoreError::io("stat", e.path(), er))?;
            out.push((e.path(), ft.is_dir()));
        }
        out.sort();
        Ok(out)
    }
    fn entry_exists(&self, path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }
    fn sync(&self, path: &Path) -> Result<(), CoreError> {
        std::fs::File::open(path)
            .and_then(|f| f.sync_all())
            .map_err(|e| CoreError::io("fsync", path, e))
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
    /// Fails when a pre-upgrade snapshot taken now would not fit in the free
    /// space (asked before the node is halted, so a short disk blocks the
    /// plan instead of failing it half way). The default checks nothing.
    fn check_snapshot_space(&self) -> Result<(), CoreError> {
        Ok(())
    }
}

/// Why the supervisor is about to take the node down on its own initiative
/// (a halt the chain has not coordinated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HaltReason {
    /// A failing health check asks for a restart.
    HealthRestart,
    /// An operator asked for a restart (CLI or API).
    OperatorRestart,
    /// An operator asked for a stop (CLI or API).
    OperatorStop,
    /// An upgrade with no activation height (height 0: "now").
    UpgradeWithoutHeight,
    /// An operator asked for a rollback of the last upgrade.
    ManualRollback,
}

impl HaltReason {
    /// Short human text for logs and status.
    pub fn as_str(self) -> &'static str {
        match self {
            HaltReason::HealthRestart => "health restart",
            HaltReason::OperatorRestart => "restart",
            HaltReason::OperatorStop => "stop",
            HaltReason::UpgradeWithoutHeight => "upgrade without a height",
            HaltReason::ManualRollback => "rollback",
        }
    }
}

/// A [`HaltGuard`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum HaltVerdict {
    /// Halting now costs the network nothing it cannot afford (this node is
    /// not a validator, or enough others are active, or the chain cannot
    /// tell and `detail` says so).
    Allow {
        /// Why, for the log.
        detail: String,
    },
    /// Halting now would leave fewer than `quorum` active validators.
    Wait {
        /// Validators that sealed recently, this node included.
        active: usize,
        /// Active validators BFT needs: ⌊2n/3⌋+1.
        quorum: usize,
        /// Size of the validator set.
        validators: usize,
        /// One line for status, log and event.
        reason: String,
    },
}

/// May this node halt now without costing the network its quorum?
///
/// Asked before every halt the chain has not coordinated (health restarts,
/// operator restarts and stops, upgrades without a height, manual
/// rollbacks); never for an upgrade at its scheduled height, where every
/// validator halts together. Implemented from `istanbul_*` by
/// `wemixvisor-governance`.
#[async_trait]
pub trait HaltGuard: Send + Sync {
    /// The verdict for a halt of the given kind, now.
    async fn may_halt(&self, reason: HaltReason) -> HaltVerdict;
}

/// A [`HaltGuard`] that always allows (full nodes, or the guard disabled).
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysAllow;

#[async_trait]
impl HaltGuard for AlwaysAllow {
    async fn may_halt(&self, _reason: HaltReason) -> HaltVerdict {
        HaltVerdict::Allow {
            detail: "quorum guard disabled".into(),
        }
    }
}
