//! Validation rules for the effective configuration, and the small parsers
//! (URLs, addresses, keys, globs) they use.
//!
//! Rules produce [`Problem`]s keyed by dotted key and without a location;
//! the caller attaches the file line or the variable the value came from.

use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path};
use std::time::Duration;

use wemixvisor_core::Home;

use crate::config::Config;
use crate::error::Problem;
use crate::load::{validate_daemon_name, DAEMON_NAME_EXPECTED};
use crate::schema::KEYS;
use crate::value::{format_duration, Kind, Value};

/// A URL split into the parts the rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    /// Lowercase scheme (`http`, `https`, `ws`, `wss`).
    pub scheme: String,
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    /// Explicit port, if any.
    pub port: Option<u16>,
}

impl UrlParts {
    /// The explicit port, or the scheme's default.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(match self.scheme.as_str() {
            "https" | "wss" => 443,
            _ => 80,
        })
    }
}

/// Parses an `http`, `https`, `ws` or `wss` URL strictly enough to catch
/// typos: a host is required, the port must be 1-65535, no user info, no spaces.
pub fn parse_url(s: &str) -> Result<UrlParts, String> {
    let shape = || {
        format!(
            "must be an http, https, ws or wss URL such as \"http://127.0.0.1:8545\", got \"{s}\""
        )
    };
    let (scheme, rest) = s.split_once("://").ok_or_else(shape)?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https" | "ws" | "wss")
        || s.contains(char::is_whitespace)
    {
        return Err(shape());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(format!("must not carry user credentials, got \"{s}\""));
    }
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        let (h, after) = stripped.split_once(']').ok_or_else(shape)?;
        h.parse::<std::net::Ipv6Addr>().map_err(|_| shape())?;
        match after {
            "" => (h.to_string(), None),
            p => (h.to_string(), Some(p.strip_prefix(':').ok_or_else(shape)?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '_'))
    {
        return Err(shape());
    }
    let port = match port {
        None => None,
        Some(p) => Some(parse_port(p).map_err(|e| format!("{e} in \"{s}\""))?),
    };
    Ok(UrlParts { scheme, host, port })
}

/// Parses a TCP port, 1-65535.
pub fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        Ok(n) => Err(format!("port {n} is out of range 1-65535")),
        Err(_) => Err(format!("port \"{p}\" is not a number from 1 to 65535")),
    }
}

/// True for `localhost`, 127.0.0.0/8 and ::1.
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// True for a 0x-prefixed 20-byte hex address.
pub fn is_address(s: &str) -> bool {
    s.strip_prefix("0x")
        .is_some_and(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// True for a minisign public key line: 56 base64 characters decoding to
/// `Ed` + key id + Ed25519 key (so it starts with `RW`).
pub fn is_minisign_public_key(s: &str) -> bool {
    s.len() == 56
        && s.starts_with("RW")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// True for a host name or a `*.`-prefixed wildcard of one.
pub fn is_host_pattern(s: &str) -> bool {
    let name = s.strip_prefix("*.").unwrap_or(s);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Why a glob pattern relative to chain-data is not acceptable, if it is not.
pub fn check_relative_glob(p: &str) -> Result<(), String> {
    if p.trim().is_empty() {
        return Err("pattern is empty".into());
    }
    let path = Path::new(p);
    if path.is_absolute() || path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!(
            "pattern \"{p}\" must be relative to chain-data/ (no leading '/', no '..')"
        ));
    }
    let open = p.matches('[').count();
    let close = p.matches(']').count();
    if open != close || p.contains("{") != p.contains("}") {
        return Err(format!("pattern \"{p}\" has unbalanced brackets"));
    }
    Ok(())
}

/// Why a configured path is not absolute or inside the home, if it is not.
pub fn check_home_path(p: &Path, home: &Home) -> Result<(), String> {
    if p.as_os_str().is_empty() {
        return Err("path is empty".into());
    }
    if p.is_absolute() {
        return Ok(());
    }
    let mut depth: i32 = 0;
    for c in p.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err(format!(
                "must be absolute or inside the home '{}', got \"{}\"",
                home.root().display(),
                p.display()
            ));
        }
    }
    Ok(())
}

/// Level names `log.level` accepts.
pub const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// True when `s` is a level or a comma list of `target=level` directives.
pub fn is_log_filter(s: &str) -> bool {
    !s.trim().is_empty()
        && s.split(',').all(|d| {
            let d = d.trim();
            let level = d.rsplit_once('=').map_or(d, |(target, lvl)| {
                if target.is_empty()
                    || !target
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'))
                {
                    ""
                } else {
                    lvl
                }
            });
            LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str())
        })
}

