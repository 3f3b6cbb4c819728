"""The exceptions Versioner raises.

Every exception derives from :class:`VersionerError` and carries the stable ``code`` of the
error (``"INVALID_INPUT"``, ``"FLOW_VIOLATION"``, ...), the HTTP status the server would answer
with and the CLI's exit code. The compiled module picks the class from the code:

==============================  =========================================================
class                           codes
==============================  =========================================================
InvalidInputError               ``INVALID_INPUT`` (also a :class:`ValueError`)
VersionConflictError            ``VERSION_CONFLICT``
DeploymentBlockedError          ``CONCURRENT_DEPLOYMENT``, ``NO_DEPLOY_WINDOW``,
                                ``FLOW_VIOLATION``, ``INSUFFICIENT_SOAK_TIME``,
                                ``APPROVAL_REQUIRED``, ``QUALITY_APPROVAL_REQUIRED``
DeploymentRequestPendingError   ``DEPLOYMENT_REQUEST_PENDING`` (a DeploymentBlockedError)
DeploymentRequestRequiredError  ``DEPLOYMENT_REQUEST_REQUIRED`` (a DeploymentBlockedError)
NotFoundError                   ``NOT_FOUND``
AuthError                       ``UNAUTHORIZED``, ``FORBIDDEN``
VersionerError                  ``STORAGE``, ``NETWORK``, ``INTERNAL``, ``RATE_LIMITED``
==============================  =========================================================
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from ._records import PolicyProblem, RuleOutcome, Verdict

__all__ = [
    "AuthError",
    "DeploymentBlockedError",
    "DeploymentRequestPendingError",
    "DeploymentRequestRequiredError",
    "InvalidInputError",
    "NotFoundError",
    "VersionConflictError",
    "VersionerError",
]


class VersionerError(Exception):
    """Base class of every Versioner error.

    Attributes:
        code: The stable error code, e.g. ``"STORAGE"``.
        message: What went wrong and what to do next.
        http_status: The HTTP status the Versioner server answers with for this code.
        exit_code: The ``versioner`` CLI's exit code for this code (1, 4 or 5).
    """

    code: str
    message: str
    http_status: int
    exit_code: int

    def __init__(
        self,
        message: str,
        *,
        code: str = "INTERNAL",
        http_status: int = 500,
        exit_code: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        # Rebuild from the message, then restore every attribute (pickling, multiprocessing).
        return (type(self), (self.message,), self.__dict__.copy())


class InvalidInputError(VersionerError, ValueError):
    """A field is missing, blank, too long or malformed; or a policy is invalid.

    Attributes:
        field: The field at fault, named as in the API (``"product_name"``,
            ``"extra_metadata"``, ...), when known.
        problems: For an invalid policy or rule, every problem found (nothing was applied).
    """

    field: Optional[str]
    problems: List[PolicyProblem]

    def __init__(
        self,
        message: str,
        *,
        code: str = "INVALID_INPUT",
        http_status: int = 422,
        exit_code: int = 4,
        field: Optional[str] = None,
        problems: Sequence[PolicyProblem] = (),
    ) -> None:
        super().__init__(message, code=code, http_status=http_status, exit_code=exit_code)
        self.field = field
        self.problems = list(problems)


class VersionConflictError(VersionerError):
    """The version was recorded earlier with another commit SHA; versions are immutable.

    Attributes:
        product_name: The product, when known.
        version: The version, when known.
        recorded_sha: The SHA recorded first, when known.
        given_sha: The conflicting SHA given now, when known.
    """

    product_name: Optional[str]
    version: Optional[str]
    recorded_sha: Optional[str]
    given_sha: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        code: str = "VERSION_CONFLICT",
        http_status: int = 409,
        exit_code: int = 4,
        product_name: Optional[str] = None,
        version: Optional[str] = None,
        recorded_sha: Optional[str] = None,
        given_sha: Optional[str] = None,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status, exit_code=exit_code)
        self.product_name = product_name
        self.version = version
        self.recorded_sha = recorded_sha
        self.given_sha = given_sha


class DeploymentBlockedError(VersionerError):
    """The preflight refused the deployment; nothing was recorded.

    Attributes:
        verdict: Every rule's outcome (None only when a remote server sent no verdict).
        code: The primary failure's code, e.g. ``"NO_DEPLOY_WINDOW"``.
        http_status: 409 (concurrency), 423 (window) or 428 (preconditions).
        retry_after: When time alone clears every block (a window or a soak ends), else None:
            a person must act (approve, finish another deployment, ...).
        rule_name: The rule of the primary (most severe) failure.
        violations: Every blocking rule outcome.
    """

    verdict: Optional[Verdict]
    retry_after: Optional[datetime]
    rule_name: Optional[str]
    violations: List[RuleOutcome]

    def __init__(
        self,
        message: str,
        *,
        code: str = "FLOW_VIOLATION",
        http_status: int = 428,
        exit_code: int = 5,
        verdict: Optional[Verdict] = None,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status, exit_code=exit_code)
        self.verdict = verdict
        primary = verdict.primary if verdict is not None else None
        self.retry_after = verdict.retry_after if verdict is not None else None
        self.rule_name = primary.rule_name if primary is not None else None
        self.violations = list(verdict.failures) if verdict is not None else []


class DeploymentRequestPendingError(DeploymentBlockedError):
    """Blocked: a submitted Deployment Request covers the deployment and is not yet approved
    with its pre-deployment steps done (or one of its required slots was rejected).

    Approve its missing slots and tick its open pre-deployment steps (the message names them),
    or deactivate and rework it when a slot was rejected. The attributes are
    :class:`DeploymentBlockedError`'s; ``rule_name`` is ``"Deployment Request: <name>"``.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "DEPLOYMENT_REQUEST_PENDING",
        http_status: int = 428,
        exit_code: int = 5,
        verdict: Optional[Verdict] = None,
    ) -> None:
        super().__init__(
            message, code=code, http_status=http_status, exit_code=exit_code, verdict=verdict
        )


