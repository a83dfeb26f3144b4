//! The HTTP API as an operator meets it: a fresh `init`, `start` with TCP
//! on, the bearer token from `init`, the audit log, and a real Prometheus
//! (Debian `prometheus`) scraping `/metrics` and answering a query.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use wemixvisor_tests::*;

/// One HTTP request on 127.0.0.1; the status code and the body.
fn http(port: u16, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = if method == "GET" { "" } else { "{}" };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let code = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// The Prometheus server binary (Debian `prometheus`, installed by
/// `cargo xtask e2e-deps`); `None` (skip) only when not required.
fn prometheus() -> Option<PathBuf> {
    let found = Command::new("prometheus")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(PathBuf::from("prometheus"));
    }
    if std::env::var_os("WEMIXVISOR_REQUIRE_E2E").is_some() {
        panic!("prometheus is required but not on PATH: run `cargo xtask e2e-deps` (Debian package `prometheus`)");
    }
    eprintln!("SKIP: prometheus is not installed (Debian package `prometheus`)");
    None
}

/// A Prometheus server, killed when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Scrapes `target` every second with the token in `token_file`.
    fn start(bin: &Path, dir: &Path, target: u16, token_file: &Path) -> Prometheus {
        std::fs::create_dir_all(dir).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: wemixvisor\n    authorization:\n      credentials_file: {}\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n",
                token_file.display()
            ),
        )
        .unwrap();
        let port = free_port();
        let log = dir.join("prometheus.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start prometheus");
        Prometheus { child, port, log }
    }

    /// The first sample of an instant query, when there is one.
    fn query(&self, q: &str) -> Option<f64> {
        let q = q
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22")
            .replace('=', "%3D");
        let (code, body) = http(self.port, "GET", &format!("/api/v1/query?query={q}"), None);
        if code != 200 {
            return None;
        }
        let v: Value = serde_json::from_str(&body).ok()?;
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }
}

