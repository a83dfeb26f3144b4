//! The data-changing fields of a plan given as `upgrade add` flags: each
//! flag maps onto one `info` field of [`crate::migration::MigrationPlan`],
//! and the object they make is checked by the same parser as a plan file,
//! so a flag and a JSON field can never mean different things.

use serde_json::{json, Map, Value};

use crate::migration::MigrationPlan;

/// The flags of `upgrade add` that describe a migration, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationFlags {
    /// `--migrate CMD` (repeatable): `info.migrate[i].command`, run with `/bin/sh -c`.
    pub migrate: Vec<String>,
    /// `--migrate-timeout DUR`: `info.migrate[*].timeout`.
    pub migrate_timeout: Option<String>,
    /// `--idempotent`: `info.migrate[*].idempotent`.
    pub idempotent: bool,
    /// `--on-failure restore|fail`: `info.migrate[*].on_failure`.
    pub on_failure: Option<String>,
    /// `--verify CMD` (repeatable): `info.verify[i].command`.
    pub verify: Vec<String>,
    /// `--verify-timeout DUR`: `info.verify[*].timeout`.
    pub verify_timeout: Option<String>,
    /// `--daemon-name NAME`: `info.daemon_name`.
    pub daemon_name: Option<String>,
    /// `--node-option-add ARGS` (repeatable, split on white space): `info.node_options.add`.
    pub node_option_add: Vec<String>,
    /// `--node-option-remove FLAG` (repeatable): `info.node_options.remove`.
    pub node_option_remove: Vec<String>,
    /// `--node-option-rename OLD=NEW` (repeatable): `info.node_options.rename`.
    pub node_option_rename: Vec<String>,
    /// `--new-datadir PATH`: `info.node_options.datadir`.
    pub new_datadir: Option<String>,
    /// `--space BYTES|datadir`: `info.space`.
    pub space: Option<String>,
    /// `--builtin NAME`: `info.builtin`.
    pub builtin: Option<String>,
}

/// Which flag sets an `info` field, for error messages.
fn flag_of(field: &str) -> Option<&'static str> {
    let table: [(&str, &str, &'static str); 13] = [
        ("info.migrate", ".timeout", "--migrate-timeout"),
        ("info.migrate", ".idempotent", "--idempotent"),
        ("info.migrate", ".on_failure", "--on-failure"),
        ("info.migrate", "", "--migrate"),
        ("info.verify", ".timeout", "--verify-timeout"),
        ("info.verify", "", "--verify"),
        ("info.node_options.add", "", "--node-option-add"),
        ("info.node_options.remove", "", "--node-option-remove"),
        ("info.node_options.rename", "", "--node-option-rename"),
        ("info.node_options.datadir", "", "--new-datadir"),
        ("info.daemon_name", "", "--daemon-name"),
        ("info.space", "", "--space"),
        ("info.builtin", "", "--builtin"),
    ];
    table
        .iter()
        .find(|(prefix, part, _)| field.starts_with(prefix) && field.contains(part))
        .map(|(_, _, flag)| *flag)
}

impl MigrationFlags {
    /// True when no flag was given.
    pub fn is_empty(&self) -> bool {
        *self == MigrationFlags::default()
    }

