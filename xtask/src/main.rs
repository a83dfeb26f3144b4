//! Project automation: `cargo xtask <task>`.
//!
//! - `ci`: everything CI checks, in the order that fails fastest: format,
//!   lints, the test tools (`e2e-deps`), then the whole test suite including
//!   the end-to-end tests.
//! - `e2e-deps`: installs the external test tools into `.cache/e2e/`
//!   (anvil and solc from npm) so tests find them at a fixed place.
//! - `fuzz [--time S] [TARGET...]`: every fuzz target in `fuzz/` (or the
//!   named ones) for S seconds each, with executions per target.
//! - `gen [--check]`: completions, man pages and the systemd unit, checked
//!   in under `contrib/` and `deploy/systemd/` (`--check`: fail when stale).
//! - `deploy-checks`: systemd-analyze, kubernetes-validate and actionlint
//!   over `deploy/` and `.github/workflows/`.
//! - `package`: `cargo package` of the library crates and their docs with
//!   warnings denied.
//! - `darwin-check`: clippy of the workspace for the two macOS targets.
//! - `coverage`: cargo-llvm-cov over the workspace, per-crate figures, an
//!   HTML report and a floor.
//! - `dist`: release tarballs for five targets, checksums, the release
//!   manifest and minisign signatures.
//! - `bench [api | upgrade]`: one table of wemixvisor beside its anchors
//!   (supervisord, `cp -a && sync`), each row with its goal and verdict.
//! - `demo`: a temporary home with a simulated node, an upgrade scheduled a
//!   few blocks ahead, the switch-over as it happens, and the result.

mod bench;
mod ci;
mod coverage;
mod demo;
mod deploy_checks;
mod deps;
mod dist;
mod fuzz;
mod gen;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

fn usage() -> &'static str {
    "usage: cargo xtask <task>\n\ntasks:\n  ci         format check, clippy, test tools, the whole test suite\n  e2e-deps   install the end-to-end test tools into .cache/e2e\n  gen        regenerate completions, man pages and the systemd unit (--check: verify)
  deploy-checks  systemd-analyze, kubernetes-validate and actionlint
  coverage   line and region coverage per crate (cargo-llvm-cov), with a floor
  dist       release tarballs, SHA256SUMS, manifest.json, signatures (--sign-key)
  package    cargo package of the library crates, and cargo doc
  darwin-check  clippy of the workspace for both macOS targets (zig cc, no SDK)
  fuzz       run the fuzz targets (cargo-fuzz, nightly) [--time S seconds each] [TARGET...]
  demo       show an upgrade of a simulated node from start to finish\n  bench      one table beside the anchors (supervisord, cp -a): RSS, CPU, restart, upgrade downtime, snapshots, API load [api | upgrade: those rows alone]"
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(),
        Some("e2e-deps") => deps::install(),
        Some("demo") => demo::run(),
        Some("gen") => gen::run(&args[1..]),
        Some("deploy-checks") => deploy_checks::run(),
        Some("package") => ci::package(),
        Some("darwin-check") => ci::darwin_check(),
        Some("dist") => dist::run(&args[1..]),
        Some("coverage") => coverage::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            println!("{}", usage());
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown task '{other}'\n\n{}", usage())),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// The workspace root (xtask always runs from there).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command from the workspace root, failing on a non-zero exit.
pub fn sh(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run {}", describe(cmd)))?;
    if !status.success() {
        bail!("{} failed ({status})", describe(cmd));
    }
    Ok(())
}

/// `cargo` as invoked by `cargo xtask`.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
