use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wemixvisor_core::{atomic, UpgradePlan};

use crate::UpgradeError;

/// What became of a queued plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum PlanStatus {
    /// Waiting for its height.
    Pending,
    /// Switched to.
    Applied {
        /// Head observed when it was applied, if known.
        at_head: Option<u64>,
    },
    /// Could not be carried out; the reason is kept for `upgrade status`.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A plan with its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedPlan {
    /// The plan.
    #[serde(flatten)]
    pub plan: UpgradePlan,
    /// Its status.
    pub status: PlanStatus,
    /// Why a due plan is still waiting (e.g. its binary is not installed yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    /// RFC 3339 time of the last change.
    pub updated_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct QueueFile {
    version: u32,
    plans: Vec<QueuedPlan>,
}

/// The height-ordered upgrade queue, persisted atomically in
/// `governance/upgrade-queue.json`.
#[derive(Debug)]
pub struct UpgradeQueue {
    path: PathBuf,
    plans: Vec<QueuedPlan>,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl UpgradeQueue {
    /// Loads the queue (an absent file is an empty queue).
    pub fn load(path: &Path) -> Result<Self, UpgradeError> {
        let plans = match std::fs::read(path) {
            Ok(bytes) => {
                let f: QueueFile =
                    serde_json::from_slice(&bytes).map_err(|e| UpgradeError::BadQueue {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    })?;
                f.plans
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(UpgradeError::BadQueue {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
            }
        };
        let mut q = UpgradeQueue {
            path: path.to_path_buf(),
            plans,
        };
        q.sort();
        Ok(q)
    }

    fn sort(&mut self) {
        self.plans
            .sort_by(|a, b| (a.plan.height, &a.plan.name).cmp(&(b.plan.height, &b.plan.name)));
    }

    /// Writes the queue atomically.
    pub fn save(&self) -> Result<(), UpgradeError> {
        let f = QueueFile {
            version: 1,
            plans: self.plans.clone(),
        };
        let body = serde_json::to_vec_pretty(&f).map_err(|e| UpgradeError::BadQueue {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        if let Some(dir) = self.path.parent() {
            atomic::create_dir_private(dir)?;
        }
        atomic::write_atomic(&self.path, &body, atomic::SECRET_MODE)?;
        Ok(())
    }

    /// All plans, lowest height first.
    pub fn plans(&self) -> &[QueuedPlan] {
        &self.plans
    }

    /// The plan named `name`.
    pub fn get(&self, name: &str) -> Option<&QueuedPlan> {
        self.plans.iter().find(|p| p.plan.name == name)
    }

    /// Adds a plan, or updates a pending one of the same name.
    ///
    /// Returns `false` when nothing changed (same plan again, or a plan of
    /// that name was already applied or failed — a trigger file that is
    /// still lying around must not cause a second upgrade).
    pub fn offer(&mut self, plan: UpgradePlan) -> bool {
        if let Some(existing) = self.plans.iter_mut().find(|p| p.plan.name == plan.name) {
            if existing.status != PlanStatus::Pending || existing.plan == plan {
                return false;
            }
            existing.plan = plan;
            existing.updated_at = now();
        } else {
            self.plans.push(QueuedPlan {
                plan,
                status: PlanStatus::Pending,
                blocked: None,
                updated_at: now(),
            });
        }
        self.sort();
        true
    }

    /// The lowest pending plan whose height is reached at `head`.
    ///
    /// A plan with height 0 is due at once; a head that jumped past several
    /// heights yields them one by one, lowest first.
    pub fn due(&self, head: Option<u64>) -> Option<&UpgradePlan> {
        self.plans
            .iter()
            .filter(|p| p.status == PlanStatus::Pending)
            .map(|p| &p.plan)
            .find(|p| p.height == 0 || head.is_some_and(|h| h >= p.height))
    }

    /// The next pending plan, due or not.
    pub fn next_pending(&self) -> Option<&UpgradePlan> {
        self.plans
            .iter()
            .find(|p| p.status == PlanStatus::Pending)
            .map(|p| &p.plan)
    }

    /// Records what became of `name`.
    pub fn set_status(&mut self, name: &str, status: PlanStatus) {
        if let Some(p) = self.plans.iter_mut().find(|p| p.plan.name == name) {
            p.status = status;
            p.blocked = None;
            p.updated_at = now();
        }
    }

    /// Records why a due plan cannot go ahead yet; returns `true` when the
    /// reason is new (so callers log it once, not on every tick).
    pub fn set_blocked(&mut self, name: &str, reason: Option<String>) -> bool {
        match self.plans.iter_mut().find(|p| p.plan.name == name) {
            Some(p) if p.blocked != reason => {
                p.blocked = reason;
                p.updated_at = now();
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wemixvisor_core::InfoSource;

    fn plan(name: &str, height: u64) -> UpgradePlan {
        UpgradePlan {
            name: name.into(),
            height,
            info: InfoSource::None,
            source: "test".into(),
        }
    }

    #[test]
    fn ordered_due_and_persisted() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("gov/upgrade-queue.json");
        let mut q = UpgradeQueue::load(&path).unwrap();
        assert!(q.offer(plan("v3", 300)));
        assert!(q.offer(plan("v2", 200)));
        assert!(!q.offer(plan("v2", 200)));
        assert_eq!(q.due(Some(199)), None);
        assert_eq!(q.due(None), None);
        // head jumped past both: lowest first
        assert_eq!(q.due(Some(350)).unwrap().name, "v2");
        q.set_status("v2", PlanStatus::Applied { at_head: Some(350) });
        assert_eq!(q.due(Some(350)).unwrap().name, "v3");
        q.save().unwrap();
        let q2 = UpgradeQueue::load(&path).unwrap();
        assert_eq!(q2.plans(), q.plans());
        // an applied plan offered again (stale trigger file) is ignored
        let mut q2 = q2;
        assert!(!q2.offer(plan("v2", 200)));
        assert!(q2.offer(plan("v3", 310)));
        assert_eq!(q2.get("v3").unwrap().plan.height, 310);
    }

    #[test]
    fn corrupt_queue_is_a_clear_error() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("q.json");
        std::fs::write(&path, "{not json").unwrap();
        let e = UpgradeQueue::load(&path).unwrap_err();
        assert!(e.to_string().contains("q.json"), "{e}");
    }
}
