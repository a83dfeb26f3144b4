//! The upgrade-queue feed: upgrade plans from the signed release manifest
//! and the upgrade-proposal contract, each handed out once.
//!
//! Sources implement [`ProposalSource`]; [`UpgradeFeed`] polls them all,
//! remembers what it already handed out, and sorts the new plans into
//! "queue now" (`governance.auto_queue_upgrades = true`) or "held for the
//! operator". Plans whose height is already past are reported, never
//! queued. A failing source is reported and does not stop the others.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use wemixvisor_core::UpgradePlan;

use crate::manifest::ManifestSource;
use crate::tracker::parse_address;
use crate::upgrade_contract::ContractSource;
use crate::{GovernanceError, RpcChainClient};

/// A plan a source offered that will not be applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedPlan {
    /// The plan.
    pub plan: UpgradePlan,
    /// Why it is not queued.
    pub reason: String,
}

impl SkippedPlan {
    /// A plan whose height is not above `head`.
    pub fn past(plan: UpgradePlan, head: u64) -> Self {
        let reason = format!(
            "height {} already passed (head {head}); not applied — install it by hand if it is still needed",
            plan.height
        );
        SkippedPlan { plan, reason }
    }
}

/// What one source offers at one poll.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePoll {
    /// Approved plans with a height above the head.
    pub plans: Vec<UpgradePlan>,
    /// Approved plans that will not be applied.
    pub skipped: Vec<SkippedPlan>,
    /// Informational lines (open votes, unusable entries).
    pub notes: Vec<String>,
}

/// A source of approved upgrade plans.
#[async_trait]
pub trait ProposalSource: Send + Sync {
    /// `source` of its plans (`manifest`, `contract`).
    fn source(&self) -> &'static str;
    /// Every approved plan, sorted into usable (height above `head`) and skipped.
    async fn fetch_plans(&self, head: u64) -> Result<SourcePoll, GovernanceError>;
}

/// A source that failed at one poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceError {
    /// `manifest` or `contract`.
    pub source: String,
    /// The error, as one line plus hint.
    pub error: String,
}

/// What one poll of the feed found that was not reported before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedReport {
    /// New plans to offer to the upgrade queue now.
    pub queue: Vec<UpgradePlan>,
    /// New plans held for the operator (`auto_queue_upgrades = false`).
    pub held: Vec<UpgradePlan>,
    /// Newly seen plans that will not be applied.
    pub skipped: Vec<SkippedPlan>,
    /// Informational lines of this poll.
    pub notes: Vec<String>,
    /// Sources that failed at this poll.
    pub errors: Vec<SourceError>,
}

/// The governance settings, as `[governance]` of `wemixvisor.toml` holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernanceSettings {
    /// Time between polls.
    pub poll_interval: Duration,
    /// GovNCP's address.
    pub gov_ncp_address: String,
    /// Report the node's fork heights.
    pub track_fork_heights: bool,
    /// URL of the signed release manifest.
    pub release_manifest_url: Option<String>,
    /// minisign public key of the manifest.
    pub release_manifest_public_key: Option<String>,
    /// Address of the upgrade-proposal contract.
    pub upgrade_proposal_contract: Option<String>,
    /// Queue approved upgrades without operator action.
    pub auto_queue_upgrades: bool,
    /// Refuse an early halt that would break quorum.
    pub quorum_guard: bool,
}

impl Default for GovernanceSettings {
    fn default() -> Self {
        GovernanceSettings {
            poll_interval: Duration::from_secs(30),
            gov_ncp_address: crate::govncp::GOV_NCP_ADDRESS.to_string(),
            track_fork_heights: true,
            release_manifest_url: None,
            release_manifest_public_key: None,
            upgrade_proposal_contract: None,
            auto_queue_upgrades: false,
            quorum_guard: true,
        }
    }
}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Polls the upgrade sources and hands out each plan once.
pub struct UpgradeFeed {
    sources: Vec<Box<dyn ProposalSource>>,
    auto_queue: bool,
    handed_out: BTreeMap<(String, String), UpgradePlan>,
    reported_skips: BTreeSet<(String, String, u64)>,
}

impl std::fmt::Debug for UpgradeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpgradeFeed")
            .field(
                "sources",
                &self.sources.iter().map(|s| s.source()).collect::<Vec<_>>(),
            )
            .field("auto_queue", &self.auto_queue)
            .finish()
    }
}

impl UpgradeFeed {
    /// An empty feed; `auto_queue` decides between `queue` and `held`.
    pub fn new(auto_queue: bool) -> Self {
        UpgradeFeed {
            sources: Vec::new(),
            auto_queue,
            handed_out: BTreeMap::new(),
            reported_skips: BTreeSet::new(),
        }
    }

    /// Adds a source.
    pub fn add(&mut self, source: Box<dyn ProposalSource>) {
        self.sources.push(source);
    }

