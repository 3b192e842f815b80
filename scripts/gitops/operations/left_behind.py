"""Objects ``gitops diff`` reports as left behind: ours, in the cluster, no longer rendered.

gitops does not prune. An object that carries the overlay's common labels, was applied by our
field manager, is controlled by nobody and is not in the rendered plan any more stays in the
cluster, running or holding data, until someone deletes it; the diff lists each one with the
``kubectl delete`` to run once nothing uses it. Kinds looked at: every rendered kind plus
:data:`LEFT_BEHIND_KINDS`, in the rendered objects' namespaces; a kind the credentials may not
list is named in a note instead of guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitops.adapters.kube import ApiResource, KubeError
from gitops.core import managed_fields
from gitops.core.apply_plan import ApplyPlan, ObjectRef, service_of
from gitops.core.diff_report import DiffAction, ObjectDiff, common_labels
from gitops.operations.apply_engine.session import Session

# Kinds looked at for objects left behind, besides the rendered ones (namespaced, all served by
# every supported Kubernetes version): what overlays of this suite deploy or commonly did.
LEFT_BEHIND_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
)

NO_PRUNE = (
    "gitops does not prune: an object left behind stays in the cluster, running or holding data, "
    "until someone deletes it (check that nothing uses it first)"
)


def find(session: Session, plan: ApplyPlan, manager: str) -> tuple[list[ObjectDiff], list[str]]:
    """Objects with the overlay's labels, applied by ``manager``, that it no longer renders; and notes
    on what could not be looked at (the credentials may not list it)."""
    notes: list[str] = []
    everything = (*plan.objects, *plan.skipped)  # a skipped object is rendered, not left behind
    rendered = {p.ref for p in everything}
    labels = common_labels([p.manifest for p in everything])
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None
    namespaces = sorted({p.ref.namespace for p in everything if p.ref.namespace})
    kinds = dict.fromkeys([(p.ref.api_version, p.ref.kind) for p in everything] + list(LEFT_BEHIND_KINDS))
    found: list[ObjectDiff] = []
    unlisted: list[str] = []
    for api_version, kind in kinds:
        res = session.kube.resource(api_version, kind)
        if res is None or (res.verbs and "list" not in res.verbs):
            continue
        for namespace in namespaces if res.namespaced else [None]:
            try:
                items = session.kube.list(res, namespace, label_selector=selector).items
            except KubeError as err:
                if err.status in (403, 404):
                    unlisted.append(f"{kind}s" + (f" in {namespace}" if namespace else ""))
                    continue
                raise
            found += [_stray(res, i, labels, manager) for i in items if _left(i, rendered, manager)]
    if unlisted:
        notes.append(
            "not looked at for objects left behind (the credentials may not list them): "
            + ", ".join(unlisted)
        )
    if found:
        notes.append(NO_PRUNE)
    return found, notes


def _stray(res: ApiResource, item: Mapping[str, Any], labels: Mapping[str, str], manager: str) -> ObjectDiff:
    ref = ObjectRef.of(item)
    where = f" -n {ref.namespace}" if ref.namespace else ""
    shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return ObjectDiff(
        ref,
        DiffAction.LEFT_BEHIND,
        message=(
            f"carries the overlay's labels ({shown or 'none shared'}) and was applied by "
            f"{manager}, but the overlay no longer renders it; gitops does not prune, so it stays"
        ),
        hint=f"delete it once nothing uses it: kubectl delete {res.plural} {ref.name}{where}",
        service=service_of(item),
    )


def _left(item: Mapping[str, Any], rendered: set[ObjectRef], manager: str) -> bool:
    """Ours (applied by our field manager, controlled by nobody) and not rendered any more."""
    meta = item.get("metadata") or {}
    if any(o.get("controller") for o in meta.get("ownerReferences") or []):
        return False  # a controller's (a StatefulSet's claim with a retention policy, a Job's pod)
    if meta.get("deletionTimestamp"):
        return False
    return managed_fields.applied_by(item, manager) and ObjectRef.of(item) not in rendered
