//! The upgrade pipeline end to end on devnode: batch plans, a head that
//! jumps past a height, verified downloads and their refusals, pre-flight
//! and flag migration, hooks, automatic and manual rollback.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use wemixvisor_tests::*;

const BP: &str = "--sim.block-period 200ms --sim.quiet";

fn home() -> TestHome {
    let h = TestHome::new();
    h.init_devnode(BP);
    h.ok(&["config", "set", "upgrade.verify_timeout", "30s"]);
    h
}

fn started(h: &TestHome, run: &Running, at_least: u64) -> u64 {
    wait_for(Duration::from_secs(40), || {
        head(h.port).filter(|&n| n >= at_least)
    })
    .unwrap_or_else(|| panic!("node never produced blocks\n{}", run.log()))
}

fn banners(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("devnode starting"))
        .map(str::to_string)
        .collect()
}

fn state_of(v: &Option<Value>, field: &str) -> String {
    v.as_ref()
        .and_then(|p| p[field]["state"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn wait_state(h: &TestHome, run: &Running, name: &str, field: &str, want: &str) -> Value {
    wait_for(Duration::from_secs(90), || {
        let p = h.queue_entry(name);
        (state_of(&p, field) == want).then_some(p).flatten()
    })
    .unwrap_or_else(|| {
        panic!(
            "{name}.{field} never became {want}: {:#}\n{}",
            h.upgrade_status(),
            run.log()
        )
    })
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn batch_plan_applies_three_upgrades_in_order_with_the_head_continuing() {
    let h = home();
    for (n, v) in [("v2", "v2.0.0"), ("v3", "v3.0.0"), ("v4", "v4.0.0")] {
        h.install_upgrade(n, v, BP);
    }
    // A bad file is refused whole, every problem listed, exit 2.
    let bad = h.scratch("bad-plan.json");
    std::fs::write(
        &bad,
        r#"[{"name":"v2","height":50},{"name":"v3","height":40},{"name":"v2","height":60}]"#,
    )
    .unwrap();
    let out = h.output(&["upgrade", "plan", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("strictly increase") && err.contains("more than once"),
        "{err}"
    );
    assert!(h.upgrade_status()["plans"].as_array().unwrap().is_empty());

    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    std::fs::write(&bad, format!(r#"[{{"name":"v2","height":{start}}}]"#)).unwrap();
    let out = h.output(&["upgrade", "plan", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not above the current head"),
        "{}",
        stderr(&out)
    );

    let heights = [start + 15, start + 25, start + 35];
    let plan = h.scratch("plan.json");
    std::fs::write(
        &plan,
        format!(
            r#"[{{"name":"v2","height":{}}},{{"name":"v3","height":{}}},{{"name":"v4","height":{}}}]"#,
            heights[0], heights[1], heights[2]
        ),
    )
    .unwrap();
    let out = h.ok(&["upgrade", "plan", plan.to_str().unwrap()]);
    assert!(out.contains("queued 3 upgrade(s)"), "{out}");
    // prepared ahead, before the heights
    wait_state(&h, &run, "v4", "prepare", "prepared");
    let v = wait_for(Duration::from_secs(60), || {
        client_version(h.port).filter(|v| v.contains("v4.0.0"))
    });
    assert!(v.is_some(), "never reached v4\n{}", run.log());
    wait_state(&h, &run, "v4", "status", "applied");
    assert_eq!(h.current(), Path::new("upgrades/v4"));
    assert!(head(h.port).unwrap() >= heights[2], "the chain restarted");
    let log = run.log();
    let versions: Vec<String> = banners(&log)
        .iter()
        .filter_map(|b| {
            b.split("version=")
                .nth(1)?
                .split_whitespace()
                .next()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(versions, ["v1.0.0", "v2.0.0", "v3.0.0", "v4.0.0"], "{log}");
    for (name, height) in [("v2", heights[0]), ("v3", heights[1]), ("v4", heights[2])] {
        let p = h.queued(name).unwrap();
        assert_eq!(p["status"]["state"], "applied", "{p:#}");
        assert!(p["status"]["at_head"].as_u64().unwrap() >= height, "{p:#}");
    }
    let status = h.ok(&["upgrade", "status"]);
    assert!(
        status.contains("current:    v4") && status.contains("'v4' done"),
        "{status}"
    );
    run.signal(Sig::SIGTERM);
    assert!(run.wait_exit(Duration::from_secs(20)).is_some());
}

#[test]
fn a_plan_queued_while_down_is_applied_when_the_head_jumps_past_it() {
    let h = TestHome::new();
    let fast = "--sim.block-period 100ms --sim.quiet";
    h.init_devnode(fast);
    let port = h.port.to_string();
    {
        let mut run = h.spawn_run(&["--http.port", &port]);
        started(&h, &run, 5);
        std::thread::sleep(Duration::from_millis(300));
        run.signal(Sig::SIGTERM);
        assert!(run.wait_exit(Duration::from_secs(20)).unwrap().success());
    }
    // Nothing runs: the head comes from state/status.json.
    let h1 = h.upgrade_status()["head"]
        .as_u64()
        .expect("last head recorded");
    let target = h1 + 5;
    let v2 = h.scratch("geth-v2");
    h.devnode_script(&v2, "v2.0.0", fast);
    let out = h.ok(&[
        "upgrade",
        "add",
        "v2",
        "--binary",
        v2.to_str().unwrap(),
        "--height",
        &target.to_string(),
    ]);
    assert!(
        out.contains("queued upgrade 'v2'") && out.contains("state/status.json"),
        "{out}"
    );
    // No IPC, so no head subscription: heads are polled every 3 s while
    // blocks come every 100 ms, and the supervisor never sees the height
    // itself, only heads past it.
    h.ok(&["config", "set", "upgrade.poll_interval", "3s"]);
    let mut run = h.spawn_run(&["--http.port", &port, "--ipcdisable"]);
    let v = wait_for(Duration::from_secs(60), || {
        client_version(h.port).filter(|v| v.contains("v2.0.0"))
    });
    assert!(v.is_some(), "never switched\n{}", run.log());
    let p = wait_state(&h, &run, "v2", "status", "applied");
    assert!(p["status"]["at_head"].as_u64().unwrap() > target, "{p:#}");
    let b = banners(&run.log());
    assert_eq!(b.len(), 2, "{}", run.log());
    assert!(b[0].contains("version=v1.0.0") && b[1].contains("version=v2.0.0"));
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}

#[test]
fn downloads_are_verified_and_refusals_leave_nothing_and_the_old_node_running() {
    let h = home();
    h.ok(&["config", "set", "download.allowed_hosts", "127.0.0.1"]);
    h.ok(&["config", "set", "download.allow_download_binaries", "true"]);
    let v2 = h.scratch("geth-v2-dl");
    h.devnode_script(&v2, "v2.0.0", BP);
    let body = std::fs::read(&v2).unwrap();
    let sum = sha256_hex(&body);
    let srv = FileServer::start(vec![("/geth-v2", body)]).expect("file server");
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    let node = run.node_pid().expect("node pid");
    let far = (start + 10_000).to_string();
    let good_sum = format!("sha256:{sum}");
    let zero_sum = format!("sha256:{}", "0".repeat(64));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![srv.url("/geth-v2"), zero_sum.clone()],
            "checksum mismatch",
        ),
        (vec![srv.url("/missing"), good_sum.clone()], "HTTP 404"),
        (
            vec!["http://example.com/geth".into(), good_sum.clone()],
            "plain HTTP",
        ),
    ];
    for (args, want) in &cases {
        let out = h.output(&[
            "upgrade",
            "add",
            "v3",
            "--url",
            &args[0],
            "--checksum",
            &args[1],
            "--height",
            &far,
        ]);
        assert_eq!(out.status.code(), Some(1), "{want}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{want}: {}", stderr(&out));
    }
    assert!(stderr(&h.output(&[
        "upgrade",
        "add",
        "v3",
        "--url",
        &srv.url("/geth-v2"),
        "--checksum",
        &zero_sum
    ]))
    .contains(&sum));
    h.ok(&[
        "config",
        "set",
        "download.allowed_hosts",
        "releases.example.org",
    ]);
    let out = h.output(&[
        "upgrade",
        "add",
        "v3",
        "--url",
        &srv.url("/geth-v2"),
        "--checksum",
        &good_sum,
    ]);
    assert!(stderr(&out).contains("allowed_hosts"), "{}", stderr(&out));
    h.ok(&["config", "set", "download.allowed_hosts", "127.0.0.1"]);
    // nothing left behind, nothing queued, the old node untouched
    let left: Vec<String> = std::fs::read_dir(h.root.join("wemixvisor/upgrades"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(h.upgrade_status()["plans"].as_array().unwrap().is_empty());
    assert_eq!(run.node_pid(), Some(node));
    assert!(pid_alive(node));
    assert!(!srv
        .hits()
        .iter()
        .any(|p| p.contains("missing") && p != "/missing"));

    // The good one, through upgrade-info.json: fetched in the background,
    // verified, then switched at its height.
    let height = head(h.port).unwrap() + 15;
    h.write_upgrade_info(&format!(
        r#"{{"name":"v2","height":{height},"info":{{"binaries":{{"any":"{}?checksum=sha256:{sum}"}}}}}}"#,
        srv.url("/geth-v2")
    ));
    let p = wait_state(&h, &run, "v2", "prepare", "prepared");
    assert!(
        p["prepare"]["notes"]
            .to_string()
            .contains("downloaded from"),
        "{p:#}"
    );
    assert!(
        head(h.port).unwrap() < height,
        "prepared only at the height"
    );
    let v = wait_for(Duration::from_secs(60), || {
        client_version(h.port).filter(|v| v.contains("v2.0.0"))
    });
    assert!(v.is_some(), "{}", run.log());
    assert_eq!(h.current(), Path::new("upgrades/v2"));
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}

#[test]
fn a_new_binary_rejecting_a_current_flag_is_not_switched_to() {
    let h = home();
    h.install_upgrade(
        "v2",
        "v2.0.0",
        &format!("{BP} --sim.reject-flags passthrough.marker"),
    );
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port, "--passthrough.marker", "42"]);
    let start = started(&h, &run, 2);
    let node = run.node_pid().unwrap();
    let height = start + 5;
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{height}}}"#));
    let p = wait_state(&h, &run, "v2", "prepare", "failed");
    assert!(
        p["prepare"]["reason"]
            .as_str()
            .unwrap()
            .contains("does not accept --passthrough.marker"),
        "{p:#}"
    );
    wait_for(Duration::from_secs(40), || {
        head(h.port).filter(|&n| n >= height + 5)
    })
    .unwrap_or_else(|| panic!("{}", run.log()));
    assert!(client_version(h.port).unwrap().contains("v1.0.0"));
    assert_eq!(h.current(), Path::new("genesis"));
    assert_eq!(
        run.node_pid(),
        Some(node),
        "the node was halted for a plan that failed pre-flight"
    );
    // a due plan that cannot go ahead is loud: listed as blocked, with the
    // fix, and `upgrade status` exits 1
    let out = h.output(&["upgrade", "status"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("failed to prepare") && text.contains("--passthrough.marker"),
        "{text}"
    );
    assert!(
        text.contains("blocked:    'v2'") && text.contains("wemixvisor upgrade cancel v2"),
        "{text}"
    );
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}

#[test]
fn a_dropped_flag_is_migrated_and_stays_migrated_across_restarts() {
    let h = home();
    h.install_upgrade(
        "v2",
        "v2.0.0",
        &format!("{BP} --sim.reject-flags old.name,rpc"),
    );
    let port = h.port.to_string();
    let args = ["--http.port", &port, "--old.name", "node-7", "--rpc"];
    let env = [("WEMIXVISOR_FLAG_MIGRATIONS", "--old.name=--identity")];
    let mut run = h.spawn_run_env(&args, &env);
    let start = started(&h, &run, 2);
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{}}}"#, start + 8));
    let p = wait_state(&h, &run, "v2", "prepare", "prepared");
    let notes = p["prepare"]["notes"].to_string();
    assert!(
        notes.contains("--old.name -> --identity") && notes.contains("--rpc -> --http"),
        "{notes}"
    );
    // the migrated --identity shows in the new node's client version
    let v = wait_for(Duration::from_secs(60), || {
        client_version(h.port).filter(|v| v.contains("v2.0.0"))
    })
    .unwrap_or_else(|| panic!("{}", run.log()));
    assert!(v.contains("node-7"), "{v}");
    let b = banners(&run.log());
    let last = b.last().unwrap();
    assert!(
        last.contains("--identity node-7")
            && !last.contains("--old.name")
            && !last.contains("--rpc"),
        "{last}"
    );
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
    // Started again with the old arguments (and no rename configured): the
    // renames recorded for v2 still apply.
    let mut run = h.spawn_run(&args);
    let v = wait_for(Duration::from_secs(60), || client_version(h.port))
        .unwrap_or_else(|| panic!("{}", run.log()));
    assert!(
        v.contains("v2.0.0") && v.contains("node-7"),
        "{v}\n{}",
        run.log()
    );
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}

#[test]
fn the_pre_upgrade_hook_gets_its_environment_and_exit_30_aborts() {
    let h = home();
    h.install_upgrade("v2", "v2.0.0", BP);
    write_script(
        &h.root.join("wemixvisor/scripts/pre-upgrade"),
        "env | grep -E '^(WEMIX_HOME|DAEMON_HOME|DAEMON_NAME|UPGRADE_NAME|UPGRADE_HEIGHT|UPGRADE_INFO)=' | sort > \"$WEMIX_HOME/hook-env\"\nexit 30",
    );
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    let height = start + 5;
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{height}}}"#));
    wait_state(&h, &run, "v2", "status", "aborted");
    let v = wait_for(Duration::from_secs(60), || client_version(h.port))
        .unwrap_or_else(|| panic!("the old node did not come back\n{}", run.log()));
    assert!(v.contains("v1.0.0"), "{v}");
    assert_eq!(h.current(), Path::new("genesis"));
    let env = std::fs::read_to_string(h.root.join("hook-env")).unwrap();
    let root = h.root.display().to_string();
    for want in [
        format!("DAEMON_HOME={root}"),
        "DAEMON_NAME=geth".to_string(),
        format!("UPGRADE_HEIGHT={height}"),
        "UPGRADE_NAME=v2".to_string(),
        format!("WEMIX_HOME={root}"),
    ] {
        assert!(env.lines().any(|l| l == want), "{want} missing:\n{env}");
    }
    assert!(env.contains(r#"UPGRADE_INFO={"height":"#), "{env}");
    let audit = std::fs::read_to_string(h.root.join("state/audit.log")).unwrap();
    assert!(
        audit.contains(r#""action":"upgrade.aborted","target":"v2""#),
        "{audit}"
    );
    assert_eq!(nodes_on(&h.root.join("chain-data")).len(), 1);
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}

#[test]
fn a_new_binary_that_exits_at_once_is_rolled_back_automatically() {
    let h = home();
    h.install_upgrade("v2", "v2.0.0", &format!("{BP} --sim.exit-at-start 3"));
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{}}}"#, start + 5));
    let p = wait_state(&h, &run, "v2", "status", "rolled_back");
    assert!(
        p["status"]["reason"].as_str().unwrap().contains("exited"),
        "{p:#}"
    );
    let v = wait_for(Duration::from_secs(60), || client_version(h.port))
        .unwrap_or_else(|| panic!("{}", run.log()));
    assert!(v.contains("v1.0.0"), "{v}");
    assert_eq!(h.current(), Path::new("genesis"));
    let audit = std::fs::read_to_string(h.root.join("state/audit.log")).unwrap();
    assert!(
        audit.contains(
            r#""action":"upgrade.rolled-back","target":"v2","parameters":{"manual":"false""#
        ) && audit.contains(r#""to":"genesis"}"#),
        "{audit}"
    );
    assert_eq!(nodes_on(&h.root.join("chain-data")).len(), 1);
    let last = &h.upgrade_status()["last"];
    assert_eq!(last["outcome"], "rolled-back", "{last:#}");
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}

#[test]
fn manual_rollback_with_restore_data_brings_back_the_snapshot() {
    let h = home();
    h.install_upgrade("v2", "v2.0.0", BP);
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    let height = start + 5;
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{height}}}"#));
    wait_for(Duration::from_secs(60), || {
        client_version(h.port).filter(|v| v.contains("v2.0.0"))
    })
    .unwrap_or_else(|| panic!("{}", run.log()));
    wait_for(Duration::from_secs(60), || {
        head(h.port).filter(|&n| n >= height + 15)
    })
    .unwrap_or_else(|| panic!("{}", run.log()));
    // offline: the supervisor stops first (the online path is tested in
    // service::upgrade_rollback_goes_through_a_running_daemon)
    run.signal(Sig::SIGTERM);
    assert!(run.wait_exit(Duration::from_secs(20)).is_some());
    let before = h.saved_head().unwrap();
    assert!(before >= height + 15);

    let out = h.ok(&["upgrade", "rollback", "--restore-data"]);
    assert!(
        out.contains("current -> genesis") && out.contains("restored from snapshot"),
        "{out}"
    );
    assert_eq!(h.current(), Path::new("genesis"));
    let restored = h.saved_head().unwrap();
    assert!(
        restored <= height + 2 && restored < before,
        "head {restored} (before {before}, height {height})"
    );
    let st = h.upgrade_status();
    assert_eq!(st["last"]["manual"], true, "{st:#}");
    assert_eq!(h.queued("v2").unwrap()["status"]["state"], "rolled_back");

    // the old binary runs again and the rolled-back plan is not re-applied
    let mut run = h.spawn_run(&["--http.port", &port]);
    let v = wait_for(Duration::from_secs(60), || client_version(h.port)).unwrap();
    assert!(v.contains("v1.0.0"), "{v}");
    std::thread::sleep(Duration::from_millis(800));
    assert!(client_version(h.port).unwrap().contains("v1.0.0"));
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}

#[test]
fn a_halt_at_the_fork_height_longer_than_verify_timeout_is_waited_out() {
    let h = home();
    h.ok(&["config", "set", "upgrade.verify_timeout", "3s"]);
    h.ok(&["config", "set", "upgrade.verify_window", "20s"]);
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    let height = start + 6;
    // v2 halts at the fork height with 3 of 4 validators not back yet; they
    // arrive 12 s after it starts, four times verify_timeout
    h.install_upgrade(
        "v2",
        "v2.0.0",
        &format!("{BP} --sim.stall-at {height} --sim.resume-after 12s --sim.offline 1,2,3"),
    );
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{height}}}"#));
    // while it waits, `status` says what for, in JSON and to a human
    let waiting = wait_for(Duration::from_secs(60), || {
        let v: Value = serde_json::from_str(&h.ok(&["status", "--json"])).ok()?;
        let d = v["upgrade"]["verifying"]["detail"].as_str()?.to_string();
        d.contains("waiting for quorum: 1 of 4 validators")
            .then_some(v)
    })
    .unwrap_or_else(|| panic!("no 'waiting for quorum' in the status\n{}", run.log()));
    assert_eq!(waiting["upgrade"]["verifying"]["name"], "v2", "{waiting:#}");
    let text = h.ok(&["status"]);
    assert!(
        text.contains("verifying v2 until") && text.contains("waiting for quorum: 1 of 4"),
        "{text}"
    );
    let p = wait_state(&h, &run, "v2", "status", "applied");
    assert_eq!(h.current(), Path::new("upgrades/v2"), "{p:#}");
    let v = client_version(h.port).unwrap_or_default();
    assert!(v.contains("v2.0.0"), "{v}\n{}", run.log());
    assert!(head(h.port).unwrap_or(0) > height, "{}", run.log());
    let audit = std::fs::read_to_string(h.root.join("state/audit.log")).unwrap();
    assert!(!audit.contains("rolled-back"), "{audit}");
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}

#[test]
fn a_new_binary_that_crashes_inside_its_verification_window_is_rolled_back_with_its_data() {
    let h = home();
    h.ok(&["config", "set", "upgrade.verify_window", "60s"]);
    h.ok(&["config", "set", "upgrade.rollback_restore_data", "true"]);
    // passes its first checks (RPC, peers, blocks), then crashes
    h.install_upgrade("v2", "v2.0.0", &format!("{BP} --sim.crash-after 4s"));
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    let height = start + 5;
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{height}}}"#));
    wait_for(Duration::from_secs(60), || {
        client_version(h.port).filter(|v| v.contains("v2.0.0"))
    })
    .unwrap_or_else(|| panic!("v2 never ran\n{}", run.log()));
    let p = wait_state(&h, &run, "v2", "status", "rolled_back");
    let reason = p["status"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("exited") && reason.contains("verification window"),
        "{p:#}"
    );
    assert!(reason.contains("restored from snapshot"), "{p:#}");
    assert_eq!(h.current(), Path::new("genesis"));
    let v = wait_for(Duration::from_secs(60), || client_version(h.port))
        .unwrap_or_else(|| panic!("{}", run.log()));
    assert!(v.contains("v1.0.0"), "{v}");
    // the old node runs on and is not left for a crash loop of v2
    std::thread::sleep(Duration::from_secs(6));
    assert!(client_version(h.port)
        .unwrap_or_default()
        .contains("v1.0.0"));
    assert_eq!(nodes_on(&h.root.join("chain-data")).len(), 1);
    assert_eq!(
        run.log()
            .matches("simulated crash (--sim.crash-after)")
            .count(),
        1,
        "{}",
        run.log()
    );
    let st = h.upgrade_status();
    assert_eq!(st["last"]["outcome"], "rolled-back", "{st:#}");
    assert_eq!(st["last"]["manual"], false, "{st:#}");
    let status: Value = serde_json::from_str(&h.ok(&["status", "--json"])).unwrap();
    assert!(status["upgrade"]["verifying"].is_null(), "{status:#}");
    assert_eq!(status["node"]["binary"], "genesis", "{status:#}");
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}

