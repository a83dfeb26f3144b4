//! Upgrades of the Wemix node binary at the right block height.
//!
//! This crate owns:
//! - the **triggers**: [`UpgradeInfoWatcher`] follows
//!   `chain-data/upgrade-info.json`; [`plan`] parses and validates batch
//!   plans (`wemixvisor upgrade plan <file>`);
//! - the **queue**: [`UpgradeQueue`], the height-ordered list of plans in
//!   `governance/upgrade-queue.json`, changed only under a file lock so the
//!   daemon and the CLI never lose each other's writes;
//! - the **binary store**: [`BinaryStore`], `genesis/`, `upgrades/<name>/`
//!   and the relative `current` link, switched atomically by rename;
//! - **downloads**: [`download::Fetcher`] (HTTPS only except loopback,
//!   host allow-list, extra CA, `.partial` + hash while streaming + fsync +
//!   rename, resume, retries on network errors only), minisign
//!   [`signature`]s, safe [`archive`] extraction, [`install`];
//! - **pre-flight and flag migration** ([`preflight`]), operator
//!   [`hooks`], the post-switch health check ([`verify`]);
//! - the **switch-over** as a journaled state machine ([`journal`],
//!   `state/upgrade-journal.json`), start-up recovery and rollback, driven
//!   by [`UpgradeManager`] through the [`NodeProcess`], [`ChainClient`] and
//!   [`DataBackup`] seams, with every event in `state/audit.log`.
//!
//! # Theory of operation
//! A plan is prepared as soon as it is queued ([`UpgradeManager::prepare_pending`]):
//! its binary is fetched and verified, or found installed, and pre-flighted
//! against the node's arguments, so the halt at the height costs only the
//! switch. A plan whose preparation failed is not halted for. When the head
//! reaches the height (or jumped past it), [`UpgradeManager::apply`] runs
//! `halt → backup → pre-hook → switch → start → verify → post-hook → done`,
//! writing each step to the journal (atomically, fsynced) before acting on
//! it. A failure before the switch leaves `current` alone; a failure after
//! it (the new node exits, never answers, its head stands still, the
//! post-hook fails) rolls back to the previous link and optionally the
//! pre-upgrade snapshot. After a crash, [`UpgradeManager::recover`] reads the
//! journal: an upgrade interrupted before its switch starts over, one
//! interrupted after it is carried through (or rolled back), an interrupted
//! rollback is finished — so `current` always names a complete binary and
//! exactly one node runs.
//!
//! # Features
//! - `fault-injection` (off by default, ignored in release builds): the
//!   process aborts at the pipeline step named by `WEMIXVISOR_FAULT`
//!   (see [`fault::STEPS`]), for crash tests.
//!
//! [`NodeProcess`]: wemixvisor_core::NodeProcess
//! [`ChainClient`]: wemixvisor_core::ChainClient
//! [`DataBackup`]: wemixvisor_core::DataBackup

pub mod archive;
mod audit;
pub mod download;
mod error;
pub mod fault;
pub mod hooks;
pub mod install;
pub mod journal;
mod manager;
pub mod migration;
pub mod plan;
pub mod plan_flags;
pub mod preflight;
mod proc;
mod queue;
mod settings;
pub mod signature;
pub mod stop;
mod store;
pub mod verify;
mod watcher;

#[cfg(test)]
mod testing;

pub use error::UpgradeError;
pub use journal::{
    ActiveUpgrade, HelperProcess, HistoryEntry, Journal, Outcome, Step, VerifyWindow,
};
pub use manager::{
    ApplyOutcome, OfflineNode, Recovery, StatusReport, StepSink, UpgradeManager, VerifyDecision,
};
pub use queue::{
    fingerprint, BlockedPlan, PlanStatus, PrepareState, QueueLock, QueuedPlan, UpgradeQueue,
};
pub use settings::{DownloadSettings, FlagMigration, UpgradeSettings};
pub use stop::StopRequest;
pub use store::{file_sha256, BinaryStore, SourceMarker, StagingDir};
pub use watcher::{
    read_trigger_bytes, read_upgrade_info, UpgradeInfoWatcher, MAX_UPGRADE_INFO_BYTES,
};
