"""``gitops apply`` against whatever ``kube_target`` is: the fake, or a REAL cluster.

With ``GITOPS_TEST_KUBECONFIG`` set (the CI job with a kind cluster), these run against a real
kube-apiserver in a throwaway namespace: the same 422s our classifier reads, the same
"unchanged" bookkeeping, real controllers. Only things every cluster can run: a Deployment of
the pause image, a Service, a ConfigMap, a Job.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakekube.plugin import KubeTarget
from tests.support.apply import by_name, report_of

pytestmark = pytest.mark.integration

PAUSE = "registry.k8s.io/pause:3.10"
BUSYBOX = "registry.k8s.io/e2e-test-images/busybox:1.36.1-1"


def deployment(app: str) -> dict[str, Any]:
    labels = {"app": app}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "pause", "image": PAUSE}],
                    "terminationGracePeriodSeconds": 0,
                },
            },
        },
    }


def service(headless: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}
    if headless:
        spec["clusterIP"] = "None"
        spec["clusterIPs"] = ["None"]
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec}


def job(arg: str) -> dict[str, Any]:
    container = {"name": "run", "image": BUSYBOX, "command": ["sh", "-c", f"echo {arg}"]}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": 600,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        },
    }


CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"mode": "a"}}


@pytest.fixture
def apply(cli: Callable[[list[str]], Any], kube_target: KubeTarget, tmp_path: Path) -> Callable[..., Any]:
    counter = iter(range(1000))

    def run(objects: list[dict[str, Any]], *extra: str) -> Any:
        path = tmp_path / f"manifests-{next(counter)}.yaml"
        path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
        args = ["apply", "-f", str(path), "--kubeconfig", str(kube_target.kubeconfig), "--format", "json"]
        return cli([*args, "--namespace", kube_target.namespace, "--timeout", "240", *extra])

    return run


def test_create_then_nothing_changes(apply: Callable[..., Any]) -> None:
    objects = [CONFIGMAP, service(), deployment("web")]
    first = apply(objects)
    assert first.code == 0, first.output
    report = report_of(first.stdout)
    assert {o["action"] for o in report["objects"]} == {"created"}
    assert by_name(report)["Deployment/web"]["rollout"] == "ready"
    again = apply(objects)
    assert again.code == 0, again.output
    assert {o["action"] for o in report_of(again.stdout)["objects"]} == {"unchanged"}
    changed = apply([{**CONFIGMAP, "data": {"mode": "b"}}, service(), deployment("web")])
    assert by_name(report_of(changed.stdout))["ConfigMap/settings"]["action"] == "configured"


def test_the_servers_own_immutable_field_errors_are_handled(apply: Callable[..., Any]) -> None:
    assert apply([service(), deployment("web"), job("a")]).code == 0
    result = apply([service(headless=True), deployment("web-v2"), job("b")])
    assert result.code == 0, result.output
    objects = by_name(report_of(result.stdout))
    assert objects["Service/web"]["action"] == "recreated"
    assert any("ClusterIP" in w and "changes" in w for w in objects["Service/web"]["warnings"])
    assert objects["Deployment/web"]["action"] == "recreated"
    assert objects["Deployment/web"]["rollout"] == "ready"
    assert objects["Job/once"]["action"] == "recreated"


def test_dry_run_against_the_server(apply: Callable[..., Any]) -> None:
    assert apply([CONFIGMAP]).code == 0
    result = apply([{**CONFIGMAP, "data": {"mode": "c"}}, deployment("web")], "--dry-run")
    assert result.code == 0, result.output
    objects = by_name(report_of(result.stdout))
    assert objects["ConfigMap/settings"]["action"] == "would-configure"
    assert objects["ConfigMap/settings"]["diff"] == ["data.mode: 'a' -> 'c'"]
    assert objects["Deployment/web"]["action"] == "would-create"
