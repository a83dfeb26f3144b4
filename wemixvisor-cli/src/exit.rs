//! Error printing and exit codes, in the cargo style: `error: <message>`,
//! then each cause once under `Caused by:`, then the `help:` line last.

use std::process::ExitCode;

/// Exit code: the operation failed.
pub const FAILED: u8 = 1;
/// Exit code: bad usage or bad input.
pub const BAD_INPUT: u8 = 2;

/// An error caused by what the user gave (a flag, a file): exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Shorthand to build a [`BadInput`] error.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// An error with its fix as data, printed as the last `help:` line.
#[derive(Debug)]
pub struct Hinted {
    /// What went wrong.
    pub message: String,
    /// What fixes it.
    pub hint: Option<String>,
    /// Caused by what the user gave (exit code 2).
    pub bad_input: bool,
}

impl Hinted {
    /// An error with an optional hint.
    pub fn new(message: impl Into<String>, hint: Option<String>) -> Self {
        Hinted {
            message: message.into(),
            hint,
            bad_input: false,
        }
    }
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

fn code_for(err: &anyhow::Error) -> u8 {
    let bad = err.chain().any(|c| {
        c.downcast_ref::<BadInput>().is_some()
            || c.downcast_ref::<Hinted>().is_some_and(|h| h.bad_input)
            || matches!(
                c.downcast_ref::<wemixvisor_config::ConfigError>(),
                Some(wemixvisor_config::ConfigError::Invalid { .. })
            )
    });
    if bad {
        BAD_INPUT
    } else {
        FAILED
    }
}

/// The hint an error carries as data, if any.
fn hint_of(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(h) = e.downcast_ref::<Hinted>() {
        return h.hint.clone();
    }
    if let Some(s) = e.downcast_ref::<wemixvisor_supervisor::SupervisorError>() {
        return s.help();
    }
    if let Some(o) = e.downcast_ref::<wemixvisor_node::OrphanError>() {
        return Some(o.help());
    }
    if let Some(a) = e.downcast_ref::<wemixvisor_api::ApiError>() {
        return a.help();
    }
    None
}

/// The lines of `err` in print order: the message, the causes (each once,
/// none repeated inside another), and the hints (last).
pub fn render(err: &anyhow::Error) -> (String, Vec<String>, Vec<String>) {
    let mut hints: Vec<String> = Vec::new();
    // A hint given as context (anyhow keeps the context's own type).
    if let Some(h) = err.downcast_ref::<Hinted>().and_then(|h| h.hint.clone()) {
        hints.push(h);
    }
    let mut texts: Vec<String> = Vec::new();
    for c in err.chain() {
        let (msg, help) = wemixvisor_supervisor::split_help(&c.to_string());
        if let Some(h) = help {
            hints.push(h);
        }
        if let Some(h) = hint_of(c) {
            hints.push(h);
        }
        texts.push(msg);
    }
    let top = texts.first().cloned().unwrap_or_default();
    let mut causes: Vec<String> = Vec::new();
    let mut previous = top.clone();
    for t in texts.into_iter().skip(1) {
        // A cause already written into the message above it is not repeated.
        if t.is_empty() || previous.contains(&t) {
            continue;
        }
        previous = t.clone();
        causes.push(t);
    }
    let mut seen = std::collections::HashSet::new();
    hints.retain(|h| seen.insert(h.clone()));
    (top, causes, hints)
}

/// Prints `err` with its causes and hint and returns the exit code for it.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let (top, causes, hints) = render(err);
    eprintln!("error: {top}");
    if !causes.is_empty() {
        eprintln!("\nCaused by:");
        for c in causes {
            for line in c.lines() {
                eprintln!("    {line}");
            }
        }
    }
    for h in hints {
        eprintln!("help: {h}");
    }
    ExitCode::from(code_for(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read 'x': {source}")]
    struct Outer {
        source: std::io::Error,
    }

    #[test]
    fn help_comes_last_and_causes_are_not_repeated() {
        let inner = std::io::Error::other("permission denied");
        let e = anyhow::Error::new(Outer { source: inner })
            .context(Hinted::new("cannot start", Some("run init".into())));
        let (top, causes, hints) = render(&e);
        assert_eq!(top, "cannot start");
        assert_eq!(causes, ["cannot read 'x': permission denied"]);
        assert_eq!(hints, ["run init"]);
        let e = anyhow::anyhow!("bad thing\nhelp: do that");
        let (top, causes, hints) = render(&e);
        assert_eq!((top.as_str(), causes.len()), ("bad thing", 0));
        assert_eq!(hints, ["do that"]);
    }
}
