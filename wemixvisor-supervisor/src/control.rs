//! How a command reaches the supervisor: through the running one's handle
//! (its socket), or offline while holding the home lock.

use wemixvisor_core::lock::PidLock;
use wemixvisor_core::{CoreError, Home};

use crate::SupervisorError;

/// Where a mutating command goes.
#[derive(Debug)]
pub enum ControlPath {
    /// A supervisor runs (this pid): send the command to its handle over
    /// `state/wemixvisor.sock`.
    Online {
        /// The supervisor's pid.
        pid: u32,
    },
    /// None runs: act offline; the home lock is held (as if a supervisor
    /// ran) until this value is dropped, so none can start meanwhile.
    Offline(PidLock),
}

/// Takes the home lock a supervisor holds while it runs.
pub fn acquire_home_lock(home: &Home) -> Result<PidLock, SupervisorError> {
    wemixvisor_core::atomic::create_dir_private(&home.state_dir())?;
    PidLock::acquire(&home.supervisor_pid_file()).map_err(|e| match e {
        CoreError::Locked { pid, .. } => SupervisorError::AlreadyRunning {
            pid,
            home: home.root().to_path_buf(),
        },
        other => other.into(),
    })
}

/// The pid of the supervisor running on `home`, if one does.
pub fn running_supervisor(home: &Home) -> Option<u32> {
    PidLock::holder(&home.supervisor_pid_file())
}

/// Decides how a mutating command reaches `home`: online when a
/// supervisor runs, else offline with the home lock held.
pub fn control_path(home: &Home) -> Result<ControlPath, SupervisorError> {
    if let Some(pid) = running_supervisor(home) {
        return Ok(ControlPath::Online { pid });
    }
    match acquire_home_lock(home) {
        Ok(lock) => Ok(ControlPath::Offline(lock)),
        // A supervisor started between the two looks.
        Err(SupervisorError::AlreadyRunning { pid, .. }) => Ok(ControlPath::Online { pid }),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_holds_the_lock_and_online_sees_it() {
        let d = tempfile::tempdir().unwrap();
        let home = Home::new(d.path());
        let path = control_path(&home).unwrap();
        assert!(matches!(path, ControlPath::Offline(_)));
        // while held, a supervisor could not start (the lock is taken)
        assert!(matches!(
            acquire_home_lock(&home),
            Err(SupervisorError::AlreadyRunning { .. })
        ));
        drop(path);
        assert!(acquire_home_lock(&home).is_ok());
    }
}
