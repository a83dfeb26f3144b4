//! Pre-flight of a new binary against the node's current arguments, without
//! starting a node, and flag migrations.
//!
//! Two checks, both the way geth (urfave/cli) behaves:
//! 1. `<bin> --help` lists the flags one per line (`--http.port value  ...`);
//!    a flag the node runs with that the old binary lists and the new one
//!    does not is one the new binary no longer knows.
//! 2. `<bin> <args...> --version` parses every flag and prints the version
//!    without opening the datadir; an unknown flag fails with
//!    `flag provided but not defined: -x`.
//!
//! Each unknown flag with a configured rename ([`FlagMigration`]) is renamed
//! and the check runs again; any other makes the pre-flight fail.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use wemixvisor_config::{parse_args, ArgItem};

use crate::proc::run_captured;
use crate::{FlagMigration, UpgradeError};

/// Output kept from one pre-flight run.
const OUTPUT_CAP: usize = 256 * 1024;

/// What a successful pre-flight found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreflightReport {
    /// The arguments to start the new binary with.
    pub args: Vec<String>,
    /// The renames that were needed.
    pub migrations: Vec<FlagMigration>,
    /// Remarks for `upgrade status` and the log.
    pub notes: Vec<String>,
}

/// Flag names (without dashes) in `args`.
pub fn flag_names(args: &[String]) -> Vec<String> {
    parse_args(args)
        .into_iter()
        .filter_map(|i| match i {
            ArgItem::Flag { name, .. } => Some(name),
            ArgItem::Positional(_) => None,
        })
        .collect()
}

/// Parses the flag list of a geth-style `--help` text.
pub fn help_flags(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let t = line.trim_start();
        if !t.starts_with('-') {
            continue;
        }
        // The flag part ends where the usage text starts (two spaces or a tab).
        let spec = t
            .split("  ")
            .next()
            .unwrap_or(t)
            .split('\t')
            .next()
            .unwrap_or(t);
        for part in spec.split(',') {
            let Some(tok) = part.split_whitespace().next() else {
                continue;
            };
            let name = tok.trim_start_matches('-');
            let name = name.split('=').next().unwrap_or(name);
            if tok.starts_with('-')
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            {
                out.insert(name.to_string());
            }
        }
    }
    out
}

/// The flag named in geth's `flag provided but not defined: -x`.
pub fn undefined_flag(output: &str) -> Option<String> {
    let i = output.find("flag provided but not defined:")?;
    let rest = &output[i + "flag provided but not defined:".len()..];
    let tok = rest.split_whitespace().next()?;
    let name = tok.trim_start_matches('-');
    (!name.is_empty()).then(|| name.to_string())
}

/// Applies one rename to `args`: `--from[=v]` becomes `--to[=v]` (a value in
/// the next argument follows unchanged). When `--to` is already given, the
/// old flag is dropped instead (the explicit new one wins).
pub fn apply_migration(args: &[String], m: &FlagMigration) -> Vec<String> {
    let items = parse_args(args);
    let has_new = items
        .iter()
        .any(|i| matches!(i, ArgItem::Flag { name, .. } if *name == m.to));
    let mut out = Vec::with_capacity(args.len());
    for item in items {
        match item {
            ArgItem::Flag {
                name,
                value,
                tokens,
            } if name == m.from => {
                if has_new {
                    continue;
                }
                let first = tokens.first().map(String::as_str).unwrap_or("");
                if first.contains('=') {
                    out.push(format!("--{}={}", m.to, value.unwrap_or_default()));
                } else {
                    out.push(format!("--{}", m.to));
                    out.extend(tokens.into_iter().skip(1));
                }
            }
            other => out.extend(other.tokens()),
        }
    }
    out
}

/// Applies every rename in order.
pub fn apply_migrations(args: &[String], ms: &[FlagMigration]) -> Vec<String> {
    ms.iter().fold(args.to_vec(), |a, m| apply_migration(&a, m))
}

async fn help_of(bin: &Path, timeout: Duration) -> Option<BTreeSet<String>> {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("--help");
    let r = run_captured(cmd, timeout, None, OUTPUT_CAP, true, None)
        .await
        .ok()?;
    let flags = help_flags(&r.output);
    (r.code == Some(0) && !flags.is_empty()).then_some(flags)
}

