//! Integration tests of wemixvisor-backup: each test in its own temp home.
// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod archive;
mod incremental;
mod interrupt;
mod prop;
mod prune;
mod restore;
mod roundtrip;
mod segments;
mod verify;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use wemixvisor_backup::test_utils::{geth_like_tree, tree_state, TreeEntry};
use wemixvisor_backup::{BackupOptions, Backups, CreateReport, CreateRequest, Progress};
use wemixvisor_core::Home;

/// A temp home with a small geth-like chain-data.
pub(crate) struct Fixture {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) home: Home,
}

impl Fixture {
    pub(crate) fn new(bytes: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path().join("home"));
        for d in home.layout_dirs() {
            wemixvisor_core::atomic::create_dir_private(&d).unwrap();
        }
        geth_like_tree(&home.data_dir(), bytes, 7).unwrap();
        Fixture { _dir: dir, home }
    }

    pub(crate) fn backups(&self) -> Backups {
        self.backups_with(opts())
    }

    pub(crate) fn backups_with(&self, o: BackupOptions) -> Backups {
        Backups::new(self.home.clone(), o)
            .unwrap()
            .with_node_binary("geth")
    }

    pub(crate) fn with_progress(&self, p: Arc<dyn Progress>) -> Backups {
        self.backups().with_progress(p)
    }

    pub(crate) fn manual(&self, name: &str) -> CreateReport {
        self.backups()
            .create(&CreateRequest::manual(Some(name.to_string())))
            .unwrap()
    }

    /// A snapshot that copies every table instead of sharing it with the
    /// live data (as when the node runs or the option is off).
    pub(crate) fn manual_copying(&self, name: &str) -> CreateReport {
        self.backups_with(copying())
            .create(&CreateRequest::manual(Some(name.to_string())))
            .unwrap()
    }

    pub(crate) fn data(&self) -> std::path::PathBuf {
        self.home.data_dir()
    }

    /// The live data, logs left out (they are not backed up).
    pub(crate) fn live_state(&self) -> std::collections::BTreeMap<String, TreeEntry> {
        state_without_logs(&self.data())
    }
}

/// Test options: no fsync (speed), two threads.
pub(crate) fn opts() -> BackupOptions {
    BackupOptions {
        fsync: false,
        threads: 2,
        ..BackupOptions::default()
    }
}

/// Test options that never share tables with the live data.
pub(crate) fn copying() -> BackupOptions {
    BackupOptions {
        share_live_tables: false,
        ..opts()
    }
}

pub(crate) fn state_without_logs(root: &Path) -> std::collections::BTreeMap<String, TreeEntry> {
    tree_state(root, |rel| rel == "logs" || rel.starts_with("logs/"))
}

pub(crate) fn ino(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().ino()
}

pub(crate) fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}
