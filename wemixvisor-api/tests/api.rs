//! The API against a fake supervisor loop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, watch};
use wemixvisor_api::client::UnixClient;
use wemixvisor_api::{serve_tcp, serve_unix, ApiContext, Backend, Metrics, TcpOptions};
use wemixvisor_core::{Home, StatusReport};
use wemixvisor_supervisor::{
    Actor, Command, ControlError, ControlResult, Event, EventRecord, SupervisorHandle,
};

struct FakeBackend;

impl Backend for FakeBackend {
    fn config(&self) -> Result<Value, ControlError> {
        Ok(json!({"api": {"enabled_tcp": false}}))
    }
    fn config_set(&self, key: &str, _value: &str) -> ControlResult {
        if key == "bad" {
            return Err(ControlError::new("unknown key 'bad'").bad_request());
        }
        Ok(format!("set {key}"))
    }
    fn upgrades(&self) -> Result<Value, ControlError> {
        Ok(json!([]))
    }
    fn upgrades_current(&self) -> Result<Value, ControlError> {
        Ok(json!({"current": "genesis"}))
    }
    fn backups(&self) -> Result<Value, ControlError> {
        Ok(json!([]))
    }
    fn backup_verify(&self, id: &str) -> ControlResult {
        Ok(format!("{id} ok"))
    }
    fn backup_restore(&self, id: &str) -> ControlResult {
        Ok(format!("{id} restored"))
    }
}

/// A fake loop: answers commands with the actor, publishes one event each.
fn fake_loop() -> (SupervisorHandle, tokio::task::JoinHandle<Vec<Actor>>) {
    let (ctx, mut crx) = mpsc::channel::<Command>(8);
    let (etx, _) = broadcast::channel::<EventRecord>(64);
    let mut report = StatusReport::default();
    report.node.state = "running".into();
    report.supervisor.state = "running".into();
    report.chain.head = Some(42);
    let (_stx, srx) = watch::channel(report);
    let handle = SupervisorHandle::new(ctx, etx.clone(), srx);
    let task = tokio::spawn(async move {
        let _keep = _stx;
        let mut actors = Vec::new();
        let mut seq = 0;
        while let Some(cmd) = crx.recv().await {
            let (verb, actor, reply) = match cmd {
                Command::Restart { actor, reply, .. } => ("restart", actor, reply),
                Command::Stop { actor, reply, .. } => ("stop", actor, reply),
                Command::Reload { actor, reply } => ("reload", actor, reply),
                Command::UpgradeAdd { plan, reply, .. }
                    if plan.info != wemixvisor_core::InfoSource::None =>
                {
                    // echoes what the server made of the plan's `info`
                    let _ = reply.send(Ok(format!("{:?}", plan.info)));
                    continue;
                }
                Command::UpgradeAdd { actor, reply, .. } => ("upgrade-add", actor, reply),
                Command::UpgradeCancel { actor, reply, .. } => {
                    let _ = reply.send(Err(
                        ControlError::new("no such plan").with_hint("see upgrades")
                    ));
                    actors.push(actor);
                    continue;
                }
                other => {
                    drop(other);
                    continue;
                }
            };
            seq += 1;
            let _ = etx.send(EventRecord::now(
                seq,
                Event::ControlReceived {
                    verb: verb.into(),
                    actor: actor.clone(),
                },
            ));
            actors.push(actor);
            let _ = reply.send(Ok(format!("{verb} done")));
        }
        actors
    });
    (handle, task)
}

fn context(handle: &SupervisorHandle, home: &std::path::Path) -> ApiContext {
    let metrics = Metrics::new();
    metrics.spawn_consumer(handle);
    ApiContext {
        handle: handle.clone(),
        home: Home::new(home),
        backend: Arc::new(FakeBackend),
        metrics,
        alerts: None,
    }
}

