"""The records Versioner returns: frozen dataclasses with a readable ``repr`` and ``to_dict()``.

The compiled module builds them straight from the core's values
(``versioner-py/src/record.rs``), following what this file declares: each dataclass's fields,
their wire names (``_WIRE``), converters (``_CONVERT``: instants become timezone-aware (UTC)
:class:`~datetime.datetime`, nested records, lists and dicts of records, or a Python function)
and defaults, read once through :func:`_native_plans`. ``_from_wire`` builds a record from its
wire form (the core's JSON, as a dict) the same way; a class may override it (``Rule``: rule
durations become :class:`~datetime.timedelta`), and then gets its wire form as plain values.

Building a record refuses a key it has no attribute for (:class:`~versioner.VersionerError`,
code ``INTERNAL``, naming the key): the compiled module and this package are built together,
so an unknown key means a field the core gained and this file lacks, which must not vanish.
``versioner-py/tests/test_record_fields.py`` feeds it every core record with every field
populated (``versioner-core/tests/vectors/records.json``), so the suite fails until the
field is added here.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    ClassVar,
    Dict,
    Iterable,
    List,
    Literal,
    Mapping,
    NoReturn,
    Optional,
    Tuple,
    Type,
    TypeVar,
    Union,
    cast,
)

from ._errors import VersionerError

__all__ = [
    "ApplyReport",
    "Approval",
    "AuditReport",
    "CoveringRequest",
    "DeploymentRequest",
    "DeliveryReport",
    "Build",
    "CiInfo",
    "DecisionRecord",
    "DeployedVersion",
    "Deployment",
    "DomainEvent",
    "Drift",
    "Environment",
    "Facts",
    "OpenDeployment",
    "PolicyProblem",
    "Preflight",
    "Product",
    "Progress",
    "ProgressCell",
    "QueueEntry",
    "ReplayChange",
    "RequestContext",
    "RequestTemplate",
    "RequestVersion",
    "Rule",
    "RuleOutcome",
    "RuleStatusChange",
    "Slot",
    "SlotSpec",
    "StateCell",
    "StateMatrix",
    "Step",
    "SkewFacts",
    "Stint",
    "Transition",
    "Verdict",
    "Version",
    "DeploymentButton",
    "NotificationChannel",
    "NotificationDelivery",
    "NotificationFilters",
    "NotificationPreference",
    "RenderedButton",
    "Variable",
]

if TYPE_CHECKING:
    # Only for type checkers: annotations are never evaluated at run time.
    #: A canonical build or deployment status.
    _Status = Literal["pending", "started", "completed", "failed", "aborted"]
    #: A rule's status.
    _RuleStatus = Literal["enabled", "report_only", "disabled"]
    #: A rule's kind.
    _RuleType = Literal[
        "concurrency",
        "schedule",
        "flow",
        "version_approval",
        "release_approval",
        "deployment_request_required",
        "max_skew",
    ]
    #: An environment's type.
    _EnvironmentType = Literal["dev", "test", "staging", "production", "other"]
    #: One rule's result.
    _OutcomeStatus = Literal["passed", "failed", "failed_report_only", "not_applicable"]
    #: How a preflight ended.
    _DecisionOutcome = Literal["allowed", "reported", "blocked", "bypassed"]
    #: Where a Deployment Request stands.
    _RequestStatus = Literal[
        "draft", "in_progress", "approved", "rejected", "completed", "cancelled"
    ]
    #: How an approval slot of a Deployment Request stands.
    _SlotStatus = Literal["pending", "approved", "rejected"]
    #: When a Deployment Request's step is done.
    _StepPhase = Literal["pre", "post"]
    #: How one product × environment cell of a Deployment Request's progress stands.
    _CellState = Literal["deployed", "not_deployed", "failed", "in_progress"]

_R = TypeVar("_R", bound="_Record")

_INSTANT = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$",
    re.IGNORECASE,
)
_DURATION_PART = re.compile(r"(\d+)\s*(d|h|m|s|ms|us|ns)(?![a-z])")
_DURATION_UNITS = {
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
    "ms": timedelta(milliseconds=1),
    "us": timedelta(microseconds=1),
    "ns": timedelta(0),
}


def _time(value: Any) -> Optional[datetime]:
    """An RFC 3339 instant (as the core writes it) as an aware datetime, in UTC."""
    if value is None:
        return None
    m = _INSTANT.match(str(value))
    if m is None:
        raise ValueError(f"not an RFC 3339 instant: {value!r}")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    micros = int((m.group(7) or "0")[:6].ljust(6, "0"))
    zone = m.group(8).upper()
    if zone == "Z":
        tz = timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    t = datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
    return t.astimezone(timezone.utc)


def _duration(value: Any) -> Any:
    """A rule duration as written by the core (``1d 12h``, ``90s``) as a timedelta."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    parts = _DURATION_PART.findall(text)
    if not parts or _DURATION_PART.sub("", text).strip():
        return value
    total = timedelta(0)
    for n, unit in parts:
        total += int(n) * _DURATION_UNITS[unit]
    return total


