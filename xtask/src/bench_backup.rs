//! The backup rows of `cargo xtask bench`: runs the snapshot benchmark of
//! `wemixvisor-backup` (release build, `WEMIXVISOR_BENCH_BYTES` sets the
//! data size, default 640M) and puts its rows into the bench's table, so
//! full snapshot, `cp -a && sync`, incremental and restore figures come out
//! of one run beside the supervisor's.

use std::io::Write;
use std::process::Stdio;

use anyhow::{bail, Context, Result};

use crate::cargo;

/// Runs the snapshot benchmark and writes its `| measure | value | goal |`
/// rows to `out`.
pub fn write_rows(out: &mut impl Write) -> Result<()> {
    eprintln!("bench: backup snapshots against cp -a && sync ...");
    let output = cargo()
        .args([
            "bench",
            "--quiet",
            "-p",
            "wemixvisor-backup",
            "--bench",
            "snapshot",
        ])
        .env("WEMIXVISOR_BENCH_FORMAT", "rows")
        .stderr(Stdio::inherit())
        .output()
        .context("run the backup benchmark")?;
    if !output.status.success() {
        bail!("the backup benchmark failed: {}", output.status);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
    if rows.is_empty() {
        bail!("the backup benchmark printed no table rows");
    }
    for row in rows {
        writeln!(out, "{row}")?;
    }
    Ok(())
}
