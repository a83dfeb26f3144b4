//! Process behaviour: persistence, signals, crashes, the datadir lock.

use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::support::{run, saved_head, state_file, wait_saved_head, Node};

#[test]
fn head_persists_across_restart_and_versions() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Node::start(
        dir.path(),
        &["--sim.block-period", "30ms", "--sim.version", "1.0.0"],
    );
    wait_saved_head(dir.path(), 5);
    first.signal(Signal::SIGTERM);
    assert_eq!(first.wait_exit().code(), Some(0));
    let saved = saved_head(dir.path()).unwrap();
    assert!(saved >= 5);
    assert!(
        !state_file(dir.path(), "LOCK").exists(),
        "clean exit removes LOCK"
    );

    // Another "version" on the same datadir continues the chain.
    let second = Node::start_http(
        dir.path(),
        &["--sim.block-period", "30ms", "--sim.version", "2.0.0"],
    );
    assert!(second
        .stderr()
        .contains(&format!("Loaded most recent local block number={saved} ")));
    assert!(second.block_number() >= saved);
    second.wait_height(saved + 2);
}

#[test]
fn sigterm_is_graceful_and_saves_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(
        dir.path(),
        &[
            "--sim.block-period",
            "30ms",
            "--sim.shutdown-delay",
            "300ms",
        ],
    );
    wait_saved_head(dir.path(), 3);
    assert_eq!(
        std::fs::read_to_string(state_file(dir.path(), "LOCK"))
            .unwrap()
            .trim(),
        node.pid().to_string()
    );
    let t = Instant::now();
    node.signal(Signal::SIGTERM);
    let status = node.wait_exit();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", node.stderr());
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "shutdown delay honoured"
    );
    let log = node.stderr();
    assert!(
        log.contains("INFO Got interrupt, shutting down..."),
        "{log}"
    );
    let last = log
        .lines()
        .filter_map(|l| l.split("Imported new chain segment number=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .max()
        .unwrap();
    assert_eq!(saved_head(dir.path()), Some(last));
    assert!(!state_file(dir.path(), "LOCK").exists());
}

#[test]
fn sigint_also_stops_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path(), &["--sim.quiet"]);
    node.wait_stderr("Loaded most recent local block");
    node.signal(Signal::SIGINT);
    assert_eq!(node.wait_exit().code(), Some(0));
    assert!(
        !node.stderr().contains("Imported new chain segment"),
        "--sim.quiet"
    );
}

#[test]
fn ignore_sigterm_survives_sigterm_and_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(
        dir.path(),
        &["--sim.ignore-sigterm", "--sim.block-period", "50ms"],
    );
    node.wait_stderr("Loaded most recent local block");
    node.signal(Signal::SIGTERM);
    node.signal(Signal::SIGINT);
    node.wait_stderr("Ignoring SIGINT");
    thread::sleep(Duration::from_millis(300));
    assert!(node.running(), "must survive SIGTERM/SIGINT");
    assert!(node.stderr().contains("Ignoring SIGTERM"));
    assert!(!node.stderr().contains("Got interrupt"));
    node.signal(Signal::SIGKILL);
    assert_eq!(node.wait_exit().code(), None, "killed by a signal");
}

#[test]
fn crash_at_exits_2_and_crash_loops_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (status, node) = run(
        dir.path(),
        &["--sim.block-period", "30ms", "--sim.crash-at", "3"],
    );
    assert_eq!(status.code(), Some(2));
    assert!(
        node.stderr().contains("CRIT simulated crash at height 3"),
        "{}",
        node.stderr()
    );
    assert_eq!(saved_head(dir.path()), Some(3));

    // Already at the crash height: crashes after the first block of the run;
    // the stale LOCK left by the crash does not block the restart.
    assert!(state_file(dir.path(), "LOCK").exists());
    let (status, node) = run(
        dir.path(),
        &["--sim.block-period", "30ms", "--sim.crash-at", "3"],
    );
    assert_eq!(status.code(), Some(2), "{}", node.stderr());
    assert!(node.stderr().contains("CRIT simulated crash at height 4"));
    assert_eq!(saved_head(dir.path()), Some(4));
}

