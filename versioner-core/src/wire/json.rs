//! Reading JSON text strictly: the one parser every JSON body and JSON argument goes through.
//!
//! `serde_json` on its own accepts two things the API must refuse:
//! - **duplicate keys**, silently keeping the last value (`{"status": "failed", "status":
//!   "success"}` records a success). [`parse`] refuses any key given twice in one object,
//!   at any depth, naming it by its path (`extra_metadata.ticket`).
//! - **a top-level array for a struct**: serde's derived structs also read a sequence, field by
//!   field in declaration order, so `["api", "1.2.0", "success"]` would be taken as a build
//!   event. [`parse_object`] refuses any body that is not a JSON object. (Every request body
//!   is an object whose nested values are read from JSON values, never as positional structs,
//!   so checking the top level closes this for every body.)
//!
//! The server's body extractor, the C ABI's JSON arguments and JSON policy files all read their
//! text here, so the rules are the same on every surface.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::Error;

/// Why JSON text was refused (not `non_exhaustive`: a surface maps both cases, and a new one
/// must break its build).
#[derive(Debug)]
pub enum JsonError {
    /// Not JSON at all (the parser's message, with line and column): HTTP 400.
    Malformed(String),
    /// JSON that breaks a rule of the API (a duplicate key, an array where an object is
    /// required): `INVALID_INPUT` naming the key, HTTP 422.
    Invalid(Error),
}

impl JsonError {
    /// The error as the core's `INVALID_INPUT`, a malformed text naming `field`.
    pub fn into_error(self, field: &str) -> Error {
        match self {
            JsonError::Malformed(m) => Error::invalid(field, format!("is not valid JSON: {m}")),
            JsonError::Invalid(e) => e,
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Malformed(m) => write!(f, "not valid JSON: {m}"),
            JsonError::Invalid(e) => e.fmt(f),
        }
    }
}

/// Parses JSON text into a value, refusing a key given twice in any object.
///
/// ```
/// use versioner_core::wire::json;
///
/// let v = json::parse(br#"{"a": {"b": 1}}"#)?;
/// assert_eq!(v["a"]["b"], 1);
/// let e = json::parse(br#"{"a": {"b": 1, "b": 2}}"#).unwrap_err().into_error("body");
/// assert_eq!(e.field(), Some("a.b"));
/// # Ok::<(), versioner_core::wire::json::JsonError>(())
/// ```
///
/// # Errors
/// [`JsonError::Malformed`] for text that is not JSON; [`JsonError::Invalid`] naming the path
/// of a duplicate key.
pub fn parse(text: &[u8]) -> Result<Value, JsonError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(text);
    let parsed = Strict {
        path: String::new(),
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(v) => Ok(v),
        Err(e) => Err(match duplicate.into_inner() {
            Some(path) => JsonError::Invalid(Error::invalid(
                path.clone(),
                format!("`{path}` is given more than once; give each key once"),
            )),
            None => JsonError::Malformed(e.to_string()),
        }),
    }
}

/// Parses a JSON request body: an object, every key given once.
///
/// # Errors
/// As [`parse`], and [`JsonError::Invalid`] on `body` for a JSON value that is not an object.
pub fn parse_object(text: &[u8]) -> Result<Map<String, Value>, JsonError> {
    match parse(text)? {
        Value::Object(map) => Ok(map),
        other => Err(JsonError::Invalid(Error::invalid(
            "body",
            format!(
                "must be a JSON object, found {}",
                crate::event::json_kind(&other)
            ),
        ))),
    }
}

/// A value at `path`; a duplicate key's path is left in `duplicate`.
struct Strict<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl Strict<'_> {
    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        let mut i = 0usize;
        while let Some(v) = seq.next_element_seed(Strict {
            path: format!("{}[{i}]", self.path),
            duplicate: self.duplicate,
        })? {
            items.push(v);
            i += 1;
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = self.child(&key);
            if out.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(path);
                return Err(de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(Strict {
                path,
                duplicate: self.duplicate,
            })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn a_duplicate_key_is_refused_at_any_depth_naming_its_path() {
        for (text, path) in [
            (r#"{"status": "failed", "status": "success"}"#, "status"),
            (
                r#"{"extra_metadata": {"t": 1, "t": 1}}"#,
                "extra_metadata.t",
            ),
            (
                r#"{"rules": [{"name": "a"}, {"name": "b", "name": "c"}]}"#,
                "rules[1].name",
            ),
        ] {
            let e = parse(text.as_bytes()).unwrap_err().into_error("body");
            assert_eq!(e.code(), ErrorCode::InvalidInput, "{text}");
            assert_eq!(e.field(), Some(path), "{text}");
            assert!(e.to_string().contains("is given more than once"), "{e}");
        }
    }

    #[test]
    fn only_an_object_is_a_body_and_malformed_text_is_malformed() {
        let e = parse_object(br#"["api", "1.2.0", "success"]"#)
            .unwrap_err()
            .into_error("body");
        assert_eq!(e.field(), Some("body"));
        assert!(
            e.to_string()
                .contains("must be a JSON object, found an array")
        );
        assert!(matches!(parse(b"{nope"), Err(JsonError::Malformed(_))));
        assert!(matches!(parse(b"{} {}"), Err(JsonError::Malformed(_))));
        let v = parse(br#"{"a": [1, -2, 1.5, true, null, "x"]}"#).unwrap();
        assert_eq!(v, serde_json::json!({"a": [1, -2, 1.5, true, null, "x"]}));
    }
}
