"""Versioner: deployment tracking and preflight policy, embedded.

Record "build completed", "deployment started" and "deployment completed" events from any
deploy tool; Versioner creates products, versions and environments on first sight, keeps an
append-only history, answers *what is deployed where* (now or at any past instant), and on
every ``started`` deployment evaluates your deployment rules, refusing with a precise verdict
before anything is deployed::

    import versioner

    vr = versioner.Versioner("versioner.db")          # or Versioner() for in-memory
    vr.apply_policy("versioner.toml")
    try:
        with vr.deploying(product_name="api", version="1.2.0", environment_name="production"):
            deploy()                                   # recorded completed, or failed
    except versioner.DeploymentBlockedError as e:
        print(e.verdict)                               # every rule's outcome
        raise SystemExit(5)

``versioner.Client(api_url, api_key)`` has the same methods against a ``versioner serve``;
both derive from :class:`Tracker`, and both are context managers (``close()`` on exit).
``versioner.Versioner.connect(url)`` opens a PostgreSQL database instead of a SQLite file.
"""

from ._context import DeploymentRun
from ._errors import (
    AuthError,
    DeploymentBlockedError,
    DeploymentRequestPendingError,
    DeploymentRequestRequiredError,
    InvalidInputError,
    NotFoundError,
    VersionConflictError,
    VersionerError,
)
from ._native import VERSION, Client, Subscription, Tracker, Versioner, detect_ci
from ._records import (
    ApplyReport,
    Approval,
    AuditReport,
    Build,
    CiInfo,
    CoveringRequest,
    DecisionRecord,
    DeliveryReport,
    DeployedVersion,
    Deployment,
    DeploymentButton,
    DeploymentRequest,
    DomainEvent,
    Drift,
    Environment,
    Facts,
    NotificationChannel,
    NotificationDelivery,
    NotificationFilters,
    NotificationPreference,
    OpenDeployment,
    PolicyProblem,
    Preflight,
    Product,
    Progress,
    ProgressCell,
    QueueEntry,
    RenderedButton,
    ReplayChange,
    RequestContext,
    RequestTemplate,
    RequestVersion,
    Rule,
    RuleOutcome,
    RuleStatusChange,
    Slot,
    SlotSpec,
    StateCell,
    StateMatrix,
    Step,
    SkewFacts,
    Stint,
    Transition,
    Variable,
    Verdict,
    Version,
)

__version__ = VERSION

__all__ = [
    "ApplyReport",
    "Approval",
    "AuditReport",
    "AuthError",
    "Build",
    "CiInfo",
    "Client",
    "CoveringRequest",
    "DecisionRecord",
    "DeliveryReport",
    "DeployedVersion",
    "Deployment",
    "DeploymentBlockedError",
    "DeploymentButton",
    "DeploymentRequest",
    "DeploymentRequestPendingError",
    "DeploymentRequestRequiredError",
    "DeploymentRun",
    "DomainEvent",
    "Drift",
    "Environment",
    "Facts",
    "InvalidInputError",
    "NotFoundError",
    "NotificationChannel",
    "NotificationDelivery",
    "NotificationFilters",
    "NotificationPreference",
    "OpenDeployment",
    "PolicyProblem",
    "Preflight",
    "Product",
    "Progress",
    "ProgressCell",
    "QueueEntry",
    "RenderedButton",
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
    "Subscription",
    "Tracker",
    "Transition",
    "Variable",
    "Verdict",
    "Version",
    "VersionConflictError",
    "Versioner",
    "VersionerError",
    "detect_ci",
    "__version__",
]