def _plain(value: Any) -> Any:
    """``to_dict`` of a value: records become dicts, containers are copied."""
    if isinstance(value, _Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Record:
    """Shared behaviour of every record."""

    #: Converters from wire values to attribute values, by attribute: :func:`_time`, a
    #: :class:`_Nested` (records), or a function of the plain wire value.
    _CONVERT: ClassVar[Dict[str, _Converter]] = {}
    #: Wire names of attributes named differently in Python.
    _WIRE: ClassVar[Dict[str, str]] = {}
    #: Attributes left out of ``to_dict``.
    _PRIVATE: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def _from_wire(cls: Type[_R], wire: Mapping[str, Any]) -> _R:
        """Builds the record from the core's JSON form; refuses a key it has no attribute for.

        The compiled module builds it, as it builds the records its calls return."""
        from ._native import _record

        return cast(_R, _record(cls.__name__, wire))

    def to_dict(self) -> Dict[str, Any]:
        """The record as a plain dict (nested records as dicts; datetimes stay datetimes)."""
        return {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.name not in self._PRIVATE
        }


def _refuse_unknown(record: str, wire: Mapping[str, Any], known: Iterable[str]) -> NoReturn:
    """Raises for the keys of ``wire`` that are not in ``known``, naming them."""
    unknown = sorted(set(wire) - set(known))
    names = ", ".join(f"`{k}`" for k in unknown)
    raise VersionerError(
        f"cannot convert a record for Python: {record} has no attribute for the core's "
        f"field(s) {names}; the versioner package and its compiled module disagree on the "
        f"record's fields (a bug: reinstall, or carry the field to versioner/_records.py)"
    )


class _Nested:
    """The converter of an attribute holding records of ``cls``: one (``record``; None stays
    None), a ``list`` (None is ``[]``) or a ``dict`` of them (None is ``{}``)."""

    __slots__ = ("kind", "cls")

    def __init__(self, kind: Literal["record", "list", "dict"], cls: type) -> None:
        self.kind = kind
        self.cls = cls


#: How an attribute's wire value is converted (see :attr:`_Record._CONVERT`).
_Converter = Union[Callable[[Any], Any], _Nested]


def _list_of(cls: type) -> _Nested:
    """A list of records of ``cls``."""
    return _Nested("list", cls)


def _optional(cls: type) -> _Nested:
    """A record of ``cls``, or None."""
    return _Nested("record", cls)


def _dict_of(cls: type) -> _Nested:
    """A dict of records of ``cls``, by key."""
    return _Nested("dict", cls)


#: One attribute as the compiled module reads it: (attribute, wire name, kind, the kind's
#: argument, what it holds when absent, that default). Kinds: ``plain``, ``instant``,
#: ``record``/``list``/``dict`` (argument: the class name) and ``python`` (argument: the
#: converter, given the plain wire value). Absent: ``convert`` (what the kind makes of None),
#: ``value`` (the default), ``list``/``dict`` (a new empty one), ``factory`` (the factory's).
_FieldPlan = Tuple[str, str, str, Any, str, Any]


def _native_plans() -> List[Tuple[str, type, Optional[Callable[[Any], Any]], List[_FieldPlan]]]:
    """Every record class as the compiled module builds it (``versioner-py/src/record.rs``,
    read once per process): its name, the class, its own ``_from_wire`` when it overrides it
    (fed the plain wire form), and its fields in dataclass order."""
    plans: List[Tuple[str, type, Optional[Callable[[Any], Any]], List[_FieldPlan]]] = []
    for name in __all__:
        cls = globals()[name]
        own = cls._from_wire.__func__ is not _Record._from_wire.__func__  # type: ignore[attr-defined]
        fields: List[_FieldPlan] = []
        for f in dataclasses.fields(cls):
            convert = cls._CONVERT.get(f.name)
            kind: Tuple[str, Any]
            if convert is None:
                kind = ("plain", None)
            elif convert is _time:
                kind = ("instant", None)
            elif isinstance(convert, _Nested):
                kind = (convert.kind, convert.cls.__name__)
            else:
                kind = ("python", convert)
            absent: Tuple[str, Any]
            if f.default is not dataclasses.MISSING:
                absent = ("value", f.default)
            elif f.default_factory is list or f.default_factory is dict:
                absent = (f.default_factory.__name__, None)
            elif f.default_factory is not dataclasses.MISSING:
                absent = ("factory", f.default_factory)
            else:
                absent = ("convert", None)
            fields.append((f.name, cls._WIRE.get(f.name, f.name), *kind, *absent))
        plans.append((name, cls, cls._from_wire if own else None, fields))
    return plans


@dataclass(frozen=True)
class Product(_Record):
    """A deployable thing (service, app, library, stack); created on first sight.

    Renaming it (``update_product``) keeps ``id``; ``description`` and ``extra_metadata`` are
    the catalog's, for people.
    """

    id: str
    name: str
    created_at: datetime = field(repr=False)
    description: Optional[str] = field(repr=False, default=None)
    extra_metadata: Dict[str, Any] = field(repr=False, default_factory=dict)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"created_at": _time}


