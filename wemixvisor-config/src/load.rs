//! Reading `wemixvisor.toml` (schema versions 1 and 2) and laying the
//! environment and the flags over it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use wemixvisor_core::{CoreError, Home};

use crate::config::{Config, FlagOverrides, CURRENT_VERSION};
use crate::error::{ConfigError, Location, Problem};
use crate::schema::{self, KeySpec, KEYS};
use crate::validate;
use crate::value::{describe_toml, Value};

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// `wemixvisor.toml`, at this place.
    File {
        /// Where the value is written.
        location: Option<Location>,
    },
    /// An environment variable.
    Env {
        /// Its name.
        var: &'static str,
    },
    /// A command-line flag.
    Flag {
        /// The flag, e.g. `--name`.
        flag: &'static str,
    },
}

impl Source {
    /// `default`, `file`, `env` or `flag`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::File { .. } => "file",
            Source::Env { .. } => "env",
            Source::Flag { .. } => "flag",
        }
    }
}

impl fmt::Display for Source {
    /// `default`, `file:3:1`, `env DAEMON_NAME`, `flag --name`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { location: Some(l) } => write!(f, "file:{l}"),
            Source::File { location: None } => f.write_str("file"),
            Source::Env { var } => write!(f, "env {var}"),
            Source::Flag { flag } => write!(f, "flag {flag}"),
        }
    }
}

/// A loaded configuration with the source of every value and any warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The effective configuration.
    pub config: Config,
    /// Where each key's value came from, by dotted key.
    pub sources: BTreeMap<&'static str, Source>,
    /// The config file that was read (or looked for).
    pub file: PathBuf,
    /// Schema version of the file; `None` when there was no file.
    pub file_version: Option<u32>,
    /// Things that work but deserve attention (e.g. a version-1 file that
    /// should be migrated), one message each.
    pub warnings: Vec<String>,
}

/// The flat keys of schema version 1 (the first cut) and where they live now.
pub const V1_KEYS: &[(&str, &str)] = &[
    ("daemon_name", "node.daemon_name"),
    ("rpc_url", "node.rpc_url"),
    ("shutdown_grace", "node.shutdown_grace"),
    ("poll_interval", "upgrade.poll_interval"),
    ("restart_delay", "restart.delay"),
    ("restart_after_upgrade", "upgrade.restart_after_upgrade"),
    ("unsafe_skip_backup", "upgrade.unsafe_skip_backup"),
    (
        "allow_download_binaries",
        "download.allow_download_binaries",
    ),
    ("download_must_have_checksum", "download.must_have_checksum"),
    ("preupgrade_max_retries", "upgrade.preupgrade_max_retries"),
];

/// The warning attached to every version-1 file.
pub const V1_WARNING: &str = "the config file uses the old flat schema (version 1); it still works, but run `wemixvisor config migrate` to move to the sectioned schema (version 2)";

/// One value read from the file.
#[derive(Debug, Clone)]
pub(crate) struct FileValue {
    pub spec: &'static KeySpec,
    pub value: Value,
    pub location: Option<Location>,
    /// The version-1 key it was read from, for migration summaries.
    pub v1_key: Option<&'static str>,
}

/// What a config file holds, before anything is laid over it.
#[derive(Debug, Clone)]
pub(crate) struct FileLayer {
    pub version: u32,
    pub values: Vec<FileValue>,
    /// Unknown keys, wrong types, missing version (errors and warnings).
    pub problems: Vec<Problem>,
}

impl FileLayer {
    /// The value of `key` in the file, if set there.
    pub fn get(&self, key: &str) -> Option<&FileValue> {
        self.values.iter().find(|v| v.spec.key == key)
    }
}

/// Turns a TOML syntax error into [`ConfigError::Syntax`].
pub(crate) fn syntax_error(path: &Path, text: &str, e: &toml_edit::TomlError) -> ConfigError {
    let loc = e
        .span()
        .map(|s| Location::of_offset(text, s.start))
        .unwrap_or(Location { line: 1, column: 1 });
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line: loc.line,
        column: loc.column,
        message: e.message().trim().replace('\n', "; "),
    }
}

fn loc(text: &str, span: Option<std::ops::Range<usize>>) -> Option<Location> {
    span.map(|s| Location::of_offset(text, s.start))
}

