//! geth argv: file options, then CLI args overriding them option by option.

use std::path::PathBuf;

use wemixvisor_config::{build_argv, Network, NodeOptions, RpcListener};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn options() -> NodeOptions {
    NodeOptions {
        network: Some(Network::Mainnet),
        datadir: Some(PathBuf::from("/h/chain-data")),
        port: Some(30303),
        verbosity: Some(3),
        http: RpcListener {
            enabled: Some(true),
            addr: Some("127.0.0.1".into()),
            port: Some(8545),
            api: s(&["eth", "net", "web3", "admin", "istanbul"]),
            ..RpcListener::default()
        },
        extra: s(&["--cache", "4096", "--nodiscover"]),
        ..NodeOptions::default()
    }
}

const FILE_ARGV: &[&str] = &[
    "--mainnet",
    "--datadir",
    "/h/chain-data",
    "--port",
    "30303",
    "--verbosity",
    "3",
    "--http",
    "--http.addr",
    "127.0.0.1",
    "--http.port",
    "8545",
    "--http.api",
    "eth,net,web3,admin,istanbul",
    "--cache",
    "4096",
    "--nodiscover",
];

#[test]
fn precedence_table() {
    // (cli args, expected argv)
    let table: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec![], FILE_ARGV.to_vec()),
        // --flag value replaces the file's port
        (
            vec!["--port", "30304"],
            vec![
                "--mainnet",
                "--datadir",
                "/h/chain-data",
                "--verbosity",
                "3",
                "--http",
                "--http.addr",
                "127.0.0.1",
                "--http.port",
                "8545",
                "--http.api",
                "eth,net,web3,admin,istanbul",
                "--cache",
                "4096",
                "--nodiscover",
                "--port",
                "30304",
            ],
        ),
        // --flag=value and a single dash count as the same option
        (
            vec!["-verbosity=5", "--http.port=8645"],
            vec![
                "--mainnet",
                "--datadir",
                "/h/chain-data",
                "--port",
                "30303",
                "--http",
                "--http.addr",
                "127.0.0.1",
                "--http.api",
                "eth,net,web3,admin,istanbul",
                "--cache",
                "4096",
                "--nodiscover",
                "-verbosity=5",
                "--http.port=8645",
            ],
        ),
        // --testnet replaces the --mainnet preset
        (
            vec!["--testnet"],
            vec![
                "--datadir",
                "/h/chain-data",
                "--port",
                "30303",
                "--verbosity",
                "3",
                "--http",
                "--http.addr",
                "127.0.0.1",
                "--http.port",
                "8545",
                "--http.api",
                "eth,net,web3,admin,istanbul",
                "--cache",
                "4096",
                "--nodiscover",
                "--testnet",
            ],
        ),
        // a boolean turned off on the CLI removes the file's boolean
        (
            vec!["--http=false"],
            vec![
                "--mainnet",
                "--datadir",
                "/h/chain-data",
                "--port",
                "30303",
                "--verbosity",
                "3",
                "--http.addr",
                "127.0.0.1",
                "--http.port",
                "8545",
                "--http.api",
                "eth,net,web3,admin,istanbul",
                "--cache",
                "4096",
                "--nodiscover",
                "--http=false",
            ],
        ),
        // extra options are overridden too; unknown flags and subcommands pass through
        (
            vec!["--cache", "8192", "--syncmode", "full", "console"],
            vec![
                "--mainnet",
                "--datadir",
                "/h/chain-data",
                "--port",
                "30303",
                "--verbosity",
                "3",
                "--http",
                "--http.addr",
                "127.0.0.1",
                "--http.port",
                "8545",
                "--http.api",
                "eth,net,web3,admin,istanbul",
                "--nodiscover",
                "--cache",
                "8192",
                "--syncmode",
                "full",
                "console",
            ],
        ),
        // after `--` nothing overrides
        (
            vec!["--", "--port", "1"],
            [FILE_ARGV, &["--", "--port", "1"]].concat(),
        ),
    ];
    for (cli, want) in table {
        assert_eq!(build_argv(&options(), &s(&cli)), s(&want), "cli {cli:?}");
    }
}

#[test]
fn order_is_deterministic_and_independent_of_field_setting_order() {
    let bootnodes = s(&["enode://x@1.2.3.4:30303", "enode://y@5.6.7.8:30303"]);
    let mut a = NodeOptions {
        networkid: Some(1113),
        bootnodes: bootnodes.clone(),
        ..NodeOptions::default()
    };
    a.metrics.enabled = Some(true);
    a.ws.port = Some(8546);
    let mut b = NodeOptions {
        bootnodes,
        ..NodeOptions::default()
    };
    b.ws.port = Some(8546);
    b.metrics.enabled = Some(true);
    b.networkid = Some(1113);
    assert_eq!(build_argv(&a, &[]), build_argv(&b, &[]));
    assert_eq!(
        build_argv(&a, &[]),
        s(&[
            "--networkid",
            "1113",
            "--bootnodes",
            "enode://x@1.2.3.4:30303,enode://y@5.6.7.8:30303",
            "--ws.port",
            "8546",
            "--metrics"
        ])
    );
    for _ in 0..3 {
        assert_eq!(
            build_argv(&options(), &s(&["--port", "1"])),
            build_argv(&options(), &s(&["--port", "1"]))
        );
    }
}

#[test]
fn empty_options_pass_the_cli_through_unchanged() {
    let cli = s(&[
        "--datadir",
        "/x",
        "-http",
        "--ws=true",
        "init",
        "genesis.json",
    ]);
    assert_eq!(build_argv(&NodeOptions::default(), &cli), cli);
}
