"""gitops.core.handover: a cluster run that deploys nothing says so, with the manual dispatch to run.

The gate's rules for the two kinds of dispatch are deploy-control.yaml's ("How the gate decides"):
an automatic one (the cluster workflow's, triggered_by hetzner-k8s) needs auto_deploy and the
branch; a manual one does not.
"""

from __future__ import annotations

from datetime import UTC, datetime

from gitops.core import gate
from gitops.core.handover import Handover, handover
from gitops.core.policy import Policy
from tests.support.policy import allow, environment, policy, windows

MONDAY_NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
SATURDAY = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)


def decisions(env: str, pol: Policy, at: datetime = MONDAY_NOON) -> tuple[gate.Decision, gate.Decision]:
    def decide(automatic: bool | None) -> gate.Decision:
        return gate.evaluate(
            pol,
            environment=env,
            service=None,
            event="workflow_dispatch",
            ref="refs/heads/main",
            at=at,
            override=None,
            automatic=automatic,
        )

    return decide(True), decide(None)


def run(env: str, pol: Policy, *, at: datetime = MONDAY_NOON, deployed: str | None = None) -> Handover:
    automatic, manual = decisions(env, pol, at)
    return handover(
        env,
        automatic,
        manual,
        workflow="deploy-k8s-resources.yml",
        ref="main",
        actions_url="https://github.com/acme/platform/actions",
        deployed=deployed,
    )


def test_an_allowed_automatic_deploy_is_dispatched() -> None:
    result = run("dev", policy(environment("dev", "main")))
    assert result.dispatch is True


def test_prod_with_auto_deploy_off_says_the_cluster_is_empty_and_what_to_run() -> None:
    result = run("prod", policy(environment("prod", "main", auto_deploy=False)))
    assert result.dispatch is False
    text = "\n".join(result.lines)
    assert result.headline == "prod: the cluster is ready, but nothing was deployed onto it"
    assert "The cluster is EMPTY" in text
    assert "environment.auto_deploy" in text
    assert "gh workflow run deploy-k8s-resources.yml --ref main -f environment=prod" in text
    assert "https://github.com/acme/platform/actions/workflows/deploy-k8s-resources.yml" in text
    assert "`environments.prod.auto_deploy: true`" in text


def test_a_cluster_that_runs_something_says_what() -> None:
    result = run("test", policy(environment("test", "main", auto_deploy=False)), deployed="1a2b3c4d5e6f (x)")
    assert "still runs 1a2b3c4d5e6f (x)" in "\n".join(result.lines)


def test_the_kill_switch_names_its_own_key() -> None:
    result = run("dev", policy(environment("dev", "main"), auto_deploy=False))
    assert "`global.auto_deploy: true" in "\n".join(result.lines)


def test_a_closed_window_says_a_manual_deploy_waits_too() -> None:
    weekdays = windows(allow_=[allow("mon-fri", "09:00", "17:00")])
    pol = policy(environment("prod", "main", auto_deploy=False, deployment_windows=weekdays))
    result = run("prod", pol, at=SATURDAY)
    text = "\n".join(result.lines)
    assert "A manual deploy is refused too right now (deployment_window:" in text
    assert "From Mon 2026-11-30 09:00" in text
    assert "To deploy now" not in text
