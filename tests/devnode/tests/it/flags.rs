//! The command line: geth flag forms, unknown flags, rejected flags, help, version.

use serde_json::json;

use crate::support::{free_port, run, run_bare, Node};

#[test]
fn geth_flag_forms_unknown_flags_and_the_banner() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().to_str().unwrap();
    let port = free_port();
    let port_flag = format!("-http.port={port}");
    let args = [
        "-datadir",
        datadir,
        "--foo",
        "bar",
        "--baz=1",
        "-http",
        port_flag.as_str(),
        "-qux",
        "--http.addr=127.0.0.1",
        "-networkid",
        "0x458",
        "--syncmode=full",
        "--verbosity",
        "4",
    ];
    let mut node = Node::start(dir.path(), &args);
    node.port = Some(port);
    node.wait_stderr("HTTP server started");
    let log = node.stderr();
    assert!(log.contains("INFO devnode starting version=v"), "{log}");
    assert!(log.contains(&format!("http=127.0.0.1:{port}")), "{log}");
    assert!(
        log.contains(&format!("args=--datadir {datadir} {}", args.join(" "))),
        "{log}"
    );
    assert!(log.contains("WARN unknown flag --foo value=bar"), "{log}");
    assert!(log.contains("WARN unknown flag --baz value=1"), "{log}");
    assert!(log.contains("WARN unknown flag --qux"), "{log}");
    assert_eq!(node.result("eth_chainId", json!([])), "0x458");
    assert!(node.running());
}

#[test]
fn rejected_flags_exit_1_like_geth() {
    let dir = tempfile::tempdir().unwrap();
    let (status, node) = run(
        dir.path(),
        &["--sim.reject-flags", "foo,http.api", "--http.api", "eth"],
    );
    assert_eq!(status.code(), Some(1));
    assert!(
        node.stderr()
            .contains("flag provided but not defined: -http.api"),
        "{}",
        node.stderr()
    );
    assert!(!node.stderr().contains("devnode starting"));

    // Rejected flags do not matter when they are not passed.
    let (status, node) = run(
        dir.path(),
        &["--sim.reject-flags", "foo", "--sim.exit-at-start", "0"],
    );
    assert_eq!(status.code(), Some(0), "{}", node.stderr());

    // And they disappear from --help.
    let (code, help, _) = run_bare(&["--sim.reject-flags", "http.api", "--help"]);
    assert_eq!(code, Some(0));
    assert!(!help.contains("--http.api"));
    assert!(help.contains("  --http.port value"));
}

#[test]
fn a_bad_value_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let (status, node) = run(dir.path(), &["--http.port", "abc"]);
    assert_eq!(status.code(), Some(1));
    assert!(
        node.stderr()
            .contains("Fatal: invalid value \"abc\" for flag -http.port"),
        "{}",
        node.stderr()
    );
    let (code, _, err) = run_bare(&["--sim.block-period", "soon"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("for flag -sim.block-period"), "{err}");
    let (code, _, err) = run_bare(&["--datadir"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("flag needs an argument: -datadir"), "{err}");
}

#[test]
fn version_and_help() {
    let (code, out, _) = run_bare(&["version"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("Geth/v"), "{out}");
    assert!(out.contains("\nVersion: "), "{out}");

    let (code, out, _) = run_bare(&["--sim.version", "3.1.0", "--version"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with("Geth/v3.1.0/"), "{out}");

    let (code, out, _) = run_bare(&["--help"]);
    assert_eq!(code, Some(0));
    for flag in [
        "  --datadir value",
        "  --http ",
        "  --http.addr value",
        "  --http.port value",
        "  --http.api value",
        "  --port value",
        "  --networkid value",
        "  --mainnet ",
        "  --testnet ",
        "  --syncmode value",
        "  --verbosity value",
        "  --identity value",
        "  --sim.crash-at value",
        "  --sim.ignore-sigterm ",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(flag)),
            "--help lacks {flag:?}:\n{out}"
        );
    }
}

#[test]
fn port_in_use_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let (status, node) = run(dir.path(), &["--http", "--http.port", &port]);
    assert_eq!(status.code(), Some(1));
    assert!(
        node.stderr()
            .contains("Fatal: Error starting protocol stack: listen tcp"),
        "{}",
        node.stderr()
    );
    assert!(
        !crate::support::state_file(dir.path(), "LOCK").exists(),
        "lock released on a fatal start"
    );
}
