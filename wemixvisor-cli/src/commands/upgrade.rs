//! `wemixvisor upgrade`: queue upgrades (one, or a batch plan), show the
//! queue and the last outcome, cancel a pending plan, roll back.
//! `wemixvisor-upgrade` decides; this module prints.
//!
//! Everything here works with no supervisor running: the queue is edited
//! under its lock, and a running supervisor picks the change up on its next
//! tick. A rollback with a supervisor running is refused (it must go
//! through the supervisor).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use serde_json::json;
use wemixvisor_config::Config;
use wemixvisor_core::lock::{pid_alive, PidLock};
use wemixvisor_core::{
    validate_upgrade_name, BinarySource, ChainClient, Checksum, DataBackup, Home, InfoSource,
    LaunchSpec, OsFs, UpgradeInfo, UpgradePlan,
};
use wemixvisor_upgrade::install::{install_from_url, install_local};
use wemixvisor_upgrade::plan::{parse_plan_file, to_plans, validate_batch};
use wemixvisor_upgrade::{
    DownloadSettings, FlagMigration, OfflineNode, PlanStatus, PrepareState, StatusReport,
    UpgradeError, UpgradeManager, UpgradeSettings,
};

use crate::context::env_var;
use crate::exit::bad_input;

/// Environment variable: flag renames `--old=--new,...` (added before the
/// configured and built-in renames), or `none` to turn all of them off.
pub const ENV_FLAG_MIGRATIONS: &str = "WEMIXVISOR_FLAG_MIGRATIONS";

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
    /// Remove a pending upgrade from the queue.
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
    },
}

