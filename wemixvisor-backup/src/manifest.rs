//! `manifest.json`: what a snapshot holds, written last so that its presence
//! marks the snapshot complete; and `verified.json`, the result of the last
//! `verify`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use wemixvisor_core::atomic;

use crate::id::{parse_rfc3339, SnapshotKind};
use crate::BackupError;

/// File name of the manifest inside a snapshot directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// File name of the last verification result inside a snapshot directory.
pub const VERIFIED_FILE: &str = "verified.json";
/// Directory holding the copied files inside a snapshot directory.
pub const DATA_DIR: &str = "data";
/// Directory holding the segments after the first of segmented files
/// (`segments/<path>.<n>`), beside [`DATA_DIR`].
pub const SEGMENTS_DIR: &str = "segments";
/// Manifest format this crate writes. Format 2 added [`FileEntry::segments`]
/// and [`FileEntry::shared_with_live`]; format 1 manifests are still read.
pub const FORMAT_VERSION: u32 = 2;
/// Oldest manifest format this crate reads.
pub const MIN_FORMAT_VERSION: u32 = 1;

/// Serialises a mode as an octal string (`"0644"`), readable in the JSON.
mod octal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{mode:04o}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let s = String::deserialize(d)?;
        u32::from_str_radix(&s, 8)
            .map_err(|_| serde::de::Error::custom(format!("mode '{s}' is not octal")))
    }
}

/// One regular file of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to `chain-data/`, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits of the live file (restored as they were).
    #[serde(with = "octal")]
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Nanoseconds part of the modification time.
    pub mtime_nsec: u32,
    /// Lowercase hex sha256 of the content; empty for a segmented file,
    /// whose segments carry their own hashes.
    pub sha256: String,
    /// When not empty, the content is these segments end to end: the first
    /// stored at `data/<path>`, segment `n` at `segments/<path>.<n>`. An
    /// append-only file (freezer) grown since the parent snapshot shares the
    /// parent's segments and stores only the appended tail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<Segment>,
    /// True when `data/<path>` is a hard link to the live file (an immutable
    /// table taken while the node was stopped): it keeps the live mode and
    /// mtime, and must never be written to.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared_with_live: bool,
}

impl FileEntry {
    /// The segments of the content: the recorded ones, or the whole file as one.
    pub fn parts(&self) -> Vec<Segment> {
        if self.segments.is_empty() {
            vec![Segment {
                len: self.size,
                sha256: self.sha256.clone(),
            }]
        } else {
            self.segments.clone()
        }
    }
}

/// One stored piece of a segmented file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Length in bytes.
    pub len: u64,
    /// Lowercase hex sha256 of these bytes.
    pub sha256: String,
}

/// Where segment `index` of the file `rel` is stored inside `snapshot_dir`.
pub fn segment_path(snapshot_dir: &Path, rel: &str, index: usize) -> PathBuf {
    if index == 0 {
        snapshot_dir.join(DATA_DIR).join(rel)
    } else {
        snapshot_dir
            .join(SEGMENTS_DIR)
            .join(format!("{rel}.{index}"))
    }
}

/// One directory of the snapshot (so empty directories and modes come back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirEntry {
    /// Path relative to `chain-data/`.
    pub path: String,
    /// Permission bits.
    #[serde(with = "octal")]
    pub mode: u32,
}

/// One symbolic link of the snapshot (recorded, never followed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymlinkEntry {
    /// Path relative to `chain-data/`.
    pub path: String,
    /// Where the link points, as stored in the link.
    pub target: String,
}

/// Sums over a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Regular files.
    pub files: u64,
    /// Their logical size in bytes.
    pub bytes: u64,
    /// Files copied from the live data (or cloned) when the snapshot was taken.
    pub copied_files: u64,
    /// Bytes copied.
    pub copied_bytes: u64,
    /// Files hard-linked from the parent snapshot.
    pub linked_files: u64,
    /// Bytes shared with the parent that way.
    pub linked_bytes: u64,
    /// Immutable tables hard-linked from the stopped node's data (hashed, not copied).
    #[serde(default)]
    pub shared_live_files: u64,
    /// Their bytes.
    #[serde(default)]
    pub shared_live_bytes: u64,
    /// Append-only files stored as the parent's segments plus the new tail.
    #[serde(default)]
    pub tail_files: u64,
    /// Bytes of those tails (counted in `copied_bytes` too).
    #[serde(default)]
    pub tail_bytes: u64,
    /// Directories.
    pub dirs: u64,
    /// Symbolic links.
    pub symlinks: u64,
}

