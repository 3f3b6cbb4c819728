//! Records built natively: a core value becomes one of the frozen dataclasses of
//! `versioner._records` in one pass, with no JSON in between.
//!
//! The core's records are `serde::Serialize`; [`Conv`] is a serde `Serializer` whose output is
//! Python objects. What it makes of each value depends on the *shape* expected there, read
//! once per process from the dataclasses themselves (`_records._native_plans()`: each class's
//! fields, their wire names, converters and defaults):
//!
//! - a record: its wire keys are matched to attributes (refusing, by name, a key it has no
//!   attribute for), each value converted by the attribute's kind, left-out attributes given
//!   their defaults; the instance is made with `object.__new__` and its `__dict__` filled
//!   directly (what the frozen dataclass's `__init__` would store, without its per-field
//!   `object.__setattr__` calls);
//! - an instant: the core's RFC 3339 text becomes an aware `datetime` in UTC;
//! - a list or a dict of records; a record whose class reads its wire form itself (`Rule`)
//!   gets it as plain values;
//! - anything else: plain values (dict, list, str, int, float, bool, None), as `serde_json`
//!   would write them; an attribute with a Python converter (`Stint.superseded`) gets those.
//!
//! `_Record._from_wire` (a wire dict from Python, e.g. the field guard's vectors) comes here
//! too, through [`wire_record`], so the one implementation is the one the tests exercise.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Datelike, Timelike, Utc};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDateTime, PyDict, PyList, PyString, PyType, PyTzInfo};
use serde::Serialize;
use serde::ser::{self, Error as _, Impossible};

use crate::convert::py_to_json;

/// Builds the record `class` (a class name of `versioner._records`) from a core value.
pub(crate) fn record<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    class: &str,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let reg = registry(py)?;
    value
        .serialize(Conv::record(py, reg, reg.class(class)?))
        .map_err(|e| e.0)
}

/// Builds a list of records of `class`.
pub(crate) fn records_list<'py, T: Serialize>(
    py: Python<'py>,
    class: &str,
    values: &[T],
) -> PyResult<Bound<'py, PyList>> {
    let reg = registry(py)?;
    let conv = Conv::record(py, reg, reg.class(class)?);
    let list = PyList::empty(py);
    for v in values {
        list.append(v.serialize(conv).map_err(|e| e.0)?)?;
    }
    Ok(list)
}

/// A class of `versioner._records`, e.g. `Deployment`.
pub(crate) fn record_class<'py>(py: Python<'py>, class: &str) -> PyResult<Bound<'py, PyAny>> {
    Ok(registry(py)?.class(class)?.cls.bind(py).clone().into_any())
}

/// `_Record._from_wire`: builds the record `name` from its wire form given as a Python
/// mapping (JSON-compatible values; aware datetimes and timedeltas are read as the core
/// writes them).
#[pyfunction]
#[pyo3(name = "_record")]
pub(crate) fn wire_record<'py>(
    py: Python<'py>,
    name: &str,
    wire: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    record(py, name, &py_to_json(wire, name)?)
}

/// How one attribute's wire value becomes its value.
enum Kind {
    /// Plain values, as they are.
    Plain,
    /// An instant: RFC 3339 text → an aware UTC `datetime`.
    Instant,
    /// A nested record of the class at this index of the registry (None stays None).
    Record(usize),
    /// A list of records of that class.
    List(usize),
    /// A dict of records of that class, by key.
    Dict(usize),
    /// Plain values passed through this Python callable.
    Python(Py<PyAny>),
}

/// What an attribute holds when the core leaves it out or sends null.
enum Absent {
    /// What its kind makes of None: an empty list or dict, the Python converter's answer to
    /// None, or None.
    Convert,
    /// This (immutable) default.
    Value(Py<PyAny>),
    /// A new empty list (`default_factory=list`).
    EmptyList,
    /// A new empty dict (`default_factory=dict`).
    EmptyDict,
    /// What this default factory makes.
    Factory(Py<PyAny>),
}

