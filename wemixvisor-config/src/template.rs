//! Rendering commented `wemixvisor.toml` files: the network templates `init`
//! writes, and the result of `config migrate`.

use std::fmt::Write as _;

use crate::config::{Config, CURRENT_VERSION};
use crate::network::Network;
use crate::schema::{KEYS, SECTIONS};

/// Renders `config` as a complete, commented version-2 file: every key,
/// each under its documentation, in registry order. `intro` lines open the
/// file as comments.
pub fn render_config(config: &Config, intro: &[String]) -> String {
    let mut s = String::new();
    for line in intro {
        if line.is_empty() {
            s.push_str("#\n");
        } else {
            let _ = writeln!(s, "# {line}");
        }
    }
    let _ = writeln!(s, "#");
    let _ = writeln!(
        s,
        "# Every key may be left out and then takes its default. Precedence:"
    );
    let _ = writeln!(
        s,
        "# flag > environment variable > this file > default. `wemixvisor config show`"
    );
    let _ = writeln!(
        s,
        "# prints the effective values and where each one came from."
    );
    let _ = writeln!(
        s,
        "# Change values with `wemixvisor config set <key> <value>` (comments are kept)"
    );
    let _ = writeln!(
        s,
        "# and check the file with `wemixvisor config validate`. Changes apply on the"
    );
    let _ = writeln!(
        s,
        "# next restart, except keys marked \"applies on reload\". Durations take a"
    );
    let _ = writeln!(
        s,
        "# unit (\"300s\", \"5m\", \"1h 30m\"). Reference: docs/config.md."
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "# Schema version of this file.");
    let _ = writeln!(s, "version = {CURRENT_VERSION}");
    for section in SECTIONS {
        let _ = writeln!(s);
        for line in section.doc.lines() {
            let _ = writeln!(s, "# {line}");
        }
        let _ = writeln!(s, "[{}]", section.name);
        let mut first = true;
        for spec in KEYS.iter().filter(|k| k.section() == section.name) {
            if !first {
                let _ = writeln!(s);
            }
            first = false;
            for line in spec.doc.lines() {
                let _ = writeln!(s, "# {line}");
            }
            let mut notes = Vec::new();
            if !spec.env.is_empty() {
                notes.push(format!("env: {}", spec.env.join(", ")));
            }
            if spec.reload_safe {
                notes.push("applies on reload".to_string());
            }
            if !notes.is_empty() {
                let _ = writeln!(s, "# ({})", notes.join("; "));
            }
            let _ = writeln!(s, "{} = {}", spec.name(), spec.get(config));
        }
    }
    s
}

/// The commented wemixvisor.toml for `network`, as stored in
/// `wemixvisor/config/templates/<network>.toml` and printed by
/// `config show --template <network>`.
pub fn render_template(network: Network) -> String {
    let intro = vec![
        "wemixvisor.toml: configuration of the wemixvisor supervisor.".to_string(),
        String::new(),
        format!(
            "Template for Wemix {network} (chain id {}{}).",
            network.chain_id(),
            match network {
                Network::Devnet => ", or any id but 1111 and 1112",
                _ => "",
            }
        ),
        "geth's own options (ports, APIs, network preset) are in node-options.toml.".to_string(),
    ];
    render_config(&Config::for_network(network), &intro)
}

/// The commented wemixvisor.toml that `init <network>` writes.
///
/// It is the network's template ([`render_template`]).
pub fn render_default_config(network: Network) -> String {
    render_template(network)
}
