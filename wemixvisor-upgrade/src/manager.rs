use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use wemixvisor_core::{
    ChainClient, DataBackup, ExitInfo, FileSystem, Home, LaunchSpec, NodeError, NodeProcess,
    NodeState, UpgradePlan,
};

use crate::hooks::{run_hook_until, HookDecision, HookEnv};
use crate::install::{ensure_binary, Installed};
use crate::journal::{
    ActiveUpgrade, HelperProcess, HistoryEntry, Journal, Outcome, Step, VerifyWindow,
};
use crate::preflight::{apply_migrations, preflight, PreflightReport};
use crate::queue::{fingerprint, now};
use crate::stop::StopRequest;
use crate::store::file_sha256;
use crate::verify::{assess, Observation, Verdict, VerifyPolicy};
use crate::{
    audit, fault, BinaryStore, PlanStatus, PrepareState, QueuedPlan, UpgradeError, UpgradeQueue,
    UpgradeSettings,
};

/// An upgrade interrupted this many times before its switch is given up.
const MAX_ATTEMPTS: u32 = 3;
/// First wait before a failed preparation is tried again.
const RETRY_FIRST: Duration = Duration::from_secs(5);
/// Longest wait between preparation attempts.
const RETRY_MAX: Duration = Duration::from_secs(600);

/// What an upgrade attempt came to (failures are errors: the previous
/// binary is then what `current` names, and it runs if it ran before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Switched, verified, hooks done; the node runs the new binary.
    Restarted {
        /// Upgrade name.
        name: String,
        /// Pid of the new node.
        pid: u32,
    },
    /// Switched; the node was left stopped (`restart_after_upgrade = false`).
    SwitchedStopped {
        /// Upgrade name.
        name: String,
    },
    /// Not carried out and the node was not touched: the binary is not
    /// prepared (yet), or failed pre-flight. The plan stays pending.
    Blocked {
        /// Upgrade name.
        name: String,
        /// Why.
        reason: String,
        /// True the first time this reason is seen.
        new_reason: bool,
    },
}

/// What start-up recovery found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// No upgrade was in progress.
    Clean,
    /// An upgrade interrupted after its switch was carried through; the new
    /// node runs (or was left stopped with `restart_after_upgrade = false`).
    Resumed {
        /// Upgrade name.
        name: String,
    },
    /// An interrupted upgrade (or rollback) ended rolled back.
    RolledBack {
        /// Upgrade name.
        name: String,
        /// Why.
        reason: String,
    },
    /// An upgrade interrupted before its switch: nothing had changed; it
    /// goes again from the start when it is due.
    StartedOver {
        /// Upgrade name.
        name: String,
        /// The step it was interrupted at.
        step: String,
    },
    /// An upgrade interrupted in its verification window: the new node runs
    /// (started here if it did not) and the window goes on from the
    /// journal; the loop carries it on with
    /// [`UpgradeManager::tick_verification`].
    Verifying {
        /// Upgrade name.
        name: String,
    },
    /// An upgrade interrupted too often before its switch was given up.
    GaveUp {
        /// Upgrade name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// What `upgrade status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// `genesis` or the upgrade `current` names.
    pub current: String,
    /// The binary `current` resolves to.
    pub current_binary: PathBuf,
    /// Its sha256, when readable.
    pub current_sha256: Option<String>,
    /// Every plan, lowest height first.
    pub plans: Vec<QueuedPlan>,
    /// An upgrade in progress (or interrupted), if any.
    pub in_progress: Option<ActiveUpgrade>,
    /// The last finished upgrade or rollback.
    pub last: Option<HistoryEntry>,
    /// Plans that hold the queue up, with their fixes.
    pub blocked: Vec<crate::BlockedPlan>,
    /// A migration step running now: step, elapsed time, last output line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migration: Option<crate::migration::Progress>,
}

/// A [`NodeProcess`] for commands that run with no supervisor: nothing runs,
/// and nothing can be started.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineNode;

#[async_trait]
impl NodeProcess for OfflineNode {
    async fn start(&self, spec: &LaunchSpec) -> Result<u32, NodeError> {
        Err(NodeError::Spawn {
            path: spec.program.clone(),
            source: std::io::Error::other(
                "no supervisor runs here; start the node with `wemixvisor run`",
            ),
        })
    }
    async fn stop(&self) -> Result<Option<ExitInfo>, NodeError> {
        Ok(None)
    }
    async fn signal(&self, _signal: i32) -> Result<(), NodeError> {
        Ok(())
    }
    async fn wait(&self) -> Option<ExitInfo> {
        None
    }
    fn pid(&self) -> Option<u32> {
        None
    }
    fn state(&self) -> NodeState {
        NodeState::Stopped
    }
}

struct Task {
    fp: String,
    handle: tokio::task::JoinHandle<()>,
}

struct Retry {
    fp: String,
    not_before: Instant,
    wait: Duration,
}

/// Drives the upgrade pipeline: the queue, preparation ahead of the height,
/// the journaled switch-over, recovery at start-up and rollback.
pub struct UpgradeManager<F: FileSystem + Clone + 'static> {
    home: Home,
    store: BinaryStore<F>,
    queue: UpgradeQueue,
    settings: Arc<UpgradeSettings>,
    backup: Option<Arc<dyn DataBackup>>,
    tasks: HashMap<String, Task>,
    retries: HashMap<String, Retry>,
    stop: StopRequest,
    steps: Option<StepSink>,
}

/// Told of every journaled step as it begins: `(upgrade name, step)`, the
/// step being a journal step name (`halt`, `backup`, `pre-hook`, `migrate`,
/// `switch`, `start`, `verify`, `post-hook`, `rollback`) or an end (`done`,
/// `rolled back`, `failed`, `aborted`, `interrupted`).
pub type StepSink = Arc<dyn Fn(&str, &str) + Send + Sync>;

impl<F: FileSystem + Clone + 'static> std::fmt::Debug for UpgradeManager<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpgradeManager")
            .field("queue", &self.queue)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Fetches (or finds) and pre-flights the binary of `plan` against `args`
/// (as the new release changes them), after checking that its data
/// migration, if any, can run (free space for the snapshot and the
/// migration included); `snapshot` says whether a snapshot will be taken.
async fn prepare_plan<F: FileSystem + Clone>(
    store: &BinaryStore<F>,
    settings: &UpgradeSettings,
    plan: &UpgradePlan,
    args: &[String],
    snapshot: bool,
) -> Result<(Installed, PreflightReport), UpgradeError> {
    let change = migration_steps::check_before_halt(store.home(), plan, args, snapshot)?;
    let release_store = migration_steps::release_store(store, plan);
    let installed = ensure_binary(&release_store, settings, plan).await?;
    migration_steps::record_daemon(store, plan, release_store.daemon_name());
    let args = crate::migration::Release {
        daemon_name: None,
        changes: vec![change],
    }
    .apply(args);
    let current = store.current()?;
    let old_bin = store.bin_of(current.as_deref());
    let report = preflight(
        &plan.name,
        &installed.binary,
        Some(&old_bin),
        &args,
        &settings.flag_migrations,
        settings.preflight_timeout,
    )
    .await?;
    Ok((installed, report))
}

fn prepare_state(result: &Result<(Installed, PreflightReport), UpgradeError>) -> PrepareState {
    match result {
        Ok((inst, report)) => PrepareState::Prepared {
            at: now(),
            sha256: inst.sha256.clone(),
            notes: std::iter::once(inst.note.clone())
                .chain(report.notes.iter().cloned())
                .collect(),
        },
        Err(e) => PrepareState::Failed {
            at: now(),
            reason: e.to_string(),
            transient: e.is_transient(),
        },
    }
}

