//! JSON-RPC 2.0 over HTTP, shaped like geth's.
//!
//! Every path accepts `POST` with a single request or a batch; `GET` with no
//! body answers 200 with an empty body (geth's health-check behaviour).
//! Errors: -32700 parse error, -32600 invalid request / empty batch,
//! -32601 `the method X does not exist/is not available`, -32602 invalid
//! params, -32000 for chain errors (`unknown block`, before the WBFT fork).
//!
//! `--http.api` limits the namespaces served, as in geth; without it devnode
//! serves all of them (`admin`, `eth`, `istanbul`, `net`, `rpc`, `web3`), so
//! tests need not pass it. `rpc_modules` is always served.
//!
//! Block parameters accept hex quantities (`"0x1f"`), decimal strings and
//! JSON numbers, and the tags `latest`, `pending`, `safe`, `finalized`
//! (= head) and `earliest` (= 0).

use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

use crate::chain::{hex, quantity, Chain, ChainError};

/// Every namespace devnode implements.
pub const NAMESPACES: &[&str] = &["admin", "eth", "istanbul", "net", "rpc", "web3"];

/// Everything the RPC handlers read.
#[derive(Debug, Clone)]
pub struct RpcState {
    /// The chain.
    pub chain: Arc<Chain>,
    /// `web3_clientVersion`, also `admin_nodeInfo.name`.
    pub client_version: String,
    /// Network id (= chain id).
    pub network_id: u64,
    /// `net_peerCount`.
    pub peers: u64,
    /// `eth_syncing` returns an object.
    pub syncing: bool,
    /// Served namespaces; `None` = all.
    pub apis: Option<Vec<String>>,
    /// p2p identity for `admin_nodeInfo`.
    pub node: NodeIdentity,
    /// `admin_nodeInfo.protocols.eth.config`.
    pub chain_config: Value,
}

/// The p2p identity reported by `admin_nodeInfo`.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    /// 32-byte node id, hex without `0x`.
    pub id: String,
    /// 64-byte public key, hex without `0x`.
    pub pubkey: String,
    /// p2p port (`--port`).
    pub port: u16,
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// Error code.
    pub code: i64,
    /// Message.
    pub message: String,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn not_found(method: &str) -> Self {
        Self::new(
            -32601,
            format!("the method {method} does not exist/is not available"),
        )
    }

    fn invalid_arg(index: usize, why: impl std::fmt::Display) -> Self {
        Self::new(-32602, format!("invalid argument {index}: {why}"))
    }
}

impl From<ChainError> for RpcError {
    fn from(e: ChainError) -> Self {
        Self::new(-32000, e.to_string())
    }
}

/// Serves JSON-RPC on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: Arc<RpcState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = Router::new().fallback(http_handler).with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn http_handler(State(state): State<Arc<RpcState>>, method: Method, body: Bytes) -> Response {
    if (method == Method::GET || method == Method::HEAD) && body.is_empty() {
        return StatusCode::OK.into_response();
    }
    if method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n").into_response();
    }
    match handle_body(&state, &body) {
        Some(v) => (
            [(header::CONTENT_TYPE, "application/json")],
            format!("{v}\n"),
        )
            .into_response(),
        None => StatusCode::OK.into_response(),
    }
}

fn error_response(id: Value, e: RpcError) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": e.code, "message": e.message } })
}

/// Answers one HTTP body: a single response, a batch of them, or `None`.
pub fn handle_body(state: &RpcState, body: &[u8]) -> Option<Value> {
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Some(error_response(
                Value::Null,
                RpcError::new(-32700, format!("parse error: {e}")),
            ));
        }
    };
    match parsed {
        Value::Array(items) if items.is_empty() => Some(error_response(
            Value::Null,
            RpcError::new(-32600, "empty batch"),
        )),
        Value::Array(items) => Some(Value::Array(
            items.iter().map(|r| respond(state, r)).collect(),
        )),
        single => Some(respond(state, &single)),
    }
}

/// Answers one request object.
pub fn respond(state: &RpcState, req: &Value) -> Value {
    let Some(obj) = req.as_object() else {
        return error_response(Value::Null, RpcError::new(-32600, "invalid request"));
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return error_response(id, RpcError::new(-32600, "invalid request"));
    }
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        return error_response(id, RpcError::new(-32600, "invalid request"));
    };
    let params = match obj.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return error_response(id, RpcError::new(-32602, "non-array args")),
    };
    match call(state, method, &params) {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(e) => error_response(id, e),
    }
}

impl RpcState {
    fn api_enabled(&self, namespace: &str) -> bool {
        namespace == "rpc"
            || match &self.apis {
                None => NAMESPACES.contains(&namespace),
                Some(list) => list.iter().any(|a| a == namespace),
            }
    }

