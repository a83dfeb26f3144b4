//! Geth-flavoured log lines on stderr: `LEVEL message key=value ...`.
//!
//! There is no timestamp so tests can match lines with a plain `contains`.
//! Writes never panic: if stderr is gone (the supervisor closed the pipe) the
//! line is dropped.

use std::fmt;
use std::io::Write;

/// Writes one log line to stderr, ignoring write errors.
pub fn emit(level: &str, args: fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{level} {args}");
}

/// Writes one line to stdout, ignoring write errors.
pub fn out(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{args}");
    let _ = out.flush();
}

/// `log!("INFO", "message key={}", v)` — one line on stderr.
macro_rules! log {
    ($level:literal, $($arg:tt)*) => {
        $crate::logging::emit($level, format_args!($($arg)*))
    };
}
