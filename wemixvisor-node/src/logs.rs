//! Capture of the node's output into `chain-data/logs/geth.log`.
//!
//! The node's stdout and stderr are the two ends of ONE pipe, so lines keep
//! exactly the order the node wrote them in. A dedicated thread reads the
//! pipe in large chunks, prefixes each complete line with a timestamp, and
//! appends it to the log; it never blocks the node beyond the pipe's buffer.
//! When the file passes `max_bytes` it is renamed into `archived/` and a new
//! one is started; the archived file is gzip-compressed by a background
//! thread and only the newest `keep` archives are kept.
//!
//! A line is at most [`MAX_LINE`] bytes: output without a newline is cut
//! there, so a node that never ends its line cannot grow the supervisor.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use flate2::write::GzEncoder;
use flate2::Compression;

/// Longest line kept whole; longer output is cut into lines of this size.
pub const MAX_LINE: usize = 1 << 20;

/// Splits the node's output into whole lines, holding at most
/// [`MAX_LINE`] bytes of an unfinished one.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `chunk`; `emit` gets runs of whole lines, each ending in `\n`
    /// and at most [`MAX_LINE`] + 1 bytes long.
    pub(crate) fn feed(
        &mut self,
        chunk: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut rest = chunk;
        if !self.partial.is_empty() {
            let Some(i) = rest.iter().position(|&b| b == b'\n') else {
                return self.hold(rest, emit);
            };
            self.hold(&rest[..i], emit)?;
            self.flush(emit)?;
            rest = &rest[i + 1..];
        }
        let cut = rest.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let (whole, tail) = rest.split_at(cut);
        // Whole lines go out in runs; an over-long one is cut.
        let mut run_start = 0;
        let mut at = 0;
        for line in whole.split_inclusive(|&b| b == b'\n') {
            if line.len() > MAX_LINE + 1 {
                if run_start < at {
                    emit(&whole[run_start..at])?;
                }
                self.hold(&line[..line.len() - 1], emit)?;
                self.flush(emit)?;
                run_start = at + line.len();
            }
            at += line.len();
        }
        if run_start < whole.len() {
            emit(&whole[run_start..])?;
        }
        self.hold(tail, emit)
    }

    /// Emits what is held as a line of its own (at the end of the output).
    pub(crate) fn flush(
        &mut self,
        emit: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.partial.is_empty() {
            return Ok(());
        }
        self.partial.push(b'\n');
        let r = emit(&self.partial);
        self.partial.clear();
        r
    }

    /// Holds `data` (no newline in it), cutting a line at [`MAX_LINE`].
    fn hold(
        &mut self,
        mut data: &[u8],
        emit: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        while self.partial.len() + data.len() > MAX_LINE {
            let room = MAX_LINE - self.partial.len();
            self.partial.extend_from_slice(&data[..room]);
            data = &data[room..];
            self.flush(emit)?;
        }
        self.partial.extend_from_slice(data);
        Ok(())
    }

    /// Bytes the splitter has allocated for an unfinished line.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.partial.capacity()
    }
}

/// Where and how the node's output is kept.
#[derive(Debug, Clone)]
pub struct LogCapture {
    /// The live log (`chain-data/logs/geth.log`).
    pub path: PathBuf,
    /// Where rotated logs go (`chain-data/logs/archived/`).
    pub archive_dir: PathBuf,
    /// Size at which the live log is rotated.
    pub max_bytes: u64,
    /// Number of rotated logs kept.
    pub keep: usize,
    /// Also copy every line to the supervisor's stdout (foreground `run`).
    pub tee_stdout: bool,
}

impl LogCapture {
    /// Defaults for a log at `path`: rotate at 100 MiB, keep 10 archives.
    pub fn new(path: PathBuf, archive_dir: PathBuf) -> Self {
        LogCapture {
            path,
            archive_dir,
            max_bytes: 100 * 1024 * 1024,
            keep: 10,
            tee_stdout: false,
        }
    }
}

fn open_log(path: &Path) -> io::Result<(BufWriter<File>, u64)> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    let len = f.metadata()?.len();
    Ok((BufWriter::with_capacity(256 * 1024, f), len))
}

/// Name of a rotated log: `geth-<UTC time with ms>-<seq>.log`.
fn archive_name(seq: u64) -> String {
    let t = humantime::format_rfc3339_millis(SystemTime::now())
        .to_string()
        .replace(':', "");
    format!("geth-{t}-{seq:04}.log")
}

