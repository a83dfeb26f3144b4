//! The pipeline side of upgrades that change the data (see
//! [`crate::migration`]): checks at prepare time, the `migrate` and
//! `verify-migration` steps, bringing the old data back on a failure, and
//! recovery of a migration a dead process left behind.

use std::path::{Path, PathBuf};

use wemixvisor_core::{FileSystem, Home, InfoSource, LaunchSpec, NodeProcess, UpgradePlan};

use super::UpgradeManager;
use crate::journal::{HelperProcess, Journal, Outcome, Step};
use crate::migration::{
    builtin_move, check_space, datadir_of, detect_engine, discard_new_datadir, resolve_in_home,
    run_migration, Engine, MigrationPlan, MigrationState, OptionChange, Phase, Progress, Release,
    Resume, SpaceNeed, StepContext,
};
use crate::{ApplyOutcome, BinaryStore, Recovery, UpgradeError};

/// `state/migration.json`: the progress of a running migration step.
pub(crate) fn progress_file(home: &Home) -> PathBuf {
    home.state_dir().join("migration.json")
}

/// The data-changing part of `plan` (only an inline `info` has one).
pub(crate) fn migration_plan(plan: &UpgradePlan) -> Result<MigrationPlan, Vec<String>> {
    match &plan.info {
        InfoSource::Inline(v) => MigrationPlan::from_info(Some(v)),
        _ => Ok(MigrationPlan::default()),
    }
}

fn fail(plan: &UpgradePlan, reason: String, transient: bool) -> UpgradeError {
    UpgradeError::Migration {
        name: plan.name.clone(),
        reason,
        transient,
    }
}

/// The steps as they will run for the datadir `datadir`: a built-in move
/// expanded by the engine it finds, and the new datadir resolved.
pub(crate) fn expand(
    home: &Home,
    mp: &MigrationPlan,
    datadir: &Path,
) -> Result<(MigrationPlan, Option<PathBuf>), String> {
    let root = home.root();
    let mut out = if mp.builtin.is_some() {
        let new = match &mp.node_options.datadir {
            Some(d) => resolve_in_home(root, d),
            None => {
                let mut n = datadir.as_os_str().to_owned();
                n.push("-wbft");
                PathBuf::from(n)
            }
        };
        builtin_move(mp, datadir, &new)?
    } else {
        mp.clone()
    };
    let new = out
        .node_options
        .datadir
        .as_ref()
        .map(|d| resolve_in_home(root, d));
    out.node_options.datadir = new.clone();
    Ok((out, new))
}

/// The free space a migration needs besides the snapshot, for `mp` on
/// `datadir` (a built-in RocksDB move needs a copy of the datadir).
fn space_need(mp: &MigrationPlan, datadir: &Path) -> Option<SpaceNeed> {
    if mp.space.is_some() {
        return mp.space;
    }
    if mp.builtin.is_some() {
        if let Ok(Some((_, Engine::RocksDb))) = detect_engine(datadir) {
            return Some(SpaceNeed::Datadir);
        }
    }
    None
}

/// Checks at prepare time (and again right before the halt) that the
/// migration of `plan` can run: its steps expand for this datadir, a new
/// datadir does not exist yet, and the snapshot plus the stated need fit
/// in the free space. Returns the option change the new release brings,
/// for the pre-flight.
pub(crate) fn check_before_halt(
    home: &Home,
    plan: &UpgradePlan,
    args: &[String],
    snapshot: bool,
) -> Result<OptionChange, UpgradeError> {
    let mp = migration_plan(plan).map_err(|p| fail(plan, p.join("; "), false))?;
    if mp.is_empty() {
        return Ok(OptionChange::default());
    }
    let datadir = resolve_in_home(home.root(), &datadir_of(args, &home.data_dir()));
    let (expanded, new) = expand(home, &mp, &datadir).map_err(|e| fail(plan, e, false))?;
    if let Some(n) = &new {
        let busy = std::fs::read_dir(n).is_ok_and(|mut d| d.next().is_some());
        if busy {
            return Err(fail(
                plan,
                format!(
                    "info.node_options.datadir: '{}' already exists and is not empty; the migration writes a new datadir\nhelp: move it away (or name another datadir in the plan)",
                    n.display()
                ),
                true,
            ));
        }
    }
    if expanded.changes_data() {
        let need = space_need(&mp, &datadir);
        check_space(&datadir, need, snapshot && new.is_none()).map_err(|e| fail(plan, e, true))?;
    }
    Ok(OptionChange {
        node_options: expanded.node_options,
        datadir: new,
    })
}

