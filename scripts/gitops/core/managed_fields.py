"""What server-side apply changes in one object, read from ``metadata.managedFields``: the fields we manage.

Server-side apply (https://kubernetes.io/docs/reference/using-api/server-side-apply/) records,
per field manager, the set of fields it applied (``fieldsV1``: ``f:<field>`` for a map key,
``k:{"name":"app"}`` for an item of an associative list, ``v:<json>`` for an item of a set,
``i:<n>`` for an item by index; ``.`` marks the item itself, ``{}`` a leaf). Applying a
manifest as manager M with ``force``:

* sets every field of the manifest to the manifest's value (taking it over from other managers);
* removes every field M applied before and applies no longer, unless another manager owns it too;
* leaves every other field alone (server defaults, what controllers and other tools set).

So "what we manage" is the fields of the manifest plus the fields M owns. :func:`compare`
projects the live object and the expected result onto exactly those fields, so a field the
server defaulted (``terminationMessagePath``) or another tool owns is never "a change". The
expected result is either the API server's own answer to a dry-run apply (exact: admission,
defaulting and validation included) or, when the credentials may not dry-run, the merge above
done here (a preview: quantities are compared by value, ``1Gi`` equals ``1024Mi``, but the
server's defaulting of a field the manifest sets differently is not predicted).

Lists: a list is matched item by item the way the server does, when the live object's
``fieldsV1`` (any manager's) says how: by key (``k:``, containers by name, ports by
containerPort and protocol), as a set (``v:``, finalizers); otherwise it is atomic and
compared whole.

Pure: plain objects in, paths and projected objects out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gitops.core.drift import SERVER_METADATA
from gitops.core.volumes import parse_quantity

Path = tuple[str, ...]  # fieldsV1 elements: ("f:spec", "f:containers", 'k:{"name":"app"}', "f:image")

# A key field of an associative list that the server defaults when an item omits it
# (structured-merge-diff fills it before it builds the item's key; the fake does the same).
KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}

# Map keys whose values are resource quantities: the server stores them canonical ("0.5" -> "500m").
_QUANTITY_PARENTS = frozenset({"f:requests", "f:limits", "f:capacity", "f:allocatable", "f:hard"})
_QUANTITY_FIELDS = frozenset({"f:sizeLimit", "f:storage"})


# -- fieldsV1 --------------------------------------------------------------------------------------


def entries(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The object's ``managedFields`` entries (malformed ones skipped)."""
    raw = (obj.get("metadata") or {}).get("managedFields") or []
    return [e for e in raw if isinstance(e, Mapping) and isinstance(e.get("fieldsV1"), Mapping)]


def field_set(fields_v1: Mapping[str, Any], prefix: Path = ()) -> set[Path]:
    """Every path a ``fieldsV1`` tree names: its leaves and the members marked with ``.``."""
    found: set[Path] = set()
    for element, child in fields_v1.items():
        if element == ".":
            found.add(prefix)
            continue
        path = (*prefix, str(element))
        if isinstance(child, Mapping) and child:
            found |= field_set(child, path)
        else:
            found.add(path)
    return found


def is_ours(entry: Mapping[str, Any], manager: str) -> bool:
    """An entry of ``manager``'s applies (not its Updates, which server-side apply keeps apart)."""
    applied = entry.get("operation") == "Apply" and not entry.get("subresource")
    return applied and entry.get("manager") == manager


def owned_by(obj: Mapping[str, Any], manager: str) -> set[Path]:
    """The fields ``manager`` applied to ``obj`` (empty when it never applied it)."""
    return {p for e in entries(obj) if is_ours(e, manager) for p in field_set(e["fieldsV1"])}


def owned_by_others(obj: Mapping[str, Any], manager: str) -> set[Path]:
    """The fields any other entry owns (other managers, and ``manager``'s own Updates)."""
    return {p for e in entries(obj) if not is_ours(e, manager) for p in field_set(e["fieldsV1"])}


