//! Argument conversion for the Deployment Request methods of `versioner.Tracker`.
//!
//! Turns the Pythonic keyword arguments (`versions=[("api", "1.2.0")]` or `{"api": "1.2.0"}`,
//! `slots=["qa"]`, `optional_slots=["security"]`, `release_notes=…`, templates as text, a path,
//! dicts or records) into the core's `RequestDraft`, `RequestChange`, `RequestActionRequest`,
//! `RequestQuery` and `RequestTemplate`. Every rule about what is valid stays in the core: this
//! module only reshapes, and names the argument at fault when a shape is wrong.

use std::path::PathBuf;
use std::str::FromStr;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyMapping, PyString, PyTuple};
use serde::de::DeserializeOwned;
use serde_json::Value;
use versioner_core::request::{RequestContext, TemplateFile};
use versioner_core::{
    RequestAction, RequestActionRequest, RequestQuery, RequestStatus, RequestTemplate, SlotSpec,
    VersionRef,
};

use crate::convert::{opt_json, py_to_json, text_or_int, type_name};
use crate::errors::{OrRaise, invalid};
use crate::record::record_class;

/// A JSON value read as a core type; a shape the type refuses is `INVALID_INPUT` naming
/// `field` and saying what serde found.
fn from_json<T: DeserializeOwned>(value: Value, field: &str) -> PyResult<T> {
    serde_json::from_value(value).map_err(|e| invalid(field, e.to_string()))
}

/// `versions=`: a mapping of product to version (`{"api": "1.2.0"}`) or an iterable of
/// `(product, version)` pairs; a version may be an int.
pub(crate) fn version_refs(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Vec<VersionRef>> {
    let pairs: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> =
        if let Ok(mapping) = obj.cast::<PyMapping>() {
            let mut out = Vec::new();
            for item in mapping.items()?.try_iter()? {
                out.push(item?.extract()?);
            }
            out
        } else if obj.is_instance_of::<PyString>() {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "`{field}` must be a list of (product, version) pairs or a dict of product to \
                 version, not a str"
            )));
        } else {
            let mut out = Vec::new();
            for (i, item) in obj.try_iter()?.enumerate() {
                let item = item?;
                let pair = item
                    .extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()
                    .map_err(|_| {
                        pyo3::exceptions::PyTypeError::new_err(format!(
                            "`{field}[{i}]` must be a (product, version) pair, not {}",
                            type_name(&item)
                        ))
                    })?;
                out.push(pair);
            }
            out
        };
    pairs
        .into_iter()
        .enumerate()
        .map(|(i, (product, version))| {
            let product =
                text_or_int(Some(&product), &format!("{field}[{i}] product"))?.unwrap_or_default();
            let version =
                text_or_int(Some(&version), &format!("{field}[{i}] version"))?.unwrap_or_default();
            Ok(VersionRef::new(product, version))
        })
        .collect()
}

/// `slots=` and `optional_slots=`: approval types (str) or slot dicts (`{"approval_type": "qa",
/// "optional": true}`); every `optional_slots` entry is advisory. `None` when neither is given.
pub(crate) fn slot_specs(
    slots: Option<&Bound<'_, PyAny>>,
    optional_slots: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Vec<SlotSpec>>> {
    if slots.is_none() && optional_slots.is_none() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for (field, list, optional) in [
        ("slots", slots, false),
        ("optional_slots", optional_slots, true),
    ] {
        let Some(list) = list else { continue };
        if list.is_instance_of::<PyString>() {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "`{field}` must be a list of approval types, not a str"
            )));
        }
        for (i, item) in list.try_iter()?.enumerate() {
            let item = item?;
            let here = format!("{field}[{i}]");
            if let Ok(s) = item.cast::<PyString>() {
                let t = s.to_cow()?.into_owned();
                out.push(if optional {
                    SlotSpec::optional(t)
                } else {
                    SlotSpec::required(t)
                });
            } else if item.is_instance_of::<PyMapping>() {
                let mut spec: Value = py_to_json(&item, &here)?;
                if optional && let Value::Object(m) = &mut spec {
                    m.insert("optional".into(), Value::Bool(true));
                }
                out.push(from_json(spec, &here)?);
            } else {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "`{here}` must be an approval type (str) or a dict with `approval_type` \
                     (and `optional`), not {}",
                    type_name(&item)
                )));
            }
        }
    }
    Ok(Some(out))
}

