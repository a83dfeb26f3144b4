//! JSON-RPC over plain `http://` with hyper alone: the node's RPC is
//! almost always `http://127.0.0.1:8545`, and a client that may also speak
//! HTTPS builds its TLS stack (root certificates, crypto provider) up front,
//! memory a daemon that never leaves loopback does not need. `https://`
//! endpoints keep the TLS-capable client.

use std::task::{Context, Poll};
use std::time::Duration;

use alloy_json_rpc::{RequestPacket, ResponsePacket};
use alloy_transport::{TransportError, TransportErrorKind, TransportFut};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// An alloy transport over hyper's HTTP/1 client, without TLS.
#[derive(Clone, Debug)]
pub(crate) struct PlainHttp {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: hyper::Uri,
}

impl PlainHttp {
    /// A transport for `url` (an `http://` URL) that gives up connecting
    /// after `connect_timeout`.
    pub(crate) fn new(url: &str, connect_timeout: Duration) -> Result<Self, String> {
        let uri: hyper::Uri = url.parse().map_err(|e| format!("{e}"))?;
        let mut conn = HttpConnector::new();
        conn.set_connect_timeout(Some(connect_timeout));
        conn.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            // Idle connections are dropped rather than kept with a timer.
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(1)
            .build(conn);
        Ok(PlainHttp { client, uri })
    }

    async fn send(self, req: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let body = req.serialize().map_err(TransportError::ser_err)?;
        let http = hyper::Request::post(self.uri.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.get().as_bytes().to_vec())))
            .map_err(TransportErrorKind::custom)?;
        let resp = self
            .client
            .request(http)
            .await
            .map_err(TransportErrorKind::custom)?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(TransportErrorKind::custom)?
            .to_bytes();
        if !status.is_success() {
            return Err(TransportErrorKind::http_error(
                status.as_u16(),
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
        serde_json::from_slice(&body)
            .map_err(|e| TransportError::deser_err(e, String::from_utf8_lossy(&body)))
    }
}

impl tower_service::Service<RequestPacket> for PlainHttp {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: RequestPacket) -> Self::Future {
        Box::pin(self.clone().send(req))
    }
}
