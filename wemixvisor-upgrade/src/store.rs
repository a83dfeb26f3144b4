use std::path::{Path, PathBuf};

use wemixvisor_core::{atomic, CoreError, FileSystem, Home, UpgradeInfo};

use crate::UpgradeError;

/// The binaries on disk: `genesis/`, `upgrades/<name>/`, and `current`.
#[derive(Debug, Clone)]
pub struct BinaryStore<F: FileSystem> {
    home: Home,
    daemon_name: String,
    fs: F,
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

    /// `upgrades/<name>/bin/<daemon>`.
    pub fn upgrade_bin(&self, name: &str) -> PathBuf {
        self.home.upgrade_bin(name, &self.daemon_name)
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use wemixvisor_core::OsFs;

    pub(crate) fn install(home: &Home, dir: &Path) {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let p = bin.join("geth");
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        let _ = home;
    }

    #[test]
    fn switch_keeps_link_relative_and_refuses_missing_binary() {
        let d = tempfile::tempdir().unwrap();
        let home = Home::new(d.path());
        install(&home, &home.genesis_dir());
        install(&home, &home.upgrade_dir("v2"));
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
}
