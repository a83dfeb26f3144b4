use super::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Mutex;

use sha2::Digest;
use wemixvisor_core::{atomic, CoreError, InfoSource, OsFs, SnapshotRef};

use crate::journal::HelperProcess;
use crate::testing::{fake_geth, Call, Reply, ScriptedNode, TestServer, TickingChain};
use crate::FlagMigration;

const FLAGS: &[&str] = &["datadir", "http", "http.port", "rpc"];

struct Fx {
    _d: tempfile::TempDir,
    home: Home,
    backup: Arc<RecordingBackup>,
}

impl Fx {
    fn new() -> Self {
        let d = tempfile::tempdir().unwrap();
        let home = Home::new(d.path().join("home"));
        fake_geth(&home.genesis_bin("geth"), FLAGS);
        atomic::replace_symlink(&home.current_link(), Path::new("genesis")).unwrap();
        Fx {
            _d: d,
            home,
            backup: Arc::new(RecordingBackup::default()),
        }
    }

    fn install(&self, name: &str, flags: &[&str]) {
        fake_geth(&self.home.upgrade_bin(name, "geth"), flags);
    }

    fn settings(&self) -> UpgradeSettings {
        UpgradeSettings {
            verify_timeout: Duration::from_secs(3),
            verify_window: Duration::from_secs(3),
            hook_timeout: Duration::from_secs(5),
            preflight_timeout: Duration::from_secs(5),
            ..UpgradeSettings::default()
        }
    }

    fn manager(&self, s: UpgradeSettings) -> UpgradeManager<OsFs> {
        UpgradeManager::new(
            self.home.clone(),
            "geth",
            OsFs,
            s,
            Some(self.backup.clone()),
        )
        .unwrap()
    }

    fn spec(&self, args: &[&str]) -> LaunchSpec {
        LaunchSpec {
            program: self.home.current_bin("geth"),
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        }
    }