/// One attribute of a record class.
struct Field {
    /// The attribute's name.
    attr: Py<PyString>,
    /// Its key in the core's serde form (`Verdict.summary` is `message`).
    wire: String,
    /// How its wire value is converted.
    kind: Kind,
    /// Its value when absent.
    absent: Absent,
}

impl Field {
    /// The value of the attribute when the core left it out or sent null.
    fn absent<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match &self.absent {
            Absent::Value(v) => v.bind(py).clone(),
            Absent::EmptyList => PyList::empty(py).into_any(),
            Absent::EmptyDict => PyDict::new(py).into_any(),
            Absent::Factory(f) => f.bind(py).call0()?,
            Absent::Convert => match &self.kind {
                Kind::List(_) => PyList::empty(py).into_any(),
                Kind::Dict(_) => PyDict::new(py).into_any(),
                Kind::Python(f) => f.bind(py).call1((py.None(),))?,
                Kind::Plain | Kind::Instant | Kind::Record(_) => py.None().into_bound(py),
            },
        })
    }
}

/// One record class of `versioner._records`, as the builder reads it.
struct Class {
    /// Its name (`Deployment`).
    name: String,
    /// The dataclass.
    cls: Py<PyType>,
    /// Its own `_from_wire`, when it reads its wire form itself (`Rule`): fed plain values.
    custom: Option<Py<PyAny>>,
    /// Its attributes, in dataclass order.
    fields: Vec<Field>,
}

impl Class {
    /// The position of the field sent as `wire`, searched from `next` (the field after the
    /// one sent before, often the one sent now) round to it: a few length comparisons, cheaper
    /// than hashing the key.
    fn lookup(&self, wire: &str, next: usize) -> Option<usize> {
        let n = self.fields.len();
        (0..n)
            .map(|k| (next + k) % n)
            .find(|&i| self.fields[i].wire == wire)
    }
}

/// Every record class, and the few Python objects the builder calls, read once per process.
struct Registry {
    /// The classes; [`Kind`] refers to them by position.
    classes: Vec<Class>,
    /// Each class's position, by name.
    by_name: HashMap<String, usize>,
    /// `object.__new__`: an instance without `__init__`.
    object_new: Py<PyAny>,
    /// `"__dict__"`.
    dict_name: Py<PyString>,
    /// `_records._refuse_unknown`: raises `VersionerError` naming the unknown keys.
    refuse: Py<PyAny>,
    /// `datetime.timezone.utc`.
    utc: Py<PyTzInfo>,
}

impl Registry {
    /// The class named `name`.
    fn class(&self, name: &str) -> PyResult<&Class> {
        self.by_name
            .get(name)
            .map(|&i| &self.classes[i])
            .ok_or_else(|| internal(format!("`{name}` is not a record class of versioner")))
    }
}

/// The registry, built on first use from `versioner._records._native_plans()`.
fn registry(py: Python<'_>) -> PyResult<&Registry> {
    static REGISTRY: PyOnceLock<Registry> = PyOnceLock::new();
    REGISTRY.get_or_try_init(py, || load(py))
}

/// One field as `_native_plans()` describes it: attribute, wire name, kind, its argument
/// (a class name or a converter), what it holds when absent, and that default.
type FieldPlan<'py> = (
    Bound<'py, PyString>,
    String,
    String,
    Bound<'py, PyAny>,
    String,
    Bound<'py, PyAny>,
);

/// One class as `_native_plans()` describes it: name, class, own `_from_wire` or None, fields.
type ClassPlan<'py> = (
    String,
    Bound<'py, PyType>,
    Option<Bound<'py, PyAny>>,
    Vec<FieldPlan<'py>>,
);

