//! What the supervisor learns from the chain: the node's JSON-RPC, WBFT
//! consensus health, GovNCP governance, fork heights, and upgrade plans
//! from a signed release manifest or an upgrade-proposal contract.
//!
//! This crate owns:
//! - [`RpcChainClient`]: [`wemixvisor_core::ChainClient`] over HTTP with
//!   alloy's JSON-RPC client, plus typed `istanbul_*`, `admin_nodeInfo`,
//!   `eth_call`, `eth_getLogs`; per-call timeout, bounded retries of an
//!   unreachable node (never of an error answer), and errors sorted into
//!   unreachable / method not exposed / RPC error / unexpected shape;
//!   and new heads pushed over the node's IPC socket ([`heads`],
//!   `eth_subscribe("newHeads")`) for a supervisor that waits for a height;
//! - [`ConsensusMonitor`]: validator set, sealing activity over a window,
//!   round changes, stalled production, as a serialisable
//!   [`ConsensusReport`], and the quorum-safety check
//!   ([`quorum_safety`], [`ConsensusMonitor::halt_verdict`]);
//! - [`QuorumGuard`]: [`wemixvisor_core::HaltGuard`] from `istanbul_*`
//!   (validator set, recent sealing, this node's address), asked before
//!   every halt the chain has not coordinated;
//! - [`GovTracker`]: GovNCP proposals rebuilt from events, cross-checked
//!   with the contract's views, cached in `governance/proposals.json`;
//! - [`ForkSchedule`]: fork heights from `admin_nodeInfo`, next fork;
//! - [`UpgradeFeed`] over [`ProposalSource`]s ([`ManifestSource`],
//!   [`ContractSource`]): approved upgrades as
//!   [`wemixvisor_core::UpgradePlan`]s for the upgrade queue;
//! - [`GovernanceService`]: all of the above advanced by one `tick`.
//!
//! # Theory of operation
//! Every RPC call is one request with a deadline; there is no connection
//! state, so a node restart (or an upgrade switch-over) needs nothing from
//! this side. The one exception is a head subscription: it lives as long as
//! the node's IPC connection, ends when the node stops, and the supervisor
//! subscribes again after the next start. The monitor and the tracker are polled: the daemon calls
//! [`GovernanceService::tick`] every `governance.poll_interval`, offers
//! `feed.queue` to the upgrade queue, logs `changes`, and shows
//! [`GovernanceService::status`] in `status`. Before an early,
//! non-coordinated halt the supervisor asks its [`QuorumGuard`] (built by
//! [`halt_guard_from_settings`]), which reads the chain afresh each time. GovNCP never carries a binary
//! upgrade: its proposals are reported, not queued. Nothing here writes
//! outside `governance/proposals.json`, and that file is a cache: deleting
//! it only costs a rescan.
//!
//! # Features
//! - `test-utils`: the `test_utils` module (a scripted JSON-RPC node, a loopback file
//!   server, a minisign signer) for other crates' tests.

mod client;
pub mod consensus;
mod decode;
mod error;
pub mod feed;
pub mod forks;
pub mod govncp;
pub mod guard;
pub mod heads;
pub mod istanbul;
pub mod manifest;
mod plain_http;
mod service;
pub mod tracker;
pub mod upgrade_contract;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use alloy_primitives::{Address, Bytes, B256, U256};
pub use client::{
    parse_quantity, BlockHeader, BlockTag, LogFilter, RetryPolicy, RpcChainClient, RpcLog,
};
pub use consensus::{
    bft_quorum, quorum_safety, tolerated_faults, ConsensusChange, ConsensusMonitor,
    ConsensusReport, HaltCheck, MonitorConfig, QuorumSafety,
};
pub use error::GovernanceError;
pub use feed::{
    FeedReport, GovernanceSettings, ProposalSource, SkippedPlan, SourceError, SourcePoll,
    UpgradeFeed,
};
pub use forks::{Fork, ForkSchedule, ForkStatus, NextFork};
pub use govncp::{GovernanceChange, Proposal, ProposalKind, ProposalState, GOV_NCP_ADDRESS};
pub use guard::{halt_guard_from_settings, ConsensusReader, GuardSettings, QuorumGuard};
pub use istanbul::{CommitSigners, IstanbulStatus, WbftExtraInfo};
pub use manifest::ManifestSource;
pub use service::{GovernanceService, GovernanceStatus, TickOutcome};
pub use tracker::{GovTracker, GovernanceSnapshot, SyncOutcome, TrackerConfig};
pub use upgrade_contract::{ContractSource, UpgradeProposal, UpgradeProposalStatus};
