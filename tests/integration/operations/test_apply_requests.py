"""What an apply run sends, against the fake API server's request log: how many objects of a stage
are in flight at once, in which order they are reported, and no request whose answer a watch or a
list has already given.

Counts come from the fake's log of what reached it; the order of each stage is the input's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops.adapters.kube import Kube
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.core.apply_plan import PlannedObject
from gitops.operations.apply_engine import ApplySettings, Engine, stages
from gitops.operations.apply_engine.changeset import Action
from tests.fakekube import FakeKube
from tests.support import manifests as m
from tests.support.apply import Cluster, start_fake
from tests.support.infra import render

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    yield from start_fake(tmp_path)


def run(cluster: Cluster, objects: list[dict[str, Any]], **settings: Any) -> Any:
    kube = Kube.connect(KubeconfigSource(path=cluster.kubeconfig))
    try:
        return Engine(kube, ApplySettings(rollout_timeout=60, **settings)).run(objects, "objects.yaml")
    finally:
        kube.close()


def account(name: str) -> dict[str, Any]:
    return m.obj("v1", "ServiceAccount", name)


def mixed() -> list[dict[str, Any]]:
    """Interleaved in the input: ConfigMaps (a wide stage) and ServiceAccounts (a narrow one)."""
    objects: list[dict[str, Any]] = []
    for i in range(12):
        objects.append(m.configmap(f"cm-{i:02d}", {"i": str(i)}))
        if i % 3 == 0:
            objects.append(account(f"sa-{i:02d}"))
    return objects


def test_plain_data_goes_wide_the_rest_narrow_and_each_stage_reports_in_input_order(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    widths: dict[str, int] = {}
    real = stages.each

    def recorded(items: Any, work: Any, width: int) -> Any:
        if items and isinstance(items[0], PlannedObject):  # not the LISTs before a stage
            widths[items[0].ref.kind] = width
        return real(items, work, width)

    monkeypatch.setattr(stages, "each", recorded)
    report = run(cluster, mixed(), parallelism=3, wide_parallelism=7)

    assert widths == {"ServiceAccount": 3, "ConfigMap": 7}
    assert [o.ref.name for o in report.objects] == [
        *(f"sa-{i:02d}" for i in (0, 3, 6, 9)),  # the access stage first, then the ConfigMaps
        *(f"cm-{i:02d}" for i in range(12)),
    ]
    assert {o.action for o in report.objects} == {Action.CREATED}


def test_a_second_run_reads_each_object_once_and_what_the_rollout_watch_saw_not_again(
    cluster: Cluster,
) -> None:
    fake: FakeKube = cluster.need_fake()
    objects = [
        *(m.configmap(f"cm-{i}") for i in range(6)),
        m.obj("v1", "Secret", "token", data={"k": "dg=="}),
        m.statefulset("db", replicas=1, storage_class="hcloud-volumes"),
        m.statefulset("cache", replicas=1, storage_class="hcloud-volumes"),
    ]
    assert run(cluster, objects).ok
    start = len(fake.request_log)

    report = run(cluster, objects)

    assert report.ok and {o.action for o in report.objects} == {Action.UNCHANGED}
    sent = Counter(
        (e["verb"], e["path"].rsplit("/", 1)[-1] if e["verb"] == "get" else e["path"])
        for e in fake.request_log[start:]
    )
    # Verify takes the StatefulSets from the rollout watch: each is read once, before its apply.
    assert sent["get", "db"] == 1 and sent["get", "cache"] == 1
    # The claims of both StatefulSets: one LIST of the namespace when their stage looks for claims
    # to grow, one when they are verified (not one per StatefulSet, nor per look); the volumes' Retain
    # step after the rollout takes verification's.
    claims = "/api/v1/namespaces/default/persistentvolumeclaims"
    assert sent["list", claims] == 1 + 1
    # The ConfigMaps: one LIST before the apply, one when verified; never a GET each.
    assert sent["list", "/api/v1/namespaces/default/configmaps"] == 2
    assert not any(verb == "get" and name.startswith("cm-") for verb, name in sent)
    assert sent["get", "token"] == 2  # a Secret is never LISTed: read before its apply, and verified
    assert report.requests == sum(sent.values())


def test_a_first_apply_reads_nothing_again_after_the_rollout(cluster: Cluster) -> None:
    """dev's overlay on an empty cluster: what the steps after the rollout send (the volumes' Retain,
    the PostgreSQL check) besides what they write, and that the check Job is watched, not polled."""
    fake: FakeKube = cluster.need_fake()
    report = run(cluster, render("dev"))

    assert report.ok, [c for c in report.verify if not c.passed]
    log = fake.request_log
    # Each StatefulSet is read once, before its apply (404: it is created); verification and the
    # PostgreSQL check take it from the rollout watch.
    for name in ("postgres", "redis", "jaeger"):
        reads = [r for r in log if r["verb"] == "get" and r["path"].endswith(f"/statefulsets/{name}")]
        assert [r["status"] for r in reads] == [404], name
    # The claims: one LIST when the StatefulSets' stage looks for claims to grow, one when they are
    # verified; the Retain step uses verification's. Then one GET and one PATCH per volume.
    assert len(fake.requests(verb="list", path="/persistentvolumeclaims$")) == 1 + 1
    assert len(fake.requests(verb="get", path="^/api/v1/persistentvolumes/")) == 3
    assert len(fake.requests(verb="patch", path="^/api/v1/persistentvolumes/")) == 3
    # The check: is there one for this revision (a labelled LIST), create it, watch it (LIST + WATCH,
    # as kubectl rollout status does); its pods are watched for a pod that cannot start.
    jobs = [(r["verb"], "labelSelector" in r["query"]) for r in log if r["path"].endswith("/jobs")]
    assert jobs == [("list", True), ("create", False), ("list", False), ("watch", False)]
    assert not fake.requests(path="/jobs/")  # never a GET of the Job, however long it runs
    assert report.requests == len([r for r in log if r["user_agent"].startswith("gitops")])
