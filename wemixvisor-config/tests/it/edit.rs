//! `config set` / `config reset`: comments kept, values round-trip, invalid
//! values change nothing.

use proptest::prelude::*;
use wemixvisor_config::{
    render_template, reset_key, reset_text, set_key, set_text, Config, ConfigError, FlagOverrides,
    Network, Value,
};
use wemixvisor_core::Home;

use crate::{home_with, no_env};

const COMMENTED: &str = r#"# my notes about this node
version = 2

# the node
[node]
# keep geth
daemon_name = "geth" # inline note
shutdown_grace = "5m"

[restart]
# crash loop policy
max_restarts = 5
"#;

fn comments(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.find('#').map(|i| l[i..].to_string()))
        .collect()
}

#[test]
fn set_keeps_comments_and_layout() {
    let (_d, home) = home_with(Some(COMMENTED), None);
    let out = set_key(&home, "node.daemon_name", "gwemix").unwrap();
    let text = std::fs::read_to_string(home.config_file()).unwrap();
    assert_eq!(
        text,
        COMMENTED.replace("daemon_name = \"geth\"", "daemon_name = \"gwemix\"")
    );
    assert_eq!(
        out.changes,
        vec![(
            "node.daemon_name",
            Value::Str("geth".into()),
            Value::Str("gwemix".into())
        )]
    );
    assert!(!out.reload_safe());
    assert_eq!(
        out.applies_when(),
        "takes effect the next time wemixvisor starts the node (`wemixvisor restart`)"
    );

    // a key the file lacks is added to its section; a missing section is appended
    set_key(&home, "restart.window", "20m").unwrap();
    set_key(&home, "health.min_peers", "3").unwrap();
    let text = std::fs::read_to_string(home.config_file()).unwrap();
    assert!(
        text.contains("max_restarts = 5\nwindow = \"20m\"\n"),
        "{text}"
    );
    assert!(text.ends_with("[health]\nmin_peers = 3\n"), "{text}");
    assert_eq!(comments(&text), comments(COMMENTED));
    let c = Config::load(&home, &no_env, &FlagOverrides::default()).unwrap();
    assert_eq!(c.node.daemon_name, "gwemix");
    assert_eq!(c.restart.window, std::time::Duration::from_secs(1200));
    assert_eq!(c.health.min_peers, 3);
}

#[test]
fn reload_safe_keys_say_so() {
    let (_d, home) = home_with(Some(COMMENTED), None);
    let out = set_key(&home, "log.level", "debug").unwrap();
    assert!(out.reload_safe());
    assert_eq!(
        out.applies_when(),
        "a running wemixvisor applies this on reload (`wemixvisor restart` is not needed)"
    );
    assert!(wemixvisor_config::reload_safe("health.stall_blocks"));
    assert!(!wemixvisor_config::reload_safe("api.bind"));
}

#[test]
fn invalid_set_changes_nothing_and_says_why() {
    let (_d, home) = home_with(Some(COMMENTED), None);
    let before = std::fs::read(home.config_file()).unwrap();
    let cases: Vec<(&str, &str, String)> = vec![
        ("node.deamon_name", "x", "unknown config key \"node.deamon_name\"\nhelp: did you mean \"node.daemon_name\"? (`wemixvisor config show` lists every key)".into()),
        ("version", "3", "unknown config key \"version\"\nhelp: `wemixvisor config show` lists every key".into()),
        ("restart.enabled", "yes", "invalid value \"yes\" for restart.enabled: expected a boolean (true/false)".into()),
        ("node.shutdown_grace", "300", "invalid value \"300\" for node.shutdown_grace: expected a duration with a unit, such as \"300s\" or \"5m\"".into()),
        ("restart.max_restarts", "-1", "invalid value \"-1\" for restart.max_restarts: expected a whole number from 0 to 4294967295".into()),
        ("log.format", "xml", "invalid value \"xml\" for log.format: expected one of text, json".into()),
        (
            "restart.backoff_max",
            "0s",
            format!(
                "'{}' is invalid (2 problems):\n  wemixvisor.toml:13:15: restart.backoff_max: must be positive, got 0s\n    help: use a duration such as \"1m\"\n  wemixvisor.toml:13:15: restart.backoff_max: must be at least restart.backoff_initial (1s), got 0s\nhelp: `wemixvisor config validate` checks the files without starting anything",
                home.config_file().display()
            ),
        ),
    ];
    for (key, value, msg) in cases {
        let e = set_key(&home, key, value).unwrap_err();
        assert_eq!(e.to_string(), msg, "{key}");
        assert_eq!(
            std::fs::read(home.config_file()).unwrap(),
            before,
            "{key} changed the file"
        );
    }
}

