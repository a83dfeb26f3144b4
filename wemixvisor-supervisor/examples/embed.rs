//! Embeds a supervisor with a fake node and chain: start it, watch its
//! events, restart the node through the handle, stop.

use std::sync::Arc;

use wemixvisor_config::{Config, FlagOverrides};
use wemixvisor_core::{AlwaysAllow, Home};
use wemixvisor_supervisor::{Actor, Supervisor, SupervisorOptions};
use wemixvisor_testkit::chain::FakeChain;
use wemixvisor_testkit::node::FakeNode;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A home with a `current` link: what `wemixvisor init` makes.
    let dir = tempfile::tempdir()?;
    let home = Home::new(dir.path());
    std::fs::create_dir_all(home.genesis_bin("geth").parent().ok_or("no parent")?)?;
    std::fs::write(home.genesis_bin("geth"), "#!/bin/sh\n")?;
    std::os::unix::fs::symlink("genesis", home.current_link())?;
    std::fs::create_dir_all(home.data_dir())?;

    let opts = SupervisorOptions {
        home: home.clone(),
        config: Config::default(),
        cli_args: vec!["--http".into()],
        env: Arc::new(|_| None),
        flags: FlagOverrides::default(),
        version: "embedded".into(),
    };
    let node = FakeNode::new();
    let (sup, handle) = Supervisor::new(opts, node.clone(), FakeChain::at(1), AlwaysAllow);
    let mut events = handle.subscribe();
    let run = tokio::spawn(sup.run());

    let me = Actor::Cli { uid: 0 };
    while handle.status().node.state != "running" {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    println!("{}", handle.restart(false, me.clone()).await?);
    println!("{}", handle.stop(false, me).await?);
    println!("exit code {}", run.await??);
    while let Ok(e) = events.try_recv() {
        println!("event {}: {:?}", e.seq, e.event);
    }
    println!("node starts: {}", node.starts());
    Ok(())
}
