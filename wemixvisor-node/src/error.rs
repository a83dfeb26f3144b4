/// Errors of the node runner that are not [`wemixvisor_core::NodeError`]s.
#[derive(Debug, thiserror::Error)]
pub enum NodeRunError {
    /// Installing a signal handler failed.
    #[error("cannot install a handler for {signal}: {source}")]
    SignalHandler {
        /// The signal name.
        signal: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A process-reaping call (subreaper, wait, spawn of the supervised
    /// process) failed.
    #[error("cannot {action}")]
    Reaper {
        /// What was being done.
        action: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
