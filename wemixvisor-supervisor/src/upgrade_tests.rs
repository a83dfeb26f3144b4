//! Loop tests of upgrades: due at start-up, on a tick and as the node
//! exits; the `UpgradeStep` events; a stop during a step. The node, the
//! chain and the guard are fakes; the new binary is a fake geth script in
//! the store, because the pre-flight runs it (`--help`, `--version`): that
//! one real process runs on the real clock (`tokio::time::resume`), every
//! other wait on the paused one.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::broadcast;
use wemixvisor_core::{Home, InfoSource, NodeProcess, StatusReport, UpgradePlan};
use wemixvisor_node::signals::SupervisorSignal;
use wemixvisor_testkit::node::{NodeCall, RunScript};
use wemixvisor_testkit::scripts::{fake_geth, write_script};
use wemixvisor_upgrade::{Journal, Outcome, Step};

use crate::tests::{cli, make_home, rig_in, run_for, running, wait_status, Setup};
use crate::{Event, EventRecord};

/// A one-second verification window: the window is judged on the wall
/// clock, which paused tokio time does not move.
const CONFIG: &str =
    "[upgrade]\npoll_interval = \"100ms\"\nverify_window = \"1s\"\n[restart]\nbackoff_initial = \"1s\"\ndelay = \"1s\"\n";
/// Real time allowed for a pipeline with pre-flight processes.
const REAL: Duration = Duration::from_secs(30);

fn home_with_v2() -> (tempfile::TempDir, Home) {
    let (dir, home) = make_home(CONFIG);
    fake_geth(&home.upgrade_bin("v2", "geth"), &["http"]).unwrap();
    (dir, home)
}

/// `upgrade-info.json` as the node writes it at its halt height.
fn trigger(home: &Home, name: &str, height: u64) {
    std::fs::write(
        home.upgrade_info_file(),
        format!(r#"{{"name":"{name}","height":{height}}}"#),
    )
    .unwrap();
}

/// The status file of an earlier run that saw the head at `head`.
fn head_seen_before(home: &Home, head: u64) {
    let mut r = StatusReport::default();
    r.chain.head = Some(head);
    std::fs::create_dir_all(home.state_dir()).unwrap();
    std::fs::write(home.status_file(), serde_json::to_vec(&r).unwrap()).unwrap();
}

fn plan(name: &str, height: u64) -> UpgradePlan {
    UpgradePlan {
        name: name.into(),
        height,
        info: InfoSource::None,
        source: "cli".into(),
    }
}

fn current(home: &Home) -> PathBuf {
    std::fs::read_link(home.current_link()).unwrap()
}

fn journal(home: &Home) -> Journal {
    Journal::load(&home.upgrade_journal_file()).unwrap()
}

/// Every event up to and including the first that matches `f`.
async fn events_until(
    rx: &mut broadcast::Receiver<EventRecord>,
    what: &str,
    limit: Duration,
    f: impl Fn(&Event) -> bool,
) -> Vec<Event> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(r)) => {
                let hit = f(&r.event);
                seen.push(r.event);
                if hit {
                    return seen;
                }
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(_)) | Err(_) => panic!("no {what} within {limit:?}; saw {seen:#?}"),
        }
    }
}

