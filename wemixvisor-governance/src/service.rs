//! One object for the daemon: consensus monitor, GovNCP tracker, fork
//! heights and the upgrade feed, advanced together by [`GovernanceService::tick`].

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use wemixvisor_core::{ChainClient, Home};

use crate::consensus::{ConsensusMonitor, ConsensusReport, MonitorConfig};
use crate::feed::{FeedReport, GovernanceSettings, UpgradeFeed};
use crate::forks::ForkStatus;
use crate::tracker::{parse_address, GovTracker, GovernanceSnapshot, TrackerConfig};
use crate::{GovernanceError, RpcChainClient};

/// Timeout of one manifest download.
const MANIFEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What one tick saw.
#[derive(Debug, Clone, Default)]
pub struct TickOutcome {
    /// Head at the tick; `None` when the node could not be reached.
    pub head: Option<u64>,
    /// Consensus report.
    pub consensus: Option<ConsensusReport>,
    /// GovNCP state.
    pub governance: Option<GovernanceSnapshot>,
    /// Fork heights and the next fork.
    pub forks: Option<ForkStatus>,
    /// Upgrade plans from the manifest and the contract (new ones only).
    pub feed: FeedReport,
    /// One line per change since the last tick, to log or stream.
    pub changes: Vec<String>,
    /// What failed at this tick, one line each.
    pub problems: Vec<String>,
}

/// The governance part of `status`, serialisable as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceStatus {
    /// Unix time of the last tick.
    pub updated_at: u64,
    /// Head at the last tick.
    pub head: Option<u64>,
    /// Last consensus report.
    pub consensus: Option<ConsensusReport>,
    /// Last GovNCP state.
    pub governance: Option<GovernanceSnapshot>,
    /// Fork heights and the next fork.
    pub forks: Option<ForkStatus>,
    /// Problems of the last tick.
    pub problems: Vec<String>,
}

