//! SIGTERM / SIGINT handling.
//!
//! Both ask for a graceful shutdown, like geth. With `--sim.ignore-sigterm`
//! both are caught, logged and ignored, so only SIGKILL stops the node.
//! Installing the handlers replaces the default "terminate" action, so even an
//! ignored signal never kills the process.

use std::io;

use tokio::signal::unix::{signal, Signal, SignalKind};

/// The installed handlers.
#[derive(Debug)]
pub struct Signals {
    term: Signal,
    int: Signal,
    ignore: bool,
}

impl Signals {
    /// Installs the SIGTERM and SIGINT handlers (needs a running tokio runtime).
    pub fn install(ignore: bool) -> io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            ignore,
        })
    }

    /// Waits for the next signal, whatever the ignore setting; returns its name.
    pub async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }

    /// Waits for a signal that asks for a shutdown; ignored ones are logged.
    pub async fn shutdown_requested(&mut self) -> &'static str {
        loop {
            let name = self.next().await;
            if !self.ignore {
                return name;
            }
            log!(
                "WARN",
                "Ignoring {name} (--sim.ignore-sigterm); only SIGKILL stops this node"
            );
        }
    }
}
