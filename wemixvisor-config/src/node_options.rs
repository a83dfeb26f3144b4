//! `node-options.toml`: the geth options every start uses, typed where the
//! supervisor cares (ports, APIs, network) plus a free `extra` list.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use wemixvisor_core::Home;

use crate::argv::{parse_args, ArgItem};
use crate::config::Config;
use crate::error::{ConfigError, Location, Problem};
use crate::load::{read_optional, syntax_error};
use crate::network::Network;
use crate::schema::{closest, NETWORK_NAMES};
use crate::validate::{check_home_path, is_loopback_host, parse_url};
use crate::value::describe_toml;

/// The JSON-RPC namespaces the supervisor itself uses.
pub const REQUIRED_APIS: &[&str] = &["eth", "net", "web3", "admin", "istanbul"];

/// An RPC listener (`[http]`, `[ws]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpcListener {
    /// `--http` / `--ws`.
    pub enabled: Option<bool>,
    /// `--http.addr` / `--ws.addr`.
    pub addr: Option<String>,
    /// `--http.port` / `--ws.port`.
    pub port: Option<u16>,
    /// `--http.api` / `--ws.api`.
    pub api: Vec<String>,
    /// `--http.vhosts` / `--ws.origins`.
    pub hosts: Vec<String>,
    /// `--http.corsdomain` (HTTP only).
    pub corsdomain: Vec<String>,
}

/// The metrics listener (`[metrics]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsListener {
    /// `--metrics`.
    pub enabled: Option<bool>,
    /// `--metrics.addr`.
    pub addr: Option<String>,
    /// `--metrics.port`.
    pub port: Option<u16>,
}

/// node-options.toml: default geth options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeOptions {
    /// Network preset: `--mainnet` or `--testnet`; devnet has none.
    pub network: Option<Network>,
    /// `--datadir` (absolute, or relative to the home).
    pub datadir: Option<PathBuf>,
    /// `--networkid`.
    pub networkid: Option<u64>,
    /// `--syncmode` (`full` or `snap`).
    pub syncmode: Option<String>,
    /// `--gcmode` (`full` or `archive`).
    pub gcmode: Option<String>,
    /// `--db.engine` (`pebble` or `leveldb`).
    pub db_engine: Option<String>,
    /// `--port`: p2p TCP and UDP.
    pub port: Option<u16>,
    /// `--maxpeers`.
    pub maxpeers: Option<u32>,
    /// `--bootnodes` (enode URLs).
    pub bootnodes: Vec<String>,
    /// `--verbosity` (0-5).
    pub verbosity: Option<u8>,
    /// `[http]`.
    pub http: RpcListener,
    /// `[ws]`.
    pub ws: RpcListener,
    /// `[metrics]`.
    pub metrics: MetricsListener,
    /// Further geth arguments, passed as written.
    pub extra: Vec<String>,
}

/// Every key of node-options.toml with the geth flag it becomes.
pub const NODE_KEYS: &[(&str, &str)] = &[
    ("network", "--mainnet/--testnet"),
    ("datadir", "--datadir"),
    ("networkid", "--networkid"),
    ("syncmode", "--syncmode"),
    ("gcmode", "--gcmode"),
    ("db_engine", "--db.engine"),
    ("port", "--port"),
    ("maxpeers", "--maxpeers"),
    ("bootnodes", "--bootnodes"),
    ("verbosity", "--verbosity"),
    ("extra", "(as written)"),
    ("http.enabled", "--http"),
    ("http.addr", "--http.addr"),
    ("http.port", "--http.port"),
    ("http.api", "--http.api"),
    ("http.vhosts", "--http.vhosts"),
    ("http.corsdomain", "--http.corsdomain"),
    ("ws.enabled", "--ws"),
    ("ws.addr", "--ws.addr"),
    ("ws.port", "--ws.port"),
    ("ws.api", "--ws.api"),
    ("ws.origins", "--ws.origins"),
    ("metrics.enabled", "--metrics"),
    ("metrics.addr", "--metrics.addr"),
    ("metrics.port", "--metrics.port"),
];

