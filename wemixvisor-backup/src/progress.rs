//! Progress reporting and cancellation: the library reports through
//! [`Progress`], the CLI draws; an interrupt handler flips a [`CancelFlag`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What a long operation is doing, for the progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Copying changed and new files into a snapshot.
    Snapshot,
    /// Re-hashing a snapshot against its manifest.
    Verify,
    /// Copying a snapshot out into the restore directory.
    Restore,
    /// Writing a `.tar.zst` archive.
    Archive,
}

impl Phase {
    /// A short verb for display ("copying", "verifying", ...).
    pub fn verb(self) -> &'static str {
        match self {
            Phase::Snapshot => "copying",
            Phase::Verify => "verifying",
            Phase::Restore => "restoring",
            Phase::Archive => "archiving",
        }
    }
}

/// Receives progress of long operations. Called from worker threads.
pub trait Progress: Send + Sync {
    /// A phase starts that will move `total_bytes` bytes over `files` files.
    fn begin(&self, phase: Phase, total_bytes: u64, files: u64);
    /// `bytes` more bytes were moved.
    fn advance(&self, bytes: u64);
    /// A notable event that is not an error (a file vanished, a fallback).
    fn note(&self, message: &str);
    /// The phase ended (successfully or not).
    fn finish(&self, phase: Phase);
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _phase: Phase, _total_bytes: u64, _files: u64) {}
    fn advance(&self, _bytes: u64) {}
    fn note(&self, _message: &str) {}
    fn finish(&self, _phase: Phase) {}
}

/// A shared flag that asks running operations to stop at the next chunk.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        CancelFlag::default()
    }
    /// Asks operations to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// True once [`CancelFlag::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
