//! Health of a node after a switch, judged so that a coordinated BFT halt is
//! never mistaken for a broken binary.
//!
//! At a hard-fork height WBFT makes no block until more than two thirds of
//! the validators run the new binary, so the validators that upgrade first
//! see a head standing still at the height for as long as the slowest one
//! takes. The rules, applied by [`assess`] to one [`Observation`] at a time
//! over a [`VerifyWindow`] kept in the journal:
//!
//! - **Ready** (the immediate checks, after which the supervisor goes on):
//!   the process is up, its RPC answers, it has at least
//!   `upgrade.verify_min_peers` peers, and its head is at or past the
//!   upgrade height (`head + 1 >= height`: the chain halts just below it).
//! - **Waiting for quorum is not a failure**: with the head standing at the
//!   height and `istanbul_*` showing fewer than quorum validators sealing
//!   since the height, verification waits ("waiting for quorum: k of n
//!   validators"). A stalled head alone never rolls back: if the window
//!   ends while still waiting, the new binary stays.
//! - **Rollback** when, inside the window (`upgrade.verify_window`): the new
//!   node exits without being asked to; its RPC does not answer for
//!   `upgrade.verify_timeout`; the network has quorum but this node's head
//!   does not advance within `upgrade.verify_timeout`; or, at the end of the
//!   window, it never reached the height or never had a peer.
//! - **Healthy** when the head advanced (inline mode), or
//!   when the window is over (background mode: a crash anywhere in the
//!   window still rolls back).

use std::time::Duration;

use wemixvisor_core::QuorumView;

use crate::journal::VerifyWindow;

/// How verification judges (from the settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// `upgrade.verify_timeout`: RPC silence, and a stalled head once the
    /// network has quorum, are tolerated this long.
    pub timeout: Duration,
    /// `upgrade.verify_min_peers`.
    pub min_peers: u64,
    /// The upgrade's height.
    pub height: u64,
    /// True when the verification is done as soon as the head advances
    /// (the pipeline waits inline); false when the whole window is watched.
    pub done_on_advance: bool,
}

/// One look at the new node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Unix time (seconds) of the look.
    pub now_unix: u64,
    /// `Some(how)` when the new node exited without being asked to.
    pub exited: Option<String>,
    /// `eth_blockNumber`, or why it failed.
    pub head: Result<u64, String>,
    /// `net_peerCount`, when it answered.
    pub peers: Option<u64>,
    /// The quorum view since the height, or why there is none (only asked
    /// while the head has not advanced).
    pub quorum: Option<Result<QuorumView, String>>,
}

/// What verification concluded from one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Keep watching; the line says what it waits for.
    Pending(String),
    /// The new binary is healthy: go on (post-upgrade hook, done).
    Healthy(String),
    /// The new binary failed: roll back.
    Rollback(String),
}

