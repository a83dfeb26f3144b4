//! GovNCP: the NCP governance system contract, its ABI, and the rebuilding
//! of proposals from its events.
//!
//! GovNCP keeps proposals in private storage (no getter in any version), so
//! a proposal's state is the replay of its events in chain order
//! (block, log index):
//!
//! - `NewProposal(id, type, ncp, proposer, time, endtime)` opens it (Voting);
//! - `Vote(id, voter, accept)` adds to the tallies; the contract finalises
//!   in the same transaction once accepts×2 > NCP count (passed) or
//!   rejects×2 ≥ NCP count (failed);
//! - `ProposalFinalized(id, accepted)` closes it as Accepted or Rejected,
//!   `ProposalCanceled(id)` as Canceled (also emitted for an expired
//!   proposal when the next one is opened);
//! - `NCPAdded`, `NCPRemoved`, `NCPChanged` change the NCP set.
//!
//! A proposal still in Voting after its `endtime` (chain time) is reported
//! as Expired. The replay is pure; [`crate::GovTracker`] feeds it logs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{sol, SolEvent};
use serde::{Deserialize, Serialize};

use crate::client::RpcLog;

/// Address of the GovNCP system contract.
pub const GOV_NCP_ADDRESS: Address = Address::new([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x03,
]);

sol! {
    /// The GovNCP system contract (events and views as in go-wemix-wbft).
    #[allow(missing_docs)]
    interface IGovNCP {
        event NewProposal(uint256 indexed id, uint256 proposalType, address ncp, address proposer, uint256 time, uint256 endtime);
        event Vote(uint256 indexed proposalID, address voter, bool accept);
        event ProposalFinalized(uint256 indexed proposalID, bool accepted);
        event ProposalCanceled(uint256 indexed proposalID);
        event NCPAdded(address indexed ncp);
        event NCPRemoved(address indexed ncp);
        event NCPChanged(address indexed oldNCP, address indexed newNCP);

        function currentProposalID() external view returns (uint256);
        function ncpList() external view returns (address[] memory);
        function isNCP(address ncp) external view returns (bool);
        function emergencyMode() external view returns (bool);
        function VOTING_PERIOD() external view returns (uint256);
        function ncpCount() external view returns (uint256);
    }
}

/// The kind of a GovNCP proposal (`proposalType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalKind {
    /// 1: add an NCP.
    NcpAdd,
    /// 2: remove an NCP.
    NcpRemoval,
    /// 3: enter emergency mode.
    EmergencyMode,
    /// 4: leave emergency mode.
    ReleaseEmergencyMode,
    /// Any other value.
    Unknown(u64),
}

impl ProposalKind {
    /// From the contract's `proposalType` number.
    pub fn from_code(code: u64) -> Self {
        match code {
            1 => ProposalKind::NcpAdd,
            2 => ProposalKind::NcpRemoval,
            3 => ProposalKind::EmergencyMode,
            4 => ProposalKind::ReleaseEmergencyMode,
            other => ProposalKind::Unknown(other),
        }
    }

    /// The contract's number.
    pub fn code(self) -> u64 {
        match self {
            ProposalKind::NcpAdd => 1,
            ProposalKind::NcpRemoval => 2,
            ProposalKind::EmergencyMode => 3,
            ProposalKind::ReleaseEmergencyMode => 4,
            ProposalKind::Unknown(c) => c,
        }
    }
}

impl fmt::Display for ProposalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposalKind::NcpAdd => f.write_str("NCPAdd"),
            ProposalKind::NcpRemoval => f.write_str("NCPRemoval"),
            ProposalKind::EmergencyMode => f.write_str("EmergencyMode"),
            ProposalKind::ReleaseEmergencyMode => f.write_str("ReleaseEmergencyMode"),
            ProposalKind::Unknown(c) => write!(f, "type {c}"),
        }
    }
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Open for votes.
    Voting,
    /// Finalised as passed.
    Accepted,
    /// Finalised as failed.
    Rejected,
    /// Canceled (by its proposer, or as expired when the next one opened).
    Canceled,
    /// Still open on chain, but its voting window has ended.
    Expired,
}

