//! The rules as a state machine: every rule fires once, dedupes, repeats on
//! schedule and resolves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;
use wemixvisor_core::{HealthEntry, PendingUpgrade, StatusReport};
use wemixvisor_supervisor::Event;

use super::rules::{RuleKind, RuleState, NODE_STABLE, RULES};
use super::{redact_url, AlertSettings, Notification, NotificationKind};

const HOUR: Duration = Duration::from_secs(3600);

fn settings() -> AlertSettings {
    AlertSettings {
        repeat_interval: HOUR,
        upgrade_imminent_blocks: 100,
        instance: "test-host".into(),
        ..AlertSettings::default()
    }
}

/// What sets a rule off, and what ends it.
enum Input {
    Ev(Event),
    St(Box<StatusReport>),
}

fn health(name: &str, ok: bool) -> StatusReport {
    let mut st = StatusReport::default();
    st.health.push(HealthEntry {
        name: name.into(),
        ok,
        detail: if ok { "fine".into() } else { "bad".into() },
        ..HealthEntry::default()
    });
    st
}

fn pending(blocks: Option<u64>) -> StatusReport {
    let mut st = StatusReport::default();
    st.upgrade.pending = blocks.map(|b| PendingUpgrade {
        name: "v2".into(),
        height: 1000,
        blocks_to_go: Some(b),
        eta_secs: Some(b),
    });
    st
}

fn consensus(own_sealed: u64, validators: usize, active: u64) -> StatusReport {
    let mut st = StatusReport::default();
    let vals: Vec<String> = (0..validators).map(|i| format!("0x{i:040x}")).collect();
    st.governance = Some(json!({
        "consensus": {
            "istanbul_available": true,
            "is_validator": true,
            "window_blocks": 64,
            "own_sealed": own_sealed,
            "validators": vals,
            "active_validators": active,
        }
    }));
    st
}

fn proposal(state: &str) -> StatusReport {
    StatusReport {
        governance: Some(json!({
        "governance": {"proposals": [{"id": 7, "state": state, "kind": "ncp_add", "accepts": 1, "rejects": 0}]}
        })),
        ..StatusReport::default()
    }
}

fn running_for(secs: u64) -> StatusReport {
    let mut st = StatusReport::default();
    st.node.state = "running".into();
    st.node.uptime_secs = Some(secs);
    st
}

/// For each rule: the input that fires it and the one that resolves it
/// (none for notices).
fn scenario(rule: &str) -> (Input, Option<Input>) {
    use Input::{Ev, St};
    let exited = Event::NodeExited {
        code: Some(2),
        signal: None,
        requested: false,
        description: "exit code 2".into(),
    };
    match rule {
        "node_down" => (
            Ev(exited),
            Some(St(Box::new(running_for(NODE_STABLE.as_secs())))),
        ),
        "node_gave_up" => (
            Ev(Event::NodeGaveUp {
                crashes: 5,
                window_secs: 600,
                last_exit: "exit code 2".into(),
            }),
            Some(Ev(Event::NodeStarted {
                pid: 9,
                binary: "genesis".into(),
            })),
        ),
        "upgrade_scheduled" => (
            Ev(Event::UpgradeScheduled {
                name: "v2".into(),
                height: 1000,
                source: "cli".into(),
            }),
            Some(Ev(Event::UpgradeCancelled { name: "v2".into() })),
        ),
        "upgrade_imminent" => (
            St(Box::new(pending(Some(50)))),
            Some(St(Box::new(pending(None)))),
        ),
        "upgrade_blocked" => (
            Ev(Event::UpgradeBlocked {
                name: "v2".into(),
                reason: "no binary".into(),
                fix: "add it".into(),
            }),
            Some(Ev(Event::UpgradePrepared { name: "v2".into() })),
        ),
        "upgrade_applied" => (
            Ev(Event::UpgradeApplied {
                name: "v2".into(),
                height: 1000,
            }),
            None,
        ),
        "upgrade_failed" => (
            Ev(Event::UpgradeFailed {
                name: "v2".into(),
                error: "boom".into(),
            }),
            None,
        ),
        "upgrade_rolled_back" => (
            Ev(Event::UpgradeRolledBack {
                name: "v2".into(),
                reason: "crashed".into(),
            }),
            None,
        ),
        "head_stalled" => (
            St(Box::new(health("head", false))),
            Some(St(Box::new(health("head", true)))),
        ),
        "peers_low" => (
            Ev(Event::HealthChanged {
                check: "peers".into(),
                ok: false,
                detail: "0 peers".into(),
            }),
            Some(Ev(Event::HealthChanged {
                check: "peers".into(),
                ok: true,
                detail: "3 peers".into(),
            })),
        ),
        "disk_low" => (
            St(Box::new(health("disk", false))),
            Some(St(Box::new(health("disk", true)))),
        ),
        "backup_failed" => (
            Ev(Event::BackupFailed {
                error: "disk full".into(),
            }),
            Some(Ev(Event::BackupTaken {
                id: "b1".into(),
                kind: "manual".into(),
                bytes: 1,
                duration_secs: 0.1,
            })),
        ),
        "validator_not_sealing" => (
            St(Box::new(consensus(0, 7, 7))),
            Some(St(Box::new(consensus(5, 7, 7)))),
        ),
        "quorum_at_risk" => (
            St(Box::new(consensus(5, 7, 5))),
            Some(St(Box::new(consensus(5, 7, 6)))),
        ),
        "govncp_proposal" => (
            St(Box::new(proposal("voting"))),
            Some(St(Box::new(proposal("accepted")))),
        ),
        other => panic!("rule {other} has no scenario"),
    }
}

