//! Geth-style command line parsing.
//!
//! Accepted forms, as Go's `flag` package (and so geth) accepts them:
//! `--flag value`, `--flag=value`, `-flag value`, `-flag=value`. Boolean flags
//! never take a separate value: `--http` or `--http=false`. `--` ends the
//! flags. The first positional argument is a command (`version`, `help`);
//! any other positional is an error, as in geth (`invalid command: "x"`).
//!
//! Unknown flags are tolerated: they are reported (`WARN unknown flag --x`)
//! and ignored. Since devnode cannot know whether an unknown flag takes a
//! value, it uses one simple rule: an unknown flag written without `=`
//! consumes the next argument when that argument does not start with `-`.
//! Write `--unknown=value` / `--unknown-bool=true` to be unambiguous.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Whether a flag is a switch or takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--flag` or `--flag=true|false`.
    Bool,
    /// `--flag value` or `--flag=value`.
    Value,
}

/// Where a flag is listed in `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// A flag real geth also has.
    Geth,
    /// A devnode-only simulation knob (`--sim.*`).
    Sim,
}

/// One known flag.
#[derive(Debug)]
pub struct FlagSpec {
    /// Name without dashes, e.g. `http.port`.
    pub name: &'static str,
    /// Switch or value.
    pub kind: Kind,
    /// Default shown in `--help`.
    pub default: Option<&'static str>,
    /// One-line description.
    pub usage: &'static str,
    /// Help section.
    pub section: Section,
}

const fn flag(
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    usage: &'static str,
    section: Section,
) -> FlagSpec {
    FlagSpec {
        name,
        kind,
        default,
        usage,
        section,
    }
}

use Kind::{Bool, Value};
use Section::{Geth, Sim};

