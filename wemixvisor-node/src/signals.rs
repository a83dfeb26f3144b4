//! The signals a foreground supervisor receives and what they mean for the
//! node: SIGINT, SIGTERM and SIGQUIT end the supervisor (the node is stopped
//! gracefully first); SIGHUP is forwarded to the node unchanged.

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::NodeRunError;

/// A signal the supervisor acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupervisorSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (systemd stop, docker stop).
    Terminate,
    /// SIGQUIT.
    Quit,
    /// SIGHUP.
    Hangup,
}

impl SupervisorSignal {
    /// The signal number.
    pub fn number(self) -> i32 {
        match self {
            SupervisorSignal::Interrupt => libc_sig::SIGINT,
            SupervisorSignal::Terminate => libc_sig::SIGTERM,
            SupervisorSignal::Quit => libc_sig::SIGQUIT,
            SupervisorSignal::Hangup => libc_sig::SIGHUP,
        }
    }
    /// Conventional name.
    pub fn name(self) -> &'static str {
        match self {
            SupervisorSignal::Interrupt => "SIGINT",
            SupervisorSignal::Terminate => "SIGTERM",
            SupervisorSignal::Quit => "SIGQUIT",
            SupervisorSignal::Hangup => "SIGHUP",
        }
    }
    /// True for the signals that end the supervisor.
    pub fn is_shutdown(self) -> bool {
        !matches!(self, SupervisorSignal::Hangup)
    }
}

mod libc_sig {
    use nix::sys::signal::Signal;
    pub const SIGINT: i32 = Signal::SIGINT as i32;
    pub const SIGTERM: i32 = Signal::SIGTERM as i32;
    pub const SIGQUIT: i32 = Signal::SIGQUIT as i32;
    pub const SIGHUP: i32 = Signal::SIGHUP as i32;
}

/// Listens for the supervisor's signals.
#[derive(Debug)]
pub struct Signals {
    int: Signal,
    term: Signal,
    quit: Signal,
    hup: Signal,
}

impl Signals {
    /// Installs the handlers (must be called inside a tokio runtime).
    pub fn install() -> Result<Self, NodeRunError> {
        let mk = |kind: SignalKind, name: &'static str| {
            signal(kind).map_err(|source| NodeRunError::SignalHandler {
                signal: name,
                source,
            })
        };
        Ok(Signals {
            int: mk(SignalKind::interrupt(), "SIGINT")?,
            term: mk(SignalKind::terminate(), "SIGTERM")?,
            quit: mk(SignalKind::quit(), "SIGQUIT")?,
            hup: mk(SignalKind::hangup(), "SIGHUP")?,
        })
    }

    /// Waits for the next signal.
    pub async fn recv(&mut self) -> SupervisorSignal {
        tokio::select! {
            _ = self.int.recv() => SupervisorSignal::Interrupt,
            _ = self.term.recv() => SupervisorSignal::Terminate,
            _ = self.quit.recv() => SupervisorSignal::Quit,
            _ = self.hup.recv() => SupervisorSignal::Hangup,
        }
    }
}
