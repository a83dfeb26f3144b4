//! The same upgrade flow with anvil, a real Ethereum JSON-RPC node, as the
//! supervised binary; `--state` keeps its chain across the switch-over.

use std::time::Duration;

use wemixvisor_tests::*;

#[test]
fn anvil_v1_to_v2_at_height_keeps_its_chain() {
    let Some(anvil) = anvil() else { return };
    let h = TestHome::new();
    let calls = h.scratch("calls.log");
    let wrapper = |version: &str| {
        format!(
            "echo \"{version} $*\" >> '{}'\nexec '{}' \"$@\"",
            calls.display(),
            anvil.display()
        )
    };
    let v1 = h.scratch("anvil-v1");
    write_script(&v1, &wrapper("v1"));
    h.ok(&["init", "devnet", "--binary", v1.to_str().unwrap()]);
    // anvil takes none of geth's options: no defaults from node-options.toml.
    std::fs::write(h.root.join("wemixvisor/config/node-options.toml"), "").unwrap();
    h.fast_settings();
    write_script(
        &h.root.join("wemixvisor/upgrades/v2/bin/geth"),
        &wrapper("v2"),
    );

    let state = h.root.join("chain-data/anvil-state.json");
    let port = h.port.to_string();
    let args = [
        "--port",
        &port,
        "--block-time",
        "1",
        "--state",
        state.to_str().unwrap(),
        "--silent",
    ];
    let mut run = h.spawn_run(&args);
    let start = wait_for(Duration::from_secs(30), || head(h.port).filter(|&n| n >= 2))
        .unwrap_or_else(|| panic!("anvil never mined\n{}", run.log()));
    let height = start + 3;
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{height}}}"#));

    // Node runs carry --state; pre-flight calls (`--help`, `... --version`) are not runs.
    let runs = |calls: &str| -> Vec<String> {
        calls
            .lines()
            .filter(|l| l.contains("--state") && !l.ends_with("--version"))
            .map(str::to_string)
            .collect()
    };
    let switched = wait_for(Duration::from_secs(40), || {
        let calls = std::fs::read_to_string(&calls).ok()?;
        let v2_running = runs(&calls).iter().any(|l| l.starts_with("v2 "));
        (v2_running && h.current() == std::path::Path::new("upgrades/v2")).then_some(())
    });
    assert!(switched.is_some(), "v2 never started\n{}", run.log());
    assert_eq!(h.current(), std::path::Path::new("upgrades/v2"));
    let after = wait_for(Duration::from_secs(20), || head(h.port))
        .unwrap_or_else(|| panic!("anvil v2 never answered\n{}", run.log()));
    assert!(
        after >= height,
        "head {after} < {height}: anvil's chain did not survive the switch"
    );
    let calls = std::fs::read_to_string(&calls).unwrap();
    let lines = runs(&calls);
    assert_eq!(lines.len(), 2, "{calls}");
    assert!(
        lines[0].starts_with("v1 ") && lines[1].starts_with("v2 "),
        "{calls}"
    );
    for l in &lines {
        assert!(
            l.contains(&format!("--port {port}")) && l.contains("--state"),
            "args lost: {l}"
        );
    }
    run.signal(Sig::SIGTERM);
    assert!(run.wait_exit(Duration::from_secs(30)).is_some());
}