impl fmt::Display for ProposalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProposalState::Voting => "voting",
            ProposalState::Accepted => "accepted",
            ProposalState::Rejected => "rejected",
            ProposalState::Canceled => "canceled",
            ProposalState::Expired => "expired",
        })
    }
}

/// A decoded GovNCP event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum GovEvent {
    /// `NewProposal`.
    NewProposal {
        /// Proposal id.
        id: u64,
        /// `proposalType`.
        kind: u64,
        /// The NCP the proposal is about (zero for emergency proposals).
        ncp: Address,
        /// Who proposed.
        proposer: Address,
        /// Opening time (unix seconds).
        time: u64,
        /// End of the voting window (unix seconds).
        endtime: u64,
    },
    /// `Vote`.
    Vote {
        /// Proposal id.
        id: u64,
        /// The NCP that voted.
        voter: Address,
        /// Accept or reject.
        accept: bool,
    },
    /// `ProposalFinalized`.
    Finalized {
        /// Proposal id.
        id: u64,
        /// Passed or failed.
        accepted: bool,
    },
    /// `ProposalCanceled`.
    Canceled {
        /// Proposal id.
        id: u64,
    },
    /// `NCPAdded`.
    NcpAdded {
        /// The new NCP.
        ncp: Address,
    },
    /// `NCPRemoved`.
    NcpRemoved {
        /// The removed NCP.
        ncp: Address,
    },
    /// `NCPChanged`.
    NcpChanged {
        /// The NCP that left.
        old: Address,
        /// The NCP that took its place.
        new: Address,
    },
}

/// An event with its position in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Height.
    pub block: u64,
    /// Block hash (to notice reorgs).
    pub block_hash: B256,
    /// Position in the block.
    pub log_index: u64,
    /// Emitting transaction.
    pub tx: Option<B256>,
    /// The event.
    #[serde(flatten)]
    pub event: GovEvent,
}

/// Topic-0 hashes of every GovNCP event, for `eth_getLogs`.
pub fn event_topics() -> Vec<B256> {
    vec![
        IGovNCP::NewProposal::SIGNATURE_HASH,
        IGovNCP::Vote::SIGNATURE_HASH,
        IGovNCP::ProposalFinalized::SIGNATURE_HASH,
        IGovNCP::ProposalCanceled::SIGNATURE_HASH,
        IGovNCP::NCPAdded::SIGNATURE_HASH,
        IGovNCP::NCPRemoved::SIGNATURE_HASH,
        IGovNCP::NCPChanged::SIGNATURE_HASH,
    ]
}

fn small(what: &str, v: U256) -> Result<u64, String> {
    u64::try_from(v).map_err(|_| format!("{what} {v} does not fit in 64 bits"))
}

