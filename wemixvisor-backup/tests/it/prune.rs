use std::fs;
use std::time::Duration;

use wemixvisor_backup::test_utils::mutate_geth_like;
use wemixvisor_backup::{BackupOptions, PruneRequest, PrunedKind, SnapshotKind};
use wemixvisor_core::DataBackup;

use crate::{opts, Fixture};

#[test]
fn prune_keeps_newest_auto_leaves_manual_and_never_loses_linked_data() {
    let fx = Fixture::new(2 << 20);
    let b = fx.backups_with(BackupOptions {
        keep_auto: 10,
        ..opts()
    });
    let manual = fx.manual("keep-me");
    let mut autos = Vec::new();
    for i in 0..4 {
        mutate_geth_like(&fx.data(), 0.01, i).unwrap();
        autos.push(
            b.snapshot_before_upgrade(&format!("pre-upgrade-v{i}"), Some(i))
                .unwrap(),
        );
    }
    let newest_state = fx.live_state();
    assert_eq!(b.list().unwrap().len(), 5);

    // Dry run: reports, removes nothing.
    let dry = b
        .prune(&PruneRequest {
            keep: Some(1),
            dry_run: true,
            ..PruneRequest::default()
        })
        .unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.removed.len(), 3);
    assert_eq!(b.list().unwrap().len(), 5);

    let r = b
        .prune(&PruneRequest {
            keep: Some(1),
            ..PruneRequest::default()
        })
        .unwrap();
    let removed: Vec<&str> = r.removed.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        removed,
        autos[..3]
            .iter()
            .rev()
            .map(|a| a
                .path
                .strip_prefix(fx.home.backups_dir())
                .unwrap()
                .to_str()
                .unwrap())
            .collect::<Vec<_>>()
    );
    assert!(r.removed.iter().all(|p| p.what == PrunedKind::Snapshot));
    let left = b.list().unwrap();
    assert_eq!(left.len(), 2);
    assert!(left
        .iter()
        .any(|s| s.id == manual.id && s.kind == SnapshotKind::Manual));
    // The survivor shared most files with the removed ones: still whole.
    let last = &autos[3];
    assert!(b.verify(&last.id).unwrap().ok());
    fs::remove_file(fx.data().join("geth/nodekey")).unwrap();
    b.restore(&last.id).unwrap();
    assert_eq!(fx.live_state(), newest_state);

    // Manual snapshots go only when asked.
    let r = b
        .prune(&PruneRequest {
            keep: Some(0),
            ..PruneRequest::default()
        })
        .unwrap();
    assert_eq!(r.removed.len(), 1);
    assert_eq!(b.list().unwrap().len(), 1);
    let r = b
        .prune(&PruneRequest {
            keep: Some(0),
            manual: true,
            pre_restore: true,
            ..PruneRequest::default()
        })
        .unwrap();
    assert!(r.removed.iter().any(|p| p.what == PrunedKind::PreRestore));
    assert!(b.list().unwrap().is_empty());
    assert!(b.pre_restore_copies().unwrap().is_empty());
    assert!(r.freed_bytes > 0);
}

#[test]
fn retention_runs_after_each_auto_snapshot_and_respects_max_age() {
    let fx = Fixture::new(512 << 10);
    let b = fx.backups_with(BackupOptions {
        keep_auto: 2,
        ..opts()
    });
    let mut last = None;
    for i in 0..4 {
        last = Some(b.snapshot_before_upgrade(&format!("v{i}"), None).unwrap());
    }
    let autos: Vec<_> = b.list().unwrap();
    assert_eq!(autos.len(), 2);
    assert_eq!(autos[1].id, last.unwrap().id);

    // Everything is younger than a day: nothing goes.
    let young = fx.backups_with(BackupOptions {
        keep_auto: 0,
        max_age: Some(Duration::from_secs(86400)),
        ..opts()
    });
    assert!(young
        .prune(&PruneRequest::default())
        .unwrap()
        .removed
        .is_empty());
    // keep_auto 0 never removes the snapshot just taken.
    let zero = fx.backups_with(BackupOptions {
        keep_auto: 0,
        ..opts()
    });
    let s = zero.snapshot_before_upgrade("last", None).unwrap();
    let left = zero.list().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, s.id);
}

#[test]
fn freed_bytes_count_only_unshared_files() {
    let fx = Fixture::new(2 << 20);
    let a = fx.manual_copying("a");
    let b_ = fx.manual_copying("b");
    let b = fx.backups_with(crate::copying());
    let list = b.list().unwrap();
    let total: u64 = list.iter().map(|s| s.exclusive_disk_bytes).sum();
    // Nothing changed: b is all links, both hold almost nothing alone.
    assert!(total < 64 << 10, "{total}");
    assert_eq!(list[1].copied_bytes, 0);
    let r = b
        .prune(&PruneRequest {
            keep: Some(1),
            manual: true,
            dry_run: true,
            ..PruneRequest::default()
        })
        .unwrap();
    assert_eq!(r.removed.len(), 1);
    assert_eq!(r.removed[0].key, format!("manual/{}", a.id));
    assert!(r.freed_bytes < 64 << 10, "{}", r.freed_bytes);
    let both = b
        .prune(&PruneRequest {
            keep: Some(0),
            manual: true,
            dry_run: true,
            ..PruneRequest::default()
        })
        .unwrap();
    assert!(both.freed_bytes >= 2 << 20, "{}", both.freed_bytes);
    let _ = b_;
}
