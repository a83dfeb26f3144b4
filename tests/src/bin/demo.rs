//! `cargo xtask demo`: a temporary home with a simulated Wemix node (devnode
//! v1.0.0), an upgrade to v2.0.0 scheduled a few blocks ahead through
//! `upgrade-info.json`, the switch-over as the supervisor logs it, and the
//! new version and height at the end.

use std::time::{Duration, Instant};

use wemixvisor_tests::*;

fn main() {
    let started = Instant::now();
    let h = TestHome::new();
    println!("== wemixvisor demo ==");
    println!("home: {}", h.root.display());
    h.init_devnode("--sim.block-period 300ms --sim.quiet");
    h.install_upgrade("v2.0.0", "v2.0.0", "--sim.block-period 300ms --sim.quiet");
    println!("installed genesis (devnode v1.0.0) and upgrades/v2.0.0 (devnode v2.0.0)");

    let port = h.port.to_string();
    let mut cmd = h.wemixvisor();
    cmd.args(["run", "--http.port", &port]);
    let mut run = Running::spawn(cmd, h.root.join("state/node.pid"), true);

    let Some(start) = wait_for(Duration::from_secs(30), || head(h.port).filter(|&n| n >= 3)) else {
        eprintln!("the node did not come up");
        std::process::exit(1);
    };
    let height = start + 10;
    println!(
        "\n>> node at height {start} running {}; scheduling upgrade v2.0.0 at height {height}\n",
        client_version(h.port).unwrap_or_default()
    );
    h.write_upgrade_info(&format!(r#"{{"name":"v2.0.0","height":{height}}}"#));

    let Some(version) = wait_for(Duration::from_secs(40), || {
        client_version(h.port).filter(|v| v.contains("v2.0.0"))
    }) else {
        eprintln!("the upgrade did not happen");
        std::process::exit(1);
    };
    std::thread::sleep(Duration::from_secs(1));
    let after = head(h.port).unwrap_or_default();
    println!(
        "\n>> upgraded: current -> {}; node reports {version} at height {after} (upgrade height {height})",
        h.current().display()
    );
    run.signal(Sig::SIGTERM);
    let status = run.wait_exit(Duration::from_secs(30));
    println!(
        ">> supervisor stopped the node and exited ({}) after {:.1?}",
        status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "still running".into()),
        started.elapsed()
    );
}