/// Reads the registry from `versioner._records`.
fn load(py: Python<'_>) -> PyResult<Registry> {
    let records = py.import("versioner._records")?;
    let plans: Vec<ClassPlan<'_>> = records.call_method0("_native_plans")?.extract()?;
    let by_name: HashMap<String, usize> = plans
        .iter()
        .enumerate()
        .map(|(i, (name, ..))| (name.clone(), i))
        .collect();
    let class_at = |arg: &Bound<'_, PyAny>| -> PyResult<usize> {
        let name: String = arg.extract()?;
        by_name
            .get(&name)
            .copied()
            .ok_or_else(|| internal(format!("`{name}` is not a record class of versioner")))
    };
    let mut classes = Vec::with_capacity(plans.len());
    for (name, cls, custom, field_plans) in plans {
        let mut fields = Vec::with_capacity(field_plans.len());
        for (attr, wire, kind, arg, absent, default) in field_plans {
            let kind = match kind.as_str() {
                "plain" => Kind::Plain,
                "instant" => Kind::Instant,
                "record" => Kind::Record(class_at(&arg)?),
                "list" => Kind::List(class_at(&arg)?),
                "dict" => Kind::Dict(class_at(&arg)?),
                "python" => Kind::Python(arg.unbind()),
                other => return Err(internal(format!("{name}: unknown field kind `{other}`"))),
            };
            let absent = match absent.as_str() {
                "convert" => Absent::Convert,
                "value" => Absent::Value(default.unbind()),
                "list" => Absent::EmptyList,
                "dict" => Absent::EmptyDict,
                "factory" => Absent::Factory(default.unbind()),
                other => return Err(internal(format!("{name}: unknown default `{other}`"))),
            };
            let attr = PyString::intern(py, attr.to_cow()?.as_ref()).unbind();
            fields.push(Field {
                attr,
                wire,
                kind,
                absent,
            });
        }
        classes.push(Class {
            name,
            cls: cls.unbind(),
            custom: custom.map(Bound::unbind),
            fields,
        });
    }
    let object = py.import("builtins")?.getattr("object")?;
    Ok(Registry {
        classes,
        by_name,
        object_new: object.getattr("__new__")?.unbind(),
        dict_name: PyString::intern(py, "__dict__").unbind(),
        refuse: records.getattr("_refuse_unknown")?.unbind(),
        utc: PyTzInfo::utc(py)?.to_owned().unbind(),
    })
}

/// An `INTERNAL` `VersionerError`: a record the binding cannot convert (a bug).
fn internal(message: String) -> PyErr {
    crate::errors::to_py_err(versioner_core::Error::internal(format!(
        "cannot convert a record for Python: {message}"
    )))
}

/// A conversion error: the Python exception to raise.
#[derive(Debug)]
pub(crate) struct Error(PyErr);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<M: fmt::Display>(msg: M) -> Error {
        Error(internal(msg.to_string()))
    }
}

impl From<PyErr> for Error {
    fn from(e: PyErr) -> Error {
        Error(e)
    }
}

