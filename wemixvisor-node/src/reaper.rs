//! Zombie reaping for wemixvisor as a container's PID 1 (Linux).
//!
//! PID 1 inherits every orphaned process of the container, and a process
//! that never waits for them leaves zombies. The supervisor's own children
//! are awaited by their owners (tokio), so reaping "any child" inside the
//! supervisor would steal their exit statuses. Instead, [`init_if_needed`]
//! makes the first process a tiny init, the way `tini` works: it runs
//! wemixvisor again as its only direct child, forwards the stop and reload
//! signals to it, reaps every orphan that is re-parented to it, and exits
//! with the child's exit code.
//!
//! The init runs when the process is PID 1, or when `WEMIXVISOR_SUBREAPER=1`
//! asks for it outside a PID namespace; then it marks itself a child
//! subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`) so that orphaned grandchildren
//! come to it instead of to the host's init.

use std::ffi::OsString;
use std::process::Command;

use nix::errno::Errno;
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::NodeRunError;

/// Set in the environment of the supervised copy so it does not start
/// another init.
pub const INIT_CHILD_ENV: &str = "WEMIXVISOR_INIT_CHILD";
/// `WEMIXVISOR_SUBREAPER=1` runs the init even when not PID 1.
pub const SUBREAPER_ENV: &str = "WEMIXVISOR_SUBREAPER";

/// The signals the init passes on to the supervised process.
const FORWARDED: [Signal; 6] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

fn os_error(action: &'static str, errno: Errno) -> NodeRunError {
    NodeRunError::Reaper {
        action,
        source: std::io::Error::from(errno),
    }
}

/// Marks this process a child subreaper: orphaned descendants are
/// re-parented to it instead of to PID 1.
pub fn become_subreaper() -> Result<(), NodeRunError> {
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| os_error("become a child subreaper (prctl)", e))
}

/// Reaps every child that has already exited, without blocking; returns
/// their pids. Only for a process whose children nobody else waits for
/// (the init): it would otherwise take their exit statuses.
pub fn reap_orphans() -> Vec<Pid> {
    let mut reaped = Vec::new();
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => return reaped,
            Ok(status) => {
                if let Some(pid) = status.pid() {
                    reaped.push(pid);
                }
            }
        }
    }
}

/// Waits for `child`, reaping every other process that exits meanwhile;
/// returns the child's exit code (128 + signal number when it was killed by
/// a signal, as shells report it) and the orphans reaped on the way.
pub fn supervise(child: Pid) -> Result<(i32, Vec<Pid>), NodeRunError> {
    let mut orphans = Vec::new();
    loop {
        match waitpid(None, None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == child => return Ok((code, orphans)),
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == child => {
                return Ok((128 + signal as i32, orphans))
            }
            Ok(status) => {
                if let Some(pid) = status.pid() {
                    orphans.push(pid);
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(os_error("wait for the supervised process", e)),
        }
    }
}

/// Whether this process should become the init: PID 1 or
/// `WEMIXVISOR_SUBREAPER=1`, and not already the supervised copy.
pub fn init_wanted() -> bool {
    let is_child = std::env::var_os(INIT_CHILD_ENV).is_some();
    let asked = std::env::var(SUBREAPER_ENV).is_ok_and(|v| v == "1" || v == "true");
    !is_child && (nix::unistd::getpid().as_raw() == 1 || asked)
}

/// Runs the init when [`init_wanted`]: re-executes this program with the
/// same arguments as its only child, forwards signals, reaps orphans, and
/// returns `Some(exit code)` for `main` to exit with. Returns `None` when no
/// init is wanted, and the caller goes on as usual.
///
/// Must be called first thing in `main`, before any other thread (the tokio
/// runtime) exists, because it blocks the forwarded signals in this thread
/// and every thread started after it.
pub fn init_if_needed() -> Result<Option<i32>, NodeRunError> {
    if std::env::var_os(INIT_CHILD_ENV).is_some() {
        // The supervised copy inherits the init's blocked signals (exec
        // keeps the mask, and std's spawn does not reset it on every
        // path): unblocked here, before any thread or child exists, or
        // neither the supervisor nor the node it starts would ever see
        // SIGTERM.
        forwarded_set()
            .thread_unblock()
            .map_err(|e| os_error("unblock the forwarded signals", e))?;
        return Ok(None);
    }
    if !init_wanted() {
        return Ok(None);
    }
    let exe = std::env::current_exe().map_err(|source| NodeRunError::Reaper {
        action: "find the path of this program",
        source,
    })?;
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    run_init(Command::new(exe).args(args)).map(Some)
}

fn forwarded_set() -> SigSet {
    let mut signals = SigSet::empty();
    for signal in FORWARDED {
        signals.add(signal);
    }
    signals
}

/// The init itself, over any command (see [`init_if_needed`]). The command
/// starts with the forwarded signals blocked and must unblock them itself.
pub fn run_init(command: &mut Command) -> Result<i32, NodeRunError> {
    if nix::unistd::getpid().as_raw() != 1 {
        become_subreaper()?;
    }
    let signals = forwarded_set();
    // Blocked here, so the signals wait for the forwarding thread's sigwait.
    // The spawned program inherits the mask: wemixvisor's supervised copy
    // unblocks them first thing (`init_if_needed`).
    signals
        .thread_block()
        .map_err(|e| os_error("block the forwarded signals", e))?;
    let child =
        command
            .env(INIT_CHILD_ENV, "1")
            .spawn()
            .map_err(|source| NodeRunError::Reaper {
                action: "start the supervised process",
                source,
            })?;
    let pid = Pid::from_raw(child.id() as i32);
    std::thread::spawn(move || loop {
        if let Ok(signal) = signals.wait() {
            let _ = kill(pid, signal);
        }
    });
    supervise(pid).map(|(code, _)| code)
}
