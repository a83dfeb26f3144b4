//! The backup rows of `cargo xtask bench`: runs the snapshot benchmark of
//! `wemixvisor-backup` (release build, `WEMIXVISOR_BENCH_BYTES` sets the
//! data size, default 640M) and puts its rows into the bench's table, so
//! full snapshot against `cp -a && sync`, incremental against full, verify
//! and restore figures come out of one run beside the supervisor's.

use std::process::Stdio;

use anyhow::{bail, Context, Result};

use super::bench_table::Row;
use crate::cargo;

/// `cargo bench` of `wemixvisor-backup`'s snapshot benchmark (release
/// build); its environment says what it does.
pub fn snapshot_bench() -> std::process::Command {
    let mut cmd = cargo();
    cmd.args([
        "bench",
        "--quiet",
        "-p",
        "wemixvisor-backup",
        "--bench",
        "snapshot",
    ]);
    cmd
}

/// Runs the snapshot benchmark and returns its rows (it prints them in
/// the bench table's five columns).
pub fn rows() -> Result<Vec<Row>> {
    eprintln!("bench: backup snapshots against cp -a && sync ...");
    let output = snapshot_bench()
        .env("WEMIXVISOR_BENCH_FORMAT", "rows")
        .stderr(Stdio::inherit())
        .output()
        .context("run the backup benchmark")?;
    if !output.status.success() {
        bail!("the backup benchmark failed: {}", output.status);
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let rows: Vec<Row> = text.lines().filter_map(parse_row).collect();
    if rows.is_empty() {
        bail!("the backup benchmark printed no table rows");
    }
    Ok(rows)
}

/// A `| measure | ours | anchor | goal | verdict |` line as a row; the
/// header, its rule and other lines are not rows.
fn parse_row(line: &str) -> Option<Row> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    let cells: Vec<&str> = inner.split('|').map(str::trim).collect();
    let [measure, ours, anchor, goal, verdict] = cells.as_slice() else {
        return None;
    };
    if *measure == "measure" || measure.starts_with("---") {
        return None;
    }
    Some(Row {
        measure: measure.to_string(),
        ours: ours.to_string(),
        anchor: anchor.to_string(),
        goal: goal.to_string(),
        verdict: verdict.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_cell_rows_parse_and_the_header_does_not() {
        let r = parse_row("| full snapshot | 1.2 s | cp 1.0 s | ≥ 0.9× | missed by 0.07× (8 %) |")
            .expect("a row");
        assert_eq!(r.measure, "full snapshot");
        assert_eq!(r.anchor, "cp 1.0 s");
        assert_eq!(r.verdict, "missed by 0.07× (8 %)");
        assert!(parse_row("| measure | wemixvisor | anchor | goal | verdict |").is_none());
        assert!(parse_row("|---|---|---|---|---|").is_none());
        let empty = parse_row("| backup data: 9 files | tables, freezer | | | |").expect("a row");
        assert_eq!(empty.ours, "tables, freezer");
        assert_eq!(empty.goal, "");
        assert!(parse_row("| a | b | c |").is_none());
        assert!(parse_row("bench: running").is_none());
    }
}
