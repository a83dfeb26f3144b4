//! Alerts: rules over the supervisor's event stream and status, delivered
//! to operators' own channels.
//!
//! # Theory of operation
//! - [`rules::RuleState`] is a pure state machine: it takes events and
//!   status reports (and the time) and answers [`Notification`]s. A
//!   *condition* (node gave up, head stalled, ...) fires once per dedupe
//!   key, repeats every `alerts.repeat_interval` while it holds (info
//!   rules never repeat) and sends a resolved message when it ends. A
//!   *notice* (upgrade applied, failed, rolled back) is sent once.
//!   [`rules::RULES`] lists every rule with its severity and repeat policy.
//! - [`AlertEngine::spawn`] runs the rules on their own task, fed by the
//!   event `broadcast` and the status `watch`: the supervisor never waits
//!   for it (a slow engine only lags the broadcast).
//! - Each [`Sink`] (generic JSON webhook, Slack incoming webhook,
//!   Alertmanager `/api/v2/alerts`) has its own task and a bounded queue;
//!   a send is retried with exponential backoff, and a full queue drops
//!   (and counts) instead of waiting, so a dead sink slows nothing else.
//! - [`AlertsHandle`] shows the alerts firing now (for `status`), and the
//!   [`Metrics`](crate::Metrics) count sends by sink and result.

pub mod engine;
pub mod rules;
pub mod sinks;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use engine::{AlertEngine, AlertsHandle};
pub use rules::{RuleKind, RuleSpec, RuleState, RULES};
pub use sinks::{AlertmanagerSink, SlackSink, WebhookSink};

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to do yet.
    Info,
    /// Needs attention soon.
    Warning,
    /// Needs attention now.
    Critical,
}

impl Severity {
    /// Lowercase name, as in labels and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One alert as sinks and `status` see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The rule's name (e.g. `node_gave_up`).
    pub rule: String,
    /// The dedupe key: the rule, plus the upgrade name or proposal id it is about.
    pub key: String,
    /// How bad.
    pub severity: Severity,
    /// One line: what is wrong.
    pub summary: String,
    /// When it started firing (RFC 3339).
    pub started_at: String,
}

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A condition began, or a notice happened.
    Firing,
    /// A condition still holds after the repeat interval.
    Repeat,
    /// A condition ended.
    Resolved,
    /// A still-firing alert, re-sent to sinks that expire alerts on their
    /// own (Alertmanager) so that it stays active there.
    Refresh,
    /// `wemixvisor alerts test`.
    Test,
}

/// One message to the sinks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Why it is sent.
    pub kind: NotificationKind,
    /// The alert.
    pub alert: Alert,
    /// The line to show: the summary, or the resolve message.
    pub message: String,
    /// True for a one-shot notice (it has no resolve).
    pub notice: bool,
    /// Which supervisor sends it (host name and home).
    pub instance: String,
    /// When it is sent (RFC 3339).
    pub at: String,
}

impl Notification {
    /// The test notification `wemixvisor alerts test` sends.
    pub fn test(instance: &str) -> Notification {
        let at = now_rfc3339();
        Notification {
            kind: NotificationKind::Test,
            alert: Alert {
                rule: "test".into(),
                key: "test".into(),
                severity: Severity::Info,
                summary: "test alert from wemixvisor (`wemixvisor alerts test`)".into(),
                started_at: at.clone(),
            },
            message: "test alert from wemixvisor (`wemixvisor alerts test`)".into(),
            notice: true,
            instance: instance.to_owned(),
            at,
        }
    }
}

/// Where alerts go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkConfig {
    /// A generic JSON webhook (POST of a [`Notification`]-shaped body).
    Webhook(String),
    /// A Slack incoming webhook.
    Slack(String),
    /// An Alertmanager (base URL, or the full `/api/v2/alerts` URL).
    Alertmanager(String),
}

/// What the alert engine needs from the configuration (`[alerts]`).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    /// Time between repeats of a condition that still holds.
    pub repeat_interval: Duration,
    /// An upgrade this many blocks away or closer is imminent.
    pub upgrade_imminent_blocks: u64,
    /// Time limit of one delivery attempt.
    pub send_timeout: Duration,
    /// Who sends (host name and home), in every notification.
    pub instance: String,
    /// The sinks.
    pub sinks: Vec<SinkConfig>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            repeat_interval: Duration::from_secs(4 * 3600),
            upgrade_imminent_blocks: 100,
            send_timeout: Duration::from_secs(10),
            instance: "wemixvisor".into(),
            sinks: Vec::new(),
        }
    }
}

/// Builds the sinks the settings name.
pub fn build_sinks(settings: &AlertSettings) -> crate::Result<Vec<std::sync::Arc<dyn Sink>>> {
    if settings.sinks.is_empty() {
        // No HTTP(S) client (and no TLS stack) for a daemon that sends nothing.
        return Ok(Vec::new());
    }
    let client = reqwest::Client::builder()
        .timeout(settings.send_timeout)
        .build()
        .map_err(|e| crate::ApiError::Http(e.to_string()))?;
    Ok(settings
        .sinks
        .iter()
        .map(|s| -> std::sync::Arc<dyn Sink> {
            match s {
                SinkConfig::Webhook(u) => {
                    std::sync::Arc::new(WebhookSink::new(client.clone(), u.clone()))
                }
                SinkConfig::Slack(u) => {
                    std::sync::Arc::new(SlackSink::new(client.clone(), u.clone()))
                }
                SinkConfig::Alertmanager(u) => {
                    std::sync::Arc::new(AlertmanagerSink::new(client.clone(), u.clone()))
                }
            }
        })
        .collect())
}

/// A place alerts are delivered to.
#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    /// The sink kind (`webhook`, `slack`, `alertmanager`): the `sink` label
    /// of `wemixvisor_alert_sends_total`.
    fn kind(&self) -> &'static str;
    /// Where it sends, without secrets (scheme and host only), for messages.
    fn target(&self) -> String;
    /// Whether this sink wants notifications of this kind.
    fn accepts(&self, kind: NotificationKind) -> bool {
        kind != NotificationKind::Refresh
    }
    /// Delivers one notification (one attempt).
    async fn send(&self, n: &Notification) -> crate::Result<()>;
}

/// Scheme and host of a URL, for messages that must not show a secret path.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = host.rsplit('@').next().unwrap_or(host);
            let more = rest.len() > host.len();
            format!("{scheme}://{host}{}", if more { "/…" } else { "" })
        }
        None => "(invalid url)".into(),
    }
}

pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests;