#[test]
fn a_second_node_on_the_same_datadir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = Node::start(dir.path(), &["--sim.block-period", "50ms"]);
    first.wait_stderr("Loaded most recent local block");

    let (status, second) = run(dir.path(), &[]);
    assert_eq!(status.code(), Some(1));
    assert!(
        second.stderr().contains(
            "Fatal: Failed to create the protocol stack: datadir already used by another process"
        ),
        "{}",
        second.stderr()
    );
    assert!(first.running());
    assert_eq!(
        std::fs::read_to_string(state_file(dir.path(), "LOCK"))
            .unwrap()
            .trim(),
        first.pid().to_string(),
        "the refused node must not touch the lock"
    );

    first.signal(Signal::SIGTERM);
    assert_eq!(first.wait_exit().code(), Some(0));
    let (status, _) = run(dir.path(), &["--sim.exit-at-start", "0"]);
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_lock_naming_a_live_process_is_refused_and_a_dead_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("devnode")).unwrap();
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    std::fs::write(
        state_file(dir.path(), "LOCK"),
        format!("{}\n", sleeper.id()),
    )
    .unwrap();
    let (status, node) = run(dir.path(), &[]);
    assert_eq!(status.code(), Some(1), "{}", node.stderr());
    assert!(node
        .stderr()
        .contains("datadir already used by another process"));

    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let mut node = Node::start(dir.path(), &[]);
    node.wait_stderr("Loaded most recent local block");
    node.signal(Signal::SIGTERM);
    assert_eq!(node.wait_exit().code(), Some(0));
}

#[test]
fn stall_at_stops_block_production() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_http(
        dir.path(),
        &["--sim.block-period", "20ms", "--sim.stall-at", "3"],
    );
    node.wait_stderr("Chain stalled");
    thread::sleep(Duration::from_millis(200));
    assert_eq!(node.block_number(), 3);
    assert_eq!(saved_head(dir.path()), Some(3));
}

#[test]
fn resume_after_ends_the_stall_when_the_others_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_http(
        dir.path(),
        &[
            "--sim.block-period",
            "20ms",
            "--sim.stall-at",
            "3",
            "--sim.resume-after",
            "600ms",
        ],
    );
    node.wait_stderr("Chain stalled");
    assert_eq!(node.block_number(), 3);
    let moved = (0..200).any(|_| {
        thread::sleep(Duration::from_millis(20));
        node.block_number() > 3
    });
    assert!(moved, "blocks did not resume:\n{}", node.stderr());
}

#[test]
fn crash_after_exits_2_after_that_long() {
    let dir = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    let (status, node) = run(
        dir.path(),
        &["--sim.block-period", "20ms", "--sim.crash-after", "400ms"],
    );
    assert_eq!(status.code(), Some(2));
    assert!(start.elapsed() >= Duration::from_millis(400));
    assert!(
        node.stderr()
            .contains("simulated crash (--sim.crash-after)"),
        "{}",
        node.stderr()
    );
}

#[test]
fn exit_at_start_prints_the_banner_and_exits_with_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let (status, node) = run(dir.path(), &["--sim.exit-at-start", "7"]);
    assert_eq!(status.code(), Some(7));
    assert!(node.stderr().contains("INFO devnode starting version="));
    assert!(
        !state_file(dir.path(), "LOCK").exists(),
        "exits before touching the datadir"
    );
}

#[test]
fn flood_logs_writes_numbered_lines_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &["--sim.flood-logs", "0", "--sim.flood-count", "5000"],
    );
    let deadline = Instant::now() + crate::support::TIMEOUT;
    while node.stdout_lines().len() < 5000 {
        assert!(
            Instant::now() < deadline,
            "only {} lines",
            node.stdout_lines().len()
        );
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(100));
    let lines = node.stdout_lines();
    assert_eq!(lines.len(), 5000, "flood-count stops the flood");
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("LOG {i} ")), "line {i}: {line}");
    }
}

#[test]
fn flood_logs_respects_the_rate() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["--sim.flood-logs", "50"]);
    let deadline = Instant::now() + crate::support::TIMEOUT;
    while node.stdout_lines().is_empty() {
        assert!(Instant::now() < deadline, "no flood output");
        thread::sleep(Duration::from_millis(5));
    }
    let before = node.stdout_lines().len();
    thread::sleep(Duration::from_millis(500));
    let n = node.stdout_lines().len() - before;
    assert!(
        (12..=40).contains(&n),
        "about 25 lines in 0.5 s at 50/s, got {n}"
    );
}
