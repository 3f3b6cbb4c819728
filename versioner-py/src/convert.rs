//! Conversions between Python objects and the core's types.
//!
//! Records are built natively from the core's values (`record.rs`). Here: JSON values as plain
//! Python objects (reports returned as dicts), and in the other direction JSON-compatible
//! Python values (dicts, lists, str, int, float, bool, None, plus timezone-aware `datetime` and
//! `timedelta`) as a `serde_json::Value` for metadata and rule definitions, and the argument
//! helpers.

use chrono::{DateTime, SecondsFormat, Utc};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyDateTime, PyDelta, PyDeltaAccess, PyDict, PyFloat, PyInt, PyList, PyMapping,
    PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

use crate::errors::invalid;

/// How deeply nested a metadata or rule value may be.
const MAX_DEPTH: usize = 64;

/// The serde JSON of a core value.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> PyResult<Value> {
    serde_json::to_value(value).map_err(|e| {
        crate::errors::to_py_err(versioner_core::Error::internal(format!(
            "cannot convert a record: {e}"
        )))
    })
}

/// A JSON value as plain Python objects (dict, list, str, int, float, bool, None).
pub(crate) fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Keyword options as the JSON object the core reads (`versioner_core::input`): every key
/// kept as given (the core refuses unknown ones, naming them), a None value left out (the
/// option keeps its default, as None means in Python).
pub(crate) fn options_json(options: Option<&Bound<'_, PyDict>>) -> PyResult<Value> {
    let mut map = serde_json::Map::new();
    for (key, value) in options.into_iter().flat_map(|o| o.iter()) {
        if value.is_none() {
            continue;
        }
        let key: String = key.extract()?;
        let value = py_to_json(&value, &key)?;
        map.insert(key, value);
    }
    Ok(Value::Object(map))
}

/// A JSON-compatible Python value as JSON; `field` names it in errors (`extra_metadata.key`).
pub(crate) fn py_to_json(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Value> {
    py_to_json_at(obj, field, 0)
}

fn py_to_json_at(obj: &Bound<'_, PyAny>, path: &str, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(invalid(
            path,
            format!("is nested more than {MAX_DEPTH} levels deep"),
        ));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: Python's bool is an int.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(invalid(path, "is an integer too large for JSON (64 bits)"));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        return Number::from_f64(f).map(Value::Number).ok_or_else(|| {
            invalid(
                path,
                format!("is {f}, which JSON cannot represent; use a finite number"),
            )
        });
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if obj.is_instance_of::<PyDateTime>() {
        return Ok(Value::String(
            aware_datetime(obj, path)?.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ));
    }
    if let Ok(d) = obj.cast::<PyDelta>() {
        return Ok(Value::String(duration_text(d, path)?));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            items.push(py_to_json_at(&item?, &format!("{path}[{i}]"), depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    if let Ok(mapping) = obj.cast::<PyMapping>() {
        let mut map = Map::new();
        for item in mapping.items()?.try_iter()? {
            let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
            let Ok(key) = key.cast::<PyString>() else {
                return Err(invalid(
                    path,
                    format!(
                        "has a key of type `{}`; JSON object keys must be str",
                        type_name(&key)
                    ),
                ));
            };
            let key = key.to_cow()?.into_owned();
            let value = py_to_json_at(&value, &format!("{path}.{key}"), depth + 1)?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    Err(invalid(
        path,
        format!(
            "is of type `{}`, which is not JSON-compatible; use dict, list, str, int, float, bool, \
             None, an aware datetime or a timedelta",
            type_name(obj)
        ),
    ))
}

/// A `timedelta` in the duration form rules read (`86400s`, `90s 500ms`).
fn duration_text(d: &Bound<'_, PyDelta>, path: &str) -> PyResult<String> {
    let days = i64::from(d.get_days());
    if days < 0 {
        return Err(invalid(
            path,
            "is a negative timedelta; durations are positive",
        ));
    }
    let secs = days * 86_400 + i64::from(d.get_seconds());
    let micros = d.get_microseconds();
    Ok(if micros == 0 {
        format!("{secs}s")
    } else {
        format!("{secs}s {micros}us")
    })
}

/// The name of an object's type, for messages.
pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .and_then(|n| n.extract::<String>())
        .unwrap_or_else(|_| "object".to_string())
}

/// A timezone-aware `datetime` as UTC; a naive one is refused, naming `field`.
fn aware_datetime(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<DateTime<Utc>> {
    if obj.call_method0("utcoffset")?.is_none() {
        return Err(invalid(
            field,
            "is a naive datetime; pass a timezone-aware one, e.g. datetime.now(timezone.utc)",
        ));
    }
    let text: String = obj.call_method0("isoformat")?.extract()?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            invalid(
                field,
                format!("`{text}` cannot be read as an RFC 3339 instant"),
            )
        })
}

/// An instant argument: an aware `datetime` or an RFC 3339 string.
pub(crate) fn instant(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<DateTime<Utc>> {
    if obj.is_instance_of::<PyDateTime>() {
        return aware_datetime(obj, field);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_cow()?;
        return DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                invalid(
                    field,
                    format!("`{s}` is not an RFC 3339 timestamp (e.g. 2026-11-21T09:30:00Z)"),
                )
            });
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "`{field}` must be a timezone-aware datetime or an RFC 3339 string, not {}",
        type_name(obj)
    )))
}

/// An optional instant argument.
pub(crate) fn opt_instant(
    obj: Option<&Bound<'_, PyAny>>,
    field: &str,
) -> PyResult<Option<DateTime<Utc>>> {
    match obj {
        Some(o) if !o.is_none() => instant(o, field).map(Some),
        _ => Ok(None),
    }
}

/// An optional instant argument in its wire form (RFC 3339 text), as events carry it.
pub(crate) fn opt_instant_text(
    obj: Option<&Bound<'_, PyAny>>,
    field: &str,
) -> PyResult<Option<String>> {
    Ok(opt_instant(obj, field)?.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
}

/// A text argument that may also be given as an int (versions and build numbers often are).
pub(crate) fn text_or_int(obj: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<String>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(s.to_cow()?.into_owned()));
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return Ok(Some(obj.str()?.to_cow()?.into_owned()));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "`{field}` must be a str (or an int), not {}",
        type_name(obj)
    )))
}

/// An optional JSON-compatible argument (metadata).
pub(crate) fn opt_json(obj: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<Value>> {
    match obj {
        Some(o) if !o.is_none() => py_to_json(o, field).map(Some),
        _ => Ok(None),
    }
}

/// A page size or offset: a non-negative int that fits the core's `u32`.
pub(crate) fn count(n: i64, field: &str) -> PyResult<u32> {
    u32::try_from(n).map_err(|_| {
        invalid(
            field,
            format!(
                "must be a non-negative integer of at most {}, got {n}",
                u32::MAX
            ),
        )
    })
}

/// A duration argument: seconds (int or float) or a `timedelta`.
pub(crate) fn seconds(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<std::time::Duration> {
    if let Ok(d) = obj.cast::<PyDelta>() {
        if d.get_days() < 0 {
            return Err(invalid(
                field,
                "is a negative timedelta; durations are positive",
            ));
        }
        return obj.extract();
    }
    if (obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyFloat>())
        && !obj.is_instance_of::<PyBool>()
    {
        let secs: f64 = obj.extract()?;
        return std::time::Duration::try_from_secs_f64(secs).map_err(|_| {
            invalid(
                field,
                format!("must be a non-negative, finite number of seconds, got {secs}"),
            )
        });
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "`{field}` must be a number of seconds or a timedelta, not {}",
        type_name(obj)
    )))
}
