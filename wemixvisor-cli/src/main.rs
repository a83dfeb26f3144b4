//! `wemixvisor`: the command line of the Wemix node supervisor.
//!
//! This crate wires the library crates together and prints; it holds no
//! domain decisions. Errors are printed once, here, as `error: ...` with
//! their causes and a `help:` line, and mapped to the documented exit codes:
//! 0 success, 1 operation failed, 2 bad usage or bad input, and for `run`
//! the node's own exit code when the node ended and no restart applies.

mod cli;
mod commands;
mod context;
mod daemon;
mod exit;
mod logging;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => exit::report(&err),
    }
}
