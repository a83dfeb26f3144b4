use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use filetime::FileTime;
use proptest::prelude::*;
use wemixvisor_backup::test_utils::{Rng, TreeEntry};
use wemixvisor_backup::{Backups, CreateRequest};
use wemixvisor_core::Home;

use crate::{opts, state_without_logs};

const FILES: [&str; 8] = [
    "a",
    "d1/b",
    "d1/d2/c",
    "geth/nodekey",
    "x.ldb",
    "z.sst",
    "ancient/y.cdat",
    "ancient/y.cidx",
];

/// Freezer files: appended to in place, cut short by repairs.
fn append_only(file: usize) -> bool {
    FILES[file].ends_with(".cdat") || FILES[file].ends_with(".cidx")
}
const MODES: [u32; 4] = [0o600, 0o644, 0o400, 0o755];

#[derive(Debug, Clone)]
enum Op {
    Write {
        file: usize,
        len: usize,
        seed: u64,
    },
    Append {
        file: usize,
        len: usize,
        seed: u64,
    },
    Delete {
        file: usize,
    },
    /// In place (same inode) for freezer files, as geth appends.
    AppendInPlace {
        file: usize,
        len: usize,
        seed: u64,
    },
    /// A freezer file cut to at most `keep` bytes (geth's repair).
    Truncate {
        file: usize,
        keep: usize,
    },
    Chmod {
        file: usize,
        mode: usize,
    },
    Snapshot,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..FILES.len(), 0usize..5000, any::<u64>()).prop_map(|(file, len, seed)| Op::Write { file, len, seed }),
        2 => (0..FILES.len(), 1usize..3000, any::<u64>()).prop_map(|(file, len, seed)| Op::Append { file, len, seed }),
        1 => (0..FILES.len()).prop_map(|file| Op::Delete { file }),
        3 => (0..FILES.len(), 1usize..3000, any::<u64>()).prop_map(|(file, len, seed)| Op::AppendInPlace { file, len, seed }),
        1 => (0..FILES.len(), 0usize..4000).prop_map(|(file, keep)| Op::Truncate { file, keep }),
        1 => (0..FILES.len(), 0..MODES.len()).prop_map(|(file, mode)| Op::Chmod { file, mode }),
        2 => Just(Op::Snapshot),
    ]
}

fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0; len];
    Rng::new(seed).fill(&mut v);
    v
}

/// Replaces a file's content, keeping its mode, with a fresh unique mtime
/// (as a real writer would: every change moves the mtime forward).
fn put(path: &std::path::Path, data: &[u8], mode: u32, clock: &mut i64) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = fs::remove_file(path);
    fs::write(path, data).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    *clock += 1;
    filetime::set_file_mtime(path, FileTime::from_unix_time(*clock, 0)).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_of_changes_and_snapshots_restores_exactly(ops in prop::collection::vec(op(), 1..18)) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        fs::create_dir_all(home.data_dir()).unwrap();
        let b = Backups::new(home.clone(), opts()).unwrap();
        // Mtimes a day back, one second apart: never within the racy window.
        let mut clock = (SystemTime::now() - Duration::from_secs(86400))
            .duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
        let mut taken: Vec<(String, std::collections::BTreeMap<String, TreeEntry>)> = Vec::new();
        for op in &ops {
            match *op {
                Op::Write { file, len, seed } => {
                    let p = home.data_dir().join(FILES[file]);
                    let mode = fs::metadata(&p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o644);
                    put(&p, &bytes(len, seed), mode, &mut clock);
                }
                Op::Append { file, len, seed } => {
                    let p = home.data_dir().join(FILES[file]);
                    if let Ok(mut old) = fs::read(&p) {
                        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                        old.extend(bytes(len, seed));
                        put(&p, &old, mode, &mut clock);
                    }
                }
                Op::AppendInPlace { file, len, seed } => {
                    let p = home.data_dir().join(FILES[file]);
                    if append_only(file) && p.exists() {
                        let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
                        std::io::Write::write_all(&mut f, &bytes(len, seed)).unwrap();
                        drop(f);
                        clock += 1;
                        filetime::set_file_mtime(&p, FileTime::from_unix_time(clock, 0)).unwrap();
                    }
                }
                Op::Truncate { file, keep } => {
                    let p = home.data_dir().join(FILES[file]);
                    if append_only(file) && p.exists() {
                        let f = fs::OpenOptions::new().write(true).open(&p).unwrap();
                        let len = f.metadata().unwrap().len().min(keep as u64);
                        f.set_len(len).unwrap();
                        drop(f);
                        clock += 1;
                        filetime::set_file_mtime(&p, FileTime::from_unix_time(clock, 0)).unwrap();
                    }
                }
                Op::Delete { file } => {
                    let _ = fs::remove_file(home.data_dir().join(FILES[file]));
                }
                Op::Chmod { file, mode } => {
                    let p = home.data_dir().join(FILES[file]);
                    if p.exists() {
                        fs::set_permissions(&p, fs::Permissions::from_mode(MODES[mode])).unwrap();
                    }
                }
                Op::Snapshot => {
                    let r = b.create(&CreateRequest::manual(None)).unwrap();
                    taken.push((r.id, state_without_logs(&home.data_dir())));
                }
            }
        }
        for (id, expected) in taken.iter().rev() {
            prop_assert!(b.verify(id).unwrap().ok());
            b.restore(id).unwrap();
            prop_assert_eq!(&state_without_logs(&home.data_dir()), expected, "snapshot {}", id);
        }
    }
}