class DeploymentRequestRequiredError(DeploymentBlockedError):
    """Blocked: a ``deployment_request_required`` rule wants an approved Deployment Request
    covering the deployment, and none does (a draft never counts).

    Create and submit one (``create_request``, ``submit_request``) and have its slots
    approved. The attributes are :class:`DeploymentBlockedError`'s.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "DEPLOYMENT_REQUEST_REQUIRED",
        http_status: int = 428,
        exit_code: int = 5,
        verdict: Optional[Verdict] = None,
    ) -> None:
        super().__init__(
            message, code=code, http_status=http_status, exit_code=exit_code, verdict=verdict
        )


class NotFoundError(VersionerError):
    """The named product, version, deployment, rule or approval does not exist.

    Attributes:
        kind: What kind of thing (``"product"``, ``"rule"``, ...), when known.
        name: Its name or id, when known.
    """

    kind: Optional[str]
    name: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        code: str = "NOT_FOUND",
        http_status: int = 404,
        exit_code: int = 4,
        kind: Optional[str] = None,
        name: Optional[str] = None,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status, exit_code=exit_code)
        self.kind = kind
        self.name = name


class AuthError(VersionerError):
    """No or an invalid API key (``UNAUTHORIZED``), or one without permission (``FORBIDDEN``)."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "UNAUTHORIZED",
        http_status: int = 401,
        exit_code: int = 4,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status, exit_code=exit_code)


# Shown as `versioner.NotFoundError` in tracebacks; that is where users import them from.
for _cls in (
    VersionerError,
    InvalidInputError,
    VersionConflictError,
    DeploymentBlockedError,
    DeploymentRequestPendingError,
    DeploymentRequestRequiredError,
    NotFoundError,
    AuthError,
):
    _cls.__module__ = "versioner"
del _cls