/// Every flag devnode knows, in `--help` order.
pub const FLAGS: &[FlagSpec] = &[
    flag("datadir", Value, Some("./devnode-data"), "Data directory for the databases and keystore", Geth),
    flag("http", Bool, Some("false"), "Enable the HTTP-RPC server", Geth),
    flag("http.addr", Value, Some("127.0.0.1"), "HTTP-RPC server listening interface", Geth),
    flag("http.port", Value, Some("8545"), "HTTP-RPC server listening port (0 = any free port)", Geth),
    flag("http.api", Value, None, "APIs offered over the HTTP-RPC interface (default: all of admin,eth,istanbul,net,rpc,web3)", Geth),
    flag("port", Value, Some("30303"), "Network listening port (recorded only)", Geth),
    flag("networkid", Value, Some("1111"), "Explicitly set network id (also the chain id)", Geth),
    flag("mainnet", Bool, Some("false"), "Wemix mainnet: network id 1111", Geth),
    flag("testnet", Bool, Some("false"), "Wemix testnet: network id 1112", Geth),
    flag("syncmode", Value, Some("snap"), "Blockchain sync mode (\"snap\", \"full\" or \"light\")", Geth),
    flag("verbosity", Value, Some("3"), "Logging verbosity: 0=silent, 1=error, 2=warn, 3=info, 4=debug, 5=detail (recorded only)", Geth),
    flag("identity", Value, None, "Custom node name (appears in the client version)", Geth),
    flag("ipcdisable", Bool, Some("false"), "Disable the IPC-RPC server", Geth),
    flag("ipcpath", Value, Some("geth.ipc"), "Filename for IPC socket/pipe within the datadir (explicit paths escape it)", Geth),
    flag("ws", Bool, Some("false"), "Enable the WS-RPC server (recorded only)", Geth),
    flag("ws.addr", Value, Some("127.0.0.1"), "WS-RPC server listening interface (recorded only)", Geth),
    flag("ws.port", Value, Some("8546"), "WS-RPC server listening port (recorded only)", Geth),
    flag("ws.api", Value, None, "APIs offered over the WS-RPC interface (recorded only)", Geth),
    flag("metrics", Bool, Some("false"), "Enable metrics collection (recorded only)", Geth),
    flag("metrics.addr", Value, Some("127.0.0.1"), "Metrics HTTP server listening interface (recorded only)", Geth),
    flag("metrics.port", Value, Some("6060"), "Metrics HTTP server listening port (recorded only)", Geth),
    flag("maxpeers", Value, Some("50"), "Maximum number of network peers (recorded only)", Geth),
    flag("bootnodes", Value, None, "Comma separated enode URLs for P2P discovery (recorded only)", Geth),
    flag("gcmode", Value, Some("full"), "Blockchain garbage collection mode (recorded only)", Geth),
    flag("db.engine", Value, None, "Backing database implementation (recorded only)", Geth),
    flag("version", Bool, Some("false"), "print the version", Geth),
    flag("help", Bool, Some("false"), "show help", Geth),
    flag("sim.version", Value, None, "Version reported by web3_clientVersion and `version` (default: build-time DEVNODE_VERSION or v0.0.0-dev)", Sim),
    flag("sim.reject-flags", Value, None, "Comma-separated flags this binary pretends not to know: passing one exits 1", Sim),
    flag("sim.block-period", Value, Some("1s"), "Time between blocks: 200ms, 1s, or plain milliseconds", Sim),
    flag("sim.stall-at", Value, None, "Stop producing blocks at this height", Sim),
    flag("sim.resume-after", Value, None, "With --sim.stall-at: blocks resume this long after the start (the other validators arrive)", Sim),
    flag("sim.crash-after", Value, None, "Exit 2 this long after the start (a binary that crashes after passing its first checks)", Sim),
    flag("sim.crash-at", Value, None, "Exit 2 once the head reaches this height during this run (at once after the first block if already past it)", Sim),
    flag("sim.exit-at-start", Value, None, "Exit with this code right after the startup banner", Sim),
    flag("sim.shutdown-delay", Value, Some("0"), "Time spent shutting down after SIGTERM/SIGINT", Sim),
    flag("sim.ignore-sigterm", Bool, Some("false"), "Ignore SIGTERM and SIGINT (only SIGKILL stops the node)", Sim),
    flag("sim.syncing", Bool, Some("false"), "eth_syncing returns a syncing object instead of false", Sim),
    flag("sim.peers", Value, Some("3"), "net_peerCount", Sim),
    flag("sim.address", Value, None, "This node's address (default: derived from the datadir)", Sim),
    flag("sim.validators", Value, Some("4"), "Number of validators", Sim),
    flag("sim.not-validator", Bool, Some("false"), "This node is not one of the validators (otherwise it is validator 0)", Sim),
    flag("sim.offline", Value, None, "Comma-separated validator indexes that author and seal nothing", Sim),
    flag("sim.round-change", Value, None, "Comma-separated heights whose blocks were sealed in round 1", Sim),
    flag("sim.wbft-fork", Value, None, "First WBFT block; istanbul_* block methods error before it (default: the croissant height given with --sim.fork, else 0)", Sim),
    flag("sim.epoch-length", Value, Some("10"), "Blocks per epoch: epochInfo is set on multiples of it", Sim),
    flag("sim.fork", Value, None, "Fork height in admin_nodeInfo config, name=height (repeatable; height none removes it)", Sim),
    flag("sim.flood-logs", Value, None, "Write numbered `LOG <seq> ...` lines to stdout at this many lines per second (0 = max speed)", Sim),
    flag("sim.flood-count", Value, None, "Stop flooding after this many lines", Sim),
    flag("sim.log-every-block", Bool, Some("true"), "Log `Imported new chain segment` for every block", Sim),
    flag("sim.quiet", Bool, Some("false"), "Do not log every block", Sim),
    flag("sim.db-format", Value, Some("1"), "Datadir format this binary reads and writes (1 or 2); the other is refused", Sim),
];

/// Looks a flag up by name (without dashes); `h` is an alias of `help`.
pub fn lookup(name: &str) -> Option<&'static FlagSpec> {
    let name = if name == "h" { "help" } else { name };
    FLAGS.iter().find(|f| f.name == name)
}