/// The flag (without dashes) each typed key sets, for spotting repeats in `extra`.
fn typed_flag_names(o: &NodeOptions) -> Vec<(&'static str, &'static str)> {
    let mut v = Vec::new();
    let mut add = |set: bool, key, flag| {
        if set {
            v.push((key, flag));
        }
    };
    add(o.datadir.is_some(), "datadir", "datadir");
    add(o.networkid.is_some(), "networkid", "networkid");
    add(o.syncmode.is_some(), "syncmode", "syncmode");
    add(o.gcmode.is_some(), "gcmode", "gcmode");
    add(o.db_engine.is_some(), "db_engine", "db.engine");
    add(o.port.is_some(), "port", "port");
    add(o.maxpeers.is_some(), "maxpeers", "maxpeers");
    add(!o.bootnodes.is_empty(), "bootnodes", "bootnodes");
    add(o.verbosity.is_some(), "verbosity", "verbosity");
    add(o.http.enabled.is_some(), "http.enabled", "http");
    add(o.http.addr.is_some(), "http.addr", "http.addr");
    add(o.http.port.is_some(), "http.port", "http.port");
    add(!o.http.api.is_empty(), "http.api", "http.api");
    add(!o.http.hosts.is_empty(), "http.vhosts", "http.vhosts");
    add(
        !o.http.corsdomain.is_empty(),
        "http.corsdomain",
        "http.corsdomain",
    );
    add(o.ws.enabled.is_some(), "ws.enabled", "ws");
    add(o.ws.addr.is_some(), "ws.addr", "ws.addr");
    add(o.ws.port.is_some(), "ws.port", "ws.port");
    add(!o.ws.api.is_empty(), "ws.api", "ws.api");
    add(!o.ws.hosts.is_empty(), "ws.origins", "ws.origins");
    add(o.metrics.enabled.is_some(), "metrics.enabled", "metrics");
    add(o.metrics.addr.is_some(), "metrics.addr", "metrics.addr");
    add(o.metrics.port.is_some(), "metrics.port", "metrics.port");
    v
}

