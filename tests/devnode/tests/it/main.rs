//! End-to-end tests of the devnode binary: each test spawns the built binary
//! with its own temp datadir (and a free port when it serves RPC).

mod flags;
mod lifecycle;
mod rpc;
mod support;
