//! The effective configuration (`Config`) and its sections, with defaults.

use std::path::PathBuf;
use std::time::Duration;

use crate::network::{LogFormat, Network};

/// The schema version this build writes.
pub const CURRENT_VERSION: u32 = 2;

/// The GovNCP system contract (DESIGN §7).
pub const GOV_NCP_ADDRESS: &str = "0x0000000000000000000000000000000000001003";

/// The effective configuration: every default filled in, then the file, the
/// environment and the flags laid over it.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Schema version of the file it was read from ([`CURRENT_VERSION`] when there was none).
    pub version: u32,
    /// The supervised node.
    pub node: NodeSection,
    /// Crash-restart policy.
    pub restart: RestartSection,
    /// Upgrade pipeline.
    pub upgrade: UpgradeSection,
    /// Binary downloads.
    pub download: DownloadSection,
    /// Chain-data backups.
    pub backup: BackupSection,
    /// Node health checks.
    pub health: HealthSection,
    /// Governance and consensus monitoring.
    pub governance: GovernanceSection,
    /// The HTTP API.
    pub api: ApiSection,
    /// Alerts and where they are sent.
    pub alerts: AlertsSection,
    /// wemixvisor's own logging.
    pub log: LogSection,
}

/// `[node]`: the supervised node.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSection {
    /// Binary name under `current/bin/` (`DAEMON_NAME`).
    pub daemon_name: String,
    /// The node's JSON-RPC endpoint.
    pub rpc_url: String,
    /// Time between SIGTERM and SIGKILL (`DAEMON_SHUTDOWN_GRACE`).
    pub shutdown_grace: Duration,
    /// The network this home runs, when known.
    pub network: Option<Network>,
}

/// `[restart]`: what happens when the node exits on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartSection {
    /// Restart the node after an unexpected exit.
    pub enabled: bool,
    /// Pause before every start after an exit or a switch (`DAEMON_RESTART_DELAY`).
    pub delay: Duration,
    /// First crash-restart wait.
    pub backoff_initial: Duration,
    /// Longest crash-restart wait.
    pub backoff_max: Duration,
    /// Factor between successive waits.
    pub backoff_multiplier: f64,
    /// Crash restarts allowed within `window` before giving up.
    pub max_restarts: u32,
    /// Window over which crash restarts are counted.
    pub window: Duration,
    /// Uptime after which the backoff starts over.
    pub stable_after: Duration,
}

/// `[upgrade]`: the upgrade pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct UpgradeSection {
    /// Start the new binary after the switch (`DAEMON_RESTART_AFTER_UPGRADE`).
    pub restart_after_upgrade: bool,
    /// How often triggers and the head are checked (`DAEMON_POLL_INTERVAL`).
    pub poll_interval: Duration,
    /// Re-runs of a pre-upgrade hook that exits 31 (`DAEMON_PREUPGRADE_MAX_RETRIES`).
    pub preupgrade_max_retries: u32,
    /// Skip the pre-upgrade backup (`UNSAFE_SKIP_BACKUP`).
    pub unsafe_skip_backup: bool,
    /// How long the new binary's RPC may stay silent, and its head stand
    /// still once the network has quorum, before it is rolled back.
    pub verify_timeout: Duration,
    /// The verification window after a switch: a crash inside it rolls back;
    /// a halt at the upgrade height is waited out for this long.
    pub verify_window: Duration,
    /// Peers the new binary must have to count as connected.
    pub verify_min_peers: u32,
    /// Time limit of one hook run.
    pub hook_timeout: Duration,
    /// On a rollback, also restore the pre-upgrade data snapshot.
    pub rollback_restore_data: bool,
    /// An extra pre-upgrade hook run before `scripts/pre-upgrade`.
    pub custom_pre_upgrade: Option<PathBuf>,
    /// Flag renames (`--old=--new`) applied to the node's arguments for a new
    /// binary, on top of the built-in geth renames.
    pub flag_migrations: Vec<String>,
}

/// `[download]`: fetching upgrade binaries.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadSection {
    /// Download binaries named in upgrade info (`DAEMON_ALLOW_DOWNLOAD_BINARIES`).
    pub allow_download_binaries: bool,
    /// Refuse downloads without a checksum (`DAEMON_DOWNLOAD_MUST_HAVE_CHECKSUM`).
    pub must_have_checksum: bool,
    /// Refuse downloads without a valid minisign signature.
    pub require_signature: bool,
    /// Trusted minisign public keys.
    pub public_keys: Vec<String>,
    /// Hosts downloads may come from; empty = any.
    pub allowed_hosts: Vec<String>,
    /// Extra CA certificate (PEM) trusted for downloads, e.g. a private mirror's.
    pub ca_cert: Option<PathBuf>,
    /// Largest download accepted, in bytes.
    pub max_bytes: u64,
    /// Time one download may take overall, retries included.
    pub timeout: Duration,
}