#[test]
fn without_restart_after_upgrade_the_next_start_runs_and_verifies_the_new_binary() {
    let h = home();
    h.ok(&["config", "set", "upgrade.restart_after_upgrade", "false"]);
    h.install_upgrade("v2", "v2.0.0", BP);
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{}}}"#, start + 4));
    // switched, then wemixvisor ends with success and nothing runs
    let status = run
        .wait_exit(Duration::from_secs(60))
        .unwrap_or_else(|| panic!("wemixvisor did not exit after the switch\n{}", run.log()));
    assert!(status.success(), "{status:?}\n{}", run.log());
    assert_eq!(h.current(), Path::new("upgrades/v2"));
    assert!(nodes_on(&h.root.join("chain-data")).is_empty());
    assert_eq!(h.queued("v2").unwrap()["status"]["state"], "verifying");
    // started again (by the operator or the service manager), with the
    // same setting: the new binary runs, is verified, and the plan applied
    let mut run = h.spawn_run(&["--http.port", &port]);
    let p = wait_state(&h, &run, "v2", "status", "applied");
    assert!(h.journal()["active"].is_null(), "{p:#}");
    let v = client_version(h.port).unwrap_or_default();
    assert!(v.contains("v2.0.0"), "{v}\n{}", run.log());
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}

