use std::path::PathBuf;
use std::time::Duration;

use wemixvisor_core::Platform;

/// Settings of the upgrade pipeline, filled by the CLI from the
/// configuration (plain data, so this crate does not read config files).
#[derive(Debug, Clone)]
pub struct UpgradeSettings {
    /// Start the node again after switching (`upgrade.restart_after_upgrade`).
    pub restart_after_upgrade: bool,
    /// Skip the pre-upgrade snapshot (`upgrade.unsafe_skip_backup`, or backups off).
    pub skip_backup: bool,
    /// Re-runs of a hook that exits 31 (`upgrade.preupgrade_max_retries`).
    pub preupgrade_max_retries: u32,
    /// How long the new node's RPC may stay silent, and how long its head
    /// may stand still once the network has quorum (`upgrade.verify_timeout`).
    pub verify_timeout: Duration,
    /// The verification window after a switch (`upgrade.verify_window`): a
    /// crash inside it rolls back; a head stalled at the upgrade height
    /// while the network lacks quorum is waited out for this long.
    pub verify_window: Duration,
    /// Peers the new node must have to count as connected (`upgrade.verify_min_peers`).
    pub verify_min_peers: u64,
    /// When true, [`crate::UpgradeManager::apply`] returns as soon as the
    /// new node passes its immediate checks and the caller watches the rest
    /// of the window with [`crate::UpgradeManager::tick_verification`];
    /// when false, `apply` waits inline until the head advances past the
    /// height (or a rollback), tolerating a halt at the height for the
    /// whole window.
    pub verify_in_background: bool,
    /// Time limit of one hook run (`upgrade.hook_timeout`).
    pub hook_timeout: Duration,
    /// An extra pre-upgrade hook run after `scripts/pre-upgrade`
    /// (relative paths are taken from `wemixvisor/`).
    pub custom_pre_upgrade: Option<PathBuf>,
    /// On an automatic rollback, also restore the pre-upgrade snapshot.
    pub rollback_restore_data: bool,
    /// Renames applied to the node's flags when a new binary no longer
    /// knows the old spelling.
    pub flag_migrations: Vec<FlagMigration>,
    /// Time limit of each pre-flight run of a new binary.
    pub preflight_timeout: Duration,
    /// Binary downloads.
    pub download: DownloadSettings,
    /// This machine, for `info.binaries`.
    pub platform: Platform,
}

impl Default for UpgradeSettings {
    fn default() -> Self {
        UpgradeSettings {
            restart_after_upgrade: true,
            skip_backup: false,
            preupgrade_max_retries: 0,
            verify_timeout: Duration::from_secs(120),
            verify_window: Duration::from_secs(30 * 60),
            verify_min_peers: 1,
            verify_in_background: false,
            hook_timeout: Duration::from_secs(600),
            custom_pre_upgrade: None,
            rollback_restore_data: false,
            flag_migrations: FlagMigration::geth_defaults(),
            preflight_timeout: Duration::from_secs(30),
            download: DownloadSettings::default(),
            platform: Platform::current(),
        }
    }
}

/// Download policy.
#[derive(Debug, Clone)]
pub struct DownloadSettings {
    /// Any download at all (`download.allow_download_binaries`).
    pub allow: bool,
    /// Refuse a download without a checksum (`download.must_have_checksum`).
    pub must_have_checksum: bool,
    /// Refuse a download without a valid minisign signature (`download.require_signature`).
    pub require_signature: bool,
    /// Trusted minisign public keys: base64 keys, `.pub` file contents or paths.
    pub public_keys: Vec<String>,
    /// Hosts downloads may come from (`*.example.com` matches subdomains); empty = any.
    pub allowed_hosts: Vec<String>,
    /// An extra CA certificate (PEM) to trust, for private mirrors and tests.
    pub ca_cert: Option<PathBuf>,
    /// Retries after a network error (verification errors are never retried).
    pub retries: u32,
    /// First wait between retries; doubled each time.
    pub retry_backoff: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Longest pause between two pieces of the body.
    pub read_timeout: Duration,
    /// Show a progress bar (only ever drawn on a terminal).
    pub progress: bool,
    /// Largest download accepted, in bytes (`download.max_bytes`).
    pub max_bytes: u64,
    /// Time one download may take overall, retries included (`download.timeout`).
    pub timeout: Duration,
}

