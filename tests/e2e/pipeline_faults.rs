//! Crash tests: wemixvisor aborts (like `kill -9`) at every step of the
//! upgrade journal (built with the `fault-injection` feature,
//! `WEMIXVISOR_FAULT=<step>`); started again, as systemd would, it must
//! converge: `current` names a complete binary, the journal holds no
//! unfinished upgrade, and exactly one node runs on the datadir.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use wemixvisor_tests::*;

const BP: &str = "--sim.block-period 200ms --sim.quiet";

fn crash_at(step: &str) {
    let h = TestHome::new();
    h.init_devnode(BP);
    h.ok(&["config", "set", "upgrade.verify_timeout", "30s"]);
    // The rollback steps need an upgrade that fails: a binary that exits at once.
    let fails = step.starts_with("rollback");
    let v2_extra = if fails {
        format!("{BP} --sim.exit-at-start 3")
    } else {
        BP.to_string()
    };
    h.install_upgrade("v2", "v2.0.0", &v2_extra);
    let port = h.port.to_string();
    let mut run = h.spawn_run_env(&["--http.port", &port], &[("WEMIXVISOR_FAULT", step)]);
    let start = wait_for(Duration::from_secs(20), || head(h.port).filter(|&n| n >= 2))
        .unwrap_or_else(|| panic!("no blocks\n{}", run.log()));
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{}}}"#, start + 4));
    let status = run
        .wait_exit(Duration::from_secs(120))
        .unwrap_or_else(|| panic!("{step}: wemixvisor did not abort\n{}", run.log()));
    assert_eq!(
        status.signal(),
        Some(6),
        "{step}: {status:?}\n{}",
        run.log()
    );
    assert!(
        run.log().contains(&format!("aborting at step '{step}'")),
        "{step}\n{}",
        run.log()
    );

    // Started again (an orphaned node from the dead supervisor is its problem).
    let mut run = h.spawn_run(&["--http.port", &port]);
    let (want_version, want_current, want_state) = if fails {
        ("v1.0.0", "genesis", "rolled_back")
    } else {
        ("v2.0.0", "upgrades/v2", "applied")
    };
    let converged = wait_for(Duration::from_secs(120), || {
        let v = client_version(h.port)?;
        let plan_state = h.queue_entry("v2")?["status"]["state"]
            .as_str()?
            .to_string();
        let idle = h.journal()["active"].is_null();
        (v.contains(want_version) && idle && plan_state == want_state).then_some(())
    });
    assert!(
        converged.is_some(),
        "{step}: did not converge: {:#}\n{}",
        h.upgrade_status(),
        run.log()
    );
    let st = h.upgrade_status();
    assert!(st["in_progress"].is_null(), "{step}: {st:#}");
    assert_eq!(h.current(), Path::new(want_current), "{step}");
    assert!(
        h.root.join("wemixvisor/current/bin/geth").is_file(),
        "{step}: current names no binary"
    );
    // exactly one node, and it stays one
    for _ in 0..3 {
        let nodes = nodes_on(&h.root.join("chain-data"));
        assert_eq!(nodes.len(), 1, "{step}: nodes {nodes:?}\n{}", run.log());
        assert_eq!(run.node_pid(), Some(nodes[0]), "{step}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let before = wait_for(Duration::from_secs(30), || head(h.port)).unwrap_or_else(|| {
        let dbg = |pid: u32| -> String {
            let mut out = String::new();
            if let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/task")) {
                for t in rd.flatten() {
                    let tid = t.file_name().to_string_lossy().into_owned();
                    let w = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/wchan"))
                        .unwrap_or_default();
                    let st = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat"))
                        .unwrap_or_default();
                    out.push_str(&format!(
                        "  {tid} {w} {}\n",
                        st.split_whitespace().nth(2).unwrap_or("")
                    ));
                }
            }
            out
        };
        let node = run.node_pid().unwrap_or(0);
        panic!(
            "{step}: the node does not answer\nnode {node}:\n{}\nsupervisor {}:\n{}\n{}",
            dbg(node),
            run.pid(),
            dbg(run.pid()),
            run.log()
        )
    });
    assert!(
        wait_for(Duration::from_secs(30), || head(h.port)
            .filter(|&n| n > before))
        .is_some(),
        "{step}: the node does not advance"
    );
    run.signal(Sig::SIGTERM);
    assert!(run.wait_exit(Duration::from_secs(20)).is_some());
    assert!(
        nodes_on(&h.root.join("chain-data")).is_empty(),
        "{step}: a node outlived the supervisor"
    );
}

#[test]
fn crash_at_halt_converges() {
    crash_at("halt");
}

#[test]
fn crash_at_backup_converges() {
    crash_at("backup");
}

#[test]
fn crash_at_pre_hook_converges() {
    crash_at("pre-hook");
}

#[test]
fn crash_at_switch_converges() {
    crash_at("switch");
}

#[test]
fn crash_right_after_the_link_rename_converges() {
    crash_at("switched");
}

#[test]
fn crash_at_start_converges() {
    crash_at("start");
}

#[test]
fn crash_at_verify_converges() {
    crash_at("verify");
}

#[test]
fn crash_at_post_hook_converges() {
    crash_at("post-hook");
}

#[test]
fn crash_after_done_converges() {
    crash_at("done");
}

#[test]
fn crash_at_rollback_converges() {
    crash_at("rollback");
}

#[test]
fn crash_after_the_rollback_link_rename_converges() {
    crash_at("rollback-switched");
}
