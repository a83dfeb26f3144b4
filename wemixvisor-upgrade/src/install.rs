//! Getting an upgrade's binary in place: from a download (verified, then
//! extracted), from a local file, or as installed by hand.

use std::path::{Path, PathBuf};

use serde_json::Value;
use wemixvisor_core::{
    binaries_from_info, BinarySource, Checksum, FileSystem, InfoSource, UpgradePlan,
};

use crate::archive::{self, ArchiveKind};
use crate::download::{minisig_url, Fetcher};
use crate::store::{file_sha256, SourceMarker};
use crate::{signature, BinaryStore, UpgradeError, UpgradeSettings};

/// An installed upgrade binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// `upgrades/<name>/bin/<daemon>`.
    pub binary: PathBuf,
    /// Its sha256.
    pub sha256: String,
    /// What was done (`downloaded from ...`, `installed by hand`).
    pub note: String,
}

/// Makes sure the binary of `plan` is installed: downloads it when the plan
/// says where from and it is not installed from there yet; takes a binary
/// installed by hand as it is.
pub async fn ensure_binary<F: FileSystem>(
    store: &BinaryStore<F>,
    settings: &UpgradeSettings,
    plan: &UpgradePlan,
) -> Result<Installed, UpgradeError> {
    let name = plan.name.as_str();
    let installed = store.is_installed(name);
    let marker = store.source_marker(name);
    let by_hand = |note: &str| -> Result<Installed, UpgradeError> {
        let binary = store.check_installed(name)?;
        Ok(Installed {
            sha256: file_sha256(&binary)?,
            binary,
            note: note.to_string(),
        })
    };
    let (doc, info_url): (Option<Value>, Option<String>) = match &plan.info {
        InfoSource::None => (None, None),
        InfoSource::Inline(v) => (Some(v.clone()), None),
        InfoSource::Url(u) => {
            if installed
                && marker
                    .as_ref()
                    .is_none_or(|m| m.info_url.as_deref() == Some(u.as_str()))
            {
                let what = if marker.is_some() {
                    "downloaded earlier"
                } else {
                    "installed by hand"
                };
                return by_hand(what);
            }
            if !settings.download.allow {
                return Err(UpgradeError::DownloadDisabled {
                    name: name.to_string(),
                    url: u.clone(),
                    path: store.upgrade_bin(name),
                });
            }
            let fetcher = Fetcher::new(&settings.download)?;
            let text = fetcher.get_text(u, false).await?.unwrap_or_default();
            let v: Value = serde_json::from_str(&text).map_err(|e| UpgradeError::BadInfo {
                name: name.to_string(),
                reason: format!("the info document at '{u}' is not JSON: {e}"),
            })?;
            (Some(v), Some(u.clone()))
        }
    };
    let binaries = match &doc {
        Some(v) => binaries_from_info(v).map_err(|reason| UpgradeError::BadInfo {
            name: name.to_string(),
            reason,
        })?,
        None => Default::default(),
    };
    if binaries.is_empty() {
        return by_hand("installed by hand");
    }
    let platform = settings.platform.to_string();
    let Some(source) = binaries
        .get(&platform)
        .or_else(|| binaries.get("any"))
        .cloned()
    else {
        if installed {
            return by_hand("installed by hand (the plan has no binary for this platform)");
        }
        return Err(UpgradeError::NoBinaryForPlatform {
            name: name.to_string(),
            platform,
            available: binaries.keys().cloned().collect(),
        });
    };
    if installed {
        match &marker {
            None => return by_hand("installed by hand; not downloaded"),
            Some(m)
                if m.url == source.url
                    && source
                        .checksum
                        .as_ref()
                        .is_none_or(|c| c.hex == m.download_sha256) =>
            {
                let binary = store.upgrade_bin(name);
                let sha = file_sha256(&binary)?;
                if sha == m.binary_sha256 {
                    return Ok(Installed {
                        binary,
                        sha256: sha,
                        note: format!("downloaded earlier from {}", m.url),
                    });
                }
                tracing::warn!(
                    upgrade = name,
                    "the installed binary changed since it was downloaded; downloading it again"
                );
            }
            Some(_) => {}
        }
    }
    install_from_url(store, settings, name, &source, info_url.as_deref()).await
}