/// Decodes one GovNCP log; `Ok(None)` for a log of another event.
pub fn decode_log(log: &RpcLog) -> Result<Option<EventRecord>, String> {
    let Some(topic0) = log.topics.first().copied() else {
        return Ok(None);
    };
    let topics = log.topics.iter().copied();
    let data = &log.data[..];
    let err = |name: &str, e: alloy_sol_types::Error| {
        format!(
            "{name} log in block {} (index {}) does not decode: {e}",
            log.block_number, log.log_index
        )
    };
    let event = if topic0 == IGovNCP::NewProposal::SIGNATURE_HASH {
        let e = IGovNCP::NewProposal::decode_raw_log(topics, data)
            .map_err(|e| err("NewProposal", e))?;
        GovEvent::NewProposal {
            id: small("proposal id", e.id)?,
            kind: small("proposal type", e.proposalType)?,
            ncp: e.ncp,
            proposer: e.proposer,
            time: small("time", e.time)?,
            endtime: small("endtime", e.endtime)?,
        }
    } else if topic0 == IGovNCP::Vote::SIGNATURE_HASH {
        let e = IGovNCP::Vote::decode_raw_log(topics, data).map_err(|e| err("Vote", e))?;
        GovEvent::Vote {
            id: small("proposal id", e.proposalID)?,
            voter: e.voter,
            accept: e.accept,
        }
    } else if topic0 == IGovNCP::ProposalFinalized::SIGNATURE_HASH {
        let e = IGovNCP::ProposalFinalized::decode_raw_log(topics, data)
            .map_err(|e| err("ProposalFinalized", e))?;
        GovEvent::Finalized {
            id: small("proposal id", e.proposalID)?,
            accepted: e.accepted,
        }
    } else if topic0 == IGovNCP::ProposalCanceled::SIGNATURE_HASH {
        let e = IGovNCP::ProposalCanceled::decode_raw_log(topics, data)
            .map_err(|e| err("ProposalCanceled", e))?;
        GovEvent::Canceled {
            id: small("proposal id", e.proposalID)?,
        }
    } else if topic0 == IGovNCP::NCPAdded::SIGNATURE_HASH {
        let e = IGovNCP::NCPAdded::decode_raw_log(topics, data).map_err(|e| err("NCPAdded", e))?;
        GovEvent::NcpAdded { ncp: e.ncp }
    } else if topic0 == IGovNCP::NCPRemoved::SIGNATURE_HASH {
        let e =
            IGovNCP::NCPRemoved::decode_raw_log(topics, data).map_err(|e| err("NCPRemoved", e))?;
        GovEvent::NcpRemoved { ncp: e.ncp }
    } else if topic0 == IGovNCP::NCPChanged::SIGNATURE_HASH {
        let e =
            IGovNCP::NCPChanged::decode_raw_log(topics, data).map_err(|e| err("NCPChanged", e))?;
        GovEvent::NcpChanged {
            old: e.oldNCP,
            new: e.newNCP,
        }
    } else {
        return Ok(None);
    };
    Ok(Some(EventRecord {
        block: log.block_number,
        block_hash: log.block_hash,
        log_index: log.log_index,
        tx: log.transaction_hash,
        event,
    }))
}

/// One NCP's vote on a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteRecord {
    /// The NCP.
    pub voter: Address,
    /// Accept or reject.
    pub accept: bool,
    /// Block of the vote.
    pub block: u64,
}

/// The pass rule applied to a proposal with the current NCP count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassRule {
    /// NCPs.
    pub ncp_count: u64,
    /// Accepts needed to pass: the least `a` with `a×2 > ncp_count`.
    pub accepts_needed: u64,
    /// Rejects that make it fail: the least `r` with `r×2 ≥ ncp_count`.
    pub rejects_needed: u64,
}

impl PassRule {
    /// The rule for `ncp_count` NCPs.
    pub fn for_ncps(ncp_count: u64) -> Self {
        PassRule {
            ncp_count,
            accepts_needed: ncp_count / 2 + 1,
            rejects_needed: ncp_count.div_ceil(2),
        }
    }
    /// accepts×2 > NCP count.
    pub fn passes(&self, accepts: u64) -> bool {
        accepts.saturating_mul(2) > self.ncp_count
    }
    /// rejects×2 ≥ NCP count.
    pub fn fails(&self, rejects: u64) -> bool {
        rejects.saturating_mul(2) >= self.ncp_count
    }
}

/// A GovNCP proposal rebuilt from events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Proposal id.
    pub id: u64,
    /// Kind.
    pub kind: ProposalKind,
    /// The NCP it is about (none for emergency proposals).
    pub target: Option<Address>,
    /// Who proposed.
    pub proposer: Address,
    /// Opening time (unix seconds).
    pub start_time: u64,
    /// End of the voting window (unix seconds).
    pub end_time: u64,
    /// Block of `NewProposal`.
    pub created_block: u64,
    /// Where it stands.
    pub state: ProposalState,
    /// Accept votes.
    pub accepts: u64,
    /// Reject votes.
    pub rejects: u64,
    /// Votes in order.
    pub voters: Vec<VoteRecord>,
    /// Block of `ProposalFinalized` / `ProposalCanceled`.
    pub closed_block: Option<u64>,
    /// The pass rule with the NCP count of the snapshot.
    pub rule: Option<PassRule>,
}

