//! Shared vocabulary of wemixvisor.
//!
//! This crate owns what every other crate agrees on and nothing else:
//!
//! - [`Home`]: the home layout (`$WEMIX_HOME/...`), the one place that turns a
//!   root directory into every path the supervisor reads or writes;
//! - the seams between crates: [`NodeProcess`] (a running node, systemctl
//!   verbs), [`FileSystem`] (the few filesystem operations whose atomicity
//!   matters), [`ChainClient`] (the node's JSON-RPC as the supervisor needs
//!   it) and [`DataBackup`] (snapshots the upgrade path asks for), with test
//!   doubles in `test_utils`;
//! - shared data types: [`UpgradeInfo`] (the cosmovisor-compatible upgrade
//!   trigger), [`UpgradePlan`], [`NodeState`], [`Platform`];
//! - the file primitives that must never leave half-written state:
//!   [`atomic::write_atomic`], [`atomic::replace_symlink`], and
//!   [`lock::PidLock`];
//! - [`truncate_for_display`]: bounds strings that come from outside before
//!   they reach an error, the queue, the audit log or the log.
//!
//! # Theory of operation
//! Nothing here spawns processes or talks to the network. Crates above
//! (`wemixvisor-node`, `wemixvisor-governance`, ...) implement the traits;
//! crates beside them (`wemixvisor-upgrade`, `wemixvisor-backup`) are written
//! against the traits so they can be tested with the doubles and wired to the
//! real implementations by the CLI.
//!
//! # Features
//! - `test-utils`: exposes [`test_utils`] (in-memory chain, scripted node) to
//!   other crates' tests.

pub mod atomic;
pub mod audit;
mod error;
mod home;
pub mod lock;
mod platform;
mod status;
pub mod text;
mod traits;
mod types;
mod upgrade_info;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use error::{ChainError, CoreError, NodeError};
pub use home::{
    resolve_backups_dir, resolve_home_root, Home, BACKUP_DIR_ENV_VARS, HOME_ENV_VARS,
    MAX_SOCKET_PATH,
};
pub use platform::Platform;
pub use status::{
    ActiveAlert, BlockedUpgrade, ChainStatus, HealthEntry, NodeStatus, PendingUpgrade,
    StatusReport, SupervisorStatus, UpgradeStatus, VerifyingUpgrade, STATUS_SCHEMA,
};
pub use text::{truncate_bytes_for_display, truncate_for_display, DISPLAY_MAX};
pub use traits::{
    AlwaysAllow, ChainClient, DataBackup, FileSystem, HaltGuard, HaltReason, HaltVerdict,
    HeadEndpoint, HeadStream, NodeProcess, OsFs, QuorumView, SnapshotRef, SyncStatus,
};
pub use types::{ExitInfo, LaunchSpec, NodeState, UpgradePlan};
pub use upgrade_info::{
    binaries_from_info, checksum_from_url, did_you_mean, recase_enabled, recase_upgrade_name,
    validate_upgrade_name, BinarySource, Checksum, InfoSource, UpgradeInfo, UpgradeInfoError,
    DISABLE_RECASE_ENV, IGNORED_UPGRADE_INFO_FIELDS, UPGRADE_INFO_FIELDS,
};