@dataclass(frozen=True)
class Environment(_Record):
    """Where things run; created on first sight, its type inferred from the name."""

    id: str = field(repr=False)
    name: str
    type: _EnvironmentType
    type_overridden: bool
    created_at: datetime = field(repr=False)
    description: Optional[str] = field(repr=False, default=None)
    extra_metadata: Dict[str, Any] = field(repr=False, default_factory=dict)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"created_at": _time}


@dataclass(frozen=True)
class Version(_Record):
    """An immutable build output of a product: its commit SHA never changes once recorded."""

    id: str = field(repr=False)
    product_id: str = field(repr=False)
    product_name: str
    version: str
    scm_sha: Optional[str]
    scm_branch: Optional[str] = field(repr=False)
    scm_repository: Optional[str] = field(repr=False)
    build_number: Optional[str] = field(repr=False)
    build_url: Optional[str] = field(repr=False)
    built_by: Optional[str] = field(repr=False)
    created_at: datetime = field(repr=False)
    #: When its commit was made: where its lead time for changes starts.
    scm_committed_at: Optional[datetime] = field(repr=False, default=None)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "created_at": _time,
        "scm_committed_at": _time,
    }


@dataclass(frozen=True)
class Build(_Record):
    """One build of a version, with its lifecycle."""

    id: str
    version_id: str = field(repr=False)
    product_id: str = field(repr=False)
    product_name: str
    version: str
    status: _Status
    built_by: Optional[str] = field(repr=False)
    built_by_email: Optional[str] = field(repr=False)
    built_by_name: Optional[str] = field(repr=False)
    scm_sha: Optional[str] = field(repr=False)
    scm_branch: Optional[str] = field(repr=False)
    scm_repository: Optional[str] = field(repr=False)
    build_url: Optional[str] = field(repr=False)
    build_number: Optional[str] = field(repr=False)
    source_system: Optional[str] = field(repr=False)
    invoke_id: Optional[str] = field(repr=False)
    error_message: Optional[str] = field(repr=False)
    error_code: Optional[str] = field(repr=False)
    recorded_by: Optional[str] = field(repr=False)
    started_at: Optional[datetime] = field(repr=False)
    completed_at: Optional[datetime] = field(repr=False)
    created_at: datetime = field(repr=False)
    updated_at: datetime = field(repr=False)
    extra_metadata: Dict[str, Any] = field(repr=False, default_factory=dict)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "started_at": _time,
        "completed_at": _time,
        "created_at": _time,
        "updated_at": _time,
    }


@dataclass(frozen=True)
class RuleOutcome(_Record):
    """What one rule said about one deployment."""

    rule_name: str
    rule_type: _RuleType = field(repr=False)
    rule_status: _RuleStatus = field(repr=False)
    status: _OutcomeStatus
    code: Optional[str]
    message: str = field(repr=False)
    details: Dict[str, Any] = field(repr=False, default_factory=dict)
    retry_after: Optional[datetime] = field(repr=False, default=None)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"retry_after": _time}

    @property
    def blocks(self) -> bool:
        """Whether this outcome blocks the deployment."""
        return self.status == "failed"

    @property
    def failed(self) -> bool:
        """Whether the rule failed, blocking or report-only."""
        return self.status in ("failed", "failed_report_only")


@dataclass(frozen=True)
class Verdict(_Record):
    """The preflight's answer for one would-be deployment: every rule's outcome.

    ``code`` and ``http_status`` are those of the primary (most severe) failure: 409
    concurrency, then 423 window, then 428 preconditions. ``retry_after`` is when time alone
    would clear every block, or None when a person must act.
    """

    decision: Literal["allowed", "blocked"]
    product_name: str
    version: str
    environment_name: str
    code: Optional[str]
    http_status: Optional[int] = field(repr=False)
    retry_after: Optional[datetime]
    summary: str = field(repr=False)
    evaluated_at: datetime = field(repr=False)
    outcomes: List[RuleOutcome] = field(repr=False, default_factory=list)
    #: The primary failure's rule name, when blocked.
    primary_rule: Optional[str] = field(repr=False, default=None)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "retry_after": _time,
        "evaluated_at": _time,
        "outcomes": _list_of(RuleOutcome),
    }
    _WIRE: ClassVar[Dict[str, str]] = {"summary": "message"}

    @property
    def allowed(self) -> bool:
        """Whether the deployment may go ahead."""
        return self.decision == "allowed"

    @property
    def failures(self) -> List[RuleOutcome]:
        """The blocking failures."""
        return [o for o in self.outcomes if o.blocks]

    @property
    def warnings(self) -> List[RuleOutcome]:
        """The report-only failures: the deployment goes ahead with these warnings."""
        return [o for o in self.outcomes if o.status == "failed_report_only"]

    @property
    def primary(self) -> Optional[RuleOutcome]:
        """The failure whose code the verdict carries (the most severe), if blocked."""
        if self.code is None:
            return None
        return next((o for o in self.failures if o.code == self.code), None)

    def __str__(self) -> str:
        return self.summary


@dataclass(frozen=True)
class Preflight(_Record):
    """What the preflight decided when a deployment started."""

    status: Literal["passed", "skipped"]
    verdict: Verdict = field(repr=False)
    bypass_reason: Optional[str] = None

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"verdict": _optional(Verdict)}

    @property
    def warnings(self) -> List[RuleOutcome]:
        """The report-only failures the deployment went ahead with."""
        return self.verdict.warnings


