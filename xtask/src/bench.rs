//! `cargo xtask bench`: the supervisor's overhead, measured side by side in
//! one run on release builds:
//!
//! - RSS and CPU of `wemixvisor run` while a devnode idles (default 60 s;
//!   `WEMIXVISOR_BENCH_IDLE_SECS` changes it);
//! - restart latency: from a node's exit to the next node's exec, with the
//!   restart backoff at its minimum;
//! - log capture throughput of a node flooding stdout, against the same
//!   flood written straight to a file.
//!
//! Then the backup benchmark of `wemixvisor-backup`, whose rows join the same
//! table (`WEMIXVISOR_BENCH_BYTES` sets its size).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{cargo, root, sh};

#[path = "bench_backup.rs"]
mod bench_backup;

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

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

fn idle(env: &Env, secs: u64) -> Result<(f64, f64)> {
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
    let pid = child.id();
    let t0 = Instant::now();
    let c0 = proc_cpu_ticks(pid)?;
    let mut peak = 0;
    while t0.elapsed() < Duration::from_secs(secs) {
        peak = peak.max(proc_rss_kb(pid)?);
        std::thread::sleep(Duration::from_millis(500));
    }
    let cpu = (proc_cpu_ticks(pid)? - c0) as f64 / clk_tck() / t0.elapsed().as_secs_f64() * 100.0;
    stop(child);
    Ok((peak as f64 / 1024.0, cpu))
}

fn restart_latency(env: &Env) -> Result<Vec<f64>> {
    let marks = env.dir.join("restart-marks");
    let home = env.home(
        "restart",
        &format!(
            "echo \"start $(date +%s%N)\" >> '{m}'\necho \"exit $(date +%s%N)\" >> '{m}'\nexit 1",
            m = marks.display()
        ),
    )?;
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
    let text = std::fs::read_to_string(&marks)?;
    let mut last_exit: Option<u64> = None;
    let mut lat = Vec::new();
    for l in text.lines() {
        let (kind, t) = l.split_once(' ').context("bad mark")?;
        let t: u64 = t.parse()?;
        match kind {
            "exit" => last_exit = Some(t),
            _ => {
                if let Some(e) = last_exit.take() {
                    lat.push((t.saturating_sub(e)) as f64 / 1e6);
                }
            }
        }
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    Ok(lat)
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
    let mut restarts = Vec::new();
    let mut last_exit: Option<u64> = None;
    for l in std::fs::read_to_string(&marks).unwrap_or_default().lines() {
        let Some((kind, t)) = l.split_once(' ') else {
            continue;
        };
        let Ok(t) = t.parse::<u64>() else { continue };
        if kind == "exit" {
            last_exit = Some(t);
        } else if let Some(e) = last_exit.take() {
            restarts.push(t.saturating_sub(e) as f64 / 1e6);
        }
    }
    restarts.sort_by(|a, b| a.total_cmp(b));
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

/// Runs every benchmark and prints one table (`api`: only the API load
/// and the restart latency it is compared with).
pub fn run(args: &[String]) -> Result<()> {
    let only_api = match args {
        [] => false,
        [a] if a == "api" => true,
        other => bail!("unknown bench arguments {other:?} (expected nothing or `api`)"),
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
    let idle_secs: u64 = std::env::var("WEMIXVISOR_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let mib: u64 = std::env::var("WEMIXVISOR_BENCH_FLOOD_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);

    eprintln!("bench: restart latency ...");
    let lat = restart_latency(&env)?;
    let median = lat.get(lat.len() / 2).copied().unwrap_or(f64::NAN);
    let load_secs: u64 = std::env::var("WEMIXVISOR_BENCH_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    eprintln!("bench: API under load, 100 clients for {load_secs}s ...");
    let load = api_load(&env, 100, load_secs)?;
    let mut out = std::io::stdout().lock();
    if only_api {
        return write_load(&mut out, &load, median);
    }
    eprintln!("bench: idle supervisor for {idle_secs}s ...");
    let (rss, cpu) = idle(&env, idle_secs)?;
    eprintln!("bench: log capture of {mib} MiB ...");
    let (direct, captured) = capture_throughput(&env, mib)?;

    let p90 = lat.get(lat.len() * 9 / 10).copied().unwrap_or(f64::NAN);
    let nproc = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    writeln!(out, "\nwemixvisor overhead ({nproc} cores, release build)")?;
    writeln!(out, "| measure | value | goal |")?;
    writeln!(out, "|---|---|---|")?;
    writeln!(
        out,
        "| supervisor peak RSS, devnode idle {idle_secs}s | {rss:.1} MiB | <= 10 MB |"
    )?;
    writeln!(
        out,
        "| supervisor CPU, devnode idle {idle_secs}s | {cpu:.3} % of a core | <= 0.1 % |"
    )?;
    writeln!(out, "| restart latency, exit -> next exec (median / p90 of {}) | {median:.1} ms / {p90:.1} ms | <= 20 ms |", lat.len())?;
    writeln!(
        out,
        "| log flood written straight to a file | {direct:.0} MiB/s | |"
    )?;
    writeln!(out, "| log flood through wemixvisor's capture | {captured:.0} MiB/s ({:.0} %) | >= 90 % of direct |", captured / direct * 100.0)?;
    write_load(&mut out, &load, median)?;
    bench_backup::write_rows(&mut out)?;
    drop(out);
    Ok(())
}

/// The API load rows, with the idle restart latency `idle_ms` beside the
/// one under load.
fn write_load(out: &mut impl Write, load: &Load, idle_ms: f64) -> Result<()> {
    let median = idle_ms;
    let lm = load
        .restarts_under_load
        .get(load.restarts_under_load.len() / 2)
        .copied()
        .unwrap_or(f64::NAN);
    writeln!(
        out,
        "| API load: {} clients on /api/v1/status and /metrics over TCP with the token, {:.0}s | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} errors of {} | 0 errors |",
        load.clients,
        load.secs,
        load.requests as f64 / load.secs,
        load.p50_ms,
        load.p99_ms,
        load.errors,
        load.requests
    )?;
    writeln!(
        out,
        "| restart latency under that load (median of {}) next to idle | {lm:.1} ms vs {median:.1} ms | |",
        load.restarts_under_load.len()
    )?;
    writeln!(
        out,
        "| supervisor RSS under the API load / 5 s after | {:.1} MiB / {:.1} MiB | |",
        load.rss_peak_mib, load.rss_after_mib
    )?;
    Ok(())
}