/// Runs the pre-flight of `new_bin` (upgrade `name`) against `args`, with
/// `old_bin` (the binary now running) as the reference for which flags are
/// dropped, renaming with `rules` where needed.
pub async fn preflight(
    name: &str,
    new_bin: &Path,
    old_bin: Option<&Path>,
    args: &[String],
    rules: &[FlagMigration],
    timeout: Duration,
) -> Result<PreflightReport, UpgradeError> {
    let fail = |reason: String, help: &str| UpgradeError::Preflight {
        name: name.to_string(),
        binary: new_bin.to_path_buf(),
        reason,
        help: help.to_string(),
    };
    let migrate_help = "add a flag migration (WEMIXVISOR_FLAG_MIGRATIONS=--old=--new) or remove the flag from node-options.toml or the `run` arguments";
    let mut report = PreflightReport {
        args: args.to_vec(),
        ..PreflightReport::default()
    };
    let rule_for = |flag: &str| rules.iter().find(|m| m.from == flag).cloned();

    // `--help` tells which flags the new binary dropped; a dropped flag with
    // a rename whose new spelling the new binary lists is renamed at once.
    // The dry run below has the last word (a binary may still accept a flag
    // it hides from --help).
    let mut suspects: BTreeSet<String> = BTreeSet::new();
    match help_of(new_bin, timeout).await {
        Some(new_flags) => {
            let old_flags = match old_bin {
                Some(b) => help_of(b, timeout).await,
                None => None,
            };
            let mut seen = BTreeSet::new();
            for flag in flag_names(args) {
                if new_flags.contains(&flag) || !seen.insert(flag.clone()) {
                    continue;
                }
                let dropped = old_flags.as_ref().is_none_or(|o| o.contains(&flag));
                if !dropped {
                    report.notes.push(format!(
                        "--{flag} is listed by neither binary's --help; passed as is"
                    ));
                    continue;
                }
                match rule_for(&flag).filter(|m| new_flags.contains(&m.to)) {
                    Some(m) => {
                        report.args = apply_migration(&report.args, &m);
                        report.notes.push(format!("flag migrated: {m}"));
                        report.migrations.push(m);
                    }
                    None => {
                        suspects.insert(flag);
                    }
                }
            }
        }
        None => report
            .notes
            .push("its --help lists no flags; checked by a dry run only".into()),
    }

    // The dry run: every flag parsed, nothing started.
    let max_rounds = flag_names(args).len() + 2;
    for _ in 0..max_rounds {
        let mut cmd = tokio::process::Command::new(new_bin);
        cmd.args(&report.args).arg("--version");
        let r = run_captured(cmd, timeout, None, OUTPUT_CAP, true, None)
            .await
            .map_err(|e| {
                fail(
                    format!("it cannot be run: {e}"),
                    "check that it is a binary for this machine and executable",
                )
            })?;
        if r.code == Some(0) && !r.timed_out {
            for f in suspects
                .iter()
                .filter(|f| flag_names(&report.args).contains(f))
            {
                report.notes.push(format!(
                    "--{f} is not in the new binary's --help, but it accepts it"
                ));
            }
            return Ok(report);
        }
        if let Some(flag) = undefined_flag(&r.output) {
            let present = flag_names(&report.args).contains(&flag);
            match rule_for(&flag) {
                Some(m) if present && !report.migrations.contains(&m) => {
                    report.args = apply_migration(&report.args, &m);
                    report.notes.push(format!("flag migrated: {m}"));
                    report.migrations.push(m);
                    continue;
                }
                _ => {
                    let mut unknown = BTreeSet::from([flag.clone()]);
                    let also: BTreeSet<String> = suspects
                        .iter()
                        .filter(|f| **f != flag && flag_names(&report.args).contains(f))
                        .cloned()
                        .collect();
                    let reason = if also.is_empty() {
                        format!(
                            "it does not accept {} (`--version` with the node's arguments exited with {}: flag provided but not defined)",
                            list(&unknown),
                            r.describe()
                        )
                    } else {
                        unknown.extend(also.iter().cloned());
                        format!(
                            "it no longer knows {} (the node runs with them; the dry run refused --{flag}, its --help lists none of them)",
                            list(&unknown)
                        )
                    };
                    return Err(fail(reason, migrate_help));
                }
            }
        }
        return Err(fail(
            format!(
                "`{} <node args> --version` {}{}",
                new_bin.display(),
                if r.timed_out {
                    format!("did not finish within {timeout:?}")
                } else {
                    format!("exited with {}", r.describe())
                },
                if r.output.trim().is_empty() {
                    String::new()
                } else {
                    format!(":\n{}", r.tail(8))
                }
            ),
            "check that the binary is built for this machine and runs (`<binary> --version`)",
        ));
    }
    Err(fail("flag migrations did not settle".into(), migrate_help))
}

