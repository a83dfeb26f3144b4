//! Incremental, verifiable snapshots of a Wemix node's chain data.
//!
//! This crate owns everything under `backups/` of a wemixvisor home:
//! taking snapshots of `chain-data/` (manual ones for operators, automatic
//! ones for the upgrade pipeline through [`wemixvisor_core::DataBackup`],
//! which [`Backups`] implements), their manifests, `list`, `verify`,
//! `restore` (an atomic directory swap), retention (`prune`) and `.tar.zst`
//! exports. It draws nothing: progress goes to a [`Progress`] the caller
//! supplies, and an interrupt handler stops work through a [`CancelFlag`].
//!
//! # Theory of operation
//! A snapshot is `backups/<auto|manual>/<id>/` holding `data/` (a copy of
//! the chain data, minus excluded paths such as `logs/**`) and
//! `manifest.json` (path, size, mode, mtime and sha256 of every file, plus
//! the parent snapshot, totals, versions and head height). Ids start with
//! the UTC time (`20261126T110500Z-<name>`), so they sort by age.
//!
//! - **Create** scans the live data, then picks as *parent* the newest
//!   complete snapshot on the same filesystem. A file whose size and mtime
//!   equal the parent's manifest entry (and whose mtime was safely older than
//!   the parent's scan, see "racy" below) is hard-linked from the parent's
//!   copy. A grown append-only freezer file is stored as the parent's
//!   segments (linked) plus the appended tail (`segments/<path>.<n>`), after
//!   comparing both ends of the parent's content with the live file. A
//!   table (`*.ldb`, `*.sst`, immutable by contract) is, while the node is
//!   stopped, hard-linked from the live data and only hashed. Everything
//!   else is copied from the live data by a pool of threads, in the kernel
//!   (`copy_file_range`) and hashed from the page cache (or cloned by the
//!   filesystem where it supports reflinks, then hashed from the clone; or
//!   read, hashed and written). So a snapshot costs time in proportion to
//!   the bytes that changed. Stored files are read-only (0400): hard-linked
//!   copies share one inode and must never change; the live mode is kept in
//!   the manifest. The data is made durable (`syncfs`) and only then is the
//!   manifest written, atomically: a snapshot without a manifest is
//!   incomplete, never listed as good, and removed by the next create or
//!   prune. Any error or cancellation removes the partial snapshot at once.
//! - **Racy entries**: a file written in the same timestamp tick as it was
//!   copied could change again without changing size or mtime; entries whose
//!   mtime is within two seconds of the parent's scan start are therefore
//!   copied again rather than linked (the rule git uses for its index).
//! - **Verify** re-hashes every file and every segment and reports each changed, missing and
//!   extra path; the result is kept in `verified.json` and shown by `list`.
//! - **Restore** refuses while the node or a supervisor runs, copies the
//!   snapshot into `chain-data.restoring-<ts>` beside the live data,
//!   checking each file's sha256 while copying, makes it durable, then swaps
//!   it in (one `renameat2(RENAME_EXCHANGE)` on Linux, two renames elsewhere)
//!   and keeps the previous data as `chain-data.pre-restore-<ts>`. A journal
//!   in `backups/` lets the next operation finish or roll back a restore cut
//!   short by a crash. Paths the snapshot did not cover (logs) are moved
//!   over from the previous data.
//! - **Prune** keeps the newest `keep_auto` automatic snapshots and any
//!   younger than `max_age`; manual snapshots and pre-restore copies only
//!   when asked. Removing a parent never loses a child's data: shared files
//!   are hard links, and an inode lives while any link does.
//! - Mutating operations hold `backups/.lock`, so they never interleave.
//! - **Not through `FileSystem`**: the copy works on open descriptors
//!   (`copy_file_range`, reflink clones, `syncfs`, `renameat2`), which the
//!   path-level [`wemixvisor_core::FileSystem`] seam cannot express, so this
//!   crate uses the OS directly. Its interruptions (a cancelled create, a
//!   crash before the manifest, a restore cut short) are tested against the
//!   real file system in `tests/it/interrupt.rs` and `restore.rs`; injected
//!   ENOSPC/EIO cover the binary store's install transaction, which does go
//!   through the seam, not this copy.
//!
//! # Features
//! - `test-utils`: exposes [`test_utils`] (a synthetic geth-shaped data
//!   tree, a way to change part of it like a running node, tree pictures)
//!   to tests and benchmarks.

mod archive;
mod backups;
mod catalog;
mod copy;
mod create;
mod error;
mod id;
mod manifest;
mod options;
mod progress;
mod prune;
mod restore;
mod verify;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use archive::ArchiveReport;
pub use backups::{Backups, RunningProcess, LOCK_FILE};
pub use catalog::{SnapshotInfo, SnapshotState};
pub use create::{CreateReport, CreateRequest, STORED_FILE_MODE};
pub use error::BackupError;
pub use id::{is_snapshot_id, validate_name, SnapshotKind, MAX_NAME_LEN};
pub use manifest::{
    segment_path, DirEntry, FileEntry, Manifest, Segment, SymlinkEntry, Totals, Verification,
    DATA_DIR, FORMAT_VERSION, MANIFEST_FILE, MIN_FORMAT_VERSION, SEGMENTS_DIR, VERIFIED_FILE,
};
pub use options::{parse_max_age, BackupOptions, Filter, DEFAULT_EXCLUDE, DEFAULT_KEEP_AUTO};
pub use progress::{CancelFlag, NoProgress, Phase, Progress};
pub use prune::{PruneReport, PruneRequest, Pruned, PrunedKind};
pub use restore::RestoreReport;
pub use verify::{Problem, ProblemKind, VerifyReport};