@dataclass(frozen=True)
class Deployment(_Record):
    """One deployment of a version to an environment, with its lifecycle."""

    id: str
    product_id: str = field(repr=False)
    product_name: str
    version_id: str = field(repr=False)
    version: str
    environment_id: str = field(repr=False)
    environment_name: str
    status: _Status
    deployed_by: Optional[str] = field(repr=False)
    deployed_by_email: Optional[str] = field(repr=False)
    deployed_by_name: Optional[str] = field(repr=False)
    scm_sha: Optional[str] = field(repr=False)
    scm_repository: Optional[str] = field(repr=False)
    scm_branch: Optional[str] = field(repr=False)
    build_number: Optional[str] = field(repr=False)
    source_system: Optional[str] = field(repr=False)
    invoke_id: Optional[str] = field(repr=False)
    deploy_url: Optional[str] = field(repr=False)
    build_url: Optional[str] = field(repr=False)
    recorded_by: Optional[str] = field(repr=False)
    deployed_at: datetime = field(repr=False)
    started_at: Optional[datetime] = field(repr=False)
    completed_at: Optional[datetime] = field(repr=False)
    updated_at: datetime = field(repr=False)
    extra_metadata: Dict[str, Any] = field(repr=False, default_factory=dict)
    preflight: Optional[Preflight] = field(repr=False, default=None)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "deployed_at": _time,
        "started_at": _time,
        "completed_at": _time,
        "updated_at": _time,
        "preflight": _optional(Preflight),
    }

    @property
    def is_open(self) -> bool:
        """Whether the deployment is still open (``pending`` or ``started``)."""
        return self.status in ("pending", "started")

    @property
    def warnings(self) -> List[RuleOutcome]:
        """The report-only failures the deployment went ahead with."""
        return self.preflight.warnings if self.preflight is not None else []


@dataclass(frozen=True)
class Approval(_Record):
    """A typed sign-off (``qa``, ``security``, ..., ``release``) by one person on a version."""

    id: str
    product_name: str
    version: str
    version_id: str = field(repr=False)
    approval_type: str
    approver: str
    approver_role: Optional[str] = field(repr=False)
    environment: Optional[str] = field(repr=False)
    comment: Optional[str] = field(repr=False)
    granted_at: datetime = field(repr=False)
    revoked_at: Optional[datetime] = field(repr=False)
    revoked_by: Optional[str] = field(repr=False)
    revoke_reason: Optional[str] = field(repr=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "granted_at": _time,
        "revoked_at": _time,
    }

    @property
    def is_active(self) -> bool:
        """Whether it still stands (not revoked)."""
        return self.revoked_at is None


_RULE_COMMON = (
    "name",
    "type",
    "status",
    "description",
    "products",
    "environments",
    "environment_types",
)
_RULE_BOOKKEEPING = ("position", "created_at", "updated_at")
_RULE_DURATIONS = ("soak", "stale_after", "expires_after", "approval_timeout", "max_age")
#: Each kind's own fields (``parameters``), as the core's rule kinds read them.
_RULE_PARAMETERS: Dict[str, Tuple[str, ...]] = {
    "concurrency": ("max", "per", "stale_after"),
    "schedule": ("mode", "timezone", "reason", "windows"),
    "flow": ("prerequisites", "strict_order", "soak"),
    "version_approval": ("approval_types", "environment"),
    "release_approval": ("required", "approver_roles", "expires_after"),
    "deployment_request_required": ("approval_types", "approval_timeout"),
    "max_skew": ("behind", "max_versions", "max_age"),
}


@dataclass(frozen=True)
class Rule(_Record):
    """A deployment rule as stored.

    ``parameters`` holds the kind's own settings (``prerequisites``, ``soak``, ``windows``,
    ``required``, ...), durations as :class:`~datetime.timedelta`. :meth:`definition` gives the
    policy-file form, which ``add_rule``/``update_rule``/``apply_policy`` accept.
    """

    name: str
    type: _RuleType
    status: _RuleStatus
    description: Optional[str] = field(repr=False)
    products: List[str] = field(repr=False)
    environments: List[str] = field(repr=False)
    environment_types: List[_EnvironmentType] = field(repr=False)
    parameters: Dict[str, Any] = field(repr=False)
    position: int = field(repr=False)
    created_at: datetime = field(repr=False)
    updated_at: datetime = field(repr=False)
    _definition: Dict[str, Any] = field(repr=False, compare=False)

    _PRIVATE: ClassVar[frozenset[str]] = frozenset({"_definition"})

    @classmethod
    def _from_wire(cls, wire: Mapping[str, Any]) -> Rule:
        """Builds the rule from the stored rule's JSON (policy form plus bookkeeping); refuses
        a key that is neither common, bookkeeping nor one of its kind's parameters."""
        kind_fields = _RULE_PARAMETERS.get(str(wire.get("type")), ())
        known = (*_RULE_COMMON, *_RULE_BOOKKEEPING, *kind_fields)
        if not set(known).issuperset(wire):
            _refuse_unknown(f"Rule ({wire.get('type')})", wire, known)
        definition = {k: v for k, v in wire.items() if k not in _RULE_BOOKKEEPING}
        parameters = {
            k: (_duration(v) if k in _RULE_DURATIONS else v)
            for k, v in definition.items()
            if k not in _RULE_COMMON
        }
        return cls(
            name=wire["name"],
            type=wire["type"],
            status=wire.get("status", "enabled"),
            description=wire.get("description"),
            products=list(wire.get("products") or []),
            environments=list(wire.get("environments") or []),
            environment_types=list(wire.get("environment_types") or []),
            parameters=parameters,
            position=int(wire.get("position") or 0),
            created_at=_time(wire.get("created_at")),  # type: ignore[arg-type]
            updated_at=_time(wire.get("updated_at")),  # type: ignore[arg-type]
            _definition=definition,
        )

    def definition(self) -> Dict[str, Any]:
        """The rule in policy-file form (durations as text), ready for a policy file or
        ``update_rule``."""
        return copy.deepcopy(self._definition)


