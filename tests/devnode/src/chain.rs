//! The simulated chain: the head height, the validator set, the proposer
//! schedule, and the deterministic data behind every block-related RPC answer.
//!
//! Nothing is random: hashes, addresses and BLS keys are derived from labels
//! with a small mixing function, so two runs (or two devnode versions) on the
//! same datadir and flags report the same chain.
//!
//! Rules of the simulated WBFT chain:
//! - validator `i` has a fixed address (`i = 0` is this node unless
//!   `--sim.not-validator`), the set never changes;
//! - the proposer of block `h` sealed in round `r` is validator
//!   `(h + r) mod n`, skipping offline validators (the next online one
//!   proposes instead);
//! - round is 1 at the `--sim.round-change` heights, 0 elsewhere;
//! - every online validator prepares and commits every block;
//! - blocks that are multiples of the epoch length carry `epochInfo`;
//! - genesis (block 0) carries no seals; blocks before the WBFT fork have no
//!   WBFT data at all.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// A 20-byte account address.
pub type Address = [u8; 20];

/// One validator.
#[derive(Debug, Clone)]
pub struct Validator {
    /// Its address.
    pub addr: Address,
    /// Its BLS public key.
    pub bls: [u8; 48],
}

/// Why a block query failed (JSON-RPC error -32000).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// Above the head.
    UnknownBlock(u64),
    /// Before the WBFT fork.
    BeforeWbft {
        /// Asked-for block.
        block: u64,
        /// First WBFT block.
        fork: u64,
    },
    /// A bad `istanbul_status` range.
    BadRange(&'static str),
}

impl std::fmt::Display for ChainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownBlock(_) => f.write_str("unknown block"),
            Self::BeforeWbft { block, fork } => write!(
                f,
                "block {block} is before the WBFT fork (croissant block {fork}): no wbft extra data"
            ),
            Self::BadRange(m) => f.write_str(m),
        }
    }
}

/// Fixed facts about the simulated chain.
#[derive(Debug, Clone)]
pub struct ChainSpec {
    /// Chain id (= network id).
    pub chain_id: u64,
    /// This node's address.
    pub self_address: Address,
    /// The validator set, index order.
    pub validators: Vec<Validator>,
    /// Validators that author and seal nothing.
    pub offline: BTreeSet<usize>,
    /// Heights sealed in round 1.
    pub round_changes: BTreeSet<u64>,
    /// First WBFT block.
    pub wbft_fork: u64,
    /// Blocks per epoch.
    pub epoch_length: u64,
    /// Block period.
    pub period: Duration,
}

impl ChainSpec {
    /// Builds the validator set: index 0 is `self_address` when `self_is_validator`.
    pub fn validator_set(
        self_address: Address,
        count: usize,
        self_is_validator: bool,
    ) -> Vec<Validator> {
        (0..count)
            .map(|i| {
                let addr = if i == 0 && self_is_validator {
                    self_address
                } else {
                    address_from(&format!("devnode/validator/{i}"))
                };
                let mut bls = [0u8; 48];
                bls.copy_from_slice(&derive(&format!("devnode/bls/{}", hex(&addr)), 48));
                Validator { addr, bls }
            })
            .collect()
    }
}

/// The live chain: a spec plus a moving head.
#[derive(Debug)]
pub struct Chain {
    spec: ChainSpec,
    head: AtomicU64,
    head_time_ms: AtomicU64,
    start_head: u64,
}

impl Chain {
    /// A chain whose head is `head` (as loaded from disk).
    pub fn new(spec: ChainSpec, head: u64) -> Self {
        Self {
            spec,
            head: AtomicU64::new(head),
            head_time_ms: AtomicU64::new(now_ms()),
            start_head: head,
        }
    }

    /// The fixed facts.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// Current head height.
    pub fn head(&self) -> u64 {
        self.head.load(Ordering::SeqCst)
    }

    /// Head height when this run started.
    pub fn start_head(&self) -> u64 {
        self.start_head
    }

