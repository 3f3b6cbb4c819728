//! Reading JavaScript arguments: values to JSON, JSON to option structs, every failure an
//! `INVALID_INPUT` naming the option at fault.
//!
//! Arguments arrive as untyped JavaScript values so that a wrong type is our
//! `INVALID_INPUT` (with `.field`) rather than a napi conversion error, and so that a bad
//! argument rejects the returned promise instead of throwing synchronously. `Date`s become
//! RFC 3339 strings and `undefined` properties are skipped, so `{ at: new Date() }` and
//! `{ scmSha: process.env.SHA }` (unset) both work.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::{JsValue, ValueType};
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use versioner_core::Error;

/// Deeper than any option object; stops cycles.
const MAX_DEPTH: usize = 64;

/// The JSON form of a JavaScript value (`undefined` as `null`).
pub(crate) fn to_json(value: &Unknown<'_>, field: &str) -> versioner_core::Result<Value> {
    convert(value, field, 0)
}

fn napi_failure(field: &str, e: &napi::Error) -> Error {
    Error::invalid(field, format!("cannot be read: {}", e.reason))
}

fn convert(value: &Unknown<'_>, field: &str, depth: usize) -> versioner_core::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(Error::invalid(
            field,
            "is nested too deeply (or refers to itself)",
        ));
    }
    let fail = |e: napi::Error| napi_failure(field, &e);
    let ty = value.get_type().map_err(fail)?;
    Ok(match ty {
        ValueType::Undefined | ValueType::Null => Value::Null,
        ValueType::Boolean => Value::Bool(value.coerce_to_bool().map_err(fail)?),
        ValueType::Number => number(
            value
                .coerce_to_number()
                .map_err(fail)?
                .get_double()
                .map_err(fail)?,
            field,
        )?,
        ValueType::String => Value::String(
            value
                .coerce_to_string()
                .map_err(fail)?
                .into_utf8()
                .map_err(fail)?
                .as_str()
                .map_err(fail)?
                .to_string(),
        ),
        ValueType::Object if value.is_date().map_err(fail)? => {
            let millis = value
                .coerce_to_number()
                .map_err(fail)?
                .get_double()
                .map_err(fail)?;
            Value::String(date_string(millis, field)?)
        }
        ValueType::Object if value.is_array().map_err(fail)? => {
            let array = value.coerce_to_object().map_err(fail)?;
            let len = array.get_array_length().map_err(fail)?;
            let mut items = Vec::with_capacity(len as usize);
            for i in 0..len {
                let item: Unknown<'_> = array.get_element(i).map_err(fail)?;
                items.push(convert(&item, &format!("{field}[{i}]"), depth + 1)?);
            }
            Value::Array(items)
        }
        ValueType::Object => {
            let object = value.coerce_to_object().map_err(fail)?;
            let mut map = Map::new();
            for key in Object::keys(&object).map_err(fail)? {
                let item: Unknown<'_> = object.get_named_property(&key).map_err(fail)?;
                if item.get_type().map_err(fail)? == ValueType::Undefined {
                    continue;
                }
                let path = if field.is_empty() {
                    key.clone()
                } else {
                    format!("{field}.{key}")
                };
                map.insert(key, convert(&item, &path, depth + 1)?);
            }
            Value::Object(map)
        }
        ValueType::BigInt => {
            return Err(Error::invalid(
                field,
                "must not be a BigInt; pass a number or a string",
            ));
        }
        ValueType::Function => return Err(Error::invalid(field, "must not be a function")),
        _ => return Err(Error::invalid(field, "must be JSON-like data")),
    })
}

fn number(n: f64, field: &str) -> versioner_core::Result<Value> {
    // INVARIANT: whole numbers stay integers, so `42` reaches the core as "42", not "42.0".
    const SAFE: f64 = 9_007_199_254_740_991.0;
    if n.fract() == 0.0 && n.abs() <= SAFE {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a whole number within ±2^53 converts exactly"
        )]
        return Ok(Value::Number(Number::from(n as i64)));
    }
    Number::from_f64(n)
        .map(Value::Number)
        .ok_or_else(|| Error::invalid(field, "must be a finite number"))
}

fn date_string(millis: f64, field: &str) -> versioner_core::Result<String> {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a valid Date holds a whole number of milliseconds within ±8.64e15"
    )]
    let ms = millis as i64;
    match (millis.is_finite(), Utc.timestamp_millis_opt(ms).single()) {
        (true, Some(t)) => Ok(t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        _ => Err(Error::invalid(field, "is an invalid Date")),
    }
}

