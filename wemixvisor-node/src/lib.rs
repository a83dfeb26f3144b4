//! Runs the Wemix node (`geth`) and keeps it under control.
//!
//! This crate owns the node process and everything about keeping it up:
//! - [`GethProcess`] implements [`wemixvisor_core::NodeProcess`]: the binary
//!   runs in its own process group (process-wrap), signals go to the whole
//!   group, and a graceful stop is SIGTERM, the configured grace (geth may
//!   need minutes to flush its database, so the default is 300 s), then
//!   SIGKILL of the group; whatever the node left in its group is killed and
//!   reaped when it exits, so a restart never finds a second writer on the
//!   datadir;
//! - [`LogCapture`]: the node's stdout and stderr, as one ordered stream,
//!   timestamped into `chain-data/logs/geth.log`, rotated by size into
//!   gzip-compressed archives;
//! - [`RestartPolicy`] / [`RestartTracker`]: restart after a crash with
//!   exponential backoff, give up after too many crashes in a window;
//! - [`HealthMonitor`]: RPC, head progress, peers, sync and free disk, with
//!   the consecutive failures that may justify a restart;
//! - [`signals`]: the signals a foreground supervisor acts on;
//! - [`orphan`]: recognising (on Linux and macOS) and gracefully stopping a
//!   node an earlier supervisor left running.
//!
//! Dropping a [`GethProcess`] never kills the node: a node that outlives its
//! supervisor is left running and stopped gracefully by the next one.
//! - [`sdnotify`]: readiness, status, watchdog and stopping notifications
//!   for systemd (`Type=notify`);
//! - `reaper` (Linux): wemixvisor as a container's PID 1, a tiny init that
//!   reaps orphaned grandchildren (child subreaper);
//! - [`memory`]: gives back the code pages only start-up needed.
//!
//! # Theory of operation
//! One tokio task owns each spawned child and waits on it; when it exits the
//! task records an [`ExitInfo`](wemixvisor_core::ExitInfo) in a watch
//! channel, marks whether the exit was asked for (stop/restart/upgrade) or a
//! crash, and removes `state/node.pid`. The handle is cheap to clone; every
//! verb works through the shared state, so the supervisor loop, the signal
//! forwarder and the upgrade path can hold it at once. Decisions (restart or
//! not, when) are pure functions of what happened, tested without processes.

mod error;
pub mod health;
mod logs;
pub mod memory;
pub mod orphan;
mod process;
#[cfg(target_os = "linux")]
pub mod reaper;
pub mod restart;
pub mod sdnotify;
pub mod signals;

pub use error::NodeRunError;
pub use health::{CheckResult, HealthMonitor, HealthSettings, Observed};
pub use logs::LogCapture;
pub use orphan::{find_orphan, stop_orphaned_node, NodePidRecord, Orphan, OrphanError};
pub use process::{GethProcess, ProcessOptions};
pub use restart::{RestartDecision, RestartPolicy, RestartTracker};

#[cfg(test)]
mod test_support {
    use std::path::Path;
    use std::time::{Duration, Instant};

    /// Waits (up to 5 s) until `path` has at least `n` lines; returns its text.
    pub fn wait_file_lines(path: &Path, n: usize) -> String {
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if text.lines().count() >= n || Instant::now() > end {
                return text;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
