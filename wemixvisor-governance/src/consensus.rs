//! WBFT consensus monitor: validator set, sealing activity, round changes,
//! stalled production, and the quorum-safety check for early upgrades.
//!
//! A poll asks the node for its head, sync state, signing address,
//! validator set and `istanbul_status` (sealing activity over the window,
//! the last 64 blocks by default), and reads `istanbul_getWbftExtraInfo` of
//! the blocks it has not seen yet (bounded per poll) for their round and
//! committed seals. A validator is *active* when it sealed (or authored) a
//! block in the window or appears in a recent commit seal.
//!
//! Stall detection needs time: the monitor remembers when it first saw the
//! current head. On the very first poll it seeds that moment from the head
//! block's timestamp (less one second for the timestamp's resolution), so a
//! node that is already stuck is reported at once; a syncing node is never
//! judged by an old block's timestamp.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use wemixvisor_core::{ChainClient, ChainError, SyncStatus};

use crate::client::BlockTag;
use crate::istanbul::IstanbulStatus;
use crate::{GovernanceError, RpcChainClient};

/// BFT quorum of `validators`: more than two thirds, `floor(2n/3) + 1`.
pub fn bft_quorum(validators: usize) -> usize {
    validators * 2 / 3 + 1
}

/// Validators that may fail without losing quorum: `n - quorum(n)`.
pub fn tolerated_faults(validators: usize) -> usize {
    validators.saturating_sub(bft_quorum(validators))
}

/// Whether this validator can go down now without leaving fewer than the
/// BFT quorum of active validators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumSafety {
    /// Size of the validator set.
    pub validators: usize,
    /// Quorum for that size.
    pub quorum: usize,
    /// Validators active in the recent window (this one included, if active).
    pub active: usize,
    /// Whether this validator is among the active ones.
    pub self_active: bool,
    /// Active validators left once this one stops.
    pub active_after: usize,
    /// True when `active_after >= quorum`.
    pub safe: bool,
}

/// The quorum-safety check as a pure function: `validators` in the set,
/// `active` of them sealing (counting this one when `self_active`).
pub fn quorum_safety(validators: usize, active: usize, self_active: bool) -> QuorumSafety {
    let active = active.min(validators);
    let quorum = bft_quorum(validators);
    let active_after = active.saturating_sub(usize::from(self_active));
    QuorumSafety {
        validators,
        quorum,
        active,
        self_active,
        active_after,
        safe: validators > 0 && active_after >= quorum,
    }
}

impl fmt::Display for QuorumSafety {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} of {} validators would stay active without this one (quorum {}, {} active now)",
            if self.safe { "safe" } else { "unsafe" },
            self.active_after,
            self.validators,
            self.quorum,
            self.active
        )
    }
}

/// What one consensus report says about halting this node now, ahead of the
/// coordinated height (for `governance status`; the supervisor asks
/// [`crate::QuorumGuard`], which answers when the report cannot tell).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaltCheck {
    /// True when halting now keeps the chain above quorum.
    pub safe: bool,
    /// One line explaining why.
    pub reason: String,
    /// The numbers behind it, when this node is a validator.
    pub quorum: Option<QuorumSafety>,
}

/// Settings of the consensus monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorConfig {
    /// Blocks of the activity window (`istanbul_status` defaults to 64).
    pub window: u64,
    /// Expected time between blocks (`health.block_period`).
    pub block_period: Duration,
    /// Block periods without a new head before production counts as stalled
    /// (`health.stall_blocks`).
    pub stall_blocks: u64,
    /// Most blocks whose extra data is read in one poll.
    pub max_scan_per_poll: u64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            window: 64,
            block_period: Duration::from_secs(1),
            stall_blocks: 30,
            max_scan_per_poll: 64,
        }
    }
}

impl MonitorConfig {
    /// Time without a new head after which production counts as stalled.
    pub fn stall_threshold(&self) -> Duration {
        self.block_period
            .saturating_mul(u32::try_from(self.stall_blocks.max(1)).unwrap_or(u32::MAX))
    }
}

