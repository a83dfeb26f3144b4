//! [`HomeFiles`]: what a running supervisor's API reads from or does on the
//! files of its home, outside the loop (effective configuration, `config
//! set`, the upgrade queue and binary store, the snapshots). Every method
//! blocks; callers run them off the async runtime.

use serde_json::{json, Value};
use wemixvisor_backup::{BackupError, Backups};
use wemixvisor_config::{Config, ConfigError, FlagOverrides};
use wemixvisor_core::{Home, OsFs};
use wemixvisor_upgrade::UpgradeManager;

use crate::handle::{ControlError, ControlResult};
use crate::settings::{backup_options, upgrade_settings};
use crate::supervisor::{load_status_file, split_help, EnvFn};

/// The files side of a running supervisor's home.
#[derive(Clone)]
pub struct HomeFiles {
    home: Home,
    env: EnvFn,
    flags: FlagOverrides,
}

impl std::fmt::Debug for HomeFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HomeFiles")
            .field("home", &self.home.root())
            .finish_non_exhaustive()
    }
}

fn config_error(e: ConfigError) -> ControlError {
    let bad = !matches!(e, ConfigError::Io(_));
    let (message, help) = split_help(&e.to_string());
    let mut c = ControlError::new(message);
    if let Some(h) = help {
        c = c.with_hint(h);
    }
    if bad {
        c = c.bad_request();
    }
    c
}

fn backup_error(e: BackupError) -> ControlError {
    let bad = e.is_bad_input();
    let mut c = ControlError::new(e.to_string());
    if bad {
        c = c
            .bad_request()
            .with_hint("`GET /api/v1/backups` lists the snapshot ids");
    }
    c
}

fn other(e: impl std::fmt::Display) -> ControlError {
    ControlError::new(e.to_string())
}

impl HomeFiles {
    /// The files of `home`, read with the supervisor's environment and flags.
    pub fn new(home: Home, env: EnvFn, flags: FlagOverrides) -> Self {
        HomeFiles { home, env, flags }
    }

    fn load(&self) -> Result<Config, ControlError> {
        Config::load(&self.home, &*self.env, &self.flags).map_err(config_error)
    }

    fn backups_handle(&self) -> Result<Backups, ControlError> {
        let config = self.load()?;
        Backups::new(self.home.clone(), backup_options(&config)).map_err(backup_error)
    }

    /// The effective configuration with each value's origin.
    pub fn config(&self) -> Result<Value, ControlError> {
        wemixvisor_config::show(&self.home, &*self.env, &self.flags)
            .map(|s| s.to_json())
            .map_err(config_error)
    }

    /// Sets one key in `wemixvisor.toml` (validated, comments kept).
    pub fn config_set(&self, key: &str, value: &str) -> ControlResult {
        let outcome = wemixvisor_config::set_key(&self.home, key, value).map_err(config_error)?;
        if outcome.changes.is_empty() {
            return Ok(format!("{key} already holds that value; nothing changed"));
        }
        let changes: Vec<String> = outcome
            .changes
            .iter()
            .map(|(k, old, new)| format!("set {k} = {new} (was {old})"))
            .collect();
        Ok(changes.join(", "))
    }

    /// The upgrade queue, the current binary and the last upgrade, as
    /// `wemixvisor upgrade status --json` prints them.
    pub fn upgrades(&self) -> Result<Value, ControlError> {
        let config = self.load()?;
        let settings = upgrade_settings(&config, &*self.env).map_err(other)?;
        let mut m = UpgradeManager::new(
            self.home.clone(),
            &config.node.daemon_name,
            OsFs,
            settings,
            None,
        )
        .map_err(other)?;
        let head = load_status_file(&self.home.status_file()).and_then(|s| s.chain.head);
        let report = m.status_at(head).map_err(other)?;
        let mut v = serde_json::to_value(&report).map_err(other)?;
        v["head"] = json!(head);
        Ok(v)
    }

    /// The binary `current` points at and the last finished upgrade.
    pub fn upgrades_current(&self) -> Result<Value, ControlError> {
        let v = self.upgrades()?;
        Ok(json!({
            "current": v.get("current").cloned().unwrap_or(Value::Null),
            "current_binary": v.get("current_binary").cloned().unwrap_or(Value::Null),
            "current_sha256": v.get("current_sha256").cloned().unwrap_or(Value::Null),
            "in_progress": v.get("in_progress").cloned().unwrap_or(Value::Null),
            "last": v.get("last").cloned().unwrap_or(Value::Null),
        }))
    }

    /// The snapshots, as `wemixvisor backup list --json` prints them.
    pub fn backups(&self) -> Result<Value, ControlError> {
        let b = self.backups_handle()?;
        let snaps = b.list().map_err(backup_error)?;
        let pre = b.pre_restore_copies().map_err(backup_error)?;
        Ok(json!({
            "snapshots": snaps,
            "disk_bytes": b.disk_usage(),
            "pre_restore_copies": pre,
        }))
    }

    /// Re-hashes one snapshot against its manifest.
    pub fn backup_verify(&self, id: &str) -> ControlResult {
        let r = self.backups_handle()?.verify(id).map_err(backup_error)?;
        if r.ok() {
            Ok(format!(
                "{} {}: {} files checked: ok",
                r.kind, r.id, r.files_checked
            ))
        } else {
            Err(ControlError::new(format!(
                "{} {}: {} problem(s): {}",
                r.kind,
                r.id,
                r.problems.len(),
                r.problems
                    .iter()
                    .take(3)
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
            .with_hint("restore another snapshot, or take a new one"))
        }
    }

    /// Replaces the chain data with a snapshot (the caller has checked that
    /// the node is stopped).
    pub fn backup_restore(&self, id: &str) -> ControlResult {
        let r = self.backups_handle()?.restore(id).map_err(backup_error)?;
        Ok(format!(
            "restored {} {} into '{}': {} files",
            r.kind,
            r.id,
            self.home.data_dir().display(),
            r.files
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn files(d: &std::path::Path) -> HomeFiles {
        let home = Home::new(d);
        std::fs::create_dir_all(home.config_dir()).unwrap();
        std::fs::write(home.config_file(), "[restart]\nmax_restarts = 3\n").unwrap();
        HomeFiles::new(home, Arc::new(|_: &str| None), FlagOverrides::default())
    }

    #[test]
    fn config_set_validates_and_reports_the_change() {
        let d = tempfile::tempdir().unwrap();
        let f = files(d.path());
        let msg = f.config_set("restart.max_restarts", "7").unwrap();
        assert!(msg.contains("restart.max_restarts = 7"), "{msg}");
        let e = f.config_set("restart.nope", "1").unwrap_err();
        assert!(e.bad_request, "{e:?}");
        let shown = f.config().unwrap();
        assert!(shown.to_string().contains('7'), "{shown}");
    }

    #[test]
    fn unknown_snapshot_is_a_bad_request() {
        let d = tempfile::tempdir().unwrap();
        let f = files(d.path());
        assert_eq!(f.backups().unwrap()["snapshots"], json!([]));
        let e = f.backup_verify("nope").unwrap_err();
        assert!(e.bad_request, "{e:?}");
    }
}
