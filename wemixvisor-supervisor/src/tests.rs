//! Loop tests: every arm and its failure, with the testkit's fake node,
//! chain and guard, on a paused tokio clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use wemixvisor_config::{Config, FlagOverrides};
use wemixvisor_core::{HaltGuard, HaltReason, HaltVerdict, Home, NodeProcess, StatusReport};
use wemixvisor_node::signals::SupervisorSignal;
use wemixvisor_testkit::chain::{FakeChain, FakeGuard};
use wemixvisor_testkit::node::{FakeNode, NodeCall, RunScript};

use crate::{
    Actor, Event, EventRecord, Supervisor, SupervisorError, SupervisorHandle, SupervisorOptions,
    TakenBackup,
};

pub(crate) struct Rig<G: HaltGuard + 'static = FakeGuard> {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) home: Home,
    pub(crate) node: FakeNode,
    pub(crate) chain: FakeChain,
    pub(crate) guard: G,
    pub(crate) handle: SupervisorHandle,
    pub(crate) events: broadcast::Receiver<EventRecord>,
    pub(crate) signals: tokio::sync::mpsc::Sender<SupervisorSignal>,
    pub(crate) task: tokio::task::JoinHandle<Result<i32, SupervisorError>>,
}

pub(crate) fn cli() -> Actor {
    Actor::Cli { uid: 1000 }
}

/// What a rig is built from besides its configuration.
pub(crate) struct Setup<G> {
    pub(crate) node: FakeNode,
    pub(crate) guard: G,
    pub(crate) chain: FakeChain,
    pub(crate) backup: Option<crate::BackupFn>,
    pub(crate) feed: Option<tokio::sync::mpsc::Receiver<crate::FeedItem>>,
}

impl Setup<FakeGuard> {
    pub(crate) fn new() -> Self {
        Setup {
            node: FakeNode::new(),
            guard: FakeGuard::allow(),
            chain: FakeChain::at(100),
            backup: None,
            feed: None,
        }
    }
}

pub(crate) fn make_home(config_toml: &str) -> (tempfile::TempDir, Home) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    let bin = home.genesis_bin("geth");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    wemixvisor_testkit::scripts::write_script(&bin, "").unwrap();
    std::os::unix::fs::symlink("genesis", home.current_link()).unwrap();
    std::fs::create_dir_all(home.config_dir()).unwrap();
    std::fs::create_dir_all(home.data_dir()).unwrap();
    std::fs::write(home.config_file(), config_toml).unwrap();
    (dir, home)
}

fn rig_with<G: HaltGuard + Clone + 'static>(
    config_toml: &str,
    node: FakeNode,
    guard: G,
    backup: Option<crate::BackupFn>,
) -> Rig<G> {
    let setup = Setup {
        node,
        guard,
        chain: FakeChain::at(100),
        backup,
        feed: None,
    };
    rig_in(make_home(config_toml), setup)
}

/// A supervisor over `setup`'s doubles on the home `home` (prepared by the
/// caller), running.
pub(crate) fn rig_in<G: HaltGuard + Clone + 'static>(
    (dir, home): (tempfile::TempDir, Home),
    setup: Setup<G>,
) -> Rig<G> {
    let Setup {
        node,
        guard,
        chain,
        backup,
        feed,
    } = setup;
    let config = Config::load(&home, &|_| None, &FlagOverrides::default()).unwrap();
    let opts = SupervisorOptions {
        home: home.clone(),
        config,
        cli_args: vec!["--http".into()],
        env: Arc::new(|_| None),
        flags: FlagOverrides::default(),
        version: "test".into(),
    };
    let (mut sup, handle) = Supervisor::new(opts, node.clone(), chain.clone(), guard.clone());
    sup = sup.with_feed(feed);
    if let Some(b) = backup {
        sup = sup.with_backup_fn(b);
    }
    let signals = sup.signal_sender();
    let events = handle.subscribe();
    let task = tokio::spawn(sup.run());
    Rig {
        _dir: dir,
        home,
        node,
        chain,
        guard,
        handle,
        events,
        signals,
        task,
    }
}

