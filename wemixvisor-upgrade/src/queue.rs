use std::fs::{File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wemixvisor_core::{atomic, UpgradePlan};

use crate::UpgradeError;

/// How long a writer waits for the queue lock before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(15);

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
    /// A hook aborted it (exit 30); the previous binary stayed.
    Aborted {
        /// Why.
        reason: String,
    },
    /// Switched to, then rolled back (automatically or by the operator).
    RolledBack {
        /// Why.
        reason: String,
    },
    /// Switched to; the new binary is in its verification window (or, with
    /// `restart_after_upgrade = false`, waits to be started and verified).
    /// Plans above it wait.
    Verifying {
        /// RFC 3339 time the window opened.
        since: String,
        /// What it waits for.
        detail: String,
    },
    /// Failed before its switch (a backup, a free-space check or a
    /// pre-upgrade hook failed): nothing was switched, and the plan waits
    /// for the operator to re-arm it (`wemixvisor upgrade retry <name>`) or
    /// cancel it. Plans above it wait too (strict height order).
    Retry {
        /// Why.
        reason: String,
    },
}

impl PlanStatus {
    /// Short name for `upgrade status`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PlanStatus::Pending => "pending",
            PlanStatus::Applied { .. } => "applied",
            PlanStatus::Failed { .. } => "failed",
            PlanStatus::Aborted { .. } => "aborted",
            PlanStatus::RolledBack { .. } => "rolled back",
            PlanStatus::Retry { .. } => "retry",
            PlanStatus::Verifying { .. } => "verifying",
        }
    }

    /// True for the states a plan never leaves on its own.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            PlanStatus::Pending | PlanStatus::Retry { .. } | PlanStatus::Verifying { .. }
        )
    }
}

/// A plan that holds the queue up: it is due (or waits for a re-arm) and
/// cannot go ahead, so every plan above it waits too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedPlan {
    /// Upgrade name.
    pub name: String,
    /// Its height.
    pub height: u64,
    /// Why it cannot go ahead.
    pub reason: String,
    /// What the operator can do about it.
    pub fix: String,
    /// The pending plans above it, which wait for it.
    pub holding_back: Vec<String>,
}

/// Whether a plan's binary is fetched, verified and pre-flighted yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum PrepareState {
    /// Not started yet.
    #[default]
    Unprepared,
    /// Being fetched and checked.
    Preparing {
        /// RFC 3339 start time.
        since: String,
    },
    /// Installed, verified and pre-flighted: the halt costs only the switch.
    Prepared {
        /// RFC 3339 time.
        at: String,
        /// sha256 of the installed binary.
        sha256: String,
        /// What pre-flight noticed (flag migrations, flags passed as is).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
    /// Preparing failed; the plan is not halted for.
    Failed {
        /// RFC 3339 time.
        at: String,
        /// Why.
        reason: String,
        /// True when trying again later may help (network, binary not installed yet).
        transient: bool,
    },
}

impl PrepareState {
    /// Short name for `upgrade status`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PrepareState::Unprepared => "not prepared",
            PrepareState::Preparing { .. } => "preparing",
            PrepareState::Prepared { .. } => "prepared",
            PrepareState::Failed { .. } => "failed to prepare",
        }
    }
}

/// A plan with its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedPlan {
    /// The plan.
    #[serde(flatten)]
    pub plan: UpgradePlan,
    /// Its status.
    pub status: PlanStatus,
    /// Preparation of its binary.
    #[serde(default)]
    pub prepare: PrepareState,
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

/// Identity of the queue file on disk, to notice another process's write
/// (every write is a rename, so the inode changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        dev: m.dev(),
        ino: m.ino(),
        len: m.len(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    })
}

/// The height-ordered upgrade queue, persisted atomically in
/// `governance/upgrade-queue.json`.
///
/// Every change goes through [`UpgradeQueue::transact`], which holds an
/// exclusive lock on `upgrade-queue.json.lock` while it reads, changes and
/// writes the file, so the daemon and `wemixvisor upgrade ...` commands never
/// lose each other's writes.
#[derive(Debug, Clone)]
pub struct UpgradeQueue {
    path: PathBuf,
    plans: Vec<QueuedPlan>,
    stamp: Option<FileStamp>,
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

pub(crate) fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// A short fingerprint of a plan's content (name, height, info), so a
/// preparation result is only recorded for the plan it was made for.
pub fn fingerprint(plan: &UpgradePlan) -> String {
    let body = serde_json::json!([plan.name, plan.height, plan.info]).to_string();
    hex::encode(&Sha256::digest(body.as_bytes())[..8])
}

/// An exclusive `flock` on the queue's lock file, released on drop.
#[derive(Debug)]
pub struct QueueLock {
    _file: Flock<File>,
}

impl QueueLock {
    /// Takes the lock of the queue at `queue_path`, waiting up to 15 s.
    pub fn acquire(queue_path: &Path) -> Result<Self, UpgradeError> {
        let path = UpgradeQueue::lock_path(queue_path);
        if let Some(dir) = path.parent() {
            atomic::create_dir_private(dir)?;
        }
        let start = Instant::now();
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)
                .map_err(|e| UpgradeError::io("open", &path, e))?;
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(f) => return Ok(QueueLock { _file: f }),
                Err((_, nix::errno::Errno::EWOULDBLOCK)) if start.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                    return Err(UpgradeError::QueueLocked {
                        path,
                        waited: start.elapsed(),
                    })
                }
                Err((_, e)) => {
                    return Err(UpgradeError::io("lock", &path, std::io::Error::from(e)));
                }
            }
        }
    }
}

