"""gitops.core.volume_retention: which PersistentVolumes are ours, and the only change ever made (to Retain).

Object shapes are core/v1's: a bound claim names its volume in ``spec.volumeName`` and the volume
points back with ``spec.claimRef`` {namespace, name, uid}
(https://kubernetes.io/docs/concepts/storage/persistent-volumes/#binding); reclaim policies
Retain, Delete, Recycle (https://kubernetes.io/docs/concepts/storage/persistent-volumes/#reclaim-policy).
"""

from __future__ import annotations

from typing import Any

import pytest

from gitops.core.volume_retention import RETAIN_PATCH, Action, Claim, our_claims, plan_retention


def claim(name: str, volume: str | None = "pv-1", uid: str = "u-1") -> dict[str, Any]:
    spec = {"volumeName": volume} if volume else {}
    return {"metadata": {"name": name, "namespace": "db", "uid": uid}, "spec": spec}


def volume(policy: str | None, ref: dict[str, Any] | None = None) -> dict[str, Any]:
    own = {"namespace": "db", "name": "data-postgres-0", "uid": "u-1"}
    spec: dict[str, Any] = {"claimRef": own if ref is None else ref}
    if policy:
        spec["persistentVolumeReclaimPolicy"] = policy
    return {"metadata": {"name": "pv-1"}, "spec": spec}


@pytest.mark.parametrize(
    ("pvc", "pv", "action", "before"),
    [
        pytest.param(claim("data-postgres-0"), volume("Delete"), Action.SET_RETAIN, "Delete", id="delete"),
        pytest.param(claim("data-postgres-0"), volume("Recycle"), Action.SET_RETAIN, "Recycle", id="recycle"),
        pytest.param(claim("data-postgres-0"), volume(None), Action.SET_RETAIN, None, id="unset"),
        pytest.param(claim("data-postgres-0"), volume("Retain"), Action.ALREADY_RETAINED, "Retain",
                     id="already-retain-never-back"),
        pytest.param(claim("data-postgres-0", volume=None), None, Action.NOT_BOUND, None, id="pending"),
        pytest.param(None, None, Action.NOT_BOUND, None, id="claim-missing"),
        pytest.param(claim("data-postgres-0"), None, Action.VOLUME_MISSING, None, id="volume-missing"),
        pytest.param(claim("data-postgres-0"),
                     volume("Delete", {"namespace": "db", "name": "data-other-0", "uid": "u-9"}),
                     Action.NOT_ITS_VOLUME, "Delete", id="pv-bound-elsewhere"),
        pytest.param(claim("data-postgres-0", uid="u-2"), volume("Delete"), Action.NOT_ITS_VOLUME, "Delete",
                     id="claim-recreated-same-name"),
        pytest.param(claim("data-postgres-0"),
                     volume("Delete", {"namespace": "db", "name": "data-postgres-0"}),
                     Action.SET_RETAIN, "Delete", id="claimref-without-uid"),
    ],
)  # fmt: skip
def test_plan_retention(pvc: Any, pv: Any, action: Action, before: str | None) -> None:
    retention = plan_retention(pvc, pv, "db", "data-postgres-0")
    assert (retention.action, retention.before, retention.patch) == (
        action,
        before,
        action is Action.SET_RETAIN,
    )


def test_the_only_patch_there_is_sets_retain() -> None:
    assert RETAIN_PATCH == {"spec": {"persistentVolumeReclaimPolicy": "Retain"}}


def test_our_claims_are_the_statefulsets_templates_and_applied_claims() -> None:
    objects = [
        {"kind": "StatefulSet", "metadata": {"name": "postgres", "namespace": "db"},
         "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}}, {"metadata": {"name": "wal"}}]}},
        {"kind": "StatefulSet", "metadata": {"name": "redis"},  # the default namespace
         "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}}]}},
        {"kind": "PersistentVolumeClaim", "metadata": {"name": "shared", "namespace": "db"}},
        {"kind": "Deployment", "metadata": {"name": "web", "namespace": "db"}},
    ]  # fmt: skip
    pvcs = {
        "db": [claim(n) for n in ("data-postgres-0", "data-postgres-1", "wal-postgres-0", "data-postgresql-0",
                                  "data-other-0", "shared")],
        "default": [claim("data-redis-0"), claim("data-postgres-0")],
    }  # fmt: skip
    assert our_claims(objects, pvcs, "default") == [
        Claim("db", "data-postgres-0", "StatefulSet", "postgres"),
        Claim("db", "data-postgres-1", "StatefulSet", "postgres"),
        Claim("db", "shared", "PersistentVolumeClaim", "shared"),
        Claim("db", "wal-postgres-0", "StatefulSet", "postgres"),
        Claim("default", "data-redis-0", "StatefulSet", "redis"),
    ]