/// What a value is converted into.
#[derive(Clone, Copy)]
enum Shape<'a> {
    /// Plain values.
    Plain,
    /// An aware UTC `datetime` (or None).
    Instant,
    /// A record of this class (or None).
    Record(&'a Class),
    /// A list of records of this class.
    List(&'a Class),
    /// A dict of records of this class.
    Dict(&'a Class),
}

/// The serializer: writes one value as the Python object of its expected shape.
#[derive(Clone, Copy)]
struct Conv<'a, 'py> {
    /// The interpreter.
    py: Python<'py>,
    /// The record classes.
    reg: &'a Registry,
    /// What the value becomes.
    shape: Shape<'a>,
}

impl<'a, 'py> Conv<'a, 'py> {
    /// A serializer for a record of `class`.
    fn record(py: Python<'py>, reg: &'a Registry, class: &'a Class) -> Conv<'a, 'py> {
        Conv {
            py,
            reg,
            shape: Shape::Record(class),
        }
    }

    /// The same serializer, for another shape.
    fn with(self, shape: Shape<'a>) -> Conv<'a, 'py> {
        Conv { shape, ..self }
    }

    /// The serializer for the values of `field`.
    fn field(self, field: &Field) -> Conv<'a, 'py> {
        let classes = &self.reg.classes;
        self.with(match field.kind {
            Kind::Plain | Kind::Python(_) => Shape::Plain,
            Kind::Instant => Shape::Instant,
            Kind::Record(i) => Shape::Record(&classes[i]),
            Kind::List(i) => Shape::List(&classes[i]),
            Kind::Dict(i) => Shape::Dict(&classes[i]),
        })
    }

    /// The error for a value of the wrong form (`got`) for the expected shape.
    fn unexpected(self, got: &str) -> Error {
        let expected = match self.shape {
            Shape::Plain => "a plain value".to_string(),
            Shape::Instant => "an RFC 3339 instant".to_string(),
            Shape::Record(c) => format!("a {} object", c.name),
            Shape::List(c) => format!("a list of {}", c.name),
            Shape::Dict(c) => format!("a map of {}", c.name),
        };
        Error(internal(format!("expected {expected}, got {got}")))
    }

    /// A scalar: kept when plain values are expected.
    fn scalar<T>(self, v: T, what: &str) -> Result<Bound<'py, PyAny>, Error>
    where
        T: IntoPyObject<'py>,
    {
        match self.shape {
            Shape::Plain => Ok(v.into_bound_py_any(self.py)?),
            _ => Err(self.unexpected(what)),
        }
    }

    /// A dict builder whose values take `shape`.
    fn dict(self, shape: Shape<'a>) -> Dict<'a, 'py> {
        Dict {
            dict: PyDict::new(self.py),
            value: self.with(shape),
            key: None,
            last: String::new(),
            sorted: true,
        }
    }

    /// An object (a map or a struct): a record's fields, or a dict.
    fn object(self, what: &str) -> Result<Obj<'a, 'py>, Error> {
        match self.shape {
            Shape::Plain => Ok(Obj::Dict(self.dict(Shape::Plain))),
            Shape::Dict(c) => Ok(Obj::Dict(self.dict(Shape::Record(c)))),
            Shape::Record(c) if c.custom.is_some() => Ok(Obj::Custom(self.dict(Shape::Plain), c)),
            Shape::Record(c) => Ok(Obj::Record(RecordBuilder {
                conv: self,
                class: c,
                values: vec![None; c.fields.len()],
                unknown: Vec::new(),
                key: None,
                next: 0,
            })),
            Shape::Instant | Shape::List(_) => Err(self.unexpected(what)),
        }
    }

    /// A list builder (a sequence or a tuple).
    fn seq(self, what: &str) -> Result<Seq<'a, 'py>, Error> {
        let elem = match self.shape {
            Shape::Plain => Shape::Plain,
            Shape::List(c) => Shape::Record(c),
            _ => return Err(self.unexpected(what)),
        };
        Ok(Seq {
            list: PyList::empty(self.py),
            elem: self.with(elem),
        })
    }

    /// `{variant: value}`, as serde_json writes an enum variant with data.
    fn variant(
        self,
        variant: &'static str,
        value: Bound<'py, PyAny>,
    ) -> Result<Bound<'py, PyAny>, Error> {
        let dict = PyDict::new(self.py);
        dict.set_item(variant, value)?;
        Ok(dict.into_any())
    }

    /// An instant from its RFC 3339 text.
    fn instant(self, text: &str) -> Result<Bound<'py, PyAny>, Error> {
        let t = DateTime::parse_from_rfc3339(text.trim())
            .map_err(|_| {
                Error(pyo3::exceptions::PyValueError::new_err(format!(
                    "not an RFC 3339 instant: {text:?}"
                )))
            })?
            .with_timezone(&Utc);
        // A leap second (nanoseconds past 1e9) is the last microsecond of its second.
        let micros = t.timestamp_subsec_micros().min(999_999);
        let dt = PyDateTime::new(
            self.py,
            t.year(),
            u8::try_from(t.month()).unwrap_or(1),
            u8::try_from(t.day()).unwrap_or(1),
            u8::try_from(t.hour()).unwrap_or(0),
            u8::try_from(t.minute()).unwrap_or(0),
            u8::try_from(t.second()).unwrap_or(0),
            micros,
            Some(self.reg.utc.bind(self.py)),
        )?;
        Ok(dt.into_any())
    }
}