    /// The feed `settings` describe: the manifest when its URL is set, the
    /// contract when its address is set. `http_timeout` bounds each fetch.
    pub fn from_settings(
        client: &RpcChainClient,
        settings: &GovernanceSettings,
        http_timeout: Duration,
    ) -> Result<Self, GovernanceError> {
        let mut feed = UpgradeFeed::new(settings.auto_queue_upgrades);
        if let Some(url) = set(&settings.release_manifest_url) {
            let key = set(&settings.release_manifest_public_key).unwrap_or("");
            feed.add(Box::new(ManifestSource::new(url, key, http_timeout)?));
        }
        if let Some(addr) = set(&settings.upgrade_proposal_contract) {
            let address = parse_address(
                "upgrade-proposal contract",
                "upgrade_proposal_contract",
                addr,
            )?;
            feed.add(Box::new(ContractSource::new(client.clone(), address)));
        }
        Ok(feed)
    }

    /// True when no source is configured.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Polls every source at `head`; reports only what is new since the
    /// last poll (a changed plan of the same name counts as new).
    pub async fn poll(&mut self, head: u64) -> FeedReport {
        let mut report = FeedReport::default();
        for src in &self.sources {
            let name = src.source().to_string();
            let poll = match src.fetch_plans(head).await {
                Ok(p) => p,
                Err(e) => {
                    report.errors.push(SourceError {
                        source: name,
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            for plan in poll.plans {
                let key = (name.clone(), plan.name.clone());
                if self.handed_out.get(&key) == Some(&plan) {
                    continue;
                }
                self.handed_out.insert(key, plan.clone());
                if self.auto_queue {
                    report.queue.push(plan);
                } else {
                    report.held.push(plan);
                }
            }
            for s in poll.skipped {
                if self
                    .reported_skips
                    .insert((name.clone(), s.plan.name.clone(), s.plan.height))
                {
                    report.skipped.push(s);
                }
            }
            report.notes.extend(poll.notes);
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use wemixvisor_core::InfoSource;

    struct Fixed(Mutex<Vec<Result<SourcePoll, String>>>);

    #[async_trait]
    impl ProposalSource for Fixed {
        fn source(&self) -> &'static str {
            "manifest"
        }
        async fn fetch_plans(&self, _head: u64) -> Result<SourcePoll, GovernanceError> {
            let mut q = self.0.lock().unwrap();
            let next = if q.len() > 1 {
                q.remove(0)
            } else {
                q[0].clone()
            };
            next.map_err(GovernanceError::Settings)
        }
    }

    fn plan(name: &str, height: u64) -> UpgradePlan {
        UpgradePlan {
            name: name.into(),
            height,
            info: InfoSource::None,
            source: "manifest".into(),
        }
    }

    #[tokio::test]
    async fn plans_are_handed_out_once_and_changes_again() {
        let first = SourcePoll {
            plans: vec![plan("v2", 100)],
            skipped: vec![SkippedPlan::past(plan("v1", 5), 50)],
            notes: vec![],
        };
        let moved = SourcePoll {
            plans: vec![plan("v2", 120)],
            ..first.clone()
        };
        let src = Fixed(Mutex::new(vec![
            Ok(first.clone()),
            Ok(first),
            Ok(moved),
            Err("down".into()),
        ]));
        let mut feed = UpgradeFeed::new(true);
        feed.add(Box::new(src));
        let r = feed.poll(50).await;
        assert_eq!(r.queue, vec![plan("v2", 100)]);
        assert_eq!(r.skipped.len(), 1);
        let r = feed.poll(50).await;
        assert!(r.queue.is_empty() && r.skipped.is_empty(), "{r:?}");
        let r = feed.poll(50).await;
        assert_eq!(r.queue, vec![plan("v2", 120)]);
        let r = feed.poll(50).await;
        assert_eq!(r.errors[0].error, "down");
    }

    #[tokio::test]
    async fn without_auto_queue_plans_are_held() {
        let mut feed = UpgradeFeed::new(false);
        feed.add(Box::new(Fixed(Mutex::new(vec![Ok(SourcePoll {
            plans: vec![plan("v2", 100)],
            ..SourcePoll::default()
        })]))));
        let r = feed.poll(1).await;
        assert!(r.queue.is_empty());
        assert_eq!(r.held, vec![plan("v2", 100)]);
    }

    #[test]
    fn settings_build_the_sources() {
        let client = RpcChainClient::new("http://127.0.0.1:1", Duration::from_secs(1)).unwrap();
        let feed = UpgradeFeed::from_settings(
            &client,
            &GovernanceSettings::default(),
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(feed.is_empty());
        let s = GovernanceSettings {
            upgrade_proposal_contract: Some("0x12".into()),
            ..GovernanceSettings::default()
        };
        let e = UpgradeFeed::from_settings(&client, &s, Duration::from_secs(1)).unwrap_err();
        assert!(
            e.to_string()
                .contains("governance.upgrade_proposal_contract"),
            "{e}"
        );
        let s = GovernanceSettings {
            release_manifest_url: Some("https://example.com/m.json".into()),
            release_manifest_public_key: Some(String::new()),
            ..GovernanceSettings::default()
        };
        assert!(UpgradeFeed::from_settings(&client, &s, Duration::from_secs(1)).is_err());
        let s = GovernanceSettings {
            upgrade_proposal_contract: Some(format!("0x{}", "42".repeat(20))),
            release_manifest_url: Some(String::new()),
            ..GovernanceSettings::default()
        };
        assert!(
            !UpgradeFeed::from_settings(&client, &s, Duration::from_secs(1))
                .unwrap()
                .is_empty()
        );
    }
}
