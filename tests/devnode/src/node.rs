//! One run of the node: banner, datadir lock, head, RPC server, block
//! production, crash and shutdown.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use crate::args::Config;
use crate::chain::{address_from, derive, hex, Chain, ChainSpec};
use crate::flood;
use crate::ipc;
use crate::rpc::{self, NodeIdentity, RpcState, NAMESPACES};
use crate::signals::Signals;
use crate::store::{DirLock, LockError, Store};

/// `(os, arch)` the way Go names them.
fn platform() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    (os, arch)
}

/// `Geth[/identity]/<version>/<os>-<arch>/go1.22`.
pub fn client_version(identity: Option<&str>, version: &str) -> String {
    let (os, arch) = platform();
    match identity {
        Some(id) => format!("Geth/{id}/{version}/{os}-{arch}/go1.22"),
        None => format!("Geth/{version}/{os}-{arch}/go1.22"),
    }
}

/// What `devnode version` prints.
pub fn version_text(version: &str) -> String {
    let (os, arch) = platform();
    format!(
        "{}\nVersion: {}\nArchitecture: {arch}\nGo Version: go1.22\nOperating System: {os}",
        client_version(None, version),
        version.trim_start_matches('v'),
    )
}

fn fatal(msg: std::fmt::Arguments<'_>) -> u8 {
    crate::logging::emit("Fatal:", msg);
    1
}