impl NodeOptions {
    /// Reads `path`; a missing file means no options. Unknown keys, wrong
    /// types and conflicts (see [`NodeOptions::check`]) are errors.
    pub fn load(path: &Path) -> Result<NodeOptions, ConfigError> {
        let Some(text) = read_optional(path)? else {
            return Ok(NodeOptions::default());
        };
        let parsed = parse_node_options(path, &text)?;
        let mut problems = parsed.problems;
        problems.extend(locate_node(parsed.options.check(), &parsed.locations, path));
        let errors: Vec<Problem> = problems.into_iter().filter(Problem::is_error).collect();
        if errors.is_empty() {
            Ok(parsed.options)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems: errors,
            })
        }
    }

    /// The geth arguments these options stand for, in a fixed order: network
    /// preset, datadir, networkid, syncmode, gcmode, db.engine, port,
    /// maxpeers, bootnodes, verbosity, http, ws, metrics, then `extra` as written.
    pub fn to_args(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let kv = |a: &mut Vec<String>, flag: &str, v: String| {
            a.push(format!("--{flag}"));
            a.push(v);
        };
        if let Some(flag) = self.network.and_then(Network::geth_preset_flag) {
            a.push(flag.to_string());
        }
        if let Some(d) = &self.datadir {
            kv(&mut a, "datadir", d.to_string_lossy().into_owned());
        }
        if let Some(n) = self.networkid {
            kv(&mut a, "networkid", n.to_string());
        }
        if let Some(s) = &self.syncmode {
            kv(&mut a, "syncmode", s.clone());
        }
        if let Some(s) = &self.gcmode {
            kv(&mut a, "gcmode", s.clone());
        }
        if let Some(s) = &self.db_engine {
            kv(&mut a, "db.engine", s.clone());
        }
        if let Some(p) = self.port {
            kv(&mut a, "port", p.to_string());
        }
        if let Some(p) = self.maxpeers {
            kv(&mut a, "maxpeers", p.to_string());
        }
        if !self.bootnodes.is_empty() {
            kv(&mut a, "bootnodes", self.bootnodes.join(","));
        }
        if let Some(v) = self.verbosity {
            kv(&mut a, "verbosity", v.to_string());
        }
        for (prefix, l, hosts_flag) in [("http", &self.http, "vhosts"), ("ws", &self.ws, "origins")]
        {
            if l.enabled == Some(true) {
                a.push(format!("--{prefix}"));
            }
            if let Some(addr) = &l.addr {
                kv(&mut a, &format!("{prefix}.addr"), addr.clone());
            }
            if let Some(p) = l.port {
                kv(&mut a, &format!("{prefix}.port"), p.to_string());
            }
            if !l.api.is_empty() {
                kv(&mut a, &format!("{prefix}.api"), l.api.join(","));
            }
            if !l.hosts.is_empty() {
                kv(&mut a, &format!("{prefix}.{hosts_flag}"), l.hosts.join(","));
            }
            if !l.corsdomain.is_empty() {
                kv(
                    &mut a,
                    &format!("{prefix}.corsdomain"),
                    l.corsdomain.join(","),
                );
            }
        }
        if self.metrics.enabled == Some(true) {
            a.push("--metrics".into());
        }
        if let Some(addr) = &self.metrics.addr {
            kv(&mut a, "metrics.addr", addr.clone());
        }
        if let Some(p) = self.metrics.port {
            kv(&mut a, "metrics.port", p.to_string());
        }
        a.extend(self.extra.iter().cloned());
        a
    }

    /// Checks the options on their own: conflicting network presets,
    /// networkid vs network, a port used twice, `extra` repeating a typed
    /// option, enode URLs, listen addresses. Problems are keyed by the
    /// node-options key and carry no location.
    pub fn check(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let extra = parse_args(&self.extra);
        let extra_flags: Vec<(&str, Option<&str>)> = extra
            .iter()
            .filter_map(|i| match i {
                ArgItem::Flag { name, value, .. } => Some((name.as_str(), value.as_deref())),
                ArgItem::Positional(_) => None,
            })
            .collect();
        let flag_on = |v: Option<&str>| v.is_none_or(|v| v != "false");

        // network presets
        let mut presets: Vec<Network> = self
            .network
            .filter(|n| *n != Network::Devnet)
            .into_iter()
            .collect();
        for (name, value) in &extra_flags {
            let n = match *name {
                "mainnet" => Network::Mainnet,
                "testnet" => Network::Testnet,
                _ => continue,
            };
            if flag_on(*value) && !presets.contains(&n) {
                presets.push(n);
            }
        }
        if presets.len() > 1 {
            out.push(
                Problem::error(
                    if self.network.is_some() {
                        "network"
                    } else {
                        "extra"
                    },
                    "--mainnet and --testnet are both set; a node runs one network",
                )
                .with_help("keep one of them (the `network` key chooses the preset)"),
            );
        } else if let (Some(Network::Devnet), Some(p)) = (self.network, presets.first()) {
            out.push(Problem::error(
                "extra",
                format!("holds --{p}, but network is \"devnet\", which has no preset"),
            ));
        }
        let effective_network = self.network.or(presets.first().copied());
        if let (Some(net), Some(id)) = (effective_network, self.networkid) {
            if !net.accepts_chain_id(id) {
                let msg =
                    match net {
                        Network::Devnet => {
                            format!(
                        "networkid {id} belongs to {}; a devnet needs another id (e.g. 1113)",
                        if id == Network::Mainnet.chain_id() { "mainnet" } else { "testnet" }
                    )
                        }
                        _ => format!(
                            "networkid {id} does not match network \"{net}\" (chain id {})",
                            net.chain_id()
                        ),
                    };
                out.push(
                    Problem::error("networkid", msg)
                        .with_help("remove networkid (the network preset sets it) or fix it"),
                );
            }
        }

        // extra repeating a typed key
        for (key, flag) in typed_flag_names(self) {
            if extra_flags.iter().any(|(n, _)| *n == flag) {
                out.push(
                    Problem::error(
                        "extra",
                        format!("repeats --{flag}, which the key \"{key}\" already sets"),
                    )
                    .with_help("set it in one place"),
                );
            }
        }
        if let Some(key_preset) = self.network.and_then(Network::geth_preset_flag) {
            for (n, _) in &extra_flags {
                if key_preset.strip_prefix("--") == Some(*n) {
                    out.push(
                        Problem::error(
                            "extra",
                            format!("repeats --{n}, which the key \"network\" already sets"),
                        )
                        .with_help("set it in one place"),
                    );
                }
            }
        }

        // ports: each listener that is on needs its own port
        let mut ports: Vec<(&str, u16)> = Vec::new();
        ports.push(("port", self.port.unwrap_or(30303)));
        let http_on = self.http.enabled == Some(true);
        let ws_on = self.ws.enabled == Some(true);
        if http_on {
            ports.push(("http.port", self.http.port.unwrap_or(8545)));
        }
        if ws_on {
            let ws_port = self.ws.port.unwrap_or(8546);
            // geth serves WebSocket on the HTTP listener when the ports match
            let shares_http = http_on
                && ws_port == self.http.port.unwrap_or(8545)
                && self.ws.addr == self.http.addr;
            if !shares_http {
                ports.push(("ws.port", ws_port));
            }
        }
        if self.metrics.enabled == Some(true) {
            ports.push(("metrics.port", self.metrics.port.unwrap_or(6060)));
        }
        for (name, value) in &extra_flags {
            if name.ends_with(".port") || *name == "port" {
                if let Some(p) = value.and_then(|v| v.parse::<u16>().ok()) {
                    if !ports.iter().any(|(k, _)| k == name) {
                        ports.push(("extra", p));
                    }
                }
            }
        }
        for (i, (key, port)) in ports.iter().enumerate() {
            if let Some((first, _)) = ports[..i].iter().find(|(_, p)| p == port) {
                out.push(
                    Problem::error(
                        *key,
                        format!("port {port} is used twice: {first} and {key}"),
                    )
                    .with_help("give each listener its own port"),
                );
            }
        }

        for b in &self.bootnodes {
            if let Err(e) = check_enode(b) {
                out.push(Problem::error("bootnodes", e));
            }
        }
        for (key, addr) in [
            ("http.addr", &self.http.addr),
            ("ws.addr", &self.ws.addr),
            ("metrics.addr", &self.metrics.addr),
        ] {
            if let Some(a) = addr {
                if a != "localhost" && a.parse::<IpAddr>().is_err() {
                    out.push(Problem::error(
                        key,
                        format!("must be an IP address such as \"127.0.0.1\", got \"{a}\""),
                    ));
                }
            }
        }
        for (prefix, l) in [("http", &self.http), ("ws", &self.ws)] {
            let exposed =
                l.enabled == Some(true) && l.addr.as_deref().is_some_and(|a| !is_loopback_host(a));
            if exposed && l.api.iter().any(|m| m == "admin") {
                out.push(
                    Problem::warning(
                        format!("{prefix}.api"),
                        format!(
                            "exposes the admin API on {}, which is not loopback",
                            l.addr.as_deref().unwrap_or_default()
                        ),
                    )
                    .with_help(format!(
                        "bind {prefix}.addr to 127.0.0.1, or drop admin from {prefix}.api"
                    )),
                );
            }
        }
        out
    }

    /// Checks the options against the supervisor config and the home: the
    /// network matches `node.network`, the datadir is absolute or inside the
    /// home, the node's HTTP listener is what `node.rpc_url` points at and
    /// serves the namespaces the supervisor needs, and the API port is free.
    pub fn check_against(&self, config: &Config, home: &Home) -> Vec<Problem> {
        let mut out = Vec::new();
        let preset = self.network.or_else(|| {
            parse_args(&self.extra).iter().find_map(|i| match i {
                ArgItem::Flag { name, .. } if name == "mainnet" => Some(Network::Mainnet),
                ArgItem::Flag { name, .. } if name == "testnet" => Some(Network::Testnet),
                _ => None,
            })
        });
        if let (Some(want), Some(have)) = (config.node.network, preset) {
            if want != have {
                out.push(
                    Problem::error(
                        "network",
                        format!("is \"{have}\", but wemixvisor.toml has node.network = \"{want}\""),
                    )
                    .with_help("make the two files name the same network"),
                );
            }
        }
        if let (Some(want), Some(id)) = (config.node.network, self.networkid) {
            if preset.is_none() && !want.accepts_chain_id(id) {
                out.push(Problem::error(
                    "networkid",
                    format!("{id} does not fit node.network = \"{want}\" in wemixvisor.toml"),
                ));
            }
        }
        if let Some(d) = &self.datadir {
            if let Err(e) = check_home_path(d, home) {
                out.push(Problem::error("datadir", e));
            } else {
                let abs = if d.is_absolute() {
                    d.clone()
                } else {
                    home.root().join(d)
                };
                if abs != home.data_dir() {
                    out.push(
                        Problem::warning(
                            "datadir",
                            format!(
                                "is '{}', not the home's '{}': backups and upgrade-info.json use the latter",
                                abs.display(),
                                home.data_dir().display()
                            ),
                        )
                        .with_help("remove datadir to use the home's chain-data/"),
                    );
                }
            }
        }
        if let Ok(rpc) = parse_url(&config.node.rpc_url) {
            let (listener, name) = if rpc.scheme.starts_with("ws") {
                (&self.ws, "ws")
            } else {
                (&self.http, "http")
            };
            let default_port = if name == "ws" { 8546 } else { 8545 };
            if listener.enabled == Some(true) && is_loopback_host(&rpc.host) {
                let port = listener.port.unwrap_or(default_port);
                if rpc.port_or_default() != port {
                    out.push(
                        Problem::warning(
                            format!("{name}.port"),
                            format!(
                                "is {port}, but node.rpc_url in wemixvisor.toml points at port {}",
                                rpc.port_or_default()
                            ),
                        )
                        .with_help("make node.rpc_url and the node's listener agree"),
                    );
                }
                let missing: Vec<&str> = REQUIRED_APIS
                    .iter()
                    .copied()
                    .filter(|m| !listener.api.iter().any(|a| a == m))
                    .collect();
                if !listener.api.is_empty() && !missing.is_empty() {
                    out.push(Problem::warning(
                        format!("{name}.api"),
                        format!(
                            "lacks {}, which the supervisor uses over node.rpc_url",
                            missing.join(", ")
                        ),
                    ));
                }
            }
        }
        if config.api.enabled_tcp {
            if let Ok(addr) = config.api.bind.parse::<std::net::SocketAddr>() {
                let mut used = vec![("port", self.port.unwrap_or(30303))];
                if self.http.enabled == Some(true) {
                    used.push(("http.port", self.http.port.unwrap_or(8545)));
                }
                if self.ws.enabled == Some(true) {
                    used.push(("ws.port", self.ws.port.unwrap_or(8546)));
                }
                if self.metrics.enabled == Some(true) {
                    used.push(("metrics.port", self.metrics.port.unwrap_or(6060)));
                }
                if let Some((key, _)) = used.iter().find(|(_, p)| *p == addr.port()) {
                    out.push(
                        Problem::error(
                            *key,
                            format!(
                                "port {} is also api.bind's port in wemixvisor.toml",
                                addr.port()
                            ),
                        )
                        .with_help("give the wemixvisor API another port"),
                    );
                }
            }
        }
        out
    }

    /// The commented node-options.toml `init` writes (datadir = the home's
    /// chain-data, HTTP on 127.0.0.1:8545 with the namespaces the supervisor
    /// needs, the geth network preset).
    pub fn render_default(network: Network, home: &Home) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# node-options.toml: the geth options wemixvisor starts the node with."
        );
        let _ = writeln!(s, "#");
        let _ = writeln!(
            s,
            "# Arguments given to `wemixvisor run` / `start` are appended after these"
        );
        let _ = writeln!(
            s,
            "# and override the same option from this file, option by option"
        );
        let _ = writeln!(
            s,
            "# (`wemixvisor run --port 30304` replaces `port` below)."
        );
        let _ = writeln!(s, "# Network: {network} (chain id {}).", network.chain_id());
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "# Network preset: \"mainnet\" adds --mainnet, \"testnet\" adds --testnet;"
        );
        let _ = writeln!(
            s,
            "# the preset carries the chain id and the bootnodes. \"devnet\" adds nothing."
        );
        let _ = writeln!(s, "network = \"{network}\"");
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "# --datadir: the chain data. Backups and upgrade-info.json live here."
        );
        let _ = writeln!(
            s,
            "datadir = {}",
            toml_string(&home.data_dir().to_string_lossy())
        );
        let _ = writeln!(s);
        match network {
            Network::Devnet => {
                let _ = writeln!(
                    s,
                    "# --networkid: any id but 1111 (mainnet) and 1112 (testnet)."
                );
                let _ = writeln!(
                    s,
                    "# Initialise the datadir with your genesis first (`geth init`)."
                );
                let _ = writeln!(s, "networkid = {}", network.chain_id());
            }
            _ => {
                let _ = writeln!(
                    s,
                    "# --networkid: set by the preset ({}); only set it to repeat that.",
                    network.chain_id()
                );
                let _ = writeln!(s, "# networkid = {}", network.chain_id());
            }
        }
        let _ = writeln!(s);
        let _ = writeln!(s, "# --syncmode: \"full\" or \"snap\" (geth's default). --gcmode: \"full\" or \"archive\".");
        let _ = writeln!(s, "# syncmode = \"snap\"");
        let _ = writeln!(s, "# gcmode = \"full\"");
        let _ = writeln!(s);
        let _ = writeln!(s, "# --db.engine: \"pebble\" (default) or \"leveldb\" (a datadir carried over from gwemix).");
        let _ = writeln!(s, "# db_engine = \"pebble\"");
        let _ = writeln!(s);
        let _ = writeln!(s, "# --port: p2p listening port (TCP and UDP).");
        let _ = writeln!(s, "port = 30303");
        let _ = writeln!(s);
        let _ = writeln!(s, "# --maxpeers: most peers to connect to.");
        let _ = writeln!(s, "# maxpeers = 50");
        let _ = writeln!(s);
        let _ = writeln!(s, "# --bootnodes: enode URLs to find peers through.");
        match network {
            Network::Devnet => {
                let _ = writeln!(
                    s,
                    "# A devnet has no public bootnodes: list your own nodes here."
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "# Leave empty: the --{network} preset carries the {network} bootnodes."
                );
            }
        }
        let _ = writeln!(s, "bootnodes = []");
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "# --verbosity: geth's log level, 0 (silent) to 5 (detail); 3 = info."
        );
        let _ = writeln!(s, "verbosity = 3");
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "# Further geth arguments, passed as written, e.g. [\"--cache\", \"4096\"]."
        );
        let _ = writeln!(s, "extra = []");
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "# JSON-RPC over HTTP. wemixvisor polls the node here (node.rpc_url in"
        );
        let _ = writeln!(
            s,
            "# wemixvisor.toml) and needs the eth, net, web3, admin and istanbul namespaces."
        );
        let _ = writeln!(
            s,
            "# Keep it on loopback: admin must not be reachable from outside."
        );
        let _ = writeln!(s, "[http]");
        let _ = writeln!(s, "enabled = true");
        let _ = writeln!(s, "addr = \"127.0.0.1\"");
        let _ = writeln!(s, "port = 8545");
        let _ = writeln!(s, "api = [{}]", quoted_list(REQUIRED_APIS));
        let _ = writeln!(s, "# vhosts = [\"localhost\"]");
        let _ = writeln!(s, "# corsdomain = []");
        let _ = writeln!(s);
        let _ = writeln!(s, "# JSON-RPC over WebSocket.");
        let _ = writeln!(s, "[ws]");
        let _ = writeln!(s, "enabled = false");
        let _ = writeln!(s, "addr = \"127.0.0.1\"");
        let _ = writeln!(s, "port = 8546");
        let _ = writeln!(s, "api = [{}]", quoted_list(&["eth", "net", "web3"]));
        let _ = writeln!(s, "# origins = []");
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "# geth's own metrics endpoint (wemixvisor's are on its API)."
        );
        let _ = writeln!(s, "[metrics]");
        let _ = writeln!(s, "enabled = false");
        let _ = writeln!(s, "addr = \"127.0.0.1\"");
        let _ = writeln!(s, "port = 6060");
        s
    }
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A TOML basic string for `s`.
pub(crate) fn toml_string(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_string()
}

