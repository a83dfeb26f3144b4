//! Typed values of config keys, and the strict parsers for each type.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::network::{LogFormat, Network};

/// The type of a config key: decides how text and TOML values are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true`/`false`.
    Bool,
    /// A whole number from 0 to `u32::MAX`.
    U32,
    /// A whole number from 0 to `i64::MAX` (TOML's integer limit).
    U64,
    /// A finite decimal number.
    F64,
    /// Free text.
    Str,
    /// A duration written with a unit (`"300s"`, `"5m"`).
    Duration,
    /// A duration, or `""` for "not set".
    OptDuration,
    /// A list of strings.
    List,
    /// Text, or `""` for "not set".
    OptStr,
    /// One of the given names.
    Choice(&'static [&'static str]),
    /// One of the given names, or `""` for "not set".
    OptChoice(&'static [&'static str]),
}

impl Kind {
    /// What a value of this kind looks like, for "expected ..." messages.
    pub fn expected(self) -> String {
        match self {
            Kind::Bool => "a boolean (true/false)".into(),
            Kind::U32 => format!("a whole number from 0 to {}", u32::MAX),
            Kind::U64 => format!("a whole number from 0 to {}", i64::MAX),
            Kind::F64 => "a number such as 2.0".into(),
            Kind::Str => "a string".into(),
            Kind::Duration => "a duration with a unit, such as \"300s\" or \"5m\"".into(),
            Kind::OptDuration => {
                "a duration with a unit, such as \"30days\", or \"\" for none".into()
            }
            Kind::List => "a list of strings, such as [\"a\", \"b\"]".into(),
            Kind::OptStr => "a string, or \"\" for none".into(),
            Kind::Choice(c) => format!("one of {}", c.join(", ")),
            Kind::OptChoice(c) => format!("one of {}, or \"\" for none", c.join(", ")),
        }
    }

    /// Short type name for documentation tables.
    pub fn type_name(self) -> String {
        match self {
            Kind::Bool => "bool".into(),
            Kind::U32 | Kind::U64 => "integer".into(),
            Kind::F64 => "float".into(),
            Kind::Str => "string".into(),
            Kind::Duration => "duration".into(),
            Kind::OptDuration => "duration or \"\"".into(),
            Kind::List => "list of strings".into(),
            Kind::OptStr => "string or \"\"".into(),
            Kind::Choice(c) => c.join(" \\| "),
            Kind::OptChoice(c) => format!("{} \\| \"\"", c.join(" \\| ")),
        }
    }

    /// Parses text given on the command line (`config set`) or in the environment.
    ///
    /// Errors carry [`Kind::expected`].
    pub fn parse_text(self, s: &str) -> Result<Value, String> {
        let bad = || Err(self.expected());
        match self {
            Kind::Bool => parse_bool(s)
                .map(Value::Bool)
                .ok_or_else(|| self.expected()),
            Kind::U32 => parse_uint(s)
                .filter(|n| *n <= u64::from(u32::MAX))
                .map(|n| Value::Int(n as i64))
                .ok_or_else(|| self.expected()),
            Kind::U64 => parse_uint(s)
                .filter(|n| *n <= i64::MAX as u64)
                .map(|n| Value::Int(n as i64))
                .ok_or_else(|| self.expected()),
            Kind::F64 => match s.trim().parse::<f64>() {
                Ok(f) if f.is_finite() && !s.trim().is_empty() => Ok(Value::Float(f)),
                _ => bad(),
            },
            Kind::Str => Ok(Value::Str(s.to_string())),
            Kind::Duration => parse_duration(s)
                .map(Value::Duration)
                .ok_or_else(|| self.expected()),
            Kind::OptDuration => {
                if s.is_empty() {
                    Ok(Value::Unset)
                } else {
                    parse_duration(s)
                        .map(Value::Duration)
                        .ok_or_else(|| self.expected())
                }
            }
            Kind::List => parse_list_text(s)
                .map(Value::List)
                .ok_or_else(|| self.expected()),
            Kind::OptStr => Ok(if s.is_empty() {
                Value::Unset
            } else {
                Value::Str(s.to_string())
            }),
            Kind::Choice(c) => {
                if c.contains(&s) {
                    Ok(Value::Str(s.to_string()))
                } else {
                    bad()
                }
            }
            Kind::OptChoice(c) => {
                if s.is_empty() {
                    Ok(Value::Unset)
                } else if c.contains(&s) {
                    Ok(Value::Str(s.to_string()))
                } else {
                    bad()
                }
            }
        }
    }