fn apply(r: &mut RuleState, i: &Input, now: Instant) -> Vec<Notification> {
    match i {
        Input::Ev(e) => r.on_event(e, now),
        Input::St(s) => r.on_status(s, now),
    }
}

fn of_rule<'a>(ns: &'a [Notification], rule: &str) -> Vec<&'a Notification> {
    ns.iter().filter(|n| n.alert.rule == rule).collect()
}

#[test]
fn every_rule_fires_once_dedupes_and_resolves() {
    for spec in RULES {
        let (fire, resolve) = scenario(spec.name);
        let mut r = RuleState::new(settings());
        let t = Instant::now();
        let first = apply(&mut r, &fire, t);
        let fired = of_rule(&first, spec.name);
        assert_eq!(fired.len(), 1, "{}: {first:?}", spec.name);
        assert_eq!(fired[0].kind, NotificationKind::Firing, "{}", spec.name);
        assert_eq!(fired[0].alert.severity, spec.severity, "{}", spec.name);
        assert_eq!(fired[0].instance, "test-host");
        assert!(!fired[0].message.is_empty());
        match (spec.kind, resolve) {
            (RuleKind::Condition, Some(resolve)) => {
                assert!(!fired[0].notice);
                assert_eq!(r.active().len(), 1, "{}", spec.name);
                let again = apply(&mut r, &fire, t);
                assert!(
                    of_rule(&again, spec.name).is_empty(),
                    "{} fired twice: {again:?}",
                    spec.name
                );
                let end = apply(&mut r, &resolve, t);
                let resolved = of_rule(&end, spec.name);
                assert_eq!(resolved.len(), 1, "{}: {end:?}", spec.name);
                assert_eq!(resolved[0].kind, NotificationKind::Resolved);
                assert_ne!(resolved[0].message, fired[0].message, "{}", spec.name);
                assert!(r.active().is_empty(), "{} still active", spec.name);
                let after = apply(&mut r, &resolve, t);
                assert!(
                    of_rule(&after, spec.name).is_empty(),
                    "{} resolved twice",
                    spec.name
                );
            }
            (RuleKind::Notice, None) => {
                assert!(fired[0].notice);
                assert!(r.active().is_empty(), "{} notice stays active", spec.name);
            }
            (k, _) => panic!("{}: kind {k:?} does not match its scenario", spec.name),
        }
    }
}

#[test]
fn conditions_repeat_on_schedule_and_info_rules_never() {
    let mut r = RuleState::new(settings());
    let t0 = Instant::now();
    let (gave_up, _) = scenario("node_gave_up");
    let (scheduled, _) = scenario("upgrade_scheduled");
    apply(&mut r, &gave_up, t0);
    apply(&mut r, &scheduled, t0);
    assert!(r.due(t0 + HOUR - Duration::from_secs(1)).is_empty());
    let rep = r.due(t0 + HOUR);
    assert_eq!(rep.len(), 1, "{rep:?}");
    assert_eq!(rep[0].kind, NotificationKind::Repeat);
    assert_eq!(rep[0].alert.rule, "node_gave_up");
    assert!(r.due(t0 + HOUR + Duration::from_secs(1)).is_empty());
    assert_eq!(r.due(t0 + 2 * HOUR).len(), 1);
    // refreshes carry every firing alert, info ones included
    assert_eq!(r.refresh().len(), 2);
}

