use std::time::{Duration, Instant};

use alloy_json_rpc::RpcError;
use alloy_primitives::{Address, Bytes, B256};
use alloy_rpc_client::RpcClient;
use alloy_transport_http::reqwest::{self, Url};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wemixvisor_core::{ChainClient, ChainError, SyncStatus};

use crate::decode::{self, bad, field, object};
use crate::GovernanceError;

/// JSON-RPC error code for "method not found".
const METHOD_NOT_FOUND: i64 = -32601;

/// An empty parameter list; never sent as `null`, which some servers reject.
pub(crate) const NO_PARAMS: [(); 0] = [];

/// How often a call is tried again when the node cannot be reached.
///
/// Only "unreachable" failures (connection refused or reset, HTTP-level
/// errors) are retried, and only within the call's overall timeout; a
/// JSON-RPC error answer is final and never retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total (1 = no retry).
    pub attempts: u32,
    /// Pause before the first retry; doubled after each one.
    pub initial_backoff: Duration,
    /// Longest pause between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn none() -> Self {
        RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// [`ChainClient`] over HTTP JSON-RPC, plus the typed Wemix calls
/// (`istanbul_*`, `admin_nodeInfo`, `eth_call`, `eth_getLogs`).
#[derive(Clone)]
pub struct RpcChainClient {
    url: String,
    client: RpcClient,
    timeout: Duration,
    retry: RetryPolicy,
}

impl std::fmt::Debug for RpcChainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcChainClient")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// A block parameter: the head or a height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockTag {
    /// `"latest"`.
    Latest,
    /// A height, sent as a hex quantity.
    Number(u64),
}

impl BlockTag {
    /// The JSON-RPC form (`"latest"`, `"0x1f"`).
    pub fn to_param(self) -> Value {
        match self {
            BlockTag::Latest => json!("latest"),
            BlockTag::Number(n) => json!(format!("{n:#x}")),
        }
    }
}

/// The header fields of `eth_getBlockByNumber` that the supervisor uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// Height.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Parent hash.
    pub parent_hash: B256,
    /// Unix time in seconds.
    pub timestamp: u64,
    /// `miner` (the block's author on WBFT).
    pub miner: Option<Address>,
}

impl BlockHeader {
    /// Decodes an `eth_getBlockByNumber` answer (extra fields are ignored).
    pub fn from_json(v: &Value) -> Result<Self, ChainError> {
        const M: &str = "eth_getBlockByNumber";
        let o = object(M, v)?;
        let get = |k: &str| field(o, &[k]).ok_or_else(|| bad(M, format!("missing \"{k}\"")));
        Ok(BlockHeader {
            number: decode::u64_of(M, "number", get("number")?)?,
            hash: decode::hash_of(M, "hash", get("hash")?)?,
            parent_hash: decode::hash_of(M, "parentHash", get("parentHash")?)?,
            timestamp: decode::u64_of(M, "timestamp", get("timestamp")?)?,
            miner: field(o, &["miner"])
                .map(|m| decode::address_of(M, "miner", m))
                .transpose()?,
        })
    }
}

/// An `eth_getLogs` filter over a closed block range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    /// Contract whose logs are wanted.
    pub address: Address,
    /// First block, inclusive.
    pub from_block: u64,
    /// Last block, inclusive.
    pub to_block: u64,
    /// Accepted values of topic 0 (event signature hashes); empty = any.
    pub topic0: Vec<B256>,
}

impl LogFilter {
    fn to_param(&self) -> Value {
        let mut f = json!({
            "address": self.address,
            "fromBlock": BlockTag::Number(self.from_block).to_param(),
            "toBlock": BlockTag::Number(self.to_block).to_param(),
        });
        if !self.topic0.is_empty() {
            f["topics"] = json!([self.topic0]);
        }
        f
    }
}