/// Records in the journal at `path` the helper process group `pgid` the
/// active step just spawned (it is written before the helper can do much).
fn record_helper(path: &std::path::Path, label: &str, pgid: u32) {
    let helper = HelperProcess::of(label, pgid);
    match Journal::load(path) {
        Ok(mut j) => {
            if let Some(a) = j.active.as_mut() {
                a.helper = Some(helper);
                if let Err(e) = j.save() {
                    tracing::warn!(error = %e, "cannot record the {label} hook's process group in the journal");
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot record the {label} hook's process group in the journal")
        }
    }
}

/// Time between looks at a new node while `apply` waits on it.
const VERIFY_EVERY: Duration = Duration::from_millis(250);

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// What the verification of a new binary concluded (see
/// [`UpgradeManager::tick_verification`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyDecision {
    /// Still in its window; `detail` is what it waits for ("waiting for
    /// quorum: 1 of 4 validators").
    Pending {
        /// Upgrade name.
        name: String,
        /// One line for status and log.
        detail: String,
    },
    /// Healthy: the upgrade is complete.
    Healthy {
        /// Upgrade name.
        name: String,
        /// Why it is judged healthy.
        detail: String,
    },
    /// Failed: rolled back.
    Rollback {
        /// Upgrade name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// Longest wait for a helper left by a dead supervisor to be gone.
const HELPER_REAP_WAIT: Duration = Duration::from_secs(30);

/// Records a preparation result in the queue, the log and the audit log.
fn record_prepare(
    home: &Home,
    plan: &UpgradePlan,
    fp: &str,
    result: &Result<(Installed, PreflightReport), UpgradeError>,
) {
    let state = prepare_state(result);
    match result {
        Ok((inst, report)) => {
            tracing::info!(upgrade = %plan.name, binary = %inst.binary.display(), sha256 = %inst.sha256, notes = ?report.notes, "upgrade prepared: binary in place, verified and pre-flighted");
            audit::record(
                &home.audit_log_file(),
                "prepared",
                &[("name", &plan.name), ("sha256", &inst.sha256)],
            );
        }
        Err(e) => {
            tracing::error!(upgrade = %plan.name, "cannot prepare the upgrade: {e}");
            audit::record(
                &home.audit_log_file(),
                "prepare-failed",
                &[("name", &plan.name), ("reason", &e.to_string())],
            );
        }
    }
    if let Err(e) = UpgradeQueue::transact(&home.upgrade_queue_file(), |q| {
        Ok(q.set_prepare(&plan.name, fp, state))
    }) {
        tracing::error!(upgrade = %plan.name, error = %e, "cannot record the preparation in the queue");
    }
}

impl<F: FileSystem + Clone + Send + Sync + 'static> UpgradeManager<F> {
    /// Loads the queue of `home`.
    pub fn new(
        home: Home,
        daemon_name: &str,
        fs: F,
        settings: UpgradeSettings,
        backup: Option<Arc<dyn DataBackup>>,
    ) -> Result<Self, UpgradeError> {
        let queue = UpgradeQueue::load(&home.upgrade_queue_file())?;
        Ok(UpgradeManager {
            store: BinaryStore::new(home.clone(), daemon_name, fs),
            home,
            queue,
            settings: Arc::new(settings),
            backup,
            tasks: HashMap::new(),
            retries: HashMap::new(),
            stop: StopRequest::new(),
            steps: None,
        })
    }

    /// Tells `sink` of every step the pipeline takes (the supervisor turns
    /// them into events).
    pub fn with_step_sink(mut self, sink: StepSink) -> Self {
        self.steps = Some(sink);
        self
    }

    /// The flag a stop sets: the pipeline ends at its next safe point with
    /// [`UpgradeError::Interrupted`] (see [`crate::stop`]).
    pub fn stop_request(&self) -> StopRequest {
        self.stop.clone()
    }

    fn step_event(&self, name: &str, step: &str) {
        if let Some(f) = &self.steps {
            f(name, step);
        }
    }

    /// Records `step` in the journal, then tells the step sink.
    fn enter(&self, journal: &mut Journal, step: Step) -> Result<(), UpgradeError> {
        journal.enter(step)?;
        if let Some(a) = &journal.active {
            self.step_event(&a.name, step.as_str());
        }
        Ok(())
    }

    /// A safe point: with a stop asked for, the pipeline ends here, the
    /// journal left at the step it reached for start-up recovery.
    fn stop_point(&self, journal: &Journal) -> Result<(), UpgradeError> {
        if !self.stop.is_requested() {
            return Ok(());
        }
        Err(self.interrupted(journal))
    }

    fn interrupted(&self, journal: &Journal) -> UpgradeError {
        let (name, step) = journal
            .active
            .as_ref()
            .map(|a| (a.name.clone(), a.step.as_str().to_string()))
            .unwrap_or_default();
        tracing::warn!(upgrade = %name, step = %step, "stop asked: the upgrade ends at this safe point; the journal keeps it for the next start");
        self.audit("interrupted-by-stop", &[("name", &name), ("step", &step)]);
        self.step_event(&name, "interrupted");
        UpgradeError::Interrupted { name, step }
    }

    /// The binary store.
    pub fn store(&self) -> &BinaryStore<F> {
        &self.store
    }

    /// The queue as last read.
    pub fn queue(&self) -> &UpgradeQueue {
        &self.queue
    }

    /// The settings.
    pub fn settings(&self) -> &UpgradeSettings {
        &self.settings
    }

    /// The journal as it is on disk.
    pub fn journal(&self) -> Result<Journal, UpgradeError> {
        Journal::load(&self.home.upgrade_journal_file())
    }

    fn audit(&self, event: &str, fields: &[(&str, &str)]) {
        audit::record(&self.home.audit_log_file(), event, fields);
    }

    /// Reads the queue again if its file changed; `true` when it did. The
    /// writers are this manager's own background preparations (they record
    /// their results under the queue lock) and, with no supervisor running,
    /// offline commands. It is not a control path: while a supervisor runs,
    /// CLI and API changes reach it through its handle, and offline
    /// commands cannot run (they need the home lock it holds).
    pub fn refresh(&mut self) -> bool {
        if !self.queue.changed_on_disk() {
            return false;
        }
        match UpgradeQueue::load(&self.home.upgrade_queue_file()) {
            Ok(q) => {
                self.queue = q;
                true
            }
            Err(e) => {
                tracing::error!("{e}; keeping the queue as last read");
                false
            }
        }
    }

    fn transact<R>(
        &mut self,
        f: impl FnOnce(&mut UpgradeQueue) -> Result<R, UpgradeError>,
    ) -> Result<R, UpgradeError> {
        let (r, q) = UpgradeQueue::transact(&self.home.upgrade_queue_file(), f)?;
        self.queue = q;
        Ok(r)
    }

    /// Checks `plan` fully before it is queued ([`crate::plan::validate_plan`]).
    pub fn validate(&self, plan: &UpgradePlan) -> Result<(), UpgradeError> {
        let bin = migration_steps::release_store(&self.store, plan).upgrade_bin(&plan.name);
        let snapshots = self.backup.is_some() && !self.settings.skip_backup;
        let problems: Vec<String> = crate::plan::validate_plan(plan, &self.settings, &bin)
            .into_iter()
            .chain(migration_steps::validate(plan, snapshots))
            .map(|p| {
                format!(
                    "'{}' (height {}, from {}): {p}",
                    plan.name, plan.height, plan.source
                )
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(UpgradeError::BadPlan { problems })
        }
    }

    /// Queues a plan after checking it fully; `false` when it was already
    /// known. A plan that cannot be carried out is refused
    /// ([`UpgradeError::BadPlan`]), never queued to block the others.
    pub fn offer(&mut self, plan: UpgradePlan) -> Result<bool, UpgradeError> {
        if self
            .queue
            .get(&plan.name)
            .is_some_and(|q| q.plan.height == plan.height && q.plan.info == plan.info)
        {
            return Ok(false);
        }
        self.validate(&plan)?;
        let current = self.store.current()?;
        let name = plan.name.clone();
        let height = plan.height.to_string();
        let source = plan.source.clone();
        let changed = self.transact(|q| {
            if current.as_deref() == Some(plan.name.as_str()) && q.get(&plan.name).is_none() {
                // Already running this upgrade (e.g. switched before the
                // queue existed): record it as applied rather than switching again.
                let name = plan.name.clone();
                q.offer(plan);
                q.set_status(&name, PlanStatus::Applied { at_head: None });
                return Ok(false);
            }
            Ok(q.offer(plan))
        })?;
        if changed {
            self.audit(
                "queued",
                &[("name", &name), ("height", &height), ("source", &source)],
            );
        }
        Ok(changed)
    }

    /// Queues several plans at once, or none (the whole batch is checked
    /// again under the queue lock).
    pub fn offer_batch(
        &mut self,
        plans: Vec<UpgradePlan>,
        head: Option<u64>,
    ) -> Result<(), UpgradeError> {
        let current = self.store.current()?;
        let mut problems = Vec::new();
        for p in &plans {
            if let Err(UpgradeError::BadPlan { problems: mut more }) = self.validate(p) {
                problems.append(&mut more);
            }
        }
        if !problems.is_empty() {
            return Err(UpgradeError::BadPlan { problems });
        }
        let infos: Vec<_> = plans.iter().map(UpgradePlan::to_info).collect();
        self.transact(|q| {
            let problems = crate::plan::validate_batch(&infos, q, current.as_deref(), head);
            if !problems.is_empty() {
                return Err(UpgradeError::BadPlan { problems });
            }
            for p in plans {
                q.offer(p);
            }
            Ok(())
        })?;
        for i in &infos {
            self.audit(
                "queued",
                &[
                    ("name", &i.name),
                    ("height", &i.height.to_string()),
                    ("source", "plan"),
                ],
            );
        }
        Ok(())
    }

    /// Forgets the preparation of pending plan `name` (its binary was
    /// replaced), so it is prepared again.
    pub fn reset_preparation(&mut self, name: &str) -> Result<(), UpgradeError> {
        self.transact(|q| {
            if let Some(p) = q.get(name).filter(|p| p.status == PlanStatus::Pending) {
                let fp = fingerprint(&p.plan);
                q.set_prepare(name, &fp, PrepareState::Unprepared);
            }
            Ok(())
        })
    }

    /// Refuses when the upgrade `name` is being applied (the journal has it
    /// active): its `upgrades/<name>` must not be replaced meanwhile.
    pub fn ensure_not_applying(&self, name: &str) -> Result<(), UpgradeError> {
        match self.journal()?.active {
            Some(a) if a.name == name => Err(UpgradeError::Conflict {
                name: name.to_string(),
                reason: format!(
                    "it is being applied right now (step {}); its binary in upgrades/{name} is not replaced meanwhile\nhelp: wait for it to finish (`wemixvisor upgrade status`), then install the new binary under a new name",
                    a.step.as_str()
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Removes a pending plan (or one waiting for a re-arm).
    pub fn cancel(&mut self, name: &str) -> Result<QueuedPlan, UpgradeError> {
        if let Some(a) = self.journal()?.active {
            if a.name == name {
                return Err(UpgradeError::Conflict {
                    name: name.to_string(),
                    reason: format!(
                        "it is being applied right now (step {})\nhelp: wait for it to finish, then use `wemixvisor upgrade rollback` if needed",
                        a.step.as_str()
                    ),
                });
            }
        }
        let removed = self.transact(|q| {
            let pending: Vec<String> = q.pending().map(|p| p.plan.name.clone()).collect();
            match q.get(name).map(|p| p.status.clone()) {
                None => Err(UpgradeError::Conflict {
                    name: name.to_string(),
                    reason: format!(
                        "no upgrade of that name is queued\nhelp: pending upgrades: {}",
                        if pending.is_empty() { "none".into() } else { pending.join(", ") }
                    ),
                }),
                Some(PlanStatus::Pending | PlanStatus::Retry { .. }) => q.remove(name).ok_or_else(|| UpgradeError::Conflict {
                    name: name.to_string(),
                    reason: "it disappeared from the queue".into(),
                }),
                Some(other) => Err(UpgradeError::Conflict {
                    name: name.to_string(),
                    reason: format!(
                        "it is not pending, it was {}\nhelp: to leave an applied upgrade use `wemixvisor upgrade rollback`",
                        other.as_str()
                    ),
                }),
            }
        })?;
        if let Some(t) = self.tasks.remove(name) {
            t.handle.abort();
        }
        self.audit("cancelled", &[("name", name)]);
        Ok(removed)
    }

    /// The plans that hold the queue up at `head`, each with its reason, its
    /// fix and the plans waiting behind it (strict height order). The
    /// supervisor logs these every few minutes, publishes them as events and
    /// shows them in `status`; `upgrade status` exits non-zero while any
    /// exists.
    pub fn blocked(&mut self, head: Option<u64>) -> Vec<crate::BlockedPlan> {
        self.refresh();
        let store = &self.store;
        self.queue.blocked(head, |n| store.upgrade_bin(n))
    }

    /// Re-arms a plan that failed before its switch ([`PlanStatus::Retry`]):
    /// it is pending again and prepared again.
    pub fn retry(&mut self, name: &str) -> Result<(), UpgradeError> {
        let name_s = name.to_string();
        let done = self.transact(|q| Ok(q.rearm(&name_s)))?;
        if !done {
            let state = self
                .queue
                .get(name)
                .map(|p| p.status.as_str())
                .unwrap_or("not queued");
            return Err(UpgradeError::Conflict {
                name: name.to_string(),
                reason: format!(
                    "only a plan in state retry can be re-armed; it is {state}\nhelp: `wemixvisor upgrade status` shows the queue"
                ),
            });
        }
        self.retries.remove(name);
        self.audit("re-armed", &[("name", name)]);
        Ok(())
    }

    /// The plan due at `head`, if any (the queue is re-read first when a
    /// background preparation recorded its result, see [`Self::refresh`]).
    pub fn due(&mut self, head: Option<u64>) -> Option<UpgradePlan> {
        self.refresh();
        // One upgrade at a time: none while one is in progress or verifying.
        if self.journal().map_or(true, |j| j.active.is_some()) {
            return None;
        }
        self.queue.due(head).cloned()
    }

    /// The node's arguments for the binary `current` names: `raw` with the
    /// flag renames recorded for it applied.
    pub fn launch_args(&self, raw: &[String]) -> Vec<String> {
        let current = self.store.current().ok().flatten();
        let raw = match current.as_deref() {
            Some(c) => crate::migration::Release::load(&self.home.upgrade_dir(c)).apply(raw),
            None => raw.to_vec(),
        };
        apply_migrations(&raw, &self.store.migrations_of(current.as_deref()))
    }

    /// What the node is started from: `current/bin/<its release's binary name>`.
    pub fn launch_program(&self) -> PathBuf {
        self.store.launch_program()
    }

    fn reap(&mut self) -> bool {
        let done: Vec<String> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.handle.is_finished())
            .map(|(n, _)| n.clone())
            .collect();
        for n in &done {
            self.tasks.remove(n);
        }
        !done.is_empty()
    }

    /// True while a background preparation of `name` runs.
    pub fn is_preparing(&self, name: &str) -> bool {
        self.tasks
            .get(name)
            .is_some_and(|t| !t.handle.is_finished())
    }

    /// Starts background preparation (download, verification, pre-flight
    /// against `args`) of every pending plan that needs it: new plans,
    /// changed plans, plans whose binary went missing, and failed ones
    /// whose retry time came (or whose binary was installed meanwhile).
    /// Call it on every tick; it returns at once. Needs a tokio runtime.
    pub fn prepare_pending(&mut self, args: &[String]) {
        self.reap();
        self.refresh();
        let pending: Vec<QueuedPlan> = self.queue.pending().cloned().collect();
        for qp in pending {
            let name = qp.plan.name.clone();
            let fp = fingerprint(&qp.plan);
            if let Some(t) = self.tasks.get(&name) {
                if t.fp == fp {
                    continue;
                }
                t.handle.abort();
                self.tasks.remove(&name);
            }
            let retry = self.retries.get(&name).filter(|r| r.fp == fp);
            let go = match &qp.prepare {
                PrepareState::Unprepared | PrepareState::Preparing { .. } => true,
                PrepareState::Prepared { .. } => !self.store.is_installed(&name),
                PrepareState::Failed {
                    transient: true, ..
                } => {
                    retry.is_none_or(|r| Instant::now() >= r.not_before)
                        || (matches!(qp.plan.info, wemixvisor_core::InfoSource::None)
                            && self.store.is_installed(&name))
                }
                PrepareState::Failed {
                    transient: false, ..
                } => retry.is_none(),
            };
            if go {
                self.spawn_prepare(qp.plan, fp, args);
            }
        }
    }

    fn spawn_prepare(&mut self, plan: UpgradePlan, fp: String, args: &[String]) {
        let name = plan.name.clone();
        let wait = self
            .retries
            .get(&name)
            .filter(|r| r.fp == fp)
            .map(|r| (r.wait * 2).min(RETRY_MAX))
            .unwrap_or(RETRY_FIRST);
        self.retries.insert(
            name.clone(),
            Retry {
                fp: fp.clone(),
                not_before: Instant::now() + wait,
                wait,
            },
        );
        // A retry keeps showing the last failure until it has a result, so
        // `upgrade status` and the log do not flap between the two.
        let retrying = matches!(
            self.queue.get(&name).map(|p| &p.prepare),
            Some(PrepareState::Failed { .. })
        );
        if !retrying {
            let since = PrepareState::Preparing { since: now() };
            if let Err(e) = self.transact(|q| Ok(q.set_prepare(&name, &fp, since))) {
                tracing::error!(upgrade = %name, error = %e, "cannot record the preparation in the queue");
            }
        }
        tracing::info!(upgrade = %name, height = plan.height, "preparing the upgrade binary in the background");
        let store = self.store.clone();
        let settings = self.settings.clone();
        let home = self.home.clone();
        let args = args.to_vec();
        let snapshot = self.backup.is_some() && !self.settings.skip_backup;
        let task_fp = fp.clone();
        let handle = tokio::spawn(async move {
            let result = prepare_plan(&store, &settings, &plan, &args, snapshot).await;
            record_prepare(&home, &plan, &task_fp, &result);
        });
        self.tasks.insert(name, Task { fp, handle });
    }

    /// Prepares `plan` here and now (nothing runs, so nothing is waiting).
    async fn prepare_inline(
        &mut self,
        plan: &UpgradePlan,
        args: &[String],
    ) -> Result<(), UpgradeError> {
        if let Some(t) = self.tasks.remove(&plan.name) {
            t.handle.abort();
        }
        let fp = fingerprint(plan);
        let snapshot = self.backup.is_some() && !self.settings.skip_backup;
        let result = prepare_plan(&self.store, &self.settings, plan, args, snapshot).await;
        record_prepare(&self.home, plan, &fp, &result);
        self.refresh();
        result.map(|_| ())
    }

    fn block(&mut self, plan: &UpgradePlan, reason: String) -> Result<ApplyOutcome, UpgradeError> {
        let name = plan.name.clone();
        let known = self
            .queue
            .get(&name)
            .is_some_and(|p| p.blocked.as_deref() == Some(reason.as_str()));
        let r = reason.clone();
        // Checked on every tick while it waits: write only when the reason changes.
        let new_reason = !known && self.transact(|q| Ok(q.set_blocked(&name, Some(r))))?;
        Ok(ApplyOutcome::Blocked {
            name: plan.name.clone(),
            reason,
            new_reason,
        })
    }

    fn hook_env(&self, plan: &UpgradePlan) -> HookEnv {
        HookEnv {
            home: self.home.root().to_path_buf(),
            daemon_name: self.store.daemon_name().to_string(),
            name: plan.name.clone(),
            height: plan.height,
            info_json: plan.to_info().to_cosmovisor_json().to_string(),
        }
    }

    fn interrupted_before(journal: &Journal, name: &str) -> u32 {
        journal
            .history
            .iter()
            .rev()
            .take_while(|h| h.name == name && h.outcome == Outcome::Interrupted)
            .count() as u32
    }

    /// Carries out `plan`, which is due: makes sure its binary is prepared
    /// (with no node running it is prepared here; with one running a plan
    /// that is not prepared is not halted for), pre-flights it against the
    /// node's arguments, then — journaled step by step — stops the node,
    /// snapshots, runs the pre-upgrade hooks, switches `current`, starts the
    /// new binary with the migrated arguments (written into `spec`),
    /// verifies it and runs the post-upgrade hook.
    ///
    /// A failure before the switch leaves `current` alone and starts the
    /// old node again if it ran; a failure after it rolls back. Both are
    /// errors; [`ApplyOutcome::Blocked`] means nothing was touched.
    pub async fn apply(
        &mut self,
        plan: &UpgradePlan,
        node: &dyn NodeProcess,
        chain: &dyn ChainClient,
        spec: &mut LaunchSpec,
        head: Option<u64>,
    ) -> Result<ApplyOutcome, UpgradeError> {
        self.reap();
        self.refresh();
        let Some(qp) = self.queue.get(&plan.name).cloned() else {
            return Ok(ApplyOutcome::Blocked {
                name: plan.name.clone(),
                reason: format!("upgrade '{}' is no longer queued", plan.name),
                new_reason: false,
            });
        };
        if qp.status != PlanStatus::Pending {
            return Ok(ApplyOutcome::Blocked {
                name: plan.name.clone(),
                reason: format!("upgrade '{}' is {}", plan.name, qp.status.as_str()),
                new_reason: false,
            });
        }
        let plan = qp.plan.clone();
        let running = node.pid().is_some();
        let prepared = matches!(qp.prepare, PrepareState::Prepared { .. })
            && self.store.is_installed(&plan.name);
        if !prepared {
            if !running {
                if let Err(e) = self.prepare_inline(&plan, &spec.args).await {
                    return self.block(&plan, e.to_string());
                }
            } else if let PrepareState::Failed { reason, .. } = &qp.prepare {
                if !self.is_preparing(&plan.name) {
                    self.prepare_pending(&spec.args);
                }
                return self.block(&plan, reason.clone());
            } else {
                self.prepare_pending(&spec.args);
                return self.block(
                    &plan,
                    format!(
                        "upgrade '{}' is due at height {} but its binary is still being prepared; the node keeps running until it is ready",
                        plan.name, plan.height
                    ),
                );
            }
        }

        // The data migration can still run (free space included): checked
        // before anything is touched, so a short disk blocks the plan.
        let snapshots = self.backup.is_some() && !self.settings.skip_backup;
        let change =
            match migration_steps::check_before_halt(&self.home, &plan, &spec.args, snapshots) {
                Ok(c) => c,
                Err(e) => return self.block(&plan, e.to_string()),
            };
        let new_args = crate::migration::Release {
            daemon_name: None,
            changes: vec![change.clone()],
        }
        .apply(&spec.args);

        // Pre-flight again with the exact arguments of this moment (cheap).
        let current = self.store.current()?;
        let new_bin = self.store.upgrade_bin(&plan.name);
        let old_bin = self.store.bin_of(current.as_deref());
        let report = match preflight(
            &plan.name,
            &new_bin,
            Some(&old_bin),
            &new_args,
            &self.settings.flag_migrations,
            self.settings.preflight_timeout,
        )
        .await
        {
            Ok(r) => r,
            Err(e) => {
                let fp = fingerprint(&plan);
                let reason = e.to_string();
                tracing::error!(upgrade = %plan.name, "{reason}");
                let state = PrepareState::Failed {
                    at: now(),
                    reason: reason.clone(),
                    transient: false,
                };
                self.transact(|q| Ok(q.set_prepare(&plan.name, &fp, state)))?;
                self.audit(
                    "preflight-failed",
                    &[("name", &plan.name), ("reason", &reason)],
                );
                return self.block(&plan, reason);
            }
        };

        // Room for the pre-upgrade snapshot, checked before anything is
        // touched: a short disk blocks the plan (loudly) instead of failing
        // it after the halt.
        if let (Some(b), false) = (&self.backup, self.settings.skip_backup) {
            let b = b.clone();
            let space = tokio::task::spawn_blocking(move || b.check_snapshot_space())
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            if let Err(e) = space {
                let reason = format!(
                    "upgrade '{}' is due but the pre-upgrade snapshot would not fit: {e}; the node keeps running until there is room",
                    plan.name
                );
                return self.block(&plan, reason);
            }
        }

        let mut journal = self.journal()?;
        if self.stop.is_requested() {
            // Nothing was touched: the plan stays pending.
            return Err(UpgradeError::Interrupted {
                name: plan.name.clone(),
                step: "prepare".into(),
            });
        }
        if let Some(a) = &journal.active {
            return Err(UpgradeError::Conflict {
                name: plan.name.clone(),
                reason: format!(
                    "the upgrade '{}' is still recorded as in progress (step {}) in '{}'\nhelp: restart wemixvisor so it recovers that upgrade first",
                    a.name,
                    a.step.as_str(),
                    self.home.upgrade_journal_file().display()
                ),
            });
        }
        let migration = match self.begin_migration(&plan, current.as_deref(), &spec.args, change) {
            Ok(m) => m,
            Err(e) => return self.block(&plan, e.to_string()),
        };
        let mut migrations = self.store.migrations_of(current.as_deref());
        for m in report.migrations {
            if !migrations.contains(&m) {
                migrations.push(m);
            }
        }
        journal.active = Some(ActiveUpgrade {
            name: plan.name.clone(),
            height: plan.height,
            head,
            from: current.clone(),
            step: Step::Halt,
            attempt: Self::interrupted_before(&journal, &plan.name) + 1,
            previous_args: spec.args.clone(),
            args: report.args.clone(),
            migrations,
            snapshot: None,
            rollback_reason: None,
            restore_data: false,
            restart_after_rollback: running,
            manual: false,
            helper: None,
            migration,
            verify: None,
            started_at: now(),
            updated_at: now(),
        });
        journal.save()?;
        self.audit(
            "started",
            &[
                ("name", &plan.name),
                ("from", current.as_deref().unwrap_or("genesis")),
                ("height", &plan.height.to_string()),
                ("head", &head.map(|h| h.to_string()).unwrap_or_default()),
            ],
        );
        self.step_event(&plan.name, Step::Halt.as_str());
        fault::point("halt");
        if running {
            tracing::info!(upgrade = %plan.name, height = plan.height, ?head, "upgrade height reached; stopping the node");
        }
        if let Err(e) = node.stop().await {
            let e = UpgradeError::from(e);
            return self
                .fail_before_switch(&mut journal, node, spec, Outcome::Failed, e)
                .await;
        }
        self.drive(&mut journal, node, chain, spec, Step::Backup, &plan)
            .await
    }

    /// Carries the active upgrade of `journal` on from `from_step`.
    async fn drive(
        &mut self,
        journal: &mut Journal,
        node: &dyn NodeProcess,
        chain: &dyn ChainClient,
        spec: &mut LaunchSpec,
        from_step: Step,
        plan: &UpgradePlan,
    ) -> Result<ApplyOutcome, UpgradeError> {
        let Some(a) = journal.active.clone() else {
            return Err(UpgradeError::Conflict {
                name: plan.name.clone(),
                reason: "no upgrade is in progress".into(),
            });
        };
        let name = a.name.clone();

        if from_step <= Step::Backup {
            self.stop_point(journal)?;
            self.enter(journal, Step::Backup)?;
            fault::point("backup");
            match (&self.backup, self.settings.skip_backup) {
                (Some(b), false) => {
                    let label = format!("pre-upgrade-{name}");
                    let b = b.clone();
                    let head = a.head;
                    let snap = tokio::task::spawn_blocking(move || {
                        b.snapshot_before_upgrade(&label, head)
                    })
                    .await
                    .map_err(|e| {
                        UpgradeError::io(
                            "snapshot",
                            self.home.data_dir(),
                            std::io::Error::other(e.to_string()),
                        )
                    })
                    .and_then(|r| r.map_err(UpgradeError::from));
                    match snap {
                        Ok(s) => {
                            tracing::info!(upgrade = %name, snapshot = %s.id, "pre-upgrade backup taken");
                            if let Some(act) = journal.active.as_mut() {
                                act.snapshot = Some(s);
                            }
                            journal.save()?;
                        }
                        Err(e) => {
                            return self
                                .fail_before_switch(journal, node, spec, Outcome::Failed, e)
                                .await
                        }
                    }
                }
                _ => {
                    tracing::warn!(upgrade = %name, "pre-upgrade backup skipped (backups are off or unsafe_skip_backup is set)")
                }
            }
        }

        if from_step <= Step::PreHook {
            self.stop_point(journal)?;
            self.enter(journal, Step::PreHook)?;
            fault::point("pre-hook");
            let env = self.hook_env(plan);
            let mut hooks = vec![("pre-upgrade", self.home.scripts_dir().join("pre-upgrade"))];
            if let Some(custom) = &self.settings.custom_pre_upgrade {
                hooks.push(("custom pre-upgrade", self.home.visor_dir().join(custom)));
            }
            for (label, path) in hooks {
                let jpath = self.home.upgrade_journal_file();
                let record = move |pgid: u32| record_helper(&jpath, label, pgid);
                let ran = run_hook_until(
                    label,
                    &path,
                    &env,
                    self.settings.hook_timeout,
                    self.settings.preupgrade_max_retries,
                    Some(&record),
                    Some(&self.stop),
                )
                .await;
                // The run is over (its group was killed at a timeout or a
                // stop): forget it.
                journal.save()?;
                match ran {
                    Ok(HookDecision::Proceed) => {}
                    Err(UpgradeError::Interrupted { .. }) => return Err(self.interrupted(journal)),
                    Ok(HookDecision::Abort) => {
                        let e = UpgradeError::HookAborted {
                            name: name.clone(),
                            hook: label.to_string(),
                            path,
                        };
                        return self
                            .fail_before_switch(journal, node, spec, Outcome::Aborted, e)
                            .await;
                    }
                    Err(e) => {
                        return self
                            .fail_before_switch(journal, node, spec, Outcome::Failed, e)
                            .await
                    }
                }
            }
        }

        if from_step <= Step::VerifyMigration {
            self.stop_point(journal)?;
            if journal
                .active
                .as_ref()
                .and_then(|x| x.migration.as_ref())
                .is_some_and(|m| !(m.plan.migrate.is_empty() && m.plan.verify.is_empty()))
            {
                self.step_event(&name, Step::Migrate.as_str());
            }
            if let Err(failure) = self.run_migration_steps(journal, plan).await {
                return self.fail_migration(journal, node, spec, failure).await;
            }
        }

        if from_step <= Step::Switch {
            self.stop_point(journal)?;
            self.enter(journal, Step::Switch)?;
            fault::point("switch");
            if let Err(e) = self.store.switch_to(Some(&name)) {
                return self
                    .fail_before_switch(journal, node, spec, Outcome::Failed, e)
                    .await;
            }
            fault::point("switched");
            if let Err(e) = self.store.record_plan(&plan.to_info()) {
                tracing::warn!(upgrade = %name, error = %e, "cannot record the plan beside its binary");
            }
            self.store.record_migrations(&name, &a.migrations)?;
            if let Some(m) = journal.active.as_ref().and_then(|x| x.migration.as_ref()) {
                m.release.save(&self.home.upgrade_dir(&name))?;
            }
            tracing::info!(upgrade = %name, "current now points at upgrades/{name}");
            self.audit(
                "switched",
                &[
                    ("name", &name),
                    ("from", a.from.as_deref().unwrap_or("genesis")),
                ],
            );
        }

        spec.args = a.args.clone();
        spec.program = self.store.launch_program();
        if !self.settings.restart_after_upgrade && from_step <= Step::Switch {
            // The node is started by whoever starts wemixvisor next (the
            // service manager): the journal stays at `start`, so the next
            // start-up recovery (which comes in here from `start`) starts
            // the new binary, verifies it in its window and runs the
            // post-upgrade hook.
            self.enter(journal, Step::Start)?;
            self.transact(|q| {
                q.set_status(
                    &name,
                    PlanStatus::Verifying {
                        since: now(),
                        detail: "switched; verified when wemixvisor starts again (restart_after_upgrade = false)".into(),
                    },
                );
                Ok(())
            })?;
            tracing::info!(upgrade = %name, "switched; restart_after_upgrade is off: the new binary is started and verified when wemixvisor starts again");
            return Ok(ApplyOutcome::SwitchedStopped { name });
        }
        let mut pid = None;
        if from_step <= Step::Start {
            self.stop_point(journal)?;
            self.enter(journal, Step::Start)?;
            fault::point("start");
            match node.start(spec).await {
                Ok(p) => pid = Some(p),
                Err(e) => {
                    return self
                        .roll_back(
                            journal,
                            node,
                            spec,
                            format!("the new binary did not start: {e}"),
                        )
                        .await
                }
            }
        } else if node.pid().is_none() {
            // Recovery after the switch: nothing runs yet.
            match node.start(spec).await {
                Ok(p) => pid = Some(p),
                Err(e) => {
                    return self
                        .roll_back(
                            journal,
                            node,
                            spec,
                            format!("the new binary did not start: {e}"),
                        )
                        .await
                }
            }
        }
        // Open the verification window (a resumed one keeps its deadline).
        let opened = unix_now();
        let window = self.settings.verify_window.as_secs();
        if let Some(act) = journal.active.as_mut() {
            if act.verify.is_none() {
                act.verify = Some(VerifyWindow {
                    opened_unix: opened,
                    deadline_unix: opened.saturating_add(window),
                    ..VerifyWindow::default()
                });
            }
        }
        self.enter(journal, Step::Verify)?;
        let deadline = journal
            .active
            .as_ref()
            .and_then(|a| a.verify.as_ref())
            .map(|v| v.deadline_unix)
            .unwrap_or(opened);
        self.transact(|q| {
            q.set_status(
                &name,
                PlanStatus::Verifying {
                    since: now(),
                    detail: format!(
                        "the new node started; verification window until {}",
                        humantime::format_rfc3339_seconds(
                            std::time::UNIX_EPOCH + Duration::from_secs(deadline)
                        )
                    ),
                },
            );
            Ok(())
        })?;
        fault::point("verify");
        let background = self.settings.verify_in_background;
        let started = Instant::now();
        loop {
            match self.assess_now(journal, node, chain, !background).await? {
                Verdict::Healthy(detail) => {
                    tracing::info!(upgrade = %name, "{detail}");
                    break;
                }
                Verdict::Rollback(reason) => {
                    return self
                        .roll_back(
                            journal,
                            node,
                            spec,
                            format!("the new binary failed verification: {reason}"),
                        )
                        .await
                }
                Verdict::Pending(detail) => {
                    let ready = journal
                        .active
                        .as_ref()
                        .and_then(|a| a.verify.as_ref())
                        .is_some_and(|v| v.ready_unix.is_some());
                    if background && (ready || started.elapsed() >= self.settings.verify_timeout) {
                        tracing::info!(upgrade = %name, "{detail}; the verification window stays open (the supervisor goes on)");
                        self.audit("verifying", &[("name", &name), ("detail", &detail)]);
                        return Ok(ApplyOutcome::Restarted {
                            name,
                            pid: pid.or(node.pid()).unwrap_or(0),
                        });
                    }
                    tracing::debug!(upgrade = %name, "{detail}");
                    self.stop_point(journal)?;
                    tokio::time::sleep(VERIFY_EVERY).await;
                }
            }
        }
        self.finish_upgrade(journal, node, spec, plan, pid).await
    }

    /// Looks at the new node once and judges it over the journal's window
    /// (saved when anything changed).
    async fn assess_now(
        &mut self,
        journal: &mut Journal,
        node: &dyn NodeProcess,
        chain: &dyn ChainClient,
        done_on_advance: bool,
    ) -> Result<Verdict, UpgradeError> {
        let Some(a) = journal.active.clone() else {
            return Ok(Verdict::Pending("no upgrade is in progress".into()));
        };
        let mut w = a.verify.clone().unwrap_or_default();
        let exited = if node.pid().is_none() {
            match node.wait().await {
                Some(e) if e.requested => {
                    return Ok(Verdict::Pending(
                        "the node was stopped on request; verification goes on when it runs".into(),
                    ))
                }
                Some(e) => Some(e.describe()),
                None => Some("it is not running".into()),
            }
        } else {
            None
        };
        let head = chain.block_number().await.map_err(|e| e.to_string());
        let peers = chain.peer_count().await.ok();
        let quorum = if w.advanced.is_none() && head.is_ok() {
            Some(chain.quorum_view(a.height).await.map_err(|e| e.to_string()))
        } else {
            None
        };
        let obs = Observation {
            now_unix: unix_now(),
            exited,
            head,
            peers,
            quorum,
        };
        let policy = VerifyPolicy {
            timeout: self.settings.verify_timeout,
            min_peers: self.settings.verify_min_peers,
            height: a.height,
            done_on_advance,
        };
        let before = w.clone();
        let verdict = assess(&mut w, &policy, &obs);
        if w != before {
            if let Some(act) = journal.active.as_mut() {
                act.verify = Some(w);
            }
            journal.save()?;
        }
        Ok(verdict)
    }

    /// The verification of the upgrade the journal has in its window, if
    /// any: looks at the node once and judges it, without acting. See
    /// [`UpgradeManager::tick_verification`] for the call that acts.
    pub async fn verification(
        &mut self,
        node: &dyn NodeProcess,
        chain: &dyn ChainClient,
    ) -> Result<Option<VerifyDecision>, UpgradeError> {
        let mut journal = self.journal()?;
        let Some(a) = journal.active.clone() else {
            return Ok(None);
        };
        if a.step != Step::Verify || a.verify.is_none() {
            return Ok(None);
        }
        let name = a.name.clone();
        let verdict = match self.assess_now(&mut journal, node, chain, false).await? {
            Verdict::Pending(detail) => self
                .close_early(&journal)
                .unwrap_or(Verdict::Pending(detail)),
            v => v,
        };
        Ok(Some(match verdict {
            Verdict::Pending(detail) => VerifyDecision::Pending { name, detail },
            Verdict::Healthy(detail) => VerifyDecision::Healthy { name, detail },
            Verdict::Rollback(reason) => VerifyDecision::Rollback { name, reason },
        }))
    }

    /// A window whose node has made blocks closes early when the next plan
    /// is due at that head: the next upgrade halts this binary anyway, and
    /// nodes catching up through several forks must not wait a whole window
    /// at each.
    fn close_early(&self, journal: &Journal) -> Option<Verdict> {
        let adv = journal.active.as_ref()?.verify.as_ref()?.advanced?;
        let next = self.queue.next_pending()?;
        (next.height <= adv).then(|| {
            Verdict::Healthy(format!(
                "the new node is healthy: its head advanced to {adv}, where upgrade '{}' (height {}) is due; the verification window closes early",
                next.name, next.height
            ))
        })
    }

    /// For the supervisor loop, on every tick and on every exit of the node
    /// (before its restart policy): judges the upgrade in its verification
    /// window and acts on it. `None` when no verification is open. On
    /// [`VerifyDecision::Healthy`] the post-upgrade hook has run and the
    /// plan is applied; on [`VerifyDecision::Rollback`] the previous binary
    /// (and, with `rollback_restore_data`, the pre-upgrade snapshot) is back
    /// and was started again, so the loop must not restart the crashed node
    /// itself; on [`VerifyDecision::Pending`] nothing changed.
    pub async fn tick_verification(
        &mut self,
        node: &dyn NodeProcess,
        chain: &dyn ChainClient,
        spec: &mut LaunchSpec,
    ) -> Result<Option<VerifyDecision>, UpgradeError> {
        let Some(decision) = self.verification(node, chain).await? else {
            return Ok(None);
        };
        let mut journal = self.journal()?;
        let Some(a) = journal.active.clone() else {
            return Ok(None);
        };
        let plan = self.plan_of(&a);
        match decision {
            VerifyDecision::Pending { .. } => Ok(Some(decision)),
            VerifyDecision::Healthy { name, detail } => {
                tracing::info!(upgrade = %name, "{detail}");
                match self
                    .finish_upgrade(&mut journal, node, spec, &plan, None)
                    .await
                {
                    Ok(_) => Ok(Some(VerifyDecision::Healthy { name, detail })),
                    Err(UpgradeError::RolledBack { reason, .. }) => {
                        Ok(Some(VerifyDecision::Rollback { name, reason }))
                    }
                    Err(e) => Err(e),
                }
            }
            VerifyDecision::Rollback { name, reason } => {
                tracing::error!(upgrade = %name, "the new binary failed verification: {reason}; rolling back");
                match self
                    .roll_back(
                        &mut journal,
                        node,
                        spec,
                        format!("the new binary failed verification: {reason}"),
                    )
                    .await
                {
                    Err(UpgradeError::RolledBack { reason, .. }) => {
                        Ok(Some(VerifyDecision::Rollback { name, reason }))
                    }
                    Ok(_) => Ok(Some(VerifyDecision::Rollback { name, reason })),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// The upgrade in its verification window, if any, with what it waits
    /// for (for `status`).
    pub fn verifying(&self) -> Option<(String, VerifyWindow)> {
        let a = self.journal().ok()?.active?;
        if a.step != Step::Verify {
            return None;
        }
        Some((a.name, a.verify?))
    }

    fn plan_of(&self, a: &ActiveUpgrade) -> UpgradePlan {
        self.queue
            .get(&a.name)
            .map(|q| q.plan.clone())
            .unwrap_or_else(|| UpgradePlan {
                name: a.name.clone(),
                height: a.height,
                info: wemixvisor_core::InfoSource::None,
                source: "journal".into(),
            })
    }

    /// Post-upgrade hook, then done (the plan is applied).
    async fn finish_upgrade(
        &mut self,
        journal: &mut Journal,
        node: &dyn NodeProcess,
        spec: &mut LaunchSpec,
        plan: &UpgradePlan,
        pid: Option<u32>,
    ) -> Result<ApplyOutcome, UpgradeError> {
        let Some(a) = journal.active.clone() else {
            return Err(UpgradeError::Conflict {
                name: plan.name.clone(),
                reason: "no upgrade is in progress".into(),
            });
        };
        let name = a.name.clone();
        self.stop_point(journal)?;
        self.enter(journal, Step::PostHook)?;
        fault::point("post-hook");
        let env = self.hook_env(plan);
        let post = run_hook_until(
            "post-upgrade",
            &self.home.scripts_dir().join("post-upgrade"),
            &env,
            self.settings.hook_timeout,
            self.settings.preupgrade_max_retries,
            None,
            Some(&self.stop),
        )
        .await;
        match post {
            Ok(HookDecision::Proceed) => {}
            Err(UpgradeError::Interrupted { .. }) => return Err(self.interrupted(journal)),
            Ok(HookDecision::Abort) => {
                return self
                    .roll_back(
                        journal,
                        node,
                        spec,
                        "the post-upgrade hook aborted the upgrade (exit 30)".into(),
                    )
                    .await
            }
            Err(e) => return self.roll_back(journal, node, spec, e.to_string()).await,
        }

        journal.finish(Outcome::Done, Some(name.clone()), None, false)?;
        self.step_event(&name, "done");
        fault::point("done");
        let at_head = a.head;
        self.transact(|q| {
            q.set_status(&name, PlanStatus::Applied { at_head });
            Ok(())
        })?;
        self.audit("done", &[("name", &name)]);
        tracing::info!(upgrade = %name, height = a.height, "upgrade done");
        Ok(match pid.or(node.pid()) {
            Some(pid) => ApplyOutcome::Restarted { name, pid },
            None => ApplyOutcome::SwitchedStopped { name },
        })
    }

    /// Ends an upgrade that failed before its switch: `current` stays (or
    /// is put back) on the previous binary, which starts again if it ran.
    async fn fail_before_switch(
        &mut self,
        journal: &mut Journal,
        node: &dyn NodeProcess,
        spec: &mut LaunchSpec,
        outcome: Outcome,
        err: UpgradeError,
    ) -> Result<ApplyOutcome, UpgradeError> {
        let mut reason = err.to_string();
        let Some(a) = journal.active.clone() else {
            return Err(err);
        };
        if self.store.current()? != a.from {
            self.store.switch_to(a.from.as_deref())?;
        }
        if a.step == Step::PreHook {
            if let Some(note) = self.restore_after_pre_hook(&a).await {
                // Before the help line, which stays last.
                match reason.find("\nhelp:") {
                    Some(i) => reason.insert_str(i, &format!("; {note}")),
                    None => reason.push_str(&format!("; {note}")),
                }
            }
        }
        spec.args = a.previous_args.clone();
        spec.program = self.store.launch_program();
        journal.finish(outcome, a.from.clone(), Some(reason.clone()), false)?;
        self.step_event(&a.name, outcome.as_str());
        // Nothing was switched: a failure here (backup, free space, a
        // pre-hook) is kept retryable rather than final; an abort (exit 30)
        // is the hook's decision.
        let status = match outcome {
            Outcome::Aborted => PlanStatus::Aborted {
                reason: reason.clone(),
            },
            _ => PlanStatus::Retry {
                reason: reason.clone(),
            },
        };
        self.transact(|q| {
            q.set_status(&a.name, status);
            Ok(())
        })?;
        self.audit(
            if outcome == Outcome::Aborted {
                "aborted"
            } else {
                "failed"
            },
            &[
                ("name", &a.name),
                ("step", a.step.as_str()),
                ("reason", &reason),
            ],
        );
        tracing::error!(upgrade = %a.name, step = a.step.as_str(), "upgrade {}: {reason}", outcome.as_str());
        if a.restart_after_rollback && node.pid().is_none() {
            tracing::info!(upgrade = %a.name, "starting the previous binary again");
            node.start(spec).await?;
        }
        Err(err)
    }

    /// After a pre-upgrade hook failed or aborted (it may have changed the
    /// chain data): restores the pre-upgrade snapshot when
    /// `rollback_restore_data` is set, otherwise says how to. Returns the
    /// note for the reason, log and audit.
    async fn restore_after_pre_hook(&self, a: &ActiveUpgrade) -> Option<String> {
        let snap = a.snapshot.as_ref()?;
        let command = format!("wemixvisor backup restore {}", snap.id);
        let note = match (&self.backup, self.settings.rollback_restore_data) {
            (Some(b), true) => {
                let b = b.clone();
                let id = snap.id.clone();
                match tokio::task::spawn_blocking(move || b.restore(&id)).await {
                    Ok(Ok(())) => format!(
                        "the pre-upgrade hook may have changed the chain data: restored snapshot {} before the previous binary starts",
                        snap.id
                    ),
                    Ok(Err(e)) => format!(
                        "the pre-upgrade hook may have changed the chain data and restoring snapshot {} FAILED ({e}); restore it by hand: `{command}`",
                        snap.id
                    ),
                    Err(e) => format!(
                        "the pre-upgrade hook may have changed the chain data and restoring snapshot {} FAILED ({e}); restore it by hand: `{command}`",
                        snap.id
                    ),
                }
            }
            _ => format!(
                "the pre-upgrade hook may have changed the chain data; to put it back, stop the node and run `{command}` (or set upgrade.rollback_restore_data = true to do it automatically)"
            ),
        };
        tracing::error!(upgrade = %a.name, snapshot = %snap.id, "{note}");
        Some(note)
    }

    /// Rolls the active upgrade back after its switch (automatic).
    async fn roll_back(
        &mut self,
        journal: &mut Journal,
        node: &dyn NodeProcess,
        spec: &mut LaunchSpec,
        reason: String,
    ) -> Result<ApplyOutcome, UpgradeError> {
        tracing::error!("{reason}; rolling back");
        let restore = self.settings.rollback_restore_data;
        if let Some(a) = journal.active.as_mut() {
            a.rollback_reason = Some(reason);
            // An in-place migration changed the data: the old binary must
            // not start on it.
            let migrated_in_place = a
                .migration
                .as_ref()
                .is_some_and(|m| m.in_place() && !m.plan.migrate.is_empty());
            a.restore_data = (restore || migrated_in_place) && a.snapshot.is_some();
        }
        self.enter(journal, Step::RollingBack)?;
        fault::point("rollback");
        let entry = self.finish_rollback(journal, node, spec).await?;
        Err(UpgradeError::RolledBack {
            name: entry.name.clone(),
            to: entry.to.clone().unwrap_or_else(|| "genesis".into()),
            reason: entry.reason.unwrap_or_default(),
        })
    }

    /// Carries out the rollback recorded in `journal` (idempotent: it can
    /// run again after a crash in the middle).
    async fn finish_rollback(
        &mut self,
        journal: &mut Journal,
        node: &dyn NodeProcess,
        spec: &mut LaunchSpec,
    ) -> Result<HistoryEntry, UpgradeError> {
        let Some(a) = journal.active.clone() else {
            return Err(UpgradeError::Rollback {
                reason: "no rollback is in progress".into(),
                help: "nothing to do".into(),
            });
        };
        let manual = a.manual;
        node.stop().await?;
        self.store.switch_to(a.from.as_deref())?;
        fault::point("rollback-switched");
        let to = a.from.clone().unwrap_or_else(|| "genesis".into());
        let mut reason = a
            .rollback_reason
            .clone()
            .unwrap_or_else(|| "rollback".into());
        if a.restore_data {
            match (&self.backup, &a.snapshot) {
                (Some(b), Some(s)) => {
                    let b = b.clone();
                    let id = s.id.clone();
                    let r = tokio::task::spawn_blocking(move || b.restore(&id)).await;
                    match r {
                        Ok(Ok(())) => reason
                            .push_str(&format!("; chain data restored from snapshot {}", s.id)),
                        Ok(Err(e)) => {
                            tracing::error!(snapshot = %s.id, error = %e, "restoring the pre-upgrade snapshot failed");
                            reason.push_str(&format!("; restoring snapshot {} FAILED: {e}", s.id));
                        }
                        Err(e) => {
                            reason.push_str(&format!("; restoring snapshot {} FAILED: {e}", s.id))
                        }
                    }
                }
                _ => {
                    reason.push_str("; chain data NOT restored: no snapshot or backups unavailable")
                }
            }
        }
        spec.args = a.previous_args.clone();
        spec.program = self.store.launch_program();
        let entry = journal
            .finish(
                Outcome::RolledBack,
                a.from.clone(),
                Some(reason.clone()),
                manual,
            )?
            .ok_or_else(|| UpgradeError::Rollback {
                reason: "the journal lost the rollback".into(),
                help: "check state/upgrade-journal.json".into(),
            })?;
        self.step_event(&a.name, Outcome::RolledBack.as_str());
        let st = PlanStatus::RolledBack {
            reason: reason.clone(),
        };
        self.transact(|q| {
            q.set_status(&a.name, st);
            Ok(())
        })?;
        self.audit(
            "rolled-back",
            &[
                ("name", &a.name),
                ("to", &to),
                ("manual", if manual { "true" } else { "false" }),
                ("reason", &reason),
            ],
        );
        tracing::warn!(upgrade = %a.name, to = %to, "rolled back: {reason}");
        if a.restart_after_rollback && node.pid().is_none() {
            node.start(spec).await?;
        }
        Ok(entry)
    }

    /// Start-up recovery, before any node runs: puts `spec.args` right for
    /// the binary `current` names, forgets preparations a dead process left
    /// half done, and resolves an upgrade the journal says was in progress —
    /// one interrupted after its switch is carried through (start, verify,
    /// post-hook; rolled back if the new binary fails), one interrupted
    /// before its switch is started over when due, an interrupted rollback
    /// is finished. Afterwards `current` names a complete binary and at most
    /// one node (started here) runs.
    pub async fn recover(
        &mut self,
        node: &dyn NodeProcess,
        chain: &dyn ChainClient,
        spec: &mut LaunchSpec,
    ) -> Result<Recovery, UpgradeError> {
        spec.args = self.launch_args(&spec.args);
        spec.program = self.launch_program();
        self.store.clean_stale_staging();
        let mut journal = self.journal()?;
        let current = self.store.current()?;
        let history = journal.history.clone();
        self.transact(|q| {
            let names: Vec<(String, String)> = q
                .pending()
                .map(|p| (p.plan.name.clone(), fingerprint(&p.plan)))
                .collect();
            for (n, fp) in names {
                let stale = matches!(
                    q.get(&n).map(|p| &p.prepare),
                    Some(PrepareState::Preparing { .. })
                );
                if stale {
                    q.set_prepare(&n, &fp, PrepareState::Unprepared);
                }
                let done = history
                    .iter()
                    .rev()
                    .find(|h| h.name == n)
                    .is_some_and(|h| h.outcome == Outcome::Done);
                if done && current.as_deref() == Some(n.as_str()) {
                    q.set_status(&n, PlanStatus::Applied { at_head: None });
                }
            }
            Ok(())
        })?;
        let active_name = journal.active.as_ref().map(|a| a.name.clone());
        self.transact(|q| {
            // A plan left "verifying" by a crash after its journal entry ended.
            let stale: Vec<String> = q
                .plans()
                .iter()
                .filter(|p| matches!(p.status, PlanStatus::Verifying { .. }))
                .filter(|p| active_name.as_deref() != Some(p.plan.name.as_str()))
                .map(|p| p.plan.name.clone())
                .collect();
            for n in stale {
                let last = history.iter().rev().find(|h| h.name == n);
                let st = match last {
                    Some(h) if h.outcome == Outcome::Done => {
                        PlanStatus::Applied { at_head: h.head }
                    }
                    Some(h) if h.outcome == Outcome::RolledBack => PlanStatus::RolledBack {
                        reason: h.reason.clone().unwrap_or_default(),
                    },
                    _ => PlanStatus::Pending,
                };
                q.set_status(&n, st);
            }
            Ok(())
        })?;
        let Some(a) = journal.active.clone() else {
            return Ok(Recovery::Clean);
        };
        tracing::warn!(upgrade = %a.name, step = a.step.as_str(), "an upgrade was interrupted; recovering");
        if let Some(h) = &a.helper {
            if h.may_still_run() {
                tracing::warn!(upgrade = %a.name, pgid = h.pgid, "killing what is left of the interrupted {} run before the step runs again", h.label);
                if !crate::proc::kill_and_reap_group(h.pgid, HELPER_REAP_WAIT).await {
                    return Err(UpgradeError::Conflict {
                        name: a.name.clone(),
                        reason: format!(
                            "the {} run of the interrupted upgrade (process group {}) did not go away within {HELPER_REAP_WAIT:?} of SIGKILL\nhelp: check it with `ps -g {}`, then start wemixvisor again",
                            h.label, h.pgid, h.pgid
                        ),
                    });
                }
            }
            if let Some(act) = journal.active.as_mut() {
                act.helper = None;
            }
            journal.save()?;
        }
        self.audit(
            "recovering",
            &[("name", &a.name), ("step", a.step.as_str())],
        );
        let plan = self
            .queue
            .get(&a.name)
            .map(|q| q.plan.clone())
            .unwrap_or_else(|| UpgradePlan {
                name: a.name.clone(),
                height: a.height,
                info: wemixvisor_core::InfoSource::None,
                source: "journal".into(),
            });
        match a.step {
            Step::Halt | Step::Backup | Step::PreHook => {
                if self.store.current()? != a.from {
                    self.store.switch_to(a.from.as_deref())?;
                }
                let step = a.step.as_str().to_string();
                if a.attempt >= MAX_ATTEMPTS {
                    let reason = format!(
                        "interrupted {} times before its switch (last at step {step}); given up",
                        a.attempt
                    );
                    journal.finish(Outcome::Failed, a.from.clone(), Some(reason.clone()), false)?;
                    let st = PlanStatus::Retry {
                        reason: reason.clone(),
                    };
                    self.transact(|q| {
                        q.set_status(&a.name, st);
                        Ok(())
                    })?;
                    self.audit("failed", &[("name", &a.name), ("reason", &reason)]);
                    tracing::error!(upgrade = %a.name, "{reason}");
                    return Ok(Recovery::GaveUp {
                        name: a.name,
                        reason,
                    });
                }
                let reason = format!(
                    "interrupted at step {step} before its switch; it starts over when due"
                );
                journal.finish(
                    Outcome::Interrupted,
                    a.from.clone(),
                    Some(reason.clone()),
                    false,
                )?;
                self.audit("interrupted", &[("name", &a.name), ("step", &step)]);
                tracing::warn!(upgrade = %a.name, "{reason}");
                Ok(Recovery::StartedOver { name: a.name, step })
            }
            Step::Migrate | Step::VerifyMigration => {
                self.recover_migration(&mut journal, node, chain, spec, &plan)
                    .await
            }
            Step::Verify if a.verify.is_some() && self.settings.verify_in_background => {
                spec.args = a.args.clone();
                if node.pid().is_none() {
                    if let Err(e) = node.start(spec).await {
                        let reason = format!("the new binary did not start: {e}");
                        return match self.roll_back(&mut journal, node, spec, reason).await {
                            Err(UpgradeError::RolledBack { reason, .. }) => {
                                Ok(Recovery::RolledBack {
                                    name: a.name,
                                    reason,
                                })
                            }
                            Err(e) => Err(e),
                            Ok(_) => Ok(Recovery::Verifying { name: a.name }),
                        };
                    }
                }
                tracing::info!(upgrade = %a.name, "the verification window goes on from the journal");
                Ok(Recovery::Verifying { name: a.name })
            }
            Step::Switch | Step::Start | Step::Verify | Step::PostHook => {
                let from = if a.step == Step::Switch {
                    Step::Switch
                } else {
                    Step::Start
                };
                match self
                    .drive(&mut journal, node, chain, spec, from, &plan)
                    .await
                {
                    Ok(_) => Ok(Recovery::Resumed { name: a.name }),
                    Err(UpgradeError::RolledBack { reason, .. }) => Ok(Recovery::RolledBack {
                        name: a.name,
                        reason,
                    }),
                    Err(e) => Err(e),
                }
            }
            Step::RollingBack => {
                let entry = self.finish_rollback(&mut journal, node, spec).await?;
                Ok(Recovery::RolledBack {
                    name: a.name,
                    reason: entry.reason.unwrap_or_default(),
                })
            }
        }
    }

    /// Rolls back the upgrade `current` names to the binary before it (and
    /// with `restore_data` the pre-upgrade snapshot), recorded as manual.
    /// With a node running it is stopped and the previous binary started;
    /// with [`OfflineNode`] it works with nothing running.
    pub async fn rollback(
        &mut self,
        node: &dyn NodeProcess,
        spec: &mut LaunchSpec,
        restore_data: bool,
        reason: &str,
    ) -> Result<HistoryEntry, UpgradeError> {
        let mut journal = self.journal()?;
        // An upgrade in its verification window is switched and running:
        // the operator may roll it back there and then, as a crash would.
        if let Some(a) = journal.active.as_mut().filter(|a| a.step == Step::Verify) {
            if restore_data && (a.snapshot.is_none() || self.backup.is_none()) {
                return Err(UpgradeError::Rollback {
                    reason: format!(
                        "the upgrade to '{}' has no pre-upgrade snapshot to restore",
                        a.name
                    ),
                    help: "roll back without --restore-data, or restore a backup with `wemixvisor backup restore <id>`".into(),
                });
            }
            a.rollback_reason = Some(format!("manual rollback: {reason}"));
            a.restore_data = restore_data;
            a.restart_after_rollback = node.pid().is_some();
            a.manual = true;
            self.enter(&mut journal, Step::RollingBack)?;
            fault::point("rollback");
            return self.finish_rollback(&mut journal, node, spec).await;
        }
        if let Some(a) = &journal.active {
            return Err(UpgradeError::Rollback {
                reason: format!(
                    "the upgrade '{}' is in progress (step {})",
                    a.name,
                    a.step.as_str()
                ),
                help: "let it finish; an interrupted one is recovered when wemixvisor starts"
                    .into(),
            });
        }
        let Some(cur) = self.store.current()? else {
            return Err(UpgradeError::Rollback {
                reason: "`current` points at genesis; there is no earlier binary".into(),
                help: "nothing to roll back".into(),
            });
        };
        let Some(entry) = journal.last_done_to(&cur).cloned() else {
            return Err(UpgradeError::Rollback {
                reason: format!(
                    "no finished upgrade to '{cur}' is recorded in '{}'",
                    self.home.upgrade_journal_file().display()
                ),
                help: "point `current` at the binary you want by hand (a relative link, e.g. `ln -sfn upgrades/<name> current.new && mv -T current.new current` in wemixvisor/)".into(),
            });
        };
        if restore_data && entry.snapshot.is_none() {
            return Err(UpgradeError::Rollback {
                reason: format!("the upgrade to '{cur}' took no pre-upgrade snapshot"),
                help: "roll back without --restore-data, or restore a backup with `wemixvisor backup restore <id>`".into(),
            });
        }
        if restore_data && self.backup.is_none() {
            return Err(UpgradeError::Rollback {
                reason: "backups are not available to restore the data".into(),
                help: "check the [backup] section of the configuration".into(),
            });
        }
        let previous_bin = self.store.bin_of(entry.from.as_deref());
        if !wemixvisor_core::atomic::is_executable(&previous_bin) {
            return Err(UpgradeError::Rollback {
                reason: format!(
                    "the previous binary '{}' is missing or not executable",
                    previous_bin.display()
                ),
                help: "install it there again, then retry".into(),
            });
        }
        let previous_args = if entry.previous_args.is_empty() {
            spec.args.clone()
        } else {
            entry.previous_args.clone()
        };
        let height = self.queue.get(&cur).map(|q| q.plan.height).unwrap_or(0);
        journal.active = Some(ActiveUpgrade {
            name: cur.clone(),
            height,
            head: entry.head,
            from: entry.from.clone(),
            step: Step::RollingBack,
            attempt: 1,
            previous_args,
            args: spec.args.clone(),
            migrations: Vec::new(),
            snapshot: entry.snapshot.clone(),
            rollback_reason: Some(format!("manual rollback: {reason}")),
            restore_data,
            restart_after_rollback: node.pid().is_some(),
            manual: true,
            helper: None,
            migration: None,
            verify: None,
            started_at: now(),
            updated_at: now(),
        });
        journal.save()?;
        self.step_event(&cur, Step::RollingBack.as_str());
        fault::point("rollback");
        self.finish_rollback(&mut journal, node, spec).await
    }

    /// What `upgrade status` shows, with the head unknown.
    pub fn status(&mut self) -> Result<StatusReport, UpgradeError> {
        self.status_at(None)
    }

    /// What `upgrade status` shows at `head`.
    pub fn status_at(&mut self, head: Option<u64>) -> Result<StatusReport, UpgradeError> {
        let blocked = self.blocked(head);
        let journal = self.journal()?;
        let current = self.store.current()?;
        let bin = self.store.bin_of(current.as_deref());
        Ok(StatusReport {
            current: current.unwrap_or_else(|| "genesis".into()),
            current_sha256: file_sha256(&bin).ok(),
            current_binary: bin,
            plans: self.queue.plans().to_vec(),
            migration: self.migration_progress(&journal),
            in_progress: journal.active.clone(),
            last: journal.last().cloned(),
            blocked,
        })
    }
}

#[path = "manager_migration.rs"]
mod migration_steps;

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
