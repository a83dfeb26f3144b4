//! `wemixvisor alerts test`, and the wiring of the alert engine into the
//! daemon: `[alerts]` becomes [`AlertSettings`]; rules and delivery live
//! in `wemixvisor_api::alerts`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use wemixvisor_api::alerts::{
    build_sinks, AlertEngine, AlertSettings, AlertsHandle, Notification, SinkConfig,
};
use wemixvisor_api::Metrics;
use wemixvisor_config::Config;
use wemixvisor_core::Home;
use wemixvisor_supervisor::SupervisorHandle;

use crate::exit::Hinted;

/// How long a supervisor that is ending waits for its last alerts (the
/// node gave up, ...) to be delivered.
pub const FLUSH_AT_EXIT: Duration = Duration::from_secs(10);

/// `wemixvisor alerts` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum AlertsCmd {
    /// Send a test alert to every sink in [alerts] and report each result
    /// (exit 1 if any fails).
    Test,
}

/// Who sends: the host name and the home, so that two supervisors on one
/// host stay apart in Alertmanager.
fn instance(home: &Home) -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", home.root().display())
}

/// The engine's settings from `[alerts]`.
pub fn settings(home: &Home, config: &Config) -> AlertSettings {
    let a = &config.alerts;
    let sinks = a
        .webhook_urls
        .iter()
        .cloned()
        .map(SinkConfig::Webhook)
        .chain(a.slack_webhook_urls.iter().cloned().map(SinkConfig::Slack))
        .chain(
            a.alertmanager_urls
                .iter()
                .cloned()
                .map(SinkConfig::Alertmanager),
        )
        .collect();
    AlertSettings {
        repeat_interval: a.repeat_interval,
        upgrade_imminent_blocks: a.upgrade_imminent_blocks,
        send_timeout: a.send_timeout,
        instance: instance(home),
        sinks,
    }
}

/// Starts the alert engine on the supervisor's events and status.
pub fn spawn(
    home: &Home,
    config: &Config,
    handle: &SupervisorHandle,
    metrics: &Metrics,
) -> anyhow::Result<AlertsHandle> {
    let settings = settings(home, config);
    let sinks = build_sinks(&settings).context("cannot set up the alert sinks")?;
    Ok(AlertEngine::new(settings, sinks)
        .with_metrics(metrics.clone())
        .spawn(handle.subscribe(), handle.watch_status()))
}

/// Runs an `alerts` subcommand.
pub fn run(home: &Home, config: &Config, cmd: AlertsCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AlertsCmd::Test => test(home, config),
    }
}

fn test(home: &Home, config: &Config) -> anyhow::Result<ExitCode> {
    let settings = settings(home, config);
    if settings.sinks.is_empty() {
        return Err(anyhow::Error::new(Hinted::new(
            "no alert sink is configured",
            Some("set alerts.webhook_urls, alerts.slack_webhook_urls or alerts.alertmanager_urls, e.g. `wemixvisor config set alerts.alertmanager_urls '[\"http://127.0.0.1:9093\"]'`".into()),
        )));
    }
    let sinks = build_sinks(&settings).context("cannot set up the alert sinks")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let note = Notification::test(&settings.instance);
    let mut failed = 0;
    for sink in &sinks {
        match rt.block_on(sink.send(&note)) {
            Ok(()) => println!("ok      {} {}", sink.kind(), sink.target()),
            Err(e) => {
                failed += 1;
                let why = match e {
                    wemixvisor_api::ApiError::Sink { message, .. } => message,
                    other => other.to_string(),
                };
                println!("FAILED  {} {}: {why}", sink.kind(), sink.target());
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "error: {failed} of {} alert sinks failed\nhelp: check the URLs in the [alerts] section of wemixvisor.toml",
            sinks.len()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
