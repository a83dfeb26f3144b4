//! `config migrate`: rewriting an older schema version as the current one.
//!
//! Version 1 (the first release) is a flat table of ten keys with no
//! `version` key (see [`crate::V1_KEYS`]). Migration maps each to its
//! version-2 key, renders a complete commented version-2 file holding those
//! values (everything else at its default), checks it, keeps the old file
//! as `wemixvisor.toml.v1.bak` (or `.v1.bak.N` when that exists) and then
//! replaces the file atomically.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use wemixvisor_core::{atomic, CoreError, Home};

use crate::config::{Config, CURRENT_VERSION};
use crate::edit::check_text;
use crate::error::{ConfigError, Problem};
use crate::load::{apply_layer, default_sources, parse_layer, read_optional};
use crate::template::render_config;
use crate::value::Value;

/// One value moved from an old key to its new place.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    /// Key in the old file.
    pub from: String,
    /// Dotted key in the new file.
    pub to: &'static str,
    /// The value carried over.
    pub value: Value,
}

/// The result of `config migrate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    /// The config file.
    pub file: PathBuf,
    /// Where the old file was kept (`None` when nothing was migrated).
    pub backup: Option<PathBuf>,
    /// Version found.
    pub from_version: u32,
    /// Version written.
    pub to_version: u32,
    /// What moved where.
    pub moves: Vec<Move>,
}

impl Migration {
    /// A printable summary: what moved where, and where the old file is.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        if self.from_version == self.to_version {
            let _ = write!(
                s,
                "'{}' is already at schema version {}; nothing to migrate",
                self.file.display(),
                self.to_version
            );
            return s;
        }
        let _ = writeln!(
            s,
            "migrated '{}' from schema version {} to {}",
            self.file.display(),
            self.from_version,
            self.to_version
        );
        if self.moves.is_empty() {
            let _ = writeln!(
                s,
                "  (the old file set no values; every key now shows its default)"
            );
        }
        let width = self.moves.iter().map(|m| m.from.len()).max().unwrap_or(0);
        for m in &self.moves {
            let _ = writeln!(s, "  {:width$} -> {} = {}", m.from, m.to, m.value);
        }
        if let Some(b) = &self.backup {
            let _ = write!(
                s,
                "the old file is kept as '{}' (its comments are not carried over)",
                b.display()
            );
        }
        s
    }
}

/// Migrates the text of a config file. `Ok(None)` when it is already current.
pub fn migrate_text(
    path: &Path,
    text: &str,
    home: &Home,
) -> Result<Option<(String, Vec<Move>)>, ConfigError> {
    let layer = parse_layer(path, text)?;
    if layer.version >= CURRENT_VERSION {
        return Ok(None);
    }
    let errors: Vec<Problem> = layer
        .problems
        .iter()
        .filter(|p| p.is_error())
        .cloned()
        .collect();
    if !errors.is_empty() {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems: errors,
        });
    }
    let mut config = Config::default();
    apply_layer(&layer, &mut config, &mut default_sources());
    let moves: Vec<Move> = layer
        .values
        .iter()
        .map(|v| Move {
            from: v.v1_key.unwrap_or(v.spec.key).to_string(),
            to: v.spec.key,
            value: v.value.clone(),
        })
        .collect();
    let intro = vec![
        "wemixvisor.toml: configuration of the wemixvisor supervisor.".to_string(),
        String::new(),
        format!(
            "Migrated from schema version {} by `wemixvisor config migrate`.",
            layer.version
        ),
        "geth's own options (ports, APIs, network preset) are in node-options.toml.".to_string(),
    ];
    let new_text = render_config(&config, &intro);
    let errors: Vec<Problem> = check_text(path, &new_text, home)?
        .into_iter()
        .filter(Problem::is_error)
        .collect();
    if !errors.is_empty() {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems: errors,
        });
    }
    Ok(Some((new_text, moves)))
}

fn free_backup_path(path: &Path, version: u32) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "wemixvisor.toml".into());
    let base = path.with_file_name(format!("{name}.v{version}.bak"));
    if !base.exists() {
        return base;
    }
    (1u32..)
        .map(|n| path.with_file_name(format!("{name}.v{version}.bak.{n}")))
        .find(|p| !p.exists())
        .unwrap_or(base)
}

/// `config migrate` on `home.config_file()`: keeps a backup of the old file,
/// then writes the migrated one atomically.
pub fn migrate(home: &Home) -> Result<Migration, ConfigError> {
    let path = home.config_file();
    let text =
        read_optional(&path)?.ok_or_else(|| ConfigError::NoConfigFile { path: path.clone() })?;
    let from_version = parse_layer(&path, &text)?.version;
    let Some((new_text, moves)) = migrate_text(&path, &text, home)? else {
        return Ok(Migration {
            file: path,
            backup: None,
            from_version,
            to_version: from_version,
            moves: Vec::new(),
        });
    };
    let mode = std::fs::metadata(&path)
        .map(|m| m.permissions().mode() & 0o777)
        .map_err(|e| CoreError::io("stat", &path, e))?;
    let backup = free_backup_path(&path, from_version);
    atomic::copy_atomic(&path, &backup, mode)?;
    atomic::write_atomic(&path, new_text.as_bytes(), mode)?;
    Ok(Migration {
        file: path,
        backup: Some(backup),
        from_version,
        to_version: CURRENT_VERSION,
        moves,
    })
}
