//! [`SupervisorHandle`]: the only way to change a running supervisor.

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use wemixvisor_core::{StatusReport, UpgradePlan};

use crate::event::{Actor, EventRecord};

/// A refused or failed control command: one line, and what fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ControlError {
    /// What went wrong.
    pub message: String,
    /// What fixes it, when something does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// True when the request itself was bad (maps to exit code 2 / HTTP 400).
    #[serde(default)]
    pub bad_request: bool,
}

impl ControlError {
    /// An error without a hint.
    pub fn new(message: impl Into<String>) -> Self {
        ControlError {
            message: message.into(),
            hint: None,
            bad_request: false,
        }
    }
    /// Adds the hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Marks the request as bad input.
    pub fn bad_request(mut self) -> Self {
        self.bad_request = true;
        self
    }
}

/// The answer to a command: a one-line summary, or the error.
pub type ControlResult = Result<String, ControlError>;

/// A command for the supervisor loop; each carries who asked and where the
/// answer goes.
#[derive(Debug)]
pub enum Command {
    /// Start the node when it is stopped (after a give-up or a stop of the node only).
    StartNode {
        /// Who asked.
        actor: Actor,
        /// Where the answer goes.
        reply: oneshot::Sender<ControlResult>,
    },
    /// Restart the node from the current configuration files.
    Restart {
        /// Skip the quorum guard.
        force: bool,
        /// Who asked.
        actor: Actor,
        /// Where the answer goes.
        reply: oneshot::Sender<ControlResult>,
    },
    /// Stop the node gracefully, then end the supervisor.
    Stop {
        /// Skip the quorum guard.
        force: bool,
        /// Who asked.
        actor: Actor,
        /// Where the answer goes.
        reply: oneshot::Sender<ControlResult>,
    },
    /// Re-read `wemixvisor.toml` and `node-options.toml`.
    Reload {
        /// Who asked.
        actor: Actor,
        /// Where the answer goes.
        reply: oneshot::Sender<ControlResult>,
    },
    /// Queue one plan (validated first).
    UpgradeAdd {
        /// The plan.
        plan: UpgradePlan,
        /// Replace an existing plan of the same name that has not started.
        replace: bool,
        /// Who asked.
        actor: Actor,
        /// Where the answer goes.
        reply: oneshot::Sender<ControlResult>,
    },
    /// Queue a batch of plans, all or nothing.
    UpgradePlan {
        /// The plans, height-ordered.
        plans: Vec<UpgradePlan>,
        /// Who asked.
        actor: Actor,
        /// Where the answer goes.
        reply: oneshot::Sender<ControlResult>,
    },
    /// Cancel a plan that has not started.
    UpgradeCancel {
        /// Upgrade name.
        name: String,
        /// Who asked.
        actor: Actor,
        /// Where the answer goes.
        reply: oneshot::Sender<ControlResult>,
    },
    /// Roll the last upgrade back.
    Rollback {
        /// Also restore the pre-upgrade snapshot.
        restore_data: bool,
        /// Skip the quorum guard.
        force: bool,
        /// Who asked.
        actor: Actor,
        /// Where the answer goes.
        reply: oneshot::Sender<ControlResult>,
    },
    /// Take a manual snapshot of the chain data (the node keeps running
    /// unless the backup needs it stopped).
    BackupCreate {
        /// Optional snapshot name.
        name: Option<String>,
        /// Who asked.
        actor: Actor,
        /// Where the answer goes.
        reply: oneshot::Sender<ControlResult>,
    },
}

/// A cloneable handle on a running supervisor, with systemctl-like verbs.
#[derive(Debug, Clone)]
pub struct SupervisorHandle {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<EventRecord>,
    status: watch::Receiver<StatusReport>,
}

fn gone() -> ControlError {
    ControlError::new("the supervisor is not running any more")
        .with_hint("start it with `wemixvisor start` or `wemixvisor run`")
}

impl SupervisorHandle {
    /// A handle over the loop's channels (the loop side keeps the receivers).
    pub fn new(
        commands: mpsc::Sender<Command>,
        events: broadcast::Sender<EventRecord>,
        status: watch::Receiver<StatusReport>,
    ) -> Self {
        SupervisorHandle {
            commands,
            events,
            status,
        }
    }

    /// The latest status report.
    pub fn status(&self) -> StatusReport {
        self.status.borrow().clone()
    }

    /// A receiver of status changes.
    pub fn watch_status(&self) -> watch::Receiver<StatusReport> {
        self.status.clone()
    }

    /// Subscribes to the event stream (events from now on).
    pub fn subscribe(&self) -> broadcast::Receiver<EventRecord> {
        self.events.subscribe()
    }

    async fn ask(
        &self,
        make: impl FnOnce(oneshot::Sender<ControlResult>) -> Command,
    ) -> ControlResult {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Starts the node when it is stopped.
    pub async fn start_node(&self, actor: Actor) -> ControlResult {
        self.ask(|reply| Command::StartNode { actor, reply }).await
    }

    /// Restarts the node from the current configuration files.
    pub async fn restart(&self, force: bool, actor: Actor) -> ControlResult {
        self.ask(|reply| Command::Restart {
            force,
            actor,
            reply,
        })
        .await
    }

    /// Stops the node gracefully, then the supervisor.
    pub async fn stop(&self, force: bool, actor: Actor) -> ControlResult {
        self.ask(|reply| Command::Stop {
            force,
            actor,
            reply,
        })
        .await
    }

    /// Re-reads the configuration files.
    pub async fn reload(&self, actor: Actor) -> ControlResult {
        self.ask(|reply| Command::Reload { actor, reply }).await
    }

    /// Queues one plan.
    pub async fn upgrade_add(
        &self,
        plan: UpgradePlan,
        replace: bool,
        actor: Actor,
    ) -> ControlResult {
        self.ask(|reply| Command::UpgradeAdd {
            plan,
            replace,
            actor,
            reply,
        })
        .await
    }

    /// Queues a batch of plans, all or nothing.
    pub async fn upgrade_plan(&self, plans: Vec<UpgradePlan>, actor: Actor) -> ControlResult {
        self.ask(|reply| Command::UpgradePlan {
            plans,
            actor,
            reply,
        })
        .await
    }

    /// Cancels a plan that has not started.
    pub async fn upgrade_cancel(&self, name: String, actor: Actor) -> ControlResult {
        self.ask(|reply| Command::UpgradeCancel { name, actor, reply })
            .await
    }

    /// Rolls the last upgrade back.
    pub async fn rollback(&self, restore_data: bool, force: bool, actor: Actor) -> ControlResult {
        self.ask(|reply| Command::Rollback {
            restore_data,
            force,
            actor,
            reply,
        })
        .await
    }

    /// Takes a manual snapshot.
    pub async fn backup_create(&self, name: Option<String>, actor: Actor) -> ControlResult {
        self.ask(|reply| Command::BackupCreate { name, actor, reply })
            .await
    }
}