def applied_by(obj: Mapping[str, Any], manager: str) -> bool:
    """Has ``manager`` ever server-side applied this object?"""
    return any(is_ours(e, manager) for e in entries(obj))


def _merge_trees(trees: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for tree in trees:
        for key, child in tree.items():
            if isinstance(child, Mapping):
                merged[key] = _merge_trees([merged.get(key) or {}, child])
            else:
                merged.setdefault(key, {})
    return merged


def structure(*objects: Mapping[str, Any]) -> dict[str, Any]:
    """One ``fieldsV1``-shaped tree of every manager of ``objects``: how their lists are keyed."""
    return _merge_trees(e["fieldsV1"] for obj in objects for e in entries(obj))


# -- flattening ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ListShape:
    kind: str  # "map" | "set" | "atomic"
    keys: tuple[str, ...] = ()


def _shape(tree: Mapping[str, Any]) -> _ListShape:
    for element in tree:
        if element.startswith("k:"):
            try:
                key = json.loads(element[2:])
            except ValueError:
                continue
            if isinstance(key, dict) and key:
                return _ListShape("map", tuple(sorted(key)))
        if element.startswith("v:"):
            return _ListShape("set")
    return _ListShape("atomic")


def _item_key(item: Any, keys: Sequence[str]) -> str | None:
    if not isinstance(item, Mapping):
        return None
    key: dict[str, Any] = {}
    for name in keys:
        if item.get(name) is not None:
            key[name] = item[name]
        elif name in KEY_DEFAULTS:
            key[name] = KEY_DEFAULTS[name]
        else:
            return None
    return "k:" + json.dumps(dict(sorted(key.items())), separators=(",", ":"))


def _item_tree(tree: Mapping[str, Any], element: str) -> Mapping[str, Any] | None:
    """The structure of one list item; for an item nobody manages yet, its siblings' combined."""
    child = tree.get(element)
    if isinstance(child, Mapping) and child:
        return child
    merged = _merge_trees(v for k, v in tree.items() if k.startswith("k:") and isinstance(v, Mapping))
    merged.pop(".", None)
    return merged or None


def flatten(obj: Any, tree: Mapping[str, Any], prefix: Path = ()) -> dict[Path, Any]:
    """``obj`` as leaf path -> value, lists keyed as ``tree`` (see :func:`structure`) says.

    Empty maps and atomic lists are leaves; so is a list whose items cannot be keyed.
    """
    out: dict[Path, Any] = {}
    _flatten(obj, tree, prefix, out)
    return out


def _flatten(value: Any, tree: Mapping[str, Any] | None, path: Path, out: dict[Path, Any]) -> None:
    """``tree`` None: nobody manages this field yet; ``{}``: a leaf, so a map here is atomic
    (``spec.selector``: ``x-kubernetes-map-type: atomic``) and compared whole."""
    if isinstance(value, Mapping):
        if not value or (tree is not None and not tree and path):
            out[path] = dict(value)
            return
        for key, child in value.items():
            element = f"f:{key}"
            sub = (tree or {}).get(element)
            _flatten(child, sub if isinstance(sub, Mapping) else None, (*path, element), out)
        return
    if isinstance(value, list) and value:
        tree = tree or {}
        shape = _shape(tree)
        if shape.kind == "map":
            keyed = [(item, _item_key(item, shape.keys)) for item in value]
            elements = [e for _, e in keyed if e is not None]
            if len(elements) == len(value) and len(set(elements)) == len(elements):
                for item, element in zip(value, elements, strict=True):
                    _flatten(item, _item_tree(tree, element), (*path, element), out)
                return
        if shape.kind == "set" and all(not isinstance(i, Mapping | list) for i in value):
            for item in value:
                out[(*path, "v:" + json.dumps(item, separators=(",", ":")))] = item
            return
    out[path] = value


def _unflatten(flat: Mapping[Path, Any]) -> dict[str, Any]:
    """Nested objects back from :func:`flatten`'s paths (list items in first-seen order)."""
    nested = _lists(_tree_of(flat))
    return nested if isinstance(nested, dict) else {}


def _tree_of(flat: Mapping[Path, Any]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path, value in flat.items():
        if path:
            _put(root, path, value)
    return root


def _put(node: dict[str, Any], path: Path, value: Any) -> None:
    head, rest = path[0], path[1:]
    if not rest:
        node[head] = value
        return
    child = node.setdefault(head, {})
    if not isinstance(child, dict):  # a leaf and a deeper path at once: the deeper one wins
        child = node[head] = {}
    _put(child, rest, value)


def _lists(node: Any) -> Any:
    """Turn ``{"k:..": item}`` / ``{"v:..": value}`` groups back into lists, ``f:x`` into ``x``."""
    if not isinstance(node, dict):
        return node
    if node and all(k[:2] in ("k:", "v:", "i:") for k in node):
        return [_lists(v) for v in node.values()]
    return {k[2:] if k.startswith("f:") else k: _lists(v) for k, v in node.items()}


# -- paths for people ------------------------------------------------------------------------------


def readable(path: Path) -> str:
    """``spec.template.spec.containers[name=postgres].image``, ``metadata.finalizers[x]``."""
    text = ""
    for element in path:
        tag, rest = element[:2], element[2:]
        if tag == "f:":
            text += f".{rest}" if text else rest
        elif tag == "k:":
            try:
                key = json.loads(rest)
            except ValueError:
                key = {}
            text += "[" + ",".join(f"{k}={_plain(v)}" for k, v in key.items()) + "]"
        elif tag == "v:":
            try:
                text += f"[{_plain(json.loads(rest))}]"
            except ValueError:
                text += f"[{rest}]"
        else:
            text += f"[{rest}]"
    return text


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


# -- the comparison --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    """One managed field whose value the apply changes: ``before``/``after`` None = absent."""

    path: Path
    before: Any
    after: Any

    @property
    def name(self) -> str:
        return readable(self.path)

    @property
    def what(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


@dataclass(frozen=True)
class ManagedDiff:
    """The live object and the result, both projected onto the fields we manage, and what differs."""

    before: dict[str, Any]
    after: dict[str, Any]
    changes: tuple[FieldChange, ...]

    @property
    def fields(self) -> list[str]:
        return [c.name for c in self.changes]


def without_server_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without ``status`` and the metadata the server owns (``managedFields`` included)."""
    result = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_METADATA}
    result["metadata"] = meta
    return result


def _is_quantity(path: Path) -> bool:
    return bool(path) and (path[-1] in _QUANTITY_FIELDS or (len(path) > 1 and path[-2] in _QUANTITY_PARENTS))


def same(path: Path, a: Any, b: Any) -> bool:
    """Equal, or the same resource quantity written two ways (``1Gi`` / ``1024Mi``, ``0.5`` / ``500m``)."""
    if a == b:
        return True
    if _is_quantity(path) and isinstance(a, str | int | float) and isinstance(b, str | int | float):
        try:
            return Decimal(parse_quantity(a)) == Decimal(parse_quantity(b))
        except ValueError:
            return False
    return False


def compare(
    live: Mapping[str, Any] | None,
    desired: Mapping[str, Any],
    manager: str,
    *,
    answer: Mapping[str, Any] | None = None,
) -> ManagedDiff:
    """What applying ``desired`` as ``manager`` changes in ``live``, on the fields we manage.

    ``answer``: the API server's reply to a dry-run apply; without it the result is predicted
    here (see the module docstring). ``live`` None: the object is created, every field is new.
    """
    tree = structure(*(o for o in (live, answer) if o is not None))
    wanted = flatten(without_server_fields(desired), tree)
    if live is None:
        after = flatten(without_server_fields(answer), tree) if answer is not None else wanted
        shown = {p: v for p, v in after.items() if p in wanted} if answer is not None else after
        changes = tuple(FieldChange(p, None, v) for p, v in shown.items())
        return ManagedDiff({}, _unflatten(shown), changes)
    owned = owned_by(live, manager)
    others = owned_by_others(live, manager)
    current = flatten(without_server_fields(live), tree)
    managed = set(wanted) | owned
    before = {p: v for p, v in current.items() if p in managed}
    if answer is not None:
        result = flatten(without_server_fields(answer), tree)
        after = {
            p: before[p] if p in before and same(p, before[p], v) else v
            for p, v in result.items()
            if p in managed
        }
    else:
        after = _predict(before, wanted, owned, others)
    changed = [
        p
        for p in _ordered(before, after)
        if not (p in before and p in after and same(p, before[p], after[p]))
    ]
    return ManagedDiff(_unflatten(before), _unflatten(after), _grouped(changed, before, after))


def _prefixes(paths: Iterable[Path]) -> set[Path]:
    return {p[:i] for p in paths for i in range(1, len(p) + 1)}


def _grouped(
    changed: Sequence[Path], before: Mapping[Path, Any], after: Mapping[Path, Any]
) -> tuple[FieldChange, ...]:
    """One change per field people think of: a new list item or map is one ``added`` field, not
    one per leaf inside it (``env[name=A]``, not ``env[name=A].name`` and ``env[name=A].value``)."""
    had, has = _prefixes(before), _prefixes(after)
    seen: dict[Path, FieldChange] = {}
    for path in changed:
        if path not in before:
            top = next(path[:i] for i in range(1, len(path) + 1) if path[:i] not in had)
            seen.setdefault(top, FieldChange(top, None, _unflatten_at(after, top)))
        elif path not in after:
            top = next(path[:i] for i in range(1, len(path) + 1) if path[:i] not in has)
            seen.setdefault(top, FieldChange(top, _unflatten_at(before, top), None))
        else:
            seen.setdefault(path, FieldChange(path, before[path], after[path]))
    return tuple(seen.values())


def _unflatten_at(flat: Mapping[Path, Any], top: Path) -> Any:
    """The value under ``top`` rebuilt from the leaves below it."""
    if top in flat:
        return flat[top]
    inner = {p[len(top) - 1 :]: v for p, v in flat.items() if p[: len(top)] == top}
    nested = _lists(_tree_of(inner))  # {"<field>": value}, or [item] for a list item
    if isinstance(nested, dict):
        return next(iter(nested.values()), None)
    return nested[0] if isinstance(nested, list) and nested else nested


def _predict(
    before: Mapping[Path, Any], wanted: Mapping[Path, Any], owned: set[Path], others: set[Path]
) -> dict[Path, Any]:
    """Server-side apply with force, done here: the manifest's values win; what we applied before
    and apply no more goes, unless another manager owns it."""
    after = dict(before)
    for path, wanted_value in wanted.items():
        value = overlay(after.get(path), wanted_value)
        if path in after and same(path, after[path], value):
            continue
        for other in [p for p in after if _nested(p, path)]:
            del after[other]
        after[path] = value
    for path in before:
        if path in owned and path not in wanted and not _kept(path, others):
            after.pop(path, None)
    return after


def overlay(current: Any, wanted: Any) -> Any:
    """``wanted`` as the server would store it over ``current``, for an atomic value (a whole list
    such as ``volumeClaimTemplates``): what the manifest sets wins, what it leaves out keeps the
    live value (the server's defaults, e.g. ``volumeMode``), item by item while the lengths match."""
    if isinstance(current, Mapping) and isinstance(wanted, Mapping):
        merged = dict(current)
        for key, value in wanted.items():
            merged[key] = overlay(current.get(key), value)
        return merged
    if isinstance(current, list) and isinstance(wanted, list) and len(current) == len(wanted):
        return [overlay(a, b) for a, b in zip(current, wanted, strict=True)]
    return wanted


def _nested(a: Path, b: Path) -> bool:
    """One path lies strictly inside the other (a value replaced by a map, or the reverse)."""
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return len(shorter) < len(longer) and longer[: len(shorter)] == shorter


def _kept(path: Path, others: set[Path]) -> bool:
    return path in others


def _ordered(before: Mapping[Path, Any], after: Mapping[Path, Any]) -> list[Path]:
    return list(dict.fromkeys([*before, *after]))
