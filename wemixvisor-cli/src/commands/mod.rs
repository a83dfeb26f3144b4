//! One module per command; each prints and maps errors, the crates decide.

pub mod alerts;
pub mod backup;
pub mod config;
pub mod gen;
pub mod governance;
mod init;
mod service;
mod version;

use std::process::ExitCode;

use clap::CommandFactory;

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

/// Runs the command `cli` names.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let flags = context::flags(&cli);
    let home = context::home(cli.home.as_deref())?;
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
