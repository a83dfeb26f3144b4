//! The routes of the HTTP API and the two listeners (Unix socket, TCP).

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use axum::{Json, Router};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::UnixListener;
use tokio::sync::{broadcast, watch};
use wemixvisor_core::audit::{self, AuditEntry};
use wemixvisor_core::{Home, UpgradeInfo, UpgradePlan};
use wemixvisor_supervisor::{Actor, ControlError, ControlResult, SupervisorHandle};

use crate::error::{ApiError, Result};
use crate::metrics::Metrics;
use crate::{logs, token};

/// The message of [`ControlError`] when the supervisor loop is gone
/// (mapped to HTTP 503).
const GONE_MESSAGE: &str = "the supervisor is not running any more";

/// What the API reads from or does on files, outside the supervisor loop
/// (configuration, upgrade queue, binary store, snapshots). Every call runs
/// on a blocking thread.
pub trait Backend: Send + Sync + 'static {
    /// The effective configuration as JSON.
    fn config(&self) -> Result<Value, ControlError>;
    /// Sets one key (validated, comments kept); answers one line.
    fn config_set(&self, key: &str, value: &str) -> ControlResult;
    /// The upgrade queue as JSON.
    fn upgrades(&self) -> Result<Value, ControlError>;
    /// The current binary and the last applied upgrade as JSON.
    fn upgrades_current(&self) -> Result<Value, ControlError>;
    /// The snapshots as JSON.
    fn backups(&self) -> Result<Value, ControlError>;
    /// Verifies one snapshot; answers one line.
    fn backup_verify(&self, id: &str) -> ControlResult;
    /// Restores one snapshot (only called while the node is stopped).
    fn backup_restore(&self, id: &str) -> ControlResult;
}

impl Backend for wemixvisor_supervisor::HomeFiles {
    fn config(&self) -> Result<Value, ControlError> {
        wemixvisor_supervisor::HomeFiles::config(self)
    }
    fn config_set(&self, key: &str, value: &str) -> ControlResult {
        wemixvisor_supervisor::HomeFiles::config_set(self, key, value)
    }
    fn upgrades(&self) -> Result<Value, ControlError> {
        wemixvisor_supervisor::HomeFiles::upgrades(self)
    }
    fn upgrades_current(&self) -> Result<Value, ControlError> {
        wemixvisor_supervisor::HomeFiles::upgrades_current(self)
    }
    fn backups(&self) -> Result<Value, ControlError> {
        wemixvisor_supervisor::HomeFiles::backups(self)
    }
    fn backup_verify(&self, id: &str) -> ControlResult {
        wemixvisor_supervisor::HomeFiles::backup_verify(self, id)
    }
    fn backup_restore(&self, id: &str) -> ControlResult {
        wemixvisor_supervisor::HomeFiles::backup_restore(self, id)
    }
}

/// Everything the API serves from.
#[derive(Clone)]
pub struct ApiContext {
    /// The running supervisor.
    pub handle: SupervisorHandle,
    /// The home (for the node log).
    pub home: Home,
    /// Files-side operations.
    pub backend: Arc<dyn Backend>,
    /// The metrics registry `/metrics` encodes.
    pub metrics: Metrics,
    /// The alerts engine, whose firing alerts `status` lists.
    pub alerts: Option<crate::alerts::AlertsHandle>,
}

/// Who may call and how the actor is known.
#[derive(Clone)]
enum Auth {
    /// Unix socket: peer credentials.
    Peer,
    /// TCP: bearer token (none only on loopback).
    Token {
        digest: Option<[u8; 32]>,
        token_id: String,
        metrics_public: bool,
    },
}

#[derive(Clone)]
struct AppState {
    ctx: Arc<ApiContext>,
    auth: Auth,
    shutdown: watch::Receiver<bool>,
}

/// The peer of a Unix-socket connection.
#[derive(Debug, Clone, Copy)]
pub struct PeerInfo {
    /// The caller's uid, from `SO_PEERCRED`.
    pub uid: Option<u32>,
}