    /// The names of the flags given, for "needs --height" style messages.
    pub fn given(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut note = |set: bool, f: &'static str| {
            if set {
                out.push(f);
            }
        };
        note(!self.migrate.is_empty(), "--migrate");
        note(self.migrate_timeout.is_some(), "--migrate-timeout");
        note(self.idempotent, "--idempotent");
        note(self.on_failure.is_some(), "--on-failure");
        note(!self.verify.is_empty(), "--verify");
        note(self.verify_timeout.is_some(), "--verify-timeout");
        note(self.daemon_name.is_some(), "--daemon-name");
        note(!self.node_option_add.is_empty(), "--node-option-add");
        note(!self.node_option_remove.is_empty(), "--node-option-remove");
        note(!self.node_option_rename.is_empty(), "--node-option-rename");
        note(self.new_datadir.is_some(), "--new-datadir");
        note(self.space.is_some(), "--space");
        note(self.builtin.is_some(), "--builtin");
        out
    }

    /// The `info` fields the flags make, checked as a plan file's would
    /// be. Every problem names its flag and the field it sets
    /// (`--migrate-timeout: info.migrate[0].timeout: ...`).
    pub fn to_info(&self) -> Result<Map<String, Value>, Vec<String>> {
        let mut problems = Vec::new();
        let mut info = Map::new();
        let steps = |cmds: &[String], timeout: &Option<String>, migrate: bool| -> Value {
            Value::Array(
                cmds.iter()
                    .map(|c| {
                        let mut s = json!({ "command": c });
                        if let Some(t) = timeout {
                            s["timeout"] = json!(t);
                        }
                        if migrate && self.idempotent {
                            s["idempotent"] = json!(true);
                        }
                        if let (true, Some(f)) = (migrate, &self.on_failure) {
                            s["on_failure"] = json!(f);
                        }
                        s
                    })
                    .collect(),
            )
        };
        if !self.migrate.is_empty() {
            info.insert(
                "migrate".into(),
                steps(&self.migrate, &self.migrate_timeout, true),
            );
        } else {
            for (set, f) in [
                (self.migrate_timeout.is_some(), "--migrate-timeout"),
                (self.idempotent, "--idempotent"),
                (self.on_failure.is_some(), "--on-failure"),
            ] {
                if set {
                    problems.push(format!(
                        "{f}: applies to --migrate steps, and none is given"
                    ));
                }
            }
        }
        if !self.verify.is_empty() {
            info.insert(
                "verify".into(),
                steps(&self.verify, &self.verify_timeout, false),
            );
        } else if self.verify_timeout.is_some() {
            problems.push("--verify-timeout: applies to --verify steps, and none is given".into());
        }
        let mut opts = Map::new();
        if !self.node_option_add.is_empty() {
            let args: Vec<Value> = self
                .node_option_add
                .iter()
                .flat_map(|a| a.split_whitespace())
                .map(|a| json!(a))
                .collect();
            opts.insert("add".into(), Value::Array(args));
        }
        if !self.node_option_remove.is_empty() {
            opts.insert("remove".into(), json!(self.node_option_remove));
        }
        if !self.node_option_rename.is_empty() {
            let mut m = Map::new();
            for r in &self.node_option_rename {
                match r.split_once('=') {
                    Some((from, to)) => {
                        m.insert(from.trim().to_string(), json!(to.trim()));
                    }
                    None => problems.push(format!(
                        "--node-option-rename: '{r}' must look like --old=--new (info.node_options.rename)"
                    )),
                }
            }
            opts.insert("rename".into(), Value::Object(m));
        }
        if let Some(d) = &self.new_datadir {
            opts.insert("datadir".into(), json!(d));
        }
        if !opts.is_empty() {
            info.insert("node_options".into(), Value::Object(opts));
        }
        if let Some(d) = &self.daemon_name {
            info.insert("daemon_name".into(), json!(d));
        }
        if let Some(s) = &self.space {
            let v = match s.trim().parse::<u64>() {
                Ok(n) => json!(n),
                Err(_) => json!(s.trim()),
            };
            info.insert("space".into(), v);
        }
        if let Some(b) = &self.builtin {
            info.insert("builtin".into(), json!(b));
        }
        let obj = Value::Object(info.clone());
        if let Err(found) = MigrationPlan::from_info(Some(&obj)) {
            problems.extend(found.into_iter().map(|p| {
                let field = p.split(':').next().unwrap_or_default();
                match flag_of(field) {
                    Some(flag) => format!("{flag}: {p}"),
                    None => p,
                }
            }));
        }
        if problems.is_empty() {
            Ok(info)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_make_the_same_info_as_the_documented_json() {
        let f = MigrationFlags {
            migrate: vec!["db_migrator -src \"$WEMIX_DATADIR\" -dst \"$WEMIX_NEW_DATADIR\"".into()],
            migrate_timeout: Some("12h".into()),
            on_failure: Some("fail".into()),
            verify: vec!["test -f \"$WEMIX_NEW_DATADIR/ok\"".into()],
            daemon_name: Some("geth".into()),
            node_option_add: vec!["--db.engine pebble".into(), "--identity=x".into()],
            node_option_remove: vec!["--old.flag".into()],
            node_option_rename: vec!["--legacy=--new".into()],
            new_datadir: Some("chain-data-wbft".into()),
            space: Some("datadir".into()),
            ..MigrationFlags::default()
        };
        let info = Value::Object(f.to_info().unwrap());
        assert_eq!(
            info,
            json!({
                "migrate": [{"command": "db_migrator -src \"$WEMIX_DATADIR\" -dst \"$WEMIX_NEW_DATADIR\"",
                             "timeout": "12h", "on_failure": "fail"}],
                "verify": [{"command": "test -f \"$WEMIX_NEW_DATADIR/ok\""}],
                "daemon_name": "geth",
                "space": "datadir",
                "node_options": {"add": ["--db.engine", "pebble", "--identity=x"],
                                 "remove": ["--old.flag"],
                                 "rename": {"--legacy": "--new"},
                                 "datadir": "chain-data-wbft"}
            })
        );
        let plan = MigrationPlan::from_info(Some(&info)).unwrap();
        assert_eq!(
            plan.migrate[0].timeout,
            std::time::Duration::from_secs(12 * 3600)
        );
        assert_eq!(plan.daemon_name.as_deref(), Some("geth"));
        assert_eq!(
            f.given(),
            [
                "--migrate",
                "--migrate-timeout",
                "--on-failure",
                "--verify",
                "--daemon-name",
                "--node-option-add",
                "--node-option-remove",
                "--node-option-rename",
                "--new-datadir",
                "--space"
            ]
        );
    }

    #[test]
    fn every_problem_names_its_flag_and_field() {
        let f = MigrationFlags {
            migrate: vec!["convert".into()],
            migrate_timeout: Some("12x".into()),
            on_failure: Some("maybe".into()),
            verify_timeout: Some("1h".into()),
            daemon_name: Some("bin/geth".into()),
            node_option_rename: vec!["--a".into(), "--b=c".into()],
            space: Some("lots".into()),
            builtin: Some("other".into()),
            ..MigrationFlags::default()
        };
        let problems = f.to_info().unwrap_err();
        let has = |flag: &str, field: &str| {
            problems
                .iter()
                .any(|p| p.starts_with(&format!("{flag}: ")) && p.contains(field))
        };
        assert!(
            has("--migrate-timeout", "info.migrate[0].timeout"),
            "{problems:#?}"
        );
        assert!(
            has("--on-failure", "info.migrate[0].on_failure"),
            "{problems:#?}"
        );
        assert!(has("--verify-timeout", "--verify steps"), "{problems:#?}");
        assert!(has("--daemon-name", "info.daemon_name"), "{problems:#?}");
        assert!(
            has("--node-option-rename", "'--a' must look like"),
            "{problems:#?}"
        );
        assert!(
            has("--node-option-rename", "info.node_options.rename.--b"),
            "{problems:#?}"
        );
        assert!(has("--space", "info.space"), "{problems:#?}");
        assert!(has("--builtin", "info.builtin"), "{problems:#?}");
        assert_eq!(problems.len(), 8, "{problems:#?}");
    }

    #[test]
    fn step_settings_without_steps_and_a_datadir_without_a_migration_are_refused() {
        let f = MigrationFlags {
            idempotent: true,
            new_datadir: Some("chain-data-v2".into()),
            ..MigrationFlags::default()
        };
        let problems = f.to_info().unwrap_err();
        assert!(
            problems[0].starts_with("--idempotent: applies to --migrate"),
            "{problems:#?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("--new-datadir: info.node_options.datadir")),
            "{problems:#?}"
        );
        assert!(MigrationFlags::default().is_empty());
        assert_eq!(MigrationFlags::default().to_info().unwrap(), Map::new());
    }
}
