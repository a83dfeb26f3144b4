//! Periodic health checks of the running node.
//!
//! Each check keeps its last result, when it ran, and how many times in a
//! row it failed. Only checks marked `restart_on_failure` can ask for a
//! restart, and only after `failures_before_restart` failures in a row —
//! a node that is merely syncing or short of peers is reported, not bounced.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use wemixvisor_core::{ChainClient, SyncStatus};

/// Health settings (the `[health]` section).
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSettings {
    /// Expected time between blocks.
    pub block_period: Duration,
    /// Block periods without a new head before the node counts as stalled.
    pub stall_blocks: u32,
    /// Fewer peers than this is unhealthy.
    pub min_peers: u32,
    /// Less free disk (MiB) than this under the datadir is unhealthy.
    pub min_free_disk_mb: u64,
    /// Failures in a row before a restart.
    pub failures_before_restart: u32,
    /// Restart a node whose head stopped advancing.
    pub restart_on_stall: bool,
    /// The node's datadir (for the disk check).
    pub datadir: PathBuf,
}

/// The last result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// `rpc`, `head`, `peers`, `syncing` or `disk`.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
    /// When it ran (RFC 3339).
    pub at: String,
    /// Failures in a row.
    pub consecutive_failures: u32,
    /// Whether repeated failures restart the node.
    pub restart_on_failure: bool,
}

/// Runs the checks and remembers their results.
#[derive(Debug, Clone)]
pub struct HealthMonitor {
    settings: HealthSettings,
    results: Vec<CheckResult>,
    last_head: Option<(u64, Instant)>,
    observed: Observed,
}

/// The numbers the last checks saw (kept as numbers, whatever the verdict).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed {
    /// `eth_blockNumber`.
    pub head: Option<u64>,
    /// `net_peerCount`.
    pub peers: Option<u64>,
    /// `eth_syncing` is not false.
    pub syncing: Option<bool>,
}

impl HealthMonitor {
    /// A monitor with no result yet.
    pub fn new(settings: HealthSettings) -> Self {
        HealthMonitor {
            settings,
            results: Vec::new(),
            last_head: None,
            observed: Observed::default(),
        }
    }

    /// The last result of every check.
    pub fn results(&self) -> &[CheckResult] {
        &self.results
    }

    /// Forgets the head history (after a restart or an upgrade).
    pub fn reset(&mut self) {
        self.last_head = None;
        self.results.clear();
        self.observed = Observed::default();
    }

    /// The numbers the last checks saw.
    pub fn observed(&self) -> Observed {
        self.observed
    }

    /// Replaces the settings (a reload), keeping the results so far.
    pub fn set_settings(&mut self, settings: HealthSettings) {
        self.settings = settings;
    }

    fn record(&mut self, name: &str, ok: bool, detail: String, restart_on_failure: bool) {
        let at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let prev = self.results.iter().position(|r| r.name == name);
        let consecutive_failures = match (ok, prev) {
            (true, _) => 0,
            (false, Some(i)) => self.results[i].consecutive_failures.saturating_add(1),
            (false, None) => 1,
        };
        let r = CheckResult {
            name: name.to_string(),
            ok,
            detail,
            at,
            consecutive_failures,
            restart_on_failure,
        };
        match prev {
            Some(i) => self.results[i] = r,
            None => self.results.push(r),
        }
    }

    /// Runs every check once at `now`; returns the reason to restart the
    /// node, if a restart-worthy check has failed often enough.
    pub async fn check(&mut self, chain: &dyn ChainClient, now: Instant) -> Option<String> {
        let s = self.settings.clone();
        match chain.block_number().await {
            Ok(h) => {
                self.observed.head = Some(h);
                self.record("rpc", true, format!("head {h}"), true);
                // Saturating: a period of "500000000000years" must not overflow.
                let stall_after = s
                    .block_period
                    .checked_mul(s.stall_blocks.max(1))
                    .unwrap_or(Duration::MAX);
                let (ok, detail) = match self.last_head {
                    Some((prev, since)) if h <= prev => {
                        let idle = now.saturating_duration_since(since);
                        (
                            idle < stall_after,
                            format!(
                                "head {h} unchanged for {}s (stalled after {}s)",
                                idle.as_secs(),
                                stall_after.as_secs()
                            ),
                        )
                    }
                    _ => {
                        self.last_head = Some((h, now));
                        (true, format!("head {h} advancing"))
                    }
                };
                self.record("head", ok, detail, s.restart_on_stall);
            }
            Err(e) => {
                self.record("rpc", false, e.to_string(), true);
            }
        }
        match chain.peer_count().await {
            Ok(p) => {
                self.observed.peers = Some(p);
                self.record(
                    "peers",
                    p >= u64::from(s.min_peers),
                    format!("{p} peers (minimum {})", s.min_peers),
                    false,
                )
            }
            Err(e) => self.record("peers", false, e.to_string(), false),
        }
        match chain.syncing().await {
            Ok(SyncStatus::Synced) => {
                self.observed.syncing = Some(false);
                self.record("syncing", true, "in sync".into(), false)
            }
            Ok(SyncStatus::Syncing { current, highest }) => {
                self.observed.syncing = Some(true);
                self.record(
                    "syncing",
                    false,
                    format!("catching up: block {current} of {highest}"),
                    false,
                )
            }
            Err(e) => self.record("syncing", false, e.to_string(), false),
        }
        match free_disk_mb(&s.datadir) {
            Ok(mb) => self.record(
                "disk",
                mb >= s.min_free_disk_mb,
                format!(
                    "{mb} MiB free under '{}' (minimum {})",
                    s.datadir.display(),
                    s.min_free_disk_mb
                ),
                false,
            ),
            Err(e) => self.record("disk", false, e, false),
        }
        self.results
            .iter()
            .find(|r| {
                r.restart_on_failure && r.consecutive_failures >= s.failures_before_restart.max(1)
            })
            .map(|r| {
                format!(
                    "health check '{}' failed {} times in a row: {}",
                    r.name, r.consecutive_failures, r.detail
                )
            })
    }
}