impl Connected<IncomingStream<'_, UnixListener>> for PeerInfo {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        PeerInfo {
            uid: stream.io().peer_cred().ok().map(|c| c.uid()),
        }
    }
}

/// An error answer: `{"error", "hint"}` with a status code.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    error: String,
    hint: Option<String>,
}

impl HttpError {
    fn new(status: StatusCode, error: impl Into<String>, hint: Option<&str>) -> Self {
        HttpError {
            status,
            error: error.into(),
            hint: hint.map(str::to_owned),
        }
    }
    fn bad_request(error: impl Into<String>, hint: &str) -> Self {
        HttpError::new(StatusCode::BAD_REQUEST, error, Some(hint))
    }
}

impl From<ControlError> for HttpError {
    fn from(e: ControlError) -> Self {
        let status = if e.bad_request {
            StatusCode::BAD_REQUEST
        } else if e.message == GONE_MESSAGE {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::CONFLICT
        };
        HttpError {
            status,
            error: e.message,
            hint: e.hint,
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": self.error, "hint": self.hint})),
        )
            .into_response()
    }
}

type ApiResult<T> = std::result::Result<T, HttpError>;

fn message(r: ControlResult) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "message": r? })))
}

/// Records a mutating call in `state/audit.log` (off the runtime) and
/// answers it.
async fn audited(
    s: &AppState,
    actor: &Actor,
    action: &str,
    target: &str,
    params: Value,
    r: ControlResult,
) -> ApiResult<Json<Value>> {
    let mut entry = AuditEntry::now(actor.audit_name(), action)
        .target(target)
        .result(&r);
    if let Value::Object(m) = params {
        entry.parameters = m;
    }
    let path = s.ctx.home.audit_log_file();
    let _ = tokio::task::spawn_blocking(move || audit::record(&path, &entry)).await;
    message(r)
}

fn parse_body<T: DeserializeOwned + Default>(body: &Bytes) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        HttpError::bad_request(
            format!("invalid request body: {e}"),
            "send a JSON object as documented in docs/api.md",
        )
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ControlError> + Send + 'static,
) -> ApiResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(HttpError::from),
        Err(e) => Err(HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
            None,
        )),
    }
}

/// Builds the router for one listener.
fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .route("/api/v1/start", post(start))
        .route("/api/v1/stop", post(stop))
        .route("/api/v1/restart", post(restart))
        .route("/api/v1/config", get(config_get).put(config_put))
        .route("/api/v1/config/reload", post(reload))
        .route("/api/v1/upgrades", get(upgrades).post(upgrades_post))
        .route("/api/v1/upgrades/current", get(upgrades_current))
        .route("/api/v1/upgrades/rollback", post(rollback))
        .route("/api/v1/upgrades/{name}/cancel", post(cancel))
        .route("/api/v1/backups", get(backups).post(backup_create))
        .route("/api/v1/backups/{id}/verify", post(backup_verify))
        .route("/api/v1/backups/{id}/restore", post(backup_restore))
        .route("/api/v1/governance/proposals", get(proposals))
        .route("/api/v1/consensus", get(consensus))
        .route("/api/v1/logs", get(logs_route))
        .route("/api/v1/events", get(events))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Authenticates, names the actor, and counts the request.
async fn guard(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let actor = match &s.auth {
        Auth::Peer => match req.extensions().get::<ConnectInfo<PeerInfo>>() {
            Some(ConnectInfo(PeerInfo { uid: Some(uid) })) => Ok(Actor::Cli { uid: *uid }),
            _ => Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "cannot tell who is calling (no peer credentials)",
                None,
            )),
        },
        Auth::Token {
            digest,
            token_id,
            metrics_public,
        } => {
            let path = req.uri().path();
            let exempt = path == "/healthz" || (path == "/metrics" && *metrics_public);
            match digest {
                Some(d) if !exempt && !bearer(&req).is_some_and(|t| token::matches(d, t)) => {
                    Err(HttpError::new(
                        StatusCode::UNAUTHORIZED,
                        "missing or wrong bearer token",
                        Some("send `Authorization: Bearer <token>` with the token from `api.token_file`"),
                    ))
                }
                _ => Ok(Actor::Api {
                    token_id: token_id.clone(),
                }),
            }
        }
    };
    let resp = match actor {
        Ok(actor) => {
            req.extensions_mut().insert(actor);
            next.run(req).await
        }
        Err(e) => {
            let mut r = e.into_response();
            if r.status() == StatusCode::UNAUTHORIZED {
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            r
        }
    };
    s.ctx
        .metrics
        .api_request(&route, &method, resp.status().as_u16());
    resp
}