    fn current(&self) -> String {
        std::fs::read_link(self.home.current_link())
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    fn hook(&self, which: &str, body: &str) {
        let p = self.home.scripts_dir().join(which);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn bin(&self, name: Option<&str>) -> PathBuf {
        match name {
            Some(n) => self.home.upgrade_bin(n, "geth"),
            None => self.home.genesis_bin("geth"),
        }
        .canonicalize()
        .unwrap()
    }

    fn queue(&self) -> UpgradeQueue {
        UpgradeQueue::load(&self.home.upgrade_queue_file()).unwrap()
    }
}

fn plan(name: &str, height: u64) -> UpgradePlan {
    UpgradePlan {
        name: name.into(),
        height,
        info: InfoSource::None,
        source: "test".into(),
    }
}

#[derive(Default)]
struct RecordingBackup {
    snaps: Mutex<Vec<String>>,
    restored: Mutex<Vec<String>>,
}

impl DataBackup for RecordingBackup {
    fn snapshot_before_upgrade(
        &self,
        label: &str,
        _head: Option<u64>,
    ) -> Result<SnapshotRef, CoreError> {
        self.snaps.lock().unwrap().push(label.to_string());
        Ok(SnapshotRef {
            id: format!("snap-{label}"),
            path: "/x".into(),
        })
    }
    fn restore(&self, id: &str) -> Result<(), CoreError> {
        self.restored.lock().unwrap().push(id.to_string());
        Ok(())
    }
}

async fn prepared(m: &mut UpgradeManager<OsFs>, args: &[String], names: &[&str]) {
    for _ in 0..200 {
        m.prepare_pending(args);
        m.refresh();
        let all = names.iter().all(|n| {
            matches!(
                m.queue().get(n).map(|p| &p.prepare),
                Some(PrepareState::Prepared { .. })
            )
        });
        if all {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("not prepared: {:#?}", m.queue().plans());
}

#[tokio::test]
async fn batch_of_three_in_order_head_jumps_one_node_at_a_time() {
    let fx = Fx::new();
    for n in ["v2", "v3", "v4"] {
        fx.install(n, FLAGS);
    }
    let mut m = fx.manager(fx.settings());
    m.offer_batch(
        vec![plan("v2", 10), plan("v3", 20), plan("v4", 30)],
        Some(5),
    )
    .unwrap();
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&["--http"]);
    prepared(&mut m, &spec.args, &["v2", "v3", "v4"]).await;
    assert_eq!(m.due(Some(9)), None);
    let p = m.due(Some(12)).unwrap();
    assert_eq!(p.name, "v2");
    let out = m
        .apply(&p, &node, &chain, &mut spec, Some(12))
        .await
        .unwrap();
    assert!(matches!(out, ApplyOutcome::Restarted { .. }), "{out:?}");
    // the head jumped past both remaining heights: lowest first, each once
    for want in ["v3", "v4"] {
        let p = m.due(Some(99)).unwrap();
        assert_eq!(p.name, want);
        m.apply(&p, &node, &chain, &mut spec, Some(99))
            .await
            .unwrap();
    }
    assert_eq!(m.due(Some(1000)), None);
    assert_eq!(fx.current(), "upgrades/v4");
    assert_eq!(
        node.calls(),
        vec![
            Call::Stop,
            Call::Start(fx.bin(Some("v2")), vec!["--http".into()]),
            Call::Stop,
            Call::Start(fx.bin(Some("v3")), vec!["--http".into()]),
            Call::Stop,
            Call::Start(fx.bin(Some("v4")), vec!["--http".into()]),
        ]
    );
    assert_eq!(
        *fx.backup.snaps.lock().unwrap(),
        vec!["pre-upgrade-v2", "pre-upgrade-v3", "pre-upgrade-v4"]
    );
    let q = fx.queue();
    assert!(
        q.plans().iter().all(|p| p.status.as_str() == "applied"),
        "{q:#?}"
    );
    let j = m.journal().unwrap();
    assert!(j.active.is_none());
    assert_eq!(j.history.len(), 3);
    assert!(j.history.iter().all(|h| h.outcome == Outcome::Done));
    let audit = std::fs::read_to_string(fx.home.audit_log_file()).unwrap();
    assert_eq!(
        audit.matches(r#""action":"upgrade.done""#).count(),
        3,
        "{audit}"
    );
    // a rejected batch changes nothing
    let e = m
        .offer_batch(vec![plan("v5", 50), plan("v6", 40)], Some(5))
        .unwrap_err();
    assert!(matches!(e, UpgradeError::BadPlan { .. }), "{e}");
    assert!(fx.queue().get("v5").is_none());
}

#[tokio::test]
async fn a_plan_not_prepared_is_not_halted_for_until_its_binary_appears() {
    let fx = Fx::new();
    let mut m = fx.manager(fx.settings());
    m.offer(plan("v2", 5)).unwrap();
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&[]);
    m.prepare_pending(&spec.args);
    // wait for the background attempt to fail
    for _ in 0..200 {
        m.prepare_pending(&spec.args);
        if matches!(
            m.queue().get("v2").unwrap().prepare,
            PrepareState::Failed { .. }
        ) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = m.status().unwrap();
    match &status.plans[0].prepare {
        PrepareState::Failed {
            reason, transient, ..
        } => {
            assert!(reason.contains("upgrades/v2/bin/geth"), "{reason}");
            assert!(*transient);
        }
        other => panic!("{other:?}"),
    }
    let p = m.due(Some(5)).unwrap();
    match m
        .apply(&p, &node, &chain, &mut spec, Some(5))
        .await
        .unwrap()
    {
        ApplyOutcome::Blocked {
            reason, new_reason, ..
        } => {
            assert!(reason.contains("upgrades/v2/bin/geth"), "{reason}");
            assert!(new_reason);
        }
        other => panic!("{other:?}"),
    }
    assert!(node.calls().is_empty(), "the node was touched");
    fx.install("v2", FLAGS);
    prepared(&mut m, &spec.args, &["v2"]).await;
    let out = m
        .apply(&p, &node, &chain, &mut spec, Some(6))
        .await
        .unwrap();
    assert!(matches!(out, ApplyOutcome::Restarted { .. }));
    assert_eq!(fx.current(), "upgrades/v2");
}

#[tokio::test]
async fn flag_the_new_binary_dropped_is_migrated_or_blocks() {
    let fx = Fx::new();
    fx.install("v2", &["datadir", "http", "http.port"]);
    fx.install("v3", &["datadir", "http", "http.port"]);
    // without a rename: not switched to, status says why
    let mut s = fx.settings();
    s.flag_migrations = vec![];
    let mut m = fx.manager(s);
    m.offer(plan("v2", 5)).unwrap();
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&["--datadir", "/d", "--rpc"]);
    let p = m.due(Some(5)).unwrap();
    // nothing prepared yet and the node runs: it prepares in the background
    assert!(matches!(
        m.apply(&p, &node, &chain, &mut spec, Some(5))
            .await
            .unwrap(),
        ApplyOutcome::Blocked { .. }
    ));
    for _ in 0..200 {
        m.prepare_pending(&spec.args);
        if matches!(
            m.queue().get("v2").unwrap().prepare,
            PrepareState::Failed { .. }
        ) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match &m.status().unwrap().plans[0].prepare {
        PrepareState::Failed {
            reason, transient, ..
        } => {
            assert!(reason.contains("does not accept --rpc"), "{reason}");
            assert!(!transient);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        m.apply(&p, &node, &chain, &mut spec, Some(5))
            .await
            .unwrap(),
        ApplyOutcome::Blocked { .. }
    ));
    assert!(node.calls().is_empty());
    assert_eq!(fx.current(), "genesis");
    m.cancel("v2").unwrap();

    // with the built-in geth renames: switched, restarted with --http
    let mut m = fx.manager(fx.settings());
    m.offer(plan("v3", 6)).unwrap();
    prepared(&mut m, &spec.args, &["v3"]).await;
    let p = m.due(Some(6)).unwrap();
    let out = m
        .apply(&p, &node, &chain, &mut spec, Some(6))
        .await
        .unwrap();
    assert!(matches!(out, ApplyOutcome::Restarted { .. }));
    let want: Vec<String> = ["--datadir", "/d", "--http"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(spec.args, want);
    assert_eq!(
        node.calls().last(),
        Some(&Call::Start(fx.bin(Some("v3")), want.clone()))
    );
    // the next start of the supervisor builds the same arguments
    let raw: Vec<String> = ["--datadir", "/d", "--rpc"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(m.launch_args(&raw), want);
}

#[tokio::test]
async fn hook_exit_codes_abort_fail_and_retry() {
    let fx = Fx::new();
    for n in ["a", "b", "c"] {
        fx.install(n, FLAGS);
    }
    let mut s = fx.settings();
    s.preupgrade_max_retries = 2;
    let mut m = fx.manager(s);
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&[]);

    // 30: aborted, the old binary runs again
    fx.hook("pre-upgrade", "exit 30");
    m.offer(plan("a", 1)).unwrap();
    prepared(&mut m, &spec.args, &["a"]).await;
    let p = m.due(Some(1)).unwrap();
    let e = m
        .apply(&p, &node, &chain, &mut spec, Some(1))
        .await
        .unwrap_err();
    assert!(matches!(e, UpgradeError::HookAborted { .. }), "{e}");
    assert_eq!(fx.current(), "genesis");
    assert!(node.is_running());
    assert_eq!(
        node.calls().last(),
        Some(&Call::Start(fx.bin(None), vec![]))
    );
    assert_eq!(fx.queue().get("a").unwrap().status.as_str(), "aborted");

    // anything else: failed, the old binary runs again
    fx.hook("pre-upgrade", "echo 'migration broke' >&2; exit 7");
    m.offer(plan("b", 2)).unwrap();
    prepared(&mut m, &spec.args, &["b"]).await;
    let p = m.due(Some(2)).unwrap();
    let e = m
        .apply(&p, &node, &chain, &mut spec, Some(2))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("exit code 7") && e.to_string().contains("migration broke"),
        "{e}"
    );
    assert_eq!(fx.current(), "genesis");
    assert!(node.is_running());
    match &fx.queue().get("b").unwrap().status {
        PlanStatus::Retry { reason } => assert!(reason.contains("exit code 7")),
        other => panic!("{other:?}"),
    }
    // it waits for a re-arm and holds the next one back; dropped here
    m.offer(plan("c", 3)).unwrap();
    assert_eq!(m.due(Some(3)), None);
    m.cancel("b").unwrap();

    // 31 twice, then 0: retried and applied
    let count = fx.home.root().join("count");
    fx.hook(
        "pre-upgrade",
        &format!(
            "n=$(cat '{c}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '{c}'; [ $n -ge 3 ] && exit 0; exit 31",
            c = count.display()
        ),
    );
    fx.hook("post-upgrade", "echo post > \"$WEMIX_HOME/post-ran\"");
    m.offer(plan("c", 3)).unwrap();
    prepared(&mut m, &spec.args, &["c"]).await;
    let p = m.due(Some(3)).unwrap();
    m.apply(&p, &node, &chain, &mut spec, Some(3))
        .await
        .unwrap();
    assert_eq!(fx.current(), "upgrades/c");
    assert!(fx.home.root().join("post-ran").exists());
    let hist: Vec<_> = m
        .journal()
        .unwrap()
        .history
        .iter()
        .map(|h| h.outcome)
        .collect();
    assert_eq!(hist, vec![Outcome::Aborted, Outcome::Failed, Outcome::Done]);
}

#[tokio::test]
async fn new_binary_that_exits_at_once_is_rolled_back_with_its_data() {
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    let mut s = fx.settings();
    s.rollback_restore_data = true;
    let mut m = fx.manager(s);
    m.offer(plan("v2", 5)).unwrap();
    let node = ScriptedNode::running();
    node.crash_when_started_from(&fx.home.upgrade_bin("v2", "geth"));
    let chain = TickingChain::default();
    let mut spec = fx.spec(&["--http"]);
    prepared(&mut m, &spec.args, &["v2"]).await;
    let p = m.due(Some(5)).unwrap();
    let e = m
        .apply(&p, &node, &chain, &mut spec, Some(5))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, UpgradeError::RolledBack { .. }), "{msg}");
    assert!(
        msg.contains("exited (exit code 1)") && msg.contains("restored from snapshot"),
        "{msg}"
    );
    assert_eq!(fx.current(), "genesis");
    assert!(node.is_running());
    assert_eq!(
        node.calls().last(),
        Some(&Call::Start(fx.bin(None), vec!["--http".into()]))
    );
    assert_eq!(
        *fx.backup.restored.lock().unwrap(),
        vec!["snap-pre-upgrade-v2"]
    );
    assert_eq!(fx.queue().get("v2").unwrap().status.as_str(), "rolled back");
    let j = m.journal().unwrap();
    assert_eq!(j.last().unwrap().outcome, Outcome::RolledBack);
    let audit = std::fs::read_to_string(fx.home.audit_log_file()).unwrap();
    assert!(
        audit.contains(
            r#""action":"upgrade.rolled-back","target":"v2","parameters":{"manual":"false""#
        ) && audit.contains(r#""to":"genesis"}"#),
        "{audit}"
    );
    // not tried again
    assert_eq!(m.due(Some(100)), None);
}

#[tokio::test]
async fn a_halt_at_the_fork_height_longer_than_verify_timeout_is_not_rolled_back() {
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    let mut s = fx.settings();
    s.verify_timeout = Duration::from_millis(500);
    s.verify_window = Duration::from_secs(30);
    let mut m = fx.manager(s);
    let node = ScriptedNode::running();
    let mut spec = fx.spec(&[]);
    m.offer(plan("v2", 50)).unwrap();
    prepared(&mut m, &spec.args, &["v2"]).await;
    // WBFT halted just below the fork height; 1 of 4 validators is back
    let chain = TickingChain::frozen_at(49);
    chain.set_quorum(1, 4);
    let others = chain.clone();
    let arrive = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        others.set_quorum(4, 4);
        others.freeze(false);
    });
    let p = m.due(Some(49)).or_else(|| m.due(Some(50))).unwrap();
    let out = m
        .apply(&p, &node, &chain, &mut spec, Some(50))
        .await
        .unwrap();
    arrive.await.unwrap();
    assert!(matches!(out, ApplyOutcome::Restarted { .. }), "{out:?}");
    assert_eq!(fx.current(), "upgrades/v2");
    assert_eq!(fx.queue().get("v2").unwrap().status.as_str(), "applied");
    assert_eq!(m.journal().unwrap().last().unwrap().outcome, Outcome::Done);
}

#[tokio::test]
async fn failing_post_hook_rolls_back() {
    let fx = Fx::new();
    fx.install("v3", FLAGS);
    let mut m = fx.manager(fx.settings());
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&[]);
    fx.hook("post-upgrade", "exit 4");
    m.offer(plan("v3", 6)).unwrap();
    prepared(&mut m, &spec.args, &["v3"]).await;
    let p = m.due(Some(6)).unwrap();
    let e = m
        .apply(&p, &node, &chain, &mut spec, Some(6))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("post-upgrade") && e.to_string().contains("exit code 4"),
        "{e}"
    );
    assert_eq!(fx.current(), "genesis");
    assert!(node.is_running());
}

