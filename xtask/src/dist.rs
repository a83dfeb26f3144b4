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
//!                  [--base-url URL] [--height H]
//! ```
//!
//! Linking for macOS needs Apple's SDK: without `SDKROOT` (or on a Mac) the
//! darwin targets are skipped with a message, and `dist` says so at the end.

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

struct Args {
    version: String,
    targets: Vec<String>,
    sign_key: Option<PathBuf>,
    base_url: Option<String>,
    height: u64,
}

fn parse_args(args: &[String]) -> Result<Args> {
    let mut out = Args {
        version: format!("v{}", env!("CARGO_PKG_VERSION")),
        targets: TARGETS.iter().map(|(t, _)| t.to_string()).collect(),
        sign_key: None,
        base_url: None,
        height: 1,
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
    let sdk = std::env::var_os("SDKROOT").is_some() || on_mac;
    let (build, skipped): (Vec<String>, Vec<String>) = args
        .targets
        .iter()
        .cloned()
        .partition(|t| sdk || !t.contains("apple-darwin"));
    ensure_tools(&build)?;

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
            "--release",
            "--locked",
            "-p",
            "wemixvisor-cli",
            "--target",
            target,
        ])
        .env("PATH", &path);
        sh(&mut cmd)?;
        let binary = target_dir().join(target).join("release/wemixvisor");
        let bytes = std::fs::read(&binary)
            .with_context(|| format!("cannot read '{}'", binary.display()))?;
        let arch = detect_arch(&bytes);
        match arch {
            Some(a) if arch_matches(target, a) => {}
            other => bail!("'{}' is {other:?}, not a {target} binary", binary.display()),
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
    if !skipped.is_empty() {
        eprintln!(
            "dist: SKIPPED {}: linking for macOS needs Apple's SDK\nhelp: run `cargo xtask dist` on a Mac, or set SDKROOT to a MacOSX.sdk",
            skipped.join(", ")
        );
    }
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
        assert_eq!(bins.len(), 4);
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