    /// Produces one block and returns the new head.
    pub fn advance(&self) -> u64 {
        self.head_time_ms.store(now_ms(), Ordering::SeqCst);
        self.head.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn check_known(&self, block: u64) -> Result<(), ChainError> {
        if block > self.head() {
            Err(ChainError::UnknownBlock(block))
        } else {
            Ok(())
        }
    }

    fn check_wbft(&self, block: u64) -> Result<(), ChainError> {
        self.check_known(block)?;
        if block < self.spec.wbft_fork {
            Err(ChainError::BeforeWbft {
                block,
                fork: self.spec.wbft_fork,
            })
        } else {
            Ok(())
        }
    }

    /// Consensus round block `h` was sealed in.
    pub fn round(&self, h: u64) -> u64 {
        u64::from(self.spec.round_changes.contains(&h))
    }

    /// Index of the validator that proposed block `h`, `None` if all are offline.
    pub fn proposer(&self, h: u64) -> Option<usize> {
        let n = self.spec.validators.len();
        let base = h.wrapping_add(self.round(h)) % n as u64;
        (0..n)
            .map(|k| (base as usize + k) % n)
            .find(|i| !self.spec.offline.contains(i))
    }

    fn author_addr(&self, h: u64) -> Address {
        self.proposer(h)
            .map_or([0u8; 20], |i| self.spec.validators[i].addr)
    }

    fn online(&self) -> Vec<String> {
        self.spec
            .validators
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.spec.offline.contains(i))
            .map(|(_, v)| hex(&v.addr))
            .collect()
    }

    /// Hash of block `h`.
    pub fn block_hash(&self, h: u64) -> String {
        hex(&derive(
            &format!("devnode/block/{}/{h}", self.spec.chain_id),
            32,
        ))
    }

    /// Validator addresses at block `h`.
    pub fn validators_at(&self, h: u64) -> Result<Vec<String>, ChainError> {
        self.check_known(h)?;
        Ok(self.spec.validators.iter().map(|v| hex(&v.addr)).collect())
    }

    /// Whether this node is a validator at block `h`.
    pub fn is_validator(&self, h: u64) -> Result<bool, ChainError> {
        self.check_known(h)?;
        Ok(self
            .spec
            .validators
            .iter()
            .any(|v| v.addr == self.spec.self_address))
    }

    /// `istanbul_status`: blocks authored per validator over `[start, end]`
    /// (inclusive; default: the last 64 blocks up to the head). The window is
    /// clamped to WBFT blocks after genesis, and `numBlocks` counts the blocks
    /// actually in it, so the activity values add up to `numBlocks`.
    pub fn status(&self, start: Option<u64>, end: Option<u64>) -> Result<Value, ChainError> {
        let head = self.head();
        let (start, end) = match (start, end) {
            (None, None) => (head.saturating_sub(63), head),
            (Some(s), Some(e)) => {
                if s > e {
                    return Err(ChainError::BadRange(
                        "start block number should be less than end block number",
                    ));
                }
                if e > head {
                    return Err(ChainError::BadRange(
                        "end block number should be less than or equal to current block height",
                    ));
                }
                (s, e)
            }
            (Some(_), None) => return Err(ChainError::BadRange("pass the end block number")),
            (None, Some(_)) => return Err(ChainError::BadRange("pass the start block number")),
        };
        let start = start.max(self.spec.wbft_fork).max(1);
        let mut activity = Map::new();
        for v in &self.spec.validators {
            activity.insert(hex(&v.addr), json!(0));
        }
        let mut num_blocks = 0u64;
        if start <= end {
            for h in start..=end {
                num_blocks += 1;
                if let Some(i) = self.proposer(h) {
                    let key = hex(&self.spec.validators[i].addr);
                    let n = activity.get(&key).and_then(Value::as_u64).unwrap_or(0);
                    activity.insert(key, json!(n + 1));
                }
            }
        }
        Ok(json!({ "sealerActivity": activity, "numBlocks": num_blocks }))
    }

    fn seal(&self, h: u64, kind: &str) -> Value {
        json!({
            "sealers": self.online(),
            "signature": hex(&derive(&format!("devnode/seal/{kind}/{}/{h}", self.spec.chain_id), 96)),
        })
    }

