//! `wemixvisor governance`: GovNCP proposals, and a live stream of
//! governance, consensus and fork changes. `wemixvisor-governance` decides;
//! this module prints.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use wemixvisor_config::{Config, FlagOverrides, GovernanceSection};
use wemixvisor_core::Home;
use wemixvisor_governance::tracker::parse_address;
use wemixvisor_governance::{
    ConsensusReport, ForkStatus, GovTracker, GovernanceService, GovernanceSnapshot, RpcChainClient,
    TrackerConfig,
};

use crate::context::env_var;

/// Timeout of one RPC call from these commands.
const RPC_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time between two polls of `governance monitor`.
const MONITOR_INTERVAL: Duration = Duration::from_secs(5);

/// `wemixvisor governance` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum GovernanceCmd {
    /// List GovNCP proposals, rebuilt from the contract's events (kept in
    /// governance/proposals.json, so later runs read only new blocks).
    Proposals {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print governance, consensus and fork changes as they happen, one line
    /// each, until Ctrl-C.
    Monitor {
        /// Time between polls of the node, e.g. 2s.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "5s")]
        interval: Duration,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

use wemixvisor_supervisor::settings::{governance_settings as settings, monitor_config};

/// Runs a `governance` subcommand against the node at `rpc_url`.
pub fn run(home: &Home, rpc_url: &str, cmd: GovernanceCmd) -> anyhow::Result<ExitCode> {
    let config = Config::load(home, &env_var, &FlagOverrides::default()).with_context(|| {
        format!(
            "cannot load the configuration of home '{}'",
            home.root().display()
        )
    })?;
    let client = RpcChainClient::new(rpc_url, RPC_TIMEOUT)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cmd {
        GovernanceCmd::Proposals { json } => {
            runtime.block_on(proposals(home, client, &config.governance, json))
        }
        GovernanceCmd::Monitor { interval, json } => runtime.block_on(monitor(
            home,
            client,
            &config,
            if interval.is_zero() {
                MONITOR_INTERVAL
            } else {
                interval
            },
            json,
        )),
    }
}

async fn proposals(
    home: &Home,
    client: RpcChainClient,
    section: &GovernanceSection,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let address = parse_address("GovNCP", "gov_ncp_address", &section.gov_ncp_address)?;
    let mut tracker = GovTracker::open(client, home, TrackerConfig::new(address));
    let snapshot = match tracker.sync().await {
        Ok(out) => out.snapshot,
        Err(e) if e.is_unreachable() => match GovTracker::cached(home).ok().flatten() {
            Some(cached) => {
                eprintln!(
                    "warning: {e}\nshowing the cached state of block {} (help: start the node, or check node.rpc_url)",
                    cached.head
                );
                cached
            }
            None => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
    } else {
        print!("{}", render_snapshot(&snapshot));
    }
    Ok(ExitCode::SUCCESS)
}

fn time(unix: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(unix)).to_string()
}

fn render_snapshot(s: &GovernanceSnapshot) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "GovNCP {} on chain {} at block {} ({})",
        s.contract,
        s.chain_id,
        s.head,
        time(s.chain_time)
    );
    let _ = writeln!(
        out,
        "emergency mode: {}   current proposal id: {}   voting period: {}",
        if s.emergency_mode { "ON" } else { "off" },
        s.current_proposal_id,
        s.voting_period
            .map(|p| humantime::format_duration(Duration::from_secs(p)).to_string())
            .unwrap_or_else(|| "unknown".into())
    );
    let _ = writeln!(out, "NCPs ({}):", s.ncp_count);
    for n in &s.ncps {
        let _ = writeln!(out, "  {n}");
    }
    if s.proposals.is_empty() {
        let _ = writeln!(out, "no proposals");
    } else {
        let _ = writeln!(
            out,
            "{:<4} {:<20} {:<9} {:>6} {:>6}  {:<20}  {:<42}  {:<42}",
            "ID", "TYPE", "STATE", "ACCEPT", "REJECT", "VOTING ENDS", "TARGET", "PROPOSER"
        );
        for p in &s.proposals {
            let _ = writeln!(
                out,
                "{:<4} {:<20} {:<9} {:>6} {:>6}  {:<20}  {:<42}  {:<42}",
                p.id,
                p.kind.to_string(),
                p.state.to_string(),
                p.accepts,
                p.rejects,
                time(p.end_time),
                p.target
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "-".into()),
                p.proposer
            );
        }
        if let Some(open) = s.open_proposal.and_then(|id| s.proposal(id)) {
            if let Some(rule) = open.rule {
                let _ = writeln!(
                    out,
                    "proposal {} passes at {} accepts and fails at {} rejects (of {} NCPs)",
                    open.id, rule.accepts_needed, rule.rejects_needed, rule.ncp_count
                );
            }
        }
    }
    for c in &s.consistency {
        let _ = writeln!(out, "warning: {c}");
    }
    out
}