/// `[backup]`: snapshots of the chain data.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupSection {
    /// Take a backup before each upgrade.
    pub enabled: bool,
    /// Automatic snapshots kept.
    pub keep_auto: u32,
    /// Automatic snapshots older than this are pruned, when set.
    pub max_age: Option<Duration>,
    /// Globs (relative to chain-data) to include; empty = everything.
    pub include: Vec<String>,
    /// Globs (relative to chain-data) to leave out.
    pub exclude: Vec<String>,
}

/// `[health]`: node health checks.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSection {
    /// Time between checks.
    pub interval: Duration,
    /// Expected time between blocks.
    pub block_period: Duration,
    /// Block periods without a new head before the node counts as stalled.
    pub stall_blocks: u32,
    /// Fewer peers than this is unhealthy.
    pub min_peers: u32,
    /// Less free disk (MiB) under chain-data than this is unhealthy.
    pub min_free_disk_mb: u64,
    /// Failed checks in a row before a restart is considered.
    pub failures_before_restart: u32,
    /// Restart a stalled node.
    pub restart_on_stall: bool,
}

/// `[governance]`: on-chain governance and upgrade-proposal sources (DESIGN §7).
#[derive(Debug, Clone, PartialEq)]
pub struct GovernanceSection {
    /// Run the governance and consensus monitor.
    pub enabled: bool,
    /// Time between polls of the chain.
    pub poll_interval: Duration,
    /// Address of the GovNCP system contract.
    pub gov_ncp_address: String,
    /// Watch the fork heights in `admin_nodeInfo`.
    pub track_fork_heights: bool,
    /// URL of a signed release manifest to take upgrade plans from.
    pub release_manifest_url: Option<String>,
    /// minisign public key the release manifest must be signed with.
    pub release_manifest_public_key: Option<String>,
    /// Address of an upgrade-proposal contract to take upgrade plans from.
    pub upgrade_proposal_contract: Option<String>,
    /// Queue upgrades from those sources without operator action.
    pub auto_queue_upgrades: bool,
    /// Ask the quorum guard before every halt the chain has not coordinated.
    pub quorum_guard: bool,
    /// Longest wait for the quorum guard before a halt goes ahead anyway.
    pub quorum_guard_timeout: Duration,
}

/// `[api]`: the HTTP API.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiSection {
    /// Also serve the API on TCP (it is always on the Unix socket).
    pub enabled_tcp: bool,
    /// TCP address to listen on.
    pub bind: String,
    /// File holding the bearer token every TCP route but `/healthz` needs.
    pub token_file: Option<PathBuf>,
    /// Serve `/metrics` on TCP without the token (for a Prometheus that
    /// cannot send one).
    pub metrics_public: bool,
}

/// `[alerts]`: alert rules' thresholds and the sinks alerts go to.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsSection {
    /// Time between repeats of an alert that still fires.
    pub repeat_interval: Duration,
    /// An upgrade this many blocks away or closer is imminent.
    pub upgrade_imminent_blocks: u64,
    /// Time limit of one delivery attempt.
    pub send_timeout: Duration,
    /// Generic JSON webhooks.
    pub webhook_urls: Vec<String>,
    /// Slack incoming webhooks.
    pub slack_webhook_urls: Vec<String>,
    /// Alertmanager base URLs.
    pub alertmanager_urls: Vec<String>,
}

/// `[log]`: wemixvisor's own logging.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSection {
    /// Level filter (`info`, or directives such as `info,wemixvisor_node=debug`).
    pub level: String,
    /// Line format (`WEMIXVISOR_LOG_FORMAT`).
    pub format: LogFormat,
    /// Turn wemixvisor's own logs off (`WEMIXVISOR_DISABLE_LOGS`, `COSMOVISOR_DISABLE_LOGS`).
    pub disable: bool,
    /// Size (MiB) at which the node log is rotated.
    pub node_log_max_mb: u64,
    /// Rotated node logs kept.
    pub node_log_keep: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            version: CURRENT_VERSION,
            node: NodeSection::default(),
            restart: RestartSection::default(),
            upgrade: UpgradeSection::default(),
            download: DownloadSection::default(),
            backup: BackupSection::default(),
            health: HealthSection::default(),
            governance: GovernanceSection::default(),
            api: ApiSection::default(),
            alerts: AlertsSection::default(),
            log: LogSection::default(),
        }
    }
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            daemon_name: "geth".into(),
            rpc_url: "http://127.0.0.1:8545".into(),
            shutdown_grace: Duration::from_secs(300),
            network: None,
        }
    }
}

