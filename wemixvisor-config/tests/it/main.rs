//! Integration tests of wemixvisor-config, one binary, one module per area.

// A test crate: a failed unwrap in a helper is a failed test, as in a #[test].
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod argv;
mod docs;
mod edit;
mod env;
mod golden;
mod migrate;
mod node_options;
mod show;
mod validation;

use std::collections::BTreeMap;
use std::path::PathBuf;

use wemixvisor_core::Home;

/// A temp home with the given config and node-options files (none when `None`).
pub fn home_with(config: Option<&str>, node_options: Option<&str>) -> (tempfile::TempDir, Home) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path());
    std::fs::create_dir_all(home.config_dir()).unwrap();
    if let Some(c) = config {
        std::fs::write(home.config_file(), c).unwrap();
    }
    if let Some(n) = node_options {
        std::fs::write(home.node_options_file(), n).unwrap();
    }
    (dir, home)
}

/// An environment lookup over fixed pairs.
pub fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

/// The empty environment.
pub fn no_env(_: &str) -> Option<String> {
    None
}

/// `tests/golden/<name>`.
pub fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares `actual` with the golden file byte for byte; `UPDATE_GOLDEN=1`
/// rewrites the file instead.
pub fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden file {}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map_or(expected.lines().count().min(actual.lines().count()), |i| i);
        panic!(
            "{} differs from the rendered output at line {}:\n  golden: {:?}\n  actual: {:?}\n(run with UPDATE_GOLDEN=1 to accept the new output)",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}
