//! The key registry: every key of `wemixvisor.toml` with its type, docs,
//! environment variables and reload behaviour, and the accessors that tie it
//! to [`Config`]. Loading, `config set/show/reset`, templates and the
//! reference in `docs/config.md` are all driven from this one table.

use crate::config::Config;
use crate::value::{Field, Kind, Value};

/// A section (`[node]`, ...) of `wemixvisor.toml`.
#[derive(Debug)]
pub struct SectionSpec {
    /// Table name.
    pub name: &'static str,
    /// What the section is for (one or more lines).
    pub doc: &'static str,
}

/// One key of `wemixvisor.toml`.
pub struct KeySpec {
    /// Dotted path, `section.key`.
    pub key: &'static str,
    /// Value type.
    pub kind: Kind,
    /// What the key does (one or more lines, no trailing newline).
    pub doc: &'static str,
    /// Environment variables that set it, in precedence order.
    pub env: &'static [&'static str],
    /// True when a running daemon can apply a change without restarting.
    pub reload_safe: bool,
    get: fn(&Config) -> Value,
    set: fn(&mut Config, &Value) -> bool,
}

impl std::fmt::Debug for KeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySpec")
            .field("key", &self.key)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl KeySpec {
    /// The section part of the key.
    pub fn section(&self) -> &'static str {
        self.key.split_once('.').map_or(self.key, |(s, _)| s)
    }
    /// The key name inside its section.
    pub fn name(&self) -> &'static str {
        self.key.split_once('.').map_or(self.key, |(_, n)| n)
    }
    /// This key's value in `config`.
    pub fn get(&self, config: &Config) -> Value {
        (self.get)(config)
    }
    /// Stores `value` in `config`; false when the value is of the wrong kind.
    pub fn set(&self, config: &mut Config, value: &Value) -> bool {
        (self.set)(config, value)
    }
    /// The built-in default.
    pub fn default_value(&self) -> Value {
        self.get(&Config::default())
    }
}

macro_rules! key {
    ($sec:ident . $field:ident, $kind:expr, env: [$($env:expr),*], reload: $reload:expr, doc: $doc:expr) => {
        KeySpec {
            key: concat!(stringify!($sec), ".", stringify!($field)),
            kind: $kind,
            doc: $doc,
            env: &[$($env),*],
            reload_safe: $reload,
            get: |c| Field::to_value(&c.$sec.$field),
            set: |c, v| match Field::from_value(v) {
                Some(x) => {
                    c.$sec.$field = x;
                    true
                }
                None => false,
            },
        }
    };
}

/// Names accepted for `node.network`.
pub const NETWORK_NAMES: &[&str] = &["mainnet", "testnet", "devnet"];
/// Names accepted for `log.format`.
pub const LOG_FORMAT_NAMES: &[&str] = &["text", "json"];

/// Every section, in file order.
pub static SECTIONS: &[SectionSpec] = &[
    SectionSpec {
        name: "node",
        doc: "The supervised node (geth from go-wemix-wbft).",
    },
    SectionSpec {
        name: "restart",
        doc: "What happens when the node exits on its own (crash restarts with backoff).",
    },
    SectionSpec {
        name: "upgrade",
        doc: "The upgrade pipeline: triggers, hooks, verification.",
    },
    SectionSpec {
        name: "download",
        doc: "Fetching upgrade binaries named in upgrade-info.json or upgrade plans.\nDownloads are HTTPS only (plain HTTP only to loopback).",
    },
    SectionSpec {
        name: "backup",
        doc: "Snapshots of chain-data/ taken before upgrades (backups/auto/).",
    },
    SectionSpec {
        name: "health",
        doc: "Node health checks over JSON-RPC (eth_blockNumber, net_peerCount, eth_syncing).",
    },
    SectionSpec {
        name: "governance",
        doc: "GovNCP proposal tracking, fork heights and upgrade-proposal sources.\nNo on-chain GovNCP proposal carries a binary upgrade: plans come from the\noperator, upgrade-info.json, a signed release manifest or an upgrade-proposal contract.",
    },
    SectionSpec {
        name: "api",
        doc: "The HTTP API and /metrics. Always served on state/wemixvisor.sock (0600).",
    },
    SectionSpec {
        name: "alerts",
        doc: "Alerts (docs/alerts.md): rules over the supervisor's events and health, sent to\nJSON webhooks, Slack incoming webhooks and Alertmanager. `wemixvisor alerts test`\nsends a test alert to every sink. Webhook URLs can be secrets: keep this file 0600.",
    },
    SectionSpec {
        name: "log",
        doc: "wemixvisor's own log lines (the node's output goes to chain-data/logs/).",
    },
];

