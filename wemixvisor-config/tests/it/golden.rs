//! The network templates and node-options defaults, byte for byte.

use wemixvisor_config::{
    render_default_config, render_template, schema::KEYS, Config, FlagOverrides, Network,
    NodeOptions,
};
use wemixvisor_core::Home;

use crate::{check_golden, home_with, no_env};

#[test]
fn wemixvisor_toml_templates() {
    for n in Network::ALL {
        check_golden(&format!("{n}.toml"), &render_template(n));
        assert_eq!(render_default_config(n), render_template(n));
    }
}

#[test]
fn node_options_defaults() {
    let home = Home::new("/home/wemix/.wemixvisor");
    for n in Network::ALL {
        check_golden(
            &format!("node-options-{n}.toml"),
            &NodeOptions::render_default(n, &home),
        );
    }
}

#[test]
fn templates_load_back_to_the_network_config_without_warnings() {
    for n in Network::ALL {
        let (_d, home) = home_with(Some(&render_template(n)), None);
        let loaded = Config::load_report(&home, &no_env, &FlagOverrides::default()).unwrap();
        assert_eq!(loaded.config, Config::for_network(n));
        assert_eq!(loaded.file_version, Some(2));
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        // every key is written in the file, under a comment
        for spec in KEYS {
            assert_eq!(loaded.sources[spec.key].kind(), "file", "{}", spec.key);
        }
    }
}

#[test]
fn every_key_in_a_template_has_its_doc_above_it() {
    let text = render_template(Network::Mainnet);
    let lines: Vec<&str> = text.lines().collect();
    for spec in KEYS {
        let section = lines
            .iter()
            .position(|l| *l == format!("[{}]", spec.section()))
            .unwrap_or_else(|| panic!("[{}] missing", spec.section()));
        let at = section
            + lines[section..]
                .iter()
                .position(|l| l.starts_with(&format!("{} = ", spec.name())))
                .unwrap_or_else(|| panic!("{} missing", spec.key));
        let first_doc = format!("# {}", spec.doc.lines().next().unwrap());
        assert!(
            lines[..at].iter().rev().take(6).any(|l| *l == first_doc),
            "{} has no doc above it",
            spec.key
        );
    }
}

#[test]
fn node_options_templates_load_and_pass_every_check() {
    for n in Network::ALL {
        let (_d, home) = home_with(Some(&render_template(n)), None);
        std::fs::write(
            home.node_options_file(),
            NodeOptions::render_default(n, &home),
        )
        .unwrap();
        let opts = NodeOptions::load(&home.node_options_file()).unwrap();
        assert_eq!(opts.network, Some(n));
        assert_eq!(opts.datadir.as_deref(), Some(home.data_dir().as_path()));
        assert_eq!(opts.http.port, Some(8545));
        assert_eq!(opts.port, Some(30303));
        assert_eq!(opts.ws.port, Some(8546));
        let report = wemixvisor_config::validate_home(&home, &no_env).unwrap();
        assert!(report.problems.is_empty(), "{n}: {}", report.render_text());
        let argv = wemixvisor_config::build_argv(&opts, &[]);
        match n.geth_preset_flag() {
            Some(f) => assert_eq!(argv[0], f),
            None => assert!(!argv.iter().any(|a| a == "--mainnet" || a == "--testnet")),
        }
        let api_at = argv.iter().position(|a| a == "--http.api").unwrap();
        assert_eq!(argv[api_at + 1], "eth,net,web3,admin,istanbul");
    }
}