/// A command line that cannot be used; its `Display` is the line to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    /// A flag in `--sim.reject-flags` was passed.
    NotDefined(String),
    /// A value flag was last on the line.
    NeedsArg(String),
    /// `---x`, `-=x` and the like.
    BadSyntax(String),
    /// A value that does not parse.
    InvalidValue {
        /// Flag name without dashes.
        flag: String,
        /// The value as given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A positional argument that is not a command.
    InvalidCommand(String),
    /// Flags that cannot be combined.
    Conflict(String),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotDefined(n) => write!(f, "flag provided but not defined: -{n}"),
            Self::NeedsArg(n) => write!(f, "flag needs an argument: -{n}"),
            Self::BadSyntax(a) => write!(f, "bad flag syntax: {a}"),
            Self::InvalidValue {
                flag,
                value,
                reason,
            } => write!(
                f,
                "Fatal: invalid value \"{value}\" for flag -{flag}: {reason}"
            ),
            Self::InvalidCommand(c) => write!(f, "Fatal: invalid command: \"{c}\""),
            Self::Conflict(m) => write!(f, "Fatal: {m}"),
        }
    }
}

/// A flag as found on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Name without dashes.
    pub name: String,
    /// Value (`"true"` for a bare switch); `None` for an unknown flag without one.
    pub value: Option<String>,
    /// Whether devnode knows the flag.
    pub known: bool,
}

/// The command line split into flags and positionals, before typing.
#[derive(Debug, Default)]
pub struct Scanned {
    /// Flags in command-line order.
    pub flags: Vec<Seen>,
    /// Positional arguments.
    pub positionals: Vec<String>,
}

impl Scanned {
    fn last(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|s| s.known && s.name == name)
            .and_then(|s| s.value.as_deref())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.flags
            .iter()
            .filter(move |s| s.known && s.name == name)
            .filter_map(|s| s.value.as_deref())
    }
}

/// Splits argv (without the program name) into flags and positionals.
pub fn scan(argv: &[String]) -> Result<Scanned, ArgError> {
    let mut out = Scanned::default();
    let mut i = 0;
    let mut only_positionals = false;
    while i < argv.len() {
        let arg = &argv[i];
        i += 1;
        if only_positionals || !arg.starts_with('-') || arg == "-" {
            out.positionals.push(arg.clone());
            continue;
        }
        if arg == "--" {
            only_positionals = true;
            continue;
        }
        let body = arg.strip_prefix("--").unwrap_or(&arg[1..]);
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(ArgError::BadSyntax(arg.clone()));
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let next_value = |i: usize| argv.get(i).filter(|n| !n.starts_with('-')).cloned();
        match lookup(name) {
            Some(spec) => {
                let value = match spec.kind {
                    Kind::Bool => {
                        let v = inline.unwrap_or_else(|| "true".to_string());
                        parse_bool(spec.name, &v)?;
                        v
                    }
                    Kind::Value => match inline {
                        Some(v) => v,
                        None => {
                            let v = argv
                                .get(i)
                                .cloned()
                                .ok_or_else(|| ArgError::NeedsArg(spec.name.to_string()))?;
                            i += 1;
                            v
                        }
                    },
                };
                out.flags.push(Seen {
                    name: spec.name.to_string(),
                    value: Some(value),
                    known: true,
                });
            }
            None => {
                let value = match inline {
                    Some(v) => Some(v),
                    None => {
                        let v = next_value(i);
                        if v.is_some() {
                            i += 1;
                        }
                        v
                    }
                };
                out.flags.push(Seen {
                    name: name.to_string(),
                    value,
                    known: false,
                });
            }
        }
    }
    Ok(out)
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the node.
    Run(Box<Config>),
    /// Print this help text and exit 0.
    Help(String),
    /// Print version text for this version and exit 0.
    Version(String),
}

