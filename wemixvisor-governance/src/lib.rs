//! What the supervisor learns from the chain.
//!
//! This crate owns the node's JSON-RPC as seen by wemixvisor: [`RpcChainClient`]
//! implements [`wemixvisor_core::ChainClient`] over HTTP with alloy's
//! JSON-RPC client, with a per-call timeout and errors sorted into
//! "unreachable", "method not exposed" (namespace missing from `--http.api`),
//! "RPC error" and "unexpected shape", so callers can tell a node that is down
//! from one that is merely configured without `admin` or `istanbul`.
//!
//! # Theory of operation
//! Every call is one JSON-RPC request with a deadline; there is no
//! connection state to recover, so a node restart (or an upgrade switch-over)
//! needs nothing from this side. Generic [`RpcChainClient::call`] serves the
//! Wemix-specific namespaces (`istanbul_*`, `admin_*`) with typed results.

mod client;
mod error;

pub use client::{parse_quantity, RpcChainClient};
pub use error::GovernanceError;
