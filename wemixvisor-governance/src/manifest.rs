//! Upgrade plans from a signed release manifest.
//!
//! The manifest is a JSON document listing upgrades, published at a URL
//! (`governance.release_manifest_url`) with its minisign signature beside it
//! at `<url>.minisig`. Both are fetched on every poll; the document is used
//! only when the signature verifies against the configured public key
//! (`governance.release_manifest_public_key`). A missing or bad signature,
//! or a document that does not parse, refuses the whole manifest: nothing
//! from it is queued.
//!
//! ```json
//! {"version": 1, "upgrades": [
//!   {"name": "v1.2.0", "height": 1234000,
//!    "binaries": {"linux/amd64": {"url": "https://…/geth-linux-amd64.tar.gz", "checksum": "sha256:…"},
//!                 "darwin/arm64": "https://…/geth-darwin-arm64.tar.gz?checksum=sha256:…"},
//!    "checksums": {"linux/arm64": "sha256:…"}}
//! ]}
//! ```
//!
//! An entry may also carry the data-changing steps of its release
//! (`migrate`, `verify`, `node_options`, `daemon_name`, `space`, `builtin`;
//! see docs/migrations.md): they are passed into the plan's `info` as they
//! are and checked, like every plan, before it is queued.
//!
//! A bare JSON list of upgrades is accepted too. Every binary must carry a
//! checksum (inline, in its URL's `?checksum=`, or in `checksums`).
//! URLs must be https, or http to a loopback address.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use alloy_transport_http::reqwest::{self, redirect, Url};
use async_trait::async_trait;
use serde_json::{Map, Value};
use wemixvisor_core::{binaries_from_info, validate_upgrade_name, InfoSource, UpgradePlan};

use crate::feed::{ProposalSource, SkippedPlan, SourcePoll};
use crate::GovernanceError;

/// The release steps an entry may carry into its plan's `info`.
const MIGRATION_FIELDS: &[&str] = &[
    "migrate",
    "verify",
    "node_options",
    "daemon_name",
    "space",
    "builtin",
];

/// Largest manifest or signature accepted, in bytes.
const MAX_BODY: usize = 1024 * 1024;

/// True for https URLs, and http URLs whose host is a loopback address.
pub fn url_allowed(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let host = url.host_str().unwrap_or("");
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err(format!(
                    "plain http is allowed only to a loopback address, not to '{host}'"
                ))
            }
        }
        other => Err(format!("scheme '{other}' is not https")),
    }
}

/// Parses a minisign public key: the `RW…` base64 line, or a whole `.pub` file.
pub fn parse_public_key(text: &str) -> Result<minisign_verify::PublicKey, String> {
    let t = text.trim();
    let key = if t.contains('\n') {
        minisign_verify::PublicKey::decode(t)
    } else {
        minisign_verify::PublicKey::from_base64(t)
    };
    key.map_err(|e| format!("the public key does not parse: {e}"))
}

/// Verifies `body` against the `.minisig` text `signature` and `key`.
pub fn verify_signature(
    key: &minisign_verify::PublicKey,
    body: &[u8],
    signature: &str,
) -> Result<(), String> {
    let sig = minisign_verify::Signature::decode(signature.trim())
        .map_err(|e| format!("the signature file does not parse: {e}"))?;
    key.verify(body, &sig, false)
        .map_err(|e| format!("the signature does not verify with the configured key: {e}"))
}

/// Parses a verified manifest into plans (sorted by height).
pub fn parse_manifest(body: &[u8]) -> Result<Vec<UpgradePlan>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let entries = match &doc {
        Value::Array(a) => a,
        Value::Object(o) => {
            if let Some(v) = o.get("version").and_then(Value::as_u64) {
                if v != 1 {
                    return Err(format!("version {v} is not supported (expected 1)"));
                }
            }
            o.get("upgrades")
                .and_then(Value::as_array)
                .ok_or("expected an \"upgrades\" list")?
        }
        _ => return Err("expected a JSON object with \"upgrades\", or a list".into()),
    };
    let mut names = BTreeSet::new();
    let mut plans = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let plan = parse_entry(e).map_err(|why| format!("upgrade #{}: {why}", i + 1))?;
        if !names.insert(plan.name.clone()) {
            return Err(format!("upgrade name '{}' appears twice", plan.name));
        }
        plans.push(plan);
    }
    plans.sort_by(|a, b| (a.height, &a.name).cmp(&(b.height, &b.name)));
    Ok(plans)
}

