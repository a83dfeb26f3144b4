//! Safe extraction of release archives (`.tar.gz`, `.tar.zst`, `.tar`,
//! `.zip`) and the bare-binary case.
//!
//! Nothing is ever written outside the destination: entries with absolute
//! paths or `..`, device files and FIFOs are refused, symlinks and hard
//! links must point inside, and no entry may be written through a symlink
//! an earlier entry created. Files are created with `O_EXCL`, so an
//! existing link is never followed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use crate::UpgradeError;

/// Total bytes an archive may expand to.
const MAX_TOTAL_BYTES: u64 = 8 << 30;
/// Entries an archive may hold.
const MAX_ENTRIES: usize = 200_000;

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
    if raw.contains('\0') {
        return Err(format!("entry {raw:?} has a NUL byte in its path"));
    }
    if raw.contains('\\') {
        return Err(format!("entry {raw:?} has a backslash in its path"));
    }
    let p = Path::new(raw);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(x) => out.push(x),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!("entry {raw:?} has '..' in its path"));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("entry {raw:?} has an absolute path"));
            }
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Lexically resolves a link `target` found at `entry` (both relative to
/// the root); `None` when it leaves the root or is absolute.
fn resolve_inside(entry: &Path, target: &Path) -> Option<PathBuf> {
    if target.is_absolute() {
        return None;
    }
    let mut out: Vec<std::ffi::OsString> = entry
        .parent()
        .map(|p| p.iter().map(|c| c.to_os_string()).collect())
        .unwrap_or_default();
    for c in target.components() {
        match c {
            Component::Normal(x) => out.push(x.to_os_string()),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out.iter().collect())
}

/// Writes entries under `root`, checking each one.
struct Writer<'a> {
    root: &'a Path,
    source: &'a str,
    total: u64,
    entries: usize,
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
                                rel.display(),
                                cur.strip_prefix(self.root).unwrap_or(&cur).display()
                            ),
                        ))
                    }
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(refuse(
                            self.source,
                            format!(
                                "entry '{}' needs '{}' to be a directory, but it is a file",
                                rel.display(),
                                cur.strip_prefix(self.root).unwrap_or(&cur).display()
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
                    path.strip_prefix(self.root).unwrap_or(path).display()
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
                    rel.display()
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
                format!("cannot read entry '{}': {e}", rel.display()),
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
        if resolve_inside(rel, target).is_none() {
            return Err(refuse(
                self.source,
                format!(
                    "link '{}' -> '{}' points outside the archive",
                    rel.display(),
                    target.display()
                ),
            ));
        }
        let path = self.parents(rel)?;
        self.clear(&path)?;
        std::os::unix::fs::symlink(target, &path)
            .map_err(|e| UpgradeError::io("create link", &path, e))
    }

    fn hardlink(&mut self, rel: &Path, target_raw: &str) -> Result<(), UpgradeError> {
        let target = safe_relative(target_raw)
            .map_err(|r| refuse(self.source, format!("hard link '{}': {r}", rel.display())))?
            .ok_or_else(|| {
                refuse(
                    self.source,
                    format!("hard link '{}' has an empty target", rel.display()),
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
                        rel.display(),
                        target.display()
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
    };
    match kind {
        ArchiveKind::TarGz => extract_tar(flate2::read::MultiGzDecoder::new(file), &mut w),
        ArchiveKind::TarZst => {
            let dec = zstd::stream::read::Decoder::new(file)
                .map_err(|e| refuse(source, format!("not a zstd stream: {e}")))?;
            extract_tar(dec, &mut w)
        }
        ArchiveKind::Tar => extract_tar(file, &mut w),
        ArchiveKind::Zip => extract_zip(file, &mut w),
        ArchiveKind::Bare => Err(refuse(source, "it is not an archive".into())),
    }
}

fn extract_tar(reader: impl Read, w: &mut Writer<'_>) -> Result<(), UpgradeError> {
    use tar::EntryType;
    let source = w.source.to_string();
    let mut ar = tar::Archive::new(reader);
    let entries = ar
        .entries()
        .map_err(|e| refuse(&source, format!("cannot read it as tar: {e}")))?;
    let mut seen_any = false;
    for entry in entries {
        let mut entry = entry.map_err(|e| refuse(&source, format!("corrupt tar entry: {e}")))?;
        seen_any = true;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        match kind {
            EntryType::XGlobalHeader | EntryType::XHeader => continue,
            EntryType::GNULongName | EntryType::GNULongLink => continue,
            _ => {}
        }
        let Some(rel) = safe_relative(&raw).map_err(|r| refuse(&source, r))? else {
            if kind.is_dir() {
                continue;
            }
            return Err(refuse(&source, format!("entry {raw:?} has an empty path")));
        };
        match kind {
            EntryType::Directory => w.dir(&rel)?,
            EntryType::Regular | EntryType::Continuous => {
                let mode = entry.header().mode().unwrap_or(0o644);
                w.file(&rel, mode, &mut entry)?
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(|e| refuse(&source, format!("link '{}': {e}", rel.display())))?
                    .ok_or_else(|| {
                        refuse(&source, format!("link '{}' has no target", rel.display()))
                    })?
                    .into_owned();
                w.symlink(&rel, &target)?
            }
            EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .ok_or_else(|| {
                        refuse(
                            &source,
                            format!("hard link '{}' has no target", rel.display()),
                        )
                    })?;
                w.hardlink(&rel, &target)?
            }
            EntryType::Char | EntryType::Block => {
                return Err(refuse(
                    &source,
                    format!("entry '{}' is a device file", rel.display()),
                ))
            }
            EntryType::Fifo => {
                return Err(refuse(
                    &source,
                    format!("entry '{}' is a FIFO", rel.display()),
                ))
            }
            other => {
                return Err(refuse(
                    &source,
                    format!(
                        "entry '{}' has an unsupported type {:?}",
                        rel.display(),
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
        let raw = String::from_utf8_lossy(f.name_raw()).into_owned();
        let Some(rel) = safe_relative(&raw).map_err(|r| refuse(&source, r))? else {
            continue;
        };
        let mode = f.unix_mode();
        let ftype = mode.map(|m| m & S_IFMT).filter(|t| *t != 0);
        if f.is_dir() || ftype == Some(S_IFDIR) {
            w.dir(&rel)?;
        } else if ftype == Some(S_IFLNK) {
            let mut target = String::new();
            f.read_to_string(&mut target)
                .map_err(|e| refuse(&source, format!("link '{}': {e}", rel.display())))?;
            w.symlink(&rel, Path::new(&target))?;
        } else if ftype.is_none() || ftype == Some(S_IFREG) {
            w.file(&rel, mode.unwrap_or(0o644), &mut f)?;
        } else {
            return Err(refuse(
                &source,
                format!("entry '{}' is a device file, FIFO or socket", rel.display()),
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
        std::fs::rename(&at_root, &in_bin).map_err(|e| UpgradeError::io("move", &at_root, e))?;
        return Ok(in_bin);
    }
    let mut listing: Vec<String> = std::fs::read_dir(tree)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
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
    fn resolve_inside_rules() {
        assert_eq!(
            resolve_inside(Path::new("a/b"), Path::new("../c")),
            Some(PathBuf::from("c"))
        );
        assert_eq!(resolve_inside(Path::new("a/b"), Path::new("../../c")), None);
        assert_eq!(resolve_inside(Path::new("b"), Path::new("/c")), None);
    }
}
