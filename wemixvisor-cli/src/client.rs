//! The CLI's side of the API: every command that needs the running
//! supervisor calls the same HTTP API over `state/wemixvisor.sock`
//! ([`wemixvisor_api::client::UnixClient`]), from synchronous code.

use anyhow::Context as _;
use futures::StreamExt;
use serde_json::Value;
use wemixvisor_api::client::UnixClient;
use wemixvisor_api::ApiError;
use wemixvisor_core::{Home, StatusReport};

use crate::exit::Hinted;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn client(home: &Home) -> UnixClient {
    UnixClient::new(home.socket_file())
}

/// The daemon's refusal as an error with its hint (exit 2 for a bad request).
fn refused(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::Remote {
            status,
            message,
            hint,
        } => {
            let mut h = Hinted::new(message, hint);
            h.bad_input = status == 400;
            anyhow::Error::new(h)
        }
        other => anyhow::Error::new(other),
    }
}

/// One request; `Ok(None)` when no supervisor listens on the socket.
pub fn request(
    home: &Home,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Option<Value>> {
    let c = client(home);
    match runtime()?.block_on(c.request_json(method, path, body)) {
        Ok(v) => Ok(Some(v)),
        Err(ApiError::NotRunning { .. }) => Ok(None),
        Err(e) => Err(refused(e)),
    }
}

/// Sends a command to the running supervisor of `home` (a POST) and
/// returns its one-line answer.
pub fn command(home: &Home, path: &str, body: Option<Value>) -> anyhow::Result<String> {
    let body = body.unwrap_or_else(|| serde_json::json!({}));
    match request(home, "POST", path, Some(&body))? {
        Some(v) => Ok(v["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())),
        None => Err(anyhow::Error::new(Hinted::new(
            format!(
                "a supervisor runs on '{}' but does not answer on its socket",
                home.root().display()
            ),
            Some("wait a moment and retry; `wemixvisor status` shows its state".into()),
        ))),
    }
}

/// `GET path` from the running supervisor; `None` when none answers.
pub fn get(home: &Home, path: &str) -> anyhow::Result<Option<Value>> {
    request(home, "GET", path, None)
}

/// The status from the running supervisor, `None` when none answers.
pub fn fetch_status(home: &Home) -> anyhow::Result<Option<StatusReport>> {
    match get(home, "/api/v1/status")? {
        Some(v) => Ok(Some(
            serde_json::from_value(v)
                .context("the supervisor sent a status this version cannot read")?,
        )),
        None => Ok(None),
    }
}

/// Copies `GET path` (a stream: the log with `follow=true`) to `out` until
/// the supervisor ends it; `Ok(false)` when none answers.
pub fn stream_to(home: &Home, path: &str, out: &mut impl std::io::Write) -> anyhow::Result<bool> {
    let c = client(home);
    runtime()?.block_on(async {
        let mut s = match c.stream(path).await {
            Ok(s) => Box::pin(s),
            Err(ApiError::NotRunning { .. }) => return Ok(false),
            Err(e) => return Err(refused(e)),
        };
        while let Some(chunk) = s.next().await {
            let chunk = chunk.map_err(refused)?;
            out.write_all(&chunk)?;
            out.flush()?;
        }
        Ok(true)
    })
}
