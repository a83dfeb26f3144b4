//! The status report: what `wemixvisor status --json` prints and
//! `GET /api/v1/status` returns. Its shape is documented in
//! `docs/status.md`; fields are only ever added, never renamed or removed,
//! and `schema` is bumped if that promise ever has to be broken.

use serde::{Deserialize, Serialize};

/// Version of the status shape.
pub const STATUS_SCHEMA: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Shape version ([`STATUS_SCHEMA`]).
    pub schema: u32,
    /// The supervisor process.
    pub supervisor: SupervisorStatus,
    /// The node process.
    pub node: NodeStatus,
    /// What the node's RPC says.
    pub chain: ChainStatus,
    /// Last result of each health check.
    pub health: Vec<HealthEntry>,
    /// The next upgrade.
    pub upgrade: UpgradeStatus,
    /// Consensus, GovNCP and fork report of the governance monitor, when it
    /// runs (`governance.enabled`); its shape is in docs/governance.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governance: Option<serde_json::Value>,
    /// Alerts firing now (filled by the alert rules when they run; empty
    /// otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<ActiveAlert>,
    /// When this report was made (RFC 3339).
    pub updated_at: String,
}

/// The supervisor part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SupervisorStatus {
    /// `running`, `stopped` or `failed`.
    pub state: String,
    /// Its pid while running.
    pub pid: Option<u32>,
    /// wemixvisor version.
    pub version: String,
    /// When it started (RFC 3339).
    pub started_at: Option<String>,
    /// Why it is in `failed`, if it is.
    pub error: Option<String>,
    /// The last error of one of the loop's arms (the loop went on), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// A halt waiting for the quorum guard: what, and why it waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halt_waiting: Option<String>,
    /// Configuration keys changed in the files but not in effect yet, each
    /// as `key (applies at ...)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_config: Vec<String>,
}

/// The node part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// `running`, `starting`, `stopping`, `stopped`, `crashed`, `failed`,
    /// `upgrading`, or `orphaned` (alive with no supervisor).
    pub state: String,
    /// Its pid while running.
    pub pid: Option<u32>,
    /// Seconds since the current run started.
    pub uptime_secs: Option<u64>,
    /// Starts after the first one.
    pub restarts: u32,
    /// How the last run ended ("exit code 2", "signal 9").
    pub last_exit: Option<String>,
    /// `genesis` or the upgrade name `current` points at.
    pub binary: String,
    /// `web3_clientVersion`.
    pub client_version: Option<String>,
    /// The node's command line (program arguments).
    pub argv: Vec<String>,
}

/// The chain part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// Last head seen.
    pub head: Option<u64>,
    /// When it was seen (RFC 3339).
    pub head_seen_at: Option<String>,
    /// Observed seconds per block, when measured.
    pub block_period_secs: Option<f64>,
    /// `net_peerCount`.
    pub peers: Option<u64>,
    /// `eth_syncing` is not false.
    pub syncing: Option<bool>,
}

/// One health check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthEntry {
    /// Check name.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
    /// When (RFC 3339).
    pub at: String,
    /// Failures in a row.
    pub consecutive_failures: u32,
}

/// The upgrade part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpgradeStatus {
    /// The next pending upgrade.
    pub pending: Option<PendingUpgrade>,
    /// The journaled step an upgrade is at now (`v2: pre-hook`), while one runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The upgrade whose verification window is open, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifying: Option<VerifyingUpgrade>,
    /// Plans that cannot go ahead and hold back every later one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<BlockedUpgrade>,
}

/// An upgrade in its verification window (the new binary runs; a crash
/// before `until` rolls it back).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerifyingUpgrade {
    /// Name.
    pub name: String,
    /// End of the window (RFC 3339).
    pub until: String,
    /// What verification waits for, e.g. `waiting for quorum: 1 of 4
    /// validators (need 3), head 99 at the upgrade height`.
    pub detail: Option<String>,
}

/// A plan that holds the queue up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockedUpgrade {
    /// Name.
    pub name: String,
    /// Activation height.
    pub height: u64,
    /// Why it cannot go ahead.
    pub reason: String,
    /// What fixes it.
    pub fix: String,
    /// Later plans waiting for it.
    #[serde(default)]
    pub holding_back: Vec<String>,
}

/// A pending upgrade with its distance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingUpgrade {
    /// Name.
    pub name: String,
    /// Activation height.
    pub height: u64,
    /// Blocks until the height, when the head is known.
    pub blocks_to_go: Option<u64>,
    /// Estimated seconds until then, from the observed block period.
    pub eta_secs: Option<u64>,
}

/// An alert that is firing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveAlert {
    /// Rule name, e.g. `node_gave_up`.
    pub name: String,
    /// `critical`, `warning` or `info`.
    pub severity: String,
    /// One line.
    pub summary: String,
    /// When it started firing (RFC 3339).
    pub since: String,
}
