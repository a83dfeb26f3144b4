use std::path::PathBuf;

use wemixvisor_core::{CoreError, NodeError};

/// Errors of the upgrade path.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// The upgrade's binary is not installed.
    #[error("upgrade '{name}': binary '{}' is missing or not executable\nhelp: install it there (mode 0755) or give the plan download info", path.display())]
    BinaryMissing {
        /// Upgrade name.
        name: String,
        /// Expected path.
        path: PathBuf,
    },
    /// The queue file is unreadable or corrupt.
    #[error("upgrade queue '{}' is unreadable: {reason}\nhelp: fix or remove the file; plans from upgrade-info.json are queued again on start", path.display())]
    BadQueue {
        /// The queue file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A plan conflicts with the queue.
    #[error("upgrade '{name}': {reason}")]
    Conflict {
        /// Upgrade name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The node could not be stopped or started.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A file operation failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}
