//! `cargo xtask ci`: what CI runs, in the order that fails fastest.

use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::{cargo, deploy_checks, deps, gen, sh};

/// The publishable crates, in dependency order.
pub const LIBRARY_CRATES: [&str; 8] = [
    "wemixvisor-core",
    "wemixvisor-config",
    "wemixvisor-node",
    "wemixvisor-backup",
    "wemixvisor-upgrade",
    "wemixvisor-governance",
    "wemixvisor-supervisor",
    "wemixvisor-api",
];

/// The macOS targets checked (not linked) on Linux.
const DARWIN_TARGETS: [&str; 2] = ["aarch64-apple-darwin", "x86_64-apple-darwin"];

/// Runs `f`, printing how long the named step took.
fn timed(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    let t = Instant::now();
    let result = f();
    eprintln!("xtask ci: {name} took {:.1?}", t.elapsed());
    result
}

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
    timed("generated files up to date", || {
        gen::run(&["--check".into()])
    })?;
    timed("deployment checks", deploy_checks::run)?;
    timed("packaging and docs", package)?;
    // One darwin target: both share every `cfg(target_os = "macos")` path,
    // and the second would check every dependency again.
    timed("macOS check (aarch64-apple-darwin)", || {
        darwin_check_targets(&DARWIN_TARGETS[..1])
    })?;
    deps::install()?;
    // The end-to-end tests must not skip in CI: tell them the tools are due.
    sh(cargo()
        .args(["test", "--workspace", "--locked"])
        .env("WEMIXVISOR_REQUIRE_E2E", "1"))?;
    eprintln!("xtask ci: all checks passed in {:.0?}", started.elapsed());
    Ok(())
}

/// `cargo package` of every library crate (unpublished siblings resolve
/// through cargo's temporary local registry), then `cargo doc` with
/// warnings denied. `--no-verify`: building each package again costs a full
/// compile per crate on CI's two cores, and clippy, doc and test already
/// compile the same sources; the crates include no file from outside their
/// directory. The CLI's docs are its clap help (with `<name>` placeholders
/// that rustdoc would read as HTML): it is a binary, left out of `doc`.
pub fn package() -> Result<()> {
    let mut cmd = cargo();
    cmd.args(["package", "--no-verify", "--allow-dirty", "--locked"]);
    for krate in LIBRARY_CRATES {
        cmd.args(["-p", krate]);
    }
    sh(&mut cmd)?;
    sh(cargo()
        .args(["doc", "--no-deps", "--workspace", "--locked"])
        // Every feature, as docs.rs is asked to: the crate docs link to
        // their `test_utils` modules.
        .args(["--all-features", "--exclude", "wemixvisor-cli"])
        .env("RUSTDOCFLAGS", "-D warnings"))
}

/// `cargo clippy` (which checks) of the workspace's libraries and binaries
/// for both macOS targets with warnings denied (`cargo xtask darwin-check`):
/// rustup adds the target's std; C dependencies compile with zig cc
/// (`xtask/zig-cc.py`, zig from PyPI's `ziglang` in `.cache/venv`). Nothing
/// is linked. `ci` checks the arm64 target alone; `cargo xtask dist` links
/// both.
pub fn darwin_check() -> Result<()> {
    darwin_check_targets(&DARWIN_TARGETS)
}

fn darwin_check_targets(targets: &[&str]) -> Result<()> {
    crate::dist::ensure_zig()?;
    let python = crate::root().join(".cache/venv/bin/python");
    let cc = crate::root().join("xtask/zig-cc.py");
    for &target in targets {
        let have = Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l == target)
            });
        if !have {
            sh(Command::new("rustup").args(["target", "add", target]))?;
        }
        let zig_target = if target.starts_with("aarch64") {
            "aarch64-macos"
        } else {
            "x86_64-macos"
        };
        sh(cargo()
            .args(["clippy", "--workspace", "--locked", "--target", target])
            .args(["--", "-D", "warnings"])
            .env(format!("CC_{}", target.replace('-', "_")), &cc)
            .env("ZIGCC_TARGET", zig_target)
            .env("ZIGCC_PYTHON", &python))?;
    }
    Ok(())
}