fn actor_of(ext: &axum::http::Extensions) -> Actor {
    ext.get::<Actor>().cloned().unwrap_or(Actor::Supervisor)
}

async fn not_found() -> HttpError {
    HttpError::new(
        StatusCode::NOT_FOUND,
        "no such route",
        Some("see docs/api.md for the routes"),
    )
}

async fn healthz(State(s): State<AppState>) -> Response {
    let st = s.ctx.handle.status();
    if st.node.state == "running" {
        (StatusCode::OK, "ok").into_response()
    } else {
        HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("node is {} (expected running)", empty_as(&st.node.state)),
            Some("see `wemixvisor status` and `wemixvisor logs`"),
        )
        .into_response()
    }
}

fn empty_as(s: &str) -> &str {
    if s.is_empty() {
        "unknown"
    } else {
        s
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let text = s.ctx.metrics.render(&s.ctx.handle.status());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn status(State(s): State<AppState>) -> Json<Value> {
    let mut r = s.ctx.handle.status();
    if let Some(a) = &s.ctx.alerts {
        r.alerts = a
            .active()
            .into_iter()
            .map(|a| wemixvisor_core::ActiveAlert {
                name: a.rule,
                severity: a.severity.as_str().into(),
                summary: a.summary,
                since: a.started_at,
            })
            .collect();
    }
    Json(serde_json::to_value(r).unwrap_or(Value::Null))
}

async fn start(State(s): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let actor = actor_of(req.extensions());
    let r = s.ctx.handle.start_node(actor.clone()).await;
    audited(&s, &actor, "node.start", "", json!({}), r).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForceBody {
    #[serde(default)]
    force: bool,
}

async fn split(req: Request) -> ApiResult<(Actor, Bytes)> {
    let actor = actor_of(req.extensions());
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .map_err(|e| {
            HttpError::bad_request(format!("cannot read the body: {e}"), "send at most 1 MiB")
        })?;
    Ok((actor, body))
}

async fn stop(State(s): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let (actor, body) = split(req).await?;
    let b: ForceBody = parse_body(&body)?;
    let r = s.ctx.handle.stop(b.force, actor.clone()).await;
    audited(
        &s,
        &actor,
        "supervisor.stop",
        "",
        json!({"force": b.force}),
        r,
    )
    .await
}

async fn restart(State(s): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let (actor, body) = split(req).await?;
    let b: ForceBody = parse_body(&body)?;
    let r = s.ctx.handle.restart(b.force, actor.clone()).await;
    audited(&s, &actor, "node.restart", "", json!({"force": b.force}), r).await
}

async fn reload(State(s): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let actor = actor_of(req.extensions());
    let r = s.ctx.handle.reload(actor.clone()).await;
    audited(&s, &actor, "config.reload", "", json!({}), r).await
}

async fn config_get(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let b = s.ctx.backend.clone();
    Ok(Json(blocking(move || b.config()).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetBody {
    key: String,
    value: String,
}

async fn config_put(State(s): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let (actor, body) = split(req).await?;
    let b: SetBody = parse_body(&body)?;
    if b.key.is_empty() {
        return Err(HttpError::bad_request(
            "missing \"key\"",
            "send {\"key\": \"section.key\", \"value\": \"...\"}",
        ));
    }
    let backend = s.ctx.backend.clone();
    let (key, value) = (b.key.clone(), b.value.clone());
    let set = blocking(move || backend.config_set(&key, &value)).await;
    let r = match set {
        Ok(set) => match s.ctx.handle.reload(actor.clone()).await {
            Ok(reloaded) => Ok(format!("{set}; {reloaded}")),
            Err(e) => Err(e),
        },
        Err(e) => Err(control_error(e)),
    };
    // the value is not recorded: a key may hold a path or a url with
    // credentials
    audited(&s, &actor, "config.set", &b.key, json!({}), r).await
}

async fn upgrades(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let b = s.ctx.backend.clone();
    Ok(Json(blocking(move || b.upgrades()).await?))
}

async fn upgrades_current(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let b = s.ctx.backend.clone();
    Ok(Json(blocking(move || b.upgrades_current()).await?))
}

/// One plan as an operator writes it (`info` in the cosmovisor form: an
/// object, a URL or absent), the same body the control socket takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    name: String,
    height: u64,
    #[serde(default)]
    info: Option<Value>,
    #[serde(default)]
    replace: bool,
}

impl PlanBody {
    fn plan(self) -> Result<UpgradePlan, String> {
        let mut doc = serde_json::json!({ "name": self.name, "height": self.height });
        if let Some(i) = self.info {
            doc["info"] = i;
        }
        let info = UpgradeInfo::parse(doc.to_string().as_bytes()).map_err(|e| e.to_string())?;
        Ok(UpgradePlan::from_info(info, "api"))
    }
}

async fn upgrades_post(State(s): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let (actor, body) = split(req).await?;
    let hint = "send {\"name\", \"height\", \"info\"?, \"replace\"?} or a list of them";
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| HttpError::bad_request(format!("invalid upgrade plan: {e}"), hint))?;
    if v.is_array() {
        let plans: Vec<PlanBody> = serde_json::from_value(v)
            .map_err(|e| HttpError::bad_request(format!("invalid upgrade plan: {e}"), hint))?;
        let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
        let heights: Vec<u64> = plans.iter().map(|p| p.height).collect();
        let plans = plans
            .into_iter()
            .map(PlanBody::plan)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| HttpError::bad_request(format!("invalid upgrade plan: {e}"), hint))?;
        let r = s.ctx.handle.upgrade_plan(plans, actor.clone()).await;
        let params = json!({"names": names, "heights": heights});
        audited(&s, &actor, "upgrade.plan", "", params, r).await
    } else {
        let p: PlanBody = serde_json::from_value(v)
            .map_err(|e| HttpError::bad_request(format!("invalid upgrade plan: {e}"), hint))?;
        let replace = p.replace;
        let (name, height) = (p.name.clone(), p.height);
        let plan = p
            .plan()
            .map_err(|e| HttpError::bad_request(format!("invalid upgrade plan: {e}"), hint))?;
        let r = s.ctx.handle.upgrade_add(plan, replace, actor.clone()).await;
        let params = json!({"height": height, "replace": replace});
        audited(&s, &actor, "upgrade.add", &name, params, r).await
    }
}

async fn cancel(
    State(s): State<AppState>,
    axum::extract::Path(name): axum::extract::Path<String>,
    req: Request,
) -> ApiResult<Json<Value>> {
    let actor = actor_of(req.extensions());
    let r = s
        .ctx
        .handle
        .upgrade_cancel(name.clone(), actor.clone())
        .await;
    audited(&s, &actor, "upgrade.cancel", &name, json!({}), r).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    #[serde(default)]
    restore_data: bool,
    #[serde(default)]
    force: bool,
}

async fn rollback(State(s): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let (actor, body) = split(req).await?;
    let b: RollbackBody = parse_body(&body)?;
    let r = s
        .ctx
        .handle
        .rollback(b.restore_data, b.force, actor.clone())
        .await;
    let params = json!({"restore_data": b.restore_data, "force": b.force});
    audited(&s, &actor, "upgrade.rollback", "", params, r).await
}

async fn backups(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let b = s.ctx.backend.clone();
    Ok(Json(blocking(move || b.backups()).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupBody {
    #[serde(default)]
    name: Option<String>,
}

async fn backup_create(State(s): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let (actor, body) = split(req).await?;
    let b: BackupBody = parse_body(&body)?;
    let name = b.name.clone().unwrap_or_default();
    let r = s.ctx.handle.backup_create(b.name, actor.clone()).await;
    audited(&s, &actor, "backup.create", &name, json!({}), r).await
}

async fn backup_verify(
    State(s): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<Value>> {
    let b = s.ctx.backend.clone();
    message(Ok(blocking(move || b.backup_verify(&id)).await?))
}

fn control_error(e: HttpError) -> ControlError {
    ControlError {
        message: e.error,
        hint: e.hint,
        bad_request: e.status == StatusCode::BAD_REQUEST,
    }
}

async fn backup_restore(
    State(s): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    req: Request,
) -> ApiResult<Json<Value>> {
    let actor = actor_of(req.extensions());
    let r = restore_stopped(&s, id.clone()).await.map_err(control_error);
    audited(&s, &actor, "backup.restore", &id, json!({}), r).await
}

async fn restore_stopped(s: &AppState, id: String) -> ApiResult<String> {
    let state = s.ctx.handle.status().node.state;
    if !matches!(state.as_str(), "stopped" | "failed" | "crashed") {
        return Err(HttpError::new(
            StatusCode::CONFLICT,
            format!(
                "refusing to restore while the node is {} (expected stopped)",
                empty_as(&state)
            ),
            Some("stop the node first (`wemixvisor stop`), then restore offline"),
        ));
    }
    let b = s.ctx.backend.clone();
    blocking(move || b.backup_restore(&id)).await
}

async fn proposals(State(s): State<AppState>) -> Json<Value> {
    let gov = s.ctx.handle.status().governance;
    let snapshot = gov.as_ref().and_then(|g| g.get("governance")).cloned();
    let list = snapshot
        .as_ref()
        .and_then(|g| g.get("proposals"))
        .cloned()
        .unwrap_or_else(|| json!([]));
    Json(json!({
        "available": snapshot.as_ref().is_some_and(|v| !v.is_null()),
        "proposals": list,
    }))
}

async fn consensus(State(s): State<AppState>) -> Json<Value> {
    let gov = s.ctx.handle.status().governance;
    let c = gov
        .as_ref()
        .and_then(|g| g.get("consensus"))
        .cloned()
        .unwrap_or(Value::Null);
    Json(json!({ "available": !c.is_null(), "consensus": c }))
}

#[derive(Debug, Deserialize)]
struct LogsQuery {
    #[serde(default = "default_lines")]
    lines: usize,
    #[serde(default)]
    follow: bool,
}

fn default_lines() -> usize {
    100
}

async fn logs_route(State(s): State<AppState>, q: Query<LogsQuery>) -> ApiResult<Response> {
    let path = s.ctx.home.node_log_file();
    let lines = q.lines.min(logs::MAX_LINES);
    let p = path.clone();
    let tail = tokio::task::spawn_blocking(move || logs::tail(&p, lines))
        .await
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None))?
        .map_err(|e| {
            HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                e.to_string(),
                Some("check that the node has written its log"),
            )
        })?;
    let head =
        futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(tail.text)) });
    let ct = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    if !q.follow {
        return Ok((ct, Body::from_stream(head)).into_response());
    }
    let rest = logs::follow(path, tail.end).take_until(shutdown(s.shutdown.clone()));
    Ok((ct, Body::from_stream(head.chain(rest))).into_response())
}

fn shutdown(
    mut rx: watch::Receiver<bool>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async move {
        let _ = rx.wait_for(|v| *v).await;
    })
}

