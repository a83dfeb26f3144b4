//! [`Supervisor`]: the one event loop.
//!
//! Each `select!` arm calls one named method (`on_signal`, `on_node_exit`,
//! `on_restart_timer`, `on_trigger`, `on_head`, `on_subscribe`, `on_tick`,
//! `on_health_tick`, `on_command`, `on_feed`, `on_guard_tick`). An arm returns a [`Flow`] or
//! an error; an error is logged, shown in the status and published as
//! [`Event::LoopError`], and the loop goes on. What follows an upgrade
//! attempt is decided in one place ([`Supervisor::settle_upgrade`]) and a
//! new run of the node is reset in one place ([`Supervisor::new_run`]).
//!
//! The loop wakes only for what needs it. While the node idles that is the
//! health check (`health.interval`) and what the node writes to its log.
//! A plan waiting for its height follows the node's new heads
//! (`eth_subscribe("newHeads")` over its IPC socket) and fires on the
//! first head at or past the height; the upgrade tick
//! (`upgrade.poll_interval`) runs only when something needs it: the head
//! while no subscription is possible, the first head of a run, a
//! verification window, and plans still being prepared or blocked.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;
use wemixvisor_config::{build_argv, Config, ConfigError, FlagOverrides, NodeOptions};
use wemixvisor_core::lock::PidLock;
use wemixvisor_core::{
    BlockedUpgrade, ChainClient, CoreError, DataBackup, ExitInfo, HaltGuard, HaltReason,
    HaltVerdict, HealthEntry, Home, LaunchSpec, NodeProcess, NodeState, OsFs, PendingUpgrade,
    StatusReport, UpgradePlan, VerifyingUpgrade, STATUS_SCHEMA,
};
use wemixvisor_node::signals::SupervisorSignal;
use wemixvisor_node::{HealthMonitor, RestartDecision, RestartTracker};
use wemixvisor_upgrade::{
    read_upgrade_info, ApplyOutcome, BlockedPlan, StopRequest, UpgradeError, UpgradeInfoWatcher,
    UpgradeManager, VerifyDecision,
};

use crate::event::{Actor, Event, EventRecord};
use crate::feed::FeedItem;
use crate::handle::{Command, ControlError, ControlResult, SupervisorHandle};
use crate::heads::{head_endpoint, next_head, HeadFeed};
use crate::reload::{applies_at, changed_keys, describe_pending, AppliesAt, NODE_OPTIONS_KEY};
use crate::settings::{health_settings, restart_policy, timer, upgrade_settings};
use crate::SupervisorError;

/// Health checks do not count against a node younger than this.
pub const STARTUP_GRACE: Duration = Duration::from_secs(30);
/// A verification window is judged at least this often, whatever
/// `upgrade.poll_interval` says.
pub const VERIFY_TICK: Duration = Duration::from_secs(1);
/// A halt held back by the quorum guard asks it again this often.
pub const GUARD_RECHECK: Duration = Duration::from_secs(5);
/// Capacity of the event stream (slow subscribers lose the oldest events).
const EVENT_CAPACITY: usize = 1024;
/// While a plan is blocked, the loop says so in the log this often.
pub const BLOCKED_LOG_EVERY: Duration = Duration::from_secs(5 * 60);

/// The environment a supervisor reads its configuration through.
pub type EnvFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;
/// Applies a new log level (`log.level`) at once; errors are reported.
pub type LogLevelFn = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;
/// Takes a manual snapshot of the chain data (runs on a blocking thread).
pub type BackupFn =
    Arc<dyn Fn(Option<String>, Option<u64>) -> Result<TakenBackup, String> + Send + Sync>;

/// A finished manual snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct TakenBackup {
    /// Snapshot id.
    pub id: String,
    /// Bytes in it.
    pub bytes: u64,
    /// Seconds it took.
    pub duration_secs: f64,
    /// Notes for the operator (node running, files vanished, ...).
    pub notes: Vec<String>,
}

/// What a supervisor is built from.
#[derive(Clone)]
pub struct SupervisorOptions {
    /// The home.
    pub home: Home,
    /// The effective configuration at start.
    pub config: Config,
    /// Node arguments given on the command line (after node-options.toml).
    pub cli_args: Vec<String>,
    /// The environment (for reloads and flag migrations).
    pub env: EnvFn,
    /// Flag overrides (for reloads).
    pub flags: FlagOverrides,
    /// The supervisor's own version, for the status.
    pub version: String,
}

impl std::fmt::Debug for SupervisorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorOptions")
            .field("home", &self.home)
            .field("cli_args", &self.cli_args)
            .finish_non_exhaustive()
    }
}

/// What the loop does after an arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep looping.
    Continue,
    /// End the supervisor with this exit code.
    Exit(i32),
}

/// The supervisor's state: one enum.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Start-up: recovery and start-up upgrades, before the first start.
    Starting,
    /// The node is expected to run; its exit is watched.
    Running,
    /// The node exited on its own; it is started again at `until`.
    Backoff {
        /// When the restart is due.
        until: Instant,
    },
    /// The node is down and nothing restarts it (a failed start, or the
    /// node stopped by an upgrade that left it down); `start` starts it.
    NodeDown {
        /// Why.
        reason: String,
    },
    /// The restart policy gave up; the supervisor ends with `code`.
    GaveUp {
        /// Why.
        reason: String,
        /// The exit code the supervisor ends with.
        code: i32,
    },
    /// The supervisor is ending.
    Stopped,
}

/// A halt that waits for the quorum guard.
#[derive(Debug, Clone, PartialEq)]
enum HaltKind {
    Restart,
    Stop,
    HealthRestart { why: String },
    Rollback { restore_data: bool },
    Upgrade { plan: UpgradePlan },
}

struct PendingHalt {
    kind: HaltKind,
    reason: HaltReason,
    since: Instant,
    why: String,
    actor: Actor,
    reply: Option<oneshot::Sender<ControlResult>>,
}

/// The sending side of the event stream and the status channel.
#[derive(Clone)]
pub(crate) struct Outbox {
    events: broadcast::Sender<EventRecord>,
    seq: Arc<AtomicU64>,
}

impl Outbox {
    pub(crate) fn publish(&self, event: Event) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = self.events.send(EventRecord::now(seq, event));
    }
}

/// Everything that reaches the loop from outside.
struct Inbox {
    commands: mpsc::Receiver<Command>,
    signals: mpsc::Receiver<SupervisorSignal>,
    feed: Option<mpsc::Receiver<FeedItem>>,
    /// Commands that arrived during a long step, answered after it.
    backlog: std::collections::VecDeque<Command>,
}

/// A stop asked for while a long step ran; carried out at its end.
struct DeferredStop {
    force: bool,
    actor: Actor,
    reply: Option<oneshot::Sender<ControlResult>>,
}

/// Plans that hold the queue up, and what was said about them.
#[derive(Debug, Default)]
struct BlockedWatch {
    now: Vec<BlockedPlan>,
    /// Name and reason of each blocked plan an event was published for.
    announced: Vec<(String, String)>,
    logged_at: Option<Instant>,
}

/// What the head and the node's RPC told us.
#[derive(Debug, Default)]
struct ChainSeen {
    head: Option<u64>,
    head_seen_at: Option<String>,
    head_origin: Option<(u64, Instant)>,
    client_version: Option<String>,
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

fn std_now() -> std::time::Instant {
    Instant::now().into_std()
}

/// The supervisor: owns the node, the chain client, the quorum guard, the
/// upgrade manager and the one loop over them.
pub struct Supervisor<N: NodeProcess + 'static, C: ChainClient + 'static, G: HaltGuard + 'static> {
    opts: SupervisorOptions,
    node: Arc<N>,
    chain: C,
    guard: G,
    manager: Option<UpgradeManager<OsFs>>,
    /// Set by a stop that arrives during an upgrade step: the pipeline ends
    /// at its next safe point.
    upgrade_stop: StopRequest,
    data_backup: Option<Arc<dyn DataBackup>>,
    backup_fn: Option<BackupFn>,
    log_level: Option<LogLevelFn>,
    /// The configuration in effect (keys that apply at the next wemixvisor
    /// start keep their start-up value).
    config: Config,
    /// Node arguments node-options.toml and the command line give now.
    raw_args: Vec<String>,
    /// What the running node was started with: binary name and raw args.
    started_with: Option<(String, Vec<String>)>,
    /// Keys changed in the files that apply at the next wemixvisor start.
    frozen: Vec<&'static str>,
    spec: LaunchSpec,
    phase: Phase,
    restarts: RestartTracker,
    health: HealthMonitor,
    seen: ChainSeen,
    heads: HeadFeed,
    last_exit: Option<ExitInfo>,
    last_error: Option<String>,
    halt: Option<PendingHalt>,
    /// The upgrade in its verification window, as `status` shows it.
    verifying: Option<VerifyingUpgrade>,
    blocked: BlockedWatch,
    governance: Option<serde_json::Value>,
    inbox: Inbox,
    out: Outbox,
    status: watch::Sender<StatusReport>,
    signal_tx: mpsc::Sender<SupervisorSignal>,
    started_at: String,
    lock: Option<PidLock>,
}