/// A list of str argument (`environments=`, `pre_steps=`, …); a lone str is refused rather
/// than read as its characters.
pub(crate) fn texts(obj: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<Vec<String>>> {
    let Some(obj) = obj else { return Ok(None) };
    if obj.is_instance_of::<PyString>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "`{field}` must be a list of str, not a str (wrap it: [{}])",
            obj.repr()?.to_cow()?
        )));
    }
    let mut out = Vec::new();
    for (i, item) in obj.try_iter()?.enumerate() {
        let item = item?;
        let Ok(s) = item.cast::<PyString>() else {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "`{field}[{i}]` must be a str, not {}",
                type_name(&item)
            )));
        };
        out.push(s.to_cow()?.into_owned());
    }
    Ok(Some(out))
}

/// The request's context from `release_notes=`, `issue_links=` and `metadata=`; `None` when
/// none is given.
pub(crate) fn context(
    release_notes: Option<String>,
    issue_links: Option<&Bound<'_, PyAny>>,
    metadata: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<RequestContext>> {
    if release_notes.is_none() && issue_links.is_none() && metadata.is_none() {
        return Ok(None);
    }
    let mut c = RequestContext::default();
    c.release_notes = release_notes;
    c.issue_links = texts(issue_links, "issue_links")?.unwrap_or_default();
    c.metadata = match opt_json(metadata, "metadata")? {
        None => serde_json::Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(invalid("metadata", "must be a dict (a JSON object)")),
    };
    Ok(Some(c))
}

/// An action with who does it (`actor`; empty: the tracker's own), their `role` and `comment`.
pub(crate) fn action(
    action: RequestAction,
    actor: Option<String>,
    role: Option<String>,
    comment: Option<String>,
) -> RequestActionRequest {
    let mut a = RequestActionRequest::new(action, actor.unwrap_or_default());
    a.actor_role = role;
    a.comment = comment;
    a
}

/// The filters of `requests()`: the status read by the core (`"in progress"` is
/// `in_progress`).
pub(crate) fn query(
    status: Option<String>,
    product: Option<String>,
    environment: Option<String>,
    releases_only: bool,
) -> PyResult<RequestQuery> {
    let mut q = RequestQuery::default();
    q.status = status
        .as_deref()
        .map(RequestStatus::from_str)
        .transpose()
        .or_raise()?;
    q.product = product;
    q.environment = environment;
    q.releases_only = releases_only;
    Ok(q)
}

/// `put_request_templates(templates)`: template-file text (TOML, or JSON starting with `{`),
/// a path to such a file, a dict `{"templates": [...]}`, or a list of template dicts or
/// `RequestTemplate` records.
pub(crate) fn templates(obj: &Bound<'_, PyAny>) -> PyResult<Vec<RequestTemplate>> {
    let py = obj.py();
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(TemplateFile::parse(&s.to_cow()?).or_raise()?.templates);
    }
    if obj.hasattr("__fspath__")? {
        let path: PathBuf = obj.extract()?;
        let text = std::fs::read_to_string(&path).map_err(|e| {
            invalid(
                "templates",
                format!("cannot read the template file {}: {e}", path.display()),
            )
        })?;
        return Ok(TemplateFile::parse(&text).or_raise()?.templates);
    }
    if obj.is_instance_of::<PyMapping>() {
        let file: TemplateFile = from_json(py_to_json(obj, "templates")?, "templates")?;
        return Ok(file.templates);
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let record = record_class(py, "RequestTemplate")?;
        let mut out = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            let item = item?;
            let here = format!("templates[{i}]");
            let value = if item.is_instance(&record)? {
                py_to_json(&item.call_method0("to_dict")?, &here)?
            } else {
                py_to_json(&item, &here)?
            };
            out.push(from_json(strip_nulls(value), &here)?);
        }
        return Ok(out);
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "`templates` must be template-file text, a path, a dict with `templates` or a list of \
         templates, not {}",
        type_name(obj)
    )))
}

/// A record's `to_dict()` gives None for unset optional fields; the core reads an absent key
/// and a null alike for those, except where a list is expected, so nulls are left out.
fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}