/// One log of `eth_getLogs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpcLog {
    /// Emitting contract.
    pub address: Address,
    /// Topics (topic 0 is the event signature hash).
    pub topics: Vec<B256>,
    /// ABI-encoded non-indexed fields.
    pub data: Bytes,
    /// Height of its block.
    pub block_number: u64,
    /// Hash of its block.
    pub block_hash: B256,
    /// Transaction that emitted it.
    pub transaction_hash: Option<B256>,
    /// Position in its block.
    pub log_index: u64,
    /// True when a reorg removed it (only in subscriptions).
    pub removed: bool,
}

impl RpcLog {
    /// Decodes one entry of an `eth_getLogs` answer.
    pub fn from_json(v: &Value) -> Result<Self, ChainError> {
        const M: &str = "eth_getLogs";
        let o = object(M, v)?;
        let get = |k: &str| field(o, &[k]).ok_or_else(|| bad(M, format!("log lacks \"{k}\"")));
        let topics = match get("topics")? {
            Value::Array(t) => t
                .iter()
                .map(|x| decode::hash_of(M, "topic", x))
                .collect::<Result<Vec<_>, _>>()?,
            other => return Err(bad(M, format!("topics: expected a list, got {other}"))),
        };
        let data = get("data")?
            .as_str()
            .and_then(|s| s.parse::<Bytes>().ok())
            .ok_or_else(|| bad(M, "data: expected hex bytes"))?;
        Ok(RpcLog {
            address: decode::address_of(M, "address", get("address")?)?,
            topics,
            data,
            block_number: decode::u64_of(M, "blockNumber", get("blockNumber")?)?,
            block_hash: decode::hash_of(M, "blockHash", get("blockHash")?)?,
            transaction_hash: field(o, &["transactionHash"])
                .map(|h| decode::hash_of(M, "transactionHash", h))
                .transpose()?,
            log_index: decode::u64_of(M, "logIndex", get("logIndex")?)?,
            removed: o.get("removed").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

impl RpcChainClient {
    /// A client for the node at `url` (http or https) with a per-call
    /// `timeout` (covering retries) and the default [`RetryPolicy`].
    pub fn new(url: &str, timeout: Duration) -> Result<Self, GovernanceError> {
        let parsed = Url::parse(url).map_err(|e| GovernanceError::BadUrl {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(GovernanceError::BadUrl {
                url: url.to_string(),
                reason: format!("scheme '{}' is not http or https", parsed.scheme()),
            });
        }
        let bad = |reason: String| GovernanceError::BadUrl {
            url: url.to_string(),
            reason,
        };
        // Plain HTTP never touches the TLS stack (see `plain_http`).
        let client = if parsed.scheme() == "http" {
            let t = crate::plain_http::PlainHttp::new(url, timeout).map_err(bad)?;
            let local = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            RpcClient::new(t, local)
        } else {
            let http = reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .build()
                .map_err(|e| bad(e.to_string()))?;
            RpcClient::new_http_with_client(http, parsed)
        };
        Ok(RpcChainClient {
            url: url.to_string(),
            client,
            timeout,
            retry: RetryPolicy::default(),
        })
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            attempts: retry.attempts.max(1),
            ..retry
        };
        self
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The per-call timeout (all attempts of a call together).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Calls `method` with `params` and decodes the result as `R`.
    ///
    /// The whole call, retries included, ends within the client's timeout.
    /// An unreachable node is tried again per the [`RetryPolicy`]; an error
    /// answer is returned at once: `-32601` / "does not exist/is not
    /// available" as [`ChainError::MethodUnavailable`], anything else as
    /// [`ChainError::Rpc`].
    pub async fn call<P, R>(&self, method: &'static str, params: P) -> Result<R, ChainError>
    where
        P: Serialize + Clone + Send + Sync + Unpin + std::fmt::Debug + 'static,
        R: DeserializeOwned + std::fmt::Debug + Send + Sync + Unpin + 'static,
    {
        let deadline = Instant::now() + self.timeout;
        let mut backoff = self.retry.initial_backoff;
        let mut attempt = 1;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let fut = self.client.request::<P, R>(method, params.clone());
            let err = match tokio::time::timeout(remaining, fut).await {
                Err(_) => {
                    return Err(ChainError::Unreachable {
                        url: self.url.clone(),
                        reason: format!("no answer to {method} within {:?}", self.timeout),
                    })
                }
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => self.classify(method, e),
            };
            let retryable = matches!(err, ChainError::Unreachable { .. });
            let left = deadline.saturating_duration_since(Instant::now());
            if !retryable || attempt >= self.retry.attempts || left <= backoff {
                return Err(err);
            }
            tracing::debug!(method, attempt, error = %err, "node unreachable, trying again");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.retry.max_backoff);
            attempt += 1;
        }
    }

    fn classify<E: std::fmt::Display>(&self, method: &str, e: RpcError<E>) -> ChainError {
        match e {
            RpcError::ErrorResp(p) => {
                let unavailable = p.code == METHOD_NOT_FOUND
                    || p.message.contains("does not exist/is not available");
                if unavailable {
                    ChainError::MethodUnavailable {
                        method: method.to_string(),
                    }
                } else {
                    ChainError::Rpc {
                        method: method.to_string(),
                        code: p.code,
                        message: p.message.to_string(),
                    }
                }
            }
            RpcError::DeserError { err, .. } => ChainError::Decode {
                method: method.to_string(),
                reason: err.to_string(),
            },
            RpcError::NullResp => ChainError::Decode {
                method: method.to_string(),
                reason: "null result".into(),
            },
            other => ChainError::Unreachable {
                url: self.url.clone(),
                reason: other.to_string(),
            },
        }
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        let v: Value = self.call("eth_chainId", NO_PARAMS).await?;
        parse_quantity("eth_chainId", &v)
    }

    /// `eth_getBlockByNumber(tag, false)`; `None` when the node has no such block.
    pub async fn block_header(&self, tag: BlockTag) -> Result<Option<BlockHeader>, ChainError> {
        let v: Value = self
            .call("eth_getBlockByNumber", json!([tag.to_param(), false]))
            .await?;
        if v.is_null() {
            return Ok(None);
        }
        BlockHeader::from_json(&v).map(Some)
    }

    /// `eth_getCode(address, tag)`.
    pub async fn get_code(&self, address: Address, tag: BlockTag) -> Result<Bytes, ChainError> {
        let v: Value = self
            .call("eth_getCode", json!([address, tag.to_param()]))
            .await?;
        hex_bytes("eth_getCode", &v)
    }

    /// `eth_call` of `data` on `to` at `tag`; the raw return data.
    pub async fn eth_call(
        &self,
        to: Address,
        data: Bytes,
        tag: BlockTag,
    ) -> Result<Bytes, ChainError> {
        let v: Value = self
            .call(
                "eth_call",
                json!([{"to": to, "data": data}, tag.to_param()]),
            )
            .await?;
        hex_bytes("eth_call", &v)
    }

    /// `eth_getLogs` for `filter`.
    pub async fn get_logs(&self, filter: &LogFilter) -> Result<Vec<RpcLog>, ChainError> {
        let v: Value = self.call("eth_getLogs", json!([filter.to_param()])).await?;
        match &v {
            Value::Array(items) => items.iter().map(RpcLog::from_json).collect(),
            other => Err(bad(
                "eth_getLogs",
                format!("expected a list of logs, got {other}"),
            )),
        }
    }

    /// `admin_nodeInfo`, as the node returns it.
    pub async fn node_info(&self) -> Result<Value, ChainError> {
        self.call("admin_nodeInfo", NO_PARAMS).await
    }
}

fn hex_bytes(method: &str, v: &Value) -> Result<Bytes, ChainError> {
    v.as_str()
        .and_then(|s| s.parse::<Bytes>().ok())
        .ok_or_else(|| bad(method, format!("expected hex data, got {v}")))
}

/// Parses a JSON-RPC quantity (`"0x1a"`), also accepting a plain number.
pub fn parse_quantity(method: &str, v: &Value) -> Result<u64, ChainError> {
    let bad = |reason: String| ChainError::Decode {
        method: method.to_string(),
        reason,
    };
    match v {
        Value::String(s) => {
            let hex = s
                .strip_prefix("0x")
                .ok_or_else(|| bad(format!("quantity '{s}' lacks the 0x prefix")))?;
            u64::from_str_radix(hex, 16).map_err(|e| bad(format!("quantity '{s}': {e}")))
        }
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| bad(format!("quantity {n} is not a u64"))),
        other => Err(bad(format!("expected a quantity, got {other}"))),
    }
}

#[async_trait]
impl ChainClient for RpcChainClient {
    async fn block_number(&self) -> Result<u64, ChainError> {
        let v: Value = self.call("eth_blockNumber", NO_PARAMS).await?;
        parse_quantity("eth_blockNumber", &v)
    }

    async fn client_version(&self) -> Result<String, ChainError> {
        self.call("web3_clientVersion", NO_PARAMS).await
    }

    async fn syncing(&self) -> Result<SyncStatus, ChainError> {
        let v: Value = self.call("eth_syncing", NO_PARAMS).await?;
        match &v {
            Value::Bool(false) => Ok(SyncStatus::Synced),
            Value::Object(o) => {
                let field = |k: &str| {
                    o.get(k)
                        .map(|x| parse_quantity("eth_syncing", x))
                        .unwrap_or(Ok(0))
                };
                Ok(SyncStatus::Syncing {
                    current: field("currentBlock")?,
                    highest: field("highestBlock")?,
                })
            }
            other => Err(ChainError::Decode {
                method: "eth_syncing".into(),
                reason: format!("expected false or an object, got {other}"),
            }),
        }
    }

    async fn peer_count(&self) -> Result<u64, ChainError> {
        let v: Value = self.call("net_peerCount", NO_PARAMS).await?;
        parse_quantity("net_peerCount", &v)
    }

    async fn subscribe_heads(
        &self,
        endpoint: &wemixvisor_core::HeadEndpoint,
    ) -> Result<Box<dyn wemixvisor_core::HeadStream>, ChainError> {
        match endpoint {
            wemixvisor_core::HeadEndpoint::Ipc(path) => {
                let heads = crate::heads::subscribe_ipc(path, self.timeout).await?;
                Ok(Box::new(heads))
            }
        }
    }

    async fn quorum_view(&self, since: u64) -> Result<wemixvisor_core::QuorumView, ChainError> {
        let validators = self.istanbul_validators(BlockTag::Latest).await?;
        let head = self.block_number().await?;
        let active = if head < since {
            0
        } else {
            // At most the node's default window of 64 blocks.
            let start = since.max(head.saturating_sub(63));
            let status = self.istanbul_status(Some((start, head))).await?;
            let sealed = status.sealed();
            validators
                .iter()
                .filter(|v| sealed.get(*v).is_some_and(|n| *n > 0))
                .count()
        };
        Ok(wemixvisor_core::QuorumView {
            validators: validators.len(),
            active,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{HttpResponse, HttpServer, RpcMock};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    fn client(url: &str) -> RpcChainClient {
        RpcChainClient::new(url, Duration::from_secs(5)).unwrap()
    }

    #[tokio::test]
    async fn block_number_decodes_hex() {
        let mock = RpcMock::start(|m, _| match m {
            "eth_blockNumber" => Ok(json!("0x1f")),
            _ => Err((
                -32601,
                format!("the method {m} does not exist/is not available"),
            )),
        });
        let c = client(&mock.url());
        assert_eq!(c.block_number().await.unwrap(), 31);
        assert_eq!(mock.calls()[0].0, "eth_blockNumber");
    }

    #[tokio::test]
    async fn empty_params_are_never_null() {
        let server = HttpServer::start(|req| {
            let body = String::from_utf8_lossy(&req.body).to_string();
            assert!(!body.contains(r#""params":null"#), "{body}");
            HttpResponse::json(r#"{"jsonrpc":"2.0","id":0,"result":"geth/v1"}"#)
        });
        let c = client(&server.url());
        assert_eq!(c.client_version().await.unwrap(), "geth/v1");
    }

    #[tokio::test]
    async fn method_not_found_is_unavailable_and_not_retried() {
        let mock = RpcMock::start(|m, _| {
            Err((
                -32601,
                format!("the method {m} does not exist/is not available"),
            ))
        });
        let c = client(&mock.url());
        let e = c.peer_count().await.unwrap_err();
        assert!(matches!(e, ChainError::MethodUnavailable { .. }), "{e:?}");
        assert_eq!(mock.count("net_peerCount"), 1);
    }

    #[tokio::test]
    async fn rpc_errors_are_not_retried() {
        let mock = RpcMock::start(|_, _| Err((-32000, "unknown block".into())));
        let c = client(&mock.url());
        let e = c.block_header(BlockTag::Number(99)).await.unwrap_err();
        assert!(
            matches!(&e, ChainError::Rpc { code: -32000, message, .. } if message == "unknown block"),
            "{e:?}"
        );
        assert_eq!(mock.count("eth_getBlockByNumber"), 1);
    }

    #[tokio::test]
    async fn refused_connection_is_unreachable_after_bounded_retries() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = RpcChainClient::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2))
            .unwrap();
        let t = Instant::now();
        let e = c.block_number().await.unwrap_err();
        assert!(matches!(e, ChainError::Unreachable { .. }), "{e:?}");
        // 3 attempts, 100 ms + 200 ms of backoff: well inside the timeout.
        assert!(
            t.elapsed() >= Duration::from_millis(300),
            "{:?}",
            t.elapsed()
        );
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[tokio::test]
    async fn transient_http_failure_is_retried_then_succeeds() {
        let hits = Arc::new(AtomicU32::new(0));
        let h = hits.clone();
        let server = HttpServer::start(move |_| {
            if h.fetch_add(1, Ordering::SeqCst) == 0 {
                HttpResponse::status(503, "busy")
            } else {
                HttpResponse::json(r#"{"jsonrpc":"2.0","id":0,"result":"0x2"}"#)
            }
        });
        let c = client(&server.url());
        assert_eq!(c.block_number().await.unwrap(), 2);
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        // With retries off, the first failure is final.
        hits.store(0, Ordering::SeqCst);
        let c = client(&server.url()).with_retry(RetryPolicy::none());
        assert!(matches!(
            c.block_number().await,
            Err(ChainError::Unreachable { .. })
        ));
    }

    #[tokio::test]
    async fn slow_node_times_out_within_the_budget() {
        let server = HttpServer::start(|_| {
            std::thread::sleep(Duration::from_millis(800));
            HttpResponse::json(r#"{"jsonrpc":"2.0","id":0,"result":"0x2"}"#)
        });
        let c = RpcChainClient::new(&server.url(), Duration::from_millis(300)).unwrap();
        let t = Instant::now();
        let e = c.block_number().await.unwrap_err();
        assert!(matches!(e, ChainError::Unreachable { .. }), "{e:?}");
        assert!(
            t.elapsed() < Duration::from_millis(700),
            "{:?}",
            t.elapsed()
        );
    }

    #[tokio::test]
    async fn quorum_view_counts_validators_sealing_since_the_height() {
        let a = "0x00000000000000000000000000000000000000aa";
        let b = "0x00000000000000000000000000000000000000bb";
        let c = "0x00000000000000000000000000000000000000cc";
        let d = "0x00000000000000000000000000000000000000dd";
        let mock = RpcMock::start(move |method, params| match method {
            "istanbul_getValidators" => Ok(json!([a, b, c, d])),
            "eth_blockNumber" => Ok(json!("0x64")),
            "istanbul_status" => {
                // the window asked for starts at the height
                assert_eq!(params[0], json!("0x5a"), "{params}");
                Ok(json!({"sealerActivity": {a: 3, b: 2}, "numBlocks": 11}))
            }
            other => panic!("unexpected {other}"),
        });
        let view = client(&mock.url()).quorum_view(90).await.unwrap();
        assert_eq!(
            view,
            wemixvisor_core::QuorumView {
                validators: 4,
                active: 2
            }
        );
        assert_eq!(view.quorum(), 3);
        assert!(!view.has_quorum());
        // nothing made since a height above the head
        let view = client(&mock.url()).quorum_view(200).await.unwrap();
        assert_eq!(view.active, 0);
    }

    #[tokio::test]
    async fn syncing_object_and_false() {
        let mock = RpcMock::start(|_, _| {
            Ok(json!({"currentBlock":"0x10","highestBlock":"0x20","extra":"0x1"}))
        });
        assert_eq!(
            client(&mock.url()).syncing().await.unwrap(),
            SyncStatus::Syncing {
                current: 16,
                highest: 32
            }
        );
        let mock = RpcMock::start(|_, _| Ok(json!(false)));
        assert_eq!(
            client(&mock.url()).syncing().await.unwrap(),
            SyncStatus::Synced
        );
    }

    #[tokio::test]
    async fn headers_logs_code_and_calls() {
        let mock = RpcMock::start(|m, p| match m {
            "eth_getBlockByNumber" if p[0] == json!("latest") => Ok(json!({
                "number": "0x10", "hash": format!("0x{}", "ab".repeat(32)),
                "parentHash": format!("0x{}", "cd".repeat(32)), "timestamp": "0x5f5e100",
                "miner": "0x00000000000000000000000000000000000000aa", "transactions": []
            })),
            "eth_getBlockByNumber" => Ok(Value::Null),
            "eth_getCode" => Ok(json!("0x6080")),
            "eth_call" => Ok(json!(
                "0x0000000000000000000000000000000000000000000000000000000000000007"
            )),
            "eth_getLogs" => Ok(json!([{
                "address": "0x0000000000000000000000000000000000001003",
                "topics": [format!("0x{}", "11".repeat(32))],
                "data": "0x",
                "blockNumber": "0x3", "blockHash": format!("0x{}", "22".repeat(32)),
                "transactionHash": format!("0x{}", "33".repeat(32)),
                "transactionIndex": "0x0", "logIndex": "0x1", "removed": false
            }])),
            _ => Err((-32601, "nope".into())),
        });
        let c = client(&mock.url());
        let h = c.block_header(BlockTag::Latest).await.unwrap().unwrap();
        assert_eq!((h.number, h.timestamp), (16, 100_000_000));
        assert!(c
            .block_header(BlockTag::Number(99))
            .await
            .unwrap()
            .is_none());
        assert_eq!(
            c.get_code(Address::ZERO, BlockTag::Latest)
                .await
                .unwrap()
                .len(),
            2
        );
        let ret = c
            .eth_call(Address::ZERO, Bytes::from_static(&[1, 2]), BlockTag::Latest)
            .await
            .unwrap();
        assert_eq!(ret[31], 7);
        let logs = c
            .get_logs(&LogFilter {
                address: Address::ZERO,
                from_block: 1,
                to_block: 9,
                topic0: vec![B256::repeat_byte(0x11)],
            })
            .await
            .unwrap();
        assert_eq!((logs[0].block_number, logs[0].log_index), (3, 1));
        let calls = mock.calls();
        let getlogs = calls.iter().find(|c| c.0 == "eth_getLogs").unwrap();
        assert_eq!(getlogs.1[0]["fromBlock"], "0x1");
        assert_eq!(getlogs.1[0]["toBlock"], "0x9");
        assert_eq!(
            getlogs.1[0]["topics"][0][0],
            format!("0x{}", "11".repeat(32))
        );
        let call = calls.iter().find(|c| c.0 == "eth_call").unwrap();
        assert_eq!(call.1[0]["data"], "0x0102");
    }

    #[test]
    fn bad_urls_are_refused() {
        assert!(RpcChainClient::new("ftp://x", Duration::from_secs(1)).is_err());
        assert!(RpcChainClient::new("not a url", Duration::from_secs(1)).is_err());
    }

    #[test]
    fn quantities() {
        assert_eq!(
            parse_quantity("m", &Value::String("0x0".into())).unwrap(),
            0
        );
        assert!(parse_quantity("m", &Value::String("12".into())).is_err());
        assert_eq!(parse_quantity("m", &serde_json::json!(12)).unwrap(), 12);
    }
}
