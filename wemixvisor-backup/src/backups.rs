//! [`Backups`]: the entry point, tying a home, the options, progress and
//! cancellation together; and its [`DataBackup`] implementation.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use wemixvisor_core::lock::{pid_alive, PidLock};
use wemixvisor_core::{atomic, CoreError, DataBackup, Home, SnapshotRef};

use crate::create::CreateRequest;
use crate::id::{validate_name, MAX_NAME_LEN};
use crate::options::{BackupOptions, Filter};
use crate::progress::{CancelFlag, NoProgress, Progress};
use crate::prune::PruneRequest;
use crate::BackupError;

/// Name of the lock file every mutating backup operation holds.
pub const LOCK_FILE: &str = ".lock";

/// A process that keeps the chain data busy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunningProcess {
    /// "the node" or "wemixvisor".
    pub what: &'static str,
    /// Its pid.
    pub pid: u32,
    /// The pid file naming it.
    pub pid_file: PathBuf,
}

/// Snapshots of one home's chain data.
///
/// Cheap to build; every operation reads the disk afresh. Mutating
/// operations (create, restore, prune, archive) hold `backups/.lock`, so two
/// of them never interleave; `list` and `verify` only read.
pub struct Backups {
    pub(crate) home: Home,
    pub(crate) opts: BackupOptions,
    pub(crate) filter: Filter,
    pub(crate) node_binary: Option<String>,
    pub(crate) progress: Arc<dyn Progress>,
    pub(crate) cancel: CancelFlag,
}

impl std::fmt::Debug for Backups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backups")
            .field("home", &self.home)
            .field("opts", &self.opts)
            .field("node_binary", &self.node_binary)
            .finish_non_exhaustive()
    }
}

impl Backups {
    /// Snapshots of `home`'s chain data under `opts`; fails on a bad glob.
    pub fn new(home: Home, opts: BackupOptions) -> Result<Self, BackupError> {
        let filter = Filter::new(&opts.include, &opts.exclude)?;
        Ok(Backups {
            home,
            opts,
            filter,
            node_binary: None,
            progress: Arc::new(NoProgress),
            cancel: CancelFlag::new(),
        })
    }

    /// Reports progress of long operations to `progress`.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// Stops long operations when `cancel` is set (e.g. by a SIGINT handler).
    pub fn with_cancel(mut self, cancel: CancelFlag) -> Self {
        self.cancel = cancel;
        self
    }

    /// Records the node binary's name (`geth`) in manifests.
    pub fn with_node_binary(mut self, name: impl Into<String>) -> Self {
        self.node_binary = Some(name.into());
        self
    }

    /// The home whose data is backed up.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The options in force.
    pub fn options(&self) -> &BackupOptions {
        &self.opts
    }

    /// The cancellation flag operations watch.
    pub fn cancel_flag(&self) -> CancelFlag {
        self.cancel.clone()
    }

    pub(crate) fn lock_path(&self) -> PathBuf {
        self.home.backups_dir().join(LOCK_FILE)
    }

    /// Takes the backups lock.
    pub(crate) fn lock(&self) -> Result<PidLock, BackupError> {
        atomic::create_dir_private(&self.home.backups_dir())?;
        let path = self.lock_path();
        PidLock::acquire(&path).map_err(|e| match e {
            CoreError::Locked { pid, .. } => BackupError::Busy { pid, lock: path },
            other => BackupError::Core(other),
        })
    }

    /// `chain-data/`, or the directory it links to when it is a symlink (a
    /// restore swaps the real directory and leaves the link alone).
    pub(crate) fn live_data_dir(&self) -> PathBuf {
        let d = self.home.data_dir();
        match fs::symlink_metadata(&d) {
            Ok(m) if m.file_type().is_symlink() => fs::canonicalize(&d).unwrap_or(d),
            _ => d,
        }
    }