/// Parses the text of a config file of either schema version.
pub(crate) fn parse_layer(path: &Path, text: &str) -> Result<FileLayer, ConfigError> {
    let doc =
        toml_edit::ImDocument::parse(text.to_string()).map_err(|e| syntax_error(path, text, &e))?;
    let root = doc.as_table();
    let file = Some(path.to_path_buf());
    let mut problems = Vec::new();
    let version = match root.get("version") {
        Some(item) => match item.as_integer() {
            Some(v @ 1..=2) => v as u32,
            Some(v) => {
                return Err(ConfigError::UnsupportedVersion {
                    path: path.to_path_buf(),
                    found: v,
                    supported: CURRENT_VERSION,
                })
            }
            None => {
                let found = item
                    .as_value()
                    .map(describe_toml)
                    .unwrap_or_else(|| "a table".into());
                problems.push(
                    Problem::error("version", format!("expected an integer (2), found {found}"))
                        .at(file.clone(), loc(text, item.span()))
                        .with_help("the first line of the file should be `version = 2`"),
                );
                CURRENT_VERSION
            }
        },
        None => {
            let looks_v1 = root
                .iter()
                .any(|(k, item)| !item.is_table_like() && V1_KEYS.iter().any(|(v1, _)| *v1 == k));
            if looks_v1 {
                1
            } else {
                if !root.is_empty() {
                    problems.push(
                        Problem::warning("version", "missing; the file is read as version 2")
                            .at(file.clone(), Some(Location { line: 1, column: 1 }))
                            .with_help("add `version = 2` as the first line"),
                    );
                }
                CURRENT_VERSION
            }
        }
    };
    let mut values = Vec::new();
    if version == 1 {
        read_v1(root, text, path, &mut values, &mut problems);
    } else {
        read_v2(root, text, path, &mut values, &mut problems);
    }
    Ok(FileLayer {
        version,
        values,
        problems,
    })
}

fn unknown_key(path: &Path, key: &str, location: Option<Location>, hint: Option<&str>) -> Problem {
    let help = match hint {
        Some(s) => format!("did you mean \"{s}\"?"),
        None => "every key is listed in docs/config.md and by `wemixvisor config show`".into(),
    };
    Problem::error(key, format!("unknown key \"{key}\""))
        .at(Some(path.to_path_buf()), location)
        .with_help(help)
}

fn read_value(
    spec: &'static KeySpec,
    item: &toml_edit::Item,
    key_loc: Option<Location>,
    text: &str,
    path: &Path,
) -> Result<(Value, Option<Location>), Box<Problem>> {
    let file = Some(path.to_path_buf());
    match item.as_value() {
        Some(v) => {
            let at = loc(text, v.span()).or(key_loc);
            spec.kind
                .from_toml(v)
                .map(|val| (val, at))
                .map_err(|msg| Box::new(Problem::error(spec.key, msg).at(file, at)))
        }
        None => Err(Box::new(
            Problem::error(
                spec.key,
                format!("expected {}, found a table", spec.kind.expected()),
            )
            .at(file, key_loc),
        )),
    }
}

fn read_v2(
    root: &toml_edit::Table,
    text: &str,
    path: &Path,
    values: &mut Vec<FileValue>,
    problems: &mut Vec<Problem>,
) {
    for (name, item) in root.iter() {
        if name == "version" {
            continue;
        }
        let name_loc = loc(text, root.key(name).and_then(|k| k.span()));
        if schema::section(name).is_none() {
            let hint = if item.is_table_like() {
                schema::closest(name, schema::SECTIONS.iter().map(|s| s.name))
            } else {
                schema::suggest_key(name)
            };
            problems.push(unknown_key(path, name, name_loc, hint));
            continue;
        }
        let Some(table) = item.as_table_like() else {
            let found = item
                .as_value()
                .map(describe_toml)
                .unwrap_or_else(|| "a list of tables".into());
            problems.push(
                Problem::error(name, format!("expected a table [{name}], found {found}"))
                    .at(Some(path.to_path_buf()), name_loc),
            );
            continue;
        };
        for (k, it) in table.iter() {
            let dotted = format!("{name}.{k}");
            let key_loc = loc(text, table.key(k).and_then(|key| key.span()));
            match schema::lookup(&dotted) {
                Some(spec) => match read_value(spec, it, key_loc, text, path) {
                    Ok((value, location)) => values.push(FileValue {
                        spec,
                        value,
                        location,
                        v1_key: None,
                    }),
                    Err(p) => problems.push(*p),
                },
                None => {
                    let hint = schema::suggest_key(&dotted);
                    problems.push(unknown_key(path, &dotted, key_loc, hint));
                }
            }
        }
    }
}

