//! Wiring of `wemixvisor run` (foreground) and `wemixvisor start`
//! (background): the concrete node process, chain client and quorum guard
//! handed to [`wemixvisor_supervisor::Supervisor`], the OS signals, the
//! API (socket always, TCP when enabled), metrics and the audit log. The
//! loop and every decision live in the library.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use wemixvisor_config::{Config, FlagOverrides};
use wemixvisor_core::{AlwaysAllow, DataBackup, HaltGuard, Home};
use wemixvisor_governance::RpcChainClient;
use wemixvisor_node::signals::Signals;
use wemixvisor_node::{GethProcess, LogCapture, ProcessOptions};
use wemixvisor_supervisor::settings::backup_options;
use wemixvisor_supervisor::{
    acquire_home_lock, spawn_governance, BackupFn, DynGuard, HomeFiles, Supervisor,
    SupervisorOptions, TakenBackup,
};

/// Per-call timeout of the node's RPC.
const RPC_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the supervisor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `run`: the node's output is also copied to the terminal.
    Foreground,
    /// `start`: detached, output only in the node log.
    Background,
}

fn manual_backup(home: &Home, config: &Config) -> BackupFn {
    let home = home.clone();
    let opts = backup_options(config);
    Arc::new(move |name, head| {
        let b = wemixvisor_backup::Backups::new(home.clone(), opts.clone())
            .map_err(|e| e.to_string())?;
        let mut req = wemixvisor_backup::CreateRequest::manual(name);
        req.head_height = head;
        let r = b.create(&req).map_err(|e| e.to_string())?;
        let mut notes = Vec::new();
        if let Some(pid) = r.node_pid {
            notes.push(format!("the node was running (pid {pid}) during the copy"));
        }
        Ok(TakenBackup {
            id: r.id,
            bytes: r.totals.bytes,
            duration_secs: r.elapsed.as_secs_f64(),
            notes,
        })
    })
}

/// The pre-upgrade snapshot seam as the supervisor gets it (`None` when
/// backups are off); offline commands that check plans use the same one,
/// so a plan is judged alike with or without a running supervisor.
pub(crate) fn data_backup(
    home: &Home,
    config: &Config,
) -> anyhow::Result<Option<Arc<dyn DataBackup>>> {
    if !config.backup.enabled || config.upgrade.unsafe_skip_backup {
        return Ok(None);
    }
    let backups = wemixvisor_backup::Backups::new(home.clone(), backup_options(config))
        .context("cannot set up pre-upgrade backups")?;
    Ok(Some(Arc::new(backups)))
}

/// The quorum guard asked before every halt the chain has not coordinated.
fn quorum_guard(config: &Config, chain: &RpcChainClient) -> Arc<dyn HaltGuard> {
    if !config.governance.quorum_guard {
        return Arc::new(AlwaysAllow);
    }
    Arc::new(wemixvisor_governance::QuorumGuard::new(
        chain.clone(),
        wemixvisor_governance::GuardSettings::default(),
    ))
}

/// Tells systemd (`Type=notify`) what the supervisor does: READY=1 once the
/// node runs, STATUS= on every state change, WATCHDOG=1 while the loop keeps
/// publishing its status, STOPPING=1 at the end. Nothing outside systemd.
fn spawn_sd_notify(handle: &wemixvisor_supervisor::SupervisorHandle) {
    let Ok(Some(notifier)) = wemixvisor_node::sdnotify::Notifier::from_env() else {
        return;
    };
    let mut status = handle.watch_status();
    let every = wemixvisor_node::sdnotify::watchdog_interval();
    tokio::spawn(async move {
        let mut ready = false;
        let mut last = String::new();
        let mut tick = tokio::time::interval(every.unwrap_or(Duration::from_secs(3600)));
        loop {
            tokio::select! {
                changed = status.changed() => {
                    if changed.is_err() {
                        let _ = notifier.stopping();
                        return;
                    }
                    let (line, running) = {
                        let r = status.borrow_and_update();
                        (format!("supervisor {}, node {}", r.supervisor.state, r.node.state), r.node.state == "running")
                    };
                    if running && !ready {
                        ready = true;
                        let _ = notifier.ready();
                    }
                    if line != last {
                        let _ = notifier.status(&line);
                        last = line;
                    }
                }
                _ = tick.tick(), if every.is_some() => {
                    let _ = notifier.watchdog();
                }
            }
        }
    });
}

