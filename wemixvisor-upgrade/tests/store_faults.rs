//! The binary store's install transaction under disk faults: ENOSPC and
//! EIO injected at every file-system call of `staging` + `install_tree`, in
//! turn. After each failure `upgrades/<name>` is either the complete
//! previous copy or absent (when there was none), never half of the new
//! one; `current` is never touched; and a run with no fault installs the
//! new copy complete.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use wemixvisor_core::{Home, OsFs};
use wemixvisor_testkit::fs::{Fault, FaultFs, FsOp};
use wemixvisor_testkit::scripts::write_script;
use wemixvisor_upgrade::{BinaryStore, SourceMarker};

const MARKER: &str = ".wemixvisor-source.json";

fn home() -> (tempfile::TempDir, Home) {
    let d = tempfile::tempdir().unwrap();
    let home = Home::new(d.path());
    write_script(&home.genesis_bin("geth"), "echo genesis").unwrap();
    std::fs::create_dir_all(home.upgrades_dir()).unwrap();
    std::os::unix::fs::symlink("genesis", home.current_link()).unwrap();
    (d, home)
}

fn marker(tag: &str) -> SourceMarker {
    SourceMarker {
        url: format!("file:///{tag}"),
        download_sha256: tag.into(),
        binary_sha256: tag.into(),
        info_url: None,
    }
}

/// A complete copy: its binary, executable, with `body`, and its marker.
fn copy_of(dir: &Path) -> Option<(String, String)> {
    let bin = dir.join("bin/geth");
    let body = std::fs::read_to_string(&bin).ok()?;
    assert!(
        wemixvisor_core::atomic::is_executable(&bin),
        "'{}' is not executable",
        bin.display()
    );
    let m: SourceMarker = serde_json::from_slice(&std::fs::read(dir.join(MARKER)).ok()?).ok()?;
    Some((body, m.binary_sha256))
}

fn upgrades_entries(home: &Home) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(home.upgrades_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Installs a new "v2" through a store over `fs`; the tree is written by
/// the caller's download (outside the seam), the transaction through it.
fn install(home: &Home, fs: &FaultFs<OsFs>) -> Result<(), String> {
    let store = BinaryStore::new(home.clone(), "geth", fs.clone());
    let staging = store.staging("v2").map_err(|e| e.to_string())?;
    let tree = staging.path().join("tree");
    write_script(&tree.join("bin/geth"), "echo new").map_err(|e| e.to_string())?;
    std::fs::write(tree.join("upgrade-info.json"), b"{}").map_err(|e| e.to_string())?;
    store
        .install_tree("v2", staging, &tree, &marker("new"))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn every_call_index(with_old_copy: bool) {
    for fault in [Fault::NoSpace, Fault::Io] {
        let mut failures = 0;
        for n in 1.. {
            let (_d, home) = home();
            let target = home.upgrade_dir("v2");
            if with_old_copy {
                write_script(&target.join("bin/geth"), "echo old").unwrap();
                std::fs::write(
                    target.join(MARKER),
                    serde_json::to_vec(&marker("old")).unwrap(),
                )
                .unwrap();
            }
            let fs = FaultFs::new(OsFs);
            fs.fail_at(None, n, fault);
            let r = install(&home, &fs);
            assert_eq!(
                std::fs::read_link(home.current_link()).unwrap(),
                Path::new("genesis"),
                "{fault:?} at call {n}: current moved"
            );
            let now = copy_of(&target);
            // A read of an optional file that is absent (release.json) fails
            // either way: past the transaction's last call.
            let optional_read = matches!(fs.injected(), Some((FsOp::Read, ref p)) if !p.exists());
            match (&r, fs.injected().filter(|_| !optional_read)) {
                (Ok(()), None) => {
                    // Every call index was tried: the clean run installs it all.
                    assert_eq!(now, Some(("#!/bin/sh\necho new\n".into(), "new".into())));
                    assert!(target.join("upgrade-info.json").exists());
                    assert_eq!(upgrades_entries(&home), ["v2"], "staging left behind");
                    assert!(failures > 3, "{fault:?}: only {failures} calls failed");
                    break;
                }
                (Ok(()), Some(at)) => panic!("{fault:?} at call {n} ({at:?}) went unnoticed"),
                (Err(e), _) => {
                    failures += 1;
                    let old = with_old_copy
                        .then(|| ("#!/bin/sh\necho old\n".to_string(), "old".to_string()));
                    let new = Some(("#!/bin/sh\necho new\n".to_string(), "new".to_string()));
                    // The install failed: the previous copy (or none) whole;
                    // only the fsync after the final rename can fail with
                    // the new copy complete in place.
                    let last_sync = matches!(
                        fs.injected(),
                        Some((FsOp::Sync, p)) if p == home.upgrades_dir()
                    );
                    if last_sync {
                        assert_eq!(now, new, "{fault:?} at call {n}: {e}");
                    } else {
                        assert_eq!(now, old, "{fault:?} at call {n}: {e}\n{:?}", fs.calls());
                        if !with_old_copy {
                            assert!(!target.exists(), "{fault:?} at call {n}: half a copy");
                        }
                    }
                    let left: Vec<String> = upgrades_entries(&home)
                        .into_iter()
                        .filter(|e| e != "v2")
                        .collect();
                    assert!(left.is_empty(), "{fault:?} at call {n}: {left:?} left");
                }
            }
            assert!(n < 200, "the install never succeeded");
        }
    }
}

#[test]
fn a_fault_at_any_call_of_an_install_over_an_older_copy_keeps_that_copy() {
    every_call_index(true);
}

#[test]
fn a_fault_at_any_call_of_a_first_install_leaves_nothing() {
    every_call_index(false);
}
