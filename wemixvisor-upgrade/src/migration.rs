//! Upgrades that change the data: the optional `migrate`, `verify`,
//! `node_options`, `daemon_name`, `space` and `builtin` fields of a plan's
//! `info` object, their validation, the command runner, the free-space
//! check and the built-in gwemix → go-wbft database move.
//!
//! ```json
//! {"name": "wbft", "height": 1000, "info": {
//!   "daemon_name": "geth",
//!   "space": "datadir",
//!   "migrate": [{"name": "convert", "command": ["db_migrator", "-src", "${WEMIX_DATADIR}", "-dst", "${WEMIX_NEW_DATADIR}"], "timeout": "12h"}],
//!   "verify": [{"command": "test -d \"$WEMIX_NEW_DATADIR/geth/chaindata\""}],
//!   "node_options": {"add": ["--db.engine", "pebble"], "remove": ["--old.flag"], "rename": {"--a": "--b"}, "datadir": "chain-data-wbft"}
//! }}
//! ```
//!
//! # Theory of operation
//! A plan's steps are read with [`MigrationPlan::from_info`], which names
//! the field of every problem (`info.migrate[1].timeout: ...`). With the
//! node stopped and after the pre-upgrade snapshot, each `migrate` command
//! runs in order ([`run_step`]) in its own process group, with its own time
//! limit (hours allowed), the hook environment plus `WEMIX_DATADIR` (and
//! `WEMIX_NEW_DATADIR` when the plan writes a new datadir); its output is
//! read as bytes, decoded lossily, logged line by line, and its progress
//! (step, start time, last output line) is kept in a small state file for
//! `upgrade status`. Then the `verify` commands run the same way. A
//! migration into a new datadir never writes the old one, so the old one is
//! the rollback; an in-place one is rolled back from the pre-upgrade
//! snapshot. [`check_space`] tells ahead, at prepare time, whether the
//! snapshot and the migration fit on the disk. [`detect_engine`] and
//! [`builtin_move`] turn `"builtin": "gwemix-to-wbft"` into the steps the
//! go-wbft `db_migrator` README describes.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::hooks::HookEnv;

/// Time limit of a `migrate` command when the plan gives none.
pub const DEFAULT_MIGRATE_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Time limit of a `verify` command when the plan gives none.
pub const DEFAULT_VERIFY_TIMEOUT: Duration = Duration::from_secs(4 * 3600);
/// Longest time limit a plan may ask for (one week).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);
/// Output of a command kept for error messages (all of it is logged).
const OUTPUT_CAP: usize = 64 * 1024;
/// Longest line kept as "last output line".
const LAST_LINE_CAP: usize = 300;
/// How often the progress file is rewritten while a command prints.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// The name of the built-in gwemix → go-wbft move.
pub const BUILTIN_WBFT_MOVE: &str = "gwemix-to-wbft";

/// What happens when a `migrate` command fails or is interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Bring the old data back; an interrupted (killed) migration is then
    /// tried again from its first step, a failed command ends the upgrade.
    #[default]
    Restore,
    /// Bring the old data back and mark the upgrade failed, interrupted or not.
    Fail,
}

impl OnFailure {
    /// The name as written in a plan.
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Restore => "restore",
            OnFailure::Fail => "fail",
        }
    }
}

/// What a step runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Command {
    /// A program and its arguments (`${VAR}` placeholders substituted; a
    /// bare program name is looked for in the upgrade's `bin/` first).
    Argv(Vec<String>),
    /// A shell command line, run with `/bin/sh -c`.
    Shell(String),
}

/// One `migrate` or `verify` command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandStep {
    /// A short name for logs and status (`migrate[0]` when none is given).
    pub name: String,
    /// What it runs.
    pub command: Command,
    /// Its time limit.
    pub timeout: Duration,
    /// Safe to run again after an interruption (`migrate` only).
    pub idempotent: bool,
    /// What a failure or interruption leads to (`migrate` only).
    pub on_failure: OnFailure,
}

/// Option changes that come with the new release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeOptions {
    /// Arguments appended as they are (e.g. `["--db.engine", "leveldb"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    /// Flags removed with their value (`--x`, `--x=v`, `--x v`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    /// Flags renamed, their value kept (`{"--old": "--new"}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rename: BTreeMap<String, String>,
    /// A new `--datadir` (absolute, or relative to the home).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datadir: Option<PathBuf>,
}

impl NodeOptions {
    /// True when nothing changes.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty()
            && self.remove.is_empty()
            && self.rename.is_empty()
            && self.datadir.is_none()
    }

    /// `args` with the changes applied: removals, renames, additions, then
    /// the new datadir (`new_datadir`, already resolved against the home).
    pub fn apply(&self, args: &[String], new_datadir: Option<&Path>) -> Vec<String> {
        let mut out = Vec::with_capacity(args.len() + self.add.len() + 2);
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            let (flag, inline) = split_flag(a);
            let takes_next = inline.is_none()
                && args
                    .get(i + 1)
                    .is_some_and(|n| !n.starts_with('-') && flag.is_some());
            match flag {
                Some(f)
                    if self.remove.iter().any(|r| same_flag(r, f))
                        || (new_datadir.is_some() && f == "datadir") =>
                {
                    i += if takes_next { 2 } else { 1 };
                    continue;
                }
                Some(f) => {
                    if let Some((_, to)) = self.rename.iter().find(|(from, _)| same_flag(from, f)) {
                        let to = format!("--{}", to.trim_start_matches('-'));
                        out.push(match inline {
                            Some(v) => format!("{to}={v}"),
                            None => to,
                        });
                    } else {
                        out.push(a.clone());
                    }
                }
                None => out.push(a.clone()),
            }
            i += 1;
        }
        out.extend(self.add.iter().cloned());
        if let Some(d) = new_datadir {
            out.push("--datadir".into());
            out.push(d.to_string_lossy().into_owned());
        }
        out
    }
}