/// Records the binary name of `plan`'s release beside its binary (so the
/// store finds `upgrades/<name>/bin/<daemon_name>`); returns the store for
/// that name.
pub(crate) fn release_store<F: FileSystem + Clone>(
    store: &BinaryStore<F>,
    plan: &UpgradePlan,
) -> BinaryStore<F> {
    let current = store.current().ok().flatten();
    let daemon = migration_plan(plan)
        .ok()
        .and_then(|m| m.daemon_name)
        .unwrap_or_else(|| store.daemon_of(current.as_deref()));
    store.with_daemon(&daemon)
}

/// Writes the binary name of `plan`'s release into `upgrades/<name>/`
/// when it differs from the home's.
pub(crate) fn record_daemon<F: FileSystem>(
    store: &BinaryStore<F>,
    plan: &UpgradePlan,
    daemon: &str,
) {
    let dir = store.home().upgrade_dir(&plan.name);
    let mut r = Release::load(&dir);
    let want = (daemon != store.daemon_name()).then(|| daemon.to_string());
    if r.daemon_name != want && dir.is_dir() {
        r.daemon_name = want;
        if let Err(e) = r.save(&dir) {
            tracing::warn!(upgrade = %plan.name, error = %e, "cannot record the release's binary name");
        }
    }
}

/// Problems of the data-changing part of `plan`, for validation before it
/// is queued: every field error, and an in-place migration with no
/// snapshot to bring the data back.
pub(crate) fn validate(plan: &UpgradePlan, snapshots: bool) -> Vec<String> {
    match migration_plan(plan) {
        Err(p) => p,
        Ok(mp) => {
            let in_place = !mp.migrate.is_empty() && mp.node_options.datadir.is_none();
            if in_place && !snapshots {
                vec!["info.migrate: an in-place migration (no info.node_options.datadir) needs the pre-upgrade snapshot to undo a failure, but backups are off or upgrade.unsafe_skip_backup is set".into()]
            } else {
                Vec::new()
            }
        }
    }
}

