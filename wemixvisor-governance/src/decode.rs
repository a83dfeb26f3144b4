//! Lenient readers for JSON-RPC answers.
//!
//! Geth-family nodes are not uniform: the same count is a hex quantity in one
//! method, a JSON number in another and a decimal string in a third
//! (`istanbul_getWbftExtraInfo.gasTip`), keys are capitalised in
//! `istanbul_getCommitSignersFromBlock` and addresses are checksummed in some
//! answers and lower-case in others. These helpers accept every such form and
//! report what did not fit, naming the method.

use std::str::FromStr;

use alloy_primitives::{Address, B256};
use serde_json::{Map, Value};
use wemixvisor_core::ChainError;

/// A decode error for `method`.
pub(crate) fn bad(method: &str, reason: impl Into<String>) -> ChainError {
    ChainError::Decode {
        method: method.to_string(),
        reason: reason.into(),
    }
}

/// Reads a count: a JSON number, a hex quantity (`"0x1f"`) or a decimal string.
pub(crate) fn lenient_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some("") => None,
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            }
        }
        _ => None,
    }
}

/// Reads a count, or says what it was instead.
pub(crate) fn u64_of(method: &str, what: &str, v: &Value) -> Result<u64, ChainError> {
    lenient_u64(v).ok_or_else(|| bad(method, format!("{what}: expected a number, got {v}")))
}

/// Reads an address in any letter case.
pub(crate) fn address_of(method: &str, what: &str, v: &Value) -> Result<Address, ChainError> {
    v.as_str()
        .and_then(|s| Address::from_str(s.trim()).ok())
        .ok_or_else(|| {
            bad(
                method,
                format!("{what}: expected a 20-byte hex address, got {v}"),
            )
        })
}

/// Reads a 32-byte hash.
pub(crate) fn hash_of(method: &str, what: &str, v: &Value) -> Result<B256, ChainError> {
    v.as_str()
        .and_then(|s| B256::from_str(s.trim()).ok())
        .ok_or_else(|| {
            bad(
                method,
                format!("{what}: expected a 32-byte hex hash, got {v}"),
            )
        })
}

/// Reads a list of addresses.
pub(crate) fn addresses_of(
    method: &str,
    what: &str,
    v: &Value,
) -> Result<Vec<Address>, ChainError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(|a| address_of(method, what, a)).collect(),
        other => Err(bad(
            method,
            format!("{what}: expected a list of addresses, got {other}"),
        )),
    }
}

/// The answer as an object, or a decode error.
pub(crate) fn object<'a>(method: &str, v: &'a Value) -> Result<&'a Map<String, Value>, ChainError> {
    v.as_object()
        .ok_or_else(|| bad(method, format!("expected an object, got {v}")))
}

/// The first present, non-null field among `names` (exact names first, then
/// ignoring letter case, for `Number` vs `number`).
pub(crate) fn field<'a>(obj: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| obj.get(*n).filter(|v| !v.is_null()))
        .or_else(|| {
            obj.iter()
                .find(|(k, v)| !v.is_null() && names.iter().any(|n| k.eq_ignore_ascii_case(n)))
                .map(|(_, v)| v)
        })
}

/// A map `address -> count`, e.g. `sealerActivity` of the simple `istanbul_status`.
pub(crate) fn address_counts(
    method: &str,
    what: &str,
    v: &Value,
) -> Result<std::collections::BTreeMap<Address, u64>, ChainError> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad(method, format!("{what}: expected an object, got {v}")))?;
    obj.iter()
        .map(|(k, n)| {
            let addr = Address::from_str(k.trim())
                .map_err(|_| bad(method, format!("{what}: key '{k}' is not an address")))?;
            Ok((addr, u64_of(method, what, n)?))
        })
        .collect()
}

/// True when every key of `obj` parses as an address.
pub(crate) fn keys_are_addresses(obj: &Map<String, Value>) -> bool {
    !obj.is_empty() && obj.keys().all(|k| Address::from_str(k.trim()).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_in_every_form() {
        assert_eq!(lenient_u64(&json!(7)), Some(7));
        assert_eq!(lenient_u64(&json!("0x1f")), Some(31));
        assert_eq!(
            lenient_u64(&json!("27600000000000")),
            Some(27_600_000_000_000)
        );
        assert_eq!(lenient_u64(&json!("0x")), None);
        assert_eq!(lenient_u64(&json!(-1)), None);
        assert_eq!(lenient_u64(&json!(null)), None);
    }

    #[test]
    fn fields_ignore_case_and_null() {
        let o = json!({"Number": 5, "hash": null, "Hash": "0x01"});
        let o = o.as_object().unwrap();
        assert_eq!(field(o, &["number"]), Some(&json!(5)));
        assert_eq!(field(o, &["hash"]), Some(&json!("0x01")));
        assert_eq!(field(o, &["missing"]), None);
    }

    #[test]
    fn addresses_any_case() {
        let lower = json!("0x52908400098527886e0f7030069857d2e4169ee7");
        let mixed = json!("0x52908400098527886E0F7030069857D2E4169EE7");
        assert_eq!(
            address_of("m", "a", &lower).unwrap(),
            address_of("m", "a", &mixed).unwrap()
        );
        assert!(address_of("m", "a", &json!("0x12")).is_err());
    }
}
