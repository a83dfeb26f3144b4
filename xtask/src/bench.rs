//! `cargo xtask bench`: wemixvisor beside its anchors, in one table
//! printed by one run on release builds, each row with its goal and "met"
//! or by how much it is missed (docs/bench.md):
//!
//! - RSS and CPU of `wemixvisor run` while a devnode idles (default 120 s;
//!   `WEMIXVISOR_BENCH_IDLE_SECS` changes it), next to supervisord's with
//!   the same node command line, and where the memory and the wake-ups go;
//! - restart latency: from a node's exit to the next node's exec, with the
//!   restart backoff at its minimum, next to supervisord's;
//! - upgrade downtime on devnode with and without a pre-upgrade snapshot
//!   (`bench_upgrade`);
//! - log capture throughput of a node flooding stdout, against the same
//!   flood written straight to a file;
//! - the API under 100 concurrent clients.
//!
//! Then the backup benchmark of `wemixvisor-backup`, whose rows join the same
//! table (`WEMIXVISOR_BENCH_BYTES` sets its size).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{cargo, root, sh};

#[path = "bench_backup.rs"]
mod bench_backup;
#[path = "bench_supervisord.rs"]
mod bench_supervisord;
#[path = "bench_table.rs"]
mod bench_table;
#[path = "bench_upgrade.rs"]
mod bench_upgrade;

use bench_table::{
    ctxt_switches, median, quantile, restart_gaps, rss_breakdown, threads_of, verdict, write_table,
    Goal, Row,
};

struct Env {
    dir: PathBuf,
    wemixvisor: PathBuf,
    devnode: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn script(path: &Path, body: &str) -> Result<()> {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n"))?;
    sh(Command::new("chmod").arg("755").arg(path))
}

impl Env {
    fn home(&self, name: &str, node_script: &str) -> Result<PathBuf> {
        let home = self.dir.join(name);
        let bin = self.dir.join(format!("{name}-node"));
        script(&bin, node_script)?;
        self.wv(
            &home,
            &["init", "devnet", "--binary", &bin.to_string_lossy()],
        )?;
        Ok(home)
    }

