//! The node as a service: background start/stop/restart, restart policy,
//! status, and the captured node log.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use wemixvisor_tests::*;

fn status_json(h: &TestHome) -> Value {
    serde_json::from_str(&h.ok(&["status", "--json"])).expect("status --json is JSON")
}

fn fast_restarts(h: &TestHome, max_restarts: &str) {
    for (k, v) in [
        ("restart.backoff_initial", "300ms"),
        ("restart.backoff_max", "600ms"),
        ("restart.max_restarts", max_restarts),
    ] {
        h.ok(&["config", "set", k, v]);
    }
}

#[test]
fn a_crash_is_restarted_with_the_same_args_and_a_new_pid() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms --sim.crash-at 6");
    fast_restarts(&h, "50");
    let port = h.port.to_string();
    let run = h.spawn_run(&["--http.port", &port, "--marker", "m1"]);
    let first = wait_for(Duration::from_secs(20), || run.node_pid()).expect("node pid");
    assert!(
        run.wait_log("simulated crash", Duration::from_secs(20)),
        "{}",
        run.log()
    );
    let second = wait_for(Duration::from_secs(20), || {
        run.node_pid().filter(|&p| p != first)
    })
    .unwrap_or_else(|| panic!("not restarted\n{}", run.log()));
    assert_ne!(first, second);
    let log = run.log();
    let banners: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("devnode starting"))
        .collect();
    assert!(banners.len() >= 2, "{log}");
    assert_eq!(
        banners[0].split("args=").nth(1),
        banners[1].split("args=").nth(1),
        "args changed across the restart"
    );
    assert!(banners[1].contains("--marker m1"));
    // the chain went on from where it crashed
    let head = wait_for(Duration::from_secs(10), || head(h.port)).expect("rpc after restart");
    assert!(head >= 6, "head {head}");
}

#[test]
fn a_crash_loop_ends_in_a_failed_state_without_a_hot_loop() {
    let h = TestHome::new();
    h.init_devnode("--sim.exit-at-start 3");
    fast_restarts(&h, "3");
    let port = h.port.to_string();
    let t = Instant::now();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let status = run.wait_exit(Duration::from_secs(30)).expect("gives up");
    let took = t.elapsed();
    assert_eq!(status.code(), Some(3), "{}", run.log());
    let log = run.log();
    let starts = log
        .lines()
        .filter(|l| l.contains("devnode starting"))
        .count();
    assert_eq!(starts, 4, "1 start + 3 restarts expected:\n{log}");
    // backoff 0, 300ms, 600ms: no hot loop
    assert!(
        took >= Duration::from_millis(850),
        "restarted too fast: {took:?}"
    );
    assert!(log.contains("giving up"), "{log}");
    let s = status_json(&h);
    assert_eq!(s["supervisor"]["state"], "failed", "{s}");
    assert!(
        s["supervisor"]["error"]
            .as_str()
            .unwrap()
            .contains("crashed 4 times"),
        "{s}"
    );
    assert_eq!(s["node"]["restarts"], 3);
    assert_eq!(s["node"]["last_exit"], "exit code 3");
}

#[test]
fn the_exit_code_passes_through_when_restarts_are_off() {
    let h = TestHome::new();
    h.init_devnode("--sim.exit-at-start 4");
    h.ok(&["config", "set", "restart.enabled", "false"]);
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let status = run.wait_exit(Duration::from_secs(20)).expect("exits");
    assert_eq!(status.code(), Some(4), "{}", run.log());
}

#[test]
fn start_status_restart_stop_and_a_second_start_is_refused() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms");
    let port = h.port.to_string();
    let out = h.ok(&[
        "start",
        "--node-options",
        "--identity demo-node",
        "--",
        "--http.port",
        &port,
    ]);
    assert!(out.contains("started"), "{out}");
    // returns only once the RPC answers
    assert!(head(h.port).is_some());
    let s = status_json(&h);
    assert_eq!(s["schema"], 1);
    assert_eq!(s["supervisor"]["state"], "running");
    assert_eq!(s["node"]["state"], "running");
    assert_eq!(s["node"]["binary"], "genesis");
    let node_pid = s["node"]["pid"].as_u64().unwrap() as u32;
    assert!(pid_alive(node_pid));
    let argv: Vec<&str> = s["node"]["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let joined = argv.join(" ");
    assert!(
        joined.contains("--identity demo-node") && joined.ends_with(&format!("--http.port {port}")),
        "{joined}"
    );
    for key in [
        "head",
        "peers",
        "syncing",
        "block_period_secs",
        "head_seen_at",
    ] {
        assert!(s["chain"].get(key).is_some(), "chain.{key} missing: {s}");
    }
    let v = wait_for(Duration::from_secs(10), || {
        let s = status_json(&h);
        s["node"]["client_version"].as_str().map(str::to_string)
    })
    .expect("client version in status");
    assert!(v.contains("v1.0.0"), "{v}");

    let again = h
        .wemixvisor()
        .args(["start", "--", "--http.port", &port])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already running"));

    let out = h.ok(&["restart"]);
    assert!(out.contains("node restarted"), "{out}");
    let s = status_json(&h);
    assert_ne!(s["node"]["pid"].as_u64().unwrap() as u32, node_pid);
    assert_eq!(s["node"]["restarts"], 1);
    assert!(!pid_alive(node_pid) || !group_alive(node_pid));

    let new_pid = s["node"]["pid"].as_u64().unwrap() as u32;
    let out = h.ok(&["stop"]);
    assert!(out.contains("stopped"), "{out}");
    assert!(!group_alive(new_pid));
    let s = status_json(&h);
    assert_eq!(s["supervisor"]["state"], "stopped");
    assert_eq!(s["node"]["state"], "stopped");
    assert!(s["node"]["pid"].is_null());
    // stop on a stopped home is fine
    h.ok(&["stop"]);
}

