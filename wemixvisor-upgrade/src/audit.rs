//! Upgrade pipeline steps in `state/audit.log` (see
//! [`wemixvisor_core::audit`]): one JSON line each, by the supervisor.

use std::path::Path;

use wemixvisor_core::audit::{self, AuditEntry};

/// Records `upgrade.<event>` with `name` as the target and the other fields
/// as parameters. Failures are logged, never fatal: the journal, not the
/// audit log, is the record the pipeline relies on.
pub fn record(path: &Path, event: &str, fields: &[(&str, &str)]) {
    let mut entry = AuditEntry::now("supervisor", format!("upgrade.{event}"));
    for (k, v) in fields {
        if *k == "name" {
            entry = entry.target(*v);
        } else {
            entry = entry.param(k, *v);
        }
    }
    if matches!(event, "failed" | "interrupted" | "aborted") {
        let why = fields
            .iter()
            .find(|(k, _)| matches!(*k, "reason" | "error" | "step"))
            .map(|(_, v)| *v)
            .unwrap_or(event);
        entry.result = format!("error: {why}");
    }
    audit::record(path, &entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_json_lines_with_the_name_as_target() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state/audit.log");
        record(&p, "queued", &[("name", "v2"), ("reason", "a \"b\"\nc")]);
        record(&p, "failed", &[("name", "v2"), ("reason", "boom")]);
        let r = audit::read(&p, None).unwrap();
        assert_eq!(r.entries.len(), 2);
        assert_eq!(r.entries[0].action, "upgrade.queued");
        assert_eq!(r.entries[0].target, "v2");
        assert_eq!(r.entries[0].actor, "supervisor");
        assert_eq!(r.entries[0].parameters["reason"], "a \"b\"\nc");
        assert_eq!(r.entries[1].result, "error: boom");
    }
}