/// `--name=value` → (`name`, `value`); `--name` → (`name`, none); a
/// positional → none.
fn split_flag(arg: &str) -> (Option<&str>, Option<&str>) {
    let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
        return (None, None);
    };
    if body.is_empty() {
        return (None, None);
    }
    match body.split_once('=') {
        Some((f, v)) => (Some(f), Some(v)),
        None => (Some(body), None),
    }
}

fn same_flag(spec: &str, flag: &str) -> bool {
    spec.trim_start_matches('-') == flag
}

/// How much free space a migration needs besides the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "bytes")]
pub enum SpaceNeed {
    /// A stated number of bytes.
    Bytes(u64),
    /// As much as the datadir holds now (a full copy).
    Datadir,
}

/// The data-changing part of a plan (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationPlan {
    /// Commands run with the node stopped, after the snapshot, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub migrate: Vec<CommandStep>,
    /// Commands run after the migration, before the new binary starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<CommandStep>,
    /// Option changes for the new release.
    #[serde(default, skip_serializing_if = "NodeOptions::is_empty")]
    pub node_options: NodeOptions,
    /// The new release's binary name (`upgrades/<name>/bin/<daemon_name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_name: Option<String>,
    /// Free space the migration needs besides the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<SpaceNeed>,
    /// A built-in move (`gwemix-to-wbft`), expanded by [`builtin_move`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<String>,
}

/// The `info` keys this module reads.
pub const FIELDS: &[&str] = &[
    "migrate",
    "verify",
    "node_options",
    "daemon_name",
    "space",
    "builtin",
];

impl MigrationPlan {
    /// True when the plan changes nothing but the binary.
    pub fn is_empty(&self) -> bool {
        *self == MigrationPlan::default()
    }

    /// True when the plan has commands that change the data.
    pub fn changes_data(&self) -> bool {
        !self.migrate.is_empty() || self.builtin.is_some()
    }

    /// Reads the optional fields of a plan's `info` object (anything that
    /// is not an object has none). Every problem is returned, each naming
    /// its field (`info.migrate[1].timeout: ...`).
    pub fn from_info(info: Option<&Value>) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let mut plan = MigrationPlan::default();
        let Some(obj) = info.and_then(Value::as_object) else {
            return Ok(plan);
        };
        if let Some(v) = obj.get("migrate") {
            plan.migrate = parse_steps("migrate", v, DEFAULT_MIGRATE_TIMEOUT, &mut problems);
        }
        if let Some(v) = obj.get("verify") {
            plan.verify = parse_steps("verify", v, DEFAULT_VERIFY_TIMEOUT, &mut problems);
        }
        if let Some(v) = obj.get("node_options") {
            plan.node_options = parse_node_options(v, &mut problems);
        }
        match obj.get("daemon_name") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => match validate_daemon_name(s) {
                Ok(()) => plan.daemon_name = Some(s.clone()),
                Err(e) => problems.push(format!("info.daemon_name: {e}")),
            },
            Some(other) => problems.push(format!(
                "info.daemon_name: expected a binary name string, got {other}"
            )),
        }
        match obj.get("space") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s == "datadir" => plan.space = Some(SpaceNeed::Datadir),
            Some(Value::Number(n)) if n.as_u64().is_some() => {
                plan.space = n.as_u64().map(SpaceNeed::Bytes)
            }
            Some(other) => problems.push(format!(
                "info.space: expected a number of bytes or \"datadir\", got {other}"
            )),
        }
        match obj.get("builtin") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s == BUILTIN_WBFT_MOVE => plan.builtin = Some(s.clone()),
            Some(other) => problems.push(format!(
                "info.builtin: expected \"{BUILTIN_WBFT_MOVE}\", got {other}"
            )),
        }
        if plan.builtin.is_some() && !plan.migrate.is_empty() {
            problems.push(
                "info.builtin: cannot be combined with info.migrate (the built-in move brings its own steps)".into(),
            );
        }
        if let Some(d) = &plan.node_options.datadir {
            if plan.migrate.is_empty() && plan.builtin.is_none() {
                problems.push(format!(
                    "info.node_options.datadir: '{}' is a new datadir, but no info.migrate step writes it",
                    d.display()
                ));
            }
        }
        if problems.is_empty() {
            Ok(plan)
        } else {
            Err(problems)
        }
    }
}

/// Checks a binary name: one path component, no dots only, no NUL.
pub fn validate_daemon_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("the binary name is empty".into());
    }
    if s == "." || s == ".." || s.contains('/') || s.contains('\0') {
        return Err(format!(
            "'{s}' is not a plain file name (no '/', not '.' or '..')"
        ));
    }
    Ok(())
}