fn steps(ev: &[Event]) -> Vec<String> {
    ev.iter()
        .filter_map(|e| match e {
            Event::UpgradeStep { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect()
}

fn applied_v2(e: &Event) -> bool {
    matches!(e, Event::UpgradeApplied { name, .. } if name == "v2")
}

const FULL_RUN: [&str; 8] = [
    "halt",
    "backup",
    "pre-hook",
    "switch",
    "start",
    "verify",
    "post-hook",
    "done",
];

#[tokio::test(start_paused = true)]
async fn an_upgrade_due_at_start_up_runs_before_the_old_binary_starts() {
    let (dir, home) = home_with_v2();
    trigger(&home, "v2", 50);
    head_seen_before(&home, 100);
    let setup = Setup::new();
    setup.chain.set_ticking(true);
    tokio::time::resume();
    let mut r = rig_in((dir, home), setup);
    let ev = events_until(&mut r.events, "v2 applied", REAL, applied_v2).await;
    tokio::time::pause();
    assert_eq!(steps(&ev), FULL_RUN, "{ev:#?}");
    assert!(ev
        .iter()
        .all(|e| !matches!(e, Event::NodeStarted { binary, .. } if binary != "v2")));
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::UpgradeApplied { name, height: 50 } if name == "v2")));
    // The old binary never ran: the halt found nothing, one start after the switch.
    let calls = r.node.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0], NodeCall::Stop);
    assert!(matches!(&calls[1], NodeCall::Start(s) if s.program == r.home.current_bin("geth")));
    assert_eq!(current(&r.home), PathBuf::from("upgrades/v2"));
    assert!(journal(&r.home).active.is_none());
    let s = r.handle.status();
    assert_eq!((s.node.binary.as_str(), s.upgrade.step), ("v2", None));
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn an_upgrade_due_on_a_tick_halts_the_node_and_starts_the_new_binary() {
    let (dir, home) = home_with_v2();
    let mut r = rig_in((dir, home), Setup::new());
    running(&r).await;
    assert_eq!(current(&r.home), PathBuf::from("genesis"));
    // Preparation runs the new binary: real clock from here.
    tokio::time::resume();
    let msg = r
        .handle
        .upgrade_add(plan("v2", 150), false, cli())
        .await
        .unwrap();
    assert!(msg.contains("'v2' at 150"), "{msg}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(r.node.starts(), 1, "not due yet at head 100");
    r.chain.set_head(150);
    r.chain.set_ticking(true);
    let ev = events_until(&mut r.events, "v2 applied", REAL, applied_v2).await;
    tokio::time::pause();
    assert_eq!(steps(&ev), FULL_RUN, "{ev:#?}");
    assert_eq!((r.node.stops(), r.node.starts()), (1, 2));
    assert_eq!(r.node.sigkills(), 0);
    assert!(
        r.guard.asked().is_empty(),
        "an upgrade at a height is not guarded"
    );
    assert_eq!(current(&r.home), PathBuf::from("upgrades/v2"));
    // The loop goes on with the new node.
    running(&r).await;
    run_for(Duration::from_secs(5)).await;
    assert_eq!(r.node.starts(), 2);
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn an_upgrade_due_as_the_node_exits_is_applied_before_any_restart() {
    let (dir, home) = home_with_v2();
    let mut r = rig_in((dir, home), Setup::new());
    running(&r).await;
    // The head reached the height before anyone knew of the plan.
    r.chain.set_head(150);
    wait_status(&r.handle, "head 150", |s| s.chain.head == Some(150)).await;
    tokio::time::resume();
    // geth writes upgrade-info.json at its halt height, then exits.
    trigger(&r.home, "v2", 150);
    r.node.crash_now(1);
    r.chain.set_ticking(true);
    let ev = events_until(&mut r.events, "v2 applied", REAL, applied_v2).await;
    tokio::time::pause();
    assert!(
        ev.iter().any(|e| matches!(
            e,
            Event::NodeExited {
                code: Some(1),
                requested: false,
                ..
            }
        )),
        "{ev:#?}"
    );
    assert!(
        !ev.iter()
            .any(|e| matches!(e, Event::NodeRestarting { .. } | Event::NodeGaveUp { .. })),
        "the old binary is not restarted: {ev:#?}"
    );
    assert_eq!(steps(&ev), FULL_RUN, "{ev:#?}");
    assert_eq!(r.node.starts(), 2, "the first run and the new binary");
    assert_eq!(current(&r.home), PathBuf::from("upgrades/v2"));
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_a_start_up_pre_hook_ends_at_a_safe_point_and_the_next_start_converges() {
    let (dir, home) = home_with_v2();
    trigger(&home, "v2", 50);
    head_seen_before(&home, 100);
    let hook_pid = home.root().join("hook.pid");
    let hook = home.scripts_dir().join("pre-upgrade");
    write_script(
        &hook,
        &format!("echo $$ > '{}'; exec sleep 60", hook_pid.display()),
    )
    .unwrap();
    tokio::time::resume();
    let mut r = rig_in((dir, home), Setup::new());
    events_until(
        &mut r.events,
        "the pre-hook",
        REAL,
        |e| matches!(e, Event::UpgradeStep { step, .. } if step == "pre-hook"),
    )
    .await;
    let pid = loop {
        if let Some(p) = std::fs::read_to_string(&hook_pid)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        r.handle.status().upgrade.step.as_deref(),
        Some("v2: pre-hook")
    );
    let t = std::time::Instant::now();
    let msg = r.handle.stop(false, cli()).await.unwrap();
    assert_eq!(msg, "stopped");
    let crate::tests::Rig {
        _dir: dir,
        home,
        node,
        mut events,
        task,
        ..
    } = r;
    assert_eq!(task.await.unwrap().unwrap(), 0);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    // The hook's group was stopped, the journal stays at the step it reached.
    let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err();
    assert!(gone, "the hook still runs");
    let j = journal(&home);
    let active = j.active.expect("the upgrade stays in the journal");
    assert_eq!((active.step, active.helper), (Step::PreHook, None));
    assert_eq!(current(&home), PathBuf::from("genesis"));
    assert_eq!(node.starts(), 0, "the old binary never ran");
    let mut rest = Vec::new();
    while let Ok(e) = events.try_recv() {
        rest.push(e.event);
    }
    assert!(
        rest.iter()
            .any(|e| matches!(e, Event::UpgradeStep { step, .. } if step == "interrupted")),
        "{rest:#?}"
    );
    assert!(
        !rest
            .iter()
            .any(|e| matches!(e, Event::UpgradeFailed { .. })),
        "{rest:#?}"
    );

    // Started again, the upgrade starts over and completes.
    write_script(&hook, "exit 0").unwrap();
    let setup = Setup::new();
    setup.chain.set_ticking(true);
    let mut r = rig_in((dir, home), setup);
    let ev = events_until(&mut r.events, "v2 applied", REAL, applied_v2).await;
    tokio::time::pause();
    assert_eq!(steps(&ev), FULL_RUN, "{ev:#?}");
    assert_eq!(current(&r.home), PathBuf::from("upgrades/v2"));
    let j = journal(&r.home);
    assert!(j.active.is_none());
    let outcomes: Vec<Outcome> = j.history.iter().map(|h| h.outcome).collect();
    assert_eq!(outcomes, [Outcome::Interrupted, Outcome::Done]);
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn sigterm_during_verification_stops_the_new_node_gracefully_and_recovery_finishes() {
    let (dir, home) = home_with_v2();
    let mut r = rig_in((dir, home), Setup::new());
    running(&r).await;
    tokio::time::resume();
    r.handle
        .upgrade_add(plan("v2", 150), false, cli())
        .await
        .unwrap();
    // The head reaches the height, then stands still: verification waits.
    r.chain.set_head(150);
    events_until(
        &mut r.events,
        "the verify step",
        REAL,
        |e| matches!(e, Event::UpgradeStep { step, .. } if step == "verify"),
    )
    .await;
    r.signals.send(SupervisorSignal::Terminate).await.unwrap();
    let crate::tests::Rig {
        _dir: dir,
        home,
        node,
        task,
        ..
    } = r;
    assert_eq!(task.await.unwrap().unwrap(), 0);
    assert_eq!((node.starts(), node.stops(), node.sigkills()), (2, 2, 0));
    assert_eq!(node.pid(), None);
    let active = journal(&home).active.expect("still in its window");
    assert_eq!(active.step, Step::Verify);
    assert_eq!(current(&home), PathBuf::from("upgrades/v2"));

    // The next start carries it through: the new binary starts and is verified.
    let setup = Setup::new();
    setup.chain.set_head(150);
    setup.chain.set_ticking(true);
    let mut r = rig_in((dir, home), setup);
    let ev = events_until(&mut r.events, "v2 applied", REAL, applied_v2).await;
    tokio::time::pause();
    assert!(steps(&ev).ends_with(&["done".to_string()]), "{ev:#?}");
    assert!(journal(&r.home).active.is_none());
    assert_eq!(r.node.starts(), 1);
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_failed_new_binary_is_rolled_back_with_its_steps_on_the_stream() {
    let (dir, home) = home_with_v2();
    trigger(&home, "v2", 50);
    head_seen_before(&home, 100);
    let setup = Setup::new();
    // The new binary dies at once after its start.
    setup
        .node
        .script([RunScript::crash_after(Duration::from_millis(10), 2)]);
    setup.chain.set_ticking(true);
    tokio::time::resume();
    let mut r = rig_in((dir, home), setup);
    let ev = events_until(&mut r.events, "rolled back", REAL, |e| {
        matches!(e, Event::UpgradeRolledBack { .. })
    })
    .await;
    tokio::time::pause();
    let s = steps(&ev);
    assert_eq!(
        s,
        [
            "halt",
            "backup",
            "pre-hook",
            "switch",
            "start",
            "verify",
            "rollback",
            "rolled back"
        ],
        "{ev:#?}"
    );
    assert_eq!(current(&r.home), PathBuf::from("genesis"));
    running(&r).await;
    r.task.abort();
}

/// A home whose node has a datadir, so it serves `<datadir>/geth.ipc`, and
/// an upgrade tick too long to ever come during a test.
fn home_with_ipc() -> (tempfile::TempDir, Home) {
    let (dir, home) = make_home(
        "[upgrade]\npoll_interval = \"24h\"\nverify_window = \"1s\"\n[health]\ninterval = \"24h\"\n",
    );
    fake_geth(&home.upgrade_bin("v2", "geth"), &["http", "datadir"]).unwrap();
    std::fs::write(
        home.node_options_file(),
        format!("datadir = {:?}\n", home.data_dir().display().to_string()),
    )
    .unwrap();
    (dir, home)
}

/// Waits (real clock) until the loop holds a live head subscription.
async fn subscribed(chain: &wemixvisor_testkit::chain::FakeChain) {
    let deadline = std::time::Instant::now() + REAL;
    while chain.live_subscriptions() == 0 {
        assert!(std::time::Instant::now() < deadline, "never subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_new_head_at_the_plan_height_fires_the_upgrade_without_a_poll_tick() {
    let (dir, home) = home_with_ipc();
    let setup = Setup::new();
    setup.chain.set_pushes(true);
    let mut r = rig_in((dir, home), setup);
    running(&r).await;
    // Nothing waits for a height: no subscription, no head polling.
    run_for(Duration::from_secs(60)).await;
    assert_eq!(r.chain.live_subscriptions(), 0);
    let idle_calls = r.chain.calls();
    run_for(Duration::from_secs(600)).await;
    assert_eq!(r.chain.calls(), idle_calls, "the idle loop read the chain");
    tokio::time::resume();
    r.handle
        .upgrade_add(plan("v2", 150), false, cli())
        .await
        .unwrap();
    subscribed(&r.chain).await;
    assert_eq!(
        r.chain.subscribe_calls().last(),
        Some(&wemixvisor_core::HeadEndpoint::Ipc(
            r.home.data_dir().join("geth.ipc")
        ))
    );
    // A head below the height is only seen.
    r.chain.push_head(149);
    wait_status(&r.handle, "head 149", |s| s.chain.head == Some(149)).await;
    assert_eq!(r.node.starts(), 1);
    // eth_blockNumber would still say 149: only the pushed head can fire it.
    r.chain.push_head(150);
    r.chain.set_head(149);
    let ev = events_until(&mut r.events, "v2 applied", REAL, applied_v2).await;
    assert_eq!(steps(&ev), FULL_RUN, "{ev:#?}");
    assert_eq!(current(&r.home), PathBuf::from("upgrades/v2"));
    // Nothing waits any more: the subscription is closed.
    let deadline = std::time::Instant::now() + REAL;
    while r.chain.live_subscriptions() != 0 {
        assert!(std::time::Instant::now() < deadline, "still subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn without_a_subscription_the_head_is_polled() {
    // A node that cannot push heads: the poll tick carries the head.
    let (dir, home) = home_with_v2();
    fake_geth(&home.upgrade_bin("v2", "geth"), &["http", "datadir"]).unwrap();
    std::fs::write(
        home.node_options_file(),
        format!("datadir = {:?}\n", home.data_dir().display().to_string()),
    )
    .unwrap();
    let setup = Setup::new();
    let mut r = rig_in((dir, home), setup);
    running(&r).await;
    tokio::time::resume();
    r.handle
        .upgrade_add(plan("v2", 150), false, cli())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.chain.live_subscriptions(), 0);
    assert!(!r.chain.subscribe_calls().is_empty(), "never asked");
    r.chain.set_head(150);
    let ev = events_until(&mut r.events, "v2 applied", REAL, applied_v2).await;
    assert_eq!(steps(&ev), FULL_RUN, "{ev:#?}");
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_subscription_that_ends_is_taken_again_and_still_fires() {
    let (dir, home) = home_with_ipc();
    let setup = Setup::new();
    setup.chain.set_pushes(true);
    let mut r = rig_in((dir, home), setup);
    running(&r).await;
    tokio::time::resume();
    r.handle
        .upgrade_add(plan("v2", 150), false, cli())
        .await
        .unwrap();
    subscribed(&r.chain).await;
    let asked = r.chain.subscribe_calls().len();
    // The node closed its socket (as a restart does): subscribe again.
    r.chain.end_subscriptions();
    subscribed(&r.chain).await;
    assert!(r.chain.subscribe_calls().len() > asked);
    r.chain.push_head(151);
    let ev = events_until(&mut r.events, "v2 applied", REAL, applied_v2).await;
    assert!(ev
        .iter()
        .any(|e| matches!(e, Event::UpgradeApplied { name, height: 150 } if name == "v2")));
    r.task.abort();
}
