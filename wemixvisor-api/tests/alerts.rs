//! The alert engine against a local HTTP receiver and in-process sinks:
//! every sink's format, repeats on schedule, resolves, retries, and a dead
//! sink that never slows the others.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, watch};
use wemixvisor_api::alerts::{
    build_sinks, AlertEngine, AlertSettings, Notification, NotificationKind, Sink, SinkConfig,
};
use wemixvisor_api::{ApiError, Metrics};
use wemixvisor_core::StatusReport;
use wemixvisor_supervisor::{Event, EventRecord};

type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// A local receiver: records every POST by path.
async fn receiver() -> (String, Seen) {
    async fn record(
        State(seen): State<Seen>,
        uri: axum::http::Uri,
        Json(body): Json<Value>,
    ) -> &'static str {
        seen.lock().unwrap().push((uri.path().to_owned(), body));
        "ok"
    }
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/{*path}", post(record))
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn gave_up() -> Event {
    Event::NodeGaveUp {
        crashes: 5,
        window_secs: 600,
        last_exit: "exit code 2".into(),
    }
}

fn started() -> Event {
    Event::NodeStarted {
        pid: 7,
        binary: "genesis".into(),
    }
}

async fn wait_for(seen: &Seen, n: usize) -> Vec<(String, Value)> {
    for _ in 0..500 {
        if seen.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    seen.lock().unwrap().clone()
}

fn channels() -> (
    broadcast::Sender<EventRecord>,
    watch::Sender<StatusReport>,
    broadcast::Receiver<EventRecord>,
    watch::Receiver<StatusReport>,
) {
    let (etx, erx) = broadcast::channel(1024);
    let (stx, srx) = watch::channel(StatusReport::default());
    (etx, stx, erx, srx)
}

#[tokio::test]
async fn webhook_slack_and_alertmanager_receive_firing_and_resolved() {
    let (base, seen) = receiver().await;
    let settings = AlertSettings {
        instance: "host-1".into(),
        sinks: vec![
            SinkConfig::Webhook(format!("{base}/hook")),
            SinkConfig::Slack(format!("{base}/slack/T0/B0/secret")),
            SinkConfig::Alertmanager(base.clone()),
        ],
        ..AlertSettings::default()
    };
    let metrics = Metrics::new();
    let (etx, _stx, erx, srx) = channels();
    let handle = AlertEngine::new(settings.clone(), build_sinks(&settings).unwrap())
        .with_metrics(metrics.clone())
        .spawn(erx, srx);
    etx.send(EventRecord::now(1, gave_up())).unwrap();
    let got = wait_for(&seen, 3).await;
    assert_eq!(got.len(), 3, "{got:?}");
    let by = |p: &str| {
        got.iter()
            .find(|(path, _)| path.starts_with(p))
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("nothing on {p}: {got:?}"))
    };
    let hook = by("/hook");
    assert_eq!(hook["status"], "firing");
    assert_eq!(hook["alert"]["rule"], "node_gave_up");
    assert_eq!(hook["alert"]["severity"], "critical");
    assert_eq!(hook["instance"], "host-1");
    let slack = by("/slack");
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.starts_with("[FIRING critical] node_gave_up on host-1:"),
        "{text}"
    );
    let am = by("/api/v2/alerts");
    assert_eq!(am[0]["labels"]["alertname"], "node_gave_up");
    assert_eq!(am[0]["labels"]["severity"], "critical");
    assert!(am[0]["endsAt"].as_str().unwrap() > am[0]["startsAt"].as_str().unwrap());
    assert_eq!(handle.active().len(), 1);
    let text = metrics.render(&StatusReport::default());
    assert!(
        text.contains("wemixvisor_alert_firing{rule=\"node_gave_up\",severity=\"critical\"} 1"),
        "{text}"
    );

    etx.send(EventRecord::now(2, started())).unwrap();
    let got = wait_for(&seen, 6).await;
    assert_eq!(got.len(), 6, "{got:?}");
    let resolved: Vec<&Value> = got[3..].iter().map(|(_, b)| b).collect();
    assert!(resolved.iter().any(|b| b["status"] == "resolved"));
    assert!(resolved.iter().any(|b| b["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("[RESOLVED]"))));
    assert!(handle.active().is_empty());
    // a send is counted once its answer is read, just after the receiver saw it
    let lines: Vec<String> = ["webhook", "slack", "alertmanager"]
        .iter()
        .map(|sink| format!("wemixvisor_alert_sends_total{{sink=\"{sink}\",result=\"ok\"}} 2"))
        .collect();
    let mut text = String::new();
    for _ in 0..500 {
        text = metrics.render(&StatusReport::default());
        if lines.iter().all(|l| text.contains(l)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for line in &lines {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
}

/// An in-process sink: records, or fails a given number of times first, or
/// never answers.
struct TestSink {
    tx: mpsc::UnboundedSender<Notification>,
    fail_first: Mutex<u32>,
    hang: bool,
}

impl TestSink {
    fn new(fail_first: u32, hang: bool) -> (Arc<Self>, mpsc::UnboundedReceiver<Notification>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Arc::new(TestSink {
                tx,
                fail_first: Mutex::new(fail_first),
                hang,
            }),
            rx,
        )
    }
}

#[async_trait::async_trait]
impl Sink for TestSink {
    fn kind(&self) -> &'static str {
        if self.hang {
            "webhook"
        } else {
            "slack"
        }
    }
    fn target(&self) -> String {
        "test".into()
    }
    async fn send(&self, n: &Notification) -> wemixvisor_api::Result<()> {
        if self.hang {
            std::future::pending::<()>().await;
        }
        {
            let mut f = self.fail_first.lock().unwrap();
            if *f > 0 {
                *f -= 1;
                return Err(ApiError::Sink {
                    sink: "test".into(),
                    message: "refused".into(),
                });
            }
        }
        self.tx.send(n.clone()).unwrap();
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_condition_repeats_every_interval_until_resolved() {
    let (sink, mut rx) = TestSink::new(0, false);
    let settings = AlertSettings {
        repeat_interval: Duration::from_secs(600),
        ..AlertSettings::default()
    };
    let (etx, _stx, erx, srx) = channels();
    let _h = AlertEngine::new(settings, vec![sink]).spawn(erx, srx);
    etx.send(EventRecord::now(1, gave_up())).unwrap();
    let t0 = tokio::time::Instant::now();
    assert_eq!(rx.recv().await.unwrap().kind, NotificationKind::Firing);
    for i in 1..=2u32 {
        let n = rx.recv().await.unwrap();
        assert_eq!(n.kind, NotificationKind::Repeat);
        let at = t0.elapsed();
        assert!(
            at >= Duration::from_secs(600) * i
                && at < Duration::from_secs(600) * i + Duration::from_secs(10),
            "repeat {i} at {at:?}"
        );
    }
    etx.send(EventRecord::now(2, started())).unwrap();
    let n = rx.recv().await.unwrap();
    assert_eq!(n.kind, NotificationKind::Resolved);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(rx.try_recv().is_err(), "nothing after the resolve");
}

#[tokio::test(start_paused = true)]
async fn a_failing_send_is_retried_with_backoff() {
    let (sink, mut rx) = TestSink::new(3, false);
    let metrics = Metrics::new();
    let (etx, _stx, erx, srx) = channels();
    let _h = AlertEngine::new(AlertSettings::default(), vec![sink])
        .with_metrics(metrics.clone())
        .spawn(erx, srx);
    let t0 = tokio::time::Instant::now();
    etx.send(EventRecord::now(1, gave_up())).unwrap();
    let n = rx.recv().await.unwrap();
    assert_eq!(n.alert.rule, "node_gave_up");
    // three failures: waits of 1 s, 2 s and 4 s
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(7) && took < Duration::from_secs(8),
        "{took:?}"
    );
    tokio::task::yield_now().await;
    let text = metrics.render(&StatusReport::default());
    assert!(
        text.contains("wemixvisor_alert_sends_total{sink=\"slack\",result=\"ok\"} 1"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dead_sink_never_slows_the_others_or_the_events() {
    let (dead, _dead_rx) = TestSink::new(0, true);
    let (live, mut rx) = TestSink::new(0, false);
    let metrics = Metrics::new();
    let (etx, _stx, erx, srx) = channels();
    let _h = AlertEngine::new(AlertSettings::default(), vec![dead, live])
        .with_metrics(metrics.clone())
        .spawn(erx, srx);
    // Far more alerts than a sink queue holds: backup failures and
    // successes alternate, each one a notification.
    let total = 600u64;
    let t0 = tokio::time::Instant::now();
    for i in 0..total {
        let ev = if i % 2 == 0 {
            Event::BackupFailed {
                error: "disk full".into(),
            }
        } else {
            Event::BackupTaken {
                id: format!("b{i}"),
                kind: "auto".into(),
                bytes: 1,
                duration_secs: 0.1,
            }
        };
        // the supervisor's side: a broadcast send never waits
        etx.send(EventRecord::now(i + 1, ev)).unwrap();
        if i % 100 == 99 {
            tokio::task::yield_now().await;
        }
    }
    for _ in 0..total {
        tokio::time::timeout(Duration::from_secs(1), rx.recv())
            .await
            .expect("the live sink is served at once")
            .unwrap();
    }
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    let text = metrics.render(&StatusReport::default());
    let dropped = text
        .lines()
        .find_map(|l| l.strip_prefix("wemixvisor_alerts_dropped_total "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap();
    assert!(dropped > 0, "the dead sink's full queue drops: {text}");
}

#[tokio::test]
async fn flush_delivers_what_was_published_just_before_the_end() {
    let (sink, mut rx) = TestSink::new(1, false);
    let (etx, _stx, erx, srx) = channels();
    let h = AlertEngine::new(AlertSettings::default(), vec![sink]).spawn(erx, srx);
    etx.send(EventRecord::now(1, gave_up())).unwrap();
    // no yield in between: the engine has not seen the event yet
    h.flush(Duration::from_secs(10)).await;
    let n = rx
        .try_recv()
        .expect("delivered by the time flush returns (after one retry)");
    assert_eq!(n.alert.rule, "node_gave_up");
}

#[test]
fn docs_list_every_rule_with_its_severity_and_repeat() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/alerts.md");
    let text = std::fs::read_to_string(path).unwrap();
    for r in wemixvisor_api::alerts::RULES {
        let repeat = match (r.kind, r.repeats) {
            (wemixvisor_api::alerts::RuleKind::Notice, _) => "once (notice)",
            (_, true) => "every `repeat_interval`",
            (_, false) => "never",
        };
        let row = format!("| `{}` | {} |", r.name, r.severity.as_str());
        let line = text
            .lines()
            .find(|l| l.starts_with(&row))
            .unwrap_or_else(|| panic!("docs/alerts.md has no row for {}", r.name));
        assert!(line.contains(repeat), "{}: {line}", r.name);
        assert!(
            line.contains(r.doc),
            "{}: the docs say something else",
            r.name
        );
    }
}

fn with_health(check: &str, ok: bool) -> StatusReport {
    let mut st = StatusReport::default();
    st.health.push(wemixvisor_core::HealthEntry {
        name: check.into(),
        ok,
        detail: "seen".into(),
        ..Default::default()
    });
    st
}

#[tokio::test(start_paused = true)]
async fn the_status_at_start_and_its_changes_are_judged() {
    let (sink, mut rx) = TestSink::new(0, false);
    let (etx, _) = broadcast::channel::<EventRecord>(8);
    // already stalled before the engine starts
    let (stx, srx) = watch::channel(with_health("head", false));
    let h = AlertEngine::new(AlertSettings::default(), vec![sink]).spawn(etx.subscribe(), srx);
    let n = rx.recv().await.unwrap();
    assert_eq!(
        (n.alert.rule.as_str(), n.kind),
        ("head_stalled", NotificationKind::Firing)
    );
    stx.send(with_health("disk", false)).unwrap();
    let n = rx.recv().await.unwrap();
    assert_eq!(
        (n.alert.rule.as_str(), n.kind),
        ("disk_low", NotificationKind::Firing)
    );
    assert_eq!(h.active().len(), 2);
    stx.send(with_health("head", true)).unwrap();
    let n = rx.recv().await.unwrap();
    assert_eq!(
        (n.alert.rule.as_str(), n.kind),
        ("head_stalled", NotificationKind::Resolved)
    );
    let active: Vec<String> = h.active().into_iter().map(|a| a.rule).collect();
    assert_eq!(active, ["disk_low"]);
}

#[tokio::test]
async fn a_failed_send_never_shows_the_secret_part_of_the_url() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let settings = AlertSettings {
        sinks: vec![SinkConfig::Slack(format!(
            "http://127.0.0.1:{port}/services/T0/B0/s3cr3t"
        ))],
        ..AlertSettings::default()
    };
    let sinks = build_sinks(&settings).unwrap();
    let err = sinks[0]
        .send(&Notification::test("h"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        !err.contains("s3cr3t") && !err.contains("services"),
        "{err}"
    );
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}