    /// Reads a TOML value; the error says what was expected and what was found.
    pub fn from_toml(self, v: &toml_edit::Value) -> Result<Value, String> {
        let found = describe_toml(v);
        let mismatch = || Err(format!("expected {}, found {found}", self.expected()));
        match self {
            Kind::Bool => v.as_bool().map(Value::Bool).map_or_else(mismatch, Ok),
            Kind::U32 | Kind::U64 => match v.as_integer() {
                Some(n) if n >= 0 && (self == Kind::U64 || n <= i64::from(u32::MAX)) => {
                    Ok(Value::Int(n))
                }
                _ => mismatch(),
            },
            Kind::F64 => match (v.as_float(), v.as_integer()) {
                (Some(f), _) if f.is_finite() => Ok(Value::Float(f)),
                (_, Some(n)) => Ok(Value::Float(n as f64)),
                _ => mismatch(),
            },
            Kind::List => {
                let Some(arr) = v.as_array() else {
                    return mismatch();
                };
                let mut out = Vec::with_capacity(arr.len());
                for item in arr.iter() {
                    match item.as_str() {
                        Some(s) => out.push(s.to_string()),
                        None => {
                            return Err(format!(
                                "expected {}, found a list holding {}",
                                self.expected(),
                                describe_toml(item)
                            ))
                        }
                    }
                }
                Ok(Value::List(out))
            }
            _ => match v.as_str() {
                Some(s) => self
                    .parse_text(s)
                    .map_err(|e| format!("expected {e}, found {found}")),
                None => mismatch(),
            },
        }
    }
}

/// How a TOML value is named in messages: `string "yes"`, `integer 300`, ...
pub fn describe_toml(v: &toml_edit::Value) -> String {
    match v {
        toml_edit::Value::String(s) => format!("string \"{}\"", s.value()),
        toml_edit::Value::Integer(i) => format!("integer {}", i.value()),
        toml_edit::Value::Float(f) => format!("float {}", f.value()),
        toml_edit::Value::Boolean(b) => format!("boolean {}", b.value()),
        toml_edit::Value::Datetime(d) => format!("date-time {}", d.value()),
        toml_edit::Value::Array(_) => "a list".into(),
        toml_edit::Value::InlineTable(_) => "a table".into(),
    }
}

/// Parses a boolean exactly as Go's `strconv.ParseBool` does:
/// `1 t T TRUE true True` and `0 f F FALSE false False`, nothing else.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Parses a duration with a unit (`300s`, `5m`, `1h 30m`) with humantime.
///
/// A bare number, even `0`, is rejected: a duration needs a unit.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let t = s.trim();
    if t.is_empty() || t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    humantime::parse_duration(t).ok()
}

/// Formats a duration the way [`parse_duration`] reads it back (`5m`, `1h 30m`).
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    humantime::format_duration(d).to_string()
}

fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A list on the command line: a TOML array (`["a", "b"]`) or comma-separated
/// text (`a,b`); `""` and `[]` are the empty list.
fn parse_list_text(s: &str) -> Option<Vec<String>> {
    let t = s.trim();
    if t.starts_with('[') {
        let v: toml_edit::Value = t.parse().ok()?;
        let arr = v.as_array()?;
        return arr.iter().map(|i| i.as_str().map(str::to_string)).collect();
    }
    if t.is_empty() {
        return Some(Vec::new());
    }
    Some(
        t.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
    )
}

/// A typed config value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A non-negative whole number.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text (also choices such as network names).
    Str(String),
    /// A duration.
    Duration(Duration),
    /// A list of strings.
    List(Vec<String>),
    /// An optional key with no value.
    Unset,
}

impl Value {
    /// The TOML form written to files (`Unset` is `""`).
    pub fn to_toml(&self) -> toml_edit::Value {
        match self {
            Value::Bool(b) => (*b).into(),
            Value::Int(n) => (*n).into(),
            Value::Float(f) => (*f).into(),
            Value::Str(s) => s.as_str().into(),
            Value::Duration(d) => format_duration(*d).into(),
            Value::List(l) => {
                let mut a = toml_edit::Array::new();
                for s in l {
                    a.push(s.as_str());
                }
                toml_edit::Value::Array(a)
            }
            Value::Unset => "".into(),
        }
    }

    /// The JSON form used by `config show --json` (durations as text).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Bool(b) => (*b).into(),
            Value::Int(n) => (*n).into(),
            Value::Float(f) => (*f).into(),
            Value::Str(s) => s.as_str().into(),
            Value::Duration(d) => format_duration(*d).into(),
            Value::List(l) => l.clone().into(),
            Value::Unset => serde_json::Value::Null,
        }
    }
}

