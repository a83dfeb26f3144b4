//! Test doubles for the core seams: a chain whose head a test sets, and a
//! node process that only records what it was asked to do.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::{
    ChainClient, ChainError, ExitInfo, LaunchSpec, NodeError, NodeProcess, NodeState, SyncStatus,
};

/// A [`ChainClient`] whose answers a test controls.
#[derive(Debug, Clone, Default)]
pub struct FakeChain {
    head: Arc<AtomicU64>,
    down: Arc<std::sync::atomic::AtomicBool>,
    version: Arc<Mutex<String>>,
}

impl FakeChain {
    /// A chain at `head`.
    pub fn at(head: u64) -> Self {
        let c = FakeChain::default();
        c.set_head(head);
        c
    }
    /// Moves the head.
    pub fn set_head(&self, h: u64) {
        self.head.store(h, Ordering::SeqCst);
    }
    /// Makes every call fail as unreachable (or work again).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
    /// Sets `web3_clientVersion`.
    pub fn set_version(&self, v: &str) {
        if let Ok(mut g) = self.version.lock() {
            *g = v.to_string();
        }
    }
    fn check(&self) -> Result<(), ChainError> {
        if self.down.load(Ordering::SeqCst) {
            Err(ChainError::Unreachable {
                url: "fake".into(),
                reason: "down".into(),
            })
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl ChainClient for FakeChain {
    async fn block_number(&self) -> Result<u64, ChainError> {
        self.check()?;
        Ok(self.head.load(Ordering::SeqCst))
    }
    async fn client_version(&self) -> Result<String, ChainError> {
        self.check()?;
        Ok(self.version.lock().map(|g| g.clone()).unwrap_or_default())
    }
    async fn syncing(&self) -> Result<SyncStatus, ChainError> {
        self.check()?;
        Ok(SyncStatus::Synced)
    }
    async fn peer_count(&self) -> Result<u64, ChainError> {
        self.check()?;
        Ok(1)
    }
}

/// One call a [`FakeNode`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeCall {
    /// `start` with this spec.
    Start(LaunchSpec),
    /// `stop`.
    Stop,
    /// `signal`.
    Signal(i32),
}

/// A [`NodeProcess`] that runs nothing and records every call.
#[derive(Debug, Clone, Default)]
pub struct FakeNode {
    calls: Arc<Mutex<Vec<NodeCall>>>,
    running: Arc<std::sync::atomic::AtomicBool>,
}

impl FakeNode {
    /// Calls so far.
    pub fn calls(&self) -> Vec<NodeCall> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
    fn record(&self, c: NodeCall) {
        if let Ok(mut g) = self.calls.lock() {
            g.push(c);
        }
    }
}

#[async_trait]
impl NodeProcess for FakeNode {
    async fn start(&self, spec: &LaunchSpec) -> Result<u32, NodeError> {
        if self.running.swap(true, Ordering::SeqCst) {
            return Err(NodeError::AlreadyRunning { pid: 1 });
        }
        self.record(NodeCall::Start(spec.clone()));
        Ok(1)
    }
    async fn stop(&self) -> Result<Option<ExitInfo>, NodeError> {
        self.record(NodeCall::Stop);
        Ok(self
            .running
            .swap(false, Ordering::SeqCst)
            .then_some(ExitInfo {
                code: Some(0),
                signal: None,
                requested: true,
            }))
    }
    async fn signal(&self, signal: i32) -> Result<(), NodeError> {
        self.record(NodeCall::Signal(signal));
        Ok(())
    }
    async fn wait(&self) -> Option<ExitInfo> {
        None
    }
    fn pid(&self) -> Option<u32> {
        self.running.load(Ordering::SeqCst).then_some(1)
    }
    fn state(&self) -> NodeState {
        if self.running.load(Ordering::SeqCst) {
            NodeState::Running
        } else {
            NodeState::Stopped
        }
    }
}
