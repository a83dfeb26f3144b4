//! Taking a snapshot: scan the live data, link what is unchanged since the
//! parent snapshot, copy (and hash) the rest in parallel, write the manifest
//! last.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use filetime::FileTime;
use rayon::prelude::*;
use serde::Serialize;
use time::OffsetDateTime;
use wemixvisor_core::atomic;

use crate::catalog::{Found, DELETING_PREFIX};
use crate::copy::{ensure_space, make_durable, to_hex, Copier, CopyOutcome, FSYNC_EACH_FILE};
use crate::id::{id_time, make_id, now_utc, rfc3339, validate_name, SnapshotKind};
use crate::manifest::{
    segment_path, DirEntry, FileEntry, Manifest, Segment, SymlinkEntry, Totals, DATA_DIR,
    FORMAT_VERSION, MANIFEST_FILE,
};
use crate::options::Filter;
use crate::progress::Phase;
use crate::{BackupError, Backups};

/// Mode of every file stored in a snapshot: read-only for the owner. Files
/// are shared between snapshots by hard links (one inode, one mode), so they
/// must never be written to; the live mode is kept in the manifest.
pub const STORED_FILE_MODE: u32 = 0o400;

/// A parent entry is trusted only if the file's mtime was at least this much
/// older than the parent's scan start: a write in the same timestamp tick as
/// the copy could otherwise leave size and mtime unchanged ("racy" entries,
/// as git calls them). Covers filesystems with coarse (1-2 s) timestamps.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// What to snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    /// Auto (upgrade pipeline) or manual (operator).
    pub kind: SnapshotKind,
    /// Optional name, appended to the id.
    pub name: Option<String>,
    /// Chain head height, when the caller knows it.
    pub head_height: Option<u64>,
}

impl CreateRequest {
    /// An operator's snapshot.
    pub fn manual(name: Option<String>) -> Self {
        CreateRequest {
            kind: SnapshotKind::Manual,
            name,
            head_height: None,
        }
    }

    /// A snapshot taken by the upgrade pipeline.
    pub fn auto(name: Option<String>, head_height: Option<u64>) -> Self {
        CreateRequest {
            kind: SnapshotKind::Auto,
            name,
            head_height,
        }
    }
}

/// What `create` did.
#[derive(Debug, Clone, Serialize)]
pub struct CreateReport {
    /// The new snapshot's id.
    pub id: String,
    /// Its kind.
    pub kind: SnapshotKind,
    /// Its directory.
    pub path: PathBuf,
    /// `<kind>/<id>` of the parent unchanged files were linked from.
    pub parent: Option<String>,
    /// Sums, as in the manifest.
    pub totals: Totals,
    /// Copies the filesystem made by cloning (reflink).
    pub cloned_files: u64,
    /// Files that disappeared between the scan and the copy (node running).
    pub vanished: Vec<String>,
    /// Sockets, fifos and devices, which are not backed up.
    pub skipped_special: Vec<String>,
    /// Interrupted snapshots removed before starting.
    pub removed_incomplete: Vec<String>,
    /// Pid of the node if it was running.
    pub node_pid: Option<u32>,
    /// Wall time.
    pub elapsed: Duration,
}

/// A regular file of the live data, as scanned.
#[derive(Debug, Clone)]
struct LiveFile {
    rel: String,
    size: u64,
    mode: u32,
    mtime: i64,
    mtime_nsec: u32,
}

impl LiveFile {
    fn filetime(&self) -> FileTime {
        FileTime::from_unix_time(self.mtime, self.mtime_nsec)
    }
}

/// The live data, as scanned.
#[derive(Debug, Default)]
struct LiveScan {
    root_mode: u32,
    dirs: Vec<DirEntry>,
    files: Vec<LiveFile>,
    symlinks: Vec<SymlinkEntry>,
    special: Vec<String>,
}

