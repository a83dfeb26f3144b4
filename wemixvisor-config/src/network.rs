use std::fmt;
use std::str::FromStr;

/// The Wemix network a home runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Network {
    /// Wemix mainnet, chain id 1111, geth `--mainnet`.
    Mainnet,
    /// Wemix testnet, chain id 1112, geth `--testnet`.
    Testnet,
    /// A private or local network: no geth preset, any chain id except 1111/1112.
    Devnet,
}

impl Network {
    /// Every network, in display order.
    pub const ALL: [Network; 3] = [Network::Mainnet, Network::Testnet, Network::Devnet];

    /// Chain id (`--networkid`): 1111 mainnet, 1112 testnet, and 1113 for
    /// devnet, which is only the id the devnet template proposes (a devnet
    /// may use any id other than 1111 and 1112).
    pub fn chain_id(self) -> u64 {
        match self {
            Network::Mainnet => 1111,
            Network::Testnet => 1112,
            Network::Devnet => 1113,
        }
    }

    /// Lowercase name, as in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Testnet => "testnet",
            Network::Devnet => "devnet",
        }
    }

    /// The geth preset flag (`--mainnet`, `--testnet`), `None` for devnet.
    pub fn geth_preset_flag(self) -> Option<&'static str> {
        match self {
            Network::Mainnet => Some("--mainnet"),
            Network::Testnet => Some("--testnet"),
            Network::Devnet => None,
        }
    }

    /// True when `id` is a chain id this network may use.
    pub fn accepts_chain_id(self, id: u64) -> bool {
        match self {
            Network::Mainnet | Network::Testnet => id == self.chain_id(),
            Network::Devnet => {
                id != Network::Mainnet.chain_id() && id != Network::Testnet.chain_id()
            }
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of parsing a [`Network`] or [`LogFormat`] name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// What was given.
    pub given: String,
    /// What is accepted.
    pub expected: &'static str,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown name \"{}\": expected {}",
            self.given, self.expected
        )
    }
}

impl std::error::Error for UnknownName {}

impl FromStr for Network {
    type Err = UnknownName;

    /// Parses `mainnet`, `testnet` or `devnet` (exactly, lowercase).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mainnet" => Ok(Network::Mainnet),
            "testnet" => Ok(Network::Testnet),
            "devnet" => Ok(Network::Devnet),
            _ => Err(UnknownName {
                given: s.to_string(),
                expected: "one of mainnet, testnet, devnet",
            }),
        }
    }
}

/// Format of wemixvisor's own log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Lowercase name, as in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogFormat {
    type Err = UnknownName;

    /// Parses `text` or `json` (exactly, lowercase).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(UnknownName {
                given: s.to_string(),
                expected: "one of text, json",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_names_and_ids() {
        for n in Network::ALL {
            assert_eq!(n.to_string().parse::<Network>().unwrap(), n);
        }
        assert_eq!(Network::Mainnet.chain_id(), 1111);
        assert_eq!(Network::Testnet.chain_id(), 1112);
        assert!(Network::Devnet.accepts_chain_id(424242));
        assert!(!Network::Devnet.accepts_chain_id(1111));
        assert!(!Network::Mainnet.accepts_chain_id(1112));
        assert_eq!(
            "Mainnet".parse::<Network>().unwrap_err().to_string(),
            "unknown name \"Mainnet\": expected one of mainnet, testnet, devnet"
        );
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert!("JSON".parse::<LogFormat>().is_err());
    }
}
