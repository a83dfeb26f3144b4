//! Alerts end to end: `alerts test` against a local receiver and a dead
//! sink, and a crash loop read back from a real Alertmanager.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use wemixvisor_tests::*;

/// A one-line HTTP/1.0 request (so the answer is never chunked); returns
/// the status code and the body.
pub(crate) fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let code = resp.split(' ').nth(1)?.parse().ok()?;
    let (_, payload) = resp.split_once("\r\n\r\n")?;
    Some((code, payload.to_string()))
}

/// A local webhook receiver: answers 200 to every request and keeps the bodies.
fn receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
    let port = l.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            let mut r = BufReader::new(conn);
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_ok() {
                keep.lock()
                    .expect("lock")
                    .push(String::from_utf8_lossy(&body).into_owned());
            }
            let _ = r
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (port, seen)
}

#[test]
fn alerts_test_reports_each_sink_and_fails_for_a_dead_one() {
    let h = TestHome::new();
    h.init_devnode("");
    let out = h.output(&["alerts", "test"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no alert sink is configured"), "{err}");
    assert!(err.contains("alerts.alertmanager_urls"), "{err}");

    let (port, seen) = receiver();
    let dead = free_port();
    h.ok(&[
        "config",
        "set",
        "alerts.webhook_urls",
        &format!("[\"http://127.0.0.1:{port}/hook\"]"),
    ]);
    h.ok(&["config", "set", "alerts.send_timeout", "2s"]);
    h.ok(&[
        "config",
        "set",
        "alerts.alertmanager_urls",
        &format!("[\"http://127.0.0.1:{dead}\"]"),
    ]);
    let out = h.output(&["alerts", "test"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("ok      webhook http://127.0.0.1:{port}/…")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("FAILED  alertmanager http://127.0.0.1:{dead}/…")),
        "{stdout}"
    );
    assert!(stdout.contains("Connection refused"), "{stdout}");
    assert!(
        !stdout.contains("/api/v2/alerts"),
        "only scheme and host are shown: {stdout}"
    );
    let bodies = seen.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let v: Value = serde_json::from_str(&bodies[0]).expect("json body");
    assert_eq!(v["status"], "test");
    assert_eq!(v["alert"]["rule"], "test");

    h.ok(&["config", "set", "alerts.alertmanager_urls", "[]"]);
    let out = h.output(&["alerts", "test"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = h.output(&["config", "set", "alerts.webhook_urls", "[\"hooks/x\"]"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("alerts.webhook_urls"), "{err}");
}

/// Alertmanager from `cargo xtask e2e-deps`; `None` (skip) only when it is
/// missing and `WEMIXVISOR_REQUIRE_E2E` is not set.
pub(crate) fn alertmanager_bin() -> Option<PathBuf> {
    e2e_tool("e2e/bin/alertmanager")
}

pub(crate) struct Alertmanager {
    child: Child,
    pub(crate) port: u16,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node that keeps crashing gives up within a second, and the alert goes
/// to `am`.
pub(crate) fn give_up_fast_to(h: &TestHome, am: &Alertmanager) {
    for (k, v) in [
        ("restart.backoff_initial", "100ms"),
        ("restart.backoff_max", "200ms"),
        ("restart.max_restarts", "2"),
        (
            "alerts.alertmanager_urls",
            &format!("[\"http://127.0.0.1:{}\"]", am.port),
        ),
    ] {
        h.ok(&["config", "set", k, v]);
    }
}

pub(crate) fn start_alertmanager(bin: &PathBuf, h: &TestHome) -> Alertmanager {
    let dir = h.scratch("alertmanager");
    std::fs::create_dir_all(dir.join("data")).expect("am dir");
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n",
    )
    .expect("am config");
    let port = free_port();
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alertmanager");
    let am = Alertmanager { child, port };
    wait_for(Duration::from_secs(20), || {
        http(port, "GET", "/-/ready", "").filter(|(c, _)| *c == 200)
    })
    .expect("alertmanager ready");
    am
}

#[test]
fn a_crash_loop_reaches_alertmanager_as_node_gave_up() {
    let Some(bin) = alertmanager_bin() else {
        return;
    };
    let h = TestHome::new();
    h.init_devnode("--sim.exit-at-start 3");
    let am = start_alertmanager(&bin, &h);
    give_up_fast_to(&h, &am);
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let status = run.wait_exit(Duration::from_secs(60)).expect("gives up");
    assert_eq!(status.code(), Some(3), "{}", run.log());
    let alerts = wait_for(Duration::from_secs(10), || {
        let (code, body) = http(am.port, "GET", "/api/v2/alerts", "")?;
        let v: Value = serde_json::from_str(&body).ok()?;
        (code == 200
            && v.as_array()?
                .iter()
                .any(|a| a["labels"]["alertname"] == "node_gave_up"))
        .then_some(v)
    })
    .unwrap_or_else(|| {
        panic!(
            "no node_gave_up alert in Alertmanager: {:?}\n{}",
            http(am.port, "GET", "/api/v2/alerts", ""),
            run.log()
        )
    });
    let gave_up = alerts
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|a| a["labels"]["alertname"] == "node_gave_up")
        })
        .expect("node_gave_up");
    assert_eq!(gave_up["labels"]["severity"], "critical");
    assert_eq!(gave_up["labels"]["job"], "wemixvisor");
    assert_eq!(gave_up["status"]["state"], "active");
    let summary = gave_up["annotations"]["summary"].as_str().unwrap_or("");
    assert!(summary.contains("stays down"), "{summary}");
    assert!(
        summary.contains("exit code 3"),
        "the last exit is named: {summary}"
    );
}
