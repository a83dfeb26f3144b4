//! Supervisor logs through `tracing`: text (coloured on a terminal) or JSON,
//! to stderr, silenced entirely by `log.disable` / `COSMOVISOR_DISABLE_LOGS`.
//! The level can be changed while running (`log.level` on reload).

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{reload, EnvFilter, Layer as _, Registry};
use wemixvisor_config::{Config, LogFormat};

static LEVEL: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Installs the global subscriber from the effective configuration.
pub fn init(config: &Config) {
    if config.log.disable {
        return;
    }
    let filter = EnvFilter::try_from_env("WEMIXVISOR_LOG")
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let fmt = match config.log.format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Text => fmt.with_ansi(std::io::stderr().is_terminal()).boxed(),
    };
    if tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init()
        .is_ok()
    {
        let _ = LEVEL.set(handle);
    }
}

/// Applies a new `log.level` (`WEMIXVISOR_LOG`, when set, still wins).
pub fn set_level(level: &str) -> Result<(), String> {
    if std::env::var_os("WEMIXVISOR_LOG").is_some() {
        return Ok(());
    }
    let Some(h) = LEVEL.get() else {
        return Ok(());
    };
    let f = EnvFilter::try_new(level).map_err(|e| e.to_string())?;
    h.reload(f).map_err(|e| e.to_string())
}
