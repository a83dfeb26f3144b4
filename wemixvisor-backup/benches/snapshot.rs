//! Snapshot benchmark: full snapshot against `cp -a` of the same tree,
//! incremental snapshot after ~1 % of the data changed, verify throughput
//! and restore time, on a synthetic geth-shaped chain-data.
//!
//! `cargo bench -p wemixvisor-backup --bench snapshot`
//!
//! - `WEMIXVISOR_BENCH_BYTES`: data size (`2G`, `64M`, `500000`; default 2G)
//! - `WEMIXVISOR_BENCH_ROUNDS`: rounds of each measurement (default 3)
//! - `WEMIXVISOR_BENCH_DIR`: where to work (default: the target directory)
//! - `WEMIXVISOR_BENCH_THREADS`: copy threads (default: the library's choice)
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
        .unwrap_or(2 << 30);
    let rounds: usize = std::env::var("WEMIXVISOR_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
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
    let home = Home::new(base.join("home"));
    for d in home.layout_dirs() {
        wemixvisor_core::atomic::create_dir_private(&d)?;
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
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
    println!(
        "data: {} files, {:.2} GB (~2 MB .ldb tables, freezer split at {:.1} MB, small files), made in {}\n",
        st.files,
        st.bytes as f64 / 1e9,
        freezer_split(bytes) as f64 / 1e6,
        secs(gen_t)
    );

    let base_opts = BackupOptions {
        threads: std::env::var("WEMIXVISOR_BENCH_THREADS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        ..BackupOptions::default()
    };
    let durable = Backups::new(home.clone(), base_opts.clone())?;
    let loose = Backups::new(
        home.clone(),
        BackupOptions {
            fsync: false,
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

    // 1. Full snapshot vs cp -a, alternating.
    let mut cp = Vec::new();
    let mut cp_sync = Vec::new();
    let mut ours = Vec::new();
    let mut ours_sync = Vec::new();
    let cp_dst = base.join("cp-copy");
    for r in 0..rounds {
        let cp_run = |with_sync: bool| -> Res<Duration> {
            remove(&cp_dst)?;
            sync()?;
            let (t, ()) = timed(|| {
                run(Command::new("cp")
                    .arg("-a")
                    .arg(home.data_dir())
                    .arg(&cp_dst))?;
                if with_sync {
                    sync()?;
                }
                Ok(())
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
        // Rotate the order every round so none of the four always runs
        // right after another one's deletion.
        for k in 0..4 {
            match (k + r) % 4 {
                0 => cp.push(cp_run(false)?),
                1 => ours.push(our_run(&loose)?),
                2 => cp_sync.push(cp_run(true)?),
                _ => ours_sync.push(our_run(&durable)?),
            }
        }
    }
    let (cp_m, cp_sync_m, ours_m, ours_sync_m) =
        (median(cp), median(cp_sync), median(ours), median(ours_sync));

    // 2. Incremental after ~1 % changed: a durable full snapshot, then rounds
    // of (change 1 %, wait out the racy window, snapshot).
    sync()?;
    let full = durable.create(&CreateRequest::manual(Some("base".into())))?;
    let mut incr = Vec::new();
    let mut incr_copied = 0;
    let mut changed = 0;
    let mut last_id = full.id.clone();
    for r in 0..rounds {
        let m = mutate_geth_like(&home.data_dir(), 0.01, 100 + r as u64)?;
        changed = m.changed_bytes;
        sync()?;
        std::thread::sleep(Duration::from_millis(2100));
        let (t, rep) =
            timed(|| Ok(durable.create(&CreateRequest::manual(Some(format!("incr{r}"))))?))?;
        incr.push(t);
        incr_copied = rep.totals.copied_bytes;
        last_id = rep.id;
    }
    let incr_m = median(incr);
    // The floor: a snapshot when nothing changed (scan, links, manifest, sync).
    let mut idle = Vec::new();
    for r in 0..rounds {
        let (t, rep) =
            timed(|| Ok(durable.create(&CreateRequest::manual(Some(format!("idle{r}"))))?))?;
        idle.push(t);
        last_id = rep.id;
    }
    let idle_m = median(idle);

    // 3. Verify throughput and 4. restore time of the newest snapshot.
    let info = durable.find(&last_id)?;
    let mut ver = Vec::new();
    let mut res = Vec::new();
    for _ in 0..rounds {
        let (t, rep) = timed(|| Ok(durable.verify(&last_id)?))?;
        if !rep.ok() {
            return Err(format!("verify found {} problems", rep.problems.len()).into());
        }
        ver.push(t);
        sync()?;
        let (t, _) = timed(|| Ok(durable.restore(&last_id)?))?;
        res.push(t);
        durable.prune(&PruneRequest {
            pre_restore: true,
            keep: Some(u32::MAX),
            ..PruneRequest::default()
        })?;
    }
    let (ver_m, res_m) = (median(ver), median(res));
    drop_all(&durable)?;

    let pct = |a: Duration, b: Duration| 100.0 * a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!("median of {rounds} round(s); cp -a and the snapshot alternate, order rotating\n");
    println!("| measurement | time | throughput | vs. reference |");
    println!("|---|---|---|---|");
    println!(
        "| `cp -a` | {} | {} | reference |",
        secs(cp_m),
        mbps(st.bytes, cp_m)
    );
    println!(
        "| full snapshot, no fsync | {} | {} | {:.0} % of `cp -a` speed |",
        secs(ours_m),
        mbps(st.bytes, ours_m),
        pct(cp_m, ours_m)
    );
    println!(
        "| `cp -a && sync` | {} | {} | reference |",
        secs(cp_sync_m),
        mbps(st.bytes, cp_sync_m)
    );
    println!(
        "| full snapshot, durable (default) | {} | {} | {:.0} % of `cp -a && sync` speed |",
        secs(ours_sync_m),
        mbps(st.bytes, ours_sync_m),
        pct(cp_sync_m, ours_sync_m)
    );
    println!(
        "| incremental, {:.2} % changed ({:.1} MB), durable | {} | {:.1} MB copied | {:.1} % of the full snapshot's time |",
        100.0 * changed as f64 / st.bytes as f64,
        changed as f64 / 1e6,
        secs(incr_m),
        incr_copied as f64 / 1e6,
        pct(incr_m, ours_sync_m)
    );
    println!(
        "| incremental, nothing changed ({} files linked), durable | {} | 0 MB copied | {:.1} % of the full snapshot's time |",
        st.files,
        secs(idle_m),
        pct(idle_m, ours_sync_m)
    );
    println!(
        "| verify ({:.2} GB) | {} | {} | |",
        info.logical_bytes as f64 / 1e9,
        secs(ver_m),
        mbps(info.logical_bytes, ver_m)
    );
    println!(
        "| restore, verified + durable ({:.2} GB) | {} | {} | {:.0} % of `cp -a && sync` speed |",
        info.logical_bytes as f64 / 1e9,
        secs(res_m),
        mbps(info.logical_bytes, res_m),
        pct(cp_sync_m, res_m)
    );
    Ok(())
}
