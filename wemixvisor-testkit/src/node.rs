//! A scriptable fake [`NodeProcess`]: each start follows a [`RunScript`]
//! (exit on its own after a delay with a code, ignore SIGTERM, fail to
//! spawn), every call is recorded, and all timing uses tokio time so tests
//! run with a paused clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;
use tokio::time::Instant;
use wemixvisor_core::{ExitInfo, LaunchSpec, NodeError, NodeProcess, NodeState};

/// One call a [`FakeNode`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeCall {
    /// `start` with this spec.
    Start(LaunchSpec),
    /// `stop`.
    Stop,
    /// `signal` with this number.
    Signal(i32),
}

/// How one run of a [`FakeNode`] behaves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunScript {
    /// Exit on its own this long after the start (a crash unless the code
    /// is 0 and the test says otherwise); `None` runs until stopped.
    pub exit_after: Option<Duration>,
    /// The exit code of that exit.
    pub exit_code: i32,
    /// SIGTERM is ignored: `stop` takes the whole grace, then the run dies
    /// of SIGKILL.
    pub ignore_sigterm: bool,
    /// The spawn itself fails.
    pub fail_start: bool,
}

impl RunScript {
    /// Runs until stopped.
    pub fn forever() -> Self {
        RunScript::default()
    }
    /// Exits with `code` after `after`.
    pub fn crash_after(after: Duration, code: i32) -> Self {
        RunScript {
            exit_after: Some(after),
            exit_code: code,
            ..RunScript::default()
        }
    }
    /// Fails to spawn.
    pub fn fail_start() -> Self {
        RunScript {
            fail_start: true,
            ..RunScript::default()
        }
    }
    /// Ignores SIGTERM.
    pub fn ignore_sigterm() -> Self {
        RunScript {
            ignore_sigterm: true,
            ..RunScript::default()
        }
    }
}

#[derive(Debug)]
struct Run {
    id: u64,
    pid: u32,
    started: Instant,
    script: RunScript,
}

#[derive(Debug)]
struct Inner {
    scripts: VecDeque<RunScript>,
    default: RunScript,
    calls: Vec<NodeCall>,
    run: Option<Run>,
    next_id: u64,
    restarts: u32,
    last_run: Option<Duration>,
    state: NodeState,
    grace: Duration,
    sigkills: u32,
}

/// A [`NodeProcess`] that runs nothing, follows a script and records every
/// call. Cheap to clone (clones share the node).
#[derive(Debug, Clone)]
pub struct FakeNode {
    inner: Arc<Mutex<Inner>>,
    exits: watch::Sender<Option<(u64, ExitInfo)>>,
}

impl Default for FakeNode {
    fn default() -> Self {
        FakeNode::new()
    }
}

