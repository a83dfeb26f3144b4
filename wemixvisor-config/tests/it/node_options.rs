//! Loading node-options.toml.

use wemixvisor_config::{ConfigError, Network, NodeOptions};

use crate::home_with;

#[test]
fn missing_file_is_no_options() {
    let (_d, home) = home_with(None, None);
    assert_eq!(
        NodeOptions::load(&home.node_options_file()).unwrap(),
        NodeOptions::default()
    );
}

#[test]
fn every_key_is_read() {
    let text = r#"network = "testnet"
datadir = "/data/geth"
networkid = 1112
syncmode = "full"
gcmode = "archive"
db_engine = "leveldb"
port = 30304
maxpeers = 40
bootnodes = []
verbosity = 4
extra = ["--cache", "4096"]
[http]
enabled = true
addr = "127.0.0.1"
port = 8545
api = ["eth", "net", "web3", "admin", "istanbul"]
vhosts = ["localhost"]
corsdomain = ["https://wallet.example"]
[ws]
enabled = true
addr = "127.0.0.1"
port = 8546
api = ["eth"]
origins = ["*"]
[metrics]
enabled = true
addr = "127.0.0.1"
port = 6061
"#;
    let (_d, home) = home_with(None, Some(text));
    let o = NodeOptions::load(&home.node_options_file()).unwrap();
    assert_eq!(o.network, Some(Network::Testnet));
    assert_eq!(o.networkid, Some(1112));
    assert_eq!(o.db_engine.as_deref(), Some("leveldb"));
    assert_eq!(
        o.http.corsdomain,
        vec!["https://wallet.example".to_string()]
    );
    assert_eq!(o.ws.hosts, vec!["*".to_string()]);
    assert_eq!(o.metrics.port, Some(6061));
    assert_eq!(
        o.to_args().join(" "),
        "--testnet --datadir /data/geth --networkid 1112 --syncmode full --gcmode archive --db.engine leveldb --port 30304 --maxpeers 40 --verbosity 4 --http --http.addr 127.0.0.1 --http.port 8545 --http.api eth,net,web3,admin,istanbul --http.vhosts localhost --http.corsdomain https://wallet.example --ws --ws.addr 127.0.0.1 --ws.port 8546 --ws.api eth --ws.origins * --metrics --metrics.addr 127.0.0.1 --metrics.port 6061 --cache 4096"
    );
}

#[test]
fn load_refuses_conflicts_with_every_problem() {
    let (_d, home) = home_with(
        None,
        Some("network = \"mainnet\"\nnetworkid = 1112\nextra = [\"--testnet\"]\n"),
    );
    let e = NodeOptions::load(&home.node_options_file()).unwrap_err();
    let ConfigError::Invalid { problems, .. } = &e else {
        panic!("{e:?}")
    };
    let msgs: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs,
        vec![
            "node-options.toml:1:11: network: --mainnet and --testnet are both set; a node runs one network\nhelp: keep one of them (the `network` key chooses the preset)",
            "node-options.toml:2:13: networkid: networkid 1112 does not match network \"mainnet\" (chain id 1111)\nhelp: remove networkid (the network preset sets it) or fix it",
        ]
    );
}

#[test]
fn syntax_errors_have_a_position() {
    let (_d, home) = home_with(None, Some("port = \n"));
    let e = NodeOptions::load(&home.node_options_file()).unwrap_err();
    let ConfigError::Syntax { line, column, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!((line, column), (1, 8));
}
