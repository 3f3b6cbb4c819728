"""The compiled part of the ``versioner`` package; import ``versioner`` instead."""

import os
from pathlib import Path
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Callable, Final, Literal, Optional, Union, final, overload

from typing_extensions import Self, disjoint_base

from ._context import DeploymentRun
from ._records import (
    ApplyReport,
    Approval,
    AuditReport,
    Build,
    CiInfo,
    DecisionRecord,
    DeliveryReport,
    Deployment,
    DeploymentButton,
    DeploymentRequest,
    DomainEvent,
    Drift,
    Environment,
    NotificationChannel,
    NotificationDelivery,
    NotificationPreference,
    Product,
    Progress,
    QueueEntry,
    RenderedButton,
    ReplayChange,
    RequestTemplate,
    Rule,
    RuleStatusChange,
    StateMatrix,
    Variable,
    Verdict,
    Version,
)

__all__ = ["VERSION", "Client", "Subscription", "Tracker", "Versioner", "detect_ci"]

#: The version of the Rust core this module was built from.
VERSION: Final[str]

#: An instant: a timezone-aware datetime, or an RFC 3339 string.
_Instant = Union[datetime, str]
#: A JSON-compatible value (aware datetimes and timedeltas are written as text).
_Json = Any
#: A policy: TOML or JSON text, a path to a policy file, or a dict / list of rules.
_Policy = Union[str, os.PathLike[str], Mapping[str, Any], Sequence[Mapping[str, Any]]]
#: A Deployment Request's versions: ``(product, version)`` pairs, or product → version.
_Versions = Union[Sequence[tuple[str, Union[str, int]]], Mapping[str, Union[str, int]]]
#: A slot: its approval type, or ``{"approval_type": "qa", "optional": False}``.
_SlotArg = Union[str, Mapping[str, Any]]

def detect_ci(env: Optional[Mapping[str, str]] = None) -> CiInfo:
    """Detects the CI/CD system from environment variables — a mapping, or the process
    environment when ``env`` is None — and returns what it found as a :class:`CiInfo`."""

def _record(name: str, wire: Mapping[str, Any]) -> Any:
    """Builds the record class ``name`` from its wire form (``_Record._from_wire``)."""

@final
class Subscription:
    """A running subscription (:meth:`Versioner.subscribe`); ``cancel()`` or leaving its
    ``with`` block stops it."""

    def cancel(self) -> None:
        """Stops the subscription, waiting for a call in progress to return."""

    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> None: ...

