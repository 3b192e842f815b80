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
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitops.core.immutable import controller_uid
from gitops.core.readiness import POD_TEMPLATE_HASH, selects, templates_equal

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class RollbackPlan:
    """``patch`` is None when there is nothing to do; ``reason`` says why (or what will happen)."""

    patch: dict[str, Any] | None
    reason: str
    to_revision: int | None = None
    from_revision: int | None = None


def _uid(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid"))


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
        if controller_uid(r) == _uid(sts)
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
    owned = [
        rs for rs in replicasets if controller_uid(rs) == _uid(deployment) and _rs_revision(rs) is not None
    ]
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
