//! Snapshot kinds, names and ids (`20261126T110500Z-<name>`), and the time
//! formats used in manifests.

use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;
use wemixvisor_core::Home;

use crate::BackupError;

/// Longest snapshot name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// Who asked for a snapshot, which is also the directory it lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    /// Taken by the upgrade pipeline (`backups/auto/`), subject to retention.
    Auto,
    /// Taken by an operator (`backups/manual/`), pruned only when asked.
    Manual,
}

impl SnapshotKind {
    /// Both kinds.
    pub const ALL: [SnapshotKind; 2] = [SnapshotKind::Auto, SnapshotKind::Manual];

    /// `auto` or `manual`.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Auto => "auto",
            SnapshotKind::Manual => "manual",
        }
    }

    /// The directory holding snapshots of this kind.
    pub fn dir(self, home: &Home) -> PathBuf {
        match self {
            SnapshotKind::Auto => home.auto_backups_dir(),
            SnapshotKind::Manual => home.manual_backups_dir(),
        }
    }
}

impl fmt::Display for SnapshotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks that a snapshot name can be the tail of a directory name.
pub fn validate_name(name: &str) -> Result<(), BackupError> {
    let bad = |reason: String| BackupError::InvalidName {
        name: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("the name is empty".into()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(bad(format!(
            "it has {} characters, expected at most {MAX_NAME_LEN}",
            name.len()
        )));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(bad("it must start with a letter or a digit".into()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')))
    {
        return Err(bad(format!("it contains {c:?}")));
    }
    Ok(())
}

const STAMP_LEN: usize = 16;

/// Formats the id timestamp part, `YYYYMMDDTHHMMSSZ` (UTC).
pub(crate) fn id_stamp(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    t.format(&fmt)
        .unwrap_or_else(|_| format!("{:0>16}", t.unix_timestamp()))
}

/// Builds an id from a time and an optional (validated) name.
pub(crate) fn make_id(t: OffsetDateTime, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{}-{n}", id_stamp(t)),
        None => id_stamp(t),
    }
}

/// True when `s` has the shape of a snapshot id (so stray directories such as
/// `.deleting-*` are never taken for snapshots).
pub fn is_snapshot_id(s: &str) -> bool {
    let Some(stamp) = s.get(..STAMP_LEN) else {
        return false;
    };
    let shape_ok = stamp.bytes().enumerate().all(|(i, b)| match i {
        8 => b == b'T',
        15 => b == b'Z',
        _ => b.is_ascii_digit(),
    });
    if !shape_ok {
        return false;
    }
    match &s[STAMP_LEN..] {
        "" => true,
        rest => rest
            .strip_prefix('-')
            .is_some_and(|name| validate_name(name).is_ok()),
    }
}

/// The time encoded in an id.
pub(crate) fn id_time(id: &str) -> Option<OffsetDateTime> {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = id.get(..STAMP_LEN)?;
    time::PrimitiveDateTime::parse(stamp, &fmt)
        .ok()
        .map(|p| p.assume_utc())
}

/// RFC 3339 text of a time (UTC, with fractional seconds).
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses RFC 3339 text written by [`rfc3339`].
pub(crate) fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Now, as a UTC date-time.
pub(crate) fn now_utc() -> OffsetDateTime {
    OffsetDateTime::from(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ids_sort_by_time_and_round_trip() {
        let t = datetime!(2026-11-26 11:05:00 UTC);
        let a = make_id(t, Some("pre-upgrade-v1.2.0"));
        assert_eq!(a, "20261126T110500Z-pre-upgrade-v1.2.0");
        assert!(is_snapshot_id(&a));
        assert_eq!(id_time(&a), Some(t));
        let b = make_id(datetime!(2026-11-26 11:05:01 UTC), None);
        assert_eq!(b, "20261126T110501Z");
        assert!(is_snapshot_id(&b));
        assert!(a < b);
        for stray in [
            ".deleting-20261126T110500Z",
            "20261126T110500",
            "x",
            "20261126T110500Z-",
            "20261126T110500Z_x",
        ] {
            assert!(!is_snapshot_id(stray), "{stray}");
        }
    }

    #[test]
    fn names_are_validated() {
        for ok in ["a", "pre-upgrade-v1.2.0", "Manual_1+x"] {
            validate_name(ok).unwrap();
        }
        for bad in ["", "-x", ".hidden", "a/b", "a b", "../x", &"x".repeat(65)] {
            let e = validate_name(bad).unwrap_err();
            assert!(e.is_bad_input(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_round_trip() {
        let t = datetime!(2026-11-26 11:05:00.123456789 UTC);
        assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
    }
}
