//! Parses a signed release manifest's document (as published beside its
//! `.minisig`) into the upgrade plans the supervisor would queue; reads a
//! file when given, e.g. the `manifest.json` of `cargo xtask dist`.
//!
//! `cargo run -p wemixvisor-governance --example release_manifest -- target/dist/manifest.json`

use wemixvisor_governance::manifest::parse_manifest;

const SAMPLE: &str = r#"{"version": 1, "upgrades": [
  {"name": "v1.2.0", "height": 1234000,
   "binaries": {"linux/amd64": "https://example.org/geth-linux-amd64.tar.gz?checksum=sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}}]}"#;

fn main() {
    let body = match std::env::args().nth(1) {
        Some(path) => match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("cannot read '{path}': {e}");
                std::process::exit(2);
            }
        },
        None => SAMPLE.as_bytes().to_vec(),
    };
    match parse_manifest(&body) {
        Ok(plans) => {
            for p in plans {
                println!("{} at height {} (from {})", p.name, p.height, p.source);
            }
        }
        Err(e) => {
            eprintln!("manifest refused: {e}");
            std::process::exit(1);
        }
    }
}