fn read_v1(
    root: &toml_edit::Table,
    text: &str,
    path: &Path,
    values: &mut Vec<FileValue>,
    problems: &mut Vec<Problem>,
) {
    for (name, item) in root.iter() {
        if name == "version" {
            continue;
        }
        let key_loc = loc(text, root.key(name).and_then(|k| k.span()));
        let Some((v1, v2)) = V1_KEYS.iter().find(|(v1, _)| *v1 == name) else {
            let hint = schema::closest(name, V1_KEYS.iter().map(|(k, _)| *k));
            problems.push(
                unknown_key(path, name, key_loc, hint)
                    .with_help(match hint {
                        Some(h) => format!("did you mean \"{h}\"? (version-1 files hold only flat keys; `wemixvisor config migrate` moves to version 2)"),
                        None => "version-1 files hold only the flat keys of the first release; `wemixvisor config migrate` moves to version 2".into(),
                    }),
            );
            continue;
        };
        let Some(spec) = schema::lookup(v2) else {
            continue;
        };
        // version 1 allowed poll_interval as a number of milliseconds, like DAEMON_POLL_INTERVAL
        if *v1 == "poll_interval" {
            if let Some(ms) = item.as_integer().filter(|n| *n >= 0) {
                values.push(FileValue {
                    spec,
                    value: Value::Duration(Duration::from_millis(ms as u64)),
                    location: loc(text, item.span()).or(key_loc),
                    v1_key: Some(v1),
                });
                continue;
            }
        }
        match read_value(spec, item, key_loc, text, path) {
            Ok((value, location)) => values.push(FileValue {
                spec,
                value,
                location,
                v1_key: Some(v1),
            }),
            Err(mut p) => {
                p.key = (*v1).to_string();
                problems.push(*p);
            }
        }
    }
}

/// Reads a file, `Ok(None)` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CoreError::io("read", path, e).into()),
    }
}

/// What a daemon name must be, for "expected ..." messages.
pub const DAEMON_NAME_EXPECTED: &str = "a plain file name (not empty, no '/')";

fn is_plain_file_name(name: &str) -> bool {
    !(name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0'))
}

/// Checks that a daemon name is a plain file name (the binary in `current/bin/`).
pub fn validate_daemon_name(name: &str) -> Result<(), String> {
    if is_plain_file_name(name) {
        Ok(())
    } else {
        Err(format!("expected {DAEMON_NAME_EXPECTED}, got \"{name}\""))
    }
}

/// One bad environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvError {
    pub var: &'static str,
    pub value: String,
    pub expected: String,
}

impl From<EnvError> for ConfigError {
    fn from(e: EnvError) -> Self {
        ConfigError::Env {
            var: e.var,
            value: e.value,
            expected: e.expected,
        }
    }
}

/// Lays the environment over `config`. Empty variables count as unset. When
/// two variables set one key (`WEMIXVISOR_DISABLE_LOGS`,
/// `COSMOVISOR_DISABLE_LOGS`) the first set one wins. Returns every bad
/// variable, in key order.
pub(crate) fn overlay_env(
    config: &mut Config,
    sources: &mut BTreeMap<&'static str, Source>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<EnvError> {
    let mut errors = Vec::new();
    for spec in KEYS {
        for var in spec.env {
            let Some(raw) = env(var).filter(|v| !v.is_empty()) else {
                continue;
            };
            match parse_env_value(spec, var, &raw) {
                Ok(value) => {
                    if spec.set(config, &value) {
                        sources.insert(spec.key, Source::Env { var });
                    }
                }
                Err(expected) => errors.push(EnvError {
                    var,
                    value: raw,
                    expected,
                }),
            }
            break;
        }
    }
    errors
}

fn parse_env_value(spec: &KeySpec, var: &str, raw: &str) -> Result<Value, String> {
    if var == "DAEMON_POLL_INTERVAL" {
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            return raw
                .parse::<u64>()
                .map(|ms| Value::Duration(Duration::from_millis(ms)))
                .map_err(|_| "a whole number of milliseconds that fits in 64 bits".into());
        }
        return spec.kind.parse_text(raw).map_err(|_| {
            "a duration with a unit, such as \"300s\" or \"5m\", or a whole number of milliseconds"
                .to_string()
        });
    }
    if var == "DAEMON_NAME" && !is_plain_file_name(raw) {
        return Err(DAEMON_NAME_EXPECTED.into());
    }
    spec.kind.parse_text(raw)
}