/// One line of `governance monitor`: a change GovNCP recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum GovernanceChange {
    /// A proposal was opened.
    ProposalCreated {
        /// Block.
        block: u64,
        /// The proposal as opened.
        proposal: Box<Proposal>,
    },
    /// An NCP voted.
    Voted {
        /// Block.
        block: u64,
        /// Proposal id.
        id: u64,
        /// The NCP.
        voter: Address,
        /// Accept or reject.
        accept: bool,
        /// Accepts after this vote.
        accepts: u64,
        /// Rejects after this vote.
        rejects: u64,
    },
    /// A proposal was finalised.
    Finalized {
        /// Block.
        block: u64,
        /// Proposal id.
        id: u64,
        /// Passed or failed.
        accepted: bool,
    },
    /// A proposal was canceled.
    Canceled {
        /// Block.
        block: u64,
        /// Proposal id.
        id: u64,
    },
    /// A proposal's voting window ended without a decision.
    Expired {
        /// Proposal id.
        id: u64,
        /// End of its window (unix seconds).
        end_time: u64,
    },
    /// An NCP joined.
    NcpAdded {
        /// Block.
        block: u64,
        /// The NCP.
        ncp: Address,
    },
    /// An NCP left.
    NcpRemoved {
        /// Block.
        block: u64,
        /// The NCP.
        ncp: Address,
    },
    /// An NCP handed its seat to another address.
    NcpChanged {
        /// Block.
        block: u64,
        /// Old address.
        old: Address,
        /// New address.
        new: Address,
    },
    /// Emergency mode was turned on or off.
    EmergencyMode {
        /// On or off now.
        on: bool,
    },
    /// The chain was reorganised (or reset); events from `from_block` on were read again.
    Reorg {
        /// First block read again.
        from_block: u64,
    },
}

impl fmt::Display for GovernanceChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GovernanceChange::ProposalCreated { block, proposal: p } => {
                write!(f, "block {block}: GovNCP proposal {} opened: {}", p.id, p.kind)?;
                if let Some(t) = p.target {
                    write!(f, " {t}")?;
                }
                write!(f, " by {} (voting until unix {})", p.proposer, p.end_time)
            }
            GovernanceChange::Voted {
                block,
                id,
                voter,
                accept,
                accepts,
                rejects,
            } => write!(
                f,
                "block {block}: GovNCP proposal {id}: {voter} voted {} ({accepts} accept, {rejects} reject)",
                if *accept { "accept" } else { "reject" }
            ),
            GovernanceChange::Finalized {
                block,
                id,
                accepted,
            } => write!(
                f,
                "block {block}: GovNCP proposal {id} {}",
                if *accepted { "accepted" } else { "rejected" }
            ),
            GovernanceChange::Canceled { block, id } => {
                write!(f, "block {block}: GovNCP proposal {id} canceled")
            }
            GovernanceChange::Expired { id, end_time } => write!(
                f,
                "GovNCP proposal {id} expired without a decision (voting ended at unix {end_time})"
            ),
            GovernanceChange::NcpAdded { block, ncp } => {
                write!(f, "block {block}: NCP {ncp} added")
            }
            GovernanceChange::NcpRemoved { block, ncp } => {
                write!(f, "block {block}: NCP {ncp} removed")
            }
            GovernanceChange::NcpChanged { block, old, new } => {
                write!(f, "block {block}: NCP {old} changed to {new}")
            }
            GovernanceChange::EmergencyMode { on } => write!(
                f,
                "GovNCP emergency mode is {}",
                if *on { "ON" } else { "off" }
            ),
            GovernanceChange::Reorg { from_block } => write!(
                f,
                "chain reorganised or reset: GovNCP events from block {from_block} on read again"
            ),
        }
    }
}

/// The replay of GovNCP events: proposals and NCP changes.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Proposals by id.
    pub proposals: BTreeMap<u64, Proposal>,
    /// NCPs that events added and did not remove later.
    pub ncps_added: BTreeSet<Address>,
    /// NCPs that events removed and did not add again later.
    pub ncps_removed: BTreeSet<Address>,
    /// Emergency mode as accepted proposals set it, if any did.
    pub emergency_mode: Option<bool>,
    /// Events that did not fit (e.g. a vote on a proposal opened before the scan began).
    pub anomalies: Vec<String>,
}