/// Typed settings for one run.
#[derive(Debug, Clone)]
pub struct Config {
    /// `--datadir`.
    pub datadir: PathBuf,
    /// `--http`.
    pub http: bool,
    /// `--http.addr`.
    pub http_addr: String,
    /// `--http.port`.
    pub http_port: u16,
    /// `--http.api`; `None` = every namespace.
    pub http_api: Option<Vec<String>>,
    /// `--port` (p2p; recorded in admin_nodeInfo only).
    pub p2p_port: u16,
    /// Network id from `--networkid` / `--mainnet` / `--testnet`.
    pub network_id: u64,
    /// `--syncmode`.
    pub syncmode: String,
    /// `--verbosity`.
    pub verbosity: u8,
    /// `--identity`.
    pub identity: Option<String>,
    /// The IPC socket (`--ipcpath` resolved as geth does); `None` with
    /// `--ipcdisable`.
    pub ipc: Option<PathBuf>,
    /// Unknown flags, to be reported.
    pub unknown: Vec<Seen>,
    /// The `--sim.*` knobs.
    pub sim: SimConfig,
}

/// The `--sim.*` knobs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Version with a leading `v`.
    pub version: String,
    /// Head advances every this long.
    pub block_period: Duration,
    /// No blocks at or past this height.
    pub stall_at: Option<u64>,
    /// Exit 2 when the head reaches this.
    pub crash_at: Option<u64>,
    /// With `stall_at`: blocks resume this long after the start.
    pub resume_after: Option<Duration>,
    /// Exit 2 this long after the start.
    pub crash_after: Option<Duration>,
    /// Exit with this code after the banner.
    pub exit_at_start: Option<u8>,
    /// Sleep this long when shutting down.
    pub shutdown_delay: Duration,
    /// Ignore SIGTERM/SIGINT.
    pub ignore_sigterm: bool,
    /// eth_syncing reports an object.
    pub syncing: bool,
    /// net_peerCount.
    pub peers: u64,
    /// `--sim.address`.
    pub address: Option<[u8; 20]>,
    /// Number of validators (≥ 1).
    pub validators: usize,
    /// This node is not validator 0.
    pub not_validator: bool,
    /// Validator indexes that author and seal nothing.
    pub offline: Vec<usize>,
    /// Heights sealed in round 1.
    pub round_changes: Vec<u64>,
    /// First WBFT block.
    pub wbft_fork: u64,
    /// Blocks per epoch (≥ 1).
    pub epoch_length: u64,
    /// Fork overrides: config key (e.g. `londonBlock`) → height, `None` removes.
    pub forks: Vec<(String, Option<u64>)>,
    /// Flood stdout at this many lines per second (0 = max).
    pub flood_logs: Option<u64>,
    /// Stop flooding after this many lines.
    pub flood_count: Option<u64>,
    /// Log every imported block.
    pub log_every_block: bool,
    /// `--sim.db-format`: the datadir format (1 or 2).
    pub db_format: u8,
}

/// The version devnode reports, always with a leading `v`.
pub fn effective_version(sim_version: Option<&str>) -> String {
    let v = sim_version
        .or(option_env!("DEVNODE_VERSION"))
        .filter(|v| !v.trim().is_empty())
        .unwrap_or("v0.0.0-dev")
        .trim();
    if v.starts_with('v') {
        v.to_string()
    } else {
        format!("v{v}")
    }
}

/// Parses the whole command line (without the program name).
pub fn parse(argv: &[String]) -> Result<Command, ArgError> {
    let scanned = scan(argv)?;

    let rejected: Vec<String> = scanned
        .last("sim.reject-flags")
        .map(split_list)
        .unwrap_or_default()
        .into_iter()
        .map(|f| f.trim_start_matches('-').to_string())
        .collect();
    if let Some(bad) = scanned.flags.iter().find(|s| {
        let canonical = lookup(&s.name).map_or(s.name.as_str(), |f| f.name);
        rejected.iter().any(|r| r == &s.name || r == canonical)
    }) {
        return Err(ArgError::NotDefined(bad.name.clone()));
    }

    let version = effective_version(scanned.last("sim.version"));
    if is_true(scanned.last("help")) {
        return Ok(Command::Help(help_text(&rejected)));
    }
    if is_true(scanned.last("version")) {
        return Ok(Command::Version(version));
    }
    match scanned.positionals.first().map(String::as_str) {
        None => {}
        Some("version") => return Ok(Command::Version(version)),
        Some("help") => return Ok(Command::Help(help_text(&rejected))),
        Some(other) => return Err(ArgError::InvalidCommand(other.to_string())),
    }

    Ok(Command::Run(Box::new(build_config(&scanned, version)?)))
}

