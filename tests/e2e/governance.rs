//! The governance crate against real nodes: the WBFT consensus monitor and
//! fork heights against devnode (the go-wemix-wbft simulator), the GovNCP
//! tracker and the upgrade-proposal contract against anvil (a real EVM
//! node, contracts compiled here with solc-js), and the signed release
//! manifest from a loopback server.

use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, SolCall, SolValue};
use serde_json::{json, Value};
use wemixvisor_core::{ChainError, HaltGuard, HaltReason, HaltVerdict, Home, InfoSource};
use wemixvisor_governance::test_utils::{HttpServer, ManifestSigner};
use wemixvisor_governance::{
    bft_quorum, BlockTag, ConsensusMonitor, ContractSource, GovTracker, GovernanceChange,
    GovernanceSettings, GuardSettings, MonitorConfig, ProposalKind, ProposalSource, ProposalState,
    QuorumGuard, RpcChainClient, TrackerConfig, UpgradeFeed, GOV_NCP_ADDRESS,
};
use wemixvisor_tests::*;

fn client(url: &str) -> RpcChainClient {
    RpcChainClient::new(url, Duration::from_secs(5)).expect("client")
}

fn monitor(node: &NodeProcess, stall_blocks: u64) -> ConsensusMonitor {
    ConsensusMonitor::new(
        client(&node.url()),
        MonitorConfig {
            block_period: Duration::from_millis(100),
            stall_blocks,
            ..MonitorConfig::default()
        },
    )
}

fn wait_head(node: &NodeProcess, at_least: u64) -> u64 {
    wait_for(Duration::from_secs(20), || {
        head(node.port).filter(|&h| h >= at_least)
    })
    .unwrap_or_else(|| panic!("devnode on {} never reached block {at_least}", node.port))
}

// ---- devnode: consensus ----

#[tokio::test]
async fn devnode_validator_set_sealing_round_changes_and_quorum() {
    let node = NodeProcess::devnode(&[
        "--sim.block-period",
        "100ms",
        "--sim.validators",
        "7",
        "--sim.offline",
        "5,6",
        "--sim.round-change",
        "3,6",
    ]);
    wait_head(&node, 16);
    let m = monitor(&node, 20);
    let r = m.poll().await.expect("poll");
    assert!(r.istanbul_available && r.is_validator, "{r:?}");
    let me = r.node_address.expect("node address");
    assert_eq!(r.validators.len(), 7);
    assert_eq!(r.validators[0], me, "devnode's own address is validator 0");
    // Validators 5 and 6 are offline: they seal nothing; the rest do.
    let active: Vec<bool> = r.activity.iter().map(|a| a.active).collect();
    assert_eq!(
        active,
        [true, true, true, true, true, false, false],
        "{:?}",
        r.activity
    );
    assert_eq!(r.active_validators, 5);
    assert!(r.own_sealed.is_some_and(|n| n > 0), "{r:?}");
    assert!(r.activity[5].sealed == 0 && r.activity[6].sealed == 0);
    // The blocks sealed in round 1.
    let rounds: Vec<(u64, u64)> = r
        .round_changes
        .iter()
        .map(|c| (c.height, c.round))
        .collect();
    assert_eq!(rounds, [(3, 1), (6, 1)]);
    assert!(r.round_distribution[&1] == 2 && r.round_distribution[&0] >= 14);
    assert!(!r.stall.stalled, "{:?}", r.stall);
    // 7 validators, quorum 5, 5 active: halting this one leaves 4.
    let q = r.quorum.expect("quorum");
    assert_eq!(
        (q.validators, q.quorum, q.active, q.active_after, q.safe),
        (7, 5, 5, 4, false)
    );
    let v = m.halt_verdict().await.expect("verdict");
    assert!(!v.safe && v.reason.starts_with("unsafe: 4 of 7"), "{v:?}");

    // The raw decoders against the simulator's answers.
    let rpc = client(&node.url());
    let h = head(node.port).expect("head");
    let signers = rpc
        .istanbul_commit_signers(BlockTag::Number(h))
        .await
        .expect("signers");
    assert_eq!((signers.number, signers.committers.len()), (h, 5));
    let extra = rpc.istanbul_extra_info(6).await.expect("extra");
    assert_eq!(
        (
            extra.round,
            extra.committed_seal.expect("seal").sealers.len()
        ),
        (1, 5)
    );
    assert!(rpc
        .istanbul_extra_info(10)
        .await
        .expect("extra")
        .epoch_info
        .is_some());
    assert_eq!(
        rpc.istanbul_status(Some((1, 10)))
            .await
            .expect("status")
            .num_blocks,
        10
    );
}