/// Once the node first runs, start-up is over: the code pages only it
/// needed are given back ([`wemixvisor_node::memory`]). Once, not on a timer.
fn spawn_code_release(handle: &wemixvisor_supervisor::SupervisorHandle) {
    let mut status = handle.watch_status();
    tokio::spawn(async move {
        loop {
            if status.borrow_and_update().node.state == "running" {
                break;
            }
            if status.changed().await.is_err() {
                return;
            }
        }
        match wemixvisor_node::memory::release_code_pages() {
            Ok(bytes) => tracing::debug!(bytes, "start-up code pages released"),
            Err(e) => tracing::debug!(error = %e, "cannot release start-up code pages"),
        }
    });
}

/// Runs the supervisor until it ends; returns its exit code.
pub fn run_supervisor(
    home: Home,
    config: Config,
    flags: FlagOverrides,
    cli_args: Vec<String>,
    mode: Mode,
) -> anyhow::Result<i32> {
    // One thread runs the loop, the API and the consumers: they wait far
    // more than they work, and every disk or CPU-heavy step already goes to
    // the blocking pool. Worker threads would only add stacks, allocator
    // arenas and wake-ups to an idle daemon.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(supervise(home, config, flags, cli_args, mode))
}

async fn supervise(
    home: Home,
    config: Config,
    flags: FlagOverrides,
    cli_args: Vec<String>,
    mode: Mode,
) -> anyhow::Result<i32> {
    // Signals first: from here on a SIGTERM is a graceful stop, never the
    // default action.
    let mut signals = Signals::install()?;
    let lock = acquire_home_lock(&home)?;
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
    let guard = DynGuard(quorum_guard(&config, &chain));
    let feed = spawn_governance(&home, &config, RPC_TIMEOUT).map_err(anyhow::Error::msg)?;
    let opts = SupervisorOptions {
        home: home.clone(),
        config: config.clone(),
        cli_args,
        env: Arc::new(crate::context::env_var),
        flags: flags.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let (sup, handle) = Supervisor::new(opts, node, chain, guard);
    let sup = sup
        .with_lock(lock)
        .with_feed(feed)
        .with_data_backup(data_backup(&home, &config)?)
        .with_backup_fn(manual_backup(&home, &config))
        .with_log_level(Arc::new(crate::logging::set_level));
    let to_loop = sup.signal_sender();
    tokio::spawn(async move {
        loop {
            let sig = signals.recv().await;
            if to_loop.send(sig).await.is_err() {
                return;
            }
        }
    });
    spawn_sd_notify(&handle);
    spawn_code_release(&handle);
    let audit = wemixvisor_supervisor::audit::spawn_audit(&handle, home.audit_log_file());
    let metrics = wemixvisor_api::Metrics::new();
    metrics.spawn_consumer(&handle);
    let alerts = crate::commands::alerts::spawn(&home, &config, &handle, &metrics)?;
    let ctx = wemixvisor_api::ApiContext {
        handle: handle.clone(),
        home: home.clone(),
        backend: Arc::new(HomeFiles::new(
            home.clone(),
            Arc::new(crate::context::env_var),
            flags.clone(),
        )),
        metrics,
        alerts: Some(alerts.clone()),
    };
    let socket = wemixvisor_api::serve_unix(&home.socket_file(), ctx.clone())?;
    let tcp = match tcp_options(&home, &config)? {
        Some(opts) => {
            let g = wemixvisor_api::serve_tcp(opts, ctx).await?;
            if let Some(addr) = g.local_addr() {
                tracing::info!(%addr, "API listening on TCP");
            }
            Some(g)
        }
        None => None,
    };
    drop(handle);
    let code = sup.run().await;
    alerts.flush(crate::commands::alerts::FLUSH_AT_EXIT).await;
    socket.shutdown().await;
    if let Some(g) = tcp {
        g.shutdown().await;
    }
    // the loop is gone: the audit consumer ends once it has written the rest
    let _ = tokio::time::timeout(Duration::from_secs(5), audit).await;
    Ok(code?)
}

/// The TCP listener's settings, when `api.enabled_tcp` is on.
fn tcp_options(home: &Home, config: &Config) -> anyhow::Result<Option<wemixvisor_api::TcpOptions>> {
    let a = &config.api;
    if !a.enabled_tcp {
        return Ok(None);
    }
    let bind = a
        .bind
        .parse()
        .with_context(|| format!("api.bind \"{}\" is not ip:port", a.bind))?;
    let token = match &a.token_file {
        Some(p) => {
            let path = if p.is_absolute() {
                p.clone()
            } else {
                home.root().join(p)
            };
            Some(wemixvisor_api::token::read(&path)?)
        }
        None => None,
    };
    Ok(Some(wemixvisor_api::TcpOptions {
        bind,
        token,
        metrics_public: a.metrics_public,
    }))
}
