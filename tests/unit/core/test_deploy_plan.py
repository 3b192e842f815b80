"""gitops.core.deploy_plan: one row per environment, the gate asked for a push and a dispatch.

Expected rows follow the policy semantics of DESIGN.md ("Actions and CLI verbs": automatic
events need auto_deploy and the environment's branch, a manual workflow_dispatch only enabled
flags and an open window) and the README's `gitops plan` example (the cells say `allowed` /
`blocked: auto_deploy off`, `local` is not governed and comes last).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gitops.core.deploy_plan import environment_order, plan_rows
from gitops.core.policy import UNGOVERNED
from tests.support.policy import allow, environment, policy, windows

BERLIN = ZoneInfo("Europe/Berlin")
THURSDAY_10 = datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)
SATURDAY_10 = datetime(2026, 11, 28, 10, 0, tzinfo=BERLIN)

POLICY = policy(
    environment("dev"),
    environment("test", auto_deploy=False),
    environment(
        "prod",
        branch="main",
        auto_deploy=False,
        require_manual_approval=True,
        deployment_windows=windows(allow_=[allow("mon-fri", "09:00", "17:00")]),
    ),
)


@dataclass
class Changes:
    environments: list[str]
    clusters: list[str] = field(default_factory=list)
    reasons: dict[str, list[str]] = field(default_factory=dict)


BASE = "infra/k8s/base/kustomization.yaml"
EVERYTHING = Changes(
    ["dev", "test", "prod", "local"], reasons={e: [BASE] for e in ("dev", "test", "prod", "local")}
)


def test_policy_environments_in_file_order_then_the_others_local_last() -> None:
    assert environment_order(POLICY, ["local", "zeta", "dev", "alpha"]) == [
        "dev",
        "test",
        "prod",
        "alpha",
        "zeta",
        "local",
    ]


@pytest.mark.parametrize(
    ("env", "at", "push", "dispatch", "outcome"),
    [
        pytest.param(
            "dev", THURSDAY_10, True, True, "a push to dev deploys it now", id="dev-push-on-its-branch"
        ),
        pytest.param(
            "test",
            THURSDAY_10,
            False,
            True,
            "push does not deploy (auto_deploy off); a manual workflow_dispatch deploys it now",
            id="test-manual-only",
        ),
        pytest.param(
            "prod",
            THURSDAY_10,
            False,
            True,
            "push does not deploy (auto_deploy off); a manual workflow_dispatch deploys it now "
            "after approval",
            id="prod-window-open",
        ),
        pytest.param(
            "prod",
            SATURDAY_10,
            False,
            False,
            "blocked now (window closed); manual workflow_dispatch deploys from Mon 2026-11-30 09:00 CET "
            "after approval",
            id="prod-window-closed",
        ),
    ],
)
def test_a_governed_environment_gets_both_gate_answers(
    env: str, at: datetime, push: bool, dispatch: bool, outcome: str
) -> None:
    rows = {
        r.environment: r for r in plan_rows(POLICY, EVERYTHING, ["dev", "test", "prod", "local"], at, "push")
    }
    row = rows[env]
    assert row.affected and row.reasons == [BASE]
    assert row.push is not None and row.push.allowed is push
    assert row.dispatch is not None and row.dispatch.allowed is dispatch
    assert row.outcome == outcome


def test_an_unaffected_environment_deploys_nothing() -> None:
    rows = plan_rows(POLICY, Changes([]), ["dev"], THURSDAY_10, "push")
    assert rows[0].outcome == "not affected: nothing to deploy"


def test_overlays_outside_the_policy_are_rows_that_say_why() -> None:
    rows = {
        r.environment: r for r in plan_rows(POLICY, EVERYTHING, ["local", "staging"], THURSDAY_10, "push")
    }
    assert rows["local"].not_governed == UNGOVERNED["local"] and rows["local"].push is None
    assert rows["staging"].outcome == ("not in test.yaml: no workflow will deploy it until it is added there")
    assert rows["staging"].to_json()["governed"] is False
