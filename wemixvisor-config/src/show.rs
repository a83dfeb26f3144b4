//! `config show`: the effective configuration with the source of every
//! value, as text (itself valid TOML) or JSON; and the key reference of
//! `docs/config.md`.

use std::fmt::Write as _;
use std::path::PathBuf;

use wemixvisor_core::Home;

use crate::config::{Config, FlagOverrides};
use crate::error::ConfigError;
use crate::load::{Loaded, Source};
use crate::schema::{KEYS, SECTIONS};
use crate::value::Value;

/// One key of `config show`.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownEntry {
    /// Dotted key.
    pub key: &'static str,
    /// Effective value.
    pub value: Value,
    /// Where it came from.
    pub source: Source,
    /// Whether a running daemon applies a change of it on reload.
    pub reload_safe: bool,
}

/// The effective configuration for `config show`.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The config file read (or looked for).
    pub file: PathBuf,
    /// Its schema version, `None` when it does not exist.
    pub file_version: Option<u32>,
    /// Every key, in file order.
    pub entries: Vec<ShownEntry>,
    /// Warnings from loading.
    pub warnings: Vec<String>,
}

/// Loads the configuration (as [`Config::load_report`]) for `config show`.
pub fn show(
    home: &Home,
    env: &dyn Fn(&str) -> Option<String>,
    flags: &FlagOverrides,
) -> Result<Shown, ConfigError> {
    Config::load_report(home, env, flags).map(|l| Shown::from(&l))
}

impl From<&Loaded> for Shown {
    fn from(l: &Loaded) -> Self {
        let entries = KEYS
            .iter()
            .map(|spec| ShownEntry {
                key: spec.key,
                value: spec.get(&l.config),
                source: l.sources.get(spec.key).cloned().unwrap_or(Source::Default),
                reload_safe: spec.reload_safe,
            })
            .collect();
        Shown {
            file: l.file.clone(),
            file_version: l.file_version,
            entries,
            warnings: l.warnings.clone(),
        }
    }
}

impl Shown {
    /// TOML text with the source of each value as a trailing comment.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        match self.file_version {
            Some(v) => {
                let _ = writeln!(
                    s,
                    "# effective configuration; file '{}' (schema version {v})",
                    self.file.display()
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "# effective configuration; no file at '{}' (defaults apply)",
                    self.file.display()
                );
            }
        }
        for w in &self.warnings {
            let _ = writeln!(s, "# warning: {}", w.replace('\n', "\n#   "));
        }
        let lines: Vec<(String, String)> = self
            .entries
            .iter()
            .map(|e| {
                let name = e.key.split_once('.').map_or(e.key, |(_, n)| n);
                (format!("{name} = {}", e.value), e.source.to_string())
            })
            .collect();
        let width = lines
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        let mut section = "";
        for (e, (line, source)) in self.entries.iter().zip(&lines) {
            let sec = e.key.split_once('.').map_or("", |(s, _)| s);
            if sec != section {
                let _ = writeln!(s, "\n[{sec}]");
                section = sec;
            }
            let pad = width - line.chars().count();
            let _ = writeln!(s, "{line}{:pad$}  # {source}", "");
        }
        s
    }

    /// JSON: `{"file", "file_version", "warnings", "values": {key: {"value", "source", "origin", "reload_safe"}}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut values = serde_json::Map::new();
        for e in &self.entries {
            let origin = match &e.source {
                Source::Default => serde_json::Value::Null,
                Source::File { location } => location
                    .map(|l| serde_json::Value::from(format!("{}:{l}", self.file.display())))
                    .unwrap_or_else(|| self.file.display().to_string().into()),
                Source::Env { var } => (*var).into(),
                Source::Flag { flag } => (*flag).into(),
            };
            values.insert(
                e.key.to_string(),
                serde_json::json!({
                    "value": e.value.to_json(),
                    "source": e.source.kind(),
                    "origin": origin,
                    "reload_safe": e.reload_safe,
                }),
            );
        }
        serde_json::json!({
            "file": self.file.display().to_string(),
            "file_version": self.file_version,
            "warnings": self.warnings,
            "values": values,
        })
    }
}

/// The key reference of `docs/config.md` (between its generated-section
/// markers): one table per section with type, default, environment
/// variables and when a change applies.
pub fn render_reference_markdown() -> String {
    let mut s = String::new();
    for section in SECTIONS {
        let _ = writeln!(s, "### `[{}]`\n", section.name);
        let _ = writeln!(s, "{}\n", section.doc.replace('\n', " "));
        let _ = writeln!(s, "| key | type | default | env | applies | description |");
        let _ = writeln!(s, "|---|---|---|---|---|---|");
        for spec in KEYS.iter().filter(|k| k.section() == section.name) {
            let env = if spec.env.is_empty() {
                String::new()
            } else {
                spec.env
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                s,
                "| `{}` | {} | `{}` | {} | {} | {} |",
                spec.key,
                spec.kind.type_name(),
                spec.default_value().to_string().replace('|', "\\|"),
                env,
                if spec.reload_safe {
                    "reload"
                } else {
                    "restart"
                },
                spec.doc.replace('\n', " ").replace('|', "\\|"),
            );
        }
        let _ = writeln!(s);
    }
    s
}