impl<'a, 'py> ser::Serializer for Conv<'a, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;
    type SerializeSeq = Seq<'a, 'py>;
    type SerializeTuple = Seq<'a, 'py>;
    type SerializeTupleStruct = Seq<'a, 'py>;
    type SerializeTupleVariant = Variant<Seq<'a, 'py>>;
    type SerializeMap = Obj<'a, 'py>;
    type SerializeStruct = Obj<'a, 'py>;
    type SerializeStructVariant = Variant<Dict<'a, 'py>>;

    fn serialize_bool(self, v: bool) -> Result<Self::Ok, Error> {
        match self.shape {
            Shape::Plain => Ok(PyBool::new(self.py, v).to_owned().into_any()),
            _ => Err(self.unexpected("a bool")),
        }
    }

    fn serialize_i8(self, v: i8) -> Result<Self::Ok, Error> {
        self.scalar(v, "a number")
    }

    fn serialize_i16(self, v: i16) -> Result<Self::Ok, Error> {
        self.scalar(v, "a number")
    }

    fn serialize_i32(self, v: i32) -> Result<Self::Ok, Error> {
        self.scalar(v, "a number")
    }

    fn serialize_i64(self, v: i64) -> Result<Self::Ok, Error> {
        self.scalar(v, "a number")
    }

    fn serialize_i128(self, v: i128) -> Result<Self::Ok, Error> {
        self.scalar(v, "a number")
    }

    fn serialize_u8(self, v: u8) -> Result<Self::Ok, Error> {
        self.scalar(v, "a number")
    }

    fn serialize_u16(self, v: u16) -> Result<Self::Ok, Error> {
        self.scalar(v, "a number")
    }

    fn serialize_u32(self, v: u32) -> Result<Self::Ok, Error> {
        self.scalar(v, "a number")
    }

    fn serialize_u64(self, v: u64) -> Result<Self::Ok, Error> {
        self.scalar(v, "a number")
    }

    fn serialize_u128(self, v: u128) -> Result<Self::Ok, Error> {
        self.scalar(v, "a number")
    }

    fn serialize_f32(self, v: f32) -> Result<Self::Ok, Error> {
        self.serialize_f64(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<Self::Ok, Error> {
        // As serde_json: a number JSON cannot represent is null.
        if v.is_finite() {
            self.scalar(v, "a number")
        } else {
            self.serialize_none()
        }
    }

    fn serialize_char(self, v: char) -> Result<Self::Ok, Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<Self::Ok, Error> {
        match self.shape {
            Shape::Plain => Ok(PyString::new(self.py, v).into_any()),
            Shape::Instant => self.instant(v),
            _ => Err(self.unexpected("a string")),
        }
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Self::Ok, Error> {
        // As serde_json: a list of numbers.
        match self.shape {
            Shape::Plain => Ok(PyList::new(self.py, v)?.into_any()),
            _ => Err(self.unexpected("bytes")),
        }
    }

    fn serialize_none(self) -> Result<Self::Ok, Error> {
        Ok(self.py.None().into_bound(self.py))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Self::Ok, Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Self::Ok, Error> {
        self.serialize_none()
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Self::Ok, Error> {
        self.serialize_none()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Self::Ok, Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Self::Ok, Error> {
        match self.shape {
            Shape::Plain => self.variant(variant, value.serialize(self)?),
            _ => Err(self.unexpected("an enum variant")),
        }
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a, 'py>, Error> {
        self.seq("a sequence")
    }

    fn serialize_tuple(self, _len: usize) -> Result<Seq<'a, 'py>, Error> {
        self.seq("a tuple")
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Seq<'a, 'py>, Error> {
        self.seq("a tuple")
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Variant<Seq<'a, 'py>>, Error> {
        match self.shape {
            Shape::Plain => Ok(Variant {
                variant,
                inner: self.seq("a tuple")?,
            }),
            _ => Err(self.unexpected("an enum variant")),
        }
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Obj<'a, 'py>, Error> {
        self.object("a map")
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Obj<'a, 'py>, Error> {
        self.object("a struct")
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Variant<Dict<'a, 'py>>, Error> {
        match self.shape {
            Shape::Plain => Ok(Variant {
                variant,
                inner: self.dict(Shape::Plain),
            }),
            _ => Err(self.unexpected("an enum variant")),
        }
    }
}

/// A list being built.
struct Seq<'a, 'py> {
    /// The list.
    list: Bound<'py, PyList>,
    /// The serializer of its elements.
    elem: Conv<'a, 'py>,
}

impl<'py> Seq<'_, 'py> {
    /// Appends one element.
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        Ok(self.list.append(value.serialize(self.elem)?)?)
    }
}

impl<'py> ser::SerializeSeq for Seq<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        Ok(self.list.into_any())
    }
}

impl<'py> ser::SerializeTuple for Seq<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        Ok(self.list.into_any())
    }
}

impl<'py> ser::SerializeTupleStruct for Seq<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        Ok(self.list.into_any())
    }
}

/// A dict being built (a plain map or struct, or a dict of records).
///
/// Its keys end up sorted, as in the `serde_json::Map` (a `BTreeMap`) records were converted
/// through before: the core's maps mostly are `serde_json::Map`s already, in order; a struct
/// or a `HashMap` is sorted when finished.
struct Dict<'a, 'py> {
    /// The dict.
    dict: Bound<'py, PyDict>,
    /// The serializer of its values.
    value: Conv<'a, 'py>,
    /// The key given by `serialize_key`, awaiting its value.
    key: Option<Bound<'py, PyString>>,
    /// The last key set.
    last: String,
    /// Whether the keys came in order so far.
    sorted: bool,
}

impl<'py> Dict<'_, 'py> {
    /// The Python key of a serde map key (a string, or a number or bool as its text).
    fn key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<Bound<'py, PyString>, Error> {
        key.serialize(KeySer(|k: &str| Ok(self.python_key(k))))
    }

    /// The Python string of the key `k`, noting whether it comes after the one before.
    fn python_key(&mut self, k: &str) -> Bound<'py, PyString> {
        if self.sorted && !self.dict.is_empty() && k < self.last.as_str() {
            self.sorted = false;
        }
        self.last.clear();
        self.last.push_str(k);
        PyString::new(self.value.py, k)
    }

    /// The finished dict, its keys sorted.
    fn finish(self) -> Result<Bound<'py, PyDict>, Error> {
        if self.sorted {
            return Ok(self.dict);
        }
        let items = self.dict.items();
        items.sort()?;
        Ok(PyDict::from_sequence(&items)?)
    }

    /// Sets `key` to the converted `value`.
    fn set<T: Serialize + ?Sized>(
        &mut self,
        key: Bound<'py, PyString>,
        value: &T,
    ) -> Result<(), Error> {
        Ok(self.dict.set_item(key, value.serialize(self.value)?)?)
    }

    /// Sets the field `key` of a struct.
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let key = self.python_key(key);
        self.set(key, value)
    }

    /// Reads the value for the key given last.
    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::custom("a map value without its key"))?;
        self.set(key, value)
    }
}

