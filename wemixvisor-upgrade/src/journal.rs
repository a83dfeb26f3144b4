//! `state/upgrade-journal.json`: the step of the upgrade in progress,
//! written before the step is acted on, and the history of finished ones.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wemixvisor_core::{atomic, SnapshotRef};

use crate::queue::now;
use crate::UpgradeError;

/// History entries kept in the journal (oldest dropped first).
const HISTORY_MAX: usize = 200;

/// A step of the switch-over, recorded before it is acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Stopping the old node.
    Halt,
    /// Snapshotting the chain data.
    Backup,
    /// Running the pre-upgrade hooks.
    PreHook,
    /// Running the plan's `migrate` commands (node stopped, data changing).
    Migrate,
    /// Running the plan's `verify` commands after the migration.
    VerifyMigration,
    /// Pointing `current` at the new binary.
    Switch,
    /// Starting the new node.
    Start,
    /// Waiting for the new node to be healthy.
    Verify,
    /// Running the post-upgrade hook.
    PostHook,
    /// Putting the previous binary (and maybe data) back.
    RollingBack,
}

impl Step {
    /// The step's name as written in the journal and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Halt => "halt",
            Step::Backup => "backup",
            Step::PreHook => "pre-hook",
            Step::Migrate => "migrate",
            Step::VerifyMigration => "verify-migration",
            Step::Switch => "switch",
            Step::Start => "start",
            Step::Verify => "verify",
            Step::PostHook => "post-hook",
            Step::RollingBack => "rollback",
        }
    }
}

/// The upgrade in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveUpgrade {
    /// Upgrade name (what `current` is being switched to).
    pub name: String,
    /// Its height.
    pub height: u64,
    /// The head when it started, if known.
    pub head: Option<u64>,
    /// What `current` pointed at before: `None` for genesis.
    pub from: Option<String>,
    /// The step now being carried out.
    pub step: Step,
    /// How many times this upgrade was started (an interrupted one is
    /// started over, a few times at most).
    pub attempt: u32,
    /// The node's arguments before the switch.
    pub previous_args: Vec<String>,
    /// The arguments for the new binary (after flag migrations).
    pub args: Vec<String>,
    /// Every flag rename the new binary's arguments need (recorded beside
    /// it at the switch).
    #[serde(default)]
    pub migrations: Vec<crate::FlagMigration>,
    /// The pre-upgrade snapshot, once taken.
    pub snapshot: Option<SnapshotRef>,
    /// Why a rollback is under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_reason: Option<String>,
    /// Whether the rollback also restores the snapshot.
    #[serde(default)]
    pub restore_data: bool,
    /// Whether the node should run when the rollback is done.
    #[serde(default = "yes")]
    pub restart_after_rollback: bool,
    /// True for an operator's `upgrade rollback`.
    #[serde(default)]
    pub manual: bool,
    /// The helper process (a hook) this step runs, recorded as soon as it
    /// is spawned, so recovery kills what a dead supervisor left of it
    /// before the step runs again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper: Option<HelperProcess>,
    /// The data migration of this upgrade (its steps and how far it got),
    /// when the plan has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<crate::migration::MigrationState>,
    /// The verification window of the new binary, once it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyWindow>,
    /// RFC 3339 start time.
    pub started_at: String,
    /// RFC 3339 time of the last step change.
    pub updated_at: String,
}

fn yes() -> bool {
    true
}

/// A helper process group recorded in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelperProcess {
    /// What it is (`pre-upgrade`, ...).
    pub label: String,
    /// Its process group id (the pid of the process it started as).
    pub pgid: u32,
    /// The boot it ran in (Linux `boot_id`): after a reboot it is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Start time of the group leader (Linux, clock ticks since boot), so a
    /// reused pid is never mistaken for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_start: Option<u64>,
}

impl HelperProcess {
    /// Describes the process group `pgid` started just now.
    pub fn of(label: &str, pgid: u32) -> Self {
        HelperProcess {
            label: label.to_string(),
            pgid,
            boot_id: boot_id(),
            leader_start: process_start(pgid),
        }
    }

