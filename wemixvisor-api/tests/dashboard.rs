//! The Grafana dashboard and the Prometheus alerting rules query only
//! metrics that a live `/metrics` output has.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{json, Value};
use wemixvisor_api::Metrics;
use wemixvisor_core::{HealthEntry, PendingUpgrade, StatusReport};
use wemixvisor_supervisor::Event;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// Every `wemixvisor_*` name in a query.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("wemixvisor_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        out.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    out
}

/// Every `expr` (and templating query) in the dashboard.
fn exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr" | "definition", Value::String(s)) => out.push(s.clone()),
                    _ => exprs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

/// A registry with every family populated, as a running daemon has it.
fn live_metrics() -> BTreeSet<String> {
    let m = Metrics::new();
    m.api_request("/api/v1/status", "GET", 200);
    m.alert_sent("webhook", true);
    m.alert_sent("alertmanager", false);
    m.alert_dropped();
    m.set_alerts_firing(1);
    m.observe(&Event::BackupTaken {
        id: "b1".into(),
        kind: "auto".into(),
        bytes: 10,
        duration_secs: 1.5,
    });
    let mut st = StatusReport::default();
    st.supervisor.state = "running".into();
    st.node.state = "running".into();
    st.chain.head = Some(100);
    for check in ["rpc", "head", "peers", "syncing", "disk"] {
        st.health.push(HealthEntry {
            name: check.into(),
            ok: true,
            ..HealthEntry::default()
        });
    }
    st.upgrade.pending = Some(PendingUpgrade {
        name: "v2".into(),
        height: 200,
        blocks_to_go: Some(100),
        eta_secs: Some(100),
    });
    st.governance = Some(json!({
        "consensus": {"is_validator": true, "own_sealed": 3, "window_blocks": 64,
            "round_changes": [], "validators": ["0x1"], "active_validators": 1,
            "quorum": {"quorum": 1, "safe": false}},
        "governance": {"proposals": [{"id": 1, "state": "voting"}]}
    }));
    let text = m.render(&st);
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_metric_the_dashboard_queries_exists() {
    let text = std::fs::read_to_string(repo("deploy/grafana/wemixvisor.json")).unwrap();
    let dash: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let live = live_metrics();
    let mut all = Vec::new();
    exprs(&dash, &mut all);
    assert!(all.len() > 20, "{all:?}");
    let mut queried = BTreeSet::new();
    for e in &all {
        for name in metric_names(e) {
            assert!(
                live.contains(&name),
                "the dashboard queries {name}, which /metrics does not have (in `{e}`)\nlive: {live:?}"
            );
            queried.insert(name);
        }
    }
    // each area of the dashboard is there
    for must in [
        "wemixvisor_node_state",
        "wemixvisor_supervisor_state",
        "wemixvisor_chain_head_block",
        "wemixvisor_chain_head_age_seconds",
        "wemixvisor_chain_peers",
        "wemixvisor_node_restarts_total",
        "wemixvisor_upgrades_total",
        "wemixvisor_backups_total",
        "wemixvisor_health_check_ok",
        "wemixvisor_consensus_sealed_blocks",
        "wemixvisor_consensus_round_changes",
        "wemixvisor_consensus_quorum",
        "wemixvisor_governance_proposals",
    ] {
        assert!(queried.contains(must), "no panel shows {must}");
    }
    // panels: unique ids, every query panel has a non-empty query
    let panels = dash["panels"].as_array().unwrap();
    let ids: BTreeSet<i64> = panels.iter().filter_map(|p| p["id"].as_i64()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    for p in panels.iter().filter(|p| p["type"] != "row") {
        let targets = p["targets"].as_array().expect("targets");
        assert!(
            !targets.is_empty()
                && targets
                    .iter()
                    .all(|t| t["expr"].as_str().is_some_and(|e| !e.is_empty())),
            "panel {} has an empty query",
            p["title"]
        );
    }
    // upgrade timeline annotations come from the upgrade counter
    let anns = dash["annotations"]["list"].as_array().unwrap();
    assert!(anns.iter().any(|a| a["expr"]
        .as_str()
        .is_some_and(|e| e.contains("wemixvisor_upgrades_total"))));
}

#[test]
fn every_metric_the_prometheus_rules_use_exists() {
    let text = std::fs::read_to_string(repo("deploy/prometheus/alerts.yml")).unwrap();
    let live = live_metrics();
    let mut n = 0;
    for line in text.lines().filter(|l| l.trim_start().starts_with("expr:")) {
        for name in metric_names(line) {
            assert!(
                live.contains(&name),
                "alerts.yml uses {name}, which /metrics does not have"
            );
            n += 1;
        }
    }
    assert!(n > 10, "{n} metric references");
}