fn rel_str<'a>(root: &Path, path: &'a Path) -> Result<&'a str, BackupError> {
    path.strip_prefix(root)
        .ok()
        .and_then(Path::to_str)
        .ok_or_else(|| BackupError::NonUtf8Path {
            path: path.to_path_buf(),
        })
}

/// Walks `root` (not following links) and collects what `filter` takes.
fn scan_live(root: &Path, filter: &Filter) -> Result<LiveScan, BackupError> {
    let root_md = match fs::metadata(root) {
        Ok(m) if m.is_dir() => m,
        Ok(_) => {
            return Err(BackupError::NoData {
                path: root.to_path_buf(),
            })
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(BackupError::NoData {
                path: root.to_path_buf(),
            })
        }
        Err(e) => return Err(BackupError::io("read", root, e)),
    };
    let mut scan = LiveScan {
        root_mode: root_md.permissions().mode() & 0o7777,
        ..LiveScan::default()
    };
    let mut all_dirs = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.file_type().is_dir()
                && e.path()
                    .strip_prefix(root)
                    .ok()
                    .and_then(Path::to_str)
                    .is_some_and(|rel| filter.is_excluded(rel)))
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map_or_else(|| root.to_path_buf(), Path::to_path_buf);
                match e.into_io_error() {
                    // Deleted while we walked (the node compacting): skip.
                    Some(io) if io.kind() == ErrorKind::NotFound => continue,
                    Some(io) => return Err(BackupError::io("read", path, io)),
                    None => {
                        return Err(BackupError::io(
                            "walk",
                            path,
                            std::io::Error::other("filesystem loop"),
                        ))
                    }
                }
            }
        };
        let rel = rel_str(root, entry.path())?.to_string();
        let ft = entry.file_type();
        let md = match entry.metadata() {
            Ok(m) => m,
            Err(e)
                if e.io_error()
                    .is_some_and(|io| io.kind() == ErrorKind::NotFound) =>
            {
                continue
            }
            Err(e) => {
                let path = entry.path().to_path_buf();
                let io = e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("metadata unavailable"));
                return Err(BackupError::io("stat", path, io));
            }
        };
        let mode = md.permissions().mode() & 0o7777;
        if ft.is_dir() {
            all_dirs.push(DirEntry { path: rel, mode });
            continue;
        }
        if !filter.takes(&rel) {
            continue;
        }
        if ft.is_file() {
            scan.files.push(LiveFile {
                rel,
                size: md.len(),
                mode,
                mtime: md.mtime(),
                mtime_nsec: u32::try_from(md.mtime_nsec()).unwrap_or(0),
            });
        } else if ft.is_symlink() {
            let target = match fs::read_link(entry.path()) {
                Ok(t) => t,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(BackupError::io("read link", entry.path(), e)),
            };
            let target = target
                .to_str()
                .ok_or_else(|| BackupError::NonUtf8Path {
                    path: entry.path().to_path_buf(),
                })?
                .to_string();
            scan.symlinks.push(SymlinkEntry { path: rel, target });
        } else {
            scan.special.push(rel);
        }
    }
    scan.dirs = if filter.includes_everything() {
        all_dirs
    } else {
        let mut needed = HashSet::new();
        for rel in scan
            .files
            .iter()
            .map(|f| f.rel.as_str())
            .chain(scan.symlinks.iter().map(|s| s.path.as_str()))
        {
            let mut cur = rel;
            while let Some(i) = cur.rfind('/') {
                cur = &cur[..i];
                if !needed.insert(cur.to_string()) {
                    break;
                }
            }
        }
        all_dirs
            .into_iter()
            .filter(|d| needed.contains(&d.path) || filter.is_included(&d.path))
            .collect()
    };
    Ok(scan)
}

/// Creates `dir` with mode 0700 (the umask can only remove bits from it).
pub(crate) fn mkdir_private(dir: &Path) -> Result<(), BackupError> {
    match fs::DirBuilder::new().mode(atomic::DIR_MODE).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(BackupError::io("create directory", dir, e)),
    }
}

