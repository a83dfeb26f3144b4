//! The supervisor's HTTP API on `state/wemixvisor.sock` (a Unix socket,
//! mode 0600): the server side the daemon runs, and the client side the
//! `status`, `stop` and `restart` commands use.
//!
//! Routes:
//! - `GET /healthz`: 200 when the node runs, 503 otherwise;
//! - `GET /api/v1/status`: the [`StatusReport`];
//! - `POST /api/v1/node/restart`: restart the node (the supervisor stays);
//! - `POST /api/v1/shutdown`: stop the node gracefully, then the supervisor;
//! - `POST /api/v1/upgrade/rollback[?restore_data=true]`: roll the last
//!   upgrade back, the node stopped and started around it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, oneshot};
use wemixvisor_core::StatusReport;

/// A request from the API to the supervisor loop.
#[derive(Debug)]
pub enum Control {
    /// Restart the node; answers with a summary or the error.
    Restart(oneshot::Sender<Result<String, String>>),
    /// Stop the node and the supervisor; answers once the node is down.
    Shutdown(oneshot::Sender<Result<String, String>>),
    /// Roll the last upgrade back (optionally with its data snapshot).
    Rollback {
        /// Also restore the pre-upgrade snapshot.
        restore_data: bool,
        /// Where the answer goes.
        reply: oneshot::Sender<Result<String, String>>,
    },
}

#[derive(Clone)]
struct ApiState {
    status: Arc<RwLock<StatusReport>>,
    control: mpsc::Sender<Control>,
}

async fn get_status(State(s): State<ApiState>) -> Json<StatusReport> {
    let report = s.status.read().map(|r| r.clone()).unwrap_or_default();
    Json(report)
}

async fn healthz(State(s): State<ApiState>) -> (StatusCode, &'static str) {
    let running = s
        .status
        .read()
        .map(|r| r.node.state == "running")
        .unwrap_or(false);
    if running {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "node not running\n")
    }
}

async fn ask(
    s: &ApiState,
    make: impl FnOnce(oneshot::Sender<Result<String, String>>) -> Control,
) -> (StatusCode, String) {
    let (tx, rx) = oneshot::channel();
    if s.control.send(make(tx)).await.is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "supervisor is shutting down\n".into(),
        );
    }
    match rx.await {
        Ok(Ok(msg)) => (StatusCode::OK, format!("{msg}\n")),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "supervisor is shutting down\n".into(),
        ),
    }
}

async fn restart(State(s): State<ApiState>) -> (StatusCode, String) {
    ask(&s, Control::Restart).await
}

async fn shutdown(State(s): State<ApiState>) -> (StatusCode, String) {
    ask(&s, Control::Shutdown).await
}

#[derive(serde::Deserialize)]
struct RollbackQuery {
    #[serde(default)]
    restore_data: bool,
}

async fn rollback(
    State(s): State<ApiState>,
    axum::extract::Query(q): axum::extract::Query<RollbackQuery>,
) -> (StatusCode, String) {
    ask(&s, |reply| Control::Rollback {
        restore_data: q.restore_data,
        reply,
    })
    .await
}

/// Binds the socket (replacing a stale one: the caller holds the pid lock,
/// so no live supervisor owns it) and serves the API until the task ends.
pub fn serve(
    socket: &Path,
    status: Arc<RwLock<StatusReport>>,
    control: mpsc::Sender<Control>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let _ = std::fs::remove_file(socket);
    let listener = tokio::net::UnixListener::bind(socket)
        .with_context(|| format!("cannot listen on '{}'", socket.display()))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict '{}' to mode 0600", socket.display()))?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/status", get(get_status))
        .route("/api/v1/node/restart", post(restart))
        .route("/api/v1/shutdown", post(shutdown))
        .route("/api/v1/upgrade/rollback", post(rollback))
        .with_state(ApiState { status, control });
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "API server stopped");
        }
    }))
}

/// One request to the daemon over its socket. `Ok(None)` when no daemon
/// listens there (no socket, or nobody accepting).
pub async fn request(
    socket: &Path,
    method: &str,
    path: &str,
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
        .context("cannot talk HTTP to the daemon")?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "wemixvisor")
        .body(Empty::<Bytes>::new())
        .context("cannot build the request")?;
    let resp = sender
        .send_request(req)
        .await
        .context("the daemon did not answer")?;
    let code = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .context("the daemon's answer was cut off")?
        .to_bytes();
    Ok(Some((code, String::from_utf8_lossy(&body).into_owned())))
}

/// [`request`] from synchronous code.
pub fn request_blocking(
    socket: &Path,
    method: &str,
    path: &str,
) -> anyhow::Result<Option<(u16, String)>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(request(socket, method, path))
}
