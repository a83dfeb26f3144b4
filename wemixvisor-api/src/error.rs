//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A listener could not be bound or secured.
    #[error("cannot listen on '{addr}': {source}")]
    Listen {
        /// The socket path or TCP address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// TCP asked for a non-loopback bind with no token.
    #[error("refusing to serve the API on non-loopback address '{addr}' without a token")]
    TokenRequired {
        /// The bind address.
        addr: String,
    },
    /// A file could not be read or written.
    #[error("cannot access '{path}': {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A token file holds no usable token.
    #[error("token file '{path}' is empty or not text (expected one line of hex)")]
    BadToken {
        /// The file.
        path: PathBuf,
    },
    /// The daemon is not listening on its socket.
    #[error("no supervisor listens on '{path}'")]
    NotRunning {
        /// The socket path.
        path: PathBuf,
    },
    /// An HTTP exchange failed.
    #[error("http: {0}")]
    Http(String),
    /// The daemon answered with an error.
    #[error("{message} (HTTP {status})")]
    Remote {
        /// HTTP status.
        status: u16,
        /// The `error` field.
        message: String,
        /// The `hint` field.
        hint: Option<String>,
    },
    /// A JSON body could not be read.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// An alert sink failed.
    #[error("alert sink '{sink}' failed: {message}")]
    Sink {
        /// The sink name.
        sink: String,
        /// What went wrong.
        message: String,
    },
}

impl ApiError {
    /// What fixes it, when something does (printed last by the CLI).
    pub fn help(&self) -> Option<String> {
        match self {
            ApiError::Listen { .. } => Some(
                "stop whatever holds the address, or change `api.bind` in wemixvisor.toml".into(),
            ),
            ApiError::TokenRequired { .. } => Some(
                "set `api.token_file` (created by `wemixvisor init`), or bind to 127.0.0.1".into(),
            ),
            ApiError::BadToken { .. } => {
                Some("regenerate it with `wemixvisor init --force` or write a new token".into())
            }
            ApiError::NotRunning { .. } => Some("start it with `wemixvisor start`".into()),
            ApiError::Remote { hint, .. } => hint.clone(),
            ApiError::Sink { .. } => {
                Some("check the sink's url in the [alerts] section of wemixvisor.toml".into())
            }
            _ => None,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;