@disjoint_base
class Tracker:
    """What the in-process :class:`Versioner` and the remote :class:`Client` share: tracking,
    the preflight, rules, approvals and queries. Annotate with it to accept either."""

    def track_build(
        self,
        *,
        product_name: str,
        version: Union[str, int],
        status: str,
        built_by: Optional[str] = None,
        built_by_email: Optional[str] = None,
        built_by_name: Optional[str] = None,
        scm_sha: Optional[str] = None,
        scm_branch: Optional[str] = None,
        scm_repository: Optional[str] = None,
        build_url: Optional[str] = None,
        build_number: Optional[Union[str, int]] = None,
        source_system: Optional[str] = None,
        invoke_id: Optional[str] = None,
        started_at: Optional[_Instant] = None,
        completed_at: Optional[_Instant] = None,
        error_message: Optional[str] = None,
        error_code: Optional[str] = None,
        extra_metadata: Optional[Mapping[str, _Json]] = None,
        scm_committed_at: Optional[_Instant] = None,
    ) -> Build:
        """Records a build event and returns the build.

        Creates the product and version on first sight; the first SHA recorded for a
        version is permanent. ``status`` takes any alias (``success``, ``built``,
        ``in_progress``, ...). Repeating an event with the same ``invoke_id`` and status
        returns the recorded build and writes nothing.

        Raises:
            InvalidInputError: a field is missing, blank, too long or malformed (``.field``).
            VersionConflictError: the version was recorded with another SHA.
        """

    def track_deployment(
        self,
        *,
        product_name: str,
        version: Union[str, int],
        environment_name: str,
        status: str,
        deployed_by: Optional[str] = None,
        deployed_by_email: Optional[str] = None,
        deployed_by_name: Optional[str] = None,
        scm_sha: Optional[str] = None,
        scm_repository: Optional[str] = None,
        scm_branch: Optional[str] = None,
        build_number: Optional[Union[str, int]] = None,
        source_system: Optional[str] = None,
        invoke_id: Optional[str] = None,
        deploy_url: Optional[str] = None,
        build_url: Optional[str] = None,
        completed_at: Optional[_Instant] = None,
        extra_metadata: Optional[Mapping[str, _Json]] = None,
        skip_preflight_checks: Optional[bool] = None,
        skip_preflight_reason: Optional[str] = None,
        scm_committed_at: Optional[_Instant] = None,
        wait: Optional[Union[float, timedelta]] = None,
    ) -> Deployment:
        """Records a deployment event and returns the deployment.

        With ``wait`` (seconds or a timedelta, at most an hour), a ``started`` event blocked
        by something time alone clears (a window, a soak, a deployment in progress) waits in
        its environment's queue, in arrival order, and is tracked when the block clears; past
        the limit it raises the block. A block time cannot clear raises at once.

        ``pending`` queues a deployment; ``started`` runs the preflight and, when every
        enabled rule holds, opens it; ``completed``, ``failed`` and ``aborted`` close the
        newest open deployment of the same product, version and environment (or record a
        closed one). An emergency bypass (``skip_preflight_checks=True``) needs
        ``skip_preflight_reason`` and is recorded with what the rules would have said.

        Raises:
            DeploymentBlockedError: the preflight refused a ``started`` event.
            InvalidInputError: a field is missing, blank, too long or malformed (``.field``).
            VersionConflictError: the version was recorded with another SHA.
        """

    def queue(self, environment: Optional[str] = None) -> list[QueueEntry]:
        """The deployments waiting in the wait queue, of one environment or of all, each
        environment's in arrival order with its ``position`` from 1."""

    def check(
        self,
        *,
        product_name: str,
        version: Union[str, int],
        environment_name: str,
        deployed_by: Optional[str] = None,
        at: Optional[_Instant] = None,
    ) -> Verdict:
        """Evaluates the preflight for a would-be deployment without recording anything, now
        or at the instant ``at``, and returns the verdict (allowed or blocked, never raised).

        Raises:
            InvalidInputError: a field is missing or malformed.
        """

    @overload
    def deployment(self, id: str, /) -> Deployment:
        """The deployment with this id."""

    @overload
    def deployment(
        self,
        id: None = None,
        /,
        *,
        product: str,
        version: Union[str, int],
        environment: str,
        deployed_by: Optional[str] = ...,
        deployed_by_email: Optional[str] = ...,
        deployed_by_name: Optional[str] = ...,
        scm_sha: Optional[str] = ...,
        scm_repository: Optional[str] = ...,
        scm_branch: Optional[str] = ...,
        build_number: Optional[Union[str, int]] = ...,
        source_system: Optional[str] = ...,
        invoke_id: Optional[str] = ...,
        deploy_url: Optional[str] = ...,
        build_url: Optional[str] = ...,
        extra_metadata: Optional[Mapping[str, _Json]] = ...,
        skip_preflight_checks: Optional[bool] = ...,
        skip_preflight_reason: Optional[str] = ...,
    ) -> DeploymentRun:
        """Deprecated (removed in the next release): use :meth:`deploying`. Warns with
        ``DeprecationWarning``."""

    def deploying(
        self,
        *,
        product_name: str,
        version: Union[str, int],
        environment_name: str,
        deployed_by: Optional[str] = ...,
        deployed_by_email: Optional[str] = ...,
        deployed_by_name: Optional[str] = ...,
        scm_sha: Optional[str] = ...,
        scm_repository: Optional[str] = ...,
        scm_branch: Optional[str] = ...,
        build_number: Optional[Union[str, int]] = ...,
        source_system: Optional[str] = ...,
        invoke_id: Optional[str] = ...,
        deploy_url: Optional[str] = ...,
        build_url: Optional[str] = ...,
        extra_metadata: Optional[Mapping[str, _Json]] = ...,
        skip_preflight_checks: Optional[bool] = ...,
        skip_preflight_reason: Optional[str] = ...,
    ) -> DeploymentRun:
        """A context manager tracking one deployment around its body: ``started`` on entry
        (raising DeploymentBlockedError before the body runs), ``completed`` when the body
        returns, ``failed`` when it raises (the exception propagates)."""

    def rules(self) -> list[Rule]:
        """Every rule, in evaluation order."""

    def rule(self, name: str) -> Rule:
        """The rule named ``name``.

        Raises:
            NotFoundError: no such rule.
        """

    def add_rule(self, rule: Union[Mapping[str, _Json], Rule]) -> Rule:
        """Adds a rule — a dict in policy-file form, or a Rule — at the end of the
        evaluation order.

        Raises:
            InvalidInputError: the rule is invalid (``.problems`` lists every problem) or its
                name is taken.
        """

    def update_rule(self, name: str, rule: Union[Mapping[str, _Json], Rule]) -> Rule:
        """Replaces the rule named ``name`` with ``rule`` (which may rename it).

        Raises:
            NotFoundError: no such rule.
            InvalidInputError: the rule is invalid, or the new name is taken.
        """

    def delete_rule(self, name: str) -> None:
        """Deletes the rule named ``name``.

        Raises:
            NotFoundError: no such rule.
        """

    def rule_history(self, name: Optional[str] = None) -> list[RuleStatusChange]:
        """The status history of the rule named ``name`` (or of every rule), oldest first:
        who changed a status, when and why. Empty for a name without recorded changes; a
        deleted rule keeps its history."""

    def set_rule_status(
        self, name: str, status: str, actor: Optional[str], reason: str
    ) -> Rule:
        """Changes a rule's status (``enabled``, ``report_only`` or ``disabled``), recording
        who, when and why. ``actor`` may be None when the tracker knows who acts (a
        :class:`Client`: its key's principal; a :class:`Versioner` with an actor); given, it
        must be that name.

        Raises:
            NotFoundError: no such rule.
            InvalidInputError: unknown status, blank ``reason``, no ``actor`` where one is
                needed, or an ``actor`` that is not the caller.
            AuthError: the actor's role may not change rules.
        """

    def apply_policy(
        self,
        policy: _Policy,
        *,
        format: Optional[Literal["toml", "json"]] = None,
        mode: Literal["replace", "merge"] = "replace",
        actor: Optional[str] = None,
    ) -> ApplyReport:
        """Applies a policy: TOML or JSON text, a path to a policy file (``.json`` files are
        JSON, others TOML), or a dict / list of rules. A str is a file name when it is one
        line ending in ``.toml`` or ``.json``, or names an existing file; otherwise it is
        policy text, whose format, when not given, is detected: a document starting with
        ``{`` (or ``[`` followed by ``{`` or ``]``) is JSON, anything else TOML. In "replace"
        mode the policy becomes the whole rule set; in "merge" mode its rules are added or
        updated by name. All or nothing: an invalid policy changes nothing. Every binding
        reads a policy the same way (the core does). The policy's ``[approvals]`` table
        declares approval types and which roles grant them. ``actor`` (recorded with status
        changes) defaults to the tracker's own, else "python".

        Raises:
            InvalidInputError: the policy is invalid (``.problems`` lists every problem) or
                the file cannot be read.
        """

    def approve(
        self,
        *,
        product_name: str,
        version: Union[str, int],
        approval_type: str,
        approver: Optional[str] = None,
        approver_role: Optional[str] = None,
        environment_name: Optional[str] = None,
        comment: Optional[str] = None,
        environment: Optional[str] = None,
    ) -> Approval:
        """Records an approval (``qa``, ``security``, ``uat``, ``code_review``,
        ``compliance``, ``performance``, ``release`` or a type the policy declares) of a
        recorded version, by its actor with the actor's role: a :class:`Client`'s key
        principal, a :class:`Versioner`'s actor, else ``approver`` (with ``approver_role``,
        for an approver that is not a registered principal; else admin).

        Raises:
            NotFoundError: the product or version was never recorded.
            InvalidInputError: a field is missing or malformed, the type is not in the
                catalog (the message names the accepted ones), or ``approver`` /
                ``approver_role`` is not the caller's.
            AuthError: the role may not grant this type.
        """

    def revoke_approval(self, id: str, actor: Optional[str], reason: str) -> Approval:
        """Revokes an approval (it stays on record, marked revoked) and returns it: one's own,
        or any as an admin or release manager. ``actor`` may be None when the tracker knows
        who acts.

        Raises:
            NotFoundError: no such approval.
            InvalidInputError: blank ``reason``, no ``actor`` where one is needed, an
                ``actor`` that is not the caller, or already revoked.
            AuthError: another's approval, without the role to revoke it.
        """

    def approvals(
        self,
        product_name: Optional[str] = None,
        version: Optional[Union[str, int]] = None,
        *,
        product: Optional[str] = None,
    ) -> list[Approval]:
        """The approvals of a version (revoked ones too), oldest first. (``product=`` is the
        deprecated spelling of ``product_name=``.)

        Raises:
            NotFoundError: the product or version was never recorded.
        """

    # ----- deployment requests -----------------------------------------------------------------

    def create_request(
        self,
        name: str,
        *,
        versions: Optional[_Versions] = None,
        environments: Optional[Sequence[str]] = None,
        slots: Optional[Sequence[_SlotArg]] = None,
        optional_slots: Optional[Sequence[_SlotArg]] = None,
        pre_steps: Optional[Sequence[str]] = None,
        post_steps: Optional[Sequence[str]] = None,
        template: Optional[str] = None,
        description: Optional[str] = None,
        release_notes: Optional[str] = None,
        issue_links: Optional[Sequence[str]] = None,
        metadata: Optional[Mapping[str, _Json]] = None,
        allow_self_approval: Optional[bool] = None,
        created_by: Optional[str] = None,
    ) -> DeploymentRequest:
        """Creates a Deployment Request as a draft (it blocks nothing until submitted).
        ``versions`` names recorded versions, one per product: ``[("api", "1.2.0")]`` or
        ``{"api": "1.2.0"}``. ``slots`` are required approval types, ``optional_slots``
        advisory ones; ``pre_steps`` are done before deploying, ``post_steps`` after. A
        ``template`` fills what is left out. ``allow_self_approval`` defaults to off when an
        environment is a production one. ``created_by`` may be None when the tracker knows
        who acts.

        Raises:
            InvalidInputError: a blank name, two versions of one product, an unknown approval
                type, a repeated environment or step, a limit exceeded.
            NotFoundError: a version never recorded, or an unknown template.
            AuthError: the creator's role may not manage Deployment Requests.
        """

    def update_request(
        self,
        id: str,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        release_notes: Optional[str] = None,
        issue_links: Optional[Sequence[str]] = None,
        metadata: Optional[Mapping[str, _Json]] = None,
        add_versions: Optional[_Versions] = None,
        remove_versions: Optional[Sequence[str]] = None,
        environments: Optional[Sequence[str]] = None,
        slots: Optional[Sequence[_SlotArg]] = None,
        optional_slots: Optional[Sequence[_SlotArg]] = None,
        pre_steps: Optional[Sequence[str]] = None,
        post_steps: Optional[Sequence[str]] = None,
        allow_self_approval: Optional[bool] = None,
        actor: Optional[str] = None,
    ) -> DeploymentRequest:
        """Edits a draft Deployment Request (a release also while submitted): every argument
        given replaces the request's. ``remove_versions`` names products or version ids.
        ``release_notes``, ``issue_links`` and ``metadata`` replace the context together.

        Raises:
            InvalidInputError: the request is not a draft (the message names its status), or
                a bad field.
            NotFoundError: no such request, or a version never recorded.
            AuthError: the actor's role may not manage Deployment Requests.
        """

    def submit_request(
        self,
        id: str,
        *,
        comment: Optional[str] = None,
        actor: Optional[str] = None,
        role: Optional[str] = None,
    ) -> DeploymentRequest:
        """Submits a draft: it now governs the deployments it covers (``in_progress``, or
        ``approved`` at once without a required slot).

        Raises:
            InvalidInputError: not a draft, or no version or environment.
            NotFoundError: no such request.
            AuthError: the role may not manage Deployment Requests.
        """

    def approve_request(
        self,
        id: str,
        approval_type: str,
        *,
        comment: Optional[str] = None,
        actor: Optional[str] = None,
        role: Optional[str] = None,
    ) -> DeploymentRequest:
        """Fills the first pending slot of ``approval_type`` with an approval by ``actor``
        (``role``: for an actor that is not a registered principal).

        Raises:
            InvalidInputError: not in progress or approved, no pending slot of the type, or
                the actor already decided a slot.
            AuthError: the role may not grant the type, or the creator may not fill a
                required slot (self-approval off). Nothing is written.
            NotFoundError: no such request.
        """

    def reject_request(
        self,
        id: str,
        approval_type: str,
        *,
        comment: Optional[str],
        actor: Optional[str] = None,
        role: Optional[str] = None,
    ) -> DeploymentRequest:
        """Fills the first pending slot of ``approval_type`` with a rejection; ``comment``
        (why) is required. A rejected required slot makes the request ``rejected``.

        Raises:
            InvalidInputError: no comment, or as :meth:`approve_request`.
            AuthError: as :meth:`approve_request`.
            NotFoundError: no such request.
        """

    def request_step_done(
        self,
        id: str,
        step: str,
        *,
        comment: Optional[str] = None,
        actor: Optional[str] = None,
        role: Optional[str] = None,
    ) -> DeploymentRequest:
        """Marks the step whose text is ``step`` done; the last post-deployment step of a
        deployed request completes it.

        Raises:
            InvalidInputError: an unknown or already done step, or a post-deployment step
                before every deployment succeeded.
            NotFoundError: no such request.
        """

    def deactivate_request(
        self,
        id: str,
        *,
        comment: Optional[str] = None,
        actor: Optional[str] = None,
        role: Optional[str] = None,
    ) -> DeploymentRequest:
        """Returns a submitted request to draft, clearing every slot decision.

        Raises:
            InvalidInputError: not submitted (the message names its status).
            NotFoundError: no such request.
        """

    def cancel_request(
        self,
        id: str,
        *,
        comment: Optional[str] = None,
        actor: Optional[str] = None,
        role: Optional[str] = None,
    ) -> DeploymentRequest:
        """Cancels an open request.

        Raises:
            InvalidInputError: already completed or cancelled.
            NotFoundError: no such request.
        """

    def complete_request(
        self,
        id: str,
        *,
        comment: Optional[str] = None,
        actor: Optional[str] = None,
        role: Optional[str] = None,
    ) -> DeploymentRequest:
        """Completes a submitted release (a request without slots or steps) by hand.

        Raises:
            InvalidInputError: the request has slots or steps, or is not submitted.
            NotFoundError: no such request.
        """

    def request(self, id: str) -> DeploymentRequest:
        """One Deployment Request by id.

        Raises:
            NotFoundError: no such request.
        """

    def requests(
        self,
        *,
        status: Optional[str] = None,
        product: Optional[str] = None,
        environment: Optional[str] = None,
        releases_only: bool = False,
    ) -> list[DeploymentRequest]:
        """Deployment Requests, newest first, narrowed by every filter given.

        Raises:
            InvalidInputError: an unknown status (the message names the accepted ones).
        """

    def request_progress(self, id: str) -> Progress:
        """A request's progress grid: one cell per product version × environment.

        Raises:
            NotFoundError: no such request.
        """

    def request_templates(self) -> list[RequestTemplate]:
        """Every Deployment Request template, by name."""

    def put_request_templates(
        self,
        templates: Union[
            str,
            os.PathLike[str],
            Mapping[str, Any],
            Sequence[Union[RequestTemplate, Mapping[str, Any]]],
        ],
    ) -> list[RequestTemplate]:
        """Adds or replaces templates by name, all or none, and returns them as stored:
        template-file text (TOML or JSON), a path to one, ``{"templates": [...]}`` or a list
        of templates.

        Raises:
            InvalidInputError: unreadable text, an unknown key, a blank or repeated name, an
                unknown approval type, a repeated step or environment.
            AuthError: the actor's role may not manage templates.
        """

    def delete_request_template(self, name: str) -> None:
        """Removes the template ``name``.

        Raises:
            NotFoundError: no such template.
            AuthError: the actor's role may not manage templates.
        """

    def versions(
        self,
        product_name: Optional[str] = None,
        limit: int = 50,
        offset: int = 0,
        *,
        product: Optional[str] = None,
    ) -> list[Version]:
        """Versions of a product, newest first (``limit`` 1 to 1000). (``product=`` is the
        deprecated spelling of ``product_name=``.)

        Raises:
            NotFoundError: unknown product.
            InvalidInputError: a bad ``limit`` or ``offset``.
        """

    def version(
        self,
        product_name: Optional[str] = None,
        version: Optional[Union[str, int]] = None,
        *,
        product: Optional[str] = None,
    ) -> Version:
        """One version of a product. (``product=`` is the deprecated spelling of
        ``product_name=``.)

        Raises:
            NotFoundError: unknown product or version.
        """

    def version_by_id(self, id: str) -> Version:
        """A version by its id.

        Raises:
            NotFoundError: no such version.
        """

    def versions_by_sha(self, sha: str) -> list[Version]:
        """Versions built from a commit; an abbreviated SHA (4+ hex characters) matches by
        prefix.

        Raises:
            InvalidInputError: not a SHA.
        """

    def history(
        self,
        *,
        product_name: Optional[str] = None,
        environment_name: Optional[str] = None,
        version: Optional[Union[str, int]] = None,
        status: Optional[str] = None,
        since: Optional[_Instant] = None,
        until: Optional[_Instant] = None,
        limit: Optional[int] = None,
        preflight: Optional[Literal["passed", "skipped"]] = None,
        product: Optional[str] = None,
        environment: Optional[str] = None,
    ) -> list[Deployment]:
        """Deployment history, newest first (50 by default, at most 1000), filtered by any of
        the arguments (`preflight="skipped"`: the emergency bypasses). Unknown names match nothing; filtering by version needs a product.

        Raises:
            InvalidInputError: a bad filter.
        """

    def state(self, at: Optional[_Instant] = None) -> StateMatrix:
        """What is deployed where: for every product × environment with history, the version
        last deployed successfully and the deployments in progress — now, or as of ``at``."""

    def drift(
        self,
        at: Optional[_Instant] = None,
        environments: Optional[Sequence[str]] = None,
    ) -> list[Drift]:
        """Products whose environments hold different versions (now, or as of ``at``),
        considering only ``environments`` when given."""

    def dora(
        self,
        since: _Instant,
        until: _Instant,
        product: Optional[str] = None,
        environments: Optional[Sequence[str]] = None,
        frequency: Optional[Literal["per_day", "deployment_days_per_week"]] = None,
        rollbacks: Optional[Literal["not_a_failure", "failure_of_replaced"]] = None,
        by: Optional[Literal["week"]] = None,
    ) -> dict[str, Any]:
        """The four keys (DORA metrics) over ``[since, until)`` — deployment frequency, lead
        time, change failure rate, time to restore — with their bands and the definitions
        used, as a dict in the JSON shape of ``GET /metrics/dora``. Every production
        environment unless ``environments`` is given.

        Raises:
            InvalidInputError: an inverted range or an unknown definition.
            NotFoundError: an unknown product or environment.
        """

    def import_events(self, text: str, *, dry_run: bool = False) -> dict[str, Any]:
        """Imports a history file's text (JSON Lines: one build or deployment event per line,
        with its own times): every line validated, applied in time order in one transaction,
        lines imported before skipped. Returns the report (``lines``, ``builds``,
        ``deployments``, ``skipped``, ``dry_run``); with ``dry_run=True`` nothing is written.

        Raises:
            InvalidInputError: a failing line, named ``line N`` (nothing is written).
            AuthError: the actor is not an admin.
        """

    def export_events(self) -> str:
        """Every build and deployment as a history file (JSON Lines, in time order), the
        text ``import_events`` reads."""

    def skew(
        self, ahead: str, behind: str, product: Optional[str] = None
    ) -> list[dict[str, Any]]:
        """How far ``behind`` runs behind ``ahead`` for each product (or one), as a list of
        dicts in the JSON shape of ``GET /skew`` (``versions_behind``, ``versions``,
        ``behind_since``, ``seconds_behind``, ...).

        Raises:
            InvalidInputError: a blank or identical pair of environments.
            NotFoundError: an unknown product or environment.
        """

    def stale(
        self,
        environment: str,
        older_than: str,
        promoted_to: Optional[Sequence[str]] = None,
    ) -> list[dict[str, Any]]:
        """The versions current in ``environment`` for longer than ``older_than`` (``"14d"``)
        that never reached any of ``promoted_to`` (default: every production environment), as
        dicts in the JSON shape of ``GET /stale``, oldest first.

        Raises:
            InvalidInputError: a bad duration, or no environment to be promoted to.
            NotFoundError: an unknown environment.
        """

    def products(self) -> list[Product]:
        """Every product, by name."""

    def environments(self) -> list[Environment]:
        """Every environment, from development to production."""

    def product(self, product_name: str) -> Product:
        """A product by name (any case of it) or id.

        Raises:
            NotFoundError: no such product.
        """

    def environment(self, environment_name: str) -> Environment:
        """An environment by name (any case of it) or id.

        Raises:
            NotFoundError: no such environment.
        """

    def update_product(
        self,
        product_name: str,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        extra_metadata: Optional[Mapping[str, _Json]] = None,
    ) -> Product:
        """Renames a product (``name=``: its id and history stay; the old name no longer
        resolves) or changes its ``description`` (``""`` removes it) or ``extra_metadata``
        (replaced whole; ``{}`` removes it).

        Raises:
            NotFoundError: no such product.
            InvalidInputError: nothing to change, a name taken (or looking like one), a name
                a rule still uses, or a bad description or metadata.
            AuthError: the actor's role may not manage the catalog.
        """

    def update_environment(
        self,
        environment_name: str,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        extra_metadata: Optional[Mapping[str, _Json]] = None,
    ) -> Environment:
        """Renames an environment or changes its description or metadata (as
        :meth:`update_product`; its type has :meth:`set_environment_type`)."""

    def set_environment_type(
        self,
        name: str,
        type: Optional[Literal["dev", "test", "staging", "production", "other"]],
    ) -> Environment:
        """Overrides an environment's type, or with None returns it to inference from the
        name. Creates the environment if needed.

        Raises:
            InvalidInputError: unknown type or bad name.
        """

    def violations(
        self,
        *,
        rule: Optional[str] = None,
        product_name: Optional[str] = None,
        environment_name: Optional[str] = None,
        since: Optional[_Instant] = None,
        until: Optional[_Instant] = None,
        outcome: Optional[Literal["blocked", "reported", "bypassed"]] = None,
        limit: Optional[int] = None,
        product: Optional[str] = None,
        environment: Optional[str] = None,
    ) -> list[DecisionRecord]:
        """The recorded preflight decisions where a rule failed — refused (``blocked``), let
        through with report-only failures (``reported``) or ``bypassed`` — newest first (100
        by default, at most 1000), each with the request, who asked, the verdict, the facts it
        was decided on and the hash of the policy in force. Filters: a rule that failed, the
        product, the environment, recorded at or after ``since`` and before ``until``, the
        outcome. The filters are read as the server reads ``GET
        /deployment-rules/violations``, so every surface answers alike.

        Raises:
            InvalidInputError: a bad filter (``.field`` names it: an unknown outcome, a
                timestamp that is not RFC 3339, a limit outside 1–1000, ``until`` before
                ``since``).
        """

    def close(self) -> None:
        """Lets go of the database (or the server connection): later calls raise
        :class:`InvalidInputError`. Calls already running on other threads finish first.
        Closing twice is harmless; ``with`` closes on leaving the block."""

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""

    def __enter__(self) -> Self: ...
    def __exit__(self, *args: object) -> None:
        """Closes; an exception raised in the block propagates."""

