"""Did a server-side apply change anything? And what would a dry run change?

"Unchanged" is decided from the API server's own bookkeeping, not from a client-side diff:

1. the apply's answer has the same ``metadata.resourceVersion`` as the object we read just
   before: the API server skips the storage write for a no-op update, so an equal
   resourceVersion proves nothing changed (exact, cheap, immune to defaulting);
2. if the resourceVersion moved, someone may have written in between (a controller updating
   ``status`` does that constantly for workloads), so we compare the two objects without
   ``status`` and the server's bookkeeping fields; equal means our apply changed nothing.

A dry-run compare (``dryRun=All`` first, then diff) was rejected for the real run: it doubles
the writes and must guess which differences are defaulting noise. It IS what ``--dry-run``
shows, through :func:`changed_paths` on the dry-run answer, where a guess is only a preview.

:class:`Change` is the vocabulary shared by apply, its dry run and any preview: what applying
one object does (or would do). :func:`applied_change` decides it for an accepted apply;
:attr:`gitops.core.immutable.ImmutableVerdict.change` for one the server rejected with 422.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Change(StrEnum):
    """What applying one object does to the cluster (fluxcd ssa ``changeset.go``'s Action)."""

    CREATE = "create"
    CONFIGURE = "configure"
    UNCHANGED = "unchanged"
    RECREATE = "recreate"  # an immutable field changes: delete (without its dependents) and create
    REFUSE = "refuse"  # apply stops at this object: invalid, or not safe to re-create


SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def strip_server_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without ``status`` and the metadata the server owns: what we could re-create from."""
    result = copy.deepcopy(dict(obj))
    result.pop("status", None)
    meta = dict(result.get("metadata") or {})
    for key in SERVER_METADATA:
        meta.pop(key, None)
    result["metadata"] = meta
    return result


def _comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    result = strip_server_fields(obj)
    result.pop("apiVersion", None)  # the same object may be read through another served version
    return result


def resource_version(obj: Mapping[str, Any] | None) -> str | None:
    if not obj:
        return None
    value = (obj.get("metadata") or {}).get("resourceVersion")
    return None if value is None else str(value)


def is_unchanged(live: Mapping[str, Any] | None, applied: Mapping[str, Any]) -> bool:
    """True when applying produced ``applied`` from ``live`` without changing it (see module doc)."""
    if live is None:
        return False
    before, after = resource_version(live), resource_version(applied)
    if before is not None and before == after:
        return True
    return _comparable(live) == _comparable(applied)


def applied_change(live: Mapping[str, Any] | None, answer: Mapping[str, Any], *, dry_run: bool) -> Change:
    """What an apply the server accepted did (``answer`` is its reply; ``live`` the object before).

    A real apply is judged by :func:`is_unchanged`; a dry run by :func:`changed_paths`, the
    preview it shows (the server wrote nothing, so its resourceVersion proves nothing).
    """
    if live is None:
        return Change.CREATE
    same = not changed_paths(live, answer) if dry_run else is_unchanged(live, answer)
    return Change.UNCHANGED if same else Change.CONFIGURE


def changed_paths(
    live: Mapping[str, Any] | None, after: Mapping[str, Any], *, show_values: bool = True, limit: int = 20
) -> list[str]:
    """Field paths that differ between ``live`` and ``after`` (e.g. a dry-run answer), for people.

    ``show_values=False`` (Secrets) lists paths only. Long values are abbreviated.
    """
    if live is None:
        return []
    lines: list[str] = []
    _diff(_comparable(live), _comparable(after), "", lines, show_values)
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more"]
    return lines


def _diff(old: Any, new: Any, path: str, out: list[str], show: bool) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            _diff(old.get(key), new.get(key), f"{path}.{key}" if path else str(key), out, show)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            name = b.get("name") if isinstance(b, Mapping) and isinstance(b.get("name"), str) else None
            _diff(a, b, f"{path}[{name}]" if name else f"{path}[{index}]", out, show)
        return
    if old == new:
        return
    if not show:
        out.append(f"{path}: {'added' if old is None else 'removed' if new is None else 'changed'}")
        return
    out.append(f"{path}: {_short(old)} -> {_short(new)}")


def _short(value: Any, width: int = 60) -> str:
    if value is None:
        return "(unset)"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."
