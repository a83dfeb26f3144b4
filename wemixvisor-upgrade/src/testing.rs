//! Test support of this crate: a small HTTP/HTTPS file server on loopback
//! (HTTPS with a throw-away CA made by rcgen), scripted replies, and
//! node/chain doubles for the pipeline.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use wemixvisor_core::{
    ChainClient, ChainError, ExitInfo, LaunchSpec, NodeError, NodeProcess, NodeState, SyncStatus,
};

/// What the server answers on a path.
#[derive(Debug)]
pub enum Reply {
    /// 200 with this body.
    Ok(Vec<u8>),
    /// Announces the full length, sends `n` bytes, closes.
    Truncated(Vec<u8>, usize),
    /// First request truncated at `n`; later ones honour `Range`.
    TruncatedOnceThenRanges(Vec<u8>, usize, AtomicBool),
    /// 302 to this location.
    Redirect(String),
    /// 200 without `Content-Length`: this many zero bytes, then close.
    Unsized(u64),
    /// Announces this length and sends one byte per interval.
    Drip(usize, std::time::Duration),
}

impl Reply {
    /// 200 with `body`.
    pub fn ok(body: Vec<u8>) -> Self {
        Reply::Ok(body)
    }
    /// A body cut after `n` bytes.
    pub fn truncated(body: Vec<u8>, n: usize) -> Self {
        Reply::Truncated(body, n)
    }
    /// Cut once, then served with ranges.
    pub fn truncated_once_then_ranges(body: Vec<u8>, n: usize) -> Self {
        Reply::TruncatedOnceThenRanges(body, n, AtomicBool::new(false))
    }
    /// A redirect.
    pub fn redirect(to: &str) -> Self {
        Reply::Redirect(to.to_string())
    }
    /// `len` zero bytes with no `Content-Length`.
    pub fn unsized_zeros(len: u64) -> Self {
        Reply::Unsized(len)
    }
    /// One byte of an announced `len` every `every`.
    pub fn drip(len: usize, every: std::time::Duration) -> Self {
        Reply::Drip(len, every)
    }
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, Reply>>,
    hits: Mutex<Vec<(String, Option<String>)>>,
}

/// A loopback HTTP or HTTPS server for download tests.
pub struct TestServer {
    port: u16,
    tls: bool,
    ca_pem: String,
    state: Arc<State>,
}

fn tls_config() -> (Arc<rustls::ServerConfig>, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "wemixvisor test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);
    let srv_key = KeyPair::generate().expect("server key");
    let mut srv_params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("server params");
    srv_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let srv_cert = srv_params
        .signed_by(&srv_key, &issuer)
        .expect("server cert");
    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(srv_key.serialize_der()).expect("key der");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_no_client_auth()
        .with_single_cert(vec![srv_cert.der().clone()], key_der)
        .expect("server config");
    (Arc::new(cfg), ca_cert.pem())
}

impl TestServer {
    /// A plain HTTP server on 127.0.0.1.
    pub fn http() -> Self {
        Self::start(None)
    }