/// 4, 7 and 10 validators with 0..=f of the others offline: halting this
/// validator is safe exactly while fewer than f are down.
#[tokio::test]
async fn devnode_quorum_safety_for_4_7_10_validators() {
    let mut cases = Vec::new();
    for (n, f) in [(4usize, 1usize), (7, 2), (10, 3)] {
        for offline in 0..=f {
            let list: Vec<String> = (n - offline..n).map(|i| i.to_string()).collect();
            let mut args = vec![
                "--sim.block-period".to_string(),
                "50ms".into(),
                "--sim.validators".into(),
                n.to_string(),
            ];
            if offline > 0 {
                args.extend(["--sim.offline".to_string(), list.join(",")]);
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            cases.push((n, f, offline, NodeProcess::devnode(&refs)));
        }
    }
    let not_validator =
        NodeProcess::devnode(&["--sim.block-period", "50ms", "--sim.not-validator"]);
    for (n, f, offline, node) in &cases {
        wait_head(node, 2 * *n as u64);
        let r = monitor(node, 20).poll().await.expect("poll");
        let q = r.quorum.expect("validator");
        assert_eq!(
            (q.validators, q.active),
            (*n, n - offline),
            "n={n} offline={offline}"
        );
        assert_eq!(q.safe, offline < f, "n={n} offline={offline}: {q}");
        assert_eq!(r.halt_verdict().safe, offline < f);
    }
    wait_head(&not_validator, 8);
    let r = monitor(&not_validator, 20).poll().await.expect("poll");
    assert!(!r.is_validator && r.quorum.is_none());
    let v = r.halt_verdict();
    assert!(v.safe && v.reason.contains("not a validator"), "{v:?}");
}

/// The quorum guard the supervisor asks before an uncoordinated halt,
/// against devnode: 4, 7 and 10 validators with 0, f and f+1 others
/// offline; a node that is not a validator; a node without `istanbul`.
#[tokio::test]
async fn devnode_quorum_guard_for_4_7_10_validators() {
    let mut cases = Vec::new();
    for (n, f) in [(4usize, 1usize), (7, 2), (10, 3)] {
        for offline in [0, f, f + 1] {
            let list: Vec<String> = (n - offline..n).map(|i| i.to_string()).collect();
            let mut args = vec![
                "--sim.block-period".to_string(),
                "50ms".into(),
                "--sim.validators".into(),
                n.to_string(),
            ];
            if offline > 0 {
                args.extend(["--sim.offline".to_string(), list.join(",")]);
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            cases.push((n, offline, NodeProcess::devnode(&refs)));
        }
    }
    for (n, offline, node) in &cases {
        wait_head(node, 2 * *n as u64);
        let guard = QuorumGuard::new(client(&node.url()), GuardSettings::default());
        let v = guard.may_halt(HaltReason::OperatorRestart).await;
        let quorum = bft_quorum(*n);
        let active = n - offline;
        if active > quorum {
            assert!(
                matches!(&v, HaltVerdict::Allow { detail } if detail.starts_with(&format!("{} of {n} validators stay active", active - 1))),
                "n={n} offline={offline}: {v:?}"
            );
        } else {
            assert!(
                matches!(&v, HaltVerdict::Wait { active: a, quorum: q, validators, .. } if (*a, *q, *validators) == (active, quorum, *n)),
                "n={n} offline={offline}: {v:?}"
            );
        }
    }

    let not_validator =
        NodeProcess::devnode(&["--sim.block-period", "50ms", "--sim.not-validator"]);
    wait_head(&not_validator, 8);
    let v = QuorumGuard::new(client(&not_validator.url()), GuardSettings::default())
        .may_halt(HaltReason::HealthRestart)
        .await;
    assert!(
        matches!(&v, HaltVerdict::Allow { detail } if detail.contains("not one of the 4 validators")),
        "{v:?}"
    );

    let bare = NodeProcess::devnode(&["--sim.block-period", "50ms", "--http.api", "eth,net,web3"]);
    let v = QuorumGuard::new(client(&bare.url()), GuardSettings::default())
        .may_halt(HaltReason::OperatorStop)
        .await;
    assert!(
        matches!(&v, HaltVerdict::Allow { detail } if detail.contains("could not tell") && detail.contains("istanbul_nodeAddress")),
        "{v:?}"
    );
}

#[tokio::test]
async fn devnode_stalled_production_is_detected_and_a_live_chain_is_not() {
    let stalled = NodeProcess::devnode(&["--sim.block-period", "100ms", "--sim.stall-at", "6"]);
    let live = NodeProcess::devnode(&["--sim.block-period", "100ms"]);
    wait_head(&stalled, 6);
    wait_head(&live, 2);
    // 5 periods of 100 ms.
    let (ms, ml) = (monitor(&stalled, 5), monitor(&live, 5));
    let (s1, l1) = (
        ms.poll().await.expect("poll"),
        ml.poll().await.expect("poll"),
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (s2, l2) = (
        ms.poll().await.expect("poll"),
        ml.poll().await.expect("poll"),
    );
    assert!(s2.stall.stalled && s2.head == 6, "{:?}", s2.stall);
    assert!(s2.stall.head_unchanged_ms >= 500);
    assert!(!l2.stall.stalled && l2.head > l1.head, "{:?}", l2.stall);
    let changes: Vec<String> = s2
        .changes_since(&s1)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        s1.stall.stalled || changes.iter().any(|c| c.contains("stalled at 6")),
        "{changes:?}"
    );
}

#[tokio::test]
async fn devnode_fork_heights_and_missing_namespaces() {
    let node = NodeProcess::devnode(&["--sim.block-period", "100ms", "--sim.fork", "dessert=5000"]);
    let h = wait_head(&node, 1);
    let schedule = client(&node.url()).fork_schedule().await.expect("forks");
    assert_eq!(schedule.height_of("croissant"), Some(0));
    let next = schedule.next_fork(h).expect("next fork");
    assert_eq!(next.names, ["dessert"]);
    assert_eq!(next.height, 5000);
    assert_eq!(next.blocks_to_go, 5000 - h);

    // A node serving neither admin nor istanbul: reported as such, no crash.
    let bare = NodeProcess::devnode(&["--sim.block-period", "100ms", "--http.api", "eth,net,web3"]);
    let e = client(&bare.url()).fork_schedule().await.unwrap_err();
    assert!(
        matches!(e, ChainError::MethodUnavailable { ref method } if method == "admin_nodeInfo"),
        "{e:?}"
    );
    let r = monitor(&bare, 20).poll().await.expect("poll");
    assert!(!r.istanbul_available);
    assert!(!r.halt_verdict().safe);
}

// ---- anvil: GovNCP and the upgrade-proposal contract ----

sol! {
    interface GovNCPCompat {
        function initNCPs(address[] ncps) external;
        function newProposalToAddNCP(address newNCP) external;
        function newProposalToRemoveNCP(address ncp) external;
        function newProposalEmergencyMode(bool toMode) external;
        function changeNCP(address ncp) external;
        function vote(uint256 proposalID, bool accept) external;
        function cancelProposal(uint256 proposalID) external;
    }

    interface UpgradeProposals {
        function propose(string name, uint64 height, string info, uint64 votingEndHeight) external returns (uint256);
        function vote(uint256 id, uint8 choice) external;
    }
}

struct Compiled {
    gov_ncp: String,
    upgrade_proposals: String,
}

/// Compiles `tests/contracts/*.sol` with solc-js, once per test process.
fn contracts() -> &'static Compiled {
    static C: OnceLock<Compiled> = OnceLock::new();
    C.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let solc = root.join("../.cache/e2e/bin/solcjs");
        assert!(
            solc.exists(),
            "solc-js is missing at {}: run `cargo xtask e2e-deps`",
            solc.display()
        );
        let out = tempfile::tempdir().expect("tempdir");
        let status = Command::new(&solc)
            .args(["--bin", "--abi", "-o"])
            .arg(out.path())
            .args(["GovNCPCompat.sol", "UpgradeProposals.sol"])
            .current_dir(root.join("contracts"))
            .status()
            .expect("run solcjs");
        assert!(status.success(), "solcjs failed");
        let read = |contract: &str| -> String {
            let file = std::fs::read_dir(out.path())
                .expect("solc output")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.ends_with(&format!("_{contract}.bin")))
                })
                .unwrap_or_else(|| panic!("no bytecode for {contract}"));
            std::fs::read_to_string(file)
                .expect("read bytecode")
                .trim()
                .to_string()
        };
        Compiled {
            gov_ncp: read("GovNCPCompat"),
            upgrade_proposals: read("UpgradeProposals"),
        }
    })
}

