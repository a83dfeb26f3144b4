//! Each control verb in each state of the loop (running, restarting after a
//! crash, gave up, in an upgrade step), and an error injected into the arms
//! that have one, with the loop still alive afterwards.

use std::sync::Arc;
use std::time::Duration;

use wemixvisor_core::{Home, InfoSource, UpgradePlan};
use wemixvisor_node::signals::SupervisorSignal;
use wemixvisor_testkit::node::RunScript;
use wemixvisor_testkit::scripts::{fake_geth, write_script};

use crate::tests::{cli, drain, make_home, rig_in, run_for, running, wait_status, Rig, Setup};
use crate::{ControlResult, Event, FeedItem, SupervisorHandle, TakenBackup};

fn plan(name: &str, height: u64) -> UpgradePlan {
    UpgradePlan {
        name: name.into(),
        height,
        info: InfoSource::None,
        source: "cli".into(),
    }
}

fn backup_fn() -> crate::BackupFn {
    Arc::new(|name, _| {
        Ok(TakenBackup {
            id: name.unwrap_or_else(|| "snap".into()),
            bytes: 1,
            duration_secs: 0.0,
            notes: Vec::new(),
        })
    })
}

fn home_with(config: &str, names: &[&str]) -> (tempfile::TempDir, Home) {
    let (dir, home) = make_home(config);
    for n in names {
        fake_geth(&home.upgrade_bin(n, "geth"), &["http"]).unwrap();
    }
    (dir, home)
}

/// The verbs that do not change the node's run, in order, with their answers.
async fn side_verbs(h: &SupervisorHandle) -> Vec<(&'static str, ControlResult)> {
    vec![
        ("reload", h.reload(cli()).await),
        (
            "upgrade add",
            h.upgrade_add(plan("v3", 1_000_000), false, cli()).await,
        ),
        (
            "upgrade plan",
            h.upgrade_plan(vec![plan("v4", 2_000_000)], cli()).await,
        ),
        ("upgrade cancel", h.upgrade_cancel("v4".into(), cli()).await),
        (
            "backup create",
            h.backup_create(Some("b1".into()), cli()).await,
        ),
        ("rollback", h.rollback(false, false, cli()).await),
    ]
}

fn assert_side_verbs(state: &str, got: &[(&str, ControlResult)]) {
    for (verb, r) in got {
        match *verb {
            // Nothing to roll back to from genesis: refused, with the reason.
            "rollback" => {
                let e = r.as_ref().expect_err(state);
                assert!(e.message.contains("genesis"), "{state}: {e:?}");
            }
            _ => assert!(r.is_ok(), "{state}: {verb}: {r:?}"),
        }
    }
    let msgs: Vec<String> = got
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().cloned())
        .collect();
    assert!(msgs[1].contains("'v3' at 1000000"), "{state}: {msgs:?}");
    assert!(
        msgs[3].contains("cancelled upgrade 'v4'"),
        "{state}: {msgs:?}"
    );
    assert!(msgs[4].contains("b1"), "{state}: {msgs:?}");
}

fn setup_with_backup() -> Setup<wemixvisor_testkit::chain::FakeGuard> {
    let mut s = Setup::new();
    s.backup = Some(backup_fn());
    s
}

#[tokio::test(start_paused = true)]
async fn every_verb_while_running() {
    let r = rig_in(home_with("", &["v3", "v4"]), setup_with_backup());
    running(&r).await;
    assert_eq!(r.handle.status().supervisor.state, "running");
    let got = side_verbs(&r.handle).await;
    assert_side_verbs("running", &got);
    let e = r.handle.start_node(cli()).await.unwrap_err();
    assert!(e.message.contains("already running"), "{e:?}");
    let msg = r.handle.restart(false, cli()).await.unwrap();
    assert!(msg.contains("node restarted"), "{msg}");
    assert_eq!(r.node.starts(), 2);
    assert_eq!(r.handle.stop(false, cli()).await.unwrap(), "stopped");
    assert_eq!(r.task.await.unwrap().unwrap(), 0);
    assert_eq!((r.node.stops(), r.node.sigkills()), (2, 0));
}

#[tokio::test(start_paused = true)]
async fn every_verb_while_restarting_after_a_crash() {
    let setup = setup_with_backup();
    setup.node.script([
        RunScript::crash_after(Duration::from_secs(1), 1),
        RunScript::crash_after(Duration::from_secs(1), 1),
    ]);
    let r = rig_in(
        home_with(
            "[restart]\nbackoff_initial = \"100s\"\nbackoff_max = \"200s\"\ndelay = \"100s\"\n",
            &["v3", "v4"],
        ),
        setup,
    );
    wait_status(&r.handle, "restarting", |s| s.node.state == "restarting").await;
    let got = side_verbs(&r.handle).await;
    assert_side_verbs("restarting", &got);
    assert_eq!(r.handle.status().node.state, "restarting", "still waiting");
    assert_eq!(r.node.starts(), 1);
    // restart: the node is down, so no guard and no stop; it starts now.
    let msg = r.handle.restart(false, cli()).await.unwrap();
    assert!(msg.contains("node restarted"), "{msg}");
    assert_eq!(r.node.starts(), 2);
    assert!(r.guard.asked().is_empty());
    // crashed again: stop ends the supervisor without waiting for the backoff.
    wait_status(&r.handle, "restarting", |s| s.node.state == "restarting").await;
    assert_eq!(r.handle.stop(false, cli()).await.unwrap(), "stopped");
    assert_eq!(r.task.await.unwrap().unwrap(), 0);
    assert_eq!(r.node.starts(), 2);
}

