use std::fs;
use std::os::unix::fs::PermissionsExt;

use wemixvisor_backup::test_utils::{mutate_geth_like, write_file, TreeEntry};
use wemixvisor_backup::{
    BackupOptions, CreateRequest, SnapshotKind, SnapshotState, STORED_FILE_MODE,
};
use wemixvisor_core::DataBackup;

use crate::{mode, opts, state_without_logs, Fixture};

#[test]
fn create_modify_restore_gives_back_identical_data_and_modes() {
    let fx = Fixture::new(4 << 20);
    let data = fx.data();
    // Entries beyond plain files: a symlink, an empty dir, a socket (skipped).
    std::os::unix::fs::symlink("chaindata/CURRENT", data.join("geth/current-link")).unwrap();
    fs::create_dir_all(data.join("geth/empty")).unwrap();
    fs::set_permissions(data.join("geth/empty"), fs::Permissions::from_mode(0o750)).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(data.join("geth.ipc")).unwrap();
    let before = fx.live_state();

    let b = fx.backups();
    let made = b
        .create(&CreateRequest::manual(Some("before-change".into())))
        .unwrap();
    assert!(made.id.ends_with("-before-change"), "{}", made.id);
    assert_eq!(made.kind, SnapshotKind::Manual);
    assert!(made.path.starts_with(fx.home.manual_backups_dir()));
    assert_eq!(made.skipped_special, vec!["geth.ipc".to_string()]);
    assert!(made.parent.is_none());
    // Stored copies are read-only, secrets included; directories 0700.
    let stored = made.path.join("data/geth/nodekey");
    assert_eq!(mode(&stored), STORED_FILE_MODE);
    assert_eq!(mode(&made.path.join("data/geth")), 0o700);
    // Logs are excluded by default.
    assert!(!made.path.join("data/logs").exists());

    // The node changes its data; someone damages more.
    mutate_geth_like(&data, 0.05, 99).unwrap();
    fs::set_permissions(data.join("geth/nodekey"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::remove_file(data.join("keystore/UTC--2026-01-01T00-00-00.000000000Z--0123456789abcdef"))
        .unwrap();
    write_file(&data, "geth/chaindata/999999.ldb", b"new", 0o644).unwrap();
    let log_now = fs::read(data.join("logs/geth.log")).unwrap();
    let after_change = fx.live_state();
    assert_ne!(before, after_change);

    let r = b.restore(&made.id).unwrap();
    assert_eq!(r.id, made.id);
    assert_eq!(fx.live_state(), before, "restored data differs");
    assert_eq!(mode(&data.join("geth/nodekey")), 0o600);
    assert_eq!(mode(&data.join("keystore")), 0o700);
    assert!(matches!(
        state_without_logs(&data).get("geth/current-link"),
        Some(TreeEntry::Symlink { .. })
    ));
    // The old data is kept aside, and the logs came over from it.
    let pre = r.pre_restore.clone().unwrap();
    assert!(pre
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("chain-data.pre-restore-"));
    let mut pre_state = state_without_logs(&pre);
    pre_state.remove("geth.ipc");
    let mut expected_pre = after_change.clone();
    expected_pre.remove("geth.ipc");
    assert_eq!(pre_state, expected_pre);
    assert_eq!(fs::read(data.join("logs/geth.log")).unwrap(), log_now);
    assert!(
        r.carried_over.iter().any(|p| p == "logs"),
        "{:?}",
        r.carried_over
    );
    assert_eq!(b.pre_restore_copies().unwrap(), vec![pre]);
    // No staging or journal left behind.
    let names: Vec<String> = fs::read_dir(fx.home.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains(".restoring-")),
        "{names:?}"
    );
    assert!(!fx.home.backups_dir().join(".restore-journal.json").exists());
}

#[test]
fn durable_mode_and_the_data_backup_seam() {
    let fx = Fixture::new(1 << 20);
    let b = fx.backups_with(BackupOptions {
        fsync: true,
        ..opts()
    });
    let before = fx.live_state();
    let snap = b
        .snapshot_before_upgrade("pre-upgrade v1.2.0", Some(1234))
        .unwrap();
    assert!(snap.path.starts_with(fx.home.auto_backups_dir()));
    assert!(snap.id.ends_with("-pre-upgrade_v1.2.0"), "{}", snap.id);
    let listed = b.find(&snap.id).unwrap();
    assert_eq!(listed.state, SnapshotState::Complete);
    assert_eq!(listed.head_height, Some(1234));
    assert_eq!(listed.node_binary.as_deref(), Some("geth"));
    assert!(listed.is_good());

    fs::write(
        fx.data().join("geth/chaindata/CURRENT"),
        b"MANIFEST-000099\n",
    )
    .unwrap();
    DataBackup::restore(&b, &snap.id).unwrap();
    assert_eq!(fx.live_state(), before);
    let e = DataBackup::restore(&b, "nope").unwrap_err();
    assert!(e.to_string().contains("no snapshot 'nope'"), "{e}");
}

#[test]
fn symlinked_chain_data_is_restored_behind_the_link() {
    let fx = Fixture::new(1 << 20);
    let real = fx.home.root().join("disk2/chain");
    fs::create_dir_all(real.parent().unwrap()).unwrap();
    fs::rename(fx.data(), &real).unwrap();
    std::os::unix::fs::symlink(&real, fx.data()).unwrap();
    let before = fx.live_state();
    let snap = fx.manual("x");
    fs::remove_file(real.join("geth/nodekey")).unwrap();
    let r = fx.backups().restore(&snap.id).unwrap();
    assert!(fs::symlink_metadata(fx.data())
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fx.live_state(), before);
    assert!(r.pre_restore.unwrap().starts_with(real.parent().unwrap()));
}

#[test]
fn include_list_snapshots_part_and_restore_keeps_the_rest() {
    let fx = Fixture::new(1 << 20);
    let o = BackupOptions {
        include: vec!["geth/chaindata/**".into()],
        ..opts()
    };
    let b = fx.backups_with(o);
    let snap = b.create(&CreateRequest::manual(None)).unwrap();
    assert!(snap.path.join("data/geth/chaindata/CURRENT").exists());
    assert!(!snap.path.join("data/geth/nodekey").exists());
    assert!(!snap.path.join("data/keystore").exists());
    let key = fs::read(fx.data().join("geth/nodekey")).unwrap();
    b.restore(&snap.id).unwrap();
    // Not covered by the snapshot, so carried over rather than lost.
    assert_eq!(fs::read(fx.data().join("geth/nodekey")).unwrap(), key);
    assert!(fx.data().join("keystore").is_dir());
}
