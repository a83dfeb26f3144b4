//! Prints where wemixvisor keeps everything under a home, and the platform
//! key (`os/arch`) this machine looks up in `info.binaries`.
//!
//! `cargo run -p wemixvisor-core --example home_layout -- /var/lib/wemix`

use wemixvisor_core::{Home, Platform};

fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/var/lib/wemix".into());
    let home = Home::new(root);
    println!("config file:        {}", home.config_file().display());
    println!("node options:       {}", home.node_options_file().display());
    println!("current binary:     {}", home.current_bin("geth").display());
    println!(
        "upgrade v1.2.0 bin: {}",
        home.upgrade_bin("v1.2.0", "geth").display()
    );
    println!("chain data:         {}", home.data_dir().display());
    println!("upgrade trigger:    {}", home.upgrade_info_file().display());
    println!("backups:            {}", home.backups_dir().display());
    let p = Platform::current();
    println!("platform:           {}/{}", p.os, p.arch);
}
