//! Every validation rule, each with a failing example and its exact message.

use wemixvisor_config::{validate_home, Config, ConfigError, FlagOverrides};

use crate::{env_of, home_with, no_env};

/// Every problem `config validate` reports for these files, as printed.
fn report(config: &str, node: Option<&str>) -> Vec<String> {
    let (_d, home) = home_with(Some(config), node);
    let r = validate_home(&home, &no_env).unwrap();
    let root = home.root().display().to_string();
    r.problems
        .iter()
        .map(|p| {
            format!("{}: {p}", if p.is_error() { "error" } else { "warning" })
                .replace(&root, "<home>")
        })
        .collect()
}

fn v2(body: &str) -> String {
    format!("version = 2\n{body}")
}

#[track_caller]
fn expect(config: &str, node: Option<&str>, want: &[&str]) {
    let got = report(config, node);
    assert_eq!(got, want, "for config:\n{config}\nnode-options:\n{node:?}");
}

#[test]
fn schema_rules() {
    expect(
        &v2("[node]\ndeamon_name = \"geth\"\n"),
        None,
        &["error: wemixvisor.toml:3:1: node.deamon_name: unknown key \"node.deamon_name\"\nhelp: did you mean \"node.daemon_name\"?"],
    );
    expect(
        &v2("[nodes]\ndaemon_name = \"geth\"\n"),
        None,
        &["error: wemixvisor.toml:2:2: nodes: unknown key \"nodes\"\nhelp: did you mean \"node\"?"],
    );
    expect(
        &v2("[upgrade]\nshutdown_grace = \"5m\"\n"),
        None,
        &["error: wemixvisor.toml:3:1: upgrade.shutdown_grace: unknown key \"upgrade.shutdown_grace\"\nhelp: did you mean \"node.shutdown_grace\"?"],
    );
    expect(
        &v2("[restart]\nenabled = \"yes\"\n"),
        None,
        &["error: wemixvisor.toml:3:11: restart.enabled: expected a boolean (true/false), found string \"yes\""],
    );
    expect(
        &v2("[node]\nshutdown_grace = 300\n"),
        None,
        &["error: wemixvisor.toml:3:18: node.shutdown_grace: expected a duration with a unit, such as \"300s\" or \"5m\", found integer 300"],
    );
    expect(
        &v2("[health]\nmin_peers = -1\n"),
        None,
        &["error: wemixvisor.toml:3:13: health.min_peers: expected a whole number from 0 to 4294967295, found integer -1"],
    );
    expect(
        &v2("[log]\nformat = \"xml\"\n"),
        None,
        &["error: wemixvisor.toml:3:10: log.format: expected one of text, json, found string \"xml\""],
    );
    expect(
        &v2("node = 5\n"),
        None,
        &["error: wemixvisor.toml:2:1: node: expected a table [node], found integer 5"],
    );
    expect(
        "version = \"2\"\n",
        None,
        &["error: wemixvisor.toml:1:11: version: expected an integer (2), found string \"2\"\nhelp: the first line of the file should be `version = 2`"],
    );
    expect(
        "version = 3\n",
        None,
        &["error: wemixvisor.toml: version: schema version 3 is not one this wemixvisor understands (1 to 2)\nhelp: upgrade wemixvisor, or rewrite the file with `wemixvisor init --force`"],
    );
    expect(
        "[node]\ndaemon_name = \"geth\"\n",
        None,
        &["warning: wemixvisor.toml:1:1: version: missing; the file is read as version 2\nhelp: add `version = 2` as the first line"],
    );
    expect(
        "version = 2\n[node\n",
        None,
        &["error: wemixvisor.toml:2:6: syntax: not valid TOML: invalid table header; expected `.`, `]`"],
    );
}

#[test]
fn node_rules() {
    expect(
        &v2("[node]\ndaemon_name = \"bin/geth\"\n"),
        None,
        &["error: wemixvisor.toml:3:15: node.daemon_name: must be a plain file name (not empty, no '/'), got \"bin/geth\"\nhelp: name the binary file in wemixvisor/current/bin/, e.g. \"geth\""],
    );
    expect(
        &v2("[node]\nrpc_url = \"localhost:8545\"\n"),
        None,
        &["error: wemixvisor.toml:3:11: node.rpc_url: must be an http, https, ws or wss URL such as \"http://127.0.0.1:8545\", got \"localhost:8545\""],
    );
    expect(
        &v2("[node]\nrpc_url = \"http://127.0.0.1:70000\"\n"),
        None,
        &["error: wemixvisor.toml:3:11: node.rpc_url: port 70000 is out of range 1-65535 in \"http://127.0.0.1:70000\""],
    );
    expect(
        &v2("[node]\nrpc_url = \"http://user:pw@127.0.0.1:8545\"\n"),
        None,
        &["error: wemixvisor.toml:3:11: node.rpc_url: must not carry user credentials, got \"http://user:pw@127.0.0.1:8545\""],
    );
    expect(
        &v2("[node]\nnetwork = \"mainnet2\"\n"),
        None,
        &["error: wemixvisor.toml:3:11: node.network: expected one of mainnet, testnet, devnet, or \"\" for none, found string \"mainnet2\""],
    );
}

