//! `versioner.Versioner`: the core in process, on a SQLite file, in memory, or on PostgreSQL.
//!
//! Every method is the base class's (`versioner.Tracker`); this class only opens the store:
//! `Versioner(path, **options)` for any location the core parses (a SQLite file, `:memory:`,
//! `sqlite:PATH`, a `postgres://` URL), `Versioner.connect(url, **options)` for PostgreSQL.
//! The location and the options are read by the core (`versioner_core::input`), so they mean
//! what they mean in every other binding.

use std::path::PathBuf;
use std::str::FromStr;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyType};
use versioner_core::buttons::{ButtonRequest, VariableRequest};
use versioner_core::input::{Location, PolicyInput};
use versioner_core::notify::{ChannelRequest, DeliveryStatus, HistoryFilter, PreferenceRequest};
use versioner_core::policy::PolicyFormat;
use versioner_core::{Actor, Role};

use crate::convert::{count, instant, options_json, py_to_json, text_or_int, type_name};
use crate::errors::OrRaise;
use crate::record::{record, records_list};
use crate::tracker::{Tracker, policy_input};

/// Versioner, in process: tracks builds and deployments in a SQLite file (or in memory, or in
/// a PostgreSQL database), enforces the preflight policy and answers "what is deployed where".
///
/// One instance may be shared by any number of threads; every call releases the GIL while it
/// works.
#[pyclass(frozen, extends = Tracker, module = "versioner", name = "Versioner")]
pub struct Versioner {
    /// Where the data lives (for `path` and the repr; its `Debug` and `Display` never show a
    /// database URL, which may hold a password).
    location: Location,
}