/// Checks an enode URL: `enode://<128 hex>@host:port[?discport=N]`.
pub fn check_enode(s: &str) -> Result<(), String> {
    let bad = || format!("\"{s}\" is not an enode URL (enode://<128 hex digits>@host:port)");
    let rest = s.strip_prefix("enode://").ok_or_else(bad)?;
    let (id, addr) = rest.split_once('@').ok_or_else(bad)?;
    if id.len() != 128 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let addr = addr.split('?').next().unwrap_or(addr);
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(bad());
    }
    Ok(())
}

/// A parsed node-options file with where each key is written.
pub(crate) struct ParsedNodeOptions {
    pub options: NodeOptions,
    pub locations: BTreeMap<String, Location>,
    /// Unknown keys and wrong types.
    pub problems: Vec<Problem>,
}

/// Attaches file locations to problems from [`NodeOptions::check`].
pub(crate) fn locate_node(
    problems: Vec<Problem>,
    locations: &BTreeMap<String, Location>,
    path: &Path,
) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|p| {
            let at = locations.get(&p.key).copied();
            p.at(Some(path.to_path_buf()), at)
        })
        .collect()
}

fn want_str(v: &toml_edit::Value) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("expected a string, found {}", describe_toml(v)))
}

fn want_choice(v: &toml_edit::Value, choices: &[&str]) -> Result<String, String> {
    let expected = format!("one of {}", choices.join(", "));
    match v.as_str() {
        Some(s) if choices.contains(&s) => Ok(s.to_string()),
        _ => Err(format!("expected {expected}, found {}", describe_toml(v))),
    }
}

