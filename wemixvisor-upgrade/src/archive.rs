//! Safe extraction of release archives (`.tar.gz`, `.tar.zst`, `.tar`,
//! `.zip`) and the bare-binary case.
//!
//! Nothing is ever written outside the destination: entries with absolute
//! paths or `..`, device files and FIFOs are refused, symlinks and hard
//! links must point inside, and no entry may be written through a symlink
//! an earlier entry created. Files are created with `O_EXCL`, so an
//! existing link is never followed. Symlink targets are resolved
//! physically, through the links already extracted, and every link is
//! checked again once the whole archive is out.
//!
//! Everything an archive declares is bounded before it is read: entry names
//! and link targets (GNU long names, PAX records, zip names and zip link
//! bodies) to [`MAX_NAME`] bytes, the total size, the entry count. Names
//! quoted in errors are cut with [`truncate_for_display`].

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use wemixvisor_core::{truncate_bytes_for_display, truncate_for_display, DISPLAY_MAX};

use crate::UpgradeError;

/// Total bytes an archive may expand to.
const MAX_TOTAL_BYTES: u64 = 8 << 30;
/// Entries an archive may hold.
const MAX_ENTRIES: usize = 200_000;
/// Bytes an entry name or a link target may have (GNU long names, PAX
/// `path`/`linkpath`, zip names and zip symlink bodies).
pub const MAX_NAME: u64 = 4096;
/// Bytes a PAX extension header may have.
const MAX_PAX: u64 = 64 * 1024;
/// Links followed while resolving one symlink target.
const MAX_LINK_HOPS: u32 = 40;

/// `raw` bounded for an error message, quoted.
fn shown(raw: &str) -> String {
    format!("{:?}", truncate_for_display(raw, DISPLAY_MAX))
}

/// A path bounded for an error message, unquoted.
fn shown_path(p: &Path) -> String {
    truncate_for_display(&p.to_string_lossy(), DISPLAY_MAX)
}

/// What a downloaded file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    /// gzip-compressed tar.
    TarGz,
    /// zstd-compressed tar.
    TarZst,
    /// Uncompressed tar.
    Tar,
    /// zip.
    Zip,
    /// Not an archive: the binary itself.
    Bare,
}

/// Tells the kind of `path` from its first bytes.
pub fn detect(path: &Path) -> Result<ArchiveKind, UpgradeError> {
    let mut f = File::open(path).map_err(|e| UpgradeError::io("open", path, e))?;
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(UpgradeError::io("read", path, e)),
        }
    }
    let h = &head[..n];
    Ok(if h.starts_with(&[0x1f, 0x8b]) {
        ArchiveKind::TarGz
    } else if h.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        ArchiveKind::TarZst
    } else if h.starts_with(b"PK\x03\x04") || h.starts_with(b"PK\x05\x06") {
        ArchiveKind::Zip
    } else if n >= 262 && &h[257..262] == b"ustar" {
        ArchiveKind::Tar
    } else {
        ArchiveKind::Bare
    })
}

/// Refusal of one entry.
fn refuse(source: &str, reason: String) -> UpgradeError {
    UpgradeError::Archive {
        source_name: source.to_string(),
        reason,
    }
}

/// A relative path with no `..`, no root and no empty result; `Ok(None)`
/// for the archive root itself (`./`).
fn safe_relative(raw: &str) -> Result<Option<PathBuf>, String> {
    if raw.len() as u64 > MAX_NAME {
        return Err(format!(
            "entry {} has a path of {} bytes, more than the {MAX_NAME} allowed",
            shown(raw),
            raw.len()
        ));
    }
    if raw.contains('\0') {
        return Err(format!("entry {} has a NUL byte in its path", shown(raw)));
    }
    if raw.contains('\\') {
        return Err(format!("entry {} has a backslash in its path", shown(raw)));
    }
    let p = Path::new(raw);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(x) => out.push(x),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!("entry {} has '..' in its path", shown(raw)));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("entry {} has an absolute path", shown(raw)));
            }
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Resolves a link `target` found at `entry` (both relative to `root`)
/// physically: each component is looked up on disk, and a link already
/// extracted there is followed (at most [`MAX_LINK_HOPS`] of them).
/// `None` when the result leaves the root, is absolute, or loops.
fn resolve_physical(root: &Path, entry: &Path, target: &Path) -> Option<PathBuf> {
    let start: Vec<std::ffi::OsString> = entry
        .parent()
        .map(|p| p.iter().map(|c| c.to_os_string()).collect())
        .unwrap_or_default();
    let mut hops = 0;
    walk_link(root, start, target, &mut hops).map(|v| v.iter().collect())
}

