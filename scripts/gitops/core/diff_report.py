"""``gitops diff``'s vocabulary and report: per object, what a deploy would do, and the JSON other tools read.

Actions (the JSON's ``action``; :class:`DiffAction`):

=============  ==========================================================================
create         the object does not exist; apply creates it
update         apply changes the fields listed in ``fields`` (``diff``: what we manage)
unchanged      apply would change nothing
recreate       an immutable field changes: apply deletes the object (pods and volumes kept,
               see ``recreate``) and creates it again, exactly when the real run would
refuse         apply would stop at this object (invalid, or not safe to re-create), and why
left-behind    in the cluster with our labels, applied by us, but no longer rendered: gitops
               does not prune, so it stays until someone deletes it
unknown        cannot be told with these credentials or values (a Secret the read-only
               kubeconfig may not read; a key whose value this job does not have); said plainly
skipped        the deploy gate blocks its service (or the whole deploy), so ``gitops deploy``
               leaves it out; the gate's reason is in ``message``. Only when the diff was
               given the gate's inputs (``gate.evaluated``); never counted as a change
=============  ==========================================================================

``mode`` says how it was decided: ``server-dry-run`` (the API server answered a dry-run
apply: exact) or ``client`` (the credentials may not dry-run: the live object compared here
with the fields our field manager owns, see :mod:`gitops.core.managed_fields`).

Secrets: a key is ``changed``, ``unchanged`` or ``unknown``, nothing more. No value, and no
hash of one, is in any field of this report: the diff shows ``(hidden)`` and ``(changed)``.
The comparison happens in memory (:func:`secret_key_states`).

Pure: plain data in, plain data out.
"""

from __future__ import annotations

import base64
import binascii
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import yaml

from gitops.core.apply_plan import ObjectRef
from gitops.core.deploy_gate import DeployGate, reason
from gitops.core.drift import Change
from gitops.core.volumes import GrowthPlan
from gitops.errors import EXIT_DEPLOY_FAILED, EXIT_OK

MAX_DIFF_LINES = 300  # per object; the rest is counted, not shown


class DiffAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    RECREATE = "recreate"
    REFUSE = "refuse"
    LEFT_BEHIND = "left-behind"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"

    @classmethod
    def of(cls, change: Change) -> DiffAction:
        """The diff's word for what apply does (:class:`gitops.core.drift.Change`)."""
        return _OF_CHANGE[change]

    @property
    def changes(self) -> bool:
        """Would a deploy change (or stop at) this object? What ``--exit-code`` counts."""
        return self in (DiffAction.CREATE, DiffAction.UPDATE, DiffAction.RECREATE, DiffAction.REFUSE)


_OF_CHANGE = {
    Change.CREATE: DiffAction.CREATE,
    Change.CONFIGURE: DiffAction.UPDATE,
    Change.UNCHANGED: DiffAction.UNCHANGED,
    Change.RECREATE: DiffAction.RECREATE,
    Change.REFUSE: DiffAction.REFUSE,
}
# Counts and headlines list what changes first.
ORDER = (
    DiffAction.CREATE,
    DiffAction.UPDATE,
    DiffAction.RECREATE,
    DiffAction.REFUSE,
    DiffAction.UNCHANGED,
    DiffAction.UNKNOWN,
    DiffAction.SKIPPED,
    DiffAction.LEFT_BEHIND,
)


class Mode(StrEnum):
    SERVER = "server-dry-run"
    CLIENT = "client"


# -- Secrets ---------------------------------------------------------------------------------------

HIDDEN = "(hidden)"
CHANGED = "(changed)"
UNKNOWN = "(unknown)"

KeyState = str  # "changed" | "unchanged" | "unknown"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"  # kubectl apply copies values here


