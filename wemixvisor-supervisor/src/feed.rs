//! The governance feed: the governance and consensus monitor polling the
//! chain on its own task, handing the loop what it found.

use std::time::Duration;

use tokio::sync::mpsc;
use wemixvisor_config::Config;
use wemixvisor_core::{Home, UpgradePlan};
use wemixvisor_governance::{GovernanceService, RpcChainClient};

use crate::settings::{governance_settings, monitor_config, timer};

/// One thing the governance monitor hands the loop.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// An approved upgrade plan to queue.
    Plan(UpgradePlan),
    /// A change seen (GovNCP proposal, validator set, forks), one line.
    Change(String),
    /// An approved plan held back because `auto_queue_upgrades` is off.
    Held(UpgradePlan),
    /// The monitor's latest report (shown under `governance` in the status).
    Status(serde_json::Value),
}

/// Starts the governance monitor on its own task when
/// `governance.enabled`; `None` when it is off.
pub fn spawn_governance(
    home: &Home,
    config: &Config,
    rpc_timeout: Duration,
) -> Result<Option<mpsc::Receiver<FeedItem>>, String> {
    if !config.governance.enabled {
        return Ok(None);
    }
    let client =
        RpcChainClient::new(&config.node.rpc_url, rpc_timeout).map_err(|e| e.to_string())?;
    let mut service = GovernanceService::new(
        client,
        home,
        governance_settings(&config.governance),
        monitor_config(&config.health),
    )
    .map_err(|e| format!("cannot start the governance monitor: {e}"))?;
    let every = timer(config.governance.poll_interval).max(Duration::from_secs(1));
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let out = service.tick().await;
            let mut items: Vec<FeedItem> = out.changes.into_iter().map(FeedItem::Change).collect();
            items.extend(out.feed.held.into_iter().map(FeedItem::Held));
            if let Ok(v) = serde_json::to_value(service.status()) {
                items.push(FeedItem::Status(v));
            }
            items.extend(out.feed.queue.into_iter().map(FeedItem::Plan));
            for item in items {
                if tx.send(item).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(Some(rx))
}
