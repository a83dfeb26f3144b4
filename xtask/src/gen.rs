//! `cargo xtask gen [--check]`: the generated files that are checked in —
//! shell completions (`contrib/completions/`), man pages (`contrib/man/`),
//! the systemd unit (`deploy/systemd/wemixvisor.service`) and the API's
//! OpenAPI document (`docs/openapi.json`) — written by
//! the CLI's hidden `__generate` command. `--check` regenerates into a temp
//! dir and fails when the checked-in copies differ.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::{cargo, root, sh};

/// Generated directory or file → where it is checked in.
fn outputs(generated: &Path) -> Vec<(PathBuf, PathBuf)> {
    let root = root();
    vec![
        (
            generated.join("completions"),
            root.join("contrib/completions"),
        ),
        (generated.join("man"), root.join("contrib/man")),
        (
            generated.join("systemd/wemixvisor.service"),
            root.join("deploy/systemd/wemixvisor.service"),
        ),
        (
            generated.join("openapi.json"),
            root.join("docs/openapi.json"),
        ),
    ]
}

/// Runs `wemixvisor __generate <dir>`.
pub fn generate_into(dir: &Path) -> Result<()> {
    sh(cargo()
        .args([
            "run",
            "--quiet",
            "--locked",
            "-p",
            "wemixvisor-cli",
            "--",
            "__generate",
        ])
        .arg(dir))
}

/// `cargo xtask gen [--check]`.
pub fn run(args: &[String]) -> Result<()> {
    let check = args.iter().any(|a| a == "--check");
    let tmp = tempdir()?;
    generate_into(&tmp)?;
    let mut stale = Vec::new();
    for (from, to) in outputs(&tmp) {
        if check {
            stale.extend(diff(&from, &to)?);
        } else {
            copy(&from, &to)?;
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    if !stale.is_empty() {
        bail!(
            "generated files are out of date: {}\nhelp: run `cargo xtask gen` and commit the result",
            stale.join(", ")
        );
    }
    eprintln!(
        "xtask gen: {}",
        if check { "up to date" } else { "written" }
    );
    Ok(())
}

/// A fresh directory under `target/` (removed by the caller).
pub fn tempdir() -> Result<PathBuf> {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let dir = base.join(format!("xtask-tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create '{}'", dir.display()))?;
    Ok(dir)
}

fn files(dir: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    if dir.is_dir() {
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read '{}'", dir.display()))?
        {
            out.insert(entry?.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(out)
}

/// Paths (relative to the root) whose content differs between `new` and `old`.
fn diff(new: &Path, old: &Path) -> Result<Vec<String>> {
    let show = |p: &Path| p.strip_prefix(root()).unwrap_or(p).display().to_string();
    if new.is_file() {
        let a = std::fs::read(new)?;
        return Ok(match std::fs::read(old) {
            Ok(b) if a == b => vec![],
            _ => vec![show(old)],
        });
    }
    let (a, b) = (files(new)?, files(old)?);
    let mut out = Vec::new();
    for name in a.union(&b) {
        let (x, y) = (
            std::fs::read(new.join(name)).ok(),
            std::fs::read(old.join(name)).ok(),
        );
        if x.is_none() || x != y {
            out.push(show(&old.join(name)));
        }
    }
    Ok(out)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    if from.is_file() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from, to).with_context(|| format!("cannot write '{}'", to.display()))?;
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to)?;
    for name in files(from)? {
        std::fs::copy(from.join(&name), to.join(&name))
            .with_context(|| format!("cannot write '{}'", to.join(&name).display()))?;
    }
    Ok(())
}
