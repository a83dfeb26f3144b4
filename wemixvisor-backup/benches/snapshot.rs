//! Snapshot benchmark: full snapshot against `cp -a && sync` of the same
//! tree (goal: at least 0.9× its speed), incremental snapshot after ~1 % of
//! the data changed against a full one (goal: at most 5 % of its time),
//! verify throughput and restore time, on a synthetic geth-shaped
//! chain-data: LevelDB tables, freezer files that grow by appends, small
//! mutable files (CURRENT, MANIFEST, LOG), the node key and a keystore.
//!
//! `cargo bench -p wemixvisor-backup --bench snapshot`
//!
//! - `WEMIXVISOR_BENCH_BYTES`: data size (`1G`, `64M`, `500000`; default 640M)
//! - `WEMIXVISOR_BENCH_FORMAT=rows`: print only the table rows (`cargo xtask
//!   bench` puts them in its own table)
//! - `WEMIXVISOR_BENCH_ROUNDS`: rounds of each measurement (default 3)
//! - `WEMIXVISOR_BENCH_DIR`: where to work (default: the target directory)
//! - `WEMIXVISOR_BENCH_THREADS`: copy threads (default: the library's choice)
//! - `WEMIXVISOR_BENCH_GENERATE=<dir>`: only write the geth-shaped data of
//!   `WEMIXVISOR_BENCH_BYTES` into `<dir>` (the upgrade rows of `cargo
//!   xtask bench` snapshot it)
//!
//! Page caches cannot be dropped here, so `cp -a` and the snapshot run
//! alternately (the order rotates each round) and medians are reported.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use wemixvisor_backup::test_utils::{freezer_split, geth_like_tree, mutate_geth_like};
use wemixvisor_backup::{BackupOptions, Backups, CreateRequest, PruneRequest};
use wemixvisor_core::Home;

type Res<T> = Result<T, Box<dyn Error>>;

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'G' | 'g') => (&s[..i], 1u64 << 30),
        (i, 'M' | 'm') => (&s[..i], 1 << 20),
        (i, 'K' | 'k') => (&s[..i], 1 << 10),
        _ => (s, 1),
    };
    num.trim()
        .parse::<f64>()
        .ok()
        .map(|n| (n * mult as f64) as u64)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn mbps(bytes: u64, d: Duration) -> String {
    format!("{:.0} MB/s", bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9))
}

/// "met", or "missed by <how much> (<percent of the goal>)", as the
/// `cargo xtask bench` table says it.
fn verdict(value: f64, goal: f64, at_least: bool, unit: &str) -> String {
    let over = if at_least { goal - value } else { value - goal };
    if value.is_nan() {
        "not measured".into()
    } else if over <= 0.0 {
        "met".into()
    } else {
        let sep = if unit.starts_with('×') { "" } else { " " };
        format!(
            "missed by {over:.2}{sep}{unit} ({:.0} %)",
            over / goal.abs().max(1e-9) * 100.0
        )
    }
}

fn run(cmd: &mut Command) -> Res<()> {
    let st = cmd.status()?;
    if !st.success() {
        return Err(format!("{cmd:?} failed: {st}").into());
    }
    Ok(())
}

fn sync() -> Res<()> {
    run(&mut Command::new("sync"))
}

fn timed<T>(f: impl FnOnce() -> Res<T>) -> Res<(Duration, T)> {
    let t = Instant::now();
    let v = f()?;
    Ok((t.elapsed(), v))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Removes a tree, making read-only snapshot files no obstacle.
fn remove(p: &Path) -> Res<()> {
    if p.exists() {
        std::fs::remove_dir_all(p)?;
    }
    Ok(())
}

fn main() -> Res<()> {
    let bytes = std::env::var("WEMIXVISOR_BENCH_BYTES")
        .ok()
        .map(|s| parse_size(&s).ok_or(format!("WEMIXVISOR_BENCH_BYTES='{s}' is not a size")))
        .transpose()?
        .unwrap_or(640 << 20);
    let rounds: usize = std::env::var("WEMIXVISOR_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    if let Some(dir) = std::env::var_os("WEMIXVISOR_BENCH_GENERATE") {
        let st = geth_like_tree(Path::new(&dir), bytes, 1)?;
        sync()?;
        println!("{} files, {} bytes", st.files, st.bytes);
        return Ok(());
    }
    let base_parent = std::env::var_os("WEMIXVISOR_BENCH_DIR")
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO_TARGET_TMPDIR").map(PathBuf::from))
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&base_parent)?;
    let base = base_parent.join(format!("wemixvisor-bench-{}", std::process::id()));
    remove(&base)?;
    let result = bench(&base, bytes, rounds);
    let cleaned = remove(&base);
    result?;
    cleaned
}

