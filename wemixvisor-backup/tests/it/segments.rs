//! Tables shared with a stopped node's data, freezer files stored as the
//! parent's segments plus a tail, and what happens when either contract
//! (tables immutable, freezer append-only) is broken.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::time::{Duration, SystemTime};

use filetime::FileTime;
use wemixvisor_backup::test_utils::{append_random, mutate_geth_like, Rng};
use wemixvisor_backup::{segment_path, BackupError, Manifest, ProblemKind};

use crate::{ino, Fixture};

fn manifest(dir: &std::path::Path) -> Manifest {
    Manifest::load(&dir.join("manifest.json")).unwrap()
}

/// Moves a file's mtime forward, out of the racy window, as a writer would.
fn touch(p: &std::path::Path, secs_ago: u64) {
    let t = SystemTime::now() - Duration::from_secs(secs_ago);
    filetime::set_file_mtime(p, FileTime::from_system_time(t)).unwrap();
}

const HEAD: &str = "geth/chaindata/ancient/bodies.0000.cdat";

#[test]
fn tables_are_shared_with_a_stopped_node_and_nothing_else_is() {
    let fx = Fixture::new(2 << 20);
    let state = fx.live_state();
    let a = fx.manual("a");
    let m = manifest(&a.path);
    let mut tables = 0;
    for e in &m.files {
        let stored = a.path.join("data").join(&e.path);
        let is_table = e.path.ends_with(".ldb");
        tables += u64::from(is_table);
        // On a filesystem that clones, tables are cloned instead.
        let shared = is_table && a.cloned_files == 0;
        assert_eq!(e.shared_with_live, shared, "{}", e.path);
        assert_eq!(
            ino(&stored) == ino(&fx.data().join(&e.path)),
            shared,
            "{}",
            e.path
        );
    }
    assert!(tables > 0);
    assert_eq!(a.totals.shared_live_files + a.cloned_files, tables);

    // The node compacts: tables disappear from the live data, new ones come.
    mutate_geth_like(&fx.data(), 0.05, 9).unwrap();
    let gone: Vec<_> = m
        .files
        .iter()
        .filter(|e| e.shared_with_live && !fx.data().join(&e.path).exists())
        .collect();
    assert!(!gone.is_empty() || a.cloned_files > 0);
    let b = fx.backups();
    assert!(b.verify(&a.id).unwrap().ok());
    b.restore(&a.id).unwrap();
    assert_eq!(fx.live_state(), state);
    // The restored data shares nothing with the snapshot.
    for e in &m.files {
        assert_ne!(
            ino(&fx.data().join(&e.path)),
            ino(&a.path.join("data").join(&e.path)),
            "{}",
            e.path
        );
    }
}

#[test]
fn a_running_node_gets_its_tables_copied() {
    let fx = Fixture::new(1 << 20);
    // A live process in the node's pid file.
    let mut node = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    fs::write(fx.home.node_pid_file(), node.id().to_string()).unwrap();
    let a = fx.manual("a");
    let _ = node.kill();
    let _ = node.wait();
    assert!(a.node_pid.is_some());
    assert_eq!(a.totals.shared_live_files, 0);
    for e in &manifest(&a.path).files {
        assert!(!e.shared_with_live, "{}", e.path);
        assert_ne!(
            ino(&a.path.join("data").join(&e.path)),
            ino(&fx.data().join(&e.path))
        );
    }
}

#[test]
fn a_table_modified_in_place_after_the_snapshot_is_detected() {
    let fx = Fixture::new(1 << 20);
    let a = fx.manual("a");
    if a.cloned_files > 0 {
        return; // Clones share nothing with the live data: nothing to detect.
    }
    let table = "geth/chaindata/000002.ldb";
    let live = fx.data().join(table);
    let mut f = OpenOptions::new().write(true).open(&live).unwrap();
    f.write_all(b"REWRITTEN").unwrap();
    drop(f);
    touch(&live, 60);
    let b = fx.backups();
    let r = b.verify(&a.id).unwrap();
    assert!(!r.ok());
    assert!(
        r.problems.iter().all(|p| p.path == table),
        "{:?}",
        r.problems
    );
    assert!(r
        .problems
        .iter()
        .any(|p| matches!(p.kind, ProblemKind::Changed { .. })));
    assert!(r.problems.iter().any(
        |p| matches!(&p.kind, ProblemKind::WrongEntry { actual, .. } if actual.contains("modified in place"))
    ));
    // Restore refuses a damaged snapshot rather than restore wrong bytes.
    assert!(matches!(
        b.restore(&a.id).unwrap_err(),
        BackupError::Damaged { .. }
    ));
    // The next snapshot does not trust the parent's copy: it records the
    // new content, and verifies.
    let c = fx.manual("c");
    let mc = manifest(&c.path);
    let ma = manifest(&a.path);
    let old = ma.files.iter().find(|e| e.path == table).unwrap();
    let new = mc.files.iter().find(|e| e.path == table).unwrap();
    assert_ne!(old.sha256, new.sha256);
    assert!(b.verify(&c.id).unwrap().ok());
}

