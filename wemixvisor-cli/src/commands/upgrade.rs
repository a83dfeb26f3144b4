//! `wemixvisor upgrade`: queue upgrades (one, or a batch plan), show the
//! queue and the last outcome, cancel a pending plan, roll back.
//! `wemixvisor-upgrade` decides; this module prints.
//!
//! While a supervisor runs, every change (add, plan, cancel, rollback)
//! goes to it over its socket; with none, the change is made offline while
//! holding the home lock, so no supervisor starts meanwhile.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use serde_json::json;
use wemixvisor_config::Config;
use wemixvisor_core::{
    validate_upgrade_name, BinarySource, ChainClient, Checksum, DataBackup, Home, InfoSource,
    LaunchSpec, OsFs, UpgradeInfo, UpgradePlan,
};
use wemixvisor_supervisor::{control_path, ControlPath};
use wemixvisor_upgrade::install::{install_from_url, install_local};
use wemixvisor_upgrade::plan::{parse_plan_file, to_plans, validate_batch};
use wemixvisor_upgrade::plan_flags::MigrationFlags;
use wemixvisor_upgrade::{
    OfflineNode, PlanStatus, PrepareState, StatusReport, UpgradeError, UpgradeManager,
    UpgradeSettings,
};

use crate::context::env_var;
use crate::exit::bad_input;

/// The flags of `upgrade add` for an upgrade that changes the data; each
/// sets the `info` field of the same name in a plan file.
#[derive(clap::Args, Debug, Default)]
#[command(next_help_heading = "Data migration (needs --height)")]
pub struct StepArgs {
    /// A migration command (info.migrate), run with /bin/sh -c with the node
    /// stopped, after the pre-upgrade snapshot; repeat for several, in order.
    #[arg(long = "migrate", value_name = "CMD")]
    migrate: Vec<String>,
    /// Time limit of each migration command (info.migrate[].timeout), e.g. 12h.
    #[arg(long, value_name = "DURATION")]
    migrate_timeout: Option<String>,
    /// Running the migration commands again after an interruption is safe
    /// (info.migrate[].idempotent).
    #[arg(long)]
    idempotent: bool,
    /// What an interrupted migration leads to when it is not idempotent:
    /// restore the data and start over, or fail (info.migrate[].on_failure).
    #[arg(long, value_name = "restore|fail")]
    on_failure: Option<String>,
    /// A check run after the migration, before the new binary starts
    /// (info.verify); repeat for several.
    #[arg(long = "verify", value_name = "CMD")]
    verify: Vec<String>,
    /// Time limit of each check (info.verify[].timeout).
    #[arg(long, value_name = "DURATION")]
    verify_timeout: Option<String>,
    /// The new release's binary name, e.g. geth after gwemix (info.daemon_name).
    #[arg(long, value_name = "NAME")]
    daemon_name: Option<String>,
    /// Arguments added for the new release, split on spaces, e.g.
    /// "--db.engine leveldb" (info.node_options.add); repeatable.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    node_option_add: Vec<String>,
    /// A flag removed for the new release, with its value
    /// (info.node_options.remove); repeatable.
    #[arg(long, value_name = "FLAG", allow_hyphen_values = true)]
    node_option_remove: Vec<String>,
    /// A flag renamed for the new release, value kept
    /// (info.node_options.rename); repeatable.
    #[arg(long, value_name = "OLD=NEW", allow_hyphen_values = true)]
    node_option_rename: Vec<String>,
    /// The new datadir the migration writes (info.node_options.datadir;
    /// absolute or relative to the home; must not exist yet).
    #[arg(long, value_name = "PATH")]
    new_datadir: Option<String>,
    /// Free space the migration needs besides the snapshot: bytes, or
    /// "datadir" for a full copy (info.space).
    #[arg(long, value_name = "BYTES|datadir")]
    space: Option<String>,
    /// A built-in move instead of --migrate: gwemix-to-wbft (info.builtin).
    #[arg(long, value_name = "NAME")]
    builtin: Option<String>,
}

