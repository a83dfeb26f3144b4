//! The one test kit of wemixvisor (never published).
//!
//! This crate owns every test double the other crates' tests use, so no
//! crate grows its own:
//!
//! - [`node`]: a scriptable fake [`wemixvisor_core::NodeProcess`] (exit
//!   codes, crash after a delay, ignore SIGTERM), recording every call;
//! - [`chain`]: a fake [`wemixvisor_core::ChainClient`] (head script,
//!   `istanbul_*` answers, failures) and a fake
//!   [`wemixvisor_core::HaltGuard`];
//! - [`fs`]: a fault-injecting [`wemixvisor_core::FileSystem`] (ENOSPC or
//!   EIO at the n-th call of an operation);
//! - [`net`]: one loopback HTTP(S) file server and `free_port`;
//! - [`scripts`]: fake geth scripts.

pub mod chain;
pub mod fs;
pub mod net;
pub mod node;
pub mod scripts;
