//! Running a helper process (a hook, a pre-flight of a new binary) in its
//! own process group with a time limit and captured output.
//!
//! Output is read as bytes and logged lossily (a byte that is not UTF-8
//! never stops the reader, so the helper never dies of SIGPIPE), and the
//! pipes are always drained to the end. On Linux the helper gets
//! `PR_SET_PDEATHSIG`, so it dies with the supervisor; its process group
//! is also handed to the caller to record, so recovery can kill what is
//! left of it (grandchildren) before running the step again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

use crate::stop::{StopRequest, HELPER_STOP_GRACE};

/// Longest line kept whole; a longer one is cut (the rest is still drained).
const LINE_MAX: usize = 64 * 1024;

/// How a helper process ended.
#[derive(Debug, Clone)]
pub(crate) struct RunResult {
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// Signal, when one killed it.
    pub signal: Option<i32>,
    /// True when the time limit was hit and the group was killed.
    pub timed_out: bool,
    /// True when a stop ended it (SIGTERM to its group, then SIGKILL after
    /// the grace).
    pub stopped: bool,
    /// stdout and stderr, line by line (the last `cap` bytes).
    pub output: String,
}

impl RunResult {
    /// "exit code 3", "signal 9", "timed out".
    pub fn describe(&self) -> String {
        match (self.timed_out, self.code, self.signal) {
            (true, _, _) => "timed out".into(),
            _ if self.stopped => "stopped".into(),
            (_, Some(c), _) => format!("exit code {c}"),
            (_, None, Some(s)) => format!("signal {s}"),
            _ => "unknown exit".into(),
        }
    }

    /// The last `n` lines of the output, indented, for error messages.
    pub fn tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.output.lines().collect();
        let start = lines.len().saturating_sub(n);
        lines[start..]
            .iter()
            .map(|l| format!("    | {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Kills what is left of the process group `pgid` (recorded by a process
/// that died) and waits, up to `wait`, until none of it is left. Returns
/// `true` when the group is gone.
pub(crate) async fn kill_and_reap_group(pgid: u32, wait: Duration) -> bool {
    let Ok(raw) = i32::try_from(pgid) else {
        return true;
    };
    if raw <= 1 {
        return true;
    }
    let group = Pid::from_raw(raw);
    let _ = killpg(group, Signal::SIGKILL);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // Signal 0 probes for any member; ESRCH = none left.
        if killpg(group, None).is_err() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kill_group(pid: Option<u32>) {
    signal_group(pid, Signal::SIGKILL);
}

fn signal_group(pid: Option<u32>, sig: Signal) {
    if let Some(pgid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = killpg(Pid::from_raw(pgid), sig);
    }
}

fn pump(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    buf: Arc<Mutex<String>>,
    cap: usize,
    label: Option<String>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut reader = BufReader::new(pipe);
        let mut raw = Vec::new();
        loop {
            raw.clear();
            // Bytes, not lines of text: invalid UTF-8 must not stop the reader.
            let n = match (&mut reader)
                .take(LINE_MAX as u64)
                .read_until(b'\n', &mut raw)
                .await
            {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let _ = n;
            while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                raw.pop();
            }
            let line = String::from_utf8_lossy(&raw);
            if let Some(l) = &label {
                tracing::info!(target: "wemixvisor_upgrade::hook", hook = %l, "{line}");
            }
            if let Ok(mut b) = buf.lock() {
                b.push_str(&line);
                b.push('\n');
                if b.len() > cap {
                    let cut = b.len() - cap;
                    let cut = (cut..b.len())
                        .find(|i| b.is_char_boundary(*i))
                        .unwrap_or(b.len());
                    b.drain(..cut);
                }
            }
        }
    })
}

/// Makes the child die with this process (Linux `PR_SET_PDEATHSIG`).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn die_with_parent(cmd: &mut tokio::process::Command) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec and only
    // calls async-signal-safe functions (prctl, getppid, _exit); it touches
    // no memory shared with the parent.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut tokio::process::Command) {}

/// Runs `cmd` in a new process group, capturing output (logged line by line
/// under `label` when given). On timeout the whole group is killed; with
/// `kill_rest` whatever the process left in its group is killed too.
/// `on_spawn` gets the process group id as soon as the child exists (to be
/// recorded in the journal).
pub(crate) async fn run_captured(
    cmd: tokio::process::Command,
    timeout: Duration,
    label: Option<&str>,
    cap: usize,
    kill_rest: bool,
    on_spawn: Option<&(dyn Fn(u32) + Send + Sync)>,
) -> std::io::Result<RunResult> {
    run_captured_until(cmd, timeout, label, cap, kill_rest, on_spawn, None).await
}

/// [`run_captured`] that also ends when `stop` is requested: the group gets
/// SIGTERM, then SIGKILL after [`HELPER_STOP_GRACE`], and the result says
/// `stopped`.
pub(crate) async fn run_captured_until(
    mut cmd: tokio::process::Command,
    timeout: Duration,
    label: Option<&str>,
    cap: usize,
    kill_rest: bool,
    on_spawn: Option<&(dyn Fn(u32) + Send + Sync)>,
    stop: Option<&StopRequest>,
) -> std::io::Result<RunResult> {
    die_with_parent(&mut cmd);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut attempt = 0;
    let mut child = loop {
        match cmd.spawn() {
            Ok(c) => break c,
            // A binary just written by this process can be briefly "busy"
            // while a concurrent fork still holds the writer's descriptor.
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempt < 40 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(e) => return Err(e),
        }
    };
    let pid = child.id();
    if let (Some(f), Some(p)) = (on_spawn, pid) {
        f(p);
    }
    let buf = Arc::new(Mutex::new(String::new()));
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(pump(out, buf.clone(), cap, label.map(str::to_string)));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(pump(err, buf.clone(), cap, label.map(str::to_string)));
    }
    let stop_asked = async {
        match stop {
            Some(s) => s.requested().await,
            None => std::future::pending().await,
        }
    };
    let (status, timed_out, stopped) = tokio::select! {
        r = tokio::time::timeout(timeout, child.wait()) => match r {
            Ok(s) => (s?, false, false),
            Err(_) => {
                kill_group(pid);
                (child.wait().await?, true, false)
            }
        },
        _ = stop_asked => {
            signal_group(pid, Signal::SIGTERM);
            let status = match tokio::time::timeout(HELPER_STOP_GRACE, child.wait()).await {
                Ok(s) => s?,
                Err(_) => {
                    kill_group(pid);
                    child.wait().await?
                }
            };
            // Whatever the helper left in its group goes with it.
            kill_group(pid);
            (status, false, true)
        }
    };
    if kill_rest {
        kill_group(pid);
    }
    for r in readers {
        let abort = r.abort_handle();
        if tokio::time::timeout(Duration::from_secs(2), r)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
    use std::os::unix::process::ExitStatusExt;
    let output = buf.lock().map(|b| b.clone()).unwrap_or_default();
    Ok(RunResult {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stopped,
        output,
    })
}
