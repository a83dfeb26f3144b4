//! New heads pushed by the node: `eth_subscribe("newHeads")` over its IPC
//! socket (`geth.ipc`).
//!
//! Geth writes one JSON value after another on the socket (each followed by
//! a newline, which is not relied on): first the answer to the subscribe
//! call, then an `eth_subscription` notification per block. A reader task
//! keeps only the latest head in a `watch` channel, so a busy supervisor
//! never queues blocks; the task ends, and the stream with it, when the node
//! closes the socket (it stopped) or sends something that is not JSON-RPC.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::watch;
use wemixvisor_core::{ChainError, HeadStream};

use crate::client::parse_quantity;

/// Largest JSON value accepted on the socket (a header is about 600 bytes;
/// geth's own limit for a message is larger, but nothing the supervisor
/// asks for comes near this).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

const SUBSCRIBE_ID: u64 = 1;

/// A live `newHeads` subscription. Dropping it closes the connection,
/// which ends the subscription on the node's side.
#[derive(Debug)]
pub struct IpcHeads {
    rx: watch::Receiver<Option<u64>>,
    task: tokio::task::JoinHandle<()>,
    id: String,
}

impl IpcHeads {
    /// The subscription id the node gave.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for IpcHeads {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[async_trait]
impl HeadStream for IpcHeads {
    async fn next_head(&mut self) -> Option<u64> {
        self.rx.changed().await.ok()?;
        *self.rx.borrow_and_update()
    }
}

/// Reads JSON values off a byte stream, however the writes were split.
#[derive(Debug, Default)]
struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    /// The complete values in the buffer; the rest waits for more bytes.
    fn values(&mut self) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        let mut used = 0;
        let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
        loop {
            match it.next() {
                Some(Ok(v)) => {
                    used = it.byte_offset();
                    out.push(v);
                }
                Some(Err(e)) if e.is_eof() => break,
                Some(Err(e)) => return Err(format!("not JSON: {e}")),
                None => {
                    used = it.byte_offset();
                    break;
                }
            }
        }
        self.buf.drain(..used);
        if self.buf.len() > MAX_MESSAGE_BYTES {
            return Err(format!(
                "a message longer than {MAX_MESSAGE_BYTES} bytes; closing the subscription"
            ));
        }
        Ok(out)
    }
}

fn unreachable(path: &Path, reason: impl std::fmt::Display) -> ChainError {
    ChainError::Unreachable {
        url: format!("ipc:{}", path.display()),
        reason: reason.to_string(),
    }
}

/// The head in an `eth_subscription` notification for subscription `id`.
fn notified_head(v: &Value, id: &str) -> Option<Result<u64, ChainError>> {
    if v.get("method").and_then(Value::as_str) != Some("eth_subscription") {
        return None;
    }
    let params = v.get("params")?;
    if params.get("subscription").and_then(Value::as_str) != Some(id) {
        return None;
    }
    let number = params.get("result").and_then(|r| r.get("number"))?;
    Some(parse_quantity("eth_subscription", number))
}

/// Subscribes to `newHeads` on the IPC socket at `path`; connecting and
/// the node's answer must both come within `timeout`.
pub async fn subscribe_ipc(path: &Path, timeout: Duration) -> Result<IpcHeads, ChainError> {
    match tokio::time::timeout(timeout, subscribe_inner(path)).await {
        Ok(r) => r,
        Err(_) => Err(unreachable(
            path,
            format!("no answer to eth_subscribe within {timeout:?}"),
        )),
    }
}

