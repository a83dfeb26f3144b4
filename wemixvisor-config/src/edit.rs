//! `config set` and `config reset`: in-place edits with `toml_edit` that keep
//! every comment and the layout, validated as a whole before anything is
//! written, and written atomically.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use wemixvisor_core::{atomic, CoreError, Home};

use crate::config::{Config, CURRENT_VERSION};
use crate::error::{ConfigError, Problem};
use crate::load::{apply_layer, default_sources, locate, parse_layer, read_optional};
use crate::schema::{self, KeySpec, KEYS};
use crate::validate;
use crate::value::Value;

/// What an edit changed.
#[derive(Debug, Clone, PartialEq)]
pub struct EditOutcome {
    /// The file edited.
    pub file: PathBuf,
    /// Each changed key with its old and new value (empty: nothing changed,
    /// nothing written).
    pub changes: Vec<(&'static str, Value, Value)>,
    /// Warnings about the resulting file (valid, but worth a look).
    pub warnings: Vec<String>,
}

impl EditOutcome {
    /// True when every changed key can be applied by a running daemon on reload.
    pub fn reload_safe(&self) -> bool {
        self.changes.iter().all(|(k, _, _)| schema::reload_safe(k))
    }

    /// When the change takes effect, for telling the operator.
    pub fn applies_when(&self) -> &'static str {
        if self.changes.is_empty() {
            "nothing changed"
        } else if self.reload_safe() {
            "a running wemixvisor applies this on reload (`wemixvisor restart` is not needed)"
        } else {
            "takes effect the next time wemixvisor starts the node (`wemixvisor restart`)"
        }
    }
}

fn lookup(key: &str) -> Result<&'static KeySpec, ConfigError> {
    schema::lookup(key).ok_or_else(|| ConfigError::UnknownKey {
        key: key.to_string(),
        suggestion: schema::suggest_key(key).map(str::to_string),
    })
}

/// Every problem of `text` as a config file, with the file's values alone
/// (no environment, no flags).
pub(crate) fn check_text(
    path: &Path,
    text: &str,
    home: &Home,
) -> Result<Vec<Problem>, ConfigError> {
    let layer = parse_layer(path, text)?;
    let mut problems = layer.problems.clone();
    let mut config = Config::default();
    let mut sources = default_sources();
    apply_layer(&layer, &mut config, &mut sources);
    problems.extend(locate(
        validate::check_config(&config, home),
        &sources,
        path,
    ));
    Ok(problems)
}