    fn syncing_object(&self) -> Value {
        let head = self.chain.head();
        let zero = "0x0";
        json!({
            "startingBlock": quantity(self.chain.start_head()),
            "currentBlock": quantity(head),
            "highestBlock": quantity(head + 1000),
            "syncedAccounts": zero, "syncedAccountBytes": zero,
            "syncedBytecodes": zero, "syncedBytecodeBytes": zero,
            "syncedStorage": zero, "syncedStorageBytes": zero,
            "healedTrienodes": zero, "healedTrienodeBytes": zero,
            "healedBytecodes": zero, "healedBytecodeBytes": zero,
            "healingTrienodes": zero, "healingBytecode": zero,
            "txIndexFinishedBlocks": zero, "txIndexRemainingBlocks": zero,
        })
    }

    fn node_info(&self) -> Value {
        let port = self.node.port;
        json!({
            "id": self.node.id,
            "name": self.client_version,
            "enode": format!("enode://{}@127.0.0.1:{port}", self.node.pubkey),
            "enr": format!("enr:-devnode-{}", &self.node.id[..16.min(self.node.id.len())]),
            "ip": "127.0.0.1",
            "ports": { "discovery": port, "listener": port },
            "listenAddr": format!("[::]:{port}"),
            "protocols": {
                "eth": {
                    "network": self.network_id,
                    "genesis": self.chain.block_hash(0),
                    "config": self.chain_config,
                    "head": self.chain.block_hash(self.chain.head()),
                },
                "snap": {},
            },
        })
    }
}

fn arity(params: &[Value], max: usize) -> Result<(), RpcError> {
    if params.len() > max {
        Err(RpcError::new(
            -32602,
            format!("too many arguments, want at most {max}"),
        ))
    } else {
        Ok(())
    }
}

/// Parses block parameter `index`: `None` when absent or null.
fn opt_block(chain: &Chain, params: &[Value], index: usize) -> Result<Option<u64>, RpcError> {
    let Some(v) = params.get(index).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let head = chain.head();
    let n = match v {
        Value::Number(n) => n.as_u64().ok_or_else(|| {
            RpcError::invalid_arg(index, "block number must be a non-negative integer")
        })?,
        Value::String(s) => match s.as_str() {
            "latest" | "pending" | "safe" | "finalized" => head,
            "earliest" => 0,
            s => match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) if !hex.is_empty() => u64::from_str_radix(hex, 16).map_err(|_| {
                    RpcError::invalid_arg(index, format!("invalid hex quantity {s:?}"))
                })?,
                Some(_) => return Err(RpcError::invalid_arg(index, "hex string \"0x\"")),
                None => s.parse::<u64>().map_err(|_| {
                    RpcError::invalid_arg(index, format!("invalid block number {s:?}"))
                })?,
            },
        },
        _ => {
            return Err(RpcError::invalid_arg(
                index,
                "block number must be a string or a number",
            ))
        }
    };
    Ok(Some(n))
}

fn block_or_latest(chain: &Chain, params: &[Value], index: usize) -> Result<u64, RpcError> {
    Ok(opt_block(chain, params, index)?.unwrap_or_else(|| chain.head()))
}

