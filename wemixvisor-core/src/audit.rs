//! `state/audit.log`: one JSON line per mutating action, by whoever did it
//! (a local user over the socket or offline, an API token, the supervisor
//! itself). Size-capped: when the file passes [`MAX_BYTES`] it is renamed
//! to `audit.log.1` (older ones shift up to [`KEEP`]) before the next line.
//!
//! Writers never fail the action they record: an entry that cannot be
//! written is logged as a warning. Secrets never reach an entry: callers
//! pass only names, ids, heights and flags, and [`AuditEntry::redacted`]
//! masks any parameter whose key looks like a secret.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Size at which the log is rotated.
pub const MAX_BYTES: u64 = 8 << 20;
/// Rotated files kept (`audit.log.1` .. `audit.log.KEEP`).
pub const KEEP: usize = 3;
/// Longest line read back; a longer one is skipped as damaged.
const MAX_LINE: u64 = 64 << 10;

/// Parameter keys whose values are never written.
const SECRET_KEYS: &[&str] = &["token", "password", "secret", "key_file", "authorization"];

/// Serialises writers inside one process (the loop, the API, the upgrade
/// pipeline); other processes only write offline, under the home lock.
static WRITE: Mutex<()> = Mutex::new(());

/// One audited action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339 time, seconds.
    pub time: String,
    /// Who: `uid:1000`, `token:ab12cd34`, `supervisor`, `governance`,
    /// `signal:SIGHUP`.
    pub actor: String,
    /// What, dotted: `node.restart`, `upgrade.add`, `backup.create`, ...
    pub action: String,
    /// On what (an upgrade name, a snapshot id, a config key), or empty.
    #[serde(default)]
    pub target: String,
    /// The request's parameters (never secrets).
    #[serde(default)]
    pub parameters: Map<String, Value>,
    /// `ok`, or `error: <message>`.
    pub result: String,
}

impl AuditEntry {
    /// An entry stamped now.
    pub fn now(actor: impl Into<String>, action: impl Into<String>) -> Self {
        AuditEntry {
            time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            actor: actor.into(),
            action: action.into(),
            target: String::new(),
            parameters: Map::new(),
            result: "ok".into(),
        }
    }

    /// Sets the target.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = target.into();
        self
    }

    /// Adds one parameter.
    pub fn param(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.parameters.insert(key.to_owned(), value.into());
        self
    }

    /// Sets the result from an outcome (`ok`, or `error: ...`).
    pub fn result<T, E: std::fmt::Display>(mut self, r: &Result<T, E>) -> Self {
        self.result = match r {
            Ok(_) => "ok".into(),
            Err(e) => {
                // the first line: a `help:` that follows is advice, not the outcome
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default();
                format!(
                    "error: {}",
                    crate::truncate_for_display(first, crate::DISPLAY_MAX)
                )
            }
        };
        self
    }

    /// The entry with every secret-looking parameter masked.
    pub fn redacted(mut self) -> Self {
        for (k, v) in self.parameters.iter_mut() {
            let lower = k.to_ascii_lowercase();
            if SECRET_KEYS.iter().any(|s| lower.contains(s)) {
                *v = Value::String("<redacted>".into());
            }
        }
        self
    }

    /// The entry's time, when it parses.
    pub fn at(&self) -> Option<SystemTime> {
        humantime::parse_rfc3339_weak(&self.time).ok()
    }
}

/// The name of the `n`th rotated file (`audit.log.n`).
pub fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

fn rotate_if_full(path: &Path, max: u64) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() >= max => {}
        _ => return Ok(()),
    }
    for n in (1..KEEP).rev() {
        match std::fs::rename(rotated(path, n), rotated(path, n + 1)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    std::fs::rename(path, rotated(path, 1))
}

/// Appends one entry (fsynced), rotating first when the file is full.
pub fn append(path: &Path, entry: &AuditEntry) -> std::io::Result<()> {
    append_capped(path, entry, MAX_BYTES)
}

fn append_capped(path: &Path, entry: &AuditEntry, max: u64) -> std::io::Result<()> {
    let mut line =
        serde_json::to_string(&entry.clone().redacted()).map_err(std::io::Error::other)?;
    line.push('\n');
    let _held = WRITE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(dir) = path.parent() {
        crate::atomic::create_dir_private(dir).map_err(std::io::Error::other)?;
    }
    rotate_if_full(path, max)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(line.as_bytes())?;
    f.sync_data()
}

/// [`append`], logging instead of failing: the audit log never fails the
/// action it records.
pub fn record(path: &Path, entry: &AuditEntry) {
    if let Err(e) = append(path, entry) {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the audit log");
    }
}

/// What [`read`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditRead {
    /// Entries, oldest first.
    pub entries: Vec<AuditEntry>,
    /// Lines that were not entries (damaged, or written by an older version).
    pub skipped: usize,
}

