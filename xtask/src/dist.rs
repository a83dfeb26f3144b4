//! `cargo xtask dist`: release artifacts.
//!
//! For each target: a release build with cargo-zigbuild (zig from PyPI's
//! `ziglang`, both installed when missing), the binary's architecture
//! checked from its object header, and a tarball with the binary at its
//! root (where the upgrade pipeline looks for it), README, LICENSE,
//! completions, man pages and the systemd unit. Then `SHA256SUMS`, a
//! release manifest (`manifest.json`) in the signed-release-manifest format
//! the upgrade pipeline reads (`info.binaries`, `os/arch` → URL with
//! `?checksum=sha256:`), and with `--sign-key` minisign signatures of both.
//!
//! ```text
//! cargo xtask dist [--version v0.1.0] [--targets t1,t2] [--sign-key FILE]
//!                  [--base-url URL] [--height H] [--profile release]
//! ```
//!
//! `--profile ci-dist` builds without optimisation, for CI to prove the
//! cross-builds and packaging cheaply; releases use `release`.
//!
//! The macOS builds need no Apple SDK. zig brings libSystem; the two
//! frameworks the binary links (Security and CoreFoundation, for TLS
//! verification against the macOS trust store through
//! rustls-platform-verifier) are given to the linker as text-based stubs
//! (`.tbd`) listing the symbols their `-sys` crates declare, with the
//! frameworks' real install names, so the binary loads the system's own
//! frameworks at run time. File events use kqueue, which needs no framework.
//! Each Mach-O binary is checked to load nothing but libSystem, libiconv
//! and those frameworks, and to run on the oldest macOS Rust supports for
//! its target (11.0 on arm64, 10.12 on x86-64) and, on arm64 (which runs
//! nothing unsigned), with an intact ad-hoc code signature.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::{cargo, root, sh};

/// Release targets and their `os/arch` in upgrade-info terms; the static
/// musl build is for container images and stays out of the manifest
/// (`linux/amd64` is the glibc build).
pub const TARGETS: [(&str, Option<&str>); 5] = [
    ("x86_64-unknown-linux-gnu", Some("linux/amd64")),
    ("aarch64-unknown-linux-gnu", Some("linux/arm64")),
    ("x86_64-unknown-linux-musl", None),
    ("x86_64-apple-darwin", Some("darwin/amd64")),
    ("aarch64-apple-darwin", Some("darwin/arm64")),
];

/// The CPU an object file is built for, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// ELF x86-64 (`e_machine` 62).
    ElfX86_64 { static_: bool },
    /// ELF AArch64 (`e_machine` 183).
    ElfAarch64 { static_: bool },
    /// Mach-O x86-64 (`cputype` 0x01000007).
    MachOX86_64,
    /// Mach-O arm64 (`cputype` 0x0100000c).
    MachOArm64,
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads the architecture from a 64-bit little-endian ELF or Mach-O image;
/// an ELF without a `PT_INTERP` program header is static.
pub fn detect_arch(bytes: &[u8]) -> Option<Arch> {
    if bytes.starts_with(b"\x7fELF") {
        // EI_CLASS 2 = 64-bit, EI_DATA 1 = little-endian.
        if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
            return None;
        }
        let phoff = usize::try_from(u64le(bytes, 32)?).ok()?;
        let phentsize = usize::from(u16le(bytes, 54)?);
        let phnum = usize::from(u16le(bytes, 56)?);
        let mut static_ = true;
        for i in 0..phnum {
            if u32le(bytes, phoff + i * phentsize)? == 3 {
                static_ = false;
            }
        }
        return match u16le(bytes, 18)? {
            62 => Some(Arch::ElfX86_64 { static_ }),
            183 => Some(Arch::ElfAarch64 { static_ }),
            _ => None,
        };
    }
    if u32le(bytes, 0)? == 0xfeed_facf {
        return match u32le(bytes, 4)? {
            0x0100_0007 => Some(Arch::MachOX86_64),
            0x0100_000c => Some(Arch::MachOArm64),
            _ => None,
        };
    }
    None
}