#[tokio::test(start_paused = true)]
async fn every_verb_after_give_up_answers_that_the_supervisor_is_gone() {
    let setup = setup_with_backup();
    setup
        .node
        .default_run(RunScript::crash_after(Duration::from_secs(1), 3));
    let Rig {
        _dir,
        handle,
        task,
        node,
        ..
    } = rig_in(
        home_with(
            "[restart]\nmax_restarts = 1\nbackoff_initial = \"1s\"\n",
            &[],
        ),
        setup,
    );
    assert_eq!(task.await.unwrap().unwrap(), 3);
    assert_eq!(handle.status().supervisor.state, "failed");
    let mut answers = side_verbs(&handle).await;
    answers.push(("start", handle.start_node(cli()).await));
    answers.push(("restart", handle.restart(false, cli()).await));
    answers.push(("stop", handle.stop(false, cli()).await));
    for (verb, r) in answers {
        let e = r.expect_err(verb);
        assert!(e.message.contains("not running any more"), "{verb}: {e:?}");
        assert!(e.hint.is_some(), "{verb}");
    }
    assert_eq!(node.starts(), 2);
}

#[tokio::test(start_paused = true)]
async fn every_verb_during_an_upgrade_step_is_answered_after_it() {
    let (dir, home) = home_with(
        "[upgrade]\npoll_interval = \"100ms\"\n",
        &["v2", "v3", "v4"],
    );
    let release = home.root().join("release");
    write_script(
        &home.scripts_dir().join("pre-upgrade"),
        &format!(
            "while [ ! -f '{}' ]; do sleep 0.05; done",
            release.display()
        ),
    )
    .unwrap();
    let setup = setup_with_backup();
    setup.chain.set_ticking(true);
    let mut r = rig_in((dir, home), setup);
    running(&r).await;
    // The pre-flight and the hook are real processes: real clock from here.
    tokio::time::resume();
    r.handle
        .upgrade_add(plan("v2", 500), false, cli())
        .await
        .unwrap();
    r.chain.set_head(500);
    wait_status(&r.handle, "in the pre-hook", |s| {
        s.upgrade.step.as_deref() == Some("v2: pre-hook")
    })
    .await;
    let h = r.handle.clone();
    let verbs = tokio::spawn(async move {
        let mut got = side_verbs(&h).await;
        got.push(("restart", h.restart(false, cli()).await));
        got
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // status answers at once; the rest waits for the step's end.
    let s = r.handle.status();
    assert_eq!(s.node.state, "upgrading");
    assert!(!verbs.is_finished());
    std::fs::write(&release, "").unwrap();
    let got = tokio::time::timeout(Duration::from_secs(30), verbs)
        .await
        .unwrap()
        .unwrap();
    tokio::time::pause();
    for (verb, res) in &got {
        match *verb {
            // Answered after the upgrade: v2 is what `current` names now,
            // so the rollback goes back to genesis.
            "rollback" => assert!(
                res.as_ref().is_ok_and(|m| m.contains("rolled back 'v2'")),
                "{res:?}"
            ),
            _ => assert!(res.is_ok(), "{verb}: {res:?}"),
        }
    }
    // The upgrade went through to its verification window, where the
    // operator's rollback (answered after the step) took it back.
    let ev = drain(&mut r.events);
    assert!(
        ev.iter().any(
            |e| matches!(e, Event::UpgradeStep { name, step } if name == "v2" && step == "verify")
        ),
        "{ev:#?}"
    );
    assert_eq!(
        std::fs::read_link(r.home.current_link()).unwrap(),
        std::path::PathBuf::from("genesis")
    );
    assert_eq!(r.handle.stop(true, cli()).await.unwrap(), "stopped");
    assert_eq!(r.task.await.unwrap().unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn errors_in_the_signal_governance_and_command_arms_leave_the_loop_alive() {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut setup = Setup::new();
    setup.feed = Some(rx);
    let mut r = rig_in(home_with("", &[]), setup);
    running(&r).await;
    // governance: a plan the queue refuses (a name that is a path)
    tx.send(FeedItem::Plan(plan("../ghost", 5000)))
        .await
        .unwrap();
    run_for(Duration::from_millis(100)).await;
    // signal: SIGHUP with a broken configuration file
    std::fs::write(r.home.config_file(), "[health\n").unwrap();
    r.signals.send(SupervisorSignal::Hangup).await.unwrap();
    run_for(Duration::from_millis(100)).await;
    // command: cancel of a plan that is not queued
    assert!(r
        .handle
        .upgrade_cancel("ghost".into(), cli())
        .await
        .is_err());
    let ev = drain(&mut r.events);
    assert!(
        ev.iter().any(
            |e| matches!(e, Event::LoopError { arm, error } if arm == "governance" && error.contains("ghost"))
        ),
        "{ev:#?}"
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::ConfigReloadFailed { .. })),
        "{ev:#?}"
    );
    assert!(r
        .handle
        .status()
        .supervisor
        .last_error
        .is_some_and(|e| e.starts_with("governance")));
    // Still alive: the feed keeps working, the node was never touched.
    tx.send(FeedItem::Change("proposal 7 approved".into()))
        .await
        .unwrap();
    run_for(Duration::from_secs(10)).await;
    assert!(drain(&mut r.events)
        .iter()
        .any(|e| matches!(e, Event::GovernanceChanged { .. })));
    assert_eq!((r.node.starts(), r.node.stops()), (1, 0));
    assert_eq!(r.handle.status().supervisor.state, "running");
    r.task.abort();
}
