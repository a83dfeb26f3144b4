//! Supervisor logs through `tracing`: text (coloured on a terminal) or JSON,
//! to stderr, silenced entirely by `log.disable` / `COSMOVISOR_DISABLE_LOGS`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use wemixvisor_config::{Config, LogFormat};

/// Installs the global subscriber from the effective configuration.
pub fn init(config: &Config) {
    if config.log.disable {
        return;
    }
    let filter = EnvFilter::try_from_env("WEMIXVISOR_LOG")
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}
