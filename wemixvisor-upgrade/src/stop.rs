//! A stop asked for while the pipeline runs.
//!
//! The supervisor keeps serving signals and its control socket while an
//! upgrade step runs; a stop sets the [`StopRequest`] it shares with the
//! [`crate::UpgradeManager`]. The pipeline looks at it between journaled
//! steps and ends there with [`crate::UpgradeError::Interrupted`], leaving
//! the journal at the step it reached — exactly what start-up recovery
//! resumes (after the switch) or starts over (before it). A hook or a
//! helper that is running gets SIGTERM on its process group, then SIGKILL
//! after [`HELPER_STOP_GRACE`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// How long a hook's process group has between SIGTERM and SIGKILL when a
/// stop interrupts it.
pub const HELPER_STOP_GRACE: Duration = Duration::from_secs(10);

/// A one-way flag: once requested, it stays requested. Cheap to clone
/// (clones share the flag).
#[derive(Debug, Clone)]
pub struct StopRequest {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for StopRequest {
    fn default() -> Self {
        StopRequest {
            tx: Arc::new(watch::channel(false).0),
        }
    }
}

impl StopRequest {
    /// A flag not requested yet.
    pub fn new() -> Self {
        StopRequest::default()
    }

    /// Asks the pipeline to stop at its next safe point.
    pub fn request(&self) {
        self.tx.send_replace(true);
    }

    /// True once a stop was asked for.
    pub fn is_requested(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once a stop is asked for.
    pub async fn requested(&self) {
        let mut rx = self.tx.subscribe();
        // The sender lives as long as `self`: the wait cannot fail.
        let _ = rx.wait_for(|v| *v).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_is_seen_by_every_clone() {
        let s = StopRequest::new();
        let c = s.clone();
        assert!(!c.is_requested());
        let waiter = tokio::spawn(async move { c.requested().await });
        s.request();
        waiter.await.unwrap();
        assert!(s.is_requested());
        // Already requested: resolves at once.
        s.requested().await;
    }
}
