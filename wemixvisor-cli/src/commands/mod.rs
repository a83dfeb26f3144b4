//! One module per command; each prints and maps errors, the crates decide.

// TEMP pub mod backup;
pub mod config;
mod init;
mod version;

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::context;

/// Runs the command `cli` names.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let flags = context::flags(&cli);
    let home = context::home(cli.home.as_deref())?;
    match cli.command {
        Command::Init {
            network,
            binary,
            force,
        } => init::run(&home, network, &binary, force, cli.name.as_deref()),
        Command::Run { args } => {
            let config = context::load_config(&home, &flags)?;
            crate::logging::init(&config);
            let code = crate::daemon::run_foreground(home, config, args)?;
            Ok(ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1)))
        }
        Command::Config(cmd) => config::run(&home, cmd),
        // TEMP-BACKUP-START
        // TEMP-BACKUP-END
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
    }
}
