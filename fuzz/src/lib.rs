//! Fuzz targets: every parser of input that comes from outside the
//! supervisor. Each function must return for any input, never panic.
//! `cargo xtask fuzz` runs them with cargo-fuzz; the seed corpus is in
//! `fuzz/corpus/<target>/`.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;
use wemixvisor_core::{Home, Platform, UpgradeInfo, UpgradePlan};

/// A scratch home shared by the runs of one process.
fn scratch() -> &'static (tempfile::TempDir, Home) {
    static S: OnceLock<(tempfile::TempDir, Home)> = OnceLock::new();
    S.get_or_init(|| {
        let d = tempfile::tempdir().expect("temp dir");
        let home = Home::new(d.path().join("h"));
        std::fs::create_dir_all(home.config_dir()).expect("config dir");
        (d, home)
    })
}

fn no_env(_: &str) -> Option<String> {
    None
}

/// `upgrade-info.json` (cosmovisor format).
pub fn upgrade_info(data: &[u8]) {
    if let Ok(info) = UpgradeInfo::parse(data) {
        let _ = info.binaries();
        let _ = info.binary_for(&Platform::current());
        let _ = info.to_cosmovisor_json();
        let _ = UpgradePlan::from_info(info, "fuzz");
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = wemixvisor_core::checksum_from_url(s);
        let _ = wemixvisor_core::validate_upgrade_name(s);
    }
}

/// `upgrade plan <file>`: a batch of plans, validated against an empty queue.
pub fn batch_plan(data: &[u8]) {
    use wemixvisor_upgrade::{plan, UpgradeQueue};
    let Ok(infos) = plan::parse_plan_file(data) else {
        return;
    };
    let (d, _) = scratch();
    if let Ok(queue) = UpgradeQueue::load(&d.path().join("no-such-queue.json")) {
        let head = data.first().map(|b| u64::from(*b) * 1000);
        let _ = plan::validate_batch(&infos, &queue, Some("genesis"), head);
    }
    let _ = plan::to_plans(infos, "plan");
}

/// `wemixvisor.toml`: loading and `config validate`.
pub fn config_toml(data: &[u8]) {
    let (_, home) = scratch();
    if std::fs::write(home.config_file(), data).is_err() {
        return;
    }
    let _ = wemixvisor_config::Config::load_report(
        home,
        &no_env,
        &wemixvisor_config::FlagOverrides::default(),
    );
    let _ = wemixvisor_config::validate_home(home, &no_env);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = wemixvisor_config::migrate_text(&home.config_file(), s, home);
    }
}

/// `node-options.toml`.
pub fn node_options(data: &[u8]) {
    let (_, home) = scratch();
    if std::fs::write(home.node_options_file(), data).is_err() {
        return;
    }
    let _ = wemixvisor_config::NodeOptions::load(&home.node_options_file());
}

/// A release manifest (the governance feed).
pub fn manifest(data: &[u8]) {
    let _ = wemixvisor_governance::manifest::parse_manifest(data);
}

/// Archive extraction (tar.gz, tar.zst, tar, zip) into a fresh directory.
pub fn archive(data: &[u8]) {
    use wemixvisor_upgrade::archive;
    let Ok(d) = tempfile::tempdir() else {
        return;
    };
    let file = d.path().join("download");
    if std::fs::write(&file, data).is_err() {
        return;
    }
    let dest: PathBuf = d.path().join("tree");
    if std::fs::create_dir(&dest).is_err() {
        return;
    }
    let Ok(kind) = archive::detect(&file) else {
        return;
    };
    if archive::extract(&file, kind, &dest, "fuzz").is_ok() {
        let _ = archive::locate_binary(&dest, "geth", "fuzz");
    }
}

/// JSON-RPC answers: the first byte picks the decoder, the rest is JSON.
pub fn rpc(data: &[u8]) {
    use wemixvisor_governance as g;
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    match which % 6 {
        0 => {
            let _ = g::IstanbulStatus::from_json(&v);
        }
        1 => {
            let _ = g::WbftExtraInfo::from_json(&v);
        }
        2 => {
            let _ = g::CommitSigners::from_json(&v);
        }
        3 => {
            let _ = g::parse_quantity("eth_blockNumber", &v);
        }
        4 => {
            if let Ok(logs) = serde_json::from_value::<Vec<g::RpcLog>>(v) {
                for log in &logs {
                    let _ = g::govncp::decode_log(log);
                }
            }
        }
        _ => {
            let _ = serde_json::from_value::<g::BlockHeader>(v);
        }
    }
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Force {
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct SetKey {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Rollback {
    #[serde(default)]
    restore_data: bool,
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct BackupCreate {
    name: Option<String>,
}

/// Socket API request bodies, parsed as the routes parse them.
pub fn api_bodies(data: &[u8]) {
    let _ = serde_json::from_slice::<Force>(data);
    let _ = serde_json::from_slice::<Rollback>(data);
    let _ = serde_json::from_slice::<BackupCreate>(data);
    if let Ok(k) = serde_json::from_slice::<SetKey>(data) {
        if let Some(spec) = wemixvisor_config::schema::lookup(&k.key) {
            let _ = spec.kind.parse_text(&k.value);
        }
    }
    if let Ok(p) = serde_json::from_slice::<UpgradePlan>(data) {
        let _ = wemixvisor_core::validate_upgrade_name(&p.name);
    }
    if let Ok(list) = serde_json::from_slice::<Vec<UpgradePlan>>(data) {
        for p in &list {
            let _ = wemixvisor_core::validate_upgrade_name(&p.name);
        }
    }
    // Plans posted as upgrade-info documents go through the same parser.
    upgrade_info(data);
}