fn background(fx: &Fx, window: Duration) -> UpgradeSettings {
    UpgradeSettings {
        verify_in_background: true,
        verify_window: window,
        rollback_restore_data: true,
        ..fx.settings()
    }
}

/// v2 applied at height 5 with a 10-minute background window: the new
/// node runs and the journal is at `verify`.
async fn switched_into_a_window() -> (
    Fx,
    UpgradeManager<OsFs>,
    ScriptedNode,
    TickingChain,
    LaunchSpec,
) {
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    let mut m = fx.manager(background(&fx, Duration::from_secs(600)));
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&["--http"]);
    m.offer(plan("v2", 5)).unwrap();
    prepared(&mut m, &spec.args, &["v2"]).await;
    let p = m.due(Some(5)).unwrap();
    let out = m
        .apply(&p, &node, &chain, &mut spec, Some(5))
        .await
        .unwrap();
    assert!(matches!(out, ApplyOutcome::Restarted { .. }), "{out:?}");
    (fx, m, node, chain, spec)
}

#[tokio::test]
async fn a_manual_rollback_inside_the_window_rolls_the_running_upgrade_back() {
    let (fx, mut m, node, _chain, mut spec) = switched_into_a_window().await;
    assert!(m.verifying().is_some());
    let entry = m
        .rollback(
            &node,
            &mut spec,
            true,
            "operator ran `wemixvisor upgrade rollback`",
        )
        .await
        .unwrap();
    assert!(entry.manual);
    assert_eq!(entry.name, "v2");
    assert_eq!(fx.current(), "genesis");
    assert!(node.is_running(), "the previous binary runs again");
    assert_eq!(
        *fx.backup.restored.lock().unwrap(),
        vec!["snap-pre-upgrade-v2"]
    );
    assert!(m.journal().unwrap().active.is_none());
    assert_eq!(fx.queue().get("v2").unwrap().status.as_str(), "rolled back");
}

