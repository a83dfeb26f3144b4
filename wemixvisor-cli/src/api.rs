//! The control socket `state/wemixvisor.sock` (a Unix socket, mode 0600):
//! a thin adapter from the HTTP routes to [`SupervisorHandle`] calls (the
//! server side a running supervisor serves), and every client call the
//! commands make (the one place the CLI talks to a supervisor).
//!
//! Routes (the same paths and bodies as the HTTP API):
//! `GET /healthz`, `GET /api/v1/status`, `POST /api/v1/start`,
//! `POST /api/v1/stop {"force"}`, `POST /api/v1/restart {"force"}`,
//! `POST /api/v1/config/reload`, `POST /api/v1/upgrades` (one plan or a
//! list), `POST /api/v1/upgrades/{name}/cancel`,
//! `POST /api/v1/upgrades/rollback {"restore_data","force"}`,
//! `POST /api/v1/backups {"name"}`. Success is 200 `{"message"}`, an error
//! `{"error","hint"}` with 400, 409, 503 or 500.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::Context as _;
use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{json, Value};
use wemixvisor_core::{Home, StatusReport, UpgradePlan};
use wemixvisor_supervisor::{Actor, ControlError, ControlResult, SupervisorHandle};

use crate::exit::Hinted;

/// The caller's uid, from the socket's peer credentials.
#[derive(Debug, Clone, Copy)]
struct PeerUid(u32);

impl
    axum::extract::connect_info::Connected<
        axum::serve::IncomingStream<'_, tokio::net::UnixListener>,
    > for PeerUid
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::UnixListener>) -> Self {
        PeerUid(
            stream
                .io()
                .peer_cred()
                .map(|c| c.uid())
                .unwrap_or_else(|_| nix::unistd::getuid().as_raw()),
        )
    }
}

type Reply = (StatusCode, Json<Value>);

fn reply(r: ControlResult) -> Reply {
    match r {
        Ok(message) => (StatusCode::OK, Json(json!({ "message": message }))),
        Err(e) => {
            let code = if e.bad_request {
                StatusCode::BAD_REQUEST
            } else if e.message.contains("not running any more") {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::CONFLICT
            };
            (code, Json(json!({ "error": e.message, "hint": e.hint })))
        }
    }
}

fn actor(uid: PeerUid) -> Actor {
    Actor::Cli { uid: uid.0 }
}

#[derive(Deserialize, Default)]
struct ForceBody {
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize, Default)]
struct RollbackBody {
    #[serde(default)]
    restore_data: bool,
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize, Default)]
struct BackupBody {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct PlanBody {
    name: String,
    height: u64,
    #[serde(default)]
    info: Option<Value>,
    #[serde(default)]
    replace: bool,
}

impl PlanBody {
    fn into_plan(self) -> Result<(UpgradePlan, bool), ControlError> {
        let mut doc = json!({ "name": self.name, "height": self.height });
        if let Some(i) = self.info {
            doc["info"] = i;
        }
        let info = wemixvisor_core::UpgradeInfo::parse(doc.to_string().as_bytes())
            .map_err(|e| ControlError::new(e.to_string()).bad_request())?;
        Ok((UpgradePlan::from_info(info, "cli"), self.replace))
    }
}

/// Parses an optional JSON body (an empty body is the default).
fn body<T: for<'de> Deserialize<'de> + Default>(b: &Bytes) -> Result<T, Reply> {
    if b.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(b).map_err(|e| {
        reply(Err(
            ControlError::new(format!("bad request body: {e}")).bad_request()
        ))
    })
}

async fn healthz(State(h): State<SupervisorHandle>) -> (StatusCode, &'static str) {
    if h.status().node.state == "running" {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "node not running\n")
    }
}

async fn status(State(h): State<SupervisorHandle>) -> Json<StatusReport> {
    Json(h.status())
}

async fn start(State(h): State<SupervisorHandle>, ConnectInfo(u): ConnectInfo<PeerUid>) -> Reply {
    reply(h.start_node(actor(u)).await)
}

async fn stop(
    State(h): State<SupervisorHandle>,
    ConnectInfo(u): ConnectInfo<PeerUid>,
    b: Bytes,
) -> Reply {
    match body::<ForceBody>(&b) {
        Ok(f) => reply(h.stop(f.force, actor(u)).await),
        Err(r) => r,
    }
}

async fn restart(
    State(h): State<SupervisorHandle>,
    ConnectInfo(u): ConnectInfo<PeerUid>,
    b: Bytes,
) -> Reply {
    match body::<ForceBody>(&b) {
        Ok(f) => reply(h.restart(f.force, actor(u)).await),
        Err(r) => r,
    }
}

async fn reload(State(h): State<SupervisorHandle>, ConnectInfo(u): ConnectInfo<PeerUid>) -> Reply {
    reply(h.reload(actor(u)).await)
}

