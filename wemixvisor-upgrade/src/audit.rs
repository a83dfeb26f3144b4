//! `state/audit.log`: one line per upgrade event, appended and fsynced.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Appends `<time> upgrade <event> <fields>` to the audit log. Failures are
/// logged, never fatal: the journal, not the audit log, is the record the
/// pipeline relies on.
pub fn record(path: &Path, event: &str, fields: &[(&str, &str)]) {
    let mut line = format!(
        "{} upgrade {event}",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now())
    );
    for (k, v) in fields {
        if v.chars().any(|c| c.is_whitespace() || c == '"' || c == '=') || v.is_empty() {
            let escaped = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            line.push_str(&format!(" {k}=\"{escaped}\""));
        } else {
            line.push_str(&format!(" {k}={v}"));
        }
    }
    line.push('\n');
    let result = (|| {
        if let Some(dir) = path.parent() {
            wemixvisor_core::atomic::create_dir_private(dir).map_err(std::io::Error::other)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(line.as_bytes())?;
        f.sync_data()
    })();
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the audit log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_quoted_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state/audit.log");
        record(&p, "queued", &[("name", "v2"), ("reason", "a \"b\"\nc")]);
        record(&p, "done", &[("name", "v2")]);
        let s = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<_> = s.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].ends_with(r#"upgrade queued name=v2 reason="a \"b\"\nc""#),
            "{}",
            lines[0]
        );
        assert!(lines[1].ends_with("upgrade done name=v2"));
    }
}
