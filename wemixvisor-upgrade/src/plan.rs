//! Batch plans (`wemixvisor upgrade plan <file>`): parsing and validation
//! that reports every problem at once, so a file is taken whole or not at all.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use wemixvisor_core::{validate_upgrade_name, InfoSource, UpgradeInfo, UpgradePlan};

use crate::{PlanStatus, UpgradeQueue, UpgradeSettings};

/// Checks one plan before it is queued, whatever its source (`upgrade add`,
/// `upgrade plan`, the trigger file, governance): its name, its info (the
/// binaries map, URLs, checksums), and that its binary can be had — it is
/// installed at `bin`, or the info names one for this platform that the
/// download settings allow. Returns every problem (empty = good), so a plan
/// that could only block the queue is refused with one clear line.
pub fn validate_plan(plan: &UpgradePlan, settings: &UpgradeSettings, bin: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = validate_upgrade_name(&plan.name) {
        problems.push(e);
        return problems;
    }
    let installed = wemixvisor_core::atomic::is_executable(bin);
    let downloads_off = || {
        format!(
            "no binary is installed at '{}' and downloads are off (download.allow_download_binaries = false); install it first with `wemixvisor upgrade add {} --binary <file>`",
            bin.display(),
            plan.name
        )
    };
    match &plan.info {
        InfoSource::None => {
            if !installed && plan.height == 0 {
                problems.push(format!(
                    "it is due at once (height 0) but no binary is installed at '{}' and it has no info to download one; install it first with `wemixvisor upgrade add {} --binary <file>`",
                    bin.display(),
                    plan.name
                ));
            }
        }
        InfoSource::Url(u) => {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                problems.push(format!("info URL '{u}' is not an http(s) URL"));
            } else if !installed && !settings.download.allow {
                problems.push(downloads_off());
            }
        }
        InfoSource::Inline(v) => match wemixvisor_core::binaries_from_info(v) {
            Err(e) => problems.push(format!("info: {e}")),
            Ok(map) => {
                let platform = settings.platform.to_string();
                let entry = map.get(&platform).or_else(|| map.get("any"));
                if !installed {
                    match entry {
                        None if v.get("binaries").is_some() => problems.push(format!(
                            "info.binaries has no entry for {platform} (nor \"any\") and no binary is installed at '{}'",
                            bin.display()
                        )),
                        None => problems.push(format!(
                            "info has no \"binaries\" and no binary is installed at '{}'",
                            bin.display()
                        )),
                        Some(_) if !settings.download.allow => problems.push(downloads_off()),
                        Some(b) if b.checksum.is_none() && settings.download.must_have_checksum => {
                            problems.push(format!(
                                "info.binaries entry for {platform} has no checksum (add ?checksum=sha256:<hex>, or set download.must_have_checksum = false)"
                            ))
                        }
                        Some(_) => {}
                    }
                }
            }
        },
    }
    problems
}