@dataclass(frozen=True)
class RuleStatusChange(_Record):
    """One recorded change of a rule's status: who, when and why."""

    rule_name: str
    from_status: _RuleStatus
    to_status: _RuleStatus
    actor: str
    reason: str
    changed_at: datetime

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"changed_at": _time}


@dataclass(frozen=True)
class ApplyReport(_Record):
    """What applying a policy changed, by rule name."""

    added: List[str] = field(default_factory=list)
    updated: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    deleted: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class PolicyProblem(_Record):
    """One problem of an invalid policy or rule."""

    rule: str
    field: str
    reason: str


@dataclass(frozen=True)
class DeployedVersion(_Record):
    """A version in an environment, with who put it there and when."""

    deployment_id: str = field(repr=False)
    version: str
    version_id: str = field(repr=False)
    status: _Status
    deployed_at: datetime
    deployed_by: Optional[str] = field(repr=False)
    scm_sha: Optional[str] = field(repr=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"deployed_at": _time}


@dataclass(frozen=True)
class StateCell(_Record):
    """One product in one environment: the current version and deployments in progress."""

    product_name: str
    environment_name: str
    environment_type: _EnvironmentType = field(repr=False)
    current: Optional[DeployedVersion]
    in_progress: List[DeployedVersion] = field(default_factory=list)
    #: The newest attempt, when it failed or was aborted (the environment still runs
    #: ``current``).
    last_failed: Optional[DeployedVersion] = None

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "current": _optional(DeployedVersion),
        "in_progress": _list_of(DeployedVersion),
        "last_failed": _optional(DeployedVersion),
    }


@dataclass(frozen=True)
class StateMatrix(_Record):
    """What is deployed where: every product × environment with history (now, or as of ``at``).

    ``str(matrix)`` is a plain-text table: products as rows, environments as columns.
    """

    at: Optional[datetime]
    products: List[str]
    environments: List[str]
    cells: List[StateCell] = field(repr=False)
    table: str = field(repr=False, compare=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "at": _time,
        "cells": _list_of(StateCell),
    }
    _PRIVATE: ClassVar[frozenset[str]] = frozenset({"table"})

    def cell(self, product: str, environment: str) -> Optional[StateCell]:
        """The cell of ``product`` in ``environment``, if it has history."""
        return next(
            (
                c
                for c in self.cells
                if c.product_name == product and c.environment_name == environment
            ),
            None,
        )

    def version(self, product: str, environment: str) -> Optional[str]:
        """The version of ``product`` current in ``environment``, if any."""
        c = self.cell(product, environment)
        return c.current.version if c is not None and c.current is not None else None

    def __str__(self) -> str:
        return self.table


@dataclass(frozen=True)
class Drift(_Record):
    """A product whose environments hold different versions."""

    product_name: str
    versions: Dict[str, str]
    distinct_versions: int


@dataclass(frozen=True)
class CiInfo(_Record):
    """What CI/CD detection found; every field None outside a recognised CI system.

    ``user``/``user_email``/``user_name`` map to ``built_by*`` on builds and ``deployed_by*``
    on deployments, ``build_url`` to ``deploy_url`` on deployments; ``product`` and
    ``version`` are fallbacks for when none is given.
    """

    system: Optional[str]
    source_system: str
    scm_repository: Optional[str] = field(repr=False)
    scm_sha: Optional[str] = field(repr=False)
    scm_branch: Optional[str] = field(repr=False)
    build_number: Optional[str] = field(repr=False)
    build_url: Optional[str] = field(repr=False)
    invoke_id: Optional[str] = field(repr=False)
    user: Optional[str] = field(repr=False)
    user_email: Optional[str] = field(repr=False)
    user_name: Optional[str] = field(repr=False)
    product: Optional[str] = field(repr=False)
    version: Optional[str] = field(repr=False)
    metadata: Dict[str, str] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class OpenDeployment(_Record):
    """A deployment open in the target environment when a preflight was decided."""

    id: str = field(repr=False)
    product_name: str
    version: str
    status: _Status
    started_at: datetime

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"started_at": _time}


