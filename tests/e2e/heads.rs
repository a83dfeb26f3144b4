//! New heads pushed over the node's IPC socket: the subscription client
//! against devnode and anvil, and an upgrade at a height carried out from
//! the subscription alone (the upgrade poll set to an hour).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use wemixvisor_core::{ChainError, HeadStream};
use wemixvisor_governance::heads::subscribe_ipc;
use wemixvisor_tests::*;

struct Node {
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(mut cmd: Command) -> Node {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Node {
        child: cmd.spawn().expect("spawn node"),
    }
}

fn devnode(datadir: &Path, extra: &[&str]) -> Node {
    let mut cmd = Command::new(devnode_bin());
    cmd.args(["--sim.block-period", "100ms", "--sim.quiet", "--datadir"])
        .arg(datadir)
        .args(extra);
    spawn(cmd)
}

fn wait_file(p: &Path) -> bool {
    wait_for(Duration::from_secs(20), || p.exists().then_some(())).is_some()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Subscribes at `sock` and collects `n` heads.
fn follow(sock: &Path, n: usize) -> Vec<u64> {
    runtime().block_on(async {
        let mut s = subscribe_ipc(sock, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("subscribe at {}: {e}", sock.display()));
        let mut seen = Vec::new();
        while seen.len() < n {
            let h = tokio::time::timeout(Duration::from_secs(10), s.next_head())
                .await
                .expect("no head within 10s")
                .expect("the subscription ended");
            seen.push(h);
        }
        seen
    })
}

#[test]
fn the_subscription_client_follows_devnode_over_geth_ipc() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    let _node = devnode(&data, &[]);
    let sock = data.join("geth.ipc");
    assert!(wait_file(&sock), "devnode never opened {}", sock.display());
    let heads = follow(&sock, 5);
    assert!(heads.windows(2).all(|w| w[1] > w[0]), "{heads:?}");
    assert!(heads[0] >= 1, "{heads:?}");
}

#[test]
fn devnode_honours_ipcpath_and_ipcdisable_like_geth() {
    let d = tempfile::tempdir().unwrap();
    // a bare name lives in the datadir
    let data = d.path().join("a");
    let node = devnode(&data, &["--ipcpath", "other.ipc"]);
    assert!(wait_file(&data.join("other.ipc")));
    assert!(!data.join("geth.ipc").exists());
    assert_eq!(follow(&data.join("other.ipc"), 1).len(), 1);
    drop(node);
    // a path is taken as it is
    let own: PathBuf = d.path().join("run/node.ipc");
    let _b = devnode(&d.path().join("b"), &["--ipcpath", own.to_str().unwrap()]);
    assert!(wait_file(&own));
    // none at all
    let c = d.path().join("c");
    let _c = devnode(&c, &["--ipcdisable"]);
    assert!(
        wait_file(&c.join("devnode/head")),
        "devnode never made a block"
    );
    assert!(!c.join("geth.ipc").exists());
    let e = runtime()
        .block_on(subscribe_ipc(&c.join("geth.ipc"), Duration::from_secs(2)))
        .unwrap_err();
    assert!(matches!(e, ChainError::Unreachable { .. }), "{e}");
}

#[test]
fn the_subscription_client_follows_anvil_over_ipc() {
    let Some(anvil) = anvil() else { return };
    let d = tempfile::tempdir().unwrap();
    let sock = d.path().join("anvil.ipc");
    let mut cmd = Command::new(anvil);
    cmd.args([
        "--port",
        &free_port().to_string(),
        "--block-time",
        "1",
        "--silent",
    ])
    .arg(format!("--ipc={}", sock.display()));
    let _node = spawn(cmd);
    assert!(wait_file(&sock), "anvil never opened {}", sock.display());
    let heads = follow(&sock, 2);
    assert!(heads[1] > heads[0], "{heads:?}");
}

#[test]
fn an_upgrade_at_its_height_fires_from_the_subscription_with_polling_an_hour_apart() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 200ms");
    h.install_upgrade("v2", "v2.0.0", "--sim.block-period 200ms");
    h.ok(&["config", "set", "upgrade.poll_interval", "1h"]);
    h.ok(&["config", "set", "health.interval", "1h"]);
    let port = h.port.to_string();
    let mut run = h.spawn_run(&["--http.port", &port]);
    let start = wait_for(Duration::from_secs(20), || head(h.port).filter(|&n| n >= 2))
        .unwrap_or_else(|| panic!("node never produced blocks\n{}", run.log()));
    let height = start + 10;
    h.write_upgrade_info(&format!(r#"{{"name":"v2","height":{height}}}"#));
    assert!(
        run.wait_log("following the node's new heads", Duration::from_secs(20)),
        "no head subscription\n{}",
        run.log()
    );
    let v = wait_for(Duration::from_secs(30), || {
        client_version(h.port).filter(|v| v.contains("v2.0.0"))
    });
    assert!(v.is_some(), "never switched to v2\n{}", run.log());
    assert_eq!(h.current(), Path::new("upgrades/v2"));
    // The head that fired it reaches status.json once the switch is over.
    let status_head = || -> Option<u64> {
        let bytes = std::fs::read(h.root.join("state/status.json")).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        v["chain"]["head"].as_u64()
    };
    let seen = wait_for(Duration::from_secs(20), || {
        status_head().filter(|&s| s >= height)
    });
    assert!(
        seen.is_some(),
        "status.json head {:?} < {height}\n{}",
        status_head(),
        run.log()
    );
    run.signal(Sig::SIGTERM);
    assert!(run.wait_exit(Duration::from_secs(20)).is_some());
}
