//! The quorum guard: [`wemixvisor_core::HaltGuard`] from `istanbul_*`.
//!
//! Before a halt the chain has not coordinated (a health restart, an
//! operator restart or stop, an upgrade without a height, a manual
//! rollback) the supervisor asks [`QuorumGuard::may_halt`]. One call reads
//! the head, this node's signing address (`istanbul_nodeAddress`), the
//! validator set at the head (`istanbul_getValidators`), the sealing
//! activity over the recent window (`istanbul_status`) and the committers
//! of the head block (`istanbul_getCommitSignersFromBlock`). A validator is
//! *active* when it sealed or authored a block in the window, or committed
//! the head block.
//!
//! The rule, with `n` validators and quorum `q = ⌊2n/3⌋ + 1`:
//! - this node is not a validator: [`HaltVerdict::Allow`];
//! - this node is a validator but sealed nothing in the window: `Allow`,
//!   since halting it takes no seal away;
//! - this node is an active validator and `active - 1 >= q`: `Allow`;
//! - otherwise [`HaltVerdict::Wait`] with the numbers.
//!
//! **When the chain cannot tell** (the node is unreachable, the `istanbul`
//! namespace is not exposed, the validator set or every activity source
//! fails), the guard answers `Allow` with a detail that says so, and logs a
//! warning. The guard exists to protect a healthy network from a careless
//! halt; it must not keep a broken node from being restarted, and a node
//! whose RPC is down is the usual reason for a health restart. An operator
//! who wants no guard at all sets `governance.quorum_guard = false` and the
//! supervisor uses [`wemixvisor_core::AlwaysAllow`].

use std::collections::BTreeSet;
use std::sync::Arc;

use alloy_primitives::Address;
use async_trait::async_trait;
use wemixvisor_core::{AlwaysAllow, ChainClient, ChainError, HaltGuard, HaltReason, HaltVerdict};

use crate::client::BlockTag;
use crate::consensus::quorum_safety;
use crate::istanbul::IstanbulStatus;
use crate::{GovernanceSettings, RpcChainClient};

/// The `istanbul_*` reads the quorum guard makes; implemented by
/// [`RpcChainClient`], replaced by a mock in tests.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ConsensusReader: Send + Sync {
    /// `eth_blockNumber`.
    async fn head(&self) -> Result<u64, ChainError>;
    /// `istanbul_nodeAddress`.
    async fn node_address(&self) -> Result<Address, ChainError>;
    /// `istanbul_getValidators(block)`.
    async fn validators(&self, block: u64) -> Result<Vec<Address>, ChainError>;
    /// `istanbul_status(start, end)`; `None` for the node's default window.
    async fn sealing_activity(
        &self,
        range: Option<(u64, u64)>,
    ) -> Result<IstanbulStatus, ChainError>;
    /// `istanbul_getCommitSignersFromBlock(block)`: the committers.
    async fn commit_signers(&self, block: u64) -> Result<Vec<Address>, ChainError>;
}

#[async_trait]
impl ConsensusReader for RpcChainClient {
    async fn head(&self) -> Result<u64, ChainError> {
        self.block_number().await
    }
    async fn node_address(&self) -> Result<Address, ChainError> {
        self.istanbul_node_address().await
    }
    async fn validators(&self, block: u64) -> Result<Vec<Address>, ChainError> {
        self.istanbul_validators(BlockTag::Number(block)).await
    }
    async fn sealing_activity(
        &self,
        range: Option<(u64, u64)>,
    ) -> Result<IstanbulStatus, ChainError> {
        self.istanbul_status(range).await
    }
    async fn commit_signers(&self, block: u64) -> Result<Vec<Address>, ChainError> {
        Ok(self
            .istanbul_commit_signers(BlockTag::Number(block))
            .await?
            .committers)
    }
}

/// Settings of the quorum guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardSettings {
    /// Blocks of the activity window (`istanbul_status` defaults to 64; with
    /// 64 the node's default window is asked for).
    pub window: u64,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings { window: 64 }
    }
}

/// [`HaltGuard`] from the validator set, recent sealing activity and this
/// node's address; see the module docs for the rule.
#[derive(Debug, Clone)]
pub struct QuorumGuard<C = RpcChainClient> {
    client: C,
    settings: GuardSettings,
}

/// "Could not tell" answers, logged once each.
fn cannot_tell(reason: HaltReason, what: &str, e: &dyn std::fmt::Display) -> HaltVerdict {
    let detail =
        format!("quorum guard could not tell whether halting keeps quorum ({what}: {e}); allowing");
    tracing::warn!(halt = reason.as_str(), "{detail}");
    HaltVerdict::Allow { detail }
}

