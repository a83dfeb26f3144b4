//! wemixvisor as a container's PID 1 (a new PID namespace): a process
//! orphaned inside the container is re-parented to it and reaped, and
//! SIGTERM to PID 1 stops the supervisor and the node gracefully.

use std::process::Command;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use wemixvisor_tests::*;

/// (state, ppid, comm) of a host pid, from `/proc`.
fn stat(pid: u32) -> Option<(char, u32, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let mut rest = text.get(close + 2..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((state, ppid, comm))
}

/// Host pids of the children of `parent`, with their state and name.
fn children(parent: u32) -> Vec<(u32, char, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let (state, ppid, comm) = stat(pid)?;
            (ppid == parent).then_some((pid, state, comm))
        })
        .collect()
}

#[test]
fn as_pid_1_it_reaps_what_is_orphaned_in_the_container() {
    let h = TestHome::new();
    h.init_devnode("--sim.block-period 100ms");
    let inner = h.wemixvisor();
    let mut cmd = Command::new("unshare");
    // --kill-child: nothing of the namespace outlives a failed test.
    cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(inner.get_program())
        .args(inner.get_args())
        .args(["run", "--http.port", &h.port.to_string()]);
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    // The pid files hold pids of the namespace, which mean other processes
    // on the host: nothing may signal them from outside.
    let mut run = Running::spawn(cmd, h.scratch("no-such-pid-file"), false);
    let init = wait_for(Duration::from_secs(10), || {
        children(run.pid()).first().map(|c| c.0)
    })
    .expect("unshare starts the namespace's PID 1 (unshare --pid needs CAP_SYS_ADMIN)");
    assert!(
        wait_for(Duration::from_secs(60), || head(h.port).filter(|&n| n >= 3)).is_some(),
        "the node never produced blocks under wemixvisor as PID 1:\n{}",
        run.log()
    );
    let supervisor: Vec<_> = children(init);
    assert_eq!(
        supervisor.len(),
        1,
        "PID 1 runs one supervised copy: {supervisor:?}"
    );

    // Something started in the container (as `kubectl exec` would) leaves a
    // background process behind; the kernel gives it to PID 1.
    let out = Command::new("nsenter")
        .args(["--target", &init.to_string(), "--pid", "--"])
        .args(["sh", "-c", "exec 1>&- 2>&-; sleep 2 &"])
        .output()
        .expect("run nsenter");
    assert!(out.status.success(), "nsenter: {out:?}");
    let orphan = wait_for(Duration::from_secs(5), || {
        children(init)
            .into_iter()
            .find(|(_, _, comm)| comm == "sleep")
            .map(|c| c.0)
    })
    .expect("the orphan is re-parented to PID 1");
    // Once it exits, PID 1 must reap it: no zombie stays behind.
    let gone = wait_for(Duration::from_secs(10), || {
        stat(orphan)
            .is_none_or(|(state, ppid, _)| ppid != init && state != 'Z')
            .then_some(())
    });
    assert!(
        gone.is_some(),
        "the orphan is left as a zombie: {:?}",
        stat(orphan)
    );

    // `docker stop` / a pod's termination: SIGTERM to PID 1 stops the
    // supervisor and the node gracefully, and the namespace ends.
    let _ = kill(Pid::from_raw(init as i32), Signal::SIGTERM);
    let ended = run.wait_exit(Duration::from_secs(30));
    if ended.is_none() {
        let _ = kill(Pid::from_raw(init as i32), Signal::SIGKILL);
    }
    assert!(
        ended.is_some(),
        "SIGTERM to PID 1 did not end the container:\n{}",
        run.log()
    );
    let log = run.log();
    assert!(
        log.contains("node stopped") && !log.contains("sending SIGKILL"),
        "the node was not stopped gracefully:\n{log}"
    );
    for f in ["state/node.pid", "state/wemixvisor.pid"] {
        let _ = std::fs::remove_file(h.root.join(f));
    }
}
