//! `start`, `stop`, `restart`, `status` and `logs`: the node as a service.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use process_wrap::std::{ProcessSession, StdCommandWrap};
use wemixvisor_core::lock::pid_alive;
use wemixvisor_core::{Home, StatusReport};

use crate::client;
use crate::exit::bad_input;
use wemixvisor_supervisor::load_status_file;

/// Global flags the background supervisor must be started with.
#[derive(Debug, Clone, Default)]
pub struct Passthrough {
    /// `--name`.
    pub name: Option<String>,
    /// `--log-format`.
    pub log_format: Option<String>,
}

fn daemon_pid(home: &Home) -> Option<u32> {
    wemixvisor_supervisor::running_supervisor(home)
}

fn tail_lines(path: &Path, n: usize) -> Vec<String> {
    let Ok(text) = std::fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn fetch_status(home: &Home) -> anyhow::Result<Option<StatusReport>> {
    client::fetch_status(home)
}

/// `start`: launches the supervisor in the background and returns once the
/// node runs and its RPC answers.
pub fn start(
    home: &Home,
    flags: &Passthrough,
    node_options: Option<&str>,
    args: &[String],
    timeout: Duration,
) -> anyhow::Result<ExitCode> {
    if let Some(pid) = daemon_pid(home) {
        return Err(anyhow!(
            "wemixvisor is already running on '{}' (pid {pid})\nhelp: `wemixvisor status` shows it; `wemixvisor restart` restarts the node",
            home.root().display()
        ));
    }
    if std::fs::symlink_metadata(home.current_link()).is_err() {
        return Err(bad_input(format!(
            "home '{}' is not initialised\nhelp: run `wemixvisor init --binary <geth>` first",
            home.root().display()
        )));
    }
    let mut node_args = match node_options {
        Some(s) => shell_words::split(s)
            .map_err(|e| bad_input(format!("cannot parse --node-options {s:?}: {e}")))?,
        None => Vec::new(),
    };
    node_args.extend(args.iter().cloned());

    wemixvisor_core::atomic::create_dir_private(&home.state_dir())?;
    let log_path = home.supervisor_log_file();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open '{}'", log_path.display()))?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let exe = std::env::current_exe().context("cannot find the wemixvisor executable")?;
    let mut cmd = StdCommandWrap::with_new(&exe, |c| {
        c.arg("--home").arg(home.root());
        if let Some(n) = &flags.name {
            c.arg("--name").arg(n);
        }
        if let Some(f) = &flags.log_format {
            c.arg("--log-format").arg(f);
        }
        c.arg("daemon").arg("--").args(&node_args);
        c.stdin(Stdio::null());
        c.current_dir(home.root());
        if let Ok(out) = log.try_clone() {
            c.stdout(out);
        }
        if let Ok(err) = log.try_clone() {
            c.stderr(err);
        }
    });
    // A session of its own: no controlling terminal, no SIGHUP when the
    // shell that started it goes away.
    cmd.wrap(ProcessSession);
    let mut child = cmd
        .spawn()
        .context("cannot start the background supervisor")?;
    let pid = child.id();

    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut msg = format!("the supervisor exited during start-up ({status})");
            append_logs(&mut msg, home, &log_path, log_start);
            return Err(anyhow!(msg));
        }
        if let Ok(Some(r)) = fetch_status(home) {
            if r.node.state == "running" && r.chain.head.is_some() {
                println!(
                    "started: supervisor pid {pid}, node pid {}, head {}, binary {}",
                    r.node.pid.map(|p| p.to_string()).unwrap_or_default(),
                    r.chain.head.map(|h| h.to_string()).unwrap_or_default(),
                    r.node.binary
                );
                println!("logs: {}", home.node_log_file().display());
                return Ok(ExitCode::SUCCESS);
            }
            if r.supervisor.state == "failed" {
                let mut msg = format!(
                    "the node could not be kept running: {}",
                    r.supervisor.error.unwrap_or_default()
                );
                append_logs(&mut msg, home, &log_path, log_start);
                return Err(anyhow!(msg));
            }
        }
        if Instant::now() > deadline {
            let mut msg = format!(
                "the node's RPC did not answer within {} (the supervisor, pid {pid}, keeps running)\nhelp: check node.rpc_url and --http in node-options.toml; `wemixvisor stop` stops it",
                humantime::format_duration(timeout)
            );
            append_logs(&mut msg, home, &log_path, log_start);
            return Err(anyhow!(msg));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn append_logs(msg: &mut String, home: &Home, supervisor_log: &Path, from: u64) {
    let node = tail_lines(&home.node_log_file(), 20);
    if !node.is_empty() {
        msg.push_str(&format!(
            "\nlast lines of '{}':",
            home.node_log_file().display()
        ));
        for l in node {
            msg.push_str("\n    ");
            msg.push_str(&l);
        }
    }
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(supervisor_log) {
        let _ = f.seek(SeekFrom::Start(from));
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    let sup = &lines[lines.len().saturating_sub(20)..];
    if !sup.is_empty() {
        msg.push_str(&format!("\nlast lines of '{}':", supervisor_log.display()));
        for l in sup {
            msg.push_str("\n    ");
            msg.push_str(l);
        }
    }
}

/// `stop [--force]`: stops node and supervisor gracefully and waits for both.
pub fn stop(home: &Home, timeout: Duration, force: bool) -> anyhow::Result<ExitCode> {
    let Some(pid) = daemon_pid(home) else {
        println!("wemixvisor is not running on '{}'", home.root().display());
        return Ok(ExitCode::SUCCESS);
    };
    let body = serde_json::json!({ "force": force });
    match client::request(home, "POST", "/api/v1/stop", Some(&body))? {
        Some(v) => {
            let msg = v["message"].as_str().unwrap_or_default();
            if msg != "stopped" && !msg.is_empty() {
                println!("{msg}");
            }
        }
        None => {
            // No API: fall back to the signal a service manager would send.
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap_or(i32::MAX)),
                nix::sys::signal::Signal::SIGTERM,
            )
            .with_context(|| format!("cannot signal the supervisor (pid {pid})"))?;
        }
    }
    let deadline = Instant::now() + timeout;
    while daemon_pid(home).is_some() || pid_alive(pid) {
        if Instant::now() > deadline {
            return Err(anyhow!(
                "the supervisor (pid {pid}) is still running after {}",
                humantime::format_duration(timeout)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}

fn not_running(home: &Home) -> anyhow::Error {
    anyhow::Error::new(crate::exit::Hinted::new(
        format!("wemixvisor is not running on '{}'", home.root().display()),
        Some("start it with `wemixvisor start`".into()),
    ))
}

/// `restart [--force]`: restarts the node from the current files; the
/// supervisor stays.
pub fn restart(home: &Home, force: bool) -> anyhow::Result<ExitCode> {
    if daemon_pid(home).is_none() {
        return Err(not_running(home));
    }
    let msg = client::command(
        home,
        "/api/v1/restart",
        Some(serde_json::json!({ "force": force })),
    )?;
    println!("{msg}");
    Ok(ExitCode::SUCCESS)
}

/// `reload`: the running supervisor re-reads its configuration files.
pub fn reload(home: &Home) -> anyhow::Result<ExitCode> {
    if daemon_pid(home).is_none() {
        return Err(not_running(home));
    }
    println!("{}", client::command(home, "/api/v1/config/reload", None)?);
    Ok(ExitCode::SUCCESS)
}

/// The status: from the daemon when it runs, else from the state files.
pub fn collect_status(home: &Home) -> anyhow::Result<StatusReport> {
    if daemon_pid(home).is_some() {
        if let Some(r) = fetch_status(home)? {
            return Ok(r);
        }
    }
    let mut r = load_status_file(&home.status_file()).unwrap_or_default();
    r.schema = wemixvisor_core::STATUS_SCHEMA;
    r.supervisor.version = env!("CARGO_PKG_VERSION").to_string();
    if r.supervisor.state != "failed" {
        r.supervisor.state = "stopped".into();
    }
    r.supervisor.pid = None;
    let orphan = match wemixvisor_node::find_orphan(&home.node_pid_file()) {
        wemixvisor_node::Orphan::Running { pid } | wemixvisor_node::Orphan::Unknown { pid } => {
            Some(pid)
        }
        _ => None,
    };
    match orphan {
        Some(p) => {
            r.node.state = "orphaned".into();
            r.node.pid = Some(p);
        }
        None => {
            if r.node.state != "failed" {
                r.node.state = "stopped".into();
            }
            r.node.pid = None;
            r.node.uptime_secs = None;
        }
    }
    if let Ok(Some(name)) =
        wemixvisor_upgrade::BinaryStore::new(home.clone(), "geth", wemixvisor_core::OsFs).current()
    {
        r.node.binary = name;
    } else if std::fs::symlink_metadata(home.current_link()).is_ok() {
        r.node.binary = "genesis".into();
    }
    Ok(r)
}

/// `status [--json]`.
pub fn status(home: &Home, json: bool) -> anyhow::Result<ExitCode> {
    let r = collect_status(home)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    println!(
        "supervisor  {}{}",
        r.supervisor.state,
        r.supervisor
            .pid
            .map(|p| format!(" (pid {p})"))
            .unwrap_or_default()
    );
    if let Some(e) = &r.supervisor.error {
        println!("  error     {e}");
    }
    if let Some(h) = &r.supervisor.halt_waiting {
        println!("  waiting   {h}");
    }
    if let Some(e) = &r.supervisor.last_error {
        println!("  last err  {e}");
    }
    for k in &r.supervisor.pending_config {
        println!("  pending   {k}");
    }
    println!(
        "node        {}{}  binary {}  restarts {}",
        r.node.state,
        r.node
            .pid
            .map(|p| format!(" (pid {p})"))
            .unwrap_or_default(),
        if r.node.binary.is_empty() {
            "-"
        } else {
            &r.node.binary
        },
        r.node.restarts
    );
    if let Some(u) = r.node.uptime_secs {
        println!(
            "  uptime    {}",
            humantime::format_duration(Duration::from_secs(u))
        );
    }
    println!("  version   {}", opt(r.node.client_version.clone()));
    if let Some(e) = &r.node.last_exit {
        println!("  last exit {e}");
    }
    println!(
        "chain       head {}  peers {}  syncing {}",
        opt(r.chain.head.map(|h| h.to_string())),
        opt(r.chain.peers.map(|p| p.to_string())),
        opt(r.chain.syncing.map(|s| s.to_string()))
    );
    for c in &r.health {
        println!(
            "  {:<9} {} {}",
            c.name,
            if c.ok { "ok  " } else { "FAIL" },
            c.detail
        );
    }
    match &r.upgrade.pending {
        Some(p) => println!(
            "upgrade     {} at height {}{}{}",
            p.name,
            p.height,
            p.blocks_to_go
                .map(|b| format!(", {b} blocks to go"))
                .unwrap_or_default(),
            p.eta_secs
                .map(|s| format!(
                    ", about {}",
                    humantime::format_duration(Duration::from_secs(s))
                ))
                .unwrap_or_default()
        ),
        None => println!("upgrade     none pending"),
    }
    if let Some(step) = &r.upgrade.step {
        println!("  step      {step}");
    }
    if let Some(v) = &r.upgrade.verifying {
        println!(
            "  verifying {} until {}{}",
            v.name,
            v.until,
            v.detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        );
    }
    for b in &r.upgrade.blocked {
        println!("  BLOCKED   {} (height {}): {}", b.name, b.height, b.reason);
        if !b.holding_back.is_empty() {
            println!("            holding back: {}", b.holding_back.join(", "));
        }
        println!("            fix: {}", b.fix);
    }
    if let Some(f) = r.governance.as_ref().and_then(|g| g.get("forks")) {
        print_forks(f, r.chain.block_period_secs);
    }
    if !r.alerts.is_empty() {
        println!("alerts      {} firing", r.alerts.len());
        for a in &r.alerts {
            println!(
                "  {:<9} {} ({}, since {})",
                a.severity, a.name, a.summary, a.since
            );
        }
    }
    if !r.node.argv.is_empty() {
        println!("argv        {}", r.node.argv.join(" "));
    }
    Ok(ExitCode::SUCCESS)
}

/// About how long `blocks` take at `period` seconds a block.
fn eta(blocks: u64, period: Option<f64>) -> Option<String> {
    let p = period.filter(|p| p.is_finite() && *p > 0.0)?;
    let secs = (blocks as f64 * p).round();
    if !secs.is_finite() || secs > 1e10 {
        return None;
    }
    Some(humantime::format_duration(Duration::from_secs(secs as u64)).to_string())
}

/// The governance monitor's fork report (shape in docs/governance.md):
/// every fork height, and the next one with its distance and ETA.
fn print_forks(forks: &serde_json::Value, period: Option<f64>) {
    let list: Vec<String> = forks["forks"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| Some(format!("{} {}", f["name"].as_str()?, f["height"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    let next = &forks["next"];
    match (next["height"].as_u64(), next["blocks_to_go"].as_u64()) {
        (Some(h), Some(to_go)) => {
            let names: Vec<&str> = next["names"]
                .as_array()
                .map(|a| a.iter().filter_map(|n| n.as_str()).collect())
                .unwrap_or_default();
            println!(
                "forks       next {} at height {h}, {to_go} blocks to go{}",
                names.join("+"),
                eta(to_go, period)
                    .map(|e| format!(", about {e}"))
                    .unwrap_or_default()
            );
        }
        _ => println!("forks       none ahead"),
    }
    if !list.is_empty() {
        println!("  heights   {}", list.join(", "));
    }
}

/// `logs [--lines N] [--follow]`: the node log's tail, following rotations.
pub fn logs(home: &Home, lines: usize, follow: bool) -> anyhow::Result<ExitCode> {
    if daemon_pid(home).is_some() {
        let path = format!("/api/v1/logs?lines={lines}&follow={follow}");
        let stdout = std::io::stdout();
        if client::stream_to(home, &path, &mut stdout.lock())? {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let path = home.node_log_file();
    if !path.exists() && !follow {
        return Err(anyhow!(
            "no node log at '{}' yet\nhelp: the log appears once the node has been started by wemixvisor",
            path.display()
        ));
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for l in tail_lines(&path, lines) {
        writeln!(out, "{l}")?;
    }
    out.flush()?;
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    follow_file(&path, &mut out)
}

fn open_at_end(path: &PathBuf) -> Option<(BufReader<std::fs::File>, u64)> {
    let mut f = std::fs::File::open(path).ok()?;
    let ino = f.metadata().ok()?.ino();
    f.seek(SeekFrom::End(0)).ok()?;
    Some((BufReader::new(f), ino))
}

fn follow_file(path: &PathBuf, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut current = open_at_end(path);
    let mut line = String::new();
    loop {
        let mut progressed = false;
        if let Some((reader, _)) = current.as_mut() {
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) if line.ends_with('\n') => {
                        out.write_all(line.as_bytes())?;
                        progressed = true;
                    }
                    Ok(_) => {
                        // A line still being written: go back and wait for its end.
                        let back = i64::try_from(line.len()).unwrap_or(0);
                        reader.seek_relative(-back)?;
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            out.flush()?;
        }
        if !progressed {
            // Rotated (new inode) or truncated: read what the old file still
            // had (done above), then continue with the new one from its start.
            let new_ino = std::fs::metadata(path).ok().map(|m| m.ino());
            let rotated = match (&current, new_ino) {
                (Some((_, ino)), Some(n)) => *ino != n,
                (None, Some(_)) => true,
                _ => false,
            };
            if rotated {
                current = std::fs::File::open(path)
                    .ok()
                    .and_then(|f| Some((BufReader::new(f), std::fs::metadata(path).ok()?.ino())));
                continue;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