fn build_config(s: &Scanned, version: String) -> Result<Config, ArgError> {
    let mainnet = is_true(s.last("mainnet"));
    let testnet = is_true(s.last("testnet"));
    if mainnet && testnet {
        return Err(ArgError::Conflict(
            "flags --mainnet, --testnet can't be used at the same time".to_string(),
        ));
    }
    let network_id = match s.last("networkid") {
        Some(v) => parse_u64("networkid", v)?,
        None if testnet => 1112,
        None => 1111,
    };

    let syncmode = s.last("syncmode").unwrap_or("snap").to_string();
    if !matches!(syncmode.as_str(), "snap" | "full" | "light") {
        return Err(invalid(
            "syncmode",
            &syncmode,
            format!("unknown sync mode \"{syncmode}\""),
        ));
    }
    let verbosity = match s.last("verbosity") {
        Some(v) => {
            let n = parse_u64("verbosity", v)?;
            u8::try_from(n)
                .ok()
                .filter(|n| *n <= 5)
                .ok_or_else(|| invalid("verbosity", v, "must be 0..5".to_string()))?
        }
        None => 3,
    };

    let validators = usize_of("sim.validators", s.last("sim.validators").unwrap_or("4"))?;
    if validators == 0 || validators > 1024 {
        let v = s.last("sim.validators").unwrap_or("0");
        return Err(invalid("sim.validators", v, "must be 1..1024".to_string()));
    }
    let mut offline = Vec::new();
    for v in s.all("sim.offline") {
        for item in split_list(v) {
            let idx = usize_of("sim.offline", &item)?;
            if idx >= validators {
                return Err(invalid(
                    "sim.offline",
                    &item,
                    format!("no validator {idx} (there are {validators})"),
                ));
            }
            offline.push(idx);
        }
    }
    let mut round_changes = Vec::new();
    for v in s.all("sim.round-change") {
        for item in split_list(v) {
            round_changes.push(parse_u64("sim.round-change", &item)?);
        }
    }
    let mut forks = Vec::new();
    for v in s.all("sim.fork") {
        forks.push(parse_fork(v)?);
    }
    let wbft_fork = match s.last("sim.wbft-fork") {
        Some(v) => parse_u64("sim.wbft-fork", v)?,
        None => forks
            .iter()
            .rev()
            .find(|(k, _)| k == "croissantBlock")
            .and_then(|(_, h)| *h)
            .unwrap_or(0),
    };
    let epoch_length = parse_u64(
        "sim.epoch-length",
        s.last("sim.epoch-length").unwrap_or("10"),
    )?;
    if epoch_length == 0 {
        return Err(invalid(
            "sim.epoch-length",
            "0",
            "must be at least 1".to_string(),
        ));
    }
    let block_period = parse_duration(
        "sim.block-period",
        s.last("sim.block-period").unwrap_or("1s"),
    )?;
    if block_period.is_zero() {
        let v = s.last("sim.block-period").unwrap_or("0");
        return Err(invalid(
            "sim.block-period",
            v,
            "must be longer than zero".to_string(),
        ));
    }
    let exit_at_start = match s.last("sim.exit-at-start") {
        Some(v) => {
            let n = parse_u64("sim.exit-at-start", v)?;
            Some(
                u8::try_from(n)
                    .map_err(|_| invalid("sim.exit-at-start", v, "must be 0..255".to_string()))?,
            )
        }
        None => None,
    };
    let address = s
        .last("sim.address")
        .map(|v| {
            parse_address(v)
                .ok_or_else(|| invalid("sim.address", v, "want 0x and 40 hex digits".to_string()))
        })
        .transpose()?;

    let quiet = is_true(s.last("sim.quiet"));
    let db_format = match s.last("sim.db-format").unwrap_or("1") {
        "1" => 1,
        "2" => 2,
        other => {
            return Err(invalid(
                "sim.db-format",
                other,
                "must be 1 or 2".to_string(),
            ))
        }
    };
    let http_api = s.last("http.api").map(|v| {
        split_list(v)
            .into_iter()
            .map(|m| m.to_ascii_lowercase())
            .collect()
    });

    let datadir = PathBuf::from(s.last("datadir").unwrap_or("./devnode-data"));
    let ipc = if is_true(s.last("ipcdisable")) {
        None
    } else {
        let name = s.last("ipcpath").unwrap_or("geth.ipc");
        // geth: a bare file name lives in the datadir, a path is taken as is
        if std::path::Path::new(name).file_name() == Some(std::ffi::OsStr::new(name)) {
            Some(datadir.join(name))
        } else {
            Some(PathBuf::from(name))
        }
    };
    Ok(Config {
        datadir,
        ipc,
        http: is_true(s.last("http")),
        http_addr: s.last("http.addr").unwrap_or("127.0.0.1").to_string(),
        http_port: parse_port("http.port", s.last("http.port").unwrap_or("8545"))?,
        http_api,
        p2p_port: parse_port("port", s.last("port").unwrap_or("30303"))?,
        network_id,
        syncmode,
        verbosity,
        identity: s.last("identity").map(str::to_string),
        unknown: s.flags.iter().filter(|f| !f.known).cloned().collect(),
        sim: SimConfig {
            version,
            block_period,
            stall_at: opt_u64(s, "sim.stall-at")?,
            crash_at: opt_u64(s, "sim.crash-at")?,
            resume_after: s
                .last("sim.resume-after")
                .map(|v| parse_duration("sim.resume-after", v))
                .transpose()?,
            crash_after: s
                .last("sim.crash-after")
                .map(|v| parse_duration("sim.crash-after", v))
                .transpose()?,
            exit_at_start,
            shutdown_delay: parse_duration(
                "sim.shutdown-delay",
                s.last("sim.shutdown-delay").unwrap_or("0"),
            )?,
            ignore_sigterm: is_true(s.last("sim.ignore-sigterm")),
            syncing: is_true(s.last("sim.syncing")),
            peers: parse_u64("sim.peers", s.last("sim.peers").unwrap_or("3"))?,
            address,
            validators,
            not_validator: is_true(s.last("sim.not-validator")),
            offline,
            round_changes,
            wbft_fork,
            epoch_length,
            forks,
            flood_logs: opt_u64(s, "sim.flood-logs")?,
            flood_count: opt_u64(s, "sim.flood-count")?,
            log_every_block: !quiet
                && s.last("sim.log-every-block")
                    .is_none_or(|v| is_true(Some(v))),
            db_format,
        },
    })
}