#[test]
fn duration_and_restart_rules() {
    expect(
        &v2("[restart]\nwindow = \"0s\"\n"),
        None,
        &["error: wemixvisor.toml:3:10: restart.window: must be positive, got 0s\nhelp: use a duration such as \"10m\""],
    );
    expect(
        &v2("[backup]\nmax_age = \"0s\"\n"),
        None,
        &["error: wemixvisor.toml:3:11: backup.max_age: must be positive, got 0s\nhelp: use a duration such as \"30days\", or \"\" for none"],
    );
    expect(&v2("[restart]\ndelay = \"0s\"\n"), None, &[]);
    expect(
        &v2("[restart]\nbackoff_initial = \"2m\"\nbackoff_max = \"1m\"\n"),
        None,
        &["error: wemixvisor.toml:4:15: restart.backoff_max: must be at least restart.backoff_initial (2m), got 1m"],
    );
    expect(
        &v2("[restart]\nbackoff_multiplier = 0.5\n"),
        None,
        &["error: wemixvisor.toml:3:22: restart.backoff_multiplier: must be at least 1.0, got 0.5"],
    );
    expect(
        &v2("[restart]\nmax_restarts = 0\n"),
        None,
        &["error: wemixvisor.toml:3:16: restart.max_restarts: must be at least 1 while restart.enabled is true, got 0\nhelp: set restart.enabled = false to never restart the node"],
    );
    expect(
        &v2("[restart]\nenabled = false\nmax_restarts = 0\n"),
        None,
        &[],
    );
}

#[test]
fn health_and_backup_rules() {
    expect(
        &v2("[health]\nstall_blocks = 0\nfailures_before_restart = 0\n"),
        None,
        &[
            "error: wemixvisor.toml:3:16: health.stall_blocks: must be at least 1, got 0",
            "error: wemixvisor.toml:4:27: health.failures_before_restart: must be at least 1, got 0",
        ],
    );
    expect(
        &v2("[backup]\nkeep_auto = 0\n"),
        None,
        &["error: wemixvisor.toml:3:13: backup.keep_auto: must be at least 1 while backup.enabled is true, got 0\nhelp: set backup.enabled = false to take no pre-upgrade backups"],
    );
    expect(
        &v2("[backup]\ninclude = [\"../secrets\"]\nexclude = [\"/etc/**\", \"a[b\"]\n"),
        None,
        &[
            "error: wemixvisor.toml:3:11: backup.include: pattern \"../secrets\" must be relative to chain-data/ (no leading '/', no '..')",
            "error: wemixvisor.toml:4:11: backup.exclude: pattern \"/etc/**\" must be relative to chain-data/ (no leading '/', no '..')",
            "error: wemixvisor.toml:4:11: backup.exclude: pattern \"a[b\" has unbalanced brackets",
        ],
    );
}

const KEY: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";

