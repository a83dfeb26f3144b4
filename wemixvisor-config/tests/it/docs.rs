//! docs/config.md documents every key: its generated reference section is
//! exactly what the registry renders (UPDATE_GOLDEN=1 rewrites it).

use std::path::PathBuf;

use wemixvisor_config::{render_reference_markdown, schema::KEYS, NODE_KEYS, V1_KEYS};

const BEGIN: &str = "<!-- BEGIN GENERATED KEY REFERENCE (cargo test -p wemixvisor-config; UPDATE_GOLDEN=1 to rewrite) -->\n";
const END: &str = "<!-- END GENERATED KEY REFERENCE -->";

fn docs_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/config.md")
}

#[test]
fn reference_section_matches_the_registry() {
    let path = docs_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = text.find(END).expect("end marker");
    let generated = render_reference_markdown();
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        let new = format!("{}{}{}", &text[..start], generated, &text[end..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    assert!(
        text[start..end] == generated,
        "docs/config.md's key reference is stale; run UPDATE_GOLDEN=1 cargo test -p wemixvisor-config"
    );
}

#[test]
fn every_key_env_var_and_node_option_is_documented() {
    let text = std::fs::read_to_string(docs_path()).unwrap();
    for k in KEYS {
        assert!(text.contains(&format!("`{}`", k.key)), "{}", k.key);
        for var in k.env {
            assert!(text.contains(var), "{var}");
        }
    }
    for (k, _) in NODE_KEYS {
        assert!(text.contains(&format!("`{k}`")), "node option {k}");
    }
    for (k, _) in V1_KEYS {
        assert!(text.contains(&format!("`{k}`")), "v1 key {k}");
    }
}