fn parse_steps(
    field: &str,
    v: &Value,
    default_timeout: Duration,
    problems: &mut Vec<String>,
) -> Vec<CommandStep> {
    let Some(list) = v.as_array() else {
        problems.push(format!(
            "info.{field}: expected a list of steps, got {}",
            kind_of(v)
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let at = format!("info.{field}[{i}]");
        let Some(o) = s.as_object() else {
            problems.push(format!(
                "{at}: expected an object with \"command\", got {}",
                kind_of(s)
            ));
            continue;
        };
        for k in o.keys() {
            if !["name", "command", "timeout", "idempotent", "on_failure"].contains(&k.as_str()) {
                problems.push(format!(
                    "{at}.{k}: unknown field (known: name, command, timeout, idempotent, on_failure)"
                ));
            }
        }
        let name = match o.get("name") {
            None => format!("{field}[{i}]"),
            Some(Value::String(n)) if !n.trim().is_empty() => n.trim().to_string(),
            Some(other) => {
                problems.push(format!(
                    "{at}.name: expected a non-empty string, got {other}"
                ));
                format!("{field}[{i}]")
            }
        };
        let command = match o.get("command") {
            Some(Value::String(c)) if !c.trim().is_empty() => Some(Command::Shell(c.clone())),
            Some(Value::Array(a)) if !a.is_empty() && a.iter().all(Value::is_string) => {
                Some(Command::Argv(
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect(),
                ))
            }
            Some(Value::Array(a)) if !a.is_empty() => {
                problems.push(format!(
                    "{at}.command: every element must be a string, got {}",
                    Value::Array(a.clone())
                ));
                None
            }
            Some(other) => {
                problems.push(format!(
                    "{at}.command: expected a non-empty list [program, args...] or a shell command string, got {other}"
                ));
                None
            }
            None => {
                problems.push(format!("{at}.command: missing"));
                None
            }
        };
        if let Some(Command::Argv(a)) = &command {
            if a[0].trim().is_empty() {
                problems.push(format!("{at}.command[0]: the program is empty"));
            }
        }
        let timeout = match o.get("timeout") {
            None | Some(Value::Null) => default_timeout,
            Some(t) => match parse_timeout(t) {
                Ok(d) => d,
                Err(e) => {
                    problems.push(format!("{at}.timeout: {e}"));
                    default_timeout
                }
            },
        };
        let idempotent = match o.get("idempotent") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                problems.push(format!(
                    "{at}.idempotent: expected true or false, got {other}"
                ));
                false
            }
        };
        let on_failure = match o.get("on_failure") {
            None | Some(Value::Null) => OnFailure::Restore,
            Some(Value::String(s)) if s == "restore" => OnFailure::Restore,
            Some(Value::String(s)) if s == "fail" => OnFailure::Fail,
            Some(other) => {
                problems.push(format!(
                    "{at}.on_failure: expected \"restore\" or \"fail\", got {other}"
                ));
                OnFailure::Restore
            }
        };
        if field == "verify" && (o.contains_key("idempotent") || o.contains_key("on_failure")) {
            problems.push(format!(
                "{at}: idempotent and on_failure apply to migrate steps only (verify steps are read-only and always run again)"
            ));
        }
        if let Some(command) = command {
            out.push(CommandStep {
                name,
                command,
                timeout,
                idempotent: idempotent || field == "verify",
                on_failure,
            });
        }
    }
    out
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A timeout: `"90m"`, `"12h"`, `"1h 30m"` or a number of seconds.
fn parse_timeout(v: &Value) -> Result<Duration, String> {
    let d = match v {
        Value::Number(n) => n
            .as_u64()
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{n} is not a whole number of seconds"))?,
        Value::String(s) => humantime::parse_duration(s.trim())
            .map_err(|e| format!("\"{s}\" is not a duration (e.g. \"90m\", \"12h\"): {e}"))?,
        other => return Err(format!("expected a duration like \"12h\", got {other}")),
    };
    if d.is_zero() {
        return Err("must be above zero".into());
    }
    if d > MAX_TIMEOUT {
        return Err(format!(
            "{v} is longer than the limit of {}",
            humantime::format_duration(MAX_TIMEOUT)
        ));
    }
    Ok(d)
}

fn parse_node_options(v: &Value, problems: &mut Vec<String>) -> NodeOptions {
    let mut out = NodeOptions::default();
    let Some(o) = v.as_object() else {
        problems.push(format!(
            "info.node_options: expected an object with add/remove/rename/datadir, got {}",
            kind_of(v)
        ));
        return out;
    };
    for (k, v) in o {
        let at = format!("info.node_options.{k}");
        match k.as_str() {
            "add" => match v.as_array() {
                Some(a) if a.iter().all(Value::is_string) => {
                    out.add = a
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect();
                    if out.add.first().is_some_and(|f| !f.starts_with('-')) {
                        problems.push(format!(
                            "{at}[0]: '{}' is not a flag (arguments start with '-')",
                            out.add[0]
                        ));
                    }
                }
                _ => problems.push(format!(
                    "{at}: expected a list of argument strings, got {v}"
                )),
            },
            "remove" => match v.as_array() {
                Some(a) => {
                    for (i, x) in a.iter().enumerate() {
                        match x.as_str() {
                            Some(f) if f.starts_with('-') && f.len() > 1 => {
                                out.remove.push(f.to_string())
                            }
                            _ => problems.push(format!(
                                "{at}[{i}]: expected a flag like \"--name\", got {x}"
                            )),
                        }
                    }
                }
                None => problems.push(format!("{at}: expected a list of flags, got {v}")),
            },
            "rename" => match v.as_object() {
                Some(m) => {
                    for (from, to) in m {
                        match to.as_str() {
                            Some(t)
                                if from.starts_with('-') && t.starts_with('-') && t.len() > 1 =>
                            {
                                out.rename.insert(from.clone(), t.to_string());
                            }
                            _ => problems.push(format!(
                                "{at}.{from}: expected \"--old\": \"--new\", got {to}"
                            )),
                        }
                    }
                }
                None => problems.push(format!(
                    "{at}: expected an object {{\"--old\": \"--new\"}}, got {v}"
                )),
            },
            "datadir" => match v.as_str() {
                Some(d) if !d.trim().is_empty() => out.datadir = Some(PathBuf::from(d.trim())),
                _ => problems.push(format!("{at}: expected a path, got {v}")),
            },
            _ => problems.push(format!(
                "{at}: unknown field (known: add, remove, rename, datadir)"
            )),
        }
    }
    out
}

/// Where the steps of one upgrade run: the paths and variables they see.
#[derive(Debug, Clone)]
pub struct StepContext {
    /// The hook environment (home, daemon name, upgrade name, height, info).
    pub hook: HookEnv,
    /// The datadir the old node used (`WEMIX_DATADIR`).
    pub datadir: PathBuf,
    /// The datadir the new node will use, when it changes (`WEMIX_NEW_DATADIR`).
    pub new_datadir: Option<PathBuf>,
    /// The new release's `bin/` (`UPGRADE_BIN_DIR`), searched first for programs.
    pub upgrade_bin_dir: PathBuf,
    /// The old binary (`OLD_BINARY`).
    pub old_binary: PathBuf,
    /// The new binary (`NEW_BINARY`).
    pub new_binary: PathBuf,
    /// The progress file (`state/migration.json`).
    pub progress_file: PathBuf,
    /// The node log, which gets every output line.
    pub node_log: PathBuf,
}

impl StepContext {
    /// Every variable a step gets.
    pub fn vars(&self) -> Vec<(String, String)> {
        let s = |p: &Path| p.to_string_lossy().into_owned();
        let home = s(&self.hook.home);
        let mut v = vec![
            ("WEMIX_HOME".to_string(), home.clone()),
            ("DAEMON_HOME".into(), home),
            ("DAEMON_NAME".into(), self.hook.daemon_name.clone()),
            ("UPGRADE_NAME".into(), self.hook.name.clone()),
            ("UPGRADE_HEIGHT".into(), self.hook.height.to_string()),
            ("UPGRADE_INFO".into(), self.hook.info_json.clone()),
            ("WEMIX_DATADIR".into(), s(&self.datadir)),
            ("UPGRADE_BIN_DIR".into(), s(&self.upgrade_bin_dir)),
            ("OLD_BINARY".into(), s(&self.old_binary)),
            ("NEW_BINARY".into(), s(&self.new_binary)),
        ];
        if let Some(n) = &self.new_datadir {
            v.push(("WEMIX_NEW_DATADIR".into(), s(n)));
        }
        v
    }

    /// `${VAR}` placeholders of `arg` replaced by the step variables.
    pub fn expand(&self, arg: &str) -> String {
        let mut out = arg.to_string();
        for (k, v) in self.vars() {
            out = out.replace(&format!("${{{k}}}"), &v);
        }
        out
    }

    /// The program of an argv step: a bare name found in the upgrade's
    /// `bin/` is taken from there, else it is left to `PATH`.
    pub fn resolve_program(&self, program: &str) -> PathBuf {
        let p = self.expand(program);
        if !p.contains('/') {
            let local = self.upgrade_bin_dir.join(&p);
            if wemixvisor_core::atomic::is_executable(&local) {
                return local;
            }
        }
        PathBuf::from(p)
    }
}

/// What `upgrade status` shows of a running migration
/// (`state/migration.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Upgrade name.
    pub upgrade: String,
    /// `migrate` or `verify`.
    pub phase: String,
    /// Index of the step in its list.
    pub index: usize,
    /// Steps in the list.
    pub total: usize,
    /// The step's name.
    pub step: String,
    /// Seconds since the Unix epoch when the step started.
    pub started_unix: u64,
    /// Seconds it has run, as of the last write.
    pub elapsed_secs: u64,
    /// Last output line (trimmed to a few hundred bytes).
    pub last_line: String,
    /// Process group of the running command.
    pub pgid: Option<u32>,
    /// Whether the step has ended.
    pub finished: bool,
}

