use std::path::{Path, PathBuf};

use crate::CoreError;

/// Longest socket path a Unix socket address holds (`sun_path` is 108
/// bytes on Linux, one of them the final NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// Environment variables that name the home, in precedence order.
pub const HOME_ENV_VARS: [&str; 2] = ["WEMIX_HOME", "DAEMON_HOME"];

/// Environment variables that move the snapshots out of the home, in
/// precedence order (`DAEMON_DATA_BACKUP_DIR` as in cosmovisor).
pub const BACKUP_DIR_ENV_VARS: [&str; 2] = ["WEMIXVISOR_BACKUP_DIR", "DAEMON_DATA_BACKUP_DIR"];

/// The snapshot directory named by [`BACKUP_DIR_ENV_VARS`], if any. It
/// must be absolute: a service manager's working directory is not the
/// operator's. Empty values count as unset.
pub fn resolve_backups_dir(
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<PathBuf>, CoreError> {
    for var in BACKUP_DIR_ENV_VARS {
        if let Some(v) = env(var).filter(|v| !v.is_empty()) {
            let p = PathBuf::from(&v);
            if !p.is_absolute() {
                return Err(CoreError::RelativeBackupDir { var, value: v });
            }
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// Resolves the home root: `--home` > `WEMIX_HOME` > `DAEMON_HOME` > `~/.wemixvisor`.
///
/// `env` is a lookup so callers (and tests) decide where variables come from.
/// Empty values count as unset.
pub fn resolve_home_root(
    flag: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<PathBuf, CoreError> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    for var in HOME_ENV_VARS {
        if let Some(v) = env(var).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(v));
        }
    }
    env("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".wemixvisor"))
        .ok_or(CoreError::NoHome)
}

/// The home layout: every path wemixvisor uses, derived from one root.
///
/// ```text
/// $WEMIX_HOME/
/// ├── wemixvisor/{config,genesis,upgrades,scripts,current -> genesis}
/// ├── chain-data/{upgrade-info.json,logs/}
/// ├── backups/{auto,manual}/
/// ├── governance/{proposals.json,upgrade-queue.json}
/// └── state/{wemixvisor.pid,node.pid,status.json,upgrade-journal.json,audit.log,wemixvisor.sock}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
    /// Where snapshots live when not under the home ([`BACKUP_DIR_ENV_VARS`]).
    backups: Option<PathBuf>,
}

impl Home {
    /// A home rooted at `root`. The root is made absolute against the current
    /// directory so paths handed to child processes stay valid.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()
                .map(|cwd| cwd.join(&root))
                .unwrap_or(root)
        };
        Home {
            root,
            backups: None,
        }
    }

    /// The same home with its snapshots in `dir` instead of `backups/`
    /// (`DAEMON_DATA_BACKUP_DIR`: a bigger or separate disk).
    pub fn with_backups_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.backups = dir;
        self
    }

    /// The home root.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `wemixvisor/`: binaries, config and scripts.
    pub fn visor_dir(&self) -> PathBuf {
        self.root.join("wemixvisor")
    }
    /// `wemixvisor/config/`.
    pub fn config_dir(&self) -> PathBuf {
        self.visor_dir().join("config")
    }
    /// `wemixvisor/config/wemixvisor.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir().join("wemixvisor.toml")
    }
    /// `wemixvisor/config/node-options.toml`.
    pub fn node_options_file(&self) -> PathBuf {
        self.config_dir().join("node-options.toml")
    }
    /// `wemixvisor/config/templates/`.
    pub fn templates_dir(&self) -> PathBuf {
        self.config_dir().join("templates")
    }
    /// `wemixvisor/current`: the relative link to the active binary directory.
    pub fn current_link(&self) -> PathBuf {
        self.visor_dir().join("current")
    }
    /// `wemixvisor/genesis/`.
    pub fn genesis_dir(&self) -> PathBuf {
        self.visor_dir().join("genesis")
    }
    /// `wemixvisor/upgrades/`.
    pub fn upgrades_dir(&self) -> PathBuf {
        self.visor_dir().join("upgrades")
    }
    /// `wemixvisor/upgrades/<name>/`.
    pub fn upgrade_dir(&self, name: &str) -> PathBuf {
        self.upgrades_dir().join(name)
    }
    /// `wemixvisor/scripts/`.
    pub fn scripts_dir(&self) -> PathBuf {
        self.visor_dir().join("scripts")
    }
    /// `current/bin/<daemon_name>`: what `run` executes.
    pub fn current_bin(&self, daemon_name: &str) -> PathBuf {
        self.current_link().join("bin").join(daemon_name)
    }
    /// `genesis/bin/<daemon_name>`.
    pub fn genesis_bin(&self, daemon_name: &str) -> PathBuf {
        self.genesis_dir().join("bin").join(daemon_name)
    }
    /// `upgrades/<name>/bin/<daemon_name>`.
    pub fn upgrade_bin(&self, name: &str, daemon_name: &str) -> PathBuf {
        self.upgrade_dir(name).join("bin").join(daemon_name)
    }
    /// `chain-data/`: geth's `--datadir`.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("chain-data")
    }
    /// `chain-data/upgrade-info.json`: the upgrade trigger file.
    pub fn upgrade_info_file(&self) -> PathBuf {
        self.data_dir().join("upgrade-info.json")
    }
    /// `chain-data/logs/`.
    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir().join("logs")
    }
    /// `chain-data/logs/geth.log`.
    pub fn node_log_file(&self) -> PathBuf {
        self.logs_dir().join("geth.log")
    }
    /// `chain-data/logs/archived/`.
    pub fn archived_logs_dir(&self) -> PathBuf {
        self.logs_dir().join("archived")
    }
    /// `backups/`, or the directory [`Home::with_backups_dir`] gave.
    pub fn backups_dir(&self) -> PathBuf {
        match &self.backups {
            Some(d) => d.clone(),
            None => self.root.join("backups"),
        }
    }
    /// `backups/auto/`.
    pub fn auto_backups_dir(&self) -> PathBuf {
        self.backups_dir().join("auto")
    }
    /// `backups/manual/`.
    pub fn manual_backups_dir(&self) -> PathBuf {
        self.backups_dir().join("manual")
    }
    /// `governance/`.
    pub fn governance_dir(&self) -> PathBuf {
        self.root.join("governance")
    }
    /// `governance/proposals.json`.
    pub fn proposals_file(&self) -> PathBuf {
        self.governance_dir().join("proposals.json")
    }
    /// `governance/upgrade-queue.json`.
    pub fn upgrade_queue_file(&self) -> PathBuf {
        self.governance_dir().join("upgrade-queue.json")
    }
    /// `state/`.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("state")
    }
    /// `state/wemixvisor.pid`.
    pub fn supervisor_pid_file(&self) -> PathBuf {
        self.state_dir().join("wemixvisor.pid")
    }
    /// `state/node.pid`.
    pub fn node_pid_file(&self) -> PathBuf {
        self.state_dir().join("node.pid")
    }
    /// `state/status.json`.
    pub fn status_file(&self) -> PathBuf {
        self.state_dir().join("status.json")
    }
    /// `state/upgrade-journal.json`.
    pub fn upgrade_journal_file(&self) -> PathBuf {
        self.state_dir().join("upgrade-journal.json")
    }
    /// `wemixvisor/config/api-token`: the API's bearer token (0600),
    /// written by `init`.
    pub fn api_token_file(&self) -> PathBuf {
        self.config_dir().join("api-token")
    }
    /// `state/audit.log`.
    pub fn audit_log_file(&self) -> PathBuf {
        self.state_dir().join("audit.log")
    }
    /// `state/wemixvisor.sock`.
    pub fn socket_file(&self) -> PathBuf {
        self.state_dir().join("wemixvisor.sock")
    }
    /// Refuses a home whose [`Home::socket_file`] does not fit in a Unix
    /// socket address (`sun_path` holds 108 bytes with the final NUL).
    pub fn check_socket_path(&self) -> Result<(), CoreError> {
        let path = self.socket_file();
        let len = path.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(CoreError::SocketPathTooLong {
                path,
                len,
                max: MAX_SOCKET_PATH,
            });
        }
        Ok(())
    }
    /// `state/wemixvisor.log`: the background daemon's own output.
    pub fn supervisor_log_file(&self) -> PathBuf {
        self.state_dir().join("wemixvisor.log")
    }

    /// Every directory of the layout, in creation order.
    pub fn layout_dirs(&self) -> Vec<PathBuf> {
        vec![
            self.root.clone(),
            self.visor_dir(),
            self.config_dir(),
            self.templates_dir(),
            self.genesis_dir(),
            self.genesis_dir().join("bin"),
            self.upgrades_dir(),
            self.scripts_dir(),
            self.data_dir(),
            self.logs_dir(),
            self.archived_logs_dir(),
            self.backups_dir(),
            self.auto_backups_dir(),
            self.manual_backups_dir(),
            self.governance_dir(),
            self.state_dir(),
        ]
    }

    /// Name of the directory `current` points at (`genesis` or the upgrade
    /// name), read from the link without following it further.
    pub fn current_target_name(&self) -> Result<String, CoreError> {
        let link = self.current_link();
        let target = std::fs::read_link(&link).map_err(|e| CoreError::io("read link", &link, e))?;
        Ok(target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_data_backup_dir_moves_the_snapshots_out_of_the_home() {
        let home = Home::new("/h");
        assert_eq!(home.backups_dir(), PathBuf::from("/h/backups"));
        let env = |k: &str| (k == "DAEMON_DATA_BACKUP_DIR").then(|| "/mnt/bk".to_string());
        let dir = resolve_backups_dir(env).unwrap();
        assert_eq!(dir, Some(PathBuf::from("/mnt/bk")));
        let home = home.with_backups_dir(dir);
        assert_eq!(home.backups_dir(), PathBuf::from("/mnt/bk"));
        assert_eq!(home.auto_backups_dir(), PathBuf::from("/mnt/bk/auto"));
        assert_eq!(home.manual_backups_dir(), PathBuf::from("/mnt/bk/manual"));
        assert_eq!(home.data_dir(), PathBuf::from("/h/chain-data"));
        // the wemixvisor name wins; empty is unset; relative is refused
        let both = |k: &str| match k {
            "WEMIXVISOR_BACKUP_DIR" => Some("/w".to_string()),
            "DAEMON_DATA_BACKUP_DIR" => Some("/d".to_string()),
            _ => None,
        };
        assert_eq!(
            resolve_backups_dir(both).unwrap(),
            Some(PathBuf::from("/w"))
        );
        assert_eq!(resolve_backups_dir(|_| Some(String::new())).unwrap(), None);
        let rel = |k: &str| (k == "DAEMON_DATA_BACKUP_DIR").then(|| "bk".to_string());
        let e = resolve_backups_dir(rel).unwrap_err().to_string();
        assert!(
            e.contains("DAEMON_DATA_BACKUP_DIR must be an absolute path") && e.contains("help:"),
            "{e}"
        );
    }

    #[test]
    fn home_precedence_flag_env_default() {
        let env = |k: &str| match k {
            "WEMIX_HOME" => Some("/w".to_string()),
            "DAEMON_HOME" => Some("/d".to_string()),
            "HOME" => Some("/root".to_string()),
            _ => None,
        };
        assert_eq!(
            resolve_home_root(Some(Path::new("/f")), env).unwrap(),
            PathBuf::from("/f")
        );
        assert_eq!(resolve_home_root(None, env).unwrap(), PathBuf::from("/w"));
        let env2 = |k: &str| match k {
            "WEMIX_HOME" => Some(String::new()),
            "DAEMON_HOME" => Some("/d".to_string()),
            _ => None,
        };
        assert_eq!(resolve_home_root(None, env2).unwrap(), PathBuf::from("/d"));
        let env3 = |k: &str| (k == "HOME").then(|| "/root".to_string());
        assert_eq!(
            resolve_home_root(None, env3).unwrap(),
            PathBuf::from("/root/.wemixvisor")
        );
        assert!(matches!(
            resolve_home_root(None, |_| None),
            Err(CoreError::NoHome)
        ));
    }

    #[test]
    fn layout_paths() {
        let h = Home::new("/h");
        assert_eq!(
            h.current_bin("geth"),
            PathBuf::from("/h/wemixvisor/current/bin/geth")
        );
        assert_eq!(
            h.upgrade_bin("v2", "geth"),
            PathBuf::from("/h/wemixvisor/upgrades/v2/bin/geth")
        );
        assert_eq!(
            h.upgrade_info_file(),
            PathBuf::from("/h/chain-data/upgrade-info.json")
        );
        assert_eq!(
            h.upgrade_queue_file(),
            PathBuf::from("/h/governance/upgrade-queue.json")
        );
        assert_eq!(h.socket_file(), PathBuf::from("/h/state/wemixvisor.sock"));
        assert!(h.layout_dirs().iter().all(|d| d.starts_with("/h")));
    }

    #[test]
    fn relative_root_is_made_absolute() {
        assert!(Home::new("rel").root().is_absolute());
    }

    #[test]
    fn a_socket_path_over_sun_path_is_refused_with_the_path_and_limit() {
        let ok = Home::new(PathBuf::from(format!("/{}", "a".repeat(107 - 23))));
        assert_eq!(ok.socket_file().as_os_str().len(), 107);
        ok.check_socket_path().unwrap();
        let long = Home::new(PathBuf::from(format!("/{}", "a".repeat(107 - 22))));
        let e = long.check_socket_path().unwrap_err().to_string();
        assert!(e.contains("is 108 bytes, more than the 107"), "{e}");
        assert!(e.contains("/state/wemixvisor.sock"), "{e}");
    }
}