fn parse_entry(e: &Value) -> Result<UpgradePlan, String> {
    let o = e.as_object().ok_or("expected an object")?;
    let name = o
        .get("name")
        .and_then(Value::as_str)
        .ok_or("missing \"name\"")?
        .trim()
        .to_string();
    validate_upgrade_name(&name)?;
    let height = o
        .get("height")
        .and_then(Value::as_u64)
        .filter(|h| *h > 0)
        .ok_or_else(|| format!("'{name}': \"height\" must be a block height above 0"))?;
    let bins = o
        .get("binaries")
        .and_then(Value::as_object)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| format!("'{name}': \"binaries\" must map os/arch to a download"))?;
    let sums = o.get("checksums").and_then(Value::as_object);
    let mut merged = Map::new();
    for (platform, v) in bins {
        let mut entry = match v {
            Value::String(url) => {
                let mut m = Map::new();
                m.insert("url".into(), Value::String(url.clone()));
                m
            }
            Value::Object(m) => m.clone(),
            other => {
                return Err(format!(
                    "'{name}': binaries.{platform} must be a URL or an object, got {other}"
                ))
            }
        };
        if !entry.contains_key("checksum") {
            if let Some(sum) = sums.and_then(|s| s.get(platform)) {
                entry.insert("checksum".into(), sum.clone());
            }
        }
        merged.insert(platform.clone(), Value::Object(entry));
    }
    let mut info = serde_json::json!({ "binaries": merged });
    if let Some(obj) = info.as_object_mut() {
        for k in MIGRATION_FIELDS {
            if let Some(v) = o.get(*k) {
                obj.insert((*k).to_string(), v.clone());
            }
        }
    }
    let parsed = binaries_from_info(&info).map_err(|e| format!("'{name}': {e}"))?;
    for (platform, b) in &parsed {
        if b.checksum.is_none() {
            return Err(format!(
                "'{name}': binaries.{platform} has no sha256 checksum (give \"checksum\" or ?checksum=sha256:…)"
            ));
        }
        let u = Url::parse(&b.url)
            .map_err(|e| format!("'{name}': binaries.{platform}: bad URL: {e}"))?;
        url_allowed(&u).map_err(|e| format!("'{name}': binaries.{platform}: {e}"))?;
    }
    Ok(UpgradePlan {
        name,
        height,
        info: InfoSource::Inline(info),
        source: "manifest".into(),
    })
}

/// A signed release manifest at a URL, checked with a minisign key.
pub struct ManifestSource {
    url: Url,
    key: minisign_verify::PublicKey,
    http: reqwest::Client,
}

impl std::fmt::Debug for ManifestSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestSource")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl ManifestSource {
    /// A source for the manifest at `url`, signed by `public_key`
    /// (minisign `RW…` base64, or a `.pub` file's text).
    pub fn new(url: &str, public_key: &str, timeout: Duration) -> Result<Self, GovernanceError> {
        let refused = |reason: String| GovernanceError::ManifestUrl {
            url: url.to_string(),
            reason,
        };
        let parsed = Url::parse(url.trim()).map_err(|e| refused(e.to_string()))?;
        url_allowed(&parsed).map_err(refused)?;
        if public_key.trim().is_empty() {
            return Err(GovernanceError::Settings(format!(
                "governance.release_manifest_url is set ({url}) but governance.release_manifest_public_key is not\nhelp: set the minisign public key the manifest is signed with; unsigned manifests are never used"
            )));
        }
        let key =
            parse_public_key(public_key).map_err(|reason| GovernanceError::ManifestSignature {
                url: url.to_string(),
                reason,
            })?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(redirect::Policy::custom(|attempt| {
                if attempt.previous().len() >= 5 {
                    attempt.error("more than 5 redirects")
                } else if let Err(e) = url_allowed(attempt.url()) {
                    let msg = format!("redirected to {}: {e}", attempt.url());
                    attempt.error(msg)
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .map_err(|e| refused(e.to_string()))?;
        Ok(ManifestSource {
            url: parsed,
            key,
            http,
        })
    }

    /// The manifest URL.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    async fn get_bytes(&self, url: &str) -> Result<Vec<u8>, GovernanceError> {
        let fail = |reason: String| GovernanceError::Fetch {
            url: url.to_string(),
            reason,
        };
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(fail(format!("HTTP status {status}")));
        }
        if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(fail(format!("larger than {MAX_BODY} bytes")));
        }
        let body = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
        if body.len() > MAX_BODY {
            return Err(fail(format!("larger than {MAX_BODY} bytes")));
        }
        Ok(body.to_vec())
    }

    /// Fetches and verifies the manifest; every plan in it, or an error.
    pub async fn load(&self) -> Result<Vec<UpgradePlan>, GovernanceError> {
        let url = self.url.as_str();
        let body = self.get_bytes(url).await?;
        let sig_url = format!("{url}.minisig");
        let sig = match self.get_bytes(&sig_url).await {
            Ok(s) => s,
            Err(e) => {
                return Err(GovernanceError::ManifestSignature {
                    url: url.to_string(),
                    reason: format!("no signature: {e}"),
                })
            }
        };
        let sig = String::from_utf8(sig).map_err(|_| GovernanceError::ManifestSignature {
            url: url.to_string(),
            reason: "the signature file is not text".into(),
        })?;
        verify_signature(&self.key, &body, &sig).map_err(|reason| {
            GovernanceError::ManifestSignature {
                url: url.to_string(),
                reason,
            }
        })?;
        parse_manifest(&body).map_err(|reason| GovernanceError::ManifestInvalid {
            url: url.to_string(),
            reason,
        })
    }
}