impl fmt::Display for Value {
    /// TOML syntax (`true`, `5`, `"5m"`, `["a"]`, `""`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_toml().to_string().trim())
    }
}

/// Conversion between a Rust field type and a [`Value`].
pub(crate) trait Field: Sized {
    /// The field as a value.
    fn to_value(&self) -> Value;
    /// The value as the field type (`None` when the kinds do not match).
    fn from_value(v: &Value) -> Option<Self>;
}

impl Field for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl Field for u32 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(n) => u32::try_from(*n).ok(),
            _ => None,
        }
    }
}

impl Field for u64 {
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        }
    }
}

impl Field for f64 {
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Float(f) => Some(*f),
            Value::Int(n) => Some(*n as f64),
            _ => None,
        }
    }
}

impl Field for String {
    fn to_value(&self) -> Value {
        Value::Str(self.clone())
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl Field for Option<String> {
    fn to_value(&self) -> Value {
        self.as_ref()
            .map_or(Value::Unset, |s| Value::Str(s.clone()))
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Str(s) => Some(Some(s.clone())),
            Value::Unset => Some(None),
            _ => None,
        }
    }
}

impl Field for Option<PathBuf> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Unset, |p| {
            Value::Str(p.to_string_lossy().into_owned())
        })
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Str(s) => Some(Some(PathBuf::from(s))),
            Value::Unset => Some(None),
            _ => None,
        }
    }
}

impl Field for Duration {
    fn to_value(&self) -> Value {
        Value::Duration(*self)
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Duration(d) => Some(*d),
            _ => None,
        }
    }
}

impl Field for Option<Duration> {
    fn to_value(&self) -> Value {
        self.map_or(Value::Unset, Value::Duration)
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Duration(d) => Some(Some(*d)),
            Value::Unset => Some(None),
            _ => None,
        }
    }
}

impl Field for Vec<String> {
    fn to_value(&self) -> Value {
        Value::List(self.clone())
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::List(l) => Some(l.clone()),
            _ => None,
        }
    }
}

impl Field for Option<Network> {
    fn to_value(&self) -> Value {
        self.map_or(Value::Unset, |n| Value::Str(n.as_str().into()))
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Str(s) => s.parse().ok().map(Some),
            Value::Unset => Some(None),
            _ => None,
        }
    }
}

impl Field for LogFormat {
    fn to_value(&self) -> Value {
        Value::Str(self.as_str().into())
    }
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_like_go() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "yes", "no", "on", "tRUE", " true", "2", "yes please"] {
            assert_eq!(parse_bool(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations_need_units() {
        assert_eq!(parse_duration("300s"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        for bad in ["", "300", "0", "5 parsecs", "-1s", "1.5.3s"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        for d in [0u64, 1, 59, 60, 300, 3600, 86_400 * 3 + 7] {
            let d = Duration::from_secs(d);
            assert_eq!(parse_duration(&format_duration(d)), Some(d));
        }
    }

    #[test]
    fn text_and_toml_parsing() {
        assert_eq!(Kind::U32.parse_text("5"), Ok(Value::Int(5)));
        assert!(Kind::U32.parse_text("-5").is_err());
        assert!(Kind::U32.parse_text("4294967296").is_err());
        assert_eq!(
            Kind::List.parse_text("a, b,,c"),
            Ok(Value::List(vec!["a".into(), "b".into(), "c".into()]))
        );
        assert_eq!(
            Kind::List.parse_text(r#"["x", "y"]"#),
            Ok(Value::List(vec!["x".into(), "y".into()]))
        );
        assert_eq!(Kind::List.parse_text(""), Ok(Value::List(vec![])));
        assert_eq!(Kind::OptDuration.parse_text(""), Ok(Value::Unset));
        let v: toml_edit::Value = "\"yes\"".parse().unwrap();
        assert_eq!(
            Kind::Bool.from_toml(&v).unwrap_err(),
            "expected a boolean (true/false), found string \"yes\""
        );
        let v: toml_edit::Value = "300".parse().unwrap();
        assert_eq!(
            Kind::Duration.from_toml(&v).unwrap_err(),
            "expected a duration with a unit, such as \"300s\" or \"5m\", found integer 300"
        );
        let v: toml_edit::Value = "\"5 parsecs\"".parse().unwrap();
        assert_eq!(
            Kind::Duration.from_toml(&v).unwrap_err(),
            "expected a duration with a unit, such as \"300s\" or \"5m\", found string \"5 parsecs\""
        );
    }
}
