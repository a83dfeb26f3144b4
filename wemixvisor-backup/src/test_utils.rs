//! Helpers for tests and benchmarks: a synthetic chain-data tree in the shape
//! geth leaves on disk, a way to change about a given share of it the way a
//! running node does, and a comparable picture of a directory tree.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use filetime::FileTime;
use sha2::{Digest, Sha256};

use crate::copy::to_hex;

/// A small deterministic pseudo-random generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is replaced by a fixed constant).
    pub fn new(seed: u64) -> Self {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next_u64() % (hi - lo)
        }
    }
    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// Writes `len` random bytes to a new or truncated file with `mode`.
pub fn write_random(path: &Path, len: u64, mode: u32, rng: &mut Rng) -> io::Result<()> {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p)?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    append_random_to(&mut f, len, rng)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Appends `len` random bytes to an existing file.
pub fn append_random(path: &Path, len: u64, rng: &mut Rng) -> io::Result<()> {
    let mut f = OpenOptions::new().append(true).open(path)?;
    append_random_to(&mut f, len, rng)
}

fn append_random_to(f: &mut fs::File, len: u64, rng: &mut Rng) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill(&mut buf[..n]);
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Writes `data` to `root/rel` (creating parents) with `mode`.
pub fn write_file(root: &Path, rel: &str, data: &[u8], mode: u32) -> io::Result<PathBuf> {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(&p, data)?;
    fs::set_permissions(&p, fs::Permissions::from_mode(mode))?;
    Ok(p)
}

/// Sets the mtime of every regular file under `root` to `ago` in the past
/// (as data written a while before the snapshot is).
pub fn backdate_tree(root: &Path, ago: Duration) -> io::Result<()> {
    let t = FileTime::from_system_time(SystemTime::now() - ago);
    for e in walkdir::WalkDir::new(root) {
        let e = e.map_err(io::Error::other)?;
        if e.file_type().is_file() {
            filetime::set_file_mtime(e.path(), t)?;
        }
    }
    Ok(())
}

/// One entry of a [`tree_state`] picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeEntry {
    /// A regular file.
    File {
        /// Permission bits.
        mode: u32,
        /// Size.
        size: u64,
        /// Sha256 of the content.
        sha256: String,
    },
    /// A directory.
    Dir {
        /// Permission bits.
        mode: u32,
    },
    /// A symbolic link.
    Symlink {
        /// Its target.
        target: PathBuf,
    },
}

/// Every entry under `root` (relative path → type, mode, content hash),
/// leaving out paths for which `skip` is true (and their contents).
pub fn tree_state(root: &Path, skip: impl Fn(&str) -> bool) -> BTreeMap<String, TreeEntry> {
    let mut out = BTreeMap::new();
    let mut it = walkdir::WalkDir::new(root).min_depth(1).into_iter();
    while let Some(Ok(e)) = it.next() {
        let rel = e
            .path()
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if skip(&rel) {
            if e.file_type().is_dir() {
                it.skip_current_dir();
            }
            continue;
        }
        let Ok(md) = fs::symlink_metadata(e.path()) else {
            continue;
        };
        let mode = md.permissions().mode() & 0o7777;
        let entry = if md.file_type().is_symlink() {
            TreeEntry::Symlink {
                target: fs::read_link(e.path()).unwrap_or_default(),
            }
        } else if md.is_dir() {
            TreeEntry::Dir { mode }
        } else if md.is_file() {
            let data = fs::read(e.path()).unwrap_or_default();
            TreeEntry::File {
                mode,
                size: md.len(),
                sha256: to_hex(&Sha256::digest(&data)),
            }
        } else {
            continue;
        };
        out.insert(rel, entry);
    }
    out
}