    fn wv(&self, home: &Path, args: &[&str]) -> Result<()> {
        let out = Command::new(&self.wemixvisor)
            .arg("--home")
            .arg(home)
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!(
                "wemixvisor {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    fn run(&self, home: &Path, args: &[&str]) -> Result<Child> {
        Ok(Command::new(&self.wemixvisor)
            .arg("--home")
            .arg(home)
            .arg("run")
            .args(args)
            .env("COSMOVISOR_DISABLE_LOGS", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?)
    }
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn proc_cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
    let utime: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stime: u64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(utime + stime)
}

fn proc_rss_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")
}

/// SIGTERM to a child that still runs, then reaps it.
fn stop(mut child: Child) {
    if matches!(child.try_wait(), Ok(None)) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.wait();
}

/// What an idle supervisor cost over the sampling period.
struct Idle {
    secs: f64,
    rss_peak_mib: f64,
    cpu_pct: f64,
    wakeups_per_s: f64,
    /// Wake-ups per second by thread name, busiest first.
    by_thread: String,
    /// `smaps_rollup` and thread count at the end.
    rss_breakdown: String,
}

/// Context switches of each of `pid`'s threads, by thread id: (name, count).
fn thread_switches(pid: u32) -> BTreeMap<String, (String, u64)> {
    let mut m = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return m;
    };
    for e in dir.flatten() {
        let tid = e.file_name().to_string_lossy().into_owned();
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let name = status
            .lines()
            .find_map(|l| l.strip_prefix("Name:"))
            .unwrap_or("?")
            .trim()
            .to_string();
        m.insert(tid, (name, ctxt_switches(&status)));
    }
    m
}

/// Samples `pid` for `secs`: peak RSS, CPU share of a core, wake-ups (by
/// thread), and the RSS breakdown at the end.
fn sample_idle(pid: u32, secs: u64) -> Result<Idle> {
    let t0 = Instant::now();
    let c0 = proc_cpu_ticks(pid)?;
    let s0 = thread_switches(pid);
    let mut peak = 0;
    while t0.elapsed() < Duration::from_secs(secs) {
        peak = peak.max(proc_rss_kb(pid)?);
        std::thread::sleep(Duration::from_millis(500));
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = (proc_cpu_ticks(pid)? - c0) as f64 / clk_tck() / elapsed * 100.0;
    let s1 = thread_switches(pid);
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    for (tid, (name, n)) in &s1 {
        let before = s0.get(tid).map_or(0, |(_, b)| *b);
        *by_name.entry(name.clone()).or_default() += n.saturating_sub(before);
    }
    let total: u64 = by_name.values().sum();
    let mut busiest: Vec<(String, u64)> = by_name.into_iter().collect();
    busiest.sort_by_key(|b| std::cmp::Reverse(b.1));
    let by_thread = busiest
        .iter()
        .map(|(name, n)| format!("{name} {:.2}/s", *n as f64 / elapsed))
        .collect::<Vec<_>>()
        .join(", ");
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| threads_of(&s))
        .unwrap_or(0);
    Ok(Idle {
        secs: elapsed,
        rss_peak_mib: peak as f64 / 1024.0,
        cpu_pct: cpu,
        wakeups_per_s: total as f64 / elapsed,
        by_thread,
        rss_breakdown: rss_breakdown(&rollup, threads),
    })
}

/// The first line of a pid file, as a pid.
fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// wemixvisor idle with a devnode making a block a second, then
/// supervisord supervising the very command line wemixvisor gave the node.
fn idle(env: &Env, supervisord: &Path, secs: u64) -> Result<(Idle, Idle)> {
    let port = free_port()?;
    let home = env.home(
        "idle",
        &format!(
            "exec '{}' --sim.block-period 1s \"$@\"",
            env.devnode.display()
        ),
    )?;
    env.wv(
        &home,
        &[
            "config",
            "set",
            "node.rpc_url",
            &format!("http://127.0.0.1:{port}"),
        ],
    )?;
    let child = env.run(&home, &["--http.port", &port.to_string()])?;
    std::thread::sleep(Duration::from_secs(3));
    let node_cmdline = read_pid(&home.join("state/node.pid"))
        .and_then(|p| std::fs::read(format!("/proc/{p}/cmdline")).ok())
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect::<Vec<_>>()
        });
    let ours = sample_idle(child.id(), secs);
    stop(child);
    let ours = ours?;
    let node_cmdline = node_cmdline.context("wemixvisor's node was not running after 3 s")?;
    let mut sup = bench_supervisord::spawn(
        supervisord,
        &env.dir.join("supervisord-idle"),
        &bench_supervisord::shell_words(&node_cmdline),
    )?;
    std::thread::sleep(Duration::from_secs(3));
    if sup.try_wait()?.is_some() {
        bail!(
            "supervisord exited at once; see {}",
            env.dir.join("supervisord-idle/supervisord.log").display()
        );
    }
    let theirs = sample_idle(sup.id(), secs);
    stop(sup);
    Ok((ours, theirs?))
}

/// The script both supervisors restart: marks its start and its exit, then
/// exits 1 at once.
fn crash_script(marks: &Path) -> String {
    format!(
        "echo \"start $(date +%s%N)\" >> '{m}'\necho \"exit $(date +%s%N)\" >> '{m}'\nexit 1",
        m = marks.display()
    )
}

fn restart_latency(env: &Env) -> Result<Vec<f64>> {
    let marks = env.dir.join("restart-marks");
    let home = env.home("restart", &crash_script(&marks))?;
    for (k, v) in [
        ("restart.backoff_initial", "1ms"),
        ("restart.backoff_max", "1ms"),
        ("restart.max_restarts", "40"),
        ("restart.window", "1h"),
    ] {
        env.wv(&home, &["config", "set", k, v])?;
    }
    let mut child = env.run(&home, &[])?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait()?.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(child);
    Ok(restart_gaps(&std::fs::read_to_string(&marks)?))
}

