//! Every seed of `fuzz/corpus/<target>/` through its fuzz target's entry
//! function, on the stable toolchain: the inputs that once crashed a parser
//! stay in the corpus, so a regression fails here without cargo-fuzz.

use std::path::{Path, PathBuf};

#[allow(clippy::expect_used, missing_docs, dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod entries;

type Entry = fn(&[u8]);

/// Each target of `fuzz/Cargo.toml` with its entry function.
const TARGETS: [(&str, Entry); 8] = [
    ("upgrade_info", entries::upgrade_info),
    ("batch_plan", entries::batch_plan),
    ("config_toml", entries::config_toml),
    ("node_options", entries::node_options),
    ("manifest", entries::manifest),
    ("archive", entries::archive),
    ("rpc", entries::rpc),
    ("api_bodies", entries::api_bodies),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.map(|e| e.path()).unwrap_or_default())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_target_has_an_entry_and_a_seed_corpus() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap_or_default();
    let declared: Vec<&str> = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|n| *n != "wemixvisor-fuzz")
        .collect();
    let mut known: Vec<&str> = TARGETS.iter().map(|(t, _)| *t).collect();
    let mut declared_sorted = declared.clone();
    known.sort_unstable();
    declared_sorted.sort_unstable();
    assert_eq!(
        known, declared_sorted,
        "fuzz/Cargo.toml and this test differ"
    );
    for (t, _) in TARGETS {
        assert!(!seeds(t).is_empty(), "fuzz/corpus/{t} has no seed");
    }
}

#[test]
fn every_seed_runs_through_its_target_without_a_panic() {
    let mut ran = 0;
    for (target, entry) in TARGETS {
        for seed in seeds(target) {
            let data = std::fs::read(&seed)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", seed.display()));
            let outcome = std::panic::catch_unwind(|| entry(&data));
            assert!(
                outcome.is_ok(),
                "fuzz target {target} panics on {}",
                seed.display()
            );
            ran += 1;
        }
    }
    assert!(ran >= TARGETS.len(), "only {ran} seeds ran");
}

/// A small deterministic generator (xorshift64*): the pass below must be
/// reproducible from its printed seed, and needs no nightly toolchain.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One mutation of `data` the way libFuzzer's simplest mutators do: flip,
/// set to an edge value, insert, delete, duplicate a run, truncate, or
/// splice in part of another seed.
fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8]) {
    const EDGES: [u8; 10] = [0, 0xff, 0x7f, 0x80, b'"', b'{', b'}', b'\\', b'\n', b'0'];
    match rng.below(7) {
        0 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] ^= 1 << rng.below(8);
        }
        1 if !data.is_empty() => {
            let i = rng.below(data.len());
            data[i] = EDGES[rng.below(EDGES.len())];
        }
        2 => {
            let i = rng.below(data.len() + 1);
            data.insert(i, EDGES[rng.below(EDGES.len())]);
        }
        3 if !data.is_empty() => {
            let i = rng.below(data.len());
            let n = 1 + rng.below((data.len() - i).min(16));
            data.drain(i..i + n);
        }
        4 if !data.is_empty() && data.len() < 1 << 16 => {
            let i = rng.below(data.len());
            let n = 1 + rng.below((data.len() - i).min(64));
            let run = data[i..i + n].to_vec();
            let at = rng.below(data.len() + 1);
            data.splice(at..at, run);
        }
        5 => data.truncate(rng.below(data.len() + 1)),
        _ if !other.is_empty() => {
            let i = rng.below(other.len());
            let n = 1 + rng.below((other.len() - i).min(256));
            let at = rng.below(data.len() + 1);
            data.splice(at..at, other[i..i + n].iter().copied());
        }
        _ => data.push(EDGES[rng.below(EDGES.len())]),
    }
}

/// A short mutation pass over every target on the stable toolchain (CI's
/// fuzz pass; `cargo xtask fuzz` runs the coverage-guided one on nightly).
/// `WEMIXVISOR_FUZZ_ROUNDS` sets the inputs per target (default 2000) and
/// `WEMIXVISOR_FUZZ_SEED` the generator's seed, printed on a failure.
#[test]
fn a_mutation_pass_over_every_target_finds_no_panic() {
    let rounds: usize = std::env::var("WEMIXVISOR_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let seed: u64 = std::env::var("WEMIXVISOR_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x005e_ed0f_f022);
    let mut rng = Rng(seed | 1);
    let mut ran = 0usize;
    for (target, entry) in TARGETS {
        let corpus: Vec<Vec<u8>> = seeds(target)
            .iter()
            .map(|p| std::fs::read(p).unwrap_or_default())
            .collect();
        for round in 0..rounds {
            let mut data = corpus[rng.below(corpus.len())].clone();
            let other = &corpus[rng.below(corpus.len())];
            for _ in 0..1 + rng.below(8) {
                mutate(&mut rng, &mut data, other);
            }
            let input = data.clone();
            let outcome = std::panic::catch_unwind(|| entry(&input));
            assert!(
                outcome.is_ok(),
                "fuzz target {target} panics on round {round} (WEMIXVISOR_FUZZ_SEED={seed}); input: {:?}",
                String::from_utf8_lossy(&data)
            );
            ran += 1;
        }
    }
    assert_eq!(ran, rounds * TARGETS.len());
}
