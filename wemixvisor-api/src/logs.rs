//! Bounded reads of the node log: a tail, and a follow stream that
//! survives rotation.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Bytes;
use futures::Stream;

/// Most lines a tail returns.
pub const MAX_LINES: usize = 10_000;
/// Most bytes read from the end of the file for a tail.
const TAIL_WINDOW: u64 = 4 << 20;
/// Most bytes one follow poll reads.
const FOLLOW_CHUNK: u64 = 1 << 20;
/// Time between follow polls.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);

/// The last lines of the log and the offset they end at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    /// The lines, each ending with a newline.
    pub text: String,
    /// File offset after them.
    pub end: u64,
}

/// Reads the last `lines` lines (from at most the last 4 MiB). A missing
/// log is an empty tail.
pub fn tail(path: &Path, lines: usize) -> std::io::Result<Tail> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Tail {
                text: String::new(),
                end: 0,
            })
        }
        Err(e) => return Err(e),
    };
    let end = f.metadata()?.len();
    let start = end.saturating_sub(TAIL_WINDOW);
    f.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::new();
    f.take(end - start).read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    // a partial first line (window cut) is dropped
    let skip_first = start > 0 && !all.is_empty();
    let body = &all[usize::from(skip_first)..];
    let from = body.len().saturating_sub(lines);
    let mut out = String::new();
    for l in &body[from..] {
        out.push_str(l);
        out.push('\n');
    }
    Ok(Tail { text: out, end })
}

/// Reads what was appended after `offset`; a file shorter than `offset`
/// was rotated and is read from its start.
fn read_from(path: &Path, offset: u64) -> std::io::Result<(Vec<u8>, u64)> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let from = if len < offset { 0 } else { offset };
    f.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::new();
    f.take(FOLLOW_CHUNK).read_to_end(&mut buf)?;
    let next = from + buf.len() as u64;
    Ok((buf, next))
}

/// New log data from `offset` on, polled off the runtime, forever.
pub fn follow(path: PathBuf, offset: u64) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    futures::stream::unfold((path, offset), |(path, mut offset)| async move {
        loop {
            let p = path.clone();
            let r = tokio::task::spawn_blocking(move || read_from(&p, offset)).await;
            match r {
                Ok(Ok((buf, next))) => {
                    offset = next;
                    if !buf.is_empty() {
                        return Some((Ok(Bytes::from(buf)), (path, offset)));
                    }
                }
                Ok(Err(e)) => return Some((Err(e), (path, offset))),
                Err(e) => return Some((Err(std::io::Error::other(e)), (path, offset))),
            }
            tokio::time::sleep(FOLLOW_EVERY).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_takes_the_last_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("geth.log");
        assert_eq!(tail(&p, 5).unwrap().text, "");
        std::fs::write(&p, "a\nb\nc\nd\n").unwrap();
        let t = tail(&p, 2).unwrap();
        assert_eq!(t.text, "c\nd\n");
        assert_eq!(t.end, 8);
        assert_eq!(tail(&p, 10).unwrap().text, "a\nb\nc\nd\n");
    }

    #[test]
    fn read_from_restarts_after_rotation() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("geth.log");
        std::fs::write(&p, "0123456789\n").unwrap();
        let (b, n) = read_from(&p, 5).unwrap();
        assert_eq!((b.as_slice(), n), (&b"56789\n"[..], 11));
        std::fs::write(&p, "new\n").unwrap();
        let (b, n) = read_from(&p, 11).unwrap();
        assert_eq!((b.as_slice(), n), (&b"new\n"[..], 4));
    }
}
