//! A fake [`ChainClient`] (head script, peers, sync, failures) and a fake
//! [`HaltGuard`] (scripted verdicts, recorded questions).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::watch;
use wemixvisor_core::{
    ChainClient, ChainError, HaltGuard, HaltReason, HaltVerdict, HeadEndpoint, HeadStream,
    SyncStatus,
};

#[derive(Debug)]
struct ChainState {
    head: u64,
    heads: VecDeque<u64>,
    ticking: bool,
    peers: u64,
    syncing: SyncStatus,
    version: String,
    down: bool,
    fail_next: u32,
    /// How long `eth_blockNumber` takes to answer.
    latency: std::time::Duration,
    calls: u64,
    /// Subscriptions are served (`eth_subscribe("newHeads")`).
    pushes: bool,
    subscribers: Vec<watch::Sender<Option<u64>>>,
    subscribed_at: Vec<HeadEndpoint>,
}

/// A subscription of [`FakeChain`]: the heads [`FakeChain::push_head`] sends.
#[derive(Debug)]
struct FakeHeads(watch::Receiver<Option<u64>>);

#[async_trait]
impl HeadStream for FakeHeads {
    async fn next_head(&mut self) -> Option<u64> {
        self.0.changed().await.ok()?;
        *self.0.borrow_and_update()
    }
}

/// A [`ChainClient`] whose answers a test controls. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FakeChain {
    state: Arc<Mutex<ChainState>>,
}

impl Default for FakeChain {
    fn default() -> Self {
        FakeChain::at(0)
    }
}