/// The manifest of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// Snapshot id (its directory name).
    pub id: String,
    /// Auto or manual.
    pub kind: SnapshotKind,
    /// The name part of the id, if any.
    pub name: Option<String>,
    /// When the scan of the live data started (RFC 3339, UTC).
    pub created: String,
    /// When the snapshot was completed (RFC 3339, UTC).
    pub finished: String,
    /// `<kind>/<id>` of the snapshot unchanged files were linked from.
    pub parent: Option<String>,
    /// Version of wemixvisor that wrote it.
    pub wemixvisor_version: String,
    /// Name of the node binary (`geth`), when known.
    pub node_binary: Option<String>,
    /// The binary directory `current` pointed at (`genesis` or an upgrade name).
    pub node_release: Option<String>,
    /// Chain head height at the time, when known.
    pub head_height: Option<u64>,
    /// Pid of the node if it was running while the snapshot was taken
    /// (such a snapshot may need the database's own recovery when restored).
    pub node_pid: Option<u32>,
    /// Permission bits of `chain-data/` itself.
    #[serde(with = "octal")]
    pub root_mode: u32,
    /// Include globs in force.
    pub include: Vec<String>,
    /// Exclude globs in force.
    pub exclude: Vec<String>,
    /// Sums.
    pub totals: Totals,
    /// Directories, sorted by path.
    pub dirs: Vec<DirEntry>,
    /// Symbolic links, sorted by path.
    pub symlinks: Vec<SymlinkEntry>,
    /// Regular files, sorted by path.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, BackupError> {
        let bytes = std::fs::read(path).map_err(|e| BackupError::io("read", path, e))?;
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| BackupError::Manifest {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if !(MIN_FORMAT_VERSION..=FORMAT_VERSION).contains(&m.format) {
            return Err(BackupError::Manifest {
                path: path.to_path_buf(),
                reason: format!(
                    "format {} is not supported (expected {MIN_FORMAT_VERSION} to {FORMAT_VERSION}); upgrade wemixvisor",
                    m.format
                ),
            });
        }
        for rel in m
            .files
            .iter()
            .map(|f| &f.path)
            .chain(m.dirs.iter().map(|d| &d.path))
            .chain(m.symlinks.iter().map(|s| &s.path))
        {
            if !is_safe_relative(rel) {
                return Err(BackupError::Manifest {
                    path: path.to_path_buf(),
                    reason: format!("entry '{rel}' is not a plain relative path"),
                });
            }
        }
        for f in &m.files {
            let sum = f
                .segments
                .iter()
                .try_fold(0u64, |a, s| a.checked_add(s.len));
            if !f.segments.is_empty() && sum != Some(f.size) {
                return Err(BackupError::Manifest {
                    path: path.to_path_buf(),
                    reason: format!(
                        "segments of '{}' add up to {} bytes, expected its size {}",
                        f.path,
                        sum.map_or_else(|| "overflowing".to_string(), |n| n.to_string()),
                        f.size
                    ),
                });
            }
        }
        Ok(m)
    }

    /// Writes the manifest atomically (temp file, fsync, rename, fsync dir).
    pub fn store(&self, path: &Path) -> Result<(), BackupError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| BackupError::Manifest {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        atomic::write_atomic(path, &json, atomic::SECRET_MODE)?;
        Ok(())
    }

    /// The scan start time.
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        parse_rfc3339(&self.created)
    }
}

/// The outcome of the last `verify` of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// When it ran (RFC 3339, UTC).
    pub at: String,
    /// True when every file matched.
    pub ok: bool,
    /// How many problems it found.
    pub problems: usize,
}

impl Verification {
    /// Reads `verified.json` of a snapshot directory, if there is a readable one.
    pub(crate) fn load(snapshot_dir: &Path) -> Option<Verification> {
        let bytes = std::fs::read(snapshot_dir.join(VERIFIED_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes `verified.json` atomically.
    pub(crate) fn store(&self, snapshot_dir: &Path) -> Result<(), BackupError> {
        let path = snapshot_dir.join(VERIFIED_FILE);
        let json = serde_json::to_vec_pretty(self).map_err(|e| BackupError::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        atomic::write_atomic(&path, &json, atomic::SECRET_MODE)?;
        Ok(())
    }
}

/// True for `a/b/c`: no empty, `.` or `..` component, not absolute.
pub(crate) fn is_safe_relative(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.starts_with('/')
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_octal_strings_and_unsafe_paths_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Manifest {
            format: FORMAT_VERSION,
            id: "20261126T110500Z".into(),
            kind: SnapshotKind::Manual,
            name: None,
            created: "2026-11-26T11:05:00Z".into(),
            finished: "2026-11-26T11:05:01Z".into(),
            parent: None,
            wemixvisor_version: "0.1.0".into(),
            node_binary: Some("geth".into()),
            node_release: None,
            head_height: Some(7),
            node_pid: None,
            root_mode: 0o700,
            include: vec![],
            exclude: vec!["logs/**".into()],
            totals: Totals::default(),
            dirs: vec![],
            symlinks: vec![],
            files: vec![FileEntry {
                path: "geth/nodekey".into(),
                size: 64,
                mode: 0o600,
                mtime: 1,
                mtime_nsec: 2,
                sha256: "00".into(),
                segments: vec![],
                shared_with_live: false,
            }],
        };
        let p = dir.path().join(MANIFEST_FILE);
        m.store(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("\"mode\": \"0600\""), "{text}");
        assert_eq!(Manifest::load(&p).unwrap(), m);

        m.files[0].path = "../etc/passwd".into();
        m.store(&p).unwrap();
        let e = Manifest::load(&p).unwrap_err();
        assert!(e.to_string().contains("../etc/passwd"), "{e}");
    }

    #[test]
    fn safe_relative_paths() {
        assert!(is_safe_relative("a/b.ldb"));
        for bad in ["", "/a", "a//b", "a/./b", "a/../b", ".."] {
            assert!(!is_safe_relative(bad), "{bad}");
        }
    }
}
