//! What goes into a snapshot (include/exclude globs) and how long snapshots
//! are kept.

use std::time::Duration;

use glob::{MatchOptions, Pattern};

use crate::BackupError;

/// The default `exclude`: the node's logs are not chain data.
pub const DEFAULT_EXCLUDE: &[&str] = &["logs/**"];
/// The default number of automatic snapshots retention keeps.
pub const DEFAULT_KEEP_AUTO: u32 = 5;

/// What to snapshot and how long to keep snapshots (the `[backup]` config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupOptions {
    /// Globs (relative to `chain-data/`) left out of snapshots; default `["logs/**"]`.
    pub exclude: Vec<String>,
    /// When not empty, only paths matching one of these globs are taken.
    pub include: Vec<String>,
    /// How many automatic snapshots retention keeps, newest first.
    pub keep_auto: u32,
    /// Snapshots younger than this are kept whatever `keep_auto` says.
    pub max_age: Option<Duration>,
    /// Make copied data durable (fsync) before the manifest is written.
    pub fsync: bool,
    /// Copy and hash threads; 0 picks one per core, at least 2.
    pub threads: usize,
    /// Hard-link immutable tables (`*.ldb`, `*.sst`) from the live data
    /// instead of copying them, when the node is stopped and the filesystem
    /// cannot clone; default true.
    pub share_live_tables: bool,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            exclude: DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect(),
            include: Vec::new(),
            keep_auto: DEFAULT_KEEP_AUTO,
            max_age: None,
            fsync: true,
            threads: 0,
            share_live_tables: true,
        }
    }
}

impl BackupOptions {
    /// The number of worker threads to use.
    pub(crate) fn worker_threads(&self) -> usize {
        if self.threads > 0 {
            return self.threads;
        }
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(2)
    }
}

/// Parses a retention age such as `30d`, `12h` or `2weeks` (humantime syntax).
pub fn parse_max_age(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("'{s}' is not a duration ({e}); use e.g. 7d, 12h, 2weeks"))
}

const MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

#[derive(Debug, Clone)]
struct Glob {
    pattern: Pattern,
    /// For `dir/**`: `dir` itself, so the whole directory is matched (and the
    /// walk need not descend into it).
    dir_form: Option<Pattern>,
}

impl Glob {
    fn parse(src: &str) -> Result<Self, BackupError> {
        let bad = |reason: String| BackupError::BadPattern {
            pattern: src.to_string(),
            reason,
        };
        let trimmed = src.trim().trim_start_matches("./").trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(bad("the pattern is empty".into()));
        }
        if trimmed.starts_with('/') {
            return Err(bad(
                "patterns are relative to chain-data and cannot start with '/'".into(),
            ));
        }
        let pattern = Pattern::new(trimmed).map_err(|e| bad(e.to_string()))?;
        let dir_form = match trimmed.strip_suffix("/**") {
            Some(dir) if !dir.is_empty() => {
                Some(Pattern::new(dir).map_err(|e| bad(e.to_string()))?)
            }
            _ => None,
        };
        Ok(Glob { pattern, dir_form })
    }

    fn matches(&self, rel: &str) -> bool {
        self.pattern.matches_with(rel, MATCH)
            || self
                .dir_form
                .as_ref()
                .is_some_and(|d| d.matches_with(rel, MATCH))
    }
}

/// Compiled include/exclude rules.
///
/// A path (relative to `chain-data/`, `/`-separated) is *excluded* when an
/// exclude glob matches it or one of its parent directories, *included* when
/// the include list is empty or an include glob matches it or a parent, and
/// *taken* into a snapshot when included and not excluded. `*` stays within
/// one path component, `**` crosses them, and `dir/**` also matches `dir`.
#[derive(Debug, Clone)]
pub struct Filter {
    include: Vec<Glob>,
    exclude: Vec<Glob>,
    include_src: Vec<String>,
    exclude_src: Vec<String>,
}

