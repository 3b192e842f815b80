"""The 422 an apply would get, foreseen without asking the API server (``gitops diff`` in client mode).

Credentials that may not dry-run (a read-only kubeconfig) cannot learn from the server that a
change touches an immutable field. The classifier (:func:`gitops.core.immutable.classify`)
already decides from a comparison of the live object with the manifest when a server's
rejection names no cause it recognises (:func:`gitops.core.immutable_fields.changed_immutable_fields`,
the per-kind table of immutable fields). :func:`rejection` builds exactly such a rejection,
without causes, for the objects whose immutable fields the manifest changes, so the engine's
own 422 handling (:mod:`gitops.operations.apply_engine.invalid`) decides what apply would do:
re-create, or refuse and why. Nothing is decided here.

Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitops.core.apply_plan import ObjectRef
from gitops.core.immutable_fields import changed_immutable_fields, known
from gitops.core.volumes import parse_quantity, pvc_storage

STORAGE = "spec.resources.requests.storage"


def rejection(ref: ObjectRef, live: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any] | None:
    """A ``Status`` (422, Invalid, no causes) for ``ref`` when the manifest changes an immutable
    field of the live object; None when it changes none (apply would be accepted)."""
    if not known(ref.group, ref.kind):
        return None
    changed = [
        f
        for f in changed_immutable_fields(ref.group, ref.kind, live, desired)
        if not _grows(ref, f, live, desired) and not _mutable_data(ref, f, live)
    ]
    if not changed:
        return None
    named = f"{ref.kind}.{ref.group}" if ref.group else ref.kind
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'{named} "{ref.name}" is invalid: foreseen client-side, immutable field(s) change: '
        + ", ".join(changed),
        "reason": "Invalid",
        "details": {"name": ref.name, "group": ref.group, "kind": ref.kind, "causes": []},
        "code": 422,
    }


def _mutable_data(ref: ObjectRef, field: str, live: Mapping[str, Any]) -> bool:
    """A ConfigMap's or Secret's data is immutable only once the object says ``immutable: true``
    (https://kubernetes.io/docs/concepts/configuration/configmap/#configmap-immutable)."""
    if ref.group_kind not in (("", "ConfigMap"), ("", "Secret")) or field == "type":
        return False
    return live.get("immutable") is not True


def _grows(ref: ObjectRef, field: str, live: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """A claim's storage request that grows is allowed (expansion); only a shrink is refused."""
    if ref.group_kind != ("", "PersistentVolumeClaim") or field != STORAGE:
        return False
    have, want = pvc_storage(live), pvc_storage(desired)
    try:
        return have is not None and want is not None and parse_quantity(want) >= parse_quantity(have)
    except ValueError:
        return False
