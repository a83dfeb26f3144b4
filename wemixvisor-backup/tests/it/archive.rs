use std::fs;
use std::io::Read;

use sha2::{Digest, Sha256};

use crate::Fixture;

#[test]
fn archive_holds_manifest_and_data_with_its_checksum() {
    let fx = Fixture::new(1 << 20);
    let s = fx.manual("arc");
    let r = fx.backups().archive(&s.id).unwrap();
    let bytes = fs::read(&r.path).unwrap();
    assert_eq!(bytes.len() as u64, r.bytes);
    let sum = Sha256::digest(&bytes);
    let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, r.sha256);
    let line = fs::read_to_string(&r.sha256_file).unwrap();
    assert_eq!(line, format!("{hex}  {}.tar.zst\n", s.id));

    let dec = zstd::stream::read::Decoder::new(&bytes[..]).unwrap();
    let mut tar = tar::Archive::new(dec);
    let mut names = Vec::new();
    let mut nodekey = Vec::new();
    for e in tar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        if name.ends_with("data/geth/nodekey") {
            assert_eq!(e.header().mode().unwrap(), 0o600);
            e.read_to_end(&mut nodekey).unwrap();
        }
        names.push(name);
    }
    assert!(names.contains(&format!("{}/manifest.json", s.id)));
    assert!(names.iter().any(|n| n.ends_with(".ldb")));
    assert_eq!(nodekey, fs::read(fx.data().join("geth/nodekey")).unwrap());
    // The export sits beside the data and does not upset verify.
    assert!(fx.backups().verify(&s.id).unwrap().ok());
    assert_eq!(fx.backups().find(&s.id).unwrap().archive, Some(r.path));
}