/// supervisord restarting the same crashing script, until 41 starts.
fn restart_latency_supervisord(env: &Env, supervisord: &Path) -> Result<Vec<f64>> {
    let marks = env.dir.join("supervisord-restart-marks");
    let bin = env.dir.join("supervisord-restart-node");
    script(&bin, &crash_script(&marks))?;
    let mut sup = bench_supervisord::spawn(
        supervisord,
        &env.dir.join("supervisord-restart"),
        &bench_supervisord::shell_words(&[bin.to_string_lossy().into_owned()]),
    )?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let starts = || {
        std::fs::read_to_string(&marks)
            .map(|t| t.lines().filter(|l| l.starts_with("start")).count())
            .unwrap_or(0)
    };
    while starts() < 41 && Instant::now() < deadline && sup.try_wait()?.is_none() {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(sup);
    Ok(restart_gaps(
        &std::fs::read_to_string(&marks).unwrap_or_default(),
    ))
}

fn capture_throughput(env: &Env, mib: u64) -> Result<(f64, f64)> {
    let line = "x".repeat(120);
    let lines = mib * 1024 * 1024 / 121;
    let marks = env.dir.join("flood-marks");
    let flood = format!(
        "date +%s%N >> '{m}'\nyes '{line}' | head -n {lines}\ndate +%s%N >> '{m}'",
        m = marks.display()
    );
    // Direct: the same flood into a file.
    let direct_out = env.dir.join("direct.log");
    let direct = env.dir.join("direct.sh");
    script(&direct, &flood)?;
    let f = std::fs::File::create(&direct_out)?;
    Command::new(&direct).stdout(f).status()?;
    let spans = |text: &str| -> Vec<f64> {
        let t: Vec<u64> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        t.chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[1] - c[0]) as f64 / 1e9)
            .collect()
    };
    let direct_secs = *spans(&std::fs::read_to_string(&marks)?)
        .first()
        .context("no marks")?;
    std::fs::remove_file(&marks)?;
    // Through the supervisor's capture.
    let home = env.home("flood", &flood)?;
    env.wv(&home, &["config", "set", "restart.enabled", "false"])?;
    env.wv(&home, &["config", "set", "log.node_log_max_mb", "64"])?;
    let mut child = Command::new(&env.wemixvisor)
        .arg("--home")
        .arg(&home)
        .arg("daemon")
        .env("COSMOVISOR_DISABLE_LOGS", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    child.wait()?;
    let captured_secs = *spans(&std::fs::read_to_string(&marks)?)
        .first()
        .context("no marks")?;
    let mb = (lines * 121) as f64 / 1024.0 / 1024.0;
    Ok((mb / direct_secs, mb / captured_secs))
}

/// What the API load run measured.
struct Load {
    clients: usize,
    secs: f64,
    requests: usize,
    errors: usize,
    p50_ms: f64,
    p99_ms: f64,
    rss_peak_mib: f64,
    rss_after_mib: f64,
    restarts_under_load: Vec<f64>,
}

/// One HTTP/1.1 request on a fresh connection; the status code.
fn get(port: u16, path: &str, token: &str) -> std::io::Result<u16> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )?;
    let mut body = Vec::new();
    s.read_to_end(&mut body)?;
    let head = String::from_utf8_lossy(&body[..body.len().min(32)]).to_string();
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {head:?}")))
}