async fn upgrades(
    State(h): State<SupervisorHandle>,
    ConnectInfo(u): ConnectInfo<PeerUid>,
    b: Bytes,
) -> Reply {
    let v: Value = match serde_json::from_slice(&b) {
        Ok(v) => v,
        Err(e) => {
            return reply(Err(
                ControlError::new(format!("bad request body: {e}")).bad_request()
            ))
        }
    };
    let parse = |v: Value| {
        serde_json::from_value::<PlanBody>(v)
            .map_err(|e| ControlError::new(format!("bad plan: {e}")).bad_request())
            .and_then(PlanBody::into_plan)
    };
    match v {
        Value::Array(items) => {
            let plans: Result<Vec<_>, _> = items.into_iter().map(parse).collect();
            match plans {
                Ok(p) => reply(
                    h.upgrade_plan(p.into_iter().map(|(p, _)| p).collect(), actor(u))
                        .await,
                ),
                Err(e) => reply(Err(e)),
            }
        }
        other => match parse(other) {
            Ok((plan, replace)) => reply(h.upgrade_add(plan, replace, actor(u)).await),
            Err(e) => reply(Err(e)),
        },
    }
}

async fn cancel(
    State(h): State<SupervisorHandle>,
    ConnectInfo(u): ConnectInfo<PeerUid>,
    UrlPath(name): UrlPath<String>,
) -> Reply {
    reply(h.upgrade_cancel(name, actor(u)).await)
}

async fn rollback(
    State(h): State<SupervisorHandle>,
    ConnectInfo(u): ConnectInfo<PeerUid>,
    b: Bytes,
) -> Reply {
    match body::<RollbackBody>(&b) {
        Ok(r) => reply(h.rollback(r.restore_data, r.force, actor(u)).await),
        Err(r) => r,
    }
}

async fn backup(
    State(h): State<SupervisorHandle>,
    ConnectInfo(u): ConnectInfo<PeerUid>,
    b: Bytes,
) -> Reply {
    match body::<BackupBody>(&b) {
        Ok(r) => reply(h.backup_create(r.name, actor(u)).await),
        Err(r) => r,
    }
}

/// Binds the socket (replacing a stale one: the caller holds the home
/// lock, so no live supervisor owns it) and serves the routes.
pub fn serve(
    socket: &Path,
    handle: SupervisorHandle,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let _ = std::fs::remove_file(socket);
    let listener = tokio::net::UnixListener::bind(socket)
        .with_context(|| format!("cannot listen on '{}'", socket.display()))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict '{}' to mode 0600", socket.display()))?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/status", get(status))
        .route("/api/v1/start", post(start))
        .route("/api/v1/stop", post(stop))
        .route("/api/v1/restart", post(restart))
        .route("/api/v1/config/reload", post(reload))
        .route("/api/v1/upgrades", post(upgrades))
        .route("/api/v1/upgrades/rollback", post(rollback))
        .route("/api/v1/upgrades/{name}/cancel", post(cancel))
        .route("/api/v1/backups", post(backup))
        .with_state(handle);
    Ok(tokio::spawn(async move {
        let svc = app.into_make_service_with_connect_info::<PeerUid>();
        if let Err(e) = axum::serve(listener, svc).await {
            tracing::error!(error = %e, "control socket server stopped");
        }
    }))
}

// ----- client --------------------------------------------------------------

/// One request to the supervisor over its socket. `Ok(None)` when no
/// supervisor listens there (no socket, or nobody accepting).
pub async fn request(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Option<(u16, String)>> {
    let stream = match tokio::net::UnixStream::connect(socket).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot connect to '{}'", socket.display()))
        }
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("cannot talk HTTP to the supervisor")?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "wemixvisor")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(bytes)))
        .context("cannot build the request")?;
    let resp = sender
        .send_request(req)
        .await
        .context("the supervisor did not answer")?;
    let code = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .context("the supervisor's answer was cut off")?
        .to_bytes();
    Ok(Some((code, String::from_utf8_lossy(&body).into_owned())))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// [`request`] from synchronous code.
pub fn request_blocking(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Option<(u16, String)>> {
    runtime()?.block_on(request(socket, method, path, body))
}

/// Sends a command to the running supervisor of `home` and returns its
/// one-line answer; its refusal becomes an error with the hint (exit 2 for
/// a bad request).
pub fn command(home: &Home, path: &str, body: Option<Value>) -> anyhow::Result<String> {
    match request_blocking(&home.socket_file(), "POST", path, body.as_ref())? {
        Some((200, text)) => Ok(serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(String::from))
            .unwrap_or_else(|| text.trim().to_string())),
        Some((code, text)) => {
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let msg = v["error"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("the supervisor answered {code}: {}", text.trim()));
            let hint = v["hint"].as_str().map(String::from);
            let mut e = Hinted::new(msg, hint);
            e.bad_input = code == 400;
            Err(anyhow::Error::new(e))
        }
        None => Err(anyhow::Error::new(Hinted::new(
            format!(
                "a supervisor runs on '{}' but does not answer on its socket",
                home.root().display()
            ),
            Some("wait a moment and retry; `wemixvisor status` shows its state".into()),
        ))),
    }
}

/// The status from the running supervisor, `None` when none answers.
pub fn fetch_status(home: &Home) -> anyhow::Result<Option<StatusReport>> {
    match request_blocking(&home.socket_file(), "GET", "/api/v1/status", None)? {
        Some((200, body)) => Ok(Some(
            serde_json::from_str(&body)
                .context("the supervisor sent a status this version cannot read")?,
        )),
        Some((code, body)) => Err(anyhow::anyhow!(
            "the supervisor answered {code}: {}",
            body.trim()
        )),
        None => Ok(None),
    }
}
