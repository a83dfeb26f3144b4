//! The GovNCP tracker: scans GovNCP's events in bounded block ranges,
//! rebuilds every proposal, cross-checks with the contract's views, and
//! keeps it all in `governance/proposals.json` so a restart resumes where
//! the last scan ended.
//!
//! The cache holds the decoded events (not just the result), the last
//! scanned block and its hash. On each sync the tracker first checks that
//! block: when the chain is now shorter or the hash differs (a reorg, or a
//! reset devnet), events after a safe point `reorg_depth` blocks back are
//! dropped and read again. A cache for another chain id, contract or start
//! block is discarded.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use alloy_primitives::{Address, Bytes, B256};
use alloy_sol_types::SolCall;
use serde::{Deserialize, Serialize};
use wemixvisor_core::{atomic, ChainError, Home};

use crate::client::{BlockTag, LogFilter};
use crate::govncp::{
    decode_log, event_topics, EventRecord, GovernanceChange, IGovNCP, Ledger, Proposal,
    ProposalState,
};
use crate::{GovernanceError, RpcChainClient};

const CACHE_VERSION: u32 = 1;
/// Chunks between two saves of the cache during a long first scan.
const SAVE_EVERY_CHUNKS: u64 = 50;

/// Parses a configured contract address.
pub fn parse_address(
    what: &'static str,
    key: &'static str,
    value: &str,
) -> Result<Address, GovernanceError> {
    let v = value.trim();
    if v.len() != 42 || !v.starts_with("0x") {
        return Err(GovernanceError::BadAddress {
            what,
            key,
            value: value.to_string(),
        });
    }
    Address::from_str(v).map_err(|_| GovernanceError::BadAddress {
        what,
        key,
        value: value.to_string(),
    })
}

/// Settings of the GovNCP tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackerConfig {
    /// GovNCP's address (`governance.gov_ncp_address`).
    pub contract: Address,
    /// First block to scan (0: the whole history, which the cross-checks need).
    pub start_block: u64,
    /// Most blocks per `eth_getLogs` request (halved while the node refuses).
    pub max_range: u64,
    /// Blocks to go back when the chain was reorganised.
    pub reorg_depth: u64,
}

impl TrackerConfig {
    /// Defaults for `contract`: from block 0, 5000 blocks per request, 64 back on reorg.
    pub fn new(contract: Address) -> Self {
        TrackerConfig {
            contract,
            start_block: 0,
            max_range: 5000,
            reorg_depth: 64,
        }
    }
}

/// A block the scan reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    /// Height.
    pub number: u64,
    /// Hash.
    pub hash: B256,
}

/// Everything known about GovNCP after a sync; what `governance proposals` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceSnapshot {
    /// GovNCP's address.
    pub contract: Address,
    /// Chain id.
    pub chain_id: u64,
    /// Head at the sync.
    pub head: u64,
    /// Chain time of the head (unix seconds).
    pub chain_time: u64,
    /// NCPs (`ncpList()`).
    pub ncps: Vec<Address>,
    /// NCP count (`ncpCount()` when the contract has it, else the list's length).
    pub ncp_count: u64,
    /// `emergencyMode()`.
    pub emergency_mode: bool,
    /// `currentProposalID()`.
    pub current_proposal_id: u64,
    /// `VOTING_PERIOD()` in seconds, when readable.
    pub voting_period: Option<u64>,
    /// Every proposal seen, by id.
    pub proposals: Vec<Proposal>,
    /// The proposal open for votes, if any.
    pub open_proposal: Option<u64>,
    /// Where events and views disagree, one line each; empty when they agree.
    pub consistency: Vec<String>,
}

impl GovernanceSnapshot {
    /// The proposal `id`.
    pub fn proposal(&self, id: u64) -> Option<&Proposal> {
        self.proposals.iter().find(|p| p.id == id)
    }
}

/// The outcome of one sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOutcome {
    /// The state after the sync.
    pub snapshot: GovernanceSnapshot,
    /// What changed since the last sync, in chain order.
    pub changes: Vec<GovernanceChange>,
    /// First block scanned by this sync (`None` when there was nothing new).
    pub scanned_from: Option<u64>,
    /// Last block scanned.
    pub scanned_to: u64,
    /// `eth_getLogs` requests made.
    pub log_requests: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    contract: Address,
    chain_id: u64,
    start_block: u64,
    scanned: Option<BlockRef>,
    events: Vec<EventRecord>,
    snapshot: Option<GovernanceSnapshot>,
}