/// `clients` concurrent clients on `/api/v1/status` and `/metrics` over TCP
/// with the token for `secs`, while the node crash-restarts every 200 ms
/// (so the restart latency is measured under the load), sampling the
/// supervisor's RSS.
fn api_load(env: &Env, clients: usize, secs: u64) -> Result<Load> {
    let marks = env.dir.join("load-marks");
    let home = env.home(
        "load",
        &format!(
            "echo \"start $(date +%s%N)\" >> '{m}'\nsleep 0.2\necho \"exit $(date +%s%N)\" >> '{m}'\nexit 1",
            m = marks.display()
        ),
    )?;
    let port = free_port()?;
    for (k, v) in [
        ("restart.backoff_initial", "1ms"),
        ("restart.backoff_max", "1ms"),
        ("restart.max_restarts", "1000"),
        ("restart.window", "1h"),
        ("api.enabled_tcp", "true"),
        ("api.bind", &format!("127.0.0.1:{port}")),
    ] {
        env.wv(&home, &["config", "set", k, v])?;
    }
    let token = std::fs::read_to_string(home.join("wemixvisor/config/api-token"))
        .context("init writes the API token")?
        .trim()
        .to_string();
    let child = env.run(&home, &[])?;
    let pid = child.id();
    let up = Instant::now() + Duration::from_secs(20);
    while get(port, "/healthz", &token).ok() != Some(200) {
        if Instant::now() > up {
            stop(child);
            bail!("the API never answered on port {port}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_file(&marks);
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(secs);
    let workers: Vec<_> = (0..clients)
        .map(|i| {
            let token = token.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let mut errors = 0usize;
                let mut n = i;
                while Instant::now() < end {
                    let path = if n % 2 == 0 {
                        "/api/v1/status"
                    } else {
                        "/metrics"
                    };
                    n += 1;
                    let t = Instant::now();
                    match get(port, path, &token) {
                        Ok(200) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                        _ => errors += 1,
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut peak = 0u64;
    while Instant::now() < end {
        peak = peak.max(proc_rss_kb(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(250));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w
            .join()
            .map_err(|_| anyhow::anyhow!("a load client panicked"))?;
        lat.extend(l);
        errors += e;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(5));
    let after = proc_rss_kb(pid).unwrap_or(0);
    stop(child);
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let restarts = restart_gaps(&std::fs::read_to_string(&marks).unwrap_or_default());
    Ok(Load {
        clients,
        secs: elapsed,
        requests: lat.len() + errors,
        errors,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        rss_peak_mib: peak as f64 / 1024.0,
        rss_after_mib: after as f64 / 1024.0,
        restarts_under_load: restarts,
    })
}

/// A size: `1G`, `640M`, `64K` or plain bytes.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'G' | 'g') => (&s[..i], 1u64 << 30),
        (i, 'M' | 'm') => (&s[..i], 1 << 20),
        (i, 'K' | 'k') => (&s[..i], 1 << 10),
        _ => (s, 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some((n * mult as f64) as u64)
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs every benchmark and prints one table (`api`: only the API load
/// and the restart latency it is compared with; `upgrade`: only the
/// upgrade downtime rows and their profile).
pub fn run(args: &[String]) -> Result<()> {
    let only = match args {
        [] => None,
        [a] if a == "api" || a == "upgrade" => Some(a.as_str()),
        other => bail!("unknown bench arguments {other:?} (expected nothing, `api` or `upgrade`)"),
    };
    sh(cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "wemixvisor-cli",
        "-p",
        "devnode",
    ]))?;
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"))
        .join("release");
    let dir = std::env::temp_dir().join(format!("wemixvisor-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let env = Env {
        dir,
        wemixvisor: target.join("wemixvisor"),
        devnode: target.join("devnode"),
    };
    let idle_secs: u64 = env_or("WEMIXVISOR_BENCH_IDLE_SECS", 120);
    let mib: u64 = env_or("WEMIXVISOR_BENCH_FLOOD_MIB", 512);
    let load_secs: u64 = env_or("WEMIXVISOR_BENCH_LOAD_SECS", 30);
    let upgrade_bytes = match std::env::var("WEMIXVISOR_BENCH_UPGRADE_BYTES") {
        Ok(v) => parse_size(&v).with_context(|| {
            format!("WEMIXVISOR_BENCH_UPGRADE_BYTES='{v}' is not a size (1G, 64M, 500000)")
        })?,
        Err(_) => 1 << 30,
    };

    let mut rows = Vec::new();
    if only == Some("upgrade") {
        let downtime = bench_upgrade::measure(&env, upgrade_bytes)?;
        upgrade_rows(&mut rows, &downtime);
        let mut out = std::io::stdout().lock();
        write_table(&mut out, &rows)?;
        write_upgrade_profile(&mut out, &downtime)?;
        return Ok(());
    }
    eprintln!("bench: restart latency ...");
    let lat = restart_latency(&env)?;
    eprintln!("bench: API under load, 100 clients for {load_secs}s ...");
    let load = api_load(&env, 100, load_secs)?;
    if only == Some("api") {
        load_rows(&mut rows, &load, median(&lat));
        write_table(&mut std::io::stdout().lock(), &rows)?;
        return Ok(());
    }
    let supervisord = bench_supervisord::install()?;
    eprintln!("bench: supervisord restart latency ...");
    let sup_lat = restart_latency_supervisord(&env, &supervisord)?;
    eprintln!("bench: idle wemixvisor, then idle supervisord, {idle_secs}s each ...");
    let (ours, theirs) = idle(&env, &supervisord, idle_secs)?;
    eprintln!("bench: log capture of {mib} MiB ...");
    let (direct, captured) = capture_throughput(&env, mib)?;
    let downtime = bench_upgrade::measure(&env, upgrade_bytes)?;

    let idle_label = format!("devnode idle, {:.0} s", ours.secs);
    rows.push(Row::judged(
        format!("supervisor peak RSS, {idle_label}"),
        format!("{:.1} MiB", ours.rss_peak_mib),
        format!("supervisord {:.1} MiB", theirs.rss_peak_mib),
        "≤ 8 MiB",
        verdict(ours.rss_peak_mib, Goal::AtMost(8.0), "MiB"),
    ));
    rows.push(Row::judged(
        format!("supervisor CPU, {idle_label}"),
        format!(
            "{:.3} % of a core ({:.2} wake-ups/s)",
            ours.cpu_pct, ours.wakeups_per_s
        ),
        format!(
            "supervisord {:.3} % ({:.2} wake-ups/s)",
            theirs.cpu_pct, theirs.wakeups_per_s
        ),
        "≤ 0.05 %",
        verdict(ours.cpu_pct, Goal::AtMost(0.05), "% of a core"),
    ));
    rows.push(Row::judged(
        format!(
            "restart after a crash, node exit → next exec (median / p90 of {} / {})",
            lat.len(),
            sup_lat.len()
        ),
        format!("{:.1} ms / {:.1} ms", median(&lat), quantile(&lat, 0.9)),
        format!(
            "supervisord {:.1} ms / {:.1} ms",
            median(&sup_lat),
            quantile(&sup_lat, 0.9)
        ),
        "≤ 10 ms",
        verdict(median(&lat), Goal::AtMost(10.0), "ms"),
    ));
    upgrade_rows(&mut rows, &downtime);
    rows.push(Row::info(
        "log flood through the capture (vs written straight to a file)",
        format!("{captured:.0} MiB/s ({:.0} %)", captured / direct * 100.0),
        format!("direct {direct:.0} MiB/s"),
    ));
    load_rows(&mut rows, &load, median(&lat));
    rows.extend(bench_backup::rows()?);

    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\nwemixvisor against its anchors ({nproc} cores, release build)"
    )?;
    write_table(&mut out, &rows)?;
    write_upgrade_profile(&mut out, &downtime)?;
    writeln!(
        out,
        "\nwhere the idle memory and CPU go (/proc at the end of the idle period):"
    )?;
    for (who, i) in [("wemixvisor", &ours), ("supervisord", &theirs)] {
        writeln!(out, "- {who}: {}", i.rss_breakdown)?;
        writeln!(out, "  wake-ups by thread: {}", i.by_thread)?;
    }
    Ok(())
}

/// The upgrade downtime rows: without a snapshot (what the supervisor
/// adds to devnode's own stop and start), and with one (its cost beside
/// `cp -a && sync`).
fn upgrade_rows(rows: &mut Vec<Row>, downtime: &bench_upgrade::Downtime) {
    let own = downtime.node_stop_ms + downtime.node_start_ms;
    rows.push(Row::judged(
        format!("upgrade downtime on devnode, RPC gone → new RPC answers, minus the node's own stop and start (median of {})", downtime.plain_rounds),
        format!(
            "{:.1} ms ({:.1} ms in all)",
            downtime.plain_ms - own,
            downtime.plain_ms
        ),
        format!(
            "devnode alone: RPC gone → exit {:.1} ms + exec → RPC answers {:.1} ms",
            downtime.node_stop_ms, downtime.node_start_ms
        ),
        "≤ 8 ms (keep)",
        verdict(downtime.plain_ms - own, Goal::AtMost(8.0), "ms"),
    ));
    let snap_ms = downtime.snapshot_ms - downtime.plain_ms;
    let speed = downtime.cp_sync_ms / snap_ms;
    rows.push(Row::judged(
        format!(
            "upgrade downtime with a pre-upgrade snapshot of a {:.2} GB geth-shaped datadir (minus stop and start)",
            downtime.data_bytes as f64 / 1e9
        ),
        format!(
            "{:.0} ms; the snapshot {:.0} ms = {:.2}× `cp -a && sync` speed",
            downtime.snapshot_ms - own,
            snap_ms,
            speed
        ),
        format!("`cp -a && sync` {:.0} ms", downtime.cp_sync_ms),
        "≥ 0.9× `cp -a && sync`",
        verdict(speed, Goal::AtLeast(0.9), "×"),
    ));
}

/// Where one switch-over's time went (strace of the supervisor).
fn write_upgrade_profile(out: &mut impl Write, d: &bench_upgrade::Downtime) -> Result<()> {
    match &d.profile {
        Some(p) => writeln!(
            out,
            "\nwhere an upgrade's time goes (one more switch under strace -f, slower than untraced): SIGTERM → new node's exec {:.1} ms, of which {} fsync/fdatasync {:.1} ms, {} renames; devnode's own stop is {:.1} ms of it",
            p.window_ms, p.syncs, p.sync_ms, p.renames, d.node_stop_ms
        )?,
        None => writeln!(
            out,
            "\n(no strace here: install it for the profile of an upgrade's switch-over)"
        )?,
    }
    Ok(())
}

/// The API load rows, with the idle restart latency `idle_ms` beside the
/// one under load.
fn load_rows(rows: &mut Vec<Row>, load: &Load, idle_ms: f64) {
    rows.push(Row::judged(
        format!(
            "API load: {} clients on /api/v1/status and /metrics over TCP with the token, {:.0} s",
            load.clients, load.secs
        ),
        format!(
            "{:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors of {}",
            load.requests as f64 / load.secs,
            load.p50_ms,
            load.p99_ms,
            load.errors,
            load.requests
        ),
        "",
        "0 errors",
        verdict(load.errors as f64, Goal::AtMost(0.0), "errors"),
    ));
    rows.push(Row::info(
        format!(
            "restart after a crash under that load (median of {})",
            load.restarts_under_load.len()
        ),
        format!("{:.1} ms", median(&load.restarts_under_load)),
        format!("idle {idle_ms:.1} ms"),
    ));
    rows.push(Row::info(
        "supervisor RSS under the API load / 5 s after",
        format!(
            "{:.1} MiB / {:.1} MiB",
            load.rss_peak_mib, load.rss_after_mib
        ),
        "",
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes_and_refuse_garbage() {
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("0.5g"), Some(1 << 29));
        assert_eq!(parse_size("500000"), Some(500_000));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1G"), None);
        assert_eq!(parse_size(""), None);
    }
}