fn want_int(v: &toml_edit::Value, min: i64, max: i64) -> Result<i64, String> {
    match v.as_integer() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number from {min} to {max}, found {}",
            describe_toml(v)
        )),
    }
}

fn want_port(v: &toml_edit::Value) -> Result<u16, String> {
    match v.as_integer() {
        Some(n) if (1..=65535).contains(&n) => Ok(n as u16),
        Some(n) => Err(format!("port {n} is out of range 1-65535")),
        None => Err(format!(
            "expected a port from 1 to 65535, found {}",
            describe_toml(v)
        )),
    }
}

fn want_bool(v: &toml_edit::Value) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| {
        format!(
            "expected a boolean (true/false), found {}",
            describe_toml(v)
        )
    })
}

fn want_list(v: &toml_edit::Value, module_names: bool) -> Result<Vec<String>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| format!("expected a list of strings, found {}", describe_toml(v)))?;
    let mut out = Vec::new();
    for item in arr.iter() {
        let s = item.as_str().ok_or_else(|| {
            format!(
                "expected a list of strings, found a list holding {}",
                describe_toml(item)
            )
        })?;
        if module_names && (s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err(format!(
                "\"{s}\" is not an API namespace name (such as \"eth\")"
            ));
        }
        out.push(s.to_string());
    }
    Ok(out)
}