#[test]
fn download_rules() {
    expect(
        &v2("[download]\nrequire_signature = true\n"),
        None,
        &["error: wemixvisor.toml:3:21: download.require_signature: is true but download.public_keys is empty: no signature could ever be accepted\nhelp: add the release signer's minisign public key to download.public_keys"],
    );
    expect(
        &v2(&format!(
            "[download]\nrequire_signature = true\npublic_keys = [\"{KEY}\"]\n"
        )),
        None,
        &[],
    );
    expect(
        &v2("[download]\npublic_keys = [\"not-a-key\"]\n"),
        None,
        &["error: wemixvisor.toml:3:15: download.public_keys: \"not-a-key\" is not a minisign public key (56 base64 characters starting with \"RW\")"],
    );
    expect(
        &v2("[download]\nallowed_hosts = [\"https://github.com\", \"*.example.com\"]\n"),
        None,
        &["error: wemixvisor.toml:3:17: download.allowed_hosts: \"https://github.com\" is not a host name (expected e.g. \"github.com\" or \"*.example.com\")"],
    );
    expect(
        &v2("[download]\nallow_download_binaries = true\n"),
        None,
        &["error: wemixvisor.toml:3:27: download.allow_download_binaries: is true but neither download.public_keys nor download.allowed_hosts is set: binaries could come from any host, signed by no one\nhelp: add the release signer's minisign key to download.public_keys, or the release hosts to download.allowed_hosts"],
    );
    expect(
        &v2("[download]\nallow_download_binaries = true\nallowed_hosts = [\"github.com\"]\n"),
        None,
        &[],
    );
    expect(
        &v2("[download]\nallow_download_binaries = true\nmust_have_checksum = false\nallowed_hosts = [\"github.com\"]\n"),
        None,
        &["warning: wemixvisor.toml:4:22: download.must_have_checksum: is false and download.require_signature is false: downloaded binaries may run unverified\nhelp: set download.must_have_checksum = true"],
    );
}

#[test]
fn governance_rules() {
    expect(
        &v2("[governance]\ngov_ncp_address = \"0x1003\"\nupgrade_proposal_contract = \"0xZZ\"\n"),
        None,
        &[
            "error: wemixvisor.toml:3:19: governance.gov_ncp_address: must be a 0x-prefixed 20-byte hex address, got \"0x1003\"",
            "error: wemixvisor.toml:4:29: governance.upgrade_proposal_contract: must be a 0x-prefixed 20-byte hex address, got \"0xZZ\"",
        ],
    );
    expect(
        &v2("[governance]\nrelease_manifest_url = \"http://example.com/m.json\"\n"),
        None,
        &[
            "error: wemixvisor.toml:3:24: governance.release_manifest_url: must be an https URL (plain http only to loopback), got \"http://example.com/m.json\"",
            "error: governance.release_manifest_public_key: is not set, but governance.release_manifest_url is: the manifest's signature could not be checked\nhelp: set the manifest signer's minisign public key",
        ],
    );
    expect(
        &v2(&format!("[governance]\nrelease_manifest_url = \"https://example.com/m.json\"\nrelease_manifest_public_key = \"{KEY}\"\nauto_queue_upgrades = true\n")),
        None,
        &[],
    );
    expect(
        &v2("[governance]\nrelease_manifest_public_key = \"RWxyz\"\n"),
        None,
        &["error: wemixvisor.toml:3:31: governance.release_manifest_public_key: \"RWxyz\" is not a minisign public key (56 base64 characters starting with \"RW\")"],
    );
    expect(
        &v2("[governance]\nauto_queue_upgrades = true\n"),
        None,
        &["error: wemixvisor.toml:3:23: governance.auto_queue_upgrades: is true but neither governance.release_manifest_url nor governance.upgrade_proposal_contract is set: there is nothing to queue from"],
    );
}

#[test]
fn api_and_log_rules() {
    expect(
        &v2("[api]\nbind = \"localhost\"\n"),
        None,
        &["error: wemixvisor.toml:3:8: api.bind: must be ip:port, such as \"127.0.0.1:9090\", got \"localhost\""],
    );
    expect(
        &v2("[api]\nbind = \"127.0.0.1:0\"\n"),
        None,
        &["error: wemixvisor.toml:3:8: api.bind: port 0 is out of range 1-65535"],
    );
    expect(
        &v2("[api]\nbind = \"127.0.0.1:99999\"\n"),
        None,
        &["error: wemixvisor.toml:3:8: api.bind: port 99999 is out of range 1-65535"],
    );
    expect(
        &v2("[api]\nenabled_tcp = true\nbind = \"0.0.0.0:9090\"\n"),
        None,
        &["error: wemixvisor.toml:4:8: api.bind: binds 0.0.0.0:9090, which is not loopback, and api.token_file is not set\nhelp: set api.token_file, or bind 127.0.0.1"],
    );
    expect(&v2("[api]\nenabled_tcp = true\nbind = \"0.0.0.0:9090\"\ntoken_file = \"state/api-token\"\n"), None, &[]);
    expect(
        &v2("[api]\nenabled_tcp = true\nbind = \"127.0.0.1:8545\"\n"),
        None,
        &["error: wemixvisor.toml:4:8: api.bind: port 8545 is also the node's RPC port (node.rpc_url)\nhelp: pick another port for the API, e.g. 9090"],
    );
    expect(
        &v2("[api]\ntoken_file = \"../../etc/token\"\n"),
        None,
        &["error: wemixvisor.toml:3:14: api.token_file: must be absolute or inside the home '<home>', got \"../../etc/token\""],
    );
    expect(
        &v2("[log]\nlevel = \"loud\"\n"),
        None,
        &["error: wemixvisor.toml:3:9: log.level: must be a level (trace, debug, info, warn, error, off) or directives such as \"info,wemixvisor_node=debug\", got \"loud\""],
    );
    expect(
        &v2("[log]\nlevel = \"info,wemixvisor_node=debug\"\n"),
        None,
        &[],
    );
}