/// One validator's activity over the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorActivity {
    /// Validator address.
    pub address: Address,
    /// Seals in the window (committed seals, or blocks authored when the
    /// node reports only those).
    pub sealed: u64,
    /// Blocks authored in the window.
    pub authored: u64,
    /// Sealed, authored, or in a recent commit seal.
    pub active: bool,
    /// This node.
    pub is_self: bool,
}

/// A block sealed in a round above 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoundChange {
    /// Height.
    pub height: u64,
    /// Round it was sealed in.
    pub round: u64,
}

/// Whether block production has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StallStatus {
    /// No new head for at least `threshold_ms`.
    pub stalled: bool,
    /// Time since the head last changed.
    pub head_unchanged_ms: u64,
    /// `stall_blocks` × `block_period`.
    pub threshold_ms: u64,
}

/// What the monitor knows after one poll; serialisable for `status` and health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsensusReport {
    /// Head height.
    pub head: u64,
    /// `eth_syncing` says catching up.
    pub syncing: bool,
    /// The node exposes the `istanbul` namespace.
    pub istanbul_available: bool,
    /// This node's signing address (`istanbul_nodeAddress`).
    pub node_address: Option<Address>,
    /// This node is in the validator set at the head.
    pub is_validator: bool,
    /// The validator set at the head.
    pub validators: Vec<Address>,
    /// Blocks in the activity window.
    pub window_blocks: u64,
    /// Per-validator activity, in validator-set order.
    pub activity: Vec<ValidatorActivity>,
    /// This validator's seals in the window.
    pub own_sealed: Option<u64>,
    /// Validators active in the window.
    pub active_validators: usize,
    /// Blocks in the window sealed in a round above 0.
    pub round_changes: Vec<RoundChange>,
    /// Blocks per round in the window.
    pub round_distribution: BTreeMap<u64, u64>,
    /// Block production stall.
    pub stall: StallStatus,
    /// Quorum safety of halting this validator now (validators only).
    pub quorum: Option<QuorumSafety>,
    /// What could not be read, one line each.
    pub warnings: Vec<String>,
}

impl ConsensusReport {
    /// The early-halt verdict this report supports.
    pub fn halt_verdict(&self) -> HaltCheck {
        if !self.istanbul_available {
            return HaltCheck {
                safe: false,
                reason: "cannot tell whether halting keeps quorum: the node does not expose the istanbul namespace (add istanbul to --http.api, or set governance.quorum_guard = false)".into(),
                quorum: None,
            };
        }
        if !self.is_validator {
            return HaltCheck {
                safe: true,
                reason: "this node is not a validator: halting it does not affect quorum".into(),
                quorum: None,
            };
        }
        match self.quorum {
            Some(q) => HaltCheck {
                safe: q.safe,
                reason: q.to_string(),
                quorum: Some(q),
            },
            None => HaltCheck {
                safe: false,
                reason: "cannot tell whether halting keeps quorum: the validator set is unknown"
                    .into(),
                quorum: None,
            },
        }
    }

    /// What changed since `prev`, for `governance monitor` and alerts.
    pub fn changes_since(&self, prev: &ConsensusReport) -> Vec<ConsensusChange> {
        let mut out = Vec::new();
        if self.stall.stalled && !prev.stall.stalled {
            out.push(ConsensusChange::StallStarted {
                head: self.head,
                unchanged_ms: self.stall.head_unchanged_ms,
            });
        } else if !self.stall.stalled && prev.stall.stalled {
            out.push(ConsensusChange::StallEnded { head: self.head });
        }
        let before: BTreeSet<Address> = prev.validators.iter().copied().collect();
        let now: BTreeSet<Address> = self.validators.iter().copied().collect();
        if before != now && !before.is_empty() {
            out.push(ConsensusChange::ValidatorSetChanged {
                added: now.difference(&before).copied().collect(),
                removed: before.difference(&now).copied().collect(),
            });
        }
        if self.is_validator != prev.is_validator && prev.istanbul_available {
            out.push(ConsensusChange::SelfValidator {
                is_validator: self.is_validator,
            });
        }
        let was_active: BTreeMap<Address, bool> = prev
            .activity
            .iter()
            .map(|a| (a.address, a.active))
            .collect();
        for a in &self.activity {
            if let Some(&before) = was_active.get(&a.address) {
                if before != a.active {
                    out.push(ConsensusChange::ValidatorActivity {
                        address: a.address,
                        active: a.active,
                        is_self: a.is_self,
                    });
                }
            }
        }
        let seen: BTreeSet<u64> = prev.round_changes.iter().map(|r| r.height).collect();
        for rc in &self.round_changes {
            if !seen.contains(&rc.height) {
                out.push(ConsensusChange::RoundChange(*rc));
            }
        }
        if let (Some(a), Some(b)) = (prev.quorum, self.quorum) {
            if a.safe != b.safe {
                out.push(ConsensusChange::QuorumSafety(b));
            }
        }
        out
    }
}

