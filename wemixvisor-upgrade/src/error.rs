use std::path::PathBuf;

use wemixvisor_core::{CoreError, NodeError};

/// Errors of the upgrade path.
#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    /// The upgrade's binary is not installed.
    #[error("upgrade '{name}': binary '{}' is missing or not executable\nhelp: install it there (mode 0755) or give the plan download info", path.display())]
    BinaryMissing {
        /// Upgrade name.
        name: String,
        /// Expected path.
        path: PathBuf,
    },
    /// The queue file is unreadable or corrupt.
    #[error("upgrade queue '{}' is unreadable: {reason}\nhelp: fix or remove the file; plans from upgrade-info.json are queued again on start", path.display())]
    BadQueue {
        /// The queue file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Another process held the queue lock for too long.
    #[error("upgrade queue lock '{}' is held by another process (waited {waited:?})\nhelp: retry; if it persists, look for a stuck `wemixvisor upgrade` command", path.display())]
    QueueLocked {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited: std::time::Duration,
    },
    /// A plan conflicts with the queue or the installed binaries.
    #[error("upgrade '{name}': {reason}")]
    Conflict {
        /// Upgrade name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A batch of plans (or one plan) was rejected; every problem is listed.
    #[error("the plan is rejected, nothing was queued:\n{}\nhelp: fix every problem above and run the command again", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    BadPlan {
        /// Each problem, one line each.
        problems: Vec<String>,
    },
    /// The upgrade journal is unreadable or corrupt.
    #[error("upgrade journal '{}' is unreadable: {reason}\nhelp: check `current` and the node by hand, then move the file aside; wemixvisor never guesses what an unreadable journal meant", path.display())]
    BadJournal {
        /// The journal file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Downloads are turned off but the plan needs one.
    #[error("upgrade '{name}' needs a download from '{url}', but downloads are off\nhelp: set download.allow_download_binaries = true (or DAEMON_ALLOW_DOWNLOAD_BINARIES=true), or install the binary as '{}'", path.display())]
    DownloadDisabled {
        /// Upgrade name.
        name: String,
        /// The URL it would come from.
        url: String,
        /// Where the binary could be installed by hand.
        path: PathBuf,
    },
    /// The plan's download info has no binary for this machine.
    #[error("upgrade '{name}': info.binaries has no entry for '{platform}' or 'any' (it has: {})\nhelp: add a \"{platform}\" or \"any\" entry, or install the binary by hand", if available.is_empty() { "nothing".to_string() } else { available.join(", ") })]
    NoBinaryForPlatform {
        /// Upgrade name.
        name: String,
        /// This machine, `os/arch`.
        platform: String,
        /// The keys the plan has.
        available: Vec<String>,
    },
    /// The plan's download info is malformed.
    #[error("upgrade '{name}': bad download info: {reason}")]
    BadInfo {
        /// Upgrade name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A URL is not allowed by the download policy.
    #[error("refusing to download '{url}': {reason}\nhelp: {help}")]
    UrlRefused {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
        /// What fixes it.
        help: String,
    },
    /// A download is larger than `download.max_bytes`.
    #[error("refusing to download '{url}': it is {actual} bytes, more than download.max_bytes ({limit}); nothing was kept\nhelp: check the URL, or raise download.max_bytes if the release really is that large")]
    DownloadTooLarge {
        /// The URL.
        url: String,
        /// `download.max_bytes`.
        limit: u64,
        /// What the server announced or sent (`at least N` while streaming).
        actual: String,
    },
    /// A download did not finish within `download.timeout`.
    #[error("download of '{url}' did not finish within {timeout} (download.timeout), after {got} bytes; nothing was kept\nhelp: check the server and the network, or raise download.timeout")]
    DownloadTimedOut {
        /// The URL.
        url: String,
        /// `download.timeout`, human-readable.
        timeout: String,
        /// Bytes received by then.
        got: u64,
    },
    /// A download carries no checksum while one is required.
    #[error("refusing to download '{url}': it has no checksum\nhelp: add ?checksum=sha256:<hex> to the URL or a \"checksum\" field; only if you must, set download.must_have_checksum = false")]
    ChecksumRequired {
        /// The URL.
        url: String,
    },
    /// The downloaded bytes do not match the expected checksum.
    #[error("checksum mismatch for '{url}': expected {expected}, got sha256:{actual}; the download was deleted\nhelp: check the plan's checksum and the file on the server")]
    ChecksumMismatch {
        /// The URL.
        url: String,
        /// Expected, `sha256:<hex>`.
        expected: String,
        /// Actual hex digest.
        actual: String,
    },
    /// A signature is missing, malformed or does not verify.
    #[error("signature check failed for '{url}': {reason}\nhelp: {help}")]
    Signature {
        /// The URL of the signed file.
        url: String,
        /// Why.
        reason: String,
        /// What fixes it.
        help: String,
    },
    /// The server answered with an error status.
    #[error("download of '{url}' failed: HTTP {status}\nhelp: check the URL in the plan")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The transfer failed (connection, TLS, timeout, truncated body) after retries.
    #[error("download of '{url}' failed after {attempts} attempt(s): {reason}\nhelp: check the network and the server; wemixvisor tries again later")]
    Network {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
        /// Attempts made.
        attempts: u32,
    },
    /// An archive is malformed or unsafe.
    #[error("archive '{source_name}' is refused: {reason}")]
    Archive {
        /// The archive (URL or path).
        source_name: String,
        /// Why.
        reason: String,
    },
    /// The new binary does not accept the node's arguments or does not run.
    #[error("upgrade '{name}': pre-flight of '{}' failed: {reason}\nhelp: {help}", binary.display())]
    Preflight {
        /// Upgrade name.
        name: String,
        /// The new binary.
        binary: PathBuf,
        /// Why.
        reason: String,
        /// What fixes it.
        help: String,
    },
    /// A hook failed (exit code other than 0, 30, 31; a timeout; retries used up).
    #[error("upgrade '{name}': {hook} hook '{}' failed: {reason}\nhelp: fix the hook (exit 0 to go on, 30 to abort, 31 to retry) and look at its output above", path.display())]
    Hook {
        /// Upgrade name.
        name: String,
        /// `pre-upgrade`, `post-upgrade` or `custom pre-upgrade`.
        hook: String,
        /// The script.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A hook asked to abort the upgrade (exit 30).
    #[error("upgrade '{name}' aborted by the {hook} hook '{}' (exit 30); the previous binary stays\nhelp: the plan is marked aborted; queue it again under a new name when ready", path.display())]
    HookAborted {
        /// Upgrade name.
        name: String,
        /// Which hook.
        hook: String,
        /// The script.
        path: PathBuf,
    },
    /// A data migration cannot be prepared or failed (free space, engine
    /// detection, a `migrate` or `verify` step).
    #[error("upgrade '{name}': {reason}")]
    Migration {
        /// Upgrade name.
        name: String,
        /// Why (with the fix, as a `help:` line, when there is one).
        reason: String,
        /// True when waiting may clear it (free space).
        transient: bool,
    },
    /// The new binary failed after the switch and the previous one is back.
    #[error("upgrade '{name}' was rolled back to '{to}': {reason}")]
    RolledBack {
        /// Upgrade name.
        name: String,
        /// What `current` points at again.
        to: String,
        /// Why.
        reason: String,
    },
    /// A stop arrived while the upgrade ran; it ended at a safe point, with
    /// the journal at `step` (recovered when wemixvisor starts again).
    #[error("upgrade '{name}' was interrupted by a stop at step {step}; the journal keeps it, so it resumes or starts over when wemixvisor starts again")]
    Interrupted {
        /// Upgrade name.
        name: String,
        /// The journal step it ended at.
        step: String,
    },
    /// A rollback cannot be done.
    #[error("cannot roll back: {reason}\nhelp: {help}")]
    Rollback {
        /// Why.
        reason: String,
        /// What to do.
        help: String,
    },
    /// The node could not be stopped or started.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A file operation failed.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl UpgradeError {
    /// True for failures that may clear by themselves (network trouble, a
    /// server error, a binary not installed yet), so preparing again later
    /// makes sense; verification failures are never transient.
    pub fn is_transient(&self) -> bool {
        match self {
            UpgradeError::Network { .. } | UpgradeError::BinaryMissing { .. } => true,
            UpgradeError::Migration { transient, .. } => *transient,
            UpgradeError::HttpStatus { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }

    /// Shorthand for an I/O error on `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, e: std::io::Error) -> Self {
        UpgradeError::Core(CoreError::io(op, path, e))
    }
}
