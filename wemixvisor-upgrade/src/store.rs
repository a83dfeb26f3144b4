use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wemixvisor_core::{atomic, CoreError, FileSystem, Home, UpgradeInfo};

use crate::{FlagMigration, UpgradeError};

/// File beside an upgrade's binary telling where it came from.
const SOURCE_MARKER: &str = ".wemixvisor-source.json";
/// File beside an upgrade's binary listing the flag renames its arguments need.
const MIGRATIONS_FILE: &str = "flag-migrations.json";
/// Prefix of temporary directories under `upgrades/`.
const STAGING_PREFIX: &str = ".staging-";

/// Where an installed upgrade binary came from (written after it was verified).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceMarker {
    /// The download URL (or `file://<path>` for a local install).
    pub url: String,
    /// sha256 of what was downloaded (archive or binary).
    pub download_sha256: String,
    /// sha256 of the installed binary.
    pub binary_sha256: String,
    /// The info document URL the download was named in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info_url: Option<String>,
}

/// The binaries on disk: `genesis/`, `upgrades/<name>/`, and `current`.
#[derive(Debug, Clone)]
pub struct BinaryStore<F: FileSystem> {
    home: Home,
    daemon_name: String,
    fs: F,
}

/// A temporary directory under `upgrades/`, removed on drop unless it was
/// moved into place.
#[derive(Debug)]
pub struct StagingDir {
    path: PathBuf,
}

