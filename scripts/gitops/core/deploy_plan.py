"""The deploy plan: for every environment, is it affected by a change, and what would the gate say.

``gitops plan`` shows it as a table, with no cluster and no GitHub. One :class:`Row` per
environment: every environment of the policy in file order, then overlays the policy does not
govern (``local`` last). A governed row carries the gate's decision (:func:`gitops.core.gate.evaluate`)
for an automatic push to the environment's own branch and for a manual workflow_dispatch, at the
same instant, per service too, the deployment window at that instant, and one sentence
(:func:`outcome`) saying what the change means for the environment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gitops.core import gate
from gitops.core.policy import UNGOVERNED, Policy
from gitops.core.policy_schema import DEFAULT_PATH
from gitops.core.windows import WindowState, fmt_local, state_at

EVENT_KINDS = ("push", "workflow_dispatch")


class Changes(Protocol):
    """What a change affects (``operations.change_detection.ChangeReport`` has these)."""

    @property
    def environments(self) -> Sequence[str]: ...

    @property
    def clusters(self) -> Sequence[str]: ...

    @property
    def reasons(self) -> Mapping[str, Sequence[str]]: ...


# Short labels for the table; the JSON and `gitops gate` carry the full detail.
SHORT = {
    "event": "never (pull request)",
    "global.auto_deploy": "kill switch off",
    "environment.enabled": "environment disabled",
    "environment.auto_deploy": "auto_deploy off",
    "branch": "wrong branch",
    "service.enabled": "service disabled",
    "service.auto_deploy": "service auto_deploy off",
    "deployment_window": "window closed",
    "emergency_override": "override refused",
}


@dataclass(frozen=True)
class Row:
    environment: str
    branch: str | None
    affected: bool
    cluster_affected: bool
    reasons: list[str]
    push: gate.Decision | None
    dispatch: gate.Decision | None
    window: WindowState | None
    services: dict[str, dict[str, bool]]
    not_governed: str | None
    outcome: str

    def to_json(self) -> dict[str, Any]:
        window = None
        if self.window is not None and self.push is not None:
            tz = self.push.timezone
            window = {
                "enabled": self.window.enabled,
                "open": self.window.open,
                "closes_at": self.window.closes_at.astimezone(tz).isoformat()
                if self.window.closes_at
                else None,
                "next_open": self.window.next_open.astimezone(tz).isoformat()
                if self.window.next_open
                else None,
                "detail": self.window.detail,
            }
        return {
            "environment": self.environment,
            "governed": self.not_governed is None,
            "branch": self.branch,
            "affected": self.affected,
            "cluster_affected": self.cluster_affected,
            "reasons": self.reasons,
            "outcome": self.outcome,
            "push": self.push.to_json() if self.push else None,
            "dispatch": self.dispatch.to_json() if self.dispatch else None,
            "requires_approval": self.push.requires_approval if self.push else None,
            "window": window,
            "services": self.services,
            "not_governed": self.not_governed,
        }


def environment_order(policy: Policy, overlays: list[str]) -> list[str]:
    """Policy environments in file order, then overlays the policy does not govern (local last)."""
    extra = sorted((e for e in overlays if e not in policy.environments), key=lambda e: (e in UNGOVERNED, e))
    return [*policy.environments, *extra]


def plan_rows(
    policy: Policy, report: Changes, overlays: list[str], at: datetime, event_kind: str
) -> list[Row]:
    """One row per environment (see the module docstring); ``event_kind``: push or workflow_dispatch."""
    rows: list[Row] = []
    for env in environment_order(policy, overlays):
        common: dict[str, Any] = {
            "environment": env,
            "affected": env in report.environments,
            "cluster_affected": env in report.clusters,
            "reasons": list(report.reasons.get(env, [])),
        }
        env_policy = policy.environments.get(env)
        if env_policy is None:
            why = UNGOVERNED.get(env) or (
                f"not in {policy.source or DEFAULT_PATH}: no workflow will deploy it until it is added there"
            )
            rows.append(
                Row(
                    **common,
                    branch=None,
                    push=None,
                    dispatch=None,
                    window=None,
                    services={},
                    not_governed=why,
                    outcome=why,
                )
            )
            continue

        def decide(event: str, service: str | None = None, *, name: str = env) -> gate.Decision:
            branch = policy.environments[name].branch
            return gate.evaluate(
                policy, environment=name, service=service, event=event, ref=branch, at=at, override=None
            )

        push, dispatch = decide("push"), decide("workflow_dispatch")
        services = {
            name: {
                "push": decide("push", name).allowed,
                "dispatch": decide("workflow_dispatch", name).allowed,
            }
            for name in env_policy.services
        }
        rows.append(
            Row(
                **common,
                branch=env_policy.branch,
                push=push,
                dispatch=dispatch,
                window=state_at(env_policy.deployment_windows, at),
                services=services,
                not_governed=None,
                outcome=outcome(
                    common["affected"],
                    env_policy.branch,
                    push=push,
                    dispatch=dispatch,
                    services=services,
                    event_kind=event_kind,
                ),
            )
        )
    return rows


def blocked_label(decision: gate.Decision) -> str:
    """The first failing check in a few words (``window closed``); the JSON has its detail."""
    check = decision.blocked_by
    return SHORT.get(check.name, check.name) if check else ""


def outcome(
    affected: bool,
    branch: str,
    *,
    push: gate.Decision,
    dispatch: gate.Decision,
    services: dict[str, dict[str, bool]],
    event_kind: str,
) -> str:
    """One sentence: what this change means for the environment."""
    if not affected:
        return "not affected: nothing to deploy"
    approval = " after approval" if push.requires_approval else ""
    kind = "push" if event_kind == "push" else "dispatch"
    held = [name for name, allowed in services.items() if not allowed[kind]]
    skip = f" (without {', '.join(held)})" if held and len(held) < len(services) else ""
    if event_kind == "push" and push.allowed:
        return f"a push to {branch} deploys it now{approval}{skip}"
    if dispatch.allowed:
        lead = f"push does not deploy ({blocked_label(push)}); " if event_kind == "push" else ""
        return f"{lead}a manual workflow_dispatch deploys it now{approval}{skip}"
    if dispatch.next_allowed_at is not None:
        when = fmt_local(dispatch.next_allowed_at, dispatch.timezone)
        return (
            f"blocked now ({blocked_label(dispatch)}); manual workflow_dispatch deploys from {when}{approval}"
        )
    blocked = dispatch.blocked_by
    return f"cannot deploy: {blocked.detail if blocked else 'blocked'}"
