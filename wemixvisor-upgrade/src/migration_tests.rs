use super::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;

fn parse(v: Value) -> Result<MigrationPlan, Vec<String>> {
    MigrationPlan::from_info(Some(&v))
}

fn ctx(dir: &Path) -> StepContext {
    StepContext {
        hook: HookEnv {
            home: dir.to_path_buf(),
            daemon_name: "gwemix".into(),
            name: "wbft".into(),
            height: 42,
            info_json: "{}".into(),
        },
        datadir: dir.join("chain-data"),
        new_datadir: Some(dir.join("chain-data-wbft")),
        upgrade_bin_dir: dir.join("upgrades/wbft/bin"),
        old_binary: dir.join("genesis/bin/gwemix"),
        new_binary: dir.join("upgrades/wbft/bin/geth"),
        progress_file: dir.join("state/migration.json"),
        node_log: dir.join("chain-data/logs/geth.log"),
    }
}

fn step(cmd: Command, timeout: Duration) -> CommandStep {
    CommandStep {
        name: "s".into(),
        command: cmd,
        timeout,
        idempotent: false,
        on_failure: OnFailure::Restore,
    }
}

fn exe(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_full_plan_is_read() {
    let p = parse(json!({
        "binaries": {"any": "https://x/geth"},
        "daemon_name": "geth",
        "space": "datadir",
        "migrate": [
            {"name": "convert", "command": ["db_migrator", "-src", "${WEMIX_DATADIR}"], "timeout": "12h", "idempotent": true, "on_failure": "fail"},
            {"command": "echo done"}
        ],
        "verify": [{"command": ["geth", "db", "metadata"], "timeout": 600}],
        "node_options": {"add": ["--db.engine", "pebble"], "remove": ["--old"], "rename": {"--a": "--b"}, "datadir": "chain-data-wbft"}
    }))
    .unwrap();
    assert_eq!(p.daemon_name.as_deref(), Some("geth"));
    assert_eq!(p.space, Some(SpaceNeed::Datadir));
    assert_eq!(p.migrate.len(), 2);
    assert_eq!(p.migrate[0].name, "convert");
    assert_eq!(p.migrate[0].timeout, Duration::from_secs(12 * 3600));
    assert!(p.migrate[0].idempotent);
    assert_eq!(p.migrate[0].on_failure, OnFailure::Fail);
    assert_eq!(p.migrate[1].name, "migrate[1]");
    assert_eq!(p.migrate[1].command, Command::Shell("echo done".into()));
    assert_eq!(p.migrate[1].timeout, DEFAULT_MIGRATE_TIMEOUT);
    assert!(!p.migrate[1].idempotent);
    assert_eq!(p.verify[0].timeout, Duration::from_secs(600));
    assert_eq!(
        p.node_options.rename.get("--a").map(String::as_str),
        Some("--b")
    );
    assert_eq!(
        p.node_options.datadir,
        Some(PathBuf::from("chain-data-wbft"))
    );
    assert!(p.changes_data());
    // a plain binary plan has nothing
    assert!(parse(json!({"binaries": {}})).unwrap().is_empty());
    assert!(MigrationPlan::from_info(None).unwrap().is_empty());
    assert!(MigrationPlan::from_info(Some(&json!("https://x")))
        .unwrap()
        .is_empty());
}

#[test]
fn every_problem_names_its_field() {
    let problems = parse(json!({
        "daemon_name": "../geth",
        "space": -3,
        "builtin": "other",
        "migrate": [
            {"command": ["ok"]},
            {"command": ["x"], "timeout": "12x"},
            {"command": []},
            {"command": "x", "on_failure": "later", "idempotent": "yes", "retries": 2},
            "echo hi"
        ],
        "verify": [{"command": "x", "timeout": "9999h"}, {"command": "y", "idempotent": true}],
        "node_options": {"add": ["leveldb"], "remove": ["x"], "rename": {"--a": 3}, "extra": 1}
    }))
    .unwrap_err();
    let want = [
        "info.daemon_name: '../geth' is not a plain file name",
        "info.space: expected a number of bytes or \"datadir\"",
        "info.builtin: expected \"gwemix-to-wbft\"",
        "info.migrate[1].timeout: \"12x\" is not a duration",
        "info.migrate[2].command: expected a non-empty list",
        "info.migrate[3].retries: unknown field",
        "info.migrate[3].idempotent: expected true or false",
        "info.migrate[3].on_failure: expected \"restore\" or \"fail\"",
        "info.migrate[4]: expected an object with \"command\", got a string",
        "info.verify[0].timeout: \"9999h\" is longer than the limit",
        "info.verify[1]: idempotent and on_failure apply to migrate steps only",
        "info.node_options.add[0]: 'leveldb' is not a flag",
        "info.node_options.remove[0]: expected a flag",
        "info.node_options.rename.--a: expected",
        "info.node_options.extra: unknown field",
    ];
    for w in want {
        assert!(
            problems.iter().any(|p| p.starts_with(w)),
            "missing {w:?} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), want.len(), "{problems:#?}");
    let p = parse(json!({"node_options": {"datadir": "x"}})).unwrap_err();
    assert!(
        p[0].starts_with("info.node_options.datadir: 'x' is a new datadir, but no info.migrate"),
        "{p:?}"
    );
    let p = parse(json!({"builtin": "gwemix-to-wbft", "migrate": [{"command": "x"}]})).unwrap_err();
    assert!(p[0].contains("cannot be combined"), "{p:?}");
}

#[test]
fn node_options_remove_rename_add_and_datadir() {
    let o = NodeOptions {
        add: vec!["--db.engine".into(), "leveldb".into()],
        remove: vec!["--gone".into(), "nodiscover".into()],
        rename: [("--old.port".to_string(), "--new.port".to_string())].into(),
        datadir: None,
    };
    let args: Vec<String> = [
        "--datadir",
        "/d",
        "--gone",
        "5",
        "--nodiscover",
        "--old.port=7",
        "--old.port",
        "8",
        "--http",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = o.apply(&args, Some(Path::new("/new")));
    assert_eq!(
        out,
        [
            "--new.port=7",
            "--new.port",
            "8",
            "--http",
            "--db.engine",
            "leveldb",
            "--datadir",
            "/new"
        ]
    );
    // a flag with no value keeps the next flag
    let o2 = NodeOptions {
        remove: vec!["--http".into()],
        ..NodeOptions::default()
    };
    assert_eq!(o2.apply(&args[7..], None), ["8"]);
    assert_eq!(datadir_of(&args, Path::new("/x")), PathBuf::from("/d"));
    assert_eq!(
        datadir_of(&["--datadir=/e".to_string()], Path::new("/x")),
        PathBuf::from("/e")
    );
    assert_eq!(datadir_of(&[], Path::new("/x")), PathBuf::from("/x"));
}

#[tokio::test]
async fn a_step_gets_its_env_logs_its_output_and_records_progress() {
    let d = tempfile::tempdir().unwrap();
    let c = ctx(d.path());
    exe(
        &c.upgrade_bin_dir.join("db_migrator"),
        "echo \"src=$2 dst=$4 datadir=$WEMIX_DATADIR new=$WEMIX_NEW_DATADIR name=$UPGRADE_NAME\"; printf 'bad \\377 byte\\n' >&2; sleep 0.3; printf 'last line no newline'",
    );
    let s = step(
        Command::Argv(vec![
            "db_migrator".into(),
            "-src".into(),
            "${WEMIX_DATADIR}".into(),
            "-dst".into(),
            "${WEMIX_NEW_DATADIR}".into(),
        ]),
        Duration::from_secs(20),
    );
    let mut spawned = None;
    let r = run_step(&c, "migrate", 0, 1, &s, &mut |p| spawned = Some(p))
        .await
        .unwrap();
    assert!(r.success(), "{r:?}");
    assert!(spawned.is_some());
    let dd = d.path().join("chain-data");
    let nd = d.path().join("chain-data-wbft");
    let want = format!(
        "src={} dst={} datadir={} new={} name=wbft",
        dd.display(),
        nd.display(),
        dd.display(),
        nd.display()
    );
    assert!(r.output.contains(&want), "{}", r.output);
    assert!(r.output.contains("bad \u{fffd} byte"), "{}", r.output);
    let log = std::fs::read_to_string(&c.node_log).unwrap();
    assert!(log.contains(&format!("[migrate s] {want}")), "{log}");
    let p = Progress::load(&c.progress_file).unwrap();
    assert!(p.finished);
    assert_eq!(p.step, "s");
    assert_eq!(p.phase, "migrate");
    assert_eq!(p.last_line, "last line no newline");
    assert_eq!(p.pgid, spawned);
}

#[tokio::test]
async fn a_failing_step_says_how_and_shows_its_tail() {
    let d = tempfile::tempdir().unwrap();
    let c = ctx(d.path());
    let s = step(
        Command::Shell("echo half; echo broken >&2; exit 3".into()),
        Duration::from_secs(20),
    );
    let r = run_step(&c, "verify", 0, 1, &s, &mut |_| {}).await.unwrap();
    assert!(!r.success());
    assert_eq!(r.describe(), "exit code 3");
    assert!(r.tail(1).contains("broken"), "{}", r.tail(1));
}

#[tokio::test]
async fn a_hanging_step_is_killed_with_its_group_at_the_time_limit() {
    let d = tempfile::tempdir().unwrap();
    let c = ctx(d.path());
    let pidfile = d.path().join("child.pid");
    let s = step(
        Command::Shell(format!(
            "sleep 60 & echo $! > '{}'; echo started; wait",
            pidfile.display()
        )),
        Duration::from_millis(700),
    );
    let start = std::time::Instant::now();
    let r = run_step(&c, "migrate", 0, 1, &s, &mut |_| {})
        .await
        .unwrap();
    assert!(r.timed_out, "{r:?}");
    assert!(r.describe().contains("killed with its process group"));
    assert!(start.elapsed() < Duration::from_secs(15));
    let child: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let gone = !wemixvisor_core::lock::pid_alive(child as u32)
        || std::fs::read_to_string(format!("/proc/{child}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true);
    assert!(gone, "the step's child {child} survived");
}

#[tokio::test]
async fn a_group_left_behind_is_killed() {
    let mut child = std::process::Command::new("sleep")
        .arg("60")
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = child.id();
    let reaper = std::thread::spawn(move || child.wait());
    assert!(kill_group(pgid, Duration::from_secs(5)).await);
    assert!(reaper.join().unwrap().is_ok());
}

#[test]
fn engine_detection() {
    let d = tempfile::tempdir().unwrap();
    assert_eq!(detect_engine(d.path()).unwrap(), None);
    let cd = d.path().join("geth/chaindata");
    std::fs::create_dir_all(&cd).unwrap();
    std::fs::write(cd.join("000001.ldb"), "x").unwrap();
    assert_eq!(
        detect_engine(d.path()).unwrap(),
        Some((PathBuf::from("geth"), Engine::LevelDb))
    );
    std::fs::write(cd.join("000002.sst"), "x").unwrap();
    assert!(detect_engine(d.path()).unwrap_err().contains("both"));
    let e = tempfile::tempdir().unwrap();
    let cd = e.path().join("gwemix/chaindata");
    std::fs::create_dir_all(&cd).unwrap();
    std::fs::write(cd.join("000002.sst"), "x").unwrap();
    assert_eq!(
        detect_engine(e.path()).unwrap(),
        Some((PathBuf::from("gwemix"), Engine::RocksDb))
    );
}

#[test]
fn builtin_move_for_leveldb_only_adds_the_engine_option() {
    let d = tempfile::tempdir().unwrap();
    let cd = d.path().join("geth/chaindata");
    std::fs::create_dir_all(&cd).unwrap();
    std::fs::write(cd.join("000001.ldb"), "x").unwrap();
    let base = parse(json!({"builtin": "gwemix-to-wbft", "daemon_name": "geth"})).unwrap();
    let p = builtin_move(&base, d.path(), &d.path().join("new")).unwrap();
    assert!(p.migrate.is_empty() && p.verify.is_empty());
    assert_eq!(p.node_options.add, ["--db.engine", "leveldb"]);
    assert_eq!(p.node_options.datadir, None);
    assert_eq!(p.daemon_name.as_deref(), Some("geth"));
    assert!(builtin_move(&base, &d.path().join("none"), &d.path().join("n")).is_err());
}

/// The built-in RocksDB move, run for real against a fake datadir, a fake
/// `db_migrator` and fake old/new binaries: the new datadir gets a copy
/// (not a link) of the ancient data and the converted chain database, and
/// the old datadir is left as it was.
#[tokio::test]
async fn builtin_move_for_rocksdb_builds_a_new_datadir_and_leaves_the_old_one() {
    let d = tempfile::tempdir().unwrap();
    let mut c = ctx(d.path());
    let old = c.datadir.clone();
    let new = c.new_datadir.clone().unwrap();
    std::fs::create_dir_all(old.join("geth/chaindata/ancient")).unwrap();
    std::fs::write(old.join("geth/chaindata/000001.sst"), "kv").unwrap();
    std::fs::write(old.join("geth/chaindata/ancient/headers.cdat"), "frozen").unwrap();
    std::fs::create_dir_all(old.join("keystore")).unwrap();
    std::fs::write(old.join("keystore/key"), "secret").unwrap();
    std::fs::create_dir_all(old.join("logs")).unwrap();
    std::fs::write(old.join("logs/geth.log"), "log").unwrap();
    // fake tools: the migrator writes <dst>/geth/chaindata from <src>
    exe(
        &c.upgrade_bin_dir.join("db_migrator"),
        "set -e; [ \"$1\" = -src ] && [ \"$3\" = -dst ]; [ ! -e \"$4/geth/chaindata\" ]; mkdir -p \"$4/geth/chaindata\"; cp \"$2/geth/chaindata/000001.sst\" \"$4/geth/chaindata/000001.pebble\"; echo Done",
    );
    let meta = "echo \"head=$(cat \"$4\"/geth/chaindata/*1.* )\"";
    exe(&c.old_binary, meta);
    exe(&c.new_binary, meta);
    c.progress_file = d.path().join("state/p.json");
    let base = parse(json!({"builtin": "gwemix-to-wbft", "daemon_name": "geth"})).unwrap();
    let p = builtin_move(&base, &old, &new).unwrap();
    assert_eq!(p.node_options.datadir.as_deref(), Some(new.as_path()));
    assert_eq!(p.space, Some(SpaceNeed::Datadir));
    let names: Vec<&str> = p.migrate.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["copy-datadir", "db_migrator", "ancient-back"]);
    for (i, s) in p.migrate.iter().chain(p.verify.iter()).enumerate() {
        let r = run_step(&c, "migrate", i, 4, s, &mut |_| {}).await.unwrap();
        assert!(r.success(), "{} failed: {r:?}", s.name);
    }
    let anc = new.join("geth/chaindata/ancient/headers.cdat");
    assert_eq!(std::fs::read_to_string(&anc).unwrap(), "frozen");
    let (a, b) = (
        std::fs::metadata(&anc).unwrap(),
        std::fs::metadata(old.join("geth/chaindata/ancient/headers.cdat")).unwrap(),
    );
    assert_ne!(a.ino(), b.ino(), "the freezer file is shared");
    assert_eq!(b.nlink(), 1);
    assert!(new.join("geth/chaindata/000001.pebble").exists());
    assert!(!new.join("geth/chaindata/000001.sst").exists());
    assert_eq!(
        std::fs::read_to_string(new.join("keystore/key")).unwrap(),
        "secret"
    );
    assert!(!new.join("logs").exists());
    // the old datadir is untouched
    assert!(old.join("geth/chaindata/000001.sst").exists());
    assert!(old.join("geth/chaindata/ancient/headers.cdat").exists());
    assert!(!old.join("geth/ancient").exists());
    // a second run starts clean (the copy step wipes a half-built new datadir)
    let r = run_step(&c, "migrate", 0, 3, &p.migrate[0], &mut |_| {})
        .await
        .unwrap();
    assert!(r.success());
    assert!(!new.join("geth/chaindata").exists());
    // different metadata fails the verification
    std::fs::create_dir_all(new.join("geth/chaindata")).unwrap();
    std::fs::write(new.join("geth/chaindata/000001.pebble"), "other").unwrap();
    let r = run_step(&c, "verify", 0, 1, &p.verify[0], &mut |_| {})
        .await
        .unwrap();
    assert!(!r.success());
    assert!(r.output.contains("differs"), "{}", r.output);
}

#[test]
fn space_check_counts_snapshot_and_need() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("a"), vec![0u8; 4096]).unwrap();
    std::fs::hard_link(d.path().join("a"), d.path().join("b")).unwrap();
    assert_eq!(dir_size(d.path()), 4096, "a hard link counts once");
    let r = check_space(d.path(), Some(SpaceNeed::Datadir), true).unwrap();
    assert_eq!(r.needed(), 8192);
    assert!(r.free_bytes > 0);
    let e = check_space(d.path(), Some(SpaceNeed::Bytes(u64::MAX / 2)), false).unwrap_err();
    assert!(
        e.starts_with("not enough free space for the migration: need"),
        "{e}"
    );
    assert!(e.contains("help:") && e.contains("info.space"), "{e}");
    assert!(free_bytes(&d.path().join("not/yet")).is_ok());
}

#[test]
fn release_file_round_trip_and_args() {
    let d = tempfile::tempdir().unwrap();
    assert_eq!(Release::load(d.path()), Release::default());
    let r = Release {
        daemon_name: Some("geth".into()),
        changes: vec![
            OptionChange {
                node_options: NodeOptions {
                    add: vec!["--db.engine=pebble".into()],
                    ..NodeOptions::default()
                },
                datadir: Some(PathBuf::from("/new")),
            },
            OptionChange::default(),
        ],
    };
    r.save(d.path()).unwrap();
    assert_eq!(Release::load(d.path()), r);
    let args = vec!["--datadir".to_string(), "/old".into(), "--http".into()];
    assert_eq!(
        r.apply(&args),
        ["--http", "--db.engine=pebble", "--datadir", "/new"]
    );
    assert_eq!(Release::default().apply(&args), args);
    assert_eq!(r.datadir(), Some(Path::new("/new")));
    Release::default().save(d.path()).unwrap();
    assert!(!d.path().join(RELEASE_FILE).exists());
    std::fs::write(d.path().join(RELEASE_FILE), "{").unwrap();
    assert_eq!(Release::load(d.path()), Release::default());
    assert_eq!(
        resolve_in_home(Path::new("/h"), Path::new("x")),
        PathBuf::from("/h/x")
    );
    assert_eq!(
        resolve_in_home(Path::new("/h"), Path::new("/x")),
        PathBuf::from("/x")
    );
}

#[test]
fn interrupted_migrations_resume_restore_or_fail_as_the_plan_says() {
    let plan = parse(json!({
        "migrate": [
            {"command": "a", "idempotent": true},
            {"command": "b"},
            {"command": "c", "on_failure": "fail"}
        ],
        "verify": [{"command": "v"}]
    }))
    .unwrap();
    let mut st = MigrationState {
        plan,
        datadir: "/d".into(),
        new_datadir: None,
        phase: Phase::Migrate,
        next: 0,
        restarts: 0,
        release: Release::default(),
    };
    assert!(st.in_place());
    assert_eq!(st.on_interrupt(), Resume::From(Phase::Migrate, 0));
    st.next = 1;
    assert_eq!(st.on_interrupt(), Resume::RestoreAndRestart);
    st.restarts = MAX_RESTARTS;
    assert!(matches!(st.on_interrupt(), Resume::RestoreAndFail(r) if r.contains("given up")));
    st.next = 2;
    assert!(
        matches!(st.on_interrupt(), Resume::RestoreAndFail(r) if r.contains("on_failure: fail"))
    );
    st.phase = Phase::Verify;
    st.next = 0;
    assert_eq!(st.on_interrupt(), Resume::From(Phase::Verify, 0));
    assert_eq!(st.steps().len(), 1);
    // the journal keeps it whole
    let back: MigrationState = serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
    assert_eq!(back, st);
}

#[test]
fn a_half_written_new_datadir_is_discarded_never_the_old_one() {
    let d = tempfile::tempdir().unwrap();
    let old = d.path().join("chain-data");
    let new = d.path().join("chain-data-wbft");
    std::fs::create_dir_all(old.join("x")).unwrap();
    std::fs::create_dir_all(new.join("y")).unwrap();
    discard_new_datadir(&new, &old).unwrap();
    assert!(!new.exists() && old.join("x").exists());
    discard_new_datadir(&new, &old).unwrap();
    assert!(discard_new_datadir(d.path(), &old).is_err());
    assert!(old.exists());
}

#[tokio::test]
async fn a_migration_runs_its_steps_in_order_records_each_and_stops_at_a_failure() {
    let d = tempfile::tempdir().unwrap();
    let c = ctx(d.path());
    let marks = d.path().join("marks");
    let plan = parse(json!({
        "migrate": [
            {"name": "one", "command": format!("echo one >> '{}'", marks.display())},
            {"name": "two", "command": format!("echo two >> '{}'; echo converting", marks.display())}
        ],
        "verify": [
            {"name": "check", "command": format!("grep -q two '{}' && echo checked", marks.display())}
        ]
    }))
    .unwrap();
    let mut st = MigrationState {
        plan: plan.clone(),
        datadir: c.datadir.clone(),
        new_datadir: None,
        phase: Phase::Migrate,
        next: 0,
        restarts: 0,
        release: Release::default(),
    };
    let mut saved: Vec<(Phase, usize, bool)> = Vec::new();
    let audited = std::sync::Mutex::new(Vec::<String>::new());
    run_migration(
        &c,
        &mut st,
        &mut |s, pg| saved.push((s.phase, s.next, pg.is_some())),
        &|ev, f| {
            let step = f
                .iter()
                .find(|(k, _)| *k == "step")
                .map(|(_, v)| *v)
                .unwrap_or("");
            audited.lock().unwrap().push(format!("{ev}:{step}"));
        },
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read_to_string(&marks).unwrap(), "one\ntwo\n");
    assert_eq!(
        saved,
        [
            (Phase::Migrate, 0, false),
            (Phase::Migrate, 0, true),
            (Phase::Migrate, 1, false),
            (Phase::Migrate, 1, true),
            (Phase::Verify, 0, false),
            (Phase::Verify, 0, true),
            (Phase::Verify, 1, false),
        ]
    );
    assert_eq!(
        *audited.lock().unwrap(),
        ["migrate-step:one", "migrate-step:two", "verify-step:check"]
    );
    // resumed at step 1: step 0 is not run again; a failing step stops it
    std::fs::write(&marks, "").unwrap();
    let mut st = MigrationState {
        plan: parse(json!({"migrate": [
            {"command": format!("echo one >> '{}'", marks.display())},
            {"name": "bad", "command": "echo half done; exit 4"},
            {"command": format!("echo three >> '{}'", marks.display())}
        ]}))
        .unwrap(),
        datadir: c.datadir.clone(),
        new_datadir: None,
        phase: Phase::Migrate,
        next: 1,
        restarts: 0,
        release: Release::default(),
    };
    let e = run_migration(&c, &mut st, &mut |_, _| {}, &|_, _| {})
        .await
        .unwrap_err();
    assert_eq!(
        (e.phase, e.index, e.step.as_str()),
        (Phase::Migrate, 1, "bad")
    );
    assert!(
        e.to_string().contains("exit code 4") && e.to_string().contains("half done"),
        "{e}"
    );
    assert_eq!(st.next, 1);
    assert_eq!(std::fs::read_to_string(&marks).unwrap(), "");
}