impl StagingDir {
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl StagingDir {
    /// Gives up the guard: the directory stays, and its path is returned.
    fn keep(self) -> PathBuf {
        let path = self.path.clone();
        std::mem::forget(self);
        path
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if self.path.exists() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// sha256 of a file, hex.
pub fn file_sha256(path: &Path) -> Result<String, UpgradeError> {
    let mut f = std::fs::File::open(path).map_err(|e| UpgradeError::io("open", path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| UpgradeError::io("read", path, e))?;
    Ok(hex::encode(h.finalize()))
}

impl<F: FileSystem> BinaryStore<F> {
    /// The store of `home` for binaries named `daemon_name`.
    pub fn new(home: Home, daemon_name: &str, fs: F) -> Self {
        BinaryStore {
            home,
            daemon_name: daemon_name.to_string(),
            fs,
        }
    }

    /// The home.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The file system it works through.
    pub fn fs(&self) -> &F {
        &self.fs
    }

    /// The binary's file name.
    pub fn daemon_name(&self) -> &str {
        &self.daemon_name
    }

    /// `current/bin/<name>`: what the node is started from.
    pub fn current_bin(&self) -> PathBuf {
        self.home.current_bin(&self.daemon_name)
    }

    /// The relative link target for an upgrade (`upgrades/<name>`) or
    /// `genesis` for `None`.
    pub fn link_target(name: Option<&str>) -> PathBuf {
        match name {
            Some(n) => Path::new("upgrades").join(n),
            None => PathBuf::from("genesis"),
        }
    }

    /// Which directory `current` names: `None` for genesis, else the upgrade.
    pub fn current(&self) -> Result<Option<String>, CoreError> {
        let target = self.fs.read_link(&self.home.current_link())?;
        let comps: Vec<_> = target
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Ok(match comps.as_slice() {
            [g] if g == "genesis" => None,
            [u, n] if u == "upgrades" => Some(n.clone()),
            _ => target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| n != "genesis"),
        })
    }

    /// `upgrades/<name>/bin/<daemon>`, or the genesis binary for `None`.
    pub fn bin_of(&self, name: Option<&str>) -> PathBuf {
        match name {
            Some(n) => self.upgrade_bin(n),
            None => self.home.genesis_bin(&self.daemon_name),
        }
    }

    /// The binary name of upgrade `name`: the one its release records
    /// (`upgrades/<name>/release.json`, a plan's `daemon_name`), else the
    /// home's; genesis (`None`) has the home's.
    pub fn daemon_of(&self, name: Option<&str>) -> String {
        name.and_then(|n| {
            let path = self
                .home
                .upgrade_dir(n)
                .join(crate::migration::RELEASE_FILE);
            let b = self.fs.read(&path).ok()?;
            serde_json::from_slice::<crate::migration::Release>(&b)
                .ok()?
                .daemon_name
        })
        .unwrap_or_else(|| self.daemon_name.clone())
    }

    /// The same store for binaries named `daemon_name`.
    pub fn with_daemon(&self, daemon_name: &str) -> Self
    where
        F: Clone,
    {
        BinaryStore {
            home: self.home.clone(),
            daemon_name: daemon_name.to_string(),
            fs: self.fs.clone(),
        }
    }

    /// What the node is started from: `current/bin/<daemon of current>`.
    pub fn launch_program(&self) -> PathBuf {
        let current = self.current().ok().flatten();
        self.home.current_bin(&self.daemon_of(current.as_deref()))
    }

    /// `upgrades/<name>/bin/<daemon>`.
    pub fn upgrade_bin(&self, name: &str) -> PathBuf {
        self.home.upgrade_bin(name, &self.daemon_of(Some(name)))
    }

    /// True when the upgrade's binary is installed and executable.
    pub fn is_installed(&self, name: &str) -> bool {
        self.fs.is_executable(&self.upgrade_bin(name))
    }

    /// Fails unless the upgrade's binary is installed and executable.
    pub fn check_installed(&self, name: &str) -> Result<PathBuf, UpgradeError> {
        let path = self.upgrade_bin(name);
        if self.fs.is_executable(&path) {
            Ok(path)
        } else {
            Err(UpgradeError::BinaryMissing {
                name: name.to_string(),
                path,
            })
        }
    }

    /// Points `current` at `upgrades/<name>` (or genesis) atomically.
    pub fn switch_to(&self, name: Option<&str>) -> Result<(), UpgradeError> {
        if let Some(n) = name {
            self.check_installed(n)?;
        } else if !self
            .fs
            .is_executable(&self.home.genesis_bin(&self.daemon_name))
        {
            return Err(UpgradeError::BinaryMissing {
                name: "genesis".into(),
                path: self.home.genesis_bin(&self.daemon_name),
            });
        }
        self.fs
            .replace_symlink(&self.home.current_link(), &Self::link_target(name))?;
        Ok(())
    }

    /// Writes the plan beside its binary (`upgrades/<name>/upgrade-info.json`).
    pub fn record_plan(&self, info: &UpgradeInfo) -> Result<(), UpgradeError> {
        let path = self.home.upgrade_dir(&info.name).join("upgrade-info.json");
        let body = serde_json::to_vec_pretty(&info.to_cosmovisor_json())
            .map_err(|e| CoreError::io("encode", &path, std::io::Error::other(e)))?;
        self.fs.write_atomic(&path, &body, atomic::SECRET_MODE)?;
        Ok(())
    }

    /// Records the flag renames the arguments of `name` need (cumulative:
    /// every rename from the raw arguments to this binary's).
    pub fn record_migrations(
        &self,
        name: &str,
        migrations: &[FlagMigration],
    ) -> Result<(), UpgradeError> {
        let path = self.home.upgrade_dir(name).join(MIGRATIONS_FILE);
        if migrations.is_empty() {
            self.fs.remove_file(&path)?;
            return Ok(());
        }
        let body = serde_json::to_vec_pretty(migrations)
            .map_err(|e| CoreError::io("encode", &path, std::io::Error::other(e)))?;
        self.fs.write_atomic(&path, &body, atomic::SECRET_MODE)?;
        Ok(())
    }

    /// The flag renames recorded for `name` (`None` = genesis: none).
    pub fn migrations_of(&self, name: Option<&str>) -> Vec<FlagMigration> {
        let Some(name) = name else {
            return Vec::new();
        };
        let path = self.home.upgrade_dir(name).join(MIGRATIONS_FILE);
        match self.fs.read(&path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable flag migrations");
                Vec::new()
            }),
            Err(_) => Vec::new(),
        }
    }

    /// Where an installed upgrade came from, if it was installed by wemixvisor.
    pub fn source_marker(&self, name: &str) -> Option<SourceMarker> {
        let path = self.home.upgrade_dir(name).join(SOURCE_MARKER);
        serde_json::from_slice(&self.fs.read(&path).ok()?).ok()
    }

    /// A new staging directory under `upgrades/`, removed on drop.
    pub fn staging(&self, name: &str) -> Result<StagingDir, UpgradeError> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = self
            .home
            .upgrades_dir()
            .join(format!("{STAGING_PREFIX}{name}-{}-{n}", std::process::id()));
        self.fs.create_dir_all(&self.home.upgrades_dir())?;
        self.fs.remove_dir_all(&dir)?;
        self.fs.create_dir_all(&dir)?;
        Ok(StagingDir { path: dir })
    }