async fn events(
    State(s): State<AppState>,
) -> Sse<impl futures::Stream<Item = std::result::Result<SseEvent, std::convert::Infallible>>> {
    let rx = s.ctx.handle.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let ev = match rx.recv().await {
            Ok(rec) => {
                let kind = serde_json::to_value(&rec.event)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_else(|| "event".into());
                let data = serde_json::to_string(&rec).unwrap_or_default();
                SseEvent::default()
                    .event(kind)
                    .id(rec.seq.to_string())
                    .data(data)
            }
            Err(broadcast::error::RecvError::Lagged(n)) => SseEvent::default()
                .event("lagged")
                .data(json!({ "missed": n }).to_string()),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(ev), rx))
    })
    .take_until(shutdown(s.shutdown.clone()));
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// A running listener; dropping it stops accepting (and removes the socket).
#[derive(Debug)]
pub struct ServerGuard {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    local_addr: Option<SocketAddr>,
    socket: Option<PathBuf>,
}

impl ServerGuard {
    /// The TCP address actually bound (`None` for the socket).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Stops accepting, ends open streams, and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), t).await;
        }
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(p) = &self.socket {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn spawn_server<F>(
    make: F,
) -> (
    watch::Sender<bool>,
    watch::Receiver<bool>,
    tokio::task::JoinHandle<()>,
)
where
    F: FnOnce(
        watch::Receiver<bool>,
    )
        -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>,
{
    let (tx, rx) = watch::channel(false);
    let fut = make(rx.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = fut.await {
            tracing::error!(error = %e, "API server stopped");
        }
    });
    (tx, rx, task)
}

