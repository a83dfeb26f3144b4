use std::path::PathBuf;

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
    /// A configured contract address is not a 20-byte hex address.
    #[error("invalid {what} address '{value}': expected 0x followed by 40 hex digits\nhelp: fix governance.{key} in wemixvisor.toml")]
    BadAddress {
        /// What the address is for ("GovNCP", "upgrade-proposal contract").
        what: &'static str,
        /// The configuration key that holds it.
        key: &'static str,
        /// The value given.
        value: String,
    },
    /// No contract code at the address the configuration names.
    #[error("no contract at {address} on chain {chain_id} ({what})\nhelp: check governance.{key} in wemixvisor.toml, or that the node runs the intended network")]
    NoContract {
        /// What the contract is for.
        what: &'static str,
        /// The configuration key that names it.
        key: &'static str,
        /// The address.
        address: String,
        /// The chain the node is on.
        chain_id: u64,
    },
    /// A contract answered a view call with data of the wrong shape.
    #[error("{contract}.{function} returned data that does not decode: {reason}")]
    Abi {
        /// Contract name.
        contract: &'static str,
        /// Function name.
        function: &'static str,
        /// What did not fit.
        reason: String,
    },
    /// The proposal cache `governance/proposals.json` cannot be read or written.
    #[error("proposal cache '{}': {reason}\nhelp: the file is a cache; delete it and it is rebuilt from the chain", path.display())]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A file operation of the core primitives failed.
    #[error(transparent)]
    Core(#[from] wemixvisor_core::CoreError),
    /// A release manifest URL is refused by policy.
    #[error("release manifest URL '{url}' is refused: {reason}\nhelp: use https://, or http:// only to 127.0.0.1/localhost (governance.release_manifest_url)")]
    ManifestUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A release manifest or its signature could not be fetched.
    #[error("cannot fetch {url}: {reason}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The release manifest is not signed by the configured key; nothing from it is used.
    #[error("release manifest {url} is refused: {reason}\nhelp: the manifest must be signed with minisign by the key in governance.release_manifest_public_key (signature at <url>.minisig)")]
    ManifestSignature {
        /// The manifest URL.
        url: String,
        /// What is wrong with the signature or key.
        reason: String,
    },
    /// The release manifest is signed but its content is wrong; nothing from it is used.
    #[error("release manifest {url} is invalid: {reason}")]
    ManifestInvalid {
        /// The manifest URL.
        url: String,
        /// What does not fit.
        reason: String,
    },
    /// A setting is missing or contradicts another.
    #[error("{0}")]
    Settings(String),
}

impl GovernanceError {
    /// True when the error means "the node cannot be reached" (a later try may work).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            GovernanceError::Chain(wemixvisor_core::ChainError::Unreachable { .. })
        )
    }
}