const NODE_OK: &str = "network = \"mainnet\"\nport = 30303\n[http]\nenabled = true\naddr = \"127.0.0.1\"\nport = 8545\napi = [\"eth\", \"net\", \"web3\", \"admin\", \"istanbul\"]\n";

#[test]
fn node_options_rules() {
    let cfg = v2("[node]\nnetwork = \"mainnet\"\n");
    expect(&cfg, Some(NODE_OK), &[]);
    expect(
        &cfg,
        Some("netwrk = \"mainnet\"\n"),
        &["error: node-options.toml:1:1: netwrk: unknown key \"netwrk\"\nhelp: did you mean \"network\"? other geth flags go in `extra`"],
    );
    expect(
        &cfg,
        Some("cache = 4096\n"),
        &["error: node-options.toml:1:1: cache: unknown key \"cache\"\nhelp: geth flags without a key of their own go in `extra`, e.g. extra = [\"--cache\", \"4096\"]"],
    );
    expect(
        &cfg,
        Some("port = 70000\nverbosity = 9\n"),
        &[
            "error: node-options.toml:1:8: port: port 70000 is out of range 1-65535",
            "error: node-options.toml:2:13: verbosity: expected a whole number from 0 to 5, found integer 9",
        ],
    );
    expect(
        &cfg,
        Some("network = \"mainnet\"\nextra = [\"--testnet\"]\n"),
        &["error: node-options.toml:1:11: network: --mainnet and --testnet are both set; a node runs one network\nhelp: keep one of them (the `network` key chooses the preset)"],
    );
    expect(
        &cfg,
        Some("network = \"mainnet\"\nnetworkid = 1112\n"),
        &["error: node-options.toml:2:13: networkid: networkid 1112 does not match network \"mainnet\" (chain id 1111)\nhelp: remove networkid (the network preset sets it) or fix it"],
    );
    expect(
        &v2("[node]\nnetwork = \"devnet\"\n"),
        Some("network = \"devnet\"\nnetworkid = 1111\n"),
        &["error: node-options.toml:2:13: networkid: networkid 1111 belongs to mainnet; a devnet needs another id (e.g. 1113)\nhelp: remove networkid (the network preset sets it) or fix it"],
    );
    expect(
        &cfg,
        Some("network = \"mainnet\"\n[http]\nenabled = true\nport = 8545\napi = [\"eth\", \"net\", \"web3\", \"admin\", \"istanbul\"]\n[metrics]\nenabled = true\nport = 8545\n"),
        &["error: node-options.toml:8:8: metrics.port: port 8545 is used twice: http.port and metrics.port\nhelp: give each listener its own port"],
    );
    // WebSocket on the HTTP port is one listener in geth
    expect(
        &cfg,
        Some("network = \"mainnet\"\n[http]\nenabled = true\nport = 8545\napi = [\"eth\", \"net\", \"web3\", \"admin\", \"istanbul\"]\n[ws]\nenabled = true\nport = 8545\n"),
        &[],
    );
    expect(
        &cfg,
        Some("network = \"mainnet\"\nport = 30303\nextra = [\"--port\", \"30304\", \"--mainnet\"]\n"),
        &[
            "error: node-options.toml:3:9: extra: repeats --port, which the key \"port\" already sets\nhelp: set it in one place",
            "error: node-options.toml:3:9: extra: repeats --mainnet, which the key \"network\" already sets\nhelp: set it in one place",
        ],
    );
    expect(
        &cfg,
        Some("bootnodes = [\"enode://abc@1.2.3.4:30303\"]\n"),
        &["error: node-options.toml:1:13: bootnodes: \"enode://abc@1.2.3.4:30303\" is not an enode URL (enode://<128 hex digits>@host:port)"],
    );
    expect(
        &cfg,
        Some("[http]\naddr = \"my-host\"\n"),
        &["error: node-options.toml:2:8: http.addr: must be an IP address such as \"127.0.0.1\", got \"my-host\""],
    );
    expect(
        &cfg,
        Some("network = \"mainnet\"\n[http]\nenabled = true\naddr = \"0.0.0.0\"\napi = [\"eth\", \"net\", \"web3\", \"admin\", \"istanbul\"]\n"),
        &["warning: node-options.toml:5:7: http.api: exposes the admin API on 0.0.0.0, which is not loopback\nhelp: bind http.addr to 127.0.0.1, or drop admin from http.api"],
    );
    expect(
        &cfg,
        Some("[http]\napi = [\"eth net\"]\n"),
        &["error: node-options.toml:2:7: http.api: \"eth net\" is not an API namespace name (such as \"eth\")"],
    );
}

