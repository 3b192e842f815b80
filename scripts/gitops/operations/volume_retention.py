"""After a rollout: every PersistentVolume bound to one of our claims is set to ``Retain``.

The decisions are :mod:`gitops.core.volume_retention`; this module reads the claims and volumes,
sends the one patch there is (``persistentVolumeReclaimPolicy: Retain``, a JSON merge patch of
the PV, which its owner the API server accepts on a bound volume), and reports every claim in the
log and the job summary: set to Retain, already Retain, or why not.

It never fails the deploy: the rollout already succeeded or failed on its own. A volume it could
not protect (no permission to patch PersistentVolumes, an API error) is a warning that says what
to grant, because until then that volume still goes with its claim.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops.adapters import runner
from gitops.adapters.kube import ApiResource, Kube, KubeError
from gitops.core.volume_retention import RETAIN_PATCH, Action, Retention, claim_keys, plan_retention

PVCS = ApiResource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True)
PVS = ApiResource("", "v1", "PersistentVolume", "persistentvolumes", False)

# Why each claim was (not) changed, as the log and the summary say it.
SAYS = {
    Action.SET_RETAIN: "set to Retain: the volume now outlives its claim",
    Action.ALREADY_RETAINED: "already Retain",
    Action.NOT_BOUND: "not bound to a volume yet",
    Action.VOLUME_MISSING: "names a volume that does not exist",
    Action.NOT_ITS_VOLUME: "its volume is bound to another claim: left alone",
}


@dataclass
class Row:
    retention: Retention
    error: str = ""  # the patch (or read) failed

    def to_json(self) -> dict[str, Any]:
        data = self.retention.to_json()
        data["error"] = self.error or None
        return data


@dataclass
class RetentionReport:
    rows: list[Row] = field(default_factory=list)

    @property
    def changed(self) -> list[Row]:
        return [r for r in self.rows if r.retention.patch and not r.error]

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.error]

    def to_json(self) -> dict[str, Any]:
        return {"volumes": [r.to_json() for r in self.rows]}

    def markdown(self) -> str:
        if not self.rows:
            return ""
        head = (
            f"#### Volumes kept when their claim goes: {len(self.changed)} set to Retain now, "
            f"{sum(1 for r in self.rows if r.retention.action is Action.ALREADY_RETAINED)} already Retain"
            + (f", {len(self.failed)} NOT protected" if self.failed else "")
        )
        lines = [
            f"- `{r.retention.namespace}/{r.retention.claim}`"
            + (f" -> `{r.retention.volume}`" if r.retention.volume else "")
            + ": "
            + (f":x: NOT protected: {r.error}" if r.error else SAYS[r.retention.action])
            + (f" (was {r.retention.before})" if r.retention.patch and not r.error else "")
            for r in self.rows
        ]
        return f"{head}\n\n" + "\n".join(lines) + "\n"


def retain_volumes(
    kube: Kube, objects: Sequence[Mapping[str, Any]], default_namespace: str
) -> RetentionReport:
    """Set ``Retain`` on every PersistentVolume bound to a claim of ``objects`` (the applied manifests)."""
    console = runner.current()
    report = RetentionReport()
    namespaces = sorted(
        {
            str((o.get("metadata") or {}).get("namespace") or default_namespace)
            for o in objects
            if o.get("kind") in ("StatefulSet", "PersistentVolumeClaim")
        }
    )
    pvcs: dict[str, list[dict[str, Any]]] = {}
    try:
        for namespace in namespaces:
            pvcs[namespace] = kube.list(PVCS, namespace).items
    except KubeError as err:
        console.warning(
            f"cannot list PersistentVolumeClaims to protect their volumes: {err.describe()}",
            title="Volumes not checked",
        )
        return report
    by_key = {(ns, str(p["metadata"]["name"])): p for ns, items in pvcs.items() for p in items}
    for namespace, name in claim_keys(objects, pvcs, default_namespace):
        claim = by_key.get((namespace, name))
        volume_name = str(((claim or {}).get("spec") or {}).get("volumeName") or "")
        retention: Retention | None = None
        try:
            volume = kube.get(PVS, None, volume_name) if volume_name else None
            retention = plan_retention(claim, volume, namespace, name)
            if retention.patch and retention.volume:
                kube.patch(
                    PVS, None, retention.volume, RETAIN_PATCH, patch_type="merge", field_manager="gitops"
                )
            row = Row(retention)
        except KubeError as err:
            unread = Retention(namespace, name, volume_name or None, None, Action.SET_RETAIN)
            row = Row(retention or unread, err.describe())
        report.rows.append(row)
        _log(row)
    if report.rows:
        console.summary(report.markdown())
    return report


def _log(row: Row) -> None:
    console = runner.current()
    retention = row.retention
    where = f"{retention.namespace}/{retention.claim}" + (
        f" -> {retention.volume}" if retention.volume else ""
    )
    if row.error:
        console.warning(
            f"the volume of PersistentVolumeClaim {where} is NOT protected, it goes with its claim: "
            f"{row.error}. "
            "Grant the deploy's kubeconfig get and patch on persistentvolumes, or run `kubectl patch pv "
            f"""{retention.volume} -p '{{"spec":{{"persistentVolumeReclaimPolicy":"Retain"}}}}'`""",
            title="Volume not protected",
        )
        return
    was = f" (was {retention.before})" if retention.patch else ""
    console.log(f"  volume of {where}: {SAYS[retention.action]}{was}")
