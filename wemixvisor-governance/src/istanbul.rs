//! The `istanbul` JSON-RPC namespace of go-wemix-wbft, typed.
//!
//! Decoders accept exactly the shapes of the go-wbft source and tolerate
//! extra fields: both forms of `istanbul_status` (the plain
//! `{sealerActivity: {addr: n}, numBlocks}` and the richer one with
//! per-kind seal counts, `author`, `blockRange` and
//! `roundStats.roundDistribution`), the capitalised keys of
//! `istanbul_getCommitSignersFromBlock`, and null seals and epoch info in
//! `istanbul_getWbftExtraInfo`.

use std::collections::BTreeMap;

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use wemixvisor_core::ChainError;

use crate::client::{BlockTag, NO_PARAMS};
use crate::decode::{
    address_counts, address_of, addresses_of, bad, field, hash_of, keys_are_addresses, lenient_u64,
    object, u64_of,
};
use crate::RpcChainClient;

const STATUS: &str = "istanbul_status";
const EXTRA: &str = "istanbul_getWbftExtraInfo";
const SIGNERS: &str = "istanbul_getCommitSignersFromBlock";

/// `istanbul_status`: sealing activity over a block window.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IstanbulStatus {
    /// Blocks in the window.
    pub num_blocks: u64,
    /// The window, when the node says (`blockRange`).
    pub block_range: Option<(u64, u64)>,
    /// Blocks authored (proposed) per validator: the plain `sealerActivity`,
    /// or `author` of the richer form.
    pub authored: BTreeMap<Address, u64>,
    /// Committed seals per validator (richer form only).
    pub committed: Option<BTreeMap<Address, u64>>,
    /// Prepared seals per validator (richer form only).
    pub prepared: Option<BTreeMap<Address, u64>>,
    /// Blocks per consensus round (richer form only): round → blocks.
    pub round_distribution: Option<BTreeMap<u64, u64>>,
}

impl IstanbulStatus {
    /// Decodes either shape of the answer.
    pub fn from_json(v: &Value) -> Result<Self, ChainError> {
        let o = object(STATUS, v)?;
        let mut s = IstanbulStatus::default();
        if let Some(activity) = field(o, &["sealerActivity"]) {
            let a = activity.as_object().ok_or_else(|| {
                bad(
                    STATUS,
                    format!("sealerActivity: expected an object, got {activity}"),
                )
            })?;
            decode_activity(a, &mut s)?;
        }
        if let Some(author) = field(o, &["author"]) {
            s.authored = address_counts(STATUS, "author", author)?;
        }
        if let Some(range) = field(o, &["blockRange"]).and_then(Value::as_object) {
            let start = field(range, &["startBlock", "start"]).and_then(lenient_u64);
            let end = field(range, &["endBlock", "end"]).and_then(lenient_u64);
            if let (Some(a), Some(b)) = (start, end) {
                s.block_range = Some((a, b));
            }
            if let Some(total) = field(range, &["totalBlocks"]).and_then(lenient_u64) {
                s.num_blocks = total;
            }
        }
        if let Some(n) = field(o, &["numBlocks"]) {
            s.num_blocks = u64_of(STATUS, "numBlocks", n)?;
        } else if s.num_blocks == 0 {
            if let Some((a, b)) = s.block_range {
                s.num_blocks = b.saturating_sub(a) + 1;
            }
        }
        if let Some(dist) = field(o, &["roundStats"])
            .and_then(Value::as_object)
            .and_then(|r| field(r, &["roundDistribution"]))
        {
            let d = dist.as_object().ok_or_else(|| {
                bad(
                    STATUS,
                    format!("roundDistribution: expected an object, got {dist}"),
                )
            })?;
            let mut out = BTreeMap::new();
            for (round, n) in d {
                let r = lenient_u64(&Value::String(round.clone())).ok_or_else(|| {
                    bad(
                        STATUS,
                        format!("roundDistribution: key '{round}' is not a round"),
                    )
                })?;
                out.insert(r, u64_of(STATUS, "roundDistribution", n)?);
            }
            s.round_distribution = Some(out);
        }
        Ok(s)
    }

    /// Seals per validator: committed seals when the node reports them,
    /// otherwise blocks authored.
    pub fn sealed(&self) -> &BTreeMap<Address, u64> {
        self.committed.as_ref().unwrap_or(&self.authored)
    }
}