#[test]
fn start_failure_reports_the_reason_and_the_node_log() {
    let h = TestHome::new();
    h.init_devnode("--sim.exit-at-start 5");
    h.ok(&["config", "set", "restart.enabled", "false"]);
    let port = h.port.to_string();
    let out = h
        .wemixvisor()
        .args(["start", "--", "--http.port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exited during start-up"), "{err}");
    assert!(
        err.contains("devnode starting"),
        "node log lines missing: {err}"
    );
}

#[test]
fn after_kill_9_of_the_daemon_a_new_start_does_not_duplicate_the_node() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms");
    let port = h.port.to_string();
    h.ok(&["start", "--", "--http.port", &port]);
    let s = status_json(&h);
    let sup = s["supervisor"]["pid"].as_u64().unwrap() as u32;
    let node = s["node"]["pid"].as_u64().unwrap() as u32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(sup as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_for(Duration::from_secs(10), || (!pid_alive(sup)).then_some(())).is_some());
    assert!(
        pid_alive(node),
        "the node should have outlived its supervisor"
    );
    let s = status_json(&h);
    assert_eq!(s["node"]["state"], "orphaned", "{s}");

    h.ok(&["start", "--", "--http.port", &port]);
    assert!(
        !group_alive(node),
        "the old node still runs beside the new one"
    );
    let s = status_json(&h);
    assert_ne!(s["node"]["pid"].as_u64().unwrap() as u32, node);
    // devnode refuses a datadir in use, so a running new node proves one writer
    assert!(head(h.port).is_some());
    h.ok(&["stop"]);
}

/// Every flood line in the live log and the rotated ones, oldest first.
/// `None` while a rotated file is being compressed (read again then).
fn try_count_flood_lines(h: &TestHome) -> Option<(usize, Vec<u64>)> {
    let logs = h.root.join("chain-data/logs");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(logs.join("archived"))
        .ok()?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .ok()?;
    if files
        .iter()
        .any(|f| f.extension().is_some_and(|e| e == "partial"))
    {
        return None;
    }
    // A compressed copy replaces its plain file once complete.
    let gz: Vec<_> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "gz"))
        .cloned()
        .collect();
    files.retain(|f| {
        !gz.contains(&f.with_extension("log.gz")) || f.extension().is_some_and(|e| e == "gz")
    });
    files.sort();
    files.push(logs.join("geth.log"));
    let mut seqs = Vec::new();
    for f in &files {
        let file = std::fs::File::open(f).ok()?;
        let reader: Box<dyn Read> = if f.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::GzDecoder::new(file))
        } else {
            Box::new(file)
        };
        for line in BufReader::new(reader).lines() {
            let line = line.ok()?;
            if let Some(rest) = line.split(" LOG ").nth(1) {
                seqs.push(rest.split_whitespace().next()?.parse().ok()?);
            }
        }
    }
    Some((files.len(), seqs))
}

fn count_flood_lines(h: &TestHome) -> (usize, Vec<u64>) {
    wait_for(Duration::from_secs(10), || try_count_flood_lines(h)).expect("logs readable")
}

#[test]
fn rotation_under_a_log_flood_keeps_every_line() {
    let h = TestHome::new();
    const N: u64 = 200_000;
    h.init_devnode(&format!(
        "--sim.quiet --sim.flood-logs 0 --sim.flood-count {N} --sim.block-period 100ms"
    ));
    h.ok(&["config", "set", "log.node_log_max_mb", "2"]);
    h.ok(&["config", "set", "log.node_log_keep", "1000"]);
    let port = h.port.to_string();
    h.ok(&["start", "--", "--http.port", &port]);
    let done = wait_for(Duration::from_secs(60), || {
        let (_, seqs) = count_flood_lines(&h);
        (seqs.len() as u64 >= N).then_some(())
    });
    assert!(
        done.is_some(),
        "flood lines missing: {}",
        count_flood_lines(&h).1.len()
    );
    let (files, seqs) = count_flood_lines(&h);
    assert!(files > 3, "no rotation happened ({files} files)");
    assert_eq!(seqs.len() as u64, N);
    assert!(
        seqs.iter().enumerate().all(|(i, &s)| s == i as u64),
        "lines out of order or duplicated"
    );
    let archived_gz = wait_for(Duration::from_secs(10), || {
        let n = std::fs::read_dir(h.root.join("chain-data/logs/archived"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "gz")
            })
            .count();
        (n == files - 1).then_some(n)
    });
    assert!(
        archived_gz.is_some(),
        "rotated logs were not all compressed"
    );
    h.ok(&["stop"]);
}