impl StepArgs {
    fn flags(self) -> MigrationFlags {
        MigrationFlags {
            migrate: self.migrate,
            migrate_timeout: self.migrate_timeout,
            idempotent: self.idempotent,
            on_failure: self.on_failure,
            verify: self.verify,
            verify_timeout: self.verify_timeout,
            daemon_name: self.daemon_name,
            node_option_add: self.node_option_add,
            node_option_remove: self.node_option_remove,
            node_option_rename: self.node_option_rename,
            new_datadir: self.new_datadir,
            space: self.space,
            builtin: self.builtin,
        }
    }
}

/// `wemixvisor upgrade` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum UpgradeCmd {
    /// Install an upgrade's binary now (from a file, or downloaded and
    /// verified from a URL) and, with --height, queue it. Without --height
    /// it is used when upgrade-info.json names it.
    Add {
        /// Upgrade name (the directory upgrades/<name>).
        #[arg(id = "upgrade", value_name = "NAME")]
        name: String,
        /// The new node binary.
        #[arg(
            long,
            value_name = "PATH",
            conflicts_with = "url",
            required_unless_present = "url"
        )]
        binary: Option<PathBuf>,
        /// Where to download the new binary (or an archive holding bin/<name> or <name>).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Height at which to switch; must be above the current head.
        #[arg(long, value_name = "H")]
        height: Option<u64>,
        /// Expected checksum of the file or download.
        #[arg(long, value_name = "sha256:HEX")]
        checksum: Option<String>,
        /// Steps that change the data (the `info` fields of a plan file; see docs/migrations.md).
        #[command(flatten)]
        steps: Box<StepArgs>,
    },
    /// Queue a batch of upgrades from a JSON file: a list of
    /// {"name", "height", "info"?}, unique names, strictly increasing
    /// heights, all above the current head. All or nothing; exit 2 with
    /// every problem listed.
    Plan {
        /// The plan file.
        file: PathBuf,
    },
    /// Show the queue (with preparation state), the current binary and the
    /// last upgrade with its outcome.
    Status {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-arm an upgrade that failed before its switch (state retry): it
    /// is prepared again and applied when due.
    Retry {
        /// Upgrade name.
        #[arg(id = "upgrade", value_name = "NAME")]
        name: String,
    },
    /// Remove a pending upgrade (or one waiting for a retry) from the queue
    /// (through the running supervisor, or offline under the home lock).
    Cancel {
        /// Upgrade name.
        #[arg(id = "upgrade", value_name = "NAME")]
        name: String,
    },
    /// Point `current` back at the binary before the last upgrade (with no
    /// supervisor running).
    Rollback {
        /// Also restore the chain data snapshot taken before that upgrade.
        #[arg(long)]
        restore_data: bool,
        /// Do not wait for the quorum guard (governance.quorum_guard).
        #[arg(long)]
        force: bool,
    },
}

