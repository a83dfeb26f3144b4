//! Height-triggered upgrades of a devnode from v1 to v2.

use std::time::Duration;

use wemixvisor_tests::*;

#[test]
fn devnode_v1_to_v2_at_height_keeps_chain_and_args() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 200ms");
    h.install_upgrade("v2", "v2.0.0", "--sim.block-period 200ms");
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port, "--passthrough.marker", "42"]);

    let start = wait_for(Duration::from_secs(20), || head(h.port).filter(|&n| n >= 2))
        .unwrap_or_else(|| panic!("node never produced blocks\n{}", run.log()));
    assert!(client_version(h.port).unwrap().contains("v1.0.0"));
    let height = start + 5;
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{height},"info":""}}"#));

    let v = wait_for(Duration::from_secs(30), || {
        client_version(h.port).filter(|v| v.contains("v2.0.0"))
    });
    assert!(v.is_some(), "never switched to v2\n{}", run.log());
    assert_eq!(h.current(), std::path::Path::new("upgrades/v2"));
    let after = head(h.port).unwrap();
    assert!(
        after >= height,
        "head {after} < upgrade height {height}: the chain restarted"
    );
    let log = run.log();
    let banners: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("devnode starting"))
        .collect();
    assert_eq!(banners.len(), 2, "{log}");
    assert!(banners[0].contains("version=v1.0.0") && banners[1].contains("version=v2.0.0"));
    for b in &banners {
        assert!(b.contains("--passthrough.marker 42"), "args lost: {b}");
        assert!(b.contains(&format!("--http.port {port}")), "args lost: {b}");
    }
    let recorded =
        std::fs::read_to_string(h.root.join("wemixvisor/upgrades/v2/upgrade-info.json")).unwrap();
    assert!(recorded.contains(&height.to_string()));
    run.signal(Sig::SIGTERM);
    assert!(run.wait_exit(Duration::from_secs(20)).is_some());
}

#[test]
fn a_due_plan_at_start_up_is_applied_before_the_old_binary_runs() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms");
    let port = h.port.to_string();
    {
        let mut run = h.spawn_run(&["--http.port", &port]);
        wait_for(Duration::from_secs(20), || head(h.port).filter(|&n| n >= 8))
            .unwrap_or_else(|| panic!("no blocks\n{}", run.log()));
        // Give the supervisor a poll to record the head, then stop it.
        std::thread::sleep(Duration::from_millis(400));
        run.signal(Sig::SIGTERM);
        assert!(run.wait_exit(Duration::from_secs(20)).unwrap().success());
    }
    // While nothing ran, an upgrade whose height was already passed appeared.
    h.install_upgrade("v2", "v2.0.0", "--sim.block-period 100ms");
    h.write_upgrade_info(r#"{"name":"v2","height":3}"#);
    let mut run = h.spawn_run(&["--http.port", &port]);
    let v = wait_for(Duration::from_secs(20), || client_version(h.port));
    assert!(v.unwrap().contains("v2.0.0"), "{}", run.log());
    // The node answers before its banner has crossed the output pipe.
    assert!(
        run.wait_log("version=v2.0.0", Duration::from_secs(10)),
        "{}",
        run.log()
    );
    let log = run.log();
    let banners: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("devnode starting"))
        .collect();
    assert_eq!(banners.len(), 1, "the old binary ran again:\n{log}");
    assert!(banners[0].contains("version=v2.0.0"));
    run.signal(Sig::SIGTERM);
    run.wait_exit(Duration::from_secs(20));
}