fn invalid(flag: &str, value: &str, reason: String) -> ArgError {
    ArgError::InvalidValue {
        flag: flag.to_string(),
        value: value.to_string(),
        reason,
    }
}

fn is_true(v: Option<&str>) -> bool {
    v.and_then(|v| parse_bool("", v).ok()).unwrap_or(false)
}

/// Go's `strconv.ParseBool`.
fn parse_bool(flag: &str, v: &str) -> Result<bool, ArgError> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(invalid(flag, v, "parse error".to_string())),
    }
}

/// A non-negative integer, decimal or `0x` hex (Go's base-0 parsing).
fn parse_u64(flag: &str, v: &str) -> Result<u64, ArgError> {
    let t = v.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    parsed.map_err(|_| invalid(flag, v, "parse error".to_string()))
}

fn usize_of(flag: &str, v: &str) -> Result<usize, ArgError> {
    let n = parse_u64(flag, v)?;
    usize::try_from(n).map_err(|_| invalid(flag, v, "value out of range".to_string()))
}

fn opt_u64(s: &Scanned, flag: &str) -> Result<Option<u64>, ArgError> {
    s.last(flag).map(|v| parse_u64(flag, v)).transpose()
}

fn parse_port(flag: &str, v: &str) -> Result<u16, ArgError> {
    v.trim()
        .parse::<u16>()
        .map_err(|_| invalid(flag, v, "parse error".to_string()))
}

