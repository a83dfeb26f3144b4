//! Restoring a snapshot: copy it out beside the live data, verify every byte
//! on the way, then swap directories by rename, keeping the old data as
//! `chain-data.pre-restore-<ts>`. A small journal makes an interrupted swap
//! finish or roll back on the next backup operation.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use filetime::FileTime;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use wemixvisor_core::atomic;

use crate::copy::{ensure_space, make_durable, to_hex, Copier, CopyOutcome, FSYNC_EACH_FILE};
use crate::create::{mkdir_private, PartialDir};
use crate::id::{id_stamp, now_utc, SnapshotKind};
use crate::options::Filter;
use crate::progress::Phase;
use crate::verify::{Problem, ProblemKind};
use crate::{BackupError, Backups};

/// The restore journal inside `backups/`.
const JOURNAL_FILE: &str = ".restore-journal.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum JournalPhase {
    /// The staging directory is being filled; it holds nothing of value.
    Copying,
    /// The staging directory is verified and being swapped in.
    Swapping,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Journal {
    phase: JournalPhase,
    snapshot: String,
    live: PathBuf,
    staging: PathBuf,
    pre_restore: PathBuf,
    /// Device and inode of the staging directory: wherever that inode is
    /// found tells how far the swap got.
    staging_dev: u64,
    staging_ino: u64,
}

/// What `restore` did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The snapshot restored.
    pub id: String,
    /// Its kind.
    pub kind: SnapshotKind,
    /// Files written (each verified against the manifest).
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Where the data that was live before now is (remove it when satisfied).
    pub pre_restore: Option<PathBuf>,
    /// Paths the snapshot does not cover (logs, excluded files) moved over
    /// from the old data so they are not lost.
    pub carried_over: Vec<String>,
    /// Such paths that could not be moved (still in `pre_restore`).
    pub carry_over_failed: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