impl CacheFile {
    fn empty(config: &TrackerConfig) -> Self {
        CacheFile {
            version: CACHE_VERSION,
            contract: config.contract,
            chain_id: 0,
            start_block: config.start_block,
            scanned: None,
            events: Vec::new(),
            snapshot: None,
        }
    }
}

/// Tracks GovNCP proposals from events, with a resumable cache.
#[derive(Debug)]
pub struct GovTracker {
    client: RpcChainClient,
    config: TrackerConfig,
    path: PathBuf,
    cache: CacheFile,
    notes: Vec<String>,
}

fn read_cache(path: &Path) -> Result<Option<CacheFile>, GovernanceError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| GovernanceError::Cache {
                path: path.to_path_buf(),
                reason: format!("not a proposal cache: {e}"),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(GovernanceError::Cache {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

impl GovTracker {
    /// A tracker whose cache is `home`'s `governance/proposals.json`.
    ///
    /// A cache that does not parse, or that belongs to another contract or
    /// start block, is set aside (noted in the next snapshot) and rebuilt.
    pub fn open(client: RpcChainClient, home: &Home, config: TrackerConfig) -> Self {
        Self::open_at(client, home.proposals_file(), config)
    }

    /// A tracker with its cache at `path`.
    pub fn open_at(client: RpcChainClient, path: PathBuf, config: TrackerConfig) -> Self {
        let mut notes = Vec::new();
        let cache = match read_cache(&path) {
            Ok(Some(c))
                if c.version == CACHE_VERSION
                    && c.contract == config.contract
                    && c.start_block == config.start_block =>
            {
                c
            }
            Ok(_) => CacheFile::empty(&config),
            Err(e) => {
                notes.push(format!("{e}; rebuilding it from the chain"));
                CacheFile::empty(&config)
            }
        };
        GovTracker {
            client,
            config,
            path,
            cache,
            notes,
        }
    }

    /// The last snapshot held in `home`'s cache, without asking the node.
    pub fn cached(home: &Home) -> Result<Option<GovernanceSnapshot>, GovernanceError> {
        Ok(read_cache(&home.proposals_file())?.and_then(|c| c.snapshot))
    }

    /// The snapshot of the last sync (or of the cache).
    pub fn snapshot(&self) -> Option<&GovernanceSnapshot> {
        self.cache.snapshot.as_ref()
    }

    /// The last block scanned.
    pub fn scanned_to(&self) -> Option<u64> {
        self.cache.scanned.map(|b| b.number)
    }

    /// The tracker's settings.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// Scans new blocks, rebuilds proposals, cross-checks the views, saves the cache.
    pub async fn sync(&mut self) -> Result<SyncOutcome, GovernanceError> {
        let mut changes = Vec::new();
        let chain_id = self.client.chain_id().await?;
        if self.cache.scanned.is_some() && self.cache.chain_id != chain_id {
            self.notes.push(format!(
                "the node is on chain {chain_id}, the cache was for chain {}: rebuilt",
                self.cache.chain_id
            ));
            self.cache = CacheFile::empty(&self.config);
        }
        self.cache.chain_id = chain_id;

        let head = self
            .client
            .block_header(BlockTag::Latest)
            .await?
            .ok_or_else(|| ChainError::Decode {
                method: "eth_getBlockByNumber".into(),
                reason: "the node has no latest block".into(),
            })?;
        let code = self
            .client
            .get_code(self.config.contract, BlockTag::Number(head.number))
            .await?;
        if code.is_empty() {
            return Err(GovernanceError::NoContract {
                what: "GovNCP",
                key: "gov_ncp_address",
                address: self.config.contract.to_string(),
                chain_id,
            });
        }

        if let Some(from_block) = self.check_reorg(head.number).await? {
            changes.push(GovernanceChange::Reorg { from_block });
        }

        let old_len = self.cache.events.len();
        let (scanned_from, log_requests) = self.scan(head.number, head.hash).await?;

        let views = self.read_views(head.number).await?;
        let mut ledger = Ledger::replay(&self.cache.events[..old_len]);
        for rec in &self.cache.events[old_len..] {
            if let Some(c) = ledger.apply(rec) {
                changes.push(c);
            }
        }
        let snapshot = self.build_snapshot(chain_id, head.number, head.timestamp, &ledger, views);
        if let Some(prev) = &self.cache.snapshot {
            for p in &snapshot.proposals {
                let was = prev.proposal(p.id).map(|q| q.state);
                if p.state == ProposalState::Expired && was != Some(ProposalState::Expired) {
                    changes.push(GovernanceChange::Expired {
                        id: p.id,
                        end_time: p.end_time,
                    });
                }
            }
            if prev.emergency_mode != snapshot.emergency_mode {
                changes.push(GovernanceChange::EmergencyMode {
                    on: snapshot.emergency_mode,
                });
            }
        }
        self.cache.snapshot = Some(snapshot.clone());
        self.save()?;
        Ok(SyncOutcome {
            snapshot,
            changes,
            scanned_from,
            scanned_to: head.number,
            log_requests,
        })
    }

    /// Detects a shorter or different chain; returns the first block read again, if so.
    async fn check_reorg(&mut self, head: u64) -> Result<Option<u64>, GovernanceError> {
        let Some(scanned) = self.cache.scanned else {
            return Ok(None);
        };
        let same = if scanned.number > head {
            false
        } else {
            self.client
                .block_header(BlockTag::Number(scanned.number))
                .await?
                .is_some_and(|h| h.hash == scanned.hash)
        };
        if same {
            return Ok(None);
        }
        let safe = scanned
            .number
            .min(head)
            .saturating_sub(self.config.reorg_depth);
        let keep = if safe >= self.config.start_block && safe > 0 {
            self.client
                .block_header(BlockTag::Number(safe))
                .await?
                .map(|h| BlockRef {
                    number: safe,
                    hash: h.hash,
                })
        } else {
            None
        };
        tracing::warn!(
            scanned = scanned.number,
            head,
            safe,
            "chain reorganised or reset under the GovNCP tracker; scanning again"
        );
        match keep {
            Some(b) => {
                self.cache.events.retain(|e| e.block <= b.number);
                self.cache.scanned = Some(b);
            }
            None => {
                self.cache.events.clear();
                self.cache.scanned = None;
            }
        }
        Ok(Some(keep.map_or(self.config.start_block, |b| {
            b.number.saturating_add(1)
        })))
    }

    /// Reads the logs of the blocks after the last scan up to `head`.
    async fn scan(
        &mut self,
        head: u64,
        head_hash: B256,
    ) -> Result<(Option<u64>, u64), GovernanceError> {
        // Block numbers are u64 end to end: at u64::MAX there is no next
        // block, so nothing is left to scan (and nothing may wrap to 0).
        let from = match self.cache.scanned {
            None => self.config.start_block,
            Some(b) => match b.number.checked_add(1) {
                Some(next) => next,
                None => return Ok((None, 0)),
            },
        };
        if from > head {
            return Ok((None, 0));
        }
        let mut range = self.config.max_range.max(1);
        let mut start = from;
        let mut requests = 0u64;
        let mut chunks = 0u64;
        while start <= head {
            let end = start.saturating_add(range - 1).min(head);
            let filter = LogFilter {
                address: self.config.contract,
                from_block: start,
                to_block: end,
                topic0: event_topics(),
            };
            requests += 1;
            let logs = match self.client.get_logs(&filter).await {
                Ok(l) => l,
                Err(ChainError::Rpc { message, .. }) if range > 1 && too_big(&message) => {
                    range = (range / 2).max(1);
                    tracing::debug!(range, "eth_getLogs refused the range; halving it");
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let mut recs = Vec::with_capacity(logs.len());
            for log in logs
                .iter()
                .filter(|l| !l.removed && l.address == self.config.contract)
            {
                match decode_log(log) {
                    Ok(Some(r)) => recs.push(r),
                    Ok(None) => {}
                    Err(e) if !self.notes.contains(&e) => self.notes.push(e),
                    Err(_) => {}
                }
            }
            recs.sort_by_key(|r| (r.block, r.log_index));
            self.cache.events.extend(recs);
            chunks += 1;
            if end == head {
                self.cache.scanned = Some(BlockRef {
                    number: head,
                    hash: head_hash,
                });
                // `end + 1` would wrap at u64::MAX.
                break;
            } else if chunks % SAVE_EVERY_CHUNKS == 0 {
                if let Some(h) = self.client.block_header(BlockTag::Number(end)).await? {
                    self.cache.scanned = Some(BlockRef {
                        number: end,
                        hash: h.hash,
                    });
                    self.save()?;
                }
            }
            // end < head here, so this cannot overflow.
            start = end.saturating_add(1);
        }
        Ok((Some(from), requests))
    }

    async fn view(&self, data: Vec<u8>, at: u64) -> Result<Option<Bytes>, GovernanceError> {
        match self
            .client
            .eth_call(
                self.config.contract,
                Bytes::from(data),
                BlockTag::Number(at),
            )
            .await
        {
            Ok(b) if b.is_empty() => Ok(None),
            Ok(b) => Ok(Some(b)),
            // A revert: the function does not exist in this version.
            Err(ChainError::Rpc { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn read_views(&self, at: u64) -> Result<Views, GovernanceError> {
        fn abi(function: &'static str, e: impl std::fmt::Display) -> GovernanceError {
            GovernanceError::Abi {
                contract: "GovNCP",
                function,
                reason: e.to_string(),
            }
        }
        let required = |v: Option<Bytes>, function: &'static str| {
            v.ok_or_else(|| abi(function, "the call returned nothing or reverted"))
        };
        let id = required(
            self.view(IGovNCP::currentProposalIDCall {}.abi_encode(), at)
                .await?,
            "currentProposalID",
        )?;
        let id = IGovNCP::currentProposalIDCall::abi_decode_returns(&id)
            .map_err(|e| abi("currentProposalID", e))?;
        let list = required(
            self.view(IGovNCP::ncpListCall {}.abi_encode(), at).await?,
            "ncpList",
        )?;
        let ncps =
            IGovNCP::ncpListCall::abi_decode_returns(&list).map_err(|e| abi("ncpList", e))?;
        let em = required(
            self.view(IGovNCP::emergencyModeCall {}.abi_encode(), at)
                .await?,
            "emergencyMode",
        )?;
        let emergency = IGovNCP::emergencyModeCall::abi_decode_returns(&em)
            .map_err(|e| abi("emergencyMode", e))?;
        let count = match self.view(IGovNCP::ncpCountCall {}.abi_encode(), at).await? {
            Some(b) => IGovNCP::ncpCountCall::abi_decode_returns(&b)
                .ok()
                .and_then(|n| u64::try_from(n).ok()),
            None => None,
        };
        let period = match self
            .view(IGovNCP::VOTING_PERIODCall {}.abi_encode(), at)
            .await?
        {
            Some(b) => IGovNCP::VOTING_PERIODCall::abi_decode_returns(&b)
                .ok()
                .and_then(|n| u64::try_from(n).ok()),
            None => None,
        };
        Ok(Views {
            current_id: u64::try_from(id).map_err(|e| abi("currentProposalID", e))?,
            ncps,
            emergency,
            count,
            period,
        })
    }

    fn build_snapshot(
        &self,
        chain_id: u64,
        head: u64,
        chain_time: u64,
        ledger: &Ledger,
        views: Views,
    ) -> GovernanceSnapshot {
        let ncp_count = views.count.unwrap_or(views.ncps.len() as u64);
        let proposals = ledger.proposals_at(chain_time, ncp_count);
        let mut consistency = self.notes.clone();
        consistency.extend(ledger.anomalies.iter().cloned());
        let whole_history = self.config.start_block == 0;
        let expected = ledger.expected_current_id();
        if (whole_history && views.current_id != expected) || views.current_id < expected {
            consistency.push(format!(
                "currentProposalID() is {} but the events give {expected}",
                views.current_id
            ));
        }
        for a in &ledger.ncps_added {
            if !views.ncps.contains(a) {
                consistency.push(format!(
                    "NCP {a} was added by events but is not in ncpList()"
                ));
            }
        }
        for r in &ledger.ncps_removed {
            if views.ncps.contains(r) {
                consistency.push(format!(
                    "NCP {r} was removed by events but is still in ncpList()"
                ));
            }
        }
        if let Some(c) = views.count {
            if c != views.ncps.len() as u64 {
                consistency.push(format!(
                    "ncpCount() is {c} but ncpList() has {} entries",
                    views.ncps.len()
                ));
            }
        }
        if let Some(m) = ledger.emergency_mode {
            if m != views.emergency {
                consistency.push(format!(
                    "emergencyMode() is {} but the last accepted emergency proposal set it {}",
                    views.emergency, m
                ));
            }
        }
        let open: Vec<u64> = proposals
            .iter()
            .filter(|p| matches!(p.state, ProposalState::Voting | ProposalState::Expired))
            .map(|p| p.id)
            .collect();
        if open.len() > 1 {
            consistency.push(format!(
                "{} proposals are open at once ({open:?}); GovNCP allows one",
                open.len()
            ));
        }
        let open_proposal = proposals
            .iter()
            .find(|p| p.state == ProposalState::Voting)
            .map(|p| p.id);
        GovernanceSnapshot {
            contract: self.config.contract,
            chain_id,
            head,
            chain_time,
            ncps: views.ncps,
            ncp_count,
            emergency_mode: views.emergency,
            current_proposal_id: views.current_id,
            voting_period: views.period,
            proposals,
            open_proposal,
            consistency,
        }
    }

    fn save(&self) -> Result<(), GovernanceError> {
        atomic::write_json_atomic(&self.path, &self.cache, atomic::SECRET_MODE)?;
        Ok(())
    }
}

struct Views {
    current_id: u64,
    ncps: Vec<Address>,
    emergency: bool,
    count: Option<u64>,
    period: Option<u64>,
}

/// True for the `eth_getLogs` errors that mean "ask for fewer blocks".
fn too_big(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "more than",
        "too many",
        "range",
        "limit",
        "exceed",
        "too large",
    ]
    .iter()
    .any(|k| m.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::govncp::GOV_NCP_ADDRESS;
    use crate::test_utils::RpcMock;
    use alloy_primitives::{address, U256};
    use alloy_sol_types::SolEvent;
    use serde_json::{json, Value};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    const A: Address = address!("0x1111111111111111111111111111111111111111");
    const B: Address = address!("0x2222222222222222222222222222222222222222");

    #[derive(Default)]
    struct FakeChain {
        head: u64,
        salt: u8,
        logs: Vec<(u64, Value)>,
        max_range: u64,
        current_id: u64,
        ncps: Vec<Address>,
    }

    fn hash(salt: u8, n: u64) -> String {
        format!("0x{:02x}{}{:016x}", salt, "00".repeat(23), n)
    }

    fn log(ev: impl SolEvent, block: u64, salt: u8) -> (u64, Value) {
        let d = ev.encode_log_data();
        (
            block,
            json!({
                "address": GOV_NCP_ADDRESS, "topics": d.topics(), "data": Bytes::from(d.data.to_vec()),
                "blockNumber": format!("{block:#x}"), "blockHash": hash(salt, block),
                "transactionHash": hash(9, block), "logIndex": "0x0", "removed": false
            }),
        )
    }

    fn node(chain: Arc<Mutex<FakeChain>>) -> RpcMock {
        RpcMock::start(move |m, p| {
            let c = chain.lock().unwrap();
            let num = |v: &Value| crate::decode::lenient_u64(v);
            match m {
                "eth_chainId" => Ok(json!("0x457")),
                "eth_blockNumber" => Ok(json!(format!("{:#x}", c.head))),
                "eth_getBlockByNumber" => {
                    let n = if p[0] == "latest" {
                        c.head
                    } else {
                        num(&p[0]).unwrap()
                    };
                    if n > c.head {
                        return Ok(Value::Null);
                    }
                    Ok(json!({"number": format!("{n:#x}"), "hash": hash(c.salt, n),
                        "parentHash": hash(c.salt, n.saturating_sub(1)), "timestamp": format!("{:#x}", n.saturating_add(1000))}))
                }
                "eth_getCode" => Ok(json!("0x6080")),
                "eth_getLogs" => {
                    let (from, to) = (
                        num(&p[0]["fromBlock"]).unwrap(),
                        num(&p[0]["toBlock"]).unwrap(),
                    );
                    if to.saturating_sub(from) >= c.max_range {
                        return Err((-32005, "query returned more than 10000 results".into()));
                    }
                    Ok(Value::Array(
                        c.logs
                            .iter()
                            .filter(|(b, _)| (from..=to).contains(b))
                            .map(|(_, l)| l.clone())
                            .collect(),
                    ))
                }
                "eth_call" => {
                    let data: Bytes = p[0]["data"].as_str().unwrap().parse().unwrap();
                    let sel: [u8; 4] = data[..4].try_into().unwrap();
                    let out = if sel == IGovNCP::currentProposalIDCall::SELECTOR {
                        IGovNCP::currentProposalIDCall::abi_encode_returns(&U256::from(
                            c.current_id,
                        ))
                    } else if sel == IGovNCP::ncpListCall::SELECTOR {
                        IGovNCP::ncpListCall::abi_encode_returns(&c.ncps)
                    } else if sel == IGovNCP::emergencyModeCall::SELECTOR {
                        IGovNCP::emergencyModeCall::abi_encode_returns(&false)
                    } else {
                        // Older GovNCP: no ncpCount / VOTING_PERIOD getter here.
                        return Err((3, "execution reverted".into()));
                    };
                    Ok(json!(Bytes::from(out)))
                }
                _ => Err((
                    -32601,
                    format!("the method {m} does not exist/is not available"),
                )),
            }
        })
    }

    fn client(url: &str) -> RpcChainClient {
        RpcChainClient::new(url, Duration::from_secs(5)).unwrap()
    }

    fn new_proposal(id: u64, block: u64, salt: u8) -> (u64, Value) {
        log(
            IGovNCP::NewProposal {
                id: U256::from(id),
                proposalType: U256::from(1),
                ncp: B,
                proposer: A,
                time: U256::from(block) + U256::from(1000),
                endtime: U256::from(block) + U256::from(1000 + 604_800),
            },
            block,
            salt,
        )
    }

    #[tokio::test]
    async fn scans_in_bounded_ranges_resumes_from_the_cache_and_handles_reorgs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("governance/proposals.json");
        let chain = Arc::new(Mutex::new(FakeChain {
            head: 100,
            max_range: 30,
            ncps: vec![A],
            ..FakeChain::default()
        }));
        chain.lock().unwrap().logs.push(new_proposal(0, 40, 0));
        let rpc = node(chain.clone());
        let mut cfg = TrackerConfig::new(GOV_NCP_ADDRESS);
        cfg.max_range = 64;
        cfg.reorg_depth = 10;

        let mut t = GovTracker::open_at(client(&rpc.url()), path.clone(), cfg);
        let out = t.sync().await.unwrap();
        assert_eq!(out.scanned_from, Some(0));
        assert_eq!(out.snapshot.proposals.len(), 1);
        assert_eq!(out.snapshot.open_proposal, Some(0));
        // 64 refused, then 32 refused, then 16-block ranges: 0..=100 in 7 ranges.
        assert_eq!(rpc.count("eth_getLogs"), 2 + 7, "{:?}", rpc.calls());
        assert!(
            out.snapshot.consistency.is_empty(),
            "{:?}",
            out.snapshot.consistency
        );
        assert!(matches!(
            out.changes[0],
            GovernanceChange::ProposalCreated { block: 40, .. }
        ));
        assert!(path.exists());

        // Restart: nothing new to scan, same snapshot.
        let mut t = GovTracker::open_at(client(&rpc.url()), path.clone(), cfg);
        assert_eq!(t.scanned_to(), Some(100));
        let before = rpc.count("eth_getLogs");
        chain.lock().unwrap().head = 110;
        let out2 = t.sync().await.unwrap();
        assert_eq!(out2.scanned_from, Some(101));
        assert_eq!(rpc.count("eth_getLogs") - before, 1);
        assert!(out2.changes.is_empty());
        assert_eq!(out2.snapshot.proposals, out.snapshot.proposals);

        // Reorg: every hash changes and the chain is shorter (95); a vote now
        // sits in block 90, after the safe point 95 - 10 = 85.
        {
            let mut c = chain.lock().unwrap();
            c.head = 95;
            c.salt = 7;
            c.logs = vec![
                new_proposal(0, 40, 7),
                log(
                    IGovNCP::Vote {
                        proposalID: U256::ZERO,
                        voter: A,
                        accept: true,
                    },
                    90,
                    7,
                ),
            ];
        }
        let out3 = t.sync().await.unwrap();
        assert!(
            matches!(out3.changes[0], GovernanceChange::Reorg { from_block: 86 }),
            "{:?}",
            out3.changes
        );
        assert_eq!(out3.scanned_from, Some(86));
        let p = out3.snapshot.proposal(0).unwrap();
        assert_eq!((p.accepts, p.voters.len()), (1, 1));
        assert!(
            out3.snapshot.consistency.is_empty(),
            "{:?}",
            out3.snapshot.consistency
        );
        // The cached snapshot is what `governance proposals` shows offline.
        let home = Home::new(dir.path());
        assert_eq!(GovTracker::cached(&home).unwrap().unwrap(), out3.snapshot);
    }

    /// A chain head of u64::MAX: the scan ends at the head instead of
    /// wrapping to block 0 and asking `eth_getLogs` forever.
    #[tokio::test]
    async fn head_at_u64_max_ends_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("governance/proposals.json");
        let chain = Arc::new(Mutex::new(FakeChain {
            head: u64::MAX,
            max_range: 1000,
            ncps: vec![A],
            ..FakeChain::default()
        }));
        let rpc = node(chain.clone());
        let mut cfg = TrackerConfig::new(GOV_NCP_ADDRESS);
        cfg.start_block = u64::MAX - 20;
        cfg.max_range = 10;
        let mut t = GovTracker::open_at(client(&rpc.url()), path, cfg);
        let out = tokio::time::timeout(Duration::from_secs(20), t.sync())
            .await
            .expect("sync at u64::MAX never ended")
            .unwrap();
        assert_eq!(out.scanned_to, u64::MAX);
        assert_eq!(t.scanned_to(), Some(u64::MAX));
        // 21 blocks in ranges of 10: three requests, the last one [MAX, MAX].
        assert_eq!(rpc.count("eth_getLogs"), 3, "{:?}", rpc.calls());
        // Nothing after the last block: a second sync asks for no logs.
        let out = tokio::time::timeout(Duration::from_secs(20), t.sync())
            .await
            .expect("second sync at u64::MAX never ended")
            .unwrap();
        assert_eq!((out.scanned_from, out.log_requests), (None, 0));
        assert_eq!(rpc.count("eth_getLogs"), 3);
    }

    #[tokio::test]
    async fn views_that_disagree_with_events_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let chain = Arc::new(Mutex::new(FakeChain {
            head: 20,
            max_range: 1000,
            current_id: 5,
            ncps: vec![A],
            ..FakeChain::default()
        }));
        {
            let mut c = chain.lock().unwrap();
            c.logs.push(log(IGovNCP::NCPAdded { ncp: B }, 3, 0));
        }
        let rpc = node(chain);
        let mut t = GovTracker::open_at(
            client(&rpc.url()),
            dir.path().join("p.json"),
            TrackerConfig::new(GOV_NCP_ADDRESS),
        );
        let s = t.sync().await.unwrap().snapshot;
        assert_eq!(s.ncp_count, 1);
        assert_eq!(s.voting_period, None);
        assert_eq!(s.consistency.len(), 2, "{:?}", s.consistency);
        assert!(s.consistency[0].contains("currentProposalID() is 5 but the events give 0"));
        assert!(s.consistency[1].contains("was added by events but is not in ncpList()"));
    }

    #[tokio::test]
    async fn corrupt_cache_is_rebuilt_and_a_missing_contract_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, b"{not json").unwrap();
        let rpc = RpcMock::start(|m, _| match m {
            "eth_chainId" => Ok(json!("0x1")),
            "eth_getBlockByNumber" => Ok(
                json!({"number": "0x1", "hash": hash(0, 1), "parentHash": hash(0, 0), "timestamp": "0x1"}),
            ),
            "eth_getCode" => Ok(json!("0x")),
            _ => Err((-32601, "nope".into())),
        });
        let mut t = GovTracker::open_at(
            client(&rpc.url()),
            path,
            TrackerConfig::new(GOV_NCP_ADDRESS),
        );
        let e = t.sync().await.unwrap_err();
        assert!(
            matches!(e, GovernanceError::NoContract { chain_id: 1, .. }),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("help: check governance.gov_ncp_address"),
            "{e}"
        );
    }

    #[test]
    fn addresses_are_checked() {
        assert_eq!(
            parse_address(
                "GovNCP",
                "gov_ncp_address",
                "0x0000000000000000000000000000000000001003"
            )
            .unwrap(),
            GOV_NCP_ADDRESS
        );
        for bad in [
            "1003",
            "0x1003",
            "0xZZ00000000000000000000000000000000001003",
            "",
        ] {
            let e = parse_address("GovNCP", "gov_ncp_address", bad).unwrap_err();
            assert!(
                e.to_string()
                    .contains("expected 0x followed by 40 hex digits"),
                "{e}"
            );
        }
    }

    #[test]
    fn refusals_that_mean_fewer_blocks() {
        assert!(too_big("query returned more than 10000 results"));
        assert!(too_big("block range is too wide; exceeds maximum range"));
        assert!(!too_big("unknown block"));
    }
}