#[test]
fn set_needs_a_current_file() {
    let (_d, home) = home_with(None, None);
    let e = set_key(&home, "node.daemon_name", "x").unwrap_err();
    assert!(matches!(e, ConfigError::NoConfigFile { .. }), "{e}");
    std::fs::write(home.config_file(), "daemon_name = \"geth\"\n").unwrap();
    let e = set_key(&home, "node.daemon_name", "x").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "'{}' uses schema version 1; this command needs version 2\nhelp: run `wemixvisor config migrate` first",
            home.config_file().display()
        )
    );
}

#[test]
fn set_keeps_file_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let (_d, home) = home_with(Some(COMMENTED), None);
    std::fs::set_permissions(home.config_file(), std::fs::Permissions::from_mode(0o640)).unwrap();
    set_key(&home, "node.daemon_name", "x").unwrap();
    let mode = std::fs::metadata(home.config_file())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn reset_one_key_and_all_keys() {
    let template = render_template(Network::Mainnet);
    let (_d, home) = home_with(Some(&template), None);
    set_key(&home, "governance.enabled", "false").unwrap();
    set_key(&home, "restart.max_restarts", "9").unwrap();
    set_key(&home, "log.level", "debug").unwrap();
    // governance.enabled goes back to the mainnet template's true, not the built-in false
    let out = reset_key(&home, Some("governance.enabled")).unwrap();
    assert_eq!(
        out.changes,
        vec![("governance.enabled", Value::Bool(false), Value::Bool(true))]
    );
    let out = reset_key(&home, None).unwrap();
    assert_eq!(out.changes.len(), 2, "{:?}", out.changes);
    assert_eq!(
        std::fs::read_to_string(home.config_file()).unwrap(),
        template
    );
    let out = reset_key(&home, None).unwrap();
    assert!(out.changes.is_empty());
    assert_eq!(out.applies_when(), "nothing changed");
}

#[test]
fn reset_without_network_uses_built_in_defaults() {
    let home = Home::new("/h");
    let path = home.config_file();
    let text = "version = 2\n[backup]\n# fewer\nkeep_auto = 2\n";
    let (new, out) = reset_text(&path, text, &home, Some("backup.keep_auto")).unwrap();
    assert_eq!(new, "version = 2\n[backup]\n# fewer\nkeep_auto = 5\n");
    assert_eq!(out.changes.len(), 1);
    // a key the file leaves out is not added when it already has the default
    let (new, out) = reset_text(&path, text, &home, Some("backup.enabled")).unwrap();
    assert_eq!(new, text);
    assert!(out.changes.is_empty());
}

