"""What an apply run sends, against the fake API server's request log: how many objects of a stage
are in flight at once, in which order they are reported, and no request whose answer a watch or a
list has already given.

Counts come from the fake's log of what reached it; the order of each stage is the input's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops.adapters.kube import Kube, KubeconfigSource
from gitops.operations.apply_engine import ApplySettings, Engine, stages
from gitops.operations.apply_engine.changeset import Action
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