fn human(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// Judges `obs` over `w` (which it updates: first head, readiness, quorum
/// time, the last detail line).
pub fn assess(w: &mut VerifyWindow, policy: &VerifyPolicy, obs: &Observation) -> Verdict {
    let now = obs.now_unix;
    let elapsed = Duration::from_secs(now.saturating_sub(w.opened_unix));
    let window = Duration::from_secs(w.deadline_unix.saturating_sub(w.opened_unix));
    let over = now >= w.deadline_unix;
    let verdict = judge(w, policy, obs, now, elapsed, window, over);
    if let Verdict::Pending(d) = &verdict {
        w.detail = Some(d.clone());
    }
    verdict
}

fn judge(
    w: &mut VerifyWindow,
    policy: &VerifyPolicy,
    obs: &Observation,
    now: u64,
    elapsed: Duration,
    window: Duration,
    over: bool,
) -> Verdict {
    if let Some(how) = &obs.exited {
        return Verdict::Rollback(format!(
            "the new node exited ({how}) {} after it started, inside the verification window of {} (upgrade.verify_window)",
            human(elapsed),
            human(window)
        ));
    }
    let timeout = policy.timeout.as_secs();
    let h = match &obs.head {
        Ok(h) => {
            w.rpc_ok_unix = Some(now);
            *h
        }
        Err(e) => {
            let since = w.rpc_ok_unix.unwrap_or(w.opened_unix);
            if now.saturating_sub(since) >= timeout {
                return Verdict::Rollback(format!(
                    "its RPC did not answer for {} (upgrade.verify_timeout); last error: {e}",
                    human(policy.timeout)
                ));
            }
            return Verdict::Pending(format!("waiting for its RPC to answer: {e}"));
        }
    };
    let first = *w.first_head.get_or_insert(h);
    let at_height = h.saturating_add(1) >= policy.height;
    let peers_ok = obs.peers.is_some_and(|p| p >= policy.min_peers);
    if at_height && peers_ok && w.ready_unix.is_none() {
        w.ready_unix = Some(now);
    }
    if h > first {
        // Blocks are made (or synced): the binary works.
        w.advanced = Some(h);
    }
    if let Some(adv) = w.advanced {
        if policy.done_on_advance || over {
            return Verdict::Healthy(format!(
                "the new node is healthy: its head advanced to {adv}"
            ));
        }
        return Verdict::Pending(format!(
            "healthy so far (head advanced to {adv}); watching for crashes for {} more (upgrade.verify_window)",
            human(Duration::from_secs(w.deadline_unix.saturating_sub(now)))
        ));
    }
    if !at_height {
        if over {
            return Verdict::Rollback(format!(
                "its head stayed at {h}, below the upgrade height {}, for the whole verification window of {} (upgrade.verify_window)",
                policy.height,
                human(window)
            ));
        }
        return Verdict::Pending(format!(
            "catching up: head {h}, upgrade height {}",
            policy.height
        ));
    }
    if !peers_ok {
        let p = obs
            .peers
            .map(|p| p.to_string())
            .unwrap_or_else(|| "unknown".into());
        if over {
            return Verdict::Rollback(format!(
                "it had {p} peer(s) for the whole verification window of {} (upgrade.verify_min_peers = {})",
                human(window),
                policy.min_peers
            ));
        }
        return Verdict::Pending(format!(
            "waiting for peers: {p} of {} (upgrade.verify_min_peers)",
            policy.min_peers
        ));
    }
    match &obs.quorum {
        Some(Ok(q)) if q.has_quorum() => {
            let since = *w.quorum_since_unix.get_or_insert(now);
            if now.saturating_sub(since) >= timeout {
                return Verdict::Rollback(format!(
                    "the network has quorum ({} of {} validators sealing since height {}) but this node's head stayed at {h} for {} (upgrade.verify_timeout)",
                    q.active,
                    q.validators,
                    policy.height,
                    human(policy.timeout)
                ));
            }
            Verdict::Pending(format!(
                "quorum is back ({} of {} validators); waiting for the head to advance past {h}",
                q.active, q.validators
            ))
        }
        other => {
            w.quorum_since_unix = None;
            let waiting = match other {
                Some(Ok(q)) => format!(
                    "waiting for quorum: {} of {} validators (need {}), head {h} at the upgrade height",
                    q.active,
                    q.validators,
                    q.quorum()
                ),
                Some(Err(e)) => format!(
                    "waiting for the head to advance past {h} (quorum unknown: {e})"
                ),
                None => format!("waiting for the head to advance past {h}"),
            };
            if over {
                return Verdict::Healthy(format!(
                    "the verification window of {} ended while {waiting}; the node stayed up and connected, so the new binary stays",
                    human(window)
                ));
            }
            Verdict::Pending(waiting)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(opened: u64, len: u64) -> VerifyWindow {
        VerifyWindow {
            opened_unix: opened,
            deadline_unix: opened + len,
            ..VerifyWindow::default()
        }
    }

    fn policy(done_on_advance: bool) -> VerifyPolicy {
        VerifyPolicy {
            timeout: Duration::from_secs(120),
            min_peers: 1,
            height: 100,
            done_on_advance,
        }
    }

    fn obs(now: u64, head: u64, peers: u64, quorum: Option<(usize, usize)>) -> Observation {
        Observation {
            now_unix: now,
            exited: None,
            head: Ok(head),
            peers: Some(peers),
            quorum: Some(
                quorum
                    .map(|(a, v)| QuorumView {
                        validators: v,
                        active: a,
                    })
                    .ok_or_else(|| "the node does not expose istanbul_status".to_string()),
            ),
        }
    }

    #[test]
    fn a_halt_at_the_fork_height_waits_far_past_the_old_timeout() {
        let p = policy(true);
        let mut w = window(1000, 1800);
        // stalled just below the height, 1 of 4 validators back, for 20 min
        for t in (1000..2200).step_by(30) {
            match assess(&mut w, &p, &obs(t, 99, 3, Some((1, 4)))) {
                Verdict::Pending(d) => assert!(
                    d.contains("waiting for quorum: 1 of 4 validators (need 3)"),
                    "{d}"
                ),
                other => panic!("at {t}: {other:?}"),
            }
        }
        assert!(w.ready_unix.is_some());
        // the others arrive: blocks again
        assert!(matches!(
            assess(&mut w, &p, &obs(2210, 100, 3, None)),
            Verdict::Healthy(_)
        ));
    }

    #[test]
    fn a_stalled_head_alone_never_rolls_back() {
        let p = policy(false);
        let mut w = window(0, 600);
        assert!(matches!(
            assess(&mut w, &p, &obs(10, 99, 2, None)),
            Verdict::Pending(_)
        ));
        match assess(&mut w, &p, &obs(600, 99, 2, None)) {
            Verdict::Healthy(d) => assert!(d.contains("ended while waiting"), "{d}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn quorum_back_but_no_progress_rolls_back_after_the_timeout() {
        let p = policy(true);
        let mut w = window(0, 1800);
        assert!(matches!(
            assess(&mut w, &p, &obs(10, 99, 3, Some((4, 4)))),
            Verdict::Pending(_)
        ));
        assert!(matches!(
            assess(&mut w, &p, &obs(100, 99, 3, Some((4, 4)))),
            Verdict::Pending(_)
        ));
        match assess(&mut w, &p, &obs(130, 99, 3, Some((4, 4)))) {
            Verdict::Rollback(r) => assert!(
                r.contains("has quorum (4 of 4") && r.contains("verify_timeout"),
                "{r}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_crash_inside_the_window_rolls_back_even_after_progress() {
        let p = policy(false);
        let mut w = window(0, 1800);
        assert!(matches!(
            assess(&mut w, &p, &obs(1, 100, 3, None)),
            Verdict::Pending(_)
        ));
        match assess(&mut w, &p, &obs(5, 103, 3, None)) {
            Verdict::Pending(d) => assert!(d.contains("healthy so far"), "{d}"),
            other => panic!("{other:?}"),
        }
        let mut crash = obs(30, 103, 3, None);
        crash.exited = Some("exit code 2".into());
        match assess(&mut w, &p, &crash) {
            Verdict::Rollback(r) => assert!(
                r.contains("exited (exit code 2) 30s after it started"),
                "{r}"
            ),
            other => panic!("{other:?}"),
        }
        // at the end of the window, progress is healthy
        let mut w = window(0, 60);
        assess(&mut w, &p, &obs(1, 100, 3, None));
        assess(&mut w, &p, &obs(2, 101, 3, None));
        assert!(matches!(
            assess(&mut w, &p, &obs(60, 120, 3, None)),
            Verdict::Healthy(_)
        ));
    }

    #[test]
    fn silent_rpc_no_peers_or_below_the_height_fail_in_time() {
        let p = policy(true);
        let mut w = window(0, 1800);
        let mut silent = obs(60, 0, 0, None);
        silent.head = Err("connection refused".into());
        assert!(matches!(assess(&mut w, &p, &silent), Verdict::Pending(_)));
        silent.now_unix = 120;
        match assess(&mut w, &p, &silent) {
            Verdict::Rollback(r) => {
                assert!(r.contains("did not answer") && r.contains("refused"), "{r}")
            }
            other => panic!("{other:?}"),
        }
        let mut w = window(0, 300);
        match assess(&mut w, &p, &obs(10, 99, 0, None)) {
            Verdict::Pending(d) => assert!(d.contains("waiting for peers: 0 of 1"), "{d}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            assess(&mut w, &p, &obs(300, 99, 0, None)),
            Verdict::Rollback(_)
        ));
        let mut w = window(0, 300);
        assert!(matches!(
            assess(&mut w, &p, &obs(10, 50, 3, None)),
            Verdict::Pending(_)
        ));
        assert!(matches!(
            assess(&mut w, &p, &obs(300, 50, 3, None)),
            Verdict::Rollback(_)
        ));
    }
}