impl UpgradeQueue {
    /// Loads the queue (an absent file is an empty queue).
    pub fn load(path: &Path) -> Result<Self, UpgradeError> {
        let before = stamp(path);
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
            stamp: before,
        };
        q.sort();
        Ok(q)
    }

    /// The lock file beside the queue file.
    pub fn lock_path(queue_path: &Path) -> PathBuf {
        let mut name = queue_path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "upgrade-queue.json".into());
        name.push(".lock");
        queue_path.with_file_name(name)
    }

    /// Under the queue lock: loads the file, lets `f` change it, writes it
    /// back when anything changed. Returns `f`'s result and the queue as
    /// written. When `f` fails nothing is written.
    pub fn transact<R>(
        path: &Path,
        f: impl FnOnce(&mut UpgradeQueue) -> Result<R, UpgradeError>,
    ) -> Result<(R, UpgradeQueue), UpgradeError> {
        let _lock = QueueLock::acquire(path)?;
        let mut q = UpgradeQueue::load(path)?;
        let before = q.plans.clone();
        let r = f(&mut q)?;
        q.sort();
        if q.plans != before {
            q.write()?;
        }
        Ok((r, q))
    }

    /// True when the file changed on disk since this copy was read.
    pub fn changed_on_disk(&self) -> bool {
        stamp(&self.path) != self.stamp
    }

    fn sort(&mut self) {
        self.plans
            .sort_by(|a, b| (a.plan.height, &a.plan.name).cmp(&(b.plan.height, &b.plan.name)));
    }

    /// Writes the queue atomically; callers hold the lock.
    fn write(&mut self) -> Result<(), UpgradeError> {
        let f = QueueFile {
            version: 1,
            plans: self.plans.clone(),
        };
        atomic::write_json_atomic(&self.path, &f, atomic::SECRET_MODE)?;
        self.stamp = stamp(&self.path);
        Ok(())
    }

    /// The queue file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All plans, lowest height first.
    pub fn plans(&self) -> &[QueuedPlan] {
        &self.plans
    }

    /// The plan named `name`.
    pub fn get(&self, name: &str) -> Option<&QueuedPlan> {
        self.plans.iter().find(|p| p.plan.name == name)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut QueuedPlan> {
        self.plans.iter_mut().find(|p| p.plan.name == name)
    }

    /// Adds a plan, or updates a pending one of the same name (its
    /// preparation starts over).
    ///
    /// Returns `false` when nothing changed (same plan again, or a plan of
    /// that name was already applied, failed or rolled back — a trigger file
    /// that is still lying around must not cause a second upgrade).
    pub fn offer(&mut self, plan: UpgradePlan) -> bool {
        if let Some(existing) = self.get_mut(&plan.name) {
            if existing.status != PlanStatus::Pending
                || (existing.plan.height == plan.height && existing.plan.info == plan.info)
            {
                return false;
            }
            existing.plan = plan;
            existing.prepare = PrepareState::Unprepared;
            existing.blocked = None;
            existing.updated_at = now();
        } else {
            self.plans.push(QueuedPlan {
                plan,
                status: PlanStatus::Pending,
                prepare: PrepareState::Unprepared,
                blocked: None,
                updated_at: now(),
            });
        }
        self.sort();
        true
    }

    /// Removes the plan `name` and returns it.
    pub fn remove(&mut self, name: &str) -> Option<QueuedPlan> {
        let i = self.plans.iter().position(|p| p.plan.name == name)?;
        Some(self.plans.remove(i))
    }

    /// The lowest pending plan whose height is reached at `head`.
    ///
    /// Strict height order: a plan with height 0 is due at once; a head that
    /// jumped past several heights yields them one by one, lowest first; a
    /// plan waiting for a re-arm ([`PlanStatus::Retry`]) holds back every
    /// plan above it.
    pub fn due(&self, head: Option<u64>) -> Option<&UpgradePlan> {
        for p in &self.plans {
            match p.status {
                PlanStatus::Retry { .. } | PlanStatus::Verifying { .. } => return None,
                PlanStatus::Pending => {
                    if p.plan.height == 0 || head.is_some_and(|h| h >= p.plan.height) {
                        return Some(&p.plan);
                    }
                    // Heights are sorted: nothing above this one is due.
                    return None;
                }
                _ => {}
            }
        }
        None
    }

    /// The plans that hold the queue up at `head`, with the fix for each:
    /// a plan waiting for a re-arm, a due plan that cannot be applied (its
    /// preparation failed or it is marked blocked), and a pending plan whose
    /// preparation failed for good. `upgrades_dir` names where binaries go
    /// (for the fix text).
    pub fn blocked(&self, head: Option<u64>, bin_of: impl Fn(&str) -> PathBuf) -> Vec<BlockedPlan> {
        let mut out = Vec::new();
        for (i, p) in self.plans.iter().enumerate() {
            let name = &p.plan.name;
            let due = p.plan.height == 0 || head.is_some_and(|h| h >= p.plan.height);
            let reason = match (&p.status, &p.prepare) {
                (PlanStatus::Retry { reason }, _) => Some(format!(
                    "it failed before its switch and waits for a re-arm: {}",
                    first_line(reason)
                )),
                (
                    PlanStatus::Pending,
                    PrepareState::Failed {
                        reason, transient, ..
                    },
                ) if due || !transient => Some(first_line(reason).to_string()),
                (PlanStatus::Pending, _) if due => {
                    p.blocked.as_deref().map(|b| first_line(b).to_string())
                }
                _ => None,
            };
            let Some(reason) = reason else { continue };
            let fix = match &p.status {
                PlanStatus::Retry { .. } => format!(
                    "fix the cause, then `wemixvisor upgrade retry {name}`; or drop it with `wemixvisor upgrade cancel {name}`"
                ),
                _ => format!(
                    "install the binary at '{}' (`wemixvisor upgrade add {name} --binary <file>`), or drop the plan with `wemixvisor upgrade cancel {name}`",
                    bin_of(name).display()
                ),
            };
            let holding_back = self.plans[i + 1..]
                .iter()
                .filter(|q| !q.status.is_final())
                .map(|q| q.plan.name.clone())
                .collect();
            out.push(BlockedPlan {
                name: name.clone(),
                height: p.plan.height,
                reason,
                fix,
                holding_back,
            });
        }
        out
    }

    /// Puts a plan waiting for a re-arm back to pending (prepared again).
    /// Returns `false` when `name` is not waiting for a re-arm.
    pub fn rearm(&mut self, name: &str) -> bool {
        match self.get_mut(name) {
            Some(p) if matches!(p.status, PlanStatus::Retry { .. }) => {
                p.status = PlanStatus::Pending;
                p.prepare = PrepareState::Unprepared;
                p.blocked = None;
                p.updated_at = now();
                true
            }
            _ => false,
        }
    }

    /// The next pending plan, due or not.
    pub fn next_pending(&self) -> Option<&UpgradePlan> {
        self.plans
            .iter()
            .find(|p| p.status == PlanStatus::Pending)
            .map(|p| &p.plan)
    }

    /// Pending plans, lowest height first.
    pub fn pending(&self) -> impl Iterator<Item = &QueuedPlan> {
        self.plans
            .iter()
            .filter(|p| p.status == PlanStatus::Pending)
    }

    /// Records what became of `name`.
    pub fn set_status(&mut self, name: &str, status: PlanStatus) {
        if let Some(p) = self.get_mut(name) {
            p.status = status;
            p.blocked = None;
            p.updated_at = now();
        }
    }

    /// Records the preparation state of `name`, but only while the plan is
    /// still the one with fingerprint `fp` (a plan changed meanwhile is
    /// prepared again). Returns `true` when recorded.
    pub fn set_prepare(&mut self, name: &str, fp: &str, state: PrepareState) -> bool {
        match self.get_mut(name) {
            Some(p) if fingerprint(&p.plan) == fp && p.prepare != state => {
                p.prepare = state;
                p.updated_at = now();
                true
            }
            _ => false,
        }
    }

    /// Records why a due plan cannot go ahead yet; returns `true` when the
    /// reason is new (so callers log it once, not on every tick).
    pub fn set_blocked(&mut self, name: &str, reason: Option<String>) -> bool {
        match self.get_mut(name) {
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
    use proptest::prelude::*;
    use wemixvisor_core::InfoSource;

    fn plan(name: &str, height: u64) -> UpgradePlan {
        UpgradePlan {
            name: name.into(),
            height,
            info: InfoSource::None,
            source: "test".into(),
        }
    }

    fn add(path: &Path, p: UpgradePlan) -> bool {
        UpgradeQueue::transact(path, |q| Ok(q.offer(p))).unwrap().0
    }

    #[test]
    fn ordered_due_and_persisted() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("gov/upgrade-queue.json");
        assert!(add(&path, plan("v3", 300)));
        assert!(add(&path, plan("v2", 200)));
        assert!(!add(&path, plan("v2", 200)));
        let q = UpgradeQueue::load(&path).unwrap();
        assert_eq!(q.due(Some(199)), None);
        assert_eq!(q.due(None), None);
        // head jumped past both: lowest first
        assert_eq!(q.due(Some(350)).unwrap().name, "v2");
        let (_, q) = UpgradeQueue::transact(&path, |q| {
            q.set_status("v2", PlanStatus::Applied { at_head: Some(350) });
            Ok(())
        })
        .unwrap();
        assert_eq!(q.due(Some(350)).unwrap().name, "v3");
        let q2 = UpgradeQueue::load(&path).unwrap();
        assert_eq!(q2.plans(), q.plans());
        // an applied plan offered again (stale trigger file) is ignored
        assert!(!add(&path, plan("v2", 200)));
        assert!(add(&path, plan("v3", 310)));
        assert_eq!(
            UpgradeQueue::load(&path)
                .unwrap()
                .get("v3")
                .unwrap()
                .plan
                .height,
            310
        );
    }

    #[test]
    fn corrupt_queue_is_a_clear_error() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("q.json");
        std::fs::write(&path, "{not json").unwrap();
        let e = UpgradeQueue::load(&path).unwrap_err();
        assert!(e.to_string().contains("q.json"), "{e}");
        // and a transaction does not overwrite it
        assert!(UpgradeQueue::transact(&path, |q| Ok(q.offer(plan("v2", 1)))).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{not json");
    }

    #[test]
    fn concurrent_writers_never_lose_a_plan() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("upgrade-queue.json");
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        add(&path, plan(&format!("t{t}-{i}"), 1000 + t * 100 + i));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(UpgradeQueue::load(&path).unwrap().plans().len(), 40);
    }

    #[test]
    fn reload_is_noticed_and_prepare_follows_the_plan() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("upgrade-queue.json");
        add(&path, plan("v2", 10));
        let cached = UpgradeQueue::load(&path).unwrap();
        assert!(!cached.changed_on_disk());
        let fp_old = fingerprint(&plan("v2", 10));
        add(&path, plan("v2", 20));
        assert!(cached.changed_on_disk());
        // a result for the old content is not recorded
        let (recorded, _) = UpgradeQueue::transact(&path, |q| {
            Ok(q.set_prepare(
                "v2",
                &fp_old,
                PrepareState::Failed {
                    at: now(),
                    reason: "x".into(),
                    transient: false,
                },
            ))
        })
        .unwrap();
        assert!(!recorded);
        let fp_new = fingerprint(&plan("v2", 20));
        let (recorded, q) = UpgradeQueue::transact(&path, |q| {
            Ok(q.set_prepare(
                "v2",
                &fp_new,
                PrepareState::Prepared {
                    at: now(),
                    sha256: "ab".into(),
                    notes: vec![],
                },
            ))
        })
        .unwrap();
        assert!(recorded);
        assert_eq!(q.get("v2").unwrap().prepare.as_str(), "prepared");
        // changing the plan again starts preparation over
        add(&path, plan("v2", 30));
        assert_eq!(
            UpgradeQueue::load(&path)
                .unwrap()
                .get("v2")
                .unwrap()
                .prepare,
            PrepareState::Unprepared
        );
    }

    proptest! {
        #[test]
        fn queue_is_always_height_ordered_and_due_is_lowest(
            heights in proptest::collection::vec(1u64..1000, 1..12),
            head in 0u64..1100,
        ) {
            let d = tempfile::tempdir().unwrap();
            let path = d.path().join("q.json");
            let (_, q) = UpgradeQueue::transact(&path, |q| {
                for (i, h) in heights.iter().enumerate() {
                    q.offer(plan(&format!("p{i}"), *h));
                }
                Ok(())
            }).unwrap();
            let hs: Vec<u64> = q.plans().iter().map(|p| p.plan.height).collect();
            let mut sorted = hs.clone();
            sorted.sort();
            prop_assert_eq!(&hs, &sorted);
            let reloaded = UpgradeQueue::load(&path).unwrap();
            prop_assert_eq!(reloaded.plans(), q.plans());
            match q.due(Some(head)) {
                Some(p) => {
                    prop_assert!(p.height <= head);
                    prop_assert_eq!(p.height, *sorted.first().unwrap());
                }
                None => prop_assert!(sorted.iter().all(|&h| h > head)),
            }
        }
    }
}
