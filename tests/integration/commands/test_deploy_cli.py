"""``gitops deploy``: the gate decides, then apply + wait + rollback + verify with the policy's settings.

Runs against the real ``infra/deploy-control.yaml`` (or a copy with one value changed) and the
real Hetzner overlays, on the fake API server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.actions import GhaEnv
from tests.support.apply import (
    ROOT,
    Cluster,
    by_name,
    client_deletes,
    secret_values,
    write_overlay,
)
from tests.support.cluster_records import bind_cluster, identity_of

pytestmark = pytest.mark.integration

# Inside the dev and prod deployment windows (prod: Mon-Thu 09:00-17:00 Europe/Berlin).
OPEN = "2026-11-26T10:00:00+01:00"
FREEZE = "2026-12-24T10:00:00+01:00"  # prod's year-end deny period


@pytest.fixture(autouse=True)
def repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the defaults infra/deploy-control.yaml and infra/k8s/hetzner/<env>
    for name, value in secret_values().items():
        monkeypatch.setenv(name, value)


def policy_with(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load((ROOT / "infra" / "deploy-control.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "deploy-control.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def deploy(cli: Callable[[list[str]], Any], cluster: Cluster, *args: str) -> Any:
    """``gitops deploy`` onto the fake, which is bound to the environment deployed (as the cluster
    workflow leaves a cluster; the refusals of unbound and foreign clusters are tested below)."""
    environment = args[args.index("--environment") + 1]
    if identity_of(cluster.fake) is None:
        bind_cluster(cluster.fake, environment)
        cluster.fake.reset_logs()
    base = [
        "deploy",
        "--kubeconfig",
        str(cluster.kubeconfig),
        "--event",
        "workflow_dispatch",
        "--ref",
        "main",
    ]
    return cli([*base, "--at", OPEN, "--format", "json", "--progress-interval", "1", *args])


def test_an_allowed_environment_is_applied_with_its_policy(
    cli: Callable[[list[str]], Any], cluster: Cluster, gha_env: GhaEnv
) -> None:
    fake = cluster.need_fake()
    result = deploy(cli, cluster, "--environment", "dev")
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["allowed"] is True and data["result"] == "applied" and data["skipped_services"] == []
    assert data["apply"]["source"] == "infra/k8s/hetzner/dev"
    assert data["services"]["jaeger"] == {"allowed": True, "rollback_on_failure": False, "reason": None}
    assert data["gate"]["rollout_timeout_seconds"] == 720
    assert "waiting up to 720s for the rollout" in result.stderr
    assert all(o["action"] == "created" for o in data["apply"]["objects"])
    assert fake.get("apps/v1", "StatefulSet", "default", "postgres") is not None
    outputs = gha_env.outputs()
    assert outputs["allowed"] == "true" and outputs["result"] == "applied" and outputs["reason"] == ""
    assert json.loads(outputs["deploy"])["environment"] == "dev"
    summary = gha_env.summary()
    assert summary.startswith("### :white_check_mark: gitops deploy dev: applied (")
    assert "#### :white_check_mark: Apply `infra/k8s/hetzner/dev`: applied (" in summary


def test_a_blocked_environment_applies_nothing_and_exits_0(
    cli: Callable[[list[str]], Any], cluster: Cluster, gha_env: GhaEnv
) -> None:
    fake = cluster.need_fake()
    result = deploy(cli, cluster, "--environment", "prod", "--at", FREEZE)
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["allowed"] is False and data["applied"] is False and data["result"] == "blocked"
    assert data["reason"].startswith("deployment_window:")
    assert "Year-end change freeze" in data["reason"]
    assert fake.requests() == []  # not even a connection to the cluster
    outputs = gha_env.outputs()
    assert outputs["allowed"] == "false" and outputs["result"] == "blocked"
    assert outputs["reason"] == data["reason"]
    summary = gha_env.summary()
    # the headline says what happened to which environment and why; the gate's own words follow
    assert summary.startswith(
        "### :no_entry: gitops deploy prod: BLOCKED by deployment_window, nothing applied"
    )
    assert "| deployment_window | :x: |" in summary
    assert "passed |" not in summary  # not a second vocabulary (yes/no) next to the gate's


def test_an_emergency_override_in_a_freeze_deploys_and_is_recorded(
    cli: Callable[[list[str]], Any], cluster: Cluster, gha_env: GhaEnv
) -> None:
    args = ["--environment", "prod", "--at", FREEZE, "--override", "--reason", "INC-42 data fix"]
    result = deploy(cli, cluster, *args, "--actor", "alice")
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["allowed"] is True and data["result"] == "applied"
    assert data["gate"]["override"]["actor"] == "alice"
    assert data["gate"]["override"]["reason"] == "INC-42 data fix"
    summary = gha_env.summary()
    assert summary.startswith("### :white_check_mark: gitops deploy prod: applied (")
    assert "Gate: allowed (workflow_dispatch, manual, ref main)." in summary
    assert "Emergency override by alice: INC-42 data fix (it bypassed a closed window)" in summary
    assert summary.count("\n### ") == 0, "one section: the apply is a sub-heading of the deploy"
    assert json.loads(gha_env.outputs()["deploy"])["gate"]["override"]["actor"] == "alice"


def test_a_reason_without_override_is_ignored_and_said_like_the_gate_says_it(
    cli: Callable[[list[str]], Any], cluster: Cluster
) -> None:
    # gate and deploy read the gate flags through one parser (commands.options.gate_request)
    result = deploy(cli, cluster, "--environment", "prod", "--at", FREEZE, "--reason", "INC-42")
    assert result.code == 0, result.output
    assert "--reason is ignored without --override" in result.stderr
    data = json.loads(result.stdout)
    assert data["result"] == "blocked" and data["gate"]["override"] is None


def test_an_automatic_dispatch_of_prod_is_blocked(cli: Callable[[list[str]], Any], cluster: Cluster) -> None:
    result = deploy(cli, cluster, "--environment", "prod", "--triggered-by", "hetzner-k8s")
    assert result.code == 0
    data = json.loads(result.stdout)
    assert data["result"] == "blocked" and "auto_deploy" in data["reason"]


def test_a_blocked_service_is_left_out_and_named(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path
) -> None:
    fake = cluster.need_fake()

    def disable_jaeger(data: dict[str, Any]) -> None:
        data["environments"]["dev"]["services"]["jaeger"]["enabled"] = False

    control = policy_with(tmp_path, disable_jaeger)
    result = deploy(cli, cluster, "--environment", "dev", "--control", str(control))
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["skipped_services"] == ["jaeger"]
    assert data["services"]["jaeger"]["reason"].startswith("service.enabled:")
    objects = by_name(data["apply"])
    assert objects["StatefulSet/jaeger"]["action"] == "skipped"
    assert objects["StatefulSet/postgres"]["action"] == "created"
    assert fake.get("apps/v1", "StatefulSet", "default", "jaeger") is None
    assert "jaeger is skipped" in result.stderr


def test_rollback_follows_each_services_policy(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path
) -> None:
    """dev: redis rolls back on failure, jaeger does not (kept for debugging)."""
    fake = cluster.need_fake()
    assert deploy(cli, cluster, "--environment", "dev").code == 0
    fake.set_knobs(crashloop=["image~broken"])
    broken = write_overlay(
        tmp_path / "broken",
        "infra/k8s/hetzner/dev",
        images={"redis": "valkey/valkey:broken", "jaeger": "jaegertracing/jaeger:broken"},
    )
    result = deploy(cli, cluster, "--environment", "dev", "--overlay", str(broken))
    assert result.code == 2, result.output
    data = json.loads(result.stdout)
    assert data["result"] == "rolled-back"
    objects = by_name(data["apply"])
    assert objects["StatefulSet/redis"]["rollout"] == "rolled-back"
    assert objects["StatefulSet/jaeger"]["rollout"] == "failed"  # a verdict for every object
    assert [r["name"] for r in data["apply"]["rollbacks"]] == ["redis"]
    assert "StatefulSet default/jaeger: rollback on failure is disabled for it" in result.stderr
    jaeger = fake.get("apps/v1", "StatefulSet", "default", "jaeger")
    assert jaeger is not None and jaeger["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        ":broken"
    )
    assert {(d["kind"], d["name"]) for d in client_deletes(fake)} <= {("Pod", "redis-0")}


def test_dry_run_evaluates_the_gate_and_writes_nothing(
    cli: Callable[[list[str]], Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    result = deploy(cli, cluster, "--environment", "dev", "--dry-run")
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["result"] == "dry-run" and data["applied"] is False
    assert {o["action"] for o in data["apply"]["objects"]} == {"would-create"}
    assert not [e for e in fake.history() if str(e["actor"]).startswith("client")]


def test_an_unknown_environment_is_a_configuration_error(
    cli: Callable[[list[str]], Any], cluster: Cluster
) -> None:
    result = deploy(cli, cluster, "--environment", "staging")
    assert result.code == 1
    assert "staging" in result.stderr
