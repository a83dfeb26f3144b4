//! Finding snapshots on disk: listing, resolving ids, sizes.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rayon::prelude::*;
use serde::Serialize;
use wemixvisor_core::lock::PidLock;

use crate::id::{is_snapshot_id, SnapshotKind};
use crate::manifest::{Manifest, Verification, DATA_DIR, MANIFEST_FILE};
use crate::{BackupError, Backups};

/// Prefix of directories being deleted by prune (cleaned up if left behind).
pub(crate) const DELETING_PREFIX: &str = ".deleting-";

/// Whether a snapshot can be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SnapshotState {
    /// The manifest is there: the snapshot is whole.
    Complete,
    /// No manifest yet, and a backup operation holds the lock: being written.
    InProgress {
        /// The process writing it.
        pid: u32,
    },
    /// No manifest and nobody writing it: an interrupted snapshot, removed
    /// by the next `create` or `prune`.
    Incomplete,
    /// A manifest is there but cannot be read.
    Damaged {
        /// Why it cannot be read.
        reason: String,
    },
}

/// One snapshot, as `backup list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotInfo {
    /// Id (directory name).
    pub id: String,
    /// Auto or manual.
    pub kind: SnapshotKind,
    /// The name part of the id.
    pub name: Option<String>,
    /// The snapshot directory.
    pub path: PathBuf,
    /// When it was taken (RFC 3339), from the manifest.
    pub created: Option<String>,
    /// Complete, in progress, incomplete or damaged.
    pub state: SnapshotState,
    /// The last `verify` result, if any.
    pub verified: Option<Verification>,
    /// `<kind>/<id>` of the snapshot it was made incremental to.
    pub parent: Option<String>,
    /// Number of regular files.
    pub files: u64,
    /// Logical size: the bytes a restore writes.
    pub logical_bytes: u64,
    /// Bytes copied when it was taken (the rest was hard-linked).
    pub copied_bytes: u64,
    /// Disk space held by this snapshot alone (files no other snapshot
    /// links to): what deleting it frees.
    pub exclusive_disk_bytes: u64,
    /// Head height at the time, when known.
    pub head_height: Option<u64>,
    /// Node binary name, when known.
    pub node_binary: Option<String>,
    /// `genesis` or the upgrade `current` pointed at.
    pub node_release: Option<String>,
    /// The `.tar.zst` export, when one was made.
    pub archive: Option<PathBuf>,
}

impl SnapshotInfo {
    /// True when the snapshot is complete and not known to be damaged.
    pub fn is_good(&self) -> bool {
        self.state == SnapshotState::Complete && self.verified.as_ref().is_none_or(|v| v.ok)
    }

    /// `<kind>/<id>`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind, self.id)
    }
}

/// A snapshot directory found on disk. Its manifest is read on first use
/// (manifests of large chains are big; most operations need one or two).
#[derive(Debug)]
pub(crate) struct Found {
    pub kind: SnapshotKind,
    pub id: String,
    pub dir: PathBuf,
    has_manifest: bool,
    loaded: OnceLock<Result<Manifest, String>>,
}

impl Found {
    /// `None`: no manifest file. `Some(Err)`: unreadable manifest.
    pub fn manifest(&self) -> Option<&Result<Manifest, String>> {
        self.has_manifest.then(|| {
            self.loaded.get_or_init(|| {
                Manifest::load(&self.dir.join(MANIFEST_FILE)).map_err(|e| e.to_string())
            })
        })
    }
    /// True when there is no manifest file at all.
    pub fn lacks_manifest(&self) -> bool {
        !self.has_manifest
    }
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind, self.id)
    }
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join(DATA_DIR)
    }
    pub fn complete(&self) -> Option<&Manifest> {
        match self.manifest() {
            Some(Ok(m)) => Some(m),
            _ => None,
        }
    }
}

