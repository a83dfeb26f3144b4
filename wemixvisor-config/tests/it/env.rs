//! Environment and flag overlay: precedence, strict parsing, messages.

use std::time::Duration;

use wemixvisor_config::{Config, ConfigError, FlagOverrides, LogFormat, Source};

use crate::{env_of, home_with, no_env};

const FILE: &str = r#"version = 2
[node]
daemon_name = "from-file"
shutdown_grace = "10m"
[log]
format = "json"
"#;

fn load(
    file: Option<&str>,
    env: &[(&str, &str)],
    flags: &FlagOverrides,
) -> Result<wemixvisor_config::Loaded, ConfigError> {
    let (_d, home) = home_with(file, None);
    Config::load_report(&home, &env_of(env), flags)
}

#[test]
fn precedence_flag_env_file_default() {
    let flag = FlagOverrides {
        daemon_name: Some("from-flag".into()),
        ..FlagOverrides::default()
    };
    let none = FlagOverrides::default();
    // (file, env, flags) -> (value, source kind)
    type Row<'a> = (
        Option<&'a str>,
        Vec<(&'a str, &'a str)>,
        &'a FlagOverrides,
        &'a str,
        &'a str,
    );
    let table: Vec<Row> = vec![
        (None, vec![], &none, "geth", "default"),
        (Some(FILE), vec![], &none, "from-file", "file"),
        (
            None,
            vec![("DAEMON_NAME", "from-env")],
            &none,
            "from-env",
            "env",
        ),
        (
            Some(FILE),
            vec![("DAEMON_NAME", "from-env")],
            &none,
            "from-env",
            "env",
        ),
        (
            Some(FILE),
            vec![("DAEMON_NAME", "from-env")],
            &flag,
            "from-flag",
            "flag",
        ),
        (None, vec![], &flag, "from-flag", "flag"),
        // an empty variable counts as unset
        (
            Some(FILE),
            vec![("DAEMON_NAME", "")],
            &none,
            "from-file",
            "file",
        ),
    ];
    for (file, env, flags, want, source) in table {
        let l = load(file, &env, flags).unwrap();
        assert_eq!(l.config.node.daemon_name, want, "{file:?} {env:?}");
        assert_eq!(
            l.sources["node.daemon_name"].kind(),
            source,
            "{file:?} {env:?}"
        );
    }
}

#[test]
fn log_format_precedence() {
    let json_flag = FlagOverrides {
        log_format: Some(LogFormat::Text),
        ..FlagOverrides::default()
    };
    let none = FlagOverrides::default();
    let l = load(Some(FILE), &[], &none).unwrap();
    assert_eq!(l.config.log.format, LogFormat::Json);
    let l = load(Some(FILE), &[("WEMIXVISOR_LOG_FORMAT", "text")], &none).unwrap();
    assert_eq!(l.config.log.format, LogFormat::Text);
    assert_eq!(
        l.sources["log.format"],
        Source::Env {
            var: "WEMIXVISOR_LOG_FORMAT"
        }
    );
    let l = load(Some(FILE), &[("WEMIXVISOR_LOG_FORMAT", "json")], &json_flag).unwrap();
    assert_eq!(l.config.log.format, LogFormat::Text);
    assert_eq!(
        l.sources["log.format"],
        Source::Flag {
            flag: "--log-format"
        }
    );
}

#[test]
fn every_variable_sets_its_key() {
    let env = [
        ("DAEMON_NAME", "gwemix"),
        ("DAEMON_RESTART_AFTER_UPGRADE", "false"),
        ("DAEMON_SHUTDOWN_GRACE", "90s"),
        ("DAEMON_POLL_INTERVAL", "5s"),
        ("DAEMON_RESTART_DELAY", "3s"),
        ("UNSAFE_SKIP_BACKUP", "T"),
        ("DAEMON_ALLOW_DOWNLOAD_BINARIES", "1"),
        ("DAEMON_DOWNLOAD_MUST_HAVE_CHECKSUM", "FALSE"),
        ("DAEMON_PREUPGRADE_MAX_RETRIES", "3"),
        ("WEMIXVISOR_LOG_FORMAT", "json"),
        ("COSMOVISOR_DISABLE_LOGS", "true"),
    ];
    // Downloads need a trust root (hosts or keys) besides the variable.
    let file = "version = 2\n[download]\nallowed_hosts = [\"github.com\"]\n";
    let l = load(Some(file), &env, &FlagOverrides::default()).unwrap();
    let c = &l.config;
    assert_eq!(c.node.daemon_name, "gwemix");
    assert!(!c.upgrade.restart_after_upgrade);
    assert_eq!(c.node.shutdown_grace, Duration::from_secs(90));
    assert_eq!(c.upgrade.poll_interval, Duration::from_secs(5));
    assert_eq!(c.restart.delay, Duration::from_secs(3));
    assert!(c.upgrade.unsafe_skip_backup);
    assert!(c.download.allow_download_binaries);
    assert!(!c.download.must_have_checksum);
    assert_eq!(c.upgrade.preupgrade_max_retries, 3);
    assert_eq!(c.log.format, LogFormat::Json);
    assert!(c.log.disable);
    assert_eq!(
        l.sources["log.disable"],
        Source::Env {
            var: "COSMOVISOR_DISABLE_LOGS"
        }
    );
    // warning: downloads with neither checksum nor signature
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
}