def _superseded(value: Any) -> Optional[Tuple[datetime, str]]:
    """A stint's ``superseded`` pair, ``[instant, version]`` on the wire."""
    if value is None:
        return None
    at, version = value
    return (_time(at), str(version))  # type: ignore[return-value]


@dataclass(frozen=True)
class Stint(_Record):
    """How a version fared in one environment, as a preflight saw it: its first and latest
    successful deployments there, and ``superseded`` — when, and by which version, another
    version succeeded there after it."""

    first_success_at: Optional[datetime]
    last_success_at: Optional[datetime]
    superseded: Optional[Tuple[datetime, str]]

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "first_success_at": _time,
        "last_success_at": _time,
        "superseded": _superseded,
    }


@dataclass(frozen=True)
class SkewFacts(_Record):
    """How far an environment ran behind the target environment when a preflight was
    decided (a ``max_skew`` rule's facts): the version it ran, the versions it lacked (oldest
    first), when the lag began, and whether the version deployed had already succeeded in
    the target environment."""

    behind_version: Optional[str]
    versions: List[str]
    behind_since: Optional[datetime]
    version_already_ahead: bool = field(repr=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"behind_since": _time}


@dataclass(frozen=True)
class Slot(_Record):
    """An approval slot of a Deployment Request: one person whose role may grant
    ``approval_type`` fills it. An ``optional`` slot advises and never blocks."""

    approval_type: str
    optional: bool
    status: _SlotStatus
    decided_by: Optional[str]
    decided_role: Optional[str] = field(repr=False)
    decided_at: Optional[datetime] = field(repr=False)
    comment: Optional[str] = field(repr=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"decided_at": _time}


@dataclass(frozen=True)
class CoveringRequest(_Record):
    """A submitted Deployment Request covering a deployment, as a preflight read it: its
    slots and the pre-deployment steps still open then."""

    id: str = field(repr=False)
    name: str
    status: _RequestStatus
    slots: List[Slot] = field(repr=False, default_factory=list)
    open_pre_steps: List[str] = field(repr=False, default_factory=list)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"slots": _list_of(Slot)}


@dataclass(frozen=True)
class Facts(_Record):
    """What a preflight was decided on: the recorded state the rules read.

    ``stints`` maps each environment a rule in scope named as a prerequisite to the version's
    :class:`Stint` there; ``approvals`` are the version's approvals that still stood;
    ``deployment_requests`` the submitted Deployment Requests that covered it.
    """

    product: str
    version: str
    environment: str
    environment_type: _EnvironmentType = field(repr=False)
    deployed_by: Optional[str] = field(repr=False)
    principal: Optional[str] = field(repr=False)
    version_known: bool = field(repr=False)
    builders: List[str] = field(repr=False, default_factory=list)
    open_deployments: List[OpenDeployment] = field(repr=False, default_factory=list)
    stints: Dict[str, Stint] = field(repr=False, default_factory=dict)
    approvals: List[Approval] = field(repr=False, default_factory=list)
    #: The submitted, unfinished Deployment Requests covering the deployment, oldest first.
    deployment_requests: List[CoveringRequest] = field(repr=False, default_factory=list)
    #: For each environment a ``max_skew`` rule kept from falling behind: how far behind it was.
    skew: Dict[str, SkewFacts] = field(repr=False, default_factory=dict)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "open_deployments": _list_of(OpenDeployment),
        "stints": _dict_of(Stint),
        "approvals": _list_of(Approval),
        "deployment_requests": _list_of(CoveringRequest),
        "skew": _dict_of(SkewFacts),
    }


@dataclass(frozen=True)
class DecisionRecord(_Record):
    """One recorded preflight decision: the request, who asked, the verdict with every rule's
    outcome, the facts it was decided on, the SHA-256 of the policy in force and when.

    ``outcome`` is ``allowed``, ``reported`` (allowed with report-only failures),
    ``blocked`` (refused: nothing but this decision was recorded) or ``bypassed``.
    """

    id: str = field(repr=False)
    recorded_at: datetime
    product_name: str
    version: str
    environment_name: str
    status: _Status = field(repr=False)
    outcome: _DecisionOutcome
    actor: Optional[str]
    deployment_id: Optional[str] = field(repr=False)
    policy_hash: str = field(repr=False)
    verdict: Verdict = field(repr=False)
    facts: Facts = field(repr=False)
    #: The event as it was sent (its wire form).
    request: Dict[str, Any] = field(repr=False, default_factory=dict)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "recorded_at": _time,
        "verdict": _optional(Verdict),
        "facts": _optional(Facts),
    }

    @property
    def failed_rules(self) -> List[str]:
        """The rules that failed (blocking or report-only), in rule order."""
        return [o.rule_name for o in self.verdict.outcomes if o.failed]


@dataclass(frozen=True)
class ReplayChange(_Record):
    """A recorded decision that a policy would now decide otherwise (``was`` → ``now``)."""

    decision_id: str = field(repr=False)
    recorded_at: datetime
    product_name: str
    version: str
    environment_name: str
    was: _DecisionOutcome
    now: _DecisionOutcome
    failed_then: List[str] = field(default_factory=list)
    failed_now: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class AuditReport(_Record):
    """What checking the audit chain found: the events read, those recorded before the chain
    began (``unchained``), and the first event that does not match (``first_mismatch``, with
    ``reason``) — or, when the chain holds, its newest hash (``head``)."""

    entries: int
    unchained: int
    first_mismatch: Optional[int]
    reason: Optional[str]
    head: Optional[str] = field(repr=False)

    @property
    def intact(self) -> bool:
        """Whether the whole chain holds."""
        return self.first_mismatch is None