/// The text of `text` with `changes` applied in place (comments, order and
/// formatting kept; the inline comment after a replaced value stays too).
fn apply_edits(text: &str, changes: &[(&'static KeySpec, Value)]) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string())?;
    for (spec, value) in changes {
        let section = spec.section();
        let name = spec.name();
        if !doc.contains_key(section) {
            doc.insert(section, toml_edit::Item::Table(toml_edit::Table::new()));
        }
        let table = doc
            .get_mut(section)
            .and_then(toml_edit::Item::as_table_like_mut)
            .ok_or_else(|| format!("[{section}] is not a table"))?;
        let mut new = value.to_toml();
        match table.get_mut(name) {
            Some(item) => {
                if let Some(old) = item.as_value() {
                    *new.decor_mut() = old.decor().clone();
                }
                *item = toml_edit::Item::Value(new);
            }
            None => {
                table.insert(name, toml_edit::Item::Value(new));
            }
        }
    }
    Ok(doc.to_string())
}

/// Applies `changes` to the text of a config file and validates the result.
fn edit_text(
    path: &Path,
    text: &str,
    home: &Home,
    changes: Vec<(&'static KeySpec, Value)>,
) -> Result<(String, EditOutcome), ConfigError> {
    let before = parse_layer(path, text)?;
    if before.version < CURRENT_VERSION {
        return Err(ConfigError::NeedsMigration {
            path: path.to_path_buf(),
            found: before.version,
            current: CURRENT_VERSION,
        });
    }
    let mut current = Config::default();
    apply_layer(&before, &mut current, &mut default_sources());
    // a key the file already holds with this value needs no edit
    let changes: Vec<(&'static KeySpec, Value)> = changes
        .into_iter()
        .filter(|(spec, v)| before.get(spec.key).is_none_or(|fv| fv.value != *v))
        .collect();
    let outcome_changes: Vec<(&'static str, Value, Value)> = changes
        .iter()
        .map(|(spec, v)| (spec.key, spec.get(&current), v.clone()))
        .collect();
    if changes.is_empty() {
        return Ok((
            text.to_string(),
            EditOutcome {
                file: path.to_path_buf(),
                changes: Vec::new(),
                warnings: Vec::new(),
            },
        ));
    }
    let new_text = apply_edits(text, &changes).map_err(|message| ConfigError::Syntax {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        message,
    })?;
    let problems = check_text(path, &new_text, home)?;
    let (errors, warnings): (Vec<_>, Vec<_>) = problems.into_iter().partition(Problem::is_error);
    if !errors.is_empty() {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems: errors,
        });
    }
    Ok((
        new_text,
        EditOutcome {
            file: path.to_path_buf(),
            changes: outcome_changes,
            warnings: warnings.iter().map(ToString::to_string).collect(),
        },
    ))
}

/// `config set` on text: parses `raw` as the key's type, sets it in place,
/// validates the whole result. Returns the new text; an error changes nothing.
pub fn set_text(
    path: &Path,
    text: &str,
    home: &Home,
    key: &str,
    raw: &str,
) -> Result<(String, EditOutcome), ConfigError> {
    let spec = lookup(key)?;
    let value = spec
        .kind
        .parse_text(raw)
        .map_err(|expected| ConfigError::BadValue {
            key: key.to_string(),
            value: raw.to_string(),
            expected,
        })?;
    edit_text(path, text, home, vec![(spec, value)])
}

/// The value `config reset` restores for `spec`: the template's value for
/// the network the file names, else the built-in default.
fn reset_target(spec: &KeySpec, network_config: &Config) -> Value {
    spec.get(network_config)
}

/// `config reset [key]` on text. One key, or every key, goes back to the
/// value of the template for the file's `node.network` (the built-in
/// default when no network is set); comments are kept.
pub fn reset_text(
    path: &Path,
    text: &str,
    home: &Home,
    key: Option<&str>,
) -> Result<(String, EditOutcome), ConfigError> {
    let layer = parse_layer(path, text)?;
    let network = layer.get("node.network").and_then(|v| match &v.value {
        Value::Str(s) => s.parse().ok(),
        _ => None,
    });
    let target = network.map_or_else(Config::default, Config::for_network);
    let changes = match key {
        Some(k) => vec![lookup(k)?],
        None => KEYS.iter().collect(),
    };
    // keys the file leaves out already have the built-in default; only add
    // them when the template wants something else
    let changes = changes
        .into_iter()
        .map(|spec| (spec, reset_target(spec, &target)))
        .filter(|(spec, v)| layer.get(spec.key).is_some() || *v != spec.default_value())
        .collect::<Vec<_>>();
    edit_text(path, text, home, changes)
}

fn read_existing(path: &Path) -> Result<(String, u32), ConfigError> {
    let text = read_optional(path)?.ok_or_else(|| ConfigError::NoConfigFile {
        path: path.to_path_buf(),
    })?;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .map_err(|e| CoreError::io("stat", path, e))?;
    Ok((text, mode))
}

fn write_if_changed(
    path: &Path,
    mode: u32,
    new_text: &str,
    outcome: &EditOutcome,
) -> Result<(), ConfigError> {
    if !outcome.changes.is_empty() {
        atomic::write_atomic(path, new_text.as_bytes(), mode)?;
    }
    Ok(())
}

/// `config set <key> <value>` on `home.config_file()`, written atomically
/// (same permissions) only when valid and different.
pub fn set_key(home: &Home, key: &str, raw: &str) -> Result<EditOutcome, ConfigError> {
    let path = home.config_file();
    let (text, mode) = read_existing(&path)?;
    let (new_text, outcome) = set_text(&path, &text, home, key, raw)?;
    write_if_changed(&path, mode, &new_text, &outcome)?;
    Ok(outcome)
}

/// `config reset [key]` on `home.config_file()` (see [`reset_text`]).
pub fn reset_key(home: &Home, key: Option<&str>) -> Result<EditOutcome, ConfigError> {
    let path = home.config_file();
    let (text, mode) = read_existing(&path)?;
    let (new_text, outcome) = reset_text(&path, &text, home, key)?;
    write_if_changed(&path, mode, &new_text, &outcome)?;
    Ok(outcome)
}
