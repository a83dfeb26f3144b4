//! `.tar.zst` exports of a snapshot for off-host copies: the manifest and
//! the data, compressed with multi-threaded zstd, hashed while written, with
//! a `sha256sum`-style checksum file beside it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::copy::to_hex;
use crate::manifest::{Manifest, MANIFEST_FILE};
use crate::progress::{CancelFlag, Phase, Progress};
use crate::{BackupError, Backups};

/// zstd level: fast, and still a good ratio on compressible data.
const ZSTD_LEVEL: i32 = 3;

/// What `archive` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveReport {
    /// Snapshot id.
    pub id: String,
    /// The `.tar.zst` file.
    pub path: PathBuf,
    /// Its sha256 (lowercase hex).
    pub sha256: String,
    /// The `.sha256` file beside it (`sha256sum -c` format).
    pub sha256_file: PathBuf,
    /// Compressed size in bytes.
    pub bytes: u64,
    /// Logical size of the snapshot.
    pub logical_bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// A writer that hashes and counts what passes through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that reports progress and stops on cancellation.
struct ProgressReader<'a, R: Read> {
    inner: R,
    progress: &'a dyn Progress,
    cancel: &'a CancelFlag,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            return Err(io::Error::other("cancelled"));
        }
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

fn header(kind: tar::EntryType, size: u64, mode: u32, mtime: i64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(u64::try_from(mtime).unwrap_or(0));
    h
}

impl Backups {
    /// Writes `<snapshot>/<id>.tar.zst` (and `<id>.tar.zst.sha256`) holding
    /// the manifest and the data with their recorded modes and mtimes.
    pub fn archive(&self, id: &str) -> Result<ArchiveReport, BackupError> {
        let start = Instant::now();
        let found = self.resolve(id)?;
        let Some(manifest) = found.complete().cloned() else {
            return Err(BackupError::Incomplete {
                id: found.id.clone(),
                reason: "it has no readable manifest".into(),
            });
        };
        let _lock = self.lock()?;
        let name = format!("{}.tar.zst", found.id);
        let out = found.dir.join(&name);
        let tmp = found.dir.join(format!(".{name}.partial"));
        let result = self.write_archive(&found.id, &found.dir, &manifest, &tmp);
        let (sha256, bytes) = match result {
            Ok(v) => v,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(if self.cancel.is_cancelled() {
                    BackupError::Cancelled
                } else {
                    e
                });
            }
        };
        fs::rename(&tmp, &out).map_err(|e| BackupError::io("rename", &tmp, e))?;
        let sha256_file = found.dir.join(format!("{name}.sha256"));
        wemixvisor_core::atomic::write_atomic(
            &sha256_file,
            format!("{sha256}  {name}\n").as_bytes(),
            wemixvisor_core::atomic::SECRET_MODE,
        )?;
        Ok(ArchiveReport {
            id: found.id.clone(),
            path: out,
            sha256,
            sha256_file,
            bytes,
            logical_bytes: manifest.totals.bytes,
            elapsed: start.elapsed(),
        })
    }

    fn write_archive(
        &self,
        id: &str,
        snap_dir: &Path,
        manifest: &Manifest,
        tmp: &Path,
    ) -> Result<(String, u64), BackupError> {
        let io_err = |e: io::Error| BackupError::io("write", tmp, e);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(tmp)
            .map_err(|e| BackupError::io("create", tmp, e))?;
        let sink = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            bytes: 0,
        };
        let mut enc = zstd::stream::write::Encoder::new(sink, ZSTD_LEVEL).map_err(io_err)?;
        let threads = u32::try_from(self.opts.worker_threads()).unwrap_or(2);
        enc.multithread(threads).map_err(io_err)?;
        let mut tar = tar::Builder::new(enc);

        let mpath = snap_dir.join(MANIFEST_FILE);
        let mbytes = fs::read(&mpath).map_err(|e| BackupError::io("read", &mpath, e))?;
        let mut h = header(tar::EntryType::Regular, mbytes.len() as u64, 0o600, 0);
        tar.append_data(&mut h, format!("{id}/{MANIFEST_FILE}"), &mbytes[..])
            .map_err(io_err)?;
        let mut h = header(tar::EntryType::Directory, 0, manifest.root_mode, 0);
        tar.append_data(&mut h, format!("{id}/data/"), io::empty())
            .map_err(io_err)?;
        for d in &manifest.dirs {
            let mut h = header(tar::EntryType::Directory, 0, d.mode, 0);
            tar.append_data(&mut h, format!("{id}/data/{}/", d.path), io::empty())
                .map_err(io_err)?;
        }
        self.progress
            .begin(Phase::Archive, manifest.totals.bytes, manifest.totals.files);
        let files = (|| {
            for e in &manifest.files {
                // A segmented file is written whole: its segments end to end.
                let mut f: Box<dyn io::Read> = Box::new(io::empty());
                let mut len = 0;
                let n = e.parts().len();
                for i in 0..n {
                    let p = crate::manifest::segment_path(snap_dir, &e.path, i);
                    let seg = File::open(&p).map_err(|err| BackupError::io("open", &p, err))?;
                    len += seg
                        .metadata()
                        .map_err(|err| BackupError::io("stat", &p, err))?
                        .len();
                    f = Box::new(f.chain(seg));
                }
                if len != e.size {
                    return Err(BackupError::Damaged {
                        id: id.to_string(),
                        problems: 1,
                        first: format!(
                            "'{}' has {len} bytes, the manifest says {}",
                            e.path, e.size
                        ),
                    });
                }
                let mut h = header(tar::EntryType::Regular, e.size, e.mode, e.mtime);
                let reader = ProgressReader {
                    inner: f,
                    progress: self.progress.as_ref(),
                    cancel: &self.cancel,
                };
                tar.append_data(&mut h, format!("{id}/data/{}", e.path), reader)
                    .map_err(io_err)?;
            }
            Ok(())
        })();
        self.progress.finish(Phase::Archive);
        files?;
        for s in &manifest.symlinks {
            let mut h = header(tar::EntryType::Symlink, 0, 0o777, 0);
            tar.append_link(&mut h, format!("{id}/data/{}", s.path), &s.target)
                .map_err(io_err)?;
        }
        let enc = tar.into_inner().map_err(io_err)?;
        let mut sink = enc.finish().map_err(io_err)?;
        sink.flush().map_err(io_err)?;
        let HashingWriter {
            inner,
            hasher,
            bytes,
        } = sink;
        let file = inner.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        Ok((to_hex(&hasher.finalize()), bytes))
    }
}
