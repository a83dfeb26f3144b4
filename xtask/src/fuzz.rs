//! `cargo xtask fuzz [--time S]`: runs every target of `fuzz/` for S
//! seconds each (default 60) with cargo-fuzz on the nightly toolchain,
//! installing cargo-fuzz when it is missing. Seeds are in
//! `fuzz/corpus/<target>/`; new inputs go to a scratch corpus under
//! `target/`, crashes to `fuzz/artifacts/<target>/`.

use std::process::Command;

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

/// Runs the task with its arguments.
pub fn run(args: &[String]) -> Result<()> {
    let mut secs: u64 = 60;
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
            other => bail!("unknown argument '{other}'\nusage: cargo xtask fuzz [--time S]"),
        }
    }
    let have_fuzz = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_fuzz {
        sh(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let dir = root().join("fuzz");
    for t in TARGETS {
        let seeds = dir.join("corpus").join(t);
        let scratch = root().join("target").join("fuzz-corpus").join(t);
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("cannot create '{}'", scratch.display()))?;
        let status = Command::new("cargo")
            .current_dir(&dir)
            .args(["+nightly", "fuzz", "run", "--sanitizer", "none", t])
            .arg(&scratch)
            .arg(&seeds)
            .args([
                "--",
                &format!("-max_total_time={secs}"),
                "-rss_limit_mb=2048",
            ])
            .status()
            .context("cannot run cargo fuzz")?;
        if !status.success() {
            bail!("fuzz target '{t}' found a crash (see fuzz/artifacts/{t}/)");
        }
    }
    Ok(())
}