#[tokio::test]
async fn socket_routes_name_the_caller_and_map_errors() {
    let d = tempfile::tempdir().unwrap();
    let (handle, task) = fake_loop();
    let sock = d.path().join("api.sock");
    let guard = serve_unix(&sock, context(&handle, d.path())).unwrap();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&sock).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let c = UnixClient::new(&sock);

    let st = c.get_json("/api/v1/status").await.unwrap();
    assert_eq!(st["chain"]["head"], 42);
    let r = c
        .post_json("/api/v1/restart", &json!({"force": true}))
        .await
        .unwrap();
    assert_eq!(r["message"], "restart done");
    let r = c
        .post_json("/api/v1/upgrades", &json!({"name": "v2", "height": 100}))
        .await
        .unwrap();
    assert_eq!(r["message"], "upgrade-add done");
    // `info` in the cosmovisor form an operator writes (the control socket
    // takes the same body): an object stays that object, a URL a URL
    let r = c
        .post_json(
            "/api/v1/upgrades",
            &json!({"name": "v3", "height": 200, "info": {"daemon_name": "geth"}}),
        )
        .await
        .unwrap();
    assert_eq!(
        r["message"],
        r#"Inline(Object {"daemon_name": String("geth")})"#
    );
    let r = c
        .post_json(
            "/api/v1/upgrades",
            &json!({"name": "v4", "height": 300, "info": "https://example.org/v4.json"}),
        )
        .await
        .unwrap();
    assert_eq!(r["message"], r#"Url("https://example.org/v4.json")"#);
    match c.post_json("/api/v1/upgrades/v9/cancel", &json!({})).await {
        Err(wemixvisor_api::ApiError::Remote {
            status,
            message,
            hint,
        }) => {
            assert_eq!(
                (status, message.as_str(), hint.as_deref()),
                (409, "no such plan", Some("see upgrades"))
            );
        }
        other => panic!("expected a 409, got {other:?}"),
    }
    match c
        .put_json("/api/v1/config", &json!({"key": "bad", "value": "1"}))
        .await
    {
        Err(wemixvisor_api::ApiError::Remote { status, .. }) => assert_eq!(status, 400),
        other => panic!("expected a 400, got {other:?}"),
    }
    match c.post_json("/api/v1/stop", &json!({"forse": true})).await {
        Err(wemixvisor_api::ApiError::Remote { status, .. }) => assert_eq!(status, 400),
        other => panic!("expected a 400, got {other:?}"),
    }
    match c.post_json("/api/v1/backups/b1/restore", &json!({})).await {
        Err(wemixvisor_api::ApiError::Remote { status, .. }) => assert_eq!(status, 409),
        other => panic!("expected a 409 while running, got {other:?}"),
    }
    let metrics = c.request_json("GET", "/metrics", None).await.unwrap();
    let text = metrics.as_str().unwrap_or_default().to_owned();
    assert!(text.contains("wemixvisor_chain_head_block 42"), "{text}");
    assert!(text.contains("wemixvisor_api_requests_total{"), "{text}");

    drop(c);
    guard.shutdown().await;
    assert!(!sock.exists());
    drop(handle);
    let actors = task.await.unwrap();
    let uid = nix_uid();
    assert!(
        actors.iter().all(|a| *a == Actor::Cli { uid }),
        "{actors:?}"
    );
    assert_eq!(actors.len(), 3);

    // every mutating call is one audit line with the caller and the result
    let audit = wemixvisor_core::audit::read(&Home::new(d.path()).audit_log_file(), None).unwrap();
    let got: Vec<(String, &str, &str)> = audit
        .entries
        .iter()
        .map(|e| (e.actor.clone(), e.action.as_str(), e.result.as_str()))
        .collect();
    let who = format!("uid:{uid}");
    assert!(
        got.contains(&(who.clone(), "node.restart", "ok")),
        "{got:?}"
    );
    assert!(got.contains(&(who.clone(), "upgrade.add", "ok")), "{got:?}");
    assert!(
        got.contains(&(who.clone(), "upgrade.cancel", "error: no such plan")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|(a, act, r)| *a == who && *act == "backup.restore" && r.starts_with("error:")),
        "{got:?}"
    );
    assert_eq!(audit.entries[0].parameters["force"], true);
}

fn nix_uid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0)
}

async fn tcp_get(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, out)
}

#[tokio::test]
async fn tcp_requires_the_token_except_on_healthz() {
    let d = tempfile::tempdir().unwrap();
    let (handle, _task) = fake_loop();
    let token = "s3cret-token".to_owned();
    let opts = TcpOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        token: Some(token.clone()),
        metrics_public: false,
    };
    let guard = serve_tcp(opts, context(&handle, d.path())).await.unwrap();
    let addr = guard.local_addr().unwrap();
    assert_eq!(tcp_get(addr, "/healthz", None).await.0, 200);
    let (code, body) = tcp_get(addr, "/api/v1/status", None).await;
    assert_eq!(code, 401);
    assert!(body.contains("\"hint\""), "{body}");
    assert_eq!(tcp_get(addr, "/api/v1/status", Some("wrong")).await.0, 401);
    assert_eq!(tcp_get(addr, "/metrics", None).await.0, 401);
    assert_eq!(tcp_get(addr, "/api/v1/status", Some(&token)).await.0, 200);
    assert_eq!(tcp_get(addr, "/nope", Some(&token)).await.0, 404);
    guard.shutdown().await;

    // api.metrics_public: /metrics without the token, nothing else
    let public = serve_tcp(
        TcpOptions {
            bind: "127.0.0.1:0".parse().unwrap(),
            token: Some(token.clone()),
            metrics_public: true,
        },
        context(&handle, d.path()),
    )
    .await
    .unwrap();
    let addr = public.local_addr().unwrap();
    assert_eq!(tcp_get(addr, "/metrics", None).await.0, 200);
    assert_eq!(tcp_get(addr, "/api/v1/status", None).await.0, 401);
    public.shutdown().await;

    let refused = serve_tcp(
        TcpOptions {
            bind: "0.0.0.0:0".parse().unwrap(),
            token: None,
            metrics_public: false,
        },
        context(&handle, d.path()),
    )
    .await;
    assert!(matches!(
        refused,
        Err(wemixvisor_api::ApiError::TokenRequired { .. })
    ));
}

