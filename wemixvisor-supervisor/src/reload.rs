//! What a configuration reload changes, and when each change takes effect.
//!
//! The key registry of `wemixvisor-config` marks the keys a running
//! supervisor applies at once (`reload_safe`: health checks, restart
//! policy, poll interval, quorum guard, log level). Of the others, the
//! node's binary name and its options (`node-options.toml`) apply at the
//! next node start (a crash restart, `restart`, an upgrade); everything
//! else (RPC URL, API, backups, downloads, ...) at the next start of
//! wemixvisor itself.

use wemixvisor_config::{schema::KEYS, Config};

/// When a changed key takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppliesAt {
    /// At once.
    Now,
    /// At the next start of the node.
    NodeStart,
    /// At the next start of wemixvisor.
    SupervisorStart,
}

impl AppliesAt {
    /// Short text for status and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            AppliesAt::Now => "applied",
            AppliesAt::NodeStart => "next node start",
            AppliesAt::SupervisorStart => "next wemixvisor start",
        }
    }
}

/// The pseudo-key for a change of `node-options.toml` (or of the node
/// arguments it yields).
pub const NODE_OPTIONS_KEY: &str = "node-options.toml";

/// When a change of `key` takes effect.
pub fn applies_at(key: &str) -> AppliesAt {
    if wemixvisor_config::reload_safe(key) {
        AppliesAt::Now
    } else if key == "node.daemon_name" || key == NODE_OPTIONS_KEY {
        AppliesAt::NodeStart
    } else {
        AppliesAt::SupervisorStart
    }
}

/// Every key whose value differs between `old` and `new`, in registry order.
pub fn changed_keys(old: &Config, new: &Config) -> Vec<&'static str> {
    KEYS.iter()
        .filter(|k| k.get(old) != k.get(new))
        .map(|k| k.key)
        .collect()
}

/// Formats a pending key for the status: `key (next node start)`.
pub fn describe_pending(key: &str, at: AppliesAt) -> String {
    format!("{key} ({})", at.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn keys_are_classified_from_the_registry() {
        let old = Config::default();
        let mut new = old.clone();
        new.health.min_peers = 9;
        new.node.daemon_name = "geth2".into();
        new.node.rpc_url = "http://127.0.0.1:9".into();
        new.restart.backoff_max = Duration::from_secs(1);
        let keys = changed_keys(&old, &new);
        assert_eq!(
            keys,
            [
                "node.daemon_name",
                "node.rpc_url",
                "restart.backoff_max",
                "health.min_peers"
            ]
        );
        let at: Vec<_> = keys.iter().map(|k| applies_at(k)).collect();
        assert_eq!(
            at,
            [
                AppliesAt::NodeStart,
                AppliesAt::SupervisorStart,
                AppliesAt::Now,
                AppliesAt::Now
            ]
        );
        assert_eq!(applies_at(NODE_OPTIONS_KEY), AppliesAt::NodeStart);
    }
}
