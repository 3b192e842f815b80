"""Who controls an object: its uid, its controller, its dependents, and adoption after a re-create.

The garbage collector and the workload controllers link objects through
``metadata.ownerReferences`` (https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/):
the reference with ``controller: true`` names the one object that manages a dependent. An
orphaning delete (``propagationPolicy: Orphan``) removes that reference; the new object with
the same selector then adopts the dependents by setting itself as controller. StatefulSets,
DaemonSets and ReplicaSets control pods, Deployments control ReplicaSets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# (group, kind) of a workload -> (group, kind) of what it controls directly.
_DEPENDENTS: dict[tuple[str, str], tuple[str, str]] = {
    ("apps", "StatefulSet"): ("", "Pod"),
    ("apps", "DaemonSet"): ("", "Pod"),
    ("apps", "ReplicaSet"): ("", "Pod"),
    ("apps", "Deployment"): ("apps", "ReplicaSet"),
}


def uid(obj: Mapping[str, Any] | None) -> str | None:
    """``metadata.uid``, or None for no object (or one the server has not stored yet)."""
    if not obj:
        return None
    value = (obj.get("metadata") or {}).get("uid")
    return None if value is None else str(value)


def controller_uid(obj: Mapping[str, Any]) -> str | None:
    """The uid of the owner reference marked ``controller: true``, if any."""
    for owner in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("controller"):
            return str(owner.get("uid"))
    return None


def selector_string(obj: Mapping[str, Any]) -> str | None:
    """``spec.selector.matchLabels`` as a ``labelSelector`` query (``a=1,b=2``), None when empty."""
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None


def dependent_kind(group_kind: tuple[str, str]) -> tuple[str, str] | None:
    """The (group, kind) a workload controls directly; None for kinds without dependents."""
    return _DEPENDENTS.get(group_kind)


def controlled_by(owner: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ``items`` whose controller is ``owner``."""
    owner_uid = uid(owner)
    return [i for i in items if controller_uid(i) == owner_uid]


@dataclass(frozen=True)
class Adoption:
    """How the dependents the old object controlled relate to the new one."""

    adopted: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()  # exist, not (yet) controlled by the new object
    replaced: tuple[str, ...] = ()  # gone (the controller rolled them) - fine
    foreign: tuple[str, ...] = ()  # now controlled by something else

    @property
    def complete(self) -> bool:
        return not self.pending and not self.foreign


def check_adoption(
    before: Sequence[Mapping[str, Any]], now: Sequence[Mapping[str, Any]], new_uid: str
) -> Adoption:
    """Compare the dependents the old object controlled (``before``) with the live ones (``now``)."""
    current = {(o.get("metadata") or {}).get("uid"): o for o in now}
    adopted, pending, replaced, foreign = [], [], [], []
    for old in before:
        meta = old.get("metadata") or {}
        name = str(meta.get("name"))
        live = current.get(meta.get("uid"))
        if live is None or (live.get("metadata") or {}).get("deletionTimestamp"):
            replaced.append(name)
            continue
        owner = controller_uid(live)
        if owner == new_uid:
            adopted.append(name)
        elif owner is None or owner == controller_uid(old):
            pending.append(name)
        else:
            foreign.append(name)
    return Adoption(tuple(adopted), tuple(pending), tuple(replaced), tuple(foreign))
