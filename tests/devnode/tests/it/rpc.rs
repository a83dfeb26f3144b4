//! JSON-RPC shapes: the exact field names clients rely on.

use serde_json::{json, Value};

use crate::support::{hex_u64, http_post, wait_saved_head, Node};

const ME: &str = "0x1111111111111111111111111111111111111111";

#[test]
fn standard_methods_have_geth_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_http(
        dir.path(),
        &[
            "--sim.block-period",
            "50ms",
            "--sim.version",
            "1.2.3",
            "--networkid",
            "1112",
            "--sim.peers",
            "7",
            "--sim.address",
            ME,
            "--port",
            "30399",
        ],
    );
    node.wait_height(2);

    let version = node.result("web3_clientVersion", json!([]));
    let version = version.as_str().unwrap();
    assert!(version.starts_with("Geth/v1.2.3/"), "{version}");
    assert!(version.ends_with("/go1.22"), "{version}");
    assert!(hex_u64(&node.result("eth_blockNumber", json!([]))) >= 2);
    assert_eq!(node.result("eth_chainId", json!([])), "0x458");
    assert_eq!(node.result("net_version", json!([])), "1112");
    assert_eq!(node.result("eth_syncing", json!([])), false);
    assert_eq!(node.result("net_peerCount", json!([])), "0x7");

    let info = node.result("admin_nodeInfo", json!([]));
    for key in [
        "id",
        "name",
        "enode",
        "enr",
        "ip",
        "ports",
        "listenAddr",
        "protocols",
    ] {
        assert!(
            info.get(key).is_some(),
            "admin_nodeInfo lacks {key}: {info}"
        );
    }
    assert_eq!(info["name"], version);
    assert!(info["enode"].as_str().unwrap().starts_with("enode://"));
    assert!(info["enode"].as_str().unwrap().ends_with(":30399"));
    assert_eq!(info["ports"]["listener"], 30399);
    let config = &info["protocols"]["eth"]["config"];
    assert_eq!(config["chainId"], 1112);
    for fork in [
        "homesteadBlock",
        "londonBlock",
        "pangyoBlock",
        "applepieBlock",
        "briocheBlock",
        "croissantBlock",
    ] {
        assert!(config[fork].is_u64(), "config lacks {fork}: {config}");
    }
    assert!(config["brioche"].is_object(), "{config}");
    assert_eq!(info["protocols"]["eth"]["network"], 1112);

    let block = node.result("eth_getBlockByNumber", json!(["0x1", false]));
    assert_eq!(block["number"], "0x1");
    assert!(block["hash"].as_str().unwrap().starts_with("0x"));
    assert_eq!(
        node.result("eth_getBlockByNumber", json!(["0xffffff", false])),
        Value::Null
    );
}

