//! Error printing and exit codes.

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

fn code_for(err: &anyhow::Error) -> u8 {
    let bad = err.chain().any(|c| {
        c.downcast_ref::<BadInput>().is_some()
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

/// Prints `err` with its causes and returns the exit code for it.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let mut chain = err.chain();
    if let Some(top) = chain.next() {
        eprintln!("error: {top}");
    }
    let causes: Vec<String> = chain.map(ToString::to_string).collect();
    if !causes.is_empty() {
        eprintln!("\nCaused by:");
        for c in causes {
            eprintln!("    {c}");
        }
    }
    ExitCode::from(code_for(err))
}