impl Backups {
    /// Every snapshot directory, oldest first (ids sort by time).
    pub(crate) fn scan(&self) -> Result<Vec<Found>, BackupError> {
        let mut out = Vec::new();
        for kind in SnapshotKind::ALL {
            let dir = kind.dir(&self.home);
            let rd = match fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(BackupError::io("read directory", &dir, e)),
            };
            for entry in rd {
                let entry = entry.map_err(|e| BackupError::io("read directory", &dir, e))?;
                let Some(id) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if !is_snapshot_id(&id) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let snap = entry.path();
                let has_manifest = snap.join(MANIFEST_FILE).exists();
                out.push(Found {
                    kind,
                    id,
                    dir: snap,
                    has_manifest,
                    loaded: OnceLock::new(),
                });
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id).then(a.kind.cmp(&b.kind)));
        Ok(out)
    }

    /// Resolves `query`: an id, `<kind>/<id>`, a unique prefix of an id, or
    /// the name of exactly one snapshot.
    pub(crate) fn resolve(&self, query: &str) -> Result<Found, BackupError> {
        let (kind, q) = match query.split_once('/') {
            Some(("auto", rest)) => (Some(SnapshotKind::Auto), rest),
            Some(("manual", rest)) => (Some(SnapshotKind::Manual), rest),
            _ => (None, query),
        };
        let unknown = || BackupError::UnknownSnapshot {
            id: query.to_string(),
        };
        if q.is_empty() || q.contains('/') {
            return Err(unknown());
        }
        let mut all: Vec<Found> = self
            .scan()?
            .into_iter()
            .filter(|f| kind.is_none_or(|k| f.kind == k))
            .collect();
        if let Some(i) = all.iter().position(|f| f.id == q) {
            return Ok(all.swap_remove(i));
        }
        // A unique prefix of an id, or else a snapshot's name.
        let by_name = |f: &Found| f.id.split_once('-').is_some_and(|(_, name)| name == q);
        let mut hits: Vec<Found> = if all.iter().any(|f| f.id.starts_with(q)) {
            all.into_iter().filter(|f| f.id.starts_with(q)).collect()
        } else {
            all.into_iter().filter(by_name).collect()
        };
        match hits.len() {
            0 => Err(unknown()),
            1 => Ok(hits.remove(0)),
            _ => Err(BackupError::AmbiguousSnapshot {
                id: query.to_string(),
                candidates: hits.iter().map(Found::key).collect(),
            }),
        }
    }

    /// Every snapshot, oldest first, with sizes and states.
    pub fn list(&self) -> Result<Vec<SnapshotInfo>, BackupError> {
        let found = self.scan()?;
        let writer = PidLock::holder(&self.lock_path());
        let exclusive: Vec<u64> = found
            .par_iter()
            .map(|f| {
                let _ = f.manifest();
                exclusive_disk_bytes(&f.data_dir())
                    + exclusive_disk_bytes(&f.dir.join(crate::manifest::SEGMENTS_DIR))
            })
            .collect();
        Ok(found
            .into_iter()
            .zip(exclusive)
            .map(|(f, exclusive_disk_bytes)| {
                let state = match f.manifest() {
                    Some(Ok(_)) => SnapshotState::Complete,
                    Some(Err(reason)) => SnapshotState::Damaged {
                        reason: reason.clone(),
                    },
                    None => match writer {
                        Some(pid) => SnapshotState::InProgress { pid },
                        None => SnapshotState::Incomplete,
                    },
                };
                let m = f.complete();
                SnapshotInfo {
                    name: m
                        .and_then(|m| m.name.clone())
                        .or_else(|| f.id.split_once('-').map(|(_, n)| n.to_string())),
                    created: m.map(|m| m.created.clone()),
                    verified: Verification::load(&f.dir),
                    parent: m.and_then(|m| m.parent.clone()),
                    files: m.map_or(0, |m| m.totals.files),
                    logical_bytes: m.map_or(0, |m| m.totals.bytes),
                    copied_bytes: m.map_or(0, |m| m.totals.copied_bytes),
                    exclusive_disk_bytes,
                    head_height: m.and_then(|m| m.head_height),
                    node_binary: m.and_then(|m| m.node_binary.clone()),
                    node_release: m.and_then(|m| m.node_release.clone()),
                    archive: Some(f.dir.join(format!("{}.tar.zst", f.id))).filter(|p| p.is_file()),
                    state,
                    kind: f.kind,
                    path: f.dir,
                    id: f.id,
                }
            })
            .collect())
    }

    /// One snapshot by id (`<id>`, `<kind>/<id>`, a unique prefix, or its name).
    pub fn find(&self, id: &str) -> Result<SnapshotInfo, BackupError> {
        let f = self.resolve(id)?;
        self.list()?
            .into_iter()
            .find(|s| s.kind == f.kind && s.id == f.id)
            .ok_or_else(|| BackupError::UnknownSnapshot { id: id.to_string() })
    }

    /// Disk space of all snapshots together (each shared file counted once).
    pub fn disk_usage(&self) -> u64 {
        let dirs: Vec<PathBuf> = SnapshotKind::ALL
            .iter()
            .map(|k| k.dir(&self.home))
            .collect();
        disk_bytes_of(&dirs)
    }

    /// `chain-data.pre-restore-*` directories left by restores, oldest first.
    pub fn pre_restore_copies(&self) -> Result<Vec<PathBuf>, BackupError> {
        let live = self.live_data_dir();
        let (Some(parent), Some(name)) = (live.parent(), live.file_name()) else {
            return Ok(Vec::new());
        };
        let prefix = format!("{}.pre-restore-", name.to_string_lossy());
        let rd = match fs::read_dir(parent) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(BackupError::io("read directory", parent, e)),
        };
        let mut out: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        out.sort();
        Ok(out)
    }
}

/// Bytes on disk of the regular files under `dir` that have no other link
/// (what deleting the directory frees).
pub(crate) fn exclusive_disk_bytes(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.nlink() <= 1)
        .map(|m| m.blocks().saturating_mul(512))
        .sum()
}

/// Bytes on disk of all regular files under `dir` (each inode counted once).
pub(crate) fn tree_disk_bytes(dir: &Path) -> u64 {
    disk_bytes_of(&[dir.to_path_buf()])
}

/// Bytes on disk of all regular files under `dirs` (each inode counted once).
fn disk_bytes_of(dirs: &[PathBuf]) -> u64 {
    let mut seen = std::collections::HashSet::new();
    dirs.iter()
        .flat_map(|d| walkdir::WalkDir::new(d).into_iter())
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| seen.insert((m.dev(), m.ino())))
        .map(|m| m.blocks().saturating_mul(512))
        .sum()
}
