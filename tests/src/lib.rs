//! Support for the end-to-end tests and the demo: built binaries, temporary
//! homes, a blocking JSON-RPC client, and a handle on a running supervisor
//! whose output is captured line by line.
//!
//! The supervisor and devnode come from other packages of the workspace, so
//! [`bins`] builds them once per test process (`cargo build` is a no-op when
//! they are up to date) and finds them in the target directory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use nix::sys::signal::Signal as Sig;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

/// Paths of the binaries under test.
#[derive(Debug)]
pub struct Bins {
    /// The supervisor.
    pub wemixvisor: PathBuf,
    /// The geth simulator.
    pub devnode: PathBuf,
    /// The `db_migrator` simulator (devnode datadir format 1 → 2).
    pub db_migrator: PathBuf,
}

/// Where the binaries under test are built. Under cargo-llvm-cov
/// (`CARGO_LLVM_COV` set) that is its own target directory, the one holding
/// `LLVM_PROFILE_FILE`: there the inherited `RUSTC_WRAPPER` builds them
/// instrumented, their profiles land next to the tests' own, and the report
/// finds their objects, so what the end-to-end tests exercise is counted.
fn target_dir() -> PathBuf {
    if std::env::var_os("CARGO_LLVM_COV").is_some() {
        if let Some(dir) = std::env::var_os("LLVM_PROFILE_FILE")
            .map(PathBuf::from)
            .and_then(|f| f.parent().map(Path::to_path_buf))
        {
            return dir;
        }
    }
    if let Ok(t) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(t);
    }
    // <workspace>/tests -> <workspace>/target
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|p| p.join("target"))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// How many times longer than written the tests wait for something:
/// `WEMIXVISOR_E2E_TIME_SCALE` when set, else 4 under cargo-llvm-cov (its
/// instrumented binaries and the profile writes make every step slower),
/// else 1. Only the deadlines grow; a test that passes does not wait longer.
pub fn time_scale() -> u32 {
    static SCALE: OnceLock<u32> = OnceLock::new();
    *SCALE.get_or_init(|| {
        let explicit = std::env::var("WEMIXVISOR_E2E_TIME_SCALE")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|&n| n >= 1);
        match explicit {
            Some(n) => n,
            None if std::env::var_os("CARGO_LLVM_COV").is_some() => 4,
            None => 1,
        }
    })
}

/// Builds (once) and returns the supervisor and devnode binaries.
pub fn bins() -> &'static Bins {
    static BINS: OnceLock<Bins> = OnceLock::new();
    BINS.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "wemixvisor-cli", "-p", "devnode"])
            .arg("--target-dir")
            .arg(target_dir())
            .args([
                "-p",
                "wemixvisor-tests",
                "--bin",
                "wemixvisor",
                "--bin",
                "devnode",
            ])
            .args(["--bin", "db_migrator"])
            .args(["--features", "wemixvisor-cli/fault-injection"])
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building wemixvisor and devnode failed");
        let dir = target_dir().join("debug");
        Bins {
            wemixvisor: dir.join("wemixvisor"),
            devnode: dir.join("devnode"),
            db_migrator: dir.join("db_migrator"),
        }
    })
}

/// A test tool `cargo xtask e2e-deps` installs at `rel` (below the
/// workspace's `.cache/`), if present.
///
/// Returns `None` (the caller skips, saying so) only when it is absent and
/// `WEMIXVISOR_REQUIRE_E2E` is not set; CI sets it, so there a missing tool
/// fails the test instead of skipping it.
pub fn e2e_tool(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.cache")
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var_os("WEMIXVISOR_REQUIRE_E2E").is_some() {
        panic!(
            "{rel} is required but missing at {}: run `cargo xtask e2e-deps`",
            p.display()
        );
    }
    eprintln!(
        "SKIP: {rel} not installed at {} (run `cargo xtask e2e-deps`)",
        p.display()
    );
    None
}

/// The anvil binary installed by `cargo xtask e2e-deps` (see [`e2e_tool`]).
pub fn anvil() -> Option<PathBuf> {
    e2e_tool("e2e/bin/anvil")
}

pub use wemixvisor_testkit::net::{free_port, FileServer};