fn walk_link(
    root: &Path,
    mut cur: Vec<std::ffi::OsString>,
    target: &Path,
    hops: &mut u32,
) -> Option<Vec<std::ffi::OsString>> {
    for c in target.components() {
        match c {
            Component::Normal(x) => {
                cur.push(x.to_os_string());
                let on_disk: PathBuf = root.join(cur.iter().collect::<PathBuf>());
                if let Ok(next) = std::fs::read_link(&on_disk) {
                    *hops += 1;
                    if *hops > MAX_LINK_HOPS {
                        return None;
                    }
                    cur.pop();
                    cur = walk_link(root, cur, &next, hops)?;
                }
            }
            Component::CurDir => {}
            Component::ParentDir => {
                cur.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(cur)
}

/// Writes entries under `root`, checking each one.
struct Writer<'a> {
    root: &'a Path,
    source: &'a str,
    total: u64,
    entries: usize,
    /// Links created so far, with their targets, checked again at the end.
    links: Vec<(PathBuf, PathBuf)>,
}

impl Writer<'_> {
    fn count(&mut self) -> Result<(), UpgradeError> {
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(refuse(
                self.source,
                format!("it has more than {MAX_ENTRIES} entries"),
            ));
        }
        Ok(())
    }

    /// Creates the parents of `rel`, refusing to pass through a symlink or
    /// a non-directory.
    fn parents(&self, rel: &Path) -> Result<PathBuf, UpgradeError> {
        let mut cur = self.root.to_path_buf();
        if let Some(parent) = rel.parent() {
            for c in parent.components() {
                cur.push(c);
                match std::fs::symlink_metadata(&cur) {
                    Ok(m) if m.file_type().is_symlink() => {
                        return Err(refuse(
                            self.source,
                            format!(
                                "entry '{}' would be written through the link '{}'",
                                shown_path(rel),
                                shown_path(cur.strip_prefix(self.root).unwrap_or(&cur))
                            ),
                        ))
                    }
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(refuse(
                            self.source,
                            format!(
                                "entry '{}' needs '{}' to be a directory, but it is a file",
                                shown_path(rel),
                                shown_path(cur.strip_prefix(self.root).unwrap_or(&cur))
                            ),
                        ))
                    }
                    Err(_) => std::fs::DirBuilder::new()
                        .mode(0o700)
                        .create(&cur)
                        .map_err(|e| UpgradeError::io("create directory", &cur, e))?,
                }
            }
        }
        Ok(self.root.join(rel))
    }

    fn clear(&self, path: &Path) -> Result<(), UpgradeError> {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => Err(refuse(
                self.source,
                format!(
                    "entry '{}' replaces a directory",
                    shown_path(path.strip_prefix(self.root).unwrap_or(path))
                ),
            )),
            Ok(_) => std::fs::remove_file(path).map_err(|e| UpgradeError::io("remove", path, e)),
            Err(_) => Ok(()),
        }
    }

    fn dir(&mut self, rel: &Path) -> Result<(), UpgradeError> {
        self.count()?;
        let path = self.parents(rel)?;
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(refuse(
                self.source,
                format!(
                    "directory entry '{}' replaces a file or link",
                    shown_path(rel)
                ),
            )),
            Err(_) => std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&path)
                .map_err(|e| UpgradeError::io("create directory", &path, e)),
        }
    }

    fn file(&mut self, rel: &Path, mode: u32, data: &mut dyn Read) -> Result<(), UpgradeError> {
        self.count()?;
        let path = self.parents(rel)?;
        self.clear(&path)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| UpgradeError::io("create", &path, e))?;
        let budget = MAX_TOTAL_BYTES.saturating_sub(self.total);
        let n = std::io::copy(&mut data.take(budget + 1), &mut f).map_err(|e| {
            refuse(
                self.source,
                format!("cannot read entry '{}': {e}", shown_path(rel)),
            )
        })?;
        self.total += n;
        if self.total > MAX_TOTAL_BYTES {
            return Err(refuse(
                self.source,
                format!("it expands to more than {MAX_TOTAL_BYTES} bytes"),
            ));
        }
        f.flush().map_err(|e| UpgradeError::io("write", &path, e))?;
        // Keep the permission bits (no setuid/setgid/sticky), owner always rw.
        let mode = (mode & 0o755) | 0o600;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| UpgradeError::io("chmod", &path, e))
    }

    fn symlink(&mut self, rel: &Path, target: &Path) -> Result<(), UpgradeError> {
        self.count()?;
        if target.as_os_str().len() as u64 > MAX_NAME {
            return Err(refuse(
                self.source,
                format!(
                    "link '{}' has a target of {} bytes, more than the {MAX_NAME} allowed",
                    shown_path(rel),
                    target.as_os_str().len()
                ),
            ));
        }
        self.check_link(rel, target)?;
        let path = self.parents(rel)?;
        self.clear(&path)?;
        std::os::unix::fs::symlink(target, &path)
            .map_err(|e| UpgradeError::io("create link", &path, e))?;
        self.links.push((rel.to_path_buf(), target.to_path_buf()));
        Ok(())
    }

    /// Refuses `rel -> target` when it resolves, through the links on
    /// disk, outside the root.
    fn check_link(&self, rel: &Path, target: &Path) -> Result<(), UpgradeError> {
        if resolve_physical(self.root, rel, target).is_none() {
            return Err(refuse(
                self.source,
                format!(
                    "link '{}' -> '{}' points outside the archive (or loops)",
                    shown_path(rel),
                    shown_path(target)
                ),
            ));
        }
        Ok(())
    }

    /// Checks every link again against the finished tree: a link created
    /// later may have changed where an earlier one leads.
    fn recheck_links(&self) -> Result<(), UpgradeError> {
        for (rel, target) in &self.links {
            self.check_link(rel, target)?;
        }
        Ok(())
    }

    fn hardlink(&mut self, rel: &Path, target_raw: &str) -> Result<(), UpgradeError> {
        let target = safe_relative(target_raw)
            .map_err(|r| refuse(self.source, format!("hard link '{}': {r}", shown_path(rel))))?
            .ok_or_else(|| {
                refuse(
                    self.source,
                    format!("hard link '{}' has an empty target", shown_path(rel)),
                )
            })?;
        let from = self.parents(&target)?;
        match std::fs::symlink_metadata(&from) {
            Ok(m) if m.is_file() => {}
            _ => {
                return Err(refuse(
                    self.source,
                    format!(
                        "hard link '{}' -> '{}' does not name a file extracted before it",
                        shown_path(rel),
                        shown_path(&target)
                    ),
                ))
            }
        }
        let mode = std::fs::metadata(&from)
            .map(|m| m.permissions().mode())
            .unwrap_or(0o600);
        let mut src = File::open(&from).map_err(|e| UpgradeError::io("open", &from, e))?;
        self.file(rel, mode, &mut src)
    }
}