/// Checks every rule on the effective configuration.
pub(crate) fn check_config(c: &Config, home: &Home) -> Vec<Problem> {
    let mut out = Vec::new();

    if validate_daemon_name(&c.node.daemon_name).is_err() {
        out.push(
            Problem::error(
                "node.daemon_name",
                format!(
                    "must be {DAEMON_NAME_EXPECTED}, got \"{}\"",
                    c.node.daemon_name
                ),
            )
            .with_help("name the binary file in wemixvisor/current/bin/, e.g. \"geth\""),
        );
    }
    let rpc = match parse_url(&c.node.rpc_url) {
        Ok(u) => Some(u),
        Err(e) => {
            out.push(Problem::error("node.rpc_url", e));
            None
        }
    };

    // durations that must be positive (restart.delay may be zero)
    for spec in KEYS
        .iter()
        .filter(|k| matches!(k.kind, Kind::Duration | Kind::OptDuration))
    {
        if spec.key == "restart.delay" {
            continue;
        }
        if let Value::Duration(d) = spec.get(c) {
            if d.is_zero() {
                out.push(
                    Problem::error(spec.key, "must be positive, got 0s")
                        .with_help(positive_hint(spec)),
                );
            }
        }
    }

    out.extend(check_bounds(c));
    if let Err(e) = home.check_socket_path() {
        let text = e.to_string();
        let (msg, help) = text.split_once("\nhelp: ").unwrap_or((&text, ""));
        out.push(Problem::error("home", msg.to_string()).with_help(help.to_string()));
    }

    let r = &c.restart;
    if r.backoff_max < r.backoff_initial {
        out.push(Problem::error(
            "restart.backoff_max",
            format!(
                "must be at least restart.backoff_initial ({}), got {}",
                format_duration(r.backoff_initial),
                format_duration(r.backoff_max)
            ),
        ));
    }
    if !(r.backoff_multiplier.is_finite() && r.backoff_multiplier >= 1.0) {
        out.push(Problem::error(
            "restart.backoff_multiplier",
            format!("must be at least 1.0, got {}", r.backoff_multiplier),
        ));
    }
    if r.enabled && r.max_restarts == 0 {
        out.push(
            Problem::error(
                "restart.max_restarts",
                "must be at least 1 while restart.enabled is true, got 0",
            )
            .with_help("set restart.enabled = false to never restart the node"),
        );
    }

    let h = &c.health;
    if h.stall_blocks == 0 {
        out.push(Problem::error(
            "health.stall_blocks",
            "must be at least 1, got 0",
        ));
    }
    if h.failures_before_restart == 0 {
        out.push(Problem::error(
            "health.failures_before_restart",
            "must be at least 1, got 0",
        ));
    }

    let b = &c.backup;
    if b.enabled && b.keep_auto == 0 {
        out.push(
            Problem::error(
                "backup.keep_auto",
                "must be at least 1 while backup.enabled is true, got 0",
            )
            .with_help("set backup.enabled = false to take no pre-upgrade backups"),
        );
    }
    for (key, list) in [
        ("backup.include", &b.include),
        ("backup.exclude", &b.exclude),
    ] {
        for p in list {
            if let Err(e) = check_relative_glob(p) {
                out.push(Problem::error(key, e));
            }
        }
    }

    let d = &c.download;
    if d.require_signature && d.public_keys.is_empty() {
        out.push(
            Problem::error(
                "download.require_signature",
                "is true but download.public_keys is empty: no signature could ever be accepted",
            )
            .with_help("add the release signer's minisign public key to download.public_keys"),
        );
    }
    for k in &d.public_keys {
        if !is_minisign_public_key(k) {
            out.push(Problem::error(
                "download.public_keys",
                format!("\"{k}\" is not a minisign public key (56 base64 characters starting with \"RW\")"),
            ));
        }
    }
    for host in &d.allowed_hosts {
        if !is_host_pattern(host) {
            out.push(Problem::error(
                "download.allowed_hosts",
                format!("\"{host}\" is not a host name (expected e.g. \"github.com\" or \"*.example.com\")"),
            ));
        }
    }
    if d.allow_download_binaries && d.public_keys.is_empty() && d.allowed_hosts.is_empty() {
        out.push(
            Problem::error(
                "download.allow_download_binaries",
                "is true but neither download.public_keys nor download.allowed_hosts is set: binaries could come from any host, signed by no one",
            )
            .with_help("add the release signer's minisign key to download.public_keys, or the release hosts to download.allowed_hosts"),
        );
    }
    if d.allow_download_binaries && !d.must_have_checksum && !d.require_signature {
        out.push(
            Problem::warning(
                "download.must_have_checksum",
                "is false and download.require_signature is false: downloaded binaries may run unverified",
            )
            .with_help("set download.must_have_checksum = true"),
        );
    }

    let g = &c.governance;
    if !is_address(&g.gov_ncp_address) {
        out.push(Problem::error(
            "governance.gov_ncp_address",
            format!(
                "must be a 0x-prefixed 20-byte hex address, got \"{}\"",
                g.gov_ncp_address
            ),
        ));
    }
    if let Some(a) = &g.upgrade_proposal_contract {
        if !is_address(a) {
            out.push(Problem::error(
                "governance.upgrade_proposal_contract",
                format!("must be a 0x-prefixed 20-byte hex address, got \"{a}\""),
            ));
        }
    }
    if let Some(url) = &g.release_manifest_url {
        match parse_url(url) {
            Ok(u) if u.scheme == "https" || (u.scheme == "http" && is_loopback_host(&u.host)) => {}
            Ok(_) => out.push(Problem::error(
                "governance.release_manifest_url",
                format!("must be an https URL (plain http only to loopback), got \"{url}\""),
            )),
            Err(e) => out.push(Problem::error("governance.release_manifest_url", e)),
        }
        if g.release_manifest_public_key.is_none() {
            out.push(
                Problem::error(
                    "governance.release_manifest_public_key",
                    "is not set, but governance.release_manifest_url is: the manifest's signature could not be checked",
                )
                .with_help("set the manifest signer's minisign public key"),
            );
        }
    }
    if let Some(k) = &g.release_manifest_public_key {
        if !is_minisign_public_key(k) {
            out.push(Problem::error(
                "governance.release_manifest_public_key",
                format!("\"{k}\" is not a minisign public key (56 base64 characters starting with \"RW\")"),
            ));
        }
    }
    if g.auto_queue_upgrades
        && g.release_manifest_url.is_none()
        && g.upgrade_proposal_contract.is_none()
    {
        out.push(Problem::error(
            "governance.auto_queue_upgrades",
            "is true but neither governance.release_manifest_url nor governance.upgrade_proposal_contract is set: there is nothing to queue from",
        ));
    }

    let a = &c.api;
    match a.bind.parse::<SocketAddr>() {
        Ok(addr) if addr.port() == 0 => {
            out.push(Problem::error("api.bind", "port 0 is out of range 1-65535"))
        }
        Ok(addr) => {
            if a.enabled_tcp && !addr.ip().is_loopback() && a.token_file.is_none() {
                out.push(
                    Problem::error(
                        "api.bind",
                        format!(
                            "binds {addr}, which is not loopback, and api.token_file is not set"
                        ),
                    )
                    .with_help("set api.token_file, or bind 127.0.0.1"),
                );
            }
            if let Some(u) = &rpc {
                let same_host = addr.ip().is_unspecified()
                    || (is_loopback_host(&u.host) && addr.ip().is_loopback())
                    || u.host.parse::<IpAddr>().is_ok_and(|ip| ip == addr.ip());
                if a.enabled_tcp && same_host && u.port_or_default() == addr.port() {
                    out.push(
                        Problem::error(
                            "api.bind",
                            format!(
                                "port {} is also the node's RPC port (node.rpc_url)",
                                addr.port()
                            ),
                        )
                        .with_help("pick another port for the API, e.g. 9090"),
                    );
                }
            }
        }
        Err(_) => {
            let port_err = a
                .bind
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u32>().ok().and_then(|_| parse_port(p).err()));
            out.push(Problem::error(
                "api.bind",
                port_err.unwrap_or_else(|| {
                    format!(
                        "must be ip:port, such as \"127.0.0.1:9090\", got \"{}\"",
                        a.bind
                    )
                }),
            ));
        }
    }
    if let Some(p) = &a.token_file {
        if let Err(e) = check_home_path(p, home) {
            out.push(Problem::error("api.token_file", e));
        }
    }
    for (key, path) in [
        ("upgrade.custom_pre_upgrade", &c.upgrade.custom_pre_upgrade),
        ("download.ca_cert", &c.download.ca_cert),
    ] {
        if let Some(p) = path {
            if let Err(e) = check_home_path(p, home) {
                out.push(Problem::error(key, e));
            }
        }
    }
    for m in &c.upgrade.flag_migrations {
        let ok = m.split_once('=').is_some_and(|(old, new)| {
            old.starts_with('-') && new.starts_with('-') && old.len() > 1 && new.len() > 1
        });
        if !ok {
            out.push(
                Problem::error(
                    "upgrade.flag_migrations",
                    format!("\"{m}\" is not a flag rename of the form --old=--new"),
                )
                .with_help("e.g. flag_migrations = [\"--rpcport=--http.port\"]"),
            );
        }
    }

    for (key, urls) in [
        ("alerts.webhook_urls", &c.alerts.webhook_urls),
        ("alerts.slack_webhook_urls", &c.alerts.slack_webhook_urls),
        ("alerts.alertmanager_urls", &c.alerts.alertmanager_urls),
    ] {
        for u in urls {
            match parse_url(u) {
                Ok(p) if matches!(p.scheme.as_str(), "http" | "https") => {}
                Ok(_) => out.push(Problem::error(
                    key,
                    format!("must be an http or https URL, got \"{u}\""),
                )),
                Err(e) => out.push(Problem::error(key, e)),
            }
        }
    }
    if c.alerts.upgrade_imminent_blocks == 0 {
        out.push(
            Problem::error(
                "alerts.upgrade_imminent_blocks",
                "must be at least 1, got 0",
            )
            .with_help("use a number of blocks such as 100"),
        );
    }

    if !is_log_filter(&c.log.level) {
        out.push(Problem::error(
            "log.level",
            format!(
                "must be a level (trace, debug, info, warn, error, off) or directives such as \"info,wemixvisor_node=debug\", got \"{}\"",
                c.log.level
            ),
        ));
    }
    out
}

