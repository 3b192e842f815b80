"""Owner references: controllers, dependents, adoption after an orphaning re-create.

https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/: the
reference with ``controller: true`` names the managing object; a StatefulSet, DaemonSet or
ReplicaSet controls pods, a Deployment controls ReplicaSets
(https://kubernetes.io/docs/concepts/workloads/controllers/deployment/).
"""

from __future__ import annotations

from typing import Any

import pytest

from gitops.core.ownership import (
    check_adoption,
    controlled_by,
    controller_uid,
    dependent_kind,
    selector_string,
    uid,
)
from tests.support import manifests as m


def pod(name: str, uid: str, owner: str | None, deleting: bool = False) -> dict[str, Any]:
    made = m.owned_by(m.with_meta(m.pod(name), uid=uid), owner)
    return m.with_meta(made, deletionTimestamp="2026-01-01T00:00:00Z") if deleting else made


def test_check_adoption() -> None:
    before = [
        pod("p-0", "u0", "old"),
        pod("p-1", "u1", "old"),
        pod("p-2", "u2", "old"),
        pod("p-3", "u3", "old"),
    ]
    now = [pod("p-0", "u0", "new"), pod("p-1", "u1", None), pod("p-3", "u3", "someone-else")]
    result = check_adoption(before, now, "new")
    assert result.adopted == ("p-0",)
    assert result.pending == ("p-1",)
    assert result.replaced == ("p-2",)
    assert result.foreign == ("p-3",)
    assert not result.complete
    assert check_adoption(before[:1], now[:1], "new").complete


def test_the_controller_is_the_reference_marked_controller() -> None:
    owned = m.pod("p-0")
    owned["metadata"]["ownerReferences"] = [
        {"uid": "gc-only", "kind": "ConfigMap", "name": "x"},  # an owner, not the controller
        {"uid": "sts", "kind": "StatefulSet", "name": "postgres", "controller": True},
    ]
    assert controller_uid(owned) == "sts"
    assert controller_uid(m.pod("p-1")) is None
    assert uid(m.with_meta(m.pod(), uid="u")) == "u" and uid(None) is None and uid(m.pod()) is None


def test_controlled_by_keeps_only_what_the_owner_controls() -> None:
    owner = m.with_meta(m.statefulset(), uid="sts")
    pods = [m.owned_by(m.pod("a"), "sts"), m.owned_by(m.pod("b"), "other"), m.pod("c")]
    assert [p["metadata"]["name"] for p in controlled_by(owner, pods)] == ["a"]


@pytest.mark.parametrize(
    ("group_kind", "dependent"),
    [
        pytest.param(("apps", "StatefulSet"), ("", "Pod"), id="statefulset"),
        pytest.param(("apps", "DaemonSet"), ("", "Pod"), id="daemonset"),
        pytest.param(("apps", "ReplicaSet"), ("", "Pod"), id="replicaset"),
        pytest.param(("apps", "Deployment"), ("apps", "ReplicaSet"), id="deployment"),
        pytest.param(("batch", "Job"), None, id="job-pods-are-deleted-with-it"),
        pytest.param(("", "Service"), None, id="service"),
    ],
)
def test_dependent_kind(group_kind: tuple[str, str], dependent: tuple[str, str] | None) -> None:
    assert dependent_kind(group_kind) == dependent


def test_selector_string_is_a_label_selector_query() -> None:
    """The ``labelSelector`` query syntax: comma-separated key=value (equality-based requirements,
    https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors)."""
    assert selector_string(m.deployment(labels={"tier": "web", "app": "shop"})) == "app=shop,tier=web"
    assert selector_string(m.service()) is None  # a Service's selector is a plain map, not matchLabels