#[test]
fn init_start_api_with_and_without_token_prometheus_scrape_and_alertmanager_gets_the_give_up() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms");
    let token_file = h.root.join("wemixvisor/config/api-token");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&token_file)
            .expect("init writes the token")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(token.len(), 64);

    let api = free_port();
    h.ok(&["config", "set", "api.enabled_tcp", "true"]);
    h.ok(&["config", "set", "api.bind", &format!("127.0.0.1:{api}")]);
    // A real Alertmanager receives the alerts; a crash loop at the end must
    // reach it as node_gave_up.
    let am =
        crate::alerts::alertmanager_bin().map(|bin| crate::alerts::start_alertmanager(&bin, &h));
    if let Some(am) = &am {
        crate::alerts::give_up_fast_to(&h, am);
    }
    let port = h.port.to_string();
    h.ok(&["start", "--", "--http.port", &port]);

    // the socket is the local operator's, 0600
    let sock = h.root.join("state/wemixvisor.sock");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&sock).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    // the token on every route but /healthz
    assert_eq!(http(api, "GET", "/healthz", None).0, 200);
    let (code, body) = http(api, "GET", "/api/v1/status", None);
    assert_eq!(code, 401, "{body}");
    let err: Value = serde_json::from_str(&body).expect("JSON error");
    assert!(err["error"].is_string() && err["hint"].is_string(), "{err}");
    assert_eq!(http(api, "GET", "/api/v1/status", Some("wrong")).0, 401);
    assert_eq!(http(api, "GET", "/metrics", None).0, 401);
    assert_eq!(http(api, "POST", "/api/v1/restart", None).0, 401);
    let (code, body) = http(api, "GET", "/api/v1/status", Some(&token));
    assert_eq!(code, 200, "{body}");
    let st: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(st["node"]["state"], "running");
    for route in [
        "/api/v1/config",
        "/api/v1/upgrades",
        "/api/v1/upgrades/current",
        "/api/v1/backups",
        "/api/v1/governance/proposals",
        "/api/v1/consensus",
        "/api/v1/logs?lines=5",
    ] {
        let (code, body) = http(api, "GET", route, Some(&token));
        assert_eq!(code, 200, "{route}: {body}");
    }
    let (code, text) = http(api, "GET", "/metrics", Some(&token));
    assert_eq!(code, 200);
    assert!(text.contains("wemixvisor_node_up 1"), "{text}");

    // a command over TCP and one over the socket, each audited with its actor
    let (code, body) = http(api, "POST", "/api/v1/restart", Some(&token));
    assert_eq!(code, 200, "{body}");
    h.ok(&["restart"]);
    let audit = h.ok(&["audit", "--json", "--since", "10m"]);
    let entries: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit --json is JSON lines"))
        .collect();
    let restarts: Vec<&str> = entries
        .iter()
        .filter(|e| e["action"] == "node.restart" && e["result"] == "ok")
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert!(restarts.iter().any(|a| a.starts_with("token:")), "{audit}");
    assert!(restarts.iter().any(|a| a.starts_with("uid:")), "{audit}");
    assert!(
        !audit.contains(&token),
        "the token leaked into the audit log"
    );
    let human = h.ok(&["audit"]);
    assert!(human.contains("node.restart"), "{human}");

    // a real Prometheus scrapes with the token and answers a query
    if let Some(bin) = prometheus() {
        let prom = Prometheus::start(&bin, &h.scratch("prometheus"), api, &token_file);
        let head = wait_for(Duration::from_secs(40), || {
            prom.query("wemixvisor_chain_head_block")
                .filter(|v| *v > 0.0)
        });
        let log = std::fs::read_to_string(&prom.log).unwrap_or_default();
        assert!(head.is_some(), "no head through Prometheus\n{log}");
        assert_eq!(
            prom.query("up{job=\"wemixvisor\"}"),
            Some(1.0),
            "target down\n{log}"
        );
    }

    let Some(am) = am else {
        h.ok(&["stop"]);
        assert!(!sock.exists(), "the socket outlived the supervisor");
        return;
    };
    // A forced crash loop: the node is killed each time it is started
    // again until the supervisor gives up.
    let first_line = |name: &str| h.state_pid(name);
    let supervisor = first_line("wemixvisor.pid").expect("the supervisor's pid file");
    let mut last = 0;
    for _ in 0..10 {
        let next = wait_for(Duration::from_secs(20), || {
            if !pid_alive(supervisor) {
                return Some(None);
            }
            first_line("node.pid")
                .filter(|&p| p != last && pid_alive(p))
                .map(Some)
        })
        .flatten();
        let Some(node) = next else { break };
        last = node;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(node as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(
        wait_for(Duration::from_secs(30), || (!pid_alive(supervisor))
            .then_some(()))
        .is_some(),
        "the supervisor did not give up after the crash loop"
    );
    assert!(!sock.exists(), "the socket outlived the supervisor");
    let gave_up = wait_for(Duration::from_secs(15), || {
        let (code, body) = crate::alerts::http(am.port, "GET", "/api/v2/alerts", "")?;
        let v: Value = serde_json::from_str(&body).ok()?;
        let found = v
            .as_array()?
            .iter()
            .find(|a| a["labels"]["alertname"] == "node_gave_up")
            .cloned();
        (code == 200).then_some(found).flatten()
    })
    .unwrap_or_else(|| {
        panic!(
            "no node_gave_up alert in Alertmanager: {:?}",
            crate::alerts::http(am.port, "GET", "/api/v2/alerts", "")
        )
    });
    assert_eq!(gave_up["labels"]["severity"], "critical");
    assert_eq!(gave_up["status"]["state"], "active");
}

#[test]
fn a_non_loopback_bind_without_a_token_is_refused() {
    let h = TestHome::new();
    h.init_devnode("");
    h.ok(&["config", "set", "api.enabled_tcp", "true"]);
    h.ok(&["config", "set", "api.bind", "0.0.0.0:19876"]);
    let out = h
        .wemixvisor()
        .args(["config", "set", "api.token_file", ""])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("api.token_file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// schemathesis from the shared venv (`cargo xtask e2e-deps`); `None`
/// (skip) only when not required.
fn schemathesis() -> Option<PathBuf> {
    e2e_tool("venv/bin/schemathesis")
}

#[test]
fn the_running_daemon_keeps_its_openapi_contract() {
    let Some(st) = schemathesis() else {
        return;
    };
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms");
    let api = free_port();
    h.ok(&["config", "set", "api.enabled_tcp", "true"]);
    h.ok(&["config", "set", "api.bind", &format!("127.0.0.1:{api}")]);
    let port = h.port.to_string();
    h.ok(&["start", "--", "--http.port", &port]);
    let token = std::fs::read_to_string(h.root.join("wemixvisor/config/api-token")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let started = std::time::Instant::now();
    let out = Command::new(&st)
        .arg("--config-file")
        .arg(root.join("tests/e2e/schemathesis.toml"))
        .arg("run")
        .arg(root.join("docs/openapi.json"))
        .args(["--url", &format!("http://127.0.0.1:{api}")])
        .args(["-H", &format!("Authorization: Bearer {}", token.trim())])
        .args([
            "--max-examples",
            "30",
            "--request-timeout",
            "10",
            "--seed",
            "1",
        ])
        .args(["--phases", "examples,coverage,fuzzing", "-w", "2"])
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(h.scratch(""))
        .output()
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("schemathesis took {:.1?}", started.elapsed());
    assert!(
        out.status.success(),
        "the daemon does not keep docs/openapi.json:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("passed"), "{text}");
    // the daemon is still whole after the run
    let s: Value = serde_json::from_str(&h.ok(&["status", "--json"])).unwrap();
    assert_eq!(s["supervisor"]["state"], "running", "{s}");
    h.ok(&["stop"]);
}

#[test]
fn status_shows_the_next_fork_with_its_eta() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms --sim.fork dessert=100000");
    h.ok(&["config", "set", "governance.enabled", "true"]);
    h.ok(&["config", "set", "governance.poll_interval", "1s"]);
    let port = h.port.to_string();
    h.ok(&["start", "--", "--http.port", &port]);
    let shown = wait_for(Duration::from_secs(30), || {
        let out = h.ok(&["status"]);
        // the ETA appears once the block period has been observed
        (out.contains("forks       next dessert at height 100000") && out.contains("to go, about "))
            .then_some(out)
    });
    let out = shown.unwrap_or_else(|| h.ok(&["status"]));
    assert!(
        out.contains("forks       next dessert at height 100000, "),
        "{out}"
    );
    assert!(out.contains("blocks to go, about "), "{out}");
    assert!(out.contains("dessert 100000"), "{out}");
    h.ok(&["stop"]);
}
