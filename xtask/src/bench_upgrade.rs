//! Upgrade downtime on devnode, driven through the real `wemixvisor`: a
//! home with devnode v1.0.0, `upgrade add v2 --height H` while it makes
//! blocks (five upgrades in a row, the median taken), and a probe of the
//! node's RPC every millisecond; then one more under `strace -f`, whose
//! fsyncs and renames between SIGTERM and the new exec are the profile. The downtime
//! runs from the first probe v1 no longer answers until v2 first answers;
//! devnode's own stop (RPC gone after SIGTERM to exit) and start (exec to
//! RPC answering),
//! measured alone through the same wrapper script, are subtracted, which
//! leaves what the supervisor adds. Run without a pre-upgrade snapshot and
//! with one of a geth-shaped datadir (`WEMIXVISOR_BENCH_UPGRADE_BYTES`,
//! default 1G), whose cost is set beside `cp -a && sync` of the same data.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::bench_table::{median, switch_profile, SwitchProfile};
use super::{free_port, script, stop, Env};

/// One JSON-RPC call over a fresh connection; the `result`, or None when
/// the node does not answer (connection refused, timeout, error).
pub fn rpc(port: u16, method: &str) -> Option<serde_json::Value> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":[]}}"#);
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let text = String::from_utf8_lossy(&resp);
    let (_, json) = text.split_once("\r\n\r\n")?;
    let v: serde_json::Value = serde_json::from_str(json.trim()).ok()?;
    v.get("result").cloned()
}

fn client_version(port: u16) -> Option<String> {
    rpc(port, "web3_clientVersion")?
        .as_str()
        .map(str::to_string)
}

