//! The errors of the supervisor crate: each a lowercase one-liner, with its
//! fix as data ([`SupervisorError::help`]) for the CLI to print last.

use std::path::PathBuf;

/// Why a supervisor could not start, or ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// Another supervisor holds the home.
    #[error("another wemixvisor (pid {pid}) is already supervising '{}'", home.display())]
    AlreadyRunning {
        /// Its pid.
        pid: u32,
        /// The home.
        home: PathBuf,
    },
    /// The home was never initialised.
    #[error("home '{}' has no `current` link", home.display())]
    NotInitialised {
        /// The home.
        home: PathBuf,
    },
    /// A setting cannot be used.
    #[error("{what}: {reason}")]
    BadSetting {
        /// The key or variable.
        what: String,
        /// What is wrong with it.
        reason: String,
        /// What fixes it.
        help: String,
    },
    /// A node from an earlier supervisor is in the way.
    #[error(transparent)]
    Orphan(#[from] wemixvisor_node::OrphanError),
    /// The first start of the node failed.
    #[error("the node could not be started")]
    Start(#[source] wemixvisor_core::NodeError),
    /// The signal handlers or the runtime could not be set up.
    #[error("cannot set up the supervisor")]
    Setup(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The configuration could not be loaded.
    #[error("cannot load the configuration")]
    Config(#[source] wemixvisor_config::ConfigError),
    /// The upgrade pipeline could not be set up.
    #[error("cannot set up the upgrade pipeline")]
    Upgrade(#[source] wemixvisor_upgrade::UpgradeError),
    /// A core operation (lock, state files) failed.
    #[error(transparent)]
    Core(#[from] wemixvisor_core::CoreError),
    /// The loop panicked; the node was stopped gracefully.
    #[error("the supervisor loop panicked: {0}")]
    Panicked(String),
}

impl SupervisorError {
    /// What fixes it, as one line.
    pub fn help(&self) -> Option<String> {
        match self {
            SupervisorError::AlreadyRunning { .. } => {
                Some("stop it first with `wemixvisor stop`, or use another --home".into())
            }
            SupervisorError::NotInitialised { .. } => {
                Some("run `wemixvisor init --binary <geth>` first".into())
            }
            SupervisorError::BadSetting { help, .. } => Some(help.clone()),
            SupervisorError::Orphan(e) => Some(e.help()),
            SupervisorError::Start(_) => {
                Some("check the binary under wemixvisor/current/bin and node-options.toml".into())
            }
            SupervisorError::Panicked(_) => Some(
                "this is a bug; the node was stopped gracefully, `wemixvisor start` starts again"
                    .into(),
            ),
            _ => None,
        }
    }
}