/// The fix for a zero duration: the default, or "" where the key is optional.
/// Longest duration any key accepts unless [`max_of`] says otherwise.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The largest value a numeric or duration key accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Max {
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Float(f64),
    /// A duration.
    Duration(Duration),
}

/// The bound of `key`, by key and then by kind (every duration at most 30
/// days, every count at most a million), so that the arithmetic built on
/// them (`block_period * stall_blocks`, backoffs, deadlines) stays small.
pub fn max_of(key: &str, kind: Kind) -> Option<Max> {
    let days = |n: u64| Max::Duration(Duration::from_secs(n * 24 * 3600));
    Some(match key {
        "backup.max_age" => days(3650),
        "restart.backoff_multiplier" => Max::Float(100.0),
        "upgrade.preupgrade_max_retries" => Max::Int(100),
        "health.min_free_disk_mb" => Max::Int(1 << 30),
        "log.node_log_max_mb" => Max::Int(1 << 20),
        "download.max_bytes" => Max::Int(1 << 40),
        _ => match kind {
            Kind::Duration | Kind::OptDuration => Max::Duration(MAX_DURATION),
            Kind::U32 | Kind::U64 => Max::Int(1_000_000),
            Kind::F64 => Max::Float(1e6),
            _ => return None,
        },
    })
}

