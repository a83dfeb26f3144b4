use std::path::PathBuf;

/// Errors of the core primitives (home layout, atomic writes, locks).
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// An I/O operation on a path failed.
    #[error("{op} '{}': {source}", path.display())]
    Io {
        /// What was being done ("write", "rename", ...).
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds a lock this process needs.
    #[error("'{}' is locked by running process {pid}", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// The pid recorded in the lock file (0 when unreadable).
        pid: u32,
    },
    /// A backup or restore through [`crate::DataBackup`] failed.
    #[error("backup failed: {0}")]
    Backup(String),
    /// The API socket path is longer than a Unix socket address allows.
    #[error("socket path '{}' is {len} bytes, more than the {max} a Unix socket address allows (sun_path)\nhelp: use a shorter home path (--home or WEMIX_HOME), e.g. a symlink such as /srv/wemix pointing at the volume", path.display())]
    SocketPathTooLong {
        /// `state/wemixvisor.sock` of the home.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No home directory could be determined.
    #[error("no home directory: set --home or WEMIX_HOME")]
    NoHome,
    /// A snapshot directory given by the environment is not absolute.
    #[error("{var} must be an absolute path, got \"{value}\"\nhelp: set {var} to an absolute directory, e.g. /mnt/backups/wemix, or unset it to keep snapshots in the home's backups/")]
    RelativeBackupDir {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
    },
}

impl CoreError {
    /// Wraps an I/O error with the operation and path it came from.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Errors a [`crate::ChainClient`] reports.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    /// The node's RPC endpoint could not be reached (not running, wrong URL, timeout).
    #[error("node RPC at {url} is unreachable: {reason}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// Why (connection refused, timeout, ...).
        reason: String,
    },
    /// The node does not offer this method (namespace not enabled in `--http.api`).
    #[error("the node does not expose {method} (enable its namespace with --http.api)")]
    MethodUnavailable {
        /// The JSON-RPC method.
        method: String,
    },
    /// The node answered with a JSON-RPC error.
    #[error("{method} failed: {message} (code {code})")]
    Rpc {
        /// The JSON-RPC method.
        method: String,
        /// JSON-RPC error code.
        code: i64,
        /// JSON-RPC error message.
        message: String,
    },
    /// The node answered with something of the wrong shape.
    #[error("unexpected answer to {method}: {reason}")]
    Decode {
        /// The JSON-RPC method.
        method: String,
        /// What did not fit.
        reason: String,
    },
}

/// Errors a [`crate::NodeProcess`] reports.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The node binary does not exist or is not executable.
    #[error("node binary '{}' is missing or not executable", path.display())]
    BinaryMissing {
        /// Where the binary was expected.
        path: PathBuf,
    },
    /// Spawning the node failed.
    #[error("failed to start '{}': {source}", path.display())]
    Spawn {
        /// The program.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The node is already running.
    #[error("the node is already running (pid {pid})")]
    AlreadyRunning {
        /// Its pid.
        pid: u32,
    },
    /// Sending a signal failed.
    #[error("failed to signal the node: {0}")]
    Signal(String),
    /// Anything else from the OS.
    #[error(transparent)]
    Core(#[from] CoreError),
}