/// Runs one method.
pub fn call(state: &RpcState, method: &str, params: &[Value]) -> Result<Value, RpcError> {
    let namespace = method.split_once('_').map_or("", |(ns, _)| ns);
    if !state.api_enabled(namespace) {
        return Err(RpcError::not_found(method));
    }
    let chain = &*state.chain;
    match method {
        "web3_clientVersion" => {
            arity(params, 0)?;
            Ok(json!(state.client_version))
        }
        "net_version" => {
            arity(params, 0)?;
            Ok(json!(state.network_id.to_string()))
        }
        "net_listening" => {
            arity(params, 0)?;
            Ok(json!(true))
        }
        "net_peerCount" => {
            arity(params, 0)?;
            Ok(json!(quantity(state.peers)))
        }
        "eth_blockNumber" => {
            arity(params, 0)?;
            Ok(json!(quantity(chain.head())))
        }
        "eth_chainId" => {
            arity(params, 0)?;
            Ok(json!(quantity(state.network_id)))
        }
        "eth_syncing" => {
            arity(params, 0)?;
            Ok(if state.syncing {
                state.syncing_object()
            } else {
                json!(false)
            })
        }
        "eth_getBlockByNumber" => {
            arity(params, 2)?;
            let n = opt_block(chain, params, 0)?
                .ok_or_else(|| RpcError::new(-32602, "missing value for required argument 0"))?;
            Ok(chain.block(n).unwrap_or(Value::Null))
        }
        "admin_nodeInfo" => {
            arity(params, 0)?;
            Ok(state.node_info())
        }
        "rpc_modules" => {
            arity(params, 0)?;
            let mut m = Map::new();
            for ns in NAMESPACES.iter().filter(|ns| state.api_enabled(ns)) {
                m.insert((*ns).to_string(), json!("1.0"));
            }
            Ok(Value::Object(m))
        }
        "istanbul_nodeAddress" => {
            arity(params, 0)?;
            Ok(json!(hex(&chain.spec().self_address)))
        }
        "istanbul_getValidators" => {
            arity(params, 1)?;
            Ok(json!(
                chain.validators_at(block_or_latest(chain, params, 0)?)?
            ))
        }
        "istanbul_isValidator" => {
            arity(params, 1)?;
            Ok(json!(
                chain.is_validator(block_or_latest(chain, params, 0)?)?
            ))
        }
        "istanbul_status" => {
            arity(params, 2)?;
            let start = opt_block(chain, params, 0)?;
            let end = opt_block(chain, params, 1)?;
            Ok(chain.status(start, end)?)
        }
        "istanbul_getWbftExtraInfo" => {
            arity(params, 1)?;
            Ok(chain.extra_info(block_or_latest(chain, params, 0)?)?)
        }
        "istanbul_getCommitSignersFromBlock" => {
            arity(params, 1)?;
            Ok(chain.commit_signers(block_or_latest(chain, params, 0)?)?)
        }
        _ => Err(RpcError::not_found(method)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{address_from, ChainSpec};
    use std::time::Duration;

    fn state(apis: Option<Vec<String>>) -> RpcState {
        let me = address_from("me");
        let spec = ChainSpec {
            chain_id: 1111,
            self_address: me,
            validators: ChainSpec::validator_set(me, 4, true),
            offline: Default::default(),
            round_changes: Default::default(),
            wbft_fork: 0,
            epoch_length: 10,
            period: Duration::from_secs(1),
        };
        RpcState {
            chain: Arc::new(Chain::new(spec, 30)),
            client_version: "Geth/v1.0.0/linux-amd64/go1.22".into(),
            network_id: 1111,
            peers: 3,
            syncing: false,
            apis,
            node: NodeIdentity {
                id: "ab".repeat(32),
                pubkey: "cd".repeat(64),
                port: 30303,
            },
            chain_config: json!({ "chainId": 1111 }),
        }
    }

    fn body(state: &RpcState, s: &str) -> Value {
        handle_body(state, s.as_bytes()).unwrap()
    }

    #[test]
    fn single_batch_and_errors() {
        let st = state(None);
        let r = body(
            &st,
            r#"{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber"}"#,
        );
        assert_eq!(r, json!({"jsonrpc":"2.0","id":7,"result":"0x1e"}));
        let r = body(
            &st,
            r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]},{"jsonrpc":"2.0","id":2,"method":"nope_x"}]"#,
        );
        assert_eq!(r[0]["result"], "0x457");
        assert_eq!(r[1]["error"]["code"], -32601);
        assert_eq!(
            r[1]["error"]["message"],
            "the method nope_x does not exist/is not available"
        );
        assert_eq!(body(&st, "{not json")["error"]["code"], -32700);
        assert_eq!(body(&st, "[]")["error"]["code"], -32600);
        let r = body(
            &st,
            r#"{"jsonrpc":"2.0","id":1,"method":"istanbul_getValidators","params":["bogus"]}"#,
        );
        assert_eq!(r["error"]["code"], -32602);
        let r = body(
            &st,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[1]}"#,
        );
        assert_eq!(r["error"]["code"], -32602);
        let r = body(
            &st,
            r#"{"jsonrpc":"2.0","id":1,"method":"istanbul_getWbftExtraInfo","params":["0x1f"]}"#,
        );
        assert_eq!(r["error"]["code"], -32000);
    }

    #[test]
    fn block_params() {
        let st = state(None);
        let c = &*st.chain;
        let p = |v: Value| opt_block(c, &[v], 0);
        assert_eq!(p(json!("0x10")), Ok(Some(16)));
        assert_eq!(p(json!("16")), Ok(Some(16)));
        assert_eq!(p(json!(16)), Ok(Some(16)));
        assert_eq!(p(json!("latest")), Ok(Some(30)));
        assert_eq!(p(json!("pending")), Ok(Some(30)));
        assert_eq!(p(json!("earliest")), Ok(Some(0)));
        assert_eq!(p(Value::Null), Ok(None));
        assert!(p(json!(-1)).is_err());
        assert!(p(json!("0xzz")).is_err());
    }

    #[test]
    fn http_api_limits_namespaces() {
        let st = state(Some(vec!["eth".into()]));
        assert!(call(&st, "eth_blockNumber", &[]).is_ok());
        assert_eq!(
            call(&st, "istanbul_nodeAddress", &[]).unwrap_err().code,
            -32601
        );
        assert!(call(&st, "rpc_modules", &[]).is_ok());
    }
}