/// Whether `arch` is right for `target`.
pub fn arch_matches(target: &str, arch: Arch) -> bool {
    match target {
        "x86_64-unknown-linux-gnu" => matches!(arch, Arch::ElfX86_64 { .. }),
        "x86_64-unknown-linux-musl" => arch == Arch::ElfX86_64 { static_: true },
        "aarch64-unknown-linux-gnu" => matches!(arch, Arch::ElfAarch64 { .. }),
        "x86_64-apple-darwin" => arch == Arch::MachOX86_64,
        "aarch64-apple-darwin" => arch == Arch::MachOArm64,
        _ => false,
    }
}

/// The release manifest (`{"version": 1, "upgrades": [...]}`) for
/// `artifacts` (`os/arch` → (file name, sha256 hex)).
pub fn manifest(
    version: &str,
    height: u64,
    base_url: &str,
    artifacts: &BTreeMap<String, (String, String)>,
) -> serde_json::Value {
    let binaries: serde_json::Map<String, serde_json::Value> = artifacts
        .iter()
        .map(|(platform, (file, sha))| {
            let url = format!(
                "{}/{file}?checksum=sha256:{sha}",
                base_url.trim_end_matches('/')
            );
            (platform.clone(), serde_json::Value::String(url))
        })
        .collect();
    serde_json::json!({
        "version": 1,
        "upgrades": [{ "name": version, "height": height, "binaries": binaries }],
    })
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Signs `data` with a minisign secret key file (password from
/// `MINISIGN_PASSWORD`, none for an unencrypted key); returns the `.minisig`
/// text.
pub fn sign(key_text: &str, data: &[u8], trusted_comment: &str) -> Result<String> {
    let boxed =
        minisign::SecretKeyBox::from_string(key_text).context("the secret key does not parse")?;
    let key = match std::env::var("MINISIGN_PASSWORD") {
        Ok(p) => boxed.into_secret_key(Some(p)),
        Err(_) => boxed.into_unencrypted_secret_key(),
    }
    .context("cannot open the secret key (encrypted keys need MINISIGN_PASSWORD)")?;
    let sig =
        minisign::sign(None, &key, data, Some(trusted_comment), None).context("cannot sign")?;
    Ok(sig.into_string())
}

/// The frameworks the macOS build links, each with the crate whose
/// `extern` blocks declare the symbols it takes from it.
pub const FRAMEWORKS: [(&str, &str); 2] = [
    ("Security", "security-framework-sys"),
    ("CoreFoundation", "core-foundation-sys"),
];

/// Names declared as `pub fn NAME(` or `pub static [mut] NAME:` in Rust
/// source: a superset of the `extern` items of a `-sys` crate (a stub
/// exporting a name nothing references is harmless).
pub fn declared_symbols(src: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for line in src.lines() {
        let line = line.trim_start();
        let rest = if let Some(r) = line.strip_prefix("pub fn ") {
            r
        } else if let Some(r) = line.strip_prefix("pub static mut ") {
            r
        } else if let Some(r) = line.strip_prefix("pub static ") {
            r
        } else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

/// A text-based stub (`.tbd`, version 4) of the macOS framework `name`
/// exporting `symbols` (C names, without the Mach-O underscore).
pub fn framework_stub(name: &str, symbols: &std::collections::BTreeSet<String>) -> String {
    let list: Vec<String> = symbols.iter().map(|s| format!("_{s}")).collect();
    format!(
        "--- !tapi-tbd\n\
         tbd-version: 4\n\
         targets: [ x86_64-macos, arm64-macos ]\n\
         install-name: '/System/Library/Frameworks/{name}.framework/Versions/A/{name}'\n\
         current-version: 1\n\
         compatibility-version: 1\n\
         exports:\n  - targets: [ x86_64-macos, arm64-macos ]\n    symbols: [ {} ]\n...\n",
        list.join(", ")
    )
}

/// Writes `<dir>/<Name>.framework/<Name>.tbd` for each of [`FRAMEWORKS`],
/// from the `-sys` crates' sources as resolved for `target` by cargo.
fn write_framework_stubs(dir: &Path, target: &str) -> Result<()> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--filter-platform", target])
        .current_dir(root())
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata output")?;
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    for (framework, krate) in FRAMEWORKS {
        let mut symbols = std::collections::BTreeSet::new();
        let mut found = false;
        for p in packages.iter().filter(|p| p["name"] == krate) {
            let Some(manifest) = p["manifest_path"].as_str() else {
                continue;
            };
            let src = Path::new(manifest)
                .parent()
                .map(|d| d.join("src"))
                .unwrap_or_default();
            for e in walkdir::WalkDir::new(&src)
                .into_iter()
                .filter_map(|e| e.ok())
            {
                if e.path().extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(e.path())
                        .with_context(|| format!("cannot read '{}'", e.path().display()))?;
                    symbols.extend(declared_symbols(&text));
                }
            }
            found = true;
        }
        if !found {
            bail!("no '{krate}' in the dependency graph for {target}\nhelp: the macOS link needs stubs only for frameworks a crate links; update FRAMEWORKS in xtask/src/dist.rs");
        }
        let fw = dir.join(format!("{framework}.framework"));
        std::fs::create_dir_all(&fw)?;
        std::fs::write(
            fw.join(format!("{framework}.tbd")),
            framework_stub(framework, &symbols),
        )?;
    }
    Ok(())
}

/// The dynamic libraries a 64-bit Mach-O image loads (`LC_LOAD_DYLIB`,
/// `LC_LOAD_WEAK_DYLIB`, `LC_REEXPORT_DYLIB`), by install name.
pub fn macho_dylibs(bytes: &[u8]) -> Option<Vec<String>> {
    if u32le(bytes, 0)? != 0xfeed_facf {
        return None;
    }
    let ncmds = u32le(bytes, 16)?;
    let mut at = 32usize;
    let mut out = Vec::new();
    for _ in 0..ncmds {
        let cmd = u32le(bytes, at)?;
        let size = usize::try_from(u32le(bytes, at + 4)?).ok()?;
        if matches!(cmd, 0xc | 0x8000_0018 | 0x8000_001f) {
            let name_at = at + usize::try_from(u32le(bytes, at + 8)?).ok()?;
            let raw = bytes.get(name_at..at + size)?;
            let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
            out.push(String::from_utf8_lossy(&raw[..end]).into_owned());
        }
        if size < 8 {
            return None;
        }
        at += size;
    }
    Some(out)
}

/// The oldest macOS a 64-bit Mach-O image runs on (`LC_BUILD_VERSION` or
/// `LC_VERSION_MIN_MACOSX`), as (major, minor).
pub fn macho_min_macos(bytes: &[u8]) -> Option<(u32, u32)> {
    if u32le(bytes, 0)? != 0xfeed_facf {
        return None;
    }
    let mut at = 32usize;
    for _ in 0..u32le(bytes, 16)? {
        let cmd = u32le(bytes, at)?;
        let size = usize::try_from(u32le(bytes, at + 4)?).ok()?;
        // X.Y.Z is packed as xxxx.yy.zz.
        let version = match cmd {
            0x32 => Some(u32le(bytes, at + 12)?),
            0x24 => Some(u32le(bytes, at + 8)?),
            _ => None,
        };
        if let Some(v) = version {
            return Some((v >> 16, (v >> 8) & 0xff));
        }
        if size < 8 {
            return None;
        }
        at += size;
    }
    None
}

fn u32be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Checks the ad-hoc code signature of a 64-bit Mach-O image: every page
/// hash of its SHA-256 CodeDirectory matches the bytes. arm64 macOS kills a
/// binary whose signature does not match, as a strip after linking would
/// leave it. `Err` says what is wrong.
pub fn check_code_signature(bytes: &[u8]) -> Result<(), String> {
    let bad = || "unreadable load commands or signature".to_string();
    let mut at = 32usize;
    let mut blob = None;
    for _ in 0..u32le(bytes, 16).ok_or_else(bad)? {
        let cmd = u32le(bytes, at).ok_or_else(bad)?;
        let size = usize::try_from(u32le(bytes, at + 4).ok_or_else(bad)?).map_err(|_| bad())?;
        if cmd == 0x1d {
            let off = u32le(bytes, at + 8).ok_or_else(bad)? as usize;
            let len = u32le(bytes, at + 12).ok_or_else(bad)? as usize;
            blob = Some(bytes.get(off..off + len).ok_or_else(bad)?);
        }
        if size < 8 {
            return Err(bad());
        }
        at += size;
    }
    let sb = blob.ok_or("no code signature (LC_CODE_SIGNATURE)")?;
    if u32be(sb, 0) != Some(0xfade_0cc0) {
        return Err("the signature is not an embedded-signature blob".into());
    }
    for i in 0..u32be(sb, 8).ok_or_else(bad)? as usize {
        let o = u32be(sb, 16 + 8 * i).ok_or_else(bad)? as usize;
        let cd = sb.get(o..).ok_or_else(bad)?;
        if u32be(cd, 0) != Some(0xfade_0c02) {
            continue;
        }
        let hash_offset = u32be(cd, 16).ok_or_else(bad)? as usize;
        let slots = u32be(cd, 28).ok_or_else(bad)? as usize;
        let code_limit = u32be(cd, 32).ok_or_else(bad)? as usize;
        let (hash_size, hash_type, page_shift) = (
            usize::from(*cd.get(36).ok_or_else(bad)?),
            *cd.get(37).ok_or_else(bad)?,
            u32::from(*cd.get(39).ok_or_else(bad)?),
        );
        if hash_type != 2 || hash_size != 32 || page_shift > 24 {
            continue;
        }
        let page = 1usize << page_shift;
        for k in 0..slots {
            let data = bytes
                .get(k * page..code_limit.min((k + 1) * page))
                .ok_or_else(bad)?;
            let want = cd
                .get(hash_offset + k * 32..hash_offset + (k + 1) * 32)
                .ok_or_else(bad)?;
            if Sha256::digest(data).as_slice() != want {
                return Err(format!("page {k} does not match its signed hash"));
            }
        }
        return Ok(());
    }
    Err("no SHA-256 CodeDirectory in the signature".into())
}

/// The oldest macOS each darwin target supports: Rust's own minimum for
/// it, so the release runs wherever the toolchain supports (zig alone
/// would stamp the newest macOS it knows).
pub fn macos_deployment_target(target: &str) -> (u32, u32) {
    if target.starts_with("aarch64") {
        (11, 0)
    } else {
        (10, 12)
    }
}

/// Libraries of `/usr/lib` every Mac has: libSystem, and libiconv (with
/// the libcharset it re-exports), which Rust's standard library links on
/// Apple targets.
const MACOS_LIBS: [&str; 3] = [
    "/usr/lib/libSystem.B.dylib",
    "/usr/lib/libiconv.2.dylib",
    "/usr/lib/libcharset.1.dylib",
];

/// Whether a macOS binary loads only what every Mac has: [`MACOS_LIBS`]
/// and the frameworks of [`FRAMEWORKS`].
pub fn dylibs_allowed(dylibs: &[String]) -> Result<(), String> {
    for d in dylibs {
        let system = MACOS_LIBS.contains(&d.as_str());
        let framework = FRAMEWORKS
            .iter()
            .any(|(f, _)| *d == format!("/System/Library/Frameworks/{f}.framework/Versions/A/{f}"));
        if !system && !framework {
            return Err(d.clone());
        }
    }
    Ok(())
}

struct Args {
    version: String,
    targets: Vec<String>,
    sign_key: Option<PathBuf>,
    base_url: Option<String>,
    height: u64,
    profile: String,
}

fn parse_args(args: &[String]) -> Result<Args> {
    let mut out = Args {
        version: format!("v{}", env!("CARGO_PKG_VERSION")),
        targets: TARGETS.iter().map(|(t, _)| t.to_string()).collect(),
        sign_key: None,
        base_url: None,
        height: 1,
        profile: "release".to_string(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .with_context(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--version" => out.version = value()?,
            "--targets" => out.targets = value()?.split(',').map(str::to_string).collect(),
            "--sign-key" => out.sign_key = Some(PathBuf::from(value()?)),
            "--base-url" => out.base_url = Some(value()?),
            "--profile" => out.profile = value()?,
            "--height" => {
                out.height = value()?
                    .parse()
                    .context("--height must be a block height")?
            }
            other => bail!("unknown dist option '{other}'"),
        }
    }
    for t in &out.targets {
        if !TARGETS.iter().any(|(k, _)| k == t) {
            bail!(
                "unknown target '{t}'\nhelp: one of {}",
                TARGETS.map(|(t, _)| t).join(", ")
            );
        }
    }
    Ok(out)
}

fn venv_bin() -> PathBuf {
    root().join(".cache/venv/bin")
}

/// zig (PyPI `ziglang` in `.cache/venv`), installed when missing.
pub fn ensure_zig() -> Result<()> {
    let bin = venv_bin();
    if !bin.join("python").exists() {
        sh(Command::new("python3")
            .args(["-m", "venv"])
            .arg(root().join(".cache/venv")))?;
    }
    let has_zig = Command::new(bin.join("python"))
        .args(["-m", "ziglang", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_zig {
        sh(Command::new(bin.join("pip")).args(["install", "--quiet", "ziglang"]))?;
    }
    Ok(())
}

/// cargo-zigbuild, zig and the targets' std, installed when missing.
fn ensure_tools(targets: &[String]) -> Result<()> {
    ensure_zig()?;
    let has_zigbuild = cargo()
        .args(["zigbuild", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_zigbuild {
        sh(cargo().args(["install", "--locked", "cargo-zigbuild"]))?;
    }
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for t in targets {
        if !installed.lines().any(|l| l == t) {
            sh(Command::new("rustup").args(["target", "add", t]))?;
        }
    }
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Appends `path` (a file or a directory, recursively) as `name` with fixed
/// owner and time, so the same inputs give the same tarball.
fn append(tar: &mut tar::Builder<impl std::io::Write>, path: &Path, name: &Path) -> Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            append(tar, &e.path(), &name.join(e.file_name()))?;
        }
        return Ok(());
    }
    let data = std::fs::read(path).with_context(|| format!("cannot read '{}'", path.display()))?;
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(if name == Path::new("wemixvisor") {
        0o755
    } else {
        0o644
    });
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_cksum();
    tar.append_data(&mut header, name, data.as_slice())?;
    Ok(())
}

/// `cargo xtask dist`.
pub fn run(args: &[String]) -> Result<()> {
    let args = parse_args(args)?;
    let on_mac = cfg!(target_os = "macos");
    let build = args.targets.clone();
    ensure_tools(&build)?;
    let frameworks = target_dir().join("macos-frameworks");

    let out = target_dir().join("dist");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    let generated = out.join("generated");
    crate::gen::generate_into(&generated)?;

    let mut path = std::env::var_os("PATH").unwrap_or_default();
    path = std::env::join_paths(std::iter::once(venv_bin()).chain(std::env::split_paths(&path)))?;
    let mut artifacts = BTreeMap::new();
    let mut sums = String::new();
    for target in &build {
        let mut cmd = cargo();
        let sub = if on_mac && target.contains("apple-darwin") {
            "build"
        } else {
            "zigbuild"
        };
        cmd.args([
            sub,
            "--profile",
            &args.profile,
            "--locked",
            "-p",
            "wemixvisor-cli",
            "--target",
            target,
        ])
        .env("PATH", &path);
        if sub == "zigbuild" && target.contains("apple-darwin") {
            write_framework_stubs(&frameworks, target)?;
            let var = format!(
                "CARGO_TARGET_{}_RUSTFLAGS",
                target.to_uppercase().replace('-', "_")
            );
            cmd.env(var, format!("-L framework={}", frameworks.display()));
            let (major, minor) = macos_deployment_target(target);
            cmd.env("MACOSX_DEPLOYMENT_TARGET", format!("{major}.{minor}"));
        }
        let started = std::time::Instant::now();
        sh(&mut cmd)?;
        eprintln!("dist: {target} built in {:.0?}", started.elapsed());
        let binary = target_dir()
            .join(target)
            .join(&args.profile)
            .join("wemixvisor");
        let bytes = std::fs::read(&binary)
            .with_context(|| format!("cannot read '{}'", binary.display()))?;
        let arch = detect_arch(&bytes);
        match arch {
            Some(a) if arch_matches(target, a) => {}
            other => bail!("'{}' is {other:?}, not a {target} binary", binary.display()),
        }
        if target.contains("apple-darwin") {
            let dylibs = macho_dylibs(&bytes)
                .with_context(|| format!("'{}' has no readable load commands", binary.display()))?;
            if let Err(d) = dylibs_allowed(&dylibs) {
                bail!(
                    "'{}' loads '{d}', which a Mac need not have",
                    binary.display()
                );
            }
            // Intel Macs run unsigned code (zig signs arm64 only); a
            // signature that is there must still match.
            match check_code_signature(&bytes) {
                Err(e) if target.starts_with("aarch64") || !e.starts_with("no code signature") => {
                    bail!("'{}': {e}", binary.display())
                }
                _ => {}
            }
            let min = macho_min_macos(&bytes);
            if min.is_none_or(|m| m > macos_deployment_target(target)) {
                bail!(
                    "'{}' needs macOS {min:?}, newer than {:?}",
                    binary.display(),
                    macos_deployment_target(target)
                );
            }
        }
        let file = format!("wemixvisor-{}-{target}.tar.gz", args.version);
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(out.join(&file))?,
            flate2::Compression::best(),
        );
        let mut tar = tar::Builder::new(gz);
        append(&mut tar, &binary, Path::new("wemixvisor"))?;
        append(&mut tar, &root().join("README.md"), Path::new("README.md"))?;
        append(&mut tar, &root().join("LICENSE"), Path::new("LICENSE"))?;
        append(
            &mut tar,
            &generated.join("completions"),
            Path::new("completions"),
        )?;
        append(&mut tar, &generated.join("man"), Path::new("man"))?;
        append(&mut tar, &generated.join("systemd"), Path::new("systemd"))?;
        tar.into_inner()?.finish()?.flush()?;
        let sha = sha256_hex(&std::fs::read(out.join(&file))?);
        sums.push_str(&format!("{sha}  {file}\n"));
        let platform = TARGETS
            .iter()
            .find(|(t, _)| t == target)
            .and_then(|(_, p)| *p);
        eprintln!(
            "dist: {file}: {:.1} MiB (binary {:.1} MiB, {arch:?})",
            std::fs::metadata(out.join(&file))?.len() as f64 / 1048576.0,
            bytes.len() as f64 / 1048576.0
        );
        if let Some(platform) = platform {
            artifacts.insert(platform.to_string(), (file, sha));
        }
    }
    let _ = std::fs::remove_dir_all(&generated);
    std::fs::write(out.join("SHA256SUMS"), &sums)?;
    let base = args.base_url.clone().unwrap_or_else(|| {
        format!(
            "https://github.com/wemix/wemixvisor/releases/download/{}",
            args.version
        )
    });
    let doc = manifest(&args.version, args.height, &base, &artifacts);
    let manifest_bytes = serde_json::to_vec_pretty(&doc)?;
    std::fs::write(out.join("manifest.json"), &manifest_bytes)?;
    if let Some(key) = &args.sign_key {
        let text = std::fs::read_to_string(key)
            .with_context(|| format!("cannot read '{}'", key.display()))?;
        for name in ["SHA256SUMS", "manifest.json"] {
            let data = std::fs::read(out.join(name))?;
            let sig = sign(&text, &data, &format!("wemixvisor {} {name}", args.version))?;
            std::fs::write(out.join(format!("{name}.minisig")), sig)?;
        }
    }
    eprintln!("dist: artifacts in '{}'", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_dist_manifest_is_accepted_by_the_upgrade_pipeline_reader() {
        let mut artifacts = BTreeMap::new();
        for (target, platform) in TARGETS {
            let Some(platform) = platform else { continue };
            artifacts.insert(
                platform.to_string(),
                (
                    format!("wemixvisor-v1.2.3-{target}.tar.gz"),
                    sha256_hex(target.as_bytes()),
                ),
            );
        }
        let doc = manifest(
            "v1.2.3",
            4200,
            "https://example.org/rel/v1.2.3/",
            &artifacts,
        );
        let body = serde_json::to_vec(&doc).unwrap();
        let plans = wemixvisor_governance::manifest::parse_manifest(&body).unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!((plans[0].name.as_str(), plans[0].height), ("v1.2.3", 4200));
        let wemixvisor_core::InfoSource::Inline(info) = &plans[0].info else {
            panic!("expected inline info, got {:?}", plans[0].info)
        };
        let bins = wemixvisor_core::binaries_from_info(info).unwrap();
        let amd64 = &bins["linux/amd64"];
        assert_eq!(
            amd64.url,
            "https://example.org/rel/v1.2.3/wemixvisor-v1.2.3-x86_64-unknown-linux-gnu.tar.gz?checksum=sha256:".to_string()
                + &sha256_hex(b"x86_64-unknown-linux-gnu")
        );
        assert!(bins.values().all(|b| b.checksum.is_some()));
        let platforms: Vec<&str> = bins.keys().map(String::as_str).collect();
        assert_eq!(
            platforms,
            ["darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64"]
        );
        assert!(bins["darwin/arm64"]
            .url
            .contains("wemixvisor-v1.2.3-aarch64-apple-darwin.tar.gz?checksum=sha256:"));
    }

    #[test]
    fn framework_stubs_export_the_declared_c_names_under_the_real_install_name() {
        let src = "extern \"C\" {\n    pub fn SecTrustEvaluateWithError(t: T, e: *mut E) -> bool;\n    pub static kSecClass: CFStringRef;\n    pub static mut __CFConstantStringClassReference: u8;\n}\nfn private() {}\n";
        let names = declared_symbols(src);
        let want: Vec<&str> = vec![
            "SecTrustEvaluateWithError",
            "__CFConstantStringClassReference",
            "kSecClass",
        ];
        assert_eq!(names.iter().map(String::as_str).collect::<Vec<_>>(), want);
        let tbd = framework_stub("Security", &names);
        assert!(tbd.starts_with("--- !tapi-tbd\ntbd-version: 4\n"), "{tbd}");
        assert!(tbd.contains(
            "install-name: '/System/Library/Frameworks/Security.framework/Versions/A/Security'"
        ));
        assert!(tbd.contains(
            "symbols: [ _SecTrustEvaluateWithError, ___CFConstantStringClassReference, _kSecClass ]"
        ));
    }

    /// A Mach-O header with one LC_CODE_SIGNATURE over `pages` 4 KiB pages
    /// of filler, signed as a linker signs it.
    fn signed_image(pages: usize) -> Vec<u8> {
        let mut image = vec![0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 0x01];
        image.resize(32, 0);
        image[16..20].copy_from_slice(&1_u32.to_le_bytes());
        let code_limit = pages * 4096;
        let sig_len = 20 + 44 + 32 * pages;
        for w in [0x1d_u32, 16, code_limit as u32, sig_len as u32] {
            image.extend_from_slice(&w.to_le_bytes());
        }
        image.resize(code_limit, 0x5a);
        let hash_offset = 44usize;
        let mut cd = Vec::new();
        for w in [
            0xfade_0c02_u32,
            0,
            0x2_0400,
            0x2_0002,
            hash_offset as u32,
            0,
            0,
        ] {
            cd.extend_from_slice(&w.to_be_bytes());
        }
        cd.extend_from_slice(&(pages as u32).to_be_bytes());
        cd.extend_from_slice(&(code_limit as u32).to_be_bytes());
        cd.extend_from_slice(&[32, 2, 0, 12]);
        cd.extend_from_slice(&[0; 4]);
        for k in 0..pages {
            cd.extend_from_slice(&Sha256::digest(&image[k * 4096..(k + 1) * 4096]));
        }
        let mut sb = Vec::new();
        for w in [0xfade_0cc0_u32, (20 + cd.len()) as u32, 1, 0, 20] {
            sb.extend_from_slice(&w.to_be_bytes());
        }
        sb.extend(cd);
        assert_eq!(sb.len(), sig_len);
        image.extend(sb);
        image
    }

    #[test]
    fn a_darwin_binary_changed_after_signing_is_refused() {
        let image = signed_image(3);
        assert_eq!(check_code_signature(&image), Ok(()));
        let mut stripped = image.clone();
        stripped[2 * 4096 + 7] ^= 1;
        assert_eq!(
            check_code_signature(&stripped),
            Err("page 2 does not match its signed hash".to_string())
        );
        let mut unsigned = image[..32].to_vec();
        unsigned[16..20].copy_from_slice(&0_u32.to_le_bytes());
        assert!(check_code_signature(&unsigned)
            .unwrap_err()
            .contains("no code signature"));
    }

    fn load_dylib(name: &str) -> Vec<u8> {
        let mut cmd = Vec::new();
        let size = (24 + name.len() + 1).div_ceil(8) * 8;
        cmd.extend_from_slice(&0xc_u32.to_le_bytes());
        cmd.extend_from_slice(&(size as u32).to_le_bytes());
        cmd.extend_from_slice(&24_u32.to_le_bytes());
        cmd.resize(24, 0);
        cmd.extend_from_slice(name.as_bytes());
        cmd.resize(size, 0);
        cmd
    }

    #[test]
    fn a_darwin_binary_may_load_only_libsystem_and_the_stubbed_frameworks() {
        let libs = [
            "/usr/lib/libSystem.B.dylib",
            "/usr/lib/libiconv.2.dylib",
            "/System/Library/Frameworks/Security.framework/Versions/A/Security",
            "/System/Library/Frameworks/CoreServices.framework/Versions/A/CoreServices",
        ];
        let mut image = vec![0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 0x01];
        image.resize(32, 0);
        image[16..20].copy_from_slice(&(libs.len() as u32).to_le_bytes());
        for l in libs {
            image.extend(load_dylib(l));
        }
        let dylibs = macho_dylibs(&image).unwrap();
        assert_eq!(macho_min_macos(&image), None);
        let mut versioned = image.clone();
        versioned[16..20].copy_from_slice(&(libs.len() as u32 + 1).to_le_bytes());
        // LC_BUILD_VERSION: platform macOS, minos 11.0.0, sdk 15.0.0, no tools.
        for w in [0x32_u32, 24, 1, 11 << 16, 15 << 16, 0] {
            versioned.extend_from_slice(&w.to_le_bytes());
        }
        assert_eq!(macho_min_macos(&versioned), Some((11, 0)));
        assert!(
            macho_min_macos(&versioned) <= Some(macos_deployment_target("aarch64-apple-darwin"))
        );
        assert_eq!(dylibs, libs);
        assert_eq!(dylibs_allowed(&dylibs[..3]), Ok(()));
        assert_eq!(dylibs_allowed(&dylibs), Err(libs[3].to_string()));
        assert_eq!(macho_dylibs(b"\x7fELF"), None);
        // A load command claiming more bytes than the image has.
        let mut short = image.clone();
        short.truncate(40);
        assert_eq!(macho_dylibs(&short), None);
    }

    #[test]
    fn signatures_verify_with_the_readers_key_check() {
        let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let sk = pair.sk.to_box(None).unwrap().into_string();
        let pk = pair.pk.to_box().unwrap().into_string();
        let sig = sign(&sk, b"manifest", "wemixvisor test").unwrap();
        let key = wemixvisor_governance::manifest::parse_public_key(&pk).unwrap();
        wemixvisor_governance::manifest::verify_signature(&key, b"manifest", &sig).unwrap();
        assert!(wemixvisor_governance::manifest::verify_signature(&key, b"other", &sig).is_err());
    }

    #[test]
    fn architectures_come_from_the_object_headers() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let arch = detect_arch(&me).unwrap();
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert!(
                matches!(arch, Arch::ElfX86_64 { static_: false }),
                "{arch:?}"
            );
            assert!(arch_matches("x86_64-unknown-linux-gnu", arch));
            assert!(!arch_matches("x86_64-unknown-linux-musl", arch));
            assert!(!arch_matches("aarch64-unknown-linux-gnu", arch));
        }
        let mut macho = vec![0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 0x01];
        macho.resize(32, 0);
        assert_eq!(detect_arch(&macho), Some(Arch::MachOArm64));
        assert!(arch_matches("aarch64-apple-darwin", Arch::MachOArm64));
        assert!(!arch_matches("x86_64-apple-darwin", Arch::MachOArm64));
        assert_eq!(detect_arch(b"#!/bin/sh\n"), None);
        assert_eq!(detect_arch(b"\x7fELF"), None);
    }
}