    /// A thread pool sized by the options.
    pub(crate) fn pool(&self) -> Result<rayon::ThreadPool, BackupError> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.opts.worker_threads())
            .thread_name(|i| format!("wemixvisor-backup-{i}"))
            .build()
            .map_err(|e| {
                BackupError::io(
                    "start worker threads for",
                    self.home.backups_dir(),
                    std::io::Error::other(e.to_string()),
                )
            })
    }

    /// The node process, if `state/node.pid` names a live one (other than us).
    pub fn running_node(&self) -> Option<RunningProcess> {
        running_from(self.home.node_pid_file(), "the node")
    }

    /// The node or a supervisor that could restart it, if either runs
    /// (this process itself does not count).
    pub fn running_process(&self) -> Option<RunningProcess> {
        self.running_node()
            .or_else(|| running_from(self.home.supervisor_pid_file(), "wemixvisor"))
    }

    /// Fails with [`BackupError::NodeRunning`] while the node or a supervisor runs.
    pub(crate) fn ensure_stopped(&self) -> Result<(), BackupError> {
        match self.running_process() {
            Some(p) => Err(BackupError::NodeRunning {
                what: p.what,
                pid: p.pid,
                pid_file: p.pid_file,
            }),
            None => Ok(()),
        }
    }
}

/// The live process a pid file names: its lock holder, or (for a pid file
/// written without a lock) the pid in it if that process exists.
fn running_from(pid_file: PathBuf, what: &'static str) -> Option<RunningProcess> {
    let me = std::process::id();
    let pid = PidLock::holder(&pid_file)
        .filter(|&p| p != me && pid_alive(p))
        .or_else(|| {
            let text = fs::read_to_string(&pid_file).ok()?;
            let pid: u32 = text.lines().next()?.trim().parse().ok()?;
            (pid != me && pid_alive(pid)).then_some(pid)
        })?;
    Some(RunningProcess {
        what,
        pid,
        pid_file,
    })
}

/// Turns an upgrade label into a valid snapshot name (invalid characters
/// become `_`, long labels are cut).
pub(crate) fn label_to_name(label: &str) -> Option<String> {
    let mut name: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+') {
                c
            } else {
                '_'
            }
        })
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(MAX_NAME_LEN)
        .collect();
    while name.ends_with(['.', '-']) {
        name.pop();
    }
    validate_name(&name).ok().map(|_| name)
}

impl DataBackup for Backups {
    fn snapshot_before_upgrade(
        &self,
        label: &str,
        head: Option<u64>,
    ) -> Result<SnapshotRef, CoreError> {
        let report = self.create(&CreateRequest::auto(label_to_name(label), head))?;
        let retention = PruneRequest::default();
        if let Err(e) = self.prune_keeping(&retention, Some(&report.id)) {
            tracing::warn!(error = %e, "retention after the pre-upgrade snapshot failed");
        }
        Ok(SnapshotRef {
            id: report.id,
            path: report.path,
        })
    }

    fn restore(&self, id: &str) -> Result<(), CoreError> {
        Backups::restore(self, id)
            .map(|_| ())
            .map_err(CoreError::from)
    }

    fn check_snapshot_space(&self) -> Result<(), CoreError> {
        self.check_auto_snapshot_space().map_err(CoreError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_as_the_upgrade_pipelines_seam() {
        fn seam<T: DataBackup + Send + Sync + 'static>() {}
        seam::<Backups>();
    }

    #[test]
    fn labels_become_valid_names() {
        assert_eq!(
            label_to_name("pre-upgrade-v1.2.0").as_deref(),
            Some("pre-upgrade-v1.2.0")
        );
        assert_eq!(
            label_to_name("pre upgrade/v2").as_deref(),
            Some("pre_upgrade_v2")
        );
        assert_eq!(label_to_name("--x").as_deref(), Some("x"));
        assert_eq!(
            label_to_name(&"a".repeat(100)).map(|n| n.len()),
            Some(MAX_NAME_LEN)
        );
        assert_eq!(label_to_name("///"), None);
    }
}
