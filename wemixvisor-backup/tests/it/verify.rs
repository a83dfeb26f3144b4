use std::fs;
use std::os::unix::fs::PermissionsExt;

use wemixvisor_backup::{BackupError, ProblemKind};

use crate::Fixture;

#[test]
fn verify_reports_flipped_byte_missing_and_extra() {
    let fx = Fixture::new(2 << 20);
    let s = fx.manual_copying("v");
    let b = fx.backups_with(crate::copying());
    let clean = b.verify(&s.id).unwrap();
    assert!(clean.ok());
    assert_eq!(clean.files_checked, s.totals.files);
    assert_eq!(clean.bytes_checked, s.totals.bytes);
    assert!(b.find(&s.id).unwrap().verified.unwrap().ok);

    let data = s.path.join("data");
    let flipped = data.join("geth/chaindata/000001.ldb");
    fs::set_permissions(&flipped, fs::Permissions::from_mode(0o600)).unwrap();
    let mut bytes = fs::read(&flipped).unwrap();
    bytes[100] ^= 0x01;
    fs::write(&flipped, &bytes).unwrap();
    fs::remove_file(data.join("geth/nodekey")).unwrap();
    fs::write(data.join("geth/chaindata/intruder.ldb"), b"x").unwrap();
    fs::create_dir(data.join("stray-dir")).unwrap();

    let r = b.verify(&s.id).unwrap();
    assert!(!r.ok());
    let kinds: Vec<(&str, &ProblemKind)> = r
        .problems
        .iter()
        .map(|p| (p.path.as_str(), &p.kind))
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:#?}");
    assert!(
        matches!(kinds[0], ("geth/chaindata/000001.ldb", ProblemKind::Changed { expected_size, actual_size, .. }) if expected_size == actual_size)
    );
    assert!(matches!(
        kinds[1],
        ("geth/chaindata/intruder.ldb", ProblemKind::Extra)
    ));
    assert!(matches!(kinds[2], ("geth/nodekey", ProblemKind::Missing)));
    assert!(matches!(kinds[3], ("stray-dir", ProblemKind::Extra)));
    let text = r.problems[0].to_string();
    assert!(
        text.starts_with("changed: 'geth/chaindata/000001.ldb': expected"),
        "{text}"
    );

    let info = b.find(&s.id).unwrap();
    assert!(!info.is_good());
    assert_eq!(info.verified.unwrap().problems, 4);

    // A restore of the damaged snapshot refuses and changes nothing.
    let before = fx.live_state();
    let e = b.restore(&s.id).unwrap_err();
    assert!(matches!(e, BackupError::Damaged { .. }), "{e}");
    assert!(e.to_string().contains("backup verify"), "{e}");
    assert_eq!(fx.live_state(), before);
    let names: Vec<String> = fs::read_dir(fx.home.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains(".restoring-") || n.contains(".pre-restore-")),
        "{names:?}"
    );
}

#[test]
fn unknown_and_ambiguous_ids_are_bad_input() {
    let fx = Fixture::new(256 << 10);
    let b = fx.backups();
    let e = b.verify("20991231T000000Z").unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("backup list"),
        "{e}"
    );
    let s1 = fx.manual("one");
    let s2 = fx.manual("two");
    // Unique prefix and kind/id both work.
    assert_eq!(b.find(&format!("manual/{}", s1.id)).unwrap().id, s1.id);
    assert_eq!(b.find(&s2.id[..s2.id.len() - 1]).unwrap().id, s2.id);
    // So does a snapshot's name.
    assert_eq!(b.find("one").unwrap().id, s1.id);
    let e = b.verify("20").unwrap_err();
    assert!(matches!(e, BackupError::AmbiguousSnapshot { .. }), "{e}");
    assert!(e.is_bad_input());
}