/// Downloads `source` (policy, checksum, signature), extracts it safely and
/// installs it as `upgrades/<name>`. On failure nothing is left behind.
pub async fn install_from_url<F: FileSystem>(
    store: &BinaryStore<F>,
    settings: &UpgradeSettings,
    name: &str,
    source: &BinarySource,
    info_url: Option<&str>,
) -> Result<Installed, UpgradeError> {
    let url = source.url.as_str();
    if !settings.download.allow {
        return Err(UpgradeError::DownloadDisabled {
            name: name.to_string(),
            url: url.to_string(),
            path: store.upgrade_bin(name),
        });
    }
    let fetcher = Fetcher::new(&settings.download)?;
    // Refuse early, before anything is fetched.
    fetcher.check_url(url)?;
    if source.checksum.is_none() && settings.download.must_have_checksum {
        return Err(UpgradeError::ChecksumRequired {
            url: url.to_string(),
        });
    }
    let staging = store.staging(name)?;
    let dl = staging.path().join("download");
    tracing::info!(upgrade = name, url, "downloading the upgrade binary");
    let digest = fetcher.download(url, &dl, source.checksum.as_ref()).await?;
    check_signature(&fetcher, settings, source, &dl, name).await?;
    let tree = staging.path().join("tree");
    wemixvisor_core::atomic::create_dir_private(&tree)?;
    let kind = archive::detect(&dl)?;
    let daemon = store.daemon_name().to_string();
    let bin = if kind == ArchiveKind::Bare {
        let bin_dir = tree.join("bin");
        wemixvisor_core::atomic::create_dir_private(&bin_dir)?;
        let bin = bin_dir.join(&daemon);
        std::fs::rename(&dl, &bin).map_err(|e| UpgradeError::io("move", &dl, e))?;
        bin
    } else {
        archive::extract(&dl, kind, &tree, url)?;
        archive::locate_binary(&tree, &daemon, url)?
    };
    let binary_sha256 = file_sha256(&bin)?;
    let marker = SourceMarker {
        url: url.to_string(),
        download_sha256: digest,
        binary_sha256: binary_sha256.clone(),
        info_url: info_url.map(str::to_string),
    };
    let binary = store.install_tree(name, staging, &tree, &marker)?;
    tracing::info!(upgrade = name, binary = %binary.display(), sha256 = %binary_sha256, "upgrade binary downloaded and verified");
    Ok(Installed {
        binary,
        sha256: binary_sha256,
        note: format!("downloaded from {url}"),
    })
}

async fn check_signature(
    fetcher: &Fetcher,
    settings: &UpgradeSettings,
    source: &BinarySource,
    file: &Path,
    upgrade: &str,
) -> Result<(), UpgradeError> {
    let d = &settings.download;
    let url = source.url.as_str();
    if !d.require_signature && d.public_keys.is_empty() {
        return Ok(());
    }
    if d.public_keys.is_empty() {
        return Err(UpgradeError::Signature {
            url: url.to_string(),
            reason: "download.require_signature is on but no public key is configured".into(),
            help: "add the release key to download.public_keys".into(),
        });
    }
    let keys = signature::load_keys(&d.public_keys)?;
    let text = match source.signature.as_deref().map(str::trim) {
        Some(s) if s.starts_with("https://") || s.starts_with("http://") => {
            fetcher.get_text(s, false).await?
        }
        Some(s) if !s.is_empty() => Some(s.to_string()),
        _ => match minisig_url(url) {
            Some(sig_url) => fetcher.get_text(&sig_url, true).await?,
            None => None,
        },
    };
    match text {
        Some(t) => {
            signature::verify_release(file, &t, &keys, url, upgrade)?;
            tracing::info!(url, "minisign signature verified");
            Ok(())
        }
        None if d.require_signature => Err(UpgradeError::Signature {
            url: url.to_string(),
            reason: "the release has no signature: no \"signature\" field and no .minisig beside it".into(),
            help: "publish <file>.minisig or add a \"signature\" field; only if you must, set download.require_signature = false".into(),
        }),
        None => {
            tracing::warn!(url, "no minisign signature found; continuing because download.require_signature is off");
            Ok(())
        }
    }
}

/// Installs a local file as the binary of `name` (copied, checked against
/// `checksum` when given).
pub fn install_local<F: FileSystem>(
    store: &BinaryStore<F>,
    name: &str,
    path: &Path,
    checksum: Option<&Checksum>,
) -> Result<Installed, UpgradeError> {
    let meta = std::fs::metadata(path).map_err(|e| UpgradeError::io("read", path, e))?;
    if !meta.is_file() {
        return Err(UpgradeError::Conflict {
            name: name.to_string(),
            reason: format!(
                "'{}' is not a file\nhelp: pass the node binary with --binary",
                path.display()
            ),
        });
    }
    let staging = store.staging(name)?;
    let tree = staging.path().join("tree");
    let bin_dir = tree.join("bin");
    store.fs().create_dir_all(&bin_dir)?;
    let bin = bin_dir.join(store.daemon_name());
    store.fs().copy(path, &bin, 0o755)?;
    let sha = file_sha256(&bin)?;
    if let Some(c) = checksum {
        if c.hex != sha {
            return Err(UpgradeError::ChecksumMismatch {
                url: path.display().to_string(),
                expected: c.to_string(),
                actual: sha,
            });
        }
    }
    let abs = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let marker = SourceMarker {
        url: format!("file://{}", abs.display()),
        download_sha256: sha.clone(),
        binary_sha256: sha.clone(),
        info_url: None,
    };
    let binary = store.install_tree(name, staging, &tree, &marker)?;
    Ok(Installed {
        binary,
        sha256: sha,
        note: format!("copied from {}", abs.display()),
    })
}
