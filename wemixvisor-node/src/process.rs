use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use process_wrap::tokio::{ProcessGroup, TokioCommandWrap};
use tokio::sync::watch;
use wemixvisor_core::{atomic, ExitInfo, LaunchSpec, NodeError, NodeProcess, NodeState};

use crate::logs::{spawn_capture, LogCapture};

/// How long to wait for a SIGKILLed group to disappear before giving up.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// Settings of a [`GethProcess`].
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    /// Time between SIGTERM and SIGKILL on a graceful stop.
    pub shutdown_grace: Duration,
    /// Where to record the node's pid while it runs (`state/node.pid`).
    pub pid_file: Option<PathBuf>,
    /// Capture the node's output into a rotated log; `None` leaves it on
    /// the supervisor's own stdout and stderr.
    pub log: Option<LogCapture>,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
            shutdown_grace: Duration::from_secs(300),
            pid_file: None,
            log: None,
        }
    }
}

#[derive(Debug)]
struct Run {
    pid: u32,
    id: u64,
    started: Instant,
    stop_requested: bool,
}

#[derive(Debug)]
struct Shared {
    state: NodeState,
    run: Option<Run>,
    next_id: u64,
    restarts: u32,
    last_run: Option<Duration>,
}

/// The node as a process group on this machine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GethProcess {
    opts: ProcessOptions,
    shared: Arc<Mutex<Shared>>,
    /// Serialises start and stop so two callers never spawn two nodes.
    control: Arc<tokio::sync::Mutex<()>>,
    /// Last exit: (run id, how it ended).
    exits: watch::Sender<Option<(u64, ExitInfo)>>,
}

impl GethProcess {
    /// A handle with no node running.
    ///
    /// On Linux this also makes the current process a child subreaper, so
    /// that whatever the node forks and orphans is re-parented to the
    /// supervisor and reaped with the node's group, instead of lingering
    /// under an init that may never reap it (containers).
    pub fn new(opts: ProcessOptions) -> Self {
        become_subreaper();
        GethProcess {
            opts,
            shared: Arc::new(Mutex::new(Shared {
                state: NodeState::Stopped,
                run: None,
                next_id: 0,
                restarts: 0,
                last_run: None,
            })),
            control: Arc::new(tokio::sync::Mutex::new(())),
            exits: watch::channel(None).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding this lock leaves plain data behind; keep going.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The configured grace between SIGTERM and SIGKILL.
    pub fn shutdown_grace(&self) -> Duration {
        self.opts.shutdown_grace
    }

    fn send_group(pid: u32, sig: Signal) -> Result<(), NodeError> {
        let pgid = i32::try_from(pid).map_err(|_| NodeError::Signal(format!("bad pid {pid}")))?;
        match killpg(Pid::from_raw(pgid), sig) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(NodeError::Signal(format!("{sig} to group {pgid}: {e}"))),
        }
    }

    /// Waits for the exit of run `id`, at most `limit`.
    async fn wait_run(&self, id: u64, limit: Duration) -> Option<ExitInfo> {
        let mut rx = self.exits.subscribe();
        let fut = async move {
            let guard = rx
                .wait_for(|e| matches!(e, Some((rid, _)) if *rid == id))
                .await
                .ok()?;
            guard.as_ref().map(|(_, e)| *e)
        };
        tokio::time::timeout(limit, fut).await.ok().flatten()
    }
}

fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
                tracing::warn!(error = %e, "could not become a child subreaper");
            }
        });
    }
}

/// A pipe whose ends are not inherited by children other than the node
/// (each gets a duplicate of the write end as its stdout and stderr).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn cloexec_pipe() -> nix::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
}

/// macOS has no `pipe2`: the flag is set right after `pipe`. A fork on
/// another thread in between could inherit the ends; the only forks of this
/// process are children it spawns, and their stdio is set explicitly, so
/// an inherited copy would only delay the capture's end of file until that
/// child exits.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn cloexec_pipe() -> nix::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    use std::os::fd::AsRawFd;
    let (r, w) = nix::unistd::pipe()?;
    for fd in [&r, &w] {
        fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    }
    Ok((r, w))
}

fn group_alive(pgid: i32) -> bool {
    matches!(
        killpg(Pid::from_raw(pgid), None),
        Ok(()) | Err(nix::errno::Errno::EPERM)
    )
}

