//! Checking a snapshot against its manifest: every file re-hashed, every
//! difference reported (changed, missing, extra).

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::copy::{to_hex, Copier};
use crate::id::{now_utc, rfc3339, SnapshotKind};
use crate::manifest::{segment_path, FileEntry, Manifest, Verification, SEGMENTS_DIR};
use crate::progress::Phase;
use crate::{BackupError, Backups};

/// What is wrong with one path of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ProblemKind {
    /// The content differs from the manifest.
    Changed {
        /// Size in the manifest.
        expected_size: u64,
        /// Size found.
        actual_size: u64,
        /// Sha256 in the manifest.
        expected_sha256: String,
        /// Sha256 found.
        actual_sha256: String,
    },
    /// A link points elsewhere, or an entry has the wrong type.
    WrongEntry {
        /// What the manifest says.
        expected: String,
        /// What is there.
        actual: String,
    },
    /// In the manifest, not on disk.
    Missing,
    /// On disk, not in the manifest.
    Extra,
}

/// One problem found by verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Path relative to `chain-data/`.
    pub path: String,
    /// What is wrong.
    #[serde(flatten)]
    pub kind: ProblemKind,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ProblemKind::Changed {
                expected_size,
                actual_size,
                expected_sha256,
                actual_sha256,
            } => write!(
                f,
                "changed: '{}': expected {expected_size} bytes sha256 {expected_sha256}, found {actual_size} bytes sha256 {actual_sha256}",
                self.path
            ),
            ProblemKind::WrongEntry { expected, actual } => {
                write!(f, "changed: '{}': expected {expected}, found {actual}", self.path)
            }
            ProblemKind::Missing => write!(f, "missing: '{}'", self.path),
            ProblemKind::Extra => write!(f, "extra: '{}'", self.path),
        }
    }
}

/// The result of verifying one snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Snapshot id.
    pub id: String,
    /// Its kind.
    pub kind: SnapshotKind,
    /// Files re-hashed.
    pub files_checked: u64,
    /// Bytes re-hashed.
    pub bytes_checked: u64,
    /// Every difference found, sorted by path.
    pub problems: Vec<Problem>,
    /// Wall time.
    pub elapsed: Duration,
}

impl VerifyReport {
    /// True when the snapshot matches its manifest exactly.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Backups {
    /// Re-hashes every file of a snapshot and compares it with the manifest;
    /// records the outcome in `verified.json` (shown by `list`).
    pub fn verify(&self, id: &str) -> Result<VerifyReport, BackupError> {
        let start = Instant::now();
        let found = self.resolve(id)?;
        let manifest = match found.manifest() {
            Some(Ok(m)) => m,
            Some(Err(reason)) => {
                return Err(BackupError::Incomplete {
                    id: found.id.clone(),
                    reason: format!("its manifest is unreadable: {reason}"),
                })
            }
            None => {
                return Err(BackupError::Incomplete {
                    id: found.id.clone(),
                    reason: "it has no manifest (interrupted or still being written)".into(),
                })
            }
        };
        let data = found.data_dir();
        let pool = self.pool()?;
        let copier = Copier {
            progress: self.progress.as_ref(),
            cancel: &self.cancel,
            try_clone: AtomicBool::new(false),
            fsync_each: false,
            kernel_copy: AtomicBool::new(false),
        };
        self.progress
            .begin(Phase::Verify, manifest.totals.bytes, manifest.totals.files);
        let checked = pool.install(|| check_files(&copier, manifest, &found.dir));
        self.progress.finish(Phase::Verify);
        let (mut problems, bytes_checked) = checked?;
        problems.extend(check_links_and_extras(manifest, &data)?);
        problems.extend(check_segment_extras(
            manifest,
            &found.dir.join(SEGMENTS_DIR),
        )?);
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        let report = VerifyReport {
            id: found.id.clone(),
            kind: found.kind,
            files_checked: manifest.files.len() as u64,
            bytes_checked,
            problems,
            elapsed: start.elapsed(),
        };
        Verification {
            at: rfc3339(now_utc()),
            ok: report.ok(),
            problems: report.problems.len(),
        }
        .store(&found.dir)?;
        Ok(report)
    }
}

/// Re-hashes the manifest's files (every segment of segmented ones) in the
/// snapshot directory `snap_dir`; returns the problems and the bytes read.
pub(crate) fn check_files(
    copier: &Copier<'_>,
    manifest: &Manifest,
    snap_dir: &Path,
) -> Result<(Vec<Problem>, u64), BackupError> {
    let results: Vec<Result<(Vec<Problem>, u64), BackupError>> = manifest
        .files
        .par_iter()
        .map(|e| check_file(copier, e, snap_dir))
        .collect();
    let mut problems = Vec::new();
    let mut bytes = 0;
    for r in results {
        let (p, n) = r?;
        bytes += n;
        problems.extend(p);
    }
    Ok((problems, bytes))
}