#[test]
fn istanbul_methods_have_go_wbft_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_http(
        dir.path(),
        &[
            "--sim.block-period",
            "30ms",
            "--sim.address",
            ME,
            "--sim.offline",
            "2",
            "--sim.round-change",
            "5",
            "--sim.wbft-fork",
            "3",
            "--sim.fork",
            "london=7",
        ],
    );
    node.wait_height(12);

    assert_eq!(node.result("istanbul_nodeAddress", json!([])), ME);
    let validators = node.result("istanbul_getValidators", json!(["latest"]));
    let validators: Vec<&str> = validators
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(validators.len(), 4);
    assert_eq!(validators[0], ME);
    assert_eq!(
        node.result("istanbul_getValidators", json!([]))
            .as_array()
            .unwrap()
            .len(),
        4
    );
    for tag in [
        json!("earliest"),
        json!("pending"),
        json!("4"),
        json!(4),
        json!("0x4"),
    ] {
        assert!(node
            .result("istanbul_getValidators", json!([tag]))
            .is_array());
    }
    assert_eq!(node.result("istanbul_isValidator", json!(["latest"])), true);

    // Status: default window, counts add up, the offline validator authored nothing.
    let status = node.result("istanbul_status", json!([null, null]));
    let activity = status["sealerActivity"].as_object().unwrap();
    assert_eq!(activity.len(), 4);
    let total: u64 = activity.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(total, status["numBlocks"].as_u64().unwrap());
    assert_eq!(activity[validators[2]], 0);
    let ranged = node.result("istanbul_status", json!(["0x3", "0xa"]));
    assert_eq!(ranged["numBlocks"], 8);

    let extra = node.result("istanbul_getWbftExtraInfo", json!(["0xa"]));
    for key in [
        "vanityData",
        "randaoReveal",
        "prevRound",
        "round",
        "preparedSeal",
        "committedSeal",
        "prevPreparedSeal",
        "prevCommittedSeal",
        "epochInfo",
    ] {
        assert!(extra.get(key).is_some(), "extra info lacks {key}: {extra}");
    }
    assert_eq!(extra["round"], "0x0");
    assert_eq!(extra["prevRound"], "0x0");
    let seal = &extra["committedSeal"];
    assert_eq!(
        seal["sealers"].as_array().unwrap().len(),
        3,
        "offline validator must not seal"
    );
    assert!(seal["signature"].as_str().unwrap().starts_with("0x"));
    assert!(extra["preparedSeal"]["sealers"].is_array());
    let epoch = &extra["epochInfo"];
    assert!(
        epoch["stakers"][0]["addr"].is_string() && epoch["stakers"][0]["diligence"].is_u64(),
        "{epoch}"
    );
    let v0 = &epoch["validators"][0];
    assert!(
        v0["index"].is_u64() && v0["addr"].is_string() && v0["bls"].is_string(),
        "{epoch}"
    );
    assert!(node.result("istanbul_getWbftExtraInfo", json!([11]))["epochInfo"].is_null());
    assert_eq!(
        node.result("istanbul_getWbftExtraInfo", json!(["5"]))["round"],
        "0x1"
    );
    assert_eq!(
        node.result("istanbul_getWbftExtraInfo", json!(["0x6"]))["prevRound"],
        "0x1"
    );
    assert!(
        node.result("istanbul_getWbftExtraInfo", json!(["0x3"]))["prevCommittedSeal"].is_null()
    );
    // Before the WBFT fork and above the head: errors.
    assert_eq!(
        node.call("istanbul_getWbftExtraInfo", json!(["0x2"]))["error"]["code"],
        -32000
    );
    assert_eq!(
        node.call("istanbul_getWbftExtraInfo", json!(["0xffffff"]))["error"]["code"],
        -32000
    );

    let signers = node.result("istanbul_getCommitSignersFromBlock", json!(["0xa"]));
    assert_eq!(signers["Number"], 10);
    assert!(signers["Hash"].as_str().unwrap().starts_with("0x"));
    assert!(validators.contains(&signers["Author"].as_str().unwrap()));
    assert_eq!(signers["Committers"].as_array().unwrap().len(), 3);

    let config = &node.result("admin_nodeInfo", json!([]))["protocols"]["eth"]["config"];
    assert_eq!(config["londonBlock"], 7);
    assert_eq!(config["croissantBlock"], 3);
}

#[test]
fn json_rpc_errors_and_batches() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_http(dir.path(), &["--http.api", "eth,net,web3"]);
    let port = node.port.unwrap();

    let r = node.call("foo_bar", json!([]));
    assert_eq!(r["error"]["code"], -32601);
    assert_eq!(
        r["error"]["message"],
        "the method foo_bar does not exist/is not available"
    );
    // Namespace not in --http.api.
    assert_eq!(
        node.call("istanbul_nodeAddress", json!([]))["error"]["code"],
        -32601
    );
    assert_eq!(
        node.call("istanbul_getValidators", json!([]))["error"]["code"],
        -32601
    );
    assert_eq!(
        node.call("eth_getBlockByNumber", json!(["nope"]))["error"]["code"],
        -32602
    );
    assert_eq!(
        node.call("eth_blockNumber", json!([1, 2]))["error"]["code"],
        -32602
    );

    let (status, body) = http_post(port, "{\"jsonrpc\":");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32700);

    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":"two","method":"nope"}]"#;
    let (_, body) = http_post(port, batch);
    let v: Value = serde_json::from_str(&body).unwrap();
    let arr = v.as_array().expect("batch answers with an array");
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["id"], 1);
    assert_eq!(arr[0]["result"], "0x457");
    assert_eq!(arr[1]["id"], "two");
    assert_eq!(arr[1]["error"]["code"], -32601);
}

#[test]
fn syncing_and_non_validator_knobs() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_http(
        dir.path(),
        &[
            "--sim.syncing",
            "--sim.not-validator",
            "--sim.validators",
            "3",
        ],
    );
    let syncing = node.result("eth_syncing", json!([]));
    for key in ["startingBlock", "currentBlock", "highestBlock"] {
        assert!(
            syncing[key].is_string(),
            "eth_syncing lacks {key}: {syncing}"
        );
    }
    assert!(hex_u64(&syncing["highestBlock"]) > hex_u64(&syncing["currentBlock"]));
    assert_eq!(node.result("istanbul_isValidator", json!([])), false);
    let me = node.result("istanbul_nodeAddress", json!([]));
    let validators = node.result("istanbul_getValidators", json!([]));
    assert_eq!(validators.as_array().unwrap().len(), 3);
    assert!(!validators.as_array().unwrap().contains(&me));
}

#[test]
fn without_http_there_is_no_server_but_blocks_are_made() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let node = Node::start(
        dir.path(),
        &[
            "--http.port",
            &port.to_string(),
            "--sim.block-period",
            "30ms",
        ],
    );
    wait_saved_head(dir.path(), 3);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    assert!(!node.stderr().contains("HTTP server started"));
}
