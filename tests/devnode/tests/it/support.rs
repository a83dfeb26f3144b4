//! Spawning devnode and talking to it: a child-process guard that captures
//! output line by line, and a tiny blocking HTTP/1.1 JSON-RPC client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

/// Path of the binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_devnode");

/// How long any single wait may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

type Lines = Arc<Mutex<Vec<String>>>;

fn capture(stream: impl Read + Send + 'static) -> Lines {
    let lines: Lines = Arc::default();
    let sink = Arc::clone(&lines);
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(l) => sink.lock().unwrap().push(l),
                Err(_) => break,
            }
        }
    });
    lines
}

/// A running devnode; killed (SIGKILL) and reaped on drop.
pub struct Node {
    child: Child,
    stdout: Lines,
    stderr: Lines,
    /// The port given with `--http.port`, if any.
    pub port: Option<u16>,
    status: Option<ExitStatus>,
}

impl Node {
    /// Starts `devnode --datadir <datadir> <args...>`.
    pub fn start(datadir: &Path, args: &[&str]) -> Node {
        let mut child = Command::new(BIN)
            .arg("--datadir")
            .arg(datadir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn devnode");
        let stdout = capture(child.stdout.take().expect("stdout"));
        let stderr = capture(child.stderr.take().expect("stderr"));
        let port = args
            .iter()
            .position(|a| *a == "--http.port")
            .and_then(|i| args.get(i + 1))
            .and_then(|p| p.parse().ok());
        Node {
            child,
            stdout,
            stderr,
            port,
            status: None,
        }
    }

    /// Starts a node with HTTP on a free port.
    pub fn start_http(datadir: &Path, extra: &[&str]) -> Node {
        let port = free_port().to_string();
        let mut args = vec!["--http", "--http.port", port.as_str()];
        args.extend_from_slice(extra);
        let node = Node::start(datadir, &args);
        node.wait_stderr("HTTP server started");
        node
    }

    /// The pid.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits i32")
    }

    /// Sends a signal.
    pub fn signal(&self, sig: Signal) {
        kill(Pid::from_raw(self.pid()), sig).expect("kill");
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Lines written to stdout so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits until stderr contains `needle`; panics with the log otherwise.
    pub fn wait_stderr(&self, needle: &str) {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if self.stderr().contains(needle) {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "timed out waiting for {needle:?} on stderr; got:\n{}",
            self.stderr()
        );
    }

    /// Waits for the process to exit (once the output readers are done too).
    pub fn wait_exit(&mut self) -> ExitStatus {
        if let Some(s) = self.status {
            return s;
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                self.status = Some(s);
                // Let the reader threads drain the pipes.
                thread::sleep(Duration::from_millis(50));
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "devnode did not exit; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.status.is_none() && self.child.try_wait().expect("try_wait").is_none()
    }

    /// JSON-RPC call; returns the whole response object.
    pub fn call(&self, method: &str, params: Value) -> Value {
        let port = self.port.expect("node started with --http.port");
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let (status, text) = http_post(port, &body.to_string());
        assert_eq!(status, 200, "HTTP status for {method}: {text}");
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("bad JSON from {method}: {e}: {text}"))
    }

    /// JSON-RPC call that must succeed; returns `result`.
    pub fn result(&self, method: &str, params: Value) -> Value {
        let r = self.call(method, params);
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        r["result"].clone()
    }

    /// Current head via `eth_blockNumber`.
    pub fn block_number(&self) -> u64 {
        hex_u64(&self.result("eth_blockNumber", json!([])))
    }

    /// Waits until the head reaches `height` (via RPC).
    pub fn wait_height(&self, height: u64) {
        let deadline = Instant::now() + TIMEOUT;
        while self.block_number() < height {
            assert!(Instant::now() < deadline, "head never reached {height}");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs devnode to completion (it must exit within the timeout).
pub fn run(datadir: &Path, args: &[&str]) -> (ExitStatus, Node) {
    let mut node = Node::start(datadir, args);
    let status = node.wait_exit();
    (status, node)
}

/// Runs the binary with exactly `args` (no `--datadir`), returning code, stdout, stderr.
pub fn run_bare(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run devnode");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A minimal blocking HTTP/1.1 POST; returns (status, body).
pub fn http_post(port: u16, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to devnode");
    s.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    (status, body.to_string())
}

/// `"0x1f"` → 31.
pub fn hex_u64(v: &Value) -> u64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("not a hex string: {v}"));
    u64::from_str_radix(s.strip_prefix("0x").expect("0x prefix"), 16).expect("hex quantity")
}

/// `<datadir>/devnode/<name>`.
pub fn state_file(datadir: &Path, name: &str) -> PathBuf {
    datadir.join("devnode").join(name)
}

/// The persisted head, if any.
pub fn saved_head(datadir: &Path) -> Option<u64> {
    std::fs::read_to_string(state_file(datadir, "head"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Waits until the persisted head reaches `height`.
pub fn wait_saved_head(datadir: &Path, height: u64) {
    let deadline = Instant::now() + TIMEOUT;
    while saved_head(datadir).unwrap_or(0) < height {
        assert!(
            Instant::now() < deadline,
            "saved head never reached {height}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}