impl<'py> ser::SerializeStructVariant for Variant<Dict<'_, 'py>> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.inner.field(key, value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        let Variant { variant, inner } = self;
        let conv = inner.value;
        conv.variant(variant, inner.finish()?.into_any())
    }
}

impl<'py> ser::SerializeTupleVariant for Variant<Seq<'_, 'py>> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.inner.push(value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        let Variant { variant, inner } = self;
        inner.elem.variant(variant, inner.list.into_any())
    }
}

/// An enum variant with data, written `{variant: data}`.
struct Variant<T> {
    /// The variant's name.
    variant: &'static str,
    /// Its data, being built.
    inner: T,
}

/// A record being built: its fields' values, by position.
struct RecordBuilder<'a, 'py> {
    /// The serializer it came from.
    conv: Conv<'a, 'py>,
    /// The record's class.
    class: &'a Class,
    /// Each field's converted value, once sent.
    values: Vec<Option<Bound<'py, PyAny>>>,
    /// The keys sent that the class has no attribute for.
    unknown: Vec<String>,
    /// The field named by `serialize_key`, awaiting its value (or the unknown key).
    key: Option<Result<usize, String>>,
    /// The position after the field sent last (the next one is often the one after it).
    next: usize,
}

impl<'py> RecordBuilder<'_, 'py> {
    /// The field sent as `key`, or the key when the class has no attribute for it.
    fn find(&self, key: &str) -> Result<usize, String> {
        self.class
            .lookup(key, self.next)
            .ok_or_else(|| key.to_owned())
    }

    /// Converts the value of the field `found`.
    fn set<T: Serialize + ?Sized>(
        &mut self,
        found: Result<usize, String>,
        value: &T,
    ) -> Result<(), Error> {
        match found {
            Ok(i) => {
                self.values[i] = Some(value.serialize(self.conv.field(&self.class.fields[i]))?);
                self.next = i + 1;
            }
            Err(key) => self.unknown.push(key),
        }
        Ok(())
    }

    /// The record: refuses unknown keys, fills in defaults, makes the instance.
    fn finish(self) -> Result<Bound<'py, PyAny>, Error> {
        let RecordBuilder {
            conv,
            class,
            values,
            unknown,
            ..
        } = self;
        let (py, reg) = (conv.py, conv.reg);
        if !unknown.is_empty() {
            let known: Vec<&str> = class.fields.iter().map(|f| f.wire.as_str()).collect();
            reg.refuse.bind(py).call1((&class.name, unknown, known))?;
            return Err(Error::custom(format!("{}: unknown fields", class.name)));
        }
        // The instance's own `__dict__` (laid out for its class's attributes), filled in the
        // order `__init__` would fill it.
        let obj = reg.object_new.bind(py).call1((class.cls.bind(py),))?;
        let dict = obj
            .getattr(reg.dict_name.bind(py))?
            .cast_into::<PyDict>()
            .map_err(PyErr::from)?;
        for (field, value) in class.fields.iter().zip(values) {
            let value = match value.filter(|v| !v.is_none()) {
                Some(v) => match &field.kind {
                    Kind::Python(f) => f.bind(py).call1((v,))?,
                    _ => v,
                },
                None => field.absent(py)?,
            };
            dict.set_item(field.attr.bind(py), value)?;
        }
        Ok(obj)
    }
}

