//! `cargo xtask e2e-deps`: the external tools the end-to-end tests run.
//!
//! Everything lands in `.cache/e2e/` under the workspace root, and each tool
//! is linked at `.cache/e2e/bin/<tool>`, which is where the tests look.
//! Installing twice is a no-op.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{root, sh};

/// The anvil build the tests are written against.
pub const ANVIL_PACKAGE: &str = "@foundry-rs/anvil-linux-amd64@1.7.1";

/// `.cache/e2e`.
pub fn cache_dir() -> PathBuf {
    root().join(".cache").join("e2e")
}

fn link(bin_dir: &Path, name: &str, target: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(bin_dir)?;
    let dst = bin_dir.join(name);
    let _ = std::fs::remove_file(&dst);
    std::os::unix::fs::symlink(target, &dst)
        .with_context(|| format!("cannot link {}", dst.display()))?;
    Ok(dst)
}

fn tool_works(path: &Path, arg: &str) -> bool {
    Command::new(path)
        .arg(arg)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Installs anvil (npm) into the cache; returns the path of `anvil`.
pub fn install() -> Result<PathBuf> {
    let cache = cache_dir();
    let bin = cache.join("bin");
    let anvil = bin.join("anvil");
    if tool_works(&anvil, "--version") {
        eprintln!("e2e-deps: anvil already installed at {}", anvil.display());
        return Ok(anvil);
    }
    if std::env::consts::OS != "linux" || std::env::consts::ARCH != "x86_64" {
        bail!(
            "e2e-deps installs {ANVIL_PACKAGE}, which runs on linux/x86_64 only; on this machine put an anvil binary at {}",
            anvil.display()
        );
    }
    std::fs::create_dir_all(&cache)?;
    sh(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&cache)
        .arg(ANVIL_PACKAGE))
    .context("npm is needed to install the end-to-end test tools")?;
    let real = cache.join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    if !real.exists() {
        bail!("{ANVIL_PACKAGE} did not install {}", real.display());
    }
    let anvil = link(&bin, "anvil", &real)?;
    if !tool_works(&anvil, "--version") {
        bail!("{} does not run", anvil.display());
    }
    eprintln!("e2e-deps: anvil installed at {}", anvil.display());
    Ok(anvil)
}
