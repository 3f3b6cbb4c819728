"""``with vr.deploying(product_name=..., version=..., environment_name=...) as run:``.

The context manager records the deployment's lifecycle around the body: ``started`` on entry
(the preflight runs, and a refusal raises :class:`~versioner.DeploymentBlockedError` before
the body runs), ``completed`` when the body returns, ``failed`` when it raises an
:class:`Exception` (``aborted`` for ``KeyboardInterrupt`` and other ``BaseException``), and
the exception propagates unchanged.
"""

from __future__ import annotations

import warnings
from types import TracebackType
from typing import Any, Dict, List, Literal, Mapping, Optional, Type, Union

from ._records import Deployment, RuleOutcome

__all__ = ["DeploymentRun"]

#: The event fields a tracked deployment accepts besides product, version and environment.
FIELDS = frozenset(
    {
        "deployed_by",
        "deployed_by_email",
        "deployed_by_name",
        "scm_sha",
        "scm_repository",
        "scm_branch",
        "build_number",
        "source_system",
        "invoke_id",
        "deploy_url",
        "build_url",
        "extra_metadata",
        "skip_preflight_checks",
        "skip_preflight_reason",
    }
)
#: Fields that only mean something on the ``started`` event.
_START_ONLY = frozenset({"skip_preflight_checks", "skip_preflight_reason", "extra_metadata"})


class DeploymentRun:
    """One tracked deployment, as a context manager (``Tracker.deploying``).

    Attributes:
        product_name: The product.
        version: The version.
        environment_name: The target environment.
        started: The deployment as recorded by the ``started`` event (after ``__enter__``).
        finished: The deployment as recorded by the terminal event (after ``__exit__``).
        extra_metadata: Metadata to add with the terminal event; set keys in the body.
    """

    product_name: str
    version: Union[str, int]
    environment_name: str
    started: Optional[Deployment]
    finished: Optional[Deployment]
    extra_metadata: Dict[str, Any]

    def __init__(
        self,
        versioner: Any,
        *,
        product_name: Optional[str],
        version: Union[str, int, None],
        environment_name: Optional[str],
        fields: Mapping[str, Any],
    ) -> None:
        missing = [
            name
            for name, value in (
                ("product_name", product_name),
                ("version", version),
                ("environment_name", environment_name),
            )
            if value is None
        ]
        if missing:
            raise TypeError(
                "deploying() needs product_name=, version= and environment_name=; "
                f"missing: {', '.join(missing)}"
            )
        unknown = sorted(set(fields) - FIELDS)
        if unknown:
            raise TypeError(
                f"deploying() got unexpected keyword argument(s): {', '.join(unknown)}; "
                f"accepted: {', '.join(sorted(FIELDS))}"
            )
        self._vr = versioner
        self.product_name = product_name  # type: ignore[assignment]
        self.version = version  # type: ignore[assignment]
        self.environment_name = environment_name  # type: ignore[assignment]
        self._fields = dict(fields)
        self.started = None
        self.finished = None
        self.extra_metadata = {}

    @property
    def product(self) -> str:
        """Deprecated spelling of :attr:`product_name` (removed in the next release)."""
        warnings.warn(
            "DeploymentRun.product is deprecated; use DeploymentRun.product_name",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.product_name

    @property
    def environment(self) -> str:
        """Deprecated spelling of :attr:`environment_name` (removed in the next release)."""
        warnings.warn(
            "DeploymentRun.environment is deprecated; use DeploymentRun.environment_name",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.environment_name

    @property
    def deployment(self) -> Deployment:
        """The deployment as last recorded."""
        latest = self.finished or self.started
        if latest is None:
            raise RuntimeError("the deployment has not started; use it in a `with` block")
        return latest

    @property
    def id(self) -> str:
        """The deployment's id."""
        return self.deployment.id

    @property
    def warnings(self) -> List[RuleOutcome]:
        """The report-only rule failures the deployment went ahead with."""
        return self.deployment.warnings

    def _track(self, status: str, fields: Mapping[str, Any]) -> Deployment:
        result: Deployment = self._vr.track_deployment(
            product_name=self.product_name,
            version=self.version,
            environment_name=self.environment_name,
            status=status,
            **fields,
        )
        return result

    def __enter__(self) -> DeploymentRun:
        """Records ``started``; raises DeploymentBlockedError when the preflight refuses."""
        if self.started is not None:
            raise RuntimeError("a DeploymentRun can be entered only once")
        self.started = self._track("started", self._fields)
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> Literal[False]:
        """Records ``completed``, ``failed`` or ``aborted``; never swallows the exception."""
        if exc is None:
            status = "completed"
        elif isinstance(exc, Exception):
            status = "failed"
        else:
            status = "aborted"
        fields = {k: v for k, v in self._fields.items() if k not in _START_ONLY}
        if self.extra_metadata:
            fields["extra_metadata"] = dict(self.extra_metadata)
        try:
            self.finished = self._track(status, fields)
        except Exception as err:
            if exc is None:
                raise
            # The body's exception matters more; do not replace it.
            warnings.warn(
                f"could not record the deployment as {status}: {err}",
                RuntimeWarning,
                stacklevel=2,
            )
        return False

    def __repr__(self) -> str:
        state = "finished" if self.finished else "started" if self.started else "not started"
        return (
            f"DeploymentRun(product_name={self.product_name!r}, version={self.version!r}, "
            f"environment_name={self.environment_name!r}, {state})"
        )