#[tokio::test]
async fn metrics_pass_promtool_when_installed() {
    let Ok(out) = std::process::Command::new("promtool")
        .arg("--version")
        .output()
    else {
        let required = std::env::var("CI").as_deref() == Ok("true")
            || std::env::var("WEMIXVISOR_REQUIRE_E2E").as_deref() == Ok("1");
        assert!(
            !required,
            "promtool is required (install Debian `prometheus`)"
        );
        eprintln!("skipped: promtool is not installed (Debian package `prometheus`)");
        return;
    };
    assert!(out.status.success());
    let m = Metrics::new();
    m.observe(&Event::BackupTaken {
        id: "a".into(),
        kind: "manual".into(),
        bytes: 10,
        duration_secs: 1.5,
    });
    m.api_request("/api/v1/status", "GET", 200);
    m.alert_sent("webhook", true);
    let mut st = StatusReport::default();
    st.node.state = "running".into();
    st.health.push(wemixvisor_core::HealthEntry {
        name: "rpc".into(),
        ok: true,
        ..Default::default()
    });
    let text = m.render(&st);
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("wemixvisor_backup_last_duration_seconds 1.5"),
        "{text}"
    );
}

#[tokio::test]
async fn every_documented_route_is_served_and_nothing_else_is() {
    let d = tempfile::tempdir().unwrap();
    let (handle, _task) = fake_loop();
    let sock = d.path().join("api.sock");
    let guard = serve_unix(&sock, context(&handle, d.path())).unwrap();
    let c = UnixClient::new(&sock);
    for r in wemixvisor_api::openapi::ROUTES {
        let path = r.path.replace("{name}", "v2").replace("{id}", "b1");
        let method = r.method.to_uppercase();
        let status = if method == "GET" {
            // streams (events, logs) answer with their headers first
            match c.stream(&path).await {
                Ok(_) => 200,
                Err(wemixvisor_api::ApiError::Remote { status, .. }) => status,
                Err(e) => panic!("{method} {path}: {e}"),
            }
        } else {
            match c.request_json(&method, &path, Some(&json!({}))).await {
                Ok(_) => 200,
                Err(wemixvisor_api::ApiError::Remote { status, .. }) => status,
                Err(e) => panic!("{method} {path}: {e}"),
            }
        };
        assert!(
            status != 404 && status != 405,
            "{method} {path} is documented but not served ({status})"
        );
    }
    // a route outside the table is not served
    match c.get_json("/api/v1/nope").await {
        Err(wemixvisor_api::ApiError::Remote { status, .. }) => assert_eq!(status, 404),
        other => panic!("expected a 404, got {other:?}"),
    }
    guard.shutdown().await;
}

#[tokio::test]
async fn status_lists_the_alerts_that_fire() {
    use wemixvisor_api::alerts::{AlertEngine, AlertSettings};
    let d = tempfile::tempdir().unwrap();
    let (handle, task) = fake_loop();
    let (etx, erx) = broadcast::channel(16);
    let (_stx, srx) = watch::channel(StatusReport::default());
    let alerts = AlertEngine::new(AlertSettings::default(), vec![]).spawn(erx, srx);
    let mut ctx = context(&handle, d.path());
    ctx.alerts = Some(alerts.clone());
    let sock = d.path().join("api.sock");
    let _guard = serve_unix(&sock, ctx).unwrap();
    let c = UnixClient::new(&sock);
    let st = c.get_json("/api/v1/status").await.unwrap();
    assert!(st["alerts"].as_array().is_none_or(|a| a.is_empty()), "{st}");
    etx.send(EventRecord::now(
        1,
        Event::NodeGaveUp {
            crashes: 5,
            window_secs: 600,
            last_exit: "exit code 2".into(),
        },
    ))
    .unwrap();
    for _ in 0..200 {
        if !alerts.active().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let st = c.get_json("/api/v1/status").await.unwrap();
    assert_eq!(st["alerts"][0]["name"], "node_gave_up", "{st}");
    assert_eq!(st["alerts"][0]["severity"], "critical", "{st}");
    task.abort();
}
