//! Faults of the supervisor loop, through the binary: a stop during a
//! start-up upgrade step, a FIFO (and a link to `/dev/zero`) at the trigger
//! path, `reload`, and the peer count in `status` when it is low.

use std::time::{Duration, Instant};

use wemixvisor_tests::*;

const BP: &str = "--sim.block-period 200ms --sim.quiet";

fn status_json(h: &TestHome) -> serde_json::Value {
    let out = h.ok(&["status", "--json"]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("status --json: {e}\n{out}"))
}

#[test]
fn stop_during_a_start_up_pre_hook_exits_0_and_the_next_run_converges() {
    let h = TestHome::new();
    h.init_devnode(BP);
    h.install_upgrade("v2", "v2.0.0", BP);
    let port = h.port.to_string();
    // A first run makes blocks and leaves its head in the status file.
    let mut run = h.spawn_run(&["--http.port", &port]);
    wait_for(Duration::from_secs(20), || head(h.port).filter(|&n| n >= 3))
        .unwrap_or_else(|| panic!("no blocks\n{}", run.log()));
    run.signal(Sig::SIGTERM);
    assert_eq!(
        run.wait_exit(Duration::from_secs(30))
            .and_then(|s| s.code()),
        Some(0),
        "{}",
        run.log()
    );
    drop(run);
    // Its height passed while nothing watched: applied at the next start,
    // behind a slow pre-upgrade hook.
    h.write_upgrade_info(r#"{"name":"v2","height":2}"#);
    let hook = h.root.join("wemixvisor/scripts/pre-upgrade");
    let hook_pid = h.scratch("hook.pid");
    write_script(
        &hook,
        &format!("echo $$ > '{}'; exec sleep 120", hook_pid.display()),
    );
    let mut run = h.spawn_run(&["--http.port", &port]);
    let pid: u32 = wait_for(Duration::from_secs(30), || {
        std::fs::read_to_string(&hook_pid).ok()?.trim().parse().ok()
    })
    .unwrap_or_else(|| panic!("the hook never ran\n{}", run.log()));
    let t = Instant::now();
    // `stop` waits for the supervisor to be gone: reap it meanwhile (it is
    // this test's child, a zombie until waited for).
    let stop = h
        .wemixvisor()
        .arg("stop")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wemixvisor stop");
    let status = run
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("the supervisor did not stop\n{}", run.log()));
    assert_eq!(status.code(), Some(0), "{}", run.log());
    let out = stop.wait_with_output().expect("wemixvisor stop");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        run.log()
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("stopped"));
    assert!(
        t.elapsed() < Duration::from_secs(30) * time_scale(),
        "{:?}",
        t.elapsed()
    );
    assert!(!pid_alive(pid), "the hook was left running");
    let j = h.journal();
    assert_eq!(j["active"]["step"], "pre-hook", "{j:#}\n{}", run.log());
    assert!(j["active"]["helper"].is_null(), "{j:#}");
    assert_eq!(h.current(), std::path::PathBuf::from("genesis"));
    assert!(nodes_on(&h.root.join("chain-data")).is_empty());
    drop(run);

    // The next run starts the upgrade over and completes it.
    write_script(&hook, "exit 0");
    let run = h.spawn_run(&["--http.port", &port]);
    let done = wait_for(Duration::from_secs(60), || {
        let v = client_version(h.port)?;
        (v.contains("v2.0.0") && h.journal()["active"].is_null()).then_some(())
    });
    assert!(done.is_some(), "{:#}\n{}", h.journal(), run.log());
    assert_eq!(h.current(), std::path::PathBuf::from("upgrades/v2"));
    let outcomes: Vec<String> = h.journal()["history"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["outcome"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(outcomes, ["interrupted", "done"], "{:#}", h.journal());
}

#[test]
fn a_fifo_or_a_link_to_dev_zero_at_the_trigger_path_freezes_nothing() {
    let h = TestHome::new();
    h.init_devnode(BP);
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    wait_for(Duration::from_secs(20), || head(h.port))
        .unwrap_or_else(|| panic!("node never answered\n{}", run.log()));
    let trigger = h.root.join("chain-data/upgrade-info.json");
    nix::unistd::mkfifo(&trigger, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    std::thread::sleep(Duration::from_secs(1));
    for _ in 0..2 {
        let t = Instant::now();
        let s = status_json(&h);
        assert!(
            t.elapsed() < Duration::from_secs(2) * time_scale(),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(s["supervisor"]["state"], "running", "{s:#}");
        assert_eq!(s["node"]["state"], "running", "{s:#}");
    }
    std::fs::remove_file(&trigger).expect("remove fifo");
    std::os::unix::fs::symlink("/dev/zero", &trigger).expect("symlink");
    std::thread::sleep(Duration::from_secs(1));
    let t = Instant::now();
    assert_eq!(status_json(&h)["supervisor"]["state"], "running");
    assert!(
        t.elapsed() < Duration::from_secs(2) * time_scale(),
        "{:?}",
        t.elapsed()
    );
    let head_before = head(h.port).expect("head");
    assert!(
        wait_for(Duration::from_secs(10), || head(h.port)
            .filter(|&n| n > head_before))
        .is_some(),
        "the node stopped making blocks\n{}",
        run.log()
    );
    run.signal(Sig::SIGTERM);
    let status = run
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|| panic!("SIGTERM was not handled\n{}", run.log()));
    assert_eq!(status.code(), Some(0), "{}", run.log());
}

#[test]
fn reload_applies_a_safe_key_reports_pending_ones_and_keeps_the_config_on_a_bad_file() {
    let h = TestHome::new();
    h.init_devnode(BP);
    let port = h.port.to_string();
    let run = h.spawn_run(&["--http.port", &port]);
    wait_for(Duration::from_secs(20), || head(h.port))
        .unwrap_or_else(|| panic!("node never answered\n{}", run.log()));
    let node = run.node_pid().expect("node pid");
    // `config set` edits the file and has the running supervisor reload it.
    let out = h.ok(&["config", "set", "health.min_peers", "2"]);
    assert!(
        out.contains("running supervisor: configuration reloaded; applied: health.min_peers"),
        "{out}"
    );
    let opts = h.root.join("wemixvisor/config/node-options.toml");
    let text = std::fs::read_to_string(&opts).expect("node-options.toml");
    assert!(text.contains("\nverbosity = 3\n"), "{text}");
    std::fs::write(
        &opts,
        text.replace("\nverbosity = 3\n", "\nverbosity = 4\n"),
    )
    .expect("write node-options.toml");
    // An edit by hand is picked up by `reload`.
    let out = h.ok(&["reload"]);
    assert!(out.contains("applied: nothing changed"), "{out}");
    assert!(
        out.contains("pending: node-options.toml (next node start)"),
        "{out}"
    );
    let s = status_json(&h);
    assert_eq!(
        s["supervisor"]["pending_config"],
        serde_json::json!(["node-options.toml (next node start)"]),
        "{s:#}"
    );
    assert_eq!(
        run.node_pid(),
        Some(node),
        "a reload does not restart the node"
    );

    // A broken file: every problem reported, the running configuration stays.
    let cfg = h.root.join("wemixvisor/config/wemixvisor.toml");
    let good = std::fs::read_to_string(&cfg).expect("wemixvisor.toml");
    assert!(good.contains("min_peers = 2"), "{good}");
    std::fs::write(&cfg, good.replace("min_peers = 2", "min_peers = \"many\"")).expect("write");
    let out = h.wemixvisor().arg("reload").output().expect("reload");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not reloaded")
            && err.contains("running configuration stays")
            && err.contains("min_peers"),
        "{err}"
    );
    std::fs::write(&cfg, &good).expect("restore");
    let s = status_json(&h);
    assert_eq!(s["supervisor"]["state"], "running", "{s:#}");
    assert_eq!(run.node_pid(), Some(node));
}

#[test]
fn status_shows_the_peer_count_when_it_is_low() {
    let h = TestHome::new();
    h.init_devnode(&format!("{BP} --sim.peers 0"));
    h.ok(&["config", "set", "health.interval", "1s"]);
    h.ok(&["config", "set", "health.min_peers", "1"]);
    let port = h.port.to_string();
    let run = h.spawn_run(&["--http.port", &port]);
    let s = wait_for(Duration::from_secs(30), || {
        let s = status_json(&h);
        (s["chain"]["peers"] == 0).then_some(s)
    })
    .unwrap_or_else(|| panic!("{:#}\n{}", status_json(&h), run.log()));
    let peers = s["health"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "peers"))
        .unwrap_or_else(|| panic!("no peers check: {s:#}"));
    assert_eq!(peers["ok"], false, "{s:#}");
    let text = h.ok(&["status"]);
    assert!(text.contains("peers 0"), "{text}");
}