impl<N: NodeProcess + 'static, C: ChainClient + 'static, G: HaltGuard + 'static>
    Supervisor<N, C, G>
{
    /// A supervisor over `node`, `chain` and `guard`, and the handle that
    /// drives it. Nothing runs until [`Supervisor::run`].
    pub fn new(opts: SupervisorOptions, node: N, chain: C, guard: G) -> (Self, SupervisorHandle) {
        let (cmd_tx, cmd_rx) = mpsc::channel(32);
        let (sig_tx, sig_rx) = mpsc::channel(8);
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let (status, status_rx) = watch::channel(StatusReport {
            schema: STATUS_SCHEMA,
            ..StatusReport::default()
        });
        let handle = SupervisorHandle::new(cmd_tx, events.clone(), status_rx);
        let config = opts.config.clone();
        let sup = Supervisor {
            node: Arc::new(node),
            chain,
            guard,
            manager: None,
            upgrade_stop: StopRequest::new(),
            data_backup: None,
            backup_fn: None,
            log_level: None,
            restarts: RestartTracker::new(restart_policy(&config)),
            health: HealthMonitor::new(health_settings(&opts.home, &config)),
            raw_args: opts.cli_args.clone(),
            started_with: None,
            frozen: Vec::new(),
            spec: LaunchSpec::default(),
            phase: Phase::Starting,
            seen: ChainSeen::default(),
            heads: HeadFeed::default(),
            last_exit: None,
            last_error: None,
            halt: None,
            verifying: None,
            blocked: BlockedWatch::default(),
            governance: None,
            inbox: Inbox {
                commands: cmd_rx,
                signals: sig_rx,
                feed: None,
                backlog: std::collections::VecDeque::new(),
            },
            out: Outbox {
                events,
                seq: Arc::new(AtomicU64::new(0)),
            },
            status,
            signal_tx: sig_tx,
            started_at: now_rfc3339(),
            lock: None,
            config,
            opts,
        };
        (sup, handle)
    }

    /// Feeds the governance monitor's findings into the loop.
    pub fn with_feed(mut self, feed: Option<mpsc::Receiver<FeedItem>>) -> Self {
        self.inbox.feed = feed;
        self
    }

    /// The backup the upgrade pipeline takes before a switch.
    pub fn with_data_backup(mut self, backup: Option<Arc<dyn DataBackup>>) -> Self {
        self.data_backup = backup;
        self
    }

    /// How `backup create` takes a manual snapshot.
    pub fn with_backup_fn(mut self, f: BackupFn) -> Self {
        self.backup_fn = Some(f);
        self
    }

    /// How a reloaded `log.level` is applied.
    pub fn with_log_level(mut self, f: LogLevelFn) -> Self {
        self.log_level = Some(f);
        self
    }

    /// Runs under a home lock the caller already holds
    /// ([`crate::acquire_home_lock`], taken before serving the socket).
    pub fn with_lock(mut self, lock: PidLock) -> Self {
        self.lock = Some(lock);
        self
    }

    /// A sender of signals into the loop (the OS signal forwarder, tests).
    pub fn signal_sender(&self) -> mpsc::Sender<SupervisorSignal> {
        self.signal_tx.clone()
    }

    /// The node, shared with the loop.
    pub fn node(&self) -> Arc<N> {
        self.node.clone()
    }

    /// Runs until the supervisor ends; returns the exit code. Holds the
    /// home's pid lock throughout. On every way out, a panic of the loop
    /// included, the node is stopped gracefully (SIGTERM, grace), never
    /// killed by a drop.
    pub async fn run(mut self) -> Result<i32, SupervisorError> {
        let home = self.opts.home.clone();
        wemixvisor_core::atomic::create_dir_private(&home.state_dir())?;
        let _lock = match self.lock.take() {
            Some(l) => l,
            None => crate::acquire_home_lock(&home)?,
        };
        let node = self.node.clone();
        let out = self.out.clone();
        let status_tx = self.status.clone();
        if let Some(prev) = load_status_file(&home.status_file()) {
            self.seen.head = prev.chain.head;
            self.seen.head_seen_at = prev.chain.head_seen_at;
        }
        let _writer = spawn_status_writer(home.status_file(), self.status.subscribe());
        let _logger = spawn_event_logger(self.out.events.subscribe());
        let result = std::panic::AssertUnwindSafe(self.run_inner())
            .catch_unwind()
            .await;
        let result = match result {
            Ok(r) => r,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(SupervisorError::Panicked(msg))
            }
        };
        if result.is_err() && node.pid().is_some() {
            // Never leave a node behind a dead loop, and never SIGKILL it:
            // the graceful stop (SIGTERM, grace) of the node itself.
            out.publish(Event::Stopping {
                reason: "the supervisor ends with an error; stopping the node gracefully".into(),
            });
            if let Err(e) = node.stop().await {
                tracing::error!(error = %e, "cannot stop the node");
            }
        }
        let mut last = status_tx.borrow().clone();
        last.supervisor.state = match &result {
            Ok(_) if last.supervisor.state == "failed" => "failed".into(),
            Ok(_) => "stopped".into(),
            Err(e) => {
                last.supervisor.error = Some(e.to_string());
                "failed".into()
            }
        };
        last.node.state = node.state().as_str().into();
        last.node.pid = node.pid();
        last.updated_at = now_rfc3339();
        if let Err(e) = write_status_file(&home.status_file(), &last) {
            tracing::warn!(error = %e, "cannot write the status file");
        }
        status_tx.send_replace(last);
        result
    }

    async fn run_inner(&mut self) -> Result<i32, SupervisorError> {
        if let Some(code) = self.start_up().await? {
            self.phase = Phase::Stopped;
            return Ok(code);
        }
        let home = self.opts.home.clone();
        let mut poll = timer(self.config.upgrade.poll_interval).max(Duration::from_millis(50));
        let mut watcher = UpgradeInfoWatcher::spawn(home.upgrade_info_file(), poll);
        let mut tick_every = self.tick_every(poll);
        let mut tick = interval(tick_every);
        let mut was_ticking = false;
        let mut health_every = timer(self.config.health.interval).max(Duration::from_millis(100));
        let mut health_tick = interval(health_every);
        let mut guard_tick = interval(GUARD_RECHECK);
        self.publish_status();
        let code = loop {
            let backoff_until = match &self.phase {
                Phase::Backoff { until } => Some(*until),
                _ => None,
            };
            let watching = self.phase == Phase::Running;
            let halting = self.halt.is_some();
            let ticking = self.tick_wanted();
            if ticking && !was_ticking {
                // Needed again after a quiet spell: at once, not a period
                // after the last tick.
                tick.reset_immediately();
            }
            was_ticking = ticking;
            let subscribed = self.heads.stream.is_some();
            let subscribe_at = self.heads.retry_at;
            let feed_on = self.inbox.feed.is_some();
            let node = self.node.clone();
            let (arm, result) = if let Some(cmd) = self.inbox.backlog.pop_front() {
                ("command", self.on_command(cmd).await)
            } else {
                tokio::select! {
                Some(sig) = self.inbox.signals.recv() => ("signal", self.on_signal(sig).await),
                exit = node.wait(), if watching => ("node-exit", self.on_node_exit(exit).await),
                _ = sleep_until(backoff_until), if backoff_until.is_some() => {
                    ("restart-timer", self.on_restart_timer().await)
                }
                Some(info) = watcher.next() => {
                    ("trigger", self.on_trigger(UpgradePlan::from_info(info, "upgrade-info")).await)
                }
                head = next_head(&mut self.heads.stream), if subscribed => ("head", self.on_head(head).await),
                _ = sleep_until(subscribe_at), if subscribe_at.is_some() => ("subscribe", self.on_subscribe().await),
                _ = tick.tick(), if ticking => ("tick", self.on_tick().await),
                _ = health_tick.tick() => ("health", self.on_health_tick().await),
                Some(cmd) = self.inbox.commands.recv() => ("command", self.on_command(cmd).await),
                item = recv_feed(&mut self.inbox.feed), if feed_on => ("governance", self.on_feed(item).await),
                _ = guard_tick.tick(), if halting => ("quorum-guard", self.on_guard_tick().await),
                }
            };
            match result {
                Ok(Flow::Continue) => {}
                Ok(Flow::Exit(code)) => break code,
                Err(e) => self.arm_failed(arm, e),
            }
            if let Phase::GaveUp { code, .. } = &self.phase {
                break *code;
            }
            self.want_heads();
            // A reload may have changed the poll or health interval.
            let p = timer(self.config.upgrade.poll_interval).max(Duration::from_millis(50));
            if p != poll {
                poll = p;
                watcher = UpgradeInfoWatcher::spawn(home.upgrade_info_file(), poll);
            }
            let every = self.tick_every(poll);
            if every != tick_every {
                tick_every = every;
                tick = interval(tick_every);
            }
            let h = timer(self.config.health.interval).max(Duration::from_millis(100));
            if h != health_every {
                health_every = h;
                health_tick = interval(health_every);
            }
            self.publish_status();
        };
        if !matches!(self.phase, Phase::GaveUp { .. }) {
            self.phase = Phase::Stopped;
        }
        self.publish_status();
        Ok(code)
    }

    // ----- start-up -------------------------------------------------------

    /// Orphan check, journal recovery and start-up upgrades, then the first
    /// start. Signals and commands are served throughout (a stop ends at
    /// the next safe point). `Some(code)` when the supervisor must end.
    async fn start_up(&mut self) -> Result<Option<i32>, SupervisorError> {
        let home = self.opts.home.clone();
        if std::fs::symlink_metadata(home.current_link()).is_err() {
            return Err(SupervisorError::NotInitialised {
                home: home.root().to_path_buf(),
            });
        }
        self.publish_status();
        let grace = self.config.node.shutdown_grace;
        let (orphan, stop) = guarded(
            &mut self.inbox,
            &self.out,
            &self.upgrade_stop,
            "a node left by an earlier supervisor is being stopped",
            wemixvisor_node::stop_orphaned_node(&home.node_pid_file(), &home.data_dir(), grace),
        )
        .await;
        orphan?;
        if let Some(stop) = stop {
            return Ok(Some(self.finish_stop(stop, 0).await));
        }
        let options =
            NodeOptions::load(&home.node_options_file()).map_err(SupervisorError::Config)?;
        self.raw_args = build_argv(&options, &self.opts.cli_args);
        let settings = upgrade_settings(&self.config, &*self.opts.env)?;
        let manager = UpgradeManager::new(
            home.clone(),
            &self.config.node.daemon_name,
            OsFs,
            settings,
            self.data_backup.clone(),
        )
        .map_err(SupervisorError::Upgrade)?
        .with_step_sink(step_sink(self.out.clone(), self.status.clone()));
        self.upgrade_stop = manager.stop_request();
        self.manager = Some(manager);
        self.spec = self.fresh_spec();
        tracing::info!(home = %home.root().display(), node = %self.spec.program.display(), args = ?self.spec.args, "wemixvisor starting");

        // An upgrade the journal says was in progress is finished or rolled
        // back first (this may start the node).
        let Some(manager) = self.manager.as_mut() else {
            return Ok(None);
        };
        let (recovery, stop) = guarded(
            &mut self.inbox,
            &self.out,
            &self.upgrade_stop,
            "the upgrade journal is being recovered",
            manager.recover(&*self.node, &self.chain, &mut self.spec),
        )
        .await;
        match recovery {
            Ok(r) => tracing::info!(recovery = ?r, "upgrade journal checked"),
            Err(e @ UpgradeError::Interrupted { .. }) => tracing::warn!("{e}"),
            Err(e) => {
                self.arm_failed("recovery", e.to_string());
            }
        }
        if let Some(pid) = self.node.pid() {
            // Recovery started the node (the new binary, or the previous
            // one after a rollback).
            self.started(pid);
        }
        self.refresh_verifying();
        if let Some(stop) = stop {
            return Ok(Some(self.finish_stop(stop, 0).await));
        }
        // A plan already due (its height passed while nothing watched) is
        // applied before the old binary can run again.
        self.ingest_trigger_file();
        for _ in 0..16 {
            let Some(plan) = self.due() else { break };
            let before = self.current_binary();
            let (flow, stop) = self.apply_guarded(&plan, None).await;
            if let Some(stop) = stop {
                return Ok(Some(self.finish_stop(stop, 0).await));
            }
            if let Flow::Exit(code) = flow {
                return Ok(Some(code));
            }
            if self.current_binary() == before {
                // Blocked or failed: the previous binary starts below.
                break;
            }
        }
        if self.node.pid().is_none() {
            self.spec = self.fresh_spec();
            match self.node.start(&self.spec).await {
                Ok(pid) => self.started(pid),
                Err(e) => return Err(SupervisorError::Start(e)),
            }
        }
        Ok(None)
    }

    // ----- arms -------------------------------------------------------------

    async fn on_signal(&mut self, sig: SupervisorSignal) -> Result<Flow, String> {
        let actor = Actor::Signal {
            name: sig.name().into(),
        };
        self.out.publish(Event::ControlReceived {
            verb: if sig.is_shutdown() { "stop" } else { "reload" }.into(),
            actor: actor.clone(),
        });
        if sig.is_shutdown() {
            // A signal from a service manager is not refused: it would
            // follow with SIGKILL.
            return Ok(self.do_stop(actor, None).await);
        }
        match self.reload().await {
            Ok(msg) => tracing::info!("{msg}"),
            Err(e) => tracing::error!("{}", e.message),
        }
        Ok(Flow::Continue)
    }

    async fn on_node_exit(&mut self, exit: Option<ExitInfo>) -> Result<Flow, String> {
        let Some(exit) = exit else {
            self.phase = Phase::NodeDown {
                reason: "the node is not running".into(),
            };
            return Ok(Flow::Continue);
        };
        self.out.publish(Event::NodeExited {
            code: exit.code,
            signal: exit.signal,
            requested: exit.requested,
            description: exit.describe(),
        });
        self.last_exit = Some(exit);
        if self.node.pid().is_some() {
            // Someone started it again meanwhile (an upgrade step).
            return Ok(Flow::Continue);
        }
        if exit.requested {
            self.phase = Phase::NodeDown {
                reason: format!("the node was stopped ({})", exit.describe()),
            };
            return Ok(Flow::Continue);
        }
        // A new binary that exits inside its verification window is rolled
        // back, not restarted by the crash policy until it gives up.
        match self.tick_verification().await {
            Ok(Some(VerifyDecision::Rollback { .. })) => return Ok(Flow::Continue),
            Ok(_) => {}
            Err(e) => self.arm_failed("verification", e),
        }
        // A node that halts at an upgrade height writes upgrade-info.json
        // before it exits: a plan due now comes before any restart.
        self.ingest_trigger_file();
        if let Some(plan) = self.due() {
            let (flow, stop) = self.apply_guarded(&plan, Some(exit)).await;
            if let Some(stop) = stop {
                return Ok(Flow::Exit(self.finish_stop(stop, 0).await));
            }
            return Ok(flow);
        }
        Ok(self.after_crash(exit))
    }

    async fn on_restart_timer(&mut self) -> Result<Flow, String> {
        self.ingest_trigger_file();
        if let Some(plan) = self.due() {
            // A crashed node waiting for its restart: switch first, start after.
            let (flow, stop) = self.apply_guarded(&plan, None).await;
            if let Some(stop) = stop {
                return Ok(Flow::Exit(self.finish_stop(stop, 0).await));
            }
            if self.node.pid().is_some() || flow != Flow::Continue {
                return Ok(flow);
            }
        }
        self.start_node().await.map(|_| Flow::Continue)
    }

    async fn on_trigger(&mut self, plan: UpgradePlan) -> Result<Flow, String> {
        self.offer(plan, Actor::Supervisor)?;
        let args = self.spec.args.clone();
        self.manager_mut()?.prepare_pending(&args);
        self.upgrade_if_due().await
    }

    async fn on_tick(&mut self) -> Result<Flow, String> {
        if self.heads.stream.is_none() || self.seen.head_origin.is_none() {
            self.read_head().await;
        }
        self.tick_verification().await?;
        let args = self.spec.args.clone();
        self.manager_mut()?.prepare_pending(&args);
        self.watch_blocked();
        self.upgrade_if_due().await
    }

    /// A new head pushed by the node (`None`: the subscription ended, as it
    /// does when the node stops; it is tried again).
    async fn on_head(&mut self, head: Option<u64>) -> Result<Flow, String> {
        let Some(h) = head else {
            tracing::debug!("the node's head subscription ended");
            self.heads.ended();
            return Ok(Flow::Continue);
        };
        if !self.heads.logged {
            self.heads.logged = true;
            tracing::info!(head = h, "following the node's new heads");
        }
        self.saw_head(h);
        self.upgrade_if_due().await
    }

    /// Tries to subscribe to the node's new heads.
    async fn on_subscribe(&mut self) -> Result<Flow, String> {
        self.heads.retry_at = None;
        let Some(endpoint) = self.heads.endpoint.clone() else {
            return Ok(Flow::Continue);
        };
        match self.chain.subscribe_heads(&endpoint).await {
            Ok(stream) => {
                tracing::debug!(%endpoint, "subscribed to new heads");
                self.heads.subscribed(stream);
            }
            Err(wemixvisor_core::ChainError::MethodUnavailable { method }) => {
                tracing::info!(%endpoint, "the node offers no {method}; polling the head every upgrade.poll_interval");
                self.heads.unsupported = true;
            }
            Err(e) => {
                tracing::debug!(%endpoint, error = %e, "no head subscription yet; polling meanwhile");
                self.heads.failed();
            }
        }
        Ok(Flow::Continue)
    }

    /// True when a plan waits for a height while the node runs: the only
    /// time the loop follows every head.
    fn waits_for_height(&self) -> bool {
        self.phase == Phase::Running
            && self.node.pid().is_some()
            && self
                .manager
                .as_ref()
                .is_some_and(|m| m.queue().pending().any(|p| p.plan.height > 0))
    }

    /// Opens or closes the head subscription as the plans need it.
    fn want_heads(&mut self) {
        let can = self.heads.endpoint.is_some() && !self.heads.unsupported;
        if !(can && self.waits_for_height()) {
            if self.heads.stream.is_some() || self.heads.retry_at.is_some() {
                self.heads.close();
            }
            return;
        }
        if self.heads.stream.is_none() && self.heads.retry_at.is_none() {
            self.heads.retry_at = Some(Instant::now());
        }
    }

    /// The upgrade tick's period: `upgrade.poll_interval`, shorter while a
    /// verification window runs.
    fn tick_every(&self, poll: Duration) -> Duration {
        if self.verifying.is_some() {
            poll.min(VERIFY_TICK)
        } else {
            poll
        }
    }

    /// The upgrade tick is needed for: the first head of a run, the head
    /// of a waiting plan when no subscription carries it, a verification
    /// window, plans being prepared (their binaries fetched in the
    /// background) and blocked plans (retried, and logged).
    fn tick_wanted(&self) -> bool {
        if self.verifying.is_some() || !self.blocked.now.is_empty() {
            return true;
        }
        if self.phase != Phase::Running || self.node.pid().is_none() {
            return false;
        }
        if self.seen.head_origin.is_none() {
            return true;
        }
        let Some(m) = self.manager.as_ref() else {
            return false;
        };
        m.queue().pending().any(|p| {
            !matches!(p.prepare, wemixvisor_upgrade::PrepareState::Prepared { .. })
                || (p.plan.height > 0 && self.heads.stream.is_none())
        })
    }

    /// The upgrade in its verification window (the pipeline returns once
    /// the new node passes its immediate checks) is judged on every tick
    /// and on every exit of the node the loop did not ask for: applied
    /// when the window ends healthy, rolled back (binary, and data with
    /// `upgrade.rollback_restore_data`) on a crash inside it, and shown in
    /// `status` while it waits (e.g. for quorum at a fork height).
    async fn tick_verification(&mut self) -> Result<Option<VerifyDecision>, String> {
        let Some(manager) = self.manager.as_mut() else {
            return Ok(None);
        };
        if manager.verifying().is_none() {
            self.verifying = None;
            return Ok(None);
        }
        let height = manager
            .journal()
            .ok()
            .and_then(|j| j.active)
            .map_or(0, |a| a.height);
        let decision = manager
            .tick_verification(&*self.node, &self.chain, &mut self.spec)
            .await
            .map_err(|e| e.to_string());
        self.refresh_verifying();
        match decision? {
            Some(VerifyDecision::Healthy { name, detail }) => {
                tracing::info!(upgrade = %name, "{detail}; upgrade verified");
                self.out.publish(Event::UpgradeApplied {
                    name: name.clone(),
                    height,
                });
                Ok(Some(VerifyDecision::Healthy { name, detail }))
            }
            Some(VerifyDecision::Rollback { name, reason }) => {
                self.out.publish(Event::UpgradeFailed {
                    name: name.clone(),
                    error: reason.clone(),
                });
                self.out.publish(Event::UpgradeRolledBack {
                    name: name.clone(),
                    reason: reason.clone(),
                });
                // The crash that rolled back is not the old binary's: its
                // restart budget starts afresh.
                self.restarts.reset();
                self.spec = self.fresh_spec();
                match self.node.pid() {
                    Some(pid) => self.started(pid),
                    None => {
                        if let Err(e) = self.start_node().await {
                            self.arm_failed("verification", e);
                        }
                    }
                }
                Ok(Some(VerifyDecision::Rollback { name, reason }))
            }
            other => Ok(other),
        }
    }

    /// What `status` shows of the verification window, from the journal.
    fn refresh_verifying(&mut self) {
        self.verifying = self
            .manager
            .as_ref()
            .and_then(|m| m.verifying())
            .map(|(name, w)| VerifyingUpgrade {
                name,
                until: humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + Duration::from_secs(w.deadline_unix),
                )
                .to_string(),
                detail: w.detail,
            });
    }

    /// A blocked plan holds back every later one, so it is never silent:
    /// an event each time a plan becomes blocked or its reason changes, a
    /// log line with the fix every [`BLOCKED_LOG_EVERY`], and the list in
    /// `status`.
    fn watch_blocked(&mut self) {
        let head = self.seen.head;
        let Some(manager) = self.manager.as_mut() else {
            return;
        };
        let now = manager.blocked(head);
        for b in &now {
            let key = (b.name.clone(), b.reason.clone());
            if !self.blocked.announced.contains(&key) {
                self.blocked.announced.retain(|(n, _)| *n != b.name);
                self.blocked.announced.push(key);
                self.out.publish(Event::UpgradeBlocked {
                    name: b.name.clone(),
                    reason: b.reason.clone(),
                    fix: b.fix.clone(),
                });
                // The event logger logs it now, with its fix.
                self.blocked.logged_at = Some(Instant::now());
            }
        }
        self.blocked
            .announced
            .retain(|(n, _)| now.iter().any(|b| b.name == *n));
        if now.is_empty() {
            if !self.blocked.now.is_empty() {
                tracing::info!("no upgrade plan is blocked any more");
            }
            self.blocked.logged_at = None;
        } else if self
            .blocked
            .logged_at
            .is_none_or(|t| t.elapsed() >= BLOCKED_LOG_EVERY)
        {
            for b in &now {
                let behind = if b.holding_back.is_empty() {
                    String::new()
                } else {
                    format!("; holding back {}", b.holding_back.join(", "))
                };
                tracing::error!(upgrade = %b.name, height = b.height, "upgrade '{}' is blocked: {}{behind}; fix: {}", b.name, b.reason, b.fix);
            }
            self.blocked.logged_at = Some(Instant::now());
        }
        self.blocked.now = now;
    }

    async fn on_health_tick(&mut self) -> Result<Flow, String> {
        if self.phase != Phase::Running || self.node.state() != NodeState::Running {
            return Ok(Flow::Continue);
        }
        let before: Vec<(String, bool)> = self
            .health
            .results()
            .iter()
            .map(|c| (c.name.clone(), c.ok))
            .collect();
        let verdict = self.health.check(&self.chain, std_now()).await;
        for c in self.health.results() {
            let was = before.iter().find(|(n, _)| *n == c.name).map(|(_, ok)| *ok);
            if was != Some(c.ok) {
                self.out.publish(Event::HealthChanged {
                    check: c.name.clone(),
                    ok: c.ok,
                    detail: c.detail.clone(),
                });
            }
        }
        let observed = self.health.observed();
        if let Some(h) = observed.head {
            self.saw_head(h);
        }
        let young = self.node.uptime().is_some_and(|u| u < STARTUP_GRACE);
        match verdict {
            Some(why) if young => {
                tracing::debug!(reason = %why, "node still starting; not restarting it");
                Ok(Flow::Continue)
            }
            Some(why) => {
                if self.halt.is_some() {
                    return Ok(Flow::Continue);
                }
                let r = self
                    .request_halt(
                        HaltKind::HealthRestart { why },
                        false,
                        Actor::Supervisor,
                        None,
                    )
                    .await;
                Ok(r)
            }
            None => Ok(Flow::Continue),
        }
    }

    async fn on_command(&mut self, cmd: Command) -> Result<Flow, String> {
        let verb = match &cmd {
            Command::StartNode { .. } => "start",
            Command::Restart { .. } => "restart",
            Command::Stop { .. } => "stop",
            Command::Reload { .. } => "reload",
            Command::UpgradeAdd { .. } => "upgrade-add",
            Command::UpgradePlan { .. } => "upgrade-plan",
            Command::UpgradeCancel { .. } => "upgrade-cancel",
            Command::Rollback { .. } => "rollback",
            Command::BackupCreate { .. } => "backup-create",
        };
        let actor = command_actor(&cmd).clone();
        self.out.publish(Event::ControlReceived {
            verb: verb.into(),
            actor,
        });
        match cmd {
            Command::StartNode { reply, .. } => {
                let r = self.start_verb().await;
                let _ = reply.send(r);
                Ok(Flow::Continue)
            }
            Command::Restart {
                force,
                actor,
                reply,
            } => Ok(self
                .request_halt(HaltKind::Restart, force, actor, Some(reply))
                .await),
            Command::Stop {
                force,
                actor,
                reply,
            } => Ok(self
                .request_halt(HaltKind::Stop, force, actor, Some(reply))
                .await),
            Command::Reload { reply, .. } => {
                let _ = reply.send(self.reload().await);
                Ok(Flow::Continue)
            }
            Command::UpgradeAdd {
                plan,
                replace,
                actor,
                reply,
            } => {
                let _ = reply.send(self.upgrade_add(vec![plan], replace, actor));
                Ok(Flow::Continue)
            }
            Command::UpgradePlan {
                plans,
                actor,
                reply,
            } => {
                let _ = reply.send(self.upgrade_add(plans, false, actor));
                Ok(Flow::Continue)
            }
            Command::UpgradeCancel { name, reply, .. } => {
                let r = match self.manager_mut() {
                    Ok(m) => m.cancel(&name).map_err(upgrade_control_error),
                    Err(e) => Err(ControlError::new(e)),
                };
                let r = r.map(|_| {
                    self.out
                        .publish(Event::UpgradeCancelled { name: name.clone() });
                    format!("cancelled upgrade '{name}'")
                });
                let _ = reply.send(r);
                Ok(Flow::Continue)
            }
            Command::Rollback {
                restore_data,
                force,
                actor,
                reply,
            } => Ok(self
                .request_halt(
                    HaltKind::Rollback { restore_data },
                    force,
                    actor,
                    Some(reply),
                )
                .await),
            Command::BackupCreate { name, reply, .. } => {
                self.backup_create(name, reply);
                Ok(Flow::Continue)
            }
        }
    }

    async fn on_feed(&mut self, item: Option<FeedItem>) -> Result<Flow, String> {
        match item {
            None => {
                self.inbox.feed = None;
                Ok(Flow::Continue)
            }
            Some(FeedItem::Status(v)) => {
                self.governance = Some(v);
                Ok(Flow::Continue)
            }
            Some(FeedItem::Change(line)) => {
                self.out.publish(Event::GovernanceChanged { summary: line });
                Ok(Flow::Continue)
            }
            Some(FeedItem::Held(plan)) => {
                tracing::warn!(upgrade = %plan.name, height = plan.height, source = %plan.source, "approved upgrade held: auto_queue_upgrades is off (queue it with `wemixvisor upgrade add`)");
                Ok(Flow::Continue)
            }
            Some(FeedItem::Plan(plan)) => {
                self.offer(plan, Actor::Governance)?;
                Ok(Flow::Continue)
            }
        }
    }

    async fn on_guard_tick(&mut self) -> Result<Flow, String> {
        let Some(h) = self.halt.as_ref() else {
            return Ok(Flow::Continue);
        };
        let timeout = timer(self.config.governance.quorum_guard_timeout);
        let waited = h.since.elapsed();
        let reason = h.reason;
        if waited >= timeout {
            tracing::warn!(halt = reason.as_str(), waited = ?waited, "the quorum guard still holds the halt back; going ahead after governance.quorum_guard_timeout");
            return Ok(self.release_halt("the quorum guard timed out").await);
        }
        match self.ask_guard(reason).await {
            HaltVerdict::Allow { detail } => Ok(self.release_halt(&detail).await),
            HaltVerdict::Wait { reason: why, .. } => {
                if let Some(h) = self.halt.as_mut() {
                    h.why = why;
                }
                Ok(Flow::Continue)
            }
        }
    }

    // ----- control verbs -----------------------------------------------------

    async fn start_verb(&mut self) -> ControlResult {
        match &self.phase {
            Phase::Running => Err(ControlError::new(format!(
                "the node is already running (pid {})",
                self.node.pid().map(|p| p.to_string()).unwrap_or_default()
            ))
            .with_hint("`wemixvisor restart` restarts it")),
            Phase::Backoff { .. } | Phase::NodeDown { .. } => {
                self.restarts.reset();
                self.start_node().await.map_err(ControlError::new)?;
                Ok(format!(
                    "node started (pid {})",
                    self.node.pid().map(|p| p.to_string()).unwrap_or_default()
                ))
            }
            other => Err(ControlError::new(format!(
                "the supervisor is {}; the node cannot be started now",
                phase_name(other)
            ))),
        }
    }

    /// Asks the quorum guard (unless forced, or the node is down, or the
    /// guard is off) and carries the halt out, or keeps it waiting.
    async fn request_halt(
        &mut self,
        kind: HaltKind,
        force: bool,
        actor: Actor,
        reply: Option<oneshot::Sender<ControlResult>>,
    ) -> Flow {
        let reason = match &kind {
            HaltKind::Restart => HaltReason::OperatorRestart,
            HaltKind::Stop => HaltReason::OperatorStop,
            HaltKind::HealthRestart { .. } => HaltReason::HealthRestart,
            HaltKind::Rollback { .. } => HaltReason::ManualRollback,
            HaltKind::Upgrade { .. } => HaltReason::UpgradeWithoutHeight,
        };
        let node_up = self.node.pid().is_some();
        if force || !node_up || !self.config.governance.quorum_guard {
            if let Some(old) = self.halt.take() {
                // A forced request supersedes the one that waited.
                if let Some(r) = old.reply {
                    let _ = r.send(Ok(format!("superseded by a forced {}", reason.as_str())));
                }
            }
            return self.carry_out(kind, actor, reply).await;
        }
        match self.ask_guard(reason).await {
            HaltVerdict::Allow { detail } => {
                tracing::debug!(halt = reason.as_str(), "{detail}");
                self.carry_out(kind, actor, reply).await
            }
            HaltVerdict::Wait {
                active,
                quorum,
                validators,
                reason: why,
            } => {
                let timeout = timer(self.config.governance.quorum_guard_timeout);
                let msg = format!(
                    "the {} waits for the quorum guard: {why}; it goes ahead when quorum allows, or in {} at the latest (--force goes now)",
                    reason.as_str(),
                    humantime::format_duration(timeout)
                );
                tracing::warn!("{msg}");
                self.out.publish(Event::HaltWaiting {
                    reason: reason.as_str().into(),
                    active,
                    quorum,
                    validators,
                });
                if let Some(old) = self.halt.take() {
                    if let Some(r) = old.reply {
                        let _ = r.send(Ok(format!(
                            "superseded by a later {} request",
                            reason.as_str()
                        )));
                    }
                }
                if let Some(r) = reply {
                    let _ = r.send(Ok(msg));
                }
                self.halt = Some(PendingHalt {
                    kind,
                    reason,
                    since: Instant::now(),
                    why,
                    actor,
                    reply: None,
                });
                Flow::Continue
            }
        }
    }

    async fn ask_guard(&mut self, reason: HaltReason) -> HaltVerdict {
        match tokio::time::timeout(Duration::from_secs(30), self.guard.may_halt(reason)).await {
            Ok(v) => v,
            Err(_) => HaltVerdict::Wait {
                active: 0,
                quorum: 0,
                validators: 0,
                reason: "the quorum guard did not answer within 30s".into(),
            },
        }
    }

    async fn release_halt(&mut self, why: &str) -> Flow {
        let Some(h) = self.halt.take() else {
            return Flow::Continue;
        };
        tracing::info!(halt = h.reason.as_str(), "the halt goes ahead: {why}");
        self.carry_out(h.kind, h.actor, h.reply).await
    }

    async fn carry_out(
        &mut self,
        kind: HaltKind,
        actor: Actor,
        reply: Option<oneshot::Sender<ControlResult>>,
    ) -> Flow {
        match kind {
            HaltKind::Stop => self.do_stop(actor, reply).await,
            HaltKind::Restart => {
                let r = self.restart_from_files().await;
                answer(reply, r);
                Flow::Continue
            }
            HaltKind::HealthRestart { why } => {
                tracing::warn!(reason = %why, "restarting an unhealthy node");
                self.out.publish(Event::NodeRestarting {
                    in_secs: 0.0,
                    reason: format!("unhealthy: {why}"),
                });
                if let Err(e) = self.restart_node(&why).await {
                    self.arm_failed("health", e);
                }
                Flow::Continue
            }
            HaltKind::Rollback { restore_data } => {
                let (r, stop) = self.rollback(restore_data).await;
                answer(reply, r);
                match stop {
                    Some(stop) => Flow::Exit(self.finish_stop(stop, 0).await),
                    None => Flow::Continue,
                }
            }
            HaltKind::Upgrade { plan } => {
                let (flow, stop) = self.apply_guarded(&plan, None).await;
                answer(reply, Ok(format!("upgrade '{}' carried out", plan.name)));
                match stop {
                    Some(stop) => Flow::Exit(self.finish_stop(stop, 0).await),
                    None => flow,
                }
            }
        }
    }

    /// Stops the node gracefully and ends the supervisor.
    async fn do_stop(
        &mut self,
        actor: Actor,
        reply: Option<oneshot::Sender<ControlResult>>,
    ) -> Flow {
        let code = self
            .finish_stop(
                DeferredStop {
                    force: true,
                    actor,
                    reply,
                },
                0,
            )
            .await;
        Flow::Exit(code)
    }

    async fn finish_stop(&mut self, stop: DeferredStop, default_code: i32) -> i32 {
        let _ = stop.force;
        self.out.publish(Event::Stopping {
            reason: format!("stop asked by {}", stop.actor.describe()),
        });
        if self.node.pid().is_some() {
            self.read_head().await;
        }
        self.phase = Phase::Stopped;
        self.publish_status();
        let (code, r) = match self.node.stop().await {
            Ok(Some(e)) => (e.wrapper_code(), Ok("stopped".to_string())),
            Ok(None) => (default_code, Ok("stopped".to_string())),
            Err(e) => (
                1,
                Err(ControlError::new(format!("cannot stop the node: {e}"))),
            ),
        };
        answer(stop.reply, r);
        code
    }

    async fn restart_from_files(&mut self) -> ControlResult {
        // `restart` starts the node from the current files: reload first.
        self.reload().await?;
        self.restart_node("asked by an operator")
            .await
            .map_err(ControlError::new)
    }

    async fn restart_node(&mut self, why: &str) -> Result<String, String> {
        tracing::info!(reason = why, "restarting the node");
        self.node.stop().await.map_err(|e| e.to_string())?;
        self.start_node().await?;
        Ok(format!(
            "node restarted (pid {})",
            self.node.pid().map(|p| p.to_string()).unwrap_or_default()
        ))
    }

    async fn rollback(&mut self, restore_data: bool) -> (ControlResult, Option<DeferredStop>) {
        self.spec = self.fresh_spec();
        if self.node.pid().is_some() {
            self.node.set_state(NodeState::Upgrading);
        }
        self.publish_status_now();
        let Some(manager) = self.manager.as_mut() else {
            return (
                Err(ControlError::new("the upgrade pipeline is not set up")),
                None,
            );
        };
        let (r, stop) = guarded(
            &mut self.inbox,
            &self.out,
            &self.upgrade_stop,
            "a rollback is in progress",
            manager.rollback(
                &*self.node,
                &mut self.spec,
                restore_data,
                "operator ran `wemixvisor upgrade rollback`",
            ),
        )
        .await;
        let r = match r {
            Ok(entry) => {
                self.refresh_verifying();
                self.out.publish(Event::UpgradeRolledBack {
                    name: entry.name.clone(),
                    reason: "manual rollback".into(),
                });
                if self.node.pid().is_none() {
                    if let Err(e) = self.start_node().await {
                        return (Err(ControlError::new(e)), stop);
                    }
                } else {
                    self.new_run();
                }
                Ok(format!(
                    "rolled back '{}': current -> {}; node running (pid {})",
                    entry.name,
                    entry.to.as_deref().unwrap_or("genesis"),
                    self.node.pid().map(|p| p.to_string()).unwrap_or_default()
                ))
            }
            Err(e) => {
                if self.node.pid().is_some() {
                    self.node.set_state(NodeState::Running);
                }
                Err(upgrade_control_error(e))
            }
        };
        (r, stop)
    }

    fn upgrade_add(
        &mut self,
        plans: Vec<UpgradePlan>,
        replace: bool,
        actor: Actor,
    ) -> ControlResult {
        let head = self.seen.head;
        let m = self.manager_mut().map_err(ControlError::new)?;
        if replace {
            for p in &plans {
                if m.queue().get(&p.name).is_some() {
                    let _ = m.cancel(&p.name);
                }
            }
        }
        for p in &plans {
            // The binary may just have been installed: prepare it again.
            m.reset_preparation(&p.name)
                .map_err(upgrade_control_error)?;
        }
        let summary: Vec<String> = plans
            .iter()
            .map(|p| format!("'{}' at {}", p.name, p.height))
            .collect();
        let events: Vec<Event> = plans
            .iter()
            .map(|p| Event::UpgradeScheduled {
                name: p.name.clone(),
                height: p.height,
                source: p.source.clone(),
            })
            .collect();
        m.offer_batch(plans, head).map_err(upgrade_control_error)?;
        let args = self.spec.args.clone();
        if let Ok(m) = self.manager_mut() {
            m.prepare_pending(&args);
        }
        for e in events {
            self.out.publish(e);
        }
        tracing::info!(by = %actor.describe(), "queued {}", summary.join(", "));
        Ok(format!(
            "queued {} upgrade(s): {} (head {}); the supervisor prepares them ahead of their heights",
            summary.len(),
            summary.join(", "),
            head.map(|h| h.to_string())
                .unwrap_or_else(|| "unknown".into())
        ))
    }

    fn backup_create(&mut self, name: Option<String>, reply: oneshot::Sender<ControlResult>) {
        let Some(f) = self.backup_fn.clone() else {
            let _ = reply.send(Err(ControlError::new(
                "backups are not set up in this supervisor",
            )));
            return;
        };
        let out = self.out.clone();
        let head = self.seen.head;
        // Copying the chain data takes long: off the loop, on a blocking thread.
        tokio::spawn(async move {
            let r = tokio::task::spawn_blocking(move || f(name, head)).await;
            let r = match r {
                Ok(Ok(b)) => {
                    out.publish(Event::BackupTaken {
                        id: b.id.clone(),
                        kind: "manual".into(),
                        bytes: b.bytes,
                        duration_secs: b.duration_secs,
                    });
                    let mut msg = format!(
                        "created manual snapshot {} in {:.1}s ({} bytes)",
                        b.id, b.duration_secs, b.bytes
                    );
                    for n in b.notes {
                        msg.push_str("; ");
                        msg.push_str(&n);
                    }
                    Ok(msg)
                }
                Ok(Err(e)) => {
                    out.publish(Event::BackupFailed { error: e.clone() });
                    Err(ControlError::new(e))
                }
                Err(e) => {
                    let e = format!("the backup task failed: {e}");
                    out.publish(Event::BackupFailed { error: e.clone() });
                    Err(ControlError::new(e))
                }
            };
            let _ = reply.send(r);
        });
    }

    /// Re-reads `wemixvisor.toml` and `node-options.toml`; applies the
    /// reload-safe keys at once and says which wait.
    async fn reload(&mut self) -> ControlResult {
        let home = self.opts.home.clone();
        let mut errors = Vec::new();
        let new = match wemixvisor_config::Config::load(&home, &*self.opts.env, &self.opts.flags) {
            Ok(c) => Some(c),
            Err(ConfigError::Invalid { path, problems }) => {
                errors.extend(problems.iter().map(|p| format!("{}: {p}", path.display())));
                None
            }
            Err(e) => {
                errors.push(e.to_string());
                None
            }
        };
        let options = match NodeOptions::load(&home.node_options_file()) {
            Ok(o) => Some(o),
            Err(ConfigError::Invalid { path, problems }) => {
                errors.extend(problems.iter().map(|p| format!("{}: {p}", path.display())));
                None
            }
            Err(e) => {
                errors.push(e.to_string());
                None
            }
        };
        let (Some(new), Some(options)) = (new, options) else {
            self.out.publish(Event::ConfigReloadFailed {
                errors: errors.clone(),
            });
            return Err(ControlError::new(format!(
                "the configuration was not reloaded ({} problem(s)); the running configuration stays: {}",
                errors.len(),
                errors.join("; ")
            ))
            .with_hint("fix every problem listed, then run `wemixvisor reload` again")
            .bad_request());
        };
        let mut applied = Vec::new();
        let mut effective = self.config.clone();
        let mut frozen = Vec::new();
        for key in changed_keys(&self.config, &new) {
            let Some(spec) = wemixvisor_config::schema::lookup(key) else {
                continue;
            };
            match applies_at(key) {
                AppliesAt::SupervisorStart => frozen.push(key),
                AppliesAt::Now => {
                    spec.set(&mut effective, &spec.get(&new));
                    applied.push(key.to_string());
                }
                AppliesAt::NodeStart => {
                    spec.set(&mut effective, &spec.get(&new));
                }
            }
        }
        self.frozen = frozen;
        self.config = effective;
        self.raw_args = build_argv(&options, &self.opts.cli_args);
        self.restarts.set_policy(restart_policy(&self.config));
        self.health
            .set_settings(health_settings(&self.opts.home, &self.config));
        if applied.iter().any(|k| k == "log.level") {
            if let Some(f) = &self.log_level {
                if let Err(e) = f(&self.config.log.level) {
                    tracing::warn!(error = %e, "cannot apply log.level");
                }
            }
        }
        let pending = self.pending_keys();
        self.out.publish(Event::ConfigReloaded {
            applied: applied.clone(),
            pending: pending.clone(),
        });
        Ok(format!(
            "configuration reloaded; applied: {}; pending: {}",
            if applied.is_empty() {
                "nothing changed".into()
            } else {
                applied.join(", ")
            },
            if pending.is_empty() {
                "none".into()
            } else {
                pending.join(", ")
            }
        ))
    }

    /// Keys changed in the files but not in effect, with when they apply.
    fn pending_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((name, args)) = &self.started_with {
            if *name != self.config.node.daemon_name {
                out.push(describe_pending("node.daemon_name", AppliesAt::NodeStart));
            }
            if *args != self.raw_args {
                out.push(describe_pending(NODE_OPTIONS_KEY, AppliesAt::NodeStart));
            }
        }
        out.extend(
            self.frozen
                .iter()
                .map(|k| describe_pending(k, AppliesAt::SupervisorStart)),
        );
        out
    }

    // ----- upgrades --------------------------------------------------------

    fn manager_mut(&mut self) -> Result<&mut UpgradeManager<OsFs>, String> {
        self.manager
            .as_mut()
            .ok_or_else(|| "the upgrade pipeline is not set up".to_string())
    }

    fn due(&mut self) -> Option<UpgradePlan> {
        let head = self.seen.head;
        self.manager.as_mut()?.due(head)
    }

    fn offer(&mut self, plan: UpgradePlan, actor: Actor) -> Result<(), String> {
        let (name, height, source) = (plan.name.clone(), plan.height, plan.source.clone());
        match self.manager_mut()?.offer(plan) {
            Ok(true) => {
                tracing::info!(upgrade = %name, height, by = %actor.describe(), "upgrade scheduled");
                self.out.publish(Event::UpgradeScheduled {
                    name,
                    height,
                    source,
                });
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(e) => Err(format!("cannot queue upgrade '{name}': {e}")),
        }
    }

    fn ingest_trigger_file(&mut self) {
        match read_upgrade_info(&self.opts.home.upgrade_info_file()) {
            Ok(Some(info)) => {
                if let Err(e) = self.offer(
                    UpgradePlan::from_info(info, "upgrade-info"),
                    Actor::Supervisor,
                ) {
                    tracing::error!("{e}");
                }
            }
            Ok(None) => {}
            Err(e) if e.is_transient() => {
                tracing::debug!(reason = %e, "upgrade-info.json not complete yet")
            }
            Err(e) => tracing::error!("{e}; ignoring it"),
        }
    }

    /// Carries out a plan that is due, if any (asking the quorum guard
    /// first for a plan without a height while the node runs).
    async fn upgrade_if_due(&mut self) -> Result<Flow, String> {
        if !matches!(self.phase, Phase::Running) {
            return Ok(Flow::Continue);
        }
        let Some(plan) = self.due() else {
            return Ok(Flow::Continue);
        };
        if plan.height == 0 && self.node.pid().is_some() {
            if matches!(&self.halt, Some(h) if matches!(&h.kind, HaltKind::Upgrade { plan: p } if p.name == plan.name))
            {
                return Ok(Flow::Continue);
            }
            return Ok(self
                .request_halt(HaltKind::Upgrade { plan }, false, Actor::Supervisor, None)
                .await);
        }
        let (flow, stop) = self.apply_guarded(&plan, None).await;
        match stop {
            Some(stop) => Ok(Flow::Exit(self.finish_stop(stop, 0).await)),
            None => Ok(flow),
        }
    }

    /// Runs the upgrade pipeline for `plan` while signals and commands are
    /// still served (a stop ends it at its next safe point: between
    /// journaled steps, or a running hook stopped gracefully), then settles
    /// the outcome.
    async fn apply_guarded(
        &mut self,
        plan: &UpgradePlan,
        exit: Option<ExitInfo>,
    ) -> (Flow, Option<DeferredStop>) {
        self.spec = self.fresh_spec();
        let head = self.seen.head;
        let Some(manager) = self.manager.as_mut() else {
            return (Flow::Continue, None);
        };
        if self.node.pid().is_some() {
            self.node.set_state(NodeState::Upgrading);
        }
        let busy = format!("upgrade '{}' is in progress", plan.name);
        publish_status_of(&self.status, |r| {
            r.node.state = "upgrading".into();
        });
        let (outcome, stop) = guarded(
            &mut self.inbox,
            &self.out,
            &self.upgrade_stop,
            &busy,
            manager.apply(plan, &*self.node, &self.chain, &mut self.spec, head),
        )
        .await;
        if let (Err(e @ UpgradeError::Interrupted { .. }), Some(_)) = (&outcome, &stop) {
            // Ended at a safe point for the stop: nothing to settle, the
            // journal is recovered at the next start.
            tracing::warn!("{e}");
            return (Flow::Continue, stop);
        }
        let flow = self.settle_upgrade(plan, outcome, exit).await;
        (flow, stop)
    }

    /// THE policy after an upgrade attempt, wherever it was triggered
    /// (start-up, tick, trigger file, node exit, restart timer).
    async fn settle_upgrade(
        &mut self,
        plan: &UpgradePlan,
        outcome: Result<ApplyOutcome, UpgradeError>,
        exit: Option<ExitInfo>,
    ) -> Flow {
        match outcome {
            Ok(ApplyOutcome::Restarted { name, pid }) => {
                self.refresh_verifying();
                match &self.verifying {
                    Some(v) => {
                        tracing::info!(upgrade = %name, pid, until = %v.until, "the new binary runs; its verification window is open (a crash inside it rolls back)");
                    }
                    None => {
                        tracing::info!(upgrade = %name, pid, "upgrade done; node running the new binary");
                        self.out.publish(Event::UpgradeApplied {
                            name,
                            height: plan.height,
                        });
                    }
                }
                self.started(pid);
                return Flow::Continue;
            }
            Ok(ApplyOutcome::SwitchedStopped { name }) => {
                tracing::info!(upgrade = %name, "upgrade done; restart_after_upgrade is off, exiting");
                self.out.publish(Event::UpgradeApplied {
                    name,
                    height: plan.height,
                });
                return Flow::Exit(0);
            }
            Ok(ApplyOutcome::Blocked { .. }) => {
                // Announced and logged, with its fix, in one place.
                self.watch_blocked();
            }
            Err(e) => {
                self.out.publish(Event::UpgradeFailed {
                    name: plan.name.clone(),
                    error: e.to_string(),
                });
                if let UpgradeError::RolledBack { reason, .. } = &e {
                    self.out.publish(Event::UpgradeRolledBack {
                        name: plan.name.clone(),
                        reason: reason.clone(),
                    });
                }
            }
        }
        // Not switched: the previous binary runs, or must run again.
        if let Some(pid) = self.node.pid() {
            self.node.set_state(NodeState::Running);
            if self.phase != Phase::Running {
                self.started(pid);
            }
            return Flow::Continue;
        }
        match exit {
            Some(exit) => self.after_crash(exit),
            None if self.phase == Phase::Starting => Flow::Continue,
            None => match self.start_node().await {
                Ok(()) => Flow::Continue,
                Err(e) => {
                    self.arm_failed("upgrade", e);
                    Flow::Continue
                }
            },
        }
    }

    // ----- the node ---------------------------------------------------------

    /// The node's launch spec from the files as they are now.
    fn fresh_spec(&self) -> LaunchSpec {
        // The release `current` names may call its binary differently
        // (a plan's `daemon_name`), so the manager says what to start.
        let (program, args) = match &self.manager {
            Some(m) => (m.launch_program(), m.launch_args(&self.raw_args)),
            None => (
                self.opts.home.current_bin(&self.config.node.daemon_name),
                self.raw_args.clone(),
            ),
        };
        LaunchSpec {
            program,
            args,
            env: Vec::new(),
            cwd: Some(self.opts.home.root().to_path_buf()),
        }
    }

    async fn start_node(&mut self) -> Result<(), String> {
        self.spec = self.fresh_spec();
        match self.node.start(&self.spec).await {
            Ok(pid) => {
                self.started(pid);
                Ok(())
            }
            Err(e) => {
                let msg = format!("cannot start the node: {e}");
                // A start that fails counts like a crash for the policy.
                let exit = ExitInfo {
                    code: Some(1),
                    signal: None,
                    requested: false,
                };
                self.last_exit = Some(exit);
                // Backoff, or give-up (which ends the loop).
                let _ = self.after_crash(exit);
                Err(msg)
            }
        }
    }

    /// A node run has started (by us or by the upgrade pipeline).
    fn started(&mut self, pid: u32) {
        self.new_run();
        let binary = self.current_binary();
        self.out.publish(Event::NodeStarted { pid, binary });
    }

    /// THE reset for a new run of the node.
    fn new_run(&mut self) {
        self.phase = Phase::Running;
        self.health.reset();
        self.seen.head_origin = None;
        self.seen.client_version = None;
        let endpoint = head_endpoint(&self.spec.args, self.spec.cwd.as_deref());
        self.heads.new_run(endpoint);
        self.started_with = Some((self.config.node.daemon_name.clone(), self.raw_args.clone()));
    }

    /// The restart policy after an exit the supervisor did not ask for.
    fn after_crash(&mut self, exit: ExitInfo) -> Flow {
        let uptime = self.node.last_run_duration().unwrap_or_default();
        match self.restarts.on_crash(std_now(), uptime) {
            RestartDecision::RestartAfter(wait) => {
                let wait = timer(wait);
                tracing::warn!(exit = %exit.describe(), wait = ?wait, "node exited unexpectedly; restarting it");
                self.out.publish(Event::NodeRestarting {
                    in_secs: wait.as_secs_f64(),
                    reason: exit.describe(),
                });
                self.phase = Phase::Backoff {
                    until: Instant::now() + wait,
                };
                Flow::Continue
            }
            RestartDecision::GiveUp { crashes, window } => {
                let reason = format!(
                    "node crashed {crashes} times within {}; giving up (last: {})",
                    humantime::format_duration(window),
                    exit.describe()
                );
                self.out.publish(Event::NodeGaveUp {
                    crashes,
                    window_secs: window.as_secs(),
                    last_exit: exit.describe(),
                });
                self.node.set_state(NodeState::Failed);
                let code = match exit.wrapper_code() {
                    0 => 1,
                    c => c,
                };
                self.phase = Phase::GaveUp { reason, code };
                Flow::Exit(code)
            }
            RestartDecision::Disabled => {
                tracing::error!(exit = %exit.describe(), "node exited; restarts are disabled");
                Flow::Exit(exit.wrapper_code())
            }
        }
    }

    async fn read_head(&mut self) {
        if self.node.pid().is_none() {
            return;
        }
        // A node that is still starting refuses connections, and the client
        // retries for a while: its exit must not wait for those retries.
        let node = self.node.clone();
        let head = tokio::select! {
            h = self.chain.block_number() => h,
            _ = node.wait() => return,
        };
        match head {
            Ok(h) => {
                self.saw_head(h);
                if self.seen.client_version.is_none() {
                    self.seen.client_version = self.chain.client_version().await.ok();
                }
            }
            Err(e) => tracing::debug!(error = %e, "head not available"),
        }
    }

    fn saw_head(&mut self, h: u64) {
        self.seen.head = Some(h);
        self.seen.head_seen_at = Some(now_rfc3339());
        if self.seen.head_origin.is_none() {
            self.seen.head_origin = Some((h, Instant::now()));
        }
    }

    // ----- errors and status -------------------------------------------------

    fn arm_failed(&mut self, arm: &str, error: String) {
        tracing::error!(arm, "{error}");
        self.last_error = Some(format!("{arm}: {error}"));
        self.out.publish(Event::LoopError {
            arm: arm.into(),
            error,
        });
    }

    fn current_binary(&self) -> String {
        self.manager
            .as_ref()
            .and_then(|m| m.store().current().ok().flatten())
            .unwrap_or_else(|| "genesis".into())
    }

    fn report(&self) -> StatusReport {
        let mut r = self.status.borrow().clone();
        r.schema = STATUS_SCHEMA;
        r.supervisor.pid = Some(std::process::id());
        r.supervisor.started_at = Some(self.started_at.clone());
        r.supervisor.version = self.opts.version.clone();
        r.supervisor.state = match &self.phase {
            Phase::GaveUp { .. } => "failed".into(),
            Phase::Stopped => "stopping".into(),
            Phase::Starting => "starting".into(),
            _ => "running".into(),
        };
        r.supervisor.error = match &self.phase {
            Phase::GaveUp { reason, .. } | Phase::NodeDown { reason } => Some(reason.clone()),
            _ => None,
        };
        r.supervisor.last_error = self.last_error.clone();
        r.supervisor.halt_waiting = self.halt.as_ref().map(|h| {
            format!(
                "{} waiting {}s for the quorum guard: {}",
                h.reason.as_str(),
                h.since.elapsed().as_secs(),
                h.why
            )
        });
        r.supervisor.pending_config = self.pending_keys();
        r.node.state = match (&self.phase, self.node.state()) {
            (Phase::Backoff { .. }, _) => "restarting".into(),
            (Phase::GaveUp { .. }, _) => "failed".into(),
            (_, s) => s.as_str().into(),
        };
        r.node.pid = self.node.pid();
        r.node.uptime_secs = self.node.uptime().map(|u| u.as_secs());
        r.node.restarts = self.node.restarts();
        r.node.last_exit = self.last_exit.map(|e| e.describe());
        r.node.binary = self.current_binary();
        r.node.client_version = self.seen.client_version.clone();
        r.node.argv = self.spec.args.clone();
        let block_period = self.seen.head_origin.and_then(|(h0, t0)| {
            let h = self.seen.head?;
            (h > h0).then(|| t0.elapsed().as_secs_f64() / (h - h0) as f64)
        });
        r.chain.head = self.seen.head;
        r.chain.head_seen_at = self.seen.head_seen_at.clone();
        r.chain.block_period_secs = block_period;
        let observed = self.health.observed();
        r.chain.peers = observed.peers;
        r.chain.syncing = observed.syncing;
        r.health = self
            .health
            .results()
            .iter()
            .map(|c| HealthEntry {
                name: c.name.clone(),
                ok: c.ok,
                detail: c.detail.clone(),
                at: c.at.clone(),
                consecutive_failures: c.consecutive_failures,
            })
            .collect();
        r.upgrade.pending = self.manager.as_ref().and_then(|m| {
            m.queue().next_pending().map(|p| {
                let blocks_to_go = self.seen.head.map(|h| p.height.saturating_sub(h));
                PendingUpgrade {
                    name: p.name.clone(),
                    height: p.height,
                    blocks_to_go,
                    eta_secs: blocks_to_go
                        .zip(block_period)
                        .map(|(b, s)| (b as f64 * s).round() as u64),
                }
            })
        });
        r.upgrade.verifying = self.verifying.clone();
        r.upgrade.blocked = self
            .blocked
            .now
            .iter()
            .map(|b| BlockedUpgrade {
                name: b.name.clone(),
                height: b.height,
                reason: b.reason.clone(),
                fix: b.fix.clone(),
                holding_back: b.holding_back.clone(),
            })
            .collect();
        r.governance = self.governance.clone();
        r.updated_at = now_rfc3339();
        r
    }

    fn publish_status(&mut self) {
        let r = self.report();
        self.status.send_if_modified(|old| {
            let changed = strip_time(old) != strip_time(&r);
            if changed {
                *old = r;
            }
            changed
        });
    }

    fn publish_status_now(&mut self) {
        let r = self.report();
        self.status.send_replace(r);
    }
}