/// Parses an option object into `T`; a missing (`undefined`) object counts as `{}` when
/// `optional`.
pub(crate) fn options<T: DeserializeOwned>(
    value: &Unknown<'_>,
    param: &str,
    optional: bool,
) -> versioner_core::Result<T> {
    let json = to_json(value, "")?;
    let json = match json {
        Value::Null if optional => Value::Object(Map::new()),
        Value::Object(_) => json,
        other => {
            return Err(Error::invalid(
                param,
                format!("must be an object, found {}", kind(&other)),
            ));
        }
    };
    deserialize(json, param)
}

/// A store or client options object for the core (`versioner_core::input`), which reads and
/// checks it: `undefined`/`null` is `null` (the defaults) and every camelCase key becomes the
/// core's snake_case one (`busyTimeoutMs` → `busy_timeout_ms`), so an unknown key comes back
/// named as the caller wrote it (the error's `field` is camelCased again). A snake_case key is
/// refused here: JavaScript options are camelCase.
pub(crate) fn core_options(value: &Unknown<'_>, param: &str) -> versioner_core::Result<Value> {
    match to_json(value, "")? {
        Value::Null => Ok(Value::Null),
        Value::Object(map) => core_keys(map),
        other => Err(Error::invalid(
            param,
            format!("must be an object, found {}", kind(&other)),
        )),
    }
}

/// Renames the keys of an options object for the core (see [`core_options`]).
pub(crate) fn core_keys(map: Map<String, Value>) -> versioner_core::Result<Value> {
    let mut out = Map::new();
    for (key, value) in map {
        if key.contains('_') {
            return Err(Error::invalid(
                key,
                "unknown option; options are camelCase (`busyTimeoutMs`, not `busy_timeout_ms`)",
            ));
        }
        out.insert(snake_case(&key), value);
    }
    Ok(Value::Object(out))
}

/// `busyTimeoutMs` → `busy_timeout_ms` (the inverse of [`camel_case`]).
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Deserializes `json` into `T`, naming the option at fault (`windows[0].start`).
pub(crate) fn deserialize<T: DeserializeOwned>(
    json: Value,
    param: &str,
) -> versioner_core::Result<T> {
    // Plain serde first; the path-tracking reader (a string per key) only names a failure.
    if let Ok(value) = T::deserialize(&json) {
        return Ok(value);
    }
    serde_path_to_error::deserialize(json).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { param.to_string() } else { path };
        Error::invalid(field, e.into_inner().to_string())
    })
}

/// A required string argument.
pub(crate) fn string(value: &Unknown<'_>, param: &str) -> versioner_core::Result<String> {
    match to_json(value, param)? {
        Value::String(s) => Ok(s),
        Value::Null => Err(Error::invalid(param, "is required")),
        other => Err(Error::invalid(
            param,
            format!("must be a string, found {}", kind(&other)),
        )),
    }
}

/// An optional string argument (`undefined` or `null`: absent).
pub(crate) fn opt_string(
    value: &Unknown<'_>,
    param: &str,
) -> versioner_core::Result<Option<String>> {
    match to_json(value, param)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(Error::invalid(
            param,
            format!("must be a string, found {}", kind(&other)),
        )),
    }
}

/// An optional whole-number argument (`undefined` or `null`: absent).
pub(crate) fn opt_integer(value: &Unknown<'_>, param: &str) -> versioner_core::Result<Option<i64>> {
    match to_json(value, param)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| Error::invalid(param, format!("must be a whole number, found {n}"))),
        other => Err(Error::invalid(
            param,
            format!("must be a number, found {}", kind(&other)),
        )),
    }
}

/// A required instant argument: a `Date` or an RFC 3339 string.
pub(crate) fn required_instant(
    value: &Unknown<'_>,
    param: &str,
) -> versioner_core::Result<DateTime<Utc>> {
    match to_json(value, param)? {
        Value::String(s) => {
            instant(Some(&s), param)?.ok_or_else(|| Error::invalid(param, "is required"))
        }
        Value::Null => Err(Error::invalid(param, "is required")),
        other => Err(Error::invalid(
            param,
            format!(
                "must be a Date or an RFC 3339 string, found {}",
                kind(&other)
            ),
        )),
    }
}

/// An optional instant given as a `Date` or an RFC 3339 string (already converted to one).
pub(crate) fn instant(
    value: Option<&str>,
    field: &str,
) -> versioner_core::Result<Option<DateTime<Utc>>> {
    value
        .map(|s| {
            DateTime::parse_from_rfc3339(s.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    Error::invalid(
                        field,
                        format!("`{s}` is not a Date or an RFC 3339 timestamp (e.g. 2026-11-21T09:30:00Z)"),
                    )
                })
        })
        .transpose()
}

/// "a string", "an array", ... for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `product_name` → `productName`: the core names fields as on the wire; JavaScript callers
/// know them in camelCase. Anything else (`env.GITHUB_SHA`, `windows[0].start`, paths this
/// binding already wrote) is left as it is.
pub(crate) fn camel_case(field: &str) -> String {
    let snake = field
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !snake {
        return field.to_string();
    }
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