/// One change between two consensus reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ConsensusChange {
    /// Block production stopped.
    StallStarted {
        /// Head it stopped at.
        head: u64,
        /// Time since the head last changed.
        unchanged_ms: u64,
    },
    /// Block production resumed.
    StallEnded {
        /// The new head.
        head: u64,
    },
    /// The validator set changed.
    ValidatorSetChanged {
        /// New validators.
        added: Vec<Address>,
        /// Validators that left.
        removed: Vec<Address>,
    },
    /// This node joined or left the validator set.
    SelfValidator {
        /// Whether it is a validator now.
        is_validator: bool,
    },
    /// A validator started or stopped sealing.
    ValidatorActivity {
        /// The validator.
        address: Address,
        /// Whether it is active now.
        active: bool,
        /// It is this node.
        is_self: bool,
    },
    /// A block was sealed in a round above 0.
    RoundChange(RoundChange),
    /// Halting this validator became safe or unsafe.
    QuorumSafety(QuorumSafety),
}

impl fmt::Display for ConsensusChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsensusChange::StallStarted { head, unchanged_ms } => write!(
                f,
                "consensus: block production stalled at {head} (no new block for {:.1} s)",
                *unchanged_ms as f64 / 1000.0
            ),
            ConsensusChange::StallEnded { head } => {
                write!(f, "consensus: block production resumed, head {head}")
            }
            ConsensusChange::ValidatorSetChanged { added, removed } => write!(
                f,
                "consensus: validator set changed (added {}, removed {})",
                list(added),
                list(removed)
            ),
            ConsensusChange::SelfValidator { is_validator } => write!(
                f,
                "consensus: this node {} a validator",
                if *is_validator {
                    "became"
                } else {
                    "is no longer"
                }
            ),
            ConsensusChange::ValidatorActivity {
                address,
                active,
                is_self,
            } => write!(
                f,
                "consensus: validator {address}{} {}",
                if *is_self { " (this node)" } else { "" },
                if *active {
                    "is sealing"
                } else {
                    "stopped sealing"
                }
            ),
            ConsensusChange::RoundChange(rc) => write!(
                f,
                "consensus: block {} sealed in round {} (round change)",
                rc.height, rc.round
            ),
            ConsensusChange::QuorumSafety(q) => write!(f, "consensus: early halt is now {q}"),
        }
    }
}

fn list(a: &[Address]) -> String {
    if a.is_empty() {
        "none".into()
    } else {
        a.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Default)]
struct State {
    head_seen: Option<(u64, Instant)>,
    rounds: BTreeMap<u64, u64>,
    committers: BTreeMap<u64, Vec<Address>>,
    scanned_to: Option<u64>,
    last: Option<ConsensusReport>,
}

/// Polls the node's consensus state; cheap to clone (shared state), so the
/// daemon's poll loop and the upgrade pipeline can hold the same monitor.
#[derive(Debug, Clone)]
pub struct ConsensusMonitor {
    client: RpcChainClient,
    config: MonitorConfig,
    state: Arc<Mutex<State>>,
}

