//! The typed event stream of a supervisor.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// Who asked for a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A local user over the control socket (peer credentials).
    Cli {
        /// The caller's uid.
        uid: u32,
    },
    /// An HTTP API client authenticated by a bearer token.
    Api {
        /// A non-secret id of the token (never the token itself).
        token_id: String,
    },
    /// The supervisor itself (restart policy, health, upgrade at a height).
    Supervisor,
    /// The governance monitor (approved upgrade plans).
    Governance,
    /// A signal sent to the supervisor process.
    Signal {
        /// Signal name, e.g. `SIGTERM`.
        name: String,
    },
}

impl Actor {
    /// The actor as `state/audit.log` names it: `uid:1000`,
    /// `token:<id>`, `supervisor`, `governance`, `signal:SIGHUP`.
    pub fn audit_name(&self) -> String {
        match self {
            Actor::Cli { uid } => format!("uid:{uid}"),
            Actor::Api { token_id } => format!("token:{token_id}"),
            Actor::Supervisor => "supervisor".into(),
            Actor::Governance => "governance".into(),
            Actor::Signal { name } => format!("signal:{name}"),
        }
    }

    /// Short text for logs, e.g. `cli(uid=1000)`.
    pub fn describe(&self) -> String {
        match self {
            Actor::Cli { uid } => format!("cli(uid={uid})"),
            Actor::Api { token_id } => format!("api(token={token_id})"),
            Actor::Supervisor => "supervisor".into(),
            Actor::Governance => "governance".into(),
            Actor::Signal { name } => format!("signal({name})"),
        }
    }
}

/// Something the supervisor did or saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The node was started.
    NodeStarted {
        /// Its pid.
        pid: u32,
        /// The binary (`current` target name, e.g. `genesis` or `v2.0.0`).
        binary: String,
    },
    /// The node exited.
    NodeExited {
        /// Exit code, when it exited normally.
        code: Option<i32>,
        /// Signal number, when killed by one.
        signal: Option<i32>,
        /// True when the supervisor asked it to stop.
        requested: bool,
        /// One line, e.g. `exit code 2` or `killed by SIGKILL`.
        description: String,
    },
    /// A crashed node will be restarted after a backoff.
    NodeRestarting {
        /// Delay before the restart, seconds.
        in_secs: f64,
        /// Why.
        reason: String,
    },
    /// The restart policy gave up: the node stays down.
    NodeGaveUp {
        /// Crashes counted within the window.
        crashes: u32,
        /// The window, seconds.
        window_secs: u64,
        /// The last exit.
        last_exit: String,
    },
    /// A health check changed between ok and failing.
    HealthChanged {
        /// Check name (`rpc`, `head`, `peers`, `syncing`, `disk`).
        check: String,
        /// Its new result.
        ok: bool,
        /// Detail, e.g. `3 peers`.
        detail: String,
    },
    /// A plan was accepted into the queue.
    UpgradeScheduled {
        /// Upgrade name.
        name: String,
        /// Activation height.
        height: u64,
        /// Where it came from (`upgrade-info`, `cli`, `plan`, `manifest`, `contract`).
        source: String,
    },
    /// A plan's binary is downloaded, verified and pre-flighted.
    UpgradePrepared {
        /// Upgrade name.
        name: String,
    },
    /// A plan cannot go ahead (and holds back any later one).
    UpgradeBlocked {
        /// Upgrade name.
        name: String,
        /// Why.
        reason: String,
        /// What fixes it.
        fix: String,
    },
    /// A journaled upgrade step began.
    UpgradeStep {
        /// Upgrade name.
        name: String,
        /// Step (`halt`, `backup`, `pre-upgrade`, `switch`, `start`, `verify`, ...).
        step: String,
    },
    /// An upgrade completed: the new binary runs and is verified.
    UpgradeApplied {
        /// Upgrade name.
        name: String,
        /// Its height.
        height: u64,
    },
    /// An upgrade failed.
    UpgradeFailed {
        /// Upgrade name.
        name: String,
        /// Why.
        error: String,
    },
    /// An upgrade was rolled back to the previous binary.
    UpgradeRolledBack {
        /// Upgrade name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A plan was cancelled.
    UpgradeCancelled {
        /// Upgrade name.
        name: String,
    },
    /// A snapshot of the chain data was taken.
    BackupTaken {
        /// Snapshot id.
        id: String,
        /// `auto` or `manual`.
        kind: String,
        /// Bytes in the snapshot.
        bytes: u64,
        /// How long it took, seconds.
        duration_secs: f64,
    },
    /// A snapshot failed.
    BackupFailed {
        /// Why.
        error: String,
    },
    /// A consensus observation changed (validator set, sealing, rounds, quorum).
    ConsensusChanged {
        /// One line.
        summary: String,
    },
    /// A governance observation changed (GovNCP proposal opened or decided, fork heights).
    GovernanceChanged {
        /// One line.
        summary: String,
    },
    /// A halt waits for the quorum guard.
    HaltWaiting {
        /// The halt in question (`restart`, `stop`, ...).
        reason: String,
        /// Active validators.
        active: usize,
        /// Needed for quorum.
        quorum: usize,
        /// Validator set size.
        validators: usize,
    },
    /// The configuration was reloaded.
    ConfigReloaded {
        /// Keys applied at once.
        applied: Vec<String>,
        /// Keys that apply at the next node start.
        pending: Vec<String>,
    },
    /// A reload was refused; the running configuration stays.
    ConfigReloadFailed {
        /// Every problem found.
        errors: Vec<String>,
    },
    /// A control command arrived through the handle.
    ControlReceived {
        /// The verb (`restart`, `stop`, `reload`, `upgrade-add`, ...).
        verb: String,
        /// Who asked.
        actor: Actor,
    },
    /// An error in one of the loop's arms (the loop goes on).
    LoopError {
        /// The arm (`tick`, `health`, `node-exit`, `trigger`, ...).
        arm: String,
        /// The error, one line.
        error: String,
    },
    /// The supervisor is ending.
    Stopping {
        /// Why.
        reason: String,
    },
}

/// An [`Event`] with its sequence number and time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Monotonic per supervisor run, from 1.
    pub seq: u64,
    /// RFC 3339 time, seconds.
    pub at: String,
    /// The event.
    #[serde(flatten)]
    pub event: Event,
}

impl EventRecord {
    /// Stamps an event now.
    pub fn now(seq: u64, event: Event) -> Self {
        EventRecord {
            seq,
            at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            event,
        }
    }
}