/// Extracts the archive at `path` of `kind` into `dest` (an empty directory).
/// `source` names the archive in errors.
pub fn extract(
    path: &Path,
    kind: ArchiveKind,
    dest: &Path,
    source: &str,
) -> Result<(), UpgradeError> {
    let file = File::open(path).map_err(|e| UpgradeError::io("open", path, e))?;
    let mut w = Writer {
        root: dest,
        source,
        total: 0,
        entries: 0,
        links: Vec::new(),
    };
    match kind {
        ArchiveKind::TarGz => extract_tar(flate2::read::MultiGzDecoder::new(file), &mut w)?,
        ArchiveKind::TarZst => {
            let dec = zstd::stream::read::Decoder::new(file)
                .map_err(|e| refuse(source, format!("not a zstd stream: {e}")))?;
            extract_tar(dec, &mut w)?
        }
        ArchiveKind::Tar => extract_tar(file, &mut w)?,
        ArchiveKind::Zip => extract_zip(file, &mut w)?,
        ArchiveKind::Bare => return Err(refuse(source, "it is not an archive".into())),
    }
    w.recheck_links()
}

/// Reads an extension entry (GNU long name/link, PAX header) whose
/// declared size is checked against `max` before a byte is read.
fn read_extension<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    max: u64,
    what: &str,
    source: &str,
) -> Result<Vec<u8>, UpgradeError> {
    let size = entry.size();
    if size > max {
        return Err(refuse(
            source,
            format!("its {what} declares {size} bytes, more than the {max} allowed"),
        ));
    }
    let mut buf = Vec::with_capacity(size as usize);
    entry
        .take(max)
        .read_to_end(&mut buf)
        .map_err(|e| refuse(source, format!("corrupt {what}: {e}")))?;
    // GNU long names carry a trailing NUL.
    while buf.last() == Some(&0) {
        buf.pop();
    }
    Ok(buf)
}

/// Names carried by extension entries for the next real entry.
#[derive(Default)]
struct Pending {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
}