/// Lays the flags over `config`.
pub(crate) fn overlay_flags(
    config: &mut Config,
    sources: &mut BTreeMap<&'static str, Source>,
    flags: &FlagOverrides,
) -> Result<(), ConfigError> {
    if let Some(name) = &flags.daemon_name {
        if !is_plain_file_name(name) {
            return Err(ConfigError::Flag {
                flag: "--name",
                value: name.clone(),
                expected: DAEMON_NAME_EXPECTED.into(),
            });
        }
        config.node.daemon_name = name.clone();
        sources.insert("node.daemon_name", Source::Flag { flag: "--name" });
    }
    if let Some(f) = flags.log_format {
        config.log.format = f;
        sources.insert(
            "log.format",
            Source::Flag {
                flag: "--log-format",
            },
        );
    }
    if let Some(level) = &flags.log_level {
        config.log.level = level.clone();
        sources.insert(
            "log.level",
            Source::Flag {
                flag: "--log-level",
            },
        );
    }
    if let Some(url) = &flags.rpc_url {
        config.node.rpc_url = url.clone();
        sources.insert("node.rpc_url", Source::Flag { flag: "--rpc-url" });
    }
    Ok(())
}

/// Sources map with every key at [`Source::Default`].
pub(crate) fn default_sources() -> BTreeMap<&'static str, Source> {
    KEYS.iter().map(|k| (k.key, Source::Default)).collect()
}

/// Applies a file layer to `config`, recording sources.
pub(crate) fn apply_layer(
    layer: &FileLayer,
    config: &mut Config,
    sources: &mut BTreeMap<&'static str, Source>,
) {
    config.version = layer.version;
    for v in &layer.values {
        if v.spec.set(config, &v.value) {
            sources.insert(
                v.spec.key,
                Source::File {
                    location: v.location,
                },
            );
        }
    }
}

/// Attaches the file and line of each problem's key, or names the variable
/// or flag it came from.
pub(crate) fn locate(
    problems: Vec<Problem>,
    sources: &BTreeMap<&'static str, Source>,
    file: &Path,
) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|mut p| {
            if p.file.is_some() {
                return p;
            }
            match sources.get(p.key.as_str()) {
                Some(Source::File { location }) => p.at(Some(file.to_path_buf()), *location),
                Some(Source::Env { var }) => {
                    p.message.push_str(&format!(" (set by {var})"));
                    p
                }
                Some(Source::Flag { flag }) => {
                    p.message.push_str(&format!(" (set by {flag})"));
                    p
                }
                _ => p,
            }
        })
        .collect()
}

impl Config {
    /// Loads `home.config_file()` (missing file => all defaults), overlays env vars, then flags.
    ///
    /// Precedence: flag > env > file > default. Every problem of the file is
    /// reported at once ([`ConfigError::Invalid`]); a bad environment
    /// variable or flag is reported by name with its value.
    pub fn load(
        home: &Home,
        env: &dyn Fn(&str) -> Option<String>,
        flags: &FlagOverrides,
    ) -> Result<Config, ConfigError> {
        Self::load_report(home, env, flags).map(|l| l.config)
    }

    /// Like [`Config::load`], and also says where each value came from and
    /// what deserves a warning (a version-1 file, risky settings).
    pub fn load_report(
        home: &Home,
        env: &dyn Fn(&str) -> Option<String>,
        flags: &FlagOverrides,
    ) -> Result<Loaded, ConfigError> {
        let path = home.config_file();
        let mut config = Config::default();
        let mut sources = default_sources();
        let mut warnings = Vec::new();
        let mut file_version = None;
        if let Some(text) = read_optional(&path)? {
            let layer = parse_layer(&path, &text)?;
            let (errors, warns): (Vec<_>, Vec<_>) =
                layer.problems.iter().cloned().partition(Problem::is_error);
            if !errors.is_empty() {
                return Err(ConfigError::Invalid {
                    path,
                    problems: errors,
                });
            }
            warnings.extend(warns.iter().map(ToString::to_string));
            if layer.version == 1 {
                warnings.push(V1_WARNING.to_string());
            }
            file_version = Some(layer.version);
            apply_layer(&layer, &mut config, &mut sources);
        }
        if let Some(e) = overlay_env(&mut config, &mut sources, env)
            .into_iter()
            .next()
        {
            return Err(e.into());
        }
        overlay_flags(&mut config, &mut sources, flags)?;
        let problems = locate(validate::check_config(&config, home), &sources, &path);
        let (errors, warns): (Vec<_>, Vec<_>) = problems.into_iter().partition(Problem::is_error);
        if !errors.is_empty() {
            return Err(ConfigError::Invalid {
                path,
                problems: errors,
            });
        }
        warnings.extend(warns.iter().map(ToString::to_string));
        Ok(Loaded {
            config,
            sources,
            file: path,
            file_version,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_v1_key_maps_to_a_distinct_registry_key() {
        let mut seen = std::collections::BTreeSet::new();
        for (v1, v2) in V1_KEYS {
            assert!(schema::lookup(v2).is_some(), "{v1} -> {v2}");
            assert!(seen.insert(*v2), "{v2} twice");
        }
    }
}
