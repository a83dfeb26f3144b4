//! The cosmovisor-compatible upgrade trigger, `chain-data/upgrade-info.json`:
//!
//! ```json
//! {"name": "v1.2.0", "height": 1234, "info": {"binaries": {"linux/amd64": "https://...?checksum=sha256:..."}}}
//! ```
//!
//! `info` may be an object, a JSON string holding an object, a URL of such a
//! document, or absent/null/`""` (the binary must then already be installed
//! under `upgrades/<name>/bin/`).
//!
//! The document is strict, like cosmovisor's: an unknown field is an error
//! with a did-you-mean (a misspelled `height` must never mean "upgrade now"),
//! except the fields cosmovisor's plan carries and this crate has no use
//! for (`time`, `upgraded_client_state`), which are accepted and ignored.
//! The trigger file must state its height (`"height": 0` is an explicit
//! "as soon as seen"). Names are lowercased, as cosmovisor does, unless
//! `COSMOVISOR_DISABLE_RECASE` is set to true.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Platform;

/// Why an upgrade-info document could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpgradeInfoError {
    /// The file is empty: probably being written; read it again later.
    #[error("upgrade-info is empty (still being written?)")]
    Empty,
    /// The JSON ends early: probably being written; read it again later.
    #[error("upgrade-info is incomplete JSON (still being written?): {0}")]
    Incomplete(String),
    /// The document is complete but wrong; it will not be acted on.
    #[error("invalid upgrade-info: {0}")]
    Invalid(String),
}

impl UpgradeInfoError {
    /// True for the errors that mean "try again later" rather than "bad file".
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            UpgradeInfoError::Empty | UpgradeInfoError::Incomplete(_)
        )
    }
}

/// Where the binary of an upgrade comes from, as stated in its plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum InfoSource {
    /// No download info: the binary must already be installed.
    #[default]
    None,
    /// An inline JSON object (usually with `binaries`).
    Inline(Value),
    /// A URL of a JSON document with `binaries`.
    Url(String),
}

/// An `sha256:<hex>` checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    /// Algorithm; only `sha256` is accepted.
    pub algo: String,
    /// Lowercase hex digest.
    pub hex: String,
}

impl Checksum {
    /// Parses `sha256:<64 hex>` (the algorithm prefix is required).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (algo, hex) = s
            .split_once(':')
            .ok_or_else(|| format!("checksum '{s}' must look like sha256:<hex>"))?;
        let algo = algo.to_ascii_lowercase();
        if algo != "sha256" {
            return Err(format!(
                "checksum algorithm '{algo}' is not supported (use sha256)"
            ));
        }
        let hex = hex.to_ascii_lowercase();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("checksum '{s}' is not 64 hex digits of sha256"));
        }
        Ok(Checksum { algo, hex })
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algo, self.hex)
    }
}

/// One downloadable binary for this platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinarySource {
    /// Download URL (with any `?checksum=` query left in place).
    pub url: String,
    /// Expected checksum, from the URL's `checksum` query or a `checksum` field.
    pub checksum: Option<Checksum>,
    /// Minisign signature (text of a `.minisig` file) or its URL, when given.
    pub signature: Option<String>,
}

/// A parsed upgrade trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeInfo {
    /// Upgrade name; also the directory `upgrades/<name>`.
    pub name: String,
    /// Activation height; 0 means "as soon as seen".
    pub height: u64,
    /// Where the binary comes from.
    #[serde(default)]
    pub info: InfoSource,
}

