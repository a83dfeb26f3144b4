//! Reads an `upgrade-info.json` trigger (cosmovisor format) and prints the
//! binary this machine would download for it.
//!
//! `cargo run -p wemixvisor-upgrade --example read_trigger -- chain-data/upgrade-info.json`

use std::path::PathBuf;

use wemixvisor_core::Platform;
use wemixvisor_upgrade::read_upgrade_info;

fn main() {
    let path = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        let p = std::env::temp_dir().join("wemixvisor-example-upgrade-info.json");
        let doc = r#"{"name": "v1.2.0", "height": 1234,
          "info": {"binaries": {"linux/amd64": "https://example.org/geth-linux-amd64.tar.gz?checksum=sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                                "any": "https://example.org/geth.tar.gz?checksum=sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}}}"#;
        if let Err(e) = std::fs::write(&p, doc) {
            eprintln!("cannot write '{}': {e}", p.display());
        }
        p
    });
    match read_upgrade_info(&path) {
        Ok(None) => println!("no trigger at '{}'", path.display()),
        Ok(Some(info)) => {
            println!("upgrade {} at height {}", info.name, info.height);
            match info.binary_for(&Platform::current()) {
                Ok(Some(b)) => println!("download {} (checksum {:?})", b.url, b.checksum),
                Ok(None) => println!("no binary for this platform: it must already be installed"),
                Err(e) => println!("bad binaries: {e}"),
            }
        }
        Err(e) => println!("not acted on: {e}"),
    }
}