    /// `istanbul_getWbftExtraInfo(h)`.
    pub fn extra_info(&self, h: u64) -> Result<Value, ChainError> {
        self.check_wbft(h)?;
        let sealed = h > 0;
        let has_prev = sealed && h > self.spec.wbft_fork && h > 1;
        let mut vanity = *b"devnode wbft simulator\0\0\0\0\0\0\0\0\0\0";
        vanity[31] = (h % 256) as u8;
        let epoch_info = if h % self.spec.epoch_length == 0 {
            let stakers: Vec<Value> = self
                .spec
                .validators
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let diligence = if self.spec.offline.contains(&i) {
                        0
                    } else {
                        2_000_000
                    };
                    json!({ "addr": hex(&v.addr), "diligence": diligence })
                })
                .collect();
            let validators: Vec<Value> = self
                .spec
                .validators
                .iter()
                .enumerate()
                .map(|(i, v)| json!({ "index": i, "addr": hex(&v.addr), "bls": hex(&v.bls) }))
                .collect();
            json!({ "stakers": stakers, "validators": validators })
        } else {
            Value::Null
        };
        let prev_round = if has_prev { self.round(h - 1) } else { 0 };
        let or_null = |cond: bool, v: Value| if cond { v } else { Value::Null };
        Ok(json!({
            "vanityData": hex(&vanity),
            "randaoReveal": hex(&derive(&format!("devnode/randao/{}/{h}", self.spec.chain_id), 96)),
            "prevRound": quantity(prev_round),
            "prevPreparedSeal": or_null(has_prev, self.seal(h.saturating_sub(1), "prepare")),
            "prevCommittedSeal": or_null(has_prev, self.seal(h.saturating_sub(1), "commit")),
            "round": quantity(self.round(h)),
            "preparedSeal": or_null(sealed, self.seal(h, "prepare")),
            "committedSeal": or_null(sealed, self.seal(h, "commit")),
            "epochInfo": epoch_info,
        }))
    }

    /// `istanbul_getCommitSignersFromBlock(h)`.
    pub fn commit_signers(&self, h: u64) -> Result<Value, ChainError> {
        self.check_wbft(h)?;
        let committers = if h == 0 { Vec::new() } else { self.online() };
        Ok(json!({
            "Number": h,
            "Hash": self.block_hash(h),
            "Author": hex(&self.author_addr(h)),
            "Committers": committers,
        }))
    }

    /// Timestamp (seconds) of block `h`, extrapolated back from the head.
    fn timestamp(&self, h: u64) -> u64 {
        let back = self.head().saturating_sub(h);
        let period_ms = u64::try_from(self.spec.period.as_millis()).unwrap_or(u64::MAX);
        self.head_time_ms
            .load(Ordering::SeqCst)
            .saturating_sub(back.saturating_mul(period_ms))
            / 1000
    }

    /// `eth_getBlockByNumber(h)` (header fields, no transactions); `None` above the head.
    pub fn block(&self, h: u64) -> Option<Value> {
        if h > self.head() {
            return None;
        }
        let zero32 = hex(&[0u8; 32]);
        let parent = if h == 0 {
            zero32.clone()
        } else {
            self.block_hash(h - 1)
        };
        let miner = if h == 0 {
            [0u8; 20]
        } else {
            self.author_addr(h)
        };
        Some(json!({
            "number": quantity(h),
            "hash": self.block_hash(h),
            "parentHash": parent,
            "nonce": "0x0000000000000000",
            "mixHash": zero32,
            "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
            "logsBloom": hex(&[0u8; 256]),
            "transactionsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
            "stateRoot": hex(&derive(&format!("devnode/state/{}/{h}", self.spec.chain_id), 32)),
            "receiptsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
            "miner": hex(&miner),
            "difficulty": "0x1",
            "totalDifficulty": quantity(h + 1),
            "extraData": hex(&derive(&format!("devnode/extra/{h}"), 32)),
            "size": "0x25c",
            "gasLimit": "0x5f5e100",
            "gasUsed": "0x0",
            "timestamp": quantity(self.timestamp(h)),
            "baseFeePerGas": "0x174876e800",
            "transactions": [],
            "uncles": [],
        }))
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `0x`-prefixed lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// JSON-RPC hex quantity (`0x0`, `0x1f`).
pub fn quantity(n: u64) -> String {
    format!("{n:#x}")
}

/// `len` deterministic pseudo-random bytes for `label` (FNV-1a seed, splitmix64 stream).
pub fn derive(label: &str, len: usize) -> Vec<u8> {
    let mut seed: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        seed ^= u64::from(b);
        seed = seed.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_be_bytes());
    }
    out.truncate(len);
    out
}