impl<C: ConsensusReader> QuorumGuard<C> {
    /// A guard asking the node behind `client`.
    pub fn new(client: C, settings: GuardSettings) -> Self {
        QuorumGuard { client, settings }
    }

    /// Its settings.
    pub fn settings(&self) -> GuardSettings {
        self.settings
    }

    /// The verdict for a halt of kind `reason`, now.
    pub async fn verdict(&self, reason: HaltReason) -> HaltVerdict {
        let head = match self.client.head().await {
            Ok(h) => h,
            Err(e) => return cannot_tell(reason, "head", &e),
        };
        let me = match self.client.node_address().await {
            Ok(a) => a,
            Err(e) => return cannot_tell(reason, "node address", &e),
        };
        let validators = match self.client.validators(head).await {
            Ok(v) => v,
            Err(e) => return cannot_tell(reason, "validator set", &e),
        };
        if validators.is_empty() {
            return cannot_tell(reason, "validator set", &format!("empty at block {head}"));
        }
        if !validators.contains(&me) {
            return HaltVerdict::Allow {
                detail: format!(
                    "this node ({me}) is not one of the {} validators: halting it does not affect quorum",
                    validators.len()
                ),
            };
        }
        let active = match self.active_set(head).await {
            Ok(a) => a,
            Err(e) => return cannot_tell(reason, "sealing activity", &e),
        };
        let n = validators.len();
        let count = validators.iter().filter(|v| active.contains(*v)).count();
        let self_active = active.contains(&me);
        let q = quorum_safety(n, count, self_active);
        if !self_active {
            return HaltVerdict::Allow {
                detail: format!(
                    "this validator sealed nothing in the last {} blocks: halting it takes no seal away ({count} of {n} active, quorum {})",
                    self.settings.window, q.quorum
                ),
            };
        }
        if q.safe {
            return HaltVerdict::Allow {
                detail: format!(
                    "{} of {n} validators stay active without this one (quorum {})",
                    q.active_after, q.quorum
                ),
            };
        }
        let v = HaltVerdict::Wait {
            active: count,
            quorum: q.quorum,
            validators: n,
            reason: format!(
                "waiting for quorum: a {} now would leave {} of {n} validators active, fewer than the quorum of {}",
                reason.as_str(),
                q.active_after,
                q.quorum
            ),
        };
        if let HaltVerdict::Wait { reason: line, .. } = &v {
            tracing::info!(halt = reason.as_str(), "{line}");
        }
        v
    }

    /// Validators that sealed or authored in the window, or committed the
    /// head block. Fails only when both sources fail.
    async fn active_set(&self, head: u64) -> Result<BTreeSet<Address>, ChainError> {
        let window = self.settings.window.max(1);
        let start = head.saturating_sub(window - 1).max(1);
        let range = (window != 64 && head >= 1).then_some((start, head));
        let status = self.client.sealing_activity(range).await;
        let signers = self.client.commit_signers(head).await;
        let mut active = BTreeSet::new();
        match (status, signers) {
            (Err(e), Err(_)) => return Err(e),
            (status, signers) => {
                if let Ok(s) = status {
                    let counted = s.sealed().iter().chain(s.authored.iter());
                    active.extend(counted.filter(|(_, &n)| n > 0).map(|(a, _)| *a));
                }
                if let Ok(c) = signers {
                    active.extend(c);
                }
            }
        }
        Ok(active)
    }
}

#[async_trait]
impl<C: ConsensusReader> HaltGuard for QuorumGuard<C> {
    async fn may_halt(&self, reason: HaltReason) -> HaltVerdict {
        self.verdict(reason).await
    }
}

