//! Building geth's argv from `node-options.toml` and pass-through CLI args.
//!
//! Arguments are read the way geth (urfave/cli over Go's `flag`) reads them:
//! `-flag` and `--flag` are the same flag; `--flag=value` carries its value;
//! a boolean flag stands alone (`--http`, or `--http=false`); any other flag
//! takes the next argument as its value. A flag this crate does not know is
//! taken to carry a value when the next argument does not start with `-`.
//! `--` ends the flags: what follows is passed through as is.

use std::collections::BTreeSet;

use crate::node_options::NodeOptions;

/// geth flags that take no value (a `=false` may still be attached).
pub const BOOL_FLAGS: &[&str] = &[
    "allow-insecure-unlock",
    "cache.noprefetch",
    "cache.preimages",
    "dev",
    "discovery.v4",
    "discovery.v5",
    "exitwhensynced",
    "fakepow",
    "graphql",
    "http",
    "ipcdisable",
    "lightkdf",
    "log.compress",
    "log.json",
    "log.rotate",
    "mainnet",
    "metrics",
    "metrics.expensive",
    "metrics.influxdb",
    "metrics.influxdbv2",
    "mine",
    "nocompaction",
    "nodiscover",
    "nousb",
    "pprof",
    "rpc.allow-unprotected-txs",
    "rpc.enabledeprecatedpersonal",
    "snapshot",
    "testnet",
    "txpool.nolocals",
    "usb",
    "v5disc",
    "vmdebug",
    "ws",
];

/// geth flags known to take a value (beyond those `node-options.toml` types).
pub const VALUE_FLAGS: &[&str] = &[
    "authrpc.addr",
    "authrpc.jwtsecret",
    "authrpc.port",
    "authrpc.vhosts",
    "bootnodes",
    "cache",
    "datadir",
    "datadir.ancient",
    "db.engine",
    "discovery.port",
    "gcmode",
    "http.addr",
    "http.api",
    "http.corsdomain",
    "http.port",
    "http.vhosts",
    "identity",
    "ipcpath",
    "keystore",
    "log.file",
    "log.format",
    "maxpeers",
    "metrics.addr",
    "metrics.port",
    "nat",
    "netrestrict",
    "networkid",
    "nodekey",
    "nodekeyhex",
    "password",
    "port",
    "pprof.addr",
    "pprof.port",
    "state.scheme",
    "syncmode",
    "unlock",
    "verbosity",
    "vmodule",
    "ws.addr",
    "ws.api",
    "ws.origins",
    "ws.port",
];

/// One parsed piece of an argument list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgItem {
    /// A flag with the tokens that spell it (`["--port", "30304"]`, `["--http"]`).
    Flag {
        /// Name without dashes and without any `=value`.
        name: String,
        /// The value, when one was given.
        value: Option<String>,
        /// The argument tokens exactly as given.
        tokens: Vec<String>,
    },
    /// Anything that is not a flag (a geth subcommand, or what follows `--`).
    Positional(String),
}

impl ArgItem {
    /// The tokens of this item, as given.
    pub fn tokens(&self) -> Vec<String> {
        match self {
            ArgItem::Flag { tokens, .. } => tokens.clone(),
            ArgItem::Positional(t) => vec![t.clone()],
        }
    }
}

fn flag_body(tok: &str) -> Option<&str> {
    if tok == "-" || tok == "--" || !tok.starts_with('-') {
        return None;
    }
    let body = tok.strip_prefix("--").or_else(|| tok.strip_prefix('-'))?;
    // "-5" is a value, not a flag
    if body.is_empty() || body.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some(body)
}

/// Splits an argument list into flags and positionals (see the module doc).
pub fn parse_args(args: &[String]) -> Vec<ArgItem> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let tok = &args[i];
        if tok == "--" {
            out.extend(args[i..].iter().cloned().map(ArgItem::Positional));
            break;
        }
        let Some(body) = flag_body(tok) else {
            out.push(ArgItem::Positional(tok.clone()));
            i += 1;
            continue;
        };
        if let Some((name, value)) = body.split_once('=') {
            out.push(ArgItem::Flag {
                name: name.to_string(),
                value: Some(value.to_string()),
                tokens: vec![tok.clone()],
            });
            i += 1;
            continue;
        }
        let name = body.to_string();
        let next = args.get(i + 1);
        let takes_value = if BOOL_FLAGS.contains(&body) {
            false
        } else if VALUE_FLAGS.contains(&body) {
            next.is_some()
        } else {
            next.is_some_and(|n| n != "--" && flag_body(n).is_none())
        };
        match next.filter(|_| takes_value) {
            Some(v) => {
                out.push(ArgItem::Flag {
                    name,
                    value: Some(v.clone()),
                    tokens: vec![tok.clone(), v.clone()],
                });
                i += 2;
            }
            None => {
                out.push(ArgItem::Flag {
                    name,
                    value: None,
                    tokens: vec![tok.clone()],
                });
                i += 1;
            }
        }
    }
    out
}

/// The override group of a flag: flags in one group replace each other
/// (`--mainnet` and `--testnet` both choose the network preset).
pub fn override_group(name: &str) -> &str {
    match name {
        "mainnet" | "testnet" | "dev" => "<network preset>",
        other => other,
    }
}

/// Final geth argv: options from the file, then CLI args; a CLI arg overrides the same option from the file, option by option; deterministic order.
///
/// File options come first in [`NodeOptions::to_args`] order (typed keys in
/// a fixed order, then `extra`), minus every option the CLI sets again; the
/// CLI args follow exactly as given. `--mainnet` and `--testnet` override
/// each other.
pub fn build_argv(options: &NodeOptions, cli_args: &[String]) -> Vec<String> {
    let cli = parse_args(cli_args);
    let overridden: BTreeSet<&str> = cli
        .iter()
        .filter_map(|item| match item {
            ArgItem::Flag { name, .. } => Some(override_group(name)),
            ArgItem::Positional(_) => None,
        })
        .collect();
    let mut argv: Vec<String> = parse_args(&options.to_args())
        .into_iter()
        .filter(|item| match item {
            ArgItem::Flag { name, .. } => !overridden.contains(override_group(name)),
            ArgItem::Positional(_) => true,
        })
        .flat_map(|item| item.tokens())
        .collect();
    argv.extend(cli_args.iter().cloned());
    argv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_every_spelling() {
        let items = parse_args(&s(&[
            "--port",
            "30304",
            "-http",
            "--http.api=eth,net",
            "--nodiscover",
            "--cache",
            "4096",
            "--verbosity",
            "-5",
            "console",
            "--",
            "--not-a-flag",
        ]));
        let names: Vec<_> = items
            .iter()
            .map(|i| match i {
                ArgItem::Flag { name, value, .. } => format!("{name}={value:?}"),
                ArgItem::Positional(p) => format!("pos:{p}"),
            })
            .collect();
        assert_eq!(
            names,
            vec![
                "port=Some(\"30304\")",
                "http=None",
                "http.api=Some(\"eth,net\")",
                "nodiscover=None",
                "cache=Some(\"4096\")",
                "verbosity=Some(\"-5\")",
                "pos:console",
                "pos:--",
                "pos:--not-a-flag",
            ]
        );
    }

    #[test]
    fn unknown_flag_takes_a_value_only_when_one_follows() {
        let items = parse_args(&s(&["--foo", "--bar", "x", "--baz"]));
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[1],
            ArgItem::Flag {
                name: "bar".into(),
                value: Some("x".into()),
                tokens: s(&["--bar", "x"])
            }
        );
    }
}