/// Every key, in file order.
pub static KEYS: &[KeySpec] = &[
    // [node]
    key!(node.daemon_name, Kind::Str, env: ["DAEMON_NAME"], reload: false,
        doc: "Name of the node binary in wemixvisor/current/bin/: a plain file name, no '/'.\nThe --name flag and DAEMON_NAME override it."),
    key!(node.rpc_url, Kind::Str, env: [], reload: false,
        doc: "JSON-RPC endpoint of the node (http, https, ws or wss). It must serve the\neth, net, web3, admin and istanbul namespaces (geth --http.api)."),
    key!(node.shutdown_grace, Kind::Duration, env: ["DAEMON_SHUTDOWN_GRACE"], reload: false,
        doc: "Time between SIGTERM and SIGKILL when stopping the node. geth may need\nminutes to flush its database; operators give it 5 minutes."),
    key!(node.network, Kind::OptChoice(NETWORK_NAMES), env: [], reload: false,
        doc: "Network of this home: mainnet (chain id 1111), testnet (1112) or devnet\n(any other id); \"\" = not set. Checked against node-options.toml."),
    // [restart]
    key!(restart.enabled, Kind::Bool, env: [], reload: true,
        doc: "Restart the node when it exits unexpectedly."),
    key!(restart.delay, Kind::Duration, env: ["DAEMON_RESTART_DELAY"], reload: true,
        doc: "Pause before the node is started again after an exit or an upgrade switch."),
    key!(restart.backoff_initial, Kind::Duration, env: [], reload: true,
        doc: "Wait before the first crash restart; multiplied by backoff_multiplier after\neach further crash."),
    key!(restart.backoff_max, Kind::Duration, env: [], reload: true,
        doc: "Longest wait between crash restarts."),
    key!(restart.backoff_multiplier, Kind::F64, env: [], reload: true,
        doc: "Factor between successive crash-restart waits (at least 1.0)."),
    key!(restart.max_restarts, Kind::U32, env: [], reload: true,
        doc: "Crash restarts allowed within `window`; one more and wemixvisor gives up\nand exits with the node's exit code."),
    key!(restart.window, Kind::Duration, env: [], reload: true,
        doc: "Window over which crash restarts are counted."),
    key!(restart.stable_after, Kind::Duration, env: [], reload: true,
        doc: "A node that stays up this long counts as stable: the backoff starts over."),
    // [upgrade]
    key!(upgrade.restart_after_upgrade, Kind::Bool, env: ["DAEMON_RESTART_AFTER_UPGRADE"], reload: false,
        doc: "Start the new binary after an upgrade switch; false = wemixvisor exits after\nthe switch and leaves the start to the service manager."),
    key!(upgrade.poll_interval, Kind::Duration, env: ["DAEMON_POLL_INTERVAL"], reload: true,
        doc: "How often the head is polled while a plan waits for its height and the node\noffers no new-head subscription on its IPC socket, and upgrade-info.json is read\nwhere the file system gives no file events.\nDAEMON_POLL_INTERVAL may also be a bare number of milliseconds (cosmovisor)."),
    key!(upgrade.preupgrade_max_retries, Kind::U32, env: ["DAEMON_PREUPGRADE_MAX_RETRIES"], reload: false,
        doc: "How many times a pre-upgrade hook that exits with 31 is run again."),
    key!(upgrade.unsafe_skip_backup, Kind::Bool, env: ["UNSAFE_SKIP_BACKUP"], reload: false,
        doc: "Skip the pre-upgrade backup of chain-data. A failed upgrade can then roll\nback the binary but not the data."),
    key!(upgrade.verify_timeout, Kind::Duration, env: [], reload: false,
        doc: "How long the new binary's RPC may stay silent, and its head stand still once\nthe network has quorum again, before it is rolled back."),
    key!(upgrade.verify_window, Kind::Duration, env: [], reload: false,
        doc: "The verification window after a switch. A crash of the new binary inside it\nrolls back; a head halted at the upgrade height while too few validators run\nthe new binary (no quorum) is waited out, never rolled back."),
    key!(upgrade.verify_min_peers, Kind::U32, env: [], reload: false,
        doc: "Peers the new binary must have to count as connected after a switch\n(0 for a single-node network)."),
    key!(upgrade.hook_timeout, Kind::Duration, env: [], reload: false,
        doc: "Time limit of one run of a pre- or post-upgrade hook."),
    // [download]
    key!(upgrade.rollback_restore_data, Kind::Bool, env: ["WEMIXVISOR_ROLLBACK_RESTORE_DATA"], reload: false,
        doc: "When an upgrade is rolled back, also put back the chain data snapshot taken\nbefore it (needs backups on)."),
    key!(upgrade.custom_pre_upgrade, Kind::OptStr, env: ["WEMIXVISOR_CUSTOM_PREUPGRADE", "COSMOVISOR_CUSTOM_PREUPGRADE"], reload: false,
        doc: "An extra pre-upgrade hook (absolute, or relative to wemixvisor/), run before\nwemixvisor/scripts/pre-upgrade with the same environment and exit codes; \"\" = none."),
    key!(upgrade.flag_migrations, Kind::List, env: [], reload: false,
        doc: "Flag renames \"--old=--new\" applied to the node's arguments for a new binary,\non top of the built-in geth renames (--rpc -> --http, --rpcport -> --http.port, ...)."),
    key!(download.allow_download_binaries, Kind::Bool, env: ["DAEMON_ALLOW_DOWNLOAD_BINARIES"], reload: false,
        doc: "Download binaries named in upgrade info when they are not already in\nwemixvisor/upgrades/<name>/bin/."),
    key!(download.must_have_checksum, Kind::Bool, env: ["DAEMON_DOWNLOAD_MUST_HAVE_CHECKSUM"], reload: false,
        doc: "Refuse a download whose URL or plan carries no sha256 checksum."),
    key!(download.require_signature, Kind::Bool, env: [], reload: false,
        doc: "Refuse a download without a valid minisign signature by one of public_keys."),
    key!(download.public_keys, Kind::List, env: [], reload: false,
        doc: "Trusted minisign public keys (the base64 line starting with \"RW\")."),
    key!(download.allowed_hosts, Kind::List, env: [], reload: false,
        doc: "Hosts binaries may be downloaded from (\"github.com\", \"*.example.com\");\nempty = any host."),
    key!(download.ca_cert, Kind::OptStr, env: ["WEMIXVISOR_DOWNLOAD_CA_CERT"], reload: false,
        doc: "Extra CA certificate (PEM file, absolute or relative to the home) trusted for\ndownloads, e.g. a private mirror's; \"\" = the system roots only."),
    key!(download.max_bytes, Kind::U64, env: [], reload: false,
        doc: "Largest download accepted, in bytes; checked against Content-Length and while\nthe body streams."),
    key!(download.timeout, Kind::Duration, env: [], reload: false,
        doc: "Time one download may take overall, retries included; a server that sends\ntoo slowly is given up on."),
    // [backup]
    key!(backup.enabled, Kind::Bool, env: [], reload: false,
        doc: "Take a snapshot of chain-data before each upgrade."),
    key!(backup.keep_auto, Kind::U32, env: [], reload: false,
        doc: "Automatic snapshots kept; older ones are pruned (manual ones never are)."),
    key!(backup.max_age, Kind::OptDuration, env: [], reload: false,
        doc: "Also prune automatic snapshots older than this (\"30days\"); \"\" = no age limit."),
    key!(backup.include, Kind::List, env: [], reload: false,
        doc: "Glob patterns, relative to chain-data/, of what to back up; empty = everything."),
    key!(backup.exclude, Kind::List, env: [], reload: false,
        doc: "Glob patterns, relative to chain-data/, left out of backups."),
    // [health]
    key!(health.interval, Kind::Duration, env: [], reload: true,
        doc: "Time between health checks."),
    key!(health.block_period, Kind::Duration, env: [], reload: true,
        doc: "Expected time between blocks (WBFT produces a block about every second)."),
    key!(health.stall_blocks, Kind::U32, env: [], reload: true,
        doc: "The node counts as stalled when its head has not moved for this many block periods."),
    key!(health.min_peers, Kind::U32, env: [], reload: true,
        doc: "Fewer peers than this (net_peerCount) is unhealthy."),
    key!(health.min_free_disk_mb, Kind::U64, env: [], reload: true,
        doc: "Less free disk space (MiB) under chain-data than this is unhealthy."),
    key!(health.failures_before_restart, Kind::U32, env: [], reload: true,
        doc: "Failed checks in a row before the node counts as unhealthy."),
    key!(health.restart_on_stall, Kind::Bool, env: [], reload: true,
        doc: "Restart a node that is stalled (after failures_before_restart checks)."),
    // [governance]
    key!(governance.enabled, Kind::Bool, env: [], reload: false,
        doc: "Run the governance and WBFT consensus monitor."),
    key!(governance.poll_interval, Kind::Duration, env: [], reload: false,
        doc: "Time between polls of GovNCP events and fork heights."),
    key!(governance.gov_ncp_address, Kind::Str, env: [], reload: false,
        doc: "Address of the GovNCP system contract."),
    key!(governance.track_fork_heights, Kind::Bool, env: [], reload: false,
        doc: "Report the fork heights compiled into the node (admin_nodeInfo)."),
    key!(governance.release_manifest_url, Kind::OptStr, env: [], reload: false,
        doc: "URL of a signed release manifest listing upgrade plans; \"\" = none."),
    key!(governance.release_manifest_public_key, Kind::OptStr, env: [], reload: false,
        doc: "minisign public key the release manifest must be signed with; \"\" = none."),
    key!(governance.upgrade_proposal_contract, Kind::OptStr, env: [], reload: false,
        doc: "Address of an upgrade-proposal contract to read plans from; \"\" = none."),
    key!(governance.auto_queue_upgrades, Kind::Bool, env: [], reload: false,
        doc: "Queue upgrades from the manifest or the contract without operator action."),
    key!(governance.quorum_guard, Kind::Bool, env: [], reload: true,
        doc: "Before a halt the chain has not coordinated (a health restart, `restart`,\n`stop`, an upgrade without a height, a manual rollback), ask whether this\nvalidator may go down without costing the network its quorum (more than 2/3\nactive); if not, the halt waits (`--force` skips the wait)."),
    key!(governance.quorum_guard_timeout, Kind::Duration, env: [], reload: true,
        doc: "Longest time a halt waits for the quorum guard before it goes ahead anyway."),
    // [api]
    key!(api.enabled_tcp, Kind::Bool, env: [], reload: false,
        doc: "Also serve the API on TCP at `bind`."),
    key!(api.bind, Kind::Str, env: [], reload: false,
        doc: "TCP address (ip:port) of the API. Binding anything but loopback needs token_file."),
    key!(api.token_file, Kind::OptStr, env: [], reload: false,
        doc: "File holding the bearer token every TCP route but /healthz needs (absolute,\nor relative to the home; `init` creates one); \"\" = none (loopback only)."),
    key!(api.metrics_public, Kind::Bool, env: [], reload: false,
        doc: "Serve /metrics on TCP without the token."),
    // [alerts]
    key!(alerts.repeat_interval, Kind::Duration, env: [], reload: false,
        doc: "Time between repeats of a warning or critical alert that still fires."),
    key!(alerts.upgrade_imminent_blocks, Kind::U64, env: [], reload: false,
        doc: "The next upgrade is reported as imminent this many blocks ahead (at least 1)."),
    key!(alerts.send_timeout, Kind::Duration, env: [], reload: false,
        doc: "Time limit of one delivery attempt to a sink (each alert is tried 5 times,\nwith backoff)."),
    key!(alerts.webhook_urls, Kind::List, env: [], reload: false,
        doc: "Generic JSON webhooks (http or https URLs) each alert is POSTed to."),
    key!(alerts.slack_webhook_urls, Kind::List, env: [], reload: false,
        doc: "Slack incoming webhook URLs (https://hooks.slack.com/services/...)."),
    key!(alerts.alertmanager_urls, Kind::List, env: [], reload: false,
        doc: "Alertmanager base URLs (such as \"http://127.0.0.1:9093\"); alerts go to\n/api/v2/alerts and are refreshed while they fire."),
    // [log]
    key!(log.level, Kind::Str, env: [], reload: true,
        doc: "Level of wemixvisor's logs: trace, debug, info, warn, error or off, or\ndirectives such as \"info,wemixvisor_node=debug\"."),
    key!(log.format, Kind::Choice(LOG_FORMAT_NAMES), env: ["WEMIXVISOR_LOG_FORMAT"], reload: false,
        doc: "Log line format: text or json."),
    key!(log.disable, Kind::Bool, env: ["WEMIXVISOR_DISABLE_LOGS", "COSMOVISOR_DISABLE_LOGS"], reload: false,
        doc: "Turn wemixvisor's own logs off."),
    key!(log.node_log_max_mb, Kind::U64, env: [], reload: false,
        doc: "Size (MiB) at which chain-data/logs/geth.log is rotated into logs/archived/\n(gzip-compressed)."),
    key!(log.node_log_keep, Kind::U32, env: [], reload: false,
        doc: "Number of rotated node logs kept in logs/archived/."),
];

