//! What devnode keeps on disk, all under `<datadir>/devnode/`:
//!
//! - `head`: the head height in decimal, rewritten after every block
//!   (write `head.tmp`, fsync, rename), read at start so a restart — or another
//!   devnode version on the same datadir — continues the chain;
//! - `LOCK`: the pid of the running node. It is also `flock`ed while the node
//!   runs (the kernel drops that lock when the process dies, however it dies).
//!   A start is refused when the flock is held, or when the file names another
//!   live process. A clean exit removes it; a crash leaves it behind (stale,
//!   its pid dead), which the next start takes over.
//! - `FORMAT`: the datadir format, `1` or `2` (`--sim.db-format`). Format 1
//!   keeps the head in `head` (decimal), format 2 in `head.v2`
//!   (`{"format":2,"head":N}`). A node refuses a datadir of the other
//!   format, as go-wbft refuses a gwemix database it cannot open; the
//!   `db_migrator` test tool converts 1 → 2. A datadir with no `FORMAT`
//!   takes the format its head file shows (a fresh one, the node's).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// `<datadir>/devnode/`.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    format: u8,
}

impl Store {
    /// Creates `<datadir>/devnode/` if needed (format 1).
    #[cfg(test)]
    pub fn open(datadir: &Path) -> io::Result<Self> {
        Self::open_format(datadir, 1)
    }

    /// Creates `<datadir>/devnode/` if needed, for a node of `format`.
    pub fn open_format(datadir: &Path, format: u8) -> io::Result<Self> {
        let dir = datadir.join("devnode");
        fs::create_dir_all(&dir)?;
        Ok(Self { dir, format })
    }