/// Serves the API on a Unix socket (mode 0600), replacing a stale socket
/// file; the caller holds the home lock, so no live supervisor owns it.
pub fn serve_unix(path: &Path, ctx: ApiContext) -> Result<ServerGuard> {
    let listen = |source| ApiError::Listen {
        addr: path.display().to_string(),
        source,
    };
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(listen(e)),
    }
    let listener = UnixListener::bind(path).map_err(listen)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(listen)?;
    let ctx = Arc::new(ctx);
    let (stop, _rx, task) = spawn_server(|rx| {
        let state = AppState {
            ctx,
            auth: Auth::Peer,
            shutdown: rx.clone(),
        };
        let app = router(state).into_make_service_with_connect_info::<PeerInfo>();
        Box::pin(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown(rx))
                .await
        })
    });
    Ok(ServerGuard {
        stop,
        task: Some(task),
        local_addr: None,
        socket: Some(path.to_owned()),
    })
}

/// TCP settings (`[api]` of wemixvisor.toml).
#[derive(Debug, Clone)]
pub struct TcpOptions {
    /// Address to bind (`api.bind`, default `127.0.0.1:<port>`).
    pub bind: SocketAddr,
    /// The bearer token (read from `api.token_file`); `None` is only
    /// accepted on a loopback bind.
    pub token: Option<String>,
    /// `/metrics` without the token (`api.metrics_public`).
    pub metrics_public: bool,
}

