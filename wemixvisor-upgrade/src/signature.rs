//! minisign signatures of downloads.

use std::io::Read;
use std::path::Path;

use minisign_verify::{PublicKey, Signature};

use crate::UpgradeError;

/// Parses the configured public keys: each a base64 key (the second line of
/// a `.pub` file), the whole `.pub` text, or the path of a `.pub` file.
pub fn load_keys(entries: &[String]) -> Result<Vec<PublicKey>, UpgradeError> {
    let bad = |entry: &str, why: String| {
        UpgradeError::Signature {
        url: String::new(),
        reason: format!("public key '{entry}' is unusable: {why}"),
        help: "set download.public_keys to minisign public keys (base64, as in the .pub file) or paths of .pub files".into(),
    }
    };
    entries
        .iter()
        .map(|raw| {
            let t = raw.trim();
            if t.contains('\n') {
                return PublicKey::decode(t).map_err(|e| bad(t, e.to_string()));
            }
            let p = Path::new(t);
            if t.starts_with('/') || t.ends_with(".pub") {
                let text = std::fs::read_to_string(p).map_err(|e| bad(t, e.to_string()))?;
                let key_line = text
                    .lines()
                    .find(|l| !l.trim().is_empty() && !l.starts_with("untrusted comment:"))
                    .unwrap_or("");
                return PublicKey::from_base64(key_line.trim()).map_err(|e| bad(t, e.to_string()));
            }
            PublicKey::from_base64(t).map_err(|e| bad(t, e.to_string()))
        })
        .collect()
}

/// Checks `file` against the minisign signature text `sig_text` with any of
/// `keys` (the one whose key id matches).
pub fn verify_file(
    file: &Path,
    sig_text: &str,
    keys: &[PublicKey],
    url: &str,
) -> Result<(), UpgradeError> {
    let fail = |reason: String, help: &str| UpgradeError::Signature {
        url: url.to_string(),
        reason,
        help: help.to_string(),
    };
    let sig = Signature::decode(sig_text.trim()).map_err(|e| {
        fail(
            format!("the signature is not a minisign signature: {e}"),
            "publish the .minisig file minisign wrote, or fix the plan's \"signature\"",
        )
    })?;
    if keys.is_empty() {
        return Err(fail(
            "no public key is configured to check it".into(),
            "add the release key to download.public_keys",
        ));
    }
    let mut last = None;
    for key in keys {
        let mut verifier = match key.verify_stream(&sig) {
            Ok(v) => v,
            Err(minisign_verify::Error::UnexpectedKeyId) => continue,
            Err(minisign_verify::Error::UnsupportedLegacyMode) => {
                return Err(fail(
                    "the signature uses minisign's legacy (non-prehashed) format".into(),
                    "sign the release again with a current minisign (prehashed, the default)",
                ))
            }
            Err(e) => {
                last = Some(e.to_string());
                continue;
            }
        };
        let mut f = std::fs::File::open(file).map_err(|e| UpgradeError::io("open", file, e))?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| UpgradeError::io("read", file, e))?;
            if n == 0 {
                break;
            }
            verifier.update(&buf[..n]);
        }
        return verifier.finalize().map_err(|e| {
            fail(
                format!("the signature does not match the downloaded file ({e})"),
                "the file or its signature was altered; do not use it and check the release",
            )
        });
    }
    Err(fail(
        match last {
            Some(e) => format!("no configured key can check it: {e}"),
            None => "it was made with a key that is not in download.public_keys".into(),
        },
        "add the release key to download.public_keys, or check who signed the file",
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh key pair: (public key base64, secret key).
    pub(crate) fn keypair() -> (String, minisign::SecretKey) {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        (kp.pk.to_base64(), kp.sk)
    }

    /// The `.minisig` text for `data`.
    pub(crate) fn sign(sk: &minisign::SecretKey, data: &[u8]) -> String {
        minisign::sign(None, sk, std::io::Cursor::new(data), Some("test"), None)
            .unwrap()
            .to_string()
    }

    #[test]
    fn good_bad_and_unknown_key() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("bin");
        std::fs::write(&f, b"payload").unwrap();
        let (pk, sk) = keypair();
        let (other_pk, other_sk) = keypair();
        let keys = load_keys(&[other_pk.clone(), pk.clone()]).unwrap();
        verify_file(&f, &sign(&sk, b"payload"), &keys, "u").unwrap();
        let e = verify_file(&f, &sign(&sk, b"other"), &keys, "u").unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        let only_other = load_keys(&[other_pk]).unwrap();
        let e = verify_file(&f, &sign(&sk, b"payload"), &only_other, "u").unwrap_err();
        assert!(e.to_string().contains("not in download.public_keys"), "{e}");
        verify_file(&f, &sign(&other_sk, b"payload"), &only_other, "u").unwrap();
        let e = verify_file(&f, "garbage", &keys, "u").unwrap_err();
        assert!(e.to_string().contains("not a minisign signature"), "{e}");
        // a key given as a .pub file
        let pub_file = d.path().join("k.pub");
        std::fs::write(&pub_file, format!("untrusted comment: k\n{pk}\n")).unwrap();
        let keys = load_keys(&[pub_file.to_string_lossy().into_owned()]).unwrap();
        verify_file(&f, &sign(&sk, b"payload"), &keys, "u").unwrap();
        assert!(load_keys(&["not a key".into()]).is_err());
    }
}