/// Every numeric and duration key within its [`max_of`] bound.
fn check_bounds(c: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    for spec in KEYS {
        let Some(max) = max_of(spec.key, spec.kind) else {
            continue;
        };
        let over = match (spec.get(c), max) {
            (Value::Int(n), Max::Int(m)) if n > m => Some((n.to_string(), m.to_string())),
            (Value::Float(f), Max::Float(m)) if f.is_nan() || f > m => {
                Some((f.to_string(), m.to_string()))
            }
            (Value::Duration(d), Max::Duration(m)) if d > m => {
                Some((format_duration(d), format_duration(m)))
            }
            _ => None,
        };
        if let Some((got, max)) = over {
            out.push(Problem::error(
                spec.key,
                format!("must be at most {max}, got {got}"),
            ));
        }
    }
    for (key, n) in [
        ("log.node_log_max_mb", c.log.node_log_max_mb),
        ("download.max_bytes", c.download.max_bytes),
    ] {
        if n == 0 {
            out.push(Problem::error(key, "must be at least 1, got 0"));
        }
    }
    out
}

fn positive_hint(spec: &crate::schema::KeySpec) -> String {
    match spec.default_value() {
        Value::Duration(d) if !d.is_zero() => {
            format!("use a duration such as \"{}\"", format_duration(d))
        }
        Value::Unset => "use a duration such as \"30days\", or \"\" for none".into(),
        _ => "use a duration such as \"1s\"".into(),
    }
}

/// Everything `config validate` found, in both files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValidationReport {
    /// The files looked at.
    pub files: Vec<std::path::PathBuf>,
    /// Every problem, errors and warnings, file by file in line order.
    pub problems: Vec<Problem>,
}

impl ValidationReport {
    /// True when no problem is an error.
    pub fn is_valid(&self) -> bool {
        !self.problems.iter().any(Problem::is_error)
    }

