"""Choose the revision to roll back to, exactly as ``kubectl rollout undo`` does.

StatefulSet (k8s.io/kubectl/pkg/polymorphichelpers/rollback.go, ``statefulSetRollbacker``):
the ControllerRevisions that match the StatefulSet's selector AND are controlled by it,
sorted by ``.revision``; the target is the second-highest ("the previous one"); its ``data``
is a strategic-merge patch of the pod template only (``{"spec":{"template":{..., "$patch":
"replace"}}}``), applied as is; when the template already equals the target, nothing is done.

Deployment (``DeploymentRollbacker``): the ReplicaSets the Deployment controls, ordered by
their ``deployment.kubernetes.io/revision`` annotation; the target is the highest revision
below the current one; its pod template (without the ``pod-template-hash`` label) replaces
the Deployment's.

After a StatefulSet rollback, pods of the failed revision that are stuck (CrashLoopBackOff...)
must be deleted: a StatefulSet never replaces a pod that is not Ready during a rolling update,
so the broken pod stays broken until it is deleted (the "forced rollback" of
https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#forced-rollback).
:func:`stuck_pods` picks them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitops.core.ownership import controller_uid, uid
from gitops.core.readiness import POD_TEMPLATE_HASH, pod_failure, selects, templates_equal

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
REVISION_HASH_LABEL = "controller-revision-hash"


@dataclass(frozen=True)
class RollbackPlan:
    """``patch`` is None when there is nothing to do; ``reason`` says why (or what will happen)."""

    patch: dict[str, Any] | None
    reason: str
    to_revision: int | None = None
    from_revision: int | None = None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def statefulset_rollback(sts: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]]) -> RollbackPlan:
    selector = (sts.get("spec") or {}).get("selector")
    owned = [
        r
        for r in revisions
        if controller_uid(r) == str(uid(sts))
        and selects(selector, (r.get("metadata") or {}).get("labels"))
        and _int(r.get("revision")) is not None
    ]
    owned.sort(key=lambda r: _int(r.get("revision")) or 0)
    if len(owned) < 2:
        return RollbackPlan(None, "no earlier revision to roll back to (the StatefulSet has one revision)")
    current, target = owned[-1], owned[-2]
    data = target.get("data")
    template = ((data or {}).get("spec") or {}).get("template") if isinstance(data, Mapping) else None
    if template is None:
        return RollbackPlan(None, f"revision {target.get('revision')} holds no pod template")
    if templates_equal((sts.get("spec") or {}).get("template"), template):
        return RollbackPlan(
            None,
            f"skipped: the template already matches revision {target.get('revision')}",
            _int(target.get("revision")),
            _int(current.get("revision")),
        )
    return RollbackPlan(
        copy.deepcopy(dict(data)),  # type: ignore[arg-type]
        f"rolling back from revision {current.get('revision')} to {target.get('revision')}",
        _int(target.get("revision")),
        _int(current.get("revision")),
    )


def _rs_revision(rs: Mapping[str, Any]) -> int | None:
    return _int(((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION))


def deployment_rollback(
    deployment: Mapping[str, Any], replicasets: Sequence[Mapping[str, Any]]
) -> RollbackPlan:
    owner = str(uid(deployment))
    owned = [rs for rs in replicasets if controller_uid(rs) == owner and _rs_revision(rs) is not None]
    owned.sort(key=lambda rs: _rs_revision(rs) or 0)
    current_rev = _int(((deployment.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION))
    if current_rev is None and owned:
        current_rev = _rs_revision(owned[-1])
    earlier = [rs for rs in owned if (_rs_revision(rs) or 0) < (current_rev or 0)]
    if not earlier:
        return RollbackPlan(None, "no earlier revision to roll back to (the Deployment has one ReplicaSet)")
    target = earlier[-1]
    template = copy.deepcopy((target.get("spec") or {}).get("template") or {})
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    if templates_equal((deployment.get("spec") or {}).get("template"), template):
        return RollbackPlan(
            None,
            f"skipped: the template already matches revision {_rs_revision(target)}",
            _rs_revision(target),
            current_rev,
        )
    template["$patch"] = "replace"
    return RollbackPlan(
        {"spec": {"template": template}},
        f"rolling back from revision {current_rev} to {_rs_revision(target)}",
        _rs_revision(target),
        current_rev,
    )


@dataclass(frozen=True)
class StuckPod:
    name: str
    pod_uid: str | None
    why: str


def stuck_pods(sts: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> list[StuckPod]:
    """Pods of the StatefulSet ``sts`` (as it was before the rollback) to delete after it: only
    those it controls, at its failed ``status.updateRevision``, stuck in a fail-fast state.
    Their volumes are untouched."""
    bad_revision = (sts.get("status") or {}).get("updateRevision")
    if not bad_revision:
        return []
    stuck: list[StuckPod] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        revision = (meta.get("labels") or {}).get(REVISION_HASH_LABEL)
        if controller_uid(pod) != uid(sts) or revision != bad_revision:
            continue
        why = pod_failure(pod)
        if why:
            stuck.append(StuckPod(str(meta.get("name")), uid(pod), why))
    return stuck