fn hex0x(bytes: &[u8]) -> String {
    format!(
        "0x{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// `eth_sendTransaction` from an unlocked anvil account; panics unless it succeeds.
fn send(node: &NodeProcess, from: Address, to: Option<Address>, data: &str) -> Value {
    let mut tx = json!({"from": from, "data": data, "gas": "0x1c9c380"});
    if let Some(to) = to {
        tx["to"] = json!(to);
    }
    let hash = node.rpc("eth_sendTransaction", json!([tx]));
    let receipt = wait_for(Duration::from_secs(10), || {
        Some(node.rpc("eth_getTransactionReceipt", json!([hash]))).filter(|r| !r.is_null())
    })
    .unwrap_or_else(|| panic!("transaction {hash} was never mined"));
    assert_eq!(receipt["status"], "0x1", "transaction reverted: {receipt}");
    receipt
}

fn call(node: &NodeProcess, from: Address, to: Address, data: impl SolCall) {
    send(node, from, Some(to), &hex0x(&data.abi_encode()));
}

fn accounts(node: &NodeProcess) -> Vec<Address> {
    node.rpc("eth_accounts", json!([]))
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| Address::from_str(a.as_str().expect("address")).expect("address"))
        .collect()
}

/// Deploys GovNCPCompat and moves its runtime code to GovNCP's system address.
fn install_gov_ncp(node: &NodeProcess, from: Address) {
    let receipt = send(node, from, None, &format!("0x{}", contracts().gov_ncp));
    let deployed = receipt["contractAddress"]
        .as_str()
        .expect("contract address")
        .to_string();
    let code = node.rpc("eth_getCode", json!([deployed, "latest"]));
    node.rpc("anvil_setCode", json!([GOV_NCP_ADDRESS, code]));
}

fn u(n: u64) -> U256 {
    U256::from(n)
}

#[tokio::test]
async fn anvil_govncp_tracker_rebuilds_proposals_resumes_and_survives_a_reorg() {
    let Some(anvil) = anvil() else { return };
    let node = NodeProcess::anvil(&anvil);
    let a = accounts(&node);
    let gov = GOV_NCP_ADDRESS;
    install_gov_ncp(&node, a[0]);
    call(
        &node,
        a[0],
        gov,
        GovNCPCompat::initNCPsCall {
            ncps: a[..4].to_vec(),
        },
    );

    // Proposal 0: add a4; accepted by the third accept of 4 NCPs (3×2 > 4).
    call(
        &node,
        a[0],
        gov,
        GovNCPCompat::newProposalToAddNCPCall { newNCP: a[4] },
    );
    for v in &a[1..4] {
        call(
            &node,
            *v,
            gov,
            GovNCPCompat::voteCall {
                proposalID: u(0),
                accept: true,
            },
        );
    }
    // Proposal 1: remove a0; rejected by the third reject of 5 NCPs (3×2 ≥ 5).
    call(
        &node,
        a[1],
        gov,
        GovNCPCompat::newProposalToRemoveNCPCall { ncp: a[0] },
    );
    for v in &a[2..5] {
        call(
            &node,
            *v,
            gov,
            GovNCPCompat::voteCall {
                proposalID: u(1),
                accept: false,
            },
        );
    }
    // Proposal 2: emergency mode, canceled by its proposer before any vote.
    call(
        &node,
        a[2],
        gov,
        GovNCPCompat::newProposalEmergencyModeCall { toMode: true },
    );
    call(
        &node,
        a[2],
        gov,
        GovNCPCompat::cancelProposalCall { proposalID: u(2) },
    );

    let home_dir = tempfile::tempdir().expect("tempdir");
    let home = Home::new(home_dir.path());
    let config = TrackerConfig::new(GOV_NCP_ADDRESS);
    let mut t = GovTracker::open(client(&node.url()), &home, config);
    let first = t.sync().await.expect("sync");
    let s = &first.snapshot;
    assert!(s.consistency.is_empty(), "{:?}", s.consistency);
    assert_eq!(s.ncps, a[..5].to_vec());
    assert_eq!(
        (
            s.ncp_count,
            s.current_proposal_id,
            s.emergency_mode,
            s.open_proposal
        ),
        (5, 3, false, None)
    );
    assert_eq!(s.voting_period, Some(7 * 24 * 3600));
    let summary: Vec<_> = s
        .proposals
        .iter()
        .map(|p| {
            (
                p.id, p.kind, p.target, p.proposer, p.state, p.accepts, p.rejects,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                0,
                ProposalKind::NcpAdd,
                Some(a[4]),
                a[0],
                ProposalState::Accepted,
                3,
                0
            ),
            (
                1,
                ProposalKind::NcpRemoval,
                Some(a[0]),
                a[1],
                ProposalState::Rejected,
                0,
                3
            ),
            (
                2,
                ProposalKind::EmergencyMode,
                None,
                a[2],
                ProposalState::Canceled,
                0,
                0
            ),
        ]
    );
    let p0 = &s.proposals[0];
    assert_eq!(
        p0.voters.iter().map(|v| v.voter).collect::<Vec<_>>(),
        a[1..4].to_vec()
    );
    assert_eq!(p0.end_time - p0.start_time, 7 * 24 * 3600);
    let rule = s.proposals[1].rule.expect("rule");
    assert_eq!(
        (rule.ncp_count, rule.accepts_needed, rule.rejects_needed),
        (5, 3, 3)
    );
    // Events in chain order: create, 3 votes, NCPAdded, finalized, ...
    assert_eq!(
        first.changes.len(),
        1 + 3 + 1 + 1 + 1 + 3 + 1 + 1 + 1,
        "{:#?}",
        first.changes
    );
    assert!(home.proposals_file().exists());

    // Restart from the cache: same snapshot before any RPC, then only the new blocks are read.
    drop(t);
    let mut t = GovTracker::open(client(&node.url()), &home, config);
    assert_eq!(t.snapshot(), Some(&first.snapshot));
    call(
        &node,
        a[3],
        gov,
        GovNCPCompat::newProposalEmergencyModeCall { toMode: true },
    );
    for v in &a[..3] {
        call(
            &node,
            *v,
            gov,
            GovNCPCompat::voteCall {
                proposalID: u(3),
                accept: true,
            },
        );
    }
    call(&node, a[0], gov, GovNCPCompat::changeNCPCall { ncp: a[5] });
    let second = t.sync().await.expect("sync");
    assert_eq!(second.scanned_from, Some(first.scanned_to + 1));
    let kinds: Vec<&str> = second
        .changes
        .iter()
        .map(|c| match c {
            GovernanceChange::ProposalCreated { .. } => "created",
            GovernanceChange::Voted { .. } => "voted",
            GovernanceChange::Finalized { accepted: true, .. } => "accepted",
            GovernanceChange::NcpChanged { .. } => "changed",
            GovernanceChange::EmergencyMode { on: true } => "emergency on",
            other => panic!("unexpected change {other}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "voted",
            "voted",
            "voted",
            "accepted",
            "changed",
            "emergency on"
        ]
    );
    let s = &second.snapshot;
    assert!(s.consistency.is_empty(), "{:?}", s.consistency);
    assert!(s.emergency_mode);
    assert!(!s.ncps.contains(&a[0]) && s.ncps.contains(&a[5]) && s.ncps.len() == 5);
    assert_eq!(
        s.proposal(3).map(|p| p.state),
        Some(ProposalState::Accepted)
    );

    // An open proposal, then its window ends (chain time), then the next
    // proposal cancels it, as GovNCP does.
    call(
        &node,
        a[1],
        gov,
        GovNCPCompat::newProposalToAddNCPCall { newNCP: a[6] },
    );
    call(
        &node,
        a[2],
        gov,
        GovNCPCompat::voteCall {
            proposalID: u(4),
            accept: true,
        },
    );
    let s = t.sync().await.expect("sync").snapshot;
    assert_eq!(s.open_proposal, Some(4));
    let p4 = s.proposal(4).expect("proposal 4");
    assert_eq!(
        (p4.state, p4.accepts, p4.target),
        (ProposalState::Voting, 1, Some(a[6]))
    );
    node.rpc("evm_increaseTime", json!([8 * 24 * 3600]));
    node.rpc("evm_mine", json!([]));
    let out = t.sync().await.expect("sync");
    assert_eq!(
        out.snapshot.proposal(4).map(|p| p.state),
        Some(ProposalState::Expired)
    );
    assert!(out.changes.contains(&GovernanceChange::Expired {
        id: 4,
        end_time: p4.end_time
    }));
    call(
        &node,
        a[3],
        gov,
        GovNCPCompat::newProposalToAddNCPCall { newNCP: a[7] },
    );
    let s = t.sync().await.expect("sync").snapshot;
    assert_eq!(
        s.proposal(4).map(|p| p.state),
        Some(ProposalState::Canceled)
    );
    assert_eq!(s.open_proposal, Some(5));
    assert!(s.consistency.is_empty(), "{:?}", s.consistency);

    // Reorg: a vote the tracker has seen is reverted and replaced by another.
    let snap = node.rpc("evm_snapshot", json!([]));
    call(
        &node,
        a[1],
        gov,
        GovNCPCompat::voteCall {
            proposalID: u(5),
            accept: true,
        },
    );
    let seen = t.sync().await.expect("sync").snapshot;
    assert_eq!(seen.proposal(5).map(|p| p.accepts), Some(1));
    node.rpc("evm_revert", json!([snap]));
    call(
        &node,
        a[2],
        gov,
        GovNCPCompat::voteCall {
            proposalID: u(5),
            accept: false,
        },
    );
    node.rpc("anvil_mine", json!(["0x3"]));
    let out = t.sync().await.expect("sync");
    assert!(
        matches!(out.changes.first(), Some(GovernanceChange::Reorg { .. })),
        "{:?}",
        out.changes
    );
    let p5 = out.snapshot.proposal(5).expect("proposal 5");
    assert_eq!((p5.accepts, p5.rejects), (0, 1));
    assert_eq!(
        p5.voters.iter().map(|v| v.voter).collect::<Vec<_>>(),
        [a[2]]
    );
    assert!(
        out.snapshot.consistency.is_empty(),
        "{:?}",
        out.snapshot.consistency
    );

    // A fresh scan of the whole chain agrees with the incremental one.
    let other = tempfile::tempdir().expect("tempdir");
    let fresh = GovTracker::open(client(&node.url()), &Home::new(other.path()), config)
        .sync()
        .await
        .expect("sync");
    assert_eq!(fresh.snapshot.proposals, out.snapshot.proposals);
    assert_eq!(fresh.snapshot.ncps, out.snapshot.ncps);
}

const SUM: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[tokio::test]
async fn anvil_approved_upgrade_proposal_and_signed_manifest_feed_the_queue() {
    let Some(anvil) = anvil() else { return };
    let node = NodeProcess::anvil(&anvil);
    let a = accounts(&node);
    let ctor = (a[..3].to_vec(),).abi_encode_params();
    let receipt = send(
        &node,
        a[0],
        None,
        &format!("0x{}{}", contracts().upgrade_proposals, &hex0x(&ctor)[2..]),
    );
    let contract =
        Address::from_str(receipt["contractAddress"].as_str().expect("address")).expect("address");
    let h = head(node.port).expect("head");
    let info =
        format!(r#"{{"binaries":{{"linux/amd64":"https://example.com/geth-v2?checksum={SUM}"}}}}"#);
    let propose = |from: Address, name: &str, height: u64, info: &str, end: u64| {
        call(
            &node,
            from,
            contract,
            UpgradeProposals::proposeCall {
                name: name.into(),
                height,
                info: info.into(),
                votingEndHeight: end,
            },
        )
    };
    propose(a[0], "v2.0.0", h + 100, &info, h + 20); // id 0: approved
    propose(a[1], "v1.0.1", h + 18, "", h + 15); // id 1: approved, then passed
    propose(a[2], "v3.0.0", h + 200, &info, h + 50); // id 2: still voting
    propose(a[0], "v0.9.9", h + 200, &info, h + 50); // id 3: rejected
    for v in &a[..2] {
        call(
            &node,
            *v,
            contract,
            UpgradeProposals::voteCall {
                id: u(0),
                choice: 1,
            },
        );
        call(
            &node,
            *v,
            contract,
            UpgradeProposals::voteCall {
                id: u(1),
                choice: 1,
            },
        );
        call(
            &node,
            *v,
            contract,
            UpgradeProposals::voteCall {
                id: u(3),
                choice: 2,
            },
        );
    }
    call(
        &node,
        a[0],
        contract,
        UpgradeProposals::voteCall {
            id: u(2),
            choice: 1,
        },
    );
    node.rpc("anvil_mine", json!(["0x14"]));
    let now = head(node.port).expect("head");
    assert!(now > h + 18 && now < h + 100, "head {now}, start {h}");

    let src = ContractSource::new(client(&node.url()), contract);
    let poll = src.fetch_plans(now).await.expect("contract");
    assert_eq!(poll.plans.len(), 1, "{poll:?}");
    let plan = &poll.plans[0];
    assert_eq!(
        (plan.name.as_str(), plan.height, plan.source.as_str()),
        ("v2.0.0", h + 100, "contract")
    );
    let InfoSource::Inline(v) = &plan.info else {
        panic!("{:?}", plan.info)
    };
    assert_eq!(
        v["binaries"]["linux/amd64"],
        format!("https://example.com/geth-v2?checksum={SUM}")
    );
    assert_eq!(poll.skipped.len(), 1);
    assert_eq!(poll.skipped[0].plan.name, "v1.0.1");
    assert!(poll.skipped[0].reason.contains("already passed"));
    assert!(
        poll.notes
            .iter()
            .any(|n| n.contains("'v3.0.0'") && n.contains("1 yes")),
        "{:?}",
        poll.notes
    );

    // The signed manifest on a loopback server, next to the contract.
    let signer = ManifestSigner::generate();
    let manifest = format!(
        r#"{{"version":1,"upgrades":[{{"name":"v2.1.0","height":{},"binaries":{{"linux/amd64":{{"url":"https://example.com/geth-v21","checksum":"{SUM}"}}}}}}]}}"#,
        now + 500
    );
    let forged = ManifestSigner::generate();
    let server = HttpServer::files(vec![
        ("/releases.json".into(), manifest.clone().into_bytes()),
        (
            "/releases.json.minisig".into(),
            signer.sign(manifest.as_bytes()).into_bytes(),
        ),
        ("/forged.json".into(), manifest.clone().into_bytes()),
        (
            "/forged.json.minisig".into(),
            forged.sign(manifest.as_bytes()).into_bytes(),
        ),
    ]);
    let settings = |path: &str| GovernanceSettings {
        release_manifest_url: Some(format!("{}{path}", server.url())),
        release_manifest_public_key: Some(signer.public_key()),
        upgrade_proposal_contract: Some(contract.to_string()),
        auto_queue_upgrades: true,
        ..GovernanceSettings::default()
    };
    let mut feed = UpgradeFeed::from_settings(
        &client(&node.url()),
        &settings("/releases.json"),
        Duration::from_secs(5),
    )
    .expect("feed");
    let r = feed.poll(now).await;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let queued: Vec<(&str, &str)> = r
        .queue
        .iter()
        .map(|p| (p.name.as_str(), p.source.as_str()))
        .collect();
    assert_eq!(queued, [("v2.1.0", "manifest"), ("v2.0.0", "contract")]);
    assert_eq!(r.skipped.len(), 1);
    // Handed out once.
    let again = feed.poll(now).await;
    assert!(
        again.queue.is_empty() && again.skipped.is_empty(),
        "{again:?}"
    );

    // A manifest signed by another key is refused: an error, nothing queued from it.
    let mut feed = UpgradeFeed::from_settings(
        &client(&node.url()),
        &settings("/forged.json"),
        Duration::from_secs(5),
    )
    .expect("feed");
    let r = feed.poll(now).await;
    assert_eq!(
        r.queue
            .iter()
            .map(|p| p.source.as_str())
            .collect::<Vec<_>>(),
        ["contract"]
    );
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].source, "manifest");
    assert!(
        r.errors[0].error.contains("is refused"),
        "{}",
        r.errors[0].error
    );
}

/// What the daemon runs: one `tick` polls consensus, GovNCP, forks and the
/// upgrade feed; a second tick with nothing new reports nothing.
#[tokio::test]
async fn anvil_governance_service_tick() {
    let Some(anvil) = anvil() else { return };
    let node = NodeProcess::anvil(&anvil);
    let a = accounts(&node);
    install_gov_ncp(&node, a[0]);
    call(
        &node,
        a[0],
        GOV_NCP_ADDRESS,
        GovNCPCompat::initNCPsCall {
            ncps: a[..3].to_vec(),
        },
    );
    call(
        &node,
        a[1],
        GOV_NCP_ADDRESS,
        GovNCPCompat::newProposalToAddNCPCall { newNCP: a[3] },
    );
    let ctor = (vec![a[0]],).abi_encode_params();
    let receipt = send(
        &node,
        a[0],
        None,
        &format!("0x{}{}", contracts().upgrade_proposals, &hex0x(&ctor)[2..]),
    );
    let contract =
        Address::from_str(receipt["contractAddress"].as_str().expect("address")).expect("address");
    let h = head(node.port).expect("head");
    call(
        &node,
        a[0],
        contract,
        UpgradeProposals::proposeCall {
            name: "v2.0.0".into(),
            height: h + 100,
            info: String::new(),
            votingEndHeight: h + 10,
        },
    );
    call(
        &node,
        a[0],
        contract,
        UpgradeProposals::voteCall {
            id: u(0),
            choice: 1,
        },
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let settings = GovernanceSettings {
        upgrade_proposal_contract: Some(contract.to_string()),
        auto_queue_upgrades: true,
        ..GovernanceSettings::default()
    };
    let mut service = wemixvisor_governance::GovernanceService::new(
        client(&node.url()),
        &Home::new(dir.path()),
        settings,
        MonitorConfig::default(),
    )
    .expect("service");
    let t = service.tick().await;
    assert_eq!(t.head, head(node.port));
    assert!(
        !t.consensus.as_ref().expect("consensus").istanbul_available,
        "anvil has no istanbul"
    );
    let g = t.governance.as_ref().expect("GovNCP");
    assert_eq!((g.open_proposal, g.ncp_count), (Some(0), 3));
    assert_eq!(
        t.feed
            .queue
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["v2.0.0"]
    );
    let has = |needle: &str| t.changes.iter().any(|c| c.contains(needle));
    assert!(has("GovNCP proposal 0 opened: NCPAdd"), "{:?}", t.changes);
    assert!(has("upgrade v2.0.0 at block"), "{:?}", t.changes);
    assert!(
        has("problem: fork heights: the node does not expose admin_nodeInfo"),
        "{:?}",
        t.changes
    );
    let status = serde_json::to_value(service.status()).expect("status serialises");
    assert_eq!(status["governance"]["open_proposal"], 0);

    let t = service.tick().await;
    assert!(t.changes.is_empty(), "{:?}", t.changes);
    assert!(t.feed.queue.is_empty());
    assert_eq!(t.problems.len(), 1, "{:?}", t.problems);
}