/// A key and a valid text value for it, from a pool that keeps every rule satisfied.
fn valid_set() -> impl Strategy<Value = (&'static str, String)> {
    prop_oneof![
        "[a-z][a-z0-9_-]{0,12}".prop_map(|s| ("node.daemon_name", s)),
        (1u64..100_000).prop_map(|n| ("node.shutdown_grace", format!("{n}s"))),
        prop::sample::select(vec!["mainnet", "testnet", "devnet", ""])
            .prop_map(|s| ("node.network", s.to_string())),
        (1u16..65535).prop_map(|p| ("node.rpc_url", format!("http://127.0.0.1:{p}"))),
        any::<bool>().prop_map(|b| ("restart.enabled", b.to_string())),
        (0u64..3600).prop_map(|n| ("restart.delay", format!("{n}s"))),
        (1u32..1000).prop_map(|n| ("restart.max_restarts", n.to_string())),
        (1u64..500).prop_map(|n| ("restart.window", format!("{n}m"))),
        (10u32..50).prop_map(|n| (
            "restart.backoff_multiplier",
            format!("{}", f64::from(n) / 10.0)
        )),
        prop::sample::select(vec!["1", "t", "TRUE", "false", "F", "0"])
            .prop_map(|s| ("upgrade.restart_after_upgrade", s.to_string())),
        (1u64..10_000).prop_map(|n| ("upgrade.poll_interval", format!("{n}ms"))),
        (0u32..10).prop_map(|n| ("upgrade.preupgrade_max_retries", n.to_string())),
        prop::collection::vec("[a-z]{1,8}\\.(com|org|io)", 0..4)
            .prop_map(|v| ("download.allowed_hosts", v.join(","))),
        (1u32..50).prop_map(|n| ("backup.keep_auto", n.to_string())),
        prop::option::of(1u64..400).prop_map(|n| (
            "backup.max_age",
            n.map(|d| format!("{d}days")).unwrap_or_default()
        )),
        prop::collection::vec("[a-z]{1,6}/\\*\\*", 0..3).prop_map(|v| (
            "backup.exclude",
            format!(
                "[{}]",
                v.iter()
                    .map(|s| format!("\"{s}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        )),
        (1u32..100).prop_map(|n| ("health.stall_blocks", n.to_string())),
        (0u64..1_000_000).prop_map(|n| ("health.min_free_disk_mb", n.to_string())),
        any::<bool>().prop_map(|b| ("governance.enabled", b.to_string())),
        prop::sample::select(vec![
            "trace",
            "debug",
            "info",
            "warn",
            "error",
            "off",
            "info,wemixvisor_node=debug"
        ])
        .prop_map(|s| ("log.level", s.to_string())),
        prop::sample::select(vec!["text", "json"]).prop_map(|s| ("log.format", s.to_string())),
        "[a-z]{1,10}".prop_map(|s| ("api.token_file", format!("state/{s}"))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_sequence_of_valid_sets_keeps_comments_and_round_trips(
        network in prop::sample::select(Network::ALL.to_vec()),
        sets in prop::collection::vec(valid_set(), 1..12),
    ) {
        let home = Home::new("/h");
        let path = home.config_file();
        let original = render_template(network);
        let original_comments = comments(&original);
        let mut text = original.clone();
        for (key, raw) in &sets {
            let (new, _) = set_text(&path, &text, &home, key, raw).unwrap();
            text = new;
            // still a valid file, every comment still there, in order
            let doc: Result<toml_edit::DocumentMut, _> = text.parse();
            prop_assert!(doc.is_ok());
            prop_assert_eq!(comments(&text), original_comments.clone());
            // the value reads back as it was set
            let spec = wemixvisor_config::schema::lookup(key).unwrap();
            let want = spec.kind.parse_text(raw).unwrap();
            let (_d, h) = home_with(Some(&text), None);
            let c = Config::load(&h, &no_env, &FlagOverrides::default()).unwrap();
            prop_assert_eq!(spec.get(&c), want);
        }
    }

    #[test]
    fn arbitrary_text_is_refused_or_gives_a_valid_file(
        key in prop::sample::select(wemixvisor_config::schema::KEYS.iter().map(|k| k.key).collect::<Vec<_>>()),
        junk in "[!-~]{0,3}yes please",
    ) {
        let home = Home::new("/h");
        let path = home.config_file();
        let text = render_template(Network::Testnet);
        match set_text(&path, &text, &home, key, &junk) {
            // only free-text keys can take any text; the result must still be valid
            Ok((new, _)) => {
                let (_d, h) = home_with(Some(&new), None);
                prop_assert!(Config::load(&h, &no_env, &FlagOverrides::default()).is_ok());
            }
            Err(e) => prop_assert!(
                matches!(e, ConfigError::BadValue { .. } | ConfigError::Invalid { .. }),
                "{}", e
            ),
        }
    }
}
