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

from tests.fakekube.plugin import KubeTarget
from tests.support import manifests as m
from tests.support.apply import by_name, file_applier, report_of

pytestmark = pytest.mark.integration

PAUSE = "registry.k8s.io/pause:3.10"
BUSYBOX = "registry.k8s.io/e2e-test-images/busybox:1.36.1-1"


def deployment(app: str) -> dict[str, Any]:
    made = m.deployment("web", image=PAUSE, labels={"app": app}, namespace=None)
    made["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 0  # re-created pods go at once
    return made


def service(headless: bool = False) -> dict[str, Any]:
    ip = "None" if headless else None
    return m.service(
        "web",
        port=80,
        port_name="http",
        cluster_ip=ip,
        cluster_ips=[ip] if ip else None,
        selector={"app": "web"},
        namespace=None,
    )


def job(arg: str) -> dict[str, Any]:
    made = m.job("once", image=BUSYBOX, command=f"echo {arg}", labels={}, namespace=None)
    made["spec"].update(backoffLimit=0, activeDeadlineSeconds=600)
    return made


CONFIGMAP = m.configmap("settings", {"mode": "a"}, namespace=None)


@pytest.fixture
def apply(cli: Callable[[list[str]], Any], kube_target: KubeTarget, tmp_path: Path) -> Callable[..., Any]:
    options = ("--namespace", kube_target.namespace, "--timeout", "240")
    return file_applier(cli, kube_target.kubeconfig, tmp_path, *options)


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