/// `200ms`, `1s`, `1m 30s`, or a plain number of milliseconds.
pub fn parse_duration(flag: &str, v: &str) -> Result<Duration, ArgError> {
    let t = v.trim();
    if let Ok(ms) = t.parse::<u64>() {
        return Ok(Duration::from_millis(ms));
    }
    humantime::parse_duration(t).map_err(|e| invalid(flag, v, e.to_string()))
}

fn parse_address(v: &str) -> Option<[u8; 20]> {
    let hex = v
        .trim()
        .strip_prefix("0x")
        .or_else(|| v.trim().strip_prefix("0X"))?;
    if hex.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// `london=5`, `londonBlock=5`, `brioche=7`, `croissant=none`.
fn parse_fork(v: &str) -> Result<(String, Option<u64>), ArgError> {
    let bad = |why: &str| invalid("sim.fork", v, why.to_string());
    let (name, height) = v.split_once('=').ok_or_else(|| bad("want name=height"))?;
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad("fork name must be letters and digits"));
    }
    let key = format!("{}Block", name.strip_suffix("Block").unwrap_or(name));
    let height = match height.trim() {
        "none" | "null" | "nil" => None,
        h => Some(parse_u64("sim.fork", h).map_err(|_| bad("height must be a number or none"))?),
    };
    Ok((key, height))
}

fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `--help` output: one flag per line, `  --name value  usage (default: x)`.
pub fn help_text(hidden: &[String]) -> String {
    let mut out = String::new();
    out.push_str("NAME:\n   devnode - a simulator of the go-wemix-wbft geth node, for tests\n\n");
    out.push_str("USAGE:\n   devnode [global options] [command] [command options]\n\n");
    out.push_str("COMMANDS:\n   version  Print version numbers\n   help, h  Shows a list of commands or help for one command\n\n");
    for (title, section) in [
        ("GLOBAL OPTIONS:", Section::Geth),
        ("DEVNODE SIMULATION OPTIONS:", Section::Sim),
    ] {
        out.push_str(title);
        out.push('\n');
        for f in FLAGS
            .iter()
            .filter(|f| f.section == section && !hidden.iter().any(|h| h == f.name))
        {
            let mut head = format!("  --{}", f.name);
            if f.kind == Kind::Value {
                head.push_str(" value");
            }
            if f.name == "help" {
                head.push_str(", -h");
            }
            let default = match f.default {
                Some(d) => format!(" (default: {d})"),
                None => String::new(),
            };
            out.push_str(&format!("{head:<32}  {}{default}\n", f.usage));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn config(s: &str) -> Config {
        match parse(&argv(s)) {
            Ok(Command::Run(c)) => *c,
            other => panic!("expected a run config for {s:?}, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = config("");
        assert_eq!(c.datadir, PathBuf::from("./devnode-data"));
        assert!(!c.http);
        assert_eq!(c.http_addr, "127.0.0.1");
        assert_eq!(c.http_port, 8545);
        assert_eq!(c.p2p_port, 30303);
        assert_eq!(c.network_id, 1111);
        assert_eq!(c.sim.block_period, Duration::from_secs(1));
        assert_eq!(c.sim.validators, 4);
        assert_eq!(c.sim.peers, 3);
        assert!(c.sim.log_every_block);
        assert!(c.http_api.is_none());
    }

    #[test]
    fn all_flag_forms() {
        let c = config("--datadir /a -http.port=9000 -http --http.addr=0.0.0.0 -networkid 0x458");
        assert_eq!(c.datadir, PathBuf::from("/a"));
        assert_eq!(c.http_port, 9000);
        assert!(c.http);
        assert_eq!(c.http_addr, "0.0.0.0");
        assert_eq!(c.network_id, 1112);
    }

    #[test]
    fn bool_flags_take_inline_values_only() {
        assert!(!config("--http=false").http);
        assert!(matches!(
            parse(&argv("--http false")),
            Err(ArgError::InvalidCommand(c)) if c == "false"
        ));
        assert!(matches!(
            parse(&argv("--http=maybe")),
            Err(ArgError::InvalidValue { .. })
        ));
    }

    #[test]
    fn testnet_and_networkid() {
        assert_eq!(config("--testnet").network_id, 1112);
        assert_eq!(config("--mainnet").network_id, 1111);
        assert_eq!(config("--testnet --networkid 7").network_id, 7);
        assert!(matches!(
            parse(&argv("--testnet --mainnet")),
            Err(ArgError::Conflict(_))
        ));
    }

    #[test]
    fn unknown_flags_are_kept_and_may_consume_a_value() {
        let c = config("--foo bar --baz=1 -qux --http");
        let names: Vec<_> = c
            .unknown
            .iter()
            .map(|s| (s.name.as_str(), s.value.as_deref()))
            .collect();
        assert_eq!(
            names,
            [("foo", Some("bar")), ("baz", Some("1")), ("qux", None)]
        );
        assert!(c.http);
    }

    #[test]
    fn bad_values_are_fatal_with_geth_wording() {
        let e = parse(&argv("--http.port abc")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Fatal: invalid value \"abc\" for flag -http.port: parse error"
        );
        let e = parse(&argv("--datadir")).unwrap_err();
        assert_eq!(e.to_string(), "flag needs an argument: -datadir");
        assert!(parse(&argv("--sim.block-period soon")).is_err());
        assert!(parse(&argv("--sim.block-period 0")).is_err());
        assert!(parse(&argv("--sim.offline 4")).is_err());
        assert!(parse(&argv("--sim.address 0x12")).is_err());
        assert!(parse(&argv("--syncmode warp")).is_err());
        assert!(parse(&argv("---x")).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("f", "200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("f", "1500"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("f", "2s"), Ok(Duration::from_secs(2)));
    }

    #[test]
    fn reject_flags() {
        let e = parse(&argv("--sim.reject-flags a,http.api --http.api eth")).unwrap_err();
        assert_eq!(e.to_string(), "flag provided but not defined: -http.api");
        let e = parse(&argv("--sim.reject-flags=--foo -foo=1")).unwrap_err();
        assert_eq!(e.to_string(), "flag provided but not defined: -foo");
        assert!(matches!(
            parse(&argv("--sim.reject-flags a --http")),
            Ok(Command::Run(_))
        ));
    }

    #[test]
    fn version_and_help() {
        assert!(matches!(parse(&argv("version")), Ok(Command::Version(_))));
        assert!(matches!(parse(&argv("--version")), Ok(Command::Version(_))));
        match parse(&argv("--sim.version 2.0.0 version")) {
            Ok(Command::Version(v)) => assert_eq!(v, "v2.0.0"),
            other => panic!("{other:?}"),
        }
        match parse(&argv("-h")) {
            Ok(Command::Help(h)) => {
                assert!(h.contains("\n  --datadir value "));
                assert!(h.contains("\n  --http "));
                assert!(h.contains("\n  --sim.crash-at value "));
            }
            other => panic!("{other:?}"),
        }
        match parse(&argv("--sim.reject-flags http.api --help")) {
            Ok(Command::Help(h)) => assert!(!h.contains("--http.api")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forks_and_lists() {
        let c = config("--sim.fork london=5 --sim.fork croissantBlock=20 --sim.fork pangyo=none --sim.round-change 3,7 --sim.offline 1,2");
        assert_eq!(
            c.sim.forks,
            [
                ("londonBlock".to_string(), Some(5)),
                ("croissantBlock".to_string(), Some(20)),
                ("pangyoBlock".to_string(), None)
            ]
        );
        assert_eq!(c.sim.wbft_fork, 20);
        assert_eq!(c.sim.round_changes, [3, 7]);
        assert_eq!(c.sim.offline, [1, 2]);
        assert_eq!(
            config("--sim.fork croissant=20 --sim.wbft-fork 4")
                .sim
                .wbft_fork,
            4
        );
    }

    #[test]
    fn quiet_turns_block_logs_off() {
        assert!(!config("--sim.quiet").sim.log_every_block);
        assert!(!config("--sim.log-every-block=false").sim.log_every_block);
    }

    #[test]
    fn version_is_normalised() {
        assert_eq!(effective_version(Some("1.2.3")), "v1.2.3");
        assert_eq!(effective_version(Some("v1.2.3-rc1")), "v1.2.3-rc1");
    }
}