/// A directory that is removed on drop unless the operation committed.
pub(crate) struct PartialDir {
    path: PathBuf,
    armed: bool,
}

impl PartialDir {
    pub(crate) fn new(path: PathBuf) -> Self {
        PartialDir { path, armed: true }
    }
    pub(crate) fn commit(mut self) {
        self.armed = false;
    }
}

impl Drop for PartialDir {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = fs::remove_dir_all(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e,
                    "could not remove a partial directory; it is not listed as good and is removed by the next create or prune");
            }
        }
    }
}

/// The parent chosen for an incremental snapshot.
struct Parent<'a> {
    found: &'a Found,
    manifest: &'a Manifest,
    by_path: HashMap<&'a str, &'a FileEntry>,
    /// Entries with an mtime at or after this (ns since the epoch) are racy.
    racy_from_ns: i128,
}

fn unix_ns(secs: i64, nsec: u32) -> i128 {
    i128::from(secs) * 1_000_000_000 + i128::from(nsec)
}

/// How one file gets into the snapshot.
enum Plan<'a> {
    /// Unchanged since the parent: hard-link the parent's stored segments.
    Link { entry: &'a FileEntry },
    /// Append-only and grown: the parent's segments plus the new tail.
    Tail { entry: &'a FileEntry },
    /// An immutable table of a stopped node: hard-link the live file.
    ShareLive,
    /// Everything else: copy (or clone) from the live data.
    Copy,
}

/// How one file got into the snapshot.
enum Done {
    Linked(FileEntry),
    Copied { entry: FileEntry, cloned: bool },
    Tail { entry: FileEntry, tail: u64 },
    SharedLive(FileEntry),
    Vanished(String),
}

/// Most segments a file is kept in; a file that would need more is copied
/// whole again (which starts a new chain).
pub(crate) const MAX_SEGMENTS: usize = 16;

/// Bytes compared at each end of the parent's content before a grown
/// append-only file is stored as the parent's segments plus a tail.
const BOUNDARY_CHECK: u64 = 64 << 10;

/// Immutable by contract: LevelDB and Pebble tables are written once, then
/// only read and eventually deleted by compaction, never rewritten.
pub(crate) fn is_immutable_table(rel: &str) -> bool {
    rel.ends_with(".ldb") || rel.ends_with(".sst")
}

/// Append-only by contract: freezer (ancient store) data and index files,
/// where only the head file of each table grows (geth may cut its end off
/// when it repairs the freezer on start).
pub(crate) fn is_append_only(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    [".cdat", ".rdat", ".cidx", ".ridx"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

impl Backups {
    /// Takes a snapshot of `chain-data/` into `backups/<kind>/<id>/`.
    ///
    /// Unchanged files (same size and mtime as in the newest complete
    /// snapshot on the same filesystem) are hard-linked from that snapshot;
    /// the rest is copied from the live data and hashed in the same pass.
    /// The live data is only read. On any failure or cancellation the
    /// partial snapshot is removed (and if even that fails, it has no
    /// manifest and is never listed as good).
    pub fn create(&self, req: &CreateRequest) -> Result<CreateReport, BackupError> {
        let start = Instant::now();
        if let Some(n) = &req.name {
            validate_name(n)?;
        }
        let _lock = self.lock()?;
        self.recover_interrupted_restore()?;
        let removed_incomplete = self.remove_incomplete()?;
        let node_pid = self.running_node().map(|p| p.pid);
        if let Some(pid) = node_pid {
            self.progress.note(&format!(
                "the node is running (pid {pid}); files it changes during the copy may be inconsistent"
            ));
        }

        let found = self.scan()?;
        let created = now_utc();
        let id = self.allocate_id(&found, created, req.name.as_deref());
        let kind_dir = req.kind.dir(&self.home);
        atomic::create_dir_private(&kind_dir)?;
        let snap_dir = kind_dir.join(&id);
        fs::DirBuilder::new()
            .mode(atomic::DIR_MODE)
            .create(&snap_dir)
            .map_err(|e| BackupError::io("create directory", &snap_dir, e))?;
        let guard = PartialDir::new(snap_dir.clone());
        let out = snap_dir.join(DATA_DIR);
        mkdir_private(&out)?;

        let live = self.live_data_dir();
        let scan = scan_live(&live, &self.filter)?;
        let parent = pick_parent(&found, &out);

        // Immutable tables may be shared with the live data only while the
        // node is stopped (a running node could be writing a new table).
        let share_live =
            self.opts.share_live_tables && node_pid.is_none() && same_device(&live, &out);
        // Plan: link what the parent already holds unchanged, store the
        // tails of grown append-only files, share live tables, copy the rest.
        let plans: Vec<Plan<'_>> = scan
            .files
            .iter()
            .map(|f| {
                if let Some(p) = &parent {
                    if let Some(e) = p.by_path.get(f.rel.as_str()) {
                        if e.size == f.size
                            && e.mtime == f.mtime
                            && e.mtime_nsec == f.mtime_nsec
                            && unix_ns(e.mtime, e.mtime_nsec) < p.racy_from_ns
                        {
                            return Plan::Link { entry: e };
                        }
                        if is_append_only(&f.rel)
                            && f.size > e.size
                            && e.size > 0
                            && !e.shared_with_live
                            && e.parts().len() < MAX_SEGMENTS
                        {
                            return Plan::Tail { entry: e };
                        }
                    }
                }
                if share_live && is_immutable_table(&f.rel) {
                    Plan::ShareLive
                } else {
                    Plan::Copy
                }
            })
            .collect();
        let copy_bytes_of = |f: &LiveFile, p: &Plan<'_>| match p {
            Plan::Link { .. } => 0,
            Plan::Tail { entry } => f.size - entry.size,
            Plan::ShareLive | Plan::Copy => f.size,
        };
        let (copy_files, copy_bytes) = scan
            .files
            .iter()
            .zip(&plans)
            .filter(|(_, p)| !matches!(p, Plan::Link { .. }))
            .fold((0u64, 0u64), |(n, b), (f, p)| {
                (n + 1, b + copy_bytes_of(f, p))
            });
        let space_bytes: u64 = scan
            .files
            .iter()
            .zip(&plans)
            .filter(|(_, p)| !matches!(p, Plan::ShareLive))
            .map(|(f, p)| copy_bytes_of(f, p))
            .sum();
        ensure_space(&out, space_bytes)?;

        for d in &scan.dirs {
            mkdir_private(&out.join(&d.path))?;
        }

        let copier = Copier {
            progress: self.progress.as_ref(),
            cancel: &self.cancel,
            try_clone: AtomicBool::new(true),
            fsync_each: self.opts.fsync && FSYNC_EACH_FILE,
            kernel_copy: AtomicBool::new(true),
        };
        let fallbacks = AtomicU64::new(0);
        let first_fallback: Mutex<Option<String>> = Mutex::new(None);
        self.progress.begin(Phase::Snapshot, copy_bytes, copy_files);
        let pool = self.pool()?;
        let parent_dir = parent
            .as_ref()
            .map(|p| p.found.dir.clone())
            .unwrap_or_default();
        let results: Result<Vec<Done>, BackupError> = pool.install(|| {
            scan.files
                .par_iter()
                .zip(plans.par_iter())
                .map(|(f, plan)| {
                    let dst = out.join(&f.rel);
                    let src = live.join(&f.rel);
                    let fallback = |why: String| {
                        fallbacks.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut g) = first_fallback.lock() {
                            g.get_or_insert(why);
                        }
                    };
                    match plan {
                        Plan::Link { entry } => {
                            match link_segments(&parent_dir, &snap_dir, entry, entry.parts().len())
                            {
                                Ok(()) => {
                                    return Ok(Done::Linked(FileEntry {
                                        path: f.rel.clone(),
                                        size: f.size,
                                        mode: f.mode,
                                        mtime: f.mtime,
                                        mtime_nsec: f.mtime_nsec,
                                        ..(*entry).clone()
                                    }))
                                }
                                Err(why) => fallback(why),
                            }
                        }
                        Plan::Tail { entry } => {
                            match store_tail(&copier, &parent_dir, &snap_dir, &src, entry)? {
                                Ok((segments, tail)) => {
                                    return Ok(Done::Tail {
                                        entry: FileEntry {
                                            path: f.rel.clone(),
                                            size: segments.iter().map(|s| s.len).sum(),
                                            mode: f.mode,
                                            mtime: f.mtime,
                                            mtime_nsec: f.mtime_nsec,
                                            sha256: String::new(),
                                            segments,
                                            shared_with_live: false,
                                        },
                                        tail,
                                    })
                                }
                                Err(why) => fallback(why),
                            }
                        }
                        Plan::ShareLive => {
                            if copier.try_clone.load(Ordering::Relaxed) {
                                // A clone is as cheap and shares nothing.
                                match copier.clone_file(
                                    &src,
                                    &dst,
                                    STORED_FILE_MODE,
                                    Some(f.filetime()),
                                )? {
                                    Some(CopyOutcome::Vanished) => {
                                        return Ok(Done::Vanished(f.rel.clone()))
                                    }
                                    Some(CopyOutcome::Copied(c)) => {
                                        return Ok(Done::Copied {
                                            entry: copied_entry(f, c.size, &c.sha256),
                                            cloned: true,
                                        })
                                    }
                                    None => {}
                                }
                            }
                            match fs::hard_link(&src, &dst) {
                                Ok(()) => match copier.hash(&dst)? {
                                    Some((size, sha)) => {
                                        let mut entry = copied_entry(f, size, &sha);
                                        entry.shared_with_live = true;
                                        return Ok(Done::SharedLive(entry));
                                    }
                                    None => return Ok(Done::Vanished(f.rel.clone())),
                                },
                                Err(e) if e.kind() == ErrorKind::NotFound => {
                                    return Ok(Done::Vanished(f.rel.clone()))
                                }
                                Err(e) => fallback(format!("hard-link '{}': {e}", src.display())),
                            }
                        }
                        Plan::Copy => {}
                    }
                    match copier.copy(&src, &dst, STORED_FILE_MODE, Some(f.filetime()))? {
                        CopyOutcome::Vanished => Ok(Done::Vanished(f.rel.clone())),
                        CopyOutcome::Copied(c) => Ok(Done::Copied {
                            entry: copied_entry(f, c.size, &c.sha256),
                            cloned: c.cloned,
                        }),
                    }
                })
                .collect()
        });
        self.progress.finish(Phase::Snapshot);
        let results = results?;
        let n_fallbacks = fallbacks.load(Ordering::Relaxed);
        if n_fallbacks > 0 {
            let first = first_fallback
                .lock()
                .ok()
                .and_then(|g| g.clone())
                .unwrap_or_default();
            self.progress.note(&format!(
                "{n_fallbacks} file(s) were copied whole instead of linked ({first})"
            ));
        }

        let mut totals = Totals {
            dirs: scan.dirs.len() as u64,
            symlinks: scan.symlinks.len() as u64,
            ..Totals::default()
        };
        let mut files = Vec::with_capacity(results.len());
        let mut vanished = Vec::new();
        let mut cloned_files = 0;
        for r in results {
            match r {
                Done::Linked(e) => {
                    totals.linked_files += 1;
                    totals.linked_bytes += e.size;
                    files.push(e);
                }
                Done::Copied { entry, cloned } => {
                    totals.copied_files += 1;
                    totals.copied_bytes += entry.size;
                    cloned_files += u64::from(cloned);
                    files.push(entry);
                }
                Done::Tail { entry, tail } => {
                    totals.tail_files += 1;
                    totals.tail_bytes += tail;
                    totals.copied_files += 1;
                    totals.copied_bytes += tail;
                    files.push(entry);
                }
                Done::SharedLive(e) => {
                    totals.shared_live_files += 1;
                    totals.shared_live_bytes += e.size;
                    files.push(e);
                }
                Done::Vanished(rel) => vanished.push(rel),
            }
        }
        totals.files = files.len() as u64;
        totals.bytes = files.iter().map(|f| f.size).sum();
        for s in &scan.symlinks {
            let dst = out.join(&s.path);
            std::os::unix::fs::symlink(&s.target, &dst)
                .map_err(|e| BackupError::io("create link", &dst, e))?;
        }
        if self.cancel.is_cancelled() {
            return Err(BackupError::Cancelled);
        }
        if self.opts.fsync {
            let dirs: Vec<PathBuf> = scan.dirs.iter().map(|d| out.join(&d.path)).collect();
            make_durable(
                &snap_dir,
                dirs.iter()
                    .map(PathBuf::as_path)
                    .chain([out.as_path(), kind_dir.as_path()]),
            )?;
        }

        let manifest = Manifest {
            format: FORMAT_VERSION,
            id: id.clone(),
            kind: req.kind,
            name: req.name.clone(),
            created: rfc3339(created),
            finished: rfc3339(now_utc()),
            parent: parent.as_ref().map(|p| p.found.key()),
            wemixvisor_version: env!("CARGO_PKG_VERSION").to_string(),
            node_binary: self.node_binary.clone(),
            node_release: self.home.current_target_name().ok(),
            head_height: req.head_height,
            node_pid,
            root_mode: scan.root_mode,
            include: self.filter.include().to_vec(),
            exclude: self.filter.exclude().to_vec(),
            totals: totals.clone(),
            dirs: scan.dirs,
            symlinks: scan.symlinks,
            files,
        };
        // The manifest is the commit point: written last, atomically.
        manifest.store(&snap_dir.join(MANIFEST_FILE))?;
        guard.commit();
        if self.opts.fsync {
            atomic::fsync_dir(&kind_dir)?;
        }
        Ok(CreateReport {
            id,
            kind: req.kind,
            path: snap_dir,
            parent: manifest.parent,
            totals,
            cloned_files,
            vanished,
            skipped_special: scan.special,
            removed_incomplete,
            node_pid,
            elapsed: start.elapsed(),
        })
    }

    /// A fresh id, unique across kinds and later than every existing one
    /// (so id order stays time order even if the clock steps back).
    fn allocate_id(&self, found: &[Found], now: OffsetDateTime, name: Option<&str>) -> String {
        let newest = found.iter().filter_map(|f| id_time(&f.id)).max();
        let mut t = now.replace_nanosecond(0).unwrap_or(now);
        if let Some(n) = newest {
            if n >= t {
                t = n + time::Duration::SECOND;
            }
        }
        let taken: HashSet<&str> = found.iter().map(|f| f.id.as_str()).collect();
        loop {
            let id = make_id(t, name);
            if !taken.contains(id.as_str()) {
                return id;
            }
            t += time::Duration::SECOND;
        }
    }

    /// Removes snapshots that have no manifest and leftovers of interrupted
    /// deletions. Only called under the lock, so none of them is being
    /// written. Returns the `<kind>/<id>` of what was removed.
    pub(crate) fn remove_incomplete(&self) -> Result<Vec<String>, BackupError> {
        let mut removed = Vec::new();
        for f in self.scan()? {
            if f.lacks_manifest() {
                fs::remove_dir_all(&f.dir)
                    .map_err(|e| BackupError::io("remove incomplete snapshot", &f.dir, e))?;
                removed.push(f.key());
            }
        }
        self.remove_deletion_leftovers()?;
        Ok(removed)
    }

    /// Removes `.deleting-*` directories a crash left in the middle of a prune.
    pub(crate) fn remove_deletion_leftovers(&self) -> Result<(), BackupError> {
        for kind in SnapshotKind::ALL {
            let dir = kind.dir(&self.home);
            let Ok(rd) = fs::read_dir(&dir) else { continue };
            for e in rd.filter_map(Result::ok) {
                if e.file_name().to_string_lossy().starts_with(DELETING_PREFIX) {
                    let p = e.path();
                    fs::remove_dir_all(&p).map_err(|err| BackupError::io("remove", &p, err))?;
                }
            }
        }
        Ok(())
    }
}

impl Backups {
    /// Fails with [`BackupError::NoSpace`] when an automatic snapshot taken
    /// now would not fit: the bytes it would copy (what the newest complete
    /// snapshot cannot hard-link) against the free space under `backups/auto/`.
    pub fn check_auto_snapshot_space(&self) -> Result<(), BackupError> {
        let found = self.scan()?;
        let kind_dir = crate::SnapshotKind::Auto.dir(&self.home);
        atomic::create_dir_private(&kind_dir)?;
        let scan = scan_live(&self.live_data_dir(), &self.filter)?;
        let parent = pick_parent(&found, &kind_dir);
        let copy_bytes: u64 = scan
            .files
            .iter()
            .filter(|f| {
                !parent.as_ref().is_some_and(|p| {
                    p.by_path.get(f.rel.as_str()).is_some_and(|e| {
                        e.size == f.size
                            && e.mtime == f.mtime
                            && e.mtime_nsec == f.mtime_nsec
                            && unix_ns(e.mtime, e.mtime_nsec) < p.racy_from_ns
                    })
                })
            })
            .map(|f| f.size)
            .sum();
        ensure_space(&kind_dir, copy_bytes)
    }
}

/// Newest complete snapshot whose data lives on the same filesystem as `out`
/// and that no verification found damaged.
fn pick_parent<'a>(found: &'a [Found], out: &Path) -> Option<Parent<'a>> {
    let dev = fs::metadata(out).ok()?.dev();
    found.iter().rev().find_map(|f| {
        let manifest = f.complete()?;
        if crate::manifest::Verification::load(&f.dir).is_some_and(|v| !v.ok) {
            return None;
        }
        if fs::metadata(f.data_dir()).ok()?.dev() != dev {
            return None;
        }
        let created = manifest.created_at()?;
        let racy_from_ns = created.unix_timestamp_nanos() - RACY_WINDOW.as_nanos() as i128;
        Some(Parent {
            found: f,
            manifest,
            by_path: manifest.files.iter().map(|e| (e.path.as_str(), e)).collect(),
            racy_from_ns,
        })
    })
    .inspect(|p| tracing::debug!(parent = %p.found.key(), files = p.manifest.files.len(), "incremental snapshot"))
}