/// Size and shape of a synthetic chain-data tree.
#[derive(Debug, Clone, Default)]
pub struct TreeStats {
    /// Regular files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Freezer tables and their share of the ancient data.
const TABLES: [(&str, u64); 4] = [
    ("bodies", 45),
    ("receipts", 40),
    ("headers", 10),
    ("hashes", 5),
];

/// The data-file size freezer tables are split at: geth splits at 2 GB; here
/// 1/128 of the tree (16 MB for 2 GB, the proportion of a 256 GB chain),
/// at least 256 KiB.
pub fn freezer_split(total: u64) -> u64 {
    (total / 128).max(256 << 10)
}

/// Writes a geth-shaped `chain-data/` of about `total` bytes under `root`:
/// ~80 % immutable ~2 MB LevelDB tables (`geth/chaindata/*.ldb`), ~20 %
/// append-only freezer files (`geth/chaindata/ancient/*.cdat` + `.cidx`),
/// small mutable files (CURRENT, LOCK, LOG, MANIFEST-*), the node key and a
/// keystore file (0600), and logs. Every file is dated an hour back.
pub fn geth_like_tree(root: &Path, total: u64, seed: u64) -> io::Result<TreeStats> {
    let mut rng = Rng::new(seed);
    let mut st = TreeStats::default();
    let mut put = |rel: &str, len: u64, mode: u32, rng: &mut Rng| -> io::Result<()> {
        write_random(&root.join(rel), len, mode, rng)?;
        st.files += 1;
        st.bytes += len;
        Ok(())
    };
    let chaindata = "geth/chaindata";
    let sst = (2u64 << 20).min((total / 40).max(16 << 10));
    let ldb_budget = total * 8 / 10;
    let mut n = 1u64;
    let mut used = 0;
    while used < ldb_budget {
        let len = rng
            .range(sst * 9 / 10, sst * 11 / 10)
            .min(ldb_budget - used)
            .max(1);
        put(&format!("{chaindata}/{n:06}.ldb"), len, 0o644, &mut rng)?;
        used += len;
        n += 1;
    }
    let ancient = total - used;
    let split = freezer_split(total);
    for (table, share) in TABLES {
        let mut left = ancient * share / 100;
        let mut i = 0;
        while left > 0 {
            // The head file of each table is partly filled.
            let len = if left > split { split } else { left };
            put(
                &format!("{chaindata}/ancient/{table}.{i:04}.cdat"),
                len,
                0o644,
                &mut rng,
            )?;
            left -= len;
            i += 1;
        }
        put(
            &format!("{chaindata}/ancient/{table}.cidx"),
            6 * 1024,
            0o644,
            &mut rng,
        )?;
        put(
            &format!("{chaindata}/ancient/{table}.meta"),
            32,
            0o644,
            &mut rng,
        )?;
    }
    for (rel, len, mode) in [
        ("geth/chaindata/CURRENT", 16, 0o644),
        ("geth/chaindata/LOCK", 0, 0o644),
        ("geth/chaindata/LOG", 24 << 10, 0o644),
        ("geth/chaindata/MANIFEST-000042", 64 << 10, 0o644),
        ("geth/chaindata/ancient/FLOCK", 0, 0o644),
        ("geth/LOCK", 0, 0o600),
        ("geth/nodekey", 64, 0o600),
        ("geth/transactions.rlp", 8 << 10, 0o644),
        (
            "keystore/UTC--2026-01-01T00-00-00.000000000Z--0123456789abcdef",
            491,
            0o600,
        ),
        ("logs/geth.log", 256 << 10, 0o644),
    ] {
        put(rel, len, mode, &mut rng)?;
    }
    fs::set_permissions(root.join("keystore"), fs::Permissions::from_mode(0o700))?;
    backdate_tree(root, Duration::from_secs(3600))?;
    Ok(st)
}

/// What [`mutate_geth_like`] changed.
#[derive(Debug, Clone, Default)]
pub struct Mutation {
    /// Bytes appended or written anew.
    pub changed_bytes: u64,
    /// Files written anew (compaction output).
    pub new_files: u64,
    /// Files deleted (compaction input).
    pub deleted_files: u64,
    /// Files appended to.
    pub appended_files: u64,
}

/// Changes about `fraction` of a tree made by [`geth_like_tree`] the way a
/// running node does: a compaction (a few tables deleted, new ones written,
/// ~60 % of the change), freezer appends to each table's head file (~30 %),
/// and small files rewritten (CURRENT, MANIFEST, LOG, logs).
pub fn mutate_geth_like(root: &Path, fraction: f64, seed: u64) -> io::Result<Mutation> {
    let mut rng = Rng::new(seed);
    let mut m = Mutation::default();
    let chaindata = root.join("geth/chaindata");
    let mut ldb: Vec<PathBuf> = Vec::new();
    let mut total = 0u64;
    for e in walkdir::WalkDir::new(root) {
        let e = e.map_err(io::Error::other)?;
        if e.file_type().is_file() {
            total += e.metadata().map_err(io::Error::other)?.len();
            if e.path().extension().is_some_and(|x| x == "ldb") {
                ldb.push(e.path().to_path_buf());
            }
        }
    }
    ldb.sort();
    let budget = (total as f64 * fraction) as u64;
    // Compaction: merge a few tables into new ones.
    let new_bytes = budget * 6 / 10;
    let del = ((ldb.len() as u64) / 200).max(1) as usize;
    for p in ldb.iter().take(del) {
        fs::remove_file(p)?;
        m.deleted_files += 1;
    }
    let next = ldb
        .last()
        .and_then(|p| p.file_stem())
        .and_then(|s| s.to_str())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0)
        + 1;
    let sst = (2u64 << 20).min((total / 40).max(16 << 10));
    let mut written = 0;
    let mut i = 0;
    while written < new_bytes {
        let len = sst.min(new_bytes - written);
        write_random(
            &chaindata.join(format!("{:06}.ldb", next + i)),
            len,
            0o644,
            &mut rng,
        )?;
        written += len;
        i += 1;
        m.new_files += 1;
    }
    m.changed_bytes += written;
    // Freezer: append to each table's head data file and its index.
    let append = budget * 3 / 10;
    for (table, share) in TABLES {
        let mut heads: Vec<PathBuf> = fs::read_dir(chaindata.join("ancient"))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{table}.")) && n.ends_with(".cdat"))
            })
            .collect();
        heads.sort();
        if let Some(head) = heads.last() {
            let len = (append * share / 100).max(1);
            append_random(head, len, &mut rng)?;
            append_random(
                &chaindata.join(format!("ancient/{table}.cidx")),
                6,
                &mut rng,
            )?;
            m.changed_bytes += len + 6;
            m.appended_files += 2;
        }
    }
    // Small mutable files.
    for (rel, len) in [("CURRENT", 16u64), ("LOG", 2048), ("MANIFEST-000042", 4096)] {
        let p = chaindata.join(rel);
        if rel == "CURRENT" {
            write_random(&p, len, 0o644, &mut rng)?;
        } else {
            append_random(&p, len, &mut rng)?;
        }
        m.changed_bytes += len;
    }
    let log = root.join("logs/geth.log");
    if log.exists() {
        append_random(&log, 4096, &mut rng)?;
    }
    Ok(m)
}