/// Runs the node; returns the process exit code.
pub fn main(cfg: Config, argv: &[String]) -> u8 {
    let http = if cfg.http {
        format!("{}:{}", cfg.http_addr, cfg.http_port)
    } else {
        "off".to_string()
    };
    log!(
        "INFO",
        "devnode starting version={} datadir={} http={http} args={}",
        cfg.sim.version,
        cfg.datadir.display(),
        argv.join(" ")
    );
    for flag in &cfg.unknown {
        match &flag.value {
            Some(v) => log!("WARN", "unknown flag --{} value={v} (ignored)", flag.name),
            None => log!("WARN", "unknown flag --{} (ignored)", flag.name),
        }
    }
    if let Some(code) = cfg.sim.exit_at_start {
        log!("CRIT", "simulated exit at start code={code}");
        return code;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fatal(format_args!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(run(cfg))
}

async fn run(cfg: Config) -> u8 {
    let store = match Store::open_format(&cfg.datadir, cfg.sim.db_format) {
        Ok(s) => s,
        Err(e) => {
            return fatal(format_args!(
                "Failed to create the protocol stack: cannot create {:?}: {e}",
                cfg.datadir.join("devnode")
            ))
        }
    };
    let lock = match DirLock::acquire(store.dir()) {
        Ok(l) => l,
        Err(LockError::Busy(pid)) => {
            let pid = pid.map_or_else(String::new, |p| format!(" (pid {p})"));
            return fatal(format_args!(
                "Failed to create the protocol stack: datadir already used by another process{pid}"
            ));
        }
        Err(LockError::Io(e)) => {
            return fatal(format_args!(
                "Failed to create the protocol stack: cannot lock {:?}: {e}",
                store.dir().join("LOCK")
            ))
        }
    };
    let code = run_locked(&cfg, &store).await;
    // A simulated crash leaves the lock file behind, as a dying process would.
    if code != 2 {
        lock.release();
    }
    code
}

async fn run_locked(cfg: &Config, store: &Store) -> u8 {
    if let Err(e) = store.check_format() {
        return fatal(format_args!("{e}"));
    }
    let head = match store.load_head() {
        Ok(h) => h,
        Err(e) => return fatal(format_args!("{e}")),
    };
    let mut signals = match Signals::install(cfg.sim.ignore_sigterm) {
        Ok(s) => s,
        Err(e) => return fatal(format_args!("cannot install signal handlers: {e}")),
    };

    let spec = chain_spec(cfg);
    let chain_config = chain_config(cfg, &spec);
    let node = node_identity(&spec.self_address, cfg.p2p_port);
    let chain = Arc::new(Chain::new(spec, head));
    log!(
        "INFO",
        "Loaded most recent local block number={head} hash={} networkid={} syncmode={} verbosity={} port={}",
        chain.block_hash(head),
        cfg.network_id,
        cfg.syncmode,
        cfg.verbosity,
        cfg.p2p_port
    );

    let state = RpcState {
        chain: Arc::clone(&chain),
        client_version: client_version(cfg.identity.as_deref(), &cfg.sim.version),
        network_id: cfg.network_id,
        peers: cfg.sim.peers,
        syncing: cfg.sim.syncing,
        apis: cfg.http_api.clone(),
        node,
        chain_config,
    };
    let (heads, heads_rx) = watch::channel(head);
    let _ipc = match &cfg.ipc {
        Some(path) => match ipc::bind(path) {
            Ok((listener, endpoint)) => {
                // IPC serves every namespace, whatever --http.api says.
                let all = Arc::new(RpcState {
                    apis: None,
                    ..state.clone()
                });
                tokio::spawn(ipc::serve(listener, all, heads_rx));
                log!("INFO", "IPC endpoint opened url={}", path.display());
                Some(endpoint)
            }
            Err(e) => {
                return fatal(format_args!(
                    "Error starting protocol stack: listen unix {}: {e}",
                    path.display()
                ))
            }
        },
        None => None,
    };

    let (stop_rpc, stop_rpc_rx) = watch::channel(false);
    if cfg.http {
        let listener = match TcpListener::bind((cfg.http_addr.as_str(), cfg.http_port)).await {
            Ok(l) => l,
            Err(e) => {
                return fatal(format_args!(
                    "Error starting protocol stack: listen tcp {}:{}: {e}",
                    cfg.http_addr, cfg.http_port
                ))
            }
        };
        if let Some(apis) = &cfg.http_api {
            let unknown: Vec<&str> = apis
                .iter()
                .map(String::as_str)
                .filter(|a| !NAMESPACES.contains(a))
                .collect();
            if !unknown.is_empty() {
                log!(
                    "WARN",
                    "Unavailable modules in HTTP API list unavailable={unknown:?} available={NAMESPACES:?}"
                );
            }
        }
        let endpoint = listener.local_addr().map_or_else(
            |_| format!("{}:{}", cfg.http_addr, cfg.http_port),
            |a| a.to_string(),
        );
        let state = Arc::new(state);
        let mut rx = stop_rpc_rx;
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.changed().await;
            };
            if let Err(e) = rpc::serve(listener, state, shutdown).await {
                log!("ERROR", "HTTP server failed err={e}");
            }
        });
        log!(
            "INFO",
            "HTTP server started endpoint={endpoint} auth=false prefix= cors= vhosts=localhost"
        );
    }

    if let Some(rate) = cfg.sim.flood_logs {
        if let Err(e) = flood::spawn(rate, cfg.sim.flood_count) {
            log!("ERROR", "cannot start the log flood err={e}");
        }
    }

    let period = cfg.sim.block_period;
    let mut ticker = interval_at(Instant::now() + period, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut stall_logged = false;
    let started = Instant::now();
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if cfg.sim.crash_after.is_some_and(|d| started.elapsed() >= d) {
                    log!("CRIT", "simulated crash (--sim.crash-after) number={}", chain.head());
                    return 2;
                }
                let current = chain.head();
                let resumed = cfg.sim.resume_after.is_some_and(|d| started.elapsed() >= d);
                if !resumed && cfg.sim.stall_at.is_some_and(|s| current >= s) {
                    if !stall_logged {
                        log!("WARN", "Chain stalled (--sim.stall-at) number={current}");
                        stall_logged = true;
                    }
                    continue;
                }
                let h = chain.advance();
                heads.send_replace(h);
                if let Err(e) = store.save_head(h) {
                    log!("ERROR", "Failed to persist head number={h} err={e}");
                }
                if cfg.sim.log_every_block {
                    let hash = chain.block_hash(h);
                    log!(
                        "INFO",
                        "Imported new chain segment number={h} hash={}..{} blocks=1 txs=0",
                        &hash[2..8],
                        &hash[hash.len() - 6..]
                    );
                }
                if cfg.sim.crash_at.is_some_and(|c| h >= c) {
                    log!("CRIT", "simulated crash at height {h}");
                    return 2;
                }
            }
            _ = signals.shutdown_requested() => break,
        }
    }

    log!("INFO", "Got interrupt, shutting down...");
    let _ = stop_rpc.send(true);
    drop(heads);
    let head = chain.head();
    if let Err(e) = store.save_head(head) {
        log!("ERROR", "Failed to persist head number={head} err={e}");
    }
    let delay = cfg.sim.shutdown_delay;
    if !delay.is_zero() {
        log!(
            "INFO",
            "Flushing state (--sim.shutdown-delay) delay={}",
            humantime::format_duration(delay)
        );
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        let mut left = 10;
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                name = signals.next() => {
                    left -= 1;
                    log!("WARN", "Already shutting down, interrupt more to panic. times={left} signal={name}");
                }
            }
        }
    }
    log!("INFO", "Blockchain stopped number={head}");
    0
}