#[tokio::test]
async fn a_binary_that_crashes_inside_the_window_is_rolled_back_by_the_tick() {
    // apply returns once the new node passed its immediate checks
    let (fx, mut m, node, chain, mut spec) = switched_into_a_window().await;
    assert_eq!(fx.current(), "upgrades/v2");
    assert_eq!(fx.queue().get("v2").unwrap().status.as_str(), "verifying");
    let j = m.journal().unwrap();
    let a = j.active.as_ref().unwrap();
    assert_eq!(a.step, Step::Verify);
    let w = a.verify.as_ref().unwrap();
    assert_eq!(w.deadline_unix - w.opened_unix, 600);
    assert_eq!(m.due(Some(99)), None, "nothing else while verifying");
    match m.tick_verification(&node, &chain, &mut spec).await.unwrap() {
        Some(VerifyDecision::Pending { detail, .. }) => {
            assert!(detail.contains("healthy so far"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    assert!(m.verifying().is_some());
    // the new binary crashes 30 s (here: at once) after the switch
    node.crash_now();
    match m.tick_verification(&node, &chain, &mut spec).await.unwrap() {
        Some(VerifyDecision::Rollback { reason, .. }) => assert!(
            reason.contains("exited (exit code 2)") && reason.contains("restored from snapshot"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(fx.current(), "genesis");
    assert!(node.is_running(), "the previous binary runs again");
    assert_eq!(
        node.calls().last(),
        Some(&Call::Start(fx.bin(None), vec!["--http".into()]))
    );
    assert_eq!(fx.queue().get("v2").unwrap().status.as_str(), "rolled back");
    assert_eq!(
        *fx.backup.restored.lock().unwrap(),
        vec!["snap-pre-upgrade-v2"]
    );
    assert!(m.journal().unwrap().active.is_none());
    assert_eq!(
        m.tick_verification(&node, &chain, &mut spec).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_supervisor_crash_in_the_window_resumes_verification_from_the_journal() {
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    fx.hook("post-upgrade", "echo post > \"$WEMIX_HOME/post-ran\"");
    let mut m = fx.manager(background(&fx, Duration::from_secs(2)));
    let node = ScriptedNode::running();
    let chain = TickingChain::frozen_at(4);
    chain.set_quorum(1, 4);
    let mut spec = fx.spec(&[]);
    m.offer(plan("v2", 5)).unwrap();
    prepared(&mut m, &spec.args, &["v2"]).await;
    let p = m.due(Some(5)).unwrap();
    m.apply(&p, &node, &chain, &mut spec, Some(5))
        .await
        .unwrap();
    let deadline = m
        .journal()
        .unwrap()
        .active
        .unwrap()
        .verify
        .unwrap()
        .deadline_unix;
    // the supervisor dies; the node died with it; a new one starts
    drop(m);
    let node = ScriptedNode::default();
    let mut m = fx.manager(background(&fx, Duration::from_secs(600)));
    let mut spec = fx.spec(&[]);
    let r = m.recover(&node, &chain, &mut spec).await.unwrap();
    assert_eq!(r, Recovery::Verifying { name: "v2".into() });
    assert!(node.is_running());
    assert_eq!(node.calls(), vec![Call::Start(fx.bin(Some("v2")), vec![])]);
    let (_, w) = m.verifying().unwrap();
    assert_eq!(w.deadline_unix, deadline, "the window keeps its deadline");
    match m.tick_verification(&node, &chain, &mut spec).await.unwrap() {
        Some(VerifyDecision::Pending { detail, .. }) => {
            assert!(
                detail.contains("waiting for quorum: 1 of 4 validators"),
                "{detail}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(!fx.home.root().join("post-ran").exists());
    // the window ends with the halt still on: the new binary stays
    tokio::time::sleep(Duration::from_millis(2100)).await;
    match m.tick_verification(&node, &chain, &mut spec).await.unwrap() {
        Some(VerifyDecision::Healthy { detail, .. }) => {
            assert!(
                detail.contains("ended while waiting for quorum"),
                "{detail}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(fx.home.root().join("post-ran").exists());
    assert_eq!(fx.current(), "upgrades/v2");
    assert_eq!(fx.queue().get("v2").unwrap().status.as_str(), "applied");
}

#[tokio::test]
async fn without_restart_after_upgrade_the_next_start_starts_and_verifies() {
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    fx.hook("post-upgrade", "echo post > \"$WEMIX_HOME/post-ran\"");
    let s = UpgradeSettings {
        restart_after_upgrade: false,
        ..fx.settings()
    };
    let mut m = fx.manager(s.clone());
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&[]);
    m.offer(plan("v2", 5)).unwrap();
    prepared(&mut m, &spec.args, &["v2"]).await;
    let p = m.due(Some(5)).unwrap();
    let out = m
        .apply(&p, &node, &chain, &mut spec, Some(5))
        .await
        .unwrap();
    assert_eq!(out, ApplyOutcome::SwitchedStopped { name: "v2".into() });
    assert!(!node.is_running());
    assert_eq!(fx.current(), "upgrades/v2");
    assert_eq!(m.journal().unwrap().active.unwrap().step, Step::Start);
    assert_eq!(fx.queue().get("v2").unwrap().status.as_str(), "verifying");
    assert!(!fx.home.root().join("post-ran").exists());
    // wemixvisor starts again (the service manager), with the same
    // setting: the new binary is started and verified, not left at `start`
    let node = ScriptedNode::default();
    let mut m = fx.manager(s);
    let r = m.recover(&node, &chain, &mut spec).await.unwrap();
    assert_eq!(r, Recovery::Resumed { name: "v2".into() });
    assert!(node.is_running());
    assert!(m.journal().unwrap().active.is_none());
    assert!(fx.home.root().join("post-ran").exists());
    assert_eq!(fx.queue().get("v2").unwrap().status.as_str(), "applied");
}

#[tokio::test]
async fn at_start_up_a_due_plan_is_prepared_and_applied_before_the_old_binary_runs() {
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    let mut m = fx.manager(fx.settings());
    m.offer(plan("v2", 5)).unwrap();
    let node = ScriptedNode::default();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&[]);
    assert_eq!(
        m.recover(&node, &chain, &mut spec).await.unwrap(),
        Recovery::Clean
    );
    let p = m.due(Some(50)).unwrap();
    let out = m
        .apply(&p, &node, &chain, &mut spec, Some(50))
        .await
        .unwrap();
    assert!(matches!(out, ApplyOutcome::Restarted { .. }));
    // the old binary never started
    assert_eq!(
        node.calls(),
        vec![Call::Stop, Call::Start(fx.bin(Some("v2")), vec![])]
    );
}

/// Writes a journal as a crash at `step` would leave it.
fn crashed_at(fx: &Fx, step: Step, switched: bool, attempt: u32) {
    let mut j = Journal::load(&fx.home.upgrade_journal_file()).unwrap();
    j.active = Some(ActiveUpgrade {
        name: "v2".into(),
        height: 5,
        head: Some(5),
        from: None,
        step,
        attempt,
        previous_args: vec!["--rpc".into()],
        args: vec!["--http".into()],
        migrations: vec![FlagMigration::new("rpc", "http")],
        snapshot: Some(SnapshotRef {
            id: "snap-1".into(),
            path: "/x".into(),
        }),
        rollback_reason: (step == Step::RollingBack).then(|| "it crashed".into()),
        restore_data: step == Step::RollingBack,
        restart_after_rollback: true,
        manual: false,
        helper: None,
        migration: None,
        verify: None,
        started_at: now(),
        updated_at: now(),
    });
    j.save().unwrap();
    if switched {
        atomic::replace_symlink(&fx.home.current_link(), Path::new("upgrades/v2")).unwrap();
    }
}

#[tokio::test]
async fn recovery_converges_from_every_step() {
    for (step, switched) in [
        (Step::Halt, false),
        (Step::Backup, false),
        (Step::PreHook, false),
        (Step::Switch, false),
        (Step::Switch, true),
        (Step::Start, true),
        (Step::Verify, true),
        (Step::PostHook, true),
        (Step::RollingBack, true),
        (Step::RollingBack, false),
    ] {
        let fx = Fx::new();
        fx.install("v2", &["datadir", "http"]);
        let mut m = fx.manager(fx.settings());
        m.offer(plan("v2", 5)).unwrap();
        crashed_at(&fx, step, switched, 1);
        let node = ScriptedNode::default();
        let chain = TickingChain::default();
        let mut spec = fx.spec(&["--rpc"]);
        let r = m.recover(&node, &chain, &mut spec).await.unwrap();
        let ctx = format!("{step:?} switched={switched}: {r:?}");
        match step {
            Step::Halt | Step::Backup | Step::PreHook => {
                assert!(matches!(r, Recovery::StartedOver { .. }), "{ctx}");
                assert_eq!(fx.current(), "genesis", "{ctx}");
                assert!(!node.is_running(), "{ctx}");
                // and it goes again, in full
                let p = m.due(Some(6)).unwrap();
                m.apply(&p, &node, &chain, &mut spec, Some(6))
                    .await
                    .unwrap();
                assert_eq!(fx.current(), "upgrades/v2", "{ctx}");
                assert_eq!(spec.args, vec!["--http".to_string()], "{ctx}");
            }
            Step::RollingBack => {
                assert!(matches!(r, Recovery::RolledBack { .. }), "{ctx}");
                assert_eq!(fx.current(), "genesis", "{ctx}");
                assert_eq!(*fx.backup.restored.lock().unwrap(), vec!["snap-1"], "{ctx}");
                assert_eq!(spec.args, vec!["--rpc".to_string()], "{ctx}");
            }
            _ => {
                assert_eq!(r, Recovery::Resumed { name: "v2".into() }, "{ctx}");
                assert_eq!(fx.current(), "upgrades/v2", "{ctx}");
                assert_eq!(spec.args, vec!["--http".to_string()], "{ctx}");
                assert_eq!(
                    fx.queue().get("v2").unwrap().status.as_str(),
                    "applied",
                    "{ctx}"
                );
            }
        }
        // exactly one node runs at the end (or none, left to the supervisor)
        let starts = node
            .calls()
            .iter()
            .filter(|c| matches!(c, Call::Start(..)))
            .count();
        let stops = node
            .calls()
            .iter()
            .filter(|c| matches!(c, Call::Stop))
            .count();
        assert!(starts <= stops + 1, "{ctx}: {:?}", node.calls());
        assert!(m.journal().unwrap().active.is_none(), "{ctx}");
        assert!(fx.home.current_bin("geth").exists(), "{ctx}");
    }
}

#[tokio::test]
async fn interrupted_too_often_gives_up_and_done_is_reconciled() {
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    let mut m = fx.manager(fx.settings());
    m.offer(plan("v2", 5)).unwrap();
    crashed_at(&fx, Step::PreHook, false, 3);
    let node = ScriptedNode::default();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&[]);
    let r = m.recover(&node, &chain, &mut spec).await.unwrap();
    assert!(matches!(r, Recovery::GaveUp { .. }), "{r:?}");
    assert_eq!(fx.queue().get("v2").unwrap().status.as_str(), "retry");
    assert_eq!(m.due(Some(10)), None);

    // a crash between "journal says done" and "queue says applied"
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    let mut m = fx.manager(fx.settings());
    m.offer(plan("v2", 5)).unwrap();
    crashed_at(&fx, Step::PostHook, true, 1);
    let mut j = m.journal().unwrap();
    j.finish(Outcome::Done, Some("v2".into()), None, false)
        .unwrap();
    let r = m.recover(&node, &chain, &mut spec).await.unwrap();
    assert_eq!(r, Recovery::Clean);
    assert_eq!(fx.queue().get("v2").unwrap().status.as_str(), "applied");
    assert_eq!(m.due(Some(10)), None);
}

#[tokio::test]
async fn manual_rollback_offline_restores_the_snapshot() {
    let fx = Fx::new();
    fx.install("v2", &["datadir", "http"]);
    let mut m = fx.manager(fx.settings());
    m.offer(plan("v2", 5)).unwrap();
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&["--rpc"]);
    prepared(&mut m, &spec.args, &["v2"]).await;
    let p = m.due(Some(5)).unwrap();
    m.apply(&p, &node, &chain, &mut spec, Some(5))
        .await
        .unwrap();
    assert_eq!(fx.current(), "upgrades/v2");

    // a fresh manager with nothing running, as `wemixvisor upgrade rollback` has
    let mut m = fx.manager(fx.settings());
    let mut offline_spec = fx.spec(&[]);
    let entry = m
        .rollback(&OfflineNode, &mut offline_spec, true, "operator request")
        .await
        .unwrap();
    assert!(entry.manual);
    assert_eq!(entry.outcome, Outcome::RolledBack);
    assert!(entry
        .reason
        .as_deref()
        .unwrap()
        .contains("restored from snapshot snap-pre-upgrade-v2"));
    assert_eq!(fx.current(), "genesis");
    assert_eq!(
        *fx.backup.restored.lock().unwrap(),
        vec!["snap-pre-upgrade-v2"]
    );
    assert_eq!(offline_spec.args, vec!["--rpc".to_string()]);
    assert_eq!(fx.queue().get("v2").unwrap().status.as_str(), "rolled back");
    let audit = std::fs::read_to_string(fx.home.audit_log_file()).unwrap();
    assert!(audit.contains(r#""manual":"true""#), "{audit}");
    // nothing left to roll back
    let e = m
        .rollback(&OfflineNode, &mut offline_spec, false, "x")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("genesis"), "{e}");
}

#[tokio::test]
async fn cancel_only_pending_plans() {
    let fx = Fx::new();
    let mut m = fx.manager(fx.settings());
    m.offer(plan("v2", 5)).unwrap();
    let e = m.cancel("v9").unwrap_err().to_string();
    assert!(e.contains("pending upgrades: v2"), "{e}");
    m.cancel("v2").unwrap();
    assert!(fx.queue().plans().is_empty());
    // a daemon's manager sees the CLI's change on its next look
    let mut daemon = fx.manager(fx.settings());
    let mut cli = fx.manager(fx.settings());
    cli.offer(plan("v3", 7)).unwrap();
    assert_eq!(daemon.due(Some(8)).unwrap().name, "v3");
}

fn tar_gz_with_geth(script: &Path) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_path_with_name(script, "bin/geth").unwrap();
    let t = b.into_inner().unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &t).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn downloaded_over_https_verified_signed_and_applied() {
    let fx = Fx::new();
    let src = fx.home.root().join("src-geth");
    fake_geth(&src, FLAGS);
    let archive = tar_gz_with_geth(&src);
    let sum = hex::encode(sha2::Sha256::digest(&archive));
    let (pk, sk) = crate::signature::tests::keypair();
    let srv = TestServer::https();
    srv.route("/geth.tar.gz", Reply::ok(archive.clone()));
    srv.route(
        "/geth.tar.gz.minisig",
        Reply::ok(
            crate::signature::tests::sign_with_comment(&sk, &archive, "upgrade:v2").into_bytes(),
        ),
    );
    srv.route("/bad.tar.gz", Reply::ok(archive.clone()));
    srv.route(
        "/bad.tar.gz.minisig",
        Reply::ok(crate::signature::tests::sign(&sk, b"other").into_bytes()),
    );
    let mut s = fx.settings();
    s.download.allow = true;
    s.download.require_signature = true;
    s.download.public_keys = vec![pk];
    s.download.retries = 0;
    s.download.progress = false;
    s.download.ca_cert = Some(srv.ca_pem_file(fx.home.root()));
    let mut m = fx.manager(s);
    let info = |path: &str| {
        InfoSource::Inline(serde_json::json!({
            "binaries": {"any": format!("{}?checksum=sha256:{sum}", srv.url(path))}
        }))
    };
    m.offer(UpgradePlan {
        name: "v2".into(),
        height: 5,
        info: info("/geth.tar.gz"),
        source: "upgrade-info".into(),
    })
    .unwrap();
    m.offer(UpgradePlan {
        name: "v3".into(),
        height: 9,
        info: info("/bad.tar.gz"),
        source: "upgrade-info".into(),
    })
    .unwrap();
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&[]);
    prepared(&mut m, &spec.args, &["v2"]).await;
    assert!(fx.home.upgrade_bin("v2", "geth").exists());
    let marker = m.store().source_marker("v2").unwrap();
    assert_eq!(marker.download_sha256, sum);
    // the badly signed one fails to prepare and leaves nothing behind
    for _ in 0..200 {
        m.prepare_pending(&spec.args);
        if matches!(
            m.queue().get("v3").unwrap().prepare,
            PrepareState::Failed { .. }
        ) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match &m.queue().get("v3").unwrap().prepare {
        PrepareState::Failed {
            reason, transient, ..
        } => {
            assert!(reason.contains("does not match"), "{reason}");
            assert!(!transient);
        }
        other => panic!("{other:?}"),
    }
    assert!(!fx.home.upgrade_dir("v3").exists());
    let names: Vec<_> = std::fs::read_dir(fx.home.upgrades_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["v2".to_string()]);
    let p = m.due(Some(5)).unwrap();
    m.apply(&p, &node, &chain, &mut spec, Some(5))
        .await
        .unwrap();
    assert_eq!(fx.current(), "upgrades/v2");
    // the second is due but was never prepared: the node keeps running v2
    let p = m.due(Some(10)).unwrap();
    assert!(matches!(
        m.apply(&p, &node, &chain, &mut spec, Some(10))
            .await
            .unwrap(),
        ApplyOutcome::Blocked { .. }
    ));
    assert_eq!(fx.current(), "upgrades/v2");
    assert!(node.is_running());
}

#[tokio::test]
async fn downloads_off_means_no_fetch_and_a_clear_reason() {
    let fx = Fx::new();
    let mut m = fx.manager(fx.settings());
    let srv = TestServer::http();
    let p = UpgradePlan {
        name: "v2".into(),
        height: 5,
        info: InfoSource::Inline(serde_json::json!({"binaries": {"any": srv.url("/g")}})),
        source: "t".into(),
    };
    // refused before queuing...
    let e = m.offer(p.clone()).unwrap_err();
    assert!(e.to_string().contains("allow_download_binaries"), "{e}");
    // ...and one queued before downloads were turned off is not fetched
    UpgradeQueue::transact(&fx.home.upgrade_queue_file(), |q| Ok(q.offer(p))).unwrap();
    let node = ScriptedNode::default();
    let mut spec = fx.spec(&[]);
    let p = m.due(Some(5)).unwrap();
    match m
        .apply(&p, &node, &TickingChain::default(), &mut spec, Some(5))
        .await
        .unwrap()
    {
        ApplyOutcome::Blocked { reason, .. } => {
            assert!(reason.contains("allow_download_binaries"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(srv.hits("/g"), 0);
}

fn inline(name: &str, height: u64, info: serde_json::Value) -> UpgradePlan {
    UpgradePlan {
        name: name.into(),
        height,
        info: InfoSource::Inline(info),
        source: "upgrade-info".into(),
    }
}

#[tokio::test]
async fn plans_that_could_only_block_are_refused_before_queuing() {
    let fx = Fx::new();
    let mut m = fx.manager(fx.settings());
    // due at once with no binary and nothing to download
    let e = m.offer(plan("bogus", 0)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, UpgradeError::BadPlan { .. }), "{msg}");
    assert!(
        msg.contains("'bogus' (height 0") && msg.contains("upgrades/bogus/bin/geth"),
        "{msg}"
    );
    // a malformed checksum in the info
    let e = m
        .offer(inline(
            "v2",
            10,
            serde_json::json!({"binaries": {"any": "https://h/geth?checksum=sha256:abc"}}),
        ))
        .unwrap_err();
    assert!(e.to_string().contains("64 hex digits"), "{e}");
    // no entry for this platform
    let e = m
        .offer(inline(
            "v3",
            10,
            serde_json::json!({"binaries": {"plan9/mips": "https://h/geth"}}),
        ))
        .unwrap_err();
    assert!(e.to_string().contains("no entry for"), "{e}");
    // downloads are off by default
    let sum = format!("sha256:{}", "ab".repeat(32));
    let e = m
        .offer(inline(
            "v4",
            10,
            serde_json::json!({"binaries": {"any": format!("https://h/geth?checksum={sum}")}}),
        ))
        .unwrap_err();
    assert!(e.to_string().contains("allow_download_binaries"), "{e}");
    // a batch with one bad plan queues nothing
    fx.install("v5", FLAGS);
    let e = m
        .offer_batch(vec![plan("v5", 20), plan("v6", 0)], Some(1))
        .unwrap_err();
    assert!(e.to_string().contains("'v6'"), "{e}");
    assert!(fx.queue().plans().is_empty(), "{:#?}", fx.queue().plans());
    // a good one goes in
    assert!(m.offer(plan("v5", 20)).unwrap());
}

#[tokio::test]
async fn a_blocked_plan_holding_back_others_is_listed_with_its_fix() {
    let fx = Fx::new();
    fx.install("v3", FLAGS);
    let mut m = fx.manager(fx.settings());
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&[]);
    m.offer(plan("v2", 5)).unwrap();
    m.offer(plan("v3", 6)).unwrap();
    assert!(m.blocked(Some(4)).is_empty());
    // v2 is due, its binary never appears: v3 (prepared) waits behind it
    let p = m.due(Some(7)).unwrap();
    assert_eq!(p.name, "v2");
    let out = m
        .apply(&p, &node, &chain, &mut spec, Some(7))
        .await
        .unwrap();
    assert!(matches!(out, ApplyOutcome::Blocked { .. }), "{out:?}");
    let blocked = m.blocked(Some(7));
    assert_eq!(blocked.len(), 1, "{blocked:#?}");
    let b = &blocked[0];
    assert_eq!(b.name, "v2");
    assert_eq!(b.holding_back, vec!["v3".to_string()]);
    assert!(
        b.fix.contains("wemixvisor upgrade cancel v2") && b.fix.contains("upgrades/v2/bin/geth"),
        "{}",
        b.fix
    );
    assert_eq!(m.due(Some(7)).unwrap().name, "v2", "strict height order");
    assert_eq!(m.status_at(Some(7)).unwrap().blocked, blocked);
    // cancelling it lets v3 go
    m.cancel("v2").unwrap();
    assert!(m.blocked(Some(7)).is_empty());
    assert_eq!(m.due(Some(7)).unwrap().name, "v3");
}

#[tokio::test]
async fn a_failed_pre_hook_keeps_the_plan_retryable_and_restores_the_data() {
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    fx.install("v3", FLAGS);
    let journal_seen = fx.home.root().join("journal-during-hook");
    fx.hook(
        "pre-upgrade",
        &format!(
            "sleep 0.5; cat '{}' > '{}'; echo 'migration broke' >&2; exit 7",
            fx.home.upgrade_journal_file().display(),
            journal_seen.display()
        ),
    );
    let mut s = fx.settings();
    s.rollback_restore_data = true;
    let mut m = fx.manager(s);
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&[]);
    m.offer(plan("v2", 5)).unwrap();
    m.offer(plan("v3", 6)).unwrap();
    prepared(&mut m, &spec.args, &["v2", "v3"]).await;
    let p = m.due(Some(5)).unwrap();
    let e = m
        .apply(&p, &node, &chain, &mut spec, Some(5))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("exit code 7"), "{e}");
    // the hook's process group was in the journal while it ran
    let during = std::fs::read_to_string(&journal_seen).unwrap();
    assert!(
        during.contains("\"pgid\"") && during.contains("pre-upgrade"),
        "{during}"
    );
    assert!(m.journal().unwrap().active.is_none());
    // the data the hook may have changed was restored before the old binary ran
    assert_eq!(
        *fx.backup.restored.lock().unwrap(),
        vec!["snap-pre-upgrade-v2"]
    );
    assert!(node.is_running());
    assert_eq!(fx.current(), "genesis");
    match &fx.queue().get("v2").unwrap().status {
        PlanStatus::Retry { reason } => {
            assert!(
                reason.contains("exit code 7") && reason.contains("restored snapshot"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    // not final, loud, and v3 waits behind it
    assert_eq!(m.due(Some(9)), None);
    let blocked = m.blocked(Some(9));
    assert_eq!(blocked.len(), 1);
    assert!(
        blocked[0].fix.contains("wemixvisor upgrade retry v2"),
        "{blocked:?}"
    );
    assert_eq!(blocked[0].holding_back, vec!["v3".to_string()]);
    // re-armed after the fix: it goes through, then v3
    fx.hook("pre-upgrade", "exit 0");
    m.retry("v2").unwrap();
    assert!(m.retry("v2").is_err());
    prepared(&mut m, &spec.args, &["v2"]).await;
    let p = m.due(Some(9)).unwrap();
    assert_eq!(p.name, "v2");
    m.apply(&p, &node, &chain, &mut spec, Some(9))
        .await
        .unwrap();
    assert_eq!(m.due(Some(9)).unwrap().name, "v3");

    // without rollback_restore_data the exact restore command is given
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    fx.hook("pre-upgrade", "exit 7");
    let mut m = fx.manager(fx.settings());
    m.offer(plan("v2", 5)).unwrap();
    prepared(&mut m, &spec.args, &["v2"]).await;
    let p = m.due(Some(5)).unwrap();
    let node = ScriptedNode::running();
    let _ = m.apply(&p, &node, &chain, &mut spec, Some(5)).await;
    assert!(fx.backup.restored.lock().unwrap().is_empty());
    match &fx.queue().get("v2").unwrap().status {
        PlanStatus::Retry { reason } => assert!(
            reason.contains("wemixvisor backup restore snap-pre-upgrade-v2"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
}

#[derive(Default)]
struct FullDisk;

impl DataBackup for FullDisk {
    fn snapshot_before_upgrade(&self, _: &str, _: Option<u64>) -> Result<SnapshotRef, CoreError> {
        Err(CoreError::Backup("no space left on device".into()))
    }
    fn restore(&self, _: &str) -> Result<(), CoreError> {
        Ok(())
    }
    fn check_snapshot_space(&self) -> Result<(), CoreError> {
        Err(CoreError::Backup(
            "not enough space: need 10 GB, 1 GB available".into(),
        ))
    }
}

#[tokio::test]
async fn a_short_disk_blocks_the_plan_before_the_node_is_touched() {
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    let mut m = UpgradeManager::new(
        fx.home.clone(),
        "geth",
        OsFs,
        fx.settings(),
        Some(Arc::new(FullDisk)),
    )
    .unwrap();
    let node = ScriptedNode::running();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&[]);
    m.offer(plan("v2", 5)).unwrap();
    prepared(&mut m, &spec.args, &["v2"]).await;
    let p = m.due(Some(5)).unwrap();
    match m
        .apply(&p, &node, &chain, &mut spec, Some(5))
        .await
        .unwrap()
    {
        ApplyOutcome::Blocked { reason, .. } => {
            assert!(
                reason.contains("snapshot would not fit") && reason.contains("need 10 GB"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(node.calls().is_empty(), "the node was touched");
    assert_eq!(fx.queue().get("v2").unwrap().status, PlanStatus::Pending);
    assert_eq!(m.blocked(Some(5)).len(), 1);
}

#[tokio::test]
async fn recovery_kills_a_hook_a_dead_supervisor_left_before_running_it_again() {
    use std::os::unix::process::CommandExt;
    let fx = Fx::new();
    fx.install("v2", &["datadir", "http"]);
    let mut m = fx.manager(fx.settings());
    m.offer(plan("v2", 5)).unwrap();
    crashed_at(&fx, Step::PreHook, false, 1);
    // the hook a killed supervisor left running: a shell and its child
    let pidfile = fx.home.root().join("hook-child.pid");
    let mut orphan = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "sleep 60 & echo $! > '{}'; wait",
            pidfile.display()
        ))
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = orphan.id();
    let mut j = m.journal().unwrap();
    j.active.as_mut().unwrap().helper = Some(HelperProcess::of("pre-upgrade", pgid));
    j.save().unwrap();
    let reaper = std::thread::spawn(move || orphan.wait());
    let mut child = None;
    for _ in 0..200 {
        if let Some(pid) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            child = Some(pid);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let child = child.expect("the orphan hook started");
    let node = ScriptedNode::default();
    let chain = TickingChain::default();
    let mut spec = fx.spec(&["--rpc"]);
    let r = m.recover(&node, &chain, &mut spec).await.unwrap();
    assert!(matches!(r, Recovery::StartedOver { .. }), "{r:?}");
    // before the step could run again, the old run and its child are gone
    let dead = |pid: u32| {
        !wemixvisor_core::lock::pid_alive(pid)
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true)
    };
    assert!(dead(pgid), "the hook {pgid} survived recovery");
    assert!(dead(child), "the hook's child {child} survived recovery");
    assert!(reaper.join().is_ok());
    assert!(m.journal().unwrap().active.is_none());
}

#[tokio::test]
async fn a_plan_being_applied_cannot_have_its_binary_replaced() {
    let fx = Fx::new();
    fx.install("v2", FLAGS);
    let m = fx.manager(fx.settings());
    assert!(m.ensure_not_applying("v2").is_ok());
    crashed_at(&fx, Step::Verify, true, 1);
    let e = m.ensure_not_applying("v2").unwrap_err();
    assert!(
        matches!(e, UpgradeError::Conflict { .. })
            && e.to_string()
                .contains("being applied right now (step verify)"),
        "{e}"
    );
    assert!(m.ensure_not_applying("v3").is_ok());
}