/// One JSON-RPC call over HTTP; `Err` for connection failures and RPC errors.
pub fn rpc(port: u16, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        body
    )
    .map_err(|e| e.to_string())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).map_err(|e| e.to_string())?;
    let (_, payload) = resp.split_once("\r\n\r\n").ok_or("no HTTP body")?;
    let v: Value = serde_json::from_str(payload.trim()).map_err(|e| format!("{e}: {payload}"))?;
    if let Some(err) = v.get("error") {
        return Err(err.to_string());
    }
    Ok(v.get("result").cloned().unwrap_or(Value::Null))
}

/// `eth_blockNumber` as a number.
pub fn head(port: u16) -> Option<u64> {
    let v = rpc(port, "eth_blockNumber", json!([])).ok()?;
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

/// `web3_clientVersion`.
pub fn client_version(port: u16) -> Option<String> {
    rpc(port, "web3_clientVersion", json!([]))
        .ok()?
        .as_str()
        .map(str::to_string)
}

/// Polls `f` every 50 ms until it returns `Some`, or `timeout` (times
/// [`time_scale`]) passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout * time_scale();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes an executable `#!/bin/sh` script.
pub fn write_script(path: &Path, body: &str) {
    wemixvisor_testkit::scripts::write_script(path, body).expect("write script");
}

/// A temporary home with a port for the node's RPC.
pub struct TestHome {
    _dir: tempfile::TempDir,
    /// The home root.
    pub root: PathBuf,
    /// Port of the node's HTTP RPC.
    pub port: u16,
}

impl TestHome {
    /// The pid in the first line of `state/<name>` (`wemixvisor.pid`,
    /// `node.pid`), if the file is there and readable.
    pub fn state_pid(&self, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.root.join("state").join(name))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for TestHome {
    /// A test that failed half-way must not leave a background supervisor
    /// or its node running: stop what `start` left, by pid file.
    fn drop(&mut self) {
        let read_pid = |name: &str| self.state_pid(name);
        if let Some(sup) =
            read_pid("wemixvisor.pid").filter(|&p| p != std::process::id() && pid_alive(p))
        {
            let _ = kill(Pid::from_raw(sup as i32), Signal::SIGTERM);
            let _ = wait_for(Duration::from_secs(15), || (!pid_alive(sup)).then_some(()));
            if pid_alive(sup) {
                let _ = kill(Pid::from_raw(sup as i32), Signal::SIGKILL);
            }
        }
        if let Some(node) = read_pid("node.pid").filter(|&p| pid_alive(p)) {
            let _ = killpg(Pid::from_raw(node as i32), Signal::SIGKILL);
        }
    }
}

impl Default for TestHome {
    fn default() -> Self {
        Self::new()
    }
}

impl TestHome {
    /// A new, empty home (not initialised).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("home");
        TestHome {
            _dir: dir,
            root,
            port: free_port(),
        }
    }

    /// A scratch path beside the home.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self._dir.path().join(name)
    }

    /// `wemixvisor --home <root>` with a clean environment.
    pub fn wemixvisor(&self) -> Command {
        let mut c = Command::new(&bins().wemixvisor);
        c.arg("--home").arg(&self.root);
        for v in [
            "WEMIX_HOME",
            "DAEMON_HOME",
            "DAEMON_NAME",
            "DAEMON_RESTART_AFTER_UPGRADE",
            "DAEMON_SHUTDOWN_GRACE",
            "DAEMON_POLL_INTERVAL",
            "UNSAFE_SKIP_BACKUP",
            "DAEMON_DATA_BACKUP_DIR",
            "WEMIXVISOR_BACKUP_DIR",
            "COSMOVISOR_DISABLE_LOGS",
            "WEMIXVISOR_LOG_FORMAT",
        ] {
            c.env_remove(v);
        }
        c.env("NO_COLOR", "1");
        c
    }

    /// Runs `wemixvisor <args>` to completion; panics unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self
            .wemixvisor()
            .args(args)
            .output()
            .expect("run wemixvisor");
        assert!(
            out.status.success(),
            "wemixvisor {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A devnode wrapper script reporting `version`, with extra devnode args.
    pub fn devnode_script(&self, path: &Path, version: &str, extra: &str) {
        write_script(
            path,
            &format!(
                "exec '{}' --sim.version {version} {extra} \"$@\"",
                bins().devnode.display()
            ),
        );
    }

    /// `init devnet` with a devnode "v1" as genesis, RPC on [`Self::port`],
    /// and settings that keep tests fast.
    pub fn init_devnode(&self, v1_extra: &str) {
        let v1 = self.scratch("geth-v1");
        self.devnode_script(&v1, "v1.0.0", v1_extra);
        self.ok(&[
            "init",
            "devnet",
            "--binary",
            v1.to_str().expect("utf-8 path"),
        ]);
        self.fast_settings();
    }

    /// Short grace, poll interval and verification window (an upgrade is
    /// applied a few seconds after its switch), RPC on [`Self::port`].
    pub fn fast_settings(&self) {
        let url = format!("http://127.0.0.1:{}", self.port);
        for (k, v) in [
            ("node.rpc_url", url.as_str()),
            ("node.shutdown_grace", "5s"),
            ("upgrade.poll_interval", "100ms"),
            ("upgrade.verify_window", "3s"),
        ] {
            self.ok(&["config", "set", k, v]);
        }
    }

    /// Installs a devnode wrapper as `upgrades/<name>/bin/geth`.
    pub fn install_upgrade(&self, name: &str, version: &str, extra: &str) {
        let p = self
            .root
            .join("wemixvisor/upgrades")
            .join(name)
            .join("bin/geth");
        self.devnode_script(&p, version, extra);
    }

    /// Writes `chain-data/upgrade-info.json`.
    pub fn write_upgrade_info(&self, body: &str) {
        let p = self.root.join("chain-data/upgrade-info.json");
        std::fs::write(p, body).expect("write upgrade-info");
    }

    /// Where `current` points.
    pub fn current(&self) -> PathBuf {
        std::fs::read_link(self.root.join("wemixvisor/current")).expect("read current")
    }

    /// Starts `wemixvisor run <args>` with output captured.
    pub fn spawn_run(&self, args: &[&str]) -> Running {
        let mut cmd = self.wemixvisor();
        cmd.arg("run").args(args);
        Running::spawn(cmd, self.root.join("state/node.pid"), false)
    }
}

/// A running supervisor with its stdout and stderr captured.
pub struct Running {
    child: Child,
    log: Arc<Mutex<String>>,
    node_pid_file: PathBuf,
    status: Option<ExitStatus>,
}

impl Running {
    /// Spawns `cmd`, capturing its output (and echoing it when `echo`).
    pub fn spawn(mut cmd: Command, node_pid_file: PathBuf, echo: bool) -> Running {
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut child = cmd.spawn().expect("spawn wemixvisor");
        let log = Arc::new(Mutex::new(String::new()));
        let pipes: Vec<Box<dyn Read + Send>> = vec![
            Box::new(child.stdout.take().expect("stdout")),
            Box::new(child.stderr.take().expect("stderr")),
        ];
        for pipe in pipes {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if echo {
                        eprintln!("{line}");
                    }
                    if let Ok(mut l) = log.lock() {
                        l.push_str(&line);
                        l.push('\n');
                    }
                }
            });
        }
        Running {
            child,
            log,
            node_pid_file,
            status: None,
        }
    }

    /// Everything printed so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until the output contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_for(timeout, || self.log().contains(needle).then_some(())).is_some()
    }

    /// The supervisor's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The node's pid from `state/node.pid`.
    pub fn node_pid(&self) -> Option<u32> {
        // First line: the pid (then the program and its start time).
        std::fs::read_to_string(&self.node_pid_file)
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// Sends `sig` to the supervisor.
    pub fn signal(&self, sig: Signal) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), sig);
    }

    /// Waits for the supervisor to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.status {
            return Some(s);
        }
        let s = wait_for(timeout, || self.child.try_wait().ok().flatten());
        self.status = s;
        s
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.wait_exit(Duration::ZERO).is_none() {
            self.signal(Signal::SIGTERM);
            if self.wait_exit(Duration::from_secs(15)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        // Never leave a node behind, whatever the test did.
        if let Some(pid) = self.node_pid() {
            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}

/// Live (non-zombie) members of process group `pgid`, from `/proc`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // Fields after the command name (which may hold spaces): state ppid pgrp ...
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                return false;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            f.len() > 2 && f[0] != "Z" && f[2].parse::<u32>().ok() == Some(pgid)
        })
        .collect()
}