/// The pipeline settings from the configuration (whose env overlay already
/// covers `WEMIXVISOR_DOWNLOAD_CA_CERT`, `WEMIXVISOR_ROLLBACK_RESTORE_DATA`
/// and `COSMOVISOR_CUSTOM_PREUPGRADE`), plus [`ENV_FLAG_MIGRATIONS`] read
/// through `env`.
pub fn settings_with(
    config: &Config,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<UpgradeSettings> {
    let mut s = UpgradeSettings {
        restart_after_upgrade: config.upgrade.restart_after_upgrade,
        skip_backup: config.upgrade.unsafe_skip_backup || !config.backup.enabled,
        preupgrade_max_retries: config.upgrade.preupgrade_max_retries,
        verify_timeout: config.upgrade.verify_timeout,
        hook_timeout: config.upgrade.hook_timeout,
        rollback_restore_data: config.upgrade.rollback_restore_data,
        custom_pre_upgrade: config.upgrade.custom_pre_upgrade.clone(),
        download: DownloadSettings {
            allow: config.download.allow_download_binaries,
            must_have_checksum: config.download.must_have_checksum,
            require_signature: config.download.require_signature,
            public_keys: config.download.public_keys.clone(),
            allowed_hosts: config.download.allowed_hosts.clone(),
            ca_cert: config.download.ca_cert.clone(),
            max_bytes: config.download.max_bytes,
            timeout: config.download.timeout,
            ..DownloadSettings::default()
        },
        ..UpgradeSettings::default()
    };
    if !config.upgrade.flag_migrations.is_empty() {
        let mut own = FlagMigration::parse_list(&config.upgrade.flag_migrations.join(","))
            .map_err(|e| {
                bad_input(format!(
                    "upgrade.flag_migrations: {e}\nhelp: e.g. flag_migrations = [\"--rpcport=--http.port\"]"
                ))
            })?;
        own.append(&mut s.flag_migrations);
        s.flag_migrations = own;
    }
    if let Some(v) = env(ENV_FLAG_MIGRATIONS) {
        if v.trim().eq_ignore_ascii_case("none") {
            s.flag_migrations.clear();
        } else {
            let mut own = FlagMigration::parse_list(&v).map_err(|e| {
                bad_input(format!(
                    "{ENV_FLAG_MIGRATIONS}: {e}\nhelp: e.g. {ENV_FLAG_MIGRATIONS}=--rpcport=--http.port,--nousb=--usb"
                ))
            })?;
            own.append(&mut s.flag_migrations);
            s.flag_migrations = own;
        }
    }
    Ok(s)
}

/// [`settings_with`] from the process environment.
pub fn settings(config: &Config) -> anyhow::Result<UpgradeSettings> {
    settings_with(config, env_var)
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
    match crate::daemon::load_status_file(&home.status_file()).and_then(|s| s.chain.head) {
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
    PidLock::holder(&home.supervisor_pid_file())
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
        } => add(
            home,
            config,
            &name,
            binary.as_deref(),
            url.as_deref(),
            height,
            checksum.as_deref(),
        ),
        UpgradeCmd::Plan { file } => plan(home, config, &file),
        UpgradeCmd::Status { json } => status(home, config, json),
        UpgradeCmd::Cancel { name } => cancel(home, config, &name),
        UpgradeCmd::Rollback { restore_data } => rollback(home, config, restore_data),
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

fn add(
    home: &Home,
    config: &Config,
    name: &str,
    binary: Option<&Path>,
    url: Option<&str>,
    height: Option<u64>,
    checksum: Option<&str>,
) -> anyhow::Result<ExitCode> {
    validate_upgrade_name(name)
        .map_err(|e| bad_input(format!("{e}\nhelp: pick a name such as v1.2.0")))?;
    let checksum = checksum.map(Checksum::parse).transpose().map_err(|e| {
        bad_input(format!(
            "--checksum: {e}\nhelp: --checksum sha256:<64 hex digits>"
        ))
    })?;
    let rt = runtime()?;
    let mut m = manager(home, config, None)?;
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
    let (installed, info) = match (binary, url) {
        (Some(path), _) => {
            if !path.is_file() {
                return Err(bad_input(format!(
                    "--binary '{}' is not a file\nhelp: pass the path of the new node binary",
                    path.display()
                )));
            }
            (
                install_local(m.store(), name, path, checksum.as_ref())?,
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
                rt.block_on(install_from_url(m.store(), &settings, name, &source, None))?;
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
    m.reset_preparation(name)?;
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
            m.offer_batch(vec![plan], head).map_err(classify)?;
            println!("queued upgrade '{name}' at height {h} (head {}, from {head_from})", head.map(|h| h.to_string()).unwrap_or_else(|| "unknown".into()));
            println!("{}", note_supervisor(home));
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
    let rt = runtime()?;
    let mut m = manager(home, config, None)?;
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
            "in progress: '{}' at step {} since {} (recovered when the supervisor starts)",
            a.name,
            a.step.as_str(),
            a.updated_at
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
    let report = m.status()?;
    let pid = supervisor_pid(home);
    let (head, head_from) = head(&rt, home, config);
    if as_json {
        let mut v = serde_json::to_value(&report)?;
        v["supervisor_pid"] = json!(pid);
        v["head"] = json!(head);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_status(&report, pid, head, head_from);
    }
    Ok(ExitCode::SUCCESS)
}

fn cancel(home: &Home, config: &Config, name: &str) -> anyhow::Result<ExitCode> {
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

fn rollback(home: &Home, config: &Config, restore_data: bool) -> anyhow::Result<ExitCode> {
    if supervisor_pid(home).is_some() {
        // The running supervisor owns the node: it stops it, rolls back and
        // starts the previous binary.
        let path = format!("/api/v1/upgrade/rollback?restore_data={restore_data}");
        match crate::api::request_blocking(&home.socket_file(), "POST", &path)? {
            Some((200, body)) => {
                println!("{}", body.trim());
                return Ok(ExitCode::SUCCESS);
            }
            Some((code, body)) => {
                return Err(anyhow!("rollback failed ({code}): {}", body.trim()));
            }
            None => {
                return Err(anyhow!(
                    "a supervisor runs on '{}' but does not answer on its socket\nhelp: stop it, then run `wemixvisor upgrade rollback` again",
                    home.root().display()
                ))
            }
        }
    }
    if let Some(pid) = std::fs::read_to_string(home.node_pid_file())
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .filter(|p| pid_alive(*p))
    {
        return Err(anyhow!(
            "a node (pid {pid}) still runs on '{}'\nhelp: stop it (kill -TERM {pid}) before rolling back",
            home.data_dir().display()
        ));
    }
    let backup: Option<Arc<dyn DataBackup>> = if restore_data {
        let b =
            wemixvisor_backup::Backups::new(home.clone(), crate::daemon::backup_options(config))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_from_config_and_env() {
        let mut c = Config::default();
        c.download.allow_download_binaries = true;
        c.backup.enabled = false;
        c.upgrade.verify_timeout = Duration::from_secs(9);
        c.upgrade.rollback_restore_data = true;
        c.upgrade.custom_pre_upgrade = Some("scripts/custom".into());
        c.upgrade.flag_migrations = vec!["--old=--new".into()];
        c.download.ca_cert = Some("/ca.pem".into());
        let env = |k: &str| (k == ENV_FLAG_MIGRATIONS).then(|| "--nousb=--usb".to_string());
        let s = settings_with(&c, env).unwrap();
        assert!(s.download.allow && s.skip_backup && s.rollback_restore_data);
        assert_eq!(s.verify_timeout, Duration::from_secs(9));
        assert_eq!(s.download.ca_cert.as_deref(), Some(Path::new("/ca.pem")));
        assert_eq!(
            s.custom_pre_upgrade.as_deref(),
            Some(Path::new("scripts/custom"))
        );
        // env first, then the configured ones, then the built-in geth renames
        assert_eq!(s.flag_migrations[0], FlagMigration::new("nousb", "usb"));
        assert_eq!(s.flag_migrations[1], FlagMigration::new("old", "new"));
        assert!(s.flag_migrations.iter().any(|m| m.from == "rpc"));
        let none = |k: &str| (k == ENV_FLAG_MIGRATIONS).then(|| "none".to_string());
        assert!(settings_with(&c, none).unwrap().flag_migrations.is_empty());
        c.upgrade.flag_migrations = vec!["nonsense".into()];
        let e = settings_with(&c, |_| None).unwrap_err().to_string();
        assert!(
            e.contains("upgrade.flag_migrations") && e.contains("help:"),
            "{e}"
        );
    }
}