/// An object being serialized: a record, a record class's own wire form, or a dict.
enum Obj<'a, 'py> {
    /// A plain dict, or a dict of records.
    Dict(Dict<'a, 'py>),
    /// A record built here.
    Record(RecordBuilder<'a, 'py>),
    /// A record whose class reads its plain wire form itself (`Rule._from_wire`).
    Custom(Dict<'a, 'py>, &'a Class),
}

impl<'py> Obj<'_, 'py> {
    /// One field or map entry.
    fn entry<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        match self {
            Obj::Dict(d) | Obj::Custom(d, _) => d.field(key, value),
            Obj::Record(r) => {
                let found = r.find(key);
                r.set(found, value)
            }
        }
    }

    /// The finished object.
    fn finish(self) -> Result<Bound<'py, PyAny>, Error> {
        match self {
            Obj::Dict(d) => Ok(d.finish()?.into_any()),
            Obj::Record(r) => r.finish(),
            Obj::Custom(d, class) => {
                let py = d.value.py;
                let custom = class
                    .custom
                    .as_ref()
                    .ok_or_else(|| Error::custom("no custom reader"))?;
                Ok(custom.bind(py).call1((d.finish()?,))?)
            }
        }
    }
}

impl<'py> ser::SerializeStruct for Obj<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.entry(key, value)
    }

    fn end(self) -> Result<Self::Ok, Error> {
        self.finish()
    }
}

