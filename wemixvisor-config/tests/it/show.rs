//! `config show`: every value with its source, as TOML text and as JSON.

use wemixvisor_config::{render_template, show, FlagOverrides, Network};

use crate::{env_of, home_with};

#[test]
fn text_and_json_name_each_source() {
    let file = "version = 2\n[node]\nshutdown_grace = \"10m\"\n";
    let (_d, home) = home_with(Some(file), None);
    let flags = FlagOverrides {
        daemon_name: Some("gwemix".into()),
        ..FlagOverrides::default()
    };
    let shown = show(&home, &env_of(&[("DAEMON_RESTART_DELAY", "5s")]), &flags).unwrap();
    let text = shown.render_text();
    // the text is TOML: it parses, and reads back the effective values
    let doc: toml_edit::DocumentMut = text.parse().unwrap();
    assert_eq!(doc["node"]["daemon_name"].as_str(), Some("gwemix"));
    assert_eq!(doc["node"]["shutdown_grace"].as_str(), Some("10m"));
    assert_eq!(doc["restart"]["delay"].as_str(), Some("5s"));
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap()
            .to_string()
    };
    assert!(line("daemon_name = ").ends_with("# flag --name"), "{text}");
    assert!(line("shutdown_grace = ").ends_with("# file:3:18"), "{text}");
    assert!(
        line("delay = ").ends_with("# env DAEMON_RESTART_DELAY"),
        "{text}"
    );
    assert!(line("rpc_url = ").ends_with("# default"), "{text}");

    let json = shown.to_json();
    let v = &json["values"];
    assert_eq!(v["node.daemon_name"]["source"], "flag");
    assert_eq!(v["node.daemon_name"]["origin"], "--name");
    assert_eq!(v["node.shutdown_grace"]["source"], "file");
    assert_eq!(
        v["node.shutdown_grace"]["origin"],
        format!("{}:3:18", home.config_file().display())
    );
    assert_eq!(v["restart.delay"]["source"], "env");
    assert_eq!(v["restart.delay"]["value"], "5s");
    assert_eq!(v["node.network"]["value"], serde_json::Value::Null);
    assert_eq!(v["log.level"]["reload_safe"], true);
    assert_eq!(json["file_version"], 2);
    assert_eq!(
        v.as_object().unwrap().len(),
        wemixvisor_config::schema::KEYS.len()
    );
}

#[test]
fn show_of_a_missing_file_and_of_a_template() {
    let (_d, home) = home_with(None, None);
    let shown = show(&home, &env_of(&[]), &FlagOverrides::default()).unwrap();
    assert!(shown
        .render_text()
        .starts_with("# effective configuration; no file at"));
    assert!(shown.entries.iter().all(|e| e.source.kind() == "default"));
    let (_d, home) = home_with(Some(&render_template(Network::Testnet)), None);
    let shown = show(&home, &env_of(&[]), &FlagOverrides::default()).unwrap();
    assert!(shown.entries.iter().all(|e| e.source.kind() == "file"));
}