fn ino_of(path: &Path) -> Option<(u64, u64)> {
    fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

fn rename(from: &Path, to: &Path) -> Result<(), BackupError> {
    fs::rename(from, to).map_err(|e| BackupError::io("rename", from, e))
}

/// `<name>.<what>-<stamp>` beside `live`, not yet taken.
fn sibling(live: &Path, what: &str) -> Result<PathBuf, BackupError> {
    let parent = live.parent().ok_or_else(|| BackupError::NoData {
        path: live.to_path_buf(),
    })?;
    let name = live
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chain-data".into());
    let stamp = id_stamp(now_utc());
    let mut n = 1;
    loop {
        let candidate = if n == 1 {
            parent.join(format!("{name}.{what}-{stamp}"))
        } else {
            parent.join(format!("{name}.{what}-{stamp}-{n}"))
        };
        if !exists(&candidate) {
            return Ok(candidate);
        }
        n += 1;
    }
}

/// Puts `staging` in place of `live`, moving the old data to `pre`.
/// Returns whether there was old data.
fn swap_in(live: &Path, staging: &Path, pre: &Path) -> Result<bool, BackupError> {
    if !exists(live) {
        rename(staging, live)?;
        return Ok(false);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use nix::errno::Errno;
        use nix::fcntl::{renameat2, RenameFlags};
        // One atomic step: `live` is never missing, not even for an instant.
        match renameat2(None, staging, None, live, RenameFlags::RENAME_EXCHANGE) {
            Ok(()) => {
                // `staging` now names the old data.
                rename(staging, pre)?;
                return Ok(true);
            }
            Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {}
            Err(e) => return Err(BackupError::io("swap in", live, e.into())),
        }
    }
    rename(live, pre)?;
    if let Err(e) = rename(staging, live) {
        let _ = fs::rename(pre, live);
        return Err(e);
    }
    Ok(true)
}

impl Backups {
    fn journal_path(&self) -> PathBuf {
        self.home.backups_dir().join(JOURNAL_FILE)
    }

    fn store_journal(&self, j: &Journal) -> Result<(), BackupError> {
        let json = serde_json::to_vec_pretty(j).map_err(|e| BackupError::Manifest {
            path: self.journal_path(),
            reason: e.to_string(),
        })?;
        atomic::write_atomic(&self.journal_path(), &json, atomic::SECRET_MODE)?;
        Ok(())
    }

    fn remove_journal(&self) -> Result<(), BackupError> {
        match fs::remove_file(self.journal_path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(BackupError::io("remove", self.journal_path(), e)),
        }
    }

    /// Finishes or rolls back a restore that was interrupted (crash, kill),
    /// using its journal. Called under the lock by every mutating operation.
    /// A restore whose swap had not started is rolled back (the live data is
    /// left as it was); one whose swap had started is completed.
    pub(crate) fn recover_interrupted_restore(&self) -> Result<(), BackupError> {
        let path = self.journal_path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(BackupError::io("read", &path, e)),
        };
        let Ok(j) = serde_json::from_slice::<Journal>(&bytes) else {
            tracing::warn!(path = %path.display(), "ignoring an unreadable restore journal");
            return self.remove_journal();
        };
        let staged = Some((j.staging_dev, j.staging_ino));
        match j.phase {
            JournalPhase::Copying => {
                if ino_of(&j.staging) == staged {
                    fs::remove_dir_all(&j.staging)
                        .map_err(|e| BackupError::io("remove", &j.staging, e))?;
                }
            }
            JournalPhase::Swapping => {
                if ino_of(&j.live) == staged {
                    // Swapped; with an exchange the old data may still be
                    // under the staging name.
                    if exists(&j.staging) && !exists(&j.pre_restore) {
                        rename(&j.staging, &j.pre_restore)?;
                    }
                } else if ino_of(&j.staging) == staged {
                    if exists(&j.live) {
                        fs::remove_dir_all(&j.staging)
                            .map_err(|e| BackupError::io("remove", &j.staging, e))?;
                    } else {
                        rename(&j.staging, &j.live)?;
                    }
                }
                tracing::warn!(snapshot = %j.snapshot, "recovered an interrupted restore");
            }
        }
        self.remove_journal()
    }

    /// Restores snapshot `id` over `chain-data/`.
    ///
    /// Refuses while the node or a supervisor runs. Copies the snapshot into
    /// a directory beside `chain-data/`, checking every file's sha256 on the
    /// way, makes it durable, then swaps it in by rename. The previous data
    /// stays as `chain-data.pre-restore-<ts>`; paths the snapshot does not
    /// cover (logs) are moved over from it.
    pub fn restore(&self, id: &str) -> Result<RestoreReport, BackupError> {
        let start = Instant::now();
        let found = self.resolve(id)?;
        let manifest = match found.manifest() {
            Some(Ok(m)) => m.clone(),
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
        self.ensure_stopped()?;
        let _lock = self.lock()?;
        self.recover_interrupted_restore()?;

        let live = self.live_data_dir();
        let staging = sibling(&live, "restoring")?;
        let pre = sibling(&live, "pre-restore")?;
        if let Some(parent) = live.parent() {
            atomic::create_dir_private(parent)?;
            ensure_space(parent, manifest.totals.bytes)?;
        }
        mkdir_private(&staging)?;
        let guard = PartialDir::new(staging.clone());
        let (staging_dev, staging_ino) = ino_of(&staging).ok_or_else(|| {
            BackupError::io("stat", &staging, std::io::Error::from(ErrorKind::NotFound))
        })?;
        let mut journal = Journal {
            phase: JournalPhase::Copying,
            snapshot: found.key(),
            live: live.clone(),
            staging: staging.clone(),
            pre_restore: pre.clone(),
            staging_dev,
            staging_ino,
        };
        self.store_journal(&journal)?;
        let result = self.fill_staging(&found.id, &found.dir, &manifest, &staging);
        if let Err(e) = result {
            drop(guard);
            let _ = self.remove_journal();
            return Err(e);
        }

        journal.phase = JournalPhase::Swapping;
        self.store_journal(&journal)?;
        // From here on the journal, not the guard, decides what happens to
        // the staging directory (after an exchange it holds the old data).
        guard.commit();
        let had_old = match swap_in(&live, &staging, &pre) {
            Ok(had) => had,
            Err(e) => {
                if let Err(r) = self.recover_interrupted_restore() {
                    tracing::warn!(error = %r, "could not recover from a failed swap");
                }
                return Err(e);
            }
        };
        if let Some(parent) = live.parent() {
            atomic::fsync_dir(parent)?;
        }
        self.remove_journal()?;

        let (carried_over, carry_over_failed) = if had_old {
            match Filter::new(&manifest.include, &manifest.exclude) {
                Ok(filter) => carry_over(&pre, &live, &filter),
                Err(e) => {
                    self.progress
                        .note(&format!("not moving logs from the old data: {e}"));
                    (Vec::new(), Vec::new())
                }
            }
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(RestoreReport {
            id: found.id.clone(),
            kind: found.kind,
            files: manifest.totals.files,
            bytes: manifest.totals.bytes,
            pre_restore: had_old.then_some(pre),
            carried_over,
            carry_over_failed,
            elapsed: start.elapsed(),
        })
    }

    /// Copies the snapshot into `staging`, verifying every file, and makes
    /// it durable. Fails with [`BackupError::Damaged`] on any mismatch.
    fn fill_staging(
        &self,
        id: &str,
        snap_dir: &Path,
        manifest: &crate::manifest::Manifest,
        staging: &Path,
    ) -> Result<(), BackupError> {
        let data = snap_dir.join(crate::manifest::DATA_DIR);
        for d in &manifest.dirs {
            mkdir_private(&staging.join(&d.path))?;
        }
        let copier = Copier {
            progress: self.progress.as_ref(),
            cancel: &self.cancel,
            try_clone: AtomicBool::new(true),
            fsync_each: self.opts.fsync && FSYNC_EACH_FILE,
            kernel_copy: AtomicBool::new(true),
        };
        let problems: Mutex<Vec<Problem>> = Mutex::new(Vec::new());
        let record = |p: Problem| {
            if let Ok(mut g) = problems.lock() {
                g.push(p);
            }
        };
        self.progress
            .begin(Phase::Restore, manifest.totals.bytes, manifest.totals.files);
        let pool = self.pool()?;
        let copied: Result<(), BackupError> = pool.install(|| {
            manifest.files.par_iter().try_for_each(|e| {
                let src = data.join(&e.path);
                let dst = staging.join(&e.path);
                if let Some(parent) = dst.parent() {
                    if !parent.is_dir() {
                        atomic::create_dir_private(parent)?;
                    }
                }
                let mtime = Some(FileTime::from_unix_time(e.mtime, e.mtime_nsec));
                if !e.segments.is_empty() {
                    for p in assemble(&copier, snap_dir, e, &dst, mtime)? {
                        record(p);
                    }
                    return Ok(());
                }
                match copier.copy(&src, &dst, e.mode, mtime)? {
                    CopyOutcome::Vanished => record(Problem {
                        path: e.path.clone(),
                        kind: ProblemKind::Missing,
                    }),
                    CopyOutcome::Copied(c) => {
                        let actual = to_hex(&c.sha256);
                        if c.size != e.size || actual != e.sha256 {
                            record(Problem {
                                path: e.path.clone(),
                                kind: ProblemKind::Changed {
                                    expected_size: e.size,
                                    actual_size: c.size,
                                    expected_sha256: e.sha256.clone(),
                                    actual_sha256: actual,
                                },
                            });
                        }
                    }
                }
                Ok(())
            })
        });
        self.progress.finish(Phase::Restore);
        copied?;
        let mut problems = problems.into_inner().unwrap_or_default();
        if !problems.is_empty() {
            problems.sort_by(|a, b| a.path.cmp(&b.path));
            return Err(BackupError::Damaged {
                id: id.to_string(),
                problems: problems.len(),
                first: problems[0].to_string(),
            });
        }
        for s in &manifest.symlinks {
            let dst = staging.join(&s.path);
            std::os::unix::fs::symlink(&s.target, &dst)
                .map_err(|e| BackupError::io("create link", &dst, e))?;
        }
        // Structure check of what was written (content was checked while copying).
        for e in &manifest.files {
            let p = staging.join(&e.path);
            let ok = fs::symlink_metadata(&p).is_ok_and(|m| m.is_file() && m.len() == e.size);
            if !ok {
                return Err(BackupError::Damaged {
                    id: id.to_string(),
                    problems: 1,
                    first: format!("'{}' was not written completely", e.path),
                });
            }
        }
        // Directory modes last (a read-only directory would stop the copy),
        // deepest first.
        for d in manifest.dirs.iter().rev() {
            let p = staging.join(&d.path);
            fs::set_permissions(&p, fs::Permissions::from_mode(d.mode))
                .map_err(|e| BackupError::io("chmod", &p, e))?;
        }
        fs::set_permissions(staging, fs::Permissions::from_mode(manifest.root_mode))
            .map_err(|e| BackupError::io("chmod", staging, e))?;
        if self.opts.fsync {
            let dirs: Vec<PathBuf> = manifest
                .dirs
                .iter()
                .map(|d| staging.join(&d.path))
                .collect();
            make_durable(staging, dirs.iter().map(PathBuf::as_path))?;
        }
        Ok(())
    }
}

/// Writes a segmented file into `dst` segment after segment, checking
/// each against the manifest; returns the mismatches.
fn assemble(
    copier: &Copier<'_>,
    snap_dir: &Path,
    e: &crate::manifest::FileEntry,
    dst: &Path,
    mtime: Option<FileTime>,
) -> Result<Vec<Problem>, BackupError> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dst)
        .map_err(|err| BackupError::io("create", dst, err))?;
    let mut problems = Vec::new();
    for (i, seg) in e.segments.iter().enumerate() {
        let name = if i == 0 {
            e.path.clone()
        } else {
            format!("{}.{i}", e.path)
        };
        match copier.append(
            &crate::manifest::segment_path(snap_dir, &e.path, i),
            &f,
            dst,
        )? {
            None => {
                problems.push(Problem {
                    path: name,
                    kind: ProblemKind::Missing,
                });
                break;
            }
            Some((size, sha)) => {
                let actual = to_hex(&sha);
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
                    break;
                }
            }
        }
    }
    copier.finish(&f, dst, e.mode, mtime)?;
    Ok(problems)
}