/// Serves the API on TCP with a bearer token on every route but
/// `/healthz` (and `/metrics` when public).
pub async fn serve_tcp(opts: TcpOptions, ctx: ApiContext) -> Result<ServerGuard> {
    if opts.token.is_none() && !opts.bind.ip().is_loopback() {
        return Err(ApiError::TokenRequired {
            addr: opts.bind.to_string(),
        });
    }
    let listener = tokio::net::TcpListener::bind(opts.bind)
        .await
        .map_err(|source| ApiError::Listen {
            addr: opts.bind.to_string(),
            source,
        })?;
    let local = listener.local_addr().ok();
    let auth = Auth::Token {
        digest: opts.token.as_deref().map(token::digest),
        token_id: opts
            .token
            .as_deref()
            .map(token::token_id)
            .unwrap_or_else(|| "none".into()),
        metrics_public: opts.metrics_public,
    };
    let ctx = Arc::new(ctx);
    let (stop, _rx, task) = spawn_server(|rx| {
        let state = AppState {
            ctx,
            auth,
            shutdown: rx.clone(),
        };
        let app = router(state);
        Box::pin(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown(rx))
                .await
        })
    });
    Ok(ServerGuard {
        stop,
        task: Some(task),
        local_addr: local,
        socket: None,
    })
}
