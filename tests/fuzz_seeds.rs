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