fn rig(config_toml: &str) -> Rig {
    rig_with(config_toml, FakeNode::new(), FakeGuard::allow(), None)
}

/// Lets the loop run for `d` of (paused) time.
pub(crate) async fn run_for(d: Duration) {
    tokio::time::sleep(d).await;
}

pub(crate) async fn wait_status(
    h: &SupervisorHandle,
    what: &str,
    f: impl Fn(&StatusReport) -> bool,
) {
    for _ in 0..600 {
        if f(&h.status()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("status never showed {what}: {:#?}", h.status());
}

pub(crate) fn drain(rx: &mut broadcast::Receiver<EventRecord>) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(r) = rx.try_recv() {
        out.push(r.event);
    }
    out
}

pub(crate) async fn running(r: &Rig<impl HaltGuard>) {
    wait_status(&r.handle, "node running", |s| s.node.state == "running").await;
}

#[tokio::test(start_paused = true)]
async fn crash_then_backoff_then_restart() {
    let node = FakeNode::new();
    node.script([RunScript::crash_after(Duration::from_secs(10), 2)]);
    let mut r = rig_with(
        "[restart]\nbackoff_initial = \"4s\"\ndelay = \"4s\"\n",
        node,
        FakeGuard::allow(),
        None,
    );
    running(&r).await;
    run_for(Duration::from_secs(11)).await;
    assert_eq!(r.handle.status().node.state, "restarting");
    assert_eq!(r.node.starts(), 1);
    run_for(Duration::from_secs(4)).await;
    running(&r).await;
    assert_eq!(r.node.starts(), 2);
    let ev = drain(&mut r.events);
    assert!(
        ev.iter().any(|e| matches!(
            e,
            Event::NodeExited {
                code: Some(2),
                requested: false,
                ..
            }
        )),
        "{ev:?}"
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::NodeRestarting { in_secs, .. } if *in_secs == 4.0)),
        "{ev:?}"
    );
    assert_eq!(
        r.handle.status().node.last_exit.as_deref(),
        Some("exit code 2")
    );
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_crash_during_a_slow_head_read_is_restarted_without_waiting_for_it() {
    let node = FakeNode::new();
    node.script([RunScript::crash_after(Duration::from_millis(50), 1)]);
    let mut r = rig_with(
        "[restart]\nbackoff_initial = \"1ms\"\nbackoff_max = \"1ms\"\ndelay = \"1ms\"\n",
        node,
        FakeGuard::allow(),
        None,
    );
    // The first head of the run is read at once and takes 10 s to answer.
    r.chain.set_latency(Duration::from_secs(10));
    run_for(Duration::from_millis(500)).await;
    assert_eq!(r.node.starts(), 2, "{:?}", drain(&mut r.events));
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn crash_loop_ends_in_give_up_with_the_node_code() {
    let node = FakeNode::new();
    node.default_run(RunScript::crash_after(Duration::from_secs(1), 3));
    let r = rig_with(
        "[restart]\nmax_restarts = 2\nbackoff_initial = \"1s\"\n",
        node,
        FakeGuard::allow(),
        None,
    );
    let code = tokio::time::timeout(Duration::from_secs(120), r.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(code, 3);
    assert_eq!(r.node.starts(), 3, "first run and two restarts");
    let s = r.handle.status();
    assert_eq!(s.supervisor.state, "failed");
    assert!(
        s.supervisor.error.unwrap_or_default().contains("giving up"),
        "{:?}",
        r.handle.status()
    );
}

#[tokio::test(start_paused = true)]
async fn stop_verb_stops_the_node_gracefully_and_ends() {
    let r = rig("");
    running(&r).await;
    let msg = r.handle.stop(false, cli()).await.unwrap();
    assert_eq!(msg, "stopped");
    let code = r.task.await.unwrap().unwrap();
    assert_eq!(code, 0);
    assert_eq!(r.node.stops(), 1);
    assert_eq!(r.node.sigkills(), 0);
    assert_eq!(r.guard.asked(), [HaltReason::OperatorStop]);
    let file = crate::load_status_file(&r.home.status_file()).unwrap();
    assert_eq!(file.supervisor.state, "stopped");
}

#[tokio::test(start_paused = true)]
async fn sigterm_stops_and_sighup_reloads() {
    let mut r = rig("");
    running(&r).await;
    r.signals.send(SupervisorSignal::Hangup).await.unwrap();
    run_for(Duration::from_millis(100)).await;
    assert!(drain(&mut r.events)
        .iter()
        .any(|e| matches!(e, Event::ConfigReloaded { .. })));
    assert!(!r
        .node
        .calls()
        .iter()
        .any(|c| matches!(c, NodeCall::Signal(_))));
    r.signals.send(SupervisorSignal::Terminate).await.unwrap();
    assert_eq!(r.task.await.unwrap().unwrap(), 0);
    assert_eq!(r.node.stops(), 1);
    assert!(r.guard.asked().is_empty(), "a signal is not refused");
}

#[tokio::test(start_paused = true)]
async fn restart_verb_in_each_state() {
    let node = FakeNode::new();
    node.script([
        RunScript::forever(),
        RunScript::crash_after(Duration::from_secs(1), 1),
    ]);
    let r = rig_with(
        "[restart]\nbackoff_initial = \"100s\"\nbackoff_max = \"200s\"\ndelay = \"100s\"\n",
        node,
        FakeGuard::allow(),
        None,
    );
    running(&r).await;
    // running: stop + start
    let msg = r.handle.restart(false, cli()).await.unwrap();
    assert!(msg.contains("node restarted"), "{msg}");
    assert_eq!((r.node.starts(), r.node.stops()), (2, 1));
    // crashed, waiting for its backoff: start now, no guard asked
    run_for(Duration::from_secs(2)).await;
    assert_eq!(r.handle.status().node.state, "restarting");
    let msg = r.handle.start_node(cli()).await.unwrap();
    assert!(msg.contains("node started"), "{msg}");
    assert_eq!(r.node.starts(), 3);
    // start while running is refused
    let e = r.handle.start_node(cli()).await.unwrap_err();
    assert!(e.message.contains("already running"), "{e:?}");
    assert_eq!(r.guard.asked(), [HaltReason::OperatorRestart]);
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn reload_applies_safe_keys_defers_node_options_and_rejects_bad_files() {
    let mut r = rig("");
    running(&r).await;
    std::fs::write(
        r.home.config_file(),
        "[health]\nmin_peers = 7\n[node]\nrpc_url = \"http://127.0.0.1:9999\"\n",
    )
    .unwrap();
    std::fs::write(r.home.node_options_file(), "syncmode = \"full\"\n").unwrap();
    let msg = r.handle.reload(cli()).await.unwrap();
    assert!(msg.contains("applied: health.min_peers"), "{msg}");
    let pending = r.handle.status().supervisor.pending_config;
    assert_eq!(
        pending,
        [
            "node-options.toml (next node start)",
            "node.rpc_url (next wemixvisor start)"
        ],
        "{msg}"
    );
    // restart starts the node from the current files
    r.handle.restart(true, cli()).await.unwrap();
    let last_spec = r
        .node
        .calls()
        .into_iter()
        .rev()
        .find_map(|c| match c {
            NodeCall::Start(s) => Some(s),
            _ => None,
        })
        .unwrap();
    assert!(
        last_spec
            .args
            .windows(2)
            .any(|w| w[0] == "--syncmode" && w[1] == "full")
            || last_spec.args.iter().any(|a| a == "--syncmode=full"),
        "{:?}",
        last_spec.args
    );
    assert_eq!(
        r.handle.status().supervisor.pending_config,
        ["node.rpc_url (next wemixvisor start)"]
    );
    // a bad file: every error reported, the running configuration stays
    std::fs::write(
        r.home.config_file(),
        "[health]\nmin_peers = \"many\"\nblock_period = \"soon\"\n",
    )
    .unwrap();
    drain(&mut r.events);
    let e = r.handle.reload(cli()).await.unwrap_err();
    assert!(e.bad_request);
    assert!(
        e.message.contains("min_peers") && e.message.contains("block_period"),
        "{e:?}"
    );
    let ev = drain(&mut r.events);
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::ConfigReloadFailed { errors } if errors.len() == 2)),
        "{ev:?}"
    );
    assert_eq!(r.node.starts(), 2, "nothing restarted");
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn guard_waits_then_force_goes() {
    let guard = FakeGuard::allow();
    guard.set_default(FakeGuard::waiting(3, 4));
    let mut r = rig_with("", FakeNode::new(), guard, None);
    running(&r).await;
    let msg = r.handle.restart(false, cli()).await.unwrap();
    assert!(msg.contains("waits for the quorum guard"), "{msg}");
    assert_eq!(r.node.starts(), 1, "not restarted yet");
    let s = r.handle.status();
    assert!(
        s.supervisor
            .halt_waiting
            .unwrap_or_default()
            .contains("restart"),
        "{:?}",
        r.handle.status()
    );
    assert!(drain(&mut r.events).iter().any(|e| matches!(
        e,
        Event::HaltWaiting {
            validators: 4,
            quorum: 3,
            ..
        }
    )));
    // re-asked periodically, still waiting
    run_for(crate::GUARD_RECHECK * 3).await;
    assert_eq!(r.node.starts(), 1);
    assert!(r.guard.asked().len() >= 3);
    let msg = r.handle.restart(true, cli()).await.unwrap();
    assert!(msg.contains("node restarted"), "{msg}");
    assert_eq!(r.node.starts(), 2);
    assert_eq!(r.handle.status().supervisor.halt_waiting, None);
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn guard_timeout_lets_the_halt_go_ahead() {
    let guard = FakeGuard::allow();
    guard.set_default(FakeGuard::waiting(3, 4));
    let r = rig_with(
        "[governance]\nquorum_guard_timeout = \"60s\"\n",
        FakeNode::new(),
        guard,
        None,
    );
    running(&r).await;
    r.handle.stop(false, cli()).await.unwrap();
    run_for(Duration::from_secs(30)).await;
    assert_eq!(r.node.stops(), 0);
    let code = tokio::time::timeout(Duration::from_secs(60), r.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(code, 0);
    assert_eq!(r.node.stops(), 1);
}

#[tokio::test(start_paused = true)]
async fn guard_off_is_not_asked() {
    let guard = FakeGuard::allow();
    guard.set_default(FakeGuard::waiting(3, 4));
    let r = rig_with(
        "[governance]\nquorum_guard = false\n",
        FakeNode::new(),
        guard,
        None,
    );
    running(&r).await;
    r.handle.restart(false, cli()).await.unwrap();
    assert_eq!(r.node.starts(), 2);
    assert!(r.guard.asked().is_empty());
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn failed_start_at_the_restart_timer_is_a_loop_error_not_the_end() {
    let node = FakeNode::new();
    node.script([
        RunScript::crash_after(Duration::from_secs(1), 1),
        RunScript::fail_start(),
    ]);
    let mut r = rig_with(
        "[restart]\nbackoff_initial = \"1s\"\ndelay = \"1s\"\n",
        node,
        FakeGuard::allow(),
        None,
    );
    running(&r).await;
    run_for(Duration::from_secs(10)).await;
    running(&r).await;
    let ev = drain(&mut r.events);
    assert!(
        ev.iter().any(|e| matches!(e, Event::LoopError { arm, error } if arm == "restart-timer" && error.contains("scripted spawn failure"))),
        "{ev:?}"
    );
    assert!(r.handle.status().supervisor.last_error.is_some());
    assert_eq!(r.node.starts(), 2, "the third start worked");
    // the loop still answers
    r.handle.reload(cli()).await.unwrap();
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn bad_trigger_and_bad_command_leave_the_loop_alive() {
    let mut r = rig("");
    running(&r).await;
    // a plan the queue refuses (a corrupt queue file): an error in the trigger arm
    std::fs::create_dir_all(r.home.upgrade_queue_file().parent().unwrap()).unwrap();
    std::fs::write(r.home.upgrade_queue_file(), "{not json").unwrap();
    std::fs::write(r.home.upgrade_info_file(), r#"{"name":"v2","height":5000}"#).unwrap();
    // past the watcher's safety re-read: file events are real time, the clock is paused
    run_for(Duration::from_secs(61)).await;
    let ev = drain(&mut r.events);
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::LoopError { arm, .. } if arm == "trigger")),
        "{ev:?}"
    );
    let e = r
        .handle
        .upgrade_cancel("nope".into(), cli())
        .await
        .unwrap_err();
    assert!(!e.message.is_empty());
    // the chain failing does not end anything either
    r.chain.set_down(true);
    run_for(Duration::from_secs(60)).await;
    r.chain.set_down(false);
    r.handle.reload(cli()).await.unwrap();
    assert_eq!(r.node.starts(), 1);
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn peers_are_shown_as_numbers_when_low() {
    let r = rig("[health]\nmin_peers = 3\ninterval = \"1s\"\n");
    running(&r).await;
    r.chain.set_peers(1);
    wait_status(&r.handle, "peers 1", |s| s.chain.peers == Some(1)).await;
    let peers = r
        .handle
        .status()
        .health
        .into_iter()
        .find(|c| c.name == "peers")
        .unwrap();
    assert!(!peers.ok);
    r.task.abort();
}

#[tokio::test(start_paused = true)]
async fn health_restart_asks_the_guard() {
    let guard = FakeGuard::allow();
    let r = rig_with(
        "[health]\ninterval = \"1s\"\nfailures_before_restart = 2\n",
        FakeNode::new(),
        guard,
        None,
    );
    running(&r).await;
    r.chain.set_down(true);
    run_for(crate::STARTUP_GRACE + Duration::from_secs(5)).await;
    assert!(r.node.starts() >= 2, "restarted");
    assert!(r.guard.asked().contains(&HaltReason::HealthRestart));
    r.task.abort();
}

#[derive(Clone)]
struct PanickingGuard;

#[async_trait::async_trait]
impl HaltGuard for PanickingGuard {
    async fn may_halt(&self, _reason: HaltReason) -> HaltVerdict {
        panic!("guard bug")
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_stops_the_node_gracefully() {
    let r = rig_with("", FakeNode::new(), PanickingGuard, None);
    running(&r).await;
    let _ = r.handle.restart(false, cli()).await;
    let err = r.task.await.unwrap().unwrap_err();
    assert!(
        matches!(err, SupervisorError::Panicked(ref m) if m.contains("guard bug")),
        "{err}"
    );
    assert_eq!(r.node.stops(), 1, "stopped once, gracefully");
    assert_eq!(r.node.sigkills(), 0);
    assert_eq!(r.node.pid(), None);
    let file = crate::load_status_file(&r.home.status_file()).unwrap();
    assert_eq!(file.supervisor.state, "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_loop_answers_while_a_long_backup_runs() {
    let backup: crate::BackupFn = Arc::new(|name, _| {
        std::thread::sleep(Duration::from_secs(3));
        Ok(TakenBackup {
            id: name.unwrap_or_default(),
            bytes: 1,
            duration_secs: 3.0,
            notes: Vec::new(),
        })
    });
    let r = rig_with("", FakeNode::new(), FakeGuard::allow(), Some(backup));
    running(&r).await;
    let h = r.handle.clone();
    let b = tokio::spawn(async move { h.backup_create(Some("snap".into()), cli()).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = std::time::Instant::now();
    r.handle.reload(cli()).await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    let msg = b.await.unwrap().unwrap();
    assert!(msg.contains("snap"), "{msg}");
    r.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_loop_answers_with_a_fifo_at_the_trigger_path() {
    let r = rig("[upgrade]\npoll_interval = \"100ms\"\n");
    running(&r).await;
    nix::unistd::mkfifo(&r.home.upgrade_info_file(), nix::sys::stat::Mode::S_IRWXU).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..3 {
        let t = std::time::Instant::now();
        r.handle.reload(cli()).await.unwrap();
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    r.task.abort();
}

/// Log lines written while the test runs (the loop and its tasks share the
/// test's thread on a current-thread runtime).
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let sub = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        (logs.clone(), tracing::subscriber::set_default(sub))
    }

    fn count(&self, needle: &str) -> usize {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines().filter(|l| l.contains(needle)).count()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn plan(name: &str, height: u64) -> wemixvisor_core::UpgradePlan {
    wemixvisor_core::UpgradePlan {
        name: name.into(),
        height,
        info: wemixvisor_core::InfoSource::None,
        source: "cli".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_blocked_plan_is_announced_once_and_logged_every_few_minutes_with_its_fix() {
    let (logs, _guard) = Logs::capture();
    let mut r = rig("[upgrade]\npoll_interval = \"1s\"\n");
    running(&r).await;
    // no binary is installed for v9 (a plan may be queued before its
    // binary); v10 waits behind it
    r.handle
        .upgrade_plan(vec![plan("v9", 150), plan("v10", 400)], cli())
        .await
        .unwrap();
    r.chain.set_head(150);
    wait_status(&r.handle, "v9 blocked", |s| {
        s.upgrade.blocked.iter().any(|b| b.name == "v9")
    })
    .await;
    let st = r.handle.status();
    let b = st.upgrade.blocked.iter().find(|b| b.name == "v9").unwrap();
    assert_eq!(b.holding_back, vec!["v10".to_string()], "{b:?}");
    assert!(b.fix.contains("upgrade cancel v9"), "{b:?}");
    run_for(Duration::from_secs(5)).await;
    let announced = |ev: &[Event]| {
        ev.iter()
            .filter(|e| matches!(e, Event::UpgradeBlocked { name, fix, .. } if name == "v9" && fix.contains("upgrade cancel v9")))
            .count()
    };
    let ev = drain(&mut r.events);
    assert_eq!(announced(&ev), 1, "{ev:#?}");
    let said = logs.count("upgrade 'v9' is blocked");
    assert!(said >= 1, "no log line about v9");
    // minutes later: still blocked, said again in the log, no new event
    run_for(crate::supervisor::BLOCKED_LOG_EVERY * 2 + Duration::from_secs(5)).await;
    assert!(
        logs.count("upgrade 'v9' is blocked") >= said + 2,
        "the blocked plan was not logged again"
    );
    assert_eq!(announced(&drain(&mut r.events)), 0);
    // the fix: cancel it; it is no longer shown
    r.handle.upgrade_cancel("v9".into(), cli()).await.unwrap();
    wait_status(&r.handle, "v9 no longer blocked", |s| {
        !s.upgrade.blocked.iter().any(|b| b.name == "v9")
    })
    .await;
    r.handle.stop(true, cli()).await.unwrap();
    r.task.await.unwrap().unwrap();
}

/// A home whose `current` was switched to `upgrades/v2` and whose journal
/// stands at `verify`, with the window ending `window_left` from now (a
/// supervisor that died inside the window).
fn verifying_home(config_toml: &str, window_left: u64) -> (tempfile::TempDir, Home) {
    use wemixvisor_upgrade::{ActiveUpgrade, Journal, Step, VerifyWindow};
    let (dir, home) = make_home(config_toml);
    let bin = home.upgrade_bin("v2", "geth");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::write(&bin, "#!/bin/sh\n").unwrap();
    for b in [&bin, &home.genesis_bin("geth")] {
        std::fs::set_permissions(b, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    std::fs::remove_file(home.current_link()).unwrap();
    std::os::unix::fs::symlink("upgrades/v2", home.current_link()).unwrap();
    std::fs::create_dir_all(home.state_dir()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut j = Journal::load(&home.upgrade_journal_file()).unwrap();
    j.active = Some(ActiveUpgrade {
        name: "v2".into(),
        height: 100,
        head: Some(99),
        from: None,
        step: Step::Verify,
        attempt: 1,
        previous_args: vec!["--http".into()],
        args: vec!["--http".into()],
        migrations: Vec::new(),
        snapshot: None,
        rollback_reason: None,
        restore_data: false,
        restart_after_rollback: true,
        manual: false,
        helper: None,
        migration: None,
        verify: Some(VerifyWindow {
            opened_unix: now.saturating_sub(60),
            deadline_unix: now + window_left,
            ..VerifyWindow::default()
        }),
        started_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    });
    j.save().unwrap();
    (dir, home)
}

fn verifying_rig(dir: tempfile::TempDir, home: Home, node: FakeNode) -> Rig<FakeGuard> {
    rig_in(
        (dir, home),
        Setup {
            node,
            guard: FakeGuard::allow(),
            chain: FakeChain::at(100),
            backup: None,
            feed: None,
        },
    )
}

#[tokio::test(start_paused = true)]
async fn a_crash_inside_the_verification_window_rolls_back_instead_of_restarting() {
    let (dir, home) = verifying_home("[upgrade]\npoll_interval = \"1s\"\n", 1800);
    let node = FakeNode::new();
    // the new binary passes its first checks, then crashes
    node.script([RunScript::crash_after(Duration::from_secs(20), 2)]);
    let mut r = verifying_rig(dir, home, node);
    running(&r).await;
    wait_status(&r.handle, "the window in the status", |s| {
        s.upgrade
            .verifying
            .as_ref()
            .is_some_and(|v| v.name == "v2" && v.detail.is_some())
    })
    .await;
    run_for(Duration::from_secs(25)).await;
    running(&r).await;
    let ev = drain(&mut r.events);
    assert_eq!(
        std::fs::read_link(r.home.current_link()).unwrap(),
        std::path::Path::new("genesis"),
        "{ev:#?}"
    );
    let st = r.handle.status();
    assert!(st.upgrade.verifying.is_none(), "{st:#?}");
    assert_eq!(st.node.binary, "genesis");
    assert!(
        ev.iter().any(|e| matches!(e, Event::UpgradeRolledBack { name, reason } if name == "v2" && reason.contains("exited"))),
        "{ev:#?}"
    );
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::UpgradeFailed { name, .. } if name == "v2")),
        "{ev:#?}"
    );
    // rolled back, not restarted on the bad binary by the crash policy
    assert!(
        !ev.iter().any(|e| matches!(e, Event::NodeRestarting { .. })),
        "{ev:#?}"
    );
    let starts: Vec<_> = r
        .node
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            NodeCall::Start(spec) => Some(spec.program),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert!(
        starts[0].to_string_lossy().contains("current"),
        "{starts:?}"
    );
    let j = wemixvisor_upgrade::Journal::load(&r.home.upgrade_journal_file()).unwrap();
    assert!(j.active.is_none());
    assert_eq!(
        j.history.last().map(|h| h.outcome),
        Some(wemixvisor_upgrade::Outcome::RolledBack)
    );
    r.handle.stop(true, cli()).await.unwrap();
    r.task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_window_that_ends_with_the_node_up_applies_the_upgrade() {
    let (dir, home) = verifying_home("[upgrade]\npoll_interval = \"1s\"\n", 0);
    let mut r = verifying_rig(dir, home, FakeNode::new());
    running(&r).await;
    run_for(Duration::from_secs(3)).await;
    let ev = drain(&mut r.events);
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::UpgradeApplied { name, height: 100 } if name == "v2")),
        "{ev:#?}"
    );
    assert!(r.handle.status().upgrade.verifying.is_none());
    assert_eq!(
        std::fs::read_link(r.home.current_link()).unwrap(),
        std::path::Path::new("upgrades/v2")
    );
    let j = wemixvisor_upgrade::Journal::load(&r.home.upgrade_journal_file()).unwrap();
    assert!(j.active.is_none());
    r.handle.stop(true, cli()).await.unwrap();
    r.task.await.unwrap().unwrap();
}

mod any_valid_config {
    //! Any configuration `config validate` accepts runs the loop without a
    //! panic: timers from 0 to the bounds, crash loops, health failures.

    use proptest::prelude::*;

    use super::*;

    /// Mostly ordinary durations, with the bounds and just past them.
    fn duration() -> impl Strategy<Value = String> {
        prop_oneof![
            16 => (1u64..600_000).prop_map(|ms| format!("{ms}ms")),
            1 => Just("1ms".to_string()),
            1 => Just("30days".to_string()),
            1 => Just("0s".to_string()),
            1 => Just("31days".to_string()),
        ]
    }

    fn number() -> impl Strategy<Value = u64> {
        prop_oneof![
            14 => 0u64..100,
            1 => Just(1_000_000u64),
            1 => Just(1_000_001u64),
        ]
    }

    fn config() -> impl Strategy<Value = String> {
        let restart = (
            any::<bool>(),
            duration(),
            duration(),
            duration(),
            prop_oneof![8 => 1.0f64..10.0, 1 => Just(0.0f64), 1 => Just(100.0), 1 => Just(1e300)],
            number(),
            duration(),
            duration(),
        )
            .prop_map(|(enabled, delay, init, max, mult, n, window, stable)| {
                format!(
                    "[restart]\nenabled = {enabled}\ndelay = \"{delay}\"\nbackoff_initial = \"{init}\"\nbackoff_max = \"{max}\"\nbackoff_multiplier = {mult:?}\nmax_restarts = {n}\nwindow = \"{window}\"\nstable_after = \"{stable}\"\n"
                )
            });
        let upgrade = (duration(), duration(), duration(), number()).prop_map(
            |(poll, timeout, window, peers)| {
                format!(
                    "[upgrade]\npoll_interval = \"{poll}\"\nverify_timeout = \"{timeout}\"\nverify_window = \"{window}\"\nverify_min_peers = {peers}\n"
                )
            },
        );
        let health = (
            duration(),
            duration(),
            number(),
            number(),
            number(),
            any::<bool>(),
        )
            .prop_map(|(interval, period, stall, peers, failures, on_stall)| {
                format!(
                    "[health]\ninterval = \"{interval}\"\nblock_period = \"{period}\"\nstall_blocks = {stall}\nmin_peers = {peers}\nfailures_before_restart = {failures}\nrestart_on_stall = {on_stall}\n"
                )
            });
        let governance = (any::<bool>(), duration()).prop_map(|(on, t)| {
            format!("[governance]\nquorum_guard = {on}\nquorum_guard_timeout = \"{t}\"\n")
        });
        (restart, upgrade, health, governance).prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn runs_the_loop_for_many_ticks_without_a_panic(
            toml in config(),
            crash_after in prop_oneof![Just(None), (0u64..30).prop_map(Some)],
            peers in 0u64..3,
        ) {
            let (dir, home) = make_home(&toml);
            // only what `config validate` accepts: the rest is refused
            // before any loop runs
            let valid = wemixvisor_config::validate_home(&home, &|_| None)
                .is_ok_and(|r| r.is_valid());
            prop_assume!(valid);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap();
            rt.block_on(async move {
                let node = FakeNode::new();
                if let Some(s) = crash_after {
                    node.default_run(RunScript::crash_after(Duration::from_secs(s), 2));
                }
                let r = verifying_rig(dir, home, node);
                r.chain.set_peers(peers);
                // two minutes of loop time: up to 2400 ticks (the poll is
                // at least 50 ms), health checks, crash restarts, give-ups
                for _ in 0..24 {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    if r.task.is_finished() {
                        break;
                    }
                }
                if !r.task.is_finished() {
                    let _ = r.handle.stop(true, cli()).await;
                }
                match r.task.await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => panic!("the loop failed: {e}\n{toml}"),
                    Err(e) => panic!("the loop panicked: {e}\n{toml}"),
                }
            });
        }
    }
}