impl Pending {
    fn pax(&mut self, data: &[u8], source: &str) -> Result<(), UpgradeError> {
        for ext in tar::PaxExtensions::new(data) {
            let ext = ext.map_err(|e| refuse(source, format!("corrupt PAX header: {e}")))?;
            match ext.key() {
                Ok("path") => self.path = Some(ext.value_bytes().to_vec()),
                Ok("linkpath") => self.link = Some(ext.value_bytes().to_vec()),
                Ok("size") => {
                    return Err(refuse(
                        source,
                        "it uses a PAX 'size' record, which is not supported".into(),
                    ))
                }
                Ok(k) if k.starts_with("GNU.sparse") => {
                    return Err(refuse(source, "it holds a sparse file".into()))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn extract_tar(reader: impl Read, w: &mut Writer<'_>) -> Result<(), UpgradeError> {
    use tar::EntryType;
    let source = w.source.to_string();
    let mut ar = tar::Archive::new(reader);
    // Raw entries: the tar crate would otherwise read GNU long names and PAX
    // headers of any declared size into memory before we see them.
    let entries = ar
        .entries()
        .map_err(|e| refuse(&source, format!("cannot read it as tar: {e}")))?
        .raw(true);
    let mut seen_any = false;
    let mut pending = Pending::default();
    for entry in entries {
        let mut entry = entry.map_err(|e| {
            refuse(
                &source,
                format!(
                    "corrupt tar entry: {}",
                    truncate_for_display(&e.to_string(), DISPLAY_MAX)
                ),
            )
        })?;
        seen_any = true;
        let kind = entry.header().entry_type();
        match kind {
            EntryType::XGlobalHeader => continue,
            EntryType::XHeader => {
                let data = read_extension(&mut entry, MAX_PAX, "PAX header", &source)?;
                pending.pax(&data, &source)?;
                continue;
            }
            EntryType::GNULongName => {
                pending.path = Some(read_extension(
                    &mut entry,
                    MAX_NAME + 1,
                    "GNU long name",
                    &source,
                )?);
                continue;
            }
            EntryType::GNULongLink => {
                pending.link = Some(read_extension(
                    &mut entry,
                    MAX_NAME + 1,
                    "GNU long link name",
                    &source,
                )?);
                continue;
            }
            _ => {}
        }
        let names = std::mem::take(&mut pending);
        let raw = match names.path {
            Some(p) => String::from_utf8_lossy(&p).into_owned(),
            None => String::from_utf8_lossy(&entry.header().path_bytes()).into_owned(),
        };
        let link = match names.link {
            Some(l) => Some(String::from_utf8_lossy(&l).into_owned()),
            None => entry
                .header()
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
        };
        let Some(rel) = safe_relative(&raw).map_err(|r| refuse(&source, r))? else {
            if kind.is_dir() {
                continue;
            }
            return Err(refuse(
                &source,
                format!("entry {} has an empty path", shown(&raw)),
            ));
        };
        match kind {
            EntryType::Directory => w.dir(&rel)?,
            EntryType::Regular | EntryType::Continuous => {
                let mode = entry.header().mode().unwrap_or(0o644);
                w.file(&rel, mode, &mut entry)?
            }
            EntryType::Symlink => {
                let target = link.filter(|l| !l.is_empty()).ok_or_else(|| {
                    refuse(
                        &source,
                        format!("link '{}' has no target", shown_path(&rel)),
                    )
                })?;
                w.symlink(&rel, Path::new(&target))?
            }
            EntryType::Link => {
                let target = link.ok_or_else(|| {
                    refuse(
                        &source,
                        format!("hard link '{}' has no target", shown_path(&rel)),
                    )
                })?;
                w.hardlink(&rel, &target)?
            }
            EntryType::Char | EntryType::Block => {
                return Err(refuse(
                    &source,
                    format!("entry '{}' is a device file", shown_path(&rel)),
                ))
            }
            EntryType::Fifo => {
                return Err(refuse(
                    &source,
                    format!("entry '{}' is a FIFO", shown_path(&rel)),
                ))
            }
            other => {
                return Err(refuse(
                    &source,
                    format!(
                        "entry '{}' has an unsupported type {:?}",
                        shown_path(&rel),
                        other
                    ),
                ))
            }
        }
    }
    if !seen_any {
        return Err(refuse(&source, "it holds no entries".into()));
    }
    Ok(())
}

fn extract_zip(file: File, w: &mut Writer<'_>) -> Result<(), UpgradeError> {
    const S_IFMT: u32 = 0o170000;
    const S_IFLNK: u32 = 0o120000;
    const S_IFREG: u32 = 0o100000;
    const S_IFDIR: u32 = 0o040000;
    let source = w.source.to_string();
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| refuse(&source, format!("cannot read it as zip: {e}")))?;
    if zip.is_empty() {
        return Err(refuse(&source, "it holds no entries".into()));
    }
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| refuse(&source, format!("corrupt zip entry {i}: {e}")))?;
        let name = f.name_raw();
        if name.len() as u64 > MAX_NAME {
            return Err(refuse(
                &source,
                format!(
                    "entry {:?} has a path of {} bytes, more than the {MAX_NAME} allowed",
                    truncate_bytes_for_display(name, DISPLAY_MAX),
                    name.len()
                ),
            ));
        }
        let raw = String::from_utf8_lossy(name).into_owned();
        let Some(rel) = safe_relative(&raw).map_err(|r| refuse(&source, r))? else {
            continue;
        };
        let mode = f.unix_mode();
        let ftype = mode.map(|m| m & S_IFMT).filter(|t| *t != 0);
        if f.is_dir() || ftype == Some(S_IFDIR) {
            w.dir(&rel)?;
        } else if ftype == Some(S_IFLNK) {
            // The body is the target: check its declared size, then read
            // no more than the limit whatever the stream really holds.
            if f.size() > MAX_NAME {
                return Err(refuse(
                    &source,
                    format!(
                        "link '{}' has a target of {} bytes, more than the {MAX_NAME} allowed",
                        shown_path(&rel),
                        f.size()
                    ),
                ));
            }
            let mut body = Vec::new();
            (&mut f)
                .take(MAX_NAME + 1)
                .read_to_end(&mut body)
                .map_err(|e| refuse(&source, format!("link '{}': {e}", shown_path(&rel))))?;
            if body.len() as u64 > MAX_NAME {
                return Err(refuse(
                    &source,
                    format!(
                        "link '{}' has a target of more than the {MAX_NAME} bytes allowed",
                        shown_path(&rel)
                    ),
                ));
            }
            let target = String::from_utf8_lossy(&body).into_owned();
            w.symlink(&rel, Path::new(&target))?;
        } else if ftype.is_none() || ftype == Some(S_IFREG) {
            w.file(&rel, mode.unwrap_or(0o644), &mut f)?;
        } else {
            return Err(refuse(
                &source,
                format!(
                    "entry '{}' is a device file, FIFO or socket",
                    shown_path(&rel)
                ),
            ));
        }
    }
    Ok(())
}

/// Makes `tree` hold the binary as `bin/<daemon>`: accepts `bin/<daemon>`
/// or `<daemon>` at the root (moved into `bin/`). Returns its path.
pub fn locate_binary(tree: &Path, daemon: &str, source: &str) -> Result<PathBuf, UpgradeError> {
    let in_bin = tree.join("bin").join(daemon);
    let at_root = tree.join(daemon);
    let is_file_inside = |p: &Path| -> bool {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_file() => true,
            Ok(m) if m.file_type().is_symlink() => {
                let (Ok(real), Ok(root)) = (p.canonicalize(), tree.canonicalize()) else {
                    return false;
                };
                real.starts_with(root) && real.is_file()
            }
            _ => false,
        }
    };
    if is_file_inside(&in_bin) {
        return Ok(in_bin);
    }
    if is_file_inside(&at_root) {
        let bin_dir = tree.join("bin");
        match std::fs::symlink_metadata(&bin_dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(refuse(source, "its 'bin' is not a directory".to_string())),
            Err(_) => std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&bin_dir)
                .map_err(|e| UpgradeError::io("create directory", &bin_dir, e))?,
        }
        match std::fs::read_link(&at_root) {
            // A link at the root: its target is relative to the root, so
            // moving it into `bin/` would leave it dangling. Point a new
            // link in `bin/` at the same file instead.
            Ok(target) => {
                let real = resolve_physical(tree, Path::new(daemon), &target).ok_or_else(|| {
                    refuse(
                        source,
                        format!(
                            "'{daemon}' at its root is a link to '{}', which leads outside it",
                            shown_path(&target)
                        ),
                    )
                })?;
                std::os::unix::fs::symlink(Path::new("..").join(&real), &in_bin)
                    .map_err(|e| UpgradeError::io("create link", &in_bin, e))?;
                std::fs::remove_file(&at_root)
                    .map_err(|e| UpgradeError::io("remove", &at_root, e))?;
            }
            Err(_) => std::fs::rename(&at_root, &in_bin)
                .map_err(|e| UpgradeError::io("move", &at_root, e))?,
        }
        return Ok(in_bin);
    }
    let mut listing: Vec<String> = std::fs::read_dir(tree)
        .map(|rd| {
            rd.flatten()
                .map(|e| truncate_for_display(&e.file_name().to_string_lossy(), 64))
                .collect()
        })
        .unwrap_or_default();
    listing.sort();
    listing.truncate(10);
    Err(refuse(
        source,
        format!(
            "it has neither 'bin/{daemon}' nor '{daemon}' at its root (top level: {})\nhelp: package the binary as bin/{daemon} or {daemon}, or set node.daemon_name",
            if listing.is_empty() { "nothing".into() } else { listing.join(", ") }
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn tar_with(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(0);
        h
    }

    /// Writes `name` raw into the header (bypassing the builder's own checks).
    fn raw_entry(
        b: &mut tar::Builder<Vec<u8>>,
        name: &str,
        kind: tar::EntryType,
        link: Option<&str>,
        data: &[u8],
    ) {
        let mut h = header(kind, data.len() as u64, 0o755);
        {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            if let Some(l) = link {
                gnu.linkname[..l.len()].copy_from_slice(l.as_bytes());
            }
        }
        h.set_cksum();
        b.append(&h, Cursor::new(data.to_vec())).unwrap();
    }

    fn gz(tar: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(tar).unwrap();
        e.finish().unwrap()
    }

    fn run(bytes: &[u8]) -> (tempfile::TempDir, Result<PathBuf, UpgradeError>) {
        let d = tempfile::tempdir().unwrap();
        let ar = d.path().join("download");
        std::fs::write(&ar, bytes).unwrap();
        let dest = d.path().join("box/tree");
        std::fs::create_dir_all(&dest).unwrap();
        let kind = detect(&ar).unwrap();
        let r = extract(&ar, kind, &dest, "test.archive")
            .and_then(|_| locate_binary(&dest, "geth", "test.archive"));
        (d, r)
    }

    /// Everything under the temp dir except the tree and the archive.
    fn outside(d: &Path) -> Vec<String> {
        let mut v = Vec::new();
        let mut stack = vec![d.to_path_buf()];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).unwrap().flatten() {
                let path = e.path();
                let rel = path.strip_prefix(d).unwrap().to_string_lossy().into_owned();
                if rel == "download" || rel == "box" || rel.starts_with("box/tree") {
                    if rel == "box" {
                        stack.push(path);
                    }
                    continue;
                }
                v.push(rel);
            }
        }
        v
    }

    #[test]
    fn tar_gz_with_bin_layout_and_root_layout() {
        let t = tar_with(|b| {
            raw_entry(
                b,
                "bin/geth",
                tar::EntryType::Regular,
                None,
                b"#!/bin/sh\necho hi\n",
            );
            raw_entry(b, "lib/libx.so", tar::EntryType::Regular, None, b"lib");
            raw_entry(
                b,
                "bin/geth-link",
                tar::EntryType::Symlink,
                Some("geth"),
                b"",
            );
        });
        let (_d, r) = run(&gz(&t));
        let bin = r.unwrap();
        assert!(bin.ends_with("bin/geth"));
        assert_eq!(
            std::fs::metadata(&bin).unwrap().permissions().mode() & 0o777,
            0o755
        );

        let t = tar_with(|b| raw_entry(b, "./geth", tar::EntryType::Regular, None, b"x"));
        let (_d, r) = run(&zstd::encode_all(Cursor::new(t), 1).unwrap());
        assert!(r.unwrap().ends_with("bin/geth"));
    }

    #[test]
    fn zip_layouts_and_deflate() {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .unix_permissions(0o755);
            z.add_directory("bin/", opts).unwrap();
            z.start_file("bin/geth", opts).unwrap();
            z.write_all(b"#!/bin/sh\n").unwrap();
            z.finish().unwrap();
        }
        let (_d, r) = run(buf.get_ref());
        assert!(r.unwrap().ends_with("bin/geth"));
    }