impl Progress {
    /// Reads the progress file, if any (a bad one is none).
    pub fn load(path: &Path) -> Option<Progress> {
        let b = std::fs::read(path).ok()?;
        serde_json::from_slice(&b).ok()
    }

    /// Seconds the step has been running, as of now.
    pub fn elapsed_now(&self) -> u64 {
        if self.finished {
            return self.elapsed_secs;
        }
        unix_now().saturating_sub(self.started_unix)
    }

    fn save(&self, path: &Path) {
        if let Err(e) = wemixvisor_core::atomic::write_json_atomic(
            path,
            self,
            wemixvisor_core::atomic::SECRET_MODE,
        ) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write the migration progress");
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// How a step's command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepResult {
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// Signal, when one killed it.
    pub signal: Option<i32>,
    /// True when its time limit was hit and its group killed.
    pub timed_out: bool,
    /// The last output (up to 64 KiB), lossily decoded.
    pub output: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl StepResult {
    /// True for exit code 0.
    pub fn success(&self) -> bool {
        !self.timed_out && self.code == Some(0)
    }

    /// "exit code 3", "signal 9", "timed out after 2h".
    pub fn describe(&self) -> String {
        match (self.timed_out, self.code, self.signal) {
            (true, _, _) => format!(
                "did not finish within its time limit and was killed with its process group (after {})",
                humantime::format_duration(Duration::from_secs(self.elapsed.as_secs()))
            ),
            (_, Some(c), _) => format!("exit code {c}"),
            (_, None, Some(s)) => format!("signal {s}"),
            _ => "unknown exit".into(),
        }
    }

    /// The last `n` output lines, indented.
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.output.lines().collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| format!("    | {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

struct Sink {
    kept: String,
    partial: Vec<u8>,
    progress: Progress,
    last_write: std::time::Instant,
    progress_file: PathBuf,
    log: Option<std::fs::File>,
    label: String,
}

impl Sink {
    fn line(&mut self, bytes: &[u8]) {
        let line = String::from_utf8_lossy(bytes);
        let line = line.trim_end_matches('\r');
        tracing::info!(target: "wemixvisor_upgrade::migration", step = %self.label, "{line}");
        if let Some(f) = self.log.as_mut() {
            let _ = writeln!(f, "[{}] {line}", self.label);
        }
        self.kept.push_str(line);
        self.kept.push('\n');
        if self.kept.len() > OUTPUT_CAP {
            let cut = self.kept.len() - OUTPUT_CAP;
            let cut = (cut..self.kept.len())
                .find(|i| self.kept.is_char_boundary(*i))
                .unwrap_or(self.kept.len());
            self.kept.drain(..cut);
        }
        if !line.trim().is_empty() {
            let mut l = line.trim().to_string();
            if l.len() > LAST_LINE_CAP {
                let cut = (0..=LAST_LINE_CAP)
                    .rev()
                    .find(|i| l.is_char_boundary(*i))
                    .unwrap_or(0);
                l.truncate(cut);
            }
            self.progress.last_line = l;
        }
        if self.last_write.elapsed() >= PROGRESS_EVERY {
            self.flush_progress();
        }
    }

    fn bytes(&mut self, chunk: &[u8]) {
        self.partial.extend_from_slice(chunk);
        while let Some(nl) = self.partial.iter().position(|b| *b == b'\n') {
            let rest = self.partial.split_off(nl + 1);
            let mut line = std::mem::replace(&mut self.partial, rest);
            line.pop();
            self.line(&line);
        }
        // a very long line without a newline is cut, never buffered unbounded
        if self.partial.len() > OUTPUT_CAP {
            let line = std::mem::take(&mut self.partial);
            self.line(&line);
        }
    }

    fn end(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line);
        }
    }

    fn flush_progress(&mut self) {
        self.progress.elapsed_secs = unix_now().saturating_sub(self.progress.started_unix);
        self.progress.save(&self.progress_file);
        self.last_write = std::time::Instant::now();
    }
}

fn pump(
    mut pipe: impl AsyncRead + Unpin + Send + 'static,
    sink: Arc<Mutex<Sink>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        loop {
            match pipe.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut s) = sink.lock() {
                        s.bytes(&buf[..n]);
                    }
                }
            }
        }
        if let Ok(mut s) = sink.lock() {
            s.end();
        }
    })
}