async fn subscribe_inner(path: &Path) -> Result<IpcHeads, ChainError> {
    let mut sock = UnixStream::connect(path)
        .await
        .map_err(|e| unreachable(path, e))?;
    let req = json!({"jsonrpc": "2.0", "id": SUBSCRIBE_ID, "method": "eth_subscribe", "params": ["newHeads"]});
    let mut line = req.to_string().into_bytes();
    line.push(b'\n');
    sock.write_all(&line)
        .await
        .map_err(|e| unreachable(path, e))?;
    let mut framer = Framer::default();
    let mut chunk = vec![0u8; 4096];
    // Notifications cannot come before the answer (there is no
    // subscription yet), but anything else is skipped, not trusted.
    let id = 'answer: loop {
        let n = sock
            .read(&mut chunk)
            .await
            .map_err(|e| unreachable(path, e))?;
        if n == 0 {
            return Err(unreachable(path, "the node closed the connection"));
        }
        framer.buf.extend_from_slice(&chunk[..n]);
        for v in framer.values().map_err(|e| unreachable(path, e))? {
            if v.get("id").and_then(Value::as_u64) != Some(SUBSCRIBE_ID) {
                continue;
            }
            if let Some(err) = v.get("error") {
                let code = err.get("code").and_then(Value::as_i64).unwrap_or(0);
                let message = err
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if code == -32601 || message.contains("does not exist/is not available") {
                    return Err(ChainError::MethodUnavailable {
                        method: "eth_subscribe".into(),
                    });
                }
                return Err(ChainError::Rpc {
                    method: "eth_subscribe".into(),
                    code,
                    message,
                });
            }
            match v.get("result").and_then(Value::as_str) {
                Some(id) => break 'answer id.to_string(),
                None => {
                    return Err(ChainError::Decode {
                        method: "eth_subscribe".into(),
                        reason: format!("expected a subscription id, got {v}"),
                    })
                }
            }
        }
    };
    let (tx, rx) = watch::channel(None);
    let sub = id.clone();
    let task = tokio::spawn(async move {
        // Read whatever followed the answer in the same chunk first.
        let mut pending = framer.values().unwrap_or_default();
        loop {
            for v in pending.drain(..) {
                match notified_head(&v, &sub) {
                    Some(Ok(h)) => {
                        tx.send_replace(Some(h));
                    }
                    Some(Err(e)) => tracing::debug!(error = %e, "ignoring a malformed head"),
                    None => {}
                }
            }
            let n = match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            framer.buf.extend_from_slice(&chunk[..n]);
            match framer.values() {
                Ok(v) => pending = v,
                Err(e) => {
                    tracing::warn!(error = %e, "the node's head subscription sent garbage; it ends");
                    return;
                }
            }
        }
    });
    Ok(IpcHeads { rx, task, id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UnixListener;

    fn header(n: u64) -> String {
        format!("{{\"number\":\"{n:#x}\",\"hash\":\"0x00\",\"parentHash\":\"0x00\"}}")
    }

    fn note(sub: &str, n: u64) -> String {
        format!(
            "{{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{{\"subscription\":\"{sub}\",\"result\":{}}}}}\n",
            header(n)
        )
    }

    /// A fake IPC server: reads one request, checks it, then writes
    /// `script` in the pieces given (to split values across reads).
    async fn serve_once(listener: UnixListener, answer: String, script: Vec<String>) -> Value {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 1024];
        let mut got = Vec::new();
        let req = loop {
            let n = s.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
            if let Ok(v) = serde_json::from_slice::<Value>(got.trim_ascii_end()) {
                break v;
            }
        };
        s.write_all(answer.as_bytes()).await.unwrap();
        for piece in script {
            s.write_all(piece.as_bytes()).await.unwrap();
            s.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        req
    }

    fn sock() -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("geth.ipc");
        (d, p)
    }

    #[tokio::test]
    async fn yields_heads_split_across_reads_and_ends_with_the_connection() {
        let (_d, path) = sock();
        let listener = UnixListener::bind(&path).unwrap();
        let n7 = note("0xab", 7);
        let (a, b) = n7.split_at(25);
        let script = vec![
            // another subscription's notification is not ours
            note("0xother", 99),
            a.to_string(),
            b.to_string(),
            note("0xab", 8),
        ];
        let server = tokio::spawn(serve_once(
            listener,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0xab\"}\n".into(),
            script,
        ));
        let mut heads = subscribe_ipc(&path, Duration::from_secs(5)).await.unwrap();
        assert_eq!(heads.id(), "0xab");
        let mut seen = Vec::new();
        while let Some(h) = heads.next_head().await {
            seen.push(h);
        }
        // the latest head wins; 8 always arrives, 7 unless overtaken
        assert_eq!(seen.last(), Some(&8));
        assert!(seen.iter().all(|h| *h == 7 || *h == 8), "{seen:?}");
        let req = server.await.unwrap();
        assert_eq!(req["method"], "eth_subscribe");
        assert_eq!(req["params"], json!(["newHeads"]));
    }

    #[tokio::test]
    async fn a_node_without_subscriptions_says_so() {
        let (_d, path) = sock();
        let listener = UnixListener::bind(&path).unwrap();
        tokio::spawn(serve_once(
            listener,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,\"message\":\"the method eth_subscribe does not exist/is not available\"}}".into(),
            vec![],
        ));
        let e = subscribe_ipc(&path, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            matches!(e, ChainError::MethodUnavailable { ref method } if method == "eth_subscribe"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn no_socket_is_unreachable_and_silence_times_out() {
        let (_d, path) = sock();
        let e = subscribe_ipc(&path, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(e, ChainError::Unreachable { .. }), "{e}");
        // a server that accepts and never answers
        let listener = UnixListener::bind(&path).unwrap();
        let _hold = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(s);
        });
        let e = subscribe_ipc(&path, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no answer to eth_subscribe"), "{e}");
    }

    #[tokio::test]
    async fn garbage_after_the_answer_ends_the_stream() {
        let (_d, path) = sock();
        let listener = UnixListener::bind(&path).unwrap();
        tokio::spawn(serve_once(
            listener,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\"}".into(),
            vec![note("0x1", 3), "}} not json".into(), note("0x1", 4)],
        ));
        let mut heads = subscribe_ipc(&path, Duration::from_secs(5)).await.unwrap();
        let mut seen = Vec::new();
        while let Some(h) = heads.next_head().await {
            seen.push(h);
        }
        assert!(!seen.contains(&4), "{seen:?}");
    }

    #[test]
    fn framer_keeps_a_partial_value_for_the_next_read() {
        let mut f = Framer::default();
        f.buf.extend_from_slice(b"{\"a\":1}\n{\"b\":");
        let v = f.values().unwrap();
        assert_eq!(v, vec![json!({"a": 1})]);
        f.buf.extend_from_slice(b"2}");
        assert_eq!(f.values().unwrap(), vec![json!({"b": 2})]);
        assert!(f.buf.is_empty());
    }
}