#[test]
fn freezer_appends_are_stored_as_tails_and_restore_byte_identical() {
    let fx = Fixture::new(2 << 20);
    let mut rng = Rng::new(3);
    let head = fx.data().join(HEAD);
    let a = fx.manual("a");
    let state_a = fx.live_state();
    append_random(&head, 5000, &mut rng).unwrap();
    touch(&head, 30);
    let b = fx.manual("b");
    let state_b = fx.live_state();
    append_random(&head, 7000, &mut rng).unwrap();
    touch(&head, 20);
    let c = fx.manual("c");
    let state_c = fx.live_state();
    assert_eq!(c.totals.tail_files, 1, "{:?}", c.totals);
    assert_eq!(c.totals.tail_bytes, 7000);

    let ma = manifest(&a.path);
    let mc = manifest(&c.path);
    let ea = ma.files.iter().find(|e| e.path == HEAD).unwrap();
    let ec = mc.files.iter().find(|e| e.path == HEAD).unwrap();
    assert_eq!(ec.segments.len(), 3);
    assert_eq!(ec.segments[0].len, ea.size);
    assert_eq!(ec.segments[0].sha256, ea.sha256);
    assert_eq!(ec.segments[1].len, 5000);
    assert_eq!(ec.segments[2].len, 7000);
    assert_eq!(ec.size, ea.size + 12000);
    // Prefix and the first tail are the older snapshots' files.
    assert_eq!(
        ino(&segment_path(&c.path, HEAD, 0)),
        ino(&segment_path(&a.path, HEAD, 0))
    );
    assert_eq!(
        ino(&segment_path(&c.path, HEAD, 1)),
        ino(&segment_path(&b.path, HEAD, 1))
    );

    let bk = fx.backups();
    let v = bk.verify(&c.id).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!(v.bytes_checked, c.totals.bytes);
    // Older snapshots go; the chain's data lives on in c.
    fs::remove_dir_all(&a.path).unwrap();
    fs::remove_dir_all(&b.path).unwrap();
    assert!(bk.verify(&c.id).unwrap().ok());
    bk.restore(&c.id).unwrap();
    assert_eq!(fx.live_state(), state_c);
    let _ = (state_a, state_b);

    // A damaged tail segment: verify names it, restore refuses.
    let tail = segment_path(&c.path, HEAD, 2);
    let mut perms = fs::metadata(&tail).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&tail, perms).unwrap();
    let mut bytes = fs::read(&tail).unwrap();
    bytes[10] ^= 1;
    fs::write(&tail, &bytes).unwrap();
    fs::write(c.path.join("segments/stray.1"), b"x").unwrap();
    let v = bk.verify(&c.id).unwrap();
    let found: Vec<(&str, &ProblemKind)> = v
        .problems
        .iter()
        .map(|p| (p.path.as_str(), &p.kind))
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found
        .iter()
        .any(|(p, k)| *p == format!("{HEAD}.2") && matches!(k, ProblemKind::Changed { .. })));
    assert!(found
        .iter()
        .any(|(p, k)| *p == "stray.1" && matches!(k, ProblemKind::Extra)));
    assert!(matches!(
        bk.restore(&c.id).unwrap_err(),
        BackupError::Damaged { .. }
    ));
    assert_eq!(fx.live_state(), state_c);
}

#[test]
fn a_truncated_or_rewritten_freezer_file_is_copied_whole() {
    let fx = Fixture::new(2 << 20);
    let mut rng = Rng::new(4);
    let head = fx.data().join(HEAD);
    let a = fx.manual("a");
    let state_a = fx.live_state();
    let size_a = fs::metadata(&head).unwrap().len();

    // geth's repair on start cuts the end off.
    OpenOptions::new()
        .write(true)
        .open(&head)
        .unwrap()
        .set_len(size_a - 100)
        .unwrap();
    touch(&head, 40);
    let b = fx.manual("b");
    let state_b = fx.live_state();
    let eb = manifest(&b.path);
    let eb = eb.files.iter().find(|e| e.path == HEAD).unwrap();
    assert!(eb.segments.is_empty());
    assert_eq!(eb.size, size_a - 100);
    assert_eq!(b.totals.tail_files, 0);

    // Cut further and written past the old end with other bytes: the
    // boundary check sees the rewrite, so no tail is stored.
    OpenOptions::new()
        .write(true)
        .open(&head)
        .unwrap()
        .set_len(size_a - 1000)
        .unwrap();
    append_random(&head, 3000, &mut rng).unwrap();
    touch(&head, 30);
    let c = fx.manual("c");
    let state_c = fx.live_state();
    let mc = manifest(&c.path);
    let ec = mc.files.iter().find(|e| e.path == HEAD).unwrap();
    assert!(ec.segments.is_empty(), "{:?}", ec.segments);
    assert_eq!(c.totals.tail_files, 0);

    let bk = fx.backups();
    for (id, state) in [(&a.id, &state_a), (&b.id, &state_b), (&c.id, &state_c)] {
        assert!(bk.verify(id).unwrap().ok());
        bk.restore(id).unwrap();
        assert_eq!(&fx.live_state(), state, "{id}");
    }
}

#[test]
fn format_1_manifests_still_verify_and_restore() {
    let fx = Fixture::new(1 << 20);
    let a = fx.manual_copying("a");
    let state = fx.live_state();
    let path = a.path.join("manifest.json");
    let mut json: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    json["format"] = 1.into();
    for k in [
        "shared_live_files",
        "shared_live_bytes",
        "tail_files",
        "tail_bytes",
    ] {
        json["totals"].as_object_mut().unwrap().remove(k);
    }
    fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    assert_eq!(manifest(&a.path).format, 1);
    mutate_geth_like(&fx.data(), 0.05, 2).unwrap();
    let b = fx.backups();
    assert!(b.verify(&a.id).unwrap().ok());
    b.restore(&a.id).unwrap();
    assert_eq!(fx.live_state(), state);
}
