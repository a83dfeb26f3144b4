//! Running a helper process (a hook, a pre-flight of a new binary) in its
//! own process group with a time limit and captured output.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// How a helper process ended.
#[derive(Debug, Clone)]
pub(crate) struct RunResult {
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// Signal, when one killed it.
    pub signal: Option<i32>,
    /// True when the time limit was hit and the group was killed.
    pub timed_out: bool,
    /// stdout and stderr, line by line (the last `cap` bytes).
    pub output: String,
}

impl RunResult {
    /// "exit code 3", "signal 9", "timed out".
    pub fn describe(&self) -> String {
        match (self.timed_out, self.code, self.signal) {
            (true, _, _) => "timed out".into(),
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

fn kill_group(pid: Option<u32>) {
    if let Some(pgid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

fn pump(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    buf: Arc<Mutex<String>>,
    cap: usize,
    label: Option<String>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
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

/// Runs `cmd` in a new process group, capturing output (logged line by line
/// under `label` when given). On timeout the whole group is killed; with
/// `kill_rest` whatever the process left in its group is killed too.
pub(crate) async fn run_captured(
    mut cmd: tokio::process::Command,
    timeout: Duration,
    label: Option<&str>,
    cap: usize,
    kill_rest: bool,
) -> std::io::Result<RunResult> {
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
    let buf = Arc::new(Mutex::new(String::new()));
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(pump(out, buf.clone(), cap, label.map(str::to_string)));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(pump(err, buf.clone(), cap, label.map(str::to_string)));
    }
    let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(s) => (s?, false),
        Err(_) => {
            kill_group(pid);
            (child.wait().await?, true)
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
        output,
    })
}
