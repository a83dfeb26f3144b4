//! Upgrade plans from the upgrade-proposal contract this project defines
//! (reference implementation: `tests/contracts/UpgradeProposals.sol`, ABI
//! in `docs/governance.md`).
//!
//! Voters propose an upgrade (name, activation height, info JSON with
//! binaries and checksums) and vote yes/no/abstain until a voting end
//! height; a proposal is Approved once yes votes are a majority of all
//! voters. The source reads `proposalCount()` and `getProposal(id)`, keeps
//! settled proposals in memory (they never change again), and turns every
//! Approved one into an [`UpgradePlan`] with `source: "contract"`. An
//! Approved proposal whose height is already past is reported, not applied.

use std::collections::BTreeMap;
use std::sync::Mutex;

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{sol, SolCall};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wemixvisor_core::{ChainError, UpgradeInfo, UpgradePlan};

use crate::client::BlockTag;
use crate::feed::{ProposalSource, SkippedPlan, SourcePoll};
use crate::{GovernanceError, RpcChainClient};

sol! {
    /// The upgrade-proposal contract (see docs/governance.md).
    #[allow(missing_docs)]
    interface IUpgradeProposals {
        struct Proposal {
            string name;
            uint64 height;
            string info;
            uint8 status;
            uint64 yes;
            uint64 no;
            uint64 abstain;
            uint64 votingEndHeight;
            address proposer;
        }

        event UpgradeProposed(uint256 indexed id, string name, uint64 height, uint64 votingEndHeight, address proposer);
        event UpgradeVoted(uint256 indexed id, address indexed voter, uint8 choice);
        event UpgradeApproved(uint256 indexed id, string name, uint64 height);
        event UpgradeRejected(uint256 indexed id);
        event UpgradeCanceled(uint256 indexed id);

        function proposalCount() external view returns (uint256);
        function getProposal(uint256 id) external view returns (Proposal memory);
        function voterCount() external view returns (uint256);
    }
}

/// Status of an upgrade proposal (the contract's `Status` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpgradeProposalStatus {
    /// Open for votes.
    Voting,
    /// Yes votes are a majority of the voters.
    Approved,
    /// A majority can no longer be reached, or voting ended without one.
    Rejected,
    /// Withdrawn.
    Canceled,
    /// A value this version does not know.
    Unknown(u8),
}

impl UpgradeProposalStatus {
    /// From the contract's number.
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => UpgradeProposalStatus::Voting,
            2 => UpgradeProposalStatus::Approved,
            3 => UpgradeProposalStatus::Rejected,
            4 => UpgradeProposalStatus::Canceled,
            other => UpgradeProposalStatus::Unknown(other),
        }
    }

    /// True once the proposal can no longer change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            UpgradeProposalStatus::Approved
                | UpgradeProposalStatus::Rejected
                | UpgradeProposalStatus::Canceled
        )
    }
}

/// One upgrade proposal as the contract holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeProposal {
    /// Proposal id (index).
    pub id: u64,
    /// Upgrade name.
    pub name: String,
    /// Activation height.
    pub height: u64,
    /// Info JSON (binaries and checksums), a URL, or empty.
    pub info: String,
    /// Status.
    pub status: UpgradeProposalStatus,
    /// Yes votes.
    pub yes: u64,
    /// No votes.
    pub no: u64,
    /// Abstentions.
    pub abstain: u64,
    /// Last block of the voting window.
    pub voting_end_height: u64,
    /// Who proposed.
    pub proposer: Address,
}

impl UpgradeProposal {
    /// The upgrade plan it describes (`source: "contract"`).
    pub fn to_plan(&self) -> Result<UpgradePlan, String> {
        let info = UpgradeInfo::from_value(&json!({
            "name": self.name,
            "height": self.height,
            "info": self.info,
        }))?;
        info.binaries()?;
        Ok(UpgradePlan::from_info(info, "contract"))
    }
}

/// The upgrade-proposal contract at an address.
#[derive(Debug)]
pub struct ContractSource {
    client: RpcChainClient,
    address: Address,
    settled: Mutex<BTreeMap<u64, UpgradeProposal>>,
}