/// Consensus monitor, GovNCP tracker, fork watcher and upgrade feed together.
#[derive(Debug)]
pub struct GovernanceService {
    client: RpcChainClient,
    settings: GovernanceSettings,
    monitor: ConsensusMonitor,
    tracker: GovTracker,
    feed: UpgradeFeed,
    status: GovernanceStatus,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl GovernanceService {
    /// Builds every part from the settings. Fails on settings that cannot
    /// work (bad addresses, a manifest URL without a key, ...).
    pub fn new(
        client: RpcChainClient,
        home: &Home,
        settings: GovernanceSettings,
        monitor: MonitorConfig,
    ) -> Result<Self, GovernanceError> {
        let gov = parse_address("GovNCP", "gov_ncp_address", &settings.gov_ncp_address)?;
        let feed = UpgradeFeed::from_settings(&client, &settings, MANIFEST_TIMEOUT)?;
        Ok(GovernanceService {
            monitor: ConsensusMonitor::new(client.clone(), monitor),
            tracker: GovTracker::open(client.clone(), home, TrackerConfig::new(gov)),
            feed,
            client,
            settings,
            status: GovernanceStatus::default(),
        })
    }

    /// The consensus monitor (shared state), for the upgrade pipeline's quorum check.
    pub fn monitor(&self) -> ConsensusMonitor {
        self.monitor.clone()
    }

    /// The settings in use.
    pub fn settings(&self) -> &GovernanceSettings {
        &self.settings
    }

    /// The state after the last tick.
    pub fn status(&self) -> &GovernanceStatus {
        &self.status
    }

    /// Polls everything once. Never fails: what could not be read is in
    /// `problems` (and in `changes` the first time it appears).
    pub async fn tick(&mut self) -> TickOutcome {
        let mut out = TickOutcome::default();
        let head = match self.client.block_number().await {
            Ok(h) => h,
            Err(e) => {
                out.problems.push(e.to_string());
                self.finish(&mut out);
                return out;
            }
        };
        out.head = Some(head);

        let before = self.monitor.last_report();
        match self.monitor.poll().await {
            Ok(r) => {
                if let Some(prev) = &before {
                    out.changes
                        .extend(r.changes_since(prev).iter().map(ToString::to_string));
                }
                out.consensus = Some(r);
            }
            Err(e) => out.problems.push(format!("consensus: {e}")),
        }

        match self.tracker.sync().await {
            Ok(s) => {
                out.changes
                    .extend(s.changes.iter().map(ToString::to_string));
                out.governance = Some(s.snapshot);
            }
            Err(e) => out.problems.push(format!("GovNCP: {e}")),
        }

        if self.settings.track_fork_heights {
            match self.client.fork_schedule().await {
                Ok(schedule) => {
                    let st = schedule.status(head);
                    let prev = self.status.forks.as_ref().and_then(|f| f.next.clone());
                    if prev.as_ref().map(|n| n.height) != st.next.as_ref().map(|n| n.height) {
                        if let Some(p) = prev.filter(|p| p.height <= head) {
                            out.changes.push(format!(
                                "fork {} activated at block {}",
                                p.names.join("+"),
                                p.height
                            ));
                        }
                        if let Some(n) = &st.next {
                            out.changes.push(format!(
                                "next fork: {} at block {} ({} blocks to go)",
                                n.names.join("+"),
                                n.height,
                                n.blocks_to_go
                            ));
                        }
                    }
                    out.forks = Some(st);
                }
                Err(e) => out.problems.push(format!("fork heights: {e}")),
            }
        }

        if !self.feed.is_empty() {
            out.feed = self.feed.poll(head).await;
            for p in out.feed.queue.iter().chain(&out.feed.held) {
                out.changes.push(format!(
                    "upgrade {} at block {} approved by the {} source{}",
                    p.name,
                    p.height,
                    p.source,
                    if self.settings.auto_queue_upgrades {
                        ""
                    } else {
                        " (held: governance.auto_queue_upgrades is off)"
                    }
                ));
            }
            for s in &out.feed.skipped {
                out.changes.push(format!(
                    "upgrade {} from the {} source: {}",
                    s.plan.name, s.plan.source, s.reason
                ));
            }
            for e in &out.feed.errors {
                out.problems.push(format!("{}: {}", e.source, e.error));
            }
        }
        self.finish(&mut out);
        out
    }

    fn finish(&mut self, out: &mut TickOutcome) {
        let known: BTreeSet<&String> = self.status.problems.iter().collect();
        let new: Vec<String> = out
            .problems
            .iter()
            .filter(|p| !known.contains(p))
            .map(|p| format!("problem: {p}"))
            .collect();
        out.changes.extend(new);
        self.status = GovernanceStatus {
            updated_at: unix_now(),
            head: out.head,
            consensus: out
                .consensus
                .clone()
                .or_else(|| self.status.consensus.take()),
            governance: out
                .governance
                .clone()
                .or_else(|| self.tracker.snapshot().cloned()),
            forks: out.forks.clone().or_else(|| self.status.forks.take()),
            problems: out.problems.clone(),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::RpcMock;
    use serde_json::json;

    /// The daemon runs `tick` in its own task: the future must be `Send`.
    #[allow(dead_code)]
    fn tick_is_send(s: &mut GovernanceService) {
        fn send<T: Send>(_: T) {}
        send(s.tick());
    }

    #[tokio::test]
    async fn a_down_node_is_a_problem_reported_once() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dir = tempfile::tempdir().unwrap();
        let client = RpcChainClient::new(
            &format!("http://127.0.0.1:{port}"),
            Duration::from_millis(500),
        )
        .unwrap();
        let mut s = GovernanceService::new(
            client,
            &Home::new(dir.path()),
            GovernanceSettings::default(),
            MonitorConfig::default(),
        )
        .unwrap();
        let t = s.tick().await;
        assert!(t.head.is_none());
        assert_eq!(t.changes.len(), 1, "{:?}", t.changes);
        assert!(
            t.changes[0].starts_with("problem: node RPC at"),
            "{:?}",
            t.changes
        );
        let t = s.tick().await;
        assert!(t.changes.is_empty(), "{:?}", t.changes);
        assert_eq!(s.status().problems.len(), 1);
    }

    #[tokio::test]
    async fn forks_are_announced_when_the_next_one_changes() {
        let head = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(5));
        let h = head.clone();
        let node = RpcMock::start(move |m, _| match m {
            "eth_blockNumber" => Ok(json!(format!(
                "{:#x}",
                h.load(std::sync::atomic::Ordering::SeqCst)
            ))),
            "admin_nodeInfo" => Ok(
                json!({"protocols": {"eth": {"config": {"londonBlock": 0, "dessertBlock": 10}}}}),
            ),
            m => Err((
                -32601,
                format!("the method {m} does not exist/is not available"),
            )),
        });
        let dir = tempfile::tempdir().unwrap();
        let client = RpcChainClient::new(&node.url(), Duration::from_secs(5)).unwrap();
        let mut s = GovernanceService::new(
            client,
            &Home::new(dir.path()),
            GovernanceSettings::default(),
            MonitorConfig::default(),
        )
        .unwrap();
        let t = s.tick().await;
        assert!(
            t.changes
                .iter()
                .any(|c| c == "next fork: dessert at block 10 (5 blocks to go)"),
            "{:?}",
            t.changes
        );
        // No istanbul: not a problem, a report; eth_getCode missing: a GovNCP problem.
        assert!(!t.consensus.as_ref().unwrap().istanbul_available);
        assert!(
            t.problems.iter().any(|p| p.starts_with("GovNCP:")),
            "{:?}",
            t.problems
        );
        head.store(12, std::sync::atomic::Ordering::SeqCst);
        let t = s.tick().await;
        assert!(
            t.changes
                .iter()
                .any(|c| c == "fork dessert activated at block 10"),
            "{:?}",
            t.changes
        );
        assert!(
            !t.changes.iter().any(|c| c.starts_with("problem:")),
            "{:?}",
            t.changes
        );
        assert!(s.status().forks.as_ref().unwrap().next.is_none());
    }
}