impl FakeNode {
    /// A node whose every run lasts until it is stopped.
    pub fn new() -> Self {
        FakeNode {
            inner: Arc::new(Mutex::new(Inner {
                scripts: VecDeque::new(),
                default: RunScript::forever(),
                calls: Vec::new(),
                run: None,
                next_id: 0,
                restarts: 0,
                last_run: None,
                state: NodeState::Stopped,
                grace: Duration::from_secs(300),
                sigkills: 0,
            })),
            exits: watch::channel(None).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The scripts of the next starts, in order (after them: the default).
    pub fn script(&self, runs: impl IntoIterator<Item = RunScript>) -> &Self {
        self.lock().scripts.extend(runs);
        self
    }

    /// The script of every start once the queued ones are used up.
    pub fn default_run(&self, run: RunScript) -> &Self {
        self.lock().default = run;
        self
    }

    /// The grace between SIGTERM and SIGKILL of a stop.
    pub fn set_grace(&self, grace: Duration) -> &Self {
        self.lock().grace = grace;
        self
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<NodeCall> {
        self.lock().calls.clone()
    }

    /// Number of `start` calls that spawned a run.
    pub fn starts(&self) -> usize {
        let g = self.lock();
        usize::try_from(g.next_id).unwrap_or(usize::MAX)
    }

    /// Number of `stop` calls.
    pub fn stops(&self) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|c| **c == NodeCall::Stop)
            .count()
    }

    /// Runs that ended by SIGKILL after the grace.
    pub fn sigkills(&self) -> u32 {
        self.lock().sigkills
    }

    /// Makes the current run exit on its own now with `code`.
    pub fn crash_now(&self, code: i32) {
        let id = self.lock().run.as_ref().map(|r| r.id);
        if let Some(id) = id {
            self.finish(
                id,
                ExitInfo {
                    code: Some(code),
                    signal: None,
                    requested: false,
                },
            );
        }
    }

    fn finish(&self, id: u64, info: ExitInfo) {
        {
            let mut g = self.lock();
            match &g.run {
                Some(r) if r.id == id => {}
                _ => return,
            }
            let started = g.run.take().map(|r| r.started);
            g.last_run = started.map(|s| s.elapsed());
            g.state = if info.requested {
                NodeState::Stopped
            } else {
                NodeState::Crashed
            };
        }
        self.exits.send_replace(Some((id, info)));
    }
}

#[async_trait]
impl NodeProcess for FakeNode {
    async fn start(&self, spec: &LaunchSpec) -> Result<u32, NodeError> {
        let (id, script) = {
            let mut g = self.lock();
            g.calls.push(NodeCall::Start(spec.clone()));
            if let Some(r) = &g.run {
                return Err(NodeError::AlreadyRunning { pid: r.pid });
            }
            let script = g.scripts.pop_front().unwrap_or_else(|| g.default.clone());
            if script.fail_start {
                return Err(NodeError::Spawn {
                    path: spec.program.clone(),
                    source: std::io::Error::other("scripted spawn failure"),
                });
            }
            let id = g.next_id;
            if id > 0 {
                g.restarts = g.restarts.saturating_add(1);
            }
            g.next_id += 1;
            g.run = Some(Run {
                id,
                pid: 1000 + u32::try_from(id).unwrap_or(0),
                started: Instant::now(),
                script: script.clone(),
            });
            g.state = NodeState::Running;
            (id, script)
        };
        if let Some(after) = script.exit_after {
            let this = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                this.finish(
                    id,
                    ExitInfo {
                        code: Some(script.exit_code),
                        signal: None,
                        requested: false,
                    },
                );
            });
        }
        Ok(1000 + u32::try_from(id).unwrap_or(0))
    }

    async fn stop(&self) -> Result<Option<ExitInfo>, NodeError> {
        let (id, ignore, grace) = {
            let mut g = self.lock();
            g.calls.push(NodeCall::Stop);
            let grace = g.grace;
            let Some(r) = &g.run else {
                return Ok(None);
            };
            let out = (r.id, r.script.ignore_sigterm, grace);
            g.state = NodeState::Stopping;
            out
        };
        let info = if ignore {
            tokio::time::sleep(grace).await;
            self.lock().sigkills += 1;
            ExitInfo {
                code: None,
                signal: Some(9),
                requested: true,
            }
        } else {
            ExitInfo {
                code: Some(0),
                signal: None,
                requested: true,
            }
        };
        self.finish(id, info);
        Ok(Some(info))
    }

    async fn signal(&self, signal: i32) -> Result<(), NodeError> {
        self.lock().calls.push(NodeCall::Signal(signal));
        Ok(())
    }

    async fn wait(&self) -> Option<ExitInfo> {
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

    #[tokio::test(start_paused = true)]
    async fn scripted_runs_crash_stop_and_ignore_sigterm() {
        let n = FakeNode::new();
        n.script([
            RunScript::crash_after(Duration::from_secs(3), 2),
            RunScript::ignore_sigterm(),
        ])
        .set_grace(Duration::from_secs(7));
        n.start(&LaunchSpec::default()).await.unwrap();
        let e = n.wait().await.unwrap();
        assert_eq!((e.code, e.requested), (Some(2), false));
        assert_eq!(n.last_run_duration(), Some(Duration::from_secs(3)));
        n.start(&LaunchSpec::default()).await.unwrap();
        let t = Instant::now();
        let e = n.stop().await.unwrap().unwrap();
        assert_eq!((e.signal, e.requested), (Some(9), true));
        assert_eq!(t.elapsed(), Duration::from_secs(7));
        assert_eq!((n.restarts(), n.sigkills(), n.stops()), (1, 1, 1));
    }
}