fn strip_time(r: &StatusReport) -> StatusReport {
    let mut r = r.clone();
    r.updated_at.clear();
    r.node.uptime_secs = None;
    r
}

fn publish_status_of(status: &watch::Sender<StatusReport>, f: impl FnOnce(&mut StatusReport)) {
    status.send_modify(|r| {
        f(r);
        r.updated_at = now_rfc3339();
    });
}

fn phase_name(p: &Phase) -> &'static str {
    match p {
        Phase::Starting => "starting",
        Phase::Running => "running",
        Phase::Backoff { .. } => "restarting the node",
        Phase::NodeDown { .. } => "waiting with the node down",
        Phase::GaveUp { .. } => "failed",
        Phase::Stopped => "stopping",
    }
}

fn answer(reply: Option<oneshot::Sender<ControlResult>>, r: ControlResult) {
    if let Some(tx) = reply {
        let _ = tx.send(r);
    }
}

fn command_actor(cmd: &Command) -> &Actor {
    match cmd {
        Command::StartNode { actor, .. }
        | Command::Restart { actor, .. }
        | Command::Stop { actor, .. }
        | Command::Reload { actor, .. }
        | Command::UpgradeAdd { actor, .. }
        | Command::UpgradePlan { actor, .. }
        | Command::UpgradeCancel { actor, .. }
        | Command::Rollback { actor, .. }
        | Command::BackupCreate { actor, .. } => actor,
    }
}

