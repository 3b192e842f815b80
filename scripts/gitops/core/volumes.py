"""StatefulSet volumes across a re-create: which PVCs belong to it, which must grow, which are left behind.

The StatefulSet controller names the claim of template ``T`` for the pod with ordinal ``i``
``T-<statefulset>-i`` (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#stable-storage),
ordinals counting from ``spec.ordinals.start`` (0 by default). Re-creating a StatefulSet with
a larger ``volumeClaimTemplates`` storage request does NOT grow the claims that already exist
(the controller only creates missing ones). Each existing PVC must be patched to the new
size, which the API server allows only when the claim's StorageClass has
``allowVolumeExpansion: true``
(https://kubernetes.io/docs/concepts/storage/persistent-volumes/#expanding-persistent-volumes-claims).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_SUFFIX = {
    "Ki": Decimal(1024),
    "Mi": Decimal(1024) ** 2,
    "Gi": Decimal(1024) ** 3,
    "Ti": Decimal(1024) ** 4,
    "Pi": Decimal(1024) ** 5,
    "Ei": Decimal(1024) ** 6,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
}
_QUANTITY = re.compile(
    r"^\s*(?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?P<suffix>[KMGTPE]i|[numkMGTPE]?)\s*$"
)


def parse_quantity(value: object) -> Decimal:
    """A Kubernetes resource quantity (``10Gi``, ``500M``, ``1.5e9``) as a number of units."""
    match = _QUANTITY.match(str(value))
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    try:
        return Decimal(match["num"]) * _SUFFIX[match["suffix"]]
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only valid numbers
        raise ValueError(f"not a Kubernetes quantity: {value!r}") from exc


def claim_templates(sts: Mapping[str, Any]) -> dict[str, str | None]:
    """volumeClaimTemplates name -> requested storage (None when unset)."""
    result: dict[str, str | None] = {}
    for tpl in (sts.get("spec") or {}).get("volumeClaimTemplates") or []:
        name = (tpl.get("metadata") or {}).get("name")
        if not name:
            continue
        storage = (((tpl.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage")
        result[str(name)] = None if storage is None else str(storage)
    return result


def claims_of(sts_name: str, template: str, pvcs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """PVCs the StatefulSet controller created from ``template``: ``<template>-<sts>-<ordinal>``."""
    pattern = re.compile(rf"^{re.escape(template)}-{re.escape(sts_name)}-(\d+)$")
    found = [p for p in pvcs if pattern.match(str((p.get("metadata") or {}).get("name", "")))]
    return sorted(found, key=lambda p: int(pattern.match(p["metadata"]["name"]).group(1)))  # type: ignore[union-attr]


def pvc_storage(pvc: Mapping[str, Any]) -> str | None:
    requests = ((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}
    value = requests.get("storage")
    return None if value is None else str(value)


@dataclass(frozen=True)
class Resize:
    """One existing claim smaller than its template: grow it from ``current`` to ``wanted``."""

    pvc: str
    current: str
    wanted: str

    def __str__(self) -> str:
        return f"{self.pvc}: {self.current} -> {self.wanted}"


@dataclass(frozen=True)
class LeftAtOldSize(Resize):
    """A claim that should grow but cannot, and why."""

    why: str

    def __str__(self) -> str:
        return f"{self.pvc} ({self.current}, wanted {self.wanted}: {self.why})"


@dataclass(frozen=True)
class GrowthPlan:
    resize: tuple[Resize, ...] = ()
    blocked: tuple[LeftAtOldSize, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, list[str]]:
        """What a preview (dry run, ``gitops diff``) shows: claims to grow, claims left, notes."""
        return {
            "grow": [str(r) for r in self.resize],
            "left_at_old_size": [str(b) for b in self.blocked],
            "notes": list(self.notes),
        }


def undersized_claims(
    sts: Mapping[str, Any], pvcs: Sequence[Mapping[str, Any]]
) -> tuple[list[tuple[Mapping[str, Any], Resize]], list[str]]:
    """The existing claims of ``sts`` (the NEW desired object) smaller than its templates, each
    with the :class:`Resize` it needs; and notes about claims LARGER than their template
    (a claim cannot shrink)."""
    name = str((sts.get("metadata") or {}).get("name"))
    smaller: list[tuple[Mapping[str, Any], Resize]] = []
    notes: list[str] = []
    for template, wanted in claim_templates(sts).items():
        if wanted is None:
            continue
        want = parse_quantity(wanted)
        for pvc in claims_of(name, template, pvcs):
            pvc_name = str(pvc["metadata"]["name"])
            current = pvc_storage(pvc)
            if current is None:
                continue
            have = parse_quantity(current)
            if have < want:
                smaller.append((pvc, Resize(pvc_name, current, wanted)))
            elif have > want:
                notes.append(
                    f"PersistentVolumeClaim {pvc_name} is {current}, larger than the template's {wanted}; "
                    "a claim cannot shrink, it stays at its size"
                )
    return smaller, notes


def plan_growth(
    sts: Mapping[str, Any],
    pvcs: Sequence[Mapping[str, Any]],
    storage_classes: Mapping[str, Mapping[str, Any]],
    default_class: str | None,
) -> GrowthPlan:
    """Which existing claims of ``sts`` (the NEW desired object) must grow to its template size.

    ``storage_classes`` maps name -> StorageClass object; ``default_class`` is the cluster's
    default StorageClass (used by claims without ``storageClassName``).
    """
    smaller, notes = undersized_claims(sts, pvcs)
    resize: list[Resize] = []
    blocked: list[LeftAtOldSize] = []
    for pvc, grow in smaller:
        class_name = (pvc.get("spec") or {}).get("storageClassName") or default_class
        sc = storage_classes.get(class_name) if class_name else None
        if not class_name:
            why = "it has no storageClassName and the cluster has no default StorageClass"
        elif sc is None:
            why = f"its StorageClass {class_name} does not exist"
        elif sc.get("allowVolumeExpansion") is not True:
            why = f"StorageClass {class_name} does not set allowVolumeExpansion: true"
        else:
            resize.append(grow)
            continue
        blocked.append(LeftAtOldSize(grow.pvc, grow.current, grow.wanted, why))
    return GrowthPlan(tuple(resize), tuple(blocked), tuple(notes))


@dataclass(frozen=True)
class ClassKept:
    """An existing claim whose StorageClass is not the one its template now asks for."""

    pvc: str
    current: str  # "" when the claim has none
    wanted: str


def kept_classes(sts: Mapping[str, Any], pvcs: Sequence[Mapping[str, Any]]) -> list[ClassKept]:
    """Existing claims of ``sts`` (the NEW desired object) on another StorageClass than their template.

    A claim's class never changes: its spec is immutable after creation but for the storage request
    and volumeAttributesClassName (the API server's own words: "spec is immutable after creation
    except resources.requests and volumeAttributesClassName for bound claims"), and the
    StatefulSet controller only creates the claims that are missing. So after a re-create with a
    new ``storageClassName`` the existing replicas keep their volumes on the old class and only new
    replicas get the new one, which nothing says unless we do. Templates that name no class (the
    cluster's default) are left out: which class that is, is the cluster's to say.
    """
    name = str((sts.get("metadata") or {}).get("name"))
    found: list[ClassKept] = []
    for tpl in (sts.get("spec") or {}).get("volumeClaimTemplates") or []:
        template = str((tpl.get("metadata") or {}).get("name") or "")
        wanted = (tpl.get("spec") or {}).get("storageClassName")
        if not template or not isinstance(wanted, str):
            continue
        for pvc in claims_of(name, template, pvcs):
            current = str((pvc.get("spec") or {}).get("storageClassName") or "")
            if current != wanted:
                found.append(ClassKept(str(pvc["metadata"]["name"]), current, wanted))
    return found


def abandoned_claims(
    live: Mapping[str, Any], desired: Mapping[str, Any], pvcs: Sequence[Mapping[str, Any]]
) -> list[str]:
    """PVCs of ``live``'s claim templates that ``desired`` no longer has (a renamed template).

    After a re-create the pods would start on NEW, empty volumes while the old claims sit
    unused: for a database that looks exactly like data loss, so the engine refuses.
    """
    name = str((live.get("metadata") or {}).get("name"))
    gone = set(claim_templates(live)) - set(claim_templates(desired))
    return [str(p["metadata"]["name"]) for t in sorted(gone) for p in claims_of(name, t, pvcs)]


@dataclass(frozen=True)
class ClaimState:
    """One claim a StatefulSet's pods mount, as verification reports it."""

    pvc: str
    bound: bool
    detail: str


def claim_states(sts: Mapping[str, Any], pvcs: Sequence[Mapping[str, Any]]) -> list[ClaimState]:
    """Every claim the live StatefulSet ``sts`` needs for its replicas: does it exist, is it Bound,
    and is an expansion to the template's size still under way?"""
    spec = sts.get("spec") or {}
    name = str((sts.get("metadata") or {}).get("name"))
    replicas = int(spec.get("replicas", 1) or 0)
    start = int(((spec.get("ordinals") or {}).get("start")) or 0)
    by_name = {str((p.get("metadata") or {}).get("name")): p for p in pvcs}
    states: list[ClaimState] = []
    for template, wanted in claim_templates(sts).items():
        for ordinal in range(start, start + replicas):
            pvc_name = f"{template}-{name}-{ordinal}"
            pvc = by_name.get(pvc_name)
            if pvc is None:
                states.append(ClaimState(pvc_name, False, "the PersistentVolumeClaim does not exist"))
                continue
            phase = (pvc.get("status") or {}).get("phase")
            capacity = ((pvc.get("status") or {}).get("capacity") or {}).get("storage")
            detail = f"{phase or 'no phase'}, requested {pvc_storage(pvc)}, capacity {capacity or 'unknown'}"
            if wanted and capacity and _smaller(capacity, wanted):
                detail += f" (expansion to {wanted} in progress)"
            states.append(ClaimState(pvc_name, phase == "Bound", detail))
    return states


def _smaller(a: str, b: str) -> bool:
    try:
        return parse_quantity(a) < parse_quantity(b)
    except ValueError:
        return False
