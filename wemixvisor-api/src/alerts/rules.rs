//! The alert rules (DESIGN §8) as a pure state machine over events and
//! status reports.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;
use wemixvisor_core::StatusReport;
use wemixvisor_supervisor::Event;

use super::{now_rfc3339, Alert, AlertSettings, Notification, NotificationKind, Severity};

/// Whether a rule tracks a state or reports a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// Fires, may repeat, and resolves when the condition ends.
    Condition,
    /// Sent once; nothing to resolve.
    Notice,
}

/// One rule: its name, severity and repeat policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSpec {
    /// Name (the `alertname` in Alertmanager).
    pub name: &'static str,
    /// How bad.
    pub severity: Severity,
    /// Condition or notice.
    pub kind: RuleKind,
    /// True when a condition that still holds is sent again every
    /// `alerts.repeat_interval`.
    pub repeats: bool,
    /// When it fires, and when it resolves.
    pub doc: &'static str,
}

const fn cond(
    name: &'static str,
    severity: Severity,
    repeats: bool,
    doc: &'static str,
) -> RuleSpec {
    RuleSpec {
        name,
        severity,
        kind: RuleKind::Condition,
        repeats,
        doc,
    }
}

const fn notice(name: &'static str, severity: Severity, doc: &'static str) -> RuleSpec {
    RuleSpec {
        name,
        severity,
        kind: RuleKind::Notice,
        repeats: false,
        doc,
    }
}

/// Every rule, in the order docs/alerts.md lists them.
pub static RULES: &[RuleSpec] = &[
    cond("node_down", Severity::Warning, true,
        "the node exited without being asked to; resolves once it has run for 60 s again, or is stopped on request"),
    cond("node_gave_up", Severity::Critical, true,
        "the restart policy gave up after a crash loop and the node stays down; resolves when the node starts again"),
    cond("upgrade_scheduled", Severity::Info, false,
        "an upgrade entered the queue (key: upgrade name); resolves when it is applied, cancelled, failed or rolled back"),
    cond("upgrade_imminent", Severity::Warning, true,
        "the next upgrade is alerts.upgrade_imminent_blocks blocks away or closer; resolves when it is no longer pending"),
    cond("upgrade_blocked", Severity::Critical, true,
        "a plan cannot go ahead and holds back the queue; resolves when it is prepared, starts, or leaves the queue"),
    notice("upgrade_applied", Severity::Info, "an upgrade completed and the new binary is verified"),
    notice("upgrade_failed", Severity::Critical, "an upgrade failed"),
    notice("upgrade_rolled_back", Severity::Critical, "an upgrade was rolled back to the previous binary"),
    cond("head_stalled", Severity::Critical, true,
        "the `head` health check fails (no new block for health.stall_blocks block periods); resolves when it passes"),
    cond("peers_low", Severity::Warning, true,
        "the `peers` health check fails (fewer than health.min_peers); resolves when it passes"),
    cond("disk_low", Severity::Critical, true,
        "the `disk` health check fails (less than health.min_free_disk_mb free); resolves when it passes"),
    cond("backup_failed", Severity::Warning, true,
        "a snapshot of the chain data failed; resolves at the next successful snapshot"),
    cond("validator_not_sealing", Severity::Critical, true,
        "this node is a validator and sealed no block in the consensus window; resolves when it seals again or leaves the set"),
    cond("quorum_at_risk", Severity::Critical, true,
        "active validators are at or below the BFT quorum (one more loss halts the chain); resolves when more are active"),
    cond("govncp_proposal", Severity::Info, false,
        "a GovNCP proposal is open for votes (key: proposal id); resolves when it is decided, canceled or expires"),
];

/// The spec of a rule by name.
pub fn spec(name: &str) -> Option<&'static RuleSpec> {
    RULES.iter().find(|r| r.name == name)
}

/// How long a restarted node must run before `node_down` resolves.
pub const NODE_STABLE: Duration = Duration::from_secs(60);

/// The health checks that map to a rule.
fn health_rule(check: &str) -> Option<&'static str> {
    match check {
        "head" => Some("head_stalled"),
        "peers" => Some("peers_low"),
        "disk" => Some("disk_low"),
        _ => None,
    }
}

struct Active {
    alert: Alert,
    last_sent: Instant,
}

/// The firing alerts and the rules' judgement. Time is passed in, so tests
/// drive it without sleeping.
pub struct RuleState {
    settings: AlertSettings,
    active: BTreeMap<String, Active>,
    /// Since when the node runs, as far as events and status tell.
    running_since: Option<Instant>,
}