/// Kills the process group `pgid` (a migrator left by a dead supervisor, or
/// one past its time limit) and waits up to `wait` for it to be gone.
/// Returns true when no member is left.
pub async fn kill_group(pgid: u32, wait: Duration) -> bool {
    let Ok(raw) = i32::try_from(pgid) else {
        return true;
    };
    if raw <= 1 {
        return true;
    }
    let _ = killpg(Pid::from_raw(raw), Signal::SIGKILL);
    let end = tokio::time::Instant::now() + wait;
    loop {
        if !group_alive(raw) {
            return true;
        }
        if tokio::time::Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether a process group has a member that is not a zombie (a killed
/// member whose parent has not reaped it yet cannot write anything).
fn group_alive(pgid: i32) -> bool {
    if killpg(Pid::from_raw(pgid), None).is_err() {
        return false;
    }
    // Without /proc (macOS) the signal answer is all there is; there the
    // members' orphans go to launchd, which reaps them at once.
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return true;
    };
    let mut any_proc = false;
    for e in procs.flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        any_proc = true;
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ')'
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next();
        let pgrp = f.nth(1).and_then(|x| x.parse::<i32>().ok());
        if pgrp == Some(pgid) && state != Some("Z") {
            return true;
        }
    }
    !any_proc
}

/// Runs one step: in a new process group, with the step variables, its
/// output logged and appended to the node log, progress in the progress
/// file. `on_spawn` gets the process group id before any output is read
/// (record it in the journal: a later start kills a group left behind).
/// At the time limit the whole group is killed; the group is killed at the
/// end in any case so nothing it left behind keeps writing the data.
pub async fn run_step(
    ctx: &StepContext,
    phase: &str,
    index: usize,
    total: usize,
    step: &CommandStep,
    on_spawn: &mut (dyn FnMut(u32) + Send),
) -> std::io::Result<StepResult> {
    let mut cmd = match &step.command {
        Command::Argv(a) => {
            let mut c = tokio::process::Command::new(ctx.resolve_program(&a[0]));
            c.args(a[1..].iter().map(|x| ctx.expand(x)));
            c
        }
        Command::Shell(s) => {
            let mut c = tokio::process::Command::new("/bin/sh");
            c.arg("-c").arg(s);
            c
        }
    };
    cmd.envs(ctx.vars())
        .env("WEMIXVISOR_STEP", format!("{phase}:{}", step.name))
        .current_dir(&ctx.hook.home)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let label = format!("{phase} {}", step.name);
    tracing::info!(upgrade = %ctx.hook.name, step = %label, timeout = %humantime::format_duration(step.timeout), "running {label}");
    let started = std::time::Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id();
    if let Some(p) = pid {
        on_spawn(p);
    }
    let log = ctx.node_log.parent().and_then(|d| {
        std::fs::create_dir_all(d).ok()?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&ctx.node_log)
            .ok()
    });
    let progress = Progress {
        upgrade: ctx.hook.name.clone(),
        phase: phase.to_string(),
        index,
        total,
        step: step.name.clone(),
        started_unix: unix_now(),
        elapsed_secs: 0,
        last_line: String::new(),
        pgid: pid,
        finished: false,
    };
    progress.save(&ctx.progress_file);
    let sink = Arc::new(Mutex::new(Sink {
        kept: String::new(),
        partial: Vec::new(),
        progress,
        last_write: std::time::Instant::now(),
        progress_file: ctx.progress_file.clone(),
        log,
        label: label.clone(),
    }));
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(pump(out, sink.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(pump(err, sink.clone()));
    }
    let (status, timed_out) = match tokio::time::timeout(step.timeout, child.wait()).await {
        Ok(s) => (s?, false),
        Err(_) => {
            if let Some(p) = pid {
                kill_group(p, Duration::from_secs(5)).await;
            }
            (child.wait().await?, true)
        }
    };
    // whatever it left in its group must not go on writing the data
    if let Some(p) = pid {
        kill_group(p, Duration::from_secs(5)).await;
    }
    // always drain: the pipes close once every member of the group is gone
    for r in readers {
        let abort = r.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), r)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
    use std::os::unix::process::ExitStatusExt;
    let elapsed = started.elapsed();
    let output = match sink.lock() {
        Ok(mut s) => {
            s.progress.finished = true;
            s.flush_progress();
            s.kept.clone()
        }
        Err(_) => String::new(),
    };
    Ok(StepResult {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        output,
        elapsed,
    })
}

/// The engine of a geth datadir's chain database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// `*.ldb` files: LevelDB, opened by go-wbft with `--db.engine leveldb`.
    LevelDb,
    /// `*.sst` files: RocksDB (gwemix), converted to Pebble by `db_migrator`.
    RocksDb,
}