#[async_trait]
impl ProposalSource for ManifestSource {
    fn source(&self) -> &'static str {
        "manifest"
    }

    async fn fetch_plans(&self, head: u64) -> Result<SourcePoll, GovernanceError> {
        let mut poll = SourcePoll::default();
        for plan in self.load().await? {
            if plan.height <= head {
                poll.skipped.push(SkippedPlan::past(plan, head));
            } else {
                poll.plans.push(plan);
            }
        }
        Ok(poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{HttpServer, ManifestSigner};

    const SUM: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn manifest() -> String {
        format!(
            r#"{{"version":1,"upgrades":[
                {{"name":"v2.0.0","height":500,"binaries":{{"linux/amd64":"https://example.com/geth-v2?checksum={SUM}"}}}},
                {{"name":"v1.5.0","height":100,"binaries":{{"linux/amd64":{{"url":"https://example.com/geth-v15"}}}},"checksums":{{"linux/amd64":"{SUM}"}}}}
            ]}}"#
        )
    }

    #[test]
    fn release_steps_are_carried_into_the_plan_info() {
        let doc = format!(
            r#"[{{"name":"wbft","height":9,"binaries":{{"any":"https://h/geth?checksum={SUM}"}},
                 "daemon_name":"geth","builtin":"gwemix-to-wbft","space":"datadir",
                 "migrate":[{{"command":"true"}}],"verify":[],"node_options":{{"add":["--x"]}},"other":1}}]"#
        );
        let plans = parse_manifest(doc.as_bytes()).unwrap();
        let InfoSource::Inline(info) = &plans[0].info else {
            panic!("inline info expected: {:?}", plans[0].info);
        };
        assert_eq!(info["daemon_name"], "geth");
        assert_eq!(info["builtin"], "gwemix-to-wbft");
        assert_eq!(info["space"], "datadir");
        assert_eq!(info["migrate"][0]["command"], "true");
        assert_eq!(info["node_options"]["add"][0], "--x");
        assert!(info.get("other").is_none());
        assert!(info["binaries"]["any"].is_object());
    }

    #[test]
    fn url_policy() {
        let ok = |u: &str| url_allowed(&Url::parse(u).unwrap()).is_ok();
        assert!(ok("https://example.com/m.json"));
        assert!(ok("http://127.0.0.1:8080/m.json"));
        assert!(ok("http://localhost/m.json"));
        assert!(ok("http://[::1]:9/m.json"));
        assert!(!ok("http://example.com/m.json"));
        assert!(!ok("http://10.0.0.1/m.json"));
        assert!(!ok("ftp://127.0.0.1/m.json"));
    }

    #[test]
    fn manifest_parsing() {
        let plans = parse_manifest(manifest().as_bytes()).unwrap();
        assert_eq!(
            plans.iter().map(|p| p.height).collect::<Vec<_>>(),
            vec![100, 500]
        );
        assert!(plans.iter().all(|p| p.source == "manifest"));
        let bins = plans[0].to_info().binaries().unwrap();
        assert_eq!(
            bins["linux/amd64"].checksum.as_ref().unwrap().to_string(),
            SUM
        );
        // A bare list works too.
        let list = format!(
            r#"[{{"name":"x","height":3,"binaries":{{"any":"https://h/x?checksum={SUM}"}}}}]"#
        );
        assert_eq!(parse_manifest(list.as_bytes()).unwrap().len(), 1);
        for (bad, why) in [
            (r#"{"upgrades":[{"name":"a","height":1,"binaries":{"linux/amd64":"https://h/x"}}]}"#.to_string(), "no sha256 checksum"),
            (format!(r#"{{"upgrades":[{{"name":"a","height":0,"binaries":{{"any":"https://h/x?checksum={SUM}"}}}}]}}"#), "above 0"),
            (format!(r#"{{"upgrades":[{{"name":"../a","height":1,"binaries":{{"any":"https://h/x?checksum={SUM}"}}}}]}}"#), "character"),
            (format!(r#"{{"upgrades":[{{"name":"a","height":1,"binaries":{{"any":"http://h/x?checksum={SUM}"}}}}]}}"#), "loopback"),
            (format!(r#"[{{"name":"a","height":1,"binaries":{{"any":"https://h/x?checksum={SUM}"}}}},{{"name":"a","height":2,"binaries":{{"any":"https://h/x?checksum={SUM}"}}}}]"#), "twice"),
            (r#"{"version":2,"upgrades":[]}"#.to_string(), "version 2"),
            ("{".to_string(), "not JSON"),
        ] {
            let e = parse_manifest(bad.as_bytes()).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn signed_manifest_is_used_bad_or_missing_signature_refused() {
        let signer = ManifestSigner::generate();
        let other = ManifestSigner::generate();
        let body = manifest().into_bytes();
        let server = HttpServer::files(vec![
            ("/good.json".into(), body.clone()),
            ("/good.json.minisig".into(), signer.sign(&body).into_bytes()),
            ("/forged.json".into(), body.clone()),
            (
                "/forged.json.minisig".into(),
                other.sign(&body).into_bytes(),
            ),
            (
                "/tampered.json".into(),
                manifest().replace("500", "501").into_bytes(),
            ),
            (
                "/tampered.json.minisig".into(),
                signer.sign(&body).into_bytes(),
            ),
            ("/unsigned.json".into(), body.clone()),
        ]);
        let src = |path: &str, key: &str| {
            ManifestSource::new(
                &format!("{}{path}", server.url()),
                key,
                Duration::from_secs(5),
            )
            .unwrap()
        };
        let good = src("/good.json", &signer.public_key())
            .fetch_plans(200)
            .await
            .unwrap();
        assert_eq!(good.plans.len(), 1);
        assert_eq!(good.plans[0].name, "v2.0.0");
        assert_eq!(good.skipped[0].plan.name, "v1.5.0");
        assert!(
            good.skipped[0].reason.contains("already passed"),
            "{}",
            good.skipped[0].reason
        );
        // The `.pub` file form of the key works the same.
        assert_eq!(
            src("/good.json", &signer.public_key_file())
                .load()
                .await
                .unwrap()
                .len(),
            2
        );
        for path in ["/forged.json", "/tampered.json", "/unsigned.json"] {
            let e = src(path, &signer.public_key())
                .fetch_plans(0)
                .await
                .unwrap_err();
            assert!(
                matches!(e, GovernanceError::ManifestSignature { .. }),
                "{path}: {e}"
            );
            assert!(e.to_string().contains("is refused"), "{e}");
        }
        let e = src("/missing.json", &signer.public_key())
            .load()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("404"), "{e}");
    }

    #[test]
    fn settings_are_checked() {
        let key = ManifestSigner::generate().public_key();
        let e = ManifestSource::new("http://example.com/m.json", &key, Duration::from_secs(1))
            .unwrap_err();
        assert!(e.to_string().contains("loopback"), "{e}");
        let e = ManifestSource::new("https://example.com/m.json", "", Duration::from_secs(1))
            .unwrap_err();
        assert!(e.to_string().contains("release_manifest_public_key"), "{e}");
        let e = ManifestSource::new(
            "https://example.com/m.json",
            "RWnotakey",
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.to_string().contains("public key"), "{e}");
    }
}
