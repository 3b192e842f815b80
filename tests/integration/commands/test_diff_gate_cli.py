"""``gitops diff`` given the gate's flags shows what ``gitops deploy`` with the same flags really does.

The policy is a fixture (tests/fixtures/policies/blocked-service/deploy-control.yaml): dev with
jaeger switched off (``enabled: false``) and redis held back from pushes (``auto_deploy: false``).
The overlay is the real dev overlay with new jaeger and redis images, on the fake API server
where the first version was applied.

What a deploy leaves out is taken from outside our code: the objects ``kubectl kustomize``
renders with the label ``app.kubernetes.io/name: <service>`` of a blocked service (issue 17's
follow-up; the deploy leaves out exactly the objects carrying that label), and the gate's rules
as infra/deploy-control.yaml's header states them (a push needs the service's ``enabled`` and
``auto_deploy``; a manual dispatch only ``enabled``; an automatic deploy of dev comes only from
branch ``dev``). Then ``gitops deploy`` runs with the same flags and must leave out the same set,
and the fake's storage must show that those objects were not touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult
from tests.fakekube import FakeKube
from tests.support.actions import GhaEnv
from tests.support.apply import ROOT, Cluster, secret_values, start_fake, write_overlay
from tests.support.cluster_records import bind_cluster
from tests.support.infra import render

pytestmark = pytest.mark.integration

CONTROL = ROOT / "tests" / "fixtures" / "policies" / "blocked-service" / "deploy-control.yaml"
AT = "2026-11-26T10:00:00+01:00"  # dev has no windows; a fixed instant keeps the output stable
NEW_IMAGES = {"redis": "valkey/valkey:9.1-alpine", "jaeger": "jaegertracing/jaeger:2.22.0"}
PUSH_TO_DEV = ["--control", str(CONTROL), "--event", "push", "--ref", "refs/heads/dev", "--at", AT]

Cli = Callable[[list[str]], CliResult]
Key = tuple[str, str, str]  # kind, namespace, name


@pytest.fixture(autouse=True)
def repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # deploy records the checked-out commit
    for name, value in secret_values().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def deployed(cli: Cli, tmp_path: Path) -> Iterator[Cluster]:
    """dev's first version applied (every service), on a cluster bound to dev; request log cleared."""
    for cluster in start_fake(tmp_path):
        bind_cluster(cluster.fake, "dev")
        args = ["apply", "--overlay", "infra/k8s/hetzner/dev", "--kubeconfig", str(cluster.kubeconfig)]
        applied = cli([*args, "--format", "json"])
        assert applied.code == 0, applied.output
        cluster.fake.reset_logs()
        yield cluster


def labelled(services: set[str]) -> set[Key]:
    """The objects kustomize renders for dev with app.kubernetes.io/name in ``services`` (all: None)."""
    found = set()
    for obj in render("dev"):
        meta = obj["metadata"]
        if (meta.get("labels") or {}).get("app.kubernetes.io/name") in services:
            found.add((obj["kind"], meta.get("namespace") or "default", meta["name"]))
    return found


def everything() -> set[Key]:
    return {
        (o["kind"], o["metadata"].get("namespace") or "default", o["metadata"]["name"]) for o in render("dev")
    }


def keys(objects: list[dict[str, Any]], action: str) -> set[Key]:
    return {(o["kind"], o["namespace"], o["name"]) for o in objects if o["action"] == action}


def image(fake: FakeKube, name: str) -> str:
    sts = fake.get("apps/v1", "StatefulSet", "default", name)
    assert sts is not None
    return str(sts["spec"]["template"]["spec"]["containers"][0]["image"])


def run(cli: Cli, verb: str, cluster: Cluster, overlay: Path, *extra: str) -> CliResult:
    """``gitops diff|deploy --environment dev`` of ``overlay`` on the fake, JSON on stdout."""
    where = ["--overlay", str(overlay), "--kubeconfig", str(cluster.kubeconfig), "--format", "json"]
    return cli([verb, "--environment", "dev", *where, *extra])


