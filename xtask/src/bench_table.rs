//! The one table `cargo xtask bench` prints: a row per figure with ours,
//! the anchor it is compared with, the goal, and whether the goal is met or
//! by how much it is missed; and the /proc readings behind the profiles.

use std::collections::BTreeMap;
use std::io::Write;

/// A goal on a figure, in the figure's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// The figure must not exceed this.
    AtMost(f64),
    /// The figure must reach at least this.
    AtLeast(f64),
}

/// "met", or `missed by <how much> <unit> (<percent of the goal>)`; a
/// figure that could not be measured (NaN) is "not measured".
pub fn verdict(value: f64, goal: Goal, unit: &str) -> String {
    if value.is_nan() {
        return "not measured".into();
    }
    let (limit, over) = match goal {
        Goal::AtMost(g) => (g, value - g),
        Goal::AtLeast(g) => (g, g - value),
    };
    if over <= 0.0 {
        return "met".into();
    }
    let sep = if unit.is_empty() || unit.starts_with('×') {
        ""
    } else {
        " "
    };
    let amount = format!("{}{sep}{unit}", fmt_num(over));
    if limit.abs() > f64::EPSILON {
        format!("missed by {amount} ({:.0} %)", over / limit.abs() * 100.0)
    } else {
        format!("missed by {amount}")
    }
}

/// Three significant digits at most, no trailing zeros: 0.012, 3.2, 41.
fn fmt_num(v: f64) -> String {
    let a = v.abs();
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        3
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// One row of the table.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub measure: String,
    pub ours: String,
    pub anchor: String,
    pub goal: String,
    pub verdict: String,
}

impl Row {
    /// A row without a goal.
    pub fn info(
        measure: impl Into<String>,
        ours: impl Into<String>,
        anchor: impl Into<String>,
    ) -> Row {
        Row {
            measure: measure.into(),
            ours: ours.into(),
            anchor: anchor.into(),
            ..Row::default()
        }
    }

    /// A row judged against `goal`.
    pub fn judged(
        measure: impl Into<String>,
        ours: impl Into<String>,
        anchor: impl Into<String>,
        goal_text: impl Into<String>,
        verdict: String,
    ) -> Row {
        Row {
            measure: measure.into(),
            ours: ours.into(),
            anchor: anchor.into(),
            goal: goal_text.into(),
            verdict,
        }
    }
}

/// The table's header, as the backup benchmark's rows expect it.
pub const HEADER: &str =
    "| measure | wemixvisor | anchor | goal | verdict |\n|---|---|---|---|---|";

/// Writes the header and `rows` as a Markdown table.
pub fn write_table(out: &mut impl Write, rows: &[Row]) -> std::io::Result<()> {
    writeln!(out, "{HEADER}")?;
    for r in rows {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.measure, r.ours, r.anchor, r.goal, r.verdict
        )?;
    }
    Ok(())
}

/// The `key: N kB` fields of `/proc/<pid>/smaps_rollup` (or `status`), in
/// kB; lines that are not such a field are skipped.
pub fn parse_kb_fields(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            let mut it = v.split_whitespace();
            let n = it.next()?.parse().ok()?;
            (it.next()? == "kB").then(|| (k.trim().to_string(), n))
        })
        .collect()
}

/// Where a process's resident memory goes, from `smaps_rollup` and the
/// thread count: "Rss 11.2 MiB = anon 1.1 + file 10.1 + shmem 0; private
/// dirty 1.0, ...; 3 threads".
pub fn rss_breakdown(smaps_rollup: &str, threads: usize) -> String {
    let f = parse_kb_fields(smaps_rollup);
    let mib = |k: &str| {
        f.get(k)
            .map(|v| fmt_num(*v as f64 / 1024.0))
            .unwrap_or_else(|| "?".into())
    };
    format!(
        "Rss {} MiB (Pss {}: Pss_Anon {} + Pss_File {} + Pss_Shmem {}; Private_Clean {}, Private_Dirty {}, Shared_Clean {}, Swap {}), {threads} thread(s)",
        mib("Rss"),
        mib("Pss"),
        mib("Pss_Anon"),
        mib("Pss_File"),
        mib("Pss_Shmem"),
        mib("Private_Clean"),
        mib("Private_Dirty"),
        mib("Shared_Clean"),
        mib("Swap"),
    )
}

/// `Threads:` of `/proc/<pid>/status`.
pub fn threads_of(status: &str) -> Option<usize> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Context switches (voluntary + involuntary) in a task's `status`: each
/// is a wake-up or a preemption, which is where idle CPU goes.
pub fn ctxt_switches(status: &str) -> u64 {
    status
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.ends_with("ctxt_switches")
                .then(|| v.trim().parse::<u64>().ok())
                .flatten()
        })
        .sum()
}

