//! `/metrics`: Prometheus metrics from the status report (gauges, read at
//! each scrape) and the event stream (counters).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::Value;
use tokio::sync::broadcast;
use wemixvisor_core::StatusReport;
use wemixvisor_supervisor::{Event, SupervisorHandle};

type Labels = Vec<(String, String)>;
type FGauge = Gauge<f64, AtomicU64>;

fn l(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Node states reported one-hot by `wemixvisor_node_state`.
const NODE_STATES: &[&str] = &[
    "running",
    "starting",
    "stopping",
    "stopped",
    "crashed",
    "failed",
    "upgrading",
    "orphaned",
];
/// Supervisor states reported one-hot by `wemixvisor_supervisor_state`.
const SUPERVISOR_STATES: &[&str] = &["running", "stopped", "failed"];
/// GovNCP proposal states reported by `wemixvisor_governance_proposals`.
const PROPOSAL_STATES: &[&str] = &["voting", "accepted", "rejected", "canceled", "expired"];
/// Upgrade outcomes counted by `wemixvisor_upgrades_total`.
pub const UPGRADE_RESULTS: &[&str] = &[
    "scheduled",
    "prepared",
    "blocked",
    "applied",
    "failed",
    "rolled_back",
    "cancelled",
];

/// Every metric, and the registry that encodes them. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Mutex<Registry>,
    supervisor_state: Family<Labels, Gauge>,
    supervisor_uptime: Gauge,
    node_state: Family<Labels, Gauge>,
    node_up: Gauge,
    node_gave_up: Gauge,
    node_restarts: Counter,
    restarts_seen: AtomicU32,
    node_crashes: Counter,
    node_uptime: Gauge,
    head: Gauge,
    head_age: FGauge,
    block_period: FGauge,
    peers: Gauge,
    syncing: Gauge,
    health_ok: Family<Labels, Gauge>,
    health_failures: Family<Labels, Gauge>,
    upgrades: Family<Labels, Counter>,
    upgrade_pending: Gauge,
    upgrade_height: Gauge,
    upgrade_blocks: Gauge,
    upgrade_eta: Gauge,
    upgrade_prepared: Gauge,
    prepared_name: Mutex<Option<String>>,
    backups: Family<Labels, Counter>,
    backup_duration: FGauge,
    backup_bytes: Gauge,
    backup_last_success: Gauge,
    api_requests: Family<Labels, Counter>,
    is_validator: Gauge,
    sealed: Gauge,
    window_blocks: Gauge,
    round_changes: Gauge,
    validators: Gauge,
    validators_active: Gauge,
    quorum: Gauge,
    quorum_safe: Gauge,
    proposals: Family<Labels, Gauge>,
    alert_sends: Family<Labels, Counter>,
    alerts_dropped: Counter,
    alerts_firing: Gauge,
    alert_firing: Family<Labels, Gauge>,
    events: Family<Labels, Counter>,
    build_info: Family<Labels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(s).ok()
}