@dataclass(frozen=True)
class DeliveryReport(_Record):
    """What one notification delivery run did: the channels it delivered (whose lease it
    held), the events delivered and parked, and the attempts made. A failed delivery is not
    an exception: it is in the notification history."""

    channels: int
    delivered: int
    parked: int
    attempts: int


@dataclass(frozen=True)
class DomainEvent(_Record):
    """One committed domain event of the outbox, in commit order.

    ``event_type`` is the reference's name (``deployment.started``,
    ``deployment.preflight_failed``, ``version.approved``, ``rule.updated``, ...);
    ``payload`` the record as it stood after the change; ``hash`` its link in the audit
    chain (None for events recorded before the chain began).
    """

    seq: int
    event_type: str
    occurred_at: datetime
    actor: Optional[str]
    subject: Optional[str] = field(repr=False)
    payload: Dict[str, Any] = field(repr=False, default_factory=dict)
    hash: Optional[str] = field(repr=False, default=None)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"occurred_at": _time}


@dataclass(frozen=True)
class RequestVersion(_Record):
    """One product version a Deployment Request deploys."""

    product_name: str
    version: str
    version_id: str = field(repr=False)


@dataclass(frozen=True)
class Step(_Record):
    """A checklist item of a Deployment Request: done before (``pre``) or after (``post``)
    deploying, marked done by its text."""

    text: str
    phase: _StepPhase
    done_by: Optional[str] = field(repr=False)
    done_at: Optional[datetime]

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"done_at": _time}

    @property
    def is_done(self) -> bool:
        """Whether it is done."""
        return self.done_at is not None


@dataclass(frozen=True)
class Transition(_Record):
    """One change of a Deployment Request's status, or one decision on it: ``action``
    (``created``, ``submitted``, ``slot_approved``, ``step_done``, ``completed``, ...),
    the status before (``from_status``, None at creation) and after (``to_status``), who
    (``by``: None when the system did it) and when, with a comment or what it was about."""

    action: str
    from_status: Optional[_RequestStatus]
    to_status: _RequestStatus
    by: Optional[str]
    at: datetime
    comment: Optional[str] = field(repr=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"at": _time}
    _WIRE: ClassVar[Dict[str, str]] = {"from_status": "from", "to_status": "to"}


def _context(value: Any) -> RequestContext:
    """A request's context; the core leaves out the empty parts, and may leave out all."""
    return RequestContext._from_wire(value or {})


@dataclass(frozen=True)
class RequestContext(_Record):
    """A Deployment Request's release notes (Markdown), issue links and free metadata."""

    release_notes: Optional[str] = None
    issue_links: List[str] = field(default_factory=list)
    metadata: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploymentRequest(_Record):
    """A Deployment Request (DR): one version of each of its products, the environments they
    go to, the approval slots people fill and the steps to tick before and after deploying.

    While submitted and unfinished it blocks the deployments it covers until it is approved
    with its pre-deployment steps done; it completes when every version succeeded in every
    environment and its post-deployment steps are done. ``history`` holds every transition
    and decision, oldest first.
    """

    id: str
    name: str
    status: _RequestStatus
    description: Optional[str] = field(repr=False)
    context: RequestContext = field(repr=False)
    versions: List[RequestVersion] = field(repr=False)
    environments: List[str] = field(repr=False)
    slots: List[Slot] = field(repr=False)
    steps: List[Step] = field(repr=False)
    template: Optional[str] = field(repr=False)
    allow_self_approval: bool = field(repr=False)
    created_by: str = field(repr=False)
    created_at: datetime = field(repr=False)
    updated_at: datetime = field(repr=False)
    deployed_at: Optional[datetime] = field(repr=False)
    history: List[Transition] = field(repr=False, default_factory=list)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "context": _context,
        "versions": _list_of(RequestVersion),
        "slots": _list_of(Slot),
        "steps": _list_of(Step),
        "created_at": _time,
        "updated_at": _time,
        "deployed_at": _time,
        "history": _list_of(Transition),
    }

    @property
    def is_release(self) -> bool:
        """A release in the legacy sense: no slots and no steps (tracking only)."""
        return not self.slots and not self.steps

    @property
    def missing_slots(self) -> List[str]:
        """The required slots not (yet) approved, by approval type."""
        return [s.approval_type for s in self.slots if not s.optional and s.status != "approved"]

    def open_steps(self, phase: _StepPhase) -> List[str]:
        """The steps of ``phase`` (``"pre"`` or ``"post"``) not yet done, by text."""
        return [s.text for s in self.steps if s.phase == phase and not s.is_done]


@dataclass(frozen=True)
class ProgressCell(_Record):
    """One product × environment of a Deployment Request: how its version stands there and
    the newest deployment there, if any."""

    product_name: str
    version: str
    environment: str
    state: _CellState
    deployment_id: Optional[str] = field(repr=False)


