//! Upgrades of the Wemix node binary at the right block height.
//!
//! This crate owns:
//! - the **triggers**: [`UpgradeInfoWatcher`] follows
//!   `chain-data/upgrade-info.json` (inotify through `notify`, with a poll
//!   fallback) and hands over each new, complete, valid plan exactly once;
//! - the **queue**: [`UpgradeQueue`], the height-ordered list of plans in
//!   `governance/upgrade-queue.json`, with what became of each one;
//! - the **binary store**: [`BinaryStore`], `genesis/`, `upgrades/<name>/`
//!   and the relative `current` link, switched atomically by rename;
//! - the **switch-over**: [`UpgradeManager`] decides when a plan is due
//!   (head ≥ height, including a head that jumped past it while the node was
//!   down) and carries it out through the [`NodeProcess`] and
//!   [`DataBackup`] seams: check the new binary, stop the node gracefully,
//!   snapshot, switch `current`, record the plan, start the node again.
//!
//! # Theory of operation
//! Nothing is halted for a plan that cannot be carried out: the binary is
//! checked before the node is stopped, and a plan that fails is marked failed
//! in the queue (with the reason) so the supervisor neither loops on it nor
//! forgets it. `current` is only ever replaced by renaming a fully formed
//! link over it, so it names a complete binary directory at every instant.
//!
//! [`NodeProcess`]: wemixvisor_core::NodeProcess
//! [`DataBackup`]: wemixvisor_core::DataBackup

mod error;
mod manager;
mod queue;
mod store;
mod watcher;

pub use error::UpgradeError;
pub use manager::{ApplyOutcome, UpgradeManager, UpgradeSettings};
pub use queue::{PlanStatus, QueuedPlan, UpgradeQueue};
pub use store::BinaryStore;
pub use watcher::{read_upgrade_info, UpgradeInfoWatcher};