fn list(flags: &BTreeSet<String>) -> String {
    flags
        .iter()
        .map(|f| format!("--{f}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn fake_geth(dir: &Path, name: &str, flags: &[&str]) -> std::path::PathBuf {
        let p = dir.join(name);
        crate::testing::fake_geth(&p, flags);
        p
    }

    #[test]
    fn help_parsing_and_undefined() {
        let text = "GLOBAL OPTIONS:\n   --datadir value, --data.dir value   Data directory (default: x)\n   --http   Enable\n   --help, -h   show help\n  --sim.version value  devnode\nNot a flag -x\n";
        let f = help_flags(text);
        assert!(
            f.contains("datadir")
                && f.contains("data.dir")
                && f.contains("http")
                && f.contains("h")
        );
        assert!(f.contains("sim.version"));
        assert!(!f.contains("x"));
        assert_eq!(
            undefined_flag("Incorrect Usage: flag provided but not defined: -rpc\n"),
            Some("rpc".into())
        );
        assert_eq!(undefined_flag("ok"), None);
    }

    #[test]
    fn migrations_rewrite_every_spelling() {
        let m = FlagMigration::new("rpcport", "http.port");
        assert_eq!(
            apply_migration(&s(&["--rpcport", "8545", "--x"]), &m),
            s(&["--http.port", "8545", "--x"])
        );
        assert_eq!(
            apply_migration(&s(&["-rpcport=8545"]), &m),
            s(&["--http.port=8545"])
        );
        // an explicit new flag wins
        assert_eq!(
            apply_migration(&s(&["--rpcport", "1", "--http.port", "2"]), &m),
            s(&["--http.port", "2"])
        );
        let rpc = FlagMigration::new("rpc", "http");
        assert_eq!(
            apply_migration(&s(&["--rpc", "--http"]), &rpc),
            s(&["--http"])
        );
        assert_eq!(apply_migration(&s(&["--rpc"]), &rpc), s(&["--http"]));
    }

    #[tokio::test]
    async fn dropped_flag_with_and_without_migration() {
        let d = tempfile::tempdir().unwrap();
        let old = fake_geth(d.path(), "old", &["datadir", "rpc", "rpcport", "extra"]);
        let new = fake_geth(d.path(), "new", &["datadir", "http", "http.port", "extra"]);
        let args = s(&[
            "--datadir",
            "/d",
            "--rpc",
            "--rpcport",
            "8545",
            "--extra",
            "1",
        ]);
        let t = Duration::from_secs(10);
        let ok = preflight(
            "v2",
            &new,
            Some(&old),
            &args,
            &FlagMigration::geth_defaults(),
            t,
        )
        .await
        .unwrap();
        assert_eq!(
            ok.args,
            s(&[
                "--datadir",
                "/d",
                "--http",
                "--http.port",
                "8545",
                "--extra",
                "1"
            ])
        );
        assert_eq!(ok.migrations.len(), 2);
        let e = preflight("v2", &new, Some(&old), &args, &[], t)
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("--rpc") && msg.contains("--rpcport"), "{msg}");
        assert!(msg.contains("help: add a flag migration"), "{msg}");
    }

    #[tokio::test]
    async fn a_flag_hidden_from_help_but_still_accepted_passes() {
        let d = tempfile::tempdir().unwrap();
        let old = fake_geth(d.path(), "old", &["datadir", "nousb"]);
        let new = d.path().join("new");
        std::fs::write(
            &new,
            "#!/bin/sh\ncase \" $* \" in *\" --help \"*) printf '   --datadir value   dir\\n'; exit 0;; esac\nexit 0\n",
        )
        .unwrap();
        std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o755)).unwrap();
        let r = preflight(
            "v2",
            &new,
            Some(&old),
            &s(&["--datadir", "/d", "--nousb"]),
            &[],
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(r.args, s(&["--datadir", "/d", "--nousb"]));
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("--nousb") && n.contains("accepts it")),
            "{:?}",
            r.notes
        );
    }

    #[tokio::test]
    async fn dry_run_catches_what_help_does_not_show() {
        let d = tempfile::tempdir().unwrap();
        // --help lists nothing useful: only the dry run can tell
        let p = d.path().join("nohelp");
        std::fs::write(
            &p,
            "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = --rpc ] && { echo 'flag provided but not defined: -rpc' >&2; exit 1; }; done\nexit 0\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let t = Duration::from_secs(10);
        let r = preflight(
            "v2",
            &p,
            None,
            &s(&["--rpc", "--x"]),
            &FlagMigration::geth_defaults(),
            t,
        )
        .await
        .unwrap();
        assert_eq!(r.args, s(&["--http", "--x"]));
        let e = preflight("v2", &p, None, &s(&["--rpc"]), &[], t)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("does not accept --rpc"), "{e}");

        // a binary that cannot run at all
        let bad = d.path().join("bad");
        std::fs::write(
            &bad,
            "#!/bin/sh\necho 'cannot execute: wrong architecture' >&2\nexit 126\n",
        )
        .unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = preflight("v2", &bad, None, &s(&[]), &[], t)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("wrong architecture"), "{e}");

        // a binary that ignores --version and hangs is killed at the limit
        let hang = d.path().join("hang");
        std::fs::write(&hang, "#!/bin/sh\nsleep 30\n").unwrap();
        std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).unwrap();
        let start = std::time::Instant::now();
        let e = preflight("v2", &hang, None, &s(&[]), &[], Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("did not finish"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