    /// The format the datadir holds: its `FORMAT` file, else what its head
    /// file shows, else `None` (fresh).
    pub fn found_format(&self) -> Result<Option<String>, String> {
        let path = self.dir.join("FORMAT");
        match fs::read_to_string(&path) {
            Ok(s) => return Ok(Some(s.trim().to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {path:?}: {e}")),
        }
        if self.dir.join("head").exists() {
            return Ok(Some("1".into()));
        }
        if self.dir.join("head.v2").exists() {
            return Ok(Some("2".into()));
        }
        Ok(None)
    }

    /// Refuses a datadir of another format (the message says which and
    /// what converts it); a fresh datadir is stamped with this node's.
    pub fn check_format(&self) -> Result<(), String> {
        let want = self.format.to_string();
        match self.found_format()? {
            Some(f) if f == want => Ok(()),
            Some(f) => Err(format!(
                "Failed to open database: the datadir {:?} holds format {f}, this binary reads format {want}{}",
                self.dir.parent().unwrap_or(&self.dir),
                if f == "1" && want == "2" {
                    " (convert it with db_migrator -src <old> -dst <new>)"
                } else {
                    ""
                }
            )),
            None => {
                let tmp = self.dir.join("FORMAT.tmp");
                let r = (|| {
                    fs::write(&tmp, format!("{want}\n"))?;
                    fs::rename(&tmp, self.dir.join("FORMAT"))
                })();
                r.map_err(|e| format!("cannot write {:?}: {e}", self.dir.join("FORMAT")))
            }
        }
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<datadir>/devnode/head` (format 1) or `head.v2` (format 2).
    pub fn head_path(&self) -> PathBuf {
        if self.format == 2 {
            self.dir.join("head.v2")
        } else {
            self.dir.join("head")
        }
    }

    /// The saved head, 0 when there is none; an error names a corrupt file.
    pub fn load_head(&self) -> Result<u64, String> {
        let path = self.head_path();
        match fs::read_to_string(&path) {
            Ok(s) if self.format == 2 => {
                parse_v2(&s).ok_or_else(|| format!("corrupt head file {:?}: {:?}", path, s.trim()))
            }
            Ok(s) => s
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("corrupt head file {:?}: {:?}", path, s.trim())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(format!("cannot read head file {path:?}: {e}")),
        }
    }

    /// Saves the head atomically (temp file + fsync + rename).
    pub fn save_head(&self, head: u64) -> io::Result<()> {
        let tmp = self.dir.join("head.tmp");
        {
            let mut f = File::create(&tmp)?;
            if self.format == 2 {
                writeln!(f, "{}", v2_head(head))?;
            } else {
                writeln!(f, "{head}")?;
            }
            f.sync_all()?;
        }
        fs::rename(&tmp, self.head_path())
    }
}

/// The format-2 head file's text for `head`.
pub fn v2_head(head: u64) -> String {
    format!("{{\"format\":2,\"head\":{head}}}")
}

/// The head of a format-2 head file.
pub fn parse_v2(s: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(s.trim()).ok()?;
    (v.get("format")?.as_u64()? == 2)
        .then(|| v.get("head")?.as_u64())
        .flatten()
}

/// Why the datadir could not be locked.
#[derive(Debug)]
pub enum LockError {
    /// Another live process holds it (pid if known).
    Busy(Option<i32>),
    /// The file system said no.
    Io(io::Error),
}

impl From<io::Error> for LockError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// The held `<datadir>/devnode/LOCK`.
#[derive(Debug)]
pub struct DirLock {
    file: Flock<File>,
    path: PathBuf,
}

/// Whether `pid` names a live process (zombies included).
pub fn pid_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    match kill(Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == Errno::EPERM,
    }
}

impl DirLock {
    /// Takes the lock in `dir`, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join("LOCK");
        let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        // A racing holder may unlink the file between our open and our flock;
        // then we hold a lock on a dead inode and must try again.
        for _ in 0..5 {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(f) => f,
                Err((mut f, Errno::EWOULDBLOCK)) => return Err(LockError::Busy(read_pid(&mut f))),
                Err((_, e)) => return Err(LockError::Io(io::Error::from(e))),
            };
            let same_inode = match fs::metadata(&path) {
                Ok(m) => {
                    let ours = file.metadata()?;
                    m.ino() == ours.ino() && m.dev() == ours.dev()
                }
                Err(_) => false,
            };
            if !same_inode {
                continue;
            }
            if let Some(pid) = read_pid(&mut file) {
                if pid != me && pid_alive(pid) {
                    return Err(LockError::Busy(Some(pid)));
                }
            }
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "{me}")?;
            file.sync_all()?;
            return Ok(Self { file, path });
        }
        Err(LockError::Busy(None))
    }

    /// Removes the lock file (clean exit).
    pub fn release(self) {
        let _ = fs::remove_file(&self.path);
        drop(self.file);
    }
}

fn read_pid(f: &mut File) -> Option<i32> {
    let mut s = String::new();
    f.seek(SeekFrom::Start(0)).ok()?;
    f.read_to_string(&mut s).ok()?;
    s.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Store::open(tmp.path()).unwrap();
        assert_eq!(s.load_head(), Ok(0));
        s.save_head(42).unwrap();
        assert_eq!(s.load_head(), Ok(42));
        fs::write(s.head_path(), "x").unwrap();
        assert!(s.load_head().is_err());
    }

    #[test]
    fn formats_refuse_each_other() {
        let tmp = tempfile::tempdir().unwrap();
        let v1 = Store::open_format(tmp.path(), 1).unwrap();
        v1.check_format().unwrap();
        v1.save_head(7).unwrap();
        assert_eq!(fs::read_to_string(v1.dir().join("FORMAT")).unwrap(), "1\n");
        let v2 = Store::open_format(tmp.path(), 2).unwrap();
        let e = v2.check_format().unwrap_err();
        assert!(
            e.contains("holds format 1, this binary reads format 2") && e.contains("db_migrator"),
            "{e}"
        );
        // converted by hand: format 2 reads its own head
        fs::write(v2.dir().join("FORMAT"), "2\n").unwrap();
        fs::write(v2.dir().join("head.v2"), v2_head(9)).unwrap();
        v2.check_format().unwrap();
        assert_eq!(v2.load_head(), Ok(9));
        let e = v1.check_format().unwrap_err();
        assert!(
            e.contains("holds format 2, this binary reads format 1"),
            "{e}"
        );
        // a datadir from before FORMAT existed is format 1
        let old = tempfile::tempdir().unwrap();
        let s = Store::open_format(old.path(), 2).unwrap();
        fs::write(s.dir().join("head"), "3\n").unwrap();
        assert!(s.check_format().is_err());
        assert_eq!(parse_v2("{\"format\":1,\"head\":3}"), None);
    }

    #[test]
    fn lock_is_exclusive_and_stale_locks_are_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let a = DirLock::acquire(tmp.path()).unwrap();
        // flock is per open file description: a second open in this process conflicts.
        assert!(matches!(
            DirLock::acquire(tmp.path()),
            Err(LockError::Busy(Some(_)))
        ));
        a.release();
        assert!(!tmp.path().join("LOCK").exists());
        // A lock naming a dead pid is stale.
        fs::write(tmp.path().join("LOCK"), "999999999\n").unwrap();
        let b = DirLock::acquire(tmp.path()).unwrap();
        let content = fs::read_to_string(tmp.path().join("LOCK")).unwrap();
        assert_eq!(content.trim(), std::process::id().to_string());
        b.release();
    }

    #[test]
    fn lock_naming_a_live_process_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        fs::write(tmp.path().join("LOCK"), format!("{}\n", child.id())).unwrap();
        let r = DirLock::acquire(tmp.path());
        let _ = child.kill();
        let _ = child.wait();
        assert!(matches!(r, Err(LockError::Busy(Some(_)))));
    }
}
