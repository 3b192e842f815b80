"""What the deploy gate decides for one whole deploy: the environment, then each of its services.

A deploy asks :func:`gitops.core.gate.evaluate` about the environment first; only when that
allows does it ask about each service the policy lists. From those decisions follow the two
facts both ``gitops deploy`` and ``gitops diff`` act on, so they are computed here, once:

* which services a deploy leaves out (:attr:`DeployGate.skipped`): their objects, the ones
  labelled ``app.kubernetes.io/name: <service>`` (:data:`gitops.core.apply_plan.SERVICE_LABEL`),
  are not applied;
* what stops the deploy entirely (:attr:`DeployGate.blocker`): the environment's own decision,
  or every service blocked. Then nothing at all is applied, not even objects without a service.

Pure: decisions in, plain data out. Reading the policy and asking the gate is
:func:`gitops.operations.gating.deploy_gate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitops.core.gate import Decision


def reason(decision: Decision) -> str:
    """``branch: branch 'dev' is not ...``: the first failing check, in the gate's words."""
    check = decision.blocked_by
    return f"{check.name}: {check.detail}" if check else "blocked"


@dataclass(frozen=True)
class DeployGate:
    """The environment's decision and, when it allows, each listed service's."""

    decision: Decision
    services: Mapping[str, Decision] = field(default_factory=dict)  # empty when the environment is blocked

    @property
    def skipped(self) -> list[str]:
        """Services the gate leaves out of the apply, sorted."""
        return sorted(name for name, d in self.services.items() if not d.allowed)

    @property
    def blocker(self) -> tuple[Decision, str] | None:
        """The decision that stops the whole deploy, and its scope; None when it goes ahead."""
        if not self.decision.allowed:
            return self.decision, ""
        skipped = self.skipped
        if self.services and len(skipped) == len(self.services):
            return self.services[skipped[0]], " (every service)"
        return None

    def services_json(self) -> dict[str, dict[str, Any]]:
        """Per service: ``{"allowed", "rollback_on_failure", "reason"}`` (reason: None when allowed)."""
        return {
            name: {
                "allowed": d.allowed,
                "rollback_on_failure": d.rollback_on_failure,
                "reason": None if d.allowed else reason(d),
            }
            for name, d in self.services.items()
        }

    def blocking(self, service: str | None) -> tuple[str, Decision | None]:
        """Who is blocked, and by which decision, for an object of ``service`` that a deploy leaves
        out (the plan decides WHICH objects, from :attr:`skipped` and :attr:`blocker`): the whole
        deploy when something blocks it, else the service."""
        blocker = self.blocker
        if blocker is not None:
            return f"{self.decision.environment}{blocker[1]}", blocker[0]
        return f"service {service}", self.services.get(service or "")

    def left_out_because(self, service: str | None) -> str:
        """``service jaeger is blocked by the deploy gate: service.enabled: ...``."""
        who, decision = self.blocking(service)
        return f"{who} is blocked by the deploy gate: {reason(decision) if decision else 'blocked'}"
