//! `cargo xtask fuzz [--time S]`: runs every target of `fuzz/` for S
//! seconds each (default 60) with cargo-fuzz on the nightly toolchain,
//! installing nightly (minimal profile) and cargo-fuzz when they are
//! missing. Seeds are in `fuzz/corpus/<target>/`; new inputs go to a
//! scratch corpus under the target directory, crashes to
//! `fuzz/artifacts/<target>/`. At the end it prints, per target, the
//! executions run and whether it crashed.
//!
//! The seeds also run on stable in `cargo test` (`tests/fuzz_seeds.rs`), so
//! CI needs no nightly to keep a fixed crash fixed.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{root, sh};

/// Every fuzz target.
pub const TARGETS: &[&str] = &[
    "upgrade_info",
    "batch_plan",
    "config_toml",
    "node_options",
    "manifest",
    "archive",
    "rpc",
    "api_bodies",
];

/// The executions libFuzzer reports in its final statistics
/// (`-print_final_stats=1`), or its last `#N` status line.
pub fn executions(line: &str, so_far: Option<u64>) -> Option<u64> {
    if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
        return n.trim().parse().ok().or(so_far);
    }
    // "#123456\tpulse  cov: ..." / "Done 123456 runs in 60 second(s)"
    if let Some(rest) = line.strip_prefix("Done ") {
        return rest.split_whitespace().next()?.parse().ok().or(so_far);
    }
    if let Some(rest) = line.strip_prefix('#') {
        let n = rest.split(|c: char| !c.is_ascii_digit()).next()?;
        return n.parse().ok().or(so_far);
    }
    so_far
}

fn tool_ok(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Nightly and cargo-fuzz, installed when missing.
pub fn ensure_tools() -> Result<()> {
    if !tool_ok(Command::new("cargo").args(["+nightly", "--version"])) {
        sh(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    if !tool_ok(Command::new("cargo").args(["+nightly", "fuzz", "--version"])) {
        sh(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}

/// Runs the task with its arguments.
pub fn run(args: &[String]) -> Result<()> {
    let mut secs: u64 = 60;
    let mut only: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--time" => {
                secs = it
                    .next()
                    .context("--time needs a number of seconds")?
                    .parse()
                    .context("--time needs a number of seconds")?
            }
            t if TARGETS.contains(&t) => only.push(t.to_string()),
            other => bail!(
                "unknown argument '{other}'\nusage: cargo xtask fuzz [--time S] [TARGET...]\nhelp: the targets are {}",
                TARGETS.join(", ")
            ),
        }
    }
    ensure_tools()?;
    let dir = root().join("fuzz");
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    sh(Command::new("cargo").current_dir(&dir).args([
        "+nightly",
        "fuzz",
        "build",
        "--sanitizer",
        "none",
    ]))
    .context("cannot build the fuzz targets")?;
    let mut report = Vec::new();
    for t in TARGETS
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| o == *t))
    {
        let seeds = dir.join("corpus").join(t);
        let scratch = target_dir.join("fuzz-corpus").join(t);
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("cannot create '{}'", scratch.display()))?;
        let started = Instant::now();
        let mut child = Command::new("cargo")
            .current_dir(&dir)
            .args(["+nightly", "fuzz", "run", "--sanitizer", "none", t])
            .arg(&scratch)
            .arg(&seeds)
            .args([
                "--",
                &format!("-max_total_time={secs}"),
                "-rss_limit_mb=2048",
                "-print_final_stats=1",
            ])
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run cargo fuzz")?;
        let mut execs = None;
        if let Some(err) = child.stderr.take() {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                execs = executions(&line, execs);
                eprintln!("{line}");
            }
        }
        let status = child.wait().context("cannot wait for cargo fuzz")?;
        report.push((t.to_string(), execs, status.success(), started.elapsed()));
    }
    eprintln!(
        "\n{:<14} {:>12} {:>8}  result",
        "target", "executions", "secs"
    );
    for (t, execs, ok, took) in &report {
        eprintln!(
            "{t:<14} {:>12} {:>8.0}  {}",
            execs.map_or("?".to_string(), |n| n.to_string()),
            took.as_secs_f64(),
            if *ok { "no crash" } else { "CRASH" }
        );
    }
    let crashed: Vec<&str> = report
        .iter()
        .filter(|r| !r.2)
        .map(|r| r.0.as_str())
        .collect();
    if !crashed.is_empty() {
        bail!(
            "fuzz targets crashed: {}\nhelp: the inputs are in fuzz/artifacts/<target>/; replay one with `cargo +nightly fuzz run <target> <file>` from fuzz/",
            crashed.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_come_from_libfuzzer_output() {
        let mut n = None;
        for line in [
            "INFO: Seed: 1234",
            "#2\tINITED cov: 10 ft: 10 corp: 1/1b exec/s: 0 rss: 30Mb",
            "#65536\tpulse  cov: 12 ft: 14 corp: 3/9b lim: 4 exec/s: 32768 rss: 31Mb",
        ] {
            n = executions(line, n);
        }
        assert_eq!(n, Some(65536));
        n = executions("Done 70001 runs in 2 second(s)", n);
        assert_eq!(n, Some(70001));
        n = executions("stat::number_of_executed_units: 70002", n);
        assert_eq!(n, Some(70002));
        assert_eq!(executions("stat::peak_rss_mb: 40", n), Some(70002));
        assert_eq!(executions("#garbage", None), None);
    }
}