impl ContractSource {
    /// A source reading the contract at `address` through `client`.
    pub fn new(client: RpcChainClient, address: Address) -> Self {
        ContractSource {
            client,
            address,
            settled: Mutex::new(BTreeMap::new()),
        }
    }

    /// The contract address.
    pub fn address(&self) -> Address {
        self.address
    }

    async fn view(
        &self,
        data: Vec<u8>,
        at: u64,
        function: &'static str,
    ) -> Result<Bytes, GovernanceError> {
        let out = self
            .client
            .eth_call(self.address, Bytes::from(data), BlockTag::Number(at))
            .await
            .map_err(|e| match e {
                ChainError::Rpc { message, .. } => GovernanceError::Abi {
                    contract: "UpgradeProposals",
                    function,
                    reason: format!("the call failed: {message}"),
                },
                other => other.into(),
            })?;
        if out.is_empty() {
            return Err(GovernanceError::Abi {
                contract: "UpgradeProposals",
                function,
                reason: "empty return data".into(),
            });
        }
        Ok(out)
    }

    /// Every proposal, read at block `at`.
    pub async fn proposals(&self, at: u64) -> Result<Vec<UpgradeProposal>, GovernanceError> {
        let code = self
            .client
            .get_code(self.address, BlockTag::Number(at))
            .await?;
        if code.is_empty() {
            return Err(GovernanceError::NoContract {
                what: "upgrade-proposal contract",
                key: "upgrade_proposal_contract",
                address: self.address.to_string(),
                chain_id: self.client.chain_id().await.unwrap_or(0),
            });
        }
        let abi = |function: &'static str, e: alloy_sol_types::Error| GovernanceError::Abi {
            contract: "UpgradeProposals",
            function,
            reason: e.to_string(),
        };
        let raw = self
            .view(
                IUpgradeProposals::proposalCountCall {}.abi_encode(),
                at,
                "proposalCount",
            )
            .await?;
        let count = IUpgradeProposals::proposalCountCall::abi_decode_returns(&raw)
            .map_err(|e| abi("proposalCount", e))?;
        let count = u64::try_from(count).map_err(|_| GovernanceError::Abi {
            contract: "UpgradeProposals",
            function: "proposalCount",
            reason: format!("{count} proposals is not a plausible count"),
        })?;
        let mut settled = self.settled.lock().map(|s| s.clone()).unwrap_or_default();
        let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for id in 0..count {
            if let Some(p) = settled.get(&id) {
                out.push(p.clone());
                continue;
            }
            let raw = self
                .view(
                    IUpgradeProposals::getProposalCall { id: U256::from(id) }.abi_encode(),
                    at,
                    "getProposal",
                )
                .await?;
            let p = IUpgradeProposals::getProposalCall::abi_decode_returns(&raw)
                .map_err(|e| abi("getProposal", e))?;
            let p = UpgradeProposal {
                id,
                name: p.name,
                height: p.height,
                info: p.info,
                status: UpgradeProposalStatus::from_code(p.status),
                yes: p.yes,
                no: p.no,
                abstain: p.abstain,
                voting_end_height: p.votingEndHeight,
                proposer: p.proposer,
            };
            if p.status.is_final() {
                settled.insert(id, p.clone());
            }
            out.push(p);
        }
        if let Ok(mut s) = self.settled.lock() {
            *s = settled;
        }
        Ok(out)
    }
}