fn assign(o: &mut NodeOptions, key: &str, v: &toml_edit::Value) -> Result<(), String> {
    match key {
        "network" => {
            o.network = Some(
                want_choice(v, NETWORK_NAMES)?
                    .parse()
                    .map_err(|e: crate::network::UnknownName| e.to_string())?,
            )
        }
        "datadir" => o.datadir = Some(PathBuf::from(want_str(v)?)),
        "networkid" => o.networkid = Some(want_int(v, 1, i64::MAX)? as u64),
        "syncmode" => o.syncmode = Some(want_choice(v, &["full", "snap"])?),
        "gcmode" => o.gcmode = Some(want_choice(v, &["full", "archive"])?),
        "db_engine" => o.db_engine = Some(want_choice(v, &["pebble", "leveldb"])?),
        "port" => o.port = Some(want_port(v)?),
        "maxpeers" => o.maxpeers = Some(want_int(v, 0, i64::from(u32::MAX))? as u32),
        "bootnodes" => o.bootnodes = want_list(v, false)?,
        "verbosity" => o.verbosity = Some(want_int(v, 0, 5)? as u8),
        "extra" => o.extra = want_list(v, false)?,
        "http.enabled" => o.http.enabled = Some(want_bool(v)?),
        "http.addr" => o.http.addr = Some(want_str(v)?),
        "http.port" => o.http.port = Some(want_port(v)?),
        "http.api" => o.http.api = want_list(v, true)?,
        "http.vhosts" => o.http.hosts = want_list(v, false)?,
        "http.corsdomain" => o.http.corsdomain = want_list(v, false)?,
        "ws.enabled" => o.ws.enabled = Some(want_bool(v)?),
        "ws.addr" => o.ws.addr = Some(want_str(v)?),
        "ws.port" => o.ws.port = Some(want_port(v)?),
        "ws.api" => o.ws.api = want_list(v, true)?,
        "ws.origins" => o.ws.hosts = want_list(v, false)?,
        "metrics.enabled" => o.metrics.enabled = Some(want_bool(v)?),
        "metrics.addr" => o.metrics.addr = Some(want_str(v)?),
        "metrics.port" => o.metrics.port = Some(want_port(v)?),
        _ => return Err(format!("unknown key \"{key}\"")),
    }
    Ok(())
}

