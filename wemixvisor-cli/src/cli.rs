//! The command-line surface (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::commands::alerts::AlertsCmd;
use crate::commands::backup::BackupCmd;
use crate::commands::config::ConfigCmd;
use crate::commands::governance::GovernanceCmd;

/// Supervisor and upgrade manager for Wemix WBFT nodes (geth from go-wemix-wbft).
#[derive(Debug, Parser)]
#[command(name = "wemixvisor", version, propagate_version = true, about)]
pub struct Cli {
    /// Home directory [default: $WEMIX_HOME, $DAEMON_HOME, ~/.wemixvisor]
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Node binary name [default: $DAEMON_NAME, config node.daemon_name, geth]
    #[arg(long, global = true, value_name = "NAME")]
    pub name: Option<String>,
    /// Supervisor log format [default: $WEMIXVISOR_LOG_FORMAT, config log.format, text]
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable, coloured on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// Networks `init` knows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NetworkArg {
    /// Wemix mainnet (chain id 1111).
    Mainnet,
    /// Wemix testnet (chain id 1112).
    Testnet,
    /// A local development network.
    Devnet,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a home: layout, genesis binary, `current` link and configuration.
    Init {
        /// Network whose defaults to write.
        #[arg(value_enum, default_value = "mainnet")]
        network: NetworkArg,
        /// The node binary to install as genesis.
        #[arg(long, value_name = "PATH")]
        binary: PathBuf,
        /// Re-initialise an existing home (configuration, genesis binary and
        /// `current`; chain data, upgrades and backups are kept).
        #[arg(long)]
        force: bool,
        /// Then print or install a systemd unit for this home.
        #[arg(long, value_enum, value_name = "ACTION")]
        systemd: Option<crate::commands::gen::SystemdAction>,
    },
    /// Run the node in the foreground and upgrade it at the planned heights.
    ///
    /// Every argument after `run` is passed to the node unchanged, after the
    /// defaults from node-options.toml (an argument given here overrides the
    /// same option from the file).
    Run {
        /// Arguments for the node.
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "GETH ARGS"
        )]
        args: Vec<String>,
    },
    /// Start the supervisor and the node in the background; returns once the
    /// node runs and its RPC answers.
    Start {
        /// Node options (one shell-quoted string), between node-options.toml
        /// and the arguments after `--`.
        #[arg(long, value_name = "OPTIONS", allow_hyphen_values = true)]
        node_options: Option<String>,
        /// How long to wait for the node's RPC.
        #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
        /// Arguments for the node.
        #[arg(last = true, value_name = "GETH ARGS")]
        args: Vec<String>,
    },
    /// Stop the node gracefully, then the background supervisor.
    Stop {
        /// How long to wait for both to end.
        #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
        /// Do not wait for the quorum guard (governance.quorum_guard).
        #[arg(long)]
        force: bool,
    },
    /// Restart the node from the current configuration files (the
    /// supervisor keeps running).
    Restart {
        /// Do not wait for the quorum guard (governance.quorum_guard).
        #[arg(long)]
        force: bool,
    },
    /// Make the running supervisor re-read wemixvisor.toml and
    /// node-options.toml: reload-safe keys apply at once, the others are
    /// listed as pending (also on SIGHUP).
    Reload,
    /// Show supervisor, node, chain, health and upgrade state.
    Status {
        /// As JSON (shape in docs/status.md).
        #[arg(long)]
        json: bool,
    },
    /// Print the node log's tail.
    Logs {
        /// Follow new lines, across rotations.
        #[arg(long, short)]
        follow: bool,
        /// Lines of tail to print first.
        #[arg(long, short = 'n', default_value_t = 100)]
        lines: usize,
    },
    /// The background supervisor itself (started by `start`).
    #[command(hide = true)]
    Daemon {
        /// Arguments for the node.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Show, change and check the configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Snapshots of the chain data: create, list, verify, restore, prune.
    #[command(subcommand)]
    Backup(BackupCmd),
    /// On-chain governance (GovNCP proposals) and consensus monitoring.
    #[command(subcommand)]
    Governance(GovernanceCmd),
    /// Every mutating action (by a local user, an API token or the
    /// supervisor itself) from state/audit.log, oldest first.
    Audit {
        /// Only entries since then: a duration back from now (2h, 7d) or a
        /// time (2026-01-02T03:04:05Z).
        #[arg(long, value_name = "DURATION|TIME", value_parser = crate::commands::audit::parse_since)]
        since: Option<std::time::SystemTime>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Print version information.
    Version {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Upgrades: add, plan a batch, status, cancel, rollback.
    #[command(subcommand)]
    Upgrade(crate::commands::upgrade::UpgradeCmd),
    /// Alerts: send a test alert to every configured sink.
    #[command(subcommand)]
    Alerts(AlertsCmd),
    /// Write completions, man pages and the systemd unit into a directory.
    #[command(hide = true, name = "__generate")]
    Generate {
        /// The directory.
        dir: PathBuf,
    },
}