/// Free space (MiB) available to unprivileged users on the filesystem of `path`.
pub fn free_disk_mb(path: &std::path::Path) -> Result<u64, String> {
    let st = nix::sys::statvfs::statvfs(path)
        .map_err(|e| format!("cannot stat the filesystem of '{}': {e}", path.display()))?;
    #[allow(clippy::unnecessary_cast)]
    let bytes = (st.blocks_available() as u64).saturating_mul(st.fragment_size() as u64);
    Ok(bytes / (1024 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wemixvisor_core::test_utils::FakeChain;

    fn settings(dir: &std::path::Path) -> HealthSettings {
        HealthSettings {
            block_period: Duration::from_secs(1),
            stall_blocks: 3,
            min_peers: 1,
            min_free_disk_mb: 0,
            failures_before_restart: 2,
            restart_on_stall: true,
            datadir: dir.to_path_buf(),
        }
    }

    #[tokio::test]
    async fn stall_and_rpc_failures_count_up_and_restart() {
        let d = tempfile::tempdir().unwrap();
        let chain = FakeChain::at(10);
        let mut m = HealthMonitor::new(settings(d.path()));
        let t0 = Instant::now();
        assert_eq!(m.check(&chain, t0).await, None);
        assert!(m.results().iter().all(|r| r.ok), "{:?}", m.results());
        // head stuck for 4 s > 3 block periods: stalled, once
        assert_eq!(m.check(&chain, t0 + Duration::from_secs(4)).await, None);
        let head = m.results().iter().find(|r| r.name == "head").unwrap();
        assert!(!head.ok && head.consecutive_failures == 1, "{head:?}");
        let why = m.check(&chain, t0 + Duration::from_secs(5)).await.unwrap();
        assert!(why.contains("'head'"), "{why}");
        // progress heals it
        chain.set_head(11);
        assert_eq!(m.check(&chain, t0 + Duration::from_secs(6)).await, None);
        // RPC down twice: restart asked
        chain.set_down(true);
        assert_eq!(m.check(&chain, t0 + Duration::from_secs(7)).await, None);
        let why = m.check(&chain, t0 + Duration::from_secs(8)).await.unwrap();
        assert!(why.contains("'rpc'"), "{why}");
    }

    #[tokio::test]
    async fn a_huge_block_period_does_not_overflow() {
        let d = tempfile::tempdir().unwrap();
        let mut s = settings(d.path());
        s.block_period = humantime::parse_duration("500000000000years").unwrap();
        let mut m = HealthMonitor::new(s);
        let chain = FakeChain::at(1);
        let t0 = Instant::now();
        assert_eq!(m.check(&chain, t0).await, None);
        assert_eq!(m.check(&chain, t0 + Duration::from_secs(5)).await, None);
        let head = m.results().iter().find(|r| r.name == "head").unwrap();
        assert!(head.ok, "{head:?}");
    }

    #[tokio::test]
    async fn peers_and_disk_are_reported_not_restarted() {
        let d = tempfile::tempdir().unwrap();
        let mut s = settings(d.path());
        s.min_peers = 5;
        s.min_free_disk_mb = u64::MAX;
        s.failures_before_restart = 1;
        let mut m = HealthMonitor::new(s);
        let chain = FakeChain::at(1);
        assert_eq!(m.check(&chain, Instant::now()).await, None);
        assert_eq!(
            m.observed().peers,
            Some(1),
            "the number is kept when peers are low"
        );
        let bad: Vec<_> = m
            .results()
            .iter()
            .filter(|r| !r.ok)
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(bad, ["peers", "disk"]);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;
    use wemixvisor_core::test_utils::FakeChain;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Any settings (even past what `config validate` accepts) run for
        /// many ticks, with a head that stalls, jumps and wraps, without a
        /// panic.
        #[test]
        fn health_checks_never_panic(
            period_secs in 0u64..(u64::MAX / 4),
            stall_blocks in any::<u32>(),
            failures in any::<u32>(),
            min_peers in any::<u32>(),
            steps in proptest::collection::vec((0u64..u64::MAX, any::<bool>(), 0u64..(1 << 40)), 1..40),
        ) {
            let d = tempfile::tempdir().unwrap();
            let s = HealthSettings {
                block_period: Duration::from_secs(period_secs),
                stall_blocks,
                min_peers,
                min_free_disk_mb: 0,
                failures_before_restart: failures,
                restart_on_stall: true,
                datadir: d.path().to_path_buf(),
            };
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let chain = FakeChain::at(0);
            let mut m = HealthMonitor::new(s);
            let mut now = Instant::now();
            rt.block_on(async {
                for (head, down, advance_ms) in steps {
                    chain.set_head(head);
                    chain.set_down(down);
                    now = now.checked_add(Duration::from_millis(advance_ms)).unwrap_or(now);
                    let _ = m.check(&chain, now).await;
                }
            });
        }
    }
}
