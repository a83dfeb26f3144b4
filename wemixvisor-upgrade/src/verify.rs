//! Health check of a node right after a switch: its RPC answers and its
//! head advances within the time limit, and it does not exit meanwhile.

use std::time::{Duration, Instant};

use wemixvisor_core::{ChainClient, NodeProcess};

/// Time between checks.
const EVERY: Duration = Duration::from_millis(250);

/// Waits until the node's head advances; `Ok(head)` when it does, the
/// reason otherwise (the node exited, RPC never answered, head stood still).
pub async fn verify_node(
    node: &dyn NodeProcess,
    chain: &dyn ChainClient,
    timeout: Duration,
) -> Result<u64, String> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut first: Option<u64> = None;
    let mut last_err: Option<String> = None;
    loop {
        if node.pid().is_none() {
            let how = node
                .wait()
                .await
                .map(|e| e.describe())
                .unwrap_or_else(|| "unknown exit".into());
            return Err(format!(
                "the new node exited ({how}) {:.1}s after it started",
                start.elapsed().as_secs_f64()
            ));
        }
        match chain.block_number().await {
            Ok(h) => match first {
                None => first = Some(h),
                Some(f) if h > f => return Ok(h),
                Some(_) => {}
            },
            Err(e) => last_err = Some(e.to_string()),
        }
        if Instant::now() >= deadline {
            return Err(match first {
                Some(h) => {
                    format!("its head stayed at {h} for {timeout:?} (upgrade.verify_timeout)")
                }
                None => format!(
                    "its RPC did not answer within {timeout:?} (upgrade.verify_timeout){}",
                    last_err
                        .map(|e| format!("; last error: {e}"))
                        .unwrap_or_default()
                ),
            });
        }
        tokio::time::sleep(EVERY.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ScriptedNode, TickingChain};
    use wemixvisor_core::test_utils::FakeChain;

    #[tokio::test]
    async fn healthy_stalled_unreachable_and_exited() {
        let node = ScriptedNode::running();
        assert!(
            verify_node(&node, &TickingChain::default(), Duration::from_secs(5))
                .await
                .is_ok()
        );

        let stalled = FakeChain::at(7);
        let e = verify_node(&node, &stalled, Duration::from_millis(600))
            .await
            .unwrap_err();
        assert!(e.contains("stayed at 7"), "{e}");

        stalled.set_down(true);
        let e = verify_node(&node, &stalled, Duration::from_millis(400))
            .await
            .unwrap_err();
        assert!(e.contains("did not answer") && e.contains("down"), "{e}");

        let exited = ScriptedNode::default();
        let e = verify_node(&exited, &TickingChain::default(), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(e.contains("exited"), "{e}");
    }
}
