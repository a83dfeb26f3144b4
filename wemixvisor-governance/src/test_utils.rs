//! Test helpers: a tiny loopback HTTP server, a scripted JSON-RPC node built
//! on it, and a minisign signer for release manifests.
//!
//! Everything here is for tests only (`cfg(test)` or the `test-utils`
//! feature) and panics on setup failures, as tests do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

/// One request the test server received.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The body.
    pub body: Vec<u8>,
}

/// The answer to one request.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// `content-type`.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// 200 with a JSON body.
    pub fn json(body: impl Into<String>) -> Self {
        HttpResponse {
            status: 200,
            content_type: "application/json",
            body: body.into().into_bytes(),
        }
    }
    /// 200 with raw bytes.
    pub fn bytes(body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status: 200,
            content_type: "application/octet-stream",
            body: body.into(),
        }
    }
    /// Any status with a text body.
    pub fn status(status: u16, text: &str) -> Self {
        HttpResponse {
            status,
            content_type: "text/plain",
            body: text.as_bytes().to_vec(),
        }
    }
}

type Handler = dyn Fn(&HttpRequest) -> HttpResponse + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 answering every request with a handler;
/// one connection at a time, `connection: close`. Stops when dropped.
pub struct HttpServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Starts serving with `handler`.
    pub fn start(handler: impl Fn(&HttpRequest) -> HttpResponse + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind test server");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let h = handler.clone();
                // One thread per connection: a slow handler must not block
                // the retry of the next attempt.
                std::thread::spawn(move || serve_one(stream, &*h));
            }
        });
        HttpServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Serves fixed files: `path -> body`; anything else is 404.
    pub fn files(files: Vec<(String, Vec<u8>)>) -> Self {
        let files = Arc::new(Mutex::new(files));
        Self::start(move |req| {
            let path = req.path.split('?').next().unwrap_or("");
            let files = files.lock().unwrap();
            match files.iter().find(|(p, _)| p == path) {
                Some((_, body)) => HttpResponse::bytes(body.clone()),
                None => HttpResponse::status(404, "not found"),
            }
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_one(stream: TcpStream, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let resp = handler(&HttpRequest { method, path, body });
    let mut out = stream;
    let head = format!(
        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        resp.status,
        resp.content_type,
        resp.body.len()
    );
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&resp.body);
    let _ = out.flush();
}

/// What a [`RpcMock`] handler returns: a result, or a JSON-RPC error `(code, message)`.
pub type RpcAnswer = Result<Value, (i64, String)>;

/// A scripted JSON-RPC node: every request goes to a handler
/// `(method, params) -> answer`, and every call is recorded.
pub struct RpcMock {
    server: HttpServer,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl RpcMock {
    /// Starts a node answering with `handler`.
    pub fn start(handler: impl Fn(&str, &Value) -> RpcAnswer + Send + Sync + 'static) -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let log = calls.clone();
        let server = HttpServer::start(move |req| {
            let Ok(v) = serde_json::from_slice::<Value>(&req.body) else {
                return HttpResponse::json(
                    json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}})
                        .to_string(),
                );
            };
            let answer = |r: &Value| {
                let method = r["method"].as_str().unwrap_or("").to_string();
                let params = r.get("params").cloned().unwrap_or(Value::Null);
                log.lock().unwrap().push((method.clone(), params.clone()));
                match handler(&method, &params) {
                    Ok(result) => json!({"jsonrpc":"2.0","id":r["id"],"result":result}),
                    Err((code, message)) => {
                        json!({"jsonrpc":"2.0","id":r["id"],"error":{"code":code,"message":message}})
                    }
                }
            };
            let out = match &v {
                Value::Array(batch) => Value::Array(batch.iter().map(answer).collect()),
                single => answer(single),
            };
            HttpResponse::json(out.to_string())
        });
        RpcMock { server, calls }
    }

    /// The node's URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every call so far: `(method, params)`.
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }

    /// How often `method` was called.
    pub fn count(&self, method: &str) -> usize {
        self.calls().iter().filter(|(m, _)| m == method).count()
    }
}

/// A minisign key pair that signs release manifests the way `minisign -S` does.
pub struct ManifestSigner {
    pair: minisign::KeyPair,
}

impl std::fmt::Debug for ManifestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestSigner").finish_non_exhaustive()
    }
}

impl ManifestSigner {
    /// A fresh key pair.
    pub fn generate() -> Self {
        ManifestSigner {
            pair: minisign::KeyPair::generate_unencrypted_keypair().expect("generate key pair"),
        }
    }

    /// The public key in the base64 form `minisign -G` prints (`RW...`).
    pub fn public_key(&self) -> String {
        self.pair.pk.to_base64()
    }

    /// The public key as the two-line `.pub` file.
    pub fn public_key_file(&self) -> String {
        self.pair.pk.to_box().expect("public key box").into_string()
    }

    /// The `.minisig` text of `data` (pre-hashed, as minisign 0.10+ makes).
    pub fn sign(&self, data: &[u8]) -> String {
        minisign::sign(
            Some(&self.pair.pk),
            &self.pair.sk,
            std::io::Cursor::new(data),
            Some("timestamp:0\tfile:manifest.json"),
            Some("signature from wemixvisor test key"),
        )
        .expect("sign")
        .into_string()
    }
}