#[test]
fn rules_across_the_two_files() {
    expect(
        &v2("[node]\nnetwork = \"testnet\"\n"),
        Some("network = \"mainnet\"\n"),
        &["error: node-options.toml:1:11: network: is \"mainnet\", but wemixvisor.toml has node.network = \"testnet\"\nhelp: make the two files name the same network"],
    );
    expect(
        &v2(""),
        Some("datadir = \"../../elsewhere\"\n"),
        &["error: node-options.toml:1:11: datadir: must be absolute or inside the home '<home>', got \"../../elsewhere\""],
    );
    expect(
        &v2(""),
        Some("datadir = \"/srv/geth\"\n"),
        &["warning: node-options.toml:1:11: datadir: is '/srv/geth', not the home's '<home>/chain-data': backups and upgrade-info.json use the latter\nhelp: remove datadir to use the home's chain-data/"],
    );
    expect(
        &v2("[node]\nrpc_url = \"http://127.0.0.1:8547\"\n"),
        Some("[http]\nenabled = true\nport = 8545\napi = [\"eth\", \"net\"]\n"),
        &[
            "warning: node-options.toml:3:8: http.port: is 8545, but node.rpc_url in wemixvisor.toml points at port 8547\nhelp: make node.rpc_url and the node's listener agree",
            "warning: node-options.toml:4:7: http.api: lacks web3, admin, istanbul, which the supervisor uses over node.rpc_url",
        ],
    );
    expect(
        &v2("[api]\nenabled_tcp = true\nbind = \"127.0.0.1:6060\"\n"),
        Some("[metrics]\nenabled = true\nport = 6060\n"),
        &["error: node-options.toml:3:8: metrics.port: port 6060 is also api.bind's port in wemixvisor.toml\nhelp: give the wemixvisor API another port"],
    );
}

#[test]
fn environment_problems_are_reported_with_the_rest() {
    let (_d, home) = home_with(Some(&v2("[restart]\nwindow = \"0s\"\n")), None);
    let env = env_of(&[
        ("UNSAFE_SKIP_BACKUP", "maybe"),
        ("DAEMON_SHUTDOWN_GRACE", "0s"),
    ]);
    let r = validate_home(&home, &env).unwrap();
    let got: Vec<String> = r.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        vec![
            "wemixvisor.toml:3:10: restart.window: must be positive, got 0s\nhelp: use a duration such as \"10m\"",
            "UNSAFE_SKIP_BACKUP: invalid value \"maybe\": expected a boolean (true/false)",
            "node.shutdown_grace: must be positive, got 0s (set by DAEMON_SHUTDOWN_GRACE)\nhelp: use a duration such as \"5m\"",
        ]
    );
    assert_eq!(r.exit_code(), 2);
    assert!(r
        .render_text()
        .ends_with("configuration is invalid: 3 errors, 0 warnings\n"));
}

#[test]
fn load_refuses_an_invalid_file_with_every_problem() {
    let (_d, home) = home_with(
        Some(&v2(
            "[restart]\nwindow = \"0s\"\nbogus = 1\n[health]\nstall_blocks = 0\n",
        )),
        None,
    );
    let e = Config::load(&home, &no_env, &FlagOverrides::default()).unwrap_err();
    let ConfigError::Invalid { problems, .. } = &e else {
        panic!("{e:?}")
    };
    // structural problems stop loading before the rules run
    assert_eq!(problems.len(), 1);
    assert!(
        e.to_string()
            .contains("restart.bogus: unknown key \"restart.bogus\""),
        "{e}"
    );
    std::fs::write(
        home.config_file(),
        v2("[restart]\nwindow = \"0s\"\n[health]\nstall_blocks = 0\n"),
    )
    .unwrap();
    let e = Config::load(&home, &no_env, &FlagOverrides::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "'{}' is invalid (2 problems):\n  wemixvisor.toml:3:10: restart.window: must be positive, got 0s\n    help: use a duration such as \"10m\"\n  wemixvisor.toml:5:16: health.stall_blocks: must be at least 1, got 0\nhelp: `wemixvisor config validate` checks the files without starting anything",
            home.config_file().display()
        )
    );
}

