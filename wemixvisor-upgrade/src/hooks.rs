//! Operator hooks: `wemixvisor/scripts/pre-upgrade`, `post-upgrade`, and a
//! configured custom pre-upgrade script.
//!
//! Exit 0 = go on; 30 = abort this upgrade; 31 = run again (up to
//! `preupgrade_max_retries` more times); anything else, a signal or the
//! time limit = the upgrade fails. Each run is in its own process group,
//! killed as a whole at the time limit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::proc::run_captured_until;
use crate::stop::StopRequest;
use crate::UpgradeError;

/// Exit code of a hook that aborts the upgrade.
pub const EXIT_ABORT: i32 = 30;
/// Exit code of a hook that asks to be run again.
pub const EXIT_RETRY: i32 = 31;
/// Output of a hook kept for error messages (it is logged in full).
const OUTPUT_CAP: usize = 64 * 1024;

/// What a hook decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookDecision {
    /// Go on (exit 0, or no hook installed).
    Proceed,
    /// Abort the upgrade (exit 30).
    Abort,
}

/// The environment every hook gets.
#[derive(Debug, Clone)]
pub struct HookEnv {
    /// The home root (`WEMIX_HOME` and `DAEMON_HOME`).
    pub home: PathBuf,
    /// `DAEMON_NAME`.
    pub daemon_name: String,
    /// `UPGRADE_NAME`.
    pub name: String,
    /// `UPGRADE_HEIGHT`.
    pub height: u64,
    /// `UPGRADE_INFO`: the plan as cosmovisor-format JSON.
    pub info_json: String,
}

impl HookEnv {
    fn vars(&self) -> Vec<(&'static str, String)> {
        let home = self.home.to_string_lossy().into_owned();
        vec![
            ("WEMIX_HOME", home.clone()),
            ("DAEMON_HOME", home),
            ("DAEMON_NAME", self.daemon_name.clone()),
            ("UPGRADE_NAME", self.name.clone()),
            ("UPGRADE_HEIGHT", self.height.to_string()),
            ("UPGRADE_INFO", self.info_json.clone()),
        ]
    }
}

/// Runs the hook `path` (`label` names it in logs and errors). A missing
/// hook is [`HookDecision::Proceed`].
pub async fn run_hook(
    label: &str,
    path: &Path,
    env: &HookEnv,
    timeout: Duration,
    max_retries: u32,
) -> Result<HookDecision, UpgradeError> {
    run_hook_recorded(label, path, env, timeout, max_retries, None).await
}

/// [`run_hook`], handing each run's process group id to `on_spawn` as soon
/// as it exists (the pipeline records it in the journal, so recovery can
/// kill a run a dead supervisor left behind before running it again).
pub async fn run_hook_recorded(
    label: &str,
    path: &Path,
    env: &HookEnv,
    timeout: Duration,
    max_retries: u32,
    on_spawn: Option<&(dyn Fn(u32) + Send + Sync)>,
) -> Result<HookDecision, UpgradeError> {
    run_hook_until(label, path, env, timeout, max_retries, on_spawn, None).await
}

