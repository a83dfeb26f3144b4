//! The supervisor loop behind `wemixvisor run` (foreground) and
//! `wemixvisor start` (background): wires the node process, the chain
//! client, the upgrade trigger and queue, health checks, the restart policy,
//! signals and the API socket together.
//!
//! The loop reacts to: a signal (stop the node gracefully and end, or
//! forward SIGHUP), the node exiting (upgrade, restart with backoff, or give
//! up), a restart timer, a new plan from upgrade-info.json, the head
//! reaching a plan's height, a health check asking for a restart, and
//! requests from the API. Decisions belong to the library crates.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, Context as _};
use tokio::sync::mpsc;
use wemixvisor_config::{build_argv, Config, NodeOptions};
use wemixvisor_core::atomic::{create_dir_private, write_json_atomic};
use wemixvisor_core::lock::{pid_alive, PidLock};
use wemixvisor_core::{
    ChainClient, CoreError, DataBackup, ExitInfo, HealthEntry, Home, LaunchSpec, NodeProcess,
    NodeState, OsFs, PendingUpgrade, StatusReport, UpgradePlan, STATUS_SCHEMA,
};
use wemixvisor_governance::RpcChainClient;
use wemixvisor_node::signals::Signals;
use wemixvisor_node::{
    GethProcess, HealthMonitor, HealthSettings, LogCapture, ProcessOptions, RestartDecision,
    RestartPolicy, RestartTracker,
};
use wemixvisor_upgrade::{read_upgrade_info, ApplyOutcome, UpgradeInfoWatcher, UpgradeManager};

use crate::api::{self, Control};

/// How often `state/status.json` is rewritten at most while nothing changes.
const STATUS_EVERY: Duration = Duration::from_secs(5);
/// Per-call timeout of the node's RPC.
const RPC_TIMEOUT: Duration = Duration::from_secs(5);
/// With no upgrade pending, the head is read this often.
const IDLE_HEAD_EVERY: Duration = Duration::from_secs(5);
/// Health checks do not count against a node younger than this.
const STARTUP_GRACE: Duration = Duration::from_secs(30);

/// Where the supervisor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `run`: the node's output is also copied to the terminal.
    Foreground,
    /// `start`: detached, output only in the node log.
    Background,
}

/// The backup settings of the configuration.
pub fn backup_options(config: &Config) -> wemixvisor_backup::BackupOptions {
    wemixvisor_backup::BackupOptions {
        exclude: config.backup.exclude.clone(),
        include: config.backup.include.clone(),
        keep_auto: config.backup.keep_auto,
        max_age: config.backup.max_age,
        ..wemixvisor_backup::BackupOptions::default()
    }
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Reads the last status report written to `state/status.json`.
pub fn load_status_file(path: &Path) -> Option<StatusReport> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn data_backup(home: &Home, config: &Config) -> anyhow::Result<Option<Arc<dyn DataBackup>>> {
    if !config.backup.enabled || config.upgrade.unsafe_skip_backup {
        return Ok(None);
    }
    let backups = wemixvisor_backup::Backups::new(home.clone(), backup_options(config))
        .context("cannot set up pre-upgrade backups")?;
    Ok(Some(Arc::new(backups)))
}

fn restart_policy(config: &Config) -> RestartPolicy {
    let r = &config.restart;
    RestartPolicy {
        enabled: r.enabled,
        first_immediate: true,
        initial: r.backoff_initial,
        max: r.backoff_max,
        multiplier: r.backoff_multiplier,
        max_restarts: r.max_restarts,
        window: r.window,
        stable_after: r.stable_after,
        min_delay: r.delay,
    }
}

fn health_settings(home: &Home, config: &Config) -> HealthSettings {
    let h = &config.health;
    HealthSettings {
        block_period: h.block_period,
        stall_blocks: h.stall_blocks,
        min_peers: h.min_peers,
        min_free_disk_mb: h.min_free_disk_mb,
        failures_before_restart: h.failures_before_restart,
        restart_on_stall: h.restart_on_stall,
        datadir: home.data_dir(),
    }
}

/// The process group's working directory, read from `/proc` (Linux).
fn process_cwd(pid: u32) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/cwd")).ok()
}