#[async_trait]
impl ProposalSource for ContractSource {
    fn source(&self) -> &'static str {
        "contract"
    }

    async fn fetch_plans(&self, head: u64) -> Result<SourcePoll, GovernanceError> {
        let mut poll = SourcePoll::default();
        for p in self.proposals(head).await? {
            match p.status {
                UpgradeProposalStatus::Approved => {}
                UpgradeProposalStatus::Voting => {
                    poll.notes.push(format!(
                        "upgrade proposal {} '{}' (height {}) is open until block {}: {} yes, {} no, {} abstain",
                        p.id, p.name, p.height, p.voting_end_height, p.yes, p.no, p.abstain
                    ));
                    continue;
                }
                _ => continue,
            }
            match p.to_plan() {
                Ok(plan) if plan.height <= head => poll.skipped.push(SkippedPlan::past(plan, head)),
                Ok(plan) => poll.plans.push(plan),
                Err(reason) => poll.notes.push(format!(
                    "approved upgrade proposal {} '{}' is not usable: {reason}",
                    p.id, p.name
                )),
            }
        }
        Ok(poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::RpcMock;
    use alloy_primitives::address;
    use serde_json::Value;
    use std::time::Duration;

    fn proposal(name: &str, height: u64, info: &str, status: u8) -> IUpgradeProposals::Proposal {
        IUpgradeProposals::Proposal {
            name: name.into(),
            height,
            info: info.into(),
            status,
            yes: 3,
            no: 0,
            abstain: 1,
            votingEndHeight: 40,
            proposer: address!("0x1111111111111111111111111111111111111111"),
        }
    }

    #[tokio::test]
    async fn approved_proposals_become_plans_past_ones_are_reported() {
        let info = r#"{"binaries":{"any":"https://example.com/geth?checksum=sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}}"#;
        let list = [
            proposal("v2.0.0", 100, info, 2),
            proposal("v1.9.0", 30, "", 2),
            proposal("v3.0.0", 200, info, 1),
            proposal("v2.1.0", 150, "not json and not a url", 2),
            proposal("v0.1.0", 150, "", 3),
        ];
        let node = RpcMock::start(move |m, p| match m {
            "eth_getCode" => Ok(json!("0x60")),
            "eth_call" => {
                let data: Bytes = p[0]["data"].as_str().unwrap().parse().unwrap();
                if data[..4] == IUpgradeProposals::proposalCountCall::SELECTOR {
                    let out = IUpgradeProposals::proposalCountCall::abi_encode_returns(
                        &U256::from(list.len()),
                    );
                    return Ok(json!(Bytes::from(out)));
                }
                let call = IUpgradeProposals::getProposalCall::abi_decode(&data).unwrap();
                let i = usize::try_from(call.id).unwrap();
                Ok(json!(Bytes::from(
                    IUpgradeProposals::getProposalCall::abi_encode_returns(&list[i])
                )))
            }
            _ => Err((-32601, "nope".into())),
        });
        let src = ContractSource::new(
            RpcChainClient::new(&node.url(), Duration::from_secs(5)).unwrap(),
            Address::repeat_byte(0x42),
        );
        let poll = src.fetch_plans(50).await.unwrap();
        assert_eq!(poll.plans.len(), 1);
        let plan = &poll.plans[0];
        assert_eq!(
            (plan.name.as_str(), plan.height, plan.source.as_str()),
            ("v2.0.0", 100, "contract")
        );
        assert!(matches!(
            plan.info,
            wemixvisor_core::InfoSource::Inline(Value::Object(_))
        ));
        assert_eq!(poll.skipped.len(), 1);
        assert_eq!(poll.skipped[0].plan.name, "v1.9.0");
        assert!(poll
            .notes
            .iter()
            .any(|n| n.contains("'v3.0.0'") && n.contains("open until block 40")));
        assert!(poll
            .notes
            .iter()
            .any(|n| n.contains("'v2.1.0' is not usable")));
        // Settled proposals are read once.
        let calls = node.count("eth_call");
        src.fetch_plans(50).await.unwrap();
        assert_eq!(
            node.count("eth_call") - calls,
            2,
            "count + the one open proposal"
        );
    }

    #[tokio::test]
    async fn no_contract_is_a_clear_error() {
        let node = RpcMock::start(|m, _| match m {
            "eth_getCode" => Ok(json!("0x")),
            "eth_chainId" => Ok(json!("0x458")),
            _ => Err((-32601, "nope".into())),
        });
        let src = ContractSource::new(
            RpcChainClient::new(&node.url(), Duration::from_secs(5)).unwrap(),
            Address::repeat_byte(0x42),
        );
        let e = src.fetch_plans(1).await.unwrap_err();
        assert!(
            e.to_string().contains("no contract at") && e.to_string().contains("chain 1112"),
            "{e}"
        );
    }
}
