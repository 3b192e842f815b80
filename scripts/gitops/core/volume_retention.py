"""Keep our claims' volumes: a PersistentVolume bound to one gets ``persistentVolumeReclaimPolicy: Retain``.

A dynamically provisioned PersistentVolume takes its reclaim policy from its StorageClass, and
``hcloud-volumes`` says ``Delete``: when the claim goes (deleted by hand, with its namespace, or
by a future prune), the external provisioner deletes the PV AND the Hetzner Volume behind it
(https://kubernetes.io/docs/concepts/storage/persistent-volumes/#delete). A StatefulSet's
``persistentVolumeClaimRetentionPolicy: Retain`` only stops the StatefulSet controller from
deleting claims; it does nothing for a claim deleted otherwise. With ``Retain`` the PV and its
data outlive the claim, ``Released``, until a person reattaches or deletes it
(https://kubernetes.io/docs/concepts/storage/persistent-volumes/#retain). The reclaim policy of
an existing PV may be changed (https://kubernetes.io/docs/tasks/administer-cluster/change-pv-reclaim-policy/).

Pure decisions here: which claims are ours (those of the applied StatefulSets' claim templates,
``<template>-<statefulset>-<ordinal>``, and applied PersistentVolumeClaims), which PV each is bound
to (the claim's ``spec.volumeName`` AND the PV's ``spec.claimRef`` pointing back at that claim),
and the one change ever made: to ``Retain``, never away from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from gitops.core.volumes import claim_templates, claims_of

RETAIN = "Retain"
# The only patch this module ever produces (a JSON merge patch of the PersistentVolume).
RETAIN_PATCH: dict[str, Any] = {"spec": {"persistentVolumeReclaimPolicy": RETAIN}}


class Action(Enum):
    SET_RETAIN = "set-retain"  # was Delete (or Recycle): patched to Retain
    ALREADY_RETAINED = "already-retained"
    NOT_BOUND = "not-bound"  # the claim has no volume yet (Pending, WaitForFirstConsumer)
    VOLUME_MISSING = "volume-missing"  # spec.volumeName names a PV that does not exist
    NOT_ITS_VOLUME = "not-its-volume"  # the PV's claimRef points elsewhere: left alone


@dataclass(frozen=True)
class Retention:
    namespace: str
    claim: str
    volume: str | None
    before: str | None  # the PV's reclaim policy as found
    action: Action

    @property
    def patch(self) -> bool:
        return self.action is Action.SET_RETAIN

    def to_json(self) -> dict[str, Any]:
        return {
            "claim": f"{self.namespace}/{self.claim}",
            "volume": self.volume,
            "reclaim_policy_before": self.before,
            "action": self.action.value,
        }


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


@dataclass(frozen=True, order=True)
class Claim:
    """One of our claims, and the applied object it belongs to (``kind``/``owner``)."""

    namespace: str
    name: str
    kind: str  # StatefulSet | PersistentVolumeClaim
    owner: str


def our_claims(
    objects: Sequence[Mapping[str, Any]],
    pvcs_by_namespace: Mapping[str, Sequence[Mapping[str, Any]]],
    default_namespace: str,
) -> list[Claim]:
    """Every claim the applied ``objects`` own, sorted.

    ``pvcs_by_namespace``: the claims that exist in each namespace of a StatefulSet.
    """
    found: set[Claim] = set()
    for obj in objects:
        namespace = str(_meta(obj).get("namespace") or default_namespace)
        name = str(_meta(obj).get("name") or "")
        if obj.get("kind") == "PersistentVolumeClaim" and name:
            found.add(Claim(namespace, name, "PersistentVolumeClaim", name))
        elif obj.get("kind") == "StatefulSet" and name:
            pvcs = pvcs_by_namespace.get(namespace, ())
            for template in claim_templates(obj):
                found.update(
                    Claim(namespace, str(_meta(p).get("name")), "StatefulSet", name)
                    for p in claims_of(name, template, pvcs)
                )
    return sorted(found)


def plan_retention(
    claim: Mapping[str, Any] | None, volume: Mapping[str, Any] | None, namespace: str, name: str
) -> Retention:
    """What to do for one of our claims and the PV its ``spec.volumeName`` names (None: not found)."""
    volume_name = str(((claim or {}).get("spec") or {}).get("volumeName") or "") or None
    if claim is None or volume_name is None:
        return Retention(namespace, name, None, None, Action.NOT_BOUND)
    if volume is None:
        return Retention(namespace, name, volume_name, None, Action.VOLUME_MISSING)
    spec = volume.get("spec") or {}
    ref = spec.get("claimRef") or {}
    uid = _meta(claim).get("uid")
    points_back = (
        ref.get("namespace") == namespace
        and ref.get("name") == name
        and (not ref.get("uid") or not uid or ref.get("uid") == uid)
    )
    before = str(spec.get("persistentVolumeReclaimPolicy") or "") or None
    if not points_back:
        return Retention(namespace, name, volume_name, before, Action.NOT_ITS_VOLUME)
    if before == RETAIN:
        return Retention(namespace, name, volume_name, before, Action.ALREADY_RETAINED)
    return Retention(namespace, name, volume_name, before, Action.SET_RETAIN)