fn consensus_summary(r: &ConsensusReport) -> Vec<String> {
    if !r.istanbul_available {
        return vec![format!(
            "consensus: head {}; the node does not expose istanbul (add it to --http.api)",
            r.head
        )];
    }
    let mut lines = vec![format!(
        "consensus: head {}, {} validators, {} active in the last {} blocks, {}",
        r.head,
        r.validators.len(),
        r.active_validators,
        r.window_blocks,
        if r.stall.stalled {
            "STALLED"
        } else {
            "producing"
        }
    )];
    match (r.is_validator, r.node_address) {
        (true, Some(me)) => lines.push(format!(
            "consensus: this node ({me}) is a validator, {} seals in the window; early halt {}",
            r.own_sealed.unwrap_or(0),
            r.quorum
                .map(|q| q.to_string())
                .unwrap_or_else(|| "cannot be judged".into())
        )),
        _ => lines.push("consensus: this node is not a validator".into()),
    }
    lines
}

fn fork_summary(f: &ForkStatus) -> String {
    match &f.next {
        Some(n) => format!(
            "forks: next {} at block {} ({} blocks to go)",
            n.names.join("+"),
            n.height,
            n.blocks_to_go
        ),
        None => format!("forks: all {} known forks are active", f.forks.len()),
    }
}

fn emit(json: bool, message: &str) {
    let now = humantime::format_rfc3339_seconds(SystemTime::now());
    if json {
        println!(
            "{}",
            serde_json::json!({ "time": now.to_string(), "message": message })
        );
    } else {
        println!("{now} {message}");
    }
}

async fn monitor(
    home: &Home,
    client: RpcChainClient,
    config: &Config,
    interval: Duration,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let url = client.url().to_string();
    let mut service = GovernanceService::new(
        client,
        home,
        settings(&config.governance),
        monitor_config(&config.health),
    )?;
    eprintln!(
        "watching {url} every {} (Ctrl-C to stop)",
        humantime::format_duration(interval)
    );
    // First tick: a summary, not the whole event history.
    let first = service.tick().await;
    if let Some(r) = &first.consensus {
        for l in consensus_summary(r) {
            emit(json, &l);
        }
    }
    if let Some(g) = &first.governance {
        let open = g
            .open_proposal
            .and_then(|id| g.proposal(id))
            .map(|p| {
                format!(
                    "proposal {} ({}) open, {} accept / {} reject",
                    p.id, p.kind, p.accepts, p.rejects
                )
            })
            .unwrap_or_else(|| "no open proposal".into());
        emit(
            json,
            &format!(
                "GovNCP: {} NCPs, {} proposals, {open}, emergency mode {}",
                g.ncp_count,
                g.proposals.len(),
                if g.emergency_mode { "ON" } else { "off" }
            ),
        );
    }
    if let Some(f) = &first.forks {
        emit(json, &fork_summary(f));
    }
    for p in &first.problems {
        emit(json, &format!("problem: {p}"));
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = tokio::time::sleep(interval) => {
                for line in service.tick().await.changes {
                    emit(json, &line);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wemixvisor_governance::{Address, Proposal, ProposalKind, ProposalState};

    #[test]
    fn snapshot_text_lists_ncps_and_proposals() {
        let s = GovernanceSnapshot {
            contract: wemixvisor_governance::GOV_NCP_ADDRESS,
            chain_id: 1111,
            head: 42,
            chain_time: 0,
            ncps: vec![Address::repeat_byte(1)],
            ncp_count: 1,
            emergency_mode: false,
            current_proposal_id: 1,
            voting_period: Some(604_800),
            proposals: vec![Proposal {
                id: 0,
                kind: ProposalKind::NcpAdd,
                target: Some(Address::repeat_byte(2)),
                proposer: Address::repeat_byte(1),
                start_time: 0,
                end_time: 604_800,
                created_block: 3,
                state: ProposalState::Accepted,
                accepts: 1,
                rejects: 0,
                voters: vec![],
                closed_block: Some(4),
                rule: None,
            }],
            open_proposal: None,
            consistency: vec!["something odd".into()],
        };
        let text = render_snapshot(&s);
        assert!(text.contains("at block 42"), "{text}");
        assert!(text.contains("voting period: 7days"), "{text}");
        assert!(text.contains("NCPAdd"), "{text}");
        assert!(text.contains("accepted"), "{text}");
        assert!(text.contains("warning: something odd"), "{text}");
    }
}
