//! Everything that shows a running supervisor to the outside.
//!
//! This crate owns the HTTP API (always on the 0600 Unix socket, on TCP
//! only when enabled, with a bearer token), the Prometheus `/metrics`
//! endpoint, and the alert rules and sinks (generic webhook, Slack,
//! Alertmanager). All of it is fed by a
//! [`wemixvisor_supervisor::SupervisorHandle`] and its event stream.