/// The chain database of `datadir`: which of `geth/chaindata` and
/// `gwemix/chaindata` exists (in that order), and the engine its files
/// show. `None` when neither holds `*.ldb` or `*.sst` files.
pub fn detect_engine(datadir: &Path) -> Result<Option<(PathBuf, Engine)>, String> {
    for sub in ["geth", "gwemix"] {
        let dir = datadir.join(sub).join("chaindata");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read '{}': {e}", dir.display())),
        };
        let (mut ldb, mut sst) = (0usize, 0usize);
        for e in entries.flatten() {
            let n = e.file_name();
            let n = n.to_string_lossy();
            if n.ends_with(".ldb") {
                ldb += 1;
            } else if n.ends_with(".sst") {
                sst += 1;
            }
        }
        match (ldb, sst) {
            (0, 0) => continue,
            (_, 0) => return Ok(Some((PathBuf::from(sub), Engine::LevelDb))),
            (0, _) => return Ok(Some((PathBuf::from(sub), Engine::RocksDb))),
            _ => {
                return Err(format!(
                    "'{}' holds both *.ldb ({ldb}) and *.sst ({sst}) files; cannot tell its engine",
                    dir.display()
                ))
            }
        }
    }
    Ok(None)
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"))
}

/// Expands `"builtin": "gwemix-to-wbft"` for the datadir `datadir`, as the
/// go-wbft `cmd/db_migrator` README describes it:
/// - LevelDB: no conversion; `--db.engine leveldb` is added to the options.
/// - RocksDB: a NEW datadir `new_datadir` is built — everything but the
///   chain database is copied (never hard-linked), the ancient (freezer)
///   data is copied aside inside the new datadir, `db_migrator -src <old>
///   -dst <new>` converts the rest, the ancient data is moved back inside
///   the new copy; then `geth db metadata` of the old (old binary) and the
///   new (new binary) datadir must match. The old datadir is never
///   written: it is the rollback.
///
/// `plan` is the rest of the plan (its `node_options`, `daemon_name`,
/// `space` and `verify` are kept, the built-in steps go first).
pub fn builtin_move(
    plan: &MigrationPlan,
    datadir: &Path,
    new_datadir: &Path,
) -> Result<MigrationPlan, String> {
    let mut out = plan.clone();
    out.builtin = None;
    let Some((sub, engine)) = detect_engine(datadir)? else {
        return Err(format!(
            "'{}' holds no chain database (no geth/chaindata or gwemix/chaindata with *.ldb or *.sst files)",
            datadir.display()
        ));
    };
    match engine {
        Engine::LevelDb => {
            if !out
                .node_options
                .add
                .iter()
                .any(|a| a.starts_with("--db.engine"))
            {
                out.node_options.add.push("--db.engine".into());
                out.node_options.add.push("leveldb".into());
            }
            out.node_options.datadir = None;
        }
        Engine::RocksDb => {
            let old = sh_quote(datadir);
            let new = sh_quote(new_datadir);
            let sub_q = sh_quote(&sub);
            let copy = format!(
                "set -e\n\
                 rm -rf {new}\n\
                 mkdir -p {new}\n\
                 cd {old}\n\
                 tar -cf - --exclude=./{s}/chaindata --exclude=./logs --exclude=./upgrade-info.json --exclude=./LOCK . | (cd {new} && tar -xpf -)\n\
                 mkdir -p {new}/{sub_q}\n\
                 if [ -d {old}/{sub_q}/chaindata/ancient ]; then cp -a {old}/{sub_q}/chaindata/ancient {new}/{sub_q}/ancient; fi\n\
                 echo copied the datadir without its chain database",
                s = sub.to_string_lossy()
            );
            let back = format!(
                "set -e\n\
                 if [ -d {new}/{sub_q}/ancient ]; then rm -rf {new}/{sub_q}/chaindata/ancient; mv {new}/{sub_q}/ancient {new}/{sub_q}/chaindata/ancient; fi\n\
                 echo ancient data back in place"
            );
            out.migrate = vec![
                CommandStep {
                    name: "copy-datadir".into(),
                    command: Command::Shell(copy),
                    timeout: DEFAULT_MIGRATE_TIMEOUT,
                    idempotent: true,
                    on_failure: OnFailure::Restore,
                },
                CommandStep {
                    name: "db_migrator".into(),
                    command: Command::Argv(vec![
                        "db_migrator".into(),
                        "-src".into(),
                        datadir.to_string_lossy().into_owned(),
                        "-dst".into(),
                        new_datadir.to_string_lossy().into_owned(),
                    ]),
                    timeout: DEFAULT_MIGRATE_TIMEOUT,
                    idempotent: false,
                    on_failure: OnFailure::Restore,
                },
                CommandStep {
                    name: "ancient-back".into(),
                    command: Command::Shell(back),
                    timeout: Duration::from_secs(3600),
                    idempotent: true,
                    on_failure: OnFailure::Restore,
                },
            ];
            let compare = format!(
                "set -e\n\
                 a=$(\"$OLD_BINARY\" db metadata --datadir {old} --syncmode snap 2>/dev/null)\n\
                 b=$(\"$NEW_BINARY\" db metadata --datadir {new} --syncmode snap 2>/dev/null)\n\
                 if [ \"$a\" != \"$b\" ]; then echo 'db metadata differs between the old and the new datadir:'; echo \"old: $a\"; echo \"new: $b\"; exit 1; fi\n\
                 echo db metadata matches"
            );
            let mut verify = vec![CommandStep {
                name: "compare-metadata".into(),
                command: Command::Shell(compare),
                timeout: DEFAULT_VERIFY_TIMEOUT,
                idempotent: true,
                on_failure: OnFailure::Restore,
            }];
            verify.append(&mut out.verify);
            out.verify = verify;
            out.node_options.datadir = Some(new_datadir.to_path_buf());
            if out.space.is_none() {
                out.space = Some(SpaceNeed::Datadir);
            }
        }
    }
    Ok(out)
}

/// Bytes under `dir` (regular files, each inode counted once, links not
/// followed); an absent directory holds 0.
pub fn dir_size(dir: &Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let mut total = 0u64;
    for e in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        if !e.file_type().is_file() {
            continue;
        }
        if let Ok(m) = e.metadata() {
            if m.nlink() > 1 && !seen.insert((m.dev(), m.ino())) {
                continue;
            }
            total = total.saturating_add(m.len());
        }
    }
    total
}