/// Parses node-options.toml text, collecting every unknown key and type error.
pub(crate) fn parse_node_options(
    path: &Path,
    text: &str,
) -> Result<ParsedNodeOptions, ConfigError> {
    let doc =
        toml_edit::ImDocument::parse(text.to_string()).map_err(|e| syntax_error(path, text, &e))?;
    let mut options = NodeOptions::default();
    let mut locations = BTreeMap::new();
    let mut problems = Vec::new();
    let file = Some(path.to_path_buf());
    let at =
        |span: Option<std::ops::Range<usize>>| span.map(|s| Location::of_offset(text, s.start));
    let mut leaves: Vec<(String, &toml_edit::Item, Option<Location>)> = Vec::new();
    let root = doc.as_table();
    for (name, item) in root.iter() {
        let key_loc = at(root.key(name).and_then(|k| k.span()));
        if matches!(name, "http" | "ws" | "metrics") && item.is_table_like() {
            if let Some(t) = item.as_table_like() {
                for (k, it) in t.iter() {
                    leaves.push((
                        format!("{name}.{k}"),
                        it,
                        at(t.key(k).and_then(|kk| kk.span())),
                    ));
                }
            }
        } else {
            leaves.push((name.to_string(), item, key_loc));
        }
    }
    for (key, item, key_loc) in leaves {
        if !NODE_KEYS.iter().any(|(k, _)| *k == key) {
            let hint = closest(&key, NODE_KEYS.iter().map(|(k, _)| *k));
            let help = match hint {
                Some(h) => format!("did you mean \"{h}\"? other geth flags go in `extra`"),
                None => "geth flags without a key of their own go in `extra`, e.g. extra = [\"--cache\", \"4096\"]".into(),
            };
            problems.push(
                Problem::error(key.clone(), format!("unknown key \"{key}\""))
                    .at(file.clone(), key_loc)
                    .with_help(help),
            );
            continue;
        }
        let Some(v) = item.as_value() else {
            problems.push(
                Problem::error(key.clone(), "expected a value, found a table")
                    .at(file.clone(), key_loc),
            );
            continue;
        };
        let loc = at(v.span()).or(key_loc);
        if let Some(l) = loc {
            locations.insert(key.clone(), l);
        }
        if let Err(msg) = assign(&mut options, &key, v) {
            problems.push(Problem::error(key, msg).at(file.clone(), loc));
        }
    }
    Ok(ParsedNodeOptions {
        options,
        locations,
        problems,
    })
}
