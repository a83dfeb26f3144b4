//! The wemixvisor supervisor, usable without the CLI.
//!
//! This crate owns the one event loop that keeps a Wemix node alive and
//! upgrades it, and the only way to change it while it runs:
//!
//! - [`SupervisorHandle`]: a cloneable handle with systemctl-like verbs
//!   (status, restart, stop, reload, upgrade add/plan/cancel/rollback,
//!   backup create) and [`SupervisorHandle::subscribe`] for the typed event
//!   stream;
//! - [`Event`] / [`EventRecord`]: everything the loop does or sees, in one
//!   `broadcast` stream that the status file, the log, the audit log, the
//!   HTTP API, the metrics and the alerts consume.
//!
//! # Theory of operation
//! One task owns the node ([`wemixvisor_core::NodeProcess`]), the chain
//! client ([`wemixvisor_core::ChainClient`]) and the quorum guard
//! ([`wemixvisor_core::HaltGuard`]); it `select!`s over signals, the node's
//! exit, timers, the upgrade trigger and the handle's command queue. Each
//! arm calls one named method, an error in an arm is logged, shown in the
//! status and published as an event, and never ends the loop.

pub mod audit;
pub mod control;
mod error;
pub mod event;
pub mod feed;
pub mod files;
pub mod handle;
pub mod heads;
pub mod reload;
pub mod settings;
mod supervisor;

pub use control::{acquire_home_lock, control_path, running_supervisor, ControlPath};
pub use error::SupervisorError;
pub use event::{Actor, Event, EventRecord};
pub use feed::{spawn_governance, FeedItem};
pub use files::HomeFiles;
pub use handle::{Command, ControlError, ControlResult, SupervisorHandle};
pub use supervisor::{
    load_status_file, split_help, BackupFn, EnvFn, Flow, LogLevelFn, Phase, Supervisor,
    SupervisorOptions, TakenBackup, GUARD_RECHECK, STARTUP_GRACE,
};
pub use wemixvisor_core::{AlwaysAllow, HaltGuard};

/// A [`HaltGuard`] chosen at run time (the real quorum guard, or
/// [`AlwaysAllow`] when `governance.quorum_guard` is off).
#[derive(Clone)]
pub struct DynGuard(pub std::sync::Arc<dyn HaltGuard>);

#[async_trait::async_trait]
impl HaltGuard for DynGuard {
    async fn may_halt(&self, reason: wemixvisor_core::HaltReason) -> wemixvisor_core::HaltVerdict {
        self.0.may_halt(reason).await
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod upgrade_tests;
#[cfg(test)]
mod verb_tests;
