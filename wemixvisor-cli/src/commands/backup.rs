//! `wemixvisor backup create|list|verify|restore|prune`: prints what
//! `wemixvisor-backup` does, draws its progress, and maps its errors to exit
//! codes (0 ok, 1 failed, 2 bad input such as an unknown id).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use wemixvisor_backup::{
    parse_max_age, BackupError, BackupOptions, Backups, CancelFlag, CreateRequest, Phase, Progress,
    PruneRequest, PrunedKind, SnapshotInfo, SnapshotState,
};
use wemixvisor_core::Home;

/// `wemixvisor backup ...`
#[derive(clap::Subcommand, Debug)]
pub enum BackupCmd {
    /// Take a snapshot of chain-data now (incremental to the newest one)
    Create {
        /// Name appended to the snapshot id (letters, digits, '.', '_', '-', '+')
        name: Option<String>,
        /// Also write <id>.tar.zst (and its .sha256) for off-host copies
        #[arg(long)]
        archive: bool,
    },
    /// List snapshots: kind, age, logical size, disk space held, state
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Re-hash a snapshot against its manifest and report every difference
    Verify {
        /// Snapshot id, a unique prefix of one, <kind>/<id>, or its name
        id: String,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Replace chain-data with a snapshot (the node must be stopped; the old
    /// data is kept as chain-data.pre-restore-<time>)
    Restore {
        /// Snapshot id, a unique prefix of one, <kind>/<id>, or its name
        id: String,
    },
    /// Apply retention: keep the newest automatic snapshots and young ones
    Prune {
        /// Apply retention to manual snapshots too
        #[arg(long)]
        manual: bool,
        /// Also remove chain-data.pre-restore-* copies left by restores
        #[arg(long)]
        pre_restore: bool,
        /// Snapshots to keep per kind [default: config backup.keep_auto]
        #[arg(long, value_name = "N")]
        keep: Option<u32>,
        /// Keep anything younger than this, e.g. 7d [default: config backup.max_age]
        #[arg(long, value_name = "AGE", value_parser = parse_max_age)]
        max_age: Option<Duration>,
        /// Show what would be removed, remove nothing
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs a backup command against `home` with the `[backup]` options.
pub fn run(home: &Home, opts: BackupOptions, cmd: BackupCmd) -> anyhow::Result<ExitCode> {
    // A running supervisor takes a snapshot itself (off its loop); with
    // none, it is taken here while holding the home lock.
    let mut _lock = None;
    if let BackupCmd::Create { name, archive } = &cmd {
        match wemixvisor_supervisor::control_path(home)? {
            wemixvisor_supervisor::ControlPath::Online { .. } if !*archive => {
                let body = serde_json::json!({ "name": name });
                println!(
                    "{}",
                    crate::client::command(home, "/api/v1/backups", Some(body))?
                );
                return Ok(ExitCode::SUCCESS);
            }
            wemixvisor_supervisor::ControlPath::Online { .. } => {}
            wemixvisor_supervisor::ControlPath::Offline(lock) => _lock = Some(lock),
        }
    }
    // A running supervisor owns the data directory: it restores (once its
    // node is stopped), not this process.
    if let BackupCmd::Restore { id } = &cmd {
        if wemixvisor_supervisor::running_supervisor(home).is_some() {
            let path = format!("/api/v1/backups/{id}/restore");
            println!("{}", crate::client::command(home, &path, None)?);
            return Ok(ExitCode::SUCCESS);
        }
    }
    match execute(home, opts, cmd) {
        Ok(code) => Ok(code),
        Err(e) if e.is_bad_input() => Err(crate::exit::bad_input(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

fn execute(home: &Home, opts: BackupOptions, cmd: BackupCmd) -> Result<ExitCode, BackupError> {
    let cancel = CancelFlag::new();
    let progress = Arc::new(Bar::new());
    let mut backups = Backups::new(home.clone(), opts)?
        .with_progress(progress.clone())
        .with_cancel(cancel.clone());
    if let Ok(name) = std::env::var("DAEMON_NAME") {
        if !name.is_empty() {
            backups = backups.with_node_binary(name);
        }
    }
    match cmd {
        BackupCmd::Create { name, archive } => {
            cancel_on_interrupt(&cancel);
            create(&backups, name, archive)
        }
        BackupCmd::List { json } => list(&backups, json),
        BackupCmd::Verify { id, json } => {
            cancel_on_interrupt(&cancel);
            verify(&backups, &id, json)
        }
        BackupCmd::Restore { id } => {
            cancel_on_interrupt(&cancel);
            restore(&backups, &id)
        }
        BackupCmd::Prune {
            manual,
            pre_restore,
            keep,
            max_age,
            dry_run,
        } => prune(
            &backups,
            &PruneRequest {
                manual,
                pre_restore,
                dry_run,
                keep,
                max_age,
            },
        ),
    }
}

fn create(b: &Backups, name: Option<String>, archive: bool) -> Result<ExitCode, BackupError> {
    let r = b.create(&CreateRequest::manual(name))?;
    for id in &r.removed_incomplete {
        eprintln!("note: removed the interrupted snapshot {id}");
    }
    if let Some(pid) = r.node_pid {
        eprintln!(
            "warning: the node was running (pid {pid}); the snapshot may need the database's recovery when restored\nhelp: stop the node first (`wemixvisor stop`) for a consistent snapshot"
        );
    }
    if !r.vanished.is_empty() {
        eprintln!(
            "note: {} file(s) disappeared during the copy (the node was writing): {}",
            r.vanished.len(),
            short_list(&r.vanished)
        );
    }
    if !r.skipped_special.is_empty() {
        eprintln!(
            "note: skipped sockets/fifos (not data): {}",
            short_list(&r.skipped_special)
        );
    }
    let t = &r.totals;
    println!(
        "created {} snapshot {} in {:.1}s: {} files, {} (copied {} in {} files{})",
        r.kind,
        r.id,
        r.elapsed.as_secs_f64(),
        t.files,
        HumanBytes(t.bytes),
        HumanBytes(t.copied_bytes),
        t.copied_files,
        match &r.parent {
            Some(p) => format!(
                ", linked {} in {} files from {p}",
                HumanBytes(t.linked_bytes),
                t.linked_files
            ),
            None => String::new(),
        }
    );
    println!("  {}", r.path.display());
    if archive {
        let a = b.archive(&r.id)?;
        println!(
            "archived to {} ({}, {:.1}s)\n  sha256 {}",
            a.path.display(),
            HumanBytes(a.bytes),
            a.elapsed.as_secs_f64(),
            a.sha256
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn state_text(s: &SnapshotInfo) -> String {
    match &s.state {
        SnapshotState::Complete => match &s.verified {
            Some(v) if v.ok => "verified".into(),
            Some(v) => format!("DAMAGED ({} problem(s))", v.problems),
            None => "complete".into(),
        },
        SnapshotState::InProgress { pid } => format!("in progress (pid {pid})"),
        SnapshotState::Incomplete => "incomplete".into(),
        SnapshotState::Damaged { .. } => "unreadable manifest".into(),
    }
}

fn list(b: &Backups, json: bool) -> Result<ExitCode, BackupError> {
    let snaps = b.list()?;
    let pre = b.pre_restore_copies()?;
    let disk = b.disk_usage();
    if json {
        let v = serde_json::json!({
            "snapshots": snaps,
            "disk_bytes": disk,
            "pre_restore_copies": pre,
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    if snaps.is_empty() {
        println!("no snapshots in {}", b.home().backups_dir().display());
    } else {
        let rows: Vec<[String; 7]> = snaps
            .iter()
            .map(|s| {
                [
                    s.id.clone(),
                    s.kind.to_string(),
                    s.created
                        .as_deref()
                        .map(|c| c.get(..19).unwrap_or(c).replace('T', " "))
                        .unwrap_or_else(|| "-".into()),
                    HumanBytes(s.logical_bytes).to_string(),
                    HumanBytes(s.exclusive_disk_bytes).to_string(),
                    s.parent
                        .as_deref()
                        .map(|p| p.split_once('/').map_or(p, |(_, id)| id).to_string())
                        .unwrap_or_else(|| "-".into()),
                    state_text(s),
                ]
            })
            .collect();
        let header = [
            "ID",
            "KIND",
            "CREATED (UTC)",
            "LOGICAL",
            "ON DISK",
            "PARENT",
            "STATE",
        ];
        let mut widths = header.map(str::len);
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
                if i + 1 == cells.len() {
                    out.push_str(c);
                } else {
                    out.push_str(&format!("{c:<w$}  "));
                }
            }
            println!("{}", out.trim_end());
        };
        line(&header.map(String::from));
        for r in &rows {
            line(r);
        }
        println!(
            "\n{} snapshot(s), {} on disk in total (ON DISK: space only that snapshot holds; the rest is shared by hard links)",
            snaps.len(),
            HumanBytes(disk)
        );
    }
    for p in &pre {
        println!(
            "old data kept by a restore: {} (remove with `wemixvisor backup prune --pre-restore`)",
            p.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(b: &Backups, id: &str, json: bool) -> Result<ExitCode, BackupError> {
    let r = b.verify(id)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    } else {
        for p in &r.problems {
            println!("{p}");
        }
        let secs = r.elapsed.as_secs_f64().max(1e-6);
        println!(
            "{} {}: {} files, {} checked in {:.1}s ({}/s): {}",
            r.kind,
            r.id,
            r.files_checked,
            HumanBytes(r.bytes_checked),
            secs,
            HumanBytes((r.bytes_checked as f64 / secs) as u64),
            if r.ok() {
                "ok".to_string()
            } else {
                format!("{} problem(s)", r.problems.len())
            }
        );
    }
    Ok(if r.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::exit::FAILED)
    })
}

fn restore(b: &Backups, id: &str) -> Result<ExitCode, BackupError> {
    let r = b.restore(id)?;
    println!(
        "restored {} {} into {} in {:.1}s: {} files, {} (every file checked against the manifest)",
        r.kind,
        r.id,
        b.home().data_dir().display(),
        r.elapsed.as_secs_f64(),
        r.files,
        HumanBytes(r.bytes)
    );
    if !r.carried_over.is_empty() {
        println!(
            "kept from the previous data (not in snapshots): {}",
            short_list(&r.carried_over)
        );
    }
    if !r.carry_over_failed.is_empty() {
        eprintln!(
            "warning: could not move these over from the previous data: {}",
            short_list(&r.carry_over_failed)
        );
    }
    if let Some(pre) = &r.pre_restore {
        println!(
            "previous data kept in {}\n  remove it when satisfied: `wemixvisor backup prune --pre-restore`",
            pre.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn prune(b: &Backups, req: &PruneRequest) -> Result<ExitCode, BackupError> {
    let r = b.prune(req)?;
    let verb = if r.dry_run { "would remove" } else { "removed" };
    for p in &r.removed {
        let why = match p.what {
            PrunedKind::Snapshot => "beyond retention",
            PrunedKind::Incomplete => "interrupted",
            PrunedKind::PreRestore => "pre-restore copy",
        };
        println!(
            "{verb} {} ({why}, frees {})",
            p.key,
            HumanBytes(p.freed_bytes)
        );
    }
    println!(
        "{verb} {} item(s), {} freed{}; kept {} snapshot(s)",
        r.removed.len(),
        HumanBytes(r.freed_bytes),
        if r.dry_run { " (dry run)" } else { "" },
        r.kept.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn short_list(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

/// Sets `cancel` on Ctrl-C, so the operation stops at the next chunk and
/// cleans up what it started (a second Ctrl-C is then not needed).
fn cancel_on_interrupt(cancel: &CancelFlag) {
    let cancel = cancel.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let Ok(rt) = rt else { return };
    let spawned = std::thread::Builder::new()
        .name("backup-interrupt".into())
        .spawn(move || {
            rt.block_on(async {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("\ninterrupted: stopping and cleaning up...");
                    cancel.cancel();
                }
            })
        });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "no interrupt handler");
    }
}

/// Draws progress: a bar with bytes and ETA on a terminal, a summary line
/// per phase otherwise.
struct Bar {
    tty: bool,
    state: Mutex<Option<(Phase, ProgressBar, u64, std::time::Instant)>>,
}

impl Bar {
    fn new() -> Self {
        Bar {
            tty: std::io::stderr().is_terminal(),
            state: Mutex::new(None),
        }
    }
}

impl Progress for Bar {
    fn begin(&self, phase: Phase, total_bytes: u64, files: u64) {
        let target = if self.tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total_bytes), target);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:>9} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(phase.verb());
        if let Ok(mut g) = self.state.lock() {
            *g = Some((phase, bar, files, std::time::Instant::now()));
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(g) = self.state.lock() {
            if let Some((_, bar, _, _)) = g.as_ref() {
                bar.inc(bytes);
            }
        }
    }

    fn note(&self, message: &str) {
        let shown = self
            .state
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|(_, bar, _, _)| bar.clone()));
        match shown {
            Some(bar) if self.tty => bar.println(format!("note: {message}")),
            _ => eprintln!("note: {message}"),
        }
    }

    fn finish(&self, _phase: Phase) {
        let Some((phase, bar, files, started)) = self.state.lock().ok().and_then(|mut g| g.take())
        else {
            return;
        };
        bar.finish_and_clear();
        let done = bar.position();
        let secs = started.elapsed().as_secs_f64().max(1e-6);
        if !self.tty && (done > 0 || files > 0) {
            eprintln!(
                "{} {} in {} file(s) in {:.1}s ({}/s)",
                phase.verb(),
                HumanBytes(done),
                files,
                secs,
                HumanBytes((done as f64 / secs) as u64)
            );
        }
    }
}