/// Checks that an upgrade name is usable as a single directory name.
pub fn validate_upgrade_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("upgrade name is empty".into());
    }
    if name.len() > 128 {
        return Err(format!(
            "upgrade name is longer than 128 characters: '{name}'"
        ));
    }
    if name == "." || name == ".." || name == "genesis" || name == "current" {
        return Err(format!("'{name}' cannot be used as an upgrade name"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+')))
    {
        return Err(format!(
            "upgrade name '{name}' has the character {c:?}; use letters, digits, '.', '_', '-', '+'"
        ));
    }
    Ok(())
}

/// The fields an upgrade-info document may carry.
pub const UPGRADE_INFO_FIELDS: &[&str] = &["name", "height", "info"];
/// Fields of cosmovisor's plan that are accepted and ignored.
pub const IGNORED_UPGRADE_INFO_FIELDS: &[&str] = &["time", "upgraded_client_state"];

/// The environment variable that turns cosmovisor's name lowercasing off.
pub const DISABLE_RECASE_ENV: &str = "COSMOVISOR_DISABLE_RECASE";

/// True unless `COSMOVISOR_DISABLE_RECASE` is set to a true value.
pub fn recase_enabled() -> bool {
    !std::env::var(DISABLE_RECASE_ENV).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// An upgrade name as cosmovisor files it: lowercased when `recase` is on.
pub fn recase_upgrade_name(name: &str, recase: bool) -> String {
    if recase {
        name.to_lowercase()
    } else {
        name.to_string()
    }
}

/// The closest of `candidates` to `word`, when close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (*c, strsim::jaro_winkler(&w, c)))
        .filter(|(c, score)| *score >= 0.8 || strsim::levenshtein(&w, c) <= 2)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

fn check_fields(obj: &serde_json::Map<String, Value>) -> Result<(), String> {
    for k in obj.keys() {
        if UPGRADE_INFO_FIELDS.contains(&k.as_str())
            || IGNORED_UPGRADE_INFO_FIELDS.contains(&k.as_str())
        {
            continue;
        }
        let shown: String = k.chars().take(64).collect();
        return Err(match did_you_mean(k, UPGRADE_INFO_FIELDS) {
            Some(s) => format!("unknown field \"{shown}\"; did you mean \"{s}\"?"),
            None => format!(
                "unknown field \"{shown}\"; the fields are name, height and info (time and upgraded_client_state are ignored)"
            ),
        });
    }
    Ok(())
}

fn parse_height(v: Option<&Value>) -> Result<u64, String> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("height {n} is not a non-negative whole number")),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("height \"{s}\" is not a non-negative whole number")),
        Some(other) => Err(format!("height must be a number, got {other}")),
    }
}

fn parse_info(v: Option<&Value>) -> Result<InfoSource, String> {
    match v {
        None | Some(Value::Null) => Ok(InfoSource::None),
        Some(Value::Object(_)) => Ok(InfoSource::Inline(v.cloned().unwrap_or(Value::Null))),
        Some(Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() {
                Ok(InfoSource::None)
            } else if t.starts_with('{') {
                let inner: Value = serde_json::from_str(t)
                    .map_err(|e| format!("info is a string but not valid JSON: {e}"))?;
                if inner.is_object() {
                    Ok(InfoSource::Inline(inner))
                } else {
                    Err("info string must hold a JSON object".into())
                }
            } else if t.starts_with("https://") || t.starts_with("http://") {
                Ok(InfoSource::Url(t.to_string()))
            } else {
                Err(format!(
                    "info string is neither JSON nor an http(s) URL: '{t}'"
                ))
            }
        }
        Some(other) => Err(format!(
            "info must be an object, a JSON string or a URL, got {other}"
        )),
    }
}

impl UpgradeInfo {
    /// Parses an upgrade-info document.
    ///
    /// Empty or truncated input gives a transient error (the writer is not
    /// done); anything else that does not fit gives [`UpgradeInfoError::Invalid`].
    pub fn parse(bytes: &[u8]) -> Result<Self, UpgradeInfoError> {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(UpgradeInfoError::Empty);
        }
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| {
            if e.is_eof() {
                UpgradeInfoError::Incomplete(e.to_string())
            } else {
                UpgradeInfoError::Invalid(e.to_string())
            }
        })?;
        if doc
            .as_object()
            .is_some_and(|o| o.get("height").is_none_or(Value::is_null))
        {
            // Checked after the fields, so a misspelled height names itself.
            Self::from_value(&doc).map_err(UpgradeInfoError::Invalid)?;
            return Err(UpgradeInfoError::Invalid(
                "missing \"height\": a trigger file must state its height (use \"height\": 0 to upgrade as soon as it is seen)".into(),
            ));
        }
        Self::from_value(&doc).map_err(UpgradeInfoError::Invalid)
    }

    /// Builds from an already-parsed JSON value (an absent height is 0;
    /// [`UpgradeInfo::parse`], for the trigger file, requires it).
    pub fn from_value(doc: &Value) -> Result<Self, String> {
        let obj = doc
            .as_object()
            .ok_or_else(|| "the document must be a JSON object".to_string())?;
        check_fields(obj)?;
        let name = match obj.get("name") {
            Some(Value::String(s)) => recase_upgrade_name(s.trim(), recase_enabled()),
            Some(other) => return Err(format!("name must be a string, got {other}")),
            None => return Err("missing \"name\"".into()),
        };
        validate_upgrade_name(&name)?;
        let height = parse_height(obj.get("height"))?;
        let info = parse_info(obj.get("info"))?;
        Ok(UpgradeInfo { name, height, info })
    }

    /// Serialises back to the cosmovisor format (info as an object or URL).
    pub fn to_cosmovisor_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        m.insert("height".into(), Value::from(self.height));
        match &self.info {
            InfoSource::None => {}
            InfoSource::Inline(v) => {
                m.insert("info".into(), v.clone());
            }
            InfoSource::Url(u) => {
                m.insert("info".into(), Value::String(u.clone()));
            }
        }
        Value::Object(m)
    }

    /// The binaries map of an inline `info` (`os/arch` or `any` → source).
    pub fn binaries(&self) -> Result<BTreeMap<String, BinarySource>, String> {
        match &self.info {
            InfoSource::Inline(v) => binaries_from_info(v),
            _ => Ok(BTreeMap::new()),
        }
    }

    /// The binary for `platform` from an inline `info`, falling back to `any`.
    pub fn binary_for(&self, platform: &Platform) -> Result<Option<BinarySource>, String> {
        let mut map = self.binaries()?;
        Ok(map
            .remove(&platform.to_string())
            .or_else(|| map.remove("any")))
    }
}