impl Default for DownloadSettings {
    fn default() -> Self {
        DownloadSettings {
            allow: false,
            must_have_checksum: true,
            require_signature: false,
            public_keys: Vec::new(),
            allowed_hosts: Vec::new(),
            ca_cert: None,
            retries: 3,
            retry_backoff: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            progress: true,
            max_bytes: 1 << 30,
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// One flag rename: `from` is replaced by `to` when the new binary does not
/// accept `from` (values follow the flag unchanged).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlagMigration {
    /// Old flag name without dashes (`rpcport`).
    pub from: String,
    /// New flag name without dashes (`http.port`).
    pub to: String,
}

impl FlagMigration {
    /// A rename from `from` to `to` (dashes are stripped).
    pub fn new(from: &str, to: &str) -> Self {
        FlagMigration {
            from: from.trim().trim_start_matches('-').to_string(),
            to: to.trim().trim_start_matches('-').to_string(),
        }
    }

    /// The renames geth made when it dropped the `--rpc*` and `--ws*`
    /// spellings (geth 1.10): `--rpc` → `--http`, `--rpcaddr` →
    /// `--http.addr`, `--rpcport` → `--http.port`, `--rpcapi` →
    /// `--http.api`, `--rpccorsdomain` → `--http.corsdomain`, `--rpcvhosts`
    /// → `--http.vhosts`, `--wsaddr` → `--ws.addr`, `--wsport` →
    /// `--ws.port`, `--wsapi` → `--ws.api`, `--wsorigins` → `--ws.origins`.
    pub fn geth_defaults() -> Vec<FlagMigration> {
        [
            ("rpc", "http"),
            ("rpcaddr", "http.addr"),
            ("rpcport", "http.port"),
            ("rpcapi", "http.api"),
            ("rpccorsdomain", "http.corsdomain"),
            ("rpcvhosts", "http.vhosts"),
            ("wsaddr", "ws.addr"),
            ("wsport", "ws.port"),
            ("wsapi", "ws.api"),
            ("wsorigins", "ws.origins"),
        ]
        .into_iter()
        .map(|(f, t)| FlagMigration::new(f, t))
        .collect()
    }

    /// Parses `--old=--new[,--old2=--new2...]`.
    pub fn parse_list(s: &str) -> Result<Vec<FlagMigration>, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (from, to) = pair.split_once('=').ok_or_else(|| {
                    format!("flag migration '{pair}' must look like --old=--new")
                })?;
                let m = FlagMigration::new(from, to);
                let ok = |n: &str| {
                    !n.is_empty()
                        && n.chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                };
                if !ok(&m.from) || !ok(&m.to) {
                    return Err(format!(
                        "flag migration '{pair}' must name two flags (letters, digits, '.', '-', '_')"
                    ));
                }
                Ok(m)
            })
            .collect()
    }
}

impl std::fmt::Display for FlagMigration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--{} -> --{}", self.from, self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_list_and_defaults() {
        let l = FlagMigration::parse_list("--foo=--bar, -a.b=c ").unwrap();
        assert_eq!(
            l,
            vec![
                FlagMigration::new("foo", "bar"),
                FlagMigration::new("a.b", "c")
            ]
        );
        assert!(FlagMigration::parse_list("--foo").is_err());
        assert!(FlagMigration::parse_list("--foo=").is_err());
        assert!(FlagMigration::parse_list("--f o=x").is_err());
        assert!(FlagMigration::geth_defaults()
            .iter()
            .any(|m| m.from == "rpcport" && m.to == "http.port"));
    }
}
