//! The CLI's side of the API: HTTP over the daemon's Unix socket.

use std::path::{Path, PathBuf};

use axum::body::Bytes;
use futures::{Stream, StreamExt};
use http_body_util::{BodyExt, BodyStream, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use crate::error::{ApiError, Result};

/// A client of the API on `state/wemixvisor.sock`.
#[derive(Debug, Clone)]
pub struct UnixClient {
    socket: PathBuf,
}

fn http<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> ApiError + '_ {
    move |e| ApiError::Http(format!("{what}: {e}"))
}

impl UnixClient {
    /// A client for the socket at `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        UnixClient {
            socket: socket.into(),
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<hyper::Response<hyper::body::Incoming>> {
        let stream = match tokio::net::UnixStream::connect(&self.socket).await {
            Ok(s) => s,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(ApiError::NotRunning {
                    path: self.socket.clone(),
                })
            }
            Err(source) => {
                return Err(ApiError::Io {
                    path: self.socket.clone(),
                    source,
                })
            }
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http("handshake"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let bytes = match body {
            Some(v) => Bytes::from(serde_json::to_vec(v)?),
            None => Bytes::new(),
        };
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "wemixvisor")
            .header("content-type", "application/json")
            .body(Full::new(bytes))
            .map_err(http("request"))?;
        sender.send_request(req).await.map_err(http("send"))
    }

    /// One request; the JSON answer, or [`ApiError::Remote`] for an error
    /// status (with the server's message and hint).
    pub async fn request_json(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let resp = self.send(method, path, body).await?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(http("body"))?
            .to_bytes();
        let v: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if (200..300).contains(&status) {
            return Ok(v);
        }
        let message = v
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string());
        let hint = v.get("hint").and_then(Value::as_str).map(str::to_owned);
        Err(ApiError::Remote {
            status,
            message,
            hint,
        })
    }

    /// `GET path` as JSON.
    pub async fn get_json(&self, path: &str) -> Result<Value> {
        self.request_json("GET", path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value> {
        self.request_json("POST", path, Some(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> Result<Value> {
        self.request_json("PUT", path, Some(body)).await
    }

    /// `GET path` as a byte stream (logs with `follow=true`, events).
    pub async fn stream(&self, path: &str) -> Result<impl Stream<Item = Result<Bytes>>> {
        let resp = self.send("GET", path, None).await?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(http("body"))?
                .to_bytes();
            return Err(ApiError::Remote {
                status,
                message: String::from_utf8_lossy(&bytes).into_owned(),
                hint: None,
            });
        }
        Ok(
            BodyStream::new(resp.into_body()).filter_map(|f| async move {
                match f {
                    Ok(frame) => frame.into_data().ok().map(Ok),
                    Err(e) => Some(Err(ApiError::Http(format!("stream: {e}")))),
                }
            }),
        )
    }
}