/// The spec of a dotted key.
pub fn lookup(key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.key == key)
}

/// The spec of a section.
pub fn section(name: &str) -> Option<&'static SectionSpec> {
    SECTIONS.iter().find(|s| s.name == name)
}

/// True when a running daemon can apply a change of `key` on reload (log
/// level, health thresholds); false means it applies on the next restart.
/// Unknown keys are not reload-safe.
pub fn reload_safe(key: &str) -> bool {
    lookup(key).is_some_and(|k| k.reload_safe)
}

/// The known key closest to `given` (a typo, or a key in the wrong section),
/// when one is close enough to be a likely intent.
pub fn suggest_key(given: &str) -> Option<&'static str> {
    let leaf = given.rsplit('.').next().unwrap_or(given);
    // the same key name in another section (or at the top level) is the best hint
    if let Some(k) = KEYS.iter().find(|k| k.name() == leaf && k.key != given) {
        return Some(k.key);
    }
    closest(given, KEYS.iter().map(|k| k.key)).or_else(|| {
        closest(leaf, KEYS.iter().map(|k| k.name()))
            .and_then(|n| KEYS.iter().find(|k| k.name() == n).map(|k| k.key))
    })
}

/// The candidate closest to `given` by edit distance, if within a third of its length.
pub fn closest<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (given.chars().count() / 3).max(2);
    candidates
        .map(|c| (strsim::damerau_levenshtein(given, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_round_trips_its_default_and_has_a_section() {
        let mut c = Config::default();
        for k in KEYS {
            assert!(section(k.section()).is_some(), "{}", k.key);
            let v = k.get(&c);
            assert!(k.set(&mut c, &v), "{}", k.key);
            // the default's text form parses back to the same value
            let text = match &v {
                Value::Str(s) => s.clone(),
                Value::Unset => String::new(),
                other => other.to_string().trim_matches('"').to_string(),
            };
            let text = if k.kind == Kind::List {
                v.to_string()
            } else {
                text
            };
            assert_eq!(k.kind.parse_text(&text), Ok(v.clone()), "{}", k.key);
            assert!(!k.doc.is_empty() && !k.doc.ends_with('\n'), "{}", k.key);
        }
        assert_eq!(c, Config::default());
        let mut names: Vec<_> = KEYS.iter().map(|k| k.key).collect();
        names.dedup();
        assert_eq!(names.len(), KEYS.len());
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest_key("node.deamon_name"), Some("node.daemon_name"));
        assert_eq!(suggest_key("daemon_name"), Some("node.daemon_name"));
        assert_eq!(
            suggest_key("upgrade.shutdown_grace"),
            Some("node.shutdown_grace")
        );
        assert_eq!(
            suggest_key("restart.backof_max"),
            Some("restart.backoff_max")
        );
        assert_eq!(suggest_key("completely.unrelated"), None);
    }

    #[test]
    fn reload_safety() {
        assert!(reload_safe("log.level"));
        assert!(reload_safe("health.min_peers"));
        assert!(!reload_safe("node.daemon_name"));
        assert!(!reload_safe("no.such"));
    }
}