/// Parses a plan file: a JSON list of `{"name", "height", "info"?}` (the
/// upgrade-info format; `{"plans": [...]}` is accepted too). Every entry
/// that cannot be read is reported.
pub fn parse_plan_file(bytes: &[u8]) -> Result<Vec<UpgradeInfo>, Vec<String>> {
    let doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| vec![format!("the file is not valid JSON: {e}")])?;
    let list = match &doc {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("plans") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(vec![
                    "the file must be a JSON list of plans (or {\"plans\": [...]})".into(),
                ])
            }
        },
        _ => return Err(vec!["the file must be a JSON list of plans".into()]),
    };
    if list.is_empty() {
        return Err(vec!["the file holds no plans".into()]);
    }
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for (i, v) in list.iter().enumerate() {
        let label = match v.get("name").and_then(Value::as_str) {
            Some(n) => format!("plan #{} '{n}'", i + 1),
            None => format!("plan #{}", i + 1),
        };
        match UpgradeInfo::from_value(v) {
            Ok(info) => {
                if v.get("height").is_none_or(Value::is_null) || info.height == 0 {
                    problems.push(format!("{label}: a height above 0 is required"));
                }
                if let Err(e) = info.binaries() {
                    problems.push(format!("{label}: {e}"));
                }
                out.push(info);
            }
            Err(e) => problems.push(format!("{label}: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Checks a batch against itself, the queue, the binary `current` names and
/// the head: unique names, strictly increasing heights, every height above
/// the head, no clash with a queued or finished plan. Returns every problem.
pub fn validate_batch(
    plans: &[UpgradeInfo],
    queue: &UpgradeQueue,
    current: Option<&str>,
    head: Option<u64>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    let mut prev: Option<(u64, &str)> = None;
    let pending_heights: Vec<(u64, &str)> = queue
        .pending()
        .map(|p| (p.plan.height, p.plan.name.as_str()))
        .collect();
    for p in plans {
        let label = format!("'{}' (height {})", p.name, p.height);
        if !names.insert(p.name.as_str()) {
            problems.push(format!("{label}: the name appears more than once"));
        }
        if let Some((h, n)) = prev {
            if p.height <= h {
                problems.push(format!(
                    "{label}: heights must strictly increase, but the plan before it ('{n}') is at {h}"
                ));
            }
        }
        prev = Some((p.height, p.name.as_str()));
        if let Some(head) = head {
            if p.height <= head {
                problems.push(format!(
                    "{label}: the height is not above the current head {head}"
                ));
            }
        }
        if current == Some(p.name.as_str()) {
            problems.push(format!(
                "{label}: it is the binary `current` already points at"
            ));
        }
        if let Some(q) = queue.get(&p.name) {
            problems.push(match &q.status {
                PlanStatus::Pending => format!(
                    "{label}: an upgrade of that name is already queued at height {} (cancel it first: wemixvisor upgrade cancel {})",
                    q.plan.height, p.name
                ),
                PlanStatus::Retry { .. } => format!(
                    "{label}: an upgrade of that name failed before its switch and waits at height {} (re-arm it: wemixvisor upgrade retry {}; or cancel it: wemixvisor upgrade cancel {})",
                    q.plan.height, p.name, p.name
                ),
                other => format!(
                    "{label}: an upgrade of that name was already {} (pick a new name)",
                    other.as_str()
                ),
            });
        }
        if let Some((_, other)) = pending_heights
            .iter()
            .find(|(h, n)| *h == p.height && *n != p.name)
        {
            problems.push(format!(
                "{label}: the queued upgrade '{other}' is already at that height"
            ));
        }
    }
    problems
}

/// The batch as queue plans from `source`.
pub fn to_plans(infos: Vec<UpgradeInfo>, source: &str) -> Vec<UpgradePlan> {
    infos
        .into_iter()
        .map(|i| UpgradePlan::from_info(i, source))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use wemixvisor_core::InfoSource;

    fn info(name: &str, height: u64) -> UpgradeInfo {
        UpgradeInfo {
            name: name.into(),
            height,
            info: InfoSource::None,
        }
    }

    fn empty_queue() -> (tempfile::TempDir, UpgradeQueue) {
        let d = tempfile::tempdir().unwrap();
        let q = UpgradeQueue::load(&d.path().join("q.json")).unwrap();
        (d, q)
    }

    #[test]
    fn every_problem_is_listed() {
        let file = br#"[
            {"name": "v2", "height": 100},
            {"name": "v3", "height": 100},
            {"name": "v2", "height": 300},
            {"name": "../x", "height": 400},
            {"name": "v5"},
            {"name": "v6", "height": 600, "info": {"binaries": {"linux": "https://x"}}}
        ]"#;
        let problems = parse_plan_file(file).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].contains("plan #4"));
        assert!(problems[1].contains("plan #5 'v5'") && problems[1].contains("height above 0"));
        assert!(problems[2].contains("plan #6 'v6'") && problems[2].contains("os/arch"));

        let infos = vec![
            info("v2", 100),
            info("v3", 100),
            info("v2", 300),
            info("v4", 50),
        ];
        let (_d, q) = empty_queue();
        let problems = validate_batch(&infos, &q, None, Some(60));
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems
            .iter()
            .any(|p| p.contains("'v3'") && p.contains("strictly increase")));
        assert!(problems
            .iter()
            .any(|p| p.contains("'v2' (height 300)") && p.contains("more than once")));
        assert!(problems
            .iter()
            .any(|p| p.contains("'v4'") && p.contains("not above the current head 60")));
        assert!(parse_plan_file(b"{").is_err());
        assert!(parse_plan_file(b"[]").is_err());
        assert_eq!(
            parse_plan_file(br#"{"plans":[{"name":"a","height":"5"}]}"#).unwrap()[0].height,
            5
        );
    }

    #[test]
    fn clashes_with_the_queue_and_current() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("q.json");
        let (_, q) = UpgradeQueue::transact(&path, |q| {
            q.offer(UpgradePlan::from_info(info("v2", 100), "cli"));
            q.offer(UpgradePlan::from_info(info("old", 50), "cli"));
            q.set_status("old", PlanStatus::Applied { at_head: Some(50) });
            Ok(())
        })
        .unwrap();
        let problems = validate_batch(
            &[
                info("v9", 100),
                info("v2", 200),
                info("old", 300),
                info("cur", 400),
            ],
            &q,
            Some("cur"),
            Some(10),
        );
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("'v2' is already at that height"));
        assert!(
            problems[1].contains("already queued") && problems[1].contains("upgrade cancel v2")
        );
        assert!(problems[2].contains("already applied"));
        assert!(problems[3].contains("`current`"));
    }

    proptest! {
        #[test]
        fn valid_iff_unique_increasing_and_above_head(
            entries in proptest::collection::vec((0usize..6, 1u64..50), 1..8),
            head in 0u64..30,
        ) {
            let infos: Vec<UpgradeInfo> = entries.iter().map(|(n, h)| info(&format!("v{n}"), *h)).collect();
            let (_d, q) = empty_queue();
            let problems = validate_batch(&infos, &q, None, Some(head));
            let names: BTreeSet<_> = infos.iter().map(|i| &i.name).collect();
            let unique = names.len() == infos.len();
            let increasing = infos.windows(2).all(|w| w[0].height < w[1].height);
            let above = infos.iter().all(|i| i.height > head);
            prop_assert_eq!(problems.is_empty(), unique && increasing && above, "{:?}", problems);
            // one problem line per broken rule instance, never silence
            if !above {
                prop_assert!(problems.iter().any(|p| p.contains("not above")));
            }
        }
    }
}