/// Free bytes for an unprivileged writer on the file system of `path`
/// (its closest existing ancestor).
pub fn free_bytes(path: &Path) -> Result<u64, String> {
    let mut p = path;
    loop {
        if p.exists() {
            break;
        }
        match p.parent() {
            Some(parent) => p = parent,
            None => break,
        }
    }
    let st = nix::sys::statvfs::statvfs(p)
        .map_err(|e| format!("cannot read the free space of '{}': {e}", p.display()))?;
    #[allow(clippy::unnecessary_cast)]
    Ok((st.blocks_available() as u64).saturating_mul(st.fragment_size() as u64))
}

/// What the free-space check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpaceReport {
    /// Bytes the datadir holds.
    pub datadir_bytes: u64,
    /// Bytes the snapshot may need (the datadir's size: a pessimistic
    /// estimate, as an incremental snapshot links unchanged files).
    pub snapshot_bytes: u64,
    /// Bytes the migration needs (stated, or the datadir's size).
    pub migration_bytes: u64,
    /// Free bytes where the data goes.
    pub free_bytes: u64,
}

impl SpaceReport {
    /// Bytes needed in all.
    pub fn needed(&self) -> u64 {
        self.snapshot_bytes.saturating_add(self.migration_bytes)
    }
}

fn gib(b: u64) -> String {
    format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
}

/// Checks that the snapshot (when `snapshot` is true) and the migration's
/// need fit in the free space of `datadir`'s file system. The error says
/// what is needed and what is free, and how to fix it.
pub fn check_space(
    datadir: &Path,
    need: Option<SpaceNeed>,
    snapshot: bool,
) -> Result<SpaceReport, String> {
    let datadir_bytes = dir_size(datadir);
    let migration_bytes = match need {
        None => 0,
        Some(SpaceNeed::Bytes(b)) => b,
        Some(SpaceNeed::Datadir) => datadir_bytes,
    };
    let report = SpaceReport {
        datadir_bytes,
        snapshot_bytes: if snapshot { datadir_bytes } else { 0 },
        migration_bytes,
        free_bytes: free_bytes(datadir)?,
    };
    if report.needed() > report.free_bytes {
        return Err(format!(
            "not enough free space for the migration: need {} ({} bytes: snapshot {} + migration {}), free {} ({} bytes) on the file system of '{}'\nhelp: free up space or move the data to a larger disk, or lower info.space if the stated need is too high; the plan waits and is checked again",
            gib(report.needed()),
            report.needed(),
            gib(report.snapshot_bytes),
            gib(report.migration_bytes),
            gib(report.free_bytes),
            report.free_bytes,
            datadir.display()
        ));
    }
    Ok(report)
}

/// The datadir in `args` (`--datadir X` or `--datadir=X`, the last one),
/// else `default`.
pub fn datadir_of(args: &[String], default: &Path) -> PathBuf {
    let mut found = None;
    let mut i = 0;
    while i < args.len() {
        match split_flag(&args[i]) {
            (Some("datadir"), Some(v)) => found = Some(PathBuf::from(v)),
            (Some("datadir"), None) => {
                if let Some(v) = args.get(i + 1) {
                    found = Some(PathBuf::from(v));
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    found.unwrap_or_else(|| default.to_path_buf())
}

/// The file beside an upgrade's binary that records what its release
/// changes for the node (`upgrades/<name>/release.json`).
pub const RELEASE_FILE: &str = "release.json";

/// One release's option changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionChange {
    /// Its option changes.
    #[serde(default, skip_serializing_if = "NodeOptions::is_empty")]
    pub node_options: NodeOptions,
    /// Its datadir, resolved (absolute), when it moved to a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datadir: Option<PathBuf>,
}

/// What a release changes for the node, kept beside its binary so every
/// later start of it uses the same binary name and options. The changes of
/// the releases before it are kept too (in order), so a later plain
/// upgrade keeps, say, the datadir an earlier one moved to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// Its binary's name, when not the home's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_name: Option<String>,
    /// The option changes from the node's own arguments to this release's,
    /// oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<OptionChange>,
}

impl Release {
    /// Reads `dir/release.json`; absent or unreadable = nothing changes
    /// (an unreadable one is logged).
    pub fn load(dir: &Path) -> Release {
        let path = dir.join(RELEASE_FILE);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable release file");
                Release::default()
            }),
            Err(_) => Release::default(),
        }
    }

    /// Writes `dir/release.json` atomically (removes it when empty).
    pub fn save(&self, dir: &Path) -> Result<(), wemixvisor_core::CoreError> {
        let path = dir.join(RELEASE_FILE);
        if *self == Release::default() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(wemixvisor_core::CoreError::io("remove", &path, e))
                }
                _ => Ok(()),
            };
        }
        wemixvisor_core::atomic::write_json_atomic(
            &path,
            self,
            wemixvisor_core::atomic::SECRET_MODE,
        )
    }

    /// `args` as this release's node takes them.
    pub fn apply(&self, args: &[String]) -> Vec<String> {
        self.changes.iter().fold(args.to_vec(), |a, c| {
            if c.node_options.is_empty() && c.datadir.is_none() {
                a
            } else {
                c.node_options.apply(&a, c.datadir.as_deref())
            }
        })
    }

    /// The datadir the last change moved to, if any.
    pub fn datadir(&self) -> Option<&Path> {
        self.changes.iter().rev().find_map(|c| c.datadir.as_deref())
    }
}

/// A path from a plan: absolute as is, relative from the home.
pub fn resolve_in_home(home: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        home.join(p)
    }
}

/// Which list of steps runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The `migrate` commands.
    Migrate,
    /// The `verify` commands.
    Verify,
}

impl Phase {
    /// `migrate` or `verify`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Migrate => "migrate",
            Phase::Verify => "verify",
        }
    }
}