/// `sealerActivity` is `{addr: n}` (plain), `{kind: {addr: n}}` (richer, by
/// kind) or `{addr: {prepared, committed, ...}}` (richer, by address).
fn decode_activity(a: &Map<String, Value>, s: &mut IstanbulStatus) -> Result<(), ChainError> {
    if a.is_empty() {
        return Ok(());
    }
    if keys_are_addresses(a) {
        if a.values().all(|v| lenient_u64(v).is_some()) {
            s.authored = address_counts(STATUS, "sealerActivity", &Value::Object(a.clone()))?;
            return Ok(());
        }
        // By address: {addr: {prepared, committed, author?}}.
        let mut prepared = BTreeMap::new();
        let mut committed = BTreeMap::new();
        for (k, v) in a {
            let addr = address_of(STATUS, "sealerActivity", &Value::String(k.clone()))?;
            let o = v.as_object().ok_or_else(|| {
                bad(
                    STATUS,
                    format!("sealerActivity.{k}: expected a number or an object, got {v}"),
                )
            })?;
            let count = |names: &[&str]| field(o, names).and_then(lenient_u64);
            if let Some(n) = count(&["prepared"]) {
                prepared.insert(addr, n);
            }
            if let Some(n) = count(&["committed"]).or_else(|| count(&["total"])) {
                committed.insert(addr, n);
            }
            if let Some(n) = count(&["author", "authored", "proposed"]) {
                s.authored.insert(addr, n);
            }
        }
        s.prepared = (!prepared.is_empty()).then_some(prepared);
        s.committed = (!committed.is_empty()).then_some(committed);
        return Ok(());
    }
    // By kind: {total: {...}, prepared: {...}, committed: {...}, ...}.
    let kind = |name: &str| -> Result<Option<BTreeMap<Address, u64>>, ChainError> {
        field(a, &[name])
            .map(|v| address_counts(STATUS, &format!("sealerActivity.{name}"), v))
            .transpose()
    };
    s.prepared = kind("prepared")?;
    s.committed = match kind("committed")? {
        Some(c) => Some(c),
        None => kind("total")?,
    };
    if s.prepared.is_none() && s.committed.is_none() {
        let keys: Vec<&String> = a.keys().collect();
        return Err(bad(
            STATUS,
            format!("sealerActivity: keys {keys:?} are neither addresses nor seal kinds"),
        ));
    }
    Ok(())
}

/// A BLS aggregate seal and the validators in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    /// Validators whose bit is set.
    pub sealers: Vec<Address>,
    /// Aggregate signature (hex).
    pub signature: String,
}

/// A staker of `epochInfo` (`candidates` in some revisions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staker {
    /// Address.
    pub addr: Address,
    /// Diligence score.
    pub diligence: u64,
}

/// A validator of `epochInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochValidator {
    /// Index in the set.
    pub index: u64,
    /// Address.
    pub addr: Address,
    /// BLS public key (hex).
    pub bls: String,
}

/// `epochInfo` of an epoch block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochInfo {
    /// Stakers (candidates) with their diligence.
    pub stakers: Vec<Staker>,
    /// The validator set of the next epoch.
    pub validators: Vec<EpochValidator>,
}

/// `istanbul_getWbftExtraInfo(block)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WbftExtraInfo {
    /// `vanityData` (hex).
    pub vanity_data: String,
    /// `randaoReveal` (hex), when present.
    pub randao_reveal: Option<String>,
    /// Round the block was sealed in.
    pub round: u64,
    /// Round of the previous block.
    pub prev_round: u64,
    /// Prepare seal of this block.
    pub prepared_seal: Option<Seal>,
    /// Commit seal of this block.
    pub committed_seal: Option<Seal>,
    /// Prepare seal of the previous block.
    pub prev_prepared_seal: Option<Seal>,
    /// Commit seal of the previous block.
    pub prev_committed_seal: Option<Seal>,
    /// Epoch info on epoch blocks.
    pub epoch_info: Option<EpochInfo>,
    /// `gasTip` (decimal string), when present.
    pub gas_tip: Option<String>,
}

