//! The one mapping from the configuration ([`Config`]) to the settings of
//! each library crate: restart policy, health checks, backups, the upgrade
//! pipeline and governance. The CLI and the supervisor both call these.

use std::time::Duration;

use wemixvisor_backup::BackupOptions;
use wemixvisor_config::{Config, GovernanceSection, HealthSection};
use wemixvisor_core::Home;
use wemixvisor_governance::{GovernanceSettings, MonitorConfig};
use wemixvisor_node::{HealthSettings, RestartPolicy};
use wemixvisor_upgrade::{DownloadSettings, FlagMigration, UpgradeSettings};

use crate::SupervisorError;

/// Environment variable: flag renames `--old=--new,...` (added before the
/// configured and built-in renames), or `none` to turn all of them off.
pub const ENV_FLAG_MIGRATIONS: &str = "WEMIXVISOR_FLAG_MIGRATIONS";

/// The longest any timer of the loop is set to. A configured duration
/// beyond it (e.g. `"500000000000years"`) waits this long instead of
/// overflowing a clock.
pub const MAX_TIMER: Duration = Duration::from_secs(100 * 365 * 86_400);

/// `d`, capped at [`MAX_TIMER`].
pub fn timer(d: Duration) -> Duration {
    d.min(MAX_TIMER)
}

/// The crash-restart policy of `[restart]`.
pub fn restart_policy(config: &Config) -> RestartPolicy {
    let r = &config.restart;
    RestartPolicy {
        enabled: r.enabled,
        first_immediate: true,
        initial: timer(r.backoff_initial),
        max: timer(r.backoff_max),
        multiplier: r.backoff_multiplier,
        max_restarts: r.max_restarts,
        window: timer(r.window),
        stable_after: timer(r.stable_after),
        min_delay: timer(r.delay),
    }
}

/// The health checks of `[health]` over the datadir of `home`.
pub fn health_settings(home: &Home, config: &Config) -> HealthSettings {
    let h = &config.health;
    HealthSettings {
        block_period: timer(h.block_period),
        stall_blocks: h.stall_blocks,
        min_peers: h.min_peers,
        min_free_disk_mb: h.min_free_disk_mb,
        failures_before_restart: h.failures_before_restart,
        restart_on_stall: h.restart_on_stall,
        datadir: home.data_dir(),
    }
}

/// The backup settings of `[backup]`.
pub fn backup_options(config: &Config) -> BackupOptions {
    BackupOptions {
        exclude: config.backup.exclude.clone(),
        include: config.backup.include.clone(),
        keep_auto: config.backup.keep_auto,
        max_age: config.backup.max_age,
        ..BackupOptions::default()
    }
}

/// The governance settings of `[governance]`.
pub fn governance_settings(section: &GovernanceSection) -> GovernanceSettings {
    GovernanceSettings {
        poll_interval: section.poll_interval,
        gov_ncp_address: section.gov_ncp_address.clone(),
        track_fork_heights: section.track_fork_heights,
        release_manifest_url: section.release_manifest_url.clone(),
        release_manifest_public_key: section.release_manifest_public_key.clone(),
        upgrade_proposal_contract: section.upgrade_proposal_contract.clone(),
        auto_queue_upgrades: section.auto_queue_upgrades,
        quorum_guard: section.quorum_guard,
    }
}

/// The consensus monitor settings of `[health]`.
pub fn monitor_config(health: &HealthSection) -> MonitorConfig {
    MonitorConfig {
        block_period: timer(health.block_period),
        stall_blocks: u64::from(health.stall_blocks),
        ..MonitorConfig::default()
    }
}

/// The upgrade pipeline settings of `[upgrade]` and `[download]` (whose env
/// overlay already covers `WEMIXVISOR_DOWNLOAD_CA_CERT`,
/// `WEMIXVISOR_ROLLBACK_RESTORE_DATA` and `COSMOVISOR_CUSTOM_PREUPGRADE`),
/// plus [`ENV_FLAG_MIGRATIONS`] read through `env`.
pub fn upgrade_settings(
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<UpgradeSettings, SupervisorError> {
    let mut s = UpgradeSettings {
        restart_after_upgrade: config.upgrade.restart_after_upgrade,
        skip_backup: config.upgrade.unsafe_skip_backup || !config.backup.enabled,
        preupgrade_max_retries: config.upgrade.preupgrade_max_retries,
        verify_timeout: timer(config.upgrade.verify_timeout),
        verify_window: timer(config.upgrade.verify_window),
        verify_min_peers: u64::from(config.upgrade.verify_min_peers),
        // The loop watches the window (a crash inside it rolls back) while
        // it goes on serving commands, health checks and the status.
        verify_in_background: true,
        hook_timeout: timer(config.upgrade.hook_timeout),
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
            .map_err(|e| SupervisorError::BadSetting {
                what: "upgrade.flag_migrations".into(),
                reason: e.to_string(),
                help: "e.g. flag_migrations = [\"--rpcport=--http.port\"]".into(),
            })?;
        own.append(&mut s.flag_migrations);
        s.flag_migrations = own;
    }
    if let Some(v) = env(ENV_FLAG_MIGRATIONS) {
        if v.trim().eq_ignore_ascii_case("none") {
            s.flag_migrations.clear();
        } else {
            let mut own =
                FlagMigration::parse_list(&v).map_err(|e| SupervisorError::BadSetting {
                    what: ENV_FLAG_MIGRATIONS.into(),
                    reason: e.to_string(),
                    help: format!("e.g. {ENV_FLAG_MIGRATIONS}=--rpcport=--http.port,--nousb=--usb"),
                })?;
            own.append(&mut s.flag_migrations);
            s.flag_migrations = own;
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_durations_are_capped_not_overflowed() {
        let mut c = Config::default();
        let huge = humantime::parse_duration("500000000000years").unwrap();
        c.health.block_period = huge;
        c.restart.backoff_max = huge;
        c.upgrade.verify_timeout = huge;
        let home = Home::new("/nonexistent");
        assert_eq!(health_settings(&home, &c).block_period, MAX_TIMER);
        assert_eq!(restart_policy(&c).max, MAX_TIMER);
        assert_eq!(
            upgrade_settings(&c, &|_| None).unwrap().verify_timeout,
            MAX_TIMER
        );
        let now = tokio::time::Instant::now();
        assert!(now.checked_add(MAX_TIMER).is_some());
    }

    #[test]
    fn flag_migrations_from_env_and_none() {
        let c = Config::default();
        let none =
            upgrade_settings(&c, &|k| (k == ENV_FLAG_MIGRATIONS).then(|| "none".into())).unwrap();
        assert!(none.flag_migrations.is_empty());
        let bad = upgrade_settings(&c, &|k| (k == ENV_FLAG_MIGRATIONS).then(|| "nope".into()))
            .unwrap_err();
        assert!(bad.help().unwrap_or_default().contains(ENV_FLAG_MIGRATIONS));
    }
}
