//! `--sim.flood-logs`: numbered lines on stdout, for log-capture tests.
//!
//! Each line is `LOG <seq> <padding>` with `seq` counting from 0, so a test
//! can count what it captured and spot gaps. Runs on its own thread; stops
//! after `--sim.flood-count` lines, or when stdout is closed.

use std::io::{self, Write};
use std::thread;
use std::time::{Duration, Instant};

/// Filler that makes each line about 100 bytes.
const PADDING: &str =
    "the quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrstuvwxyz";

/// Starts flooding stdout: `rate` lines per second (0 = as fast as possible).
pub fn spawn(rate: u64, count: Option<u64>) -> io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name("flood-logs".into())
        .spawn(move || {
            let stdout = io::stdout();
            let _ = flood(&mut stdout.lock(), rate, count);
        })
}

/// Writes the lines to `out`; returns the number written.
pub fn flood(out: &mut impl Write, rate: u64, count: Option<u64>) -> io::Result<u64> {
    let limit = count.unwrap_or(u64::MAX);
    let start = Instant::now();
    let mut seq = 0u64;
    while seq < limit {
        if rate > 0 {
            // Line `seq` is due at start + seq / rate.
            let due = start + Duration::from_secs_f64(seq as f64 / rate as f64);
            let now = Instant::now();
            if due > now {
                out.flush()?;
                thread::sleep(due - now);
            }
        }
        writeln!(out, "LOG {seq} {PADDING}")?;
        seq += 1;
        if rate == 0 && seq % 1024 == 0 {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_lines() {
        let mut buf = Vec::new();
        assert_eq!(flood(&mut buf, 0, Some(3)).unwrap(), 3);
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("LOG 0 "));
        assert!(lines[2].starts_with("LOG 2 "));
    }

    #[test]
    fn rate_is_respected() {
        let t = Instant::now();
        let mut buf = Vec::new();
        flood(&mut buf, 100, Some(21)).unwrap();
        assert!(t.elapsed() >= Duration::from_millis(190));
    }
}