fn copied_entry(f: &LiveFile, size: u64, sha256: &[u8; 32]) -> FileEntry {
    FileEntry {
        path: f.rel.clone(),
        size,
        mode: f.mode,
        mtime: f.mtime,
        mtime_nsec: f.mtime_nsec,
        sha256: to_hex(sha256),
        segments: Vec::new(),
        shared_with_live: false,
    }
}

fn same_device(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev(),
        _ => false,
    }
}

/// Hard-links the first `count` stored segments of `entry` from the parent
/// snapshot into the new one; `Err` says why a copy is needed instead (and
/// whatever was linked is removed again).
fn link_segments(
    parent_dir: &Path,
    snap_dir: &Path,
    entry: &FileEntry,
    count: usize,
) -> Result<(), String> {
    let parts = entry.parts();
    let mut made: Vec<PathBuf> = Vec::new();
    let result = (|| {
        for (i, seg) in parts.iter().enumerate().take(count) {
            let from = segment_path(parent_dir, &entry.path, i);
            let md =
                fs::symlink_metadata(&from).map_err(|e| format!("'{}': {e}", from.display()))?;
            // A stored file is never written; a size or (for a whole file)
            // mtime that moved means something did, so do not trust it.
            let mtime_moved = entry.segments.is_empty()
                && (md.mtime() != entry.mtime
                    || u32::try_from(md.mtime_nsec()).ok() != Some(entry.mtime_nsec));
            if !md.is_file() || md.len() != seg.len || mtime_moved {
                return Err(format!(
                    "'{}' no longer matches its manifest (modified in place?)",
                    from.display()
                ));
            }
            let to = segment_path(snap_dir, &entry.path, i);
            if i > 0 {
                if let Some(dir) = to.parent() {
                    atomic::create_dir_private(dir).map_err(|e| e.to_string())?;
                }
            }
            fs::hard_link(&from, &to)
                .map_err(|e| format!("hard-link '{}': {e}", from.display()))?;
            made.push(to);
        }
        Ok(())
    })();
    if result.is_err() {
        for p in made {
            let _ = fs::remove_file(p);
        }
    }
    result
}