    #[test]
    fn refuses_escapes_and_writes_nothing_outside() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "..",
                gz(&tar_with(|b| {
                    raw_entry(b, "../evil", tar::EntryType::Regular, None, b"x")
                })),
            ),
            (
                "..",
                gz(&tar_with(|b| {
                    raw_entry(b, "bin/../../evil", tar::EntryType::Regular, None, b"x")
                })),
            ),
            (
                "absolute",
                gz(&tar_with(|b| {
                    raw_entry(
                        b,
                        "/tmp/evil-wemixvisor-test",
                        tar::EntryType::Regular,
                        None,
                        b"x",
                    )
                })),
            ),
            (
                "outside",
                gz(&tar_with(|b| {
                    raw_entry(
                        b,
                        "bin/geth",
                        tar::EntryType::Symlink,
                        Some("../../../etc/passwd"),
                        b"",
                    )
                })),
            ),
            (
                "outside",
                gz(&tar_with(|b| {
                    raw_entry(b, "esc", tar::EntryType::Symlink, Some("/etc"), b"")
                })),
            ),
            (
                "through the link",
                gz(&tar_with(|b| {
                    raw_entry(b, "d", tar::EntryType::Symlink, Some("."), b"");
                    raw_entry(b, "up", tar::EntryType::Symlink, Some("d"), b"");
                    raw_entry(b, "up/geth", tar::EntryType::Regular, None, b"x");
                })),
            ),
            (
                "device",
                gz(&tar_with(|b| {
                    raw_entry(b, "bin/geth", tar::EntryType::Char, None, b"")
                })),
            ),
            (
                "FIFO",
                gz(&tar_with(|b| {
                    raw_entry(b, "bin/geth", tar::EntryType::Fifo, None, b"")
                })),
            ),
            (
                "hard link",
                gz(&tar_with(|b| {
                    raw_entry(
                        b,
                        "bin/geth",
                        tar::EntryType::Link,
                        Some("../../outside"),
                        b"",
                    )
                })),
            ),
            (
                "neither",
                gz(&tar_with(|b| {
                    raw_entry(b, "README", tar::EntryType::Regular, None, b"x")
                })),
            ),
        ];
        for (want, bytes) in cases {
            let (d, r) = run(&bytes);
            let e = r.expect_err(want).to_string();
            assert!(e.contains(want), "want {want:?} in: {e}");
            assert!(e.contains("test.archive"), "{e}");
            assert!(
                outside(d.path()).is_empty(),
                "{want}: wrote {:?}",
                outside(d.path())
            );
        }
        assert!(!Path::new("/tmp/evil-wemixvisor-test").exists());
    }

    #[test]
    fn zip_slip_and_zip_symlink_escape_are_refused() {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default();
            z.start_file("../../zip-slip", opts).unwrap();
            z.write_all(b"x").unwrap();
            z.finish().unwrap();
        }
        let (d, r) = run(buf.get_ref());
        assert!(r.unwrap_err().to_string().contains(".."));
        assert!(outside(d.path()).is_empty());

        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default();
            z.add_symlink("bin", "/usr/bin", opts).unwrap();
            z.start_file("bin/geth", opts).unwrap();
            z.write_all(b"x").unwrap();
            z.finish().unwrap();
        }
        let (d, r) = run(buf.get_ref());
        assert!(r.unwrap_err().to_string().contains("outside"));
        assert!(outside(d.path()).is_empty());
    }

    #[test]
    fn bare_binary_and_garbage_are_told_apart() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"\x7fELF....").unwrap();
        assert_eq!(detect(&p).unwrap(), ArchiveKind::Bare);
        std::fs::write(&p, [0x1f, 0x8b, 0, 0]).unwrap();
        assert_eq!(detect(&p).unwrap(), ArchiveKind::TarGz);
        let dest = d.path().join("t");
        std::fs::create_dir(&dest).unwrap();
        let e = extract(&p, ArchiveKind::TarGz, &dest, "x.tar.gz").unwrap_err();
        assert!(e.to_string().contains("x.tar.gz"), "{e}");
    }

    #[test]
    fn resolve_physical_rules() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        assert_eq!(
            resolve_physical(r, Path::new("a/b"), Path::new("../c")),
            Some(PathBuf::from("c"))
        );
        assert_eq!(
            resolve_physical(r, Path::new("a/b"), Path::new("../../c")),
            None
        );
        assert_eq!(resolve_physical(r, Path::new("b"), Path::new("/c")), None);
        std::fs::create_dir(r.join("a")).unwrap();
        std::os::unix::fs::symlink("..", r.join("a/up")).unwrap();
        assert_eq!(
            resolve_physical(r, Path::new("esc"), Path::new("a/up/..")),
            None
        );
        std::os::unix::fs::symlink("loop2", r.join("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", r.join("loop2")).unwrap();
        assert_eq!(
            resolve_physical(r, Path::new("x"), Path::new("loop1")),
            None
        );
    }

    /// A tar header for an extension entry (`L`, `K`, `x`) declaring `size`.
    fn ext_header(kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = header(kind, size, 0o644);
        h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        h.set_cksum();
        h
    }

    /// gzip of a tar whose first entry is an extension entry of `size`
    /// bytes of `fill`, streamed so the test never holds it.
    fn ext_bomb(kind: tar::EntryType, size: u64, fill: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(ext_header(kind, size).as_bytes()).unwrap();
        let chunk: Vec<u8> = fill.iter().copied().cycle().take(1 << 16).collect();
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            e.write_all(&chunk[..n]).unwrap();
            left -= n as u64;
        }
        let pad = (512 - size % 512) % 512;
        e.write_all(&vec![0u8; pad as usize]).unwrap();
        let mut h = header(tar::EntryType::Regular, 1, 0o755);
        h.set_path("geth").unwrap();
        h.set_cksum();
        e.write_all(h.as_bytes()).unwrap();
        e.write_all(&[b'x'; 512]).unwrap();
        e.write_all(&[0u8; 1024]).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn tar_long_name_and_pax_bombs_are_refused_before_reading() {
        let big = 64 << 20;
        let mut pax = b"99999999 path=".to_vec();
        pax.extend(std::iter::repeat_n(b'a', 64));
        for (kind, fill, what) in [
            (tar::EntryType::GNULongName, &b"a"[..], "GNU long name"),
            (tar::EntryType::GNULongLink, &b"a"[..], "GNU long link name"),
            (tar::EntryType::XHeader, &pax[..], "PAX header"),
        ] {
            let bytes = ext_bomb(kind, big, fill);
            assert!(bytes.len() < 1 << 20, "bomb is {} bytes", bytes.len());
            let (d, r) = run(&bytes);
            let e = r.unwrap_err().to_string();
            assert!(e.contains(what) && e.contains("more than"), "{e}");
            assert!(e.len() < 1024, "error of {} bytes", e.len());
            assert!(outside(d.path()).is_empty());
        }
    }

    #[test]
    fn tar_long_name_over_the_cap_is_refused_with_a_short_message() {
        // Within the extension cap but a name longer than MAX_NAME.
        let name = vec![b'a'; MAX_NAME as usize + 1];
        let bytes = ext_bomb(tar::EntryType::GNULongName, name.len() as u64, b"a");
        let (_d, r) = run(&bytes);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("more than the 4096 allowed"), "{e}");
        assert!(e.len() < 1024, "error of {} bytes", e.len());
        // A long name under the cap is honoured.
        let t = tar_with(|b| {
            let mut h = header(tar::EntryType::Regular, 1, 0o755);
            let long = format!("{0}/{0}/{0}/geth", "d".repeat(100));
            b.append_data(&mut h, long, Cursor::new(b"x".to_vec()))
                .unwrap();
            let mut h = header(tar::EntryType::Regular, 1, 0o755);
            b.append_data(&mut h, "geth", Cursor::new(b"y".to_vec()))
                .unwrap();
        });
        let (d, r) = run(&gz(&t));
        r.unwrap();
        assert!(d
            .path()
            .join("box/tree")
            .join(format!("{0}/{0}/{0}/geth", "d".repeat(100)))
            .is_file());
    }

    #[test]
    fn zip_symlink_body_bomb_and_long_names_are_refused() {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .external_attributes(0o120777 << 16);
            z.start_file("bin/geth", opts).unwrap();
            let chunk = vec![b'a'; 1 << 16];
            for _ in 0..(64 << 20) / chunk.len() {
                z.write_all(&chunk).unwrap();
            }
            z.finish().unwrap();
        }
        assert!(buf.get_ref().len() < 1 << 20, "{}", buf.get_ref().len());
        let (_d, r) = run(buf.get_ref());
        let e = r.unwrap_err().to_string();
        assert!(e.contains("link 'bin/geth' has a target of"), "{e}");
        assert!(e.len() < 1024, "error of {} bytes", e.len());

        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default();
            z.start_file("n".repeat(5000), opts).unwrap();
            z.write_all(b"x").unwrap();
            z.finish().unwrap();
        }
        let (_d, r) = run(buf.get_ref());
        let e = r.unwrap_err().to_string();
        assert!(e.contains("path of 5000 bytes"), "{e}");
        assert!(e.len() < 1024, "error of {} bytes", e.len());
    }

    #[test]
    fn symlink_chains_are_resolved_physically_in_either_order() {
        let forward = tar_with(|b| {
            raw_entry(b, "a/", tar::EntryType::Directory, None, b"");
            raw_entry(b, "a/up", tar::EntryType::Symlink, Some(".."), b"");
            raw_entry(b, "esc", tar::EntryType::Symlink, Some("a/up/.."), b"");
            raw_entry(b, "geth", tar::EntryType::Regular, None, b"x");
        });
        let backward = tar_with(|b| {
            raw_entry(b, "a/", tar::EntryType::Directory, None, b"");
            raw_entry(b, "esc", tar::EntryType::Symlink, Some("a/up/.."), b"");
            raw_entry(b, "a/up", tar::EntryType::Symlink, Some(".."), b"");
            raw_entry(b, "geth", tar::EntryType::Regular, None, b"x");
        });
        for t in [forward, backward] {
            let (d, r) = run(&gz(&t));
            let e = r.unwrap_err().to_string();
            assert!(e.contains("'esc' -> 'a/up/..' points outside"), "{e}");
            assert!(outside(d.path()).is_empty());
        }
        // The same link alone stays inside and is accepted.
        let ok = tar_with(|b| {
            raw_entry(b, "a/", tar::EntryType::Directory, None, b"");
            raw_entry(b, "a/up", tar::EntryType::Symlink, Some(".."), b"");
            raw_entry(b, "geth", tar::EntryType::Regular, None, b"x");
        });
        run(&gz(&ok)).1.unwrap();
    }

    #[test]
    fn root_level_symlinked_binary_is_relinked_into_bin() {
        let t = tar_with(|b| {
            raw_entry(
                b,
                "release/geth-1.2",
                tar::EntryType::Regular,
                None,
                b"#!/bin/sh\n",
            );
            raw_entry(
                b,
                "geth",
                tar::EntryType::Symlink,
                Some("release/geth-1.2"),
                b"",
            );
        });
        let (_d, r) = run(&gz(&t));
        let bin = r.unwrap();
        assert!(bin.ends_with("bin/geth"));
        assert_eq!(std::fs::read(&bin).unwrap(), b"#!/bin/sh\n");
    }
}