/// Reads `binaries` out of an info document: each value is a URL string
/// (checksum in its `?checksum=` query) or an object `{url, checksum?, signature?}`.
pub fn binaries_from_info(info: &Value) -> Result<BTreeMap<String, BinarySource>, String> {
    let Some(bins) = info.get("binaries") else {
        return Ok(BTreeMap::new());
    };
    let bins = bins
        .as_object()
        .ok_or_else(|| "info.binaries must be an object mapping os/arch to a URL".to_string())?;
    let mut out = BTreeMap::new();
    for (key, v) in bins {
        if key != "any" && key.split('/').filter(|p| !p.is_empty()).count() != 2 {
            return Err(format!(
                "binaries key '{key}' must be os/arch (e.g. linux/amd64) or any"
            ));
        }
        let (url, checksum_field, signature) = match v {
            Value::String(u) => (u.clone(), None, None),
            Value::Object(o) => (
                o.get("url")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("binaries.{key} needs a \"url\""))?
                    .to_string(),
                o.get("checksum")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                o.get("signature")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            ),
            other => return Err(format!("binaries.{key} must be a URL string, got {other}")),
        };
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || url.len() <= "https://".len() || url.chars().any(char::is_whitespace) {
            let shown: String = url.chars().take(200).collect();
            return Err(format!("binaries.{key}: '{shown}' is not an http(s) URL"));
        }
        let from_query = checksum_from_url(&url);
        let checksum = match (checksum_field, from_query) {
            (Some(c), _) | (None, Some(c)) => {
                Some(Checksum::parse(&c).map_err(|e| format!("binaries.{key}: {e}"))?)
            }
            (None, None) => None,
        };
        out.insert(
            key.clone(),
            BinarySource {
                url,
                checksum,
                signature,
            },
        );
    }
    Ok(out)
}