impl<'py> ser::SerializeMap for Obj<'_, 'py> {
    type Ok = Bound<'py, PyAny>;
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        match self {
            Obj::Dict(d) | Obj::Custom(d, _) => d.key = Some(d.key(key)?),
            Obj::Record(r) => {
                let found = key.serialize(KeySer(|k: &str| Ok(r.find(k))))?;
                r.key = Some(found);
            }
        }
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match self {
            Obj::Dict(d) | Obj::Custom(d, _) => d.value(value),
            Obj::Record(r) => {
                let found = r
                    .key
                    .take()
                    .ok_or_else(|| Error::custom("a map value without its key"))?;
                r.set(found, value)
            }
        }
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        match self {
            Obj::Dict(d) | Obj::Custom(d, _) => {
                let key = d.key(key)?;
                d.set(key, value)
            }
            Obj::Record(r) => {
                let found = key.serialize(KeySer(|k: &str| Ok(r.find(k))))?;
                r.set(found, value)
            }
        }
    }

    fn end(self) -> Result<Self::Ok, Error> {
        self.finish()
    }
}

/// The serializer of a map key: its text (a string, or a number, bool or unit variant written
/// as text, as serde_json does) handed to a function.
struct KeySer<F>(F);

impl<R, F: FnOnce(&str) -> Result<R, Error>> KeySer<F> {
    /// The key's text, handed over.
    fn text(self, text: &str) -> Result<R, Error> {
        (self.0)(text)
    }
}

/// The error for a map key that is not text-like.
fn bad_key() -> Error {
    Error::custom("a map key must be a string")
}

impl<R, F: FnOnce(&str) -> Result<R, Error>> ser::Serializer for KeySer<F> {
    type Ok = R;
    type Error = Error;
    type SerializeSeq = Impossible<R, Error>;
    type SerializeTuple = Impossible<R, Error>;
    type SerializeTupleStruct = Impossible<R, Error>;
    type SerializeTupleVariant = Impossible<R, Error>;
    type SerializeMap = Impossible<R, Error>;
    type SerializeStruct = Impossible<R, Error>;
    type SerializeStructVariant = Impossible<R, Error>;

    fn serialize_bool(self, v: bool) -> Result<R, Error> {
        self.text(if v { "true" } else { "false" })
    }

    fn serialize_i8(self, v: i8) -> Result<R, Error> {
        self.text(&v.to_string())
    }

    fn serialize_i16(self, v: i16) -> Result<R, Error> {
        self.text(&v.to_string())
    }

    fn serialize_i32(self, v: i32) -> Result<R, Error> {
        self.text(&v.to_string())
    }

    fn serialize_i64(self, v: i64) -> Result<R, Error> {
        self.text(&v.to_string())
    }

    fn serialize_i128(self, v: i128) -> Result<R, Error> {
        self.text(&v.to_string())
    }

    fn serialize_u8(self, v: u8) -> Result<R, Error> {
        self.text(&v.to_string())
    }

    fn serialize_u16(self, v: u16) -> Result<R, Error> {
        self.text(&v.to_string())
    }

    fn serialize_u32(self, v: u32) -> Result<R, Error> {
        self.text(&v.to_string())
    }

    fn serialize_u64(self, v: u64) -> Result<R, Error> {
        self.text(&v.to_string())
    }

    fn serialize_u128(self, v: u128) -> Result<R, Error> {
        self.text(&v.to_string())
    }

    fn serialize_f32(self, _v: f32) -> Result<R, Error> {
        Err(bad_key())
    }

    fn serialize_f64(self, _v: f64) -> Result<R, Error> {
        Err(bad_key())
    }

    fn serialize_char(self, v: char) -> Result<R, Error> {
        self.text(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result<R, Error> {
        self.text(v)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<R, Error> {
        Err(bad_key())
    }

    fn serialize_none(self) -> Result<R, Error> {
        Err(bad_key())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<R, Error> {
        Err(bad_key())
    }

    fn serialize_unit(self) -> Result<R, Error> {
        Err(bad_key())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<R, Error> {
        Err(bad_key())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<R, Error> {
        self.text(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<R, Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<R, Error> {
        Err(bad_key())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(bad_key())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(bad_key())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(bad_key())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(bad_key())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(bad_key())
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(bad_key())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(bad_key())
    }
}