impl WbftExtraInfo {
    /// Decodes the answer; seals and epoch info may be null.
    pub fn from_json(v: &Value) -> Result<Self, ChainError> {
        let o = object(EXTRA, v)?;
        let seal = |name: &str| -> Result<Option<Seal>, ChainError> {
            let Some(s) = field(o, &[name]) else {
                return Ok(None);
            };
            let so = s.as_object().ok_or_else(|| {
                bad(
                    EXTRA,
                    format!("{name}: expected an object or null, got {s}"),
                )
            })?;
            Ok(Some(Seal {
                sealers: addresses_of(
                    EXTRA,
                    &format!("{name}.sealers"),
                    field(so, &["sealers"]).unwrap_or(&Value::Null),
                )?,
                signature: field(so, &["signature"])
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            }))
        };
        let text = |name: &str| {
            field(o, &[name])
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let count = |name: &str| -> Result<u64, ChainError> {
            field(o, &[name])
                .map(|x| u64_of(EXTRA, name, x))
                .unwrap_or(Ok(0))
        };
        Ok(WbftExtraInfo {
            vanity_data: text("vanityData").unwrap_or_default(),
            randao_reveal: text("randaoReveal"),
            round: count("round")?,
            prev_round: count("prevRound")?,
            prepared_seal: seal("preparedSeal")?,
            committed_seal: seal("committedSeal")?,
            prev_prepared_seal: seal("prevPreparedSeal")?,
            prev_committed_seal: seal("prevCommittedSeal")?,
            epoch_info: field(o, &["epochInfo"]).map(epoch_info).transpose()?,
            gas_tip: field(o, &["gasTip"]).map(|g| match g {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
        })
    }
}

fn epoch_info(v: &Value) -> Result<EpochInfo, ChainError> {
    let o = object(EXTRA, v)?;
    let list = |names: &[&str]| -> Vec<Value> {
        field(o, names)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let stakers = list(&["stakers", "candidates"])
        .iter()
        .map(|s| {
            let so = object(EXTRA, s)?;
            Ok(Staker {
                addr: address_of(
                    EXTRA,
                    "epochInfo.stakers.addr",
                    field(so, &["addr"]).unwrap_or(&Value::Null),
                )?,
                diligence: field(so, &["diligence"]).and_then(lenient_u64).unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, ChainError>>()?;
    let validators = list(&["validators"])
        .iter()
        .map(|s| {
            let so = object(EXTRA, s)?;
            Ok(EpochValidator {
                index: field(so, &["index"]).and_then(lenient_u64).unwrap_or(0),
                addr: address_of(
                    EXTRA,
                    "epochInfo.validators.addr",
                    field(so, &["addr"]).unwrap_or(&Value::Null),
                )?,
                bls: field(so, &["bls"])
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })
        })
        .collect::<Result<Vec<_>, ChainError>>()?;
    Ok(EpochInfo {
        stakers,
        validators,
    })
}

/// `istanbul_getCommitSignersFromBlock(block)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSigners {
    /// Height.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Author (coinbase).
    pub author: Address,
    /// Validators whose commit seal is in the block, in index order.
    pub committers: Vec<Address>,
}

impl CommitSigners {
    /// Decodes the answer (Go field names as keys: `Number`, `Hash`, ...).
    pub fn from_json(v: &Value) -> Result<Self, ChainError> {
        let o = object(SIGNERS, v)?;
        let get = |k: &str| field(o, &[k]).ok_or_else(|| bad(SIGNERS, format!("missing \"{k}\"")));
        Ok(CommitSigners {
            number: u64_of(SIGNERS, "Number", get("Number")?)?,
            hash: hash_of(SIGNERS, "Hash", get("Hash")?)?,
            author: address_of(SIGNERS, "Author", get("Author")?)?,
            committers: addresses_of(
                SIGNERS,
                "Committers",
                field(o, &["Committers"]).unwrap_or(&Value::Null),
            )?,
        })
    }
}

impl RpcChainClient {
    /// `istanbul_nodeAddress`: the address this node signs with.
    pub async fn istanbul_node_address(&self) -> Result<Address, ChainError> {
        let v: Value = self.call("istanbul_nodeAddress", NO_PARAMS).await?;
        address_of("istanbul_nodeAddress", "result", &v)
    }

    /// `istanbul_getValidators(block)`.
    pub async fn istanbul_validators(&self, block: BlockTag) -> Result<Vec<Address>, ChainError> {
        let v: Value = self
            .call("istanbul_getValidators", json!([block.to_param()]))
            .await?;
        addresses_of("istanbul_getValidators", "result", &v)
    }

    /// `istanbul_isValidator(block)`.
    pub async fn istanbul_is_validator(&self, block: BlockTag) -> Result<bool, ChainError> {
        let v: Value = self
            .call("istanbul_isValidator", json!([block.to_param()]))
            .await?;
        v.as_bool()
            .ok_or_else(|| bad("istanbul_isValidator", format!("expected a bool, got {v}")))
    }

    /// `istanbul_status(start, end)`; `None` for the node's default window
    /// (the last 64 blocks).
    pub async fn istanbul_status(
        &self,
        range: Option<(u64, u64)>,
    ) -> Result<IstanbulStatus, ChainError> {
        let params = match range {
            None => json!([]),
            Some((a, b)) => json!([
                BlockTag::Number(a).to_param(),
                BlockTag::Number(b).to_param()
            ]),
        };
        let v: Value = self.call("istanbul_status", params).await?;
        IstanbulStatus::from_json(&v)
    }

    /// `istanbul_getWbftExtraInfo(block)`; errors on blocks before the WBFT fork.
    pub async fn istanbul_extra_info(&self, block: u64) -> Result<WbftExtraInfo, ChainError> {
        let v: Value = self
            .call(
                "istanbul_getWbftExtraInfo",
                json!([BlockTag::Number(block).to_param()]),
            )
            .await?;
        WbftExtraInfo::from_json(&v)
    }

    /// `istanbul_getCommitSignersFromBlock(block)`.
    pub async fn istanbul_commit_signers(
        &self,
        block: BlockTag,
    ) -> Result<CommitSigners, ChainError> {
        let v: Value = self
            .call(
                "istanbul_getCommitSignersFromBlock",
                json!([block.to_param()]),
            )
            .await?;
        CommitSigners::from_json(&v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::RpcMock;
    use std::str::FromStr;
    use std::time::Duration;

    const A: &str = "0x1111111111111111111111111111111111111111";
    const B: &str = "0x2222222222222222222222222222222222222222";

    fn addr(s: &str) -> Address {
        Address::from_str(s).unwrap()
    }

    #[test]
    fn status_plain_shape() {
        let v = json!({"sealerActivity": {A: 40, B: 24}, "numBlocks": 64});
        let s = IstanbulStatus::from_json(&v).unwrap();
        assert_eq!(s.num_blocks, 64);
        assert_eq!(s.authored[&addr(A)], 40);
        assert_eq!(s.sealed()[&addr(B)], 24);
        assert!(s.committed.is_none() && s.round_distribution.is_none());
    }

    #[test]
    fn status_rich_shape_by_kind_with_extra_fields() {
        let v = json!({
            "sealerActivity": {
                "total": {A: 250, B: 4},
                "prepared": {A: 64, B: 1},
                "committed": {A: 63, B: 1},
                "prevPrepared": {A: 62, B: 1},
                "prevCommitted": {A: 61, B: 1}
            },
            "author": {A: 60, B: 4},
            "blockRange": {"startBlock": 37, "endBlock": 100, "totalBlocks": 64},
            "roundStats": {"roundDistribution": {"0": 62, "1": 2}},
            "somethingNew": [1, 2, 3]
        });
        let s = IstanbulStatus::from_json(&v).unwrap();
        assert_eq!(s.num_blocks, 64);
        assert_eq!(s.block_range, Some((37, 100)));
        assert_eq!(s.authored[&addr(A)], 60);
        assert_eq!(s.sealed()[&addr(A)], 63);
        assert_eq!(s.prepared.as_ref().unwrap()[&addr(B)], 1);
        assert_eq!(s.round_distribution.as_ref().unwrap()[&1], 2);
    }

    #[test]
    fn status_rich_shape_by_address() {
        let v = json!({
            "sealerActivity": {A: {"prepared": "0x3", "committed": 2, "author": 1}, B: {"prepared": 0, "committed": 0}},
            "numBlocks": "0x3"
        });
        let s = IstanbulStatus::from_json(&v).unwrap();
        assert_eq!(s.num_blocks, 3);
        assert_eq!(s.prepared.as_ref().unwrap()[&addr(A)], 3);
        assert_eq!(s.sealed()[&addr(A)], 2);
        assert_eq!(s.sealed()[&addr(B)], 0);
        assert_eq!(s.authored[&addr(A)], 1);
    }

    #[test]
    fn status_rejects_garbage() {
        assert!(IstanbulStatus::from_json(&json!([1])).is_err());
        assert!(IstanbulStatus::from_json(&json!({"sealerActivity": {"x": {"y": 1}}})).is_err());
        assert!(IstanbulStatus::from_json(&json!({"sealerActivity": {A: "many"}})).is_err());
        // An empty window is fine.
        let s = IstanbulStatus::from_json(&json!({"sealerActivity": {}, "numBlocks": 0})).unwrap();
        assert!(s.authored.is_empty());
    }

    #[test]
    fn extra_info_with_null_seals_and_epoch() {
        let v = json!({
            "vanityData": "0x00", "randaoReveal": "0x01", "prevRound": "0x0", "round": "0x2",
            "preparedSeal": {"sealers": [A, B], "signature": "0xaa"},
            "committedSeal": {"sealers": ["0x2222222222222222222222222222222222222222"], "signature": "0xbb"},
            "prevPreparedSeal": null, "prevCommittedSeal": null,
            "gasTip": "27600000000000",
            "epochInfo": {
                "stakers": [{"addr": A, "diligence": 2000000}],
                "validators": [{"index": 0, "addr": A, "bls": "0xcc"}, {"index": "0x1", "addr": B, "bls": "0xdd"}]
            }
        });
        let e = WbftExtraInfo::from_json(&v).unwrap();
        assert_eq!(e.round, 2);
        assert_eq!(e.committed_seal.unwrap().sealers, vec![addr(B)]);
        assert!(e.prev_committed_seal.is_none());
        let epoch = e.epoch_info.unwrap();
        assert_eq!(epoch.stakers[0].diligence, 2_000_000);
        assert_eq!(epoch.validators[1].index, 1);
        assert_eq!(e.gas_tip.as_deref(), Some("27600000000000"));

        // Genesis: everything null; newer revision: candidates with hex diligence.
        let g = WbftExtraInfo::from_json(&json!({
            "vanityData": "0x", "randaoReveal": "0x", "prevRound": "0x0", "round": "0x0",
            "preparedSeal": null, "committedSeal": null, "prevPreparedSeal": null,
            "prevCommittedSeal": null, "epochInfo": {"candidates": [{"addr": A, "diligence": "0x10"}], "validators": []}
        }))
        .unwrap();
        assert!(g.committed_seal.is_none());
        assert_eq!(g.epoch_info.unwrap().stakers[0].diligence, 16);
    }

    #[test]
    fn commit_signers_capitalised_keys() {
        let v = json!({"Number": 1234, "Hash": format!("0x{}", "ab".repeat(32)), "Author": A, "Committers": [A, B]});
        let c = CommitSigners::from_json(&v).unwrap();
        assert_eq!(c.number, 1234);
        assert_eq!(c.committers, vec![addr(A), addr(B)]);
        // lower-case keys and a hex number are tolerated too
        let v = json!({"number": "0x10", "hash": format!("0x{}", "ab".repeat(32)), "author": A, "committers": null});
        let c = CommitSigners::from_json(&v).unwrap();
        assert_eq!((c.number, c.committers.len()), (16, 0));
        assert!(CommitSigners::from_json(&json!({"Number": 1})).is_err());
    }

    #[tokio::test]
    async fn typed_calls_send_hex_block_params() {
        let mock = RpcMock::start(|m, _| match m {
            "istanbul_nodeAddress" => Ok(json!(A)),
            "istanbul_getValidators" => Ok(json!([A, B])),
            "istanbul_isValidator" => Ok(json!(true)),
            "istanbul_status" => Ok(json!({"sealerActivity": {A: 1}, "numBlocks": 1})),
            "istanbul_getWbftExtraInfo" => Ok(json!({"round": "0x1"})),
            "istanbul_getCommitSignersFromBlock" => Ok(
                json!({"Number": 5, "Hash": format!("0x{}", "00".repeat(32)), "Author": A, "Committers": [A]}),
            ),
            _ => Err((-32601, "nope".into())),
        });
        let c = RpcChainClient::new(&mock.url(), Duration::from_secs(5)).unwrap();
        assert_eq!(c.istanbul_node_address().await.unwrap(), addr(A));
        assert_eq!(
            c.istanbul_validators(BlockTag::Number(10))
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(c.istanbul_is_validator(BlockTag::Latest).await.unwrap());
        assert_eq!(
            c.istanbul_status(Some((1, 16))).await.unwrap().num_blocks,
            1
        );
        assert_eq!(c.istanbul_extra_info(7).await.unwrap().round, 1);
        assert_eq!(
            c.istanbul_commit_signers(BlockTag::Number(5))
                .await
                .unwrap()
                .number,
            5
        );
        let calls = mock.calls();
        let params = |m: &str| calls.iter().find(|c| c.0 == m).unwrap().1.clone();
        assert_eq!(params("istanbul_getValidators"), json!(["0xa"]));
        assert_eq!(params("istanbul_isValidator"), json!(["latest"]));
        assert_eq!(params("istanbul_status"), json!(["0x1", "0x10"]));
        assert_eq!(params("istanbul_getWbftExtraInfo"), json!(["0x7"]));
    }
}
