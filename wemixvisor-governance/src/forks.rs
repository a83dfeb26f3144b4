//! Fork heights compiled into the node, read from `admin_nodeInfo`.
//!
//! `admin_nodeInfo.protocols.eth.config` is geth's chain config: forks are
//! keys ending in `Block` with a number (`londonBlock`, `pangyoBlock`,
//! `croissantBlock`), and some forks are nested objects with a `block`
//! field. Time-based forks (`shanghaiTime`) and nested parameters such as
//! `brioche.firstHalvingBlock` are not fork heights and are left out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wemixvisor_core::ChainError;

use crate::decode::{bad, lenient_u64};
use crate::RpcChainClient;

/// One fork and its activation height.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Fork {
    /// Fork name without the `Block` suffix (`london`, `croissant`).
    pub name: String,
    /// Activation height.
    pub height: u64,
}

/// The next fork(s) after the head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextFork {
    /// Forks activating at that height (usually one).
    pub names: Vec<String>,
    /// Activation height.
    pub height: u64,
    /// Blocks from the head to the activation.
    pub blocks_to_go: u64,
}

/// Every fork height of the node, lowest first.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ForkSchedule {
    /// Forks, by height then name.
    pub forks: Vec<Fork>,
}

/// What `status` shows about forks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkStatus {
    /// Head the status was computed at.
    pub head: u64,
    /// The next fork after the head, if any.
    pub next: Option<NextFork>,
    /// Every fork.
    pub forks: Vec<Fork>,
}

impl ForkSchedule {
    /// Reads the forks of a chain config object (`protocols.eth.config`).
    pub fn from_chain_config(config: &Value) -> Self {
        let mut found: BTreeMap<String, u64> = BTreeMap::new();
        let Some(obj) = config.as_object() else {
            return ForkSchedule::default();
        };
        for (key, v) in obj {
            if let Some(name) = key.strip_suffix("Block").filter(|n| !n.is_empty()) {
                if let Some(h) = lenient_u64(v) {
                    found.insert(name.to_string(), h);
                }
            } else if let Some(nested) = v.as_object() {
                let block = nested
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("block"))
                    .and_then(|(_, b)| lenient_u64(b));
                if let Some(h) = block {
                    // An explicit `<name>Block` key wins over the nested form.
                    found.entry(key.clone()).or_insert(h);
                }
            }
        }
        let mut forks: Vec<Fork> = found
            .into_iter()
            .map(|(name, height)| Fork { name, height })
            .collect();
        forks.sort_by(|a, b| (a.height, &a.name).cmp(&(b.height, &b.name)));
        ForkSchedule { forks }
    }

    /// Reads the forks of an `admin_nodeInfo` answer.
    pub fn from_node_info(info: &Value) -> Result<Self, ChainError> {
        let config = info
            .pointer("/protocols/eth/config")
            .ok_or_else(|| bad("admin_nodeInfo", "no protocols.eth.config in the answer"))?;
        if !config.is_object() {
            return Err(bad(
                "admin_nodeInfo",
                format!("protocols.eth.config: expected an object, got {config}"),
            ));
        }
        Ok(Self::from_chain_config(config))
    }

    /// The lowest fork height above `head`, with every fork at it.
    pub fn next_fork(&self, head: u64) -> Option<NextFork> {
        let height = self.forks.iter().map(|f| f.height).find(|&h| h > head)?;
        Some(NextFork {
            names: self
                .forks
                .iter()
                .filter(|f| f.height == height)
                .map(|f| f.name.clone())
                .collect(),
            height,
            blocks_to_go: height - head,
        })
    }

    /// The height of fork `name`, if the node knows it.
    pub fn height_of(&self, name: &str) -> Option<u64> {
        let name = name.strip_suffix("Block").unwrap_or(name);
        self.forks.iter().find(|f| f.name == name).map(|f| f.height)
    }

    /// The status at `head`.
    pub fn status(&self, head: u64) -> ForkStatus {
        ForkStatus {
            head,
            next: self.next_fork(head),
            forks: self.forks.clone(),
        }
    }
}

impl RpcChainClient {
    /// The node's fork heights (`admin_nodeInfo`; needs the `admin` namespace).
    pub async fn fork_schedule(&self) -> Result<ForkSchedule, ChainError> {
        let info = self.node_info().await?;
        ForkSchedule::from_node_info(&info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({"protocols": {"eth": {"network": 1111, "config": {
            "chainId": 1111,
            "homesteadBlock": 0,
            "londonBlock": 0,
            "pangyoBlock": 10,
            "applepieBlock": "0x14",
            "briocheBlock": 30,
            "brioche": {"blockReward": 1, "firstHalvingBlock": 30, "halvingPeriod": 63072000},
            "croissantBlock": 100,
            "croissant": {"wBFT": {"epochLength": 10}, "init": {}},
            "dessert": {"block": 200, "note": "nested form"},
            "shanghaiTime": 1700000000,
            "terminalTotalDifficulty": null,
            "weirdBlock": "soon"
        }}}})
    }

    #[test]
    fn reads_block_keys_and_nested_block_fields() {
        let s = ForkSchedule::from_node_info(&sample()).unwrap();
        let names: Vec<(&str, u64)> = s
            .forks
            .iter()
            .map(|f| (f.name.as_str(), f.height))
            .collect();
        assert_eq!(
            names,
            vec![
                ("homestead", 0),
                ("london", 0),
                ("pangyo", 10),
                ("applepie", 20),
                ("brioche", 30),
                ("croissant", 100),
                ("dessert", 200)
            ]
        );
        assert_eq!(s.height_of("croissantBlock"), Some(100));
    }

    #[test]
    fn next_fork_and_blocks_to_go() {
        let s = ForkSchedule::from_node_info(&sample()).unwrap();
        let n = s.next_fork(25).unwrap();
        assert_eq!(
            (n.names, n.height, n.blocks_to_go),
            (vec!["brioche".to_string()], 30, 5)
        );
        // At the fork height the fork is active: the next one is later.
        assert_eq!(s.next_fork(30).unwrap().height, 100);
        assert!(s.next_fork(200).is_none());
        let st = s.status(99);
        assert_eq!(st.next.unwrap().blocks_to_go, 1);
    }

    #[test]
    fn forks_at_one_height_are_listed_together() {
        let s = ForkSchedule::from_chain_config(&json!({"aBlock": 5, "bBlock": 5}));
        assert_eq!(s.next_fork(0).unwrap().names, vec!["a", "b"]);
    }

    #[test]
    fn missing_config_is_a_decode_error() {
        assert!(ForkSchedule::from_node_info(&json!({"protocols": {}})).is_err());
    }
}
