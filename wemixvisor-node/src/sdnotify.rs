//! A small `sd_notify(3)` client: tells systemd (`Type=notify`) that the
//! node is ready, what state it is in, that the loop is alive, and that it is
//! stopping.
//!
//! systemd passes the socket in `NOTIFY_SOCKET`: a filesystem path, or an
//! abstract socket when it starts with `@` (Linux). Each message is one
//! datagram of `KEY=VALUE` lines. With `WatchdogSec=` set, systemd exports
//! `WATCHDOG_USEC` (and `WATCHDOG_PID`): the service must send `WATCHDOG=1`
//! more often than that or be restarted; [`watchdog_interval`] gives the
//! period to send at (half the timeout, as `sd_watchdog_enabled(3)` advises).
//!
//! Without `NOTIFY_SOCKET` (not under systemd) [`Notifier::from_env`] gives
//! `None`, so callers simply skip the notifications.

use std::ffi::OsStr;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

/// Where the notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A socket file.
    Path(PathBuf),
    /// A Linux abstract socket (the name without its leading `@`).
    Abstract(Vec<u8>),
}

/// A connection to systemd's notification socket.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    target: Target,
}

impl Notifier {
    /// The notifier named by `NOTIFY_SOCKET`, or `None` when it is unset or
    /// empty (not started by systemd with `Type=notify`).
    pub fn from_env() -> io::Result<Option<Self>> {
        match std::env::var_os("NOTIFY_SOCKET") {
            Some(value) if !value.is_empty() => Self::connect(&value).map(Some),
            _ => Ok(None),
        }
    }

    /// A notifier for the socket named as systemd names it in
    /// `NOTIFY_SOCKET` (`/run/systemd/notify` or `@name`).
    pub fn connect(notify_socket: &OsStr) -> io::Result<Self> {
        let bytes = notify_socket.as_encoded_bytes();
        let target = match bytes.split_first() {
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "NOTIFY_SOCKET is empty",
                ))
            }
            Some((b'@', name)) => Target::Abstract(name.to_vec()),
            Some(_) => Target::Path(PathBuf::from(notify_socket)),
        };
        Ok(Self {
            socket: UnixDatagram::unbound()?,
            target,
        })
    }

    /// Sends one raw notification (newline-separated `KEY=VALUE` lines).
    pub fn notify(&self, state: &str) -> io::Result<()> {
        let sent = match &self.target {
            Target::Path(path) => self.socket.send_to(state.as_bytes(), path)?,
            Target::Abstract(name) => send_abstract(&self.socket, name, state.as_bytes())?,
        };
        if sent != state.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short notification: sent {sent} of {} bytes", state.len()),
            ));
        }
        Ok(())
    }

    /// `READY=1`: start-up is finished (send once the node answers RPC).
    pub fn ready(&self) -> io::Result<()> {
        self.notify("READY=1")
    }

    /// `STATUS=...`: a one-line state shown by `systemctl status`.
    pub fn status(&self, status: &str) -> io::Result<()> {
        // A newline would start a new KEY=VALUE pair: keep it one line.
        let line: String = status
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        self.notify(&format!("STATUS={line}"))
    }

    /// `WATCHDOG=1`: the loop is alive (send every [`watchdog_interval`]).
    pub fn watchdog(&self) -> io::Result<()> {
        self.notify("WATCHDOG=1")
    }

    /// `STOPPING=1`: the service is shutting down.
    pub fn stopping(&self) -> io::Result<()> {
        self.notify("STOPPING=1")
    }

    /// `RELOADING=1`: a configuration reload has started; send
    /// [`ready`](Self::ready) when it is done.
    pub fn reloading(&self) -> io::Result<()> {
        self.notify("RELOADING=1")
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn send_abstract(socket: &UnixDatagram, name: &[u8], data: &[u8]) -> io::Result<usize> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    socket.send_to_addr(data, &addr)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn send_abstract(_socket: &UnixDatagram, _name: &[u8], _data: &[u8]) -> io::Result<usize> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract notification sockets ('@' in NOTIFY_SOCKET) exist only on Linux",
    ))
}

/// How often to send `WATCHDOG=1`, from this process's environment: half of
/// `WATCHDOG_USEC`, or `None` when the watchdog is off or meant for another
/// process (`WATCHDOG_PID`).
pub fn watchdog_interval() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    watchdog_interval_from(usec.as_deref(), pid.as_deref(), std::process::id())
}

/// [`watchdog_interval`] over given values (`WATCHDOG_USEC`, `WATCHDOG_PID`,
/// this process's id).
pub fn watchdog_interval_from(
    usec: Option<&str>,
    pid: Option<&str>,
    own_pid: u32,
) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok()? != own_pid {
            return None;
        }
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    Some(Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn receiver() -> (tempfile::TempDir, PathBuf, UnixDatagram) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (dir, path, rx)
    }

    fn recv(rx: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        let n = rx.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn sends_each_message_as_one_datagram_to_a_path_socket() {
        let (_dir, path, rx) = receiver();
        let n = Notifier::connect(path.as_os_str()).unwrap();
        n.ready().unwrap();
        n.status("running v1.2.0\nat height 10").unwrap();
        n.watchdog().unwrap();
        n.reloading().unwrap();
        n.stopping().unwrap();
        assert_eq!(recv(&rx), "READY=1");
        assert_eq!(recv(&rx), "STATUS=running v1.2.0 at height 10");
        assert_eq!(recv(&rx), "WATCHDOG=1");
        assert_eq!(recv(&rx), "RELOADING=1");
        assert_eq!(recv(&rx), "STOPPING=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reaches_an_abstract_socket_named_with_at() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("wemixvisor-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = Notifier::connect(OsStr::new(&format!("@{name}"))).unwrap();
        n.ready().unwrap();
        assert_eq!(recv(&rx), "READY=1");
    }

    #[test]
    fn a_missing_socket_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let n = Notifier::connect(dir.path().join("absent.sock").as_os_str()).unwrap();
        assert!(n.ready().is_err());
        assert!(Notifier::connect(OsStr::new("")).is_err());
    }

    #[test]
    fn watchdog_interval_is_half_the_timeout_for_this_process_only() {
        assert_eq!(
            watchdog_interval_from(Some("30000000"), None, 7),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            watchdog_interval_from(Some("30000000"), Some("7"), 7),
            Some(Duration::from_secs(15))
        );
        assert_eq!(watchdog_interval_from(Some("30000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval_from(None, None, 7), None);
        assert_eq!(watchdog_interval_from(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval_from(Some("soon"), None, 7), None);
    }
}
