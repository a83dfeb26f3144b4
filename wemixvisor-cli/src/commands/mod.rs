//! One module per command; each prints and maps errors, the crates decide.

pub mod alerts;
pub mod audit;
pub mod backup;
pub mod config;
pub mod gen;
pub mod governance;
mod init;
mod service;
mod version;

use std::process::ExitCode;

use clap::CommandFactory;
use serde_json::{json, Value};

use crate::cli::{Cli, Command};
use crate::context;
use crate::daemon::Mode;

fn supervise(
    home: wemixvisor_core::Home,
    flags: &wemixvisor_config::FlagOverrides,
    args: Vec<String>,
    mode: Mode,
) -> anyhow::Result<ExitCode> {
    let config = context::load_config(&home, flags)?;
    crate::logging::init(&config);
    let code = crate::daemon::run_supervisor(home, config, flags.clone(), args, mode)?;
    Ok(ExitCode::from(
        u8::try_from(code.clamp(0, 255)).unwrap_or(1),
    ))
}

/// What an offline command records in the audit log: action, target,
/// parameters. A command a running supervisor carries out through the API
/// is recorded there instead; file edits are always recorded here.
fn offline_audit(home: &wemixvisor_core::Home, cmd: &Command) -> Option<(String, String, Value)> {
    use backup::BackupCmd as B;
    use config::ConfigCmd as C;
    use upgrade::UpgradeCmd as U;
    let offline = wemixvisor_supervisor::running_supervisor(home).is_none();
    let e = |a: &str, t: &str, p: Value| Some((a.to_owned(), t.to_owned(), p));
    match cmd {
        Command::Init { network, force, .. } => e(
            "init",
            &format!("{network:?}").to_lowercase(),
            json!({"force": force}),
        ),
        // the value is not recorded: a key may hold a url with credentials
        Command::Config(C::Set { key, .. }) => e("config.set", key, json!({})),
        Command::Config(C::Reset { key }) => {
            e("config.reset", key.as_deref().unwrap_or("*"), json!({}))
        }
        Command::Config(C::Migrate) => e("config.migrate", "", json!({})),
        Command::Backup(B::Create { name, archive }) if offline || *archive => e(
            "backup.create",
            name.as_deref().unwrap_or(""),
            json!({"archive": archive}),
        ),
        Command::Backup(B::Restore { id }) if offline => e("backup.restore", id, json!({})),
        Command::Backup(B::Prune {
            manual,
            pre_restore,
            dry_run,
            ..
        }) if !dry_run => e(
            "backup.prune",
            "",
            json!({"manual": manual, "pre_restore": pre_restore}),
        ),
        Command::Upgrade(U::Add { name, height, .. }) if offline => {
            e("upgrade.add", name, json!({"height": height}))
        }
        Command::Upgrade(U::Plan { file }) if offline => {
            e("upgrade.plan", &file.display().to_string(), json!({}))
        }
        Command::Upgrade(U::Cancel { name }) if offline => e("upgrade.cancel", name, json!({})),
        Command::Upgrade(U::Retry { name }) => e("upgrade.retry", name, json!({})),
        Command::Upgrade(U::Rollback {
            restore_data,
            force,
        }) if offline => e(
            "upgrade.rollback",
            "",
            json!({"restore_data": restore_data, "force": force}),
        ),
        _ => None,
    }
}

/// Runs the command `cli` names, and records it in the audit log when it
/// changed something offline.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let home = context::home(cli.home.as_deref())?;
    let entry = offline_audit(&home, &cli.command);
    let r = run(cli, home.clone());
    // a failed init leaves no home to audit
    let entry = entry.filter(|(a, _, _)| a != "init" || r.is_ok());
    if let Some((action, target, params)) = entry {
        let outcome = match &r {
            Ok(code) if *code == ExitCode::SUCCESS => Ok(()),
            Ok(_) => Err("failed".to_owned()),
            Err(e) => Err(format!("{e:#}")),
        };
        audit::offline(&home, &action, &target, params, &outcome);
    }
    r
}

fn run(cli: Cli, home: wemixvisor_core::Home) -> anyhow::Result<ExitCode> {
    let flags = context::flags(&cli);
    match cli.command {
        Command::Init {
            network,
            binary,
            force,
            systemd,
        } => init::run(&home, network, &binary, force, cli.name.as_deref())
            .and_then(|code| gen::init_systemd(&home, &flags, systemd, code)),
        Command::Run { args } => supervise(home, &flags, args, Mode::Foreground),
        Command::Daemon { args } => supervise(home, &flags, args, Mode::Background),
        Command::Start {
            node_options,
            timeout,
            args,
        } => {
            let pass = service::Passthrough {
                name: cli.name.clone(),
                log_format: cli.log_format.map(|f| format!("{f:?}").to_lowercase()),
            };
            // Fail here, not in the background, on a broken configuration.
            context::load_config(&home, &flags)?;
            service::start(&home, &pass, node_options.as_deref(), &args, timeout)
        }
        Command::Stop { timeout, force } => service::stop(&home, timeout, force),
        Command::Restart { force } => service::restart(&home, force),
        Command::Reload => service::reload(&home),
        Command::Status { json } => service::status(&home, json),
        Command::Logs { follow, lines } => service::logs(&home, lines, follow),
        Command::Config(cmd) => config::run(&home, &flags, cmd),
        Command::Backup(cmd) => {
            let config = context::load_config(&home, &flags)?;
            backup::run(
                &home,
                wemixvisor_supervisor::settings::backup_options(&config),
                cmd,
            )
        }
        Command::Governance(cmd) => {
            let config = context::load_config(&home, &flags)?;
            governance::run(&home, &config.node.rpc_url, cmd)
        }
        Command::Audit { since, json } => audit::run(&home, since, json),
        Command::Alerts(cmd) => {
            let config = context::load_config(&home, &flags)?;
            alerts::run(&home, &config, cmd)
        }
        Command::Version { json } => version::run(json),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "wemixvisor",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Upgrade(cmd) => upgrade::run(&home, &context::load_config(&home, &flags)?, cmd),
        Command::Generate { dir } => gen::generate(&dir),
    }
}
pub mod upgrade;
