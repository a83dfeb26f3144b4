//! The supervisor's own actions in `state/audit.log`: a consumer of the
//! event stream. Commands that arrive through the API are recorded there,
//! with their parameters and result; this records what nobody asked for
//! over the API: restarts by the restart policy or the health checks, a
//! give-up, automatic snapshots, and signals from a service manager. The
//! upgrade pipeline records its own steps.

use std::path::{Path, PathBuf};

use tokio::sync::broadcast;
use wemixvisor_core::audit::{self, AuditEntry};

use crate::event::{Actor, Event, EventRecord};
use crate::handle::SupervisorHandle;

/// The audit entry an event makes, if any.
pub fn entry_for(rec: &EventRecord) -> Option<AuditEntry> {
    let at = |actor: &str, action: &str| {
        let mut e = AuditEntry::now(actor, action);
        e.time.clone_from(&rec.at);
        e
    };
    match &rec.event {
        Event::NodeRestarting { in_secs, reason } => Some(
            at("supervisor", "node.restart")
                .param("reason", reason.as_str())
                .param("in_secs", *in_secs),
        ),
        Event::NodeGaveUp {
            crashes,
            window_secs,
            last_exit,
        } => {
            let mut e = at("supervisor", "node.give-up")
                .param("crashes", *crashes)
                .param("window_secs", *window_secs);
            e.result = format!("error: {last_exit}");
            Some(e)
        }
        Event::BackupTaken {
            id,
            kind,
            bytes,
            duration_secs,
        } if kind != "manual" => Some(
            at("supervisor", "backup.create")
                .target(id.as_str())
                .param("kind", kind.as_str())
                .param("bytes", *bytes)
                .param("duration_secs", *duration_secs),
        ),
        Event::ControlReceived { verb, actor } if matches!(actor, Actor::Signal { .. }) => {
            let action = match verb.as_str() {
                "stop" => "supervisor.stop",
                "reload" => "config.reload",
                other => other,
            };
            let mut e = at(&actor.audit_name(), action);
            e.result = "accepted".into();
            Some(e)
        }
        _ => None,
    }
}

/// Writes [`entry_for`] of every event to `path` (off the runtime) until
/// the supervisor ends.
pub fn spawn_audit(handle: &SupervisorHandle, path: PathBuf) -> tokio::task::JoinHandle<()> {
    let mut rx = handle.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(rec) => {
                    if let Some(e) = entry_for(&rec) {
                        write(&path, e).await;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let mut e = AuditEntry::now("supervisor", "audit.lagged").param("missed", n);
                    e.result = format!("error: {n} events were not audited");
                    write(&path, e).await;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

async fn write(path: &Path, e: AuditEntry) {
    let p = path.to_owned();
    let _ = tokio::task::spawn_blocking(move || audit::record(&p, &e)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn own_actions_are_audited_and_commands_are_left_to_the_api() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("state/audit.log");
        let (cmd, _crx) = tokio::sync::mpsc::channel(1);
        let (events, _) = broadcast::channel(16);
        let (_stx, status) = tokio::sync::watch::channel(Default::default());
        let handle = SupervisorHandle::new(cmd, events.clone(), status);
        let task = spawn_audit(&handle, path.clone());
        let send = |seq, ev| {
            events.send(EventRecord::now(seq, ev)).unwrap();
        };
        send(
            1,
            Event::NodeRestarting {
                in_secs: 2.0,
                reason: "exit code 1".into(),
            },
        );
        send(
            2,
            Event::ControlReceived {
                verb: "restart".into(),
                actor: Actor::Cli { uid: 7 },
            },
        );
        send(
            3,
            Event::ControlReceived {
                verb: "reload".into(),
                actor: Actor::Signal {
                    name: "SIGHUP".into(),
                },
            },
        );
        send(
            4,
            Event::NodeGaveUp {
                crashes: 5,
                window_secs: 60,
                last_exit: "exit code 1".into(),
            },
        );
        drop(handle);
        drop(events);
        task.await.unwrap();
        let r = audit::read(&path, None).unwrap();
        let got: Vec<(&str, &str, &str)> = r
            .entries
            .iter()
            .map(|e| (e.actor.as_str(), e.action.as_str(), e.result.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("supervisor", "node.restart", "ok"),
                ("signal:SIGHUP", "config.reload", "accepted"),
                ("supervisor", "node.give-up", "error: exit code 1"),
            ]
        );
    }
}