    /// An HTTPS server on 127.0.0.1 with a certificate from a fresh CA.
    pub fn https() -> Self {
        let (cfg, ca) = tls_config();
        let mut s = Self::start(Some(cfg));
        s.ca_pem = ca;
        s
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(State::default());
        let st = state.clone();
        let is_tls = tls.is_some();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let st = st.clone();
                let tls = tls.clone();
                std::thread::spawn(move || {
                    let _ = match tls {
                        Some(cfg) => match rustls::ServerConnection::new(cfg) {
                            Ok(conn) => {
                                let mut s = rustls::StreamOwned::new(conn, stream);
                                let r = handle(&mut s, &st);
                                s.conn.send_close_notify();
                                let _ = s.flush();
                                r
                            }
                            Err(_) => Ok(()),
                        },
                        None => {
                            let mut s = stream;
                            handle(&mut s, &st)
                        }
                    };
                });
            }
        });
        TestServer {
            port,
            tls: is_tls,
            ca_pem: String::new(),
            state,
        }
    }

    /// Serves `reply` on `path`.
    pub fn route(&self, path: &str, reply: Reply) {
        if let Ok(mut r) = self.state.routes.lock() {
            r.insert(path.to_string(), reply);
        }
    }

    /// The URL of `path` (which may carry a query).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// Requests seen for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .map(|h| h.iter().filter(|(p, _)| p == path).count())
            .unwrap_or(0)
    }

    /// `Range` headers seen for `path`.
    pub fn ranges(&self, path: &str) -> Vec<String> {
        self.state
            .hits
            .lock()
            .map(|h| {
                h.iter()
                    .filter(|(p, _)| p == path)
                    .filter_map(|(_, r)| r.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Writes the CA certificate into `dir` and returns its path.
    pub fn ca_pem_file(&self, dir: &Path) -> PathBuf {
        let p = dir.join("test-ca.pem");
        std::fs::write(&p, &self.ca_pem).expect("write ca");
        p
    }
}

fn handle<S: Read + Write>(s: &mut S, st: &State) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *s);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
        }
    }
    drop(reader);
    let target = first.split_whitespace().nth(1).unwrap_or("/").to_string();
    let path = target.split('?').next().unwrap_or("/").to_string();
    if let Ok(mut h) = st.hits.lock() {
        h.push((path.clone(), range.clone()));
    }
    let routes = st
        .routes
        .lock()
        .map_err(|_| std::io::Error::other("poisoned"))?;
    let head = |status: &str, len: usize, extra: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n{extra}\r\n")
    };
    match routes.get(&path) {
        Some(Reply::Unsized(len)) => {
            let len = *len;
            drop(routes);
            s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
            let chunk = [0u8; 64 * 1024];
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                s.write_all(&chunk[..n])?;
                left -= n as u64;
            }
        }
        Some(Reply::Drip(len, every)) => {
            let (len, every) = (*len, *every);
            drop(routes);
            s.write_all(head("200 OK", len, "").as_bytes())?;
            for _ in 0..len {
                s.write_all(b"x")?;
                s.flush()?;
                std::thread::sleep(every);
            }
        }
        None => s.write_all(head("404 Not Found", 0, "").as_bytes())?,
        Some(Reply::Ok(body)) => {
            s.write_all(head("200 OK", body.len(), "").as_bytes())?;
            s.write_all(body)?;
        }
        Some(Reply::Truncated(body, n)) => {
            s.write_all(head("200 OK", body.len(), "").as_bytes())?;
            s.write_all(&body[..*n])?;
        }
        Some(Reply::TruncatedOnceThenRanges(body, n, done)) => {
            let from = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
            match from {
                Some(from) if from < body.len() => {
                    let extra = format!(
                        "Accept-Ranges: bytes\r\nContent-Range: bytes {from}-{}/{}\r\n",
                        body.len() - 1,
                        body.len()
                    );
                    s.write_all(head("206 Partial Content", body.len() - from, &extra).as_bytes())?;
                    s.write_all(&body[from..])?;
                }
                _ => {
                    s.write_all(head("200 OK", body.len(), "Accept-Ranges: bytes\r\n").as_bytes())?;
                    if done.swap(true, Ordering::SeqCst) {
                        s.write_all(body)?;
                    } else {
                        s.write_all(&body[..*n])?;
                    }
                }
            }
        }
        Some(Reply::Redirect(to)) => {
            s.write_all(head("302 Found", 0, &format!("Location: {to}\r\n")).as_bytes())?;
        }
    }
    s.flush()
}

/// A chain whose head moves on by one at every `eth_blockNumber`, unless frozen.
#[derive(Debug, Clone, Default)]
pub struct TickingChain {
    head: Arc<AtomicU64>,
    frozen: Arc<AtomicBool>,
    quorum: Arc<Mutex<Option<wemixvisor_core::QuorumView>>>,
}

impl TickingChain {
    /// A chain standing at `head`.
    pub fn frozen_at(head: u64) -> Self {
        let c = TickingChain::default();
        c.head.store(head, Ordering::SeqCst);
        c.freeze(true);
        c
    }
    /// What `quorum_view` answers (`None`: the namespace is off).
    pub fn set_quorum(&self, active: usize, validators: usize) {
        if let Ok(mut q) = self.quorum.lock() {
            *q = Some(wemixvisor_core::QuorumView { validators, active });
        }
    }
    /// Stops (or restarts) the head.
    pub fn freeze(&self, f: bool) {
        self.frozen.store(f, Ordering::SeqCst);
    }
}

