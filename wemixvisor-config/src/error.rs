use std::fmt;
use std::path::PathBuf;

use wemixvisor_core::CoreError;

/// Errors of loading, editing, validating and migrating configuration files.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] CoreError),
    /// A file is not valid TOML.
    #[error("'{}' is not valid TOML at line {line}, column {column}: {message}\nhelp: fix the syntax, then check the file with `wemixvisor config validate`", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the TOML parser expected.
        message: String,
    },
    /// A file parsed but has problems (unknown keys, wrong types, rule violations).
    #[error("{}", render_invalid(path, problems))]
    Invalid {
        /// The file the problems were found in.
        path: PathBuf,
        /// Every problem of severity error (warnings are not included).
        problems: Vec<Problem>,
    },
    /// An environment variable holds a value of the wrong shape.
    #[error("invalid value \"{value}\" for {var}: expected {expected}")]
    Env {
        /// The variable, e.g. `DAEMON_RESTART_AFTER_UPGRADE`.
        var: &'static str,
        /// Its value as found.
        value: String,
        /// What it should look like.
        expected: String,
    },
    /// A command-line flag holds a value of the wrong shape.
    #[error("invalid value \"{value}\" for {flag}: expected {expected}")]
    Flag {
        /// The flag, e.g. `--name`.
        flag: &'static str,
        /// Its value as given.
        value: String,
        /// What it should look like.
        expected: String,
    },
    /// A dotted key given on the command line does not exist.
    #[error("unknown config key \"{key}\"{}", suggestion_help(suggestion.as_deref()))]
    UnknownKey {
        /// The key as given.
        key: String,
        /// The closest known key, when one is close.
        suggestion: Option<String>,
    },
    /// A value given on the command line does not fit the key's type.
    #[error("invalid value \"{value}\" for {key}: expected {expected}")]
    BadValue {
        /// The dotted key.
        key: String,
        /// The value as given.
        value: String,
        /// What it should look like.
        expected: String,
    },
    /// The file's `version` is not one this build understands.
    #[error("'{}' has schema version {found}, but this wemixvisor understands versions 1 to {supported}\nhelp: upgrade wemixvisor, or rewrite the file with `wemixvisor init --force`", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: i64,
        /// The newest version understood.
        supported: u32,
    },
    /// The operation needs the current schema, and the file is older.
    #[error("'{}' uses schema version {found}; this command needs version {current}\nhelp: run `wemixvisor config migrate` first", path.display())]
    NeedsMigration {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
        /// The current version.
        current: u32,
    },
    /// The operation needs a config file and there is none.
    #[error("no config file at '{}'\nhelp: create one with `wemixvisor init <mainnet|testnet|devnet>`", path.display())]
    NoConfigFile {
        /// Where it was looked for.
        path: PathBuf,
    },
}

fn suggestion_help(s: Option<&str>) -> String {
    match s {
        Some(s) => {
            format!("\nhelp: did you mean \"{s}\"? (`wemixvisor config show` lists every key)")
        }
        None => "\nhelp: `wemixvisor config show` lists every key".to_string(),
    }
}

fn render_invalid(path: &std::path::Path, problems: &[Problem]) -> String {
    let mut out = format!(
        "'{}' is invalid ({} problem{}):",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string().replace('\n', "\n    "));
    }
    out.push_str("\nhelp: `wemixvisor config validate` checks the files without starting anything");
    out
}

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Works, but probably not what the operator wants.
    Warning,
    /// The configuration cannot be used.
    Error,
}

/// A 1-based line and column in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before
            .get(line_start..)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        Location { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One thing wrong with a configuration, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The file it is in (`None` when the value came from the environment or a flag).
    pub file: Option<PathBuf>,
    /// Dotted key path (`restart.backoff_max`), or the variable/flag name.
    pub key: String,
    /// Where in `file` the offending key or value is.
    pub location: Option<Location>,
    /// What is wrong: lowercase, expected vs actual.
    pub message: String,
    /// How to fix it, when there is something specific to say.
    pub help: Option<String>,
}

impl Problem {
    /// An error-severity problem.
    pub fn error(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            file: None,
            key: key.into(),
            location: None,
            message: message.into(),
            help: None,
        }
    }

    /// A warning-severity problem.
    pub fn warning(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(key, message)
        }
    }

    /// Adds a `help:` hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets where the problem is.
    pub fn at(mut self, file: Option<PathBuf>, location: Option<Location>) -> Self {
        self.file = file;
        self.location = location;
        self
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    /// `file:line:col: key: message` plus `help: ...` on the next line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.display().to_string());
            write!(f, "{name}:")?;
            if let Some(loc) = self.location {
                write!(f, "{loc}:")?;
            }
            write!(f, " ")?;
        }
        write!(f, "{}: {}", self.key, self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\nhelp: {help}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_of_offset() {
        let t = "a = 1\nbé = 2\n";
        assert_eq!(Location::of_offset(t, 0), Location { line: 1, column: 1 });
        assert_eq!(Location::of_offset(t, 6), Location { line: 2, column: 1 });
        // after the two-byte 'é' and the space
        assert_eq!(Location::of_offset(t, 10), Location { line: 2, column: 4 });
    }

    #[test]
    fn problem_display() {
        let p = Problem::error("restart.window", "must be positive, got 0s")
            .at(
                Some(PathBuf::from("/h/wemixvisor.toml")),
                Some(Location {
                    line: 3,
                    column: 10,
                }),
            )
            .with_help("try \"10m\"");
        assert_eq!(
            p.to_string(),
            "wemixvisor.toml:3:10: restart.window: must be positive, got 0s\nhelp: try \"10m\""
        );
    }
}
