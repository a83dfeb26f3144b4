use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{InfoSource, UpgradeInfo};

/// Life-cycle state of the supervised node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Not running and not expected to run.
    Stopped,
    /// Spawned; waiting for it to come up.
    Starting,
    /// Running.
    Running,
    /// Asked to stop; waiting for it to exit.
    Stopping,
    /// Exited on its own; a restart may follow.
    Crashed,
    /// Gave up restarting; needs an operator.
    Failed,
    /// Stopped for an upgrade switch-over.
    Upgrading,
}

impl NodeState {
    /// Lowercase name as shown by `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Stopped => "stopped",
            NodeState::Starting => "starting",
            NodeState::Running => "running",
            NodeState::Stopping => "stopping",
            NodeState::Crashed => "crashed",
            NodeState::Failed => "failed",
            NodeState::Upgrading => "upgrading",
        }
    }
}

/// What to execute for the node: program, arguments, environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LaunchSpec {
    /// Program path; normally `<home>/wemixvisor/current/bin/<name>`, which is
    /// resolved through the link at every spawn.
    pub program: PathBuf,
    /// Arguments, passed unchanged.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Working directory (the home root when `None`).
    pub cwd: Option<PathBuf>,
}

/// How a node process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// Exit code, when it exited normally.
    pub code: Option<i32>,
    /// Terminating signal number, when killed by one.
    pub signal: Option<i32>,
    /// True when the exit was asked for (stop, restart, upgrade).
    pub requested: bool,
}

impl ExitInfo {
    /// The code a wrapper should exit with to mirror this exit (128 + signal
    /// for a signal death, as shells do).
    pub fn wrapper_code(&self) -> i32 {
        match (self.code, self.signal) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            (None, None) => 1,
        }
    }

    /// Human-readable summary ("exit code 2", "signal 9").
    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "unknown exit".into(),
        }
    }
}

/// One scheduled upgrade, as held in the upgrade queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradePlan {
    /// Upgrade name (`upgrades/<name>`).
    pub name: String,
    /// Activation height (0 = as soon as possible).
    pub height: u64,
    /// Where its binary comes from.
    #[serde(default)]
    pub info: InfoSource,
    /// Who queued it (`upgrade-info`, `cli`, `plan`, `manifest`, `contract`).
    pub source: String,
}

impl UpgradePlan {
    /// A plan from an upgrade-info document.
    pub fn from_info(info: UpgradeInfo, source: &str) -> Self {
        UpgradePlan {
            name: info.name,
            height: info.height,
            info: info.info,
            source: source.into(),
        }
    }

    /// The plan as an upgrade-info document.
    pub fn to_info(&self) -> UpgradeInfo {
        UpgradeInfo {
            name: self.name.clone(),
            height: self.height,
            info: self.info.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapper_code_mirrors_shells() {
        let e = ExitInfo {
            code: Some(3),
            signal: None,
            requested: false,
        };
        assert_eq!(e.wrapper_code(), 3);
        let k = ExitInfo {
            code: None,
            signal: Some(9),
            requested: true,
        };
        assert_eq!(k.wrapper_code(), 137);
        assert_eq!(k.describe(), "signal 9");
    }
}
