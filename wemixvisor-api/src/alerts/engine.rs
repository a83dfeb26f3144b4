//! The engine task and the per-sink delivery tasks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior};
use wemixvisor_core::StatusReport;
use wemixvisor_supervisor::EventRecord;

use super::{Alert, AlertSettings, Notification, RuleState, Sink};
use crate::Metrics;

/// Notifications waiting per sink; beyond this they are dropped and counted
/// (`wemixvisor_alerts_dropped_total`).
pub const QUEUE: usize = 256;
/// Attempts per notification before it counts as failed.
pub const ATTEMPTS: u32 = 5;
/// Wait before the first retry; doubled after each failure.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest wait between retries.
pub const MAX_RETRY: Duration = Duration::from_secs(60);
/// Time between refreshes of firing alerts in sinks that expire them.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// The alert engine before it runs.
pub struct AlertEngine {
    settings: AlertSettings,
    sinks: Vec<Arc<dyn Sink>>,
    metrics: Option<Metrics>,
}

/// The running engine: the alerts firing now, and a flush for the end.
#[derive(Clone, Debug)]
pub struct AlertsHandle {
    active: watch::Receiver<Vec<Alert>>,
    flush: mpsc::Sender<oneshot::Sender<()>>,
    in_flight: Arc<AtomicUsize>,
}

impl AlertsHandle {
    /// Judges the events already published and waits, at most `limit`,
    /// until every sink has had its go at the alerts queued so far. For
    /// the supervisor's last moments: the alert that the node gave up is
    /// published just before the process ends.
    pub async fn flush(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        let (tx, rx) = oneshot::channel();
        if self.flush.send(tx).await.is_err() {
            return;
        }
        if tokio::time::timeout_at(deadline, rx).await.is_err() {
            return;
        }
        while self.in_flight.load(Ordering::Acquire) > 0 {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!("alerts still being delivered at exit were dropped");
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The alerts firing now, most severe first.
    pub fn active(&self) -> Vec<Alert> {
        self.active.borrow().clone()
    }

    /// A receiver of changes to the firing alerts.
    pub fn watch(&self) -> watch::Receiver<Vec<Alert>> {
        self.active.clone()
    }
}

/// The tick at which repeats are checked: fine enough for the interval,
/// never busier than needed.
fn tick_for(repeat: Duration) -> Duration {
    (repeat / 4).clamp(Duration::from_millis(10), Duration::from_secs(5))
}

impl AlertEngine {
    /// An engine over these sinks.
    pub fn new(settings: AlertSettings, sinks: Vec<Arc<dyn Sink>>) -> Self {
        AlertEngine {
            settings,
            sinks,
            metrics: None,
        }
    }

    /// Counts sends, drops and firing alerts in `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Runs the rules on their own task until both the event stream and
    /// the status watch close; each sink gets its own delivery task.
    pub fn spawn(
        self,
        mut events: broadcast::Receiver<EventRecord>,
        mut status: watch::Receiver<StatusReport>,
    ) -> AlertsHandle {
        let (active_tx, active_rx) = watch::channel(Vec::new());
        let (flush_tx, mut flush_rx) = mpsc::channel::<oneshot::Sender<()>>(4);
        let in_flight = Arc::new(AtomicUsize::new(0));
        let queues = Queues {
            senders: self
                .sinks
                .iter()
                .map(|s| spawn_delivery(s.clone(), self.metrics.clone(), in_flight.clone()))
                .collect(),
            in_flight: in_flight.clone(),
        };
        let metrics = self.metrics.clone();
        let mut rules = RuleState::new(self.settings.clone());
        let every = tick_for(self.settings.repeat_interval);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut last_refresh = Instant::now();
            let (mut events_open, mut status_open) = (true, true);
            // The report current at start is judged too: a node already
            // stalled when the engine starts is reported.
            let first = status.borrow_and_update().clone();
            let mut notes = rules.on_status(&first, Instant::now());
            loop {
                let firing = rules.active();
                // Repeats, refreshes and the node_down resolve concern
                // firing alerts only: with none, time alone changes nothing
                // and the engine sleeps until an event or a status change.
                let ticking = !firing.is_empty();
                if let Some(m) = &metrics {
                    m.set_active_alerts(&firing);
                }
                active_tx.send_if_modified(|cur| {
                    if *cur == firing {
                        false
                    } else {
                        *cur = firing;
                        true
                    }
                });
                // after the firing list, so that whoever got a notification
                // also sees it in the active alerts
                queues.dispatch(&notes, metrics.as_ref());
                if !events_open && !status_open {
                    return;
                }
                notes = tokio::select! {
                    r = events.recv(), if events_open => match r {
                        Ok(rec) => rules.on_event(&rec.event, Instant::now()),
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "alerts missed events");
                            Vec::new()
                        }
                        Err(broadcast::error::RecvError::Closed) => {
                            events_open = false;
                            Vec::new()
                        }
                    },
                    c = status.changed(), if status_open => match c {
                        Ok(()) => {
                            let st = status.borrow_and_update().clone();
                            rules.on_status(&st, Instant::now())
                        }
                        Err(_) => {
                            status_open = false;
                            Vec::new()
                        }
                    },
                    Some(reply) = flush_rx.recv() => {
                        let mut n = Vec::new();
                        while let Ok(rec) = events.try_recv() {
                            n.extend(rules.on_event(&rec.event, Instant::now()));
                        }
                        queues.dispatch(&n, metrics.as_ref());
                        let _ = reply.send(());
                        Vec::new()
                    }
                    _ = tick.tick(), if ticking => {
                        let now = Instant::now();
                        let mut n = rules.due(now);
                        if now.saturating_duration_since(last_refresh) >= REFRESH_EVERY {
                            last_refresh = now;
                            n.extend(rules.refresh());
                        }
                        n
                    }
                };
            }
        });
        AlertsHandle {
            active: active_rx,
            flush: flush_tx,
            in_flight,
        }
    }
}