#[test]
fn wemixvisor_disable_logs_wins_over_cosmovisor() {
    let l = load(
        None,
        &[
            ("WEMIXVISOR_DISABLE_LOGS", "false"),
            ("COSMOVISOR_DISABLE_LOGS", "true"),
        ],
        &FlagOverrides::default(),
    )
    .unwrap();
    assert!(!l.config.log.disable);
    assert_eq!(
        l.sources["log.disable"],
        Source::Env {
            var: "WEMIXVISOR_DISABLE_LOGS"
        }
    );
}

#[test]
fn poll_interval_bare_number_is_milliseconds_only_there() {
    let l = load(
        None,
        &[("DAEMON_POLL_INTERVAL", "300")],
        &FlagOverrides::default(),
    )
    .unwrap();
    assert_eq!(l.config.upgrade.poll_interval, Duration::from_millis(300));
    let e = load(
        None,
        &[("DAEMON_SHUTDOWN_GRACE", "300")],
        &FlagOverrides::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value \"300\" for DAEMON_SHUTDOWN_GRACE: expected a duration with a unit, such as \"300s\" or \"5m\""
    );
}

#[test]
fn strict_values_name_the_variable() {
    let cases = [
        ("DAEMON_RESTART_AFTER_UPGRADE", "yes please", "invalid value \"yes please\" for DAEMON_RESTART_AFTER_UPGRADE: expected a boolean (true/false)"),
        ("UNSAFE_SKIP_BACKUP", "yes", "invalid value \"yes\" for UNSAFE_SKIP_BACKUP: expected a boolean (true/false)"),
        ("DAEMON_ALLOW_DOWNLOAD_BINARIES", "on", "invalid value \"on\" for DAEMON_ALLOW_DOWNLOAD_BINARIES: expected a boolean (true/false)"),
        ("DAEMON_DOWNLOAD_MUST_HAVE_CHECKSUM", "tRUE", "invalid value \"tRUE\" for DAEMON_DOWNLOAD_MUST_HAVE_CHECKSUM: expected a boolean (true/false)"),
        ("WEMIXVISOR_DISABLE_LOGS", "2", "invalid value \"2\" for WEMIXVISOR_DISABLE_LOGS: expected a boolean (true/false)"),
        ("COSMOVISOR_DISABLE_LOGS", "no", "invalid value \"no\" for COSMOVISOR_DISABLE_LOGS: expected a boolean (true/false)"),
        ("DAEMON_SHUTDOWN_GRACE", "5 parsecs", "invalid value \"5 parsecs\" for DAEMON_SHUTDOWN_GRACE: expected a duration with a unit, such as \"300s\" or \"5m\""),
        ("DAEMON_RESTART_DELAY", "-1s", "invalid value \"-1s\" for DAEMON_RESTART_DELAY: expected a duration with a unit, such as \"300s\" or \"5m\""),
        ("DAEMON_POLL_INTERVAL", "fast", "invalid value \"fast\" for DAEMON_POLL_INTERVAL: expected a duration with a unit, such as \"300s\" or \"5m\", or a whole number of milliseconds"),
        ("DAEMON_PREUPGRADE_MAX_RETRIES", "-1", "invalid value \"-1\" for DAEMON_PREUPGRADE_MAX_RETRIES: expected a whole number from 0 to 4294967295"),
        ("WEMIXVISOR_LOG_FORMAT", "xml", "invalid value \"xml\" for WEMIXVISOR_LOG_FORMAT: expected one of text, json"),
        ("DAEMON_NAME", "bin/geth", "invalid value \"bin/geth\" for DAEMON_NAME: expected a plain file name (not empty, no '/')"),
    ];
    for (var, value, msg) in cases {
        let e = load(None, &[(var, value)], &FlagOverrides::default()).unwrap_err();
        assert!(matches!(e, ConfigError::Env { .. }), "{var}: {e:?}");
        assert_eq!(e.to_string(), msg);
    }
}

#[test]
fn bad_flag_is_named() {
    let flags = FlagOverrides {
        daemon_name: Some("../geth".into()),
        ..FlagOverrides::default()
    };
    let e = load(None, &[], &flags).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value \"../geth\" for --name: expected a plain file name (not empty, no '/')"
    );
}

#[test]
fn rule_violations_from_env_name_the_variable() {
    let e = load(
        None,
        &[("DAEMON_SHUTDOWN_GRACE", "0s")],
        &FlagOverrides::default(),
    )
    .unwrap_err();
    let ConfigError::Invalid { problems, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(
        problems[0].to_string(),
        "node.shutdown_grace: must be positive, got 0s (set by DAEMON_SHUTDOWN_GRACE)\nhelp: use a duration such as \"5m\""
    );
}

#[test]
fn missing_file_means_defaults() {
    let l = load(None, &[], &FlagOverrides::default()).unwrap();
    assert_eq!(l.config, Config::default());
    assert_eq!(l.file_version, None);
    assert!(l.sources.values().all(|s| *s == Source::Default));
    let (_d, home) = home_with(None, None);
    assert_eq!(
        Config::load(&home, &no_env, &FlagOverrides::default()).unwrap(),
        Config::default()
    );
}
