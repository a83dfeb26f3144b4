//! `wemixvisor audit [--since DURATION|TIME] [--json]`: reads
//! `state/audit.log` (and its rotated files); and the offline commands'
//! own entries, with the local user as the actor.

use std::process::ExitCode;
use std::time::SystemTime;

use serde_json::Value;
use wemixvisor_core::audit::{self, AuditEntry};
use wemixvisor_core::Home;

/// Parses `--since`: a duration back from now (`2h`, `7d`) or a time
/// (`2026-01-02T03:04:05Z`, `2026-01-02 03:04:05`).
pub fn parse_since(s: &str) -> Result<SystemTime, String> {
    if let Ok(d) = humantime::parse_duration(s) {
        return SystemTime::now()
            .checked_sub(d)
            .ok_or_else(|| format!("'{s}' reaches before the epoch"));
    }
    humantime::parse_rfc3339_weak(s).map_err(|_| {
        format!("'{s}' is neither a duration (e.g. 2h, 7d) nor a time (e.g. 2026-01-02T03:04:05Z)")
    })
}

/// Records an action done offline by the local user (no supervisor runs,
/// the home lock is held).
pub fn offline<T, E: std::fmt::Display>(
    home: &Home,
    action: &str,
    target: &str,
    params: Value,
    result: &Result<T, E>,
) {
    let uid = nix::unistd::getuid().as_raw();
    let mut e = AuditEntry::now(format!("uid:{uid}"), action)
        .target(target)
        .result(result);
    if let Value::Object(m) = params {
        e.parameters = m;
    }
    audit::record(&home.audit_log_file(), &e);
}

/// `wemixvisor audit`.
pub fn run(home: &Home, since: Option<SystemTime>, json: bool) -> anyhow::Result<ExitCode> {
    let path = home.audit_log_file();
    let r = audit::read(&path, since)
        .map_err(|e| anyhow::anyhow!("cannot read the audit log '{}': {e}", path.display()))?;
    if r.skipped > 0 {
        eprintln!(
            "note: {} line(s) of '{}' are not audit entries (damaged, or from an older version) and were skipped",
            r.skipped,
            path.display()
        );
    }
    if json {
        for e in &r.entries {
            println!("{}", serde_json::to_string(e)?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if r.entries.is_empty() {
        println!(
            "no audit entries{}",
            if since.is_some() { " in that time" } else { "" }
        );
        return Ok(ExitCode::SUCCESS);
    }
    for e in &r.entries {
        let params: Vec<String> = e
            .parameters
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect();
        println!(
            "{}  {:<16} {:<18} {}{}  {}",
            e.time,
            e.actor,
            e.action,
            e.target,
            if params.is_empty() {
                String::new()
            } else {
                format!(" ({})", params.join(", "))
            },
            e.result
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_duration_or_a_time() {
        let an_hour_ago = parse_since("1h").unwrap();
        let d = SystemTime::now().duration_since(an_hour_ago).unwrap();
        assert!((3599..=3601).contains(&d.as_secs()), "{d:?}");
        assert!(parse_since("2026-01-02T03:04:05Z").is_ok());
        assert!(parse_since("yesterday-ish").is_err());
    }
}
