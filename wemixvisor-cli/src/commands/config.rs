//! `wemixvisor config`: show, set, reset, validate and migrate the
//! configuration. `wemixvisor-config` decides; this module prints.

use std::process::ExitCode;

use wemixvisor_config::{ConfigError, EditOutcome, FlagOverrides, Network};
use wemixvisor_core::Home;

use crate::context::env_var;
use crate::exit::bad_input;

/// `wemixvisor config` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ConfigCmd {
    /// Print the effective configuration and where each value came from
    /// (default, file, env, flag).
    Show {
        /// Print JSON instead of TOML.
        #[arg(long)]
        json: bool,
        /// Print the template for a network (mainnet, testnet, devnet) instead.
        #[arg(long, value_name = "NETWORK", conflicts_with = "json")]
        template: Option<Network>,
    },
    /// Set one key (dotted, e.g. restart.backoff_max) in wemixvisor.toml,
    /// keeping comments; an invalid value changes nothing.
    Set {
        /// Dotted key, e.g. node.shutdown_grace.
        key: String,
        /// New value, e.g. 5m, true, 8, "a,b" or '["a", "b"]'.
        value: String,
    },
    /// Put one key, or every key, back to the template value for the
    /// file's network (the built-in default when none is set).
    Reset {
        /// Dotted key; all keys when left out.
        key: Option<String>,
    },
    /// Check wemixvisor.toml, the environment and node-options.toml; report
    /// every problem. Exit code 2 when invalid.
    Validate {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rewrite an older wemixvisor.toml in the current schema (the old file
    /// is kept beside it).
    Migrate,
}

/// Bad input (unknown key, bad value, a file to fix) exits with 2; I/O with 1.
fn classify(e: ConfigError) -> anyhow::Error {
    match e {
        ConfigError::Io(_) | ConfigError::Invalid { .. } => anyhow::Error::new(e),
        other => bad_input(other.to_string()),
    }
}

/// Writes `text` to stdout; a closed pipe (`config show | head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn print_edit(verb: &str, outcome: &EditOutcome) -> anyhow::Result<()> {
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    if outcome.changes.is_empty() {
        return emit(&format!(
            "'{}' already holds that value; nothing changed\n",
            outcome.file.display()
        ));
    }
    let mut text = String::new();
    for (key, old, new) in &outcome.changes {
        text.push_str(&format!("{verb} {key} = {new} (was {old})\n"));
    }
    text.push_str(&format!(
        "wrote '{}'\n{}\n",
        outcome.file.display(),
        outcome.applies_when()
    ));
    emit(&text)
}

/// Runs a `config` subcommand against `home`.
pub fn run(home: &Home, flags: &FlagOverrides, cmd: ConfigCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCmd::Show {
            template: Some(network),
            ..
        } => {
            emit(&wemixvisor_config::render_template(network))?;
        }
        ConfigCmd::Show {
            json,
            template: None,
        } => {
            let shown = wemixvisor_config::show(home, &env_var, flags).map_err(classify)?;
            if json {
                emit(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&shown.to_json())?
                ))?;
            } else {
                emit(&shown.render_text())?;
            }
        }
        ConfigCmd::Set { key, value } => {
            let outcome = wemixvisor_config::set_key(home, &key, &value).map_err(classify)?;
            print_edit("set", &outcome)?;
            tell_running_supervisor(home, &outcome)?;
        }
        ConfigCmd::Reset { key } => {
            let outcome = wemixvisor_config::reset_key(home, key.as_deref()).map_err(classify)?;
            print_edit("reset", &outcome)?;
            tell_running_supervisor(home, &outcome)?;
        }
        ConfigCmd::Validate { json } => {
            let report = wemixvisor_config::validate_home(home, &env_var).map_err(classify)?;
            if json {
                emit(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&report.to_json())?
                ))?;
            } else {
                emit(&report.render_text())?;
            }
            return Ok(ExitCode::from(report.exit_code()));
        }
        ConfigCmd::Migrate => {
            let migration = wemixvisor_config::migrate(home).map_err(classify)?;
            emit(&format!("{}\n", migration.summary()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// With a supervisor running, a changed file is reloaded at once, and its
/// answer says exactly which keys were applied and which are pending.
fn tell_running_supervisor(
    home: &Home,
    outcome: &wemixvisor_config::EditOutcome,
) -> anyhow::Result<()> {
    if outcome.changes.is_empty() || wemixvisor_supervisor::running_supervisor(home).is_none() {
        return Ok(());
    }
    let msg = crate::client::command(home, "/api/v1/config/reload", None)?;
    emit(&format!("running supervisor: {msg}\n"))?;
    Ok(())
}