/// Sorts the outcome of one call: a node that cannot be reached ends the
/// poll, anything else becomes a warning.
fn soft<T>(
    r: Result<T, ChainError>,
    warnings: &mut Vec<String>,
) -> Result<Option<T>, GovernanceError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e @ ChainError::Unreachable { .. }) => Err(e.into()),
        Err(e) => {
            warnings.push(e.to_string());
            Ok(None)
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl ConsensusMonitor {
    /// A monitor of the node behind `client`.
    pub fn new(client: RpcChainClient, config: MonitorConfig) -> Self {
        ConsensusMonitor {
            client,
            config,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &MonitorConfig {
        &self.config
    }

    /// The report of the last successful poll.
    pub fn last_report(&self) -> Option<ConsensusReport> {
        self.state.lock().ok().and_then(|s| s.last.clone())
    }

    /// Polls the node once.
    ///
    /// Fails only when the node cannot be reached; a node without the
    /// `istanbul` namespace gives a report with `istanbul_available: false`,
    /// and other failed calls are listed in `warnings`.
    pub async fn poll(&self) -> Result<ConsensusReport, GovernanceError> {
        let mut warnings = Vec::new();
        let head = self.client.block_number().await?;
        let syncing = matches!(
            soft(self.client.syncing().await, &mut warnings)?,
            Some(SyncStatus::Syncing { .. })
        );
        let stall = self.stall_status(head, syncing).await?;

        let mut report = ConsensusReport {
            head,
            syncing,
            istanbul_available: true,
            node_address: None,
            is_validator: false,
            validators: Vec::new(),
            window_blocks: 0,
            activity: Vec::new(),
            own_sealed: None,
            active_validators: 0,
            round_changes: Vec::new(),
            round_distribution: BTreeMap::new(),
            stall,
            quorum: None,
            warnings: Vec::new(),
        };

        let me = match self.client.istanbul_node_address().await {
            Ok(a) => Some(a),
            Err(ChainError::MethodUnavailable { .. }) => {
                report.istanbul_available = false;
                report.warnings = warnings;
                self.remember(&report);
                return Ok(report);
            }
            Err(e) => soft(Err(e), &mut warnings)?,
        };
        report.node_address = me;
        let at = BlockTag::Number(head);
        let validators = soft(self.client.istanbul_validators(at).await, &mut warnings)?;
        let is_validator = soft(self.client.istanbul_is_validator(at).await, &mut warnings)?;
        let window_start = head.saturating_sub(self.config.window.max(1) - 1).max(1);
        let range = (self.config.window != 64 && head >= 1).then_some((window_start, head));
        let status = soft(self.client.istanbul_status(range).await, &mut warnings)?;
        self.scan_extra(head, window_start, &mut warnings).await?;

        let validators = validators.unwrap_or_default();
        report.is_validator =
            is_validator.unwrap_or_else(|| me.is_some_and(|m| validators.contains(&m)));
        self.fill_activity(&mut report, &validators, status.as_ref(), window_start);
        report.validators = validators;
        report.warnings = warnings;
        self.remember(&report);
        Ok(report)
    }

    /// Polls and answers whether this node may halt now without breaking quorum.
    pub async fn halt_verdict(&self) -> Result<HaltCheck, GovernanceError> {
        Ok(self.poll().await?.halt_verdict())
    }

    fn remember(&self, report: &ConsensusReport) {
        if let Ok(mut s) = self.state.lock() {
            s.last = Some(report.clone());
        }
    }

    async fn stall_status(&self, head: u64, syncing: bool) -> Result<StallStatus, GovernanceError> {
        let now = Instant::now();
        let known = self.state.lock().ok().and_then(|s| s.head_seen);
        let since = match known {
            Some((h, t)) if h == head => t,
            _ => {
                let mut since = now;
                if known.is_none() && !syncing {
                    // First look: judge by the head block's own timestamp.
                    if let Ok(Some(hdr)) = self.client.block_header(BlockTag::Number(head)).await {
                        let age = unix_now().saturating_sub(hdr.timestamp);
                        let age = Duration::from_secs(age).saturating_sub(Duration::from_secs(1));
                        since = now.checked_sub(age).unwrap_or(now);
                    }
                }
                if let Ok(mut s) = self.state.lock() {
                    s.head_seen = Some((head, since));
                }
                since
            }
        };
        let unchanged = now.saturating_duration_since(since);
        let threshold = self.config.stall_threshold();
        Ok(StallStatus {
            stalled: !syncing && unchanged >= threshold,
            head_unchanged_ms: u64::try_from(unchanged.as_millis()).unwrap_or(u64::MAX),
            threshold_ms: u64::try_from(threshold.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Reads round and commit seal of the blocks not seen yet in the window.
    async fn scan_extra(
        &self,
        head: u64,
        window_start: u64,
        warnings: &mut Vec<String>,
    ) -> Result<(), GovernanceError> {
        let scanned_to = {
            let Ok(mut s) = self.state.lock() else {
                return Ok(());
            };
            if s.scanned_to.is_some_and(|t| t > head) {
                // The chain is shorter than last time: start over.
                s.rounds.clear();
                s.committers.clear();
                s.scanned_to = None;
            }
            s.scanned_to
        };
        let max_scan = self.config.max_scan_per_poll.max(1);
        // Past u64::MAX there is nothing left to read.
        let from = match scanned_to {
            None => Some(window_start),
            Some(t) => t.checked_add(1).map(|f| f.max(window_start)),
        };
        let from = from.map(|f| {
            if head >= f && head - f >= max_scan {
                head - (max_scan - 1)
            } else {
                f
            }
        });
        let mut found = Vec::new();
        let mut last = scanned_to;
        let blocks = from.map(|f| f..=head).into_iter().flatten();
        for h in blocks {
            match self.client.istanbul_extra_info(h).await {
                Ok(e) => {
                    let committers = e.committed_seal.map(|s| s.sealers).unwrap_or_default();
                    found.push((h, e.round, committers));
                    last = Some(h);
                }
                // Before the WBFT fork, or a pruned block: nothing to learn.
                Err(ChainError::Rpc { .. }) | Err(ChainError::Decode { .. }) => last = Some(h),
                Err(ChainError::MethodUnavailable { .. }) => break,
                Err(e) => {
                    warnings.push(format!("stopped reading block extra data at {h}: {e}"));
                    break;
                }
            }
        }
        if let Ok(mut s) = self.state.lock() {
            for (h, round, committers) in found {
                s.rounds.insert(h, round);
                s.committers.insert(h, committers);
            }
            s.rounds = s.rounds.split_off(&window_start);
            s.committers = s.committers.split_off(&window_start);
            s.scanned_to = last;
        }
        Ok(())
    }

    fn fill_activity(
        &self,
        report: &mut ConsensusReport,
        validators: &[Address],
        status: Option<&IstanbulStatus>,
        window_start: u64,
    ) {
        let (rounds, recent): (BTreeMap<u64, u64>, BTreeSet<Address>) = match self.state.lock() {
            Ok(s) => (
                s.rounds.clone(),
                s.committers.values().flatten().copied().collect(),
            ),
            Err(_) => Default::default(),
        };
        let empty = BTreeMap::new();
        let sealed = status.map_or(&empty, |s| s.sealed());
        let authored = status.map_or(&empty, |s| &s.authored);
        report.window_blocks = status.map_or_else(
            || report.head.saturating_sub(window_start).saturating_add(1),
            |s| s.num_blocks,
        );
        report.activity = validators
            .iter()
            .map(|v| {
                let s = sealed.get(v).copied().unwrap_or(0);
                let a = authored.get(v).copied().unwrap_or(0);
                ValidatorActivity {
                    address: *v,
                    sealed: s,
                    authored: a,
                    active: s > 0 || a > 0 || recent.contains(v),
                    is_self: report.node_address == Some(*v),
                }
            })
            .collect();
        report.active_validators = report.activity.iter().filter(|a| a.active).count();
        let own = report.activity.iter().find(|a| a.is_self);
        report.own_sealed = own.map(|a| a.sealed);
        report.round_changes = rounds
            .iter()
            .filter(|(_, &r)| r > 0)
            .map(|(&height, &round)| RoundChange { height, round })
            .collect();
        report.round_distribution = match status.and_then(|s| s.round_distribution.clone()) {
            Some(d) => d,
            None => rounds.values().fold(BTreeMap::new(), |mut m, r| {
                *m.entry(*r).or_insert(0) += 1;
                m
            }),
        };
        if report.is_validator && !validators.is_empty() {
            report.quorum = Some(quorum_safety(
                validators.len(),
                report.active_validators,
                own.is_some_and(|a| a.active),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::RpcMock;
    use serde_json::json;

    #[test]
    fn quorum_sizes() {
        assert_eq!(
            [1, 2, 3, 4, 5, 6, 7, 10, 100].map(bft_quorum),
            [1, 2, 3, 3, 4, 5, 5, 7, 67]
        );
        assert_eq!([4, 7, 10].map(tolerated_faults), [1, 2, 3]);
    }

    /// 4, 7 and 10 validators with 0..=f others offline: halting this one is
    /// safe exactly while fewer than f others are down.
    #[test]
    fn quorum_safety_table() {
        for (n, f) in [(4usize, 1usize), (7, 2), (10, 3)] {
            for offline in 0..=f {
                let active = n - offline;
                let q = quorum_safety(n, active, true);
                assert_eq!(q.quorum, bft_quorum(n));
                assert_eq!(q.active_after, active - 1);
                assert_eq!(q.safe, offline < f, "n={n} offline={offline}: {q}");
            }
        }
        // Exact rows, as the docs state them.
        assert!(quorum_safety(4, 4, true).safe);
        assert!(!quorum_safety(4, 3, true).safe);
        assert!(quorum_safety(7, 6, true).safe);
        assert!(!quorum_safety(7, 5, true).safe);
        assert!(quorum_safety(10, 8, true).safe);
        assert!(!quorum_safety(10, 7, true).safe);
        // A validator that is not sealing anyway takes nothing away.
        assert!(quorum_safety(4, 3, false).safe);
        assert!(!quorum_safety(0, 0, false).safe);
        assert!(quorum_safety(7, 6, true)
            .to_string()
            .starts_with("safe: 5 of 7"));
    }

    const ME: &str = "0x1111111111111111111111111111111111111111";
    const V2: &str = "0x2222222222222222222222222222222222222222";
    const V3: &str = "0x3333333333333333333333333333333333333333";
    const V4: &str = "0x4444444444444444444444444444444444444444";

    fn mock(head: u64, rich: bool) -> RpcMock {
        RpcMock::start(move |m, p| match m {
            "eth_blockNumber" => Ok(json!(format!("{head:#x}"))),
            "eth_syncing" => Ok(json!(false)),
            "eth_getBlockByNumber" => Ok(json!({
                "number": format!("{head:#x}"), "hash": format!("0x{}", "11".repeat(32)),
                "parentHash": format!("0x{}", "22".repeat(32)), "timestamp": format!("{:#x}", unix_now())
            })),
            "istanbul_nodeAddress" => Ok(json!(ME)),
            "istanbul_getValidators" => Ok(json!([ME, V2, V3, V4])),
            "istanbul_isValidator" => Ok(json!(true)),
            "istanbul_status" if rich => Ok(json!({
                "sealerActivity": {"committed": {ME: 10, V2: 10, V3: 0, V4: 10}, "prepared": {ME: 10, V2: 10, V3: 0, V4: 10}},
                "author": {ME: 4, V2: 3, V3: 0, V4: 3},
                "blockRange": {"startBlock": 1, "endBlock": 10, "totalBlocks": 10},
                "roundStats": {"roundDistribution": {"0": 9, "1": 1}}
            })),
            "istanbul_status" => {
                Ok(json!({"sealerActivity": {ME: 4, V2: 3, V3: 0, V4: 3}, "numBlocks": 10}))
            }
            "istanbul_getWbftExtraInfo" => {
                let h = crate::decode::lenient_u64(&p[0]).unwrap_or(0);
                Ok(json!({
                    "round": if h == 7 { "0x1" } else { "0x0" },
                    "committedSeal": {"sealers": [ME, V2, V4], "signature": "0x"},
                    "preparedSeal": null
                }))
            }
            _ => Err((
                -32601,
                format!("the method {m} does not exist/is not available"),
            )),
        })
    }

    fn monitor(url: &str) -> ConsensusMonitor {
        ConsensusMonitor::new(
            RpcChainClient::new(url, Duration::from_secs(5)).unwrap(),
            MonitorConfig {
                block_period: Duration::from_millis(100),
                stall_blocks: 3,
                ..MonitorConfig::default()
            },
        )
    }

    #[tokio::test]
    async fn report_from_plain_status_and_extra_data() {
        for rich in [false, true] {
            let node = mock(10, rich);
            let m = monitor(&node.url());
            let r = m.poll().await.unwrap();
            assert!(r.istanbul_available && r.is_validator, "{r:?}");
            assert_eq!(r.validators.len(), 4);
            assert_eq!(r.window_blocks, 10);
            assert_eq!(r.active_validators, 3, "{:?}", r.activity);
            assert!(!r.activity[2].active);
            assert_eq!(r.own_sealed, Some(if rich { 10 } else { 4 }));
            assert_eq!(
                r.round_changes,
                vec![RoundChange {
                    height: 7,
                    round: 1
                }]
            );
            assert_eq!(r.round_distribution[&1], 1);
            let q = r.quorum.unwrap();
            assert_eq!(
                (q.validators, q.quorum, q.active, q.active_after),
                (4, 3, 3, 2)
            );
            assert!(!r.halt_verdict().safe);
            // Blocks 1..=10 were read once; a second poll at the same head reads none.
            assert_eq!(node.count("istanbul_getWbftExtraInfo"), 10);
            m.poll().await.unwrap();
            assert_eq!(node.count("istanbul_getWbftExtraInfo"), 10);
        }
    }

    /// A head of u64::MAX: the window and the extra-data scan stop at the
    /// head instead of wrapping.
    #[tokio::test]
    async fn head_at_u64_max_does_not_wrap() {
        let node = mock(u64::MAX, false);
        let m = monitor(&node.url());
        let r = tokio::time::timeout(Duration::from_secs(20), m.poll())
            .await
            .expect("poll at u64::MAX never ended")
            .unwrap();
        assert_eq!(r.head, u64::MAX);
        assert_eq!(node.count("istanbul_getWbftExtraInfo"), 64);
        let calls = node.calls();
        assert!(
            !calls
                .iter()
                .any(|(m, p)| m == "istanbul_getWbftExtraInfo" && p[0] == "0x0"),
            "wrapped to block 0"
        );
        m.poll().await.unwrap();
        assert_eq!(node.count("istanbul_getWbftExtraInfo"), 64);
    }

    #[tokio::test]
    async fn stall_is_seen_after_the_threshold() {
        let node = mock(10, false);
        let m = monitor(&node.url());
        let first = m.poll().await.unwrap();
        assert!(!first.stall.stalled, "{:?}", first.stall);
        tokio::time::sleep(Duration::from_millis(350)).await;
        let second = m.poll().await.unwrap();
        assert!(second.stall.stalled, "{:?}", second.stall);
        assert!(second
            .changes_since(&first)
            .iter()
            .any(|c| matches!(c, ConsensusChange::StallStarted { head: 10, .. })));
    }

    #[tokio::test]
    async fn node_without_istanbul_is_reported_not_a_crash() {
        let node = RpcMock::start(|m, _| match m {
            "eth_blockNumber" => Ok(json!("0x5")),
            "eth_syncing" => Ok(json!(false)),
            _ => Err((
                -32601,
                format!("the method {m} does not exist/is not available"),
            )),
        });
        let m = monitor(&node.url());
        let r = m.poll().await.unwrap();
        assert!(!r.istanbul_available);
        assert!(r.validators.is_empty());
        let v = r.halt_verdict();
        assert!(!v.safe && v.reason.contains("istanbul"), "{v:?}");
        assert_eq!(m.last_report().unwrap().head, 5);
    }

    #[tokio::test]
    async fn unreachable_node_is_an_error() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let m = monitor(&format!("http://127.0.0.1:{port}"));
        assert!(m.poll().await.unwrap_err().is_unreachable());
    }
}
