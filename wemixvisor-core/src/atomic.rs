//! File operations that never leave a half-written file or a missing link.
//!
//! Every write goes to a temporary file in the target's own directory (so the
//! final `rename` stays on one filesystem and is atomic), is fsynced, renamed
//! over the target, and then the directory is fsynced so the rename itself
//! survives a power cut.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::CoreError;

/// Mode of every directory wemixvisor creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of secret files (tokens, keys) and of state files.
pub const SECRET_MODE: u32 = 0o600;

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn temp_sibling(path: &Path) -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    parent_of(path).join(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Fsyncs a directory so that renames and creations inside it are durable.
pub fn fsync_dir(dir: &Path) -> Result<(), CoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| CoreError::io("fsync directory", dir, e))
}

/// Writes `data` to `path` atomically with permission bits `mode`.
///
/// Readers see either the old content or the new one, never a mix, and a
/// crash at any point leaves one of the two (plus, at worst, a stray temp file
/// named `.<name>.tmp-*` beside it).
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), CoreError> {
    let tmp = temp_sibling(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| CoreError::io("create", &tmp, e))?;
        f.write_all(data)
            .and_then(|_| f.sync_all())
            .map_err(|e| CoreError::io("write", &tmp, e))?;
        // `mode` passed to open() is filtered by the umask; make it exact.
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
            .map_err(|e| CoreError::io("chmod", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| CoreError::io("rename into place", path, e))?;
        fsync_dir(parent_of(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Serialises `value` as pretty JSON and writes it atomically with `mode`,
/// creating the parent directory (0700) if needed. The state files
/// (queue, journal, caches, status) all go through here.
pub fn write_json_atomic<T: serde::Serialize + ?Sized>(
    path: &Path,
    value: &T,
    mode: u32,
) -> Result<(), CoreError> {
    let body = serde_json::to_vec_pretty(value)
        .map_err(|e| CoreError::io("encode JSON for", path, std::io::Error::other(e)))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir_private(dir)?;
    }
    write_atomic(path, &body, mode)
}

/// Points the symlink `link` at `target` (normally a relative path such as
/// `upgrades/v2`) by creating a new link beside it and renaming it over the
/// old one, so `link` exists and is valid at every instant.
pub fn replace_symlink(link: &Path, target: &Path) -> Result<(), CoreError> {
    let tmp = temp_sibling(link);
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| CoreError::io("create link", &tmp, e))?;
    if let Err(e) = fs::rename(&tmp, link) {
        let _ = fs::remove_file(&tmp);
        return Err(CoreError::io("rename link into place", link, e));
    }
    fsync_dir(parent_of(link))
}

/// Creates `dir` and its missing parents with mode 0700 (existing directories
/// are left as they are).
pub fn create_dir_private(dir: &Path) -> Result<(), CoreError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| CoreError::io("create directory", dir, e))
}

