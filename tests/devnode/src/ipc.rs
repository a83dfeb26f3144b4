//! JSON-RPC over the IPC socket, as geth serves it: every namespace (IPC
//! is not limited by `--http.api`), requests and answers as JSON values one
//! after another on the stream (each answer followed by a newline), and
//! subscriptions: `eth_subscribe("newHeads")` answers a subscription id,
//! then each new block comes as an `eth_subscription` notification with
//! its header; `eth_unsubscribe(id)` answers whether it was live.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use crate::rpc::{respond, RpcState};

static NEXT_SUB: AtomicU64 = AtomicU64::new(1);

/// The socket file, removed when the server goes (as geth does).
#[derive(Debug)]
pub struct Endpoint {
    path: PathBuf,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the socket at `path` (a stale file left by a crash is replaced).
pub fn bind(path: &Path) -> std::io::Result<(UnixListener, Endpoint)> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let l = UnixListener::bind(path)?;
    Ok((
        l,
        Endpoint {
            path: path.to_path_buf(),
        },
    ))
}

/// Serves connections until `heads` closes (the node stops).
pub async fn serve(listener: UnixListener, state: Arc<RpcState>, heads: watch::Receiver<u64>) {
    let mut stop = heads.clone();
    loop {
        tokio::select! {
            conn = listener.accept() => match conn {
                Ok((s, _)) => {
                    tokio::spawn(connection(s, Arc::clone(&state), heads.clone()));
                }
                Err(e) => log!("WARN", "IPC accept failed err={e}"),
            },
            changed = stop.changed() => if changed.is_err() { return },
        }
    }
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// Answers one request, keeping this connection's subscriptions.
fn answer(state: &RpcState, subs: &mut Vec<String>, req: &Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let params = req.get("params").and_then(Value::as_array);
    match req.get("method").and_then(Value::as_str) {
        Some("eth_subscribe") => match params.and_then(|p| p.first()).and_then(Value::as_str) {
            Some("newHeads") => {
                let sub = format!("0x{:032x}", NEXT_SUB.fetch_add(1, Ordering::Relaxed));
                subs.push(sub.clone());
                json!({"jsonrpc": "2.0", "id": id, "result": sub})
            }
            Some(other) => error(
                id,
                -32602,
                &format!("no \"{other}\" subscription in eth namespace"),
            ),
            None => error(id, -32602, "expected subscription name as first argument"),
        },
        Some("eth_unsubscribe") => {
            let which = params.and_then(|p| p.first()).and_then(Value::as_str);
            let before = subs.len();
            subs.retain(|s| Some(s.as_str()) != which);
            json!({"jsonrpc": "2.0", "id": id, "result": subs.len() != before})
        }
        _ => respond(state, req),
    }
}

async fn connection(s: UnixStream, state: Arc<RpcState>, mut heads: watch::Receiver<u64>) {
    let (mut rd, mut wr) = s.into_split();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 4096];
    let mut subs: Vec<String> = Vec::new();
    heads.borrow_and_update();
    loop {
        let mut out = Vec::new();
        tokio::select! {
            n = rd.read(&mut chunk) => {
                let n = match n {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&chunk[..n]);
                let mut it = serde_json::Deserializer::from_slice(&buf).into_iter::<Value>();
                let mut used = 0;
                loop {
                    match it.next() {
                        Some(Ok(v)) => {
                            used = it.byte_offset();
                            let reply = match &v {
                                Value::Array(items) if !items.is_empty() => Value::Array(
                                    items.iter().map(|r| answer(&state, &mut subs, r)).collect(),
                                ),
                                Value::Object(_) => answer(&state, &mut subs, &v),
                                _ => error(Value::Null, -32600, "invalid request"),
                            };
                            out.push(reply);
                        }
                        Some(Err(e)) if e.is_eof() => break,
                        Some(Err(e)) => {
                            out.push(error(Value::Null, -32700, &format!("parse error: {e}")));
                            used = buf.len();
                            break;
                        }
                        None => {
                            used = it.byte_offset();
                            break;
                        }
                    }
                }
                buf.drain(..used);
            }
            changed = heads.changed() => {
                if changed.is_err() {
                    return;
                }
                let h = *heads.borrow_and_update();
                if subs.is_empty() {
                    continue;
                }
                let Some(header) = state.chain.block(h) else { continue };
                for sub in &subs {
                    out.push(json!({
                        "jsonrpc": "2.0",
                        "method": "eth_subscription",
                        "params": {"subscription": sub, "result": header},
                    }));
                }
            }
        }
        for v in out {
            let mut line = v.to_string().into_bytes();
            line.push(b'\n');
            if wr.write_all(&line).await.is_err() {
                return;
            }
        }
    }
}