#[test]
fn node_down_waits_for_a_stable_run() {
    let mut r = RuleState::new(settings());
    let t = Instant::now();
    let (exit, _) = scenario("node_down");
    apply(&mut r, &exit, t);
    assert!(r.on_status(&running_for(5), t).is_empty());
    assert_eq!(r.active().len(), 1);
    let n = r.on_status(&running_for(NODE_STABLE.as_secs()), t);
    assert_eq!(n.len(), 1);
}

#[test]
fn imminent_only_within_the_threshold_and_resolves_when_applied() {
    let mut r = RuleState::new(settings());
    let t = Instant::now();
    assert!(r.on_status(&pending(Some(101)), t).is_empty());
    assert_eq!(r.on_status(&pending(Some(100)), t).len(), 1);
    assert!(r.on_status(&pending(Some(10)), t).is_empty(), "deduped");
    let n = r.on_event(
        &Event::UpgradeApplied {
            name: "v2".into(),
            height: 1000,
        },
        t,
    );
    let kinds: Vec<_> = n.iter().map(|n| (n.alert.rule.as_str(), n.kind)).collect();
    assert!(
        kinds.contains(&("upgrade_imminent", NotificationKind::Resolved)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("upgrade_applied", NotificationKind::Firing)),
        "{kinds:?}"
    );
}

#[test]
fn quorum_and_sealing_need_a_window_and_istanbul() {
    let mut r = RuleState::new(settings());
    let t = Instant::now();
    let mut st = consensus(0, 4, 0);
    st.governance.as_mut().unwrap()["consensus"]["window_blocks"] = json!(0);
    assert!(r.on_status(&st, t).is_empty());
    st.governance.as_mut().unwrap()["consensus"]["window_blocks"] = json!(64);
    st.governance.as_mut().unwrap()["consensus"]["istanbul_available"] = json!(false);
    assert!(r.on_status(&st, t).is_empty());
    // 4 validators, quorum 3: all four active is safe, three is at risk
    assert!(r.on_status(&consensus(3, 4, 4), t).is_empty());
    assert_eq!(
        of_rule(&r.on_status(&consensus(3, 4, 3), t), "quorum_at_risk").len(),
        1
    );
}

#[test]
fn active_alerts_are_listed_most_severe_first() {
    let mut r = RuleState::new(settings());
    let t = Instant::now();
    for rule in ["upgrade_scheduled", "peers_low", "node_gave_up"] {
        apply(&mut r, &scenario(rule).0, t);
    }
    let rules: Vec<String> = r.active().into_iter().map(|a| a.rule).collect();
    assert_eq!(rules, ["node_gave_up", "peers_low", "upgrade_scheduled"]);
}

#[test]
fn redact_keeps_scheme_and_host_only() {
    assert_eq!(
        redact_url("https://hooks.slack.com/services/T0/B0/secret"),
        "https://hooks.slack.com/…"
    );
    assert_eq!(redact_url("http://127.0.0.1:9093"), "http://127.0.0.1:9093");
    assert_eq!(redact_url("http://u:p@h:1/x"), "http://h:1/…");
    assert_eq!(redact_url("nope"), "(invalid url)");
}

#[test]
fn node_down_resolves_on_the_clock_when_no_status_comes() {
    let mut r = RuleState::new(settings());
    let t = Instant::now();
    apply(&mut r, &scenario("node_down").0, t);
    r.on_event(
        &Event::NodeStarted {
            pid: 3,
            binary: "genesis".into(),
        },
        t,
    );
    assert!(r.due(t + NODE_STABLE - Duration::from_secs(1)).is_empty());
    let n = r.due(t + NODE_STABLE);
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(
        (n[0].alert.rule.as_str(), n[0].kind),
        ("node_down", NotificationKind::Resolved)
    );
}