/// The median (upper middle) of sorted samples; NaN when there are none.
pub fn median(sorted: &[f64]) -> f64 {
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The p-th quantile (0..1) of sorted samples; NaN when there are none.
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len() - 1);
    sorted[i]
}

/// The gaps (ms) from each `exit <ns>` mark to the `start <ns>` mark that
/// follows it, sorted; malformed lines are skipped.
pub fn restart_gaps(marks: &str) -> Vec<f64> {
    let mut last_exit: Option<u64> = None;
    let mut gaps = Vec::new();
    for l in marks.lines() {
        let Some((kind, t)) = l.split_once(' ') else {
            continue;
        };
        let Ok(t) = t.trim().parse::<u64>() else {
            continue;
        };
        match kind {
            "exit" => last_exit = Some(t),
            "start" => {
                if let Some(e) = last_exit.take() {
                    gaps.push(t.saturating_sub(e) as f64 / 1e6);
                }
            }
            _ => {}
        }
    }
    gaps.sort_by(|a, b| a.total_cmp(b));
    gaps
}

/// Where one switch-over's time goes, from `strace -f -tt -T` of the
/// supervisor: SIGTERM to the old node until the exec of the new one.
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchProfile {
    /// SIGTERM to the new node's exec, ms.
    pub window_ms: f64,
    /// fsync/fdatasync calls in the window and the time they took, ms.
    pub syncs: usize,
    pub sync_ms: f64,
    /// rename calls in the window.
    pub renames: usize,
}

