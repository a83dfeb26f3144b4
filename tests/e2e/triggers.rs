//! Bad trigger files never crash the supervisor or stop the node.

use std::time::Duration;

use wemixvisor_tests::*;

#[test]
fn half_written_invalid_and_unknown_upgrade_keep_the_node_running() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms");
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    wait_for(Duration::from_secs(20), || head(h.port).filter(|&n| n >= 1))
        .unwrap_or_else(|| panic!("no blocks\n{}", run.log()));
    let node = run.node_pid().expect("node pid");

    // Half-written: read again later, never acted on, nothing logged as error.
    h.write_upgrade_info(r#"{"name":"v2","hei"#);
    std::thread::sleep(Duration::from_millis(600));
    assert!(!run.log().contains("invalid upgrade-info"), "{}", run.log());

    // Invalid JSON: one clear error line, ignored.
    h.write_upgrade_info(r#"{"name": "v2",, "height": 1}"#);
    assert!(
        run.wait_log("invalid upgrade-info", Duration::from_secs(10)),
        "{}",
        run.log()
    );

    // Valid but names an upgrade with no binary: clear error, old node stays.
    h.write_upgrade_info(r#"{"name":"ghost","height":1}"#);
    assert!(
        run.wait_log("upgrades/ghost/bin/geth", Duration::from_secs(10)),
        "{}",
        run.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(run.node_pid(), Some(node), "the node was restarted");
    assert!(pid_alive(node));
    let before = head(h.port).unwrap();
    assert!(wait_for(Duration::from_secs(10), || head(h.port)
        .filter(|&n| n > before))
    .is_some());
    assert!(
        run.wait_exit(Duration::ZERO).is_none(),
        "supervisor died:\n{}",
        run.log()
    );
    assert!(h.current().ends_with("genesis"));

    // Installing the binary lets the blocked upgrade go ahead.
    h.install_upgrade("ghost", "v9.0.0", "--sim.block-period 100ms");
    let v = wait_for(Duration::from_secs(20), || {
        client_version(h.port).filter(|v| v.contains("v9.0.0"))
    });
    assert!(v.is_some(), "{}", run.log());
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}