/// A node left running by a supervisor that was killed must not run beside
/// a new one: stop it gracefully (SIGTERM to its group, the grace, SIGKILL).
async fn stop_orphaned_node(home: &Home, grace: Duration) -> anyhow::Result<()> {
    let Some(pid) = std::fs::read_to_string(home.node_pid_file())
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    else {
        return Ok(());
    };
    if !pid_alive(pid) {
        let _ = std::fs::remove_file(home.node_pid_file());
        return Ok(());
    }
    match process_cwd(pid) {
        Some(cwd) if cwd == home.root() => {}
        Some(_) => {
            // The pid was reused by an unrelated process; the file is stale.
            tracing::info!(pid, "stale node pid file (pid now belongs to another program)");
            let _ = std::fs::remove_file(home.node_pid_file());
            return Ok(());
        }
        None => {
            return Err(anyhow!(
                "a node (pid {pid}) from an earlier supervisor may still be running on '{}'\nhelp: stop it (kill -TERM {pid}) before starting; two nodes must never share a datadir",
                home.data_dir().display()
            ))
        }
    }
    tracing::warn!(
        pid,
        "a node from an earlier supervisor is still running; stopping it gracefully"
    );
    let group = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX));
    let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while pid_alive(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if pid_alive(pid) {
        tracing::warn!(
            pid,
            "the old node outlived the grace period; sending SIGKILL"
        );
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(10);
        while pid_alive(pid) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    if pid_alive(pid) {
        return Err(anyhow!(
            "the node of an earlier supervisor (pid {pid}) cannot be stopped"
        ));
    }
    let _ = std::fs::remove_file(home.node_pid_file());
    Ok(())
}

/// Starts the governance monitor (when `governance.enabled`): it polls the
/// chain on its own task, logs what changes, keeps its report in the status,
/// and hands approved upgrade plans to the loop through the channel.
fn spawn_governance(
    home: &Home,
    config: &Config,
    report: Arc<RwLock<StatusReport>>,
) -> anyhow::Result<mpsc::Receiver<UpgradePlan>> {
    let (tx, rx) = mpsc::channel(16);
    if !config.governance.enabled {
        return Ok(rx);
    }
    let client = RpcChainClient::new(&config.node.rpc_url, RPC_TIMEOUT)?;
    let mut service = wemixvisor_governance::GovernanceService::new(
        client,
        home,
        crate::commands::governance::settings(&config.governance),
        crate::commands::governance::monitor_config(&config.health),
    )
    .context("cannot start the governance monitor")?;
    let every = config.governance.poll_interval.max(Duration::from_secs(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let out = service.tick().await;
            for line in &out.changes {
                tracing::info!(target: "governance", "{line}");
            }
            for plan in &out.feed.held {
                tracing::warn!(upgrade = %plan.name, height = plan.height, source = %plan.source, "approved upgrade held: auto_queue_upgrades is off (queue it with `wemixvisor upgrade add`)");
            }
            if let Ok(v) = serde_json::to_value(service.status()) {
                if let Ok(mut r) = report.write() {
                    r.governance = Some(v);
                }
            }
            for plan in out.feed.queue {
                if tx.send(plan).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(rx)
}

/// Runs the supervisor until it ends; returns its exit code.
pub fn run_supervisor(
    home: Home,
    config: Config,
    cli_args: Vec<String>,
    mode: Mode,
) -> anyhow::Result<i32> {
    // One worker: the loop is I/O-bound, and an idle supervisor should cost
    // next to nothing beside the node.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(supervise(home, config, cli_args, mode))
}

struct Supervisor {
    home: Home,
    node: GethProcess,
    chain: RpcChainClient,
    manager: UpgradeManager<OsFs>,
    spec: LaunchSpec,
    report: Arc<RwLock<StatusReport>>,
    status_written: Option<Instant>,
    restart_after_upgrade: bool,
    restarts: RestartTracker,
    restart_at: Option<Instant>,
    health: HealthMonitor,
    head: Option<u64>,
    head_seen_at: Option<String>,
    /// First head seen in this run and when, for the observed block period.
    head_origin: Option<(u64, Instant)>,
    last_exit: Option<ExitInfo>,
    client_version: Option<String>,
    /// The exit of the latest run was dealt with; wait for the next start.
    exit_handled: bool,
    last_head_poll: Option<Instant>,
}

async fn supervise(
    home: Home,
    config: Config,
    cli_args: Vec<String>,
    mode: Mode,
) -> anyhow::Result<i32> {
    create_dir_private(&home.state_dir())?;
    let _lock = PidLock::acquire(&home.supervisor_pid_file()).map_err(|e| match e {
        CoreError::Locked { pid, .. } => anyhow!(
            "another wemixvisor (pid {pid}) is already supervising '{}'\nhelp: stop it first with `wemixvisor stop`, or use another --home",
            home.root().display()
        ),
        other => other.into(),
    })?;
    let name = config.node.daemon_name.clone();
    if std::fs::symlink_metadata(home.current_link()).is_err() {
        return Err(anyhow!(
            "home '{}' has no `current` link\nhelp: run `wemixvisor init --binary <geth>` first",
            home.root().display()
        ));
    }
    stop_orphaned_node(&home, config.node.shutdown_grace).await?;

    let options = NodeOptions::load(&home.node_options_file())?;
    let argv = build_argv(&options, &cli_args);
    let spec = LaunchSpec {
        program: home.current_bin(&name),
        args: argv.clone(),
        env: Vec::new(),
        cwd: Some(home.root().to_path_buf()),
    };
    let chain = RpcChainClient::new(&config.node.rpc_url, RPC_TIMEOUT)?;
    let mut capture = LogCapture::new(home.node_log_file(), home.archived_logs_dir());
    capture.max_bytes = config
        .log
        .node_log_max_mb
        .max(1)
        .saturating_mul(1024 * 1024);
    capture.keep = usize::try_from(config.log.node_log_keep).unwrap_or(usize::MAX);
    capture.tee_stdout = mode == Mode::Foreground;
    let node = GethProcess::new(ProcessOptions {
        shutdown_grace: config.node.shutdown_grace,
        pid_file: Some(home.node_pid_file()),
        log: Some(capture),
    });
    let settings = crate::commands::upgrade::settings(&config)?;
    let manager = UpgradeManager::new(
        home.clone(),
        &name,
        OsFs,
        settings,
        data_backup(&home, &config)?,
    )?;
    let previous = load_status_file(&home.status_file());
    let report = Arc::new(RwLock::new(StatusReport {
        schema: STATUS_SCHEMA,
        ..StatusReport::default()
    }));
    let mut sup = Supervisor {
        home: home.clone(),
        node,
        chain,
        manager,
        spec,
        report: report.clone(),
        status_written: None,
        restart_after_upgrade: config.upgrade.restart_after_upgrade,
        restarts: RestartTracker::new(restart_policy(&config)),
        restart_at: None,
        health: HealthMonitor::new(health_settings(&home, &config)),
        head: previous.as_ref().and_then(|p| p.chain.head),
        head_seen_at: previous.and_then(|p| p.chain.head_seen_at),
        head_origin: None,
        last_exit: None,
        client_version: None,
        exit_handled: false,
        last_head_poll: None,
    };
    let started_at = now_rfc3339();
    if let Ok(mut r) = report.write() {
        r.supervisor.pid = Some(std::process::id());
        r.supervisor.started_at = Some(started_at);
        r.supervisor.version = env!("CARGO_PKG_VERSION").to_string();
        r.node.argv = argv;
    }
    tracing::info!(home = %home.root().display(), node = %sup.spec.program.display(), args = ?sup.spec.args, "wemixvisor starting");

    // An upgrade the journal says was in progress is finished or rolled
    // back first (this may start the node), then a plan already due (its
    // height passed while nothing watched) is applied before the old
    // binary can run again.
    let recovery = sup
        .manager
        .recover(&sup.node, &sup.chain, &mut sup.spec)
        .await?;
    tracing::info!(?recovery, args = ?sup.spec.args, "upgrade journal checked");
    sup.ingest_trigger_file();
    while let Some(plan) = sup.manager.due(sup.head) {
        match sup
            .manager
            .apply(&plan, &sup.node, &sup.chain, &mut sup.spec, sup.head)
            .await
        {
            Ok(ApplyOutcome::Blocked { reason, .. }) => {
                tracing::error!(upgrade = %plan.name, "{reason}");
                break;
            }
            Ok(_) => {
                tracing::info!(upgrade = %plan.name, "applied before start (height {} already reached)", plan.height)
            }
            Err(e) => {
                tracing::error!(upgrade = %plan.name, error = %e, "upgrade failed; starting the previous binary");
                break;
            }
        }
    }

    let mut gov_rx = spawn_governance(&home, &config, report.clone())?;
    let mut signals = Signals::install()?;
    let (control_tx, mut control_rx) = mpsc::channel::<Control>(8);
    let _api = api::serve(&home.socket_file(), report.clone(), control_tx)?;
    // Recovery or an upgrade at start-up may have started (and verified) the node.
    if sup.node.pid().is_none() {
        sup.start_node().await?;
    }
    let mut watcher =
        UpgradeInfoWatcher::spawn(home.upgrade_info_file(), config.upgrade.poll_interval);
    let mut tick =
        tokio::time::interval(config.upgrade.poll_interval.max(Duration::from_millis(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut health_tick =
        tokio::time::interval(config.health.interval.max(Duration::from_millis(100)));
    health_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let code = loop {
        let restart_at = sup.restart_at;
        tokio::select! {
            sig = signals.recv() => {
                if sig.is_shutdown() {
                    tracing::info!(signal = sig.name(), "stopping the node and exiting");
                    sup.read_head().await;
                    let exit = sup.node.stop().await?;
                    break exit.map(|e| e.wrapper_code()).unwrap_or(0);
                }
                tracing::info!(signal = sig.name(), "forwarding to the node");
                sup.node.signal(sig.number()).await?;
            }
            exit = sup.node.wait(), if sup.node.pid().is_some() || !sup.exit_handled => {
                if let Some(code) = sup.on_node_exit(exit).await? {
                    break code;
                }
            }
            _ = tokio::time::sleep_until(restart_at.map(tokio::time::Instant::from_std).unwrap_or_else(tokio::time::Instant::now)), if restart_at.is_some() => {
                sup.restart_at = None;
                sup.start_node().await?;
            }
            Some(ctl) = control_rx.recv() => {
                match ctl {
                    Control::Restart(reply) => {
                        let r = sup.restart_node("asked through the API").await;
                        let _ = reply.send(r.map_err(|e| format!("{e:#}")));
                    }
                    Control::Rollback { restore_data, reply } => {
                        let r = sup.rollback(restore_data).await;
                        let _ = reply.send(r.map_err(|e| format!("{e:#}")));
                    }
                    Control::Shutdown(reply) => {
                        tracing::info!("stop requested; stopping the node and exiting");
                        sup.read_head().await;
                        let exit = sup.node.stop().await;
                        let code = match &exit {
                            Ok(e) => e.map(|e| e.wrapper_code()).unwrap_or(0),
                            Err(_) => 1,
                        };
                        sup.set_supervisor_state("stopped", None);
                        sup.write_status(true);
                        let _ = reply.send(exit.map(|_| "stopped".to_string()).map_err(|e| e.to_string()));
                        break code;
                    }
                }
            }
            Some(plan) = gov_rx.recv() => {
                let name = plan.name.clone();
                let (height, source) = (plan.height, plan.source.clone());
                match sup.manager.offer(plan) {
                    Ok(true) => tracing::info!(upgrade = %name, height, source = %source, "upgrade scheduled"),
                    Ok(false) => tracing::debug!(upgrade = %name, "upgrade already known"),
                    Err(e) => tracing::error!(upgrade = %name, error = %e, "cannot queue upgrade"),
                }
            }
            Some(info) = watcher.next() => {
                let plan = UpgradePlan::from_info(info, "upgrade-info");
                let name = plan.name.clone();
                let height = plan.height;
                match sup.manager.offer(plan) {
                    Ok(true) => tracing::info!(upgrade = %name, height, "upgrade scheduled"),
                    Ok(false) => tracing::debug!(upgrade = %name, "upgrade already known"),
                    Err(e) => tracing::error!(upgrade = %name, error = %e, "cannot queue upgrade"),
                }
                sup.manager.prepare_pending(&sup.spec.args);
                if let Some(code) = sup.upgrade_if_due().await? {
                    break code;
                }
            }
            _ = tick.tick() => {
                if sup.idle_tick() {
                    continue;
                }
                sup.poll_head().await;
                sup.manager.prepare_pending(&sup.spec.args);
                if let Some(code) = sup.upgrade_if_due().await? {
                    break code;
                }
                sup.write_status(false);
            }
            _ = health_tick.tick() => {
                sup.run_health_checks().await?;
            }
        }
    };
    sup.write_status(true);
    Ok(code)
}

impl Supervisor {
    async fn start_node(&mut self) -> anyhow::Result<()> {
        self.node.start(&self.spec).await?;
        self.exit_handled = false;
        self.health.reset();
        self.head_origin = None;
        self.client_version = None;
        self.write_status(true);
        Ok(())
    }

    async fn restart_node(&mut self, why: &str) -> anyhow::Result<String> {
        tracing::info!(reason = why, "restarting the node");
        self.restart_at = None;
        self.node.stop().await?;
        self.start_node().await?;
        Ok(format!(
            "node restarted (pid {})",
            self.node.pid().map(|p| p.to_string()).unwrap_or_default()
        ))
    }

    async fn rollback(&mut self, restore_data: bool) -> anyhow::Result<String> {
        self.restart_at = None;
        let entry = self
            .manager
            .rollback(
                &self.node,
                &mut self.spec,
                restore_data,
                "operator ran `wemixvisor upgrade rollback`",
            )
            .await?;
        if self.node.pid().is_none() {
            self.start_node().await?;
        } else {
            self.exit_handled = false;
            self.health.reset();
            self.head_origin = None;
            self.client_version = None;
        }
        self.write_status(true);
        Ok(format!(
            "rolled back '{}': current -> {}; node running (pid {})",
            entry.name,
            entry.to.as_deref().unwrap_or("genesis"),
            self.node.pid().map(|p| p.to_string()).unwrap_or_default()
        ))
    }

    fn ingest_trigger_file(&mut self) {
        match read_upgrade_info(&self.home.upgrade_info_file()) {
            Ok(Some(info)) => {
                let name = info.name.clone();
                if let Err(e) = self
                    .manager
                    .offer(UpgradePlan::from_info(info, "upgrade-info"))
                {
                    tracing::error!(upgrade = %name, error = %e, "cannot queue upgrade");
                }
            }
            Ok(None) => {}
            Err(e) if e.is_transient() => {
                tracing::debug!(reason = %e, "upgrade-info.json not complete yet")
            }
            Err(e) => tracing::error!("{e}; ignoring it"),
        }
    }

    /// True for a tick with nothing to do: no upgrade pending (the queue
    /// file is checked for plans added by the CLI) and the head read less
    /// than [`IDLE_HEAD_EVERY`] ago. Keeps an idle supervisor near zero CPU.
    fn idle_tick(&mut self) -> bool {
        self.manager.refresh();
        self.manager.queue().next_pending().is_none()
            && self.head.is_some()
            && self.restart_at.is_none()
            && self
                .last_head_poll
                .is_some_and(|t| t.elapsed() < IDLE_HEAD_EVERY)
    }

    /// Reads the head every tick while an upgrade waits for its height;
    /// otherwise every [`IDLE_HEAD_EVERY`], which is all `status` needs and
    /// keeps an idle supervisor cheap. (The head is read once more right
    /// before a requested stop, so the start-up check has a fresh one.)
    async fn poll_head(&mut self) {
        let idle = self.manager.queue().next_pending().is_none()
            && self.head.is_some()
            && self
                .last_head_poll
                .is_some_and(|t| t.elapsed() < IDLE_HEAD_EVERY);
        if !idle {
            self.read_head().await;
        }
    }

    async fn read_head(&mut self) {
        if self.node.pid().is_none() {
            return;
        }
        self.last_head_poll = Some(Instant::now());
        match self.chain.block_number().await {
            Ok(h) => {
                self.head = Some(h);
                self.head_seen_at = Some(now_rfc3339());
                if self.head_origin.is_none() {
                    self.head_origin = Some((h, Instant::now()));
                }
                if self.client_version.is_none() {
                    self.client_version = self.chain.client_version().await.ok();
                }
            }
            Err(e) => tracing::debug!(error = %e, "head not available"),
        }
    }

    async fn run_health_checks(&mut self) -> anyhow::Result<()> {
        if self.node.state() != NodeState::Running {
            return Ok(());
        }
        let young = self.node.uptime().is_some_and(|u| u < STARTUP_GRACE);
        let verdict = self.health.check(&self.chain, Instant::now()).await;
        if let Some(why) = verdict {
            if young {
                tracing::debug!(reason = %why, "node still starting; not restarting it");
            } else {
                tracing::warn!(reason = %why, "restarting an unhealthy node");
                self.restart_node(&why).await?;
            }
        }
        self.write_status(false);
        Ok(())
    }

    /// Carries out a due plan; `Some(code)` when the supervisor must end.
    async fn upgrade_if_due(&mut self) -> anyhow::Result<Option<i32>> {
        if self.restart_at.is_some() {
            // A crashed node waiting for its restart: switch first, start after.
            return Ok(None);
        }
        let Some(plan) = self.manager.due(self.head) else {
            return Ok(None);
        };
        self.node.set_state(NodeState::Upgrading);
        let outcome = self
            .manager
            .apply(&plan, &self.node, &self.chain, &mut self.spec, self.head)
            .await;
        // The manager stops and starts the node itself: a new run to watch.
        self.exit_handled = false;
        let result = match outcome {
            Ok(ApplyOutcome::Restarted { name, pid }) => {
                tracing::info!(upgrade = %name, pid, "upgrade done; node running the new binary");
                self.health.reset();
                self.head_origin = None;
                self.client_version = None;
                Ok(None)
            }
            Ok(ApplyOutcome::SwitchedStopped { name }) => {
                tracing::info!(upgrade = %name, "upgrade done; restart_after_upgrade is off, exiting");
                Ok(Some(0))
            }
            Ok(ApplyOutcome::Blocked {
                name,
                reason,
                new_reason,
            }) => {
                if new_reason {
                    tracing::error!(upgrade = %name, "{reason}");
                    tracing::warn!(upgrade = %name, "the current node keeps running; the upgrade goes ahead as soon as its binary is installed");
                }
                Ok(None)
            }
            Err(e) => {
                tracing::error!(upgrade = %plan.name, error = %e, "upgrade failed; the previous binary is running");
                Ok(None)
            }
        };
        if self.node.pid().is_some() {
            self.node.set_state(NodeState::Running);
        }
        self.write_status(true);
        result
    }

    /// Handles an exit the supervisor did not ask for; `Some(code)` to end.
    async fn on_node_exit(&mut self, exit: Option<ExitInfo>) -> anyhow::Result<Option<i32>> {
        self.exit_handled = true;
        let Some(exit) = exit else {
            return Ok(None);
        };
        if exit.requested {
            return Ok(None);
        }
        self.last_exit = Some(exit);
        // A node that halts at an upgrade height writes upgrade-info.json
        // before it exits: look for a plan due now before anything else.
        self.ingest_trigger_file();
        if let Some(plan) = self.manager.due(self.head) {
            let outcome = self
                .manager
                .apply(&plan, &self.node, &self.chain, &mut self.spec, self.head)
                .await;
            match outcome {
                Ok(ApplyOutcome::Restarted { name, .. }) => {
                    // The manager started and verified the new node.
                    tracing::info!(upgrade = %name, "node stopped at the upgrade; switched");
                    self.exit_handled = false;
                    self.health.reset();
                    self.head_origin = None;
                    self.client_version = None;
                    self.write_status(true);
                    return Ok(None);
                }
                Ok(ApplyOutcome::SwitchedStopped { name }) => {
                    tracing::info!(upgrade = %name, "node stopped at the upgrade; switched");
                    if self.restart_after_upgrade {
                        self.start_node().await?;
                        return Ok(None);
                    }
                    return Ok(Some(0));
                }
                Ok(ApplyOutcome::Blocked { name, reason, .. }) => {
                    tracing::error!(upgrade = %name, "{reason}")
                }
                Err(e) => {
                    tracing::error!(upgrade = %plan.name, error = %e, "upgrade failed; the previous binary stays")
                }
            }
        }
        let uptime = self.node.last_run_duration().unwrap_or_default();
        match self.restarts.on_crash(Instant::now(), uptime) {
            RestartDecision::RestartAfter(wait) => {
                tracing::warn!(exit = %exit.describe(), wait = ?wait, "node exited unexpectedly; restarting it");
                self.restart_at = Some(Instant::now() + wait);
                self.write_status(true);
                Ok(None)
            }
            RestartDecision::GiveUp { crashes, window } => {
                let msg = format!(
                    "node crashed {crashes} times within {}; giving up (last: {})",
                    humantime::format_duration(window),
                    exit.describe()
                );
                tracing::error!("{msg}");
                self.node.set_state(NodeState::Failed);
                self.set_supervisor_state("failed", Some(msg));
                self.write_status(true);
                Ok(Some(match exit.wrapper_code() {
                    0 => 1,
                    c => c,
                }))
            }
            RestartDecision::Disabled => {
                tracing::error!(exit = %exit.describe(), "node exited; restarts are disabled");
                Ok(Some(exit.wrapper_code()))
            }
        }
    }

    fn set_supervisor_state(&mut self, state: &str, error: Option<String>) {
        if let Ok(mut r) = self.report.write() {
            r.supervisor.state = state.to_string();
            r.supervisor.error = error;
        }
    }

    fn refresh_report(&mut self) {
        let binary = self
            .manager
            .store()
            .current()
            .ok()
            .flatten()
            .unwrap_or_else(|| "genesis".into());
        let block_period = self.head_origin.and_then(|(h0, t0)| {
            let h = self.head?;
            (h > h0).then(|| t0.elapsed().as_secs_f64() / (h - h0) as f64)
        });
        let pending = self.manager.queue().next_pending().map(|p| {
            let blocks_to_go = self.head.map(|h| p.height.saturating_sub(h));
            PendingUpgrade {
                name: p.name.clone(),
                height: p.height,
                blocks_to_go,
                eta_secs: blocks_to_go
                    .zip(block_period)
                    .map(|(b, s)| (b as f64 * s).round() as u64),
            }
        });
        let health: Vec<HealthEntry> = self
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
        let peers = self
            .health
            .results()
            .iter()
            .find(|c| c.name == "peers" && c.ok)
            .and_then(|c| c.detail.split_whitespace().next()?.parse().ok());
        let syncing = self
            .health
            .results()
            .iter()
            .find(|c| c.name == "syncing")
            .map(|c| !c.ok);
        let Ok(mut r) = self.report.write() else {
            return;
        };
        if r.supervisor.state != "failed" {
            r.supervisor.state = "running".into();
        }
        r.node.state = match (self.node.state(), self.restart_at) {
            (NodeState::Crashed, Some(_)) => "restarting".into(),
            (s, _) => s.as_str().into(),
        };
        r.node.pid = self.node.pid();
        r.node.uptime_secs = self.node.uptime().map(|u| u.as_secs());
        r.node.restarts = self.node.restarts();
        r.node.last_exit = self.last_exit.map(|e| e.describe());
        r.node.binary = binary;
        r.node.client_version = self.client_version.clone();
        r.chain.head = self.head;
        r.chain.head_seen_at = self.head_seen_at.clone();
        r.chain.block_period_secs = block_period;
        r.chain.peers = peers;
        r.chain.syncing = syncing;
        r.health = health;
        r.upgrade.pending = pending;
        r.updated_at = now_rfc3339();
    }

    fn write_status(&mut self, force: bool) {
        self.refresh_report();
        if !force
            && self
                .status_written
                .is_some_and(|t| t.elapsed() < STATUS_EVERY)
        {
            return;
        }
        let report = match self.report.read() {
            Ok(r) => r.clone(),
            Err(_) => return,
        };
        if let Err(e) = write_json_atomic(&self.home.status_file(), &report, 0o600) {
            tracing::warn!(error = %e, "cannot write status file");
        }
        self.status_written = Some(Instant::now());
    }
}
