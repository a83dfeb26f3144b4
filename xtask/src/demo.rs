//! `cargo xtask demo`: builds the supervisor and devnode, then runs the demo
//! program of the test crate (a temporary home, an upgrade a few blocks
//! ahead, the switch-over, the result).

use anyhow::Result;

use crate::{cargo, sh};

/// Runs the demo.
pub fn run() -> Result<()> {
    sh(cargo().args(["build", "--quiet", "-p", "wemixvisor-cli", "-p", "devnode"]))?;
    sh(cargo().args(["run", "--quiet", "-p", "wemixvisor-tests", "--bin", "demo"]))
}