/// Reads a `strace -f -tt -T` log: the first SIGTERM sent (kill, tgkill or
/// pidfd_send_signal) up to the next `execve` (the new node's); None when
/// either is missing.
pub fn switch_profile(trace: &str) -> Option<SwitchProfile> {
    // "<pid> HH:MM:SS.ffffff <call>": seconds of the day and the call.
    let parse = |l: &str| -> Option<(f64, String)> {
        // strace pads the pid column.
        let rest = l.trim_start();
        let (_pid, rest) = rest.split_once(' ')?;
        let (t, rest) = rest.trim_start().split_once(' ')?;
        let rest = rest.to_string();
        let mut hms = t.split(':');
        let h: f64 = hms.next()?.parse().ok()?;
        let m: f64 = hms.next()?.parse().ok()?;
        let s: f64 = hms.next()?.parse().ok()?;
        Some((h * 3600.0 + m * 60.0 + s, rest))
    };
    let duration = |call: &str| -> f64 {
        call.rsplit_once('<')
            .and_then(|(_, d)| d.trim_end().strip_suffix('>')?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let is = |call: &str, names: &[&str]| {
        names.iter().any(|n| {
            call.starts_with(&format!("{n}(")) || call.starts_with(&format!("<... {n} resumed>"))
        })
    };
    let mut start: Option<f64> = None;
    let (mut syncs, mut sync_ms, mut renames) = (0, 0.0, 0);
    for l in trace.lines() {
        let Some((t, call)) = parse(l) else { continue };
        let Some(t0) = start else {
            if is(&call, &["kill", "tgkill", "pidfd_send_signal"]) && call.contains("SIGTERM") {
                start = Some(t);
            }
            continue;
        };
        if call.starts_with("execve(") {
            return Some(SwitchProfile {
                window_ms: (t - t0) * 1e3,
                syncs,
                sync_ms,
                renames,
            });
        }
        let finished = !call.contains("<unfinished ...>");
        if finished && is(&call, &["fsync", "fdatasync"]) {
            syncs += 1;
            sync_ms += duration(&call) * 1e3;
        } else if finished && is(&call, &["rename", "renameat", "renameat2"]) {
            renames += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_met_at_and_under_the_limit() {
        assert_eq!(verdict(8.0, Goal::AtMost(8.0), "MiB"), "met");
        assert_eq!(verdict(7.9, Goal::AtMost(8.0), "MiB"), "met");
        assert_eq!(verdict(0.95, Goal::AtLeast(0.9), "×"), "met");
    }

    #[test]
    fn verdict_says_by_how_much_and_the_share_of_the_goal() {
        assert_eq!(
            verdict(11.2, Goal::AtMost(8.0), "MiB"),
            "missed by 3.2 MiB (40 %)"
        );
        assert_eq!(
            verdict(0.5, Goal::AtLeast(0.9), "×"),
            "missed by 0.4× (44 %)"
        );
        assert_eq!(
            verdict(0.125, Goal::AtMost(0.05), "% of a core"),
            "missed by 0.075 % of a core (150 %)"
        );
        assert_eq!(verdict(3.0, Goal::AtMost(0.0), "ms"), "missed by 3 ms");
        assert_eq!(verdict(f64::NAN, Goal::AtMost(1.0), "ms"), "not measured");
    }

    const ROLLUP: &str =
        "55d0c8a00000-7ffd1a5f3000 ---p 00000000 00:00 0                          [rollup]
Rss:               11468 kB
Pss:                2313 kB
Pss_Dirty:          1100 kB
Pss_Anon:           1096 kB
Pss_File:           1217 kB
Pss_Shmem:             0 kB
Shared_Clean:      10240 kB
Shared_Dirty:          0 kB
Private_Clean:       128 kB
Private_Dirty:      1100 kB
Referenced:        11468 kB
Anonymous:          1100 kB
Swap:                  0 kB
";

    #[test]
    fn smaps_rollup_fields_parse_in_kb_and_the_header_is_skipped() {
        let f = parse_kb_fields(ROLLUP);
        assert_eq!(f.get("Rss"), Some(&11468));
        assert_eq!(f.get("Pss_Anon"), Some(&1096));
        assert_eq!(f.get("Private_Dirty"), Some(&1100));
        assert_eq!(f.len(), 13);
        assert!(parse_kb_fields("Rss: lots kB\nName: x\n").is_empty());
    }

    #[test]
    fn rss_breakdown_names_each_part_in_mib_with_the_threads() {
        let b = rss_breakdown(ROLLUP, 3);
        assert!(
            b.starts_with("Rss 11.2 MiB (Pss 2.26: Pss_Anon 1.07 + Pss_File 1.19 + Pss_Shmem 0;"),
            "{b}"
        );
        assert!(b.contains("Shared_Clean 10,"), "{b}");
        assert!(b.ends_with("3 thread(s)"), "{b}");
        assert!(rss_breakdown("", 1).starts_with("Rss ? MiB"));
    }

    #[test]
    fn status_threads_and_context_switches() {
        let status = "Name:\twemixvisor\nThreads:\t3\nvoluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t7\n";
        assert_eq!(threads_of(status), Some(3));
        assert_eq!(ctxt_switches(status), 127);
        assert_eq!(threads_of("Name: x\n"), None);
    }

    #[test]
    fn restart_gaps_pair_each_exit_with_the_next_start() {
        let marks = "start 1000000\nexit 2000000\nstart 7000000\nexit 8000000\ngarbage\nstart 8500000\nstart 9000000\n";
        assert_eq!(restart_gaps(marks), vec![0.5, 5.0]);
        assert!(restart_gaps("exit 5\n").is_empty());
    }

    #[test]
    fn median_and_quantiles_of_sorted_samples() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(median(&v), 3.0);
        assert_eq!(quantile(&v, 0.9), 4.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn switch_profile_sums_the_syncs_between_sigterm_and_the_new_exec() {
        let trace = "\
100 10:00:00.000000 fsync(3) = 0 <0.500000>
99  10:00:00.900000 execve(\"/tmp/v7-node\", [\"--help\"], 0x0) = 0 <0.000300>
100 10:00:01.000000 kill(-200, SIGTERM) = 0 <0.000010>
101 10:00:01.010000 fsync(7 <unfinished ...>
100 10:00:01.011000 renameat2(AT_FDCWD, \"a.tmp\", AT_FDCWD, \"a\", 0) = 0 <0.000020>
101 10:00:01.015000 <... fsync resumed>) = 0 <0.005000>
101 10:00:01.020000 fdatasync(8) = 0 <0.002500>
300 10:00:01.040000 execve(\"/tmp/current/bin/geth\", [\"x\"], 0x0) = 0 <0.000300>
300 10:00:01.041000 execve(\"/tmp/devnode\", [\"x\"], 0x0) = 0 <0.000300>
300 10:00:01.050000 fsync(9) = 0 <0.100000>
";
        let p = switch_profile(trace).expect("a window");
        assert!((p.window_ms - 40.0).abs() < 1e-6, "{p:?}");
        assert_eq!(p.syncs, 2);
        assert!((p.sync_ms - 7.5).abs() < 1e-6, "{p:?}");
        assert_eq!(p.renames, 1);
        let no_exec: String = trace
            .lines()
            .filter(|l| !l.contains("execve"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(switch_profile(&no_exec), None);
        assert_eq!(switch_profile("100 10:00:00.0 fsync(3) = 0 <0.1>\n"), None);
    }
}
