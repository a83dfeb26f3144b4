//! A node left running by a supervisor that is gone: recognising it (on
//! Linux and macOS alike) and stopping it gracefully.
//!
//! `state/node.pid` records the node's pid, its program and its start time
//! as `ps -o lstart=` prints it. A pid that is alive is the node only when
//! its start time is the recorded one; a reused pid (another program, same
//! number) has another start time, so the file is stale.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use wemixvisor_core::lock::pid_alive;
use wemixvisor_core::{atomic, CoreError};

/// What `state/node.pid` says about the node of a supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePidRecord {
    /// The node's pid (also its process group).
    pub pid: u32,
    /// The program it runs.
    pub program: Option<PathBuf>,
    /// Its start time as `ps -o lstart=` prints it, when known.
    pub started: Option<String>,
}

/// The start time of `pid` as `ps -o lstart=` prints it (Linux procps and
/// the BSD/macOS `ps` both know `lstart`); `None` when `ps` cannot tell.
pub fn process_start_token(pid: u32) -> Option<String> {
    let out = std::process::Command::new("ps")
        .args(["-o", "lstart=", "-p", &pid.to_string()])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!s.is_empty()).then_some(s)
}

impl NodePidRecord {
    /// The record of a node just started.
    pub fn of_running(pid: u32, program: &Path) -> Self {
        NodePidRecord {
            pid,
            program: Some(program.to_path_buf()),
            started: process_start_token(pid),
        }
    }

    /// Writes it atomically (0600).
    pub fn write(&self, path: &Path) -> Result<(), CoreError> {
        let mut text = format!("{}\n", self.pid);
        text.push_str(&format!(
            "{}\n",
            self.program
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ));
        text.push_str(&format!("{}\n", self.started.as_deref().unwrap_or("")));
        atomic::write_atomic(path, text.as_bytes(), atomic::SECRET_MODE)
    }

    /// Reads it; `None` when there is no readable record.
    pub fn read(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut lines = text.lines();
        let pid = lines.next()?.trim().parse().ok()?;
        let program = lines
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        let started = lines
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from);
        Some(NodePidRecord {
            pid,
            program,
            started,
        })
    }
}

/// What is at `state/node.pid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Orphan {
    /// No record, or its process is gone.
    None,
    /// The pid is alive but belongs to another program (reused); the
    /// record is stale.
    Stale {
        /// The pid.
        pid: u32,
    },
    /// The node of an earlier supervisor still runs.
    Running {
        /// Its pid.
        pid: u32,
    },
    /// A process with that pid runs and nothing tells whether it is the
    /// node (no start time recorded, or `ps` cannot tell).
    Unknown {
        /// The pid.
        pid: u32,
    },
}

/// Looks at `pid_file` (`state/node.pid`) and says whether the node of an
/// earlier supervisor still runs. Works on Linux and macOS.
pub fn find_orphan(pid_file: &Path) -> Orphan {
    let Some(rec) = NodePidRecord::read(pid_file) else {
        return Orphan::None;
    };
    if !pid_alive(rec.pid) {
        return Orphan::None;
    }
    match (&rec.started, process_start_token(rec.pid)) {
        (Some(recorded), Some(now)) if *recorded == now => Orphan::Running { pid: rec.pid },
        (Some(_), Some(_)) => Orphan::Stale { pid: rec.pid },
        _ => Orphan::Unknown { pid: rec.pid },
    }
}

/// True when `pid`'s command line names `datadir` (`--datadir <dir>` or
/// `--datadir=<dir>`; Linux `/proc`, elsewhere nothing tells, so false).
fn runs_on(pid: u32, datadir: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let dir = datadir.as_os_str().as_encoded_bytes();
    let mut joined = b"--datadir=".to_vec();
    joined.extend_from_slice(dir);
    cmdline
        .split(|b| *b == 0)
        .any(|arg| arg == dir || arg == joined.as_slice())
}

/// A node of an earlier supervisor that cannot be dealt with.
#[derive(Debug, thiserror::Error)]
pub enum OrphanError {
    /// Something runs with the recorded pid and nothing tells whether it is
    /// the node.
    #[error("a node (pid {pid}) from an earlier supervisor may still be running on '{datadir}'")]
    Unknown {
        /// The pid.
        pid: u32,
        /// The datadir it would share.
        datadir: PathBuf,
    },
    /// It outlived SIGTERM, the grace and SIGKILL.
    #[error("the node of an earlier supervisor (pid {pid}) cannot be stopped")]
    Unstoppable {
        /// The pid.
        pid: u32,
    },
}

impl OrphanError {
    /// What fixes it.
    pub fn help(&self) -> String {
        match self {
            OrphanError::Unknown { pid, .. } => format!(
                "stop it (kill -TERM {pid}) before starting; two nodes must never share a datadir"
            ),
            OrphanError::Unstoppable { pid } => {
                format!("look at process {pid} (ps -p {pid}); stop it by hand")
            }
        }
    }
}