/// The pipeline settings (one mapping, in `wemixvisor-supervisor`).
pub fn settings(config: &Config) -> anyhow::Result<UpgradeSettings> {
    wemixvisor_supervisor::settings::upgrade_settings(config, &env_var)
        .map_err(|e| bad_input(format!("{e}\nhelp: {}", e.help().unwrap_or_default())))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Where the head came from.
fn head(rt: &tokio::runtime::Runtime, home: &Home, config: &Config) -> (Option<u64>, &'static str) {
    let from_rpc =
        wemixvisor_governance::RpcChainClient::new(&config.node.rpc_url, Duration::from_secs(2))
            .ok()
            .and_then(|c| rt.block_on(async { c.block_number().await.ok() }));
    if let Some(h) = from_rpc {
        return (Some(h), "the node's RPC");
    }
    match wemixvisor_supervisor::load_status_file(&home.status_file()).and_then(|s| s.chain.head) {
        Some(h) => (Some(h), "state/status.json (the node's RPC did not answer)"),
        None => (None, "unknown"),
    }
}

fn manager(
    home: &Home,
    config: &Config,
    backup: Option<Arc<dyn DataBackup>>,
) -> anyhow::Result<UpgradeManager<OsFs>> {
    Ok(UpgradeManager::new(
        home.clone(),
        &config.node.daemon_name,
        OsFs,
        settings(config)?,
        backup,
    )?)
}

fn supervisor_pid(home: &Home) -> Option<u32> {
    wemixvisor_supervisor::running_supervisor(home)
}

/// The body of `POST /api/v1/upgrades`: the plan in the cosmovisor form the
/// server parses (`info` as the object or URL an operator writes, never the
/// internal tagged form, which the server would read as one more object).
fn plan_json(p: &UpgradePlan) -> serde_json::Value {
    UpgradeInfo {
        name: p.name.clone(),
        height: p.height,
        info: p.info.clone(),
    }
    .to_cosmovisor_json()
}

/// Maps the crate's errors: the ones about what the user gave exit 2.
fn classify(e: UpgradeError) -> anyhow::Error {
    match e {
        UpgradeError::BadPlan { .. } | UpgradeError::Conflict { .. } => bad_input(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

/// Runs `wemixvisor upgrade <cmd>`.
pub fn run(home: &Home, config: &Config, cmd: UpgradeCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        UpgradeCmd::Add {
            name,
            binary,
            url,
            height,
            checksum,
            steps,
        } => add(
            home,
            config,
            &name,
            Source {
                binary: binary.as_deref(),
                url: url.as_deref(),
                checksum: checksum.as_deref(),
            },
            height,
            (*steps).flags(),
        ),
        UpgradeCmd::Plan { file } => plan(home, config, &file),
        UpgradeCmd::Status { json } => status(home, config, json),
        UpgradeCmd::Retry { name } => {
            let mut m = manager(home, config, crate::daemon::data_backup(home, config)?)?;
            m.retry(&name).map_err(classify)?;
            println!("re-armed upgrade '{name}'; {}", note_supervisor(home));
            Ok(ExitCode::SUCCESS)
        }
        UpgradeCmd::Cancel { name } => cancel(home, config, &name),
        UpgradeCmd::Rollback {
            restore_data,
            force,
        } => rollback(home, config, restore_data, force),
    }
}

fn note_supervisor(home: &Home) -> String {
    match supervisor_pid(home) {
        Some(pid) => format!("the running supervisor (pid {pid}) prepares it ahead of the height"),
        None => {
            "no supervisor runs; it is prepared when `wemixvisor run` (or `start`) starts".into()
        }
    }
}

/// Where `upgrade add` takes the binary from.
struct Source<'a> {
    binary: Option<&'a Path>,
    url: Option<&'a str>,
    checksum: Option<&'a str>,
}

fn add(
    home: &Home,
    config: &Config,
    name: &str,
    src: Source<'_>,
    height: Option<u64>,
    steps: MigrationFlags,
) -> anyhow::Result<ExitCode> {
    let Source {
        binary,
        url,
        checksum,
    } = src;
    validate_upgrade_name(name)
        .map_err(|e| bad_input(format!("{e}\nhelp: pick a name such as v1.2.0")))?;
    if height.is_none() && !steps.is_empty() {
        return Err(bad_input(format!(
            "{} describe(s) a queued upgrade, but --height is not given\nhelp: add --height H, or write the steps into chain-data/upgrade-info.json's \"info\"",
            steps.given().join(", ")
        )));
    }
    let release_daemon = steps.daemon_name.clone();
    let step_info = steps.to_info().map_err(|problems| {
        bad_input(format!(
            "the migration flags are invalid:\n{}\nhelp: see docs/migrations.md for each field",
            problems
                .iter()
                .map(|p| format!("  - {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))
    })?;
    let checksum = checksum.map(Checksum::parse).transpose().map_err(|e| {
        bad_input(format!(
            "--checksum: {e}\nhelp: --checksum sha256:<64 hex digits>"
        ))
    })?;
    let path = control_path(home)?;
    let rt = runtime()?;
    let mut m = manager(home, config, crate::daemon::data_backup(home, config)?)?;
    m.ensure_not_applying(name).map_err(classify)?;
    let current = m.store().current()?;
    let (head, head_from) = head(&rt, home, config);
    if let Some(h) = height {
        if h == 0 {
            return Err(bad_input(
                "--height must be above 0\nhelp: leave --height out to install only".to_string(),
            ));
        }
        let info = UpgradeInfo {
            name: name.to_string(),
            height: h,
            info: InfoSource::None,
        };
        let problems = validate_batch(&[info], m.queue(), current.as_deref(), head);
        if !problems.is_empty() {
            return Err(classify(UpgradeError::BadPlan { problems }));
        }
    } else if current.as_deref() == Some(name) {
        return Err(bad_input(format!(
            "'{name}' is the binary `current` points at; it is not replaced while in use\nhelp: install the new binary under a new name"
        )));
    }
    // The binary goes where the release will look for it: under its own
    // name when the plan renames it, else under the name `current` runs as.
    let store = m
        .store()
        .with_daemon(&release_daemon.unwrap_or_else(|| m.store().daemon_of(current.as_deref())));
    let (installed, info) = match (binary, url) {
        (Some(path), _) => {
            if !path.is_file() {
                return Err(bad_input(format!(
                    "--binary '{}' is not a file\nhelp: pass the path of the new node binary",
                    path.display()
                )));
            }
            (
                install_local(&store, name, path, checksum.as_ref())?,
                InfoSource::None,
            )
        }
        (None, Some(url)) => {
            let checksum = match checksum {
                Some(c) => Some(c),
                None => wemixvisor_core::checksum_from_url(url)
                    .map(|c| Checksum::parse(&c))
                    .transpose()
                    .map_err(|e| bad_input(format!("--url: {e}")))?,
            };
            let source = BinarySource {
                url: url.to_string(),
                checksum: checksum.clone(),
                signature: None,
            };
            let settings = m.settings().clone();
            let installed =
                rt.block_on(install_from_url(&store, &settings, name, &source, None))?;
            let mut entry = json!({ "url": url });
            if let Some(c) = &checksum {
                entry["checksum"] = json!(c.to_string());
            }
            (
                installed,
                InfoSource::Inline(json!({ "binaries": { "any": entry } })),
            )
        }
        (None, None) => return Err(bad_input("give --binary <path> or --url <url>".to_string())),
    };
    let info = match info {
        _ if step_info.is_empty() => info,
        InfoSource::Inline(serde_json::Value::Object(mut o)) => {
            o.extend(step_info);
            InfoSource::Inline(serde_json::Value::Object(o))
        }
        _ => InfoSource::Inline(serde_json::Value::Object(step_info)),
    };
    if matches!(path, ControlPath::Offline(_)) {
        m.reset_preparation(name)?;
    }
    println!(
        "installed '{}' (sha256 {}; {})",
        installed.binary.display(),
        installed.sha256,
        installed.note
    );
    match height {
        Some(h) => {
            let plan = UpgradePlan {
                name: name.to_string(),
                height: h,
                info,
                source: "cli".into(),
            };
            match &path {
                ControlPath::Online { .. } => {
                    let msg = crate::client::command(home, "/api/v1/upgrades", Some(plan_json(&plan)))?;
                    println!("{msg}");
                }
                ControlPath::Offline(_) => {
                    m.offer_batch(vec![plan], head).map_err(classify)?;
                    println!("queued upgrade '{name}' at height {h} (head {}, from {head_from})", head.map(|h| h.to_string()).unwrap_or_else(|| "unknown".into()));
                    println!("{}", note_supervisor(home));
                }
            }
        }
        None => println!(
            "not queued: it is used when chain-data/upgrade-info.json names '{name}' (or run `wemixvisor upgrade add {name} --binary ... --height H`)"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn plan(home: &Home, config: &Config, file: &Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).map_err(|e| {
        bad_input(format!(
            "cannot read the plan file '{}': {e}\nhelp: give the path of a JSON list of plans",
            file.display()
        ))
    })?;
    let infos = parse_plan_file(&bytes).map_err(|problems| {
        bad_input(format!(
            "plan file '{}': {}",
            file.display(),
            UpgradeError::BadPlan { problems }
        ))
    })?;
    let path = control_path(home)?;
    let rt = runtime()?;
    let mut m = manager(home, config, crate::daemon::data_backup(home, config)?)?;
    let current = m.store().current()?;
    let (head, head_from) = head(&rt, home, config);
    let problems = validate_batch(&infos, m.queue(), current.as_deref(), head);
    if !problems.is_empty() {
        return Err(bad_input(format!(
            "plan file '{}': {}",
            file.display(),
            UpgradeError::BadPlan { problems }
        )));
    }
    if head.is_none() {
        eprintln!("warning: the head is unknown (the node's RPC did not answer and state/status.json has none); heights were not checked against it");
    }
    let plans = to_plans(infos, "plan");
    let summary: Vec<String> = plans
        .iter()
        .map(|p| format!("'{}' at {}", p.name, p.height))
        .collect();
    if let ControlPath::Online { .. } = path {
        let body = serde_json::Value::Array(plans.iter().map(plan_json).collect());
        println!(
            "{}",
            crate::client::command(home, "/api/v1/upgrades", Some(body))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    m.offer_batch(plans, head).map_err(|e| match e {
        UpgradeError::BadPlan { .. } => bad_input(format!("plan file '{}': {e}", file.display())),
        other => classify(other),
    })?;
    println!(
        "queued {} upgrade(s): {} (head {}, from {head_from})",
        summary.len(),
        summary.join(", "),
        head.map(|h| h.to_string())
            .unwrap_or_else(|| "unknown".into())
    );
    println!("{}", note_supervisor(home));
    Ok(ExitCode::SUCCESS)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn print_status(r: &StatusReport, pid: Option<u32>, head: Option<u64>, head_from: &str) {
    println!(
        "current:    {} ({}{})",
        r.current,
        r.current_binary.display(),
        r.current_sha256
            .as_deref()
            .map(|s| format!(", sha256 {}", &s[..s.len().min(16)]))
            .unwrap_or_default()
    );
    println!(
        "supervisor: {}",
        pid.map(|p| format!("running (pid {p})"))
            .unwrap_or_else(|| "not running".into())
    );
    println!(
        "head:       {}",
        head.map(|h| format!("{h} (from {head_from})"))
            .unwrap_or_else(|| "unknown".into())
    );
    if let Some(a) = &r.in_progress {
        println!(
            "in progress: '{}' at step {} since {}{}",
            a.name,
            a.step.as_str(),
            a.updated_at,
            if pid.is_some() {
                ""
            } else {
                " (recovered when the supervisor starts)"
            }
        );
        if let Some(d) = a.verify.as_ref().and_then(|v| v.detail.as_deref()) {
            println!("            {d}");
        }
    }
    if let Some(m) = &r.migration {
        println!(
            "migration:  {} step {}/{} '{}', {} for {}{}",
            m.phase,
            m.index + 1,
            m.total,
            m.step,
            if m.finished { "ran" } else { "running" },
            humantime::format_duration(std::time::Duration::from_secs(m.elapsed_now())),
            if m.last_line.is_empty() {
                String::new()
            } else {
                format!("; last output: {}", m.last_line)
            }
        );
    }
    match &r.last {
        Some(l) => {
            println!(
                "last:       '{}' {} at {} ({} -> {}){}",
                l.name,
                l.outcome.as_str(),
                l.at,
                l.from.as_deref().unwrap_or("genesis"),
                l.to.as_deref().unwrap_or("genesis"),
                if l.manual { ", manual" } else { "" }
            );
            if let Some(reason) = &l.reason {
                println!("            reason: {}", first_line(reason));
            }
        }
        None => println!("last:       no upgrade yet"),
    }
    for b in &r.blocked {
        println!(
            "blocked:    '{}' (height {}): {}",
            b.name, b.height, b.reason
        );
        if !b.holding_back.is_empty() {
            println!("            holding back: {}", b.holding_back.join(", "));
        }
        println!("            fix: {}", b.fix);
    }
    if r.plans.is_empty() {
        println!("queue:      empty");
        return;
    }
    println!("queue:");
    println!(
        "  {:<20} {:>12}  {:<12} PREPARE",
        "NAME", "HEIGHT", "STATUS"
    );
    for p in &r.plans {
        println!(
            "  {:<20} {:>12}  {:<12} {}",
            p.plan.name,
            p.plan.height,
            p.status.as_str(),
            if p.status == PlanStatus::Pending {
                p.prepare.as_str()
            } else {
                "-"
            }
        );
        match (&p.status, &p.prepare) {
            (PlanStatus::Pending, PrepareState::Failed { reason, .. }) => {
                println!("      why: {}", first_line(reason));
            }
            (PlanStatus::Pending, PrepareState::Prepared { notes, .. }) => {
                for n in notes {
                    println!("      note: {n}");
                }
            }
            (PlanStatus::Failed { reason }, _)
            | (PlanStatus::Aborted { reason }, _)
            | (PlanStatus::Retry { reason }, _)
            | (PlanStatus::Verifying { detail: reason, .. }, _)
            | (PlanStatus::RolledBack { reason }, _) => {
                println!("      why: {}", first_line(reason));
            }
            _ => {}
        }
        if let Some(b) = &p.blocked {
            println!("      waiting: {}", first_line(b));
        }
    }
}

fn status(home: &Home, config: &Config, as_json: bool) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    let mut m = manager(home, config, None)?;
    let pid = supervisor_pid(home);
    let (head, head_from) = head(&rt, home, config);
    let report = m.status_at(head)?;
    if as_json {
        let mut v = serde_json::to_value(&report)?;
        v["supervisor_pid"] = json!(pid);
        v["head"] = json!(head);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_status(&report, pid, head, head_from);
    }
    if report.blocked.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

fn cancel(home: &Home, config: &Config, name: &str) -> anyhow::Result<ExitCode> {
    let _lock = match control_path(home)? {
        ControlPath::Online { .. } => {
            let path = format!("/api/v1/upgrades/{name}/cancel");
            println!("{}", crate::client::command(home, &path, None)?);
            return Ok(ExitCode::SUCCESS);
        }
        ControlPath::Offline(lock) => lock,
    };
    let mut m = manager(home, config, None)?;
    let removed = m.cancel(name).map_err(classify)?;
    println!(
        "cancelled upgrade '{}' (height {})",
        removed.plan.name, removed.plan.height
    );
    if let Ok(Some(info)) = wemixvisor_upgrade::read_upgrade_info(&home.upgrade_info_file()) {
        if info.name == name {
            eprintln!(
                "warning: '{}' still names '{name}'; it is queued again when the supervisor starts unless you remove or change it",
                home.upgrade_info_file().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn rollback(
    home: &Home,
    config: &Config,
    restore_data: bool,
    force: bool,
) -> anyhow::Result<ExitCode> {
    // The library decides the path: the running supervisor owns the node
    // (it stops it, rolls back and starts the previous binary); with none,
    // offline while holding the home lock.
    let _lock = match control_path(home)? {
        ControlPath::Online { .. } => {
            let body = json!({ "restore_data": restore_data, "force": force });
            println!(
                "{}",
                crate::client::command(home, "/api/v1/upgrades/rollback", Some(body))?
            );
            return Ok(ExitCode::SUCCESS);
        }
        ControlPath::Offline(lock) => lock,
    };
    if let wemixvisor_node::Orphan::Running { pid } | wemixvisor_node::Orphan::Unknown { pid } =
        wemixvisor_node::find_orphan(&home.node_pid_file())
    {
        return Err(anyhow!(
            "a node (pid {pid}) still runs on '{}'\nhelp: stop it (kill -TERM {pid}) before rolling back",
            home.data_dir().display()
        ));
    }
    let backup: Option<Arc<dyn DataBackup>> = if restore_data {
        let b = wemixvisor_backup::Backups::new(
            home.clone(),
            wemixvisor_supervisor::settings::backup_options(config),
        )
        .context("cannot open the backups to restore the data")?;
        Some(Arc::new(b))
    } else {
        None
    };
    let mut m = manager(home, config, backup)?;
    let rt = runtime()?;
    let mut spec = LaunchSpec {
        program: home.current_bin(&config.node.daemon_name),
        ..LaunchSpec::default()
    };
    let entry = rt
        .block_on(m.rollback(
            &OfflineNode,
            &mut spec,
            restore_data,
            "operator ran `wemixvisor upgrade rollback`",
        ))
        .map_err(|e| match e {
            UpgradeError::Rollback { .. } => bad_input(e.to_string()),
            other => anyhow::Error::new(other),
        })?;
    println!(
        "rolled back '{}': current -> {}",
        entry.name,
        entry.to.as_deref().unwrap_or("genesis")
    );
    if let Some(reason) = &entry.reason {
        if let Some((_, rest)) = reason.split_once("; ") {
            println!("{rest}");
        }
    }
    println!("start the node again with `wemixvisor run` (or `start`)");
    Ok(ExitCode::SUCCESS)
}
