//! Schema version 1 (flat keys) loads with a warning and migrates to version 2.

use std::time::Duration;

use wemixvisor_config::{migrate, Config, ConfigError, FlagOverrides, Source, V1_WARNING};

use crate::{home_with, no_env};

const V1: &str = r#"# written by wemixvisor 0.1
daemon_name = "gwemix"
rpc_url = "http://127.0.0.1:8588"
shutdown_grace = "2m"
poll_interval = 500
restart_delay = "5s"
restart_after_upgrade = false
unsafe_skip_backup = true
allow_download_binaries = false
download_must_have_checksum = true
preupgrade_max_retries = 2
"#;

fn check_v1_values(c: &Config) {
    assert_eq!(c.node.daemon_name, "gwemix");
    assert_eq!(c.node.rpc_url, "http://127.0.0.1:8588");
    assert_eq!(c.node.shutdown_grace, Duration::from_secs(120));
    assert_eq!(c.upgrade.poll_interval, Duration::from_millis(500));
    assert_eq!(c.restart.delay, Duration::from_secs(5));
    assert!(!c.upgrade.restart_after_upgrade);
    assert!(c.upgrade.unsafe_skip_backup);
    assert!(!c.download.allow_download_binaries);
    assert!(c.download.must_have_checksum);
    assert_eq!(c.upgrade.preupgrade_max_retries, 2);
}

#[test]
fn version_1_loads_with_a_warning() {
    let (_d, home) = home_with(Some(V1), None);
    let l = Config::load_report(&home, &no_env, &FlagOverrides::default()).unwrap();
    assert_eq!(l.file_version, Some(1));
    assert_eq!(l.config.version, 1);
    check_v1_values(&l.config);
    assert_eq!(l.warnings, vec![V1_WARNING.to_string()]);
    assert!(V1_WARNING.contains("wemixvisor config migrate"));
    assert!(matches!(
        l.sources["node.daemon_name"],
        Source::File { location: Some(_) }
    ));
}

#[test]
fn version_1_unknown_key_is_reported() {
    let (_d, home) = home_with(
        Some("daemon_name = \"geth\"\nrestart_dely = \"5s\"\n"),
        None,
    );
    let e = Config::load(&home, &no_env, &FlagOverrides::default()).unwrap_err();
    let ConfigError::Invalid { problems, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        problems[0].to_string(),
        "wemixvisor.toml:2:1: restart_dely: unknown key \"restart_dely\"\nhelp: did you mean \"restart_delay\"? (version-1 files hold only flat keys; `wemixvisor config migrate` moves to version 2)"
    );
}

#[test]
fn migrate_moves_every_key_keeps_a_backup_and_summarises() {
    let (_d, home) = home_with(Some(V1), None);
    let m = migrate(&home).unwrap();
    let backup = home.config_dir().join("wemixvisor.toml.v1.bak");
    assert_eq!(m.backup.as_deref(), Some(backup.as_path()));
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), V1);
    assert_eq!((m.from_version, m.to_version), (1, 2));
    assert_eq!(m.moves.len(), 10);
    assert_eq!(
        m.summary(),
        format!(
            "migrated '{}' from schema version 1 to 2\n  daemon_name                 -> node.daemon_name = \"gwemix\"\n  rpc_url                     -> node.rpc_url = \"http://127.0.0.1:8588\"\n  shutdown_grace              -> node.shutdown_grace = \"2m\"\n  poll_interval               -> upgrade.poll_interval = \"500ms\"\n  restart_delay               -> restart.delay = \"5s\"\n  restart_after_upgrade       -> upgrade.restart_after_upgrade = false\n  unsafe_skip_backup          -> upgrade.unsafe_skip_backup = true\n  allow_download_binaries     -> download.allow_download_binaries = false\n  download_must_have_checksum -> download.must_have_checksum = true\n  preupgrade_max_retries      -> upgrade.preupgrade_max_retries = 2\nthe old file is kept as '{}' (its comments are not carried over)",
            home.config_file().display(),
            backup.display()
        )
    );
    let l = Config::load_report(&home, &no_env, &FlagOverrides::default()).unwrap();
    assert_eq!(l.file_version, Some(2));
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    check_v1_values(&l.config);
    let text = std::fs::read_to_string(home.config_file()).unwrap();
    assert!(text.starts_with("# wemixvisor.toml"), "{text}");
    assert!(text.contains("\n[upgrade]\n"));

    // a second run has nothing to do and keeps no second backup
    let again = migrate(&home).unwrap();
    assert!(again.backup.is_none());
    assert!(again
        .summary()
        .ends_with("is already at schema version 2; nothing to migrate"));

    // the next migration of another v1 file does not overwrite the first backup
    std::fs::write(home.config_file(), "daemon_name = \"geth\"\n").unwrap();
    let m = migrate(&home).unwrap();
    assert_eq!(
        m.backup.unwrap(),
        home.config_dir().join("wemixvisor.toml.v1.bak.1")
    );
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), V1);
}

#[test]
fn migrate_refuses_a_broken_file_and_a_missing_one() {
    let (_d, home) = home_with(Some("daemon_name = 5\n"), None);
    let before = std::fs::read(home.config_file()).unwrap();
    let e = migrate(&home).unwrap_err();
    assert!(
        e.to_string()
            .contains("daemon_name: expected a string, found integer 5"),
        "{e}"
    );
    assert_eq!(std::fs::read(home.config_file()).unwrap(), before);
    assert!(!home.config_dir().join("wemixvisor.toml.v1.bak").exists());
    let (_d, home) = home_with(None, None);
    assert!(matches!(
        migrate(&home).unwrap_err(),
        ConfigError::NoConfigFile { .. }
    ));
}