#[test]
fn the_pre_upgrade_snapshot_goes_to_daemon_data_backup_dir() {
    let h = home();
    let elsewhere = h.scratch("other-disk");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let dir = elsewhere.to_str().unwrap().to_string();
    let env = [("DAEMON_DATA_BACKUP_DIR", dir.as_str())];
    h.install_upgrade("v2", "v2.0.0", BP);
    let port = h.port.to_string();
    let mut run = h.spawn_run_env(&["--http.port", &port], &env);
    let start = started(&h, &run, 2);
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{}}}"#, start + 4));
    wait_state(&h, &run, "v2", "status", "applied");
    run.signal(Sig::SIGTERM);
    assert!(run.wait_exit(Duration::from_secs(20)).is_some());
    let listed = |p: &Path| -> Vec<String> {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let snaps = listed(&elsewhere.join("auto"));
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    assert!(snaps[0].contains("pre-upgrade-v2"), "{snaps:?}");
    assert!(listed(&h.root.join("backups/auto")).is_empty());
    // the backup commands see the same place
    let out = h
        .wemixvisor()
        .envs(env)
        .args(["backup", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("pre-upgrade-v2"),
        "{text}{}",
        stderr(&out)
    );
    // a relative directory is refused with the variable named
    let out = h
        .wemixvisor()
        .env("DAEMON_DATA_BACKUP_DIR", "bk")
        .args(["backup", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("DAEMON_DATA_BACKUP_DIR must be an absolute path"),
        "{}",
        stderr(&out)
    );
}
