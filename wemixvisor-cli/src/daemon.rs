//! The foreground supervisor (`wemixvisor run`): wires the node process, the
//! chain client, the upgrade trigger and queue, and the signals together.
//!
//! The loop reacts to five things: a signal (stop the node gracefully and
//! end, or forward SIGHUP), the node exiting, a new plan from
//! upgrade-info.json, the head reaching a plan's height, and nothing else.
//! Decisions (is a plan due, how to switch) belong to `wemixvisor-upgrade`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use serde::{Deserialize, Serialize};
use wemixvisor_config::{build_argv, Config, NodeOptions};
use wemixvisor_core::atomic::{create_dir_private, write_atomic};
use wemixvisor_core::lock::{pid_alive, PidLock};
use wemixvisor_core::{
    ChainClient, CoreError, DataBackup, ExitInfo, Home, LaunchSpec, NodeProcess, OsFs, UpgradePlan,
};
use wemixvisor_governance::RpcChainClient;
use wemixvisor_node::signals::Signals;
use wemixvisor_node::{GethProcess, ProcessOptions};
use wemixvisor_upgrade::{
    read_upgrade_info, ApplyOutcome, UpgradeInfoWatcher, UpgradeManager, UpgradeSettings,
};

/// How often the last seen head is written to `state/status.json` at most.
const STATUS_EVERY: Duration = Duration::from_secs(5);
/// Per-call timeout of the node's RPC.
const RPC_TIMEOUT: Duration = Duration::from_secs(5);

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

/// What `state/status.json` holds between runs (the last head matters: a
/// plan whose height it reached is applied before the node starts again).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RunStatus {
    /// Supervisor pid.
    pub supervisor_pid: Option<u32>,
    /// Node pid.
    pub node_pid: Option<u32>,
    /// Node state.
    pub node_state: String,
    /// `genesis` or the upgrade name `current` points at.
    pub current: String,
    /// Last head seen.
    pub head: Option<u64>,
    /// When the head was seen (RFC 3339).
    pub head_seen_at: Option<String>,
    /// Node command line.
    pub argv: Vec<String>,
}

impl RunStatus {
    fn load(path: &Path) -> RunStatus {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
}

struct Supervisor {
    home: Home,
    node: GethProcess,
    chain: RpcChainClient,
    manager: UpgradeManager<OsFs>,
    spec: LaunchSpec,
    status: RunStatus,
    status_written: Option<Instant>,
    restart_after_upgrade: bool,
}

/// Runs the node in the foreground until it ends or a signal stops it;
/// returns the exit code for the supervisor.
pub fn run_foreground(home: Home, config: Config, cli_args: Vec<String>) -> anyhow::Result<i32> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(supervise(home, config, cli_args))
}

fn data_backup(home: &Home, config: &Config) -> anyhow::Result<Option<Arc<dyn DataBackup>>> {
    if !config.backup.enabled || config.upgrade.unsafe_skip_backup {
        return Ok(None);
    }
    let backups = wemixvisor_backup::Backups::new(home.clone(), backup_options(config))
        .context("cannot set up pre-upgrade backups")?;
    Ok(Some(Arc::new(backups)))
}