@final
class Versioner(Tracker):
    """Versioner, in process: tracks builds and deployments in a SQLite file (or in memory, or
    in PostgreSQL with :meth:`connect`), enforces the preflight policy and answers "what is
    deployed where".

    One instance may be shared by any number of threads; every call releases the GIL while
    it works.
    """

    def __new__(
        cls,
        path: Optional[Union[str, os.PathLike[str]]] = None,
        *,
        actor: Optional[str] = None,
        synchronous: Literal["full", "normal"] = "full",
        busy_timeout_ms: int = 30000,
        schema: Optional[str] = None,
        max_connections: int = 8,
        connect_timeout_ms: int = 5000,
    ) -> "Versioner":
        """Opens (creating if needed) the database at ``path``: a SQLite file,
        ``sqlite:PATH``, ``":memory:"`` or None (a private in-memory database), or a
        ``postgres://`` / ``postgresql://`` URL (as :meth:`connect`).

        The keyword options are the store's, the same in every binding: for SQLite
        ``synchronous`` — "full" (the default: an acknowledged event survives power loss) or
        "normal" (faster) — and ``busy_timeout_ms``, how long to wait for another process's
        write lock; for PostgreSQL those of :meth:`connect`. An option left at None keeps its
        default.

        ``actor`` names who acts: recorded on builds and deployments (``recorded_by``, and
        ``built_by`` / ``deployed_by`` unless the event names someone), approvals and rule
        changes, and checked against its role (a registered principal's, else admin). See
        :meth:`acting_as`.

        Raises:
            InvalidInputError: an unknown option or a bad value (``field`` names it; an
                option of the other kind of store says so), a blank path or a URL of another
                scheme (``path``).
            VersionerError: ``STORAGE`` when the file cannot be opened or was written by a
                newer Versioner.
        """

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        actor: Optional[str] = None,
        schema: Optional[str] = None,
        max_connections: int = 8,
        connect_timeout_ms: int = 5000,
    ) -> "Versioner":
        """Connects to the PostgreSQL database at ``url`` (``postgres://user:password@host/db``
        or a libpq ``host=... dbname=...`` string), running pending migrations. ``schema``
        keeps Versioner's tables in a schema of their own (created if missing);
        ``max_connections`` bounds the connection pool; ``connect_timeout_ms`` is how long a
        call waits for a connection. Several processes may share the database: the preflight
        stays atomic across them.

        Raises:
            InvalidInputError: a malformed URL (``database_url``), an unknown option, or a
                bad schema, pool size or timeout (``field`` names it).
            VersionerError: ``STORAGE`` when the database cannot be reached or was written by
                a newer Versioner.
        """

    def acting_as(self, actor: str, *, role: Optional[str] = None) -> "Versioner":
        """The same database, acting as ``actor``: with ``role`` for an actor that is not a
        registered principal (a registered one acts with its own role), else as admin. Both
        instances stay usable and share the store.

        Raises:
            InvalidInputError: an unknown role (on the first write: a blank actor, or a role
                other than a registered principal's).
        """

    @property
    def path(self) -> Optional[Path]:
        """The database file, or None for an in-memory or PostgreSQL database."""

    def replay(
        self,
        since: _Instant,
        policy: Optional[_Policy] = None,
        *,
        format: Optional[Literal["toml", "json"]] = None,
    ) -> list[ReplayChange]:
        """Re-evaluates every decision recorded since ``since``, oldest first, against the
        facts it was decided on, at the instant it was decided, under ``policy`` — a
        candidate, given as :meth:`apply_policy` takes one (text, a path, a dict or a list of
        rules) — or, when None, the policy then in force, and returns every decision that
        would now be decided otherwise (``was`` → ``now``). With the policy unchanged the list
        is empty: run it before tightening a rule. Nothing is written.

        Raises:
            InvalidInputError: a bad ``since``, or an invalid policy (``.problems``).
        """

    def audit_verify(self) -> AuditReport:
        """Checks the audit chain — every recorded change, each event's hash chained to the
        previous one's — from the first event to the newest. A row edited, removed or
        inserted directly in the database is named by ``first_mismatch`` (``intact`` is then
        False)."""

    def subscribe(self, callback: Callable[[DomainEvent], object]) -> Subscription:
        """Calls ``callback`` with each domain event committed from now on, on a background
        thread, after its transaction commits; never for refused work. An exception in
        ``callback`` is reported as unraisable and never fails the operation. Use the returned
        :class:`Subscription` as a context manager, or call its ``cancel()``."""

    def deliver_pending(self) -> DeliveryReport:
        """Delivers every notification channel's pending notifications once (until each is
        caught up), as ``versioner serve`` does continuously: webhooks, Slack and e-mail,
        retried on 5xx and network errors (3 attempts, 1 s then 2 s); a 4xx or a last failure
        is parked in the notification history. Call it from your own loop or thread; the GIL
        is released while it runs."""

    def events_since(self, after: int = 0, limit: int = 100) -> list[DomainEvent]:
        """The domain events with a sequence number above ``after``, in commit order, at most
        ``limit`` (capped at 1000). Sequence numbers start at 1 with no gaps; start from 0, or
        from a consumer's :meth:`cursor`.

        Raises:
            InvalidInputError: a negative ``after`` or a ``limit`` below 1.
        """

    def backup(self, path: Union[str, os.PathLike[str]]) -> None:
        """Writes a consistent copy of the whole database to the new file ``path`` while
        writers keep running (SQLite's online backup API), checked with
        ``PRAGMA integrity_check``. Raises :class:`InvalidInputError` when ``path`` exists or
        the database is PostgreSQL (the message gives the ``pg_dump`` command).
        """

    def restore(self, path: Union[str, os.PathLike[str]], *, force: bool = False) -> None:
        """Replaces the database's content with the backup file ``path`` after checking it
        (integrity, a Versioner schema no newer than this library's). A database that already
        holds records is replaced only with ``force=True``; otherwise
        :class:`InvalidInputError`. Stop other writers first.
        """

    def last_event_seq(self) -> int:
        """The sequence number of the newest event (0 when none)."""

    def cursor(self, consumer: str) -> int:
        """What the consumer named ``consumer`` has acknowledged: the sequence number to pass
        as ``after`` to :meth:`events_since` (0 at first).

        Raises:
            InvalidInputError: a blank name.
        """

    def acknowledge(self, consumer: str, seq: int) -> None:
        """Records that ``consumer`` has processed every event up to ``seq``: its cursor
        moves there (never back: acknowledging an older position changes nothing). Delivery
        is at least once — read from the cursor, deliver, then acknowledge.

        Raises:
            InvalidInputError: a blank name, or ``seq`` below 0 or beyond the newest event.
        """

    # ----- variables and deployment buttons ------------------------------------------------

    def set_variable(self, name: str, value: str, product: Optional[str] = None) -> Variable:
        """Sets the variable ``name`` to ``value`` at the organization's scope, or
        ``product``'s (which overrides the organization's). Names are lowercase letters,
        digits and underscores; the ``vi_`` prefix is reserved for the system variables
        (``vi_version``, ``vi_build_number``, ``vi_product_name``, ``vi_environment_name``,
        ``vi_sha``, ...).

        Raises:
            InvalidInputError: a bad or reserved name (nothing is written).
            NotFoundError: an unknown product.
            AuthError: the actor may not manage variables.
        """

    def variables(self, product: Optional[str] = None) -> list[Variable]:
        """The variables of a scope (the organization's when ``product`` is None), by name."""

    def remove_variable(self, name: str, product: Optional[str] = None) -> None:
        """Removes the variable ``name`` from a scope (the organization's when ``product``
        is None). Buttons naming it then render with ``error`` ``Missing variable: NAME``.

        Raises:
            NotFoundError: no such variable in that scope.
        """

    def add_deployment_button(
        self,
        product: str,
        name: str,
        url_template: str,
        environments: Sequence[str],
        *,
        enabled: bool = True,
    ) -> DeploymentButton:
        """Adds a deployment button to the recorded ``product``: ``url_template`` is an http
        or https URL with ``{variable}`` placeholders, ``environments`` those it deploys to
        (one button per environment per product).

        Raises:
            InvalidInputError: a scheme other than http(s), a malformed template, no
                environment, or an environment another button of the product has.
            NotFoundError: an unknown product.
        """

    def deployment_buttons(self, product: Optional[str] = None) -> list[DeploymentButton]:
        """The deployment buttons of ``product`` (every product's when None)."""

    def remove_deployment_button(self, id: str) -> None:
        """Removes the deployment button ``id``.

        Raises:
            NotFoundError: no such button.
        """

    def version_buttons(self, product: str, version: Union[str, int]) -> list[RenderedButton]:
        """The enabled buttons of a recorded version, rendered for each of their environments:
        the organization's variables, overridden by the product's, then the system variables,
        each value URL-encoded (RFC 3986). A button naming a variable without a value has no
        ``url`` and its ``error`` says ``Missing variable: NAME``.

        Raises:
            NotFoundError: an unknown product or version.
        """

    # ----- notification configuration ------------------------------------------------------

    def notification_channels(self) -> list[NotificationChannel]:
        """Every notification channel, by name; secrets and passwords masked, never returned.

        Raises:
            AuthError: the actor may not manage notifications.
        """

    def add_notification_channel(
        self, name: str, channel_type: str, config: Mapping[str, Any]
    ) -> NotificationChannel:
        """Adds a notification channel: ``channel_type`` ``webhook`` (``config``: ``url``,
        optional ``secret``), ``slack_webhook`` (``webhook_url``) or ``email`` (``smtp_host``,
        ``smtp_port``, ``from``, ``to``, ``username``, ``password``, ``tls``). It is sent the
        events recorded from now on, once a preference subscribes it.

        Raises:
            InvalidInputError: a blank or taken name, an unknown channel type, a bad config
                (``field`` names the key, e.g. ``config.url``).
        """

    def remove_notification_channel(self, channel: str) -> NotificationChannel:
        """Removes a channel (by id or name) and its preferences (its history stays), and
        returns it.

        Raises:
            NotFoundError: no such channel.
        """

    def notification_preferences(self) -> list[NotificationPreference]:
        """Every notification preference, oldest first."""

    def add_notification_preference(
        self,
        channel_id: str,
        event_type: str,
        *,
        environments: Optional[Sequence[str]] = None,
        products: Optional[Sequence[str]] = None,
        statuses: Optional[Sequence[str]] = None,
    ) -> NotificationPreference:
        """Subscribes the channel ``channel_id`` (its id or name) to ``event_type``
        (``deployment.completed``, ``build.completed``, ... or ``*``), only for the
        ``environments``, ``products`` and ``statuses`` given.

        Raises:
            NotFoundError: an unknown channel.
            InvalidInputError: an unknown event type, or one the channel does not carry.
        """

    def remove_notification_preference(self, id: str) -> NotificationPreference:
        """Removes the preference ``id`` and returns it.

        Raises:
            NotFoundError: no such preference.
        """

    def notification_history(
        self,
        *,
        channel: Optional[str] = None,
        status: Optional[Literal["delivered", "retrying", "parked"]] = None,
        limit: Optional[int] = None,
    ) -> list[NotificationDelivery]:
        """The notification history, newest first: every delivery attempt (status, response
        code, latency, error), of one ``channel`` (id or name), with one ``status``, at most
        ``limit`` (1 to 1000, default 100).

        Raises:
            NotFoundError: an unknown channel.
            InvalidInputError: an unknown status, a limit out of range.
        """

    def send_test_notification(self, channel: str) -> NotificationDelivery:
        """Sends a test notification to a channel (by id or name), once, and returns the
        attempt as the history keeps it: a failed send is not an exception (see ``status``
        and ``error``); a webhook receives ``X-Versioner-Event: test``.

        Raises:
            NotFoundError: no such channel.
        """