/// [`run_hook_recorded`] that a stop ends: the hook's process group gets
/// SIGTERM, then SIGKILL after [`crate::stop::HELPER_STOP_GRACE`], and the
/// result is [`UpgradeError::Interrupted`] (the journal is the caller's).
pub async fn run_hook_until(
    label: &str,
    path: &Path,
    env: &HookEnv,
    timeout: Duration,
    max_retries: u32,
    on_spawn: Option<&(dyn Fn(u32) + Send + Sync)>,
    stop: Option<&StopRequest>,
) -> Result<HookDecision, UpgradeError> {
    let fail = |reason: String| UpgradeError::Hook {
        name: env.name.clone(),
        hook: label.to_string(),
        path: path.to_path_buf(),
        reason,
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HookDecision::Proceed),
        Err(e) => return Err(fail(format!("cannot read it: {e}"))),
        Ok(m) if !m.is_file() => return Err(fail("it is not a regular file".into())),
        Ok(_) if !wemixvisor_core::atomic::is_executable(path) => {
            return Err(fail("it is not executable (chmod +x it)".into()))
        }
        Ok(_) => {}
    }
    let attempts = max_retries.saturating_add(1);
    for attempt in 1..=attempts {
        tracing::info!(hook = label, path = %path.display(), upgrade = %env.name, attempt, "running {label} hook");
        let mut cmd = tokio::process::Command::new(path);
        cmd.envs(env.vars())
            .env("WEMIXVISOR_HOOK", label)
            .current_dir(&env.home);
        let r = run_captured_until(cmd, timeout, Some(label), OUTPUT_CAP, false, on_spawn, stop)
            .await
            .map_err(|e| fail(format!("cannot run it: {e}")))?;
        if r.stopped {
            tracing::warn!(hook = label, upgrade = %env.name, "{label} hook stopped: wemixvisor is stopping");
            return Err(UpgradeError::Interrupted {
                name: env.name.clone(),
                step: label.to_string(),
            });
        }
        let tail = if r.output.trim().is_empty() {
            String::new()
        } else {
            format!("; last output:\n{}", r.tail(10))
        };
        if r.timed_out {
            return Err(fail(format!(
                "it did not finish within {timeout:?} and was killed with its process group (upgrade.hook_timeout){tail}"
            )));
        }
        match r.code {
            Some(0) => return Ok(HookDecision::Proceed),
            Some(EXIT_ABORT) => {
                tracing::warn!(hook = label, upgrade = %env.name, "{label} hook asked to abort the upgrade (exit 30)");
                return Ok(HookDecision::Abort);
            }
            Some(EXIT_RETRY) if attempt < attempts => {
                tracing::warn!(hook = label, upgrade = %env.name, attempt, "{label} hook asked to be run again (exit 31)");
            }
            Some(EXIT_RETRY) => {
                return Err(fail(format!(
                    "it asked to be run again (exit 31) {attempts} time(s); upgrade.preupgrade_max_retries = {max_retries}{tail}"
                )))
            }
            _ => return Err(fail(format!("it ended with {}{tail}", r.describe()))),
        }
    }
    Err(fail("it was not run".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn env(home: &Path) -> HookEnv {
        HookEnv {
            home: home.to_path_buf(),
            daemon_name: "geth".into(),
            name: "v2".into(),
            height: 77,
            info_json: r#"{"name":"v2","height":77}"#.into(),
        }
    }

    const T: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn exit_codes() {
        let d = tempfile::tempdir().unwrap();
        let e = env(d.path());
        let ok = script(
            d.path(),
            "ok",
            "[ \"$UPGRADE_NAME\" = v2 ] && [ \"$UPGRADE_HEIGHT\" = 77 ] && [ \"$DAEMON_NAME\" = geth ] && [ \"$WEMIX_HOME\" = \"$DAEMON_HOME\" ] && [ \"$(pwd)\" = \"$WEMIX_HOME\" ] && echo \"$UPGRADE_INFO\" | grep -q '\"height\":77'",
        );
        assert_eq!(
            run_hook("pre-upgrade", &ok, &e, T, 0).await.unwrap(),
            HookDecision::Proceed
        );
        let abort = script(d.path(), "abort", "exit 30");
        assert_eq!(
            run_hook("pre-upgrade", &abort, &e, T, 0).await.unwrap(),
            HookDecision::Abort
        );
        let fail = script(d.path(), "fail", "echo migrating; echo broken >&2; exit 3");
        let err = run_hook("pre-upgrade", &fail, &e, T, 0)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("exit code 3") && err.contains("broken"),
            "{err}"
        );
        assert!(
            run_hook("pre-upgrade", &d.path().join("absent"), &e, T, 0)
                .await
                .unwrap()
                == HookDecision::Proceed
        );
        let noexec = d.path().join("noexec");
        std::fs::write(&noexec, "#!/bin/sh\n").unwrap();
        let err = run_hook("pre-upgrade", &noexec, &e, T, 0)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("chmod +x"), "{err}");
    }

    #[tokio::test]
    async fn a_stop_ends_a_running_hook_and_its_group_gracefully() {
        let d = tempfile::tempdir().unwrap();
        let e = env(d.path());
        let marks = d.path().join("marks");
        // The hook and a grandchild; SIGTERM is trapped to show it came first.
        let hook = script(
            d.path(),
            "slow",
            &format!(
                "trap 'echo term >> {m}; exit 1' TERM; sleep 60 & echo started >> {m}; wait",
                m = marks.display()
            ),
        );
        let stop = StopRequest::new();
        let s2 = stop.clone();
        let m2 = marks.clone();
        tokio::spawn(async move {
            while !std::fs::read_to_string(&m2).is_ok_and(|t| t.contains("started")) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            s2.request();
        });
        let t = std::time::Instant::now();
        let err = run_hook_until("pre-upgrade", &hook, &e, T, 0, None, Some(&stop))
            .await
            .unwrap_err();
        assert!(matches!(err, UpgradeError::Interrupted { .. }), "{err}");
        assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
        assert!(std::fs::read_to_string(&marks).unwrap().contains("term"));
        // Already requested: the next hook does not run on.
        let err = run_hook_until("pre-upgrade", &hook, &e, T, 0, None, Some(&stop))
            .await
            .unwrap_err();
        assert!(matches!(err, UpgradeError::Interrupted { .. }), "{err}");
    }

    #[tokio::test]
    async fn retry_31_up_to_the_limit() {
        let d = tempfile::tempdir().unwrap();
        let e = env(d.path());
        let count = d.path().join("count");
        // exits 31 twice, then 0
        let flaky = script(
            d.path(),
            "flaky",
            &format!(
                "n=$(cat '{c}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '{c}'; [ $n -ge 3 ] && exit 0; exit 31",
                c = count.display()
            ),
        );
        assert_eq!(
            run_hook("pre-upgrade", &flaky, &e, T, 2).await.unwrap(),
            HookDecision::Proceed
        );
        assert_eq!(std::fs::read_to_string(&count).unwrap().trim(), "3");
        std::fs::remove_file(&count).unwrap();
        let err = run_hook("pre-upgrade", &flaky, &e, T, 1)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("exit 31") && err.contains("preupgrade_max_retries = 1"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&count).unwrap().trim(), "2");
    }

    #[tokio::test]
    async fn output_that_is_not_utf8_is_logged_lossily_and_drained() {
        let d = tempfile::tempdir().unwrap();
        let e = env(d.path());
        let done = d.path().join("done");
        // one invalid byte, then enough output to fill a pipe, then a marker
        let hook = script(
            d.path(),
            "bytes",
            &format!(
                "printf 'before \\377 after\\n'; i=0; while [ $i -lt 3000 ]; do echo \"line $i of filler text to fill the pipe\"; i=$((i+1)); done; printf '\\377\\376' >&2; echo end; touch '{}'",
                done.display()
            ),
        );
        assert_eq!(
            run_hook("pre-upgrade", &hook, &e, T, 0).await.unwrap(),
            HookDecision::Proceed
        );
        assert!(done.exists(), "the hook did not run to its end");
        let fail = script(d.path(), "bytes-fail", "printf '\\377oops\\n'; exit 5");
        let err = run_hook("pre-upgrade", &fail, &e, T, 0)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("exit code 5") && err.contains("\u{fffd}oops"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_hanging_hook_is_killed_with_its_group() {
        let d = tempfile::tempdir().unwrap();
        let e = env(d.path());
        let pidfile = d.path().join("child.pid");
        let hang = script(
            d.path(),
            "hang",
            &format!("sleep 60 & echo $! > '{}'; wait", pidfile.display()),
        );
        let start = std::time::Instant::now();
        let err = run_hook("pre-upgrade", &hang, &e, Duration::from_millis(500), 3)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("did not finish") && err.contains("hook_timeout"),
            "{err}"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        let child: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // the grandchild went down with the group
        let gone = (0..50).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            !wemixvisor_core::lock::pid_alive(child as u32)
                || std::fs::read_to_string(format!("/proc/{child}/stat"))
                    .map(|s| s.contains(") Z "))
                    .unwrap_or(true)
        });
        assert!(gone, "the hook's child {child} survived");
    }
}