    /// True when the group may still be the one recorded (same boot, and
    /// its leader, if still alive, is the same process).
    pub fn may_still_run(&self) -> bool {
        if let (Some(then), Some(now)) = (&self.boot_id, boot_id()) {
            if *then != now {
                return false;
            }
        }
        match (self.leader_start, process_start(self.pgid)) {
            (Some(then), Some(now)) => then == now,
            _ => true,
        }
    }
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Start time of process `pid` (field 22 of `/proc/<pid>/stat`), on Linux.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    // Fields after the command: state is field 3, start time field 22.
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The verification window of a new binary (judged by [`crate::verify::assess`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyWindow {
    /// Unix time (seconds) the window opened (the new node started).
    pub opened_unix: u64,
    /// Unix time (seconds) the window closes.
    pub deadline_unix: u64,
    /// The first head the new node reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_head: Option<u64>,
    /// When it first passed the immediate checks (RPC, peers, height).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_unix: Option<u64>,
    /// When its RPC last answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_ok_unix: Option<u64>,
    /// The head it advanced to past the height, once it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced: Option<u64>,
    /// When quorum was first seen with the head standing still.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum_since_unix: Option<u64>,
    /// What it waits for now, for status ("waiting for quorum: 1 of 4 validators").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// How a recorded upgrade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Switched, verified, hooks done.
    Done,
    /// A hook aborted it before the switch; nothing changed.
    Aborted,
    /// Failed before the switch; nothing changed.
    Failed,
    /// Switched, then put back.
    RolledBack,
    /// The process died during it; it was started over on the next start.
    Interrupted,
}

impl Outcome {
    /// The outcome's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Aborted => "aborted",
            Outcome::Failed => "failed",
            Outcome::RolledBack => "rolled back",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// One finished upgrade (or rollback) in the journal's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Upgrade name.
    pub name: String,
    /// `current` before (`None` = genesis).
    pub from: Option<String>,
    /// `current` after it ended (`None` = genesis).
    pub to: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Why, for anything but `done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The step it reached.
    pub step: Step,
    /// The head when it started, if known.
    pub head: Option<u64>,
    /// The pre-upgrade snapshot, if one was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotRef>,
    /// The arguments the node ran with before.
    #[serde(default)]
    pub previous_args: Vec<String>,
    /// True for an operator's `upgrade rollback`.
    #[serde(default)]
    pub manual: bool,
    /// RFC 3339 time it ended.
    pub at: String,
}

/// `state/upgrade-journal.json`: the upgrade in progress (if any) and the
/// history of finished ones. Every change is written atomically (temp file,
/// fsync, rename, fsync of the directory) before it is acted on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// Format version.
    #[serde(default)]
    pub version: u32,
    /// The upgrade in progress.
    pub active: Option<ActiveUpgrade>,
    /// Finished upgrades and rollbacks, oldest first.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    #[serde(skip)]
    path: PathBuf,
}

impl Journal {
    /// Reads the journal (absent = empty). A corrupt one is an error: what
    /// it said cannot be guessed.
    pub fn load(path: &Path) -> Result<Self, UpgradeError> {
        let mut j: Journal = match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| UpgradeError::BadJournal {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Journal::default(),
            Err(e) => return Err(UpgradeError::io("read", path, e)),
        };
        j.path = path.to_path_buf();
        Ok(j)
    }

    /// Writes the journal atomically.
    pub fn save(&mut self) -> Result<(), UpgradeError> {
        self.version = 1;
        if self.history.len() > HISTORY_MAX {
            let drop = self.history.len() - HISTORY_MAX;
            self.history.drain(..drop);
        }
        atomic::write_json_atomic(&self.path, self, atomic::SECRET_MODE)?;
        Ok(())
    }

    /// Records that `step` is about to be carried out.
    pub fn enter(&mut self, step: Step) -> Result<(), UpgradeError> {
        if let Some(a) = self.active.as_mut() {
            a.step = step;
            a.updated_at = now();
        }
        self.save()
    }

    /// Ends the active upgrade with `outcome`, moving it to the history,
    /// with `to` being what `current` names now.
    pub fn finish(
        &mut self,
        outcome: Outcome,
        to: Option<String>,
        reason: Option<String>,
        manual: bool,
    ) -> Result<Option<HistoryEntry>, UpgradeError> {
        let Some(a) = self.active.take() else {
            return Ok(None);
        };
        let entry = HistoryEntry {
            name: a.name,
            from: a.from,
            to,
            outcome,
            reason,
            step: a.step,
            head: a.head,
            snapshot: a.snapshot,
            previous_args: a.previous_args,
            manual,
            at: now(),
        };
        self.history.push(entry.clone());
        self.save()?;
        Ok(Some(entry))
    }

    /// The most recent history entry.
    pub fn last(&self) -> Option<&HistoryEntry> {
        self.history.last()
    }

    /// The last finished upgrade that switched to `name` and stayed.
    pub fn last_done_to(&self, name: &str) -> Option<&HistoryEntry> {
        self.history
            .iter()
            .rev()
            .find(|h| h.outcome == Outcome::Done && h.to.as_deref() == Some(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active(name: &str) -> ActiveUpgrade {
        ActiveUpgrade {
            name: name.into(),
            height: 10,
            head: Some(10),
            from: None,
            step: Step::Halt,
            attempt: 1,
            previous_args: vec!["--a".into()],
            args: vec!["--b".into()],
            migrations: vec![],
            snapshot: None,
            rollback_reason: None,
            restore_data: false,
            restart_after_rollback: true,
            manual: false,
            helper: None,
            migration: None,
            verify: None,
            started_at: now(),
            updated_at: now(),
        }
    }

    #[test]
    fn steps_persist_and_finish_moves_to_history() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state/upgrade-journal.json");
        let mut j = Journal::load(&p).unwrap();
        j.active = Some(active("v2"));
        j.enter(Step::Switch).unwrap();
        let back = Journal::load(&p).unwrap();
        assert_eq!(back.active.as_ref().unwrap().step, Step::Switch);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("\"step\": \"switch\""), "{text}");
        j.finish(Outcome::Done, Some("v2".into()), None, false)
            .unwrap();
        let back = Journal::load(&p).unwrap();
        assert!(back.active.is_none());
        assert_eq!(back.last().unwrap().outcome, Outcome::Done);
        assert_eq!(back.last_done_to("v2").unwrap().from, None);
    }

    #[test]
    fn corrupt_journal_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j.json");
        std::fs::write(&p, "{").unwrap();
        let e = Journal::load(&p).unwrap_err();
        assert!(e.to_string().contains("j.json"), "{e}");
        assert!(e.to_string().contains("help:"), "{e}");
    }
}
