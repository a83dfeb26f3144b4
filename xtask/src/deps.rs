//! `cargo xtask e2e-deps`: the external tools the end-to-end tests run.
//!
//! Everything lands in `.cache/e2e/` under the workspace root, and each tool
//! is linked at `.cache/e2e/bin/<tool>`, which is where the tests look.
//! Installing twice is a no-op. npm packages go into the cache; Debian
//! packages (Alertmanager) are installed with apt-get and linked there.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::{root, sh};

/// The anvil build the tests are written against.
pub const ANVIL_PACKAGE: &str = "@foundry-rs/anvil-linux-amd64@1.7.1";
/// The property-based HTTP tester the API's contract test runs (PyPI).
pub const SCHEMATHESIS_PACKAGE: &str = "schemathesis==4.32.5";
/// The Solidity compiler (solc-js) for the contracts the tests deploy.
pub const SOLC_PACKAGE: &str = "solc@0.8.37";

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

/// Installs every end-to-end tool: anvil and solc (solcjs), and Debian's
/// `prometheus` (the server the API test scrapes with, and promtool) and
/// `prometheus-alertmanager` (the receiver of the alerts test).
pub fn install() -> Result<()> {
    install_anvil()?;
    install_solc()?;
    apt_install("prometheus", "prometheus")?;
    install_schemathesis()?;
    install_alertmanager()?;
    Ok(())
}

/// Installs schemathesis into the shared venv `.cache/venv`; returns the
/// path of its command.
pub fn install_schemathesis() -> Result<PathBuf> {
    let venv = root().join(".cache").join("venv");
    let bin = venv.join("bin");
    let st = bin.join("schemathesis");
    if tool_works(&st, "--version") {
        eprintln!(
            "e2e-deps: schemathesis already installed at {}",
            st.display()
        );
        return Ok(st);
    }
    if !bin.join("pip").exists() {
        sh(Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .context("cannot create the Python venv (Debian: apt-get install python3-venv)")?;
    }
    sh(Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(SCHEMATHESIS_PACKAGE))?;
    if !tool_works(&st, "--version") {
        bail!("{} does not run", st.display());
    }
    eprintln!("e2e-deps: schemathesis installed at {}", st.display());
    Ok(st)
}

/// Installs a Debian package unless `probe --version` already runs; needs
/// root and apt-get, else says what to install.
pub fn apt_install(package: &str, probe: &str) -> Result<()> {
    if tool_works(Path::new(probe), "--version") {
        eprintln!("e2e-deps: {probe} already installed");
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root || !tool_works(Path::new("apt-get"), "--version") {
        bail!("{probe} is missing: install the Debian package `{package}` (apt-get install {package})");
    }
    let install = || {
        sh(Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends", package])
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    if install().is_err() {
        sh(Command::new("apt-get").args(["update", "-qq"]))?;
        install()?;
    }
    if !tool_works(Path::new(probe), "--version") {
        bail!("`{package}` is installed but {probe} does not run");
    }
    eprintln!("e2e-deps: {package} installed");
    Ok(())
}

fn npm_install(cache: &Path, package: &str) -> Result<()> {
    std::fs::create_dir_all(cache)?;
    sh(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(cache)
        .arg(package))
    .context("npm is needed to install the end-to-end test tools")
}

/// Installs anvil (npm) into the cache; returns the path of `anvil`.
pub fn install_anvil() -> Result<PathBuf> {
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
    npm_install(&cache, ANVIL_PACKAGE)?;
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

/// Installs solc-js (npm) into the cache; returns the path of `solcjs`.
pub fn install_solc() -> Result<PathBuf> {
    let cache = cache_dir();
    let bin = cache.join("bin");
    let solc = bin.join("solcjs");
    if tool_works(&solc, "--version") {
        eprintln!("e2e-deps: solcjs already installed at {}", solc.display());
        return Ok(solc);
    }
    npm_install(&cache, SOLC_PACKAGE)?;
    let real = cache.join("node_modules/solc/solc.js");
    if !real.exists() {
        bail!("{SOLC_PACKAGE} did not install {}", real.display());
    }
    let solc = link(&bin, "solcjs", &real)?;
    if !tool_works(&solc, "--version") {
        bail!("{} does not run (node is needed)", solc.display());
    }
    eprintln!("e2e-deps: solcjs installed at {}", solc.display());
    Ok(solc)
}

/// Installs Alertmanager (Debian `prometheus-alertmanager`) and links it at
/// `.cache/e2e/bin/alertmanager`, where the tests look; returns that path.
pub fn install_alertmanager() -> Result<PathBuf> {
    apt_install("prometheus-alertmanager", "prometheus-alertmanager")?;
    let am = link(
        &cache_dir().join("bin"),
        "alertmanager",
        Path::new("/usr/bin/prometheus-alertmanager"),
    )?;
    if !tool_works(&am, "--version") {
        bail!("{} does not run", am.display());
    }
    eprintln!("e2e-deps: alertmanager linked at {}", am.display());
    Ok(am)
}
