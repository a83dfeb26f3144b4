//! minisign signatures of downloads, bound to the release they are for.
//!
//! A signature proves who made a file, not which release it is: an old
//! signed binary could be served again as a downgrade. So the trusted
//! comment (signed together with the file) must name the upgrade: it must
//! hold the field `upgrade:<name>` (fields are separated by tabs or
//! spaces), e.g. `minisign -S -m geth.tar.gz -t "upgrade:v1.2.0"`.

use std::io::Read;
use std::path::Path;

use minisign_verify::{PublicKey, Signature};

use wemixvisor_core::{truncate_for_display, DISPLAY_MAX};

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

/// The trusted-comment field that binds a signature to `upgrade`.
pub fn release_binding(upgrade: &str) -> String {
    format!("upgrade:{upgrade}")
}

/// True when `trusted_comment` carries the field `upgrade:<upgrade>`.
pub fn names_upgrade(trusted_comment: &str, upgrade: &str) -> bool {
    let want = release_binding(upgrade);
    trusted_comment
        .split(['\t', ' '])
        .any(|field| field == want)
}

/// Checks `file` against the minisign signature text `sig_text` with any of
/// `keys`, and that the signed trusted comment names `upgrade`
/// ([`names_upgrade`]), so a signed file of another release is refused.
pub fn verify_release(
    file: &Path,
    sig_text: &str,
    keys: &[PublicKey],
    url: &str,
    upgrade: &str,
) -> Result<(), UpgradeError> {
    let comment = verify_signed(file, sig_text, keys, url)?;
    if names_upgrade(&comment, upgrade) {
        return Ok(());
    }
    Err(UpgradeError::Signature {
        url: url.to_string(),
        reason: format!(
            "the signature is valid but its trusted comment does not name upgrade '{}' (expected the field '{}', got \"{}\")",
            truncate_for_display(upgrade, DISPLAY_MAX),
            truncate_for_display(&release_binding(upgrade), DISPLAY_MAX),
            truncate_for_display(&comment, DISPLAY_MAX)
        ),
        help: format!(
            "a signed file of another release may be replayed as a downgrade; sign this release with `minisign -S -m <file> -t \"{}\"`",
            truncate_for_display(&release_binding(upgrade), DISPLAY_MAX)
        ),
    })
}

/// Checks `file` against the minisign signature text `sig_text` with any of
/// `keys` (the one whose key id matches). It does not check which release
/// the signature is for: the pipeline uses [`verify_release`].
pub fn verify_file(
    file: &Path,
    sig_text: &str,
    keys: &[PublicKey],
    url: &str,
) -> Result<(), UpgradeError> {
    verify_signed(file, sig_text, keys, url).map(|_| ())
}

/// Verifies the signature and returns its (now authenticated) trusted comment.
fn verify_signed(
    file: &Path,
    sig_text: &str,
    keys: &[PublicKey],
    url: &str,
) -> Result<String, UpgradeError> {
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
        return verifier
            .finalize()
            .map(|()| sig.trusted_comment().to_string())
            .map_err(|e| {
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

    /// The `.minisig` text for `data` with `trusted` as trusted comment.
    pub(crate) fn sign_with_comment(
        sk: &minisign::SecretKey,
        data: &[u8],
        trusted: &str,
    ) -> String {
        minisign::sign(None, sk, std::io::Cursor::new(data), Some(trusted), None)
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_signature_must_name_the_upgrade_in_its_trusted_comment() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("bin");
        std::fs::write(&f, b"payload").unwrap();
        let (pk, sk) = keypair();
        let keys = load_keys(&[pk]).unwrap();
        let good = sign_with_comment(&sk, b"payload", "timestamp:1\tfile:geth\tupgrade:v1.2.0");
        verify_release(&f, &good, &keys, "u", "v1.2.0").unwrap();
        // The same signed file offered for another upgrade (a replay).
        let e = verify_release(&f, &good, &keys, "u", "v1.3.0").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("does not name upgrade 'v1.3.0'"), "{msg}");
        assert!(msg.contains("upgrade:v1.3.0"), "{msg}");
        // No binding at all, or only a prefix of the name.
        for comment in [
            "test",
            "upgrade:v1.2",
            "upgrade:v1.2.0-rc1",
            "xupgrade:v1.2.0",
        ] {
            let sig = sign_with_comment(&sk, b"payload", comment);
            assert!(
                verify_release(&f, &sig, &keys, "u", "v1.2.0").is_err(),
                "{comment} accepted"
            );
        }
        // A bad file is still refused first.
        let e = verify_release(
            &f,
            &sign_with_comment(&sk, b"other", "upgrade:v1.2.0"),
            &keys,
            "u",
            "v1.2.0",
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        assert!(names_upgrade("upgrade:a b", "a"));
        assert!(!names_upgrade("upgrade:ab", "a"));
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