#[test]
fn devnet_has_no_preset() {
    expect(
        &v2("[node]\nnetwork = \"devnet\"\n"),
        Some("network = \"devnet\"\nextra = [\"--mainnet\"]\n"),
        &["error: node-options.toml:2:9: extra: holds --mainnet, but network is \"devnet\", which has no preset"],
    );
}

#[test]
fn daemon_name_check_says_expected_and_got() {
    assert_eq!(
        wemixvisor_config::validate_daemon_name("bin/geth").unwrap_err(),
        "expected a plain file name (not empty, no '/'), got \"bin/geth\""
    );
    for ok in ["geth", "gwemix-v2", "geth.bin"] {
        assert!(wemixvisor_config::validate_daemon_name(ok).is_ok(), "{ok}");
    }
    for bad in ["", ".", "..", "a/b", "/geth"] {
        assert!(
            wemixvisor_config::validate_daemon_name(bad).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn numbers_and_durations_are_bounded() {
    expect(
        &v2("[health]\nblock_period = \"400000days\"\nstall_blocks = 4294967295\n"),
        None,
        &[
            "error: wemixvisor.toml:3:16: health.block_period: must be at most 30days, got 1095years 1month 20days 19h 26m 24s",
            "error: wemixvisor.toml:4:16: health.stall_blocks: must be at most 1000000, got 4294967295",
        ],
    );
    expect(
        &v2("[restart]\nbackoff_multiplier = 1000.5\n[download]\nmax_bytes = 0\ntimeout = \"31days\"\n"),
        None,
        &[
            "error: wemixvisor.toml:3:22: restart.backoff_multiplier: must be at most 100, got 1000.5",
            "error: wemixvisor.toml:5:13: download.max_bytes: must be at least 1, got 0",
            "error: wemixvisor.toml:6:11: download.timeout: must be at most 30days, got 1month 13h 26m 24s",
        ],
    );
    // The bounds themselves are accepted.
    expect(
        &v2("[health]\nblock_period = \"30days\"\nstall_blocks = 1000000\n[backup]\nmax_age = \"3650days\"\n"),
        None,
        &[],
    );
}

#[test]
fn a_home_whose_socket_path_passes_sun_path_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let deep = d.path().join("v".repeat(120));
    let home = wemixvisor_core::Home::new(&deep);
    std::fs::create_dir_all(home.config_dir()).unwrap();
    let r = validate_home(&home, &no_env).unwrap();
    let msgs: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
    let sock = home.socket_file().display().to_string();
    assert!(
        msgs.iter().any(|m| m.contains(&sock)
            && m.contains("more than the 107 a Unix socket address allows")
            && m.contains("help: use a shorter home path")),
        "{msgs:?}"
    );
}

#[test]
fn alerts_rules() {
    expect(
        &v2("[alerts]\nwebhook_urls = [\"hooks.example.com/x\"]\n"),
        None,
        &["error: wemixvisor.toml:3:16: alerts.webhook_urls: must be an http, https, ws or wss URL such as \"http://127.0.0.1:8545\", got \"hooks.example.com/x\""],
    );
    expect(
        &v2("[alerts]\nalertmanager_urls = [\"ws://127.0.0.1:9093\"]\n"),
        None,
        &["error: wemixvisor.toml:3:21: alerts.alertmanager_urls: must be an http or https URL, got \"ws://127.0.0.1:9093\""],
    );
    expect(
        &v2("[alerts]\nrepeat_interval = \"0s\"\n"),
        None,
        &["error: wemixvisor.toml:3:19: alerts.repeat_interval: must be positive, got 0s\nhelp: use a duration such as \"4h\""],
    );
    expect(
        &v2("[alerts]\nupgrade_imminent_blocks = 0\n"),
        None,
        &["error: wemixvisor.toml:3:27: alerts.upgrade_imminent_blocks: must be at least 1, got 0\nhelp: use a number of blocks such as 100"],
    );
    expect(
        &v2("[alerts]\nslack_webhook_urls = [\"https://hooks.slack.com/services/T/B/x\"]\nalertmanager_urls = [\"http://127.0.0.1:9093\"]\n"),
        None,
        &[],
    );
}