fn head(port: u16) -> Option<u64> {
    let v = rpc(port, "eth_blockNumber")?;
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

/// Probes every millisecond until a node reporting `new` answers; the time
/// from the first probe after the last answer of `old` to that answer.
fn watch_switch(port: u16, old: &str, new: &str, timeout: Duration) -> Result<Duration> {
    let deadline = Instant::now() + timeout;
    let mut seen_old = false;
    let mut gone: Option<Instant> = None;
    while Instant::now() < deadline {
        let t = Instant::now();
        match client_version(port) {
            Some(v) if v.contains(new) => {
                let Some(g) = gone else {
                    bail!("{new} answered without {old} going away first");
                };
                return Ok(g.elapsed());
            }
            Some(v) if v.contains(old) => {
                seen_old = true;
                gone = None;
            }
            _ => {
                if seen_old && gone.is_none() {
                    gone = Some(t);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    bail!("no switch from {old} to {new} within {timeout:?}")
}

/// A wrapper script that execs devnode reporting `version`.
fn devnode_script(env: &Env, name: &str, version: &str) -> Result<std::path::PathBuf> {
    let p = env.dir.join(name);
    script(
        &p,
        &format!(
            "exec '{}' --sim.version {version} --sim.block-period 200ms --sim.quiet \"$@\"",
            env.devnode.display()
        ),
    )?;
    Ok(p)
}

/// devnode's own start (exec of the wrapper to RPC answering) and stop
/// (RPC gone after SIGTERM to exit), medians of `rounds`, in ms.
fn node_alone(env: &Env, rounds: usize) -> Result<(f64, f64)> {
    let bin = devnode_script(env, "alone-node", "v1.0.0")?;
    let datadir = env.dir.join("alone-data");
    let (mut starts, mut stops) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let port = free_port()?;
        let t0 = Instant::now();
        let mut child = Command::new(&bin)
            .arg("--datadir")
            .arg(&datadir)
            .args(["--http", "--http.port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        while client_version(port).is_none() {
            if t0.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                bail!("devnode never answered on port {port}");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        starts.push(t0.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(500));
        // The downtime starts when the RPC stops answering, and devnode
        // answers for most of its graceful stop: its own share is from
        // that moment to its exit.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let mut gone: Option<Instant> = None;
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("devnode did not stop within 30 s of SIGTERM");
            }
            if gone.is_none() {
                let t = Instant::now();
                if client_version(port).is_none() {
                    gone = Some(t);
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        stops.push(gone.map_or(0.0, |g| g.elapsed().as_secs_f64() * 1e3));
    }
    starts.sort_by(|a, b| a.total_cmp(b));
    stops.sort_by(|a, b| a.total_cmp(b));
    Ok((median(&stops), median(&starts)))
}

/// Writes a geth-shaped tree of `bytes` into `dir` with the backup
/// benchmark's generator (release build).
fn generate(dir: &Path, bytes: u64) -> Result<()> {
    let st = super::bench_backup::snapshot_bench()
        .env("WEMIXVISOR_BENCH_GENERATE", dir)
        .env("WEMIXVISOR_BENCH_BYTES", bytes.to_string())
        .stdout(Stdio::null())
        .status()
        .context("run the backup benchmark's generator")?;
    if !st.success() {
        bail!("generating the geth-shaped datadir failed: {st}");
    }
    Ok(())
}

/// `cp -a dir <tmp> && sync`, timed; the copy is removed.
fn cp_sync(dir: &Path, scratch: &Path) -> Result<Duration> {
    let _ = std::fs::remove_dir_all(scratch);
    Command::new("sync").status()?;
    let t = Instant::now();
    let st = Command::new("cp")
        .arg("-a")
        .arg(dir)
        .arg(scratch)
        .status()?;
    Command::new("sync").status()?;
    let d = t.elapsed();
    if !st.success() {
        bail!("cp -a {} failed: {st}", dir.display());
    }
    std::fs::remove_dir_all(scratch)?;
    Ok(d)
}

/// `rounds` upgrades v1 -> v2 -> ... through one `wemixvisor run`, each
/// added with `upgrade add --height` 25 blocks (5 s) after the previous
/// one; the downtime of each, sorted, and with `data_bytes` the `cp -a &&
/// sync` time of the datadir the first one snapshots.
fn upgrades(
    env: &Env,
    name: &str,
    rounds: u64,
    data_bytes: Option<u64>,
    profile: bool,
) -> Result<(Vec<f64>, Option<Duration>, Option<SwitchProfile>)> {
    let v1 = devnode_script(env, &format!("{name}-v1"), "v1.0.0")?;
    let home = env.dir.join(name);
    env.wv(
        &home,
        &["init", "devnet", "--binary", &v1.to_string_lossy()],
    )?;
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let backup = if data_bytes.is_some() {
        "true"
    } else {
        "false"
    };
    for (k, v) in [
        ("node.rpc_url", url.as_str()),
        ("node.shutdown_grace", "5s"),
        ("upgrade.poll_interval", "100ms"),
        ("upgrade.verify_window", "3s"),
        ("backup.enabled", backup),
    ] {
        env.wv(&home, &["config", "set", k, v])?;
    }
    let cp = match data_bytes {
        Some(bytes) => {
            let data = home.join("chain-data");
            eprintln!("bench: writing a {bytes}-byte geth-shaped datadir ...");
            generate(&data, bytes)?;
            Some(cp_sync(&data, &env.dir.join(format!("{name}-cp")))?)
        }
        None => None,
    };
    let child = env.run(&home, &["--http.port", &port.to_string()])?;
    let result = (|| {
        let deadline = Instant::now() + Duration::from_secs(60);
        let start = loop {
            if let Some(h) = head(port).filter(|&h| h >= 2) {
                break h;
            }
            if Instant::now() > deadline {
                bail!("the node under wemixvisor never made blocks (port {port})");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let adds = rounds + u64::from(profile);
        for r in 1..=adds {
            let bin = devnode_script(
                env,
                &format!("{name}-v{}", r + 1),
                &format!("v{}.0.0", r + 1),
            )?;
            env.wv(
                &home,
                &[
                    "upgrade",
                    "add",
                    &format!("v{}", r + 1),
                    "--binary",
                    &bin.to_string_lossy(),
                    "--height",
                    &(start + 5 + 25 * (r - 1)).to_string(),
                ],
            )?;
        }
        let mut downtimes = Vec::new();
        for r in 1..=rounds {
            let d = watch_switch(
                port,
                &format!("v{r}.0.0"),
                &format!("v{}.0.0", r + 1),
                Duration::from_secs(900),
            )?;
            downtimes.push(d.as_secs_f64() * 1e3);
        }
        downtimes.sort_by(|a, b| a.total_cmp(b));
        let traced = if profile {
            traced_switch(
                child.id(),
                port,
                rounds + 1,
                &env.dir.join(format!("{name}.strace")),
            )
        } else {
            None
        };
        Ok((downtimes, traced))
    })();
    stop(child);
    let (downtimes, traced) = result?;
    Ok((downtimes, cp, traced))
}

/// One more switch, `v<n>` to `v<n+1>`, with `strace -f` attached to the
/// supervisor `pid` (not counted in the downtime: tracing slows every
/// call); where its time went. None without strace or when the trace has
/// no switch.
fn traced_switch(pid: u32, port: u16, n: u64, log: &Path) -> Option<SwitchProfile> {
    let strace = Command::new("strace")
        .args(["-f", "-tt", "-T", "-s", "256", "-e"])
        .arg("trace=kill,tgkill,pidfd_send_signal,fsync,fdatasync,rename,renameat,renameat2,execve")
        .arg("-o")
        .arg(log)
        .arg("-p")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    std::thread::sleep(Duration::from_millis(500));
    let new = format!("v{}.0.0", n + 1);
    let switched = watch_switch(port, &format!("v{n}.0.0"), &new, Duration::from_secs(120));
    stop(strace);
    switched.ok()?;
    switch_profile(&std::fs::read_to_string(log).ok()?)
}

/// What the upgrade rows show.
pub struct Downtime {
    /// devnode's own stop and start, ms.
    pub node_stop_ms: f64,
    pub node_start_ms: f64,
    /// RPC gone to RPC back, ms, without a snapshot (median).
    pub plain_ms: f64,
    /// Upgrades that median is of.
    pub plain_rounds: usize,
    /// The same with a pre-upgrade snapshot of `data_bytes`.
    pub snapshot_ms: f64,
    pub data_bytes: u64,
    /// `cp -a && sync` of that datadir, ms.
    pub cp_sync_ms: f64,
    /// One more switch under strace, when strace is installed.
    pub profile: Option<SwitchProfile>,
}

/// Measures devnode alone, then an upgrade without and with a snapshot.
pub fn measure(env: &Env, data_bytes: u64) -> Result<Downtime> {
    eprintln!("bench: devnode's own stop and start ...");
    let (node_stop_ms, node_start_ms) = node_alone(env, 9)?;
    eprintln!("bench: upgrade downtime without a snapshot ...");
    let (plain, _, profile) = upgrades(env, "upgrade-plain", 5, None, true)?;
    eprintln!("bench: upgrade downtime with a pre-upgrade snapshot ...");
    let (snap, cp, _) = upgrades(env, "upgrade-snap", 1, Some(data_bytes), false)?;
    Ok(Downtime {
        node_stop_ms,
        node_start_ms,
        plain_ms: median(&plain),
        plain_rounds: plain.len(),
        snapshot_ms: median(&snap),
        data_bytes,
        cp_sync_ms: cp.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
        profile,
    })
}
