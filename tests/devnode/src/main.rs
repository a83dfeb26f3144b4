//! # devnode — a stand-in for go-wemix-wbft `geth` in tests
//!
//! `devnode` behaves like a Wemix WBFT node process, so wemixvisor's
//! end-to-end tests and demo can supervise, upgrade, crash and restart it
//! without a real chain. It takes geth-style flags (`--flag value`,
//! `--flag=value`, `-flag value`; unknown flags are warned about and
//! ignored), serves geth-shaped JSON-RPC over HTTP when `--http` is given,
//! produces one block per period, keeps its head in the datadir, and stops
//! gracefully on SIGTERM/SIGINT.
//!
//! ## Geth flags
//! `--datadir` (`./devnode-data`), `--http`, `--http.addr` (`127.0.0.1`),
//! `--http.port` (8545; 0 = any free port, see the `HTTP server started`
//! line), `--http.api` (default: every namespace), `--port` (30303),
//! `--networkid` (1111), `--mainnet` (1111), `--testnet` (1112),
//! `--syncmode` (snap), `--verbosity` (3), `--identity`, `--help`,
//! `--version` / `version`, `--ipcpath` (`geth.ipc`: a bare name lives in
//! the datadir, a path is taken as is), `--ipcdisable`.
//!
//! ## IPC
//! Unless `--ipcdisable`, JSON-RPC is also served on a Unix socket
//! (`<datadir>/geth.ipc`; every namespace), with `eth_subscribe("newHeads")`
//! and `eth_unsubscribe`: each new block is pushed as an `eth_subscription`
//! notification carrying its header. The socket is removed at shutdown.
//!
//! ## Simulation knobs (`--sim.*`)
//! - `version <v>`: reported version (default: build-time `DEVNODE_VERSION`,
//!   else `v0.0.0-dev`); `web3_clientVersion` is `Geth/<v>/<os>-<arch>/go1.22`.
//! - `reject-flags a,b`: passing any of these flags exits 1 with
//!   `flag provided but not defined: -a` (a binary that dropped a flag);
//!   they are also left out of `--help`.
//! - `block-period` (1s; `200ms`, `1s` or plain milliseconds),
//!   `stall-at H` (no blocks at or past H).
//! - `crash-at H`: exit 2 with `CRIT simulated crash at height <head>` as soon
//!   as a block produced in this run is at or past H — so when started
//!   already past H it crashes right after its first block (a crash loop).
//! - `exit-at-start N`: exit N right after the banner (a broken binary).
//! - `shutdown-delay D` (0): time spent shutting down after a signal.
//! - `ignore-sigterm`: log and ignore SIGTERM/SIGINT; only SIGKILL works.
//! - `syncing`, `peers N` (3): `eth_syncing`, `net_peerCount`.
//! - `address 0x…` (default: derived from the datadir path),
//!   `validators N` (4), `not-validator`, `offline i,j`,
//!   `round-change h1,h2`, `wbft-fork H` (0), `epoch-length N` (10),
//!   `fork name=height` (repeatable; `none` removes): the istanbul_* data and
//!   `admin_nodeInfo.protocols.eth.config`.
//! - `flood-logs R` (lines/s, 0 = max), `flood-count N`: `LOG <seq> …`
//!   lines on stdout.
//! - `log-every-block` (on), `quiet`: the `Imported new chain segment` lines.
//! - `db-format N` (1): the datadir format this binary reads (1 or 2); a
//!   datadir of the other format is refused with `Fatal: Failed to open
//!   database: ... holds format X, this binary reads format Y` (exit 1).
//!
//! ## Files
//! `<datadir>/devnode/head` (head height, atomically rewritten every block)
//! and `<datadir>/devnode/LOCK` (pid; flocked while running; a second node on
//! the same datadir exits 1 with
//! `Fatal: Failed to create the protocol stack: datadir already used by another process`).
//!
//! ## Exit codes
//! 0 clean shutdown, `--help`, `version`; 1 bad command line, datadir in use,
//! port in use, corrupt head file; 2 simulated crash; N `--sim.exit-at-start N`.
//!
//! Logs go to stderr as `LEVEL message key=value` with no timestamp, so tests
//! can match them with `contains`.

#[macro_use]
mod logging;
mod args;
mod chain;
mod flood;
mod ipc;
mod node;
mod rpc;
mod signals;
mod store;

use std::process::ExitCode;

use args::Command;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match args::parse(&argv) {
        Ok(Command::Help(text)) => {
            logging::out(format_args!("{}", text.trim_end()));
            ExitCode::SUCCESS
        }
        Ok(Command::Version(version)) => {
            logging::out(format_args!("{}", node::version_text(&version)));
            ExitCode::SUCCESS
        }
        Ok(Command::Run(config)) => ExitCode::from(node::main(*config, &argv)),
        Err(e) => {
            let mut err = std::io::stderr().lock();
            let _ = std::io::Write::write_fmt(&mut err, format_args!("{e}\n"));
            ExitCode::from(1)
        }
    }
}
