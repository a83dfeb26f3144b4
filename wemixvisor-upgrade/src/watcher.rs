use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use wemixvisor_core::atomic::{read_bounded_regular, BoundedRead};
use wemixvisor_core::{UpgradeInfo, UpgradeInfoError};

/// With file events working, the file is still read this often (or every
/// `poll`, if longer): a safety net for events lost, e.g. when the
/// directory is replaced, at no cost to an idle daemon.
pub const EVENTS_SAFETY_POLL: Duration = Duration::from_secs(60);

/// Largest upgrade-info file read (a plan is a few hundred bytes).
pub const MAX_UPGRADE_INFO_BYTES: u64 = 64 * 1024;

/// The raw bytes of the trigger file, read without ever blocking: only a
/// regular file (no FIFO, device or symbolic link) of at most
/// [`MAX_UPGRADE_INFO_BYTES`]. `Ok(None)` when there is none.
pub fn read_trigger_bytes(path: &Path) -> Result<Option<Vec<u8>>, UpgradeInfoError> {
    match read_bounded_regular(path, MAX_UPGRADE_INFO_BYTES) {
        Ok(BoundedRead::Data(b)) => Ok(Some(b)),
        Ok(BoundedRead::Missing) => Ok(None),
        Ok(BoundedRead::NotRegular) => Err(UpgradeInfoError::Invalid(format!(
            "'{}' is not a regular file (a FIFO, device, directory or symbolic link); it is not read",
            path.display()
        ))),
        Ok(BoundedRead::TooLarge { size }) => Err(UpgradeInfoError::Invalid(format!(
            "'{}' is {size} bytes, more than the {MAX_UPGRADE_INFO_BYTES} an upgrade-info file may have; it is not read",
            path.display()
        ))),
        Err(e) => Err(UpgradeInfoError::Invalid(e.to_string())),
    }
}

/// Reads and parses an upgrade-info file; `Ok(None)` when there is none.
/// The read is bounded and never blocks ([`read_trigger_bytes`]).
pub fn read_upgrade_info(path: &Path) -> Result<Option<UpgradeInfo>, UpgradeInfoError> {
    match read_trigger_bytes(path)? {
        Some(bytes) => UpgradeInfo::parse(&bytes).map(Some),
        None => Ok(None),
    }
}

/// Follows `chain-data/upgrade-info.json` and yields each new valid plan once.
///
/// File events (inotify, or kqueue on macOS, through `notify`) wake it at once; a poll
/// at the configured interval covers filesystems without events. An empty or
/// truncated file is read again on the next wake-up and never reported; an
/// invalid one is logged once per distinct content and otherwise ignored.
pub struct UpgradeInfoWatcher {
    rx: mpsc::Receiver<UpgradeInfo>,
    reads: std::sync::Arc<std::sync::atomic::AtomicU64>,
    _watcher: Option<notify::RecommendedWatcher>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for UpgradeInfoWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpgradeInfoWatcher").finish_non_exhaustive()
    }
}

impl Drop for UpgradeInfoWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl UpgradeInfoWatcher {
    /// Starts watching `path`: on file events, and by polling every `poll`
    /// where events are not available (every `EVENTS_SAFETY_POLL` (60 s) where
    /// they are). The plan already in the file (if any) is the first one
    /// yielded.
    pub fn spawn(path: PathBuf, poll: Duration) -> Self {
        let (wake_tx, mut wake_rx) = mpsc::channel::<()>(1);
        let watcher = Self::file_events(&path, wake_tx);
        let (tx, rx) = mpsc::channel(16);
        let poll = poll.max(Duration::from_millis(10));
        let reads = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = reads.clone();
        let mut events = watcher.is_some();
        let task = tokio::spawn(async move {
            let mut state = ReadState::default();
            let every = |events: bool| {
                if events {
                    poll.max(EVENTS_SAFETY_POLL)
                } else {
                    poll
                }
            };
            let mut tick = tokio::time::interval(every(events));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Some(info) = state.check(&path) {
                    if tx.send(info).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    _ = tick.tick() => {}
                    woke = wake_rx.recv(), if events => {
                        if woke.is_none() {
                            // No more file events (the watcher went away): poll only.
                            events = false;
                            tick = tokio::time::interval(every(events));
                            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                        }
                    }
                }
            }
        });
        UpgradeInfoWatcher {
            rx,
            reads,
            _watcher: watcher,
            task,
        }
    }

    fn file_events(path: &Path, wake: mpsc::Sender<()>) -> Option<notify::RecommendedWatcher> {
        let dir = path.parent()?.to_path_buf();
        let name = path.file_name()?.to_os_string();
        let handler = move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res {
                // Reading the file ourselves raises open/close-nowrite
                // (access) events: waking on those would make every read
                // trigger the next one, a busy loop.
                // kqueue (macOS) reports a change inside the directory on
                // the directory, or on whichever entry it has not seen yet:
                // there any change may be the file appearing.
                let ours = cfg!(target_os = "macos")
                    || ev
                        .paths
                        .iter()
                        .any(|p| p.file_name() == Some(name.as_os_str()));
                if !matches!(ev.kind, notify::EventKind::Access(_)) && ours {
                    // A full channel already holds a wake-up; that is enough.
                    let _ = wake.try_send(());
                }
            }
        };
        let mut w = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "file events unavailable; polling upgrade-info.json");
                return None;
            }
        };
        match w.watch(&dir, RecursiveMode::NonRecursive) {
            Ok(()) => Some(w),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot watch directory; polling upgrade-info.json");
                None
            }
        }
    }

    /// The next new plan.
    pub async fn next(&mut self) -> Option<UpgradeInfo> {
        self.rx.recv().await
    }

    /// How many times the file was looked at so far (diagnostics).
    pub fn reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[derive(Default)]
