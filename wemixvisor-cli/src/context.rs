//! What every command needs: the home and the effective configuration.

use anyhow::Context as _;
use wemixvisor_config::{Config, FlagOverrides, LogFormat};
use wemixvisor_core::{resolve_backups_dir, resolve_home_root, Home};

use crate::cli::{Cli, LogFormatArg};

/// Reads an environment variable (empty counts as unset).
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The home named by `--home`, `WEMIX_HOME`, `DAEMON_HOME` or the default,
/// with its snapshots where `DAEMON_DATA_BACKUP_DIR` (or
/// `WEMIXVISOR_BACKUP_DIR`) says.
pub fn home(cli_home: Option<&std::path::Path>) -> anyhow::Result<Home> {
    let root = resolve_home_root(cli_home, env_var)?;
    Ok(Home::new(root).with_backups_dir(resolve_backups_dir(env_var)?))
}

/// Flag overrides for the configuration.
pub fn flags(cli: &Cli) -> FlagOverrides {
    FlagOverrides {
        daemon_name: cli.name.clone(),
        log_format: cli.log_format.map(|f| match f {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        }),
        ..FlagOverrides::default()
    }
}

/// Loads the configuration of `home` with env and flag overlays; its
/// warnings (an old schema version, risky settings) go to stderr.
pub fn load_config(home: &Home, flags: &FlagOverrides) -> anyhow::Result<Config> {
    let loaded = Config::load_report(home, &env_var, flags).with_context(|| {
        format!(
            "cannot load the configuration of home '{}'",
            home.root().display()
        )
    })?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded.config)
}