/// The guard the configuration asks for: a [`QuorumGuard`] over `client`
/// (built from `node.rpc_url`) when `governance.quorum_guard` is on,
/// [`AlwaysAllow`] when it is off.
pub fn halt_guard_from_settings(
    client: RpcChainClient,
    settings: &GovernanceSettings,
) -> Arc<dyn HaltGuard> {
    if settings.quorum_guard {
        Arc::new(QuorumGuard::new(client, GuardSettings::default()))
    } else {
        Arc::new(AlwaysAllow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn addr(i: usize) -> Address {
        let mut b = [0u8; 20];
        b[19] = u8::try_from(i + 1).unwrap_or(u8::MAX);
        Address::from(b)
    }

    /// `n` validators, this node validator 0 (or none of them), the
    /// validators in `offline` sealing nothing.
    fn chain(n: usize, offline: &[usize], me_validator: bool) -> MockConsensusReader {
        let validators: Vec<Address> = (0..n).map(addr).collect();
        let online: Vec<Address> = (0..n).filter(|i| !offline.contains(i)).map(addr).collect();
        let mut m = MockConsensusReader::new();
        m.expect_head().returning(|| Ok(100));
        let me = if me_validator { addr(0) } else { addr(200) };
        m.expect_node_address().returning(move || Ok(me));
        m.expect_validators()
            .withf(|b| *b == 100)
            .returning(move |_| Ok(validators.clone()));
        let authored: BTreeMap<Address, u64> = (0..n)
            .map(|i| (addr(i), if offline.contains(&i) { 0 } else { 6 }))
            .collect();
        m.expect_sealing_activity()
            .withf(|r| r.is_none())
            .returning(move |_| {
                Ok(IstanbulStatus {
                    num_blocks: 64,
                    authored: authored.clone(),
                    ..IstanbulStatus::default()
                })
            });
        m.expect_commit_signers()
            .withf(|b| *b == 100)
            .returning(move |_| Ok(online.clone()));
        m
    }

    fn guard(m: MockConsensusReader) -> QuorumGuard<MockConsensusReader> {
        QuorumGuard::new(m, GuardSettings::default())
    }

    /// 4, 7 and 10 validators with 0..=f (and f+1) others offline: halting
    /// this active validator is allowed exactly while fewer than f are down.
    #[tokio::test]
    async fn table_4_7_10_validators_with_offline_others() {
        for (n, f, q) in [(4usize, 1usize, 3usize), (7, 2, 5), (10, 3, 7)] {
            for offline in 0..=f + 1 {
                let down: Vec<usize> = (n - offline..n).collect();
                let v = guard(chain(n, &down, true))
                    .may_halt(HaltReason::OperatorRestart)
                    .await;
                let active = n - offline;
                if offline < f {
                    assert!(
                        matches!(&v, HaltVerdict::Allow { detail } if detail.starts_with(&format!("{} of {n}", active - 1))),
                        "n={n} offline={offline}: {v:?}"
                    );
                } else {
                    assert_eq!(
                        v,
                        HaltVerdict::Wait {
                            active,
                            quorum: q,
                            validators: n,
                            reason: format!(
                                "waiting for quorum: a restart now would leave {} of {n} validators active, fewer than the quorum of {q}",
                                active - 1
                            ),
                        },
                        "n={n} offline={offline}"
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn not_a_validator_may_always_halt() {
        for (n, offline) in [(4usize, vec![1usize, 2]), (7, vec![]), (1, vec![])] {
            let v = guard(chain(n, &offline, false))
                .may_halt(HaltReason::HealthRestart)
                .await;
            assert!(
                matches!(&v, HaltVerdict::Allow { detail } if detail.contains("not one of the")),
                "{v:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_validator_that_seals_nothing_takes_no_seal_away() {
        // 4 validators, this one (0) and another offline: 2 of 4 active is
        // already below quorum, and halting this one changes nothing.
        let v = guard(chain(4, &[0, 3], true))
            .may_halt(HaltReason::OperatorStop)
            .await;
        assert!(
            matches!(&v, HaltVerdict::Allow { detail } if detail.contains("sealed nothing") && detail.contains("2 of 4 active, quorum 3")),
            "{v:?}"
        );
    }

    #[tokio::test]
    async fn single_validator_must_wait() {
        let v = guard(chain(1, &[], true))
            .may_halt(HaltReason::UpgradeWithoutHeight)
            .await;
        assert!(
            matches!(v, HaltVerdict::Wait { active: 1, quorum: 1, validators: 1, ref reason } if reason.contains("upgrade without a height")),
            "{v:?}"
        );
    }

    fn unavailable(method: &str) -> ChainError {
        ChainError::MethodUnavailable {
            method: method.into(),
        }
    }

    #[tokio::test]
    async fn unreachable_chain_allows_and_says_it_could_not_tell() {
        let mut m = MockConsensusReader::new();
        m.expect_head().times(1).returning(|| {
            Err(ChainError::Unreachable {
                url: "http://127.0.0.1:1".into(),
                reason: "connection refused".into(),
            })
        });
        let v = guard(m).may_halt(HaltReason::HealthRestart).await;
        assert!(
            matches!(&v, HaltVerdict::Allow { detail } if detail.starts_with("quorum guard could not tell") && detail.contains("connection refused")),
            "{v:?}"
        );
    }

    #[tokio::test]
    async fn missing_istanbul_namespace_allows_and_says_it_could_not_tell() {
        let mut m = MockConsensusReader::new();
        m.expect_head().returning(|| Ok(5));
        m.expect_node_address()
            .returning(|| Err(unavailable("istanbul_nodeAddress")));
        let v = guard(m).may_halt(HaltReason::OperatorRestart).await;
        assert!(
            matches!(&v, HaltVerdict::Allow { detail } if detail.contains("could not tell") && detail.contains("istanbul_nodeAddress")),
            "{v:?}"
        );
    }

    #[tokio::test]
    async fn empty_validator_set_or_no_activity_source_cannot_tell() {
        let mut m = MockConsensusReader::new();
        m.expect_head().returning(|| Ok(5));
        m.expect_node_address().returning(|| Ok(addr(0)));
        m.expect_validators().returning(|_| Ok(Vec::new()));
        let v = guard(m).may_halt(HaltReason::OperatorRestart).await;
        assert!(
            matches!(&v, HaltVerdict::Allow { detail } if detail.contains("could not tell") && detail.contains("empty at block 5")),
            "{v:?}"
        );

        let mut m = MockConsensusReader::new();
        m.expect_head().returning(|| Ok(5));
        m.expect_node_address().returning(|| Ok(addr(0)));
        m.expect_validators()
            .returning(|_| Ok(vec![addr(0), addr(1), addr(2), addr(3)]));
        m.expect_sealing_activity()
            .returning(|_| Err(unavailable("istanbul_status")));
        m.expect_commit_signers()
            .returning(|_| Err(unavailable("istanbul_getCommitSignersFromBlock")));
        let v = guard(m).may_halt(HaltReason::ManualRollback).await;
        assert!(
            matches!(&v, HaltVerdict::Allow { detail } if detail.contains("sealing activity") && detail.contains("istanbul_status")),
            "{v:?}"
        );
    }

    /// One activity source is enough: commit signers alone, or the status
    /// alone, still give a Wait when quorum is at stake.
    #[tokio::test]
    async fn either_activity_source_alone_is_enough() {
        for signers_fail in [true, false] {
            let mut m = MockConsensusReader::new();
            m.expect_head().returning(|| Ok(40));
            m.expect_node_address().returning(|| Ok(addr(0)));
            m.expect_validators()
                .returning(|_| Ok(vec![addr(0), addr(1), addr(2), addr(3)]));
            m.expect_sealing_activity().returning(move |_| {
                if signers_fail {
                    let authored = [(addr(0), 5), (addr(1), 5), (addr(2), 5), (addr(3), 0)];
                    Ok(IstanbulStatus {
                        authored: authored.into_iter().collect(),
                        ..IstanbulStatus::default()
                    })
                } else {
                    Err(unavailable("istanbul_status"))
                }
            });
            m.expect_commit_signers().returning(move |_| {
                if signers_fail {
                    Err(unavailable("istanbul_getCommitSignersFromBlock"))
                } else {
                    Ok(vec![addr(0), addr(1), addr(2)])
                }
            });
            let v = guard(m).may_halt(HaltReason::OperatorRestart).await;
            assert!(
                matches!(
                    v,
                    HaltVerdict::Wait {
                        active: 3,
                        quorum: 3,
                        validators: 4,
                        ..
                    }
                ),
                "signers_fail={signers_fail}: {v:?}"
            );
        }
    }

    /// A window other than 64 asks for an explicit range, clamped at block
    /// 1 and never wrapping at the top.
    #[tokio::test]
    async fn window_range_is_explicit_and_clamped() {
        for (head, window, want) in [
            (100u64, 10u64, Some((91u64, 100u64))),
            (5, 10, Some((1, 5))),
            (u64::MAX, 10, Some((u64::MAX - 9, u64::MAX))),
            (100, 64, None),
        ] {
            let mut m = MockConsensusReader::new();
            m.expect_head().returning(move || Ok(head));
            m.expect_node_address().returning(|| Ok(addr(0)));
            m.expect_validators().returning(|_| Ok(vec![addr(0)]));
            m.expect_sealing_activity()
                .withf(move |r| *r == want)
                .times(1)
                .returning(|_| Ok(IstanbulStatus::default()));
            m.expect_commit_signers().returning(|_| Ok(vec![addr(0)]));
            let g = QuorumGuard::new(m, GuardSettings { window });
            assert!(matches!(
                g.may_halt(HaltReason::OperatorRestart).await,
                HaltVerdict::Wait { .. }
            ));
        }
    }
}
