//! The sinks: a generic JSON webhook, a Slack incoming webhook and
//! Alertmanager's `/api/v2/alerts`.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::{redact_url, Notification, NotificationKind, Sink};
use crate::{ApiError, Result};

/// How long Alertmanager keeps a firing alert without a refresh; the engine
/// refreshes well within it ([`super::engine::REFRESH_EVERY`]).
pub const ALERTMANAGER_HOLD: Duration = Duration::from_secs(5 * 60);
/// How long Alertmanager shows a one-shot notice.
pub const NOTICE_HOLD: Duration = Duration::from_secs(3600);

async fn post_json(client: &reqwest::Client, kind: &str, url: &str, body: &Value) -> Result<()> {
    let fail = |message: String| ApiError::Sink {
        sink: format!("{kind} {}", redact_url(url)),
        message,
    };
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        // the URL may be a secret (Slack's is): never in a message
        .map_err(|e| fail(error_chain(&e.without_url())))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let text = resp.text().await.unwrap_or_default();
    let text: String = text.trim().chars().take(200).collect();
    Err(fail(format!("answered HTTP {}: {text}", status.as_u16())))
}

/// The error and its causes on one line (reqwest hides the useful part in
/// the sources).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn status_word(n: &Notification) -> &'static str {
    match n.kind {
        NotificationKind::Resolved => "resolved",
        NotificationKind::Test => "test",
        _ => "firing",
    }
}

/// A generic JSON webhook: each notification is POSTed as
/// `{"status", "kind", "alert": {rule, key, severity, summary, started_at},
/// "message", "notice", "instance", "at"}`.
pub struct WebhookSink {
    client: reqwest::Client,
    url: String,
}

impl WebhookSink {
    /// A webhook at `url`.
    pub fn new(client: reqwest::Client, url: String) -> Self {
        WebhookSink { client, url }
    }

    /// The body sent for `n`.
    pub fn body(n: &Notification) -> Value {
        let mut v = serde_json::to_value(n).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("status".into(), Value::String(status_word(n).into()));
            m.insert("source".into(), Value::String("wemixvisor".into()));
        }
        v
    }
}

#[async_trait::async_trait]
impl Sink for WebhookSink {
    fn kind(&self) -> &'static str {
        "webhook"
    }
    fn target(&self) -> String {
        redact_url(&self.url)
    }
    async fn send(&self, n: &Notification) -> Result<()> {
        post_json(&self.client, self.kind(), &self.url, &Self::body(n)).await
    }
}

/// A Slack incoming webhook: one `{"text"}` message per notification.
pub struct SlackSink {
    client: reqwest::Client,
    url: String,
}

impl SlackSink {
    /// A Slack incoming webhook at `url` (the URL is a secret; it is never shown).
    pub fn new(client: reqwest::Client, url: String) -> Self {
        SlackSink { client, url }
    }

    /// The message text for `n`.
    pub fn text(n: &Notification) -> String {
        let head = match n.kind {
            NotificationKind::Resolved => "RESOLVED".to_string(),
            NotificationKind::Test => "TEST".to_string(),
            NotificationKind::Repeat => format!("STILL FIRING {}", n.alert.severity.as_str()),
            _ => format!("FIRING {}", n.alert.severity.as_str()),
        };
        format!("[{head}] {} on {}: {}", n.alert.rule, n.instance, n.message)
    }
}

#[async_trait::async_trait]
impl Sink for SlackSink {
    fn kind(&self) -> &'static str {
        "slack"
    }
    fn target(&self) -> String {
        redact_url(&self.url)
    }
    async fn send(&self, n: &Notification) -> Result<()> {
        post_json(
            &self.client,
            self.kind(),
            &self.url,
            &json!({ "text": Self::text(n) }),
        )
        .await
    }
}

/// Alertmanager's v2 API: alerts are POSTed with an `endsAt` in the near
/// future and refreshed while they fire; a resolve sets `endsAt` to now.
pub struct AlertmanagerSink {
    client: reqwest::Client,
    url: String,
}

impl AlertmanagerSink {
    /// An Alertmanager at `url`: its base URL (`http://host:9093`) or the
    /// full `/api/v2/alerts` URL.
    pub fn new(client: reqwest::Client, url: String) -> Self {
        let base = url.trim_end_matches('/');
        let url = if base.ends_with("/api/v2/alerts") {
            base.to_owned()
        } else {
            format!("{base}/api/v2/alerts")
        };
        AlertmanagerSink { client, url }
    }

    /// The body (a list of one alert) sent for `n`.
    pub fn body(n: &Notification) -> Value {
        let now = SystemTime::now();
        let ends = match n.kind {
            NotificationKind::Resolved => now,
            _ if n.notice => now + NOTICE_HOLD,
            _ => now + ALERTMANAGER_HOLD,
        };
        let rfc = |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string();
        json!([{
            "labels": {
                "alertname": n.alert.rule,
                "severity": n.alert.severity.as_str(),
                "key": n.alert.key,
                "instance": n.instance,
                "job": "wemixvisor",
            },
            "annotations": {
                "summary": n.alert.summary,
                "description": n.message,
            },
            "startsAt": n.alert.started_at,
            "endsAt": rfc(ends),
        }])
    }
}

#[async_trait::async_trait]
impl Sink for AlertmanagerSink {
    fn kind(&self) -> &'static str {
        "alertmanager"
    }
    fn target(&self) -> String {
        redact_url(&self.url)
    }
    fn accepts(&self, _kind: NotificationKind) -> bool {
        true
    }
    async fn send(&self, n: &Notification) -> Result<()> {
        post_json(&self.client, self.kind(), &self.url, &Self::body(n)).await
    }
}