    /// Removes staging directories left by processes that no longer run.
    pub fn clean_stale_staging(&self) {
        let Ok(entries) = self.fs.read_dir(&self.home.upgrades_dir()) else {
            return;
        };
        for (path, _) in entries {
            let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let Some(rest) = name.strip_prefix(STAGING_PREFIX) else {
                continue;
            };
            let pid = rest.rsplit('-').nth(1).and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| p != std::process::id() && !wemixvisor_core::lock::pid_alive(p))
            {
                tracing::debug!(dir = %path.display(), "removing a stale staging directory");
                let _ = self.fs.remove_dir_all(&path);
            }
        }
    }

    /// Moves a fully prepared tree (holding `bin/<daemon>`) into place as
    /// `upgrades/<name>`, replacing what was there (never the binary
    /// `current` names), and records where it came from.
    pub fn install_tree(
        &self,
        name: &str,
        staging: StagingDir,
        tree: &Path,
        marker: &SourceMarker,
    ) -> Result<PathBuf, UpgradeError> {
        if self.current()?.as_deref() == Some(name) {
            return Err(UpgradeError::Conflict {
                name: name.to_string(),
                reason: "it is the binary `current` points at; it is not replaced while in use\nhelp: queue the new binary under a new upgrade name".into(),
            });
        }
        let bin = tree.join("bin").join(&self.daemon_name);
        self.fs.set_mode(&bin, 0o755)?;
        let marker_path = tree.join(SOURCE_MARKER);
        let body = serde_json::to_vec_pretty(marker)
            .map_err(|e| CoreError::io("encode", &marker_path, std::io::Error::other(e)))?;
        self.fs
            .write_atomic(&marker_path, &body, atomic::SECRET_MODE)?;
        // Keep the plan recorded beside an earlier copy, if any.
        let target = self.home.upgrade_dir(name);
        let old_info = target.join("upgrade-info.json");
        let new_info = tree.join("upgrade-info.json");
        if self.fs.exists(&old_info) && !self.fs.exists(&new_info) {
            self.fs.copy(&old_info, &new_info, atomic::SECRET_MODE)?;
        }
        self.sync_tree(tree)?;
        // The transaction: old copy aside (into the staging dir), new tree
        // into place; on failure the old copy goes back. Nothing before
        // this point touched `upgrades/<name>`.
        let aside = staging.path().join("previous");
        let had_old = self.fs.entry_exists(&target);
        if had_old {
            self.fs.rename(&target, &aside)?;
        }
        if let Err(e) = self.fs.rename(tree, &target) {
            if had_old {
                if let Err(back) = self.fs.rename(&aside, &target) {
                    // Never delete the only copy with the staging dir.
                    let kept = staging.keep();
                    return Err(UpgradeError::io(
                        "restore",
                        &target,
                        std::io::Error::other(format!(
                            "{back}; after: {e}; the previous copy is kept at '{}'",
                            kept.join("previous").display()
                        )),
                    ));
                }
            }
            return Err(e.into());
        }
        drop(staging);
        self.fs.sync(&self.home.upgrades_dir())?;
        Ok(self.upgrade_bin(name))
    }

    /// Fsyncs every file and directory of a tree, through [`FileSystem`].
    fn sync_tree(&self, root: &Path) -> Result<(), UpgradeError> {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for (path, is_dir) in self.fs.read_dir(&dir)? {
                if is_dir {
                    stack.push(path);
                } else if self.fs.exists(&path) {
                    self.fs.sync(&path)?;
                }
            }
            self.fs.sync(&dir)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use wemixvisor_core::OsFs;

    pub(crate) fn install(dir: &Path) {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let p = bin.join("geth");
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn switch_keeps_link_relative_and_refuses_missing_binary() {
        let d = tempfile::tempdir().unwrap();
        let home = Home::new(d.path());
        install(&home.genesis_dir());
        install(&home.upgrade_dir("v2"));
        let store = BinaryStore::new(home.clone(), "geth", OsFs);
        store.switch_to(None).unwrap();
        assert_eq!(store.current().unwrap(), None);
        store.switch_to(Some("v2")).unwrap();
        assert_eq!(store.current().unwrap(), Some("v2".into()));
        assert_eq!(
            std::fs::read_link(home.current_link()).unwrap(),
            PathBuf::from("upgrades/v2")
        );
        let err = store.switch_to(Some("v3")).unwrap_err();
        assert!(err.to_string().contains("upgrades/v3/bin/geth"), "{err}");
        assert_eq!(store.current().unwrap(), Some("v2".into()));
    }

    #[test]
    fn install_tree_replaces_an_old_copy_but_never_current() {
        let d = tempfile::tempdir().unwrap();
        let home = Home::new(d.path());
        install(&home.genesis_dir());
        let store = BinaryStore::new(home.clone(), "geth", OsFs);
        store.switch_to(None).unwrap();
        std::fs::create_dir_all(home.upgrade_dir("v2")).unwrap();
        std::fs::write(home.upgrade_dir("v2").join("upgrade-info.json"), "{}").unwrap();
        let marker = SourceMarker {
            url: "file:///x".into(),
            download_sha256: "a".into(),
            binary_sha256: "b".into(),
            info_url: None,
        };
        let st = store.staging("v2").unwrap();
        let tree = st.path().join("tree");
        install(&tree);
        let staging_path = st.path().to_path_buf();
        store.install_tree("v2", st, &tree, &marker).unwrap();
        assert!(store.is_installed("v2"));
        assert!(!staging_path.exists());
        assert_eq!(store.source_marker("v2").unwrap(), marker);
        assert!(home.upgrade_dir("v2").join("upgrade-info.json").exists());
        store.switch_to(Some("v2")).unwrap();
        let st = store.staging("v2").unwrap();
        let tree = st.path().join("tree");
        install(&tree);
        let e = store.install_tree("v2", st, &tree, &marker).unwrap_err();
        assert!(e.to_string().contains("current"), "{e}");
        // nothing left behind under upgrades/ but v2
        let names: Vec<_> = std::fs::read_dir(home.upgrades_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["v2".to_string()]);
    }

    #[test]
    fn migrations_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let home = Home::new(d.path());
        install(&home.upgrade_dir("v2"));
        let store = BinaryStore::new(home, "geth", OsFs);
        assert!(store.migrations_of(Some("v2")).is_empty());
        let m = vec![FlagMigration::new("rpc", "http")];
        store.record_migrations("v2", &m).unwrap();
        assert_eq!(store.migrations_of(Some("v2")), m);
        assert!(store.migrations_of(None).is_empty());
        store.record_migrations("v2", &[]).unwrap();
        assert!(store.migrations_of(Some("v2")).is_empty());
    }
}
