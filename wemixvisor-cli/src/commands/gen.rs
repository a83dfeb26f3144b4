//! Generated files: shell completions, man pages and the systemd unit
//! (`wemixvisor __generate <dir>`, used for packaging), and
//! `init --systemd print|install`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::CommandFactory;
use clap_complete::Shell;
use wemixvisor_config::systemd::{default_systemd_unit, render_systemd_unit, UnitSettings};
use wemixvisor_config::FlagOverrides;
use wemixvisor_core::atomic::write_atomic;
use wemixvisor_core::Home;

use crate::cli::Cli;
use crate::context;

/// What `init --systemd` does with the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SystemdAction {
    /// Print the unit on standard output.
    Print,
    /// Write it to /etc/systemd/system/wemixvisor.service.
    Install,
}

/// Where `init --systemd install` puts the unit.
const UNIT_PATH: &str = "/etc/systemd/system/wemixvisor.service";

/// After `init`: prints or installs the unit for `home`.
pub fn init_systemd(
    home: &Home,
    flags: &FlagOverrides,
    action: Option<SystemdAction>,
    code: ExitCode,
) -> anyhow::Result<ExitCode> {
    let Some(action) = action else {
        return Ok(code);
    };
    let config = context::load_config(home, flags)?;
    let exe = std::env::current_exe().context("cannot find the path of this program")?;
    let uid = nix::unistd::getuid();
    let user = if uid.is_root() {
        None
    } else {
        nix::unistd::User::from_uid(uid)
            .ok()
            .flatten()
            .map(|u| u.name)
    };
    let unit = render_systemd_unit(&UnitSettings {
        home: home.root(),
        executable: &exe,
        user: user.as_deref(),
        shutdown_grace: config.node.shutdown_grace,
    });
    match action {
        SystemdAction::Print => print!("{unit}"),
        SystemdAction::Install => {
            write_atomic(Path::new(UNIT_PATH), unit.as_bytes(), 0o644).with_context(|| {
                format!("cannot write '{UNIT_PATH}'\nhelp: run as root, or use --systemd print and copy the unit")
            })?;
            println!("installed {UNIT_PATH}\nnext: systemctl daemon-reload && systemctl enable --now wemixvisor");
        }
    }
    Ok(code)
}

/// Writes `completions/`, `man/`, `systemd/wemixvisor.service` and
/// `openapi.json` (the API's contract) under `dir`.
pub fn generate(dir: &Path) -> anyhow::Result<ExitCode> {
    let completions = dir.join("completions");
    let man = dir.join("man");
    let systemd = dir.join("systemd");
    for d in [&completions, &man, &systemd] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create '{}'", d.display()))?;
    }
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        clap_complete::generate_to(shell, &mut Cli::command(), "wemixvisor", &completions)
            .with_context(|| format!("cannot write the {shell} completions"))?;
    }
    let cmd = Cli::command().name("wemixvisor");
    clap_mangen::generate_to(cmd, &man).context("cannot write the man pages")?;
    let unit = systemd.join("wemixvisor.service");
    std::fs::write(&unit, default_systemd_unit())
        .with_context(|| format!("cannot write '{}'", unit.display()))?;
    let openapi = dir.join("openapi.json");
    std::fs::write(&openapi, wemixvisor_api::openapi::render())
        .with_context(|| format!("cannot write '{}'", openapi.display()))?;
    Ok(ExitCode::SUCCESS)
}
