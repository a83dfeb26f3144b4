//! Fault injection for crash tests (feature `fault-injection`).
//!
//! With the feature on (and in debug builds only), [`point`] aborts the
//! process — no unwinding, no destructors, like `kill -9` — when the
//! environment variable [`FAULT_ENV`] names the step. Without the feature it
//! compiles to nothing.

/// The environment variable naming the step to abort at.
pub const FAULT_ENV: &str = "WEMIXVISOR_FAULT";

/// The named steps, in pipeline order: after each journal write (before the
/// step is acted on), plus `switched` (after the `current` rename, before
/// the journal records it) and the rollback steps.
pub const STEPS: &[&str] = &[
    "halt",
    "backup",
    "pre-hook",
    "migrate",
    "switch",
    "switched",
    "start",
    "verify",
    "post-hook",
    "done",
    "rollback",
    "rollback-switched",
];

/// Aborts the process here when fault injection is compiled in and
/// `WEMIXVISOR_FAULT=<step>`.
#[inline]
pub fn point(step: &str) {
    #[cfg(all(feature = "fault-injection", debug_assertions))]
    if std::env::var(FAULT_ENV).is_ok_and(|v| v == step) {
        eprintln!("wemixvisor: fault injection: aborting at step '{step}'");
        std::process::abort();
    }
    #[cfg(not(all(feature = "fault-injection", debug_assertions)))]
    let _ = step;
}