struct ReadState {
    /// Content last settled on (valid or invalid); `None` after a transient read.
    settled: Option<Vec<u8>>,
    last_emitted: Option<UpgradeInfo>,
    /// The last refusal logged (not a regular file, too large).
    refused: Option<Vec<u8>>,
}

impl ReadState {
    fn check(&mut self, path: &Path) -> Option<UpgradeInfo> {
        let bytes = match read_trigger_bytes(path) {
            Ok(Some(b)) => b,
            Ok(None) => {
                self.settled = None;
                return None;
            }
            Err(e) => {
                // Logged once per distinct problem, not on every poll.
                let key = e.to_string().into_bytes();
                if self.refused.as_deref() != Some(key.as_slice()) {
                    tracing::error!(path = %path.display(), "{e}");
                    self.refused = Some(key);
                }
                self.settled = None;
                return None;
            }
        };
        self.refused = None;
        if self.settled.as_deref() == Some(bytes.as_slice()) {
            return None;
        }
        match UpgradeInfo::parse(&bytes) {
            Ok(info) => {
                self.settled = Some(bytes);
                if self.last_emitted.as_ref() == Some(&info) {
                    return None;
                }
                self.last_emitted = Some(info.clone());
                Some(info)
            }
            Err(e) if e.is_transient() => {
                tracing::debug!(path = %path.display(), reason = %e, "upgrade-info not complete yet; will read again");
                None
            }
            Err(e) => {
                tracing::error!(path = %path.display(), "{e}; ignoring it");
                self.settled = Some(bytes);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn yields_each_valid_plan_once_and_skips_partial_and_invalid() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("upgrade-info.json");
        let mut w = UpgradeInfoWatcher::spawn(p.clone(), Duration::from_millis(50));
        std::fs::write(&p, br#"{"name":"v2","hei"#).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        std::fs::write(&p, b"{not json}").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        std::fs::write(&p, br#"{"name":"v2","height":10}"#).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((got.name.as_str(), got.height), ("v2", 10));
        // the same plan rewritten (touch) is not yielded again
        std::fs::write(&p, br#"{"name":"v2", "height":10}"#).unwrap();
        std::fs::write(&p, br#"{"name":"v3","height":20}"#).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.name, "v3");
    }

    #[tokio::test]
    async fn reading_the_file_does_not_wake_the_watcher_again() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("upgrade-info.json");
        std::fs::write(&p, br#"{"name":"v2","height":10}"#).unwrap();
        let mut w = UpgradeInfoWatcher::spawn(p.clone(), Duration::from_secs(3600));
        tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = w.reads();
        tokio::time::sleep(Duration::from_millis(500)).await;
        // its own reads raise access events; they must not cause more reads
        assert!(
            w.reads() - before <= 1,
            "{} reads in 500 ms",
            w.reads() - before
        );
        // a real change still wakes it at once
        std::fs::write(&p, br#"{"name":"v3","height":20}"#).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.name, "v3");
    }

    #[tokio::test]
    async fn with_file_events_a_short_poll_does_not_wake_it() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("upgrade-info.json");
        let mut w = UpgradeInfoWatcher::spawn(p.clone(), Duration::from_millis(10));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(w.reads() <= 2, "{} reads in 500 ms", w.reads());
        std::fs::write(&p, br#"{"name":"v2","height":10}"#).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.name, "v2");
    }

    #[test]
    fn fifo_link_and_huge_file_are_refused_without_reading() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("upgrade-info.json");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = read_upgrade_info(&p).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        let e = read_upgrade_info(&p).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        std::fs::remove_file(&p).unwrap();
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(8 << 30).unwrap(); // sparse 8 GiB
        let e = read_upgrade_info(&p).unwrap_err();
        assert!(e.to_string().contains("more than the 65536"), "{e}");
    }

    #[tokio::test]
    async fn works_when_the_directory_appears_later_by_polling() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("later/upgrade-info.json");
        let mut w = UpgradeInfoWatcher::spawn(p.clone(), Duration::from_millis(30));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, br#"{"name":"v9","height":0}"#).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((got.name.as_str(), got.height), ("v9", 0));
    }
}