#[test]
fn logs_follow_reads_every_line_across_rotations() {
    let h = TestHome::new();
    const N: u64 = 60_000;
    // ~20k lines per 2 MiB file at 40k lines/s: a rotation about every 0.5 s.
    h.init_devnode(&format!(
        "--sim.quiet --sim.flood-logs 40000 --sim.flood-count {N} --sim.block-period 100ms"
    ));
    h.ok(&["config", "set", "log.node_log_max_mb", "2"]);
    let port = h.port.to_string();

    // Following starts before the node (and its log) exists.
    let mut follow = h
        .wemixvisor()
        .args(["logs", "--follow", "--lines", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split(" LOG ").nth(1) {
                let seq: u64 = rest.split_whitespace().next().unwrap().parse().unwrap();
                if tx.send(seq).is_err() {
                    break;
                }
            }
        }
    });
    h.ok(&["start", "--", "--http.port", &port]);
    let mut seen = Vec::new();
    let end = Instant::now() + Duration::from_secs(60) * time_scale();
    while seen.last() != Some(&(N - 1)) && Instant::now() < end {
        if let Ok(s) = rx.recv_timeout(Duration::from_millis(500)) {
            seen.push(s);
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();
    let (files, _) = count_flood_lines(&h);
    assert!(files > 2, "no rotation happened");
    assert_eq!(seen.len() as u64, N, "logs --follow lost or repeated lines");
    assert!(
        seen.iter().enumerate().all(|(i, &s)| s == i as u64),
        "out of order"
    );
    h.ok(&["stop"]);
}

#[test]
fn status_works_with_no_daemon() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms");
    let s = status_json(&h);
    assert_eq!(s["supervisor"]["state"], "stopped");
    assert_eq!(s["node"]["state"], "stopped");
    assert_eq!(s["node"]["binary"], "genesis");
    let text = h.ok(&["status"]);
    assert!(text.contains("supervisor  stopped"), "{text}");
}

#[test]
fn supervisor_logs_as_json_or_not_at_all() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms --sim.quiet");
    let port = h.port.to_string();
    let mut cmd = h.wemixvisor();
    cmd.args(["--log-format", "json", "run", "--http.port", &port]);
    let mut run = Running::spawn(cmd, h.root.join("state/node.pid"), false);
    assert!(
        run.wait_log("\"node started\"", Duration::from_secs(20)),
        "{}",
        run.log()
    );
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20)).expect("exits");
    let json_lines: Vec<Value> = run
        .log()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .collect();
    assert!(
        json_lines
            .iter()
            .any(|v| v["fields"]["message"] == "node started"),
        "{}",
        run.log()
    );
    assert!(json_lines
        .iter()
        .all(|v| v["level"].is_string() && v["timestamp"].is_string()));

    let mut cmd = h.wemixvisor();
    cmd.env("COSMOVISOR_DISABLE_LOGS", "true")
        .args(["run", "--http.port", &port]);
    let mut run = Running::spawn(cmd, h.root.join("state/node.pid"), false);
    wait_for(Duration::from_secs(20), || head(h.port)).expect("node up");
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20)).expect("exits");
    let log = run.log();
    assert!(
        log.contains("devnode starting"),
        "node output must still show: {log}"
    );
    assert!(
        !log.contains("node started") && !log.contains("wemixvisor starting"),
        "{log}"
    );
}

#[test]
fn upgrade_rollback_goes_through_a_running_daemon() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms --sim.quiet");
    h.install_upgrade("v2", "v2.0.0", "--sim.block-period 100ms --sim.quiet");
    let port = h.port.to_string();
    h.ok(&["start", "--", "--http.port", &port]);
    let at = head(h.port).expect("head") + 3;
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{at}}}"#));
    wait_for(Duration::from_secs(30), || {
        client_version(h.port).filter(|v| v.contains("v2.0.0"))
    })
    .expect("upgraded to v2");
    let out = h.ok(&["upgrade", "rollback"]);
    assert!(out.contains("rolled back 'v2'"), "{out}");
    assert_eq!(h.current(), std::path::Path::new("genesis"));
    wait_for(Duration::from_secs(20), || {
        client_version(h.port).filter(|v| v.contains("v1.0.0"))
    })
    .expect("v1 running again under the same supervisor");
    let s = status_json(&h);
    assert_eq!(s["supervisor"]["state"], "running");
    assert_eq!(s["node"]["binary"], "genesis");
    h.ok(&["stop"]);
}