/// Stores a grown append-only file as the parent's segments (linked) plus
/// the bytes appended since. The outer `Err` is fatal; the inner says why
/// the file must be copied whole instead (nothing is left behind then).
fn store_tail(
    copier: &Copier<'_>,
    parent_dir: &Path,
    snap_dir: &Path,
    live: &Path,
    entry: &FileEntry,
) -> Result<Result<(Vec<Segment>, u64), String>, BackupError> {
    let parts = entry.parts();
    if let Err(why) = boundary_matches(parent_dir, live, entry, &parts) {
        return Ok(Err(why));
    }
    if let Err(why) = link_segments(parent_dir, snap_dir, entry, parts.len()) {
        return Ok(Err(why));
    }
    let unlink = || {
        for i in 0..parts.len() {
            let _ = fs::remove_file(segment_path(snap_dir, &entry.path, i));
        }
    };
    let tail_path = segment_path(snap_dir, &entry.path, parts.len());
    if let Some(dir) = tail_path.parent() {
        if let Err(e) = atomic::create_dir_private(dir) {
            unlink();
            return Err(e.into());
        }
    }
    match copier.copy_tail(live, entry.size, &tail_path, STORED_FILE_MODE) {
        Ok(Some((len, sha))) => {
            let mut segments = parts;
            segments.push(Segment {
                len,
                sha256: to_hex(&sha),
            });
            Ok(Ok((segments, len)))
        }
        Ok(None) => {
            unlink();
            Ok(Err(format!(
                "'{}' is shorter than in the parent snapshot or gone",
                live.display()
            )))
        }
        Err(e) => {
            unlink();
            Err(e)
        }
    }
}

