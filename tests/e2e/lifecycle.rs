//! Signals and graceful stop of the foreground supervisor.

use std::time::{Duration, Instant};

use wemixvisor_tests::*;

#[test]
fn sigterm_stops_the_node_gracefully_and_leaves_no_process() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms --sim.shutdown-delay 500ms");
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    wait_for(Duration::from_secs(20), || head(h.port))
        .unwrap_or_else(|| panic!("node never answered\n{}", run.log()));
    let node = run.node_pid().unwrap_or_else(|| {
        panic!(
            "node pid file: {:?}\n{}",
            std::fs::read_to_string(h.root.join("state/node.pid")),
            run.log()
        )
    });
    run.signal(Sig::SIGTERM);
    let status = run
        .wait_exit(Duration::from_secs(20))
        .expect("supervisor exits");
    assert_eq!(status.code(), Some(0), "{}", run.log());
    assert!(
        run.log().contains("Got interrupt, shutting down"),
        "node not stopped gracefully:\n{}",
        run.log()
    );
    assert!(
        !group_alive(node),
        "node group members left: {:?}",
        group_members(node)
    );
    assert!(!h.root.join("state/node.pid").exists());
    assert!(!h.root.join("state/wemixvisor.pid").exists());
    // devnode removes its lock on a clean exit
    assert!(!h.root.join("chain-data/devnode/LOCK").exists());
}

#[test]
fn a_node_ignoring_sigterm_is_killed_after_the_grace_period() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms --sim.ignore-sigterm");
    h.ok(&["config", "set", "node.shutdown_grace", "2s"]);
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    wait_for(Duration::from_secs(20), || head(h.port))
        .unwrap_or_else(|| panic!("node never answered\n{}", run.log()));
    let node = run.node_pid().expect("node pid file");
    let t = Instant::now();
    run.signal(Sig::SIGTERM);
    let status = run
        .wait_exit(Duration::from_secs(30))
        .expect("supervisor exits");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "killed before the grace: {took:?}"
    );
    assert!(
        took < Duration::from_secs(15) * time_scale(),
        "took {took:?}"
    );
    // 128 + SIGKILL: the node's own fate is the supervisor's exit code
    assert_eq!(status.code(), Some(137), "{}", run.log());
    assert!(run.log().contains("SIGKILL"), "{}", run.log());
    assert!(!group_alive(node));
}

#[test]
fn a_second_supervisor_on_the_same_home_is_refused() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms");
    let port = h.port.to_string();
    let _run = h.spawn_run(&["--http.port", &port]);
    wait_for(Duration::from_secs(20), || head(h.port)).expect("node up");
    let out = h
        .wemixvisor()
        .args(["run", "--http.port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already supervising"), "{err}");
}

#[test]
fn init_refuses_bad_binary_and_existing_home() {
    let h = TestHome::new();
    let missing = h.scratch("nope");
    let out = h
        .wemixvisor()
        .args(["init", "devnet", "--binary", missing.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be read"));

    let not_exec = h.scratch("plain");
    std::fs::write(&not_exec, "x").unwrap();
    let out = h
        .wemixvisor()
        .args(["init", "devnet", "--binary", not_exec.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not executable"));

    h.init_devnode("");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(h.root.join("wemixvisor"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(h.current(), std::path::Path::new("genesis"));
    assert!(h.root.join("wemixvisor/genesis/bin/geth").exists());
    let v1 = h.scratch("geth-v1");
    let out = h
        .wemixvisor()
        .args(["init", "devnet", "--binary", v1.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    h.ok(&[
        "init",
        "devnet",
        "--binary",
        v1.to_str().unwrap(),
        "--force",
    ]);
}