fn upgrade_control_error(e: UpgradeError) -> ControlError {
    let bad = matches!(
        e,
        UpgradeError::BadPlan { .. } | UpgradeError::Conflict { .. }
    );
    let text = e.to_string();
    let (msg, hint) = split_help(&text);
    let mut err = ControlError::new(msg);
    if let Some(h) = hint {
        err = err.with_hint(h);
    }
    if bad {
        err = err.bad_request();
    }
    err
}

/// Splits a message with an embedded `help:` line into the message and the hint.
pub fn split_help(text: &str) -> (String, Option<String>) {
    let mut msg = Vec::new();
    let mut help = Vec::new();
    for line in text.lines() {
        match line.trim_start().strip_prefix("help:") {
            Some(h) => help.push(h.trim().to_string()),
            None => msg.push(line),
        }
    }
    (msg.join("\n"), (!help.is_empty()).then(|| help.join("; ")))
}

fn interval(every: Duration) -> tokio::time::Interval {
    let mut i = tokio::time::interval_at(Instant::now() + every, every);
    i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    i
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn recv_feed(feed: &mut Option<mpsc::Receiver<FeedItem>>) -> Option<FeedItem> {
    match feed {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Runs a long step (`fut`) while still serving signals and commands: a
/// stop (command or signal) sets `stop_flag` (the upgrade pipeline ends at
/// its next safe point) and is returned, to be carried out when the step
/// has ended; other commands wait in the backlog and are answered after
/// it. The status stays readable through the handle all along.
async fn guarded<F: Future>(
    inbox: &mut Inbox,
    out: &Outbox,
    stop_flag: &StopRequest,
    busy: &str,
    fut: F,
) -> (F::Output, Option<DeferredStop>) {
    tokio::pin!(fut);
    let mut stop: Option<DeferredStop> = None;
    loop {
        tokio::select! {
            r = &mut fut => return (r, stop),
            Some(sig) = inbox.signals.recv() => {
                let actor = Actor::Signal { name: sig.name().into() };
                out.publish(Event::ControlReceived { verb: if sig.is_shutdown() { "stop" } else { "reload" }.into(), actor: actor.clone() });
                if sig.is_shutdown() && stop.is_none() {
                    tracing::info!(signal = sig.name(), "stop asked while {busy}; stopping once it reaches a safe point");
                    stop_flag.request();
                    stop = Some(DeferredStop { force: true, actor, reply: None });
                }
            }
            Some(cmd) = inbox.commands.recv() => {
                match cmd {
                    Command::Stop { force, actor, reply } => {
                        out.publish(Event::ControlReceived { verb: "stop".into(), actor: actor.clone() });
                        tracing::info!("stop asked while {busy}; stopping once it reaches a safe point");
                        stop_flag.request();
                        if let Some(prev) = stop.replace(DeferredStop { force, actor, reply: Some(reply) }) {
                            answer(prev.reply, Ok("stopping".into()));
                        }
                    }
                    // Answered once the step is over, in order.
                    other => inbox.backlog.push_back(other),
                }
            }
        }
    }
}

/// Turns the pipeline's steps into [`Event::UpgradeStep`] and the status's
/// `upgrade.step` (cleared when the upgrade ends).
fn step_sink(out: Outbox, status: watch::Sender<StatusReport>) -> wemixvisor_upgrade::StepSink {
    Arc::new(move |name: &str, step: &str| {
        out.publish(Event::UpgradeStep {
            name: name.to_string(),
            step: step.to_string(),
        });
        let ended = matches!(
            step,
            "done" | "rolled back" | "failed" | "aborted" | "interrupted"
        );
        publish_status_of(&status, |r| {
            r.upgrade.step = (!ended).then(|| format!("{name}: {step}"));
        });
    })
}

/// Reads the last status report written to `state/status.json`.
pub fn load_status_file(path: &std::path::Path) -> Option<StatusReport> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_status_file(path: &std::path::Path, r: &StatusReport) -> Result<(), CoreError> {
    wemixvisor_core::atomic::write_json_atomic(path, r, 0o600)
}

/// The status file is a consumer of the status channel: written off the
/// loop (on a blocking thread) whenever the status changes, at most once
/// a second.
fn spawn_status_writer(
    path: std::path::PathBuf,
    mut rx: watch::Receiver<StatusReport>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let r = rx.borrow_and_update().clone();
            let p = path.clone();
            match tokio::task::spawn_blocking(move || write_status_file(&p, &r)).await {
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot write the status file"),
                Err(e) => tracing::warn!(error = %e, "the status writer failed"),
                Ok(Ok(())) => {}
            }
            if rx.changed().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

/// The log is a consumer of the event stream.
fn spawn_event_logger(mut rx: broadcast::Receiver<EventRecord>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(rec) => log_event(&rec.event),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "the event log fell behind")
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

fn log_event(e: &Event) {
    match e {
        Event::NodeStarted { pid, binary } => tracing::info!(pid, binary = %binary, "node started"),
        Event::NodeExited {
            description,
            requested,
            ..
        } => {
            if *requested {
                tracing::info!(exit = %description, "node stopped")
            } else {
                tracing::warn!(exit = %description, "node exited")
            }
        }
        Event::NodeGaveUp {
            crashes,
            window_secs,
            last_exit,
        } => {
            tracing::error!(crashes, window_secs, last = %last_exit, "node crashed too often; giving up")
        }
        Event::HealthChanged { check, ok, detail } => {
            if *ok {
                tracing::info!(check = %check, "health check ok again: {detail}")
            } else {
                tracing::warn!(check = %check, "health check failing: {detail}")
            }
        }
        Event::UpgradeBlocked { name, reason, fix } => {
            tracing::error!(upgrade = %name, "upgrade '{name}' is blocked: {reason}; fix: {fix}");
            tracing::warn!(upgrade = %name, "the current node keeps running; later upgrades wait for this one");
        }
        Event::UpgradeFailed { name, error } => {
            tracing::error!(upgrade = %name, error = %error, "upgrade failed; the previous binary stays")
        }
        Event::UpgradeStep { name, step } => {
            tracing::info!(upgrade = %name, step = %step, "upgrade step")
        }
        Event::UpgradeApplied { name, height } => {
            tracing::info!(upgrade = %name, height, "upgrade applied")
        }
        Event::UpgradeRolledBack { name, reason } => {
            tracing::warn!(upgrade = %name, "rolled back: {reason}")
        }
        Event::ConfigReloaded { applied, pending } => {
            tracing::info!(applied = ?applied, pending = ?pending, "configuration reloaded")
        }
        Event::ConfigReloadFailed { errors } => {
            for e in errors {
                tracing::error!("reload refused: {e}");
            }
        }
        Event::ControlReceived { verb, actor } => {
            tracing::info!(verb = %verb, by = %actor.describe(), "control command")
        }
        Event::LoopError { .. } => {}
        Event::Stopping { reason } => tracing::info!("stopping: {reason}"),
        Event::GovernanceChanged { summary } | Event::ConsensusChanged { summary } => {
            tracing::info!(target: "governance", "{summary}")
        }
        Event::BackupTaken { id, .. } => tracing::info!(id = %id, "snapshot taken"),
        Event::BackupFailed { error } => tracing::error!("backup failed: {error}"),
        other => tracing::debug!(event = ?other, "event"),
    }
}