#[async_trait]
impl ChainClient for TickingChain {
    async fn block_number(&self) -> Result<u64, ChainError> {
        if self.frozen.load(Ordering::SeqCst) {
            Ok(self.head.load(Ordering::SeqCst))
        } else {
            Ok(self.head.fetch_add(1, Ordering::SeqCst) + 1)
        }
    }
    async fn client_version(&self) -> Result<String, ChainError> {
        Ok("Geth/test".into())
    }
    async fn syncing(&self) -> Result<SyncStatus, ChainError> {
        Ok(SyncStatus::Synced)
    }
    async fn peer_count(&self) -> Result<u64, ChainError> {
        Ok(1)
    }
    async fn quorum_view(&self, _since: u64) -> Result<wemixvisor_core::QuorumView, ChainError> {
        self.quorum
            .lock()
            .ok()
            .and_then(|q| *q)
            .ok_or_else(|| ChainError::MethodUnavailable {
                method: "istanbul_status".into(),
            })
    }
}

/// One call a [`ScriptedNode`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// Started from this program with these args.
    Start(PathBuf, Vec<String>),
    /// Stopped.
    Stop,
}

/// A node double: records calls, and "crashes" right after a start when
/// the resolved program is listed in `crashing`.
#[derive(Debug, Clone, Default)]
pub struct ScriptedNode {
    calls: Arc<Mutex<Vec<Call>>>,
    running: Arc<AtomicBool>,
    crashing: Arc<Mutex<Vec<PathBuf>>>,
    last_exit: Arc<Mutex<Option<ExitInfo>>>,
}

impl ScriptedNode {
    /// A node double that is running already.
    pub fn running() -> Self {
        let n = ScriptedNode::default();
        n.running.store(true, Ordering::SeqCst);
        n
    }
    /// Calls so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
    /// Any start whose program resolves to `bin` exits at once with code 1.
    pub fn crash_when_started_from(&self, bin: &Path) {
        if let Ok(mut c) = self.crashing.lock() {
            c.push(bin.canonicalize().unwrap_or_else(|_| bin.to_path_buf()));
        }
    }
    /// The running node exits on its own now (exit code 2).
    pub fn crash_now(&self) {
        if self.running.swap(false, Ordering::SeqCst) {
            if let Ok(mut e) = self.last_exit.lock() {
                *e = Some(ExitInfo {
                    code: Some(2),
                    signal: None,
                    requested: false,
                });
            }
        }
    }
    /// Is it running.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl NodeProcess for ScriptedNode {
    async fn start(&self, spec: &LaunchSpec) -> Result<u32, NodeError> {
        if self.running.load(Ordering::SeqCst) {
            return Err(NodeError::AlreadyRunning { pid: 1 });
        }
        let real = spec
            .program
            .canonicalize()
            .map_err(|_| NodeError::BinaryMissing {
                path: spec.program.clone(),
            })?;
        if let Ok(mut c) = self.calls.lock() {
            c.push(Call::Start(real.clone(), spec.args.clone()));
        }
        let crashes = self
            .crashing
            .lock()
            .map(|c| c.contains(&real))
            .unwrap_or(false);
        if crashes {
            if let Ok(mut e) = self.last_exit.lock() {
                *e = Some(ExitInfo {
                    code: Some(1),
                    signal: None,
                    requested: false,
                });
            }
        } else {
            self.running.store(true, Ordering::SeqCst);
        }
        Ok(42)
    }
    async fn stop(&self) -> Result<Option<ExitInfo>, NodeError> {
        if let Ok(mut c) = self.calls.lock() {
            c.push(Call::Stop);
        }
        Ok(self
            .running
            .swap(false, Ordering::SeqCst)
            .then_some(ExitInfo {
                code: Some(0),
                signal: None,
                requested: true,
            }))
    }
    async fn signal(&self, _signal: i32) -> Result<(), NodeError> {
        Ok(())
    }
    async fn wait(&self) -> Option<ExitInfo> {
        self.last_exit.lock().ok().and_then(|e| *e)
    }
    fn pid(&self) -> Option<u32> {
        self.running.load(Ordering::SeqCst).then_some(42)
    }
    fn state(&self) -> NodeState {
        if self.running.load(Ordering::SeqCst) {
            NodeState::Running
        } else {
            NodeState::Stopped
        }
    }
}

/// A geth stand-in (shell script):  `--help` lists `flags`; `<args> --version` fails like
/// geth on any flag not listed.
pub fn fake_geth(path: &Path, flags: &[&str]) {
    wemixvisor_testkit::scripts::fake_geth(path, flags).unwrap();
}