def run_diff(cli: Cli, cluster: Cluster, overlay: Path, *extra: str) -> CliResult:
    return run(cli, "diff", cluster, overlay, "--exit-code", *extra)


def run_deploy(cli: Cli, cluster: Cluster, overlay: Path, *extra: str) -> CliResult:
    return run(cli, "deploy", cluster, overlay, "--progress-interval", "1", *extra)


def test_diff_skips_what_the_gate_blocks_and_deploy_leaves_out_the_same_objects(
    cli: Cli, deployed: Cluster, tmp_path: Path, gha_env: GhaEnv
) -> None:
    fake = deployed.fake
    v2 = write_overlay(tmp_path / "v2", "infra/k8s/hetzner/dev", images=NEW_IMAGES)
    blocked = labelled({"jaeger", "redis"})
    assert blocked and {k for k, _, _ in blocked} >= {"StatefulSet", "Service", "ConfigMap"}

    result = run_diff(cli, deployed, v2, *PUSH_TO_DEV)
    # Only jaeger and redis change, and a push deploys neither: nothing a deploy does changes.
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert keys(data["objects"], "skipped") == blocked
    assert keys(data["objects"], "unchanged") == everything() - blocked
    assert data["counts"]["skipped"] == len(blocked) and data["changed"] == 0
    assert not keys(data["objects"], "left-behind"), "a skipped object is rendered, not left behind"
    for o in data["objects"]:
        if o["action"] == "skipped":
            check = {"jaeger": "service.enabled", "redis": "service.auto_deploy"}[o["service"]]
            assert o["message"].startswith(f"service {o['service']} is blocked by the deploy gate: {check}:")
    gate = data["gate"]
    assert gate["evaluated"] is True and gate["allowed"] is True
    assert gate["skipped_services"] == ["jaeger", "redis"]
    assert gate["decision"]["event"] == "push" and gate["decision"]["automatic"] is True
    # Nothing was sent for the skipped objects (a deploy sends nothing for them), and nothing written.
    sent = [r for r in fake.requests() if r["method"] != "GET"]
    assert sent and all(r["query"].get("dryRun") == "All" for r in sent)
    assert not [r for r in sent if r["path"].rsplit("/", 1)[-1].startswith(("jaeger", "redis"))], sent
    assert gha_env.outputs()["skipped-services"] == '["jaeger", "redis"]'
    summary = gha_env.summary()
    assert "Deploy gate: allowed (push, automatic, ref refs/heads/dev, at " in summary
    assert "a deploy leaves out jaeger, redis." in summary
    assert (
        "- :no_entry_sign: `jaeger`: service.enabled: environments.dev.services.jaeger.enabled is false"
        in summary
    )
    assert "- :no_entry_sign: `redis`: service.auto_deploy: " in summary
    assert f"{len(blocked)} object(s) skipped by the deploy gate" in summary

    # Without the gate's flags every object is compared: the new images are updates.
    ungated = run_diff(cli, deployed, v2)
    assert ungated.code == 2, ungated.output
    plain = json.loads(ungated.stdout)
    assert plain["gate"] == {"evaluated": False} and plain["counts"]["skipped"] == 0
    assert keys(plain["objects"], "update") == {
        ("StatefulSet", "default", "jaeger"),
        ("StatefulSet", "default", "redis"),
    }
    assert "Deploy gate: not evaluated (no gate inputs)" in gha_env.summary()

    # gitops deploy with the same flags leaves out exactly the objects the diff showed as skipped.
    before = {name: image(fake, name) for name in ("jaeger", "redis")}
    deployed_now = run_deploy(cli, deployed, v2, *PUSH_TO_DEV)
    assert deployed_now.code == 0, deployed_now.output
    report = json.loads(deployed_now.stdout)
    assert report["result"] == "applied" and report["skipped_services"] == ["jaeger", "redis"]
    assert keys(report["apply"]["objects"], "skipped") == keys(data["objects"], "skipped")
    assert {name: image(fake, name) for name in ("jaeger", "redis")} == before, "left out means untouched"