    /// Number of error-severity problems.
    pub fn error_count(&self) -> usize {
        self.problems.iter().filter(|p| p.is_error()).count()
    }

    /// The documented exit code: 0 when valid (warnings allowed), 2 when not.
    pub fn exit_code(&self) -> u8 {
        if self.is_valid() {
            0
        } else {
            2
        }
    }

    /// One `error: file:line:col: key: message` (plus `help:`) per problem
    /// and a closing count line.
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        for p in &self.problems {
            let label = match p.severity {
                crate::error::Severity::Error => "error",
                crate::error::Severity::Warning => "warning",
            };
            s.push_str(label);
            s.push_str(": ");
            s.push_str(&p.to_string());
            s.push('\n');
        }
        let errors = self.error_count();
        let warnings = self.problems.len() - errors;
        if errors == 0 {
            s.push_str(&format!(
                "configuration is valid ({warnings} warning{})\n",
                if warnings == 1 { "" } else { "s" }
            ));
        } else {
            s.push_str(&format!(
                "configuration is invalid: {errors} error{}, {warnings} warning{}\n",
                if errors == 1 { "" } else { "s" },
                if warnings == 1 { "" } else { "s" }
            ));
        }
        s
    }

    /// The report as JSON (`{"valid", "files", "problems"}`).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "valid": self.is_valid(),
            "files": self.files,
            "problems": self.problems,
        })
    }
}

fn file_problem(path: &Path, e: crate::error::ConfigError) -> Problem {
    use crate::error::{ConfigError, Location};
    match e {
        ConfigError::Syntax {
            line,
            column,
            message,
            ..
        } => Problem::error("syntax", format!("not valid TOML: {message}"))
            .at(Some(path.to_path_buf()), Some(Location { line, column })),
        ConfigError::UnsupportedVersion {
            found, supported, ..
        } => Problem::error(
            "version",
            format!(
                "schema version {found} is not one this wemixvisor understands (1 to {supported})"
            ),
        )
        .at(Some(path.to_path_buf()), None)
        .with_help("upgrade wemixvisor, or rewrite the file with `wemixvisor init --force`"),
        other => Problem::error("file", other.to_string()).at(Some(path.to_path_buf()), None),
    }
}

/// `config validate`: checks `wemixvisor.toml`, the environment and
/// `node-options.toml` of `home`, and reports every problem at once.
///
/// Only an unreadable file is an `Err`; everything else is in the report.
pub fn validate_home(
    home: &Home,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ValidationReport, crate::error::ConfigError> {
    use crate::load::{
        apply_layer, default_sources, locate, overlay_env, parse_layer, read_optional, V1_WARNING,
    };
    use crate::node_options::{locate_node, parse_node_options};

    let path = home.config_file();
    let mut problems = Vec::new();
    let mut config = Config::default();
    let mut sources = default_sources();
    match read_optional(&path)? {
        None => problems.push(
            Problem::warning("file", "does not exist; the built-in defaults apply")
                .at(Some(path.clone()), None)
                .with_help("create it with `wemixvisor init <mainnet|testnet|devnet>`"),
        ),
        Some(text) => match parse_layer(&path, &text) {
            Ok(layer) => {
                problems.extend(layer.problems.iter().cloned());
                if layer.version == 1 {
                    problems.push(
                        Problem::warning("version", V1_WARNING.to_string())
                            .at(Some(path.clone()), None),
                    );
                }
                apply_layer(&layer, &mut config, &mut sources);
            }
            Err(e) => problems.push(file_problem(&path, e)),
        },
    }
    for e in overlay_env(&mut config, &mut sources, env) {
        problems.push(Problem::error(
            e.var,
            format!("invalid value \"{}\": expected {}", e.value, e.expected),
        ));
    }
    problems.extend(locate(check_config(&config, home), &sources, &path));

    let node_path = home.node_options_file();
    if let Some(text) = read_optional(&node_path)? {
        match parse_node_options(&node_path, &text) {
            Ok(parsed) => {
                problems.extend(parsed.problems);
                problems.extend(locate_node(
                    parsed.options.check(),
                    &parsed.locations,
                    &node_path,
                ));
                problems.extend(locate_node(
                    parsed.options.check_against(&config, home),
                    &parsed.locations,
                    &node_path,
                ));
            }
            Err(e) => problems.push(file_problem(&node_path, e)),
        }
    }
    // file by file, in line order; environment problems last
    problems.sort_by(|a, b| {
        (a.file.is_none(), &a.file, a.location).cmp(&(b.file.is_none(), &b.file, b.location))
    });
    Ok(ValidationReport {
        files: vec![path, node_path],
        problems,
    })
}