#[async_trait]
impl NodeProcess for GethProcess {
    async fn start(&self, spec: &LaunchSpec) -> Result<u32, NodeError> {
        let _control = self.control.lock().await;
        if let Some(run) = &self.lock().run {
            return Err(NodeError::AlreadyRunning { pid: run.pid });
        }
        if !atomic::is_executable(&spec.program) {
            return Err(NodeError::BinaryMissing {
                path: spec.program.clone(),
            });
        }
        // One pipe for stdout and stderr keeps the node's lines in order.
        let pipe = match &self.opts.log {
            Some(_) => Some(cloexec_pipe().map_err(|e| NodeError::Spawn {
                path: spec.program.clone(),
                source: std::io::Error::from(e),
            })?),
            None => None,
        };
        let spawn_err = |source: std::io::Error| NodeError::Spawn {
            path: spec.program.clone(),
            source,
        };
        let mut attempt = 0;
        let mut child = loop {
            let outputs = match &pipe {
                Some((_, w)) => Some((
                    w.try_clone().map_err(spawn_err)?,
                    w.try_clone().map_err(spawn_err)?,
                )),
                None => None,
            };
            let mut cmd = TokioCommandWrap::with_new(&spec.program, |c| {
                c.args(&spec.args)
                    .envs(spec.env.iter().map(|(k, v)| (k, v)))
                    .stdin(Stdio::null());
                if let Some((out, err)) = outputs {
                    c.stdout(Stdio::from(out)).stderr(Stdio::from(err));
                }
                if let Some(dir) = &spec.cwd {
                    c.current_dir(dir);
                }
            });
            // No kill-on-drop: dropping the handle (a panic, the runtime
            // shutting down) must never SIGKILL geth mid-write. A node that
            // outlives its supervisor keeps running, is recorded in
            // `state/node.pid` with its start time, and the next supervisor
            // stops it gracefully before starting a new one (see `orphan`).
            cmd.wrap(ProcessGroup::leader());
            match cmd.spawn() {
                Ok(child) => break child,
                // A binary just written by this process (download, install)
                // can be briefly "busy" while a concurrent fork still holds
                // the writer's descriptor; that clears within milliseconds.
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < 20 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                Err(source) => {
                    return Err(NodeError::Spawn {
                        path: spec.program.clone(),
                        source,
                    })
                }
            }
        };
        if let (Some((read_end, write_end)), Some(cfg)) = (pipe, &self.opts.log) {
            // A larger pipe lets a chatty node write on while the capture
            // thread is between reads (64 KiB by default on Linux).
            #[cfg(target_os = "linux")]
            let _ = nix::fcntl::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&read_end),
                nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20),
            );
            // Our copy of the write end must go, or the reader never sees EOF.
            drop(write_end);
            if let Err(e) = spawn_capture(read_end, cfg.clone()) {
                tracing::error!(error = %e, log = %cfg.path.display(), "cannot capture the node's output");
            }
        }
        let pid = child.id().ok_or_else(|| NodeError::Spawn {
            path: spec.program.clone(),
            source: std::io::Error::other("the node exited before its pid was read"),
        })?;
        let id = {
            let mut s = self.lock();
            let id = s.next_id;
            if id > 0 {
                s.restarts += 1;
            }
            s.next_id += 1;
            s.run = Some(Run {
                pid,
                id,
                started: Instant::now(),
                stop_requested: false,
            });
            s.state = NodeState::Running;
            id
        };
        if let Some(pf) = &self.opts.pid_file {
            // The pid at once; its start time (one `ps` away) right after,
            // off the runtime.
            let record = crate::orphan::NodePidRecord {
                pid,
                program: Some(spec.program.clone()),
                started: None,
            };
            if let Err(e) = record.write(pf) {
                tracing::warn!(error = %e, "could not write the node pid file");
            }
            let (pf, program, shared) = (pf.clone(), spec.program.clone(), self.shared.clone());
            tokio::task::spawn_blocking(move || {
                let record = crate::orphan::NodePidRecord::of_running(pid, &program);
                // Only while this run is still the current one (the lock
                // is held so its exit cannot remove the file meanwhile).
                let guard = shared.lock().unwrap_or_else(|p| p.into_inner());
                if guard.run.as_ref().is_some_and(|r| r.pid == pid) {
                    let _ = record.write(&pf);
                }
                drop(guard);
            });
        }
        tracing::info!(pid, program = %spec.program.display(), args = ?spec.args, "node started");

        let this = self.clone();
        tokio::spawn(async move {
            // Wait for the leader only: waiting for the whole group would
            // hang on a child the node left behind when it crashed.
            let status = child.inner_mut().wait().await;
            // Anything the node left in its group would hold the datadir open
            // or keep writing; nothing of a run may outlive it.
            if let Ok(pgid) = i32::try_from(pid) {
                if group_alive(pgid) {
                    tracing::debug!(pgid, "killing what the node left in its group");
                    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
                }
            }
            // Reap the group's members (ours, as subreaper) so none lingers as a zombie.
            let _ = Box::into_pin(child.wait()).await;
            let (code, signal) = match &status {
                Ok(s) => (s.code(), s.signal()),
                Err(e) => {
                    tracing::error!(error = %e, "waiting for the node failed");
                    (None, None)
                }
            };
            let requested = {
                let mut s = this.lock();
                let requested = s.run.as_ref().is_some_and(|r| r.stop_requested);
                s.last_run = s.run.as_ref().map(|r| r.started.elapsed());
                s.run = None;
                s.state = if requested {
                    NodeState::Stopped
                } else {
                    NodeState::Crashed
                };
                requested
            };
            if let Some(pf) = &this.opts.pid_file {
                let _ = std::fs::remove_file(pf);
            }
            let info = ExitInfo {
                code,
                signal,
                requested,
            };
            if requested {
                tracing::info!(pid, exit = %info.describe(), "node stopped");
            } else {
                tracing::warn!(pid, exit = %info.describe(), "node exited unexpectedly");
            }
            this.exits.send_replace(Some((id, info)));
        });
        Ok(pid)
    }

    async fn stop(&self) -> Result<Option<ExitInfo>, NodeError> {
        let _control = self.control.lock().await;
        let (pid, id) = {
            let mut s = self.lock();
            let Some(run) = s.run.as_mut() else {
                return Ok(None);
            };
            run.stop_requested = true;
            let r = (run.pid, run.id);
            s.state = NodeState::Stopping;
            r
        };
        let grace = self.opts.shutdown_grace;
        tracing::info!(pid, grace = ?grace, "stopping node (SIGTERM)");
        Self::send_group(pid, Signal::SIGTERM)?;
        if let Some(info) = self.wait_run(id, grace).await {
            return Ok(Some(info));
        }
        tracing::warn!(pid, grace = ?grace, "node did not stop within the grace period; sending SIGKILL");
        Self::send_group(pid, Signal::SIGKILL)?;
        match self.wait_run(id, KILL_WAIT).await {
            Some(info) => Ok(Some(info)),
            None => Err(NodeError::Signal(format!(
                "node {pid} is still running {KILL_WAIT:?} after SIGKILL"
            ))),
        }
    }

    async fn signal(&self, signal: i32) -> Result<(), NodeError> {
        let Some(pid) = self.pid() else {
            return Ok(());
        };
        let sig = Signal::try_from(signal).map_err(|e| NodeError::Signal(e.to_string()))?;
        Self::send_group(pid, sig)
    }

    async fn wait(&self) -> Option<ExitInfo> {
        // The latest run, even if it already ended: a node that dies right
        // after its start must not slip past a caller that waits a moment later.
        let id = self.lock().next_id.checked_sub(1)?;
        let mut rx = self.exits.subscribe();
        let guard = rx
            .wait_for(|e| matches!(e, Some((rid, _)) if *rid == id))
            .await
            .ok()?;
        guard.as_ref().map(|(_, e)| *e)
    }

    fn pid(&self) -> Option<u32> {
        self.lock().run.as_ref().map(|r| r.pid)
    }

    fn state(&self) -> NodeState {
        self.lock().state
    }

    fn uptime(&self) -> Option<Duration> {
        self.lock().run.as_ref().map(|r| r.started.elapsed())
    }

    fn last_run_duration(&self) -> Option<Duration> {
        self.lock().last_run
    }

    fn restarts(&self) -> u32 {
        self.lock().restarts
    }

    fn set_state(&self, state: NodeState) {
        self.lock().state = state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &std::path::Path, body: &str) -> PathBuf {
        let p = dir.join("node.sh");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn spec(program: PathBuf) -> LaunchSpec {
        LaunchSpec {
            program,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn crash_is_reported_with_code_and_not_requested() {
        let d = tempfile::tempdir().unwrap();
        let p = GethProcess::new(ProcessOptions::default());
        p.start(&spec(script(d.path(), "exit 7"))).await.unwrap();
        let e = p.wait().await.unwrap();
        assert_eq!(e.code, Some(7));
        assert!(!e.requested);
        assert_eq!(p.state(), NodeState::Crashed);
        assert_eq!(p.pid(), None);
    }

    #[tokio::test]
    async fn stop_is_graceful_and_requested() {
        let d = tempfile::tempdir().unwrap();
        let pf = d.path().join("node.pid");
        let p = GethProcess::new(ProcessOptions {
            shutdown_grace: Duration::from_secs(10),
            pid_file: Some(pf.clone()),
            log: None,
        });
        let pid = p
            .start(&spec(script(
                d.path(),
                "trap 'exit 0' TERM\nwhile true; do sleep 0.05; done",
            )))
            .await
            .unwrap();
        let rec = crate::orphan::NodePidRecord::read(&pf).unwrap();
        assert_eq!(rec.pid, pid);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let e = p.stop().await.unwrap().unwrap();
        assert!(e.requested);
        assert_eq!(e.code, Some(0));
        assert!(!pf.exists());
        assert_eq!(p.state(), NodeState::Stopped);
    }

    #[tokio::test]
    async fn sigterm_ignored_means_sigkill_after_grace_and_group_gone() {
        let d = tempfile::tempdir().unwrap();
        let p = GethProcess::new(ProcessOptions {
            shutdown_grace: Duration::from_millis(500),
            pid_file: None,
            log: None,
        });
        // The node and a background child both ignore SIGTERM.
        let pid = p
            .start(&spec(script(
                d.path(),
                "trap '' TERM\n(trap '' TERM; while true; do sleep 0.05; done) &\nwhile true; do sleep 0.05; done",
            )))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t = Instant::now();
        let e = p.stop().await.unwrap().unwrap();
        assert!(t.elapsed() >= Duration::from_millis(450));
        assert_eq!(e.signal, Some(9));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !group_alive(pid as i32),
            "processes of the group {pid} survived"
        );
    }

    #[tokio::test]
    async fn output_is_captured_in_order_with_timestamps() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("logs/geth.log");
        let p = GethProcess::new(ProcessOptions {
            log: Some(LogCapture::new(log.clone(), d.path().join("logs/archived"))),
            ..ProcessOptions::default()
        });
        p.start(&spec(script(
            d.path(),
            "echo out1\necho err1 >&2\necho out2",
        )))
        .await
        .unwrap();
        p.wait().await.unwrap();
        let text = crate::test_support::wait_file_lines(&log, 3);
        let lines: Vec<&str> = text.lines().map(|l| l.split_once(' ').unwrap().1).collect();
        assert_eq!(lines, ["out1", "err1", "out2"]);
    }

    #[tokio::test]
    async fn wait_after_a_quick_exit_still_sees_it() {
        let d = tempfile::tempdir().unwrap();
        let p = GethProcess::new(ProcessOptions::default());
        assert!(p.wait().await.is_none(), "nothing started yet");
        p.start(&spec(script(d.path(), "exit 3"))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(p.pid(), None);
        assert_eq!(p.wait().await.unwrap().code, Some(3));
    }

    #[tokio::test]
    async fn second_start_is_refused_and_missing_binary_is_clear() {
        let d = tempfile::tempdir().unwrap();
        let p = GethProcess::new(ProcessOptions {
            shutdown_grace: Duration::from_secs(5),
            pid_file: None,
            log: None,
        });
        let s = spec(script(d.path(), "sleep 30"));
        p.start(&s).await.unwrap();
        assert!(matches!(
            p.start(&s).await,
            Err(NodeError::AlreadyRunning { .. })
        ));
        p.stop().await.unwrap();
        let missing = p.start(&spec(d.path().join("nope"))).await.unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
        assert!(p.stop().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn dropping_the_handle_leaves_the_node_running() {
        let d = tempfile::tempdir().unwrap();
        let pid = {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let s = spec(script(d.path(), "sleep 30"));
            let pid = std::thread::spawn(move || {
                rt.block_on(async {
                    let p = GethProcess::new(ProcessOptions::default());
                    p.start(&s).await.unwrap()
                })
                // the runtime, the wait task and the child handle drop here
            })
            .join()
            .unwrap();
            pid
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(group_alive(pid as i32), "the node was killed by a drop");
        let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
    }

    #[tokio::test]
    async fn restart_counts_and_args_pass_through() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("args");
        let p = GethProcess::new(ProcessOptions::default());
        let mut s = spec(script(
            d.path(),
            &format!("echo \"$@\" >> {}", out.display()),
        ));
        s.args = vec!["--datadir".into(), "/x y".into(), "--http".into()];
        p.start(&s).await.unwrap();
        p.wait().await.unwrap();
        p.start(&s).await.unwrap();
        p.wait().await.unwrap();
        assert_eq!(p.restarts(), 1);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "--datadir /x y --http\n--datadir /x y --http\n"
        );
    }
}