#: A duration: seconds, or a timedelta.
_Seconds = Union[float, timedelta]

@final
class Client(Tracker):
    """Versioner over HTTP: talks to ``versioner serve`` (or any server speaking the Versioner
    Events API) with the same methods as the in-process :class:`Versioner`.

    Failed requests (unreachable server, timeouts, 5xx, 429) are retried with exponential
    backoff; every write carries an idempotency key, so a retry never records twice. Safe to
    share between threads; every call releases the GIL while it waits on the network. Errors
    are the in-process ones, plus ``AuthError`` (``UNAUTHORIZED``/``FORBIDDEN``) and
    ``VersionerError`` with code ``NETWORK``.
    """

    def __new__(
        cls,
        api_url: str,
        api_key: Optional[str] = None,
        *,
        timeout: Optional[_Seconds] = None,
        max_attempts: int = 4,
        backoff: Optional[_Seconds] = None,
        max_wait: Optional[_Seconds] = None,
        user_agent: Optional[str] = None,
        timeout_ms: Optional[int] = None,
        backoff_ms: Optional[int] = None,
        max_wait_ms: Optional[int] = None,
        ca_cert: Optional[str] = None,
    ) -> "Client":
        """A client of the server at ``api_url`` (``http://host:port`` or ``https://…``,
        optionally with a path prefix), authenticating with ``api_key`` (sent as a Bearer token, never logged).
        ``timeout`` bounds one attempt (default 30 s); a call makes up to ``max_attempts``
        attempts, waiting ``backoff`` (default 1 s, doubling, at most ``max_wait``, default
        60 s) in between; ``user_agent`` sets the User-Agent header. Durations are seconds or
        timedeltas; the options every binding takes, ``timeout_ms``, ``backoff_ms`` and
        ``max_wait_ms`` (whole milliseconds), are accepted too (one spelling per option).
        ``ca_cert`` (a PEM file) adds certificate authorities trusted for ``https://`` to the
        system's (``SSL_CERT_FILE`` replaces them).

        Raises:
            InvalidInputError: ``api_url`` is not an ``http://`` or ``https://`` URL,
                ``ca_cert`` cannot be read or holds no certificate, or an unknown option or
                a bad value (``field`` names it).
        """

    @property
    def api_url(self) -> str:
        """The server's base URL."""

    def health(self) -> dict[str, Any]:
        """``GET /health``: whether the server is up, and its version.

        Raises:
            VersionerError: ``NETWORK`` when the server cannot be reached.
        """