/// Reads the log and its rotated files, oldest first, keeping entries at
/// or after `since`. A missing log is empty.
pub fn read(path: &Path, since: Option<SystemTime>) -> std::io::Result<AuditRead> {
    let mut out = AuditRead::default();
    let files = (1..=KEEP)
        .rev()
        .map(|n| rotated(path, n))
        .chain([path.to_owned()]);
    for file in files {
        let f = match std::fs::File::open(&file) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let mut reader = BufReader::new(f);
        loop {
            let mut buf = Vec::new();
            let n = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            if !buf.ends_with(b"\n") && n as u64 == MAX_LINE {
                // an over-long line: skip the rest of it
                let mut rest = Vec::new();
                reader.read_until(b'\n', &mut rest)?;
                out.skipped += 1;
                continue;
            }
            let text = String::from_utf8_lossy(&buf);
            if text.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<AuditEntry>(text.trim()) {
                Ok(e) => {
                    if since.is_none_or(|s| e.at().is_some_and(|t| t >= s)) {
                        out.entries.push(e);
                    }
                }
                Err(_) => out.skipped += 1,
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    use super::*;

    #[test]
    fn appends_json_lines_and_masks_secrets() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state/audit.log");
        let e = AuditEntry::now("uid:1000", "config.set")
            .target("api.token_file")
            .param("value", "x")
            .param("token", "s3cret")
            .result(&Err::<(), _>("bad value"));
        append(&p, &e).unwrap();
        append(&p, &AuditEntry::now("supervisor", "node.restart")).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("s3cret"), "{text}");
        assert_eq!(text.lines().count(), 2);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let r = read(&p, None).unwrap();
        assert_eq!(r.entries.len(), 2);
        assert_eq!(r.entries[0].result, "error: bad value");
        assert_eq!(r.entries[0].parameters["token"], "<redacted>");
        assert_eq!(r.entries[1].action, "node.restart");
    }

    #[test]
    fn rotates_at_the_cap_and_reads_across_files() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.log");
        // a full file of old-format lines: skipped when read, rotated away
        let cap = 1000;
        std::fs::write(&p, "x upgrade done name=v1\n".repeat(50)).unwrap();
        append_capped(&p, &AuditEntry::now("supervisor", "a"), cap).unwrap();
        assert!(rotated(&p, 1).exists());
        assert_eq!(std::fs::read_to_string(&p).unwrap().lines().count(), 1);
        for n in 2..=KEEP + 1 {
            std::fs::write(&p, vec![b'\n'; cap as usize]).unwrap();
            append_capped(&p, &AuditEntry::now("supervisor", format!("a{n}")), cap).unwrap();
        }
        assert!(rotated(&p, KEEP).exists());
        assert!(!rotated(&p, KEEP + 1).exists());
        let r = read(&p, None).unwrap();
        assert_eq!(r.entries.last().unwrap().action, format!("a{}", KEEP + 1));
    }

    #[test]
    fn since_filters_by_time() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("audit.log");
        let mut old = AuditEntry::now("supervisor", "old");
        old.time = "2020-01-01T00:00:00Z".into();
        append(&p, &old).unwrap();
        append(&p, &AuditEntry::now("supervisor", "new")).unwrap();
        let since = SystemTime::now() - Duration::from_secs(3600);
        let r = read(&p, Some(since)).unwrap();
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.entries[0].action, "new");
        assert_eq!(read(&p, None).unwrap().entries.len(), 2);
    }
}