impl Ledger {
    /// Replays `events` (already in chain order).
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a EventRecord>) -> Self {
        let mut l = Ledger::default();
        for e in events {
            l.apply(e);
        }
        l
    }

    /// Applies one event; returns the change it records.
    pub fn apply(&mut self, rec: &EventRecord) -> Option<GovernanceChange> {
        let block = rec.block;
        match &rec.event {
            GovEvent::NewProposal {
                id,
                kind,
                ncp,
                proposer,
                time,
                endtime,
            } => {
                if self.proposals.contains_key(id) {
                    self.anomalies.push(format!(
                        "proposal {id} opened again in block {block}; the later one is kept"
                    ));
                }
                let p = Proposal {
                    id: *id,
                    kind: ProposalKind::from_code(*kind),
                    target: (*ncp != Address::ZERO).then_some(*ncp),
                    proposer: *proposer,
                    start_time: *time,
                    end_time: *endtime,
                    created_block: block,
                    state: ProposalState::Voting,
                    accepts: 0,
                    rejects: 0,
                    voters: Vec::new(),
                    closed_block: None,
                    rule: None,
                };
                self.proposals.insert(*id, p.clone());
                Some(GovernanceChange::ProposalCreated {
                    block,
                    proposal: Box::new(p),
                })
            }
            GovEvent::Vote { id, voter, accept } => {
                let Some(p) = self.proposals.get_mut(id) else {
                    self.anomalies.push(format!(
                        "vote on proposal {id} in block {block}, but its NewProposal was not seen"
                    ));
                    return None;
                };
                if *accept {
                    p.accepts += 1;
                } else {
                    p.rejects += 1;
                }
                p.voters.push(VoteRecord {
                    voter: *voter,
                    accept: *accept,
                    block,
                });
                Some(GovernanceChange::Voted {
                    block,
                    id: *id,
                    voter: *voter,
                    accept: *accept,
                    accepts: p.accepts,
                    rejects: p.rejects,
                })
            }
            GovEvent::Finalized { id, accepted } => {
                let Some(p) = self.proposals.get_mut(id) else {
                    self.anomalies.push(format!(
                        "proposal {id} finalised in block {block}, but its NewProposal was not seen"
                    ));
                    return None;
                };
                p.state = if *accepted {
                    ProposalState::Accepted
                } else {
                    ProposalState::Rejected
                };
                p.closed_block = Some(block);
                if *accepted {
                    match p.kind {
                        ProposalKind::EmergencyMode => self.emergency_mode = Some(true),
                        ProposalKind::ReleaseEmergencyMode => self.emergency_mode = Some(false),
                        _ => {}
                    }
                }
                Some(GovernanceChange::Finalized {
                    block,
                    id: *id,
                    accepted: *accepted,
                })
            }
            GovEvent::Canceled { id } => {
                let Some(p) = self.proposals.get_mut(id) else {
                    self.anomalies.push(format!(
                        "proposal {id} canceled in block {block}, but its NewProposal was not seen"
                    ));
                    return None;
                };
                p.state = ProposalState::Canceled;
                p.closed_block = Some(block);
                Some(GovernanceChange::Canceled { block, id: *id })
            }
            GovEvent::NcpAdded { ncp } => {
                self.ncps_removed.remove(ncp);
                self.ncps_added.insert(*ncp);
                Some(GovernanceChange::NcpAdded { block, ncp: *ncp })
            }
            GovEvent::NcpRemoved { ncp } => {
                self.ncps_added.remove(ncp);
                self.ncps_removed.insert(*ncp);
                Some(GovernanceChange::NcpRemoved { block, ncp: *ncp })
            }
            GovEvent::NcpChanged { old, new } => {
                self.ncps_added.remove(old);
                self.ncps_removed.insert(*old);
                self.ncps_removed.remove(new);
                self.ncps_added.insert(*new);
                Some(GovernanceChange::NcpChanged {
                    block,
                    old: *old,
                    new: *new,
                })
            }
        }
    }

    /// Proposals with `Expired` for open ones past `chain_time`, and the pass
    /// rule of `ncp_count` NCPs.
    pub fn proposals_at(&self, chain_time: u64, ncp_count: u64) -> Vec<Proposal> {
        let rule = PassRule::for_ncps(ncp_count);
        self.proposals
            .values()
            .map(|p| {
                let mut p = p.clone();
                if p.state == ProposalState::Voting && chain_time > p.end_time {
                    p.state = ProposalState::Expired;
                }
                p.rule = Some(rule);
                p
            })
            .collect()
    }

    /// The id `currentProposalID()` should return after these events, when
    /// the events cover the contract's whole history.
    pub fn expected_current_id(&self) -> u64 {
        match self.proposals.iter().next_back() {
            None => 0,
            Some((id, p)) if p.closed_block.is_none() => *id,
            Some((id, _)) => id.saturating_add(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, Bytes, LogData};

    const A: Address = address!("0x1111111111111111111111111111111111111111");
    const B: Address = address!("0x2222222222222222222222222222222222222222");
    const C: Address = address!("0x3333333333333333333333333333333333333333");

    fn log_of(data: LogData, block: u64, index: u64) -> RpcLog {
        RpcLog {
            address: GOV_NCP_ADDRESS,
            topics: data.topics().to_vec(),
            data: Bytes::from(data.data.to_vec()),
            block_number: block,
            block_hash: B256::repeat_byte(block as u8),
            transaction_hash: None,
            log_index: index,
            removed: false,
        }
    }

    fn rec(ev: impl SolEvent, block: u64, index: u64) -> EventRecord {
        decode_log(&log_of(ev.encode_log_data(), block, index))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn signatures_are_the_documented_ones() {
        assert_eq!(
            IGovNCP::NewProposal::SIGNATURE,
            "NewProposal(uint256,uint256,address,address,uint256,uint256)"
        );
        assert_eq!(IGovNCP::Vote::SIGNATURE, "Vote(uint256,address,bool)");
        assert_eq!(
            IGovNCP::NCPChanged::SIGNATURE,
            "NCPChanged(address,address)"
        );
        // As in the Go bindings of go-wemix-wbft.
        assert_eq!(
            IGovNCP::NCPChanged::SIGNATURE_HASH.to_string(),
            "0x52aef81f7bac2d78a9ab8d4601b95ca4a5e699c7d04290ceae4bb90e4a599019"
        );
        assert_eq!(event_topics().len(), 7);
    }

    #[test]
    fn decodes_every_event() {
        let e = rec(
            IGovNCP::NewProposal {
                id: U256::from(3),
                proposalType: U256::from(1),
                ncp: C,
                proposer: A,
                time: U256::from(100),
                endtime: U256::from(700),
            },
            5,
            0,
        );
        assert_eq!(
            e.event,
            GovEvent::NewProposal {
                id: 3,
                kind: 1,
                ncp: C,
                proposer: A,
                time: 100,
                endtime: 700
            }
        );
        let e = rec(
            IGovNCP::NCPChanged {
                oldNCP: A,
                newNCP: B,
            },
            6,
            1,
        );
        assert_eq!(e.event, GovEvent::NcpChanged { old: A, new: B });
        assert_eq!((e.block, e.log_index), (6, 1));
        // Unknown topic: not ours.
        let mut other = log_of(IGovNCP::NCPAdded { ncp: A }.encode_log_data(), 1, 0);
        other.topics[0] = B256::repeat_byte(9);
        assert!(decode_log(&other).unwrap().is_none());
        // Truncated data: a clear error.
        let mut bad = log_of(
            IGovNCP::Vote {
                proposalID: U256::from(1),
                voter: A,
                accept: true,
            }
            .encode_log_data(),
            2,
            0,
        );
        bad.data = Bytes::from(vec![0u8; 5]);
        assert!(decode_log(&bad)
            .unwrap_err()
            .contains("Vote log in block 2"));
        // An id beyond 64 bits is refused, not truncated.
        let huge = log_of(
            IGovNCP::ProposalCanceled {
                proposalID: U256::MAX,
            }
            .encode_log_data(),
            2,
            0,
        );
        assert!(decode_log(&huge).is_err());
    }

    #[test]
    fn pass_rule() {
        let r = PassRule::for_ncps(4);
        assert_eq!((r.accepts_needed, r.rejects_needed), (3, 2));
        assert!(r.passes(3) && !r.passes(2));
        assert!(r.fails(2) && !r.fails(1));
        let r = PassRule::for_ncps(5);
        assert_eq!((r.accepts_needed, r.rejects_needed), (3, 3));
        let r = PassRule::for_ncps(1);
        assert_eq!((r.accepts_needed, r.rejects_needed), (1, 1));
    }

    #[test]
    fn replay_builds_states_tallies_and_ncps() {
        let events = vec![
            rec(
                IGovNCP::NewProposal {
                    id: U256::ZERO,
                    proposalType: U256::from(1),
                    ncp: C,
                    proposer: A,
                    time: U256::from(10),
                    endtime: U256::from(20),
                },
                1,
                0,
            ),
            rec(
                IGovNCP::Vote {
                    proposalID: U256::ZERO,
                    voter: A,
                    accept: true,
                },
                2,
                0,
            ),
            rec(
                IGovNCP::Vote {
                    proposalID: U256::ZERO,
                    voter: B,
                    accept: true,
                },
                3,
                0,
            ),
            rec(IGovNCP::NCPAdded { ncp: C }, 3, 1),
            rec(
                IGovNCP::ProposalFinalized {
                    proposalID: U256::ZERO,
                    accepted: true,
                },
                3,
                2,
            ),
            rec(
                IGovNCP::NewProposal {
                    id: U256::from(1),
                    proposalType: U256::from(3),
                    ncp: Address::ZERO,
                    proposer: B,
                    time: U256::from(30),
                    endtime: U256::from(40),
                },
                4,
                0,
            ),
            rec(
                IGovNCP::ProposalCanceled {
                    proposalID: U256::from(1),
                },
                5,
                0,
            ),
            rec(
                IGovNCP::NewProposal {
                    id: U256::from(2),
                    proposalType: U256::from(2),
                    ncp: B,
                    proposer: A,
                    time: U256::from(50),
                    endtime: U256::from(60),
                },
                6,
                0,
            ),
            rec(
                IGovNCP::Vote {
                    proposalID: U256::from(2),
                    voter: C,
                    accept: false,
                },
                7,
                0,
            ),
        ];
        let l = Ledger::replay(&events);
        assert!(l.anomalies.is_empty(), "{:?}", l.anomalies);
        let p0 = &l.proposals[&0];
        assert_eq!(
            (p0.state, p0.accepts, p0.rejects, p0.target),
            (ProposalState::Accepted, 2, 0, Some(C))
        );
        assert_eq!(
            p0.voters.iter().map(|v| v.voter).collect::<Vec<_>>(),
            vec![A, B]
        );
        assert_eq!(l.proposals[&1].state, ProposalState::Canceled);
        assert_eq!(l.proposals[&1].target, None);
        assert_eq!(l.proposals[&2].state, ProposalState::Voting);
        assert_eq!(l.expected_current_id(), 2);
        assert_eq!(l.ncps_added, [C].into_iter().collect());
        // Chain time past proposal 2's end: expired; rule from 3 NCPs.
        let ps = l.proposals_at(61, 3);
        assert_eq!(ps[2].state, ProposalState::Expired);
        assert_eq!(ps[2].rule.unwrap().accepts_needed, 2);
        assert_eq!(l.proposals_at(60, 3)[2].state, ProposalState::Voting);
    }

    #[test]
    fn orphan_events_are_anomalies_not_crashes() {
        let l = Ledger::replay(&[rec(
            IGovNCP::Vote {
                proposalID: U256::from(9),
                voter: A,
                accept: true,
            },
            1,
            0,
        )]);
        assert!(l.proposals.is_empty());
        assert_eq!(l.anomalies.len(), 1);
    }

    #[test]
    fn change_lines_read_well() {
        let mut l = Ledger::default();
        let c = l
            .apply(&rec(
                IGovNCP::NewProposal {
                    id: U256::from(4),
                    proposalType: U256::from(2),
                    ncp: B,
                    proposer: A,
                    time: U256::from(1),
                    endtime: U256::from(2),
                },
                9,
                0,
            ))
            .unwrap();
        let line = c.to_string();
        assert!(
            line.starts_with("block 9: GovNCP proposal 4 opened: NCPRemoval 0x2222"),
            "{line}"
        );
        let c = l
            .apply(&rec(
                IGovNCP::Vote {
                    proposalID: U256::from(4),
                    voter: C,
                    accept: false,
                },
                10,
                0,
            ))
            .unwrap();
        assert!(
            c.to_string().ends_with("voted reject (0 accept, 1 reject)"),
            "{c}"
        );
    }
}
