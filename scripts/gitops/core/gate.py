"""The deploy gate: may this environment (and service) be deployed for this event, now?

:func:`evaluate` is pure: a :class:`~gitops.core.policy.Policy`, the event, the ref, an aware
instant and an optional override in; a :class:`Decision` out. Every rule is one named
:class:`Check`, all of them are evaluated (not only up to the first failure), and the
decision is allowed exactly when every check passed.

* Automatic events (``push``, ``schedule``, ``repository_dispatch``, and a ``workflow_dispatch``
  or ``workflow_call`` that automation sent, ``automatic=True``): ``global.auto_deploy``,
  environment ``enabled`` and ``auto_deploy``, the pushed branch equals the environment's
  ``branch``, service ``enabled`` and ``auto_deploy``, deployment windows.
* Manual ``workflow_dispatch`` / ``workflow_call``: environment and service ``enabled``,
  deployment windows. ``auto_deploy`` flags and the branch rule do not apply.
* ``pull_request`` (and ``pull_request_target``, ``merge_group``): never deploys.
* A service that ``services`` does not list follows its environment: the environment's checks
  decide, and a ``service`` check says so.
* An emergency override bypasses deployment windows and nothing else; it is refused when the
  environment does not allow it, a reason is required and missing, or the actor is not listed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gitops.core import windows as win
from gitops.core.checks import Check
from gitops.core.policy import UNGOVERNED, EnvironmentPolicy, Override, Policy, ServicePolicy
from gitops.errors import ConfigurationError

AUTOMATIC_EVENTS = ("push", "schedule", "repository_dispatch")
MANUAL_EVENTS = ("workflow_dispatch", "workflow_call")
VALIDATION_ONLY_EVENTS = ("pull_request", "pull_request_target", "merge_group")
EVENTS = (*AUTOMATIC_EVENTS, *MANUAL_EVENTS, *VALIDATION_ONLY_EVENTS)

WINDOW_CHECK = "deployment_window"
OVERRIDE_CHECK = "emergency_override"


@dataclass(frozen=True)
class OverrideRecord:
    """An accepted emergency override, recorded in the decision (and so in logs and summaries)."""

    actor: str | None
    reason: str | None
    bypassed_window: bool  # True when the windows were closed and the override let it through

    def to_json(self) -> dict[str, Any]:
        return {"actor": self.actor, "reason": self.reason, "bypassed_window": self.bypassed_window}


@dataclass(frozen=True)
class Decision:
    environment: str
    service: str | None
    event: str
    automatic: bool
    ref: str | None
    at: datetime
    allowed: bool
    requires_approval: bool
    rollback_on_failure: bool
    rollout_timeout_seconds: int
    checks: tuple[Check, ...]
    next_allowed_at: datetime | None
    override: OverrideRecord | None
    timezone: ZoneInfo
    cluster: bool = False

    @property
    def blocked_by(self) -> Check | None:
        """The first failing check, or None when allowed."""
        return next((c for c in self.checks if not c.passed), None)

    def to_json(self) -> dict[str, Any]:
        """The ``gitops gate`` JSON (DESIGN.md), plus ``rollout_timeout_seconds`` and context keys."""
        blocked = self.blocked_by
        return {
            "environment": self.environment,
            "service": self.service,
            "allowed": self.allowed,
            "requires_approval": self.requires_approval,
            "rollback_on_failure": self.rollback_on_failure,
            "rollout_timeout_seconds": self.rollout_timeout_seconds,
            "checks": [c.to_json() for c in self.checks],
            "next_allowed_at": self.next_allowed_at.astimezone(self.timezone).isoformat()
            if self.next_allowed_at
            else None,
            "override": self.override.to_json() if self.override else None,
            "blocked_by": blocked.name if blocked else None,
            "event": self.event,
            "automatic": self.automatic,
            "ref": self.ref,
            "at": self.at.astimezone(self.timezone).isoformat(),
            "target": "cluster" if self.cluster else "deploy",
        }


def branch_of(ref: str | None) -> str | None:
    """``refs/heads/dev`` or ``dev`` -> ``dev``; a tag or pull-request ref -> None."""
    if not ref:
        return None
    if ref.startswith("refs/heads/"):
        return ref[len("refs/heads/") :]
    if ref.startswith("refs/"):
        return None
    return ref


def is_automatic(event: str, automatic: bool | None = None) -> bool:
    """Push-like events are always automatic; a dispatch or call is when automation sent it."""
    return event in AUTOMATIC_EVENTS or (event in MANUAL_EVENTS and bool(automatic))


def environment_of(policy: Policy, environment: str) -> EnvironmentPolicy:
    """The environment's policy, or a ConfigurationError that says what exists (or why not)."""
    env = policy.environments.get(environment)
    if env is not None:
        return env
    known = ", ".join(policy.environments) or "none"
    if environment in UNGOVERNED:
        raise ConfigurationError(
            f"environment {environment!r} is {UNGOVERNED[environment]}",
            file=policy.source,
            line=policy.line_of("environments"),
            key=f"environments.{environment}",
            hint=f"gate one of the governed environments: {known}",
            title="Environment not governed",
        )
    close = difflib.get_close_matches(environment, list(policy.environments), n=1)
    raise ConfigurationError(
        f"environment {environment!r} is not in the policy (environments: {known})",
        file=policy.source,
        line=policy.line_of("environments"),
        key=f"environments.{environment}",
        hint=f"did you mean {close[0]!r}?" if close else "add it to the policy file or fix the name",
        title="Unknown environment",
    )