impl Metrics {
    /// A registry with every metric at its zero value.
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("wemixvisor");
        macro_rules! reg {
            ($name:expr, $help:expr, $m:expr) => {{
                let m = $m;
                r.register($name, $help, m.clone());
                m
            }};
        }
        let inner = Inner {
            supervisor_state: reg!(
                "supervisor_state",
                "Supervisor state (1 for the current state)",
                Family::default()
            ),
            supervisor_uptime: reg!(
                "supervisor_uptime_seconds",
                "Seconds since the supervisor started",
                Gauge::default()
            ),
            node_state: reg!(
                "node_state",
                "Node state (1 for the current state)",
                Family::default()
            ),
            node_up: reg!("node_up", "1 when the node process runs", Gauge::default()),
            node_gave_up: reg!(
                "node_gave_up",
                "1 when the restart policy gave up and the node stays down",
                Gauge::default()
            ),
            node_restarts: reg!(
                "node_restarts",
                "Node starts after the first one",
                Counter::default()
            ),
            restarts_seen: AtomicU32::new(0),
            node_crashes: reg!(
                "node_crashes",
                "Node exits the supervisor did not ask for",
                Counter::default()
            ),
            node_uptime: reg!(
                "node_uptime_seconds",
                "Seconds since the current node run started",
                Gauge::default()
            ),
            head: reg!(
                "chain_head_block",
                "Last head block number seen",
                Gauge::default()
            ),
            head_age: reg!(
                "chain_head_age_seconds",
                "Seconds since the head last changed",
                FGauge::default()
            ),
            block_period: reg!(
                "chain_block_period_seconds",
                "Observed seconds per block",
                FGauge::default()
            ),
            peers: reg!(
                "chain_peers",
                "Peers of the node (net_peerCount)",
                Gauge::default()
            ),
            syncing: reg!(
                "chain_syncing",
                "1 while the node is syncing",
                Gauge::default()
            ),
            health_ok: reg!(
                "health_check_ok",
                "1 when the health check passed at its last run",
                Family::default()
            ),
            health_failures: reg!(
                "health_check_consecutive_failures",
                "Failures in a row of the health check",
                Family::default()
            ),
            upgrades: reg!("upgrades", "Upgrade events by result", Family::default()),
            upgrade_pending: reg!(
                "upgrade_pending",
                "1 when an upgrade is pending",
                Gauge::default()
            ),
            upgrade_height: reg!(
                "upgrade_pending_height",
                "Activation height of the next pending upgrade",
                Gauge::default()
            ),
            upgrade_blocks: reg!(
                "upgrade_pending_blocks_to_go",
                "Blocks until the next pending upgrade",
                Gauge::default()
            ),
            upgrade_eta: reg!(
                "upgrade_pending_eta_seconds",
                "Estimated seconds until the next pending upgrade",
                Gauge::default()
            ),
            upgrade_prepared: reg!(
                "upgrade_pending_prepared",
                "1 when the next pending upgrade's binary is downloaded, verified and pre-flighted",
                Gauge::default()
            ),
            prepared_name: Mutex::new(None),
            backups: reg!("backups", "Snapshots by result", Family::default()),
            backup_duration: reg!(
                "backup_last_duration_seconds",
                "Duration of the last snapshot",
                FGauge::default()
            ),
            backup_bytes: reg!(
                "backup_last_size_bytes",
                "Size of the last snapshot",
                Gauge::default()
            ),
            backup_last_success: reg!(
                "backup_last_success_timestamp_seconds",
                "Unix time of the last successful snapshot",
                Gauge::default()
            ),
            api_requests: reg!(
                "api_requests",
                "HTTP API requests by route, method and status code",
                Family::default()
            ),
            is_validator: reg!(
                "consensus_is_validator",
                "1 when this node is in the validator set",
                Gauge::default()
            ),
            sealed: reg!(
                "consensus_sealed_blocks",
                "Blocks this validator sealed in the activity window",
                Gauge::default()
            ),
            window_blocks: reg!(
                "consensus_window_blocks",
                "Blocks in the activity window",
                Gauge::default()
            ),
            round_changes: reg!(
                "consensus_round_changes",
                "Blocks in the activity window sealed after a round change",
                Gauge::default()
            ),
            validators: reg!(
                "consensus_validators",
                "Size of the validator set",
                Gauge::default()
            ),
            validators_active: reg!(
                "consensus_validators_active",
                "Validators active in the window",
                Gauge::default()
            ),
            quorum: reg!(
                "consensus_quorum",
                "Validators needed for quorum",
                Gauge::default()
            ),
            quorum_safe: reg!(
                "consensus_quorum_safe",
                "1 when halting this validator keeps quorum",
                Gauge::default()
            ),
            proposals: reg!(
                "governance_proposals",
                "GovNCP proposals by state",
                Family::default()
            ),
            alert_sends: reg!(
                "alert_sends",
                "Alert deliveries by sink and result",
                Family::default()
            ),
            alerts_dropped: reg!(
                "alerts_dropped",
                "Alerts dropped because a sink queue was full",
                Counter::default()
            ),
            alerts_firing: reg!("alerts_firing", "Alerts currently firing", Gauge::default()),
            alert_firing: reg!(
                "alert_firing",
                "Alerts of the rule currently firing (one per dedupe key)",
                Family::default()
            ),
            events: reg!("events", "Supervisor events by type", Family::default()),
            build_info: reg!(
                "build_info",
                "Version of wemixvisor (always 1)",
                Family::default()
            ),
            registry: Mutex::new(Registry::default()),
        };
        inner
            .build_info
            .get_or_create(&l(&[("version", env!("CARGO_PKG_VERSION"))]))
            .set(1);
        for s in NODE_STATES {
            inner.node_state.get_or_create(&l(&[("state", s)])).set(0);
        }
        for s in SUPERVISOR_STATES {
            inner
                .supervisor_state
                .get_or_create(&l(&[("state", s)]))
                .set(0);
        }
        for s in PROPOSAL_STATES {
            inner.proposals.get_or_create(&l(&[("state", s)])).set(0);
        }
        for s in UPGRADE_RESULTS {
            let _ = inner.upgrades.get_or_create(&l(&[("result", s)]));
        }
        for s in ["ok", "failed"] {
            let _ = inner.backups.get_or_create(&l(&[("result", s)]));
        }
        for r in crate::alerts::RULES {
            inner
                .alert_firing
                .get_or_create(&l(&[("rule", r.name), ("severity", r.severity.as_str())]))
                .set(0);
        }
        let inner = Inner {
            registry: Mutex::new(r),
            ..inner
        };
        Metrics {
            inner: Arc::new(inner),
        }
    }

    /// Counts one API request.
    pub fn api_request(&self, route: &str, method: &str, code: u16) {
        self.inner
            .api_requests
            .get_or_create(&l(&[
                ("route", route),
                ("method", method),
                ("code", &code.to_string()),
            ]))
            .inc();
    }

    /// Counts one alert delivery.
    pub fn alert_sent(&self, sink: &str, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.inner
            .alert_sends
            .get_or_create(&l(&[("sink", sink), ("result", result)]))
            .inc();
    }

    /// Counts one alert dropped by a full queue.
    pub fn alert_dropped(&self) {
        self.inner.alerts_dropped.inc();
    }

    /// Sets how many alerts fire now.
    pub fn set_alerts_firing(&self, n: usize) {
        self.inner.alerts_firing.set(n as i64);
    }

    /// Sets the firing alerts, per rule.
    pub fn set_active_alerts(&self, active: &[crate::alerts::Alert]) {
        self.set_alerts_firing(active.len());
        for r in crate::alerts::RULES {
            let n = active.iter().filter(|a| a.rule == r.name).count();
            self.inner
                .alert_firing
                .get_or_create(&l(&[("rule", r.name), ("severity", r.severity.as_str())]))
                .set(n as i64);
        }
    }

    /// Updates the counters from one event.
    pub fn observe(&self, ev: &Event) {
        let i = &self.inner;
        let kind = serde_json::to_value(ev)
            .ok()
            .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| "unknown".into());
        i.events.get_or_create(&l(&[("type", &kind)])).inc();
        let upgrade = |r: &str| {
            i.upgrades.get_or_create(&l(&[("result", r)])).inc();
        };
        match ev {
            Event::NodeStarted { .. } => {
                i.node_gave_up.set(0);
            }
            Event::NodeExited { requested, .. } if !requested => {
                i.node_crashes.inc();
            }
            Event::NodeGaveUp { .. } => {
                i.node_gave_up.set(1);
            }
            Event::UpgradeScheduled { .. } => upgrade("scheduled"),
            Event::UpgradePrepared { name } => {
                upgrade("prepared");
                if let Ok(mut p) = i.prepared_name.lock() {
                    *p = Some(name.clone());
                }
            }
            Event::UpgradeBlocked { .. } => upgrade("blocked"),
            Event::UpgradeApplied { .. } => upgrade("applied"),
            Event::UpgradeFailed { .. } => upgrade("failed"),
            Event::UpgradeRolledBack { .. } => upgrade("rolled_back"),
            Event::UpgradeCancelled { .. } => upgrade("cancelled"),
            Event::BackupTaken {
                bytes,
                duration_secs,
                ..
            } => {
                i.backups.get_or_create(&l(&[("result", "ok")])).inc();
                i.backup_duration.set(*duration_secs);
                i.backup_bytes
                    .set(i64::try_from(*bytes).unwrap_or(i64::MAX));
                i.backup_last_success.set(unix_now() as i64);
            }
            Event::BackupFailed { .. } => {
                i.backups.get_or_create(&l(&[("result", "failed")])).inc();
            }
            _ => {}
        }
    }

    /// Sets the gauges from a status report.
    pub fn refresh(&self, st: &StatusReport) {
        let i = &self.inner;
        for s in SUPERVISOR_STATES {
            let v = i64::from(st.supervisor.state == *s);
            i.supervisor_state.get_or_create(&l(&[("state", s)])).set(v);
        }
        let since = |t: &Option<String>| {
            t.as_deref()
                .and_then(parse_rfc3339)
                .and_then(|t| SystemTime::now().duration_since(t).ok())
        };
        i.supervisor_uptime.set(
            since(&st.supervisor.started_at)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        );
        for s in NODE_STATES {
            let v = i64::from(st.node.state == *s);
            i.node_state.get_or_create(&l(&[("state", s)])).set(v);
        }
        i.node_up.set(i64::from(st.node.state == "running"));
        let seen = i.restarts_seen.swap(st.node.restarts, Ordering::Relaxed);
        if st.node.restarts > seen {
            i.node_restarts.inc_by(u64::from(st.node.restarts - seen));
        }
        i.node_uptime
            .set(st.node.uptime_secs.map(|u| u as i64).unwrap_or(0));
        i.head.set(st.chain.head.map(|h| h as i64).unwrap_or(0));
        i.head_age.set(
            since(&st.chain.head_seen_at)
                .unwrap_or(Duration::ZERO)
                .as_secs_f64(),
        );
        i.block_period
            .set(st.chain.block_period_secs.unwrap_or(0.0));
        i.peers.set(st.chain.peers.map(|p| p as i64).unwrap_or(0));
        i.syncing.set(i64::from(st.chain.syncing.unwrap_or(false)));
        for h in &st.health {
            let lab = l(&[("check", &h.name)]);
            i.health_ok.get_or_create(&lab).set(i64::from(h.ok));
            i.health_failures
                .get_or_create(&lab)
                .set(i64::from(h.consecutive_failures));
        }
        match &st.upgrade.pending {
            Some(p) => {
                i.upgrade_pending.set(1);
                i.upgrade_height.set(p.height as i64);
                i.upgrade_blocks
                    .set(p.blocks_to_go.map(|b| b as i64).unwrap_or(0));
                i.upgrade_eta.set(p.eta_secs.map(|b| b as i64).unwrap_or(0));
                let prepared = i
                    .prepared_name
                    .lock()
                    .map(|n| n.as_deref() == Some(p.name.as_str()))
                    .unwrap_or(false);
                i.upgrade_prepared.set(i64::from(prepared));
            }
            None => {
                for g in [
                    &i.upgrade_pending,
                    &i.upgrade_height,
                    &i.upgrade_blocks,
                    &i.upgrade_eta,
                    &i.upgrade_prepared,
                ] {
                    g.set(0);
                }
            }
        }
        self.refresh_governance(st.governance.as_ref());
    }

    fn refresh_governance(&self, gov: Option<&Value>) {
        let i = &self.inner;
        let c = gov
            .and_then(|g| g.get("consensus"))
            .filter(|c| !c.is_null());
        let num = |v: Option<&Value>| v.and_then(Value::as_i64).unwrap_or(0);
        if let Some(c) = c {
            i.is_validator
                .set(i64::from(c.get("is_validator") == Some(&Value::Bool(true))));
            i.sealed.set(num(c.get("own_sealed")));
            i.window_blocks.set(num(c.get("window_blocks")));
            i.round_changes.set(
                c.get("round_changes")
                    .and_then(Value::as_array)
                    .map(|a| a.len() as i64)
                    .unwrap_or(0),
            );
            i.validators.set(
                c.get("validators")
                    .and_then(Value::as_array)
                    .map(|a| a.len() as i64)
                    .unwrap_or(0),
            );
            i.validators_active.set(num(c.get("active_validators")));
            let q = c.get("quorum").filter(|q| !q.is_null());
            i.quorum.set(num(q.and_then(|q| q.get("quorum"))));
            i.quorum_safe.set(i64::from(
                q.and_then(|q| q.get("safe")) == Some(&Value::Bool(true)),
            ));
        }
        let proposals = gov
            .and_then(|g| g.get("governance"))
            .and_then(|g| g.get("proposals"))
            .and_then(Value::as_array);
        if let Some(list) = proposals {
            for s in PROPOSAL_STATES {
                let n = list
                    .iter()
                    .filter(|p| p.get("state").and_then(Value::as_str) == Some(s))
                    .count();
                i.proposals.get_or_create(&l(&[("state", s)])).set(n as i64);
            }
        }
    }

    /// The Prometheus text (format 0.0.4) of every metric, after refreshing the gauges.
    pub fn render(&self, st: &StatusReport) -> String {
        self.refresh(st);
        let mut out = String::new();
        if let Ok(r) = self.inner.registry.lock() {
            if let Err(e) = encode(&mut out, &r) {
                tracing::warn!(error = %e, "cannot encode metrics");
            }
        }
        to_text_format(&out)
    }

    /// Feeds the counters from the handle's event stream until it closes.
    pub fn spawn_consumer(&self, handle: &SupervisorHandle) -> tokio::task::JoinHandle<()> {
        let mut rx = handle.subscribe();
        let m = self.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(rec) => m.observe(&rec.event),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "metrics missed events");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        })
    }
}

/// Turns OpenMetrics text into the Prometheus text format: counters are
/// named with their `_total` suffix in `# HELP` / `# TYPE`, and `# EOF` goes.
fn to_text_format(open_metrics: &str) -> String {
    let counters: Vec<&str> = open_metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open_metrics.len());
    for line in open_metrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let mut renamed = None;
        for prefix in ["# HELP ", "# TYPE "] {
            if let Some(rest) = line.strip_prefix(prefix) {
                let name = rest.split(' ').next().unwrap_or("");
                if counters.contains(&name) {
                    renamed = Some(format!("{prefix}{name}_total{}", &rest[name.len()..]));
                }
            }
        }
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}