impl Versioner {
    /// Opens `location` with `options` (keyword arguments) and wraps it, acting as `actor`
    /// when given.
    fn open(
        py: Python<'_>,
        location: Location,
        actor: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Versioner>> {
        let options = options_json(options)?;
        let mut core = py.detach(|| location.open(&options)).or_raise()?;
        if let Some(a) = actor {
            core = core.acting_as(Actor::local(a));
        }
        Ok(
            PyClassInitializer::from(Tracker::in_process(core))
                .add_subclass(Versioner { location }),
        )
    }
}

#[pymethods]
impl Versioner {
    /// Opens (creating if needed) the database at `path`: a SQLite file (a str or a PathLike),
    /// `sqlite:PATH`, `":memory:"` or None (a private in-memory database), or a
    /// `postgres://` URL. Keyword options are the store's: for SQLite `synchronous` ("full",
    /// the default: an acknowledged event survives power loss; or "normal", faster) and
    /// `busy_timeout_ms`; for PostgreSQL those of `connect`. An unknown option raises
    /// InvalidInputError naming it.
    ///
    /// `actor` names who acts (recorded on builds, deployments, approvals and rule changes,
    /// and checked against its role: a registered principal's, else admin); without one,
    /// each call names who approves or changes a rule. See also `acting_as`.
    #[new]
    #[pyo3(signature = (path=None, *, actor=None, **options))]
    fn new(
        py: Python<'_>,
        path: Option<&Bound<'_, PyAny>>,
        actor: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClassInitializer<Versioner>> {
        let location = match path {
            None => Location::Memory,
            Some(p) if p.is_none() => Location::Memory,
            Some(p) => {
                if let Ok(text) = p.cast::<PyString>() {
                    Location::parse(&text.to_cow()?).or_raise()?
                } else if p.hasattr("__fspath__")? {
                    Location::from_path(&p.extract::<PathBuf>()?).or_raise()?
                } else {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "`path` must be a str or an os.PathLike, not {}",
                        type_name(p)
                    )));
                }
            }
        };
        Versioner::open(py, location, actor, options)
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host/db` or a
    /// libpq `host=… dbname=…` string), running pending migrations. Keyword options:
    /// `schema` keeps Versioner's tables in a schema of their own (created if missing);
    /// `max_connections` bounds the connection pool; `connect_timeout_ms` bounds the wait for
    /// a connection.
    #[classmethod]
    #[pyo3(signature = (url, *, actor=None, **options))]
    fn connect(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        url: &str,
        actor: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<Versioner>> {
        Py::new(
            py,
            Versioner::open(py, Location::postgres(url), actor, options)?,
        )
    }

    /// The same database, acting as `actor` (with `role`, for an actor that is not a
    /// registered principal; a registered one acts with its own role). The new instance
    /// shares the store; both stay usable.
    #[pyo3(signature = (actor, *, role=None))]
    fn acting_as(
        slf: &Bound<'_, Self>,
        actor: String,
        role: Option<String>,
    ) -> PyResult<Py<Versioner>> {
        let py = slf.py();
        let mut who = Actor::local(actor);
        if let Some(r) = role {
            who = who.with_role(r.parse::<Role>().or_raise()?);
        }
        let core = slf.as_super().get().local()?.acting_as(who);
        let location = slf.get().location.clone();
        Py::new(
            py,
            PyClassInitializer::from(Tracker::in_process(core))
                .add_subclass(Versioner { location }),
        )
    }

    /// Re-evaluates every decision recorded since `since`, oldest first, against the facts
    /// it was decided on, under `policy` (the inputs `apply_policy` takes: text, a path, a
    /// dict or a list of rules) or, when None, the policy then in force, and returns those
    /// that would now be decided otherwise. Nothing is written.
    #[pyo3(signature = (since, policy=None, *, format=None))]
    fn replay<'py>(
        slf: &Bound<'py, Self>,
        since: &Bound<'py, PyAny>,
        policy: Option<&Bound<'py, PyAny>>,
        format: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let since = instant(since, "since")?;
        let format = format.map(PolicyFormat::from_str).transpose().or_raise()?;
        let policy = policy
            .filter(|p| !p.is_none())
            .map(|p| policy_input(p, format))
            .transpose()?;
        let vr = slf.as_super().get().local()?;
        let changes = py
            .detach(|| {
                let candidate = policy.as_ref().map(PolicyInput::parse).transpose()?;
                vr.replay(since, candidate.as_ref())
            })
            .or_raise()?;
        records_list(py, "ReplayChange", &changes)
    }

    /// Checks the audit chain from the first event to the newest and returns what it found:
    /// an edited, removed or inserted row is named by `first_mismatch`.
    fn audit_verify<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let vr = slf.as_super().get().local()?;
        let report = py.detach(|| vr.audit_verify()).or_raise()?;
        record(py, "AuditReport", &report)
    }

    /// Delivers every notification channel's pending notifications once (until each is caught
    /// up); see `Versioner::deliver_pending`. The GIL is released while it runs.
    fn deliver_pending<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let vr = slf.as_super().get().local()?;
        let report = py.detach(|| vr.deliver_pending()).or_raise()?;
        record(py, "DeliveryReport", &report)
    }

    // ----- variables and deployment buttons ----------------------------------------------

    /// Sets the variable `name` to `value` at the organization's scope, or `product`'s
    /// (which overrides the organization's), and returns it as a Variable.
    #[pyo3(signature = (name, value, product=None))]
    fn set_variable<'py>(
        slf: &Bound<'py, Self>,
        name: String,
        value: String,
        product: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let vr = slf.as_super().get().local()?;
        let mut request = VariableRequest::new(name, value);
        request.product = product;
        let v = py.detach(|| vr.set_variable(&request)).or_raise()?;
        record(py, "Variable", &v)
    }

    /// The variables of a scope (the organization's when `product` is None), by name.
    #[pyo3(signature = (product=None))]
    fn variables<'py>(
        slf: &Bound<'py, Self>,
        product: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let vr = slf.as_super().get().local()?;
        let list = py.detach(|| vr.variables(product.as_deref())).or_raise()?;
        records_list(py, "Variable", &list)
    }

    /// Removes the variable `name` from a scope (the organization's when `product` is None).
    #[pyo3(signature = (name, product=None))]
    fn remove_variable(slf: &Bound<'_, Self>, name: &str, product: Option<String>) -> PyResult<()> {
        let vr = slf.as_super().get().local()?;
        slf.py()
            .detach(|| vr.remove_variable(name, product.as_deref()))
            .or_raise()
    }

    /// Adds a deployment button to `product`: `url_template` is an http(s) URL with
    /// `{variable}` placeholders, `environments` those it deploys to (one button per
    /// environment per product). Returns it as a DeploymentButton.
    #[pyo3(signature = (product, name, url_template, environments, *, enabled=true))]
    fn add_deployment_button<'py>(
        slf: &Bound<'py, Self>,
        product: String,
        name: String,
        url_template: String,
        environments: &Bound<'py, PyAny>,
        enabled: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let environments =
            crate::requests::texts(Some(environments), "environments")?.unwrap_or_default();
        let mut request = ButtonRequest::new(product, name, url_template, environments);
        request.enabled = enabled;
        let vr = slf.as_super().get().local()?;
        let b = py
            .detach(|| vr.add_deployment_button(&request))
            .or_raise()?;
        record(py, "DeploymentButton", &b)
    }

    /// The deployment buttons of `product` (every product's when None).
    #[pyo3(signature = (product=None))]
    fn deployment_buttons<'py>(
        slf: &Bound<'py, Self>,
        product: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let vr = slf.as_super().get().local()?;
        let list = py
            .detach(|| vr.deployment_buttons(product.as_deref()))
            .or_raise()?;
        records_list(py, "DeploymentButton", &list)
    }

    /// Removes the deployment button `id`.
    fn remove_deployment_button(slf: &Bound<'_, Self>, id: &str) -> PyResult<()> {
        let vr = slf.as_super().get().local()?;
        slf.py()
            .detach(|| vr.remove_deployment_button(id))
            .or_raise()
    }

    /// The enabled buttons of a recorded version, rendered for each of their environments
    /// (RenderedButton: `url`, or `error` such as `Missing variable: NAME`).
    fn version_buttons<'py>(
        slf: &Bound<'py, Self>,
        product: String,
        version: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let version = text_or_int(Some(version), "version")?.unwrap_or_default();
        let vr = slf.as_super().get().local()?;
        let list = py
            .detach(|| vr.version_buttons(&product, &version))
            .or_raise()?;
        records_list(py, "RenderedButton", &list)
    }

    // ----- notification configuration ---------------------------------------------------

    /// Every notification channel, by name, secrets masked.
    fn notification_channels<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let vr = slf.as_super().get().local()?;
        let list = py.detach(|| vr.notification_channels()).or_raise()?;
        records_list(py, "NotificationChannel", &list)
    }

    /// Adds a notification channel (`webhook`, `slack_webhook` or `email`) with its `config`
    /// (a dict) and returns it, secrets masked.
    fn add_notification_channel<'py>(
        slf: &Bound<'py, Self>,
        name: String,
        channel_type: String,
        config: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let request = ChannelRequest::new(name, channel_type, py_to_json(config, "config")?);
        let vr = slf.as_super().get().local()?;
        let c = py
            .detach(|| vr.add_notification_channel(&request))
            .or_raise()?;
        record(py, "NotificationChannel", &c)
    }

    /// Removes a notification channel (by id or name) and its preferences, and returns it.
    fn remove_notification_channel<'py>(
        slf: &Bound<'py, Self>,
        channel: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let vr = slf.as_super().get().local()?;
        let c = py
            .detach(|| vr.remove_notification_channel(channel))
            .or_raise()?;
        record(py, "NotificationChannel", &c)
    }

    /// Every notification preference, oldest first.
    fn notification_preferences<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let vr = slf.as_super().get().local()?;
        let list = py.detach(|| vr.notification_preferences()).or_raise()?;
        records_list(py, "NotificationPreference", &list)
    }

    /// Subscribes the channel `channel_id` (its id or name) to `event_type` (or `*`), only
    /// for the `environments`, `products` and `statuses` given.
    #[pyo3(signature = (channel_id, event_type, *, environments=None, products=None, statuses=None))]
    fn add_notification_preference<'py>(
        slf: &Bound<'py, Self>,
        channel_id: String,
        event_type: String,
        environments: Option<&Bound<'py, PyAny>>,
        products: Option<&Bound<'py, PyAny>>,
        statuses: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let mut request = PreferenceRequest::new(channel_id, event_type);
        let list = |v: Option<&Bound<'py, PyAny>>, field: &str| {
            crate::requests::texts(v.filter(|v| !v.is_none()), field).map(Option::unwrap_or_default)
        };
        request.filters.environments = list(environments, "environments")?;
        request.filters.products = list(products, "products")?;
        request.filters.statuses = list(statuses, "statuses")?;
        let vr = slf.as_super().get().local()?;
        let p = py
            .detach(|| vr.add_notification_preference(&request))
            .or_raise()?;
        record(py, "NotificationPreference", &p)
    }

    /// Removes the notification preference `id` and returns it.
    fn remove_notification_preference<'py>(
        slf: &Bound<'py, Self>,
        id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let vr = slf.as_super().get().local()?;
        let p = py
            .detach(|| vr.remove_notification_preference(id))
            .or_raise()?;
        record(py, "NotificationPreference", &p)
    }

    /// The notification history (every delivery attempt), newest first: of one `channel`
    /// (id or name), with one `status` (`delivered`, `retrying`, `parked`), at most `limit`
    /// (1..=1000, default 100).
    #[pyo3(signature = (*, channel=None, status=None, limit=None))]
    fn notification_history<'py>(
        slf: &Bound<'py, Self>,
        channel: Option<String>,
        status: Option<&str>,
        limit: Option<i64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let mut filter = HistoryFilter::default();
        filter.channel = channel;
        filter.status = status
            .map(DeliveryStatus::from_str)
            .transpose()
            .or_raise()?;
        filter.limit = limit.map(|n| count(n, "limit")).transpose()?;
        let vr = slf.as_super().get().local()?;
        let list = py.detach(|| vr.notification_history(&filter)).or_raise()?;
        records_list(py, "NotificationDelivery", &list)
    }

    /// Sends a test notification to a channel (by id or name), once, and returns the attempt
    /// as the history keeps it (a failed send is not an exception: see its `status`).
    fn send_test_notification<'py>(
        slf: &Bound<'py, Self>,
        channel: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let vr = slf.as_super().get().local()?;
        let d = py
            .detach(|| vr.send_test_notification(channel))
            .or_raise()?;
        record(py, "NotificationDelivery", &d)
    }

    /// Calls `callback` with each domain event committed from now on (a `DomainEvent`), on a
    /// background thread, after its transaction commits; never for refused work. An exception
    /// in `callback` is reported as unraisable and never fails the operation.
    fn subscribe(
        slf: &Bound<'_, Self>,
        callback: Py<PyAny>,
    ) -> PyResult<crate::subscription::Subscription> {
        let vr = slf.as_super().get().local()?;
        slf.py()
            .detach(|| crate::subscription::Subscription::start(&vr, callback))
            .or_raise()
    }

    /// Domain events with a sequence number above `after`, in commit order, at most `limit`
    /// (capped at 1000). Start from 0, or from a consumer's `cursor`.
    #[pyo3(signature = (after=0, limit=100))]
    fn events_since<'py>(
        slf: &Bound<'py, Self>,
        after: i64,
        limit: i64,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let limit = count(limit, "limit")?;
        let vr = slf.as_super().get().local()?;
        let events = py.detach(|| vr.events_since(after, limit)).or_raise()?;
        records_list(py, "DomainEvent", &events)
    }

    /// Writes a consistent copy of the whole database to the new file `path`, while writers
    /// keep running (SQLite's online backup API), checked with `PRAGMA integrity_check`.
    fn backup(slf: &Bound<'_, Self>, path: PathBuf) -> PyResult<()> {
        let vr = slf.as_super().get().local()?;
        slf.py().detach(|| vr.backup(&path)).or_raise()
    }

    /// Replaces the database's content with the backup file `path`, after checking it; a
    /// database that holds records is replaced only with `force=True`.
    #[pyo3(signature = (path, *, force=false))]
    fn restore(slf: &Bound<'_, Self>, path: PathBuf, force: bool) -> PyResult<()> {
        let vr = slf.as_super().get().local()?;
        let mode = if force {
            versioner_core::store::RestoreMode::Overwrite
        } else {
            versioner_core::store::RestoreMode::Refuse
        };
        slf.py().detach(|| vr.restore(&path, mode)).or_raise()
    }

    /// The sequence number of the newest event (0 when none).
    fn last_event_seq(slf: &Bound<'_, Self>) -> PyResult<i64> {
        let vr = slf.as_super().get().local()?;
        slf.py().detach(|| vr.last_event_seq()).or_raise()
    }

    /// What `consumer` has acknowledged: the sequence number to read after (0 at first).
    fn cursor(slf: &Bound<'_, Self>, consumer: &str) -> PyResult<i64> {
        let vr = slf.as_super().get().local()?;
        slf.py().detach(|| vr.cursor(consumer)).or_raise()
    }

    /// Records that `consumer` has processed every event up to `seq`; a cursor never moves
    /// back.
    fn acknowledge(slf: &Bound<'_, Self>, consumer: &str, seq: i64) -> PyResult<()> {
        let vr = slf.as_super().get().local()?;
        slf.py().detach(|| vr.acknowledge(consumer, seq)).or_raise()
    }

    /// The database file, or None for an in-memory or PostgreSQL database.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.location.path().map(PathBuf::from)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(match &self.location {
            Location::Sqlite(p) => {
                let text = PyString::new(py, &p.display().to_string()).repr()?;
                format!("Versioner(path={})", text.to_cow()?)
            }
            Location::Postgres(_) => "Versioner.connect(<postgresql>)".to_string(),
            Location::Memory => "Versioner(path=None)".to_string(),
        })
    }
}
