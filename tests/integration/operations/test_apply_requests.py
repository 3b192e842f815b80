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

from gitops.adapters.kube import Kube, KubeconfigSource
from gitops.core.apply_plan import PlannedObject
from gitops.operations.apply_engine import ApplySettings, Engine, stages
from gitops.operations.apply_engine.changeset import Action
from tests.fakekube import FakeKube
from tests.support import manifests as m
from tests.support.apply import Cluster, start_fake

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
    # The claims of both StatefulSets: one LIST of the namespace when they are verified, not one
    # per StatefulSet per look (and one each when their apply looks for claims to grow, one when
    # their volumes are set to Retain after the rollout).
    claims = "/api/v1/namespaces/default/persistentvolumeclaims"
    assert sent["list", claims] == 2 + 1 + 1
    # The ConfigMaps: one LIST before the apply, one when verified; never a GET each.
    assert sent["list", "/api/v1/namespaces/default/configmaps"] == 2
    assert not any(verb == "get" and name.startswith("cm-") for verb, name in sent)
    assert sent["get", "token"] == 2  # a Secret is never LISTed: read before its apply, and verified
    assert report.requests == sum(sent.values())