/// Compresses `plain` to `plain.gz` and removes `plain`; then prunes.
fn compress_and_prune(plain: PathBuf, dir: PathBuf, keep: usize) {
    let gz = plain.with_extension("log.gz");
    let tmp = plain.with_extension("log.gz.partial");
    let result = (|| -> io::Result<()> {
        let mut src = File::open(&plain)?;
        let dst = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut enc = GzEncoder::new(BufWriter::new(dst), Compression::fast());
        io::copy(&mut src, &mut enc)?;
        let w = enc.finish()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        fs::rename(&tmp, &gz)?;
        fs::remove_file(&plain)
    })();
    if let Err(e) = result {
        tracing::warn!(file = %plain.display(), error = %e, "could not compress a rotated node log; keeping it uncompressed");
        let _ = fs::remove_file(&tmp);
    }
    prune(&dir, keep);
}

/// Keeps the newest `keep` rotated logs in `dir` (by name, which sorts by time).
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("geth-") && (n.ends_with(".log.gz") || n.ends_with(".log"))
            })
        })
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep);
    for p in names.into_iter().take(excess) {
        let _ = fs::remove_file(p);
    }
}

/// Writes timestamped lines to the live log, rotating by size.
struct LogWriter {
    cfg: LogCapture,
    out: BufWriter<File>,
    written: u64,
    seq: u64,
    compressors: Vec<std::thread::JoinHandle<()>>,
}

impl LogWriter {
    fn open(cfg: LogCapture) -> io::Result<Self> {
        fs::create_dir_all(&cfg.archive_dir)?;
        let (out, written) = open_log(&cfg.path)?;
        Ok(LogWriter {
            cfg,
            out,
            written,
            seq: 0,
            compressors: Vec::new(),
        })
    }

