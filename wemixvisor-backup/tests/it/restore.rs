use std::fs;
use std::process::Command;

use wemixvisor_backup::BackupError;
use wemixvisor_core::DataBackup;

use crate::Fixture;

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn restore_is_refused_while_the_node_runs() {
    let fx = Fixture::new(512 << 10);
    let snap = fx.manual("x");
    fs::write(fx.data().join("geth/nodekey"), b"changed").unwrap();
    let before = fx.live_state();

    // The supervisor writes the node's pid into state/node.pid.
    let node = Child(Command::new("sleep").arg("30").spawn().unwrap());
    let pid = node.0.id();
    fs::write(fx.home.node_pid_file(), format!("{pid}\n")).unwrap();
    let b = fx.backups();
    assert_eq!(b.running_process().map(|p| p.pid), Some(pid));
    let e = b.restore(&snap.id).unwrap_err();
    match &e {
        BackupError::NodeRunning { pid: p, what, .. } => {
            assert_eq!(*p, pid);
            assert_eq!(*what, "the node");
        }
        other => panic!("expected NodeRunning, got {other}"),
    }
    assert!(e.to_string().contains("wemixvisor stop"), "{e}");
    // Through the seam too.
    assert!(DataBackup::restore(&b, &snap.id)
        .unwrap_err()
        .to_string()
        .contains(&pid.to_string()));
    assert_eq!(fx.live_state(), before, "live data must be untouched");

    // Node gone (stale pid file): the restore goes ahead.
    drop(node);
    assert!(b.running_process().is_none());
    b.restore(&snap.id).unwrap();
    assert_ne!(fx.live_state(), before);
}

#[test]
fn a_supervisor_holding_its_lock_blocks_restore_but_our_own_lock_does_not() {
    let fx = Fixture::new(256 << 10);
    let snap = fx.manual("x");
    // This process as the supervisor (the upgrade pipeline calls restore
    // from inside the supervisor): allowed.
    let lock = wemixvisor_core::lock::PidLock::acquire(&fx.home.supervisor_pid_file()).unwrap();
    fx.backups().restore(&snap.id).unwrap();
    drop(lock);
    // Another process holding it: refused.
    let other = Child(Command::new("sleep").arg("30").spawn().unwrap());
    fs::write(fx.home.supervisor_pid_file(), format!("{}\n", other.0.id())).unwrap();
    let e = fx.backups().restore(&snap.id).unwrap_err();
    assert!(
        matches!(
            e,
            BackupError::NodeRunning {
                what: "wemixvisor",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn restore_refuses_incomplete_snapshots() {
    let fx = Fixture::new(256 << 10);
    let dir = fx
        .home
        .manual_backups_dir()
        .join("20200101T000000Z-partial");
    fs::create_dir_all(dir.join("data")).unwrap();
    let e = fx
        .backups()
        .restore("20200101T000000Z-partial")
        .unwrap_err();
    assert!(matches!(e, BackupError::Incomplete { .. }), "{e}");
    assert!(!e.is_bad_input());
}

/// Writes a restore journal as an interrupted restore would have left it.
fn journal(fx: &Fixture, phase: &str, staging: &std::path::Path, pre: &std::path::Path) {
    use std::os::unix::fs::MetadataExt;
    let md = fs::metadata(staging).unwrap();
    let j = serde_json::json!({
        "phase": phase,
        "snapshot": "manual/x",
        "live": fx.data(),
        "staging": staging,
        "pre_restore": pre,
        "staging_dev": md.dev(),
        "staging_ino": md.ino(),
    });
    fs::write(
        fx.home.backups_dir().join(".restore-journal.json"),
        j.to_string(),
    )
    .unwrap();
}

#[test]
fn an_interrupted_restore_is_finished_or_rolled_back_by_the_next_operation() {
    let fx = Fixture::new(256 << 10);
    let root = fx.home.root().to_path_buf();
    let live_state = fx.live_state();

    // Crash while copying: the half-filled staging directory goes, live stays.
    let staging = root.join("chain-data.restoring-20260101T000000Z");
    fs::create_dir(&staging).unwrap();
    fs::write(staging.join("half"), b"x").unwrap();
    journal(
        &fx,
        "copying",
        &staging,
        &root.join("chain-data.pre-restore-20260101T000000Z"),
    );
    fx.manual("after-crash-1");
    assert!(!staging.exists());
    assert_eq!(fx.live_state(), live_state);

    // Crash between "old data moved aside" and "new data moved in":
    // the verified staging directory is moved in.
    let pre = root.join("chain-data.pre-restore-20260101T000001Z");
    let staging = root.join("chain-data.restoring-20260101T000001Z");
    fs::create_dir(&staging).unwrap();
    fs::write(staging.join("restored"), b"new").unwrap();
    journal(&fx, "swapping", &staging, &pre);
    fs::rename(fx.data(), &pre).unwrap();
    fx.backups()
        .prune(&wemixvisor_backup::PruneRequest::default())
        .unwrap();
    assert_eq!(fs::read(fx.data().join("restored")).unwrap(), b"new");
    assert_eq!(crate::state_without_logs(&pre), live_state);
    assert!(!staging.exists());

    // Crash right after an exchange: the old data sits under the staging
    // name and is moved to its pre-restore name.
    let staging = root.join("chain-data.restoring-20260101T000002Z");
    let pre2 = root.join("chain-data.pre-restore-20260101T000002Z");
    fs::create_dir(&staging).unwrap();
    journal(&fx, "swapping", &staging, &pre2);
    let tmp = root.join("swap-tmp");
    fs::rename(fx.data(), &tmp).unwrap();
    fs::rename(&staging, fx.data()).unwrap();
    fs::rename(&tmp, &staging).unwrap();
    fx.manual("after-crash-3");
    assert!(pre2.join("restored").exists());
    assert!(!staging.exists());
    assert!(!fx.home.backups_dir().join(".restore-journal.json").exists());
}