def test_a_manual_dispatch_skips_only_the_switched_off_service_in_both(
    cli: Cli, deployed: Cluster, tmp_path: Path
) -> None:
    """auto_deploy does not apply to a person (the policy's header): redis goes, jaeger does not."""
    v2 = write_overlay(tmp_path / "v2", "infra/k8s/hetzner/dev", images=NEW_IMAGES)
    manual = ["--control", str(CONTROL), "--event", "workflow_dispatch", "--at", AT]
    result = run_diff(cli, deployed, v2, *manual)
    assert result.code == 2, result.output  # redis's new image is a change a deploy makes
    data = json.loads(result.stdout)
    assert keys(data["objects"], "skipped") == labelled({"jaeger"})
    assert ("StatefulSet", "default", "redis") in keys(data["objects"], "update")
    deployed_now = run_deploy(cli, deployed, v2, *manual)
    assert deployed_now.code == 0, deployed_now.output
    report = json.loads(deployed_now.stdout)
    assert keys(report["apply"]["objects"], "skipped") == keys(data["objects"], "skipped")
    assert image(deployed.fake, "redis") == NEW_IMAGES["redis"]


def test_a_deploy_the_gate_blocks_entirely_is_skipped_whole_in_the_diff(
    cli: Cli, deployed: Cluster, tmp_path: Path, gha_env: GhaEnv
) -> None:
    """A push to main does not deploy dev (its branch is dev): every object is left out."""
    v2 = write_overlay(tmp_path / "v2", "infra/k8s/hetzner/dev", images=NEW_IMAGES)
    push_to_main = ["--control", str(CONTROL), "--event", "push", "--ref", "main", "--at", AT]
    result = run_diff(cli, deployed, v2, *push_to_main)
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert keys(data["objects"], "skipped") == everything()
    assert all(
        o["message"].startswith("dev is blocked by the deploy gate: branch:")
        for o in data["objects"]
        if o["action"] == "skipped"
    )
    assert data["gate"]["allowed"] is False and data["gate"]["reason"].startswith("branch:")
    assert gha_env.summary().startswith(
        "### :mag: gitops diff dev: BLOCKED by branch, a deploy applies nothing"
    )
    assert not [r for r in deployed.fake.requests() if r["method"] != "GET"], "no dry run for skipped objects"
    table = run_diff(cli, deployed, v2, *push_to_main, "--format", "table").stdout
    assert "deploy gate: BLOCKED (push, automatic, ref main, at Thu 2026-11-26 10:00 CET): branch: " in table
    assert "StatefulSet default/postgres         skipped  dev blocked by the deploy gate (branch)" in table

    deployed_now = run_deploy(cli, deployed, v2, *push_to_main)
    assert deployed_now.code == 0, deployed_now.output
    report = json.loads(deployed_now.stdout)
    assert report["result"] == "blocked" and report["apply"] is None  # nothing applied: every object out
    assert report["reason"] == data["gate"]["reason"]


def test_a_policy_the_gate_cannot_read_stops_the_diff_before_the_cluster(
    cli: Cli, deployed: Cluster, tmp_path: Path
) -> None:
    """As for gitops deploy: a bad policy is the user's to fix (exit 1), asked before anything else."""
    missing = tmp_path / "nowhere" / "deploy-control.yaml"
    result = run_diff(cli, deployed, Path("infra/k8s/hetzner/dev"), "--control", str(missing))
    assert result.code == 1, result.output
    assert "deploy-control policy file not found" in result.stderr and str(missing) in result.stderr
    assert deployed.fake.requests() == []
