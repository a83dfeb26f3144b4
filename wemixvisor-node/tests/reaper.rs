//! The subreaper takes in orphaned grandchildren and leaves no zombie.
//! One test in its own binary: waiting for "any child" must not race the
//! children of other tests.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::unistd::Pid;
use wemixvisor_node::reaper;

/// (state, ppid) of a process from /proc, or None once it is gone.
fn stat(pid: i32) -> Option<(char, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 2..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < end, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn orphaned_grandchildren_are_reparented_and_reaped() {
    let me = std::process::id() as i32;
    reaper::become_subreaper().unwrap();
    assert!(nix::sys::prctl::get_child_subreaper().unwrap());

    // The child starts a grandchild and exits at once, orphaning it.
    let mut child = Command::new("sh")
        .args(["-c", "sleep 0.5 & echo $!"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let grandchild: i32 = line.trim().parse().unwrap();
    assert!(child.wait().unwrap().success());

    wait_until("the grandchild is re-parented to the subreaper", || {
        stat(grandchild).is_some_and(|(_, ppid)| ppid == me)
    });
    wait_until("the grandchild exits and is a zombie", || {
        stat(grandchild).is_some_and(|(state, _)| state == 'Z')
    });
    let reaped = reaper::reap_orphans();
    assert!(
        reaped.contains(&Pid::from_raw(grandchild)),
        "reaped {reaped:?}, expected {grandchild}"
    );
    assert_eq!(stat(grandchild), None, "a zombie is left behind");

    // The init loop: the supervised process's exit code comes back, and an
    // orphan that exits while it runs is reaped on the way.
    #[allow(clippy::zombie_processes)] // supervise() reaps it by pid
    let child = Command::new("sh")
        .args(["-c", "(sleep 0.1 &); sleep 1; exit 7"])
        .spawn()
        .unwrap();
    let (code, orphans) = reaper::supervise(Pid::from_raw(child.id() as i32)).unwrap();
    assert_eq!(code, 7);
    assert_eq!(orphans.len(), 1, "orphans reaped: {orphans:?}");
    assert_eq!(reaper::reap_orphans(), Vec::<Pid>::new());
}
