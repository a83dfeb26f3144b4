//! Retention: keep the newest N automatic snapshots and anything younger
//! than a maximum age; manual snapshots and pre-restore copies only when
//! asked. Deleting a snapshot never loses data another one needs: shared
//! files are hard links, and an inode lives as long as any link to it.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use rayon::prelude::*;
use serde::Serialize;

use crate::catalog::{tree_disk_bytes, Found, DELETING_PREFIX};
use crate::id::{id_time, now_utc, SnapshotKind};
use crate::{BackupError, Backups};

/// What to prune.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneRequest {
    /// Apply retention to manual snapshots too.
    pub manual: bool,
    /// Also remove `chain-data.pre-restore-*` copies left by restores.
    pub pre_restore: bool,
    /// Only report what would be removed.
    pub dry_run: bool,
    /// Snapshots to keep per kind (default: `keep_auto` of the options).
    pub keep: Option<u32>,
    /// Keep anything younger than this (default: `max_age` of the options).
    pub max_age: Option<Duration>,
}

/// Why something was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrunedKind {
    /// A complete snapshot beyond retention.
    Snapshot,
    /// An interrupted snapshot (no manifest).
    Incomplete,
    /// A `chain-data.pre-restore-*` copy.
    PreRestore,
}

/// One removed (or, in a dry run, removable) item.
#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    /// Why.
    pub what: PrunedKind,
    /// `<kind>/<id>`, or the directory name of a pre-restore copy.
    pub key: String,
    /// Its directory.
    pub path: PathBuf,
    /// Disk space it frees (files still linked from kept snapshots free nothing).
    pub freed_bytes: u64,
}

/// What `prune` did.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    /// Removed items (or removable, in a dry run).
    pub removed: Vec<Pruned>,
    /// `<kind>/<id>` of the snapshots kept.
    pub kept: Vec<String>,
    /// Disk space freed in total.
    pub freed_bytes: u64,
    /// True when nothing was actually removed.
    pub dry_run: bool,
}

fn age_of(f: &Found) -> Option<Duration> {
    let created = f
        .complete()
        .and_then(|m| m.created_at())
        .or_else(|| id_time(&f.id))?;
    let age = now_utc() - created;
    Duration::try_from(age).ok()
}

impl Backups {
    /// Applies retention (see [`PruneRequest`]).
    pub fn prune(&self, req: &PruneRequest) -> Result<PruneReport, BackupError> {
        self.prune_keeping(req, None)
    }

    /// Applies retention, never removing the snapshot `protect`.
    pub(crate) fn prune_keeping(
        &self,
        req: &PruneRequest,
        protect: Option<&str>,
    ) -> Result<PruneReport, BackupError> {
        let _lock = self.lock()?;
        self.recover_interrupted_restore()?;
        let found = self.scan()?;
        found.par_iter().for_each(|f| {
            let _ = f.manifest();
        });
        let keep_n = req.keep.unwrap_or(self.opts.keep_auto) as usize;
        let max_age = req.max_age.or(self.opts.max_age);

        let mut doomed: Vec<(&Found, PrunedKind)> = Vec::new();
        let mut kept = Vec::new();
        for f in found.iter().filter(|f| f.lacks_manifest()) {
            doomed.push((f, PrunedKind::Incomplete));
        }
        for kind in SnapshotKind::ALL {
            let in_scope = kind == SnapshotKind::Auto || req.manual;
            // Newest first.
            let mut n = 0usize;
            for f in found.iter().rev().filter(|f| f.kind == kind) {
                match f.manifest() {
                    None => continue,
                    // Unreadable manifest: leave it for the operator to look at.
                    Some(Err(_)) => kept.push(f.key()),
                    Some(Ok(_)) => {
                        n += 1;
                        let young = max_age.zip(age_of(f)).is_some_and(|(max, age)| age < max);
                        let keep =
                            !in_scope || n <= keep_n || young || protect.is_some_and(|p| p == f.id);
                        if keep {
                            kept.push(f.key());
                        } else {
                            doomed.push((f, PrunedKind::Snapshot));
                        }
                    }
                }
            }
        }
        kept.sort();

        // Space freed: an inode is freed when every link to it goes. Count
        // the links the doomed set holds per inode, and attribute each freed
        // inode to the first doomed snapshot holding it.
        let mut inodes: HashMap<(u64, u64), InodeUse> = HashMap::new();
        let mut per_snapshot: Vec<Vec<(u64, u64)>> = Vec::new();
        for (f, _) in &doomed {
            let mut keys = Vec::new();
            for m in [f.data_dir(), f.dir.join(crate::manifest::SEGMENTS_DIR)]
                .into_iter()
                .flat_map(walkdir::WalkDir::new)
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .filter_map(|e| e.metadata().ok())
            {
                let key = (m.dev(), m.ino());
                inodes
                    .entry(key)
                    .or_insert(InodeUse {
                        links_in_set: 0,
                        links: m.nlink(),
                        bytes: m.blocks().saturating_mul(512),
                    })
                    .links_in_set += 1;
                keys.push(key);
            }
            per_snapshot.push(keys);
        }
        let mut counted = HashSet::new();
        let mut removed = Vec::new();
        for ((f, what), keys) in doomed.iter().zip(per_snapshot) {
            let freed = keys
                .into_iter()
                .filter_map(|k| inodes.get(&k).map(|u| (k, u)))
                .filter(|(_, u)| u.links_in_set >= u.links)
                .filter(|(k, _)| counted.insert(*k))
                .map(|(_, u)| u.bytes)
                .sum();
            removed.push(Pruned {
                what: *what,
                key: f.key(),
                path: f.dir.clone(),
                freed_bytes: freed,
            });
        }

        if req.pre_restore {
            for p in self.pre_restore_copies()? {
                removed.push(Pruned {
                    what: PrunedKind::PreRestore,
                    key: p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    freed_bytes: tree_disk_bytes(&p),
                    path: p,
                });
            }
        }

        if !req.dry_run {
            self.remove_deletion_leftovers()?;
            for r in &removed {
                remove_tree(r)?;
            }
        }
        Ok(PruneReport {
            freed_bytes: removed.iter().map(|r| r.freed_bytes).sum(),
            removed,
            kept,
            dry_run: req.dry_run,
        })
    }
}

/// How one inode is held by the snapshots being removed.
struct InodeUse {
    links_in_set: u64,
    links: u64,
    bytes: u64,
}

/// Removes a snapshot (first renamed aside, so it vanishes from listings at
/// once and a crash mid-way leaves only a `.deleting-*` leftover) or a
/// pre-restore copy.
fn remove_tree(r: &Pruned) -> Result<(), BackupError> {
    let target = match (r.what, r.path.parent(), r.path.file_name()) {
        (PrunedKind::Snapshot | PrunedKind::Incomplete, Some(parent), Some(name)) => {
            let aside = parent.join(format!("{DELETING_PREFIX}{}", name.to_string_lossy()));
            fs::rename(&r.path, &aside).map_err(|e| BackupError::io("rename", &r.path, e))?;
            aside
        }
        _ => r.path.clone(),
    };
    fs::remove_dir_all(&target).map_err(|e| BackupError::io("remove", &target, e))
}