def _decoded(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def secret_values(obj: Mapping[str, Any]) -> dict[str, bytes | None]:
    """Key -> bytes of a Secret as the server stores it: ``data`` decoded, ``stringData`` winning
    (https://kubernetes.io/docs/concepts/configuration/secret/#restriction-names-data)."""
    values: dict[str, bytes | None] = {str(k): _decoded(v) for k, v in (obj.get("data") or {}).items()}
    for key, value in (obj.get("stringData") or {}).items():
        values[str(key)] = value.encode("utf-8") if isinstance(value, str) else None
    return values


def secret_key_states(
    live: Mapping[str, Any],
    result: Mapping[str, Any],
    unknown: frozenset[str] = frozenset(),
    *,
    dropped: frozenset[str] | None = None,
) -> dict[str, KeyState]:
    """Each key of the result, and each live key it drops: changed, unchanged, or unknown (``unknown``:
    keys whose value this run does not have). ``dropped`` limits which live keys missing from
    ``result`` count as removed (None: all; a prediction passes the ones apply would remove).
    Values are compared in memory and never kept."""
    before, after = secret_values(live), secret_values(result)
    gone = [k for k in before if k not in after and (dropped is None or k in dropped)]
    states: dict[str, KeyState] = {}
    for key in dict.fromkeys([*after, *gone]):
        if key in unknown:
            states[key] = "unknown"
        elif key in before and key in after and before[key] is not None and before[key] == after[key]:
            states[key] = "unchanged"
        else:
            states[key] = "changed"
    return states


def secret_view(obj: Mapping[str, Any], states: Mapping[str, KeyState] | None = None) -> dict[str, Any]:
    """The Secret with every value replaced: ``(hidden)`` for the live side (``states`` None),
    else the key's state (``(hidden)`` unchanged, ``(changed)``, ``(unknown)`` shown as hidden).
    ``stringData`` is folded into ``data``, as the server does."""
    view = {k: v for k, v in obj.items() if k not in ("data", "stringData")}
    keys = list(secret_values(obj))
    if keys:
        view["data"] = {k: HIDDEN if states is None or states.get(k) != "changed" else CHANGED for k in keys}
    meta = dict(view.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    if LAST_APPLIED in annotations:
        annotations[LAST_APPLIED] = HIDDEN
        meta["annotations"] = annotations
    view["metadata"] = meta
    return view


# -- the unified diff ------------------------------------------------------------------------------


def _yaml(obj: Mapping[str, Any] | None) -> list[str]:
    if not obj:
        return []
    text: str = yaml.safe_dump(dict(obj), sort_keys=False, default_flow_style=False, width=10_000)
    return text.splitlines()


def unified(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, label: str, limit: int = MAX_DIFF_LINES
) -> str:
    """A unified diff of two (projected) objects as YAML: ``live/<label>`` -> ``git/<label>``.
    Empty when they are equal; at most ``limit`` lines, then a line saying how many more."""
    lines = list(
        difflib.unified_diff(
            _yaml(before),
            _yaml(after),
            fromfile="/dev/null" if not before else f"live/{label}",
            tofile=f"git/{label}",
            lineterm="",
        )
    )
    if len(lines) > limit:
        lines = [*lines[:limit], f"... {len(lines) - limit} more line(s)"]
    return "\n".join(lines)


# -- one object ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recreate:
    """A foreseen re-create: which immutable fields, what happens to what the object controls and
    to its volumes, and whether the API server accepted the new object in a dry run."""

    fields: tuple[str, ...]
    propagation: str | None  # Orphan: dependents kept; Background: deleted with it (a Job's pods)
    dependent_kind: str | None = None
    dependents: tuple[str, ...] = ()
    growth: GrowthPlan | None = None
    create_checked: bool = True  # False: the credentials may not dry-run the new object's create

    @property
    def cascade(self) -> str:
        return {"Orphan": "orphan cascade", "Background": "background cascade"}.get(
            self.propagation or "", "no dependents"
        )

    def headline(self, ref: ObjectRef) -> str:
        """``recreate StatefulSet default/postgres with orphan cascade, grow its PVCs, keep its pods``."""
        parts = [f"recreate {ref} with {self.cascade}"]
        if self.growth is not None and self.growth.resize:
            parts.append(f"grow its PVCs ({', '.join(map(str, self.growth.resize))})")
        if self.growth is not None and self.growth.blocked:
            parts.append(f"leave {', '.join(map(str, self.growth.blocked))} at their size")
        noun = {"Pod": "pods", "ReplicaSet": "ReplicaSets"}.get(self.dependent_kind or "", "dependents")
        shown = f" ({', '.join(self.dependents)})" if self.dependents else ""
        if self.propagation == "Orphan" and self.dependent_kind:
            parts.append(f"keep its {noun}{shown}")
        elif self.propagation == "Background" and self.dependent_kind:
            parts.append(f"delete its {noun}{shown} (it runs again)")
        text = ", ".join(parts)
        return f"{text}; immutable: {', '.join(self.fields)}" if self.fields else text

    def to_json(self) -> dict[str, Any]:
        fate = {"Orphan": "kept", "Background": "deleted"}.get(self.propagation or "")
        data: dict[str, Any] = {
            "immutable_fields": list(self.fields),
            "propagation": self.propagation,
            "dependents": {"kind": self.dependent_kind, "names": list(self.dependents), "fate": fate}
            if self.dependent_kind
            else None,
            "volumes": growth_json(self.growth),
            "create_checked": self.create_checked,
        }
        return data


def growth_json(growth: GrowthPlan | None) -> dict[str, Any] | None:
    return None if growth is None else growth.to_json()


@dataclass
class ObjectDiff:
    ref: ObjectRef
    action: DiffAction
    mode: Mode | None = None  # None: not compared (left-behind; or nothing could be read)
    fields: list[str] = field(default_factory=list)
    diff: str = ""
    message: str | None = None
    hint: str | None = None
    warnings: list[str] = field(default_factory=list)
    recreate: Recreate | None = None
    growth: GrowthPlan | None = None  # claims an accepted StatefulSet apply would grow
    secret_keys: dict[str, KeyState] | None = None
    service: str | None = None  # its app.kubernetes.io/name label: what the deploy gate decides for

    @property
    def headline(self) -> str:
        """One line for people: what happens to the object."""
        if self.recreate is not None:
            return self.recreate.headline(self.ref)
        text = f"{self.action} {self.ref}"
        if self.action is DiffAction.UPDATE and self.fields:
            more = f" and {len(self.fields) - 6} more" if len(self.fields) > 6 else ""
            text += ": " + ", ".join(self.fields[:6]) + more
        if self.growth is not None and self.growth.resize:
            text += f"; grow its PVCs ({', '.join(map(str, self.growth.resize))})"
        return text

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.ref.kind,
            "namespace": self.ref.namespace,
            "name": self.ref.name,
            "apiVersion": self.ref.api_version,
            "action": self.action.value,
            "mode": None if self.mode is None else self.mode.value,
            "fields": list(self.fields),
            "diff": self.diff,
            "message": self.message,
            "hint": self.hint,
            "warnings": list(self.warnings),
            "service": self.service,
        }
        if self.recreate is not None:
            data["recreate"] = self.recreate.to_json()
        if self.growth is not None:
            data["volumes"] = growth_json(self.growth)
        if self.secret_keys is not None:
            data["secret_keys"] = dict(self.secret_keys)
        return data


# -- the whole report ------------------------------------------------------------------------------


@dataclass
class DiffReport:
    environment: str
    source: str
    cluster: dict[str, str]
    field_manager: str
    objects: list[ObjectDiff] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    gate: DeployGate | None = None  # None: the gate was not evaluated (no gate inputs)

    @property
    def mode(self) -> Mode:
        """``server-dry-run`` when the server answered for every object compared; else ``client``."""
        used = {o.mode for o in self.objects if o.mode is not None}
        return Mode.CLIENT if Mode.CLIENT in used else Mode.SERVER

    @property
    def changes(self) -> list[ObjectDiff]:
        return [o for o in self.objects if o.action.changes]

    def counts(self) -> dict[str, int]:
        """Objects per action, every action listed (0 included): the keys are stable."""
        counts = dict.fromkeys((a.value for a in ORDER), 0)
        for o in self.objects:
            counts[o.action.value] += 1
        return counts

    def exit_code(self, *, exit_code: bool) -> int:
        """0; with ``--exit-code`` 2 when a deploy would change anything (git diff --exit-code)."""
        return EXIT_DEPLOY_FAILED if exit_code and self.changes else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "mode": self.mode.value,
            "source": self.source,
            "cluster": self.cluster,
            "field_manager": self.field_manager,
            "objects": [o.to_json() for o in self.objects],
            "counts": self.counts(),
            "changed": len(self.changes),
            "notes": list(self.notes),
            "gate": gate_json(self.gate),
        }


def gate_json(gate: DeployGate | None) -> dict[str, Any]:
    """``{"evaluated": false}``, or what the deploy gate decided: ``allowed`` (the deploy goes
    ahead), ``reason`` (what stops it), the environment's ``decision`` (the ``gitops gate`` JSON),
    ``services`` and ``skipped_services`` (as ``gitops deploy`` reports them)."""
    if gate is None:
        return {"evaluated": False}
    blocker = gate.blocker
    return {
        "evaluated": True,
        "allowed": blocker is None,
        "reason": None if blocker is None else reason(blocker[0]),
        "decision": gate.decision.to_json(),
        "services": gate.services_json(),
        "skipped_services": gate.skipped,
    }


def common_labels(objects: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The labels every object carries with the same value (the overlay's own, e.g. environment)."""
    shared: dict[str, str] | None = None
    for obj in objects:
        labels = {str(k): str(v) for k, v in ((obj.get("metadata") or {}).get("labels") or {}).items()}
        shared = labels if shared is None else {k: v for k, v in shared.items() if labels.get(k) == v}
    return shared or {}