/// The migration of the upgrade in progress, in the journal: the steps as
/// they were expanded when it began (so a restart runs the very same ones)
/// and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationState {
    /// The steps (a built-in move already expanded).
    pub plan: MigrationPlan,
    /// The datadir of the old node.
    pub datadir: PathBuf,
    /// The datadir the new node gets, when the migration writes a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_datadir: Option<PathBuf>,
    /// The list being run.
    pub phase: Phase,
    /// The step being run (or next to run) in that list.
    pub next: usize,
    /// How often an interrupted migration was restored and started again.
    #[serde(default)]
    pub restarts: u32,
    /// What the new release is started with (written beside its binary at
    /// the switch).
    #[serde(default)]
    pub release: Release,
}

/// Longest run of restore-and-start-again after interruptions.
pub const MAX_RESTARTS: u32 = 2;

/// What to do with a migration a dead process left in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// Run again from this step (an idempotent one, or a verification).
    From(Phase, usize),
    /// Bring the old data back, then start the migration over.
    RestoreAndRestart,
    /// Bring the old data back and end the upgrade as failed.
    RestoreAndFail(String),
}

impl MigrationState {
    /// True when the migration writes the old datadir itself (so only the
    /// pre-upgrade snapshot can bring the old data back).
    pub fn in_place(&self) -> bool {
        self.new_datadir.is_none()
    }

    /// The steps of the current phase.
    pub fn steps(&self) -> &[CommandStep] {
        match self.phase {
            Phase::Migrate => &self.plan.migrate,
            Phase::Verify => &self.plan.verify,
        }
    }

    /// What recovery does with this migration, interrupted at `next`: a
    /// verification runs again; an idempotent step runs again; any other
    /// step's data is restored, then the migration starts over
    /// (`on_failure: restore`, a few times at most) or the upgrade fails
    /// (`on_failure: fail`).
    pub fn on_interrupt(&self) -> Resume {
        if self.phase == Phase::Verify {
            return Resume::From(Phase::Verify, 0);
        }
        let Some(step) = self.plan.migrate.get(self.next) else {
            return Resume::From(Phase::Verify, 0);
        };
        if step.idempotent {
            return Resume::From(Phase::Migrate, self.next);
        }
        match step.on_failure {
            OnFailure::Restore if self.restarts < MAX_RESTARTS => Resume::RestoreAndRestart,
            OnFailure::Restore => Resume::RestoreAndFail(format!(
                "the migration step '{}' was interrupted {} times; given up",
                step.name,
                self.restarts + 1
            )),
            OnFailure::Fail => Resume::RestoreAndFail(format!(
                "the migration step '{}' was interrupted and is not idempotent (on_failure: fail)",
                step.name
            )),
        }
    }
}

/// A step that failed: which, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    /// Its list.
    pub phase: Phase,
    /// Its index in the list.
    pub index: usize,
    /// Its name.
    pub step: String,
    /// How it ended, with its last output lines.
    pub reason: String,
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} step {} '{}' failed: {}",
            self.phase.as_str(),
            self.index,
            self.step,
            self.reason
        )
    }
}

/// Records one audit event with its fields.
pub type AuditFn<'a> = dyn Fn(&str, &[(&str, &str)]) + Send + Sync + 'a;

/// Runs the migration of `state` on from where it stands: the rest of the
/// `migrate` steps, then every `verify` step. Before each step `save` gets
/// the state (write it to the journal) with no process group, and again
/// with the step's process group once it is spawned; after the last one it
/// gets the state past the end. `audit` records each step's end
/// (`migrate-step` or `verify-step`, with its name, result and last line).
pub async fn run_migration(
    ctx: &StepContext,
    state: &mut MigrationState,
    save: &mut (dyn FnMut(&MigrationState, Option<u32>) + Send),
    audit: &AuditFn<'_>,
) -> Result<(), StepFailure> {
    loop {
        let steps = state.steps().to_vec();
        while state.next < steps.len() {
            let i = state.next;
            let step = &steps[i];
            save(state, None);
            let phase = state.phase;
            let r = {
                let snapshot = state.clone();
                let mut on_spawn = |pgid: u32| save(&snapshot, Some(pgid));
                run_step(ctx, phase.as_str(), i, steps.len(), step, &mut on_spawn).await
            };
            let fail = |reason: String| StepFailure {
                phase,
                index: i,
                step: step.name.clone(),
                reason,
            };
            let r = r.map_err(|e| fail(format!("cannot run it: {e}")))?;
            let last = r.output.lines().last().unwrap_or_default().to_string();
            let event = format!("{}-step", phase.as_str());
            let elapsed = r.elapsed.as_secs().to_string();
            audit(
                &event,
                &[
                    ("name", &ctx.hook.name),
                    ("step", &step.name),
                    ("result", &r.describe()),
                    ("elapsed_secs", &elapsed),
                    ("last_line", &last),
                ],
            );
            if !r.success() {
                let tail = if r.output.trim().is_empty() {
                    String::new()
                } else {
                    format!("; last output:\n{}", r.tail(10))
                };
                return Err(fail(format!("{}{tail}", r.describe())));
            }
            state.next += 1;
        }
        match state.phase {
            Phase::Migrate => {
                state.phase = Phase::Verify;
                state.next = 0;
            }
            Phase::Verify => {
                save(state, None);
                return Ok(());
            }
        }
    }
}

/// Removes a new datadir a failed or interrupted migration half wrote (the
/// old datadir is untouched: it is the rollback). Refuses a path that is
/// the old datadir or holds it.
pub fn discard_new_datadir(new: &Path, old: &Path) -> Result<(), String> {
    if old.starts_with(new) {
        return Err(format!(
            "refusing to remove '{}': it holds the old datadir '{}'",
            new.display(),
            old.display()
        ));
    }
    match std::fs::remove_dir_all(new) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove '{}': {e}", new.display())),
    }
}

#[cfg(test)]
#[path = "migration_tests.rs"]
mod tests;
