use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};

use wemixvisor_backup::test_utils::{mutate_geth_like, write_file};
use wemixvisor_backup::Manifest;

use crate::{ino, Fixture};

#[test]
fn unchanged_files_share_inodes_with_the_parent_and_survive_live_changes() {
    let fx = Fixture::new(4 << 20);
    let a = fx.manual_copying("a");
    let m = mutate_geth_like(&fx.data(), 0.02, 5).unwrap();
    assert!(m.new_files > 0 && m.deleted_files > 0 && m.appended_files > 0);
    let state_b = fx.live_state();
    let b = fx.manual_copying("b");
    assert_eq!(
        b.parent.as_deref(),
        Some(format!("manual/{}", a.id).as_str())
    );
    assert!(b.totals.linked_files > 0);
    assert!(b.totals.copied_bytes < b.totals.bytes / 4, "{:?}", b.totals);

    let ma = Manifest::load(&a.path.join("manifest.json")).unwrap();
    let mb = Manifest::load(&b.path.join("manifest.json")).unwrap();
    let mut shared = 0;
    let mut tails = 0;
    for e in &mb.files {
        let in_b = b.path.join("data").join(&e.path);
        match ma.files.iter().find(|x| x.path == e.path) {
            Some(old) if old.sha256 == e.sha256 && old.mtime == e.mtime => {
                assert_eq!(
                    ino(&in_b),
                    ino(&a.path.join("data").join(&e.path)),
                    "{}",
                    e.path
                );
                shared += 1;
            }
            // Appended freezer files keep the parent's copy as their prefix.
            Some(old) if !e.segments.is_empty() => {
                assert_eq!(
                    ino(&in_b),
                    ino(&a.path.join("data").join(&e.path)),
                    "{}",
                    e.path
                );
                assert_eq!(e.segments[0].len, old.size);
                assert_eq!(e.segments[0].sha256, old.sha256);
                tails += 1;
            }
            Some(_) => assert_ne!(
                ino(&in_b),
                ino(&a.path.join("data").join(&e.path)),
                "{}",
                e.path
            ),
            None => {}
        }
        // Never linked to the live data.
        assert_ne!(ino(&in_b), ino(&fx.data().join(&e.path)), "{}", e.path);
    }
    assert_eq!(shared, b.totals.linked_files);
    assert_eq!(tails, b.totals.tail_files);
    assert!(tails >= m.appended_files / 2, "{tails} tails, {m:?}");

    // The node now changes files in place, same size, and appends to others:
    // neither snapshot may see it.
    // An old table, shared by both snapshots, that the next compaction keeps.
    let some_ldb = mb
        .files
        .iter()
        .rev()
        .filter(|e| e.path.ends_with(".ldb"))
        .find(|e| {
            ma.files
                .iter()
                .any(|x| x.path == e.path && x.sha256 == e.sha256)
        })
        .unwrap();
    let mut f = OpenOptions::new()
        .write(true)
        .open(fx.data().join(&some_ldb.path))
        .unwrap();
    f.seek(SeekFrom::Start(10)).unwrap();
    f.write_all(b"CHANGED IN PLACE").unwrap();
    drop(f);
    mutate_geth_like(&fx.data(), 0.02, 6).unwrap();
    let backups = fx.backups_with(crate::copying());
    assert!(backups.verify(&a.id).unwrap().ok());
    assert!(backups.verify(&b.id).unwrap().ok());

    // A third snapshot copies the in-place change (its mtime moved).
    let c = fx.manual_copying("c");
    assert_eq!(
        c.parent.as_deref(),
        Some(format!("manual/{}", b.id).as_str())
    );
    let mc = Manifest::load(&c.path.join("manifest.json")).unwrap();
    let changed = mc.files.iter().find(|e| e.path == some_ldb.path).unwrap();
    assert_ne!(changed.sha256, some_ldb.sha256);
    assert!(backups.verify(&c.id).unwrap().ok());

    // Restoring the middle snapshot gives exactly its data.
    backups.restore(&b.id).unwrap();
    assert_eq!(fx.live_state(), state_b);
}

#[test]
fn files_written_just_before_the_parent_are_copied_again_not_trusted() {
    let fx = Fixture::new(1 << 20);
    // Written "now": racy for the first snapshot.
    write_file(&fx.data(), "geth/chaindata/hot.ldb", b"v1", 0o644).unwrap();
    let a = fx.manual_copying("a");
    let b = fx.manual_copying("b");
    let ma = Manifest::load(&a.path.join("manifest.json")).unwrap();
    assert!(b.totals.linked_files > 0);
    let hot = "geth/chaindata/hot.ldb";
    assert!(ma.files.iter().any(|e| e.path == hot));
    assert_ne!(
        ino(&a.path.join("data").join(hot)),
        ino(&b.path.join("data").join(hot)),
        "a file modified within the racy window must be copied"
    );
    assert_eq!(b.totals.copied_files, 1, "{:?}", b.totals);
}

#[test]
fn a_damaged_parent_is_not_used() {
    let fx = Fixture::new(1 << 20);
    let a = fx.manual("a");
    let victim = a.path.join("data/geth/nodekey");
    fs::remove_file(&victim).unwrap();
    assert!(!fx.backups().verify(&a.id).unwrap().ok());
    let b = fx.manual("b");
    assert_eq!(b.parent, None);
    assert_eq!(b.totals.linked_files, 0);
    assert!(fx.backups().verify(&b.id).unwrap().ok());
}
