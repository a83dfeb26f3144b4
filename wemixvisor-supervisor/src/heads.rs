//! Where the loop gets the head from while a plan waits for its height:
//! the node's own push (`eth_subscribe("newHeads")` over its IPC socket),
//! found from the node's command line the way geth finds it; polling
//! `eth_blockNumber` only when that is not available.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;
use wemixvisor_config::{parse_args, ArgItem};
use wemixvisor_core::{HeadEndpoint, HeadStream};

/// The first new try after a failed subscribe (the node's IPC socket
/// appears a moment after its start); doubled up to [`SUBSCRIBE_RETRY_MAX`].
pub const SUBSCRIBE_RETRY_FIRST: Duration = Duration::from_millis(100);
/// The longest wait between two tries to subscribe.
pub const SUBSCRIBE_RETRY_MAX: Duration = Duration::from_secs(30);
/// geth's IPC file name inside its datadir.
pub const GETH_IPC: &str = "geth.ipc";

/// The node's IPC socket, as geth resolves it from its flags: none with
/// `--ipcdisable`; `--ipcpath` when it names a path (relative to the
/// node's working directory `cwd`), or a bare file name inside the
/// datadir; `<datadir>/geth.ipc` otherwise. `None` also when no
/// `--datadir` is given (geth's own default then depends on its user).
pub fn head_endpoint(args: &[String], cwd: Option<&Path>) -> Option<HeadEndpoint> {
    let mut datadir: Option<String> = None;
    let mut ipcpath: Option<String> = None;
    let mut disabled = false;
    for item in parse_args(args) {
        let ArgItem::Flag { name, value, .. } = item else {
            continue;
        };
        match name.as_str() {
            "datadir" => datadir = value,
            "ipcpath" => ipcpath = value,
            "ipcdisable" => disabled = value.as_deref().is_none_or(|v| v != "false"),
            _ => {}
        }
    }
    if disabled {
        return None;
    }
    let resolve = |p: PathBuf| match cwd {
        Some(c) if p.is_relative() => c.join(p),
        _ => p,
    };
    let ipc = ipcpath.filter(|p| !p.is_empty());
    let path = match ipc {
        Some(p) if Path::new(&p).file_name() != Some(std::ffi::OsStr::new(&p)) => {
            resolve(PathBuf::from(p))
        }
        other => {
            let name = other.unwrap_or_else(|| GETH_IPC.to_string());
            resolve(PathBuf::from(datadir.filter(|d| !d.is_empty())?).join(name))
        }
    };
    Some(HeadEndpoint::Ipc(path))
}

/// The loop's head subscription and when to try for one again.
#[derive(Default)]
pub(crate) struct HeadFeed {
    /// The live subscription.
    pub(crate) stream: Option<Box<dyn HeadStream>>,
    /// Where this run of the node pushes heads; `None`: it does not.
    pub(crate) endpoint: Option<HeadEndpoint>,
    /// When to try subscribing again.
    pub(crate) retry_at: Option<Instant>,
    backoff: Duration,
    /// The node or the client cannot subscribe at all (this run).
    pub(crate) unsupported: bool,
    /// Whether "following heads" was logged for this subscription.
    pub(crate) logged: bool,
}

impl HeadFeed {
    /// A new run of the node: a new socket, nothing known about it yet.
    pub(crate) fn new_run(&mut self, endpoint: Option<HeadEndpoint>) {
        *self = HeadFeed {
            endpoint,
            ..HeadFeed::default()
        };
    }

    /// No subscription is needed now: close it, try no more.
    pub(crate) fn close(&mut self) {
        self.stream = None;
        self.retry_at = None;
        self.backoff = Duration::ZERO;
    }

    /// A failed try: the next one after a growing wait.
    pub(crate) fn failed(&mut self) {
        self.backoff = if self.backoff.is_zero() {
            SUBSCRIBE_RETRY_FIRST
        } else {
            (self.backoff * 2).min(SUBSCRIBE_RETRY_MAX)
        };
        self.retry_at = Some(Instant::now() + self.backoff);
    }

    /// A live subscription.
    pub(crate) fn subscribed(&mut self, stream: Box<dyn HeadStream>) {
        self.stream = Some(stream);
        self.retry_at = None;
        self.backoff = Duration::ZERO;
        self.logged = false;
    }

    /// The subscription ended (the node stopped or closed it).
    pub(crate) fn ended(&mut self) {
        self.stream = None;
        self.failed();
    }
}

/// The next head of `stream`, or never when there is none.
pub(crate) async fn next_head(stream: &mut Option<Box<dyn HeadStream>>) -> Option<u64> {
    match stream {
        Some(s) => s.next_head().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(args: &str, cwd: Option<&str>) -> Option<HeadEndpoint> {
        let a: Vec<String> = args.split_whitespace().map(String::from).collect();
        head_endpoint(&a, cwd.map(Path::new))
    }

    fn ipc(p: &str) -> Option<HeadEndpoint> {
        Some(HeadEndpoint::Ipc(PathBuf::from(p)))
    }

    #[test]
    fn geth_ipc_in_the_datadir_by_default() {
        assert_eq!(ep("--datadir /d --http", None), ipc("/d/geth.ipc"));
        assert_eq!(ep("-datadir=/d", None), ipc("/d/geth.ipc"));
        // a relative datadir is the node's working directory's
        assert_eq!(
            ep("--datadir chain-data", Some("/h")),
            ipc("/h/chain-data/geth.ipc")
        );
    }

    #[test]
    fn ipcpath_a_name_in_the_datadir_or_a_path_of_its_own() {
        assert_eq!(ep("--datadir /d --ipcpath n.ipc", None), ipc("/d/n.ipc"));
        assert_eq!(
            ep("--datadir /d --ipcpath /run/g.ipc", None),
            ipc("/run/g.ipc")
        );
        assert_eq!(
            ep("--datadir /d --ipcpath s/g.ipc", Some("/h")),
            ipc("/h/s/g.ipc")
        );
        // an absolute ipcpath needs no datadir
        assert_eq!(ep("--ipcpath /run/g.ipc", None), ipc("/run/g.ipc"));
    }

    #[test]
    fn none_when_disabled_or_the_datadir_is_unknown() {
        assert_eq!(ep("--datadir /d --ipcdisable", None), None);
        assert_eq!(
            ep("--datadir /d --ipcdisable=false", None),
            ipc("/d/geth.ipc")
        );
        assert_eq!(ep("--http --http.port 8545", None), None);
    }

    #[test]
    fn retries_back_off_to_a_ceiling_and_start_over_when_subscribed() {
        let mut f = HeadFeed::default();
        let mut waits = Vec::new();
        for _ in 0..12 {
            let before = Instant::now();
            f.failed();
            waits.push(f.retry_at.unwrap() - before);
        }
        assert!(waits[0] <= SUBSCRIBE_RETRY_FIRST + Duration::from_millis(50));
        assert!(waits
            .windows(2)
            .all(|w| w[1] + Duration::from_millis(50) >= w[0]));
        assert!(*waits.last().unwrap() <= SUBSCRIBE_RETRY_MAX + Duration::from_millis(50));
        assert!(*waits.last().unwrap() >= SUBSCRIBE_RETRY_MAX - Duration::from_millis(50));
        f.close();
        assert_eq!(f.retry_at, None);
    }
}