impl Default for RestartSection {
    fn default() -> Self {
        RestartSection {
            enabled: true,
            delay: Duration::ZERO,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            backoff_multiplier: 2.0,
            max_restarts: 5,
            window: Duration::from_secs(600),
            stable_after: Duration::from_secs(300),
        }
    }
}

impl Default for UpgradeSection {
    fn default() -> Self {
        UpgradeSection {
            restart_after_upgrade: true,
            poll_interval: Duration::from_secs(1),
            preupgrade_max_retries: 0,
            unsafe_skip_backup: false,
            verify_timeout: Duration::from_secs(120),
            verify_window: Duration::from_secs(30 * 60),
            verify_min_peers: 1,
            hook_timeout: Duration::from_secs(600),
            rollback_restore_data: false,
            custom_pre_upgrade: None,
            flag_migrations: Vec::new(),
        }
    }
}

impl Default for DownloadSection {
    fn default() -> Self {
        DownloadSection {
            allow_download_binaries: false,
            must_have_checksum: true,
            require_signature: false,
            public_keys: Vec::new(),
            allowed_hosts: Vec::new(),
            ca_cert: None,
            max_bytes: 1 << 30,
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

impl Default for BackupSection {
    fn default() -> Self {
        BackupSection {
            enabled: true,
            keep_auto: 5,
            max_age: None,
            include: Vec::new(),
            exclude: vec!["logs/**".into()],
        }
    }
}

impl Default for HealthSection {
    fn default() -> Self {
        HealthSection {
            interval: Duration::from_secs(15),
            block_period: Duration::from_secs(1),
            stall_blocks: 30,
            min_peers: 1,
            min_free_disk_mb: 10_240,
            failures_before_restart: 5,
            restart_on_stall: false,
        }
    }
}

impl Default for GovernanceSection {
    fn default() -> Self {
        GovernanceSection {
            enabled: false,
            poll_interval: Duration::from_secs(30),
            gov_ncp_address: GOV_NCP_ADDRESS.into(),
            track_fork_heights: true,
            release_manifest_url: None,
            release_manifest_public_key: None,
            upgrade_proposal_contract: None,
            auto_queue_upgrades: false,
            quorum_guard: true,
            quorum_guard_timeout: Duration::from_secs(600),
        }
    }
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            enabled_tcp: false,
            bind: "127.0.0.1:9090".into(),
            token_file: None,
            metrics_public: false,
        }
    }
}

impl Default for AlertsSection {
    fn default() -> Self {
        AlertsSection {
            repeat_interval: Duration::from_secs(4 * 3600),
            upgrade_imminent_blocks: 100,
            send_timeout: Duration::from_secs(10),
            webhook_urls: Vec::new(),
            slack_webhook_urls: Vec::new(),
            alertmanager_urls: Vec::new(),
        }
    }
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info".into(),
            format: LogFormat::Text,
            disable: false,
            node_log_max_mb: 100,
            node_log_keep: 10,
        }
    }
}

impl Config {
    /// The configuration a network template holds: the defaults, with the
    /// network set and the few values that differ per network.
    ///
    /// - mainnet/testnet: the governance monitor is on (GovNCP is deployed
    ///   there and monitoring only reads);
    /// - devnet: a lone node has no peers (`health.min_peers = 0`), fewer
    ///   automatic backups are kept, and governance stays off (GovNCP may not
    ///   be deployed on a private chain).
    pub fn for_network(network: Network) -> Config {
        let mut c = Config::default();
        c.node.network = Some(network);
        match network {
            Network::Mainnet | Network::Testnet => {
                c.governance.enabled = true;
            }
            Network::Devnet => {
                c.health.min_peers = 0;
                c.backup.keep_auto = 2;
            }
        }
        c
    }
}

/// Values given as command-line flags; they win over everything else.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlagOverrides {
    /// `--name`: the node binary name.
    pub daemon_name: Option<String>,
    /// `--log-format`.
    pub log_format: Option<LogFormat>,
    /// `--log-level`.
    pub log_level: Option<String>,
    /// `--rpc-url`: the node's JSON-RPC endpoint.
    pub rpc_url: Option<String>,
}