impl RuleState {
    /// No alert firing.
    pub fn new(settings: AlertSettings) -> Self {
        RuleState {
            settings,
            active: BTreeMap::new(),
            running_since: None,
        }
    }

    /// The alerts firing now, most severe first.
    pub fn active(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.active.values().map(|a| a.alert.clone()).collect();
        v.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.key.cmp(&b.key)));
        v
    }

    fn note(
        &self,
        kind: NotificationKind,
        alert: Alert,
        message: String,
        notice: bool,
    ) -> Notification {
        Notification {
            kind,
            alert,
            message,
            notice,
            instance: self.settings.instance.clone(),
            at: now_rfc3339(),
        }
    }

    fn alert(rule: &'static str, key: String, summary: String) -> Alert {
        Alert {
            rule: rule.into(),
            key,
            severity: spec(rule).map_or(Severity::Warning, |s| s.severity),
            summary,
            started_at: now_rfc3339(),
        }
    }

    /// Starts a condition; nothing when its key already fires (dedupe), but
    /// the summary follows the newest observation.
    fn fire(
        &mut self,
        rule: &'static str,
        key: String,
        summary: String,
        now: Instant,
    ) -> Option<Notification> {
        if let Some(a) = self.active.get_mut(&key) {
            a.alert.summary = summary;
            return None;
        }
        let alert = Self::alert(rule, key.clone(), summary.clone());
        self.active.insert(
            key,
            Active {
                alert: alert.clone(),
                last_sent: now,
            },
        );
        Some(self.note(NotificationKind::Firing, alert, summary, false))
    }

    fn resolve(&mut self, key: &str, message: String) -> Option<Notification> {
        let a = self.active.remove(key)?;
        Some(self.note(NotificationKind::Resolved, a.alert, message, false))
    }

    fn notice(&self, rule: &'static str, key: String, summary: String) -> Notification {
        let alert = Self::alert(rule, key, summary.clone());
        self.note(NotificationKind::Firing, alert, summary, true)
    }

    /// Judges one event.
    pub fn on_event(&mut self, ev: &Event, now: Instant) -> Vec<Notification> {
        let mut out = Vec::new();
        let mut push = |n: Option<Notification>| out.extend(n);
        match ev {
            Event::NodeExited {
                requested: false,
                description,
                ..
            } => {
                self.running_since = None;
                let summary = format!("the node exited: {description}");
                push(self.fire("node_down", "node_down".into(), summary, now));
            }
            Event::NodeExited { requested: true, .. } => {
                self.running_since = None;
                push(self.resolve("node_down", "the node was stopped on request".into()));
            }
            Event::NodeGaveUp {
                crashes,
                window_secs,
                last_exit,
            } => push(self.fire(
                "node_gave_up",
                "node_gave_up".into(),
                format!("the node crashed {crashes} times within {window_secs} s and stays down (last exit: {last_exit})"),
                now,
            )),
            Event::NodeStarted { pid, binary } => {
                self.running_since = Some(now);
                push(self.resolve("node_gave_up", format!("the node started again (pid {pid}, binary {binary})")));
            }
            Event::UpgradeScheduled { name, height, source } => push(self.fire(
                "upgrade_scheduled",
                format!("upgrade_scheduled/{name}"),
                format!("upgrade {name} is scheduled at height {height} (from {source})"),
                now,
            )),
            Event::UpgradeBlocked { name, reason, fix } => push(self.fire(
                "upgrade_blocked",
                format!("upgrade_blocked/{name}"),
                format!("upgrade {name} is blocked: {reason} (fix: {fix})"),
                now,
            )),
            Event::UpgradePrepared { name } | Event::UpgradeStep { name, .. } => {
                push(self.resolve(&format!("upgrade_blocked/{name}"), format!("upgrade {name} is no longer blocked")));
            }
            Event::UpgradeApplied { name, height } => {
                out.extend(self.upgrade_ended(name, "applied"));
                out.push(self.notice(
                    "upgrade_applied",
                    format!("upgrade_applied/{name}"),
                    format!("upgrade {name} was applied at height {height}"),
                ));
            }
            Event::UpgradeFailed { name, error } => {
                out.extend(self.upgrade_ended(name, "failed"));
                out.push(self.notice(
                    "upgrade_failed",
                    format!("upgrade_failed/{name}"),
                    format!("upgrade {name} failed: {error}"),
                ));
            }
            Event::UpgradeRolledBack { name, reason } => {
                out.extend(self.upgrade_ended(name, "rolled back"));
                out.push(self.notice(
                    "upgrade_rolled_back",
                    format!("upgrade_rolled_back/{name}"),
                    format!("upgrade {name} was rolled back: {reason}"),
                ));
            }
            Event::UpgradeCancelled { name } => out.extend(self.upgrade_ended(name, "cancelled")),
            Event::HealthChanged { check, ok, detail } => {
                if let Some(rule) = health_rule(check) {
                    out.extend(self.health(rule, check, *ok, detail, now));
                }
            }
            Event::BackupFailed { error } => push(self.fire(
                "backup_failed",
                "backup_failed".into(),
                format!("a snapshot of the chain data failed: {error}"),
                now,
            )),
            Event::BackupTaken { id, .. } => {
                push(self.resolve("backup_failed", format!("snapshot {id} succeeded")));
            }
            _ => {}
        }
        out
    }

    fn upgrade_ended(&mut self, name: &str, how: &str) -> Vec<Notification> {
        let msg = format!("upgrade {name} {how}");
        ["upgrade_scheduled", "upgrade_blocked", "upgrade_imminent"]
            .iter()
            .filter_map(|r| self.resolve(&format!("{r}/{name}"), msg.clone()))
            .collect()
    }

    fn health(
        &mut self,
        rule: &'static str,
        check: &str,
        ok: bool,
        detail: &str,
        now: Instant,
    ) -> Option<Notification> {
        if ok {
            self.resolve(rule, format!("health check {check} passes again: {detail}"))
        } else {
            self.fire(
                rule,
                rule.into(),
                format!("health check {check} fails: {detail}"),
                now,
            )
        }
    }

    /// Judges one status report (health entries, the next upgrade,
    /// consensus and GovNCP).
    pub fn on_status(&mut self, st: &StatusReport, now: Instant) -> Vec<Notification> {
        let mut out = Vec::new();
        if st.node.state == "running" {
            // The status is published on changes, not as the uptime grows:
            // keep the start, and judge stability on the clock.
            let claimed = st
                .node
                .uptime_secs
                .and_then(|u| now.checked_sub(Duration::from_secs(u)))
                .unwrap_or(now);
            self.running_since = Some(self.running_since.map_or(claimed, |t| t.min(claimed)));
        } else if !st.node.state.is_empty() {
            self.running_since = None;
        }
        out.extend(self.node_stable(now));
        for h in &st.health {
            if let Some(rule) = health_rule(&h.name) {
                out.extend(self.health(rule, &h.name, h.ok, &h.detail, now));
            }
        }
        out.extend(self.imminent(st, now));
        if let Some(gov) = st.governance.as_ref() {
            out.extend(self.consensus(gov, now));
            out.extend(self.proposals(gov, now));
        }
        out
    }

    fn imminent(&mut self, st: &StatusReport, now: Instant) -> Vec<Notification> {
        let mut out = Vec::new();
        let pending = st.upgrade.pending.as_ref();
        let key_now = pending.map(|p| format!("upgrade_imminent/{}", p.name));
        let gone: Vec<String> = self
            .active
            .keys()
            .filter(|k| {
                k.starts_with("upgrade_imminent/") && Some(k.as_str()) != key_now.as_deref()
            })
            .cloned()
            .collect();
        for k in gone {
            let name = k.trim_start_matches("upgrade_imminent/").to_owned();
            out.extend(self.resolve(&k, format!("upgrade {name} is no longer pending")));
        }
        if let Some(p) = pending {
            if let Some(b) = p
                .blocks_to_go
                .filter(|b| *b <= self.settings.upgrade_imminent_blocks)
            {
                let eta = p
                    .eta_secs
                    .map(|s| format!(", about {s} s"))
                    .unwrap_or_default();
                out.extend(self.fire(
                    "upgrade_imminent",
                    format!("upgrade_imminent/{}", p.name),
                    format!(
                        "upgrade {} at height {} is {b} blocks away{eta}",
                        p.name, p.height
                    ),
                    now,
                ));
            }
        }
        out
    }

    fn consensus(&mut self, gov: &Value, now: Instant) -> Vec<Notification> {
        let mut out = Vec::new();
        let Some(c) = gov.get("consensus").filter(|c| !c.is_null()) else {
            return out;
        };
        if c.get("istanbul_available") == Some(&Value::Bool(false)) {
            return out;
        }
        let num = |k: &str| c.get(k).and_then(Value::as_u64);
        let window = num("window_blocks").unwrap_or(0);
        let is_validator = c.get("is_validator") == Some(&Value::Bool(true));
        if is_validator && window > 0 && num("own_sealed") == Some(0) {
            out.extend(self.fire(
                "validator_not_sealing",
                "validator_not_sealing".into(),
                format!("this validator sealed none of the last {window} blocks"),
                now,
            ));
        } else if !is_validator || num("own_sealed").is_some_and(|s| s > 0) {
            let msg = if is_validator {
                format!(
                    "this validator sealed {} of the last {window} blocks",
                    num("own_sealed").unwrap_or(0)
                )
            } else {
                "this node is no longer in the validator set".into()
            };
            out.extend(self.resolve("validator_not_sealing", msg));
        }
        let validators = c
            .get("validators")
            .and_then(Value::as_array)
            .map_or(0, Vec::len) as u64;
        let active = num("active_validators").unwrap_or(0);
        if validators > 0 && window > 0 {
            let quorum = validators * 2 / 3 + 1;
            if active <= quorum {
                out.extend(self.fire(
                    "quorum_at_risk",
                    "quorum_at_risk".into(),
                    format!("{active} of {validators} validators are active and quorum is {quorum}: one more loss halts the chain"),
                    now,
                ));
            } else {
                out.extend(self.resolve(
                    "quorum_at_risk",
                    format!("{active} of {validators} validators are active (quorum {quorum})"),
                ));
            }
        }
        out
    }

    fn proposals(&mut self, gov: &Value, now: Instant) -> Vec<Notification> {
        let mut out = Vec::new();
        let Some(list) = gov
            .get("governance")
            .and_then(|g| g.get("proposals"))
            .and_then(Value::as_array)
        else {
            return out;
        };
        for p in list {
            let (Some(id), Some(state)) = (
                p.get("id").and_then(Value::as_u64),
                p.get("state").and_then(Value::as_str),
            ) else {
                continue;
            };
            let key = format!("govncp_proposal/{id}");
            if state == "voting" {
                let kind = p.get("kind").and_then(Value::as_str).unwrap_or("proposal");
                let tally = match (
                    p.get("accepts").and_then(Value::as_u64),
                    p.get("rejects").and_then(Value::as_u64),
                ) {
                    (Some(a), Some(r)) => format!(" ({a} accepts, {r} rejects)"),
                    _ => String::new(),
                };
                out.extend(self.fire(
                    "govncp_proposal",
                    key,
                    format!("GovNCP proposal {id} ({kind}) is open for votes{tally}"),
                    now,
                ));
            } else {
                out.extend(self.resolve(&key, format!("GovNCP proposal {id} is {state}")));
            }
        }
        out
    }

    /// Resolves `node_down` once the node has run for [`NODE_STABLE`].
    fn node_stable(&mut self, now: Instant) -> Option<Notification> {
        let stable = self
            .running_since
            .is_some_and(|t| now.saturating_duration_since(t) >= NODE_STABLE);
        if !stable {
            return None;
        }
        self.resolve(
            "node_down",
            format!("the node has run for {} s again", NODE_STABLE.as_secs()),
        )
    }

    /// What time alone decides: `node_down` resolving once the node has run
    /// long enough, and repeats of the conditions that still hold and whose
    /// rule repeats, `repeat_interval` after they were last sent.
    pub fn due(&mut self, now: Instant) -> Vec<Notification> {
        let every = self.settings.repeat_interval;
        let resolved = self.node_stable(now);
        let mut out = Vec::new();
        for a in self.active.values_mut() {
            let repeats = spec(&a.alert.rule).is_some_and(|s| s.repeats);
            if repeats && now.saturating_duration_since(a.last_sent) >= every {
                a.last_sent = now;
                out.push(a.alert.clone());
            }
        }
        let repeats: Vec<Notification> = out
            .into_iter()
            .map(|a| {
                let msg = a.summary.clone();
                self.note(NotificationKind::Repeat, a, msg, false)
            })
            .collect();
        resolved.into_iter().chain(repeats).collect()
    }

    /// Every firing alert again, for sinks that expire alerts on their own.
    pub fn refresh(&self) -> Vec<Notification> {
        self.active
            .values()
            .map(|a| {
                self.note(
                    NotificationKind::Refresh,
                    a.alert.clone(),
                    a.alert.summary.clone(),
                    false,
                )
            })
            .collect()
    }
}