/// A deterministic address for `label`.
pub fn address_from(label: &str) -> Address {
    let mut a = [0u8; 20];
    a.copy_from_slice(&derive(label, 20));
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(validators: usize, offline: &[usize], head: u64) -> Chain {
        let me = address_from("me");
        let spec = ChainSpec {
            chain_id: 1111,
            self_address: me,
            validators: ChainSpec::validator_set(me, validators, true),
            offline: offline.iter().copied().collect(),
            round_changes: [5].into_iter().collect(),
            wbft_fork: 0,
            epoch_length: 10,
            period: Duration::from_secs(1),
        };
        Chain::new(spec, head)
    }

    #[test]
    fn derive_is_deterministic_and_label_sensitive() {
        assert_eq!(derive("a", 33), derive("a", 33));
        assert_ne!(derive("a", 32), derive("b", 32));
        assert_eq!(derive("a", 33).len(), 33);
        assert_eq!(quantity(0), "0x0");
        assert_eq!(quantity(255), "0xff");
        assert_eq!(hex(&[0, 171]), "0x00ab");
    }

    #[test]
    fn round_robin_skips_offline() {
        let c = chain(4, &[1], 100);
        assert_eq!(c.proposer(4), Some(0));
        assert_eq!(c.proposer(1), Some(2)); // 1 is offline: 2 proposes
        assert_eq!(c.proposer(5), Some(2)); // round change: (5 + 1) % 4 = 2
        assert_eq!(chain(2, &[0, 1], 1).proposer(1), None);
    }

    #[test]
    fn status_counts_add_up() {
        let c = chain(4, &[3], 100);
        let s = c.status(None, None).unwrap();
        assert_eq!(s["numBlocks"], 64);
        let act = s["sealerActivity"].as_object().unwrap();
        assert_eq!(act.len(), 4);
        let total: u64 = act.values().filter_map(Value::as_u64).sum();
        assert_eq!(total, 64);
        let offline = hex(&c.spec().validators[3].addr);
        assert_eq!(act[&offline], 0);
        assert_eq!(c.status(Some(1), Some(4)).unwrap()["numBlocks"], 4);
        assert!(c.status(Some(5), Some(4)).is_err());
        assert!(c.status(Some(1), Some(101)).is_err());
        assert!(c.status(Some(1), None).is_err());
        // Young chain: genesis is not counted.
        assert_eq!(chain(4, &[], 3).status(None, None).unwrap()["numBlocks"], 3);
    }

    #[test]
    fn extra_info_shape() {
        let c = chain(4, &[], 20);
        let e = c.extra_info(10).unwrap();
        assert_eq!(e["round"], "0x0");
        assert!(e["epochInfo"]["validators"][0]["bls"].is_string());
        assert_eq!(e["committedSeal"]["sealers"].as_array().unwrap().len(), 4);
        assert!(c.extra_info(11).unwrap()["epochInfo"].is_null());
        assert_eq!(c.extra_info(5).unwrap()["round"], "0x1");
        assert_eq!(c.extra_info(6).unwrap()["prevRound"], "0x1");
        assert!(c.extra_info(0).unwrap()["committedSeal"].is_null());
        assert!(c.extra_info(1).unwrap()["prevCommittedSeal"].is_null());
        assert_eq!(c.extra_info(21), Err(ChainError::UnknownBlock(21)));
    }

    #[test]
    fn before_fork_errors() {
        let mut c = chain(4, &[], 20);
        c.spec.wbft_fork = 10;
        assert!(matches!(
            c.extra_info(9),
            Err(ChainError::BeforeWbft { .. })
        ));
        assert!(c.extra_info(10).unwrap()["prevCommittedSeal"].is_null());
        assert!(c.commit_signers(9).is_err());
        assert_eq!(c.status(None, None).unwrap()["numBlocks"], 11);
    }
}