async fn wait_gone(pid: u32, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit.min(Duration::from_secs(86_400 * 365));
    while pid_alive(pid) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    !pid_alive(pid)
}

/// Deals with a node an earlier supervisor left behind before a new one
/// starts: a stale record is removed, a running node is stopped gracefully
/// (SIGTERM to its group, `grace`, then SIGKILL), an unknown one is refused.
pub async fn stop_orphaned_node(
    pid_file: &Path,
    datadir: &Path,
    grace: Duration,
) -> Result<Option<u32>, OrphanError> {
    let pid = match find_orphan(pid_file) {
        Orphan::None | Orphan::Stale { .. } => {
            let _ = std::fs::remove_file(pid_file);
            return Ok(None);
        }
        // The start time is added just after the start: a supervisor
        // killed in between leaves a record without it. A process whose
        // command line names this datadir is the node all the same.
        Orphan::Unknown { pid } if runs_on(pid, datadir) => pid,
        Orphan::Unknown { pid } => {
            return Err(OrphanError::Unknown {
                pid,
                datadir: datadir.to_path_buf(),
            })
        }
        Orphan::Running { pid } => pid,
    };
    tracing::warn!(
        pid,
        "a node from an earlier supervisor is still running; stopping it gracefully"
    );
    let group = Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX));
    let _ = killpg(group, Signal::SIGTERM);
    if !wait_gone(pid, grace).await {
        tracing::warn!(
            pid,
            "the old node outlived the grace period; sending SIGKILL"
        );
        let _ = killpg(group, Signal::SIGKILL);
        if !wait_gone(pid, Duration::from_secs(10)).await {
            return Err(OrphanError::Unstoppable { pid });
        }
    }
    let _ = std::fs::remove_file(pid_file);
    Ok(Some(pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_recognised_and_a_changed_start_time_is_stale() {
        let d = tempfile::tempdir().unwrap();
        let pf = d.path().join("node.pid");
        assert_eq!(find_orphan(&pf), Orphan::None);
        let me = std::process::id();
        let rec = NodePidRecord::of_running(me, Path::new("/bin/geth"));
        assert!(rec.started.is_some(), "ps -o lstart= must work here");
        rec.write(&pf).unwrap();
        assert_eq!(NodePidRecord::read(&pf).unwrap(), rec);
        assert_eq!(find_orphan(&pf), Orphan::Running { pid: me });
        NodePidRecord {
            started: Some("Thu Jan  1 00:00:00 1970".into()),
            ..rec.clone()
        }
        .write(&pf)
        .unwrap();
        assert_eq!(find_orphan(&pf), Orphan::Stale { pid: me });
        std::fs::write(&pf, format!("{me}\n")).unwrap();
        assert_eq!(find_orphan(&pf), Orphan::Unknown { pid: me });
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_record_without_its_start_time_is_stopped_when_it_runs_on_the_datadir() {
        use std::os::unix::process::CommandExt as _;
        let dir = tempfile::tempdir().unwrap();
        let pf = dir.path().join("node.pid");
        let datadir = dir.path().join("chain-data");
        let spawn = || {
            std::process::Command::new("/bin/sh")
                .args(["-c", "sleep 30; true", "sh"])
                .arg(format!("--datadir={}", datadir.display()))
                .process_group(0)
                .spawn()
                .unwrap()
        };
        // killed right after the start: pid and program, no start time
        let write = |pid: u32| {
            NodePidRecord {
                pid,
                program: Some(PathBuf::from("/opt/geth")),
                started: None,
            }
            .write(&pf)
            .unwrap()
        };
        let mut child = spawn();
        let pid = child.id();
        write(pid);
        let reaper = std::thread::spawn(move || child.wait());
        let got = stop_orphaned_node(&pf, &datadir, Duration::from_secs(5)).await;
        assert_eq!(got.unwrap(), Some(pid));
        assert!(reaper.join().unwrap().is_ok());
        // on another datadir it stays unknown and is refused
        let mut child = spawn();
        let pid = child.id();
        write(pid);
        let other = dir.path().join("other");
        let got = stop_orphaned_node(&pf, &other, Duration::from_secs(5)).await;
        assert!(matches!(got, Err(OrphanError::Unknown { .. })), "{got:?}");
        let _ = child.kill();
        let _ = child.wait();
    }

    #[tokio::test]
    async fn a_running_orphan_is_stopped_gracefully() {
        let d = tempfile::tempdir().unwrap();
        let pf = d.path().join("node.pid");
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        NodePidRecord::of_running(pid, Path::new("sleep"))
            .write(&pf)
            .unwrap();
        // Reap it as soon as it exits, as its real parent (gone) would not.
        let reaper = std::thread::spawn(move || child.wait().unwrap());
        let stopped = stop_orphaned_node(&pf, d.path(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(stopped, Some(pid));
        let status = reaper.join().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(15), "SIGTERM, not SIGKILL");
        assert!(!pf.exists());
    }
}
