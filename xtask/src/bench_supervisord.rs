//! The anchor of the supervisor rows: supervisord (PyPI `supervisor`),
//! installed into the project's venv `.cache/venv`, supervising the same
//! node script as wemixvisor, with its node output captured to a file as
//! ours is. Only supervisord's own process is measured, as only
//! wemixvisor's is.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{root, sh};

/// The supervisord release the anchor figures are taken with.
pub const SUPERVISOR_PACKAGE: &str = "supervisor==4.3.0";

/// Installs supervisord into `.cache/venv` unless it already runs there;
/// returns the path of `supervisord`.
pub fn install() -> Result<PathBuf> {
    let venv = root().join(".cache").join("venv");
    let bin = venv.join("bin");
    let supervisord = bin.join("supervisord");
    let works = || {
        Command::new(&supervisord)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works() {
        return Ok(supervisord);
    }
    if !bin.join("pip").exists() {
        sh(Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .context("cannot create the Python venv (Debian: apt-get install python3-venv)")?;
    }
    sh(Command::new(bin.join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(SUPERVISOR_PACKAGE))?;
    if !works() {
        bail!("{} does not run", supervisord.display());
    }
    Ok(supervisord)
}

/// The configuration for one program `node` running `command`, restarted
/// at once whenever it exits (`startsecs=0`: no exit counts as a failed
/// start, so there is no backoff), its output in `<dir>/node.log`.
pub fn config(dir: &Path, command: &str) -> String {
    let d = dir.display();
    format!(
        "[supervisord]\nnodaemon=true\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\nchildlogdir={d}\nloglevel=warn\n\n\
         [program:node]\ncommand={command}\nautostart=true\nautorestart=true\nstartsecs=0\nstartretries=100000\n\
         stopsignal=TERM\nstopasgroup=true\nkillasgroup=true\nredirect_stderr=true\nstdout_logfile={d}/node.log\n\
         stdout_logfile_maxbytes=64MB\n"
    )
}

/// Starts `supervisord -n` in `dir` (created) supervising `command`.
pub fn spawn(supervisord: &Path, dir: &Path, command: &str) -> Result<Child> {
    std::fs::create_dir_all(dir)?;
    let conf = dir.join("supervisord.conf");
    std::fs::write(&conf, config(dir, command))?;
    Command::new(supervisord)
        .arg("-n")
        .arg("-c")
        .arg(&conf)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", supervisord.display()))
}

/// A command line as supervisord's `command=` reads it (shell-like
/// words): every word single-quoted.
pub fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\"'\"'")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quote_each_word_and_embedded_quotes() {
        let w = shell_words(&["/a b/devnode".into(), "--x".into(), "it's".into()]);
        assert_eq!(w, r#"'/a b/devnode' '--x' 'it'"'"'s'"#);
    }

    #[test]
    fn config_restarts_at_once_and_captures_output_in_the_run_dir() {
        let c = config(Path::new("/tmp/x"), "/tmp/x/node.sh --flag");
        for line in [
            "nodaemon=true",
            "command=/tmp/x/node.sh --flag",
            "autorestart=true",
            "startsecs=0",
            "stdout_logfile=/tmp/x/node.log",
            "pidfile=/tmp/x/supervisord.pid",
        ] {
            assert!(c.lines().any(|l| l == line), "{line} missing in\n{c}");
        }
    }
}