/// Moves what `filter` does not take (logs, excluded files) from the old
/// data into the restored tree, where nothing is there yet.
fn carry_over(old: &Path, new: &Path, filter: &Filter) -> (Vec<String>, Vec<String>) {
    let mut moves = Vec::new();
    let mut walker = walkdir::WalkDir::new(old)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter();
    while let Some(Ok(entry)) = walker.next() {
        let Some(rel) = entry
            .path()
            .strip_prefix(old)
            .ok()
            .and_then(Path::to_str)
            .map(str::to_string)
        else {
            continue;
        };
        let ft = entry.file_type();
        if ft.is_dir() {
            if filter.is_excluded(&rel) {
                moves.push(rel);
                walker.skip_current_dir();
            }
        } else if (ft.is_file() || ft.is_symlink()) && !filter.takes(&rel) {
            moves.push(rel);
        }
    }
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for rel in moves {
        let to = new.join(&rel);
        if exists(&to) {
            continue;
        }
        let moved = to
            .parent()
            .map_or(Ok(()), |p| {
                if p.is_dir() {
                    Ok(())
                } else {
                    atomic::create_dir_private(p).map_err(BackupError::from)
                }
            })
            .and_then(|()| rename(&old.join(&rel), &to));
        match moved {
            Ok(()) => done.push(rel),
            Err(e) => {
                tracing::warn!(path = %rel, error = %e, "could not move an excluded path into the restored data");
                failed.push(rel);
            }
        }
    }
    (done, failed)
}