fn chain_spec(cfg: &Config) -> ChainSpec {
    let self_address = cfg
        .sim
        .address
        .unwrap_or_else(|| derived_address(&cfg.datadir));
    ChainSpec {
        chain_id: cfg.network_id,
        self_address,
        validators: ChainSpec::validator_set(
            self_address,
            cfg.sim.validators,
            !cfg.sim.not_validator,
        ),
        offline: cfg.sim.offline.iter().copied().collect(),
        round_changes: cfg.sim.round_changes.iter().copied().collect(),
        wbft_fork: cfg.sim.wbft_fork,
        epoch_length: cfg.sim.epoch_length,
        period: cfg.sim.block_period,
    }
}

/// This node's address when `--sim.address` is not given: from the datadir path.
fn derived_address(datadir: &Path) -> [u8; 20] {
    let path = std::fs::canonicalize(datadir).unwrap_or_else(|_| datadir.to_path_buf());
    address_from(&format!("devnode/node/{}", path.display()))
}

fn node_identity(address: &[u8; 20], port: u16) -> NodeIdentity {
    let addr = hex(address);
    let strip = |s: String| s.trim_start_matches("0x").to_string();
    NodeIdentity {
        id: strip(hex(&derive(&format!("devnode/nodeid/{addr}"), 32))),
        pubkey: strip(hex(&derive(&format!("devnode/nodekey/{addr}"), 64))),
        port,
    }
}

/// `admin_nodeInfo.protocols.eth.config`: Ethereum forks, Wemix forks
/// (pangyo, applepie, brioche + its halving config, croissant = WBFT), then
/// the `--sim.fork` overrides.
fn chain_config(cfg: &Config, spec: &ChainSpec) -> Value {
    let mut m = Map::new();
    m.insert("chainId".into(), json!(cfg.network_id));
    for key in [
        "homesteadBlock",
        "eip150Block",
        "eip155Block",
        "eip158Block",
        "byzantiumBlock",
        "constantinopleBlock",
        "petersburgBlock",
        "istanbulBlock",
        "muirGlacierBlock",
        "berlinBlock",
        "londonBlock",
        "pangyoBlock",
        "applepieBlock",
        "briocheBlock",
    ] {
        m.insert(key.into(), json!(0));
    }
    m.insert("croissantBlock".into(), json!(spec.wbft_fork));
    for (key, height) in &cfg.sim.forks {
        match height {
            Some(h) => m.insert(key.clone(), json!(h)),
            None => m.remove(key),
        };
    }
    if m.contains_key("briocheBlock") {
        m.insert(
            "brioche".into(),
            json!({
                "blockReward": 1_000_000_000_000_000_000u64,
                "firstHalvingBlock": m.get("briocheBlock").cloned().unwrap_or(json!(0)),
                "halvingPeriod": 63_072_000u64,
                "finishRewardBlock": 2_521_872_000u64,
                "halvingTimes": 16,
                "halvingRate": 50,
            }),
        );
    }
    if m.contains_key("croissantBlock") {
        let validators: Vec<String> = spec.validators.iter().map(|v| hex(&v.addr)).collect();
        let bls: Vec<String> = spec.validators.iter().map(|v| hex(&v.bls)).collect();
        m.insert(
            "croissant".into(),
            json!({
                "wBFT": {
                    "epochLength": spec.epoch_length,
                    "blockPeriodSeconds": spec.period.as_secs().max(1),
                    "requestTimeoutSeconds": 2,
                    "proposerPolicy": 0,
                },
                "init": { "validators": validators, "blsPublicKeys": bls },
            }),
        );
    }
    Value::Object(m)
}
