//! Upgrades that change the data, on devnode datadir formats 1 and 2 and
//! the `db_migrator` simulator.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use wemixvisor_tests::*;

fn devnode(datadir: &Path, format: &str) -> std::process::Output {
    Command::new(&bins().devnode)
        // it opens the data, makes one block and exits 2 ("crash")
        .args(["--sim.db-format", format, "--sim.block-period", "20ms"])
        .args(["--sim.crash-at", "1", "--sim.quiet", "--datadir"])
        .arg(datadir)
        .output()
        .expect("run devnode")
}

fn migrator(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(&bins().db_migrator);
    c.args(args);
    for v in [
        "DB_MIGRATOR_FAIL_AT",
        "DB_MIGRATOR_SLOW_MS",
        "DB_MIGRATOR_NEED_BYTES",
    ] {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    c.output().expect("run db_migrator")
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ran_on_it(o: &std::process::Output) -> bool {
    o.status.code() == Some(2) && text(o).contains("Loaded most recent local block")
}

#[test]
fn db_migrator_converts_v1_to_v2_and_each_devnode_refuses_the_other_format() {
    let d = tempfile::tempdir().unwrap();
    let old = d.path().join("old");
    std::fs::create_dir_all(old.join("devnode")).unwrap();
    std::fs::write(old.join("devnode/head"), "41\n").unwrap();
    // a v1 node runs on v1 data, a v2 node refuses it (exit 1, clear message)
    let ran = devnode(&old, "1");
    assert!(ran_on_it(&ran), "{}", text(&ran));
    let refused = devnode(&old, "2");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused).contains("holds format 1, this binary reads format 2"),
        "{}",
        text(&refused)
    );

    // out of place: the source (head 42 after that run) is only read
    let new = d.path().join("new");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = migrator(&["-src", &s(&old), "-dst", &s(&new)], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Done"));
    assert!(old.join("devnode/head").exists() && !old.join("devnode/head.v2").exists());
    let ran = devnode(&new, "2");
    assert!(ran_on_it(&ran), "{}", text(&ran));
    assert!(text(&ran).contains("number=42"), "{}", text(&ran));
    let refused = devnode(&new, "1");
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused).contains("holds format 2, this binary reads format 1"));
    // a second run into a datadir that already holds a database is refused
    let again = migrator(&["-src", &s(&old), "-dst", &s(&new)], &[]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));

    // in place, failing halfway: half-converted data that both formats refuse
    let inplace = d.path().join("inplace");
    std::fs::create_dir_all(inplace.join("devnode")).unwrap();
    std::fs::write(inplace.join("devnode/head"), "5\n").unwrap();
    let out = migrator(
        &["-inplace", &s(&inplace)],
        &[("DB_MIGRATOR_FAIL_AT", "50")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("simulated failure at 50%"),
        "{}",
        text(&out)
    );
    for f in ["1", "2"] {
        let o = devnode(&inplace, f);
        assert_eq!(
            o.status.code(),
            Some(1),
            "format {f} ran on half-converted data"
        );
        assert!(text(&o).contains("holds format converting"), "{}", text(&o));
    }

    // more space needed than is free
    let out = migrator(
        &[
            "-src",
            &s(&old),
            "-dst",
            &s(&d.path().join("big")),
            "-need",
            "18446744073709551615",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("required size: 18446744073709551615 bytes")
            && text(&out).contains("not enough space"),
        "{}",
        text(&out)
    );
}

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

/// Installs the new release as `upgrades/<name>/bin/<bin>` (a devnode of
/// datadir format 2) with the `db_migrator` simulator beside it.
fn install_release(h: &TestHome, name: &str, bin: &str, version: &str) {
    let dir = h.root.join("wemixvisor/upgrades").join(name).join("bin");
    h.devnode_script(&dir.join(bin), version, &format!("{BP} --sim.db-format 2"));
    write_script(
        &dir.join("db_migrator"),
        &format!("exec '{}' \"$@\"", bins().db_migrator.display()),
    );
}

fn queue(h: &TestHome, plan: &serde_json::Value) {
    let f = h.scratch("plan.json");
    std::fs::write(&f, serde_json::to_vec(&serde_json::json!([plan])).unwrap()).unwrap();
    h.ok(&["upgrade", "plan", f.to_str().unwrap()]);
}

fn version_is(h: &TestHome, v: &str, secs: u64) -> bool {
    wait_for(Duration::from_secs(secs), || {
        client_version(h.port).filter(|c| c.contains(v))
    })
    .is_some()
}

fn audit(h: &TestHome) -> String {
    std::fs::read_to_string(h.root.join("state/audit.log")).unwrap_or_default()
}

#[test]
fn a_migration_into_a_new_datadir_runs_verifies_and_starts_the_renamed_binary() {
    let h = home();
    install_release(&h, "wbft", "wbft-geth", "v2.0.0");
    let port = h.port.to_string();
    let run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    let height = start + 12;
    queue(
        &h,
        &serde_json::json!({"name": "wbft", "height": height, "info": {
            "daemon_name": "wbft-geth",
            "space": 4096,
            "migrate": [{"name": "convert", "timeout": "2m",
                "command": ["db_migrator", "-src", "${WEMIX_DATADIR}", "-dst", "${WEMIX_NEW_DATADIR}"]}],
            "verify": [{"name": "check", "command": "test \"$(cat \"$WEMIX_NEW_DATADIR/devnode/FORMAT\")\" = 2 && echo format 2"}],
            "node_options": {"datadir": "chain-data-v2", "add": ["--identity", "migrated"]}
        }}),
    );
    assert!(
        version_is(&h, "v2.0.0", 90),
        "never reached v2\n{}",
        run.log()
    );
    let v = client_version(h.port).unwrap_or_default();
    assert!(v.contains("migrated"), "the added option is missing: {v}");
    let new = h.root.join("chain-data-v2");
    assert_eq!(
        std::fs::read_to_string(new.join("devnode/FORMAT")).unwrap(),
        "2\n"
    );
    // the old datadir was only read
    assert!(h.root.join("chain-data/devnode/head").exists());
    assert!(!h.root.join("chain-data/devnode/head.v2").exists());
    let n = wait_for(Duration::from_secs(20), || {
        head(h.port).filter(|&n| n > height)
    });
    assert!(n.is_some(), "the head did not continue\n{}", run.log());
    let log = std::fs::read_to_string(h.root.join("chain-data/logs/geth.log")).unwrap_or_default();
    assert!(log.contains("[migrate convert] Done"), "{log}");
    let a = audit(&h);
    assert!(
        a.contains("migrate-step") && a.contains("verify-step"),
        "{a}"
    );
    // the release keeps its binary name and options on the next start
    let rel =
        std::fs::read_to_string(h.root.join("wemixvisor/upgrades/wbft/release.json")).unwrap();
    assert!(
        rel.contains("wbft-geth") && rel.contains("chain-data-v2"),
        "{rel}"
    );
    drop(run);
    let run = h.spawn_run(&["--http.port", &port]);
    assert!(
        version_is(&h, "v2.0.0", 40),
        "restart lost the release\n{}",
        run.log()
    );
}

#[test]
fn kill_9_during_the_migration_then_restart_converges_with_one_migrator() {
    let h = home();
    install_release(&h, "wbft", "geth", "v2.0.0");
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    let height = start + 10;
    queue(
        &h,
        &serde_json::json!({"name": "wbft", "height": height, "info": {
            "migrate": [{"name": "convert", "timeout": "2m",
                "command": ["db_migrator", "-src", "${WEMIX_DATADIR}", "-dst", "${WEMIX_NEW_DATADIR}", "-slow", "1000"]}],
            "node_options": {"datadir": "chain-data-v2"}
        }}),
    );
    // wait until the migrator is half way, then kill -9 the supervisor
    let pgid = wait_for(Duration::from_secs(90), || {
        let j = h.journal();
        let a = &j["active"];
        (a["step"] == "migrate"
            && h.root
                .join("chain-data-v2/devnode/convert/batch-02")
                .exists())
        .then(|| a["helper"]["pgid"].as_u64())
        .flatten()
    })
    .unwrap_or_else(|| panic!("the migration never ran: {:#}\n{}", h.journal(), run.log()));
    // `upgrade status` shows the running step, how long it has run and the
    // last line it printed, as JSON and as text
    let st = wait_for(Duration::from_secs(10), || {
        let st = h.upgrade_status();
        let m = &st["migration"];
        (m["last_line"].as_str()?.starts_with("Write ") && m["elapsed_secs"].as_u64()? >= 1)
            .then_some(st)
    })
    .unwrap_or_else(|| panic!("no migration progress: {:#}", h.upgrade_status()));
    let m = &st["migration"];
    assert_eq!(
        (
            &m["phase"],
            &m["step"],
            &m["index"],
            &m["total"],
            &m["finished"]
        ),
        (
            &serde_json::json!("migrate"),
            &serde_json::json!("convert"),
            &serde_json::json!(0),
            &serde_json::json!(1),
            &serde_json::json!(false)
        ),
        "{st:#}"
    );
    let text = h.ok(&["upgrade", "status"]);
    assert!(
        text.contains("migration:  migrate step 1/1 'convert', running for ")
            && text.contains("; last output: Write "),
        "{text}"
    );
    run.signal(Sig::SIGKILL);
    run.wait_exit(Duration::from_secs(10));
    // the status shows the interrupted step
    let st = h.upgrade_status();
    assert_eq!(st["in_progress"]["step"], "migrate", "{st:#}");
    let run = h.spawn_run(&["--http.port", &port]);
    assert!(
        version_is(&h, "v2.0.0", 90),
        "never reached v2\n{}",
        run.log()
    );
    assert!(!group_alive(pgid as u32), "the first migrator survived");
    assert_eq!(
        std::fs::read_to_string(h.root.join("chain-data-v2/devnode/FORMAT")).unwrap(),
        "2\n"
    );
    let a = audit(&h);
    assert!(a.contains("migration-restarted"), "{a}");
    assert!(
        !a.contains("another db_migrator"),
        "two migrators ran at once: {a}"
    );
}

#[test]
fn a_migration_that_does_not_fit_on_the_disk_is_refused_at_prepare_time() {
    let h = home();
    install_release(&h, "wbft", "geth", "v2.0.0");
    let port = h.port.to_string();
    let run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    let height = start + 15;
    queue(
        &h,
        &serde_json::json!({"name": "wbft", "height": height, "info": {
            "space": 1_000_000_000_000_000_000u64,
            "migrate": [{"command": ["db_migrator", "-src", "${WEMIX_DATADIR}", "-dst", "${WEMIX_NEW_DATADIR}"]}],
            "node_options": {"datadir": "chain-data-v2"}
        }}),
    );
    let reason = wait_for(Duration::from_secs(30), || {
        let p = h.queue_entry("wbft")?;
        (p["prepare"]["state"] == "failed")
            .then(|| p["prepare"]["reason"].as_str().map(str::to_string))
            .flatten()
    })
    .unwrap_or_else(|| panic!("never refused: {:#}\n{}", h.upgrade_status(), run.log()));
    assert!(
        reason.contains("not enough free space for the migration") && reason.contains("help:"),
        "{reason}"
    );
    // the height passes; the node is not halted for it
    let past = wait_for(Duration::from_secs(30), || {
        head(h.port).filter(|&n| n > height + 3)
    });
    assert!(past.is_some(), "{}", run.log());
    assert!(client_version(h.port)
        .unwrap_or_default()
        .contains("v1.0.0"));
    assert!(!h.root.join("chain-data-v2").exists());
    assert_eq!(h.current(), Path::new("genesis"));
}

#[test]
fn an_in_place_migration_failing_halfway_restores_the_snapshot_and_the_old_binary_runs_on_v1() {
    let h = home();
    install_release(&h, "wbft", "geth", "v2.0.0");
    // queued offline (no supervisor runs): the plan is judged with the same
    // snapshot seam as in the supervisor, so an in-place migration, which
    // needs the pre-upgrade snapshot, is accepted
    let height = 12;
    queue(
        &h,
        &serde_json::json!({"name": "wbft", "height": height, "info": {
            "migrate": [{"name": "convert", "timeout": "2m",
                "command": ["db_migrator", "-inplace", "${WEMIX_DATADIR}", "-fail-at", "50"]}]
        }}),
    );
    let port = h.port.to_string();
    let run = h.spawn_run(&["--http.port", &port]);
    let reason = wait_for(Duration::from_secs(90), || {
        let p = h.queue_entry("wbft")?;
        // failed before its switch: it waits for the operator to re-arm it
        (p["status"]["state"] == "retry")
            .then(|| p["status"]["reason"].as_str().map(str::to_string))
            .flatten()
    })
    .unwrap_or_else(|| {
        panic!(
            "never failed: {:#}\n{:#}\n{}",
            h.queue_entry("wbft").unwrap_or_default(),
            h.journal(),
            run.log()
        )
    });
    assert!(
        reason.contains("'convert' failed")
            && reason.contains("simulated failure at 50%")
            && reason.contains("restored from the pre-upgrade snapshot"),
        "{reason}"
    );
    // the old binary runs again, on the restored format-1 data, and goes on
    // past the height it stopped at
    let past = wait_for(Duration::from_secs(40), || {
        head(h.port).filter(|&n| n > height + 2)
    });
    assert!(past.is_some(), "the old node did not go on\n{}", run.log());
    assert!(client_version(h.port)
        .unwrap_or_default()
        .contains("v1.0.0"));
    assert_eq!(h.current(), Path::new("genesis"));
    let data = h.root.join("chain-data/devnode");
    assert_eq!(std::fs::read_to_string(data.join("FORMAT")).unwrap(), "1\n");
    assert!(!data.join("convert").exists() && !data.join("head.v2").exists());
    let a = audit(&h);
    assert!(a.contains("migrate-step"), "{a}");
    assert!(a.contains("migration-failed"), "{a}");
    assert_eq!(h.journal()["history"][0]["outcome"], "failed");
}

#[test]
fn upgrade_add_flags_queue_a_migration_with_a_renamed_binary_through_the_running_supervisor() {
    let h = home();
    let bin = h.scratch("wbft-geth");
    h.devnode_script(&bin, "v2.0.0", &format!("{BP} --sim.db-format 2"));
    let bin = bin.to_str().unwrap().to_string();
    // bad flags are refused before anything is installed, naming the flag
    // and the plan field it sets
    let out = h.output(&[
        "upgrade",
        "add",
        "wbft",
        "--binary",
        &bin,
        "--height",
        "900",
        "--migrate",
        "true",
        "--migrate-timeout",
        "12x",
        "--node-option-rename",
        "--a",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--migrate-timeout: info.migrate[0].timeout: \"12x\" is not a duration")
            && err.contains("--node-option-rename: '--a' must look like --old=--new"),
        "{err}"
    );
    let out = h.output(&[
        "upgrade",
        "add",
        "wbft",
        "--binary",
        &bin,
        "--daemon-name",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--daemon-name describe(s) a queued upgrade, but --height is not given"));
    assert!(!h.root.join("wemixvisor/upgrades/wbft").exists());

    let port = h.port.to_string();
    let run = h.spawn_run(&["--http.port", &port]);
    let start = started(&h, &run, 2);
    let height = (start + 12).to_string();
    h.ok(&[
        "upgrade",
        "add",
        "wbft",
        "--binary",
        &bin,
        "--height",
        &height,
        "--daemon-name",
        "wbft-geth",
        "--migrate",
        &format!(
            "'{}' -src \"$WEMIX_DATADIR\" -dst \"$WEMIX_NEW_DATADIR\"",
            bins().db_migrator.display()
        ),
        "--migrate-timeout",
        "2m",
        "--verify",
        "test \"$(cat \"$WEMIX_NEW_DATADIR/devnode/FORMAT\")\" = 2",
        "--new-datadir",
        "chain-data-v2",
        "--node-option-add",
        "--identity migrated",
        "--space",
        "4096",
    ]);
    // installed under the release's own binary name, queued with the fields
    // a plan file would carry
    assert!(h
        .root
        .join("wemixvisor/upgrades/wbft/bin/wbft-geth")
        .is_file());
    let p = h.queue_entry("wbft").expect("queued");
    let info = &p["info"]["value"];
    assert_eq!(info["daemon_name"], "wbft-geth", "{p:#}");
    assert_eq!(info["migrate"][0]["timeout"], "2m", "{p:#}");
    assert_eq!(info["node_options"]["datadir"], "chain-data-v2", "{p:#}");
    assert_eq!(
        info["node_options"]["add"],
        serde_json::json!(["--identity", "migrated"])
    );
    assert_eq!(info["space"], 4096);
    assert!(
        version_is(&h, "v2.0.0", 90),
        "never reached v2\n{}",
        run.log()
    );
    let v = client_version(h.port).unwrap_or_default();
    assert!(v.contains("migrated"), "the added option is missing: {v}");
    assert_eq!(
        std::fs::read_to_string(h.root.join("chain-data-v2/devnode/FORMAT")).unwrap(),
        "2\n"
    );
}
