//! `wemixvisor init`: lay out a home and install the genesis binary.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use wemixvisor_config::{validate_daemon_name, Network, NodeOptions};
use wemixvisor_core::atomic::{self, copy_atomic, create_dir_private, write_atomic};
use wemixvisor_core::Home;

use crate::cli::NetworkArg;
use crate::context::env_var;
use crate::exit::bad_input;

fn network(n: NetworkArg) -> Network {
    match n {
        NetworkArg::Mainnet => Network::Mainnet,
        NetworkArg::Testnet => Network::Testnet,
        NetworkArg::Devnet => Network::Devnet,
    }
}

/// Creates the home layout, installs `binary` as `genesis/bin/<name>`, points
/// `current` at genesis and writes the configuration for `net`.
pub fn run(
    home: &Home,
    net: NetworkArg,
    binary: &Path,
    force: bool,
    name_flag: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let net = network(net);
    let name = name_flag
        .map(str::to_string)
        .or_else(|| env_var("DAEMON_NAME"))
        .unwrap_or_else(|| "geth".to_string());
    validate_daemon_name(&name).map_err(|e| bad_input(format!("invalid node binary name: {e}")))?;
    home.check_socket_path()
        .map_err(|e| bad_input(e.to_string()))?;

    let meta = std::fs::metadata(binary).map_err(|e| {
        bad_input(format!(
            "node binary '{}' cannot be read: {e}\nhelp: pass the path of a geth binary with --binary",
            binary.display()
        ))
    })?;
    if !meta.is_file() {
        return Err(bad_input(format!(
            "node binary '{}' is not a regular file",
            binary.display()
        )));
    }
    if !atomic::is_executable(binary) {
        return Err(bad_input(format!(
            "node binary '{}' is not executable\nhelp: chmod +x '{}'",
            binary.display(),
            binary.display()
        )));
    }

    let initialised =
        home.config_file().exists() || std::fs::symlink_metadata(home.current_link()).is_ok();
    if initialised && !force {
        return Err(bad_input(format!(
            "home '{}' is already initialised\nhelp: pass --force to rewrite its configuration, genesis binary and `current` link (chain data, upgrades and backups are kept)",
            home.root().display()
        )));
    }

    for dir in home.layout_dirs() {
        create_dir_private(&dir)?;
    }
    let target = home.genesis_bin(&name);
    copy_atomic(binary, &target, 0o755)
        .with_context(|| format!("cannot install the genesis binary '{}'", target.display()))?;
    atomic::replace_symlink(&home.current_link(), Path::new("genesis"))?;

    write_atomic(
        &home.config_file(),
        wemixvisor_config::render_default_config(net).as_bytes(),
        0o600,
    )?;
    write_atomic(
        &home.node_options_file(),
        NodeOptions::render_default(net, home).as_bytes(),
        0o600,
    )?;
    for t in [Network::Mainnet, Network::Testnet, Network::Devnet] {
        write_atomic(
            &home.templates_dir().join(format!("{}.toml", t.as_str())),
            wemixvisor_config::render_template(t).as_bytes(),
            0o600,
        )?;
    }

    // The API's TCP token: kept across `init --force` while it is readable,
    // so scrapers and clients keep working.
    let token_file = home.api_token_file();
    if wemixvisor_api::token::read(&token_file).is_err() {
        wemixvisor_api::token::generate(&token_file)?;
    }
    let relative = token_file
        .strip_prefix(home.root())
        .unwrap_or(&token_file)
        .display()
        .to_string();
    wemixvisor_config::set_key(home, "api.token_file", &relative)
        .context("cannot record the API token file in the configuration")?;

    println!(
        "initialised {} home at '{}'\n  genesis binary: {}\n  current -> genesis\n  config: {}\n  API token: {}\nnext: wemixvisor --home '{}' run",
        net.as_str(),
        home.root().display(),
        target.display(),
        home.config_file().display(),
        token_file.display(),
        home.root().display()
    );
    Ok(ExitCode::SUCCESS)
}
