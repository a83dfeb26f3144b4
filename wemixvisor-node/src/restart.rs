//! When to start a crashed node again.
//!
//! Exponential backoff: the first restart after a stable run may be
//! immediate, then `initial`, `initial × multiplier`, … capped at `max`.
//! More than `max_restarts` crashes within `window` means the node cannot
//! stay up on its own: the supervisor gives up, reports an error state and
//! exits non-zero so systemd (or an operator) takes over. A run that lasted
//! `stable_after` starts the count afresh. Stops that were asked for never
//! reach this policy.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Restart settings (the `[restart]` section).
#[derive(Debug, Clone, PartialEq)]
pub struct RestartPolicy {
    /// Restart at all after an unexpected exit.
    pub enabled: bool,
    /// The first restart after a stable run happens at once.
    pub first_immediate: bool,
    /// First backoff wait.
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Factor between waits.
    pub multiplier: f64,
    /// Crashes allowed within `window`.
    pub max_restarts: u32,
    /// Window for counting crashes.
    pub window: Duration,
    /// Uptime after which the backoff starts over.
    pub stable_after: Duration,
    /// Minimum pause before any start (`DAEMON_RESTART_DELAY`).
    pub min_delay: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            enabled: true,
            first_immediate: true,
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            multiplier: 2.0,
            max_restarts: 5,
            window: Duration::from_secs(600),
            stable_after: Duration::from_secs(300),
            min_delay: Duration::ZERO,
        }
    }
}

/// What to do after a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestartDecision {
    /// Start again after this wait.
    RestartAfter(Duration),
    /// Too many crashes in the window: stop trying.
    GiveUp {
        /// Crashes counted in the window.
        crashes: u32,
        /// The window.
        window: Duration,
    },
    /// Restarts are turned off.
    Disabled,
}

/// Applies a [`RestartPolicy`] to a stream of crashes.
#[derive(Debug, Clone)]
pub struct RestartTracker {
    policy: RestartPolicy,
    crashes: VecDeque<Instant>,
    /// Restarts since the last stable run.
    streak: u32,
}

impl RestartTracker {
    /// A tracker with no crash seen.
    pub fn new(policy: RestartPolicy) -> Self {
        RestartTracker {
            policy,
            crashes: VecDeque::new(),
            streak: 0,
        }
    }

    /// Crashes within the window as of the last decision.
    pub fn recent_crashes(&self) -> u32 {
        u32::try_from(self.crashes.len()).unwrap_or(u32::MAX)
    }

    /// Replaces the policy (a reload), keeping the crashes seen so far.
    pub fn set_policy(&mut self, policy: RestartPolicy) {
        self.policy = policy;
    }

    /// Forgets the crashes seen so far (an operator started the node).
    pub fn reset(&mut self) {
        self.crashes.clear();
        self.streak = 0;
    }

