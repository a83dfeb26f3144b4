/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum GovernanceError {
    /// The RPC URL is not a valid http(s) URL.
    #[error("invalid RPC URL '{url}': {reason}\nhelp: set node.rpc_url in wemixvisor.toml, e.g. http://127.0.0.1:8545")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A chain call failed.
    #[error(transparent)]
    Chain(#[from] wemixvisor_core::ChainError),
}
