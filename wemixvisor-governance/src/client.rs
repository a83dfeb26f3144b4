use std::time::Duration;

use alloy_json_rpc::RpcError;
use alloy_rpc_client::RpcClient;
use alloy_transport_http::reqwest::{self, Url};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use wemixvisor_core::{ChainClient, ChainError, SyncStatus};

use crate::GovernanceError;

/// JSON-RPC error code for "method not found".
const METHOD_NOT_FOUND: i64 = -32601;

/// An empty parameter list; never sent as `null`, which some servers reject.
const NO_PARAMS: [(); 0] = [];

/// [`ChainClient`] over HTTP JSON-RPC.
#[derive(Clone)]
pub struct RpcChainClient {
    url: String,
    client: RpcClient,
    timeout: Duration,
}

impl std::fmt::Debug for RpcChainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcChainClient")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RpcChainClient {
    /// A client for the node at `url` (http or https) with a per-call `timeout`.
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
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| GovernanceError::BadUrl {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        Ok(RpcChainClient {
            url: url.to_string(),
            client: RpcClient::new_http_with_client(http, parsed),
            timeout,
        })
    }

    /// The endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with `params` and decodes the result as `R`.
    pub async fn call<P, R>(&self, method: &'static str, params: P) -> Result<R, ChainError>
    where
        P: Serialize + Clone + Send + Sync + Unpin + std::fmt::Debug + 'static,
        R: DeserializeOwned + std::fmt::Debug + Send + Sync + Unpin + 'static,
    {
        let fut = self.client.request::<P, R>(method, params);
        match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => Err(ChainError::Unreachable {
                url: self.url.clone(),
                reason: format!("no answer to {method} within {:?}", self.timeout),
            }),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.classify(method, e)),
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
        self.call("web3_clientVersion", ()).await
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A one-shot HTTP server answering every request with `body`.
    fn serve(body: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = String::new();
            let mut buf = [0u8; 4096];
            // Read headers, then exactly content-length bytes of body.
            loop {
                let n = s.read(&mut buf).unwrap();
                req.push_str(&String::from_utf8_lossy(&buf[..n]));
                if let Some((head, body)) = req.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                body.len(),
                body
            );
            s.write_all(resp.as_bytes()).unwrap();
            req
        });
        (format!("http://{addr}"), h)
    }

    #[tokio::test]
    async fn block_number_decodes_hex() {
        let (url, h) = serve(r#"{"jsonrpc":"2.0","id":0,"result":"0x1f"}"#);
        let c = RpcChainClient::new(&url, Duration::from_secs(5)).unwrap();
        assert_eq!(c.block_number().await.unwrap(), 31);
        let req = h.join().unwrap();
        assert!(req.contains("eth_blockNumber"), "{req}");
        // An empty parameter list is left out, which JSON-RPC 2.0 allows.
        assert!(!req.contains(r#""params":null"#), "{req}");
    }

    #[tokio::test]
    async fn method_not_found_is_unavailable() {
        let (url, _h) = serve(
            r#"{"jsonrpc":"2.0","id":0,"error":{"code":-32601,"message":"the method istanbul_status does not exist/is not available"}}"#,
        );
        let c = RpcChainClient::new(&url, Duration::from_secs(5)).unwrap();
        let e = c.peer_count().await.unwrap_err();
        assert!(matches!(e, ChainError::MethodUnavailable { .. }), "{e:?}");
    }

    #[tokio::test]
    async fn refused_connection_is_unreachable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let c = RpcChainClient::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2))
            .unwrap();
        let e = c.block_number().await.unwrap_err();
        assert!(matches!(e, ChainError::Unreachable { .. }), "{e:?}");
    }

    #[tokio::test]
    async fn syncing_object_and_false() {
        let (url, _h) = serve(
            r#"{"jsonrpc":"2.0","id":0,"result":{"currentBlock":"0x10","highestBlock":"0x20"}}"#,
        );
        let c = RpcChainClient::new(&url, Duration::from_secs(5)).unwrap();
        assert_eq!(
            c.syncing().await.unwrap(),
            SyncStatus::Syncing {
                current: 16,
                highest: 32
            }
        );
        let (url, _h) = serve(r#"{"jsonrpc":"2.0","id":0,"result":false}"#);
        let c = RpcChainClient::new(&url, Duration::from_secs(5)).unwrap();
        assert_eq!(c.syncing().await.unwrap(), SyncStatus::Synced);
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