async fn supervise(home: Home, config: Config, cli_args: Vec<String>) -> anyhow::Result<i32> {
    create_dir_private(&home.state_dir())?;
    let _lock = PidLock::acquire(&home.supervisor_pid_file()).map_err(|e| match e {
        CoreError::Locked { pid, .. } => anyhow!(
            "another wemixvisor (pid {pid}) is already supervising '{}'\nhelp: stop it first, or use another --home",
            home.root().display()
        ),
        other => other.into(),
    })?;
    if let Some(pid) = std::fs::read_to_string(home.node_pid_file())
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    {
        if pid_alive(pid) {
            return Err(anyhow!(
                "a node (pid {pid}) from an earlier supervisor is still running on '{}'\nhelp: stop it (kill -TERM {pid}) before starting a new one; two nodes must never share a datadir",
                home.data_dir().display()
            ));
        }
        let _ = std::fs::remove_file(home.node_pid_file());
    }
    let name = config.node.daemon_name.clone();
    if std::fs::symlink_metadata(home.current_link()).is_err() {
        return Err(anyhow!(
            "home '{}' has no `current` link\nhelp: run `wemixvisor init --binary <geth>` first",
            home.root().display()
        ));
    }

    let options = NodeOptions::load(&home.node_options_file())?;
    let argv = build_argv(&options, &cli_args);
    let spec = LaunchSpec {
        program: home.current_bin(&name),
        args: argv.clone(),
        env: Vec::new(),
        cwd: Some(home.root().to_path_buf()),
    };
    let chain = RpcChainClient::new(&config.node.rpc_url, RPC_TIMEOUT)?;
    let node = GethProcess::new(ProcessOptions {
        shutdown_grace: config.node.shutdown_grace,
        pid_file: Some(home.node_pid_file()),
    });
    let settings = UpgradeSettings {
        restart_after_upgrade: config.upgrade.restart_after_upgrade,
        skip_backup: config.upgrade.unsafe_skip_backup,
    };
    let manager = UpgradeManager::new(
        home.clone(),
        &name,
        OsFs,
        settings,
        data_backup(&home, &config)?,
    )?;
    let previous = RunStatus::load(&home.status_file());
    let mut sup = Supervisor {
        home: home.clone(),
        node,
        chain,
        manager,
        spec,
        status: RunStatus {
            supervisor_pid: Some(std::process::id()),
            head: previous.head,
            head_seen_at: previous.head_seen_at,
            argv,
            ..RunStatus::default()
        },
        status_written: None,
        restart_after_upgrade: config.upgrade.restart_after_upgrade,
    };
    tracing::info!(home = %home.root().display(), node = %sup.spec.program.display(), args = ?sup.spec.args, "wemixvisor starting");

    // A plan already due (its height passed while nothing watched) is
    // applied before the old binary can run again.
    sup.ingest_trigger_file();
    while let Some(plan) = sup.manager.due(sup.status.head) {
        match sup.manager.apply_offline(&plan, sup.status.head)? {
            ApplyOutcome::Blocked { reason, .. } => {
                tracing::error!(upgrade = %plan.name, "{reason}");
                break;
            }
            _ => tracing::info!(upgrade = %plan.name, "applied before start (height {} already reached)", plan.height),
        }
    }

    let mut signals = Signals::install()?;
    sup.node.start(&sup.spec).await?;
    sup.write_status(true);
    let mut watcher =
        UpgradeInfoWatcher::spawn(home.upgrade_info_file(), config.upgrade.poll_interval);
    let mut tick = tokio::time::interval(config.upgrade.poll_interval.max(Duration::from_millis(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let code = loop {
        tokio::select! {
            sig = signals.recv() => {
                if sig.is_shutdown() {
                    tracing::info!(signal = sig.name(), "stopping the node and exiting");
                    let exit = sup.node.stop().await?;
                    break exit.map(|e| e.wrapper_code()).unwrap_or(0);
                }
                tracing::info!(signal = sig.name(), "forwarding to the node");
                sup.node.signal(sig.number()).await?;
            }
            exit = sup.node.wait(), if sup.node.pid().is_some() || sup.node.state() == wemixvisor_core::NodeState::Crashed => {
                if let Some(code) = sup.on_node_exit(exit).await? {
                    break code;
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
                if let Some(code) = sup.upgrade_if_due().await? {
                    break code;
                }
            }
            _ = tick.tick() => {
                sup.poll_head().await;
                if let Some(code) = sup.upgrade_if_due().await? {
                    break code;
                }
            }
        }
    };
    sup.write_status(true);
    Ok(code)
}

impl Supervisor {
    fn ingest_trigger_file(&mut self) {
        match read_upgrade_info(&self.home.upgrade_info_file()) {
            Ok(Some(info)) => {
                let name = info.name.clone();
                if let Err(e) = self.manager.offer(UpgradePlan::from_info(info, "upgrade-info")) {
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

    async fn poll_head(&mut self) {
        match self.chain.block_number().await {
            Ok(h) => {
                let changed = self.status.head != Some(h);
                self.status.head = Some(h);
                self.status.head_seen_at =
                    Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string());
                if changed {
                    self.write_status(false);
                }
            }
            Err(e) => tracing::debug!(error = %e, "head not available"),
        }
    }

    /// Carries out a due plan; `Some(code)` when the supervisor must end.
    async fn upgrade_if_due(&mut self) -> anyhow::Result<Option<i32>> {
        let Some(plan) = self.manager.due(self.status.head) else {
            return Ok(None);
        };
        self.node.set_state(wemixvisor_core::NodeState::Upgrading);
        let outcome = self
            .manager
            .apply(&plan, &self.node, &self.spec, self.status.head)
            .await;
        let result = match outcome {
            Ok(ApplyOutcome::Restarted { name, pid }) => {
                tracing::info!(upgrade = %name, pid, "upgrade done; node running the new binary");
                Ok(None)
            }
            Ok(ApplyOutcome::SwitchedStopped { name }) => {
                tracing::info!(upgrade = %name, "upgrade done; restart_after_upgrade is off, exiting");
                Ok(Some(0))
            }
            Ok(ApplyOutcome::Blocked { name, reason, new_reason }) => {
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
            self.node.set_state(wemixvisor_core::NodeState::Running);
        }
        self.write_status(true);
        result
    }

    /// Handles an exit the supervisor did not ask for; `Some(code)` to end.
    async fn on_node_exit(&mut self, exit: Option<ExitInfo>) -> anyhow::Result<Option<i32>> {
        let Some(exit) = exit else {
            // No node runs (e.g. restart_after_upgrade off); nothing to wait for.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return Ok(None);
        };
        if exit.requested {
            return Ok(None);
        }
        // A node that halts at an upgrade height writes upgrade-info.json
        // before it exits: look for a plan due now before giving up.
        self.ingest_trigger_file();
        if let Some(plan) = self.manager.due(self.status.head) {
            if let ApplyOutcome::SwitchedStopped { name } =
                self.manager.apply_offline(&plan, self.status.head)?
            {
                tracing::info!(upgrade = %name, "node stopped at the upgrade; switched");
                if self.restart_after_upgrade {
                    self.node.start(&self.spec).await?;
                    self.write_status(true);
                    return Ok(None);
                }
                return Ok(Some(0));
            }
        }
        tracing::error!(exit = %exit.describe(), "node exited");
        Ok(Some(exit.wrapper_code()))
    }

    fn write_status(&mut self, force: bool) {
        if !force
            && self
                .status_written
                .is_some_and(|t| t.elapsed() < STATUS_EVERY)
        {
            return;
        }
        self.status.node_pid = self.node.pid();
        self.status.node_state = self.node.state().as_str().to_string();
        self.status.current = self
            .manager
            .store()
            .current()
            .ok()
            .flatten()
            .unwrap_or_else(|| "genesis".into());
        match serde_json::to_vec_pretty(&self.status) {
            Ok(body) => {
                if let Err(e) = write_atomic(&self.home.status_file(), &body, 0o600) {
                    tracing::warn!(error = %e, "cannot write status file");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot encode status"),
        }
        self.status_written = Some(Instant::now());
    }
}
