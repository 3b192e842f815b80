"""The gate as a deploy asks it (gitops.operations.gating.deploy_gate, gitops.core.deploy_gate).

One function answers for ``gitops deploy`` and ``gitops diff``: the environment first; only when
it allows, each service the policy lists. Expected values follow the rules as
infra/deploy-control.yaml's header states them: automatic deploys (push) need the environment's
and the service's ``enabled`` and ``auto_deploy`` and the environment's branch; manual ones
(workflow_dispatch) only ``enabled`` (and windows); and DESIGN.md / docs/architecture.md: a
blocked environment, or every service blocked, applies nothing; otherwise the blocked services'
objects are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gitops.core.policy import Policy
from gitops.operations.gating import GateRequest, deploy_gate
from tests.support.policy import environment, policy, service

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def ask(event: str, ref: str | None = "dev") -> GateRequest:
    return GateRequest("dev", Path("unused.yaml"), event, ref, AT)


def dev(**services: dict[str, bool]) -> Policy:
    names: dict[str, dict[str, bool]] = {"postgres": {}, "redis": {}, "jaeger": {}} | services
    return policy(environment("dev", services={n: service(**flags) for n, flags in names.items()}))


@pytest.mark.parametrize(
    ("the_policy", "event", "ref", "skipped", "blocked_by"),
    [
        pytest.param(dev(), "push", "dev", [], None, id="everything-allowed"),
        pytest.param(dev(jaeger={"enabled": False}), "push", "dev", ["jaeger"], None, id="service-disabled"),
        pytest.param(
            dev(jaeger={"enabled": False}),
            "workflow_dispatch",
            None,
            ["jaeger"],
            None,
            id="disabled-by-hand-too",
        ),
        pytest.param(
            dev(redis={"auto_deploy": False}), "push", "dev", ["redis"], None, id="push-needs-auto-deploy"
        ),
        pytest.param(
            dev(redis={"auto_deploy": False}),
            "workflow_dispatch",
            None,
            [],
            None,
            id="by-hand-ignores-auto-deploy",
        ),
        pytest.param(dev(), "push", "main", [], ("branch", ""), id="wrong-branch-blocks-the-environment"),
        pytest.param(
            dev(postgres={"enabled": False}, redis={"enabled": False}, jaeger={"enabled": False}),
            "workflow_dispatch",
            None,
            ["jaeger", "postgres", "redis"],
            ("service.enabled", " (every service)"),
            id="every-service-blocked-blocks-the-deploy",
        ),
    ],
)
def test_what_a_deploy_leaves_out(
    the_policy: Policy, event: str, ref: str | None, skipped: list[str], blocked_by: tuple[str, str] | None
) -> None:
    gate = deploy_gate(ask(event, ref), the_policy)
    assert gate.skipped == skipped
    if blocked_by is None:
        assert gate.blocker is None
    else:
        assert gate.blocker is not None
        decision, scope = gate.blocker
        assert (decision.blocked_by.name if decision.blocked_by else None, scope) == blocked_by


def test_a_blocked_environment_is_not_asked_about_its_services() -> None:
    p = policy(environment("dev", enabled=False))
    gate = deploy_gate(ask("workflow_dispatch"), p)
    assert gate.services == {} and gate.skipped == []
    assert gate.left_out_because("postgres").startswith(
        "dev is blocked by the deploy gate: environment.enabled:"
    )


def test_the_words_for_a_left_out_object_and_the_services_json() -> None:
    p = dev(jaeger={"enabled": False, "rollback_on_failure": False})
    gate = deploy_gate(ask("push"), p)
    assert gate.left_out_because("jaeger") == (
        "service jaeger is blocked by the deploy gate: service.enabled: "
        "environments.dev.services.jaeger.enabled is false: no deploys at all, "
        "not even with an emergency override"
    )
    assert gate.services_json()["jaeger"]["allowed"] is False
    assert gate.services_json()["jaeger"]["reason"].startswith("service.enabled: ")
    assert gate.services_json()["postgres"] == {"allowed": True, "rollback_on_failure": True, "reason": None}