    fn write_lines(&mut self, stamp: &str, data: &[u8]) -> io::Result<()> {
        for line in data.split_inclusive(|&b| b == b'\n') {
            self.out.write_all(stamp.as_bytes())?;
            self.out.write_all(b" ")?;
            self.out.write_all(line)?;
            self.written += (stamp.len() + 1 + line.len()) as u64;
            if self.written >= self.cfg.max_bytes {
                self.rotate()?;
            }
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.seq += 1;
        let archived = self.cfg.archive_dir.join(archive_name(self.seq));
        fs::rename(&self.cfg.path, &archived)?;
        let (out, written) = open_log(&self.cfg.path)?;
        self.out = out;
        self.written = written;
        let dir = self.cfg.archive_dir.clone();
        let keep = self.cfg.keep;
        self.compressors.retain(|h| !h.is_finished());
        self.compressors.push(std::thread::spawn(move || {
            compress_and_prune(archived, dir, keep)
        }));
        Ok(())
    }

    fn finish(mut self) {
        let _ = self.out.flush();
        for h in self.compressors.drain(..) {
            let _ = h.join();
        }
    }
}

/// Reads the node's output pipe until the node (and everything that holds
/// the pipe) is gone, writing it to the log. Runs on its own thread.
pub(crate) fn spawn_capture(
    read_end: OwnedFd,
    cfg: LogCapture,
) -> io::Result<std::thread::JoinHandle<()>> {
    let mut writer = LogWriter::open(cfg)?;
    let tee = writer.cfg.tee_stdout;
    std::thread::Builder::new()
        .name("node-log".into())
        .spawn(move || {
            let mut pipe = File::from(read_end);
            let mut buf = vec![0u8; 256 * 1024];
            let mut lines = LineSplitter::default();
            let stdout = io::stdout();
            loop {
                let n = match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::error!(error = %e, "reading the node's output failed");
                        break;
                    }
                };
                let chunk = &buf[..n];
                if tee {
                    let _ = stdout.lock().write_all(chunk);
                }
                let stamp = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
                let res = lines
                    .feed(chunk, &mut |run| writer.write_lines(&stamp, run))
                    .and_then(|_| writer.out.flush());
                if let Err(e) = res {
                    // Keep draining the pipe so the node never blocks on a full disk.
                    tracing::error!(error = %e, "writing the node log failed");
                }
            }
            let stamp = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
            let _ = lines.flush(&mut |run| writer.write_lines(&stamp, run));
            writer.finish();
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    fn count_lines(dir: &Path, live: &Path) -> (usize, Vec<u64>) {
        let mut seqs = Vec::new();
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files.push(live.to_path_buf());
        let mut n = 0;
        for f in files {
            let reader: Box<dyn Read> = if f.extension().is_some_and(|e| e == "gz") {
                Box::new(flate2::read::GzDecoder::new(File::open(&f).unwrap()))
            } else {
                Box::new(File::open(&f).unwrap())
            };
            for line in BufReader::new(reader).lines() {
                let line = line.unwrap();
                n += 1;
                let seq = line.rsplit(' ').next().unwrap().parse().unwrap();
                seqs.push(seq);
            }
        }
        (n, seqs)
    }

    #[test]
    fn every_line_survives_rotation_in_order_and_archives_are_pruned() {
        let d = tempfile::tempdir().unwrap();
        let live = d.path().join("logs/geth.log");
        let archive = d.path().join("logs/archived");
        let (r, w) = nix::unistd::pipe().unwrap();
        let mut cfg = LogCapture::new(live.clone(), archive.clone());
        cfg.max_bytes = 20_000;
        cfg.keep = 1000;
        let h = spawn_capture(r, cfg).unwrap();
        let mut w = File::from(w);
        for i in 0..5000u64 {
            // uneven writes: lines cut across writes
            let s = format!("line {i}\n");
            let (a, b) = s.as_bytes().split_at(3);
            w.write_all(a).unwrap();
            w.write_all(b).unwrap();
        }
        drop(w);
        h.join().unwrap();
        let (n, seqs) = count_lines(&archive, &live);
        assert_eq!(n, 5000);
        assert!(seqs.windows(2).all(|p| p[1] == p[0] + 1), "order lost");
        assert!(fs::read_dir(&archive).unwrap().count() > 3);
        // pruning keeps the newest
        prune(&archive, 2);
        assert_eq!(fs::read_dir(&archive).unwrap().count(), 2);
        let first = fs::read_to_string(&live).unwrap();
        assert!(
            first
                .lines()
                .all(|l| l.len() > 24 && l.as_bytes()[4] == b'-'),
            "lines lack timestamps"
        );
    }

    #[test]
    fn a_line_without_newline_is_cut_at_max_line_and_memory_stays_bounded() {
        let mut sp = LineSplitter::default();
        let mut lens = Vec::new();
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..(5 * MAX_LINE) / chunk.len() {
            sp.feed(&chunk, &mut |run| {
                lens.extend(run.split_inclusive(|&b| b == b'\n').map(|l| l.len()));
                Ok(())
            })
            .unwrap();
            assert!(sp.capacity() <= 2 * MAX_LINE, "held {}", sp.capacity());
        }
        sp.feed(b"tail\nnext", &mut |run| {
            lens.extend(run.split_inclusive(|&b| b == b'\n').map(|l| l.len()));
            Ok(())
        })
        .unwrap();
        sp.flush(&mut |run| {
            lens.extend(run.split_inclusive(|&b| b == b'\n').map(|l| l.len()));
            Ok(())
        })
        .unwrap();
        // 5 MiB of 'a' then "tail\n": five cut lines of 1 MiB, "tail",
        // then "next" flushed at the end.
        assert_eq!(
            lens,
            vec![
                MAX_LINE + 1,
                MAX_LINE + 1,
                MAX_LINE + 1,
                MAX_LINE + 1,
                MAX_LINE + 1,
                5,
                5
            ]
        );
        // One whole over-long line in a single chunk is cut as well.
        let mut sp = LineSplitter::default();
        let mut big = vec![b'b'; 2 * MAX_LINE + 10];
        big.push(b'\n');
        big.extend_from_slice(b"x\n");
        let mut lens = Vec::new();
        sp.feed(&big, &mut |run| {
            lens.extend(run.split_inclusive(|&b| b == b'\n').map(|l| l.len()));
            Ok(())
        })
        .unwrap();
        assert_eq!(lens, vec![MAX_LINE + 1, MAX_LINE + 1, 11, 2]);
    }

    #[test]
    fn five_mib_without_newline_through_the_capture_is_split_at_max_line() {
        let d = tempfile::tempdir().unwrap();
        let live = d.path().join("logs/geth.log");
        let archive = d.path().join("logs/archived");
        let (r, w) = nix::unistd::pipe().unwrap();
        let mut cfg = LogCapture::new(live.clone(), archive);
        cfg.max_bytes = 1 << 30;
        let h = spawn_capture(r, cfg).unwrap();
        let mut w = File::from(w);
        let chunk = vec![b'z'; 100_000];
        let mut sent = 0;
        while sent < 5 * MAX_LINE {
            let n = chunk.len().min(5 * MAX_LINE - sent);
            w.write_all(&chunk[..n]).unwrap();
            sent += n;
        }
        w.write_all(b"\nafter\n").unwrap();
        drop(w);
        h.join().unwrap();
        let text = fs::read(&live).unwrap();
        let lines: Vec<&[u8]> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        // "<stamp> " + payload per line.
        let payload: Vec<usize> = lines
            .iter()
            .map(|l| l.len() - l.iter().position(|&b| b == b' ').unwrap() - 1)
            .collect();
        assert_eq!(
            payload,
            vec![MAX_LINE, MAX_LINE, MAX_LINE, MAX_LINE, MAX_LINE, 5]
        );
    }
}