@dataclass(frozen=True)
class Progress(_Record):
    """A Deployment Request's progress grid: one cell per version and environment, in the
    request's order; ``deployed`` when every cell is."""

    request_id: str = field(repr=False)
    status: _RequestStatus
    deployed: bool
    cells: List[ProgressCell] = field(repr=False, default_factory=list)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"cells": _list_of(ProgressCell)}

    def cell(self, product: str, environment: str) -> Optional[ProgressCell]:
        """The cell of ``product`` in ``environment``, if the request targets it."""
        return next(
            (c for c in self.cells if c.product_name == product and c.environment == environment),
            None,
        )


@dataclass(frozen=True)
class SlotSpec(_Record):
    """A slot as a template declares it: an approval type, required or ``optional``."""

    approval_type: str
    optional: bool = False


@dataclass(frozen=True)
class RequestTemplate(_Record):
    """A template Deployment Requests are created from: its slots, steps, environments,
    description and self-approval setting fill what a new request leaves out."""

    name: str
    description: Optional[str] = field(repr=False, default=None)
    slots: List[SlotSpec] = field(repr=False, default_factory=list)
    pre_steps: List[str] = field(repr=False, default_factory=list)
    post_steps: List[str] = field(repr=False, default_factory=list)
    environments: List[str] = field(repr=False, default_factory=list)
    allow_self_approval: Optional[bool] = field(repr=False, default=None)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"slots": _list_of(SlotSpec)}


@dataclass(frozen=True)
class QueueEntry(_Record):
    """A deployment waiting in its environment's wait queue (``track_deployment(...,
    wait=...)``): its place (1 is the head, whose preflight runs next), who waits and since
    when."""

    id: str = field(repr=False)
    position: int
    product_name: str
    version: str
    environment_name: str
    waiter: Optional[str]
    since: datetime = field(repr=False)
    heartbeat_at: datetime = field(repr=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "since": _time,
        "heartbeat_at": _time,
    }


@dataclass(frozen=True)
class Variable(_Record):
    """A variable of deployment-button templates, at the organization's scope (``product``
    None) or a product's, which overrides the organization's. ``declared``: set by a policy
    file's ``[[variables]]``."""

    name: str
    value: str
    product: Optional[str] = None
    updated_at: Optional[datetime] = field(repr=False, default=None)
    declared: bool = field(repr=False, default=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"updated_at": _time}


@dataclass(frozen=True)
class DeploymentButton(_Record):
    """A product's deployment button: a URL template with ``{variable}`` placeholders, for
    the environments it deploys to (one button per environment per product)."""

    id: str = field(repr=False)
    product: str
    name: str
    url_template: str
    environments: List[str]
    enabled: bool
    created_at: datetime = field(repr=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"created_at": _time}


@dataclass(frozen=True)
class RenderedButton(_Record):
    """A deployment button rendered for one version and environment: ``url`` (every value
    URL-encoded), or, when a variable has no value, ``error`` (``Missing variable: NAME``)."""

    button_id: str = field(repr=False)
    name: str
    environment: str
    url: Optional[str]
    error: Optional[str] = None


@dataclass(frozen=True)
class NotificationChannel(_Record):
    """A notification channel (``webhook``, ``slack_webhook`` or ``email``). Its ``config``
    never holds a secret: secrets and passwords are masked (``********``), a Slack webhook
    URL shows only its host."""

    id: str = field(repr=False)
    name: str
    channel_type: str
    config: Dict[str, Any] = field(repr=False)
    declared: bool = field(repr=False)
    created_at: datetime = field(repr=False)
    delivered_through: int = field(repr=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"created_at": _time}


@dataclass(frozen=True)
class NotificationFilters(_Record):
    """What an event must match for a preference to send it (an empty list matches
    anything)."""

    environments: List[str] = field(default_factory=list)
    products: List[str] = field(default_factory=list)
    statuses: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class NotificationPreference(_Record):
    """A subscription of a channel to one event type (or every one, ``*``), with filters."""

    id: str = field(repr=False)
    channel_id: str = field(repr=False)
    event_type: str
    filters: NotificationFilters
    created_at: datetime = field(repr=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {
        "filters": _optional(NotificationFilters),
        "created_at": _time,
    }


@dataclass(frozen=True)
class NotificationDelivery(_Record):
    """One delivery attempt, as the notification history keeps it: ``delivery_id`` is the
    same on every attempt (the ``X-Versioner-Delivery`` header); ``seq`` the outbox event
    (None for a test notification, whose ``event_type`` is ``test``); ``status``
    ``delivered``, ``retrying`` or ``parked``."""

    id: str = field(repr=False)
    delivery_id: str
    channel_id: str = field(repr=False)
    channel_name: str
    seq: Optional[int]
    event_type: str
    attempt: int
    status: str
    response_code: Optional[int]
    latency_ms: int = field(repr=False)
    error: Optional[str]
    attempted_at: datetime = field(repr=False)

    _CONVERT: ClassVar[Dict[str, _Converter]] = {"attempted_at": _time}