/// Copies `from` to `to` atomically (temp file, fsync, rename) with `mode`.
pub fn copy_atomic(from: &Path, to: &Path, mode: u32) -> Result<u64, CoreError> {
    let tmp = temp_sibling(to);
    let result = (|| {
        let mut src = File::open(from).map_err(|e| CoreError::io("open", from, e))?;
        let mut dst = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| CoreError::io("create", &tmp, e))?;
        let n = std::io::copy(&mut src, &mut dst).map_err(|e| CoreError::io("copy to", &tmp, e))?;
        dst.sync_all()
            .map_err(|e| CoreError::io("fsync", &tmp, e))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
            .map_err(|e| CoreError::io("chmod", &tmp, e))?;
        fs::rename(&tmp, to).map_err(|e| CoreError::io("rename into place", to, e))?;
        fsync_dir(parent_of(to))?;
        Ok(n)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// What [`read_bounded_regular`] found at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundedRead {
    /// Nothing there.
    Missing,
    /// The whole content of a regular file of at most `max` bytes.
    Data(Vec<u8>),
    /// Something that is not a regular file (FIFO, device, directory,
    /// socket, symbolic link); it was not read.
    NotRegular,
    /// A regular file larger than `max` bytes; only its size was looked at.
    TooLarge {
        /// Its size, or at least `max + 1` when it grew while read.
        size: u64,
    },
}

/// Reads `path` only if it is a regular file of at most `max` bytes, without
/// ever blocking on it: it is opened `O_NONBLOCK | O_NOFOLLOW` (a FIFO, a
/// device such as `/dev/zero` or a symbolic link is refused before any
/// read), checked with `fstat` on the open descriptor, and read with a hard
/// limit of `max + 1` bytes.
pub fn read_bounded_regular(path: &Path, max: u64) -> Result<BoundedRead, CoreError> {
    use std::io::Read;
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BoundedRead::Missing),
        // O_NOFOLLOW on a symbolic link.
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => return Ok(BoundedRead::NotRegular),
        // O_NONBLOCK on a FIFO without a writer opens; on some systems a
        // device or socket refuses instead.
        Err(e) if e.raw_os_error() == Some(nix::libc::ENXIO) => return Ok(BoundedRead::NotRegular),
        Err(e) => return Err(CoreError::io("open", path, e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| CoreError::io("stat", path, e))?;
    if !meta.file_type().is_file() {
        return Ok(BoundedRead::NotRegular);
    }
    if meta.len() > max {
        return Ok(BoundedRead::TooLarge { size: meta.len() });
    }
    let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| CoreError::io("read", path, e))?;
    if buf.len() as u64 > max {
        return Ok(BoundedRead::TooLarge {
            size: buf.len() as u64,
        });
    }
    Ok(BoundedRead::Data(buf))
}

/// True when `path` is a regular file with an execute bit set.
pub fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        write_atomic(&p, b"one", 0o600).unwrap();
        write_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // no temp files left behind
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn json_is_written_with_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new/state.json");
        write_json_atomic(&p, &serde_json::json!({"a": 1}), 0o600).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        assert_eq!(back["a"], 1);
        let parent = fs::metadata(p.parent().unwrap()).unwrap();
        assert_eq!(parent.permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn write_atomic_into_missing_dir_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing/f");
        let err = write_atomic(&p, b"x", 0o600).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn replace_symlink_is_relative_and_swaps() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("genesis/bin")).unwrap();
        fs::create_dir_all(dir.path().join("upgrades/v2/bin")).unwrap();
        let link = dir.path().join("current");
        replace_symlink(&link, Path::new("genesis")).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), PathBuf::from("genesis"));
        replace_symlink(&link, Path::new("upgrades/v2")).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), PathBuf::from("upgrades/v2"));
        assert!(link.join("bin").is_dir());
        let stray: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(stray.is_empty(), "{stray:?}");
    }

    #[test]
    fn bounded_read_takes_small_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::write(&f, b"hello").unwrap();
        assert_eq!(
            read_bounded_regular(&f, 64).unwrap(),
            BoundedRead::Data(b"hello".to_vec())
        );
        assert_eq!(
            read_bounded_regular(&f, 4).unwrap(),
            BoundedRead::TooLarge { size: 5 }
        );
        assert_eq!(
            read_bounded_regular(&dir.path().join("none"), 64).unwrap(),
            BoundedRead::Missing
        );
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert_eq!(
            read_bounded_regular(&link, 64).unwrap(),
            BoundedRead::NotRegular
        );
        assert_eq!(
            read_bounded_regular(Path::new("/dev/zero"), 64).unwrap(),
            BoundedRead::NotRegular
        );
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(
            read_bounded_regular(&fifo, 64).unwrap(),
            BoundedRead::NotRegular
        );
        assert_eq!(
            read_bounded_regular(dir.path(), 64).unwrap(),
            BoundedRead::NotRegular
        );
    }

    #[test]
    fn create_dir_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a/b");
        create_dir_private(&d).unwrap();
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }
}
