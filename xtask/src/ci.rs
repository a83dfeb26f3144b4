//! `cargo xtask ci`: what CI runs, in the order that fails fastest.

use std::time::Instant;

use anyhow::Result;

use crate::{cargo, deps, sh};

/// Format, lints, test tools, then every test of the workspace.
pub fn run() -> Result<()> {
    let started = Instant::now();
    sh(cargo().args(["fmt", "--all", "--check"]))?;
    sh(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    deps::install()?;
    // The end-to-end tests must not skip in CI: tell them the tools are due.
    sh(cargo()
        .args(["test", "--workspace", "--locked"])
        .env("WEMIXVISOR_REQUIRE_E2E", "1"))?;
    eprintln!("xtask ci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}
