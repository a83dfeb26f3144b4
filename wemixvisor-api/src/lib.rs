//! Everything that shows a running supervisor to the outside.
//!
//! This crate owns the HTTP API (always on the 0600 Unix socket, on TCP
//! only when enabled, with a bearer token), the Prometheus `/metrics`
//! endpoint, and alerts to webhooks, Slack and Alertmanager. All of it is
//! fed by a
//! [`wemixvisor_supervisor::SupervisorHandle`] and its event stream.
//!
//! # Theory of operation
//! - [`serve_unix`] and [`serve_tcp`] serve one router ([`ApiContext`]):
//!   commands go to the handle, reads of files go through a [`Backend`]
//!   on blocking threads, `/api/v1/events` streams
//!   [`SupervisorHandle::subscribe`](wemixvisor_supervisor::SupervisorHandle::subscribe)
//!   as server-sent events, `/api/v1/logs` tails the node log with bounded
//!   reads. The socket names the caller by its uid (`SO_PEERCRED`); TCP by
//!   a non-secret id of its bearer token.
//! - [`Metrics`] keeps counters fed by the event stream and sets gauges
//!   from the status report at each scrape.
//! - [`alerts::AlertEngine`] judges the event stream and the status
//!   against the alert rules on its own task and delivers through
//!   [`alerts::Sink`]s, each with a bounded queue and retries.
//! - [`client::UnixClient`] is the CLI's side of the socket.
//! - [`openapi::ROUTES`] describes every route; [`openapi::document`] is
//!   the OpenAPI document checked in as `docs/openapi.json`.

pub mod alerts;
pub mod client;
pub mod error;
pub mod logs;
pub mod metrics;
pub mod openapi;
pub mod server;
pub mod token;

pub use error::{ApiError, Result};
pub use metrics::Metrics;
pub use server::{serve_tcp, serve_unix, ApiContext, Backend, PeerInfo, ServerGuard, TcpOptions};
