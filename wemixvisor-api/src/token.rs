//! The TCP bearer token: generated once into a 0600 file, compared in
//! constant time, identified in logs by a non-secret id.

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, Result};

/// Writes a new random token (32 bytes, hex) to `path` with mode 0600,
/// replacing any old one, and returns it.
pub fn generate(path: &Path) -> Result<String> {
    let io = |source| ApiError::Io {
        path: path.to_owned(),
        source,
    };
    let mut raw = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut raw))
        .map_err(|source| ApiError::Io {
            path: "/dev/urandom".into(),
            source,
        })?;
    let token = hex::encode(raw);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("partial");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(format!("{token}\n").as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(token)
}

/// Reads a token file (first line, trimmed; at most 4 KiB read).
pub fn read(path: &Path) -> Result<String> {
    let f = std::fs::File::open(path).map_err(|source| ApiError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut s = String::new();
    f.take(4096)
        .read_to_string(&mut s)
        .map_err(|_| ApiError::BadToken {
            path: path.to_owned(),
        })?;
    let t = s.lines().next().unwrap_or("").trim().to_owned();
    if t.is_empty() {
        return Err(ApiError::BadToken {
            path: path.to_owned(),
        });
    }
    Ok(t)
}

/// SHA-256 of a token (what the server keeps).
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `presented` is the token behind `digest`, in constant time.
pub fn matches(digest: &[u8; 32], presented: &str) -> bool {
    let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
    d.ct_eq(digest).into()
}

/// A non-secret id of a token for logs and the audit log (8 hex digits of
/// a hash of it).
pub fn token_id(token: &str) -> String {
    let d = Sha256::digest(format!("wemixvisor-token-id:{token}").as_bytes());
    hex::encode(&d[..4])
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn generated_token_is_private_and_matches() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("config/api-token");
        let t = generate(&p).unwrap();
        assert_eq!(t.len(), 64);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read(&p).unwrap(), t);
        let dg = digest(&t);
        assert!(matches(&dg, &t));
        assert!(!matches(&dg, &t[..63]));
        assert!(!matches(&dg, ""));
        assert_ne!(generate(&p).unwrap(), t);
        assert!(!token_id(&t).contains(&t[..8]));
    }

    #[test]
    fn empty_token_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t");
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(read(&p), Err(ApiError::BadToken { .. })));
    }
}