/// The sinks' queues and the count of notifications not yet handled.
struct Queues {
    senders: Vec<mpsc::Sender<Notification>>,
    in_flight: Arc<AtomicUsize>,
}

impl Queues {
    /// Hands notifications to each sink's queue without waiting.
    fn dispatch(&self, notes: &[Notification], metrics: Option<&Metrics>) {
        for n in notes {
            if n.kind != super::NotificationKind::Refresh {
                tracing::info!(rule = %n.alert.rule, kind = ?n.kind, "alert: {}", n.message);
            }
            for q in &self.senders {
                self.in_flight.fetch_add(1, Ordering::AcqRel);
                if q.try_send(n.clone()).is_err() {
                    self.in_flight.fetch_sub(1, Ordering::AcqRel);
                    if let Some(m) = metrics {
                        m.alert_dropped();
                    }
                    tracing::warn!(rule = %n.alert.rule, "an alert sink is behind; alert dropped");
                }
            }
        }
    }
}

/// One sink's task: delivers in order, retrying with backoff.
fn spawn_delivery(
    sink: Arc<dyn Sink>,
    metrics: Option<Metrics>,
    in_flight: Arc<AtomicUsize>,
) -> mpsc::Sender<Notification> {
    let (tx, mut rx) = mpsc::channel::<Notification>(QUEUE);
    tokio::spawn(async move {
        while let Some(n) = rx.recv().await {
            if sink.accepts(n.kind) {
                let ok = deliver(sink.as_ref(), &n).await.is_ok();
                if let Some(m) = &metrics {
                    m.alert_sent(sink.kind(), ok);
                }
            }
            in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    });
    tx
}

/// Sends `n` to `sink`: up to [`ATTEMPTS`] tries, backing off between them.
pub async fn deliver(sink: &dyn Sink, n: &Notification) -> crate::Result<()> {
    let mut wait = FIRST_RETRY;
    let mut attempt = 1;
    loop {
        match sink.send(n).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= ATTEMPTS => {
                tracing::warn!(sink = sink.kind(), target = %sink.target(), error = %e, "alert not delivered");
                return Err(e);
            }
            Err(e) => {
                tracing::debug!(sink = sink.kind(), attempt, error = %e, "alert send failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_RETRY);
                attempt += 1;
            }
        }
    }
}
