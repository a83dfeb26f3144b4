//! Prints the systemd unit `wemixvisor init --systemd print` would write for
//! a home, and the default configuration for a network.
//!
//! `cargo run -p wemixvisor-config --example systemd_unit -- /srv/wemix`

use std::path::Path;

use wemixvisor_config::systemd::{render_systemd_unit, UnitSettings};
use wemixvisor_config::{render_default_config, Config, Network};

fn main() {
    let home = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/var/lib/wemix".into());
    let unit = render_systemd_unit(&UnitSettings {
        home: Path::new(&home),
        executable: Path::new("/usr/local/bin/wemixvisor"),
        user: Some("wemix"),
        shutdown_grace: Config::default().node.shutdown_grace,
    });
    println!("{unit}");
    println!("# --- wemixvisor.toml for testnet ---");
    println!("{}", render_default_config(Network::Testnet));
}