impl FakeChain {
    /// A synced chain at `head` with 5 peers.
    pub fn at(head: u64) -> Self {
        FakeChain {
            state: Arc::new(Mutex::new(ChainState {
                head,
                heads: VecDeque::new(),
                ticking: false,
                peers: 5,
                syncing: SyncStatus::Synced,
                version: "Geth/v1.0.0-fake".into(),
                down: false,
                fail_next: 0,
                latency: std::time::Duration::ZERO,
                calls: 0,
                pushes: false,
                subscribers: Vec::new(),
                subscribed_at: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ChainState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `eth_blockNumber` take `d` to answer, like a client retrying
    /// a node that does not listen yet.
    pub fn set_latency(&self, d: std::time::Duration) {
        self.lock().latency = d;
    }

    /// Moves the head.
    pub fn set_head(&self, h: u64) {
        self.lock().head = h;
    }

    /// The heads the next `eth_blockNumber` calls return, in order; the
    /// last one stays.
    pub fn script_heads(&self, heads: impl IntoIterator<Item = u64>) {
        self.lock().heads.extend(heads);
    }

    /// Makes every `eth_blockNumber` after the scripted heads return one
    /// block more than the last (a chain that makes blocks), or stand still.
    pub fn set_ticking(&self, on: bool) {
        self.lock().ticking = on;
    }

    /// Sets `net_peerCount`.
    pub fn set_peers(&self, p: u64) {
        self.lock().peers = p;
    }

    /// Sets `eth_syncing`.
    pub fn set_syncing(&self, s: SyncStatus) {
        self.lock().syncing = s;
    }

    /// Sets `web3_clientVersion`.
    pub fn set_version(&self, v: &str) {
        self.lock().version = v.to_string();
    }

    /// Makes every call fail as unreachable (or work again).
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Makes the next `n` calls fail.
    pub fn fail_next(&self, n: u32) {
        self.lock().fail_next = n;
    }

    /// Serves head subscriptions (or, off, refuses them as a node without
    /// `eth_subscribe` does; turning it off ends the live ones).
    pub fn set_pushes(&self, on: bool) {
        let mut g = self.lock();
        g.pushes = on;
        if !on {
            g.subscribers.clear();
        }
    }

    /// Moves the head and pushes it to every live subscription; not seen
    /// by `eth_blockNumber` callers until they poll.
    pub fn push_head(&self, h: u64) {
        let mut g = self.lock();
        g.head = h;
        g.subscribers.retain(|tx| tx.send(Some(h)).is_ok());
    }

    /// Ends every live subscription (as a node's stop closes its socket).
    pub fn end_subscriptions(&self) {
        self.lock().subscribers.clear();
    }

    /// Live subscriptions.
    pub fn live_subscriptions(&self) -> usize {
        let mut g = self.lock();
        g.subscribers.retain(|tx| !tx.is_closed());
        g.subscribers.len()
    }

    /// The endpoint of every subscribe asked for, served or not.
    pub fn subscribe_calls(&self) -> Vec<HeadEndpoint> {
        self.lock().subscribed_at.clone()
    }

    /// Calls answered or failed so far.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    fn check(&self) -> Result<MutexGuard<'_, ChainState>, ChainError> {
        let mut g = self.lock();
        g.calls += 1;
        if g.fail_next > 0 {
            g.fail_next -= 1;
            return Err(ChainError::Unreachable {
                url: "fake".into(),
                reason: "scripted failure".into(),
            });
        }
        if g.down {
            return Err(ChainError::Unreachable {
                url: "fake".into(),
                reason: "down".into(),
            });
        }
        Ok(g)
    }
}

#[async_trait]
impl ChainClient for FakeChain {
    async fn block_number(&self) -> Result<u64, ChainError> {
        let latency = self.lock().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut g = self.check()?;
        if let Some(h) = g.heads.pop_front() {
            g.head = h;
        } else if g.ticking {
            g.head = g.head.saturating_add(1);
        }
        Ok(g.head)
    }
    async fn client_version(&self) -> Result<String, ChainError> {
        Ok(self.check()?.version.clone())
    }
    async fn syncing(&self) -> Result<SyncStatus, ChainError> {
        Ok(self.check()?.syncing.clone())
    }
    async fn peer_count(&self) -> Result<u64, ChainError> {
        Ok(self.check()?.peers)
    }
    async fn subscribe_heads(
        &self,
        endpoint: &HeadEndpoint,
    ) -> Result<Box<dyn HeadStream>, ChainError> {
        let mut g = self.lock();
        g.subscribed_at.push(endpoint.clone());
        if !g.pushes {
            return Err(ChainError::MethodUnavailable {
                method: "eth_subscribe".into(),
            });
        }
        if g.down {
            return Err(ChainError::Unreachable {
                url: endpoint.to_string(),
                reason: "down".into(),
            });
        }
        let (tx, rx) = watch::channel(None);
        g.subscribers.push(tx);
        Ok(Box::new(FakeHeads(rx)))
    }
}

#[derive(Debug, Default)]
struct GuardState {
    verdicts: VecDeque<HaltVerdict>,
    default: Option<HaltVerdict>,
    asked: Vec<HaltReason>,
}

/// A [`HaltGuard`] that answers from a script (then its default, which is
/// "allow") and records every question. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FakeGuard {
    state: Arc<Mutex<GuardState>>,
}

impl FakeGuard {
    /// A guard that always allows.
    pub fn allow() -> Self {
        FakeGuard::default()
    }

    fn lock(&self) -> MutexGuard<'_, GuardState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A "wait" verdict: `active` of `validators` active, quorum ⌊2n/3⌋+1.
    pub fn waiting(active: usize, validators: usize) -> HaltVerdict {
        let quorum = validators * 2 / 3 + 1;
        HaltVerdict::Wait {
            active,
            quorum,
            validators,
            reason: format!(
                "halting now would leave {} of {validators} validators active, quorum is {quorum}",
                active.saturating_sub(1)
            ),
        }
    }

    /// The next answers, in order.
    pub fn script(&self, verdicts: impl IntoIterator<Item = HaltVerdict>) {
        self.lock().verdicts.extend(verdicts);
    }

    /// The answer once the script is used up.
    pub fn set_default(&self, v: HaltVerdict) {
        self.lock().default = Some(v);
    }

    /// Every question so far.
    pub fn asked(&self) -> Vec<HaltReason> {
        self.lock().asked.clone()
    }
}

#[async_trait]
impl HaltGuard for FakeGuard {
    async fn may_halt(&self, reason: HaltReason) -> HaltVerdict {
        let mut g = self.lock();
        g.asked.push(reason);
        if let Some(v) = g.verdicts.pop_front() {
            return v;
        }
        g.default.clone().unwrap_or_else(|| HaltVerdict::Allow {
            detail: "fake guard allows".into(),
        })
    }
}
