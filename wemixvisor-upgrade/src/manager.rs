use std::sync::Arc;

use wemixvisor_core::{DataBackup, FileSystem, Home, LaunchSpec, NodeProcess, UpgradePlan};

use crate::{BinaryStore, PlanStatus, UpgradeError, UpgradeQueue};

/// Settings of the switch-over.
#[derive(Debug, Clone)]
pub struct UpgradeSettings {
    /// Start the node again after switching (`restart_after_upgrade`).
    pub restart_after_upgrade: bool,
    /// Skip the pre-upgrade snapshot (`unsafe_skip_backup`).
    pub skip_backup: bool,
}

/// What an upgrade attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Switched and the node started again from the new binary.
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
    /// Not carried out; the node was not touched. The plan stays pending
    /// and is tried again on the next check (e.g. once the binary is there).
    Blocked {
        /// Upgrade name.
        name: String,
        /// Why.
        reason: String,
        /// True the first time this reason is seen.
        new_reason: bool,
    },
}

/// Decides when a queued plan is due and carries it out.
pub struct UpgradeManager<F: FileSystem> {
    store: BinaryStore<F>,
    queue: UpgradeQueue,
    settings: UpgradeSettings,
    backup: Option<Arc<dyn DataBackup>>,
}

impl<F: FileSystem> std::fmt::Debug for UpgradeManager<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpgradeManager")
            .field("queue", &self.queue)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<F: FileSystem> UpgradeManager<F> {
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
            store: BinaryStore::new(home, daemon_name, fs),
            queue,
            settings,
            backup,
        })
    }

    /// The binary store.
    pub fn store(&self) -> &BinaryStore<F> {
        &self.store
    }

    /// The queue.
    pub fn queue(&self) -> &UpgradeQueue {
        &self.queue
    }

    /// Queues a plan (saved at once); `false` when it was already known.
    pub fn offer(&mut self, plan: UpgradePlan) -> Result<bool, UpgradeError> {
        if self.store.current()?.as_deref() == Some(plan.name.as_str())
            && self.queue.get(&plan.name).is_none()
        {
            // Already running this upgrade (e.g. switched before the queue
            // existed): record it as applied rather than switching again.
            let name = plan.name.clone();
            self.queue.offer(plan);
            self.queue
                .set_status(&name, PlanStatus::Applied { at_head: None });
            self.queue.save()?;
            return Ok(false);
        }
        let changed = self.queue.offer(plan);
        if changed {
            self.queue.save()?;
        }
        Ok(changed)
    }

    /// The plan due at `head`, if any.
    pub fn due(&self, head: Option<u64>) -> Option<UpgradePlan> {
        self.queue.due(head).cloned()
    }

    fn block(
        &mut self,
        plan: &UpgradePlan,
        err: &UpgradeError,
    ) -> Result<ApplyOutcome, UpgradeError> {
        let reason = err.to_string();
        let new_reason = self.queue.set_blocked(&plan.name, Some(reason.clone()));
        if new_reason {
            self.queue.save()?;
        }
        Ok(ApplyOutcome::Blocked {
            name: plan.name.clone(),
            reason,
            new_reason,
        })
    }

    fn snapshot(&self, plan: &UpgradePlan, head: Option<u64>) -> Result<(), UpgradeError> {
        if self.settings.skip_backup {
            tracing::warn!(upgrade = %plan.name, "pre-upgrade backup skipped (unsafe_skip_backup)");
            return Ok(());
        }
        if let Some(b) = &self.backup {
            let snap = b.snapshot_before_upgrade(&format!("pre-upgrade-{}", plan.name), head)?;
            tracing::info!(upgrade = %plan.name, snapshot = %snap.id, "pre-upgrade backup taken");
        }
        Ok(())
    }

    fn switch_and_record(
        &mut self,
        plan: &UpgradePlan,
        head: Option<u64>,
    ) -> Result<(), UpgradeError> {
        self.store.switch_to(Some(&plan.name))?;
        self.store.record_plan(&plan.to_info())?;
        self.queue
            .set_status(&plan.name, PlanStatus::Applied { at_head: head });
        self.queue.save()?;
        tracing::info!(upgrade = %plan.name, height = plan.height, ?head, "current now points at upgrades/{}", plan.name);
        Ok(())
    }

    /// Carries out `plan` while no node runs (start-up, before the first
    /// start), so the old binary never runs past the upgrade height.
    pub fn apply_offline(
        &mut self,
        plan: &UpgradePlan,
        head: Option<u64>,
    ) -> Result<ApplyOutcome, UpgradeError> {
        if let Err(e) = self.store.check_installed(&plan.name) {
            return self.block(plan, &e);
        }
        self.snapshot(plan, head)?;
        self.switch_and_record(plan, head)?;
        Ok(ApplyOutcome::SwitchedStopped {
            name: plan.name.clone(),
        })
    }

    /// Carries out `plan` with the node running: check the new binary, stop
    /// the node gracefully, snapshot, switch `current`, record the plan, and
    /// start the node again from `spec` (which resolves through `current`).
    ///
    /// If anything fails after the stop, `current` is left (or put back) on
    /// the old binary and the old node is started again before the error
    /// is returned.
    pub async fn apply(
        &mut self,
        plan: &UpgradePlan,
        node: &dyn NodeProcess,
        spec: &LaunchSpec,
        head: Option<u64>,
    ) -> Result<ApplyOutcome, UpgradeError> {
        if let Err(e) = self.store.check_installed(&plan.name) {
            return self.block(plan, &e);
        }
        let previous = self.store.current()?;
        tracing::info!(upgrade = %plan.name, height = plan.height, ?head, "upgrade height reached; stopping the node");
        node.stop().await?;
        let switched = match self.snapshot(plan, head) {
            Ok(()) => self.switch_and_record(plan, head),
            Err(e) => Err(e),
        };
        if let Err(e) = switched {
            tracing::error!(upgrade = %plan.name, error = %e, "upgrade failed; restarting the previous binary");
            if self.store.current()? != previous {
                self.store.switch_to(previous.as_deref())?;
            }
            self.queue.set_status(
                &plan.name,
                PlanStatus::Failed {
                    reason: e.to_string(),
                },
            );
            self.queue.save()?;
            node.start(spec).await?;
            return Err(e);
        }
        if !self.settings.restart_after_upgrade {
            return Ok(ApplyOutcome::SwitchedStopped {
                name: plan.name.clone(),
            });
        }
        let pid = node.start(spec).await?;
        Ok(ApplyOutcome::Restarted {
            name: plan.name.clone(),
            pid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use wemixvisor_core::test_utils::{FakeNode, NodeCall};
    use wemixvisor_core::{atomic, CoreError, InfoSource, OsFs, SnapshotRef};

    fn install(dir: &Path) {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let p = bin.join("geth");
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn home() -> (tempfile::TempDir, Home) {
        let d = tempfile::tempdir().unwrap();
        let h = Home::new(d.path());
        install(&h.genesis_dir());
        atomic::replace_symlink(&h.current_link(), Path::new("genesis")).unwrap();
        (d, h)
    }

    fn plan(name: &str, height: u64) -> UpgradePlan {
        UpgradePlan {
            name: name.into(),
            height,
            info: InfoSource::None,
            source: "test".into(),
        }
    }

    fn settings() -> UpgradeSettings {
        UpgradeSettings {
            restart_after_upgrade: true,
            skip_backup: false,
        }
    }

    struct RecordingBackup(std::sync::Mutex<Vec<String>>);
    impl DataBackup for RecordingBackup {
        fn snapshot_before_upgrade(
            &self,
            label: &str,
            _head: Option<u64>,
        ) -> Result<SnapshotRef, CoreError> {
            self.0.lock().unwrap().push(label.to_string());
            Ok(SnapshotRef {
                id: label.into(),
                path: "/x".into(),
            })
        }
        fn restore(&self, _id: &str) -> Result<(), CoreError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn switch_over_stops_backs_up_switches_and_restarts_in_order() {
        let (_d, h) = home();
        install(&h.upgrade_dir("v2"));
        let backup = Arc::new(RecordingBackup(Default::default()));
        let mut m =
            UpgradeManager::new(h.clone(), "geth", OsFs, settings(), Some(backup.clone())).unwrap();
        assert!(m.offer(plan("v2", 10)).unwrap());
        assert_eq!(m.due(Some(9)), None);
        let p = m.due(Some(12)).unwrap();
        let node = FakeNode::default();
        let spec = LaunchSpec {
            program: h.current_bin("geth"),
            args: vec!["--http".into()],
            ..Default::default()
        };
        node.start(&spec).await.unwrap();
        let out = m.apply(&p, &node, &spec, Some(12)).await.unwrap();
        assert!(matches!(out, ApplyOutcome::Restarted { .. }));
        assert_eq!(
            node.calls(),
            vec![
                NodeCall::Start(spec.clone()),
                NodeCall::Stop,
                NodeCall::Start(spec.clone())
            ]
        );
        assert_eq!(
            *backup.0.lock().unwrap(),
            vec!["pre-upgrade-v2".to_string()]
        );
        assert_eq!(
            std::fs::read_link(h.current_link()).unwrap(),
            Path::new("upgrades/v2")
        );
        let recorded =
            std::fs::read_to_string(h.upgrade_dir("v2").join("upgrade-info.json")).unwrap();
        assert!(recorded.contains("\"v2\""));
        assert_eq!(m.due(Some(100)), None);
        // persisted as applied
        let q = UpgradeQueue::load(&h.upgrade_queue_file()).unwrap();
        assert_eq!(
            q.get("v2").unwrap().status,
            PlanStatus::Applied { at_head: Some(12) }
        );
    }

    #[tokio::test]
    async fn missing_binary_blocks_without_touching_the_node_then_goes_ahead() {
        let (_d, h) = home();
        let mut m = UpgradeManager::new(h.clone(), "geth", OsFs, settings(), None).unwrap();
        m.offer(plan("v2", 5)).unwrap();
        let node = FakeNode::default();
        let spec = LaunchSpec {
            program: h.current_bin("geth"),
            ..Default::default()
        };
        node.start(&spec).await.unwrap();
        let p = m.due(Some(5)).unwrap();
        match m.apply(&p, &node, &spec, Some(5)).await.unwrap() {
            ApplyOutcome::Blocked {
                reason, new_reason, ..
            } => {
                assert!(reason.contains("upgrades/v2/bin/geth"), "{reason}");
                assert!(new_reason);
            }
            other => panic!("{other:?}"),
        }
        // second try: same reason, not new (logged once)
        match m.apply(&p, &node, &spec, Some(6)).await.unwrap() {
            ApplyOutcome::Blocked { new_reason, .. } => assert!(!new_reason),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            node.calls().len(),
            1,
            "node was touched: {:?}",
            node.calls()
        );
        assert_eq!(
            std::fs::read_link(h.current_link()).unwrap(),
            Path::new("genesis")
        );
        install(&h.upgrade_dir("v2"));
        let out = m.apply(&p, &node, &spec, Some(7)).await.unwrap();
        assert!(matches!(out, ApplyOutcome::Restarted { .. }));
    }

    #[test]
    fn offline_apply_and_already_current_plan_is_not_reapplied() {
        let (_d, h) = home();
        install(&h.upgrade_dir("v2"));
        let mut m = UpgradeManager::new(h.clone(), "geth", OsFs, settings(), None).unwrap();
        m.offer(plan("v2", 3)).unwrap();
        let p = m.due(Some(3)).unwrap();
        m.apply_offline(&p, Some(3)).unwrap();
        assert_eq!(m.store().current().unwrap(), Some("v2".into()));
        // a fresh manager (new queue file gone) sees current == v2 and records it applied
        std::fs::remove_file(h.upgrade_queue_file()).unwrap();
        let mut m = UpgradeManager::new(h.clone(), "geth", OsFs, settings(), None).unwrap();
        assert!(!m.offer(plan("v2", 3)).unwrap());
        assert_eq!(m.due(Some(100)), None);
    }
}