impl Filter {
    /// Compiles the rules, failing on the first pattern that does not parse.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self, BackupError> {
        Ok(Filter {
            include: include
                .iter()
                .map(|p| Glob::parse(p))
                .collect::<Result<_, _>>()?,
            exclude: exclude
                .iter()
                .map(|p| Glob::parse(p))
                .collect::<Result<_, _>>()?,
            include_src: include.to_vec(),
            exclude_src: exclude.to_vec(),
        })
    }

    /// The include globs as given.
    pub fn include(&self) -> &[String] {
        &self.include_src
    }

    /// The exclude globs as given.
    pub fn exclude(&self) -> &[String] {
        &self.exclude_src
    }

    fn any_self_or_parent(globs: &[Glob], rel: &str) -> bool {
        let mut cur = rel;
        loop {
            if globs.iter().any(|g| g.matches(cur)) {
                return true;
            }
            match cur.rfind('/') {
                Some(i) => cur = &cur[..i],
                None => return false,
            }
        }
    }

    /// True when `rel` or one of its parents is excluded.
    pub fn is_excluded(&self, rel: &str) -> bool {
        Self::any_self_or_parent(&self.exclude, rel)
    }

    /// True when `rel` passes the include list.
    pub fn is_included(&self, rel: &str) -> bool {
        self.include.is_empty() || Self::any_self_or_parent(&self.include, rel)
    }

    /// True when `rel` goes into a snapshot.
    pub fn takes(&self, rel: &str) -> bool {
        self.is_included(rel) && !self.is_excluded(rel)
    }

    /// True when everything is included (no include list).
    pub fn includes_everything(&self) -> bool {
        self.include.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(include: &[&str], exclude: &[&str]) -> Filter {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Filter::new(&v(include), &v(exclude)).unwrap()
    }

    #[test]
    fn default_excludes_logs_tree_only() {
        let d = f(&[], &["logs/**"]);
        assert!(d.is_excluded("logs"));
        assert!(d.is_excluded("logs/geth.log"));
        assert!(d.is_excluded("logs/archived/geth-1.log.gz"));
        assert!(!d.takes("logs"));
        assert!(d.takes("logsx"));
        assert!(d.takes("geth/chaindata/000001.ldb"));
        assert!(d.takes("geth/nodekey"));
    }

    #[test]
    fn star_stays_in_a_component_doublestar_crosses() {
        let d = f(&[], &["*.log", "**/LOG.old"]);
        assert!(d.is_excluded("a.log"));
        assert!(!d.is_excluded("dir/a.log"));
        assert!(d.is_excluded("geth/chaindata/LOG.old"));
        assert!(d.is_excluded("LOG.old"));
    }

    #[test]
    fn directory_pattern_covers_its_contents() {
        let d = f(&[], &["geth/triecache"]);
        assert!(d.is_excluded("geth/triecache/data.0.bin"));
        assert!(!d.is_excluded("geth/chaindata/CURRENT"));
    }

    #[test]
    fn include_list_limits_then_exclude_removes() {
        let d = f(&["geth/chaindata/**", "geth/nodekey"], &["**/LOG"]);
        assert!(d.takes("geth/chaindata/000001.ldb"));
        assert!(d.takes("geth/chaindata/ancient/bodies.0000.cdat"));
        assert!(d.takes("geth/nodekey"));
        assert!(!d.takes("geth/chaindata/LOG"));
        assert!(!d.takes("keystore/UTC--x"));
        assert!(!d.includes_everything());
    }

    #[test]
    fn bad_patterns_are_refused_with_the_pattern_named() {
        for p in ["", "/abs/**", "a[", "  "] {
            let e = Filter::new(&[], &[p.to_string()]).unwrap_err();
            assert!(matches!(e, BackupError::BadPattern { .. }), "{p}: {e}");
            assert!(e.is_bad_input());
        }
    }

    #[test]
    fn max_age_parses_humantime() {
        assert_eq!(parse_max_age("7d").unwrap(), Duration::from_secs(7 * 86400));
        assert_eq!(
            parse_max_age(" 12h ").unwrap(),
            Duration::from_secs(12 * 3600)
        );
        assert!(parse_max_age("soon").unwrap_err().contains("'soon'"));
    }
}