impl<F: FileSystem + Clone + Send + Sync + 'static> UpgradeManager<F> {
    /// The migration state of `plan` at the halt: its steps expanded for
    /// the datadir of `args`, and the release the new binary runs as
    /// (the one `current` runs as, plus this plan's change). `None` when
    /// the plan changes nothing but the binary.
    pub(crate) fn begin_migration(
        &self,
        plan: &UpgradePlan,
        current: Option<&str>,
        args: &[String],
        change: OptionChange,
    ) -> Result<Option<MigrationState>, UpgradeError> {
        let mp = migration_plan(plan).map_err(|p| fail(plan, p.join("; "), false))?;
        if mp.is_empty() {
            return Ok(None);
        }
        let datadir = resolve_in_home(self.home.root(), &datadir_of(args, &self.home.data_dir()));
        let (expanded, new) =
            expand(&self.home, &mp, &datadir).map_err(|e| fail(plan, e, false))?;
        let mut release = match current {
            Some(c) => Release::load(&self.home.upgrade_dir(c)),
            None => Release::default(),
        };
        release.daemon_name = {
            let d = self.store.daemon_of(Some(&plan.name));
            (d != self.store.daemon_name()).then_some(d)
        };
        release.changes.push(change);
        Ok(Some(MigrationState {
            plan: expanded,
            datadir,
            new_datadir: new,
            phase: Phase::Migrate,
            next: 0,
            restarts: 0,
            release,
        }))
    }

    fn step_context(
        &self,
        plan: &UpgradePlan,
        st: &MigrationState,
        from: Option<&str>,
    ) -> StepContext {
        StepContext {
            hook: self.hook_env(plan),
            datadir: st.datadir.clone(),
            new_datadir: st.new_datadir.clone(),
            upgrade_bin_dir: self.home.upgrade_dir(&plan.name).join("bin"),
            old_binary: self.store.bin_of(from),
            new_binary: self.store.upgrade_bin(&plan.name),
            progress_file: progress_file(&self.home),
            node_log: self.home.node_log_file(),
        }
    }

    /// Runs the `migrate` then `verify` steps of the active upgrade from
    /// where its journal stands, each step (and its process group) written
    /// to the journal first. Returns the failure, if a step failed.
    pub(crate) async fn run_migration_steps(
        &mut self,
        journal: &mut Journal,
        plan: &UpgradePlan,
    ) -> Result<(), String> {
        let Some(a) = journal.active.clone() else {
            return Ok(());
        };
        let Some(mut st) = a.migration.clone() else {
            return Ok(());
        };
        if st.plan.migrate.is_empty() && st.plan.verify.is_empty() {
            return Ok(());
        }
        let ctx = self.step_context(plan, &st, a.from.as_deref());
        let jpath = self.home.upgrade_journal_file();
        let mut save = |s: &MigrationState, pgid: Option<u32>| {
            let r = Journal::load(&jpath).and_then(|mut j| {
                if let Some(act) = j.active.as_mut() {
                    act.step = match s.phase {
                        Phase::Migrate => Step::Migrate,
                        Phase::Verify => Step::VerifyMigration,
                    };
                    act.migration = Some(s.clone());
                    act.helper = pgid.map(|p| {
                        let label = s
                            .steps()
                            .get(s.next)
                            .map(|x| format!("{} step '{}'", s.phase.as_str(), x.name))
                            .unwrap_or_else(|| s.phase.as_str().to_string());
                        HelperProcess::of(&label, p)
                    });
                    act.updated_at = crate::queue::now();
                }
                j.save()
            });
            if let Err(e) = r {
                tracing::error!(error = %e, "cannot record the migration step in the journal");
            }
        };
        let audit_path = self.home.audit_log_file();
        let audit =
            move |ev: &str, fields: &[(&str, &str)]| crate::audit::record(&audit_path, ev, fields);
        crate::fault::point("migrate");
        let r = run_migration(&ctx, &mut st, &mut save, &audit).await;
        *journal = Journal::load(&jpath).map_err(|e| e.to_string())?;
        if let Some(act) = journal.active.as_mut() {
            act.helper = None;
        }
        journal.save().map_err(|e| e.to_string())?;
        r.map_err(|f| f.to_string())
    }

    /// Brings the old data back after a failed or interrupted migration:
    /// a half-written new datadir is removed (the old one was never
    /// written), an in-place migration gets the pre-upgrade snapshot
    /// restored (atomic swap, verified by the backup crate). The text says
    /// what was done; an error means the old data is NOT back.
    pub(crate) async fn restore_migrated_data(
        &self,
        st: &MigrationState,
        snapshot: Option<&wemixvisor_core::SnapshotRef>,
    ) -> Result<String, String> {
        if let Some(new) = &st.new_datadir {
            discard_new_datadir(new, &st.datadir)?;
            return Ok(format!(
                "the half-written new datadir '{}' was removed; the old datadir '{}' was never written",
                new.display(),
                st.datadir.display()
            ));
        }
        if st.plan.migrate.is_empty() {
            return Ok("no data was changed".into());
        }
        let (Some(b), Some(s)) = (&self.backup, snapshot) else {
            return Err("there is no pre-upgrade snapshot to restore".into());
        };
        let b = b.clone();
        let id = s.id.clone();
        match tokio::task::spawn_blocking(move || b.restore(&id)).await {
            Ok(Ok(())) => Ok(format!(
                "the chain data was restored from the pre-upgrade snapshot {}",
                s.id
            )),
            Ok(Err(e)) => Err(format!("restoring snapshot {} failed: {e}", s.id)),
            Err(e) => Err(format!("restoring snapshot {} failed: {e}", s.id)),
        }
    }

    /// Ends an upgrade whose migration failed: the old data comes back
    /// first, then it ends as a failure before the switch (the previous
    /// binary starts again if it ran). When the old data cannot be brought
    /// back the previous binary is NOT started.
    pub(crate) async fn fail_migration(
        &mut self,
        journal: &mut Journal,
        node: &dyn NodeProcess,
        spec: &mut LaunchSpec,
        failure: String,
    ) -> Result<ApplyOutcome, UpgradeError> {
        let Some(a) = journal.active.clone() else {
            return Err(UpgradeError::Migration {
                name: String::new(),
                reason: failure,
                transient: false,
            });
        };
        let st = a.migration.clone();
        let note = match &st {
            Some(st) => self.restore_migrated_data(st, a.snapshot.as_ref()).await,
            None => Ok("no data was changed".into()),
        };
        let reason = match note {
            Ok(n) => format!("{failure}; {n}"),
            Err(e) => {
                if let Some(act) = journal.active.as_mut() {
                    act.restart_after_rollback = false;
                }
                journal.save()?;
                format!(
                    "{failure}; the old data could NOT be brought back ({e}), so the previous binary is not started\nhelp: restore the data by hand (`wemixvisor backup list`, `wemixvisor backup restore <id>`), then start the node"
                )
            }
        };
        self.audit(
            "migration-failed",
            &[("name", &a.name), ("reason", &reason)],
        );
        let e = UpgradeError::Migration {
            name: a.name.clone(),
            reason,
            transient: false,
        };
        self.fail_before_switch(journal, node, spec, Outcome::Failed, e)
            .await
    }

    /// Recovers an upgrade interrupted during `migrate` or
    /// `verify-migration` (what is left of the step's process group was
    /// already killed): runs again from an idempotent step or the
    /// verification, or restores the old data and starts the migration
    /// over, or restores it and fails, as the plan says; then carries the
    /// upgrade through.
    pub(crate) async fn recover_migration(
        &mut self,
        journal: &mut Journal,
        node: &dyn NodeProcess,
        chain: &dyn wemixvisor_core::ChainClient,
        spec: &mut LaunchSpec,
        plan: &UpgradePlan,
    ) -> Result<Recovery, UpgradeError> {
        let Some(a) = journal.active.clone() else {
            return Ok(Recovery::Clean);
        };
        let Some(mut st) = a.migration.clone() else {
            let r = "interrupted during its migration, which the journal does not hold".to_string();
            let _ = self.fail_migration(journal, node, spec, r.clone()).await;
            return Ok(Recovery::GaveUp {
                name: a.name,
                reason: r,
            });
        };
        match st.on_interrupt() {
            Resume::From(phase, i) => {
                tracing::warn!(upgrade = %a.name, phase = phase.as_str(), step = i, "the interrupted migration step runs again");
                st.phase = phase;
                st.next = i;
            }
            Resume::RestoreAndRestart => {
                match self.restore_migrated_data(&st, a.snapshot.as_ref()).await {
                    Ok(note) => {
                        tracing::warn!(upgrade = %a.name, "the migration was interrupted; {note}; it starts over");
                        self.audit("migration-restarted", &[("name", &a.name), ("note", &note)]);
                    }
                    Err(e) => {
                        let r = format!("the migration was interrupted and {e}");
                        let _ = self.fail_migration(journal, node, spec, r.clone()).await;
                        return Ok(Recovery::GaveUp {
                            name: a.name,
                            reason: r,
                        });
                    }
                }
                st.restarts += 1;
                st.phase = Phase::Migrate;
                st.next = 0;
            }
            Resume::RestoreAndFail(r) => {
                let reason = match self.fail_migration(journal, node, spec, r.clone()).await {
                    Err(e) => e.to_string(),
                    Ok(_) => r,
                };
                return Ok(Recovery::GaveUp {
                    name: a.name,
                    reason,
                });
            }
        }
        if let Some(act) = journal.active.as_mut() {
            act.migration = Some(st);
        }
        journal.save()?;
        match self
            .drive(journal, node, chain, spec, Step::Migrate, plan)
            .await
        {
            Ok(_) => Ok(Recovery::Resumed { name: a.name }),
            Err(UpgradeError::RolledBack { reason, .. }) => Ok(Recovery::RolledBack {
                name: a.name,
                reason,
            }),
            Err(UpgradeError::Migration { reason, .. }) => Ok(Recovery::GaveUp {
                name: a.name,
                reason,
            }),
            Err(e) => Err(e),
        }
    }

    /// The progress of a running migration step, for `upgrade status`.
    pub(crate) fn migration_progress(&self, journal: &Journal) -> Option<Progress> {
        let a = journal.active.as_ref()?;
        if !matches!(a.step, Step::Migrate | Step::VerifyMigration) {
            return None;
        }
        // The file is written every few seconds; the time shown is as of now.
        Progress::load(&progress_file(&self.home))
            .filter(|p| p.upgrade == a.name)
            .map(|mut p| {
                p.elapsed_secs = p.elapsed_now();
                p
            })
    }
}