/// Compares the first and last [`BOUNDARY_CHECK`] bytes of the parent's
/// content with the live file: an append-only file that was cut short and
/// written again differs there. `Err` says how it differs.
fn boundary_matches(
    parent_dir: &Path,
    live: &Path,
    entry: &FileEntry,
    parts: &[Segment],
) -> Result<(), String> {
    use std::os::unix::fs::FileExt;
    let read = |path: &Path, at: u64, len: u64| -> Result<Vec<u8>, String> {
        let f = fs::File::open(path).map_err(|e| format!("'{}': {e}", path.display()))?;
        let mut buf = vec![0; usize::try_from(len).map_err(|e| e.to_string())?];
        f.read_exact_at(&mut buf, at)
            .map_err(|e| format!("read '{}': {e}", path.display()))?;
        Ok(buf)
    };
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return Err("no segments".into());
    };
    let head = first.len.min(BOUNDARY_CHECK);
    let tail = last.len.min(BOUNDARY_CHECK);
    let first_path = segment_path(parent_dir, &entry.path, 0);
    let last_path = segment_path(parent_dir, &entry.path, parts.len() - 1);
    if read(&first_path, 0, head)? != read(live, 0, head)?
        || read(&last_path, last.len - tail, tail)? != read(live, entry.size - tail, tail)?
    {
        return Err(format!(
            "'{}' differs from the parent snapshot within its first {} bytes (rewritten, not appended)",
            live.display(),
            entry.size
        ));
    }
    Ok(())
}