/// True when a process group with this id still has live members.
pub fn group_alive(pgid: u32) -> bool {
    !group_members(pgid).is_empty()
}

/// True when a process with this pid exists.
pub fn pid_alive(pid: u32) -> bool {
    matches!(
        kill(Pid::from_raw(pid as i32), None),
        Ok(()) | Err(nix::errno::Errno::EPERM)
    )
}

/// The devnode binary alone, built once per test process: for tests that
/// need a simulated node but not the supervisor.
pub fn devnode_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "devnode"])
            .arg("--target-dir")
            .arg(target_dir())
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building devnode failed");
        target_dir().join("debug").join("devnode")
    })
}

/// A node process (devnode or anvil) serving JSON-RPC on a free loopback
/// port, with its own temporary data directory; killed when dropped.
pub struct NodeProcess {
    child: Child,
    _dir: tempfile::TempDir,
    /// Its RPC port.
    pub port: u16,
}

impl NodeProcess {
    /// devnode with `--http` on a free port, a fresh datadir and `extra` flags;
    /// returns once it answers `eth_blockNumber`.
    pub fn devnode(extra: &[&str]) -> NodeProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut cmd = Command::new(devnode_bin());
        cmd.args(["--http", "--http.port", &port.to_string(), "--sim.quiet"])
            .arg("--datadir")
            .arg(dir.path().join("data"))
            .args(extra);
        NodeProcess::spawn(cmd, dir, port)
    }

    /// anvil (automine) on a free port; returns once it answers.
    pub fn anvil(bin: &Path) -> NodeProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["--port", &port.to_string(), "--silent"]);
        NodeProcess::spawn(cmd, dir, port)
    }

    fn spawn(mut cmd: Command, dir: tempfile::TempDir, port: u16) -> NodeProcess {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("spawn node");
        let node = NodeProcess {
            child,
            _dir: dir,
            port,
        };
        wait_for(Duration::from_secs(20), || head(port))
            .unwrap_or_else(|| panic!("node on port {port} never answered"));
        node
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One JSON-RPC call; panics on an error answer.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        let shown = params.to_string();
        rpc(self.port, method, params).unwrap_or_else(|e| panic!("{method} {shown} failed: {e}"))
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Upgrade pipeline support (tests/e2e/pipeline*.rs).

impl TestHome {
    /// Starts `wemixvisor run <args>` with extra environment variables.
    pub fn spawn_run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut cmd = self.wemixvisor();
        cmd.arg("run").args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        // A crash test's abort may dump core into the working directory:
        // keep it inside the temporary directory.
        cmd.current_dir(self._dir.path());
        Running::spawn(cmd, self.root.join("state/node.pid"), false)
    }

    /// Runs `wemixvisor <args>` to completion, whatever its exit code.
    pub fn output(&self, args: &[&str]) -> std::process::Output {
        self.wemixvisor()
            .args(args)
            .output()
            .expect("run wemixvisor")
    }

    /// `wemixvisor upgrade status --json`, parsed.
    pub fn upgrade_status(&self) -> Value {
        let out = self.ok(&["upgrade", "status", "--json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad status JSON ({e}): {out}"))
    }

    /// The queued plan `name` from `upgrade status --json`.
    pub fn queued(&self, name: &str) -> Option<Value> {
        self.upgrade_status()["plans"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
    }

    /// The plan `name` as `governance/upgrade-queue.json` holds it (read
    /// directly: cheap enough to poll).
    pub fn queue_entry(&self, name: &str) -> Option<Value> {
        let text = std::fs::read_to_string(self.root.join("governance/upgrade-queue.json")).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        v["plans"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
    }

    /// `state/upgrade-journal.json` (`null` when absent or unreadable).
    pub fn journal(&self) -> Value {
        std::fs::read_to_string(self.root.join("state/upgrade-journal.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    }

    /// The head devnode saved in `chain-data/devnode/head`.
    pub fn saved_head(&self) -> Option<u64> {
        std::fs::read_to_string(self.root.join("chain-data/devnode/head"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// Pids of live devnode processes started with `--datadir <datadir>`.
pub fn nodes_on(datadir: &Path) -> Vec<u32> {
    let want = datadir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<String> = cmd
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let is_devnode = args.first().is_some_and(|a| a.ends_with("devnode"));
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| {
                    s.rsplit_once(')')
                        .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
                })
                .unwrap_or(true);
            is_devnode && !zombie && args.windows(2).any(|w| w[0] == "--datadir" && w[1] == want)
        })
        .collect()
}

/// sha256 of `data` in hex (through `sha256sum`).
pub fn sha256_hex(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(data)
        .expect("write to sha256sum");
    let out = child.wait_with_output().expect("sha256sum output");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}
