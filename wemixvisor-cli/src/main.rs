//! `wemixvisor`: the command line of the Wemix node supervisor.
//!
//! This crate wires the library crates together and prints; it holds no
//! domain decisions. Errors are printed once, here, as `error: ...` with
//! their causes and a `help:` line, and mapped to the documented exit codes:
//! 0 success, 1 operation failed, 2 bad usage or bad input, and for `run`
//! the node's own exit code when the node ended and no restart applies.

mod cli;
mod client;
mod commands;
mod context;
mod daemon;
mod exit;
mod logging;

use std::process::ExitCode;

use clap::Parser;

/// Lets `wemixvisor status | head` end quietly instead of failing on a
/// closed pipe. Not for the supervisor itself (`run`, `daemon`), whose
/// socket writes must never kill it.
fn default_sigpipe() {
    #[allow(unsafe_code)]
    // SAFETY: called at the start of main, before any other thread exists;
    // SIG_DFL installs no handler, so no Rust code runs in signal context.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
}

fn main() -> ExitCode {
    // As a container's PID 1 (or with WEMIXVISOR_SUBREAPER=1), a tiny init
    // runs first and reaps orphaned grandchildren; the supervisor is its child.
    #[cfg(target_os = "linux")]
    match wemixvisor_node::reaper::init_if_needed() {
        Ok(Some(code)) => std::process::exit(code),
        Ok(None) => {}
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    }
    let cli = cli::Cli::parse();
    if !matches!(
        cli.command,
        cli::Command::Run { .. } | cli::Command::Daemon { .. }
    ) {
        default_sigpipe();
    }
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    }
}