fn bench(base: &Path, bytes: u64, rounds: usize) -> Res<()> {
    let rows_only = std::env::var("WEMIXVISOR_BENCH_FORMAT").is_ok_and(|v| v == "rows");
    let home = Home::new(base.join("home"));
    for d in home.layout_dirs() {
        wemixvisor_core::atomic::create_dir_private(&d)?;
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    eprintln!(
        "wemixvisor-backup snapshot benchmark\nmachine: {} ({} cores), kernel {}\nwork dir: {}",
        cpu_model(),
        threads,
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "?".into()),
        base.display()
    );
    let (gen_t, st) = timed(|| Ok(geth_like_tree(&home.data_dir(), bytes, 1)?))?;
    sync()?;

    let base_opts = BackupOptions {
        threads: std::env::var("WEMIXVISOR_BENCH_THREADS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        ..BackupOptions::default()
    };
    // The pre-upgrade case: node stopped, tables shared with its data.
    let shared = Backups::new(home.clone(), base_opts.clone())?;
    // Every byte copied (what a snapshot of a running node costs).
    let copying = Backups::new(
        home.clone(),
        BackupOptions {
            share_live_tables: false,
            ..base_opts
        },
    )?;
    let drop_all = |b: &Backups| -> Res<()> {
        b.prune(&PruneRequest {
            manual: true,
            keep: Some(0),
            pre_restore: true,
            ..PruneRequest::default()
        })?;
        Ok(())
    };

    // 1. Full snapshot vs cp -a && sync, alternating.
    eprintln!("bench: full snapshots against cp -a && sync, {rounds} round(s) ...");
    let mut cp_sync = Vec::new();
    let mut ours_shared = Vec::new();
    let mut ours_copy = Vec::new();
    let cp_dst = base.join("cp-copy");
    for r in 0..rounds {
        let cp_run = || -> Res<Duration> {
            remove(&cp_dst)?;
            sync()?;
            let (t, ()) = timed(|| {
                run(Command::new("cp")
                    .arg("-a")
                    .arg(home.data_dir())
                    .arg(&cp_dst))?;
                sync()
            })?;
            remove(&cp_dst)?;
            Ok(t)
        };
        let our_run = |b: &Backups| -> Res<Duration> {
            drop_all(b)?;
            sync()?;
            let (t, _) = timed(|| Ok(b.create(&CreateRequest::manual(Some("full".into())))?))?;
            drop_all(b)?;
            Ok(t)
        };
        // Rotate the order every round so none always runs right after
        // another one's deletion.
        for k in 0..3 {
            match (k + r) % 3 {
                0 => cp_sync.push(cp_run()?),
                1 => ours_copy.push(our_run(&copying)?),
                _ => ours_shared.push(our_run(&shared)?),
            }
        }
    }
    let (cp_sync_m, shared_m, copy_m) = (median(cp_sync), median(ours_shared), median(ours_copy));

    // 2. Incremental after ~1 % changed (compaction, freezer appends, small
    // files): a full snapshot, then rounds of (change 1 %, wait out the racy
    // window, snapshot), with tables shared and with every new table copied.
    eprintln!("bench: incremental snapshots ...");
    let incremental = |b: &Backups, seed: u64| -> Res<(Duration, u64, u64, u64, String)> {
        sync()?;
        let full = b.create(&CreateRequest::manual(Some("base".into())))?;
        let mut times = Vec::new();
        let (mut copied, mut tails, mut changed) = (0, 0, 0);
        let mut last = full.id;
        for r in 0..rounds {
            let m = mutate_geth_like(&home.data_dir(), 0.01, seed + r as u64)?;
            changed = m.changed_bytes;
            sync()?;
            std::thread::sleep(Duration::from_millis(2100));
            let (t, rep) =
                timed(|| Ok(b.create(&CreateRequest::manual(Some(format!("incr{r}"))))?))?;
            times.push(t);
            copied = rep.totals.copied_bytes;
            tails = rep.totals.tail_files;
            last = rep.id;
        }
        Ok((median(times), changed, copied, tails, last))
    };
    let (incr_copy_m, _, incr_copy_bytes, _, _) = incremental(&copying, 200)?;
    drop_all(&copying)?;
    let (incr_m, changed, incr_copied, incr_tails, mut last_id) = incremental(&shared, 100)?;
    // The floor: a snapshot when nothing changed (scan, links, manifest, sync).
    let mut idle = Vec::new();
    for r in 0..rounds {
        let (t, rep) =
            timed(|| Ok(shared.create(&CreateRequest::manual(Some(format!("idle{r}"))))?))?;
        idle.push(t);
        last_id = rep.id;
    }
    let idle_m = median(idle);

    // 3. Verify throughput and 4. restore time of the newest snapshot, the
    // restore against cp -a && sync of the same bytes.
    eprintln!("bench: verify and restore ...");
    let info = shared.find(&last_id)?;
    let mut ver = Vec::new();
    let mut res = Vec::new();
    for _ in 0..rounds {
        let (t, rep) = timed(|| Ok(shared.verify(&last_id)?))?;
        if !rep.ok() {
            return Err(format!("verify found {} problems", rep.problems.len()).into());
        }
        ver.push(t);
        sync()?;
        let (t, _) = timed(|| Ok(shared.restore(&last_id)?))?;
        res.push(t);
        shared.prune(&PruneRequest {
            pre_restore: true,
            keep: Some(u32::MAX),
            ..PruneRequest::default()
        })?;
    }
    let (ver_m, res_m) = (median(ver), median(res));
    drop_all(&shared)?;

    let pct = |a: Duration, b: Duration| 100.0 * a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    let speed = |t: Duration| cp_sync_m.as_secs_f64() / t.as_secs_f64().max(1e-9);
    if !rows_only {
        println!("| measure | wemixvisor | anchor | goal | verdict |");
        println!("|---|---|---|---|---|");
    }
    let _ = gen_t;
    println!(
        "| backup data: {} files, {:.2} GB geth-shaped ({} cores; median of {rounds}) | .ldb tables, freezer split at {:.1} MB with appends, small mutable files, node key and keystore | | | |",
        st.files,
        st.bytes as f64 / 1e9,
        threads,
        freezer_split(bytes) as f64 / 1e6,
    );
    let cp_cell = format!(
        "`cp -a && sync` {} ({})",
        secs(cp_sync_m),
        mbps(st.bytes, cp_sync_m)
    );
    for (what, t) in [
        ("full snapshot, durable, every byte copied", copy_m),
        (
            "full snapshot, durable, node stopped (tables shared, hashed)",
            shared_m,
        ),
    ] {
        println!(
            "| {what} | {} ({}), {:.2}× `cp -a && sync` speed | {cp_cell} | ≥ 0.9× `cp -a && sync` | {} |",
            secs(t),
            mbps(st.bytes, t),
            speed(t),
            verdict(speed(t), 0.9, true, "×")
        );
    }
    println!(
        "| incremental, {:.2} % changed ({:.1} MB, {incr_tails} freezer appends), node stopped | {} ({:.1} MB stored), {:.1} % of the full snapshot's time (node stopped) | full (node stopped) {}; every byte copied {} ({:.1} %) | ≤ 5 % of a full | {} |",
        100.0 * changed as f64 / st.bytes as f64,
        changed as f64 / 1e6,
        secs(incr_m),
        incr_copied as f64 / 1e6,
        pct(incr_m, shared_m),
        secs(shared_m),
        secs(copy_m),
        pct(incr_m, copy_m),
        verdict(pct(incr_m, shared_m), 5.0, false, "%")
    );
    println!(
        "| incremental, same change, every new table copied | {} ({:.1} MB copied), {:.1} % of the full snapshot's time | full, every byte copied {} | | |",
        secs(incr_copy_m),
        incr_copy_bytes as f64 / 1e6,
        pct(incr_copy_m, copy_m),
        secs(copy_m),
    );
    println!(
        "| incremental, nothing changed ({} files linked) | {}, {:.1} % of the full snapshot's time | | | |",
        st.files,
        secs(idle_m),
        pct(idle_m, shared_m)
    );
    println!(
        "| verify ({:.2} GB, every segment) | {} ({}) | | | |",
        info.logical_bytes as f64 / 1e9,
        secs(ver_m),
        mbps(info.logical_bytes, ver_m)
    );
    println!(
        "| restore, verified + durable ({:.2} GB) | {} ({}), {:.2}× `cp -a && sync` speed | {cp_cell} | | |",
        info.logical_bytes as f64 / 1e9,
        secs(res_m),
        mbps(info.logical_bytes, res_m),
        speed(res_m)
    );
    Ok(())
}
