"""After a rollout: every PersistentVolume bound to one of our claims is set to ``Retain``.

The decisions are :mod:`gitops.core.volume_retention`; this module reads the claims and volumes,
sends the one patch there is (``persistentVolumeReclaimPolicy: Retain``, a JSON merge patch of
the PV) and logs every claim: set to Retain, already Retain, or why not. The apply engine puts
the result on the owning object of its report (JSON, and the job summary's table).

It never fails the deploy: the rollout already succeeded or failed on its own. A volume it could
not protect (no permission to patch PersistentVolumes, an API error) is a warning that says what
to grant, because until then that volume still goes with its claim.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitops.adapters import runner
from gitops.adapters.kube import ApiResource, Kube, KubeError
from gitops.core.volume_retention import RETAIN_PATCH, Action, Claim, Retention, our_claims, plan_retention

PVCS = ApiResource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True)
PVS = ApiResource("", "v1", "PersistentVolume", "persistentvolumes", False)

# Why each claim was (not) changed, as the log says it.
SAYS = {
    Action.SET_RETAIN: "set to Retain: the volume now outlives its claim",
    Action.ALREADY_RETAINED: "already Retain",
    Action.NOT_BOUND: "not bound to a volume yet",
    Action.VOLUME_MISSING: "names a volume that does not exist",
    Action.NOT_ITS_VOLUME: "its volume is bound to another claim: left alone",
}


@dataclass
class Row:
    claim: Claim
    retention: Retention
    error: str = ""  # the read or the patch failed: the volume is NOT protected

    @property
    def text(self) -> str:
        """``data-postgres-0 -> pvc-1 (was Delete)``: how the report names a protected volume."""
        was = f" (was {self.retention.before})" if self.retention.patch and self.retention.before else ""
        return f"{self.claim.name} -> {self.retention.volume}{was}"

    def to_json(self) -> dict[str, Any]:
        data = self.retention.to_json()
        data["error"] = self.error or None
        return data


# How the claims are worked through: (claims, work on one) -> the rows, in the claims' order.
Each = Callable[[Sequence[Claim], Callable[[Claim], Row]], list[Row]]


def retain_volumes(
    kube: Kube,
    objects: Sequence[Mapping[str, Any]],
    default_namespace: str,
    *,
    listed: Mapping[str | None, Sequence[dict[str, Any]]] | None = None,
    each: Each | None = None,
) -> list[Row]:
    """Set ``Retain`` on every PersistentVolume bound to a claim of ``objects`` (the applied manifests).

    ``listed``: the claims of a namespace as a LIST of this run has just answered (the apply's
    verification); only the other namespaces are listed. ``each``: how the claims are handled
    (the apply engine's bounded parallelism; one after the other by default); rows and log lines
    come in the order of the claims.
    """
    console = runner.current()
    namespaces = sorted(
        {
            str((o.get("metadata") or {}).get("namespace") or default_namespace)
            for o in objects
            if o.get("kind") in ("StatefulSet", "PersistentVolumeClaim")
        }
    )
    known = listed or {}
    pvcs: dict[str, list[dict[str, Any]]] = {ns: list(known[ns]) for ns in namespaces if ns in known}
    try:
        for namespace in namespaces:
            if namespace not in pvcs:
                pvcs[namespace] = kube.list(PVCS, namespace).items
    except KubeError as err:
        console.warning(
            f"cannot list PersistentVolumeClaims to protect their volumes: {err.describe()}",
            title="Volumes not checked",
        )
        return []
    by_key = {(ns, str(p["metadata"]["name"])): p for ns, items in pvcs.items() for p in items}

    def protect(claim: Claim) -> Row:
        return _protect(kube, claim, by_key.get((claim.namespace, claim.name)))

    claims = our_claims(objects, pvcs, default_namespace)
    rows = each(claims, protect) if each else [protect(claim) for claim in claims]
    for row in rows:
        _log(row)
    return rows


def _protect(kube: Kube, claim: Claim, pvc: Mapping[str, Any] | None) -> Row:
    """Read the volume of one claim and set it to Retain when it is its own and not Retain yet."""
    volume_name = str(((pvc or {}).get("spec") or {}).get("volumeName") or "")
    retention: Retention | None = None
    try:
        volume = kube.get(PVS, None, volume_name) if volume_name else None
        retention = plan_retention(pvc, volume, claim.namespace, claim.name)
        if retention.patch and retention.volume:
            kube.patch(PVS, None, retention.volume, RETAIN_PATCH, patch_type="merge", field_manager="gitops")
        return Row(claim, retention)
    except KubeError as err:
        unread = Retention(claim.namespace, claim.name, volume_name or None, None, Action.SET_RETAIN)
        return Row(claim, retention or unread, err.describe())


def not_protected(row: Row) -> str:
    """The warning for a volume that still goes with its claim, and how to fix that."""
    return (
        f"the volume of PersistentVolumeClaim {row.claim.namespace}/{row.claim.name} is NOT protected, it "
        f"goes with its claim: {row.error}. Grant the deploy's kubeconfig get and patch on "
        f"persistentvolumes, or run `kubectl patch pv {row.retention.volume} -p "
        """'{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}'`"""
    )


def _log(row: Row) -> None:
    console = runner.current()
    if row.error:
        console.warning(not_protected(row), title="Volume not protected")
        return
    where = f"{row.claim.namespace}/{row.claim.name}"
    target = f" -> {row.retention.volume}" if row.retention.volume else ""
    was = f" (was {row.retention.before})" if row.retention.patch else ""
    console.log(f"  volume of {where}{target}: {SAYS[row.retention.action]}{was}")
