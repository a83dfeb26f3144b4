use std::fs;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use wemixvisor_backup::{BackupError, CancelFlag, CreateRequest, Phase, Progress, SnapshotState};

use crate::Fixture;

/// Cancels the operation after some bytes, like a SIGINT handler would.
struct CancelAfter {
    flag: CancelFlag,
    after: u64,
    seen: AtomicU64,
}

impl Progress for CancelAfter {
    fn begin(&self, _phase: Phase, _total: u64, _files: u64) {}
    fn advance(&self, bytes: u64) {
        if self.seen.fetch_add(bytes, Ordering::SeqCst) + bytes >= self.after {
            self.flag.cancel();
        }
    }
    fn note(&self, _m: &str) {}
    fn finish(&self, _phase: Phase) {}
}

#[test]
fn cancelled_create_leaves_nothing_listed_as_good() {
    let fx = Fixture::new(4 << 20);
    let flag = CancelFlag::new();
    let p = Arc::new(CancelAfter {
        flag: flag.clone(),
        after: 1 << 20,
        seen: AtomicU64::new(0),
    });
    let b = fx.with_progress(p).with_cancel(flag);
    let before = fx.live_state();
    let e = b
        .create(&CreateRequest::manual(Some("cut".into())))
        .unwrap_err();
    assert!(matches!(e, BackupError::Cancelled), "{e}");
    assert!(
        b.list().unwrap().is_empty(),
        "the partial snapshot must be gone"
    );
    assert_eq!(
        fx.live_state(),
        before,
        "create never touches the live data"
    );
    assert!(!fx.home.backups_dir().join(".lock").exists());
}

#[test]
fn a_crashed_create_is_incomplete_never_a_parent_and_cleaned_next_time() {
    let fx = Fixture::new(1 << 20);
    let good = fx.manual("good");
    // What a kill -9 mid-copy leaves: a newer snapshot dir with data, no manifest.
    let crashed = fx
        .home
        .manual_backups_dir()
        .join("20991231T235959Z-crashed");
    fs::create_dir_all(crashed.join("data/geth")).unwrap();
    fs::write(crashed.join("data/geth/nodekey"), b"half").unwrap();
    let b = fx.backups();
    let listed = b.list().unwrap();
    let bad = listed
        .iter()
        .find(|s| s.id == "20991231T235959Z-crashed")
        .unwrap();
    assert_eq!(bad.state, SnapshotState::Incomplete);
    assert!(!bad.is_good());
    assert!(listed.iter().find(|s| s.id == good.id).unwrap().is_good());
    assert!(b.verify("20991231T235959Z-crashed").is_err());

    let next = fx.manual("next");
    assert_eq!(
        next.removed_incomplete,
        vec!["manual/20991231T235959Z-crashed".to_string()]
    );
    assert_eq!(
        next.parent.as_deref(),
        Some(format!("manual/{}", good.id).as_str())
    );
    assert!(!crashed.exists());
}

#[test]
fn a_second_operation_waits_for_the_lock() {
    let fx = Fixture::new(256 << 10);
    let b = fx.backups();
    // Another holder of the backups lock (a separate open file, as another
    // process would have): operations fail fast naming it.
    let lock = fx.home.backups_dir().join(".lock");
    let _held = wemixvisor_core::lock::PidLock::acquire(&lock).unwrap();
    let e = b.create(&CreateRequest::manual(None)).unwrap_err();
    assert!(matches!(e, BackupError::Busy { .. }), "{e}");
}