/// Extracts the `checksum=` query parameter of a URL, if any.
pub fn checksum_from_url(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "checksum")
        .map(|(_, v)| v.replace("%3A", ":").replace("%3a", ":"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SUM: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn info_as_object_string_url_or_absent() {
        let obj = format!(
            r#"{{"name":"v2","height":100,"info":{{"binaries":{{"linux/amd64":"https://x/geth?checksum={SUM}"}}}},"time":"0001-01-01T00:00:00Z"}}"#
        );
        let u = UpgradeInfo::parse(obj.as_bytes()).unwrap();
        assert_eq!(u.height, 100);
        let b = u
            .binary_for(&Platform {
                os: "linux".into(),
                arch: "amd64".into(),
            })
            .unwrap()
            .unwrap();
        assert_eq!(b.checksum.unwrap().to_string(), SUM);

        let s = r#"{"name":"v2","height":"7","info":"{\"binaries\":{\"any\":\"https://x/g\"}}"}"#;
        let u = UpgradeInfo::parse(s.as_bytes()).unwrap();
        assert_eq!(u.height, 7);
        let any = u
            .binary_for(&Platform {
                os: "darwin".into(),
                arch: "arm64".into(),
            })
            .unwrap()
            .unwrap();
        assert_eq!(any.url, "https://x/g");
        assert!(any.checksum.is_none());

        let url = r#"{"name":"v2","height":5,"info":"https://example.com/plan.json"}"#;
        assert_eq!(
            UpgradeInfo::parse(url.as_bytes()).unwrap().info,
            InfoSource::Url("https://example.com/plan.json".into())
        );
        for none in [
            r#"{"name":"v2","height":0}"#,
            r#"{"name":"v2","height":0,"info":null}"#,
            r#"{"name":"v2","height":0,"info":""}"#,
        ] {
            let u = UpgradeInfo::parse(none.as_bytes()).unwrap();
            assert_eq!(u.info, InfoSource::None);
            assert_eq!(u.height, 0);
        }
    }

    #[test]
    fn half_written_is_transient_bad_is_invalid() {
        assert_eq!(
            UpgradeInfo::parse(b"").unwrap_err(),
            UpgradeInfoError::Empty
        );
        assert_eq!(
            UpgradeInfo::parse(b"  \n").unwrap_err(),
            UpgradeInfoError::Empty
        );
        assert!(UpgradeInfo::parse(br#"{"name":"v2","hei"#)
            .unwrap_err()
            .is_transient());
        for bad in [
            &br#"{"name":"v2",}"#[..],
            br#"[1,2]"#,
            br#"{"height":3}"#,
            br#"{"name":"../etc","height":3}"#,
            br#"{"name":"v2","height":-1}"#,
            br#"{"name":"v2","height":1.5}"#,
            br#"{"name":"v2","info":"not a url"}"#,
            br#"{"name":"v2","info":{"binaries":{"linux":"https://x"}}}"#,
        ] {
            let e = UpgradeInfo::parse(bad);
            match e {
                Ok(u) => assert!(u.binaries().is_err(), "{:?}", String::from_utf8_lossy(bad)),
                Err(e) => assert!(!e.is_transient(), "{e}"),
            }
        }
    }

    #[test]
    fn misspelled_or_missing_height_is_refused_never_immediate() {
        let e = UpgradeInfo::parse(br#"{"name":"v2","hieght":100}"#).unwrap_err();
        assert!(!e.is_transient());
        let msg = e.to_string();
        assert!(
            msg.contains("unknown field \"hieght\"") && msg.contains("did you mean \"height\""),
            "{msg}"
        );
        let msg = UpgradeInfo::parse(br#"{"name":"v2","infos":{}, "height": 3}"#)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("did you mean \"info\""), "{msg}");
        let msg = UpgradeInfo::parse(br#"{"name":"v2","height":3,"zzz":1}"#)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("unknown field \"zzz\"") && !msg.contains("did you mean"),
            "{msg}"
        );
        // absent or null height in the trigger file: an error, not "now"
        for doc in [&br#"{"name":"v2"}"#[..], br#"{"name":"v2","height":null}"#] {
            let msg = UpgradeInfo::parse(doc).unwrap_err().to_string();
            assert!(msg.contains("must state its height"), "{msg}");
        }
        // cosmovisor's own plan fields are accepted and ignored
        let u = UpgradeInfo::parse(
            br#"{"name":"v2","height":9,"time":"0001-01-01T00:00:00Z","upgraded_client_state":null}"#,
        )
        .unwrap();
        assert_eq!(u.height, 9);
        assert_eq!(
            UpgradeInfo::parse(br#"{"name":"v2","height":0}"#)
                .unwrap()
                .height,
            0
        );
    }

    #[test]
    fn names_are_recased_like_cosmovisor() {
        assert_eq!(recase_upgrade_name("V2-Fork", true), "v2-fork");
        assert_eq!(recase_upgrade_name("V2-Fork", false), "V2-Fork");
        if !recase_enabled() {
            return; // the environment of this test run turned it off
        }
        let u = UpgradeInfo::parse(br#"{"name":"V2.0-RC","height":1}"#).unwrap();
        assert_eq!(u.name, "v2.0-rc");
    }

    #[test]
    fn binaries_must_be_urls_with_good_checksums() {
        for bad in [
            r#"{"binaries":{"linux/amd64":"ftp://x/geth"}}"#,
            r#"{"binaries":{"linux/amd64":"https://"}}"#,
            r#"{"binaries":{"linux/amd64":"https://x/geth?checksum=sha256:abc"}}"#,
            r#"{"binaries":{"linux/amd64":{"url":"https://x","checksum":"md5:00"}}}"#,
            r#"{"binaries":[]}"#,
        ] {
            let v: Value = serde_json::from_str(bad).unwrap();
            assert!(binaries_from_info(&v).is_err(), "{bad}");
        }
    }

    #[test]
    fn checksum_rules() {
        assert!(Checksum::parse(SUM).is_ok());
        assert!(Checksum::parse("md5:abcd").is_err());
        assert!(Checksum::parse("sha256:abcd").is_err());
        assert!(Checksum::parse(
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        )
        .is_err());
    }

    proptest! {
        #[test]
        fn every_prefix_of_a_valid_file_is_transient_or_valid(cut in 0usize..120) {
            let doc = format!(r#"{{"name":"v1.2.0","height":1234,"info":{{"binaries":{{"any":"https://h/x?checksum={SUM}"}}}}}}"#);
            let cut = cut.min(doc.len());
            match UpgradeInfo::parse(&doc.as_bytes()[..cut]) {
                Ok(u) => prop_assert_eq!(u.name, "v1.2.0"),
                Err(e) => prop_assert!(e.is_transient(), "prefix {} gave {}", cut, e),
            }
        }

        #[test]
        fn round_trip(name in "[a-z][a-z0-9.]{0,10}", height in 0u64..u64::MAX) {
            let u = UpgradeInfo { name, height, info: InfoSource::None };
            let back = UpgradeInfo::from_value(&u.to_cosmovisor_json()).unwrap();
            prop_assert_eq!(back, u);
        }
    }
}