    /// Decides after a crash at `now` of a run that lasted `uptime`.
    pub fn on_crash(&mut self, now: Instant, uptime: Duration) -> RestartDecision {
        if !self.policy.enabled {
            return RestartDecision::Disabled;
        }
        if uptime >= self.policy.stable_after {
            self.streak = 0;
            self.crashes.clear();
        }
        while let Some(&t) = self.crashes.front() {
            if now.saturating_duration_since(t) > self.policy.window {
                self.crashes.pop_front();
            } else {
                break;
            }
        }
        self.crashes.push_back(now);
        if self.recent_crashes() > self.policy.max_restarts {
            return RestartDecision::GiveUp {
                crashes: self.recent_crashes(),
                window: self.policy.window,
            };
        }
        let k = self.streak;
        self.streak = self.streak.saturating_add(1);
        let backoff = if self.policy.first_immediate && k == 0 {
            Duration::ZERO
        } else {
            let steps = if self.policy.first_immediate {
                k - 1
            } else {
                k
            };
            let factor = self
                .policy
                .multiplier
                .max(1.0)
                .powi(i32::try_from(steps).unwrap_or(i32::MAX));
            let secs = self.policy.initial.as_secs_f64() * factor;
            if secs.is_finite() && secs < self.policy.max.as_secs_f64() {
                Duration::from_secs_f64(secs)
            } else {
                self.policy.max
            }
        };
        RestartDecision::RestartAfter(backoff.max(self.policy.min_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RestartPolicy {
        RestartPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
            multiplier: 2.0,
            max_restarts: 5,
            window: Duration::from_secs(600),
            stable_after: Duration::from_secs(300),
            ..RestartPolicy::default()
        }
    }

    #[test]
    fn backoff_grows_caps_and_gives_up() {
        let mut t = RestartTracker::new(policy());
        let t0 = Instant::now();
        let waits: Vec<_> = (0..5)
            .map(|i| t.on_crash(t0 + Duration::from_secs(i), Duration::from_secs(1)))
            .collect();
        let secs = |d: &RestartDecision| match d {
            RestartDecision::RestartAfter(w) => w.as_secs(),
            other => panic!("{other:?}"),
        };
        assert_eq!(waits.iter().map(secs).collect::<Vec<_>>(), [0, 1, 2, 4, 8]);
        assert_eq!(
            t.on_crash(t0 + Duration::from_secs(6), Duration::from_secs(1)),
            RestartDecision::GiveUp {
                crashes: 6,
                window: Duration::from_secs(600)
            }
        );
    }

    #[test]
    fn cap_and_stable_reset_and_window() {
        let mut p = policy();
        p.max_restarts = 100;
        let mut t = RestartTracker::new(p);
        let t0 = Instant::now();
        let mut last = RestartDecision::Disabled;
        for i in 0..10 {
            last = t.on_crash(t0 + Duration::from_secs(i), Duration::ZERO);
        }
        assert_eq!(last, RestartDecision::RestartAfter(Duration::from_secs(10)));
        // a stable run resets the backoff
        assert_eq!(
            t.on_crash(t0 + Duration::from_secs(1000), Duration::from_secs(400)),
            RestartDecision::RestartAfter(Duration::ZERO)
        );
        assert_eq!(t.recent_crashes(), 1);
    }

    #[test]
    fn old_crashes_leave_the_window() {
        let mut t = RestartTracker::new(policy());
        let t0 = Instant::now();
        for i in 0..5 {
            t.on_crash(t0 + Duration::from_secs(i), Duration::ZERO);
        }
        // 11 minutes later the earlier five are out of the window
        let d = t.on_crash(t0 + Duration::from_secs(700), Duration::from_secs(10));
        assert!(matches!(d, RestartDecision::RestartAfter(_)), "{d:?}");
        assert_eq!(t.recent_crashes(), 1);
    }

    #[test]
    fn disabled_and_min_delay() {
        let mut t = RestartTracker::new(RestartPolicy {
            enabled: false,
            ..policy()
        });
        assert_eq!(
            t.on_crash(Instant::now(), Duration::ZERO),
            RestartDecision::Disabled
        );
        let mut t = RestartTracker::new(RestartPolicy {
            min_delay: Duration::from_secs(3),
            ..policy()
        });
        assert_eq!(
            t.on_crash(Instant::now(), Duration::ZERO),
            RestartDecision::RestartAfter(Duration::from_secs(3))
        );
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any policy runs for many crashes without a panic, and every
        /// backoff stays within [min_delay, max(max, min_delay)].
        #[test]
        fn restart_decisions_never_panic(
            initial in 0u64..u64::MAX,
            max in 0u64..u64::MAX,
            multiplier in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), 0.0f64..1e6],
            max_restarts in any::<u32>(),
            window in 0u64..u64::MAX,
            stable in 0u64..u64::MAX,
            min_delay in 0u64..(1 << 40),
            first_immediate in any::<bool>(),
            crashes in proptest::collection::vec((0u64..(1 << 40), 0u64..(1 << 40)), 1..60),
        ) {
            let p = RestartPolicy {
                enabled: true,
                first_immediate,
                initial: Duration::from_millis(initial),
                max: Duration::from_millis(max),
                multiplier,
                max_restarts,
                window: Duration::from_millis(window),
                stable_after: Duration::from_millis(stable),
                min_delay: Duration::from_millis(min_delay),
            };
            let mut t = RestartTracker::new(p.clone());
            let mut now = Instant::now();
            for (gap, uptime) in crashes {
                now = now.checked_add(Duration::from_millis(gap)).unwrap_or(now);
                if let RestartDecision::RestartAfter(d) = t.on_crash(now, Duration::from_millis(uptime)) {
                    prop_assert!(d >= p.min_delay);
                    prop_assert!(d <= p.max.max(p.min_delay));
                }
            }
        }
    }
}