def evaluate(
    policy: Policy,
    *,
    environment: str,
    service: str | None,
    event: str,
    ref: str | None,
    at: datetime,
    override: Override | None,
    automatic: bool | None = None,
    cluster: bool = False,
) -> Decision:
    """Evaluate every rule for one environment (and service, or its cluster) at instant ``at``.

    ``automatic=True`` marks a ``workflow_dispatch``/``workflow_call`` sent by automation (the
    cluster workflow); it cannot make a push manual. ``cluster=True`` gates creating/updating
    the environment's cluster (``cluster.enabled``/``cluster.auto_deploy``) instead of a deploy.
    Raises :class:`ConfigurationError` for an unknown environment, service or event.
    """
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    env = environment_of(policy, environment)
    _check_arguments(event, service, cluster)
    svc = env.services.get(service) if service is not None else None
    auto = is_automatic(event, automatic)
    checks = [_event_check(env, environment, event, auto)]
    state: win.WindowState | None = None
    record: OverrideRecord | None = None
    if event not in VALIDATION_ONLY_EVENTS:
        checks += _rule_checks(policy, env, environment, ref, auto=auto, cluster=cluster)
        checks += _service_checks(env, environment, service, svc, auto=auto)
        window_checks, state, record = _windows(env, at, override)
        checks.extend(window_checks)
    return Decision(
        environment=environment,
        service=service,
        event=event,
        automatic=auto,
        ref=ref,
        at=at,
        allowed=all(c.passed for c in checks),
        requires_approval=env.require_manual_approval,
        rollback_on_failure=_rollback_on_failure(env, svc),
        rollout_timeout_seconds=env.rollout_timeout_seconds,
        checks=tuple(checks),
        next_allowed_at=_next_allowed(checks, state),
        override=record,
        timezone=env.deployment_windows.timezone,
        cluster=cluster,
    )