fn check_file(
    copier: &Copier<'_>,
    e: &FileEntry,
    snap_dir: &Path,
) -> Result<(Vec<Problem>, u64), BackupError> {
    let mut problems = Vec::new();
    let mut bytes = 0;
    let segmented = !e.segments.is_empty();
    for (i, seg) in e.parts().iter().enumerate() {
        let p = segment_path(snap_dir, &e.path, i);
        // Problems of a segment after the first name it (`path.<n>`).
        let name = if i == 0 {
            e.path.clone()
        } else {
            format!("{}.{i}", e.path)
        };
        let md = match fs::symlink_metadata(&p) {
            Ok(m) if !m.is_file() => {
                problems.push(Problem {
                    path: name,
                    kind: ProblemKind::WrongEntry {
                        expected: "a regular file".into(),
                        actual: entry_type(&m),
                    },
                });
                continue;
            }
            Ok(m) => Some(m),
            Err(_) => None,
        };
        // A table shared with the live data must not have been touched:
        // a moved mtime is reported even when the bytes still match.
        if let (Some(m), true) = (&md, e.shared_with_live) {
            let t = (m.mtime(), u32::try_from(m.mtime_nsec()).unwrap_or(0));
            if t != (e.mtime, e.mtime_nsec) {
                problems.push(Problem {
                    path: name.clone(),
                    kind: ProblemKind::WrongEntry {
                        expected: format!(
                            "an untouched table (mtime {}.{:09}; it is shared with the live data)",
                            e.mtime, e.mtime_nsec
                        ),
                        actual: format!(
                            "mtime {}.{:09}: modified in place after the snapshot",
                            t.0, t.1
                        ),
                    },
                });
            }
        }
        match copier.hash(&p)? {
            None => problems.push(Problem {
                path: name,
                kind: ProblemKind::Missing,
            }),
            Some((size, sha)) => {
                let actual = to_hex(&sha);
                bytes += size;
                if size != seg.len || actual != seg.sha256 {
                    problems.push(Problem {
                        path: name,
                        kind: ProblemKind::Changed {
                            expected_size: seg.len,
                            actual_size: size,
                            expected_sha256: seg.sha256.clone(),
                            actual_sha256: actual,
                        },
                    });
                }
            }
        }
        if !segmented {
            break;
        }
    }
    Ok((problems, bytes))
}

/// Files under `segments/` that no segmented entry names (reported as
/// extra, by their name there: `<path>.<n>`).
fn check_segment_extras(manifest: &Manifest, dir: &Path) -> Result<Vec<Problem>, BackupError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let known: HashSet<String> = manifest
        .files
        .iter()
        .flat_map(|f| (1..f.segments.len()).map(move |i| format!("{}.{i}", f.path)))
        .collect();
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
            let io = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("walk failed"));
            BackupError::io("read", path, io)
        })?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !known.contains(&rel) {
            problems.push(Problem {
                path: rel,
                kind: ProblemKind::Extra,
            });
        }
    }
    Ok(problems)
}

fn entry_type(m: &fs::Metadata) -> String {
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
    .to_string()
}

/// Checks links and directories, and finds entries the manifest does not know.
fn check_links_and_extras(manifest: &Manifest, data: &Path) -> Result<Vec<Problem>, BackupError> {
    let mut problems = Vec::new();
    for s in &manifest.symlinks {
        let p = data.join(&s.path);
        match fs::read_link(&p) {
            Ok(t) if t.to_str() == Some(s.target.as_str()) => {}
            Ok(t) => problems.push(Problem {
                path: s.path.clone(),
                kind: ProblemKind::WrongEntry {
                    expected: format!("a link to '{}'", s.target),
                    actual: format!("a link to '{}'", t.display()),
                },
            }),
            Err(_) if fs::symlink_metadata(&p).is_ok() => problems.push(Problem {
                path: s.path.clone(),
                kind: ProblemKind::WrongEntry {
                    expected: format!("a link to '{}'", s.target),
                    actual: fs::symlink_metadata(&p)
                        .map(|m| entry_type(&m))
                        .unwrap_or_default(),
                },
            }),
            Err(_) => problems.push(Problem {
                path: s.path.clone(),
                kind: ProblemKind::Missing,
            }),
        }
    }
    for d in &manifest.dirs {
        if !data.join(&d.path).is_dir() {
            problems.push(Problem {
                path: d.path.clone(),
                kind: ProblemKind::Missing,
            });
        }
    }
    let mut known: HashSet<&str> = manifest
        .files
        .iter()
        .map(|f| f.path.as_str())
        .chain(manifest.symlinks.iter().map(|s| s.path.as_str()))
        .chain(manifest.dirs.iter().map(|d| d.path.as_str()))
        .collect();
    // Parents of recorded entries are expected too (include lists record
    // only what they need).
    let parents: Vec<&str> = known
        .iter()
        .flat_map(|p| p.match_indices('/').map(move |(i, _)| &p[..i]))
        .collect();
    known.extend(parents);
    if !data.is_dir() {
        return Ok(problems);
    }
    let mut walker = walkdir::WalkDir::new(data).min_depth(1).into_iter();
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map_or_else(|| data.to_path_buf(), Path::to_path_buf);
                let io = e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("walk failed"));
                return Err(BackupError::io("read", path, io));
            }
        };
        let rel = entry
            .path()
            .strip_prefix(data)
            .ok()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !known.contains(rel.as_str()) {
            problems.push(Problem {
                path: rel,
                kind: ProblemKind::Extra,
            });
            if entry.file_type().is_dir() {
                walker.skip_current_dir();
            }
        }
    }
    Ok(problems)
}