def _check_arguments(event: str, service: str | None, cluster: bool) -> None:
    """An unknown event, or a service asked of a cluster gate: the caller's mistake."""
    if event not in EVENTS:
        close = difflib.get_close_matches(event, list(EVENTS), n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigurationError(
            f"the gate does not know the event {event!r}",
            key="--event",
            hint=f"{guess}use one of: {', '.join(EVENTS)}",
            title="Unknown event",
        )
    if service is not None and cluster:
        raise ConfigurationError(
            "a cluster gate has no service",
            key="--service",
            hint="drop --service (the cluster is gated for the whole environment)",
            title="Invalid arguments",
        )


def _event_check(env: EnvironmentPolicy, environment: str, event: str, auto: bool) -> Check:
    """Which rules the event brings: a pull request never deploys; automatic and manual events differ."""
    if event in VALIDATION_ONLY_EVENTS:
        return Check(
            "event",
            False,
            f"{event} never deploys: pull requests are only validated (render and validate); "
            f"merge to {env.branch!r} to deploy {environment}",
        )
    if auto:
        how = "automation" if event in MANUAL_EVENTS else "an automatic event"
        return Check("event", True, f"{event} is {how}: the automatic-deploy rules apply")
    return Check("event", True, f"manual {event}: auto_deploy flags and the branch rule do not apply")


def _rule_checks(
    policy: Policy, env: EnvironmentPolicy, environment: str, ref: str | None, *, auto: bool, cluster: bool
) -> list[Check]:
    """The kill switch, the environment's (or its cluster's) flags and, for automatic events, the branch."""
    prefix = f"environments.{environment}"
    checks: list[Check] = []
    if auto:
        checks.append(
            _flag("global.auto_deploy", policy.auto_deploy, "the kill switch stops every automatic deploy")
        )
    checks.append(_flag("environment.enabled", env.enabled, _NO_DEPLOYS, key=f"{prefix}.enabled"))
    if cluster:
        checks.append(
            _flag(
                "cluster.enabled",
                env.cluster.enabled,
                "this cluster is not managed",
                key=f"{prefix}.cluster.enabled",
            )
        )
    if not auto:
        return checks
    if cluster:
        checks.append(
            _flag(
                "cluster.auto_deploy",
                env.cluster.auto_deploy,
                "create or update it by manual workflow_dispatch",
                key=f"{prefix}.cluster.auto_deploy",
            )
        )
    else:
        checks.append(
            _flag(
                "environment.auto_deploy",
                env.auto_deploy,
                f"deploy {environment} by manual workflow_dispatch",
                key=f"{prefix}.auto_deploy",
            )
        )
    checks.append(_branch_check(env, ref))
    return checks


def _service_checks(
    env: EnvironmentPolicy, environment: str, service: str | None, svc: ServicePolicy | None, *, auto: bool
) -> list[Check]:
    """The service's own flags; a service the policy does not list follows its environment."""
    if service is None:
        return []
    if svc is None:
        return [_unlisted_service(env, service)]
    sprefix = f"environments.{environment}.services.{service}"
    checks = [_flag("service.enabled", svc.enabled, _NO_DEPLOYS, key=f"{sprefix}.enabled")]
    if auto:
        checks.append(
            _flag(
                "service.auto_deploy",
                svc.auto_deploy,
                f"deploy {service} by manual workflow_dispatch",
                key=f"{sprefix}.auto_deploy",
            )
        )
    return checks


def _next_allowed(checks: list[Check], state: win.WindowState | None) -> datetime | None:
    """Only when the clock is the one thing in the way is there a "next allowed" instant."""
    failing = {c.name for c in checks if not c.passed}
    return state.next_open if state is not None and failing == {WINDOW_CHECK} else None


def _rollback_on_failure(env: EnvironmentPolicy, svc: ServicePolicy | None) -> bool:
    """The service's setting; for the whole environment, whether any enabled service rolls back."""
    if svc is not None:
        return svc.rollback_on_failure
    return any(s.rollback_on_failure for s in env.services.values() if s.enabled)


_NO_DEPLOYS = "no deploys at all, not even with an emergency override"


def _unlisted_service(env: EnvironmentPolicy, service: str) -> Check:
    """A service the policy does not list follows its environment (the checks above decide)."""
    listed = ", ".join(env.services) or "none"
    close = difflib.get_close_matches(service, list(env.services), n=1)
    typo = f"; did you mean {close[0]!r}?" if close else ""
    return Check(
        "service",
        True,
        f"{service} is not listed under environments.{env.name}.services (listed: {listed}), so it "
        f"follows the environment: the environment's checks decide{typo}",
    )


def _flag(name: str, value: bool, consequence: str, *, key: str | None = None) -> Check:
    key = key or name
    if value:
        return Check(name, True, f"{key} is true")
    return Check(name, False, f"{key} is false: {consequence}")


def _branch_check(env: EnvironmentPolicy, ref: str | None) -> Check:
    branch = branch_of(ref)
    key = f"environments.{env.name}.branch"
    if branch is None:
        got = f"ref {ref!r} is not a branch" if ref else "no ref given"
        return Check(
            "branch", False, f"{got}; automatic deploys of {env.name} come from branch {env.branch!r}"
        )
    if branch != env.branch:
        return Check(
            "branch",
            False,
            f"branch {branch!r} is not {key} ({env.branch!r}); {env.name} deploys from {env.branch!r}",
        )
    return Check("branch", True, f"branch {branch!r} is {key}")


def _windows(
    env: EnvironmentPolicy, at: datetime, override: Override | None
) -> tuple[list[Check], win.WindowState, OverrideRecord | None]:
    dw = env.deployment_windows
    state = win.state_at(dw, at)
    if override is None:
        return [Check(WINDOW_CHECK, state.open, state.detail)], state, None

    refusal = _override_refusal(env, override)
    if refusal is not None:
        checks = [
            Check(WINDOW_CHECK, state.open, state.detail),
            Check(OVERRIDE_CHECK, False, f"refused: {refusal}"),
        ]
        return checks, state, None
    who = f"@{override.actor}" if override.actor else "an unnamed actor"
    why = f": {override.reason.strip()}" if override.reason and override.reason.strip() else ""
    record = OverrideRecord(override.actor, override.reason, bypassed_window=not state.open)
    if state.open:
        window = Check(WINDOW_CHECK, True, state.detail)
        accepted = Check(OVERRIDE_CHECK, True, f"accepted for {who}{why} (not needed: the window is open)")
    else:
        window = Check(WINDOW_CHECK, True, f"BYPASSED by emergency override ({who}{why}); {state.detail}")
        accepted = Check(OVERRIDE_CHECK, True, f"accepted for {who}{why}: deployment windows bypassed")
    return [window, accepted], state, record


def _override_refusal(env: EnvironmentPolicy, override: Override) -> str | None:
    rule = env.deployment_windows.emergency_override
    key = f"environments.{env.name}.deployment_windows.emergency_override"
    if not rule.enabled:
        return f"{key}.enabled is false"
    if rule.require_reason and not (override.reason and override.reason.strip()):
        return f"{key}.require_reason is true and no reason was given (--reason)"
    if rule.actors:
        if not override.actor:
            return f"no actor given and {key}.actors lists who may override"
        allowed = {a.casefold() for a in rule.actors}
        if override.actor.casefold() not in allowed:
            return f"{override.actor!r} is not in {key}.actors ({', '.join(rule.actors)})"
    return None
