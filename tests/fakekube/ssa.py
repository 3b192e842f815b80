"""Server-side apply and managedFields bookkeeping, after sigs.k8s.io/structured-merge-diff.

Paths are tuples of FieldsV1 elements (``f:spec``, ``k:{"name":"app"}``, ``v:"finalizer"``, ``i:0``),
so a set of paths serialises straight into ``metadata.managedFields[].fieldsV1``.

Semantics implemented (https://kubernetes.io/docs/reference/using-api/server-side-apply/):
- an applier's field set is the set of paths in its applied configuration (ToFieldSet rules: scalar
  leaves, list items of associative lists, empty/null map values, map entries, atomic values whole);
- fields the applier owned before and no longer applies are removed, unless another manager owns them;
- a field the applier changes that another manager owns is a conflict (409) unless ``force``; with force
  the other manager loses it; Update operations always take ownership of what they change;
- the same config applied again by the same manager changes nothing (no write, same resourceVersion).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.fakekube.schema import DEDUCED, KEY_DEFAULTS, Node

Path = tuple[str, ...]

MEMBER = "<member>"  # the value recorded for a non-leaf member path (list item, map entry)

IGNORED_META = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


class SchemaError(Exception):
    """The object does not fit the schema (structured-merge-diff's "field not declared in schema" ...)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path_string(path)}: {message}")
        self.path = path
        self.detail = message


# --- path elements -------------------------------------------------------------------------------


def _key_elem(item: Any, node: Node, path: Path) -> str:
    if not isinstance(item, dict):
        raise SchemaError(path, f"expected map, got {_type_name(item)}")
    key: dict[str, Any] = {}
    for name in node.keys:
        if name in item and item[name] is not None:
            key[name] = item[name]
        elif name in KEY_DEFAULTS:
            key[name] = KEY_DEFAULTS[name]
        else:
            raise SchemaError(
                path, f'associative list with keys has an element that omits key field "{name}"'
            )
    return "k:" + json.dumps(dict(sorted(key.items())), separators=(",", ":"))


def item_elem(item: Any, node: Node, index: int, path: Path) -> str:
    if node.list_type == "map":
        return _key_elem(item, node, path)
    if node.list_type == "set":
        return "v:" + json.dumps(item, separators=(",", ":"), sort_keys=True)
    return f"i:{index}"


def _elem_string(elem: str) -> str:
    tag, rest = elem[:2], elem[2:]
    if tag == "f:":
        return "." + rest
    if tag == "k:":
        fields = json.loads(rest)
        return "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in fields.items()) + "]"
    if tag == "v:":
        return f"[={rest}]"
    return f"[{rest}]"


def path_string(path: Iterable[str]) -> str:
    """``.spec.template.spec.containers[name="app"].image`` as structured-merge-diff prints paths."""
    return "".join(_elem_string(e) for e in path)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "numeric"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return "null"


# --- flattening (ToFieldSet + values for Compare) ------------------------------------------------


def _check_scalar(value: Any, node: Node, path: Path) -> None:
    types = node.scalar_types
    if not types or value is None:
        return
    if isinstance(value, dict | list):
        want = "numeric (int or float)" if ("integer" in types or "number" in types) else types[0]
        raise SchemaError(path, f"expected {want}, got {_type_name(value)}")
    if isinstance(value, bool):
        if "boolean" not in types:
            raise SchemaError(path, f"expected {_want(types)}, got bool")
        return
    if isinstance(value, int | float):
        if "integer" not in types and "number" not in types:
            raise SchemaError(path, f"expected {_want(types)}, got numeric")
        return
    if isinstance(value, str) and "string" not in types:
        raise SchemaError(path, f"expected {_want(types)}, got string")


def _want(types: tuple[str, ...]) -> str:
    if "integer" in types or "number" in types:
        return "numeric (int or float)"
    return types[0]


def flatten(obj: Any, node: Node, *, strict: bool = True) -> dict[Path, Any]:
    """Every member path of ``obj`` with its leaf value (``MEMBER`` for non-leaf members)."""
    out: dict[Path, Any] = {}
    _walk(obj, node, (), out, strict)
    return out


def _walk(value: Any, node: Node, path: Path, out: dict[Path, Any], strict: bool) -> None:
    kind = node.kind
    if kind == "scalar":
        if strict:
            _check_scalar(value, node, path)
        out[path] = value
        return
    if kind == "deduced":
        if isinstance(value, dict):
            _walk_map(value, node, path, out, strict)
        else:
            out[path] = value
        return
    if kind in ("struct", "map"):
        if value is None:
            out[path] = None
            return
        if not isinstance(value, dict):
            if strict:
                raise SchemaError(path, f"expected map, got {_type_name(value)}")
            out[path] = value
            return
        if node.atomic:
            out[path] = value
            return
        _walk_map(value, node, path, out, strict)
        return
    # list
    if value is None:
        out[path] = None
        return
    if not isinstance(value, list):
        if strict:
            raise SchemaError(path, f"expected list, got {_type_name(value)}")
        out[path] = value
        return
    if node.list_type == "atomic":
        out[path] = value
        return
    elem_node = node.item()
    seen: set[str] = set()
    for index, item in enumerate(value):
        elem = item_elem(item, node, index, path)
        if elem in seen and strict:
            raise SchemaError(path, f"duplicate entries for key {_elem_string(elem)}")
        seen.add(elem)
        child = (*path, elem)
        if node.list_type == "set" and not isinstance(item, dict | list):
            out[child] = item
            continue
        _walk(item, elem_node, child, out, strict)
        out[child] = MEMBER


def _walk_map(value: dict[str, Any], node: Node, path: Path, out: dict[Path, Any], strict: bool) -> None:
    for key, sub in value.items():
        child_node = node.child(key)
        child = (*path, "f:" + key)
        if child_node is None:
            if strict:
                raise SchemaError(child, "field not declared in schema")
            child_node = DEDUCED
        is_entry = node.kind != "struct" or key not in node.fields
        if sub is None or (isinstance(sub, dict) and not sub):
            out[child] = sub
            continue
        _walk(sub, child_node, child, out, strict)
        if is_entry and child not in out:
            out[child] = MEMBER


# --- FieldsV1 ------------------------------------------------------------------------------------


def _elem_sort_key(elem: str) -> tuple[int, str]:
    order = {"f:": 0, "i:": 1, "k:": 2, "v:": 3}
    return (order.get(elem[:2], 4), elem[2:])


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    members: set[Path] = set()
    for path in paths:
        members.add(path)
        cursor = root
        for elem in path:
            cursor = cursor.setdefault(elem, {})
    return _sorted_tree(root, (), members)


def _sorted_tree(tree: dict[str, Any], prefix: Path, members: set[Path]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if prefix and tree and prefix in members:
        out["."] = {}
    for elem in sorted(tree, key=_elem_sort_key):
        out[elem] = _sorted_tree(tree[elem], (*prefix, elem), members)
    return out


def from_fields_v1(tree: dict[str, Any] | None) -> set[Path]:
    found: set[Path] = set()

    def walk(node: dict[str, Any], prefix: Path) -> None:
        for elem, sub in node.items():
            if elem == ".":
                found.add(prefix)
                continue
            child = (*prefix, elem)
            if not sub:
                found.add(child)
            else:
                walk(sub, child)

    walk(tree or {}, ())
    return found


# --- managers ------------------------------------------------------------------------------------


@dataclass
class Manager:
    manager: str
    operation: str  # Apply | Update
    api_version: str
    subresource: str
    time: str
    fields: set[Path]

    @property
    def key(self) -> tuple[str, str, str, str]:
        # Appliers are identified without their apiVersion (fieldmanager.BuildManagerIdentifier).
        version = "" if self.operation == "Apply" else self.api_version
        return (self.manager, self.operation, version, self.subresource)

    def printed(self) -> str:
        """As fieldmanager's printManager: quoted name, subresource, and `using <apiVersion>` for updaters."""
        text = json.dumps(self.manager)
        if self.subresource:
            text += f" with subresource {json.dumps(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.fields),
        }
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def read_managers(obj: dict[str, Any]) -> dict[tuple[str, str, str, str], Manager]:
    managers: dict[tuple[str, str, str, str], Manager] = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(entry, dict) or (not entry.get("manager") and not entry.get("fieldsV1")):
            continue
        m = Manager(
            manager=str(entry.get("manager", "")),
            operation=str(entry.get("operation", "Update")),
            api_version=str(entry.get("apiVersion", "")),
            subresource=str(entry.get("subresource", "")),
            time=str(entry.get("time", "")),
            fields=from_fields_v1(entry.get("fieldsV1")),
        )
        managers[m.key] = m
    return managers


def write_managers(obj: dict[str, Any], managers: dict[tuple[str, str, str, str], Manager]) -> None:
    live = [m for m in managers.values() if m.fields]
    live.sort(key=lambda m: (m.operation, m.time, m.manager, m.api_version, m.subresource))
    meta = obj.setdefault("metadata", {})
    if live:
        meta["managedFields"] = [m.entry() for m in live]
    else:
        meta.pop("managedFields", None)


def tracked_view(obj: dict[str, Any], *, subresource: str, has_status: bool) -> dict[str, Any]:
    """The part of an object whose fields are tracked for ``subresource`` ('' = main resource)."""
    view = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    meta = view.get("metadata")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in IGNORED_META}
        if meta:
            view["metadata"] = meta
        else:
            view.pop("metadata")
    if subresource == "status":
        return {"status": view["status"]} if "status" in view else {}
    if has_status:
        view.pop("status", None)
    return view


# --- merge and prune ---------------------------------------------------------------------------


def merge(live: Any, applied: Any, node: Node) -> Any:
    """structured-merge-diff's Merge: ``applied`` over ``live`` following the schema."""
    if applied is None or live is None:
        return copy.deepcopy(applied)
    kind = node.kind
    if kind == "scalar":
        return copy.deepcopy(applied)
    if kind in ("struct", "map", "deduced") and isinstance(applied, dict) and isinstance(live, dict):
        if node.atomic:
            return copy.deepcopy(applied)
        result = dict(live)
        for key, value in applied.items():
            if value is None:
                result.pop(key, None)
                continue
            child = node.child(key) or DEDUCED
            result[key] = merge(live.get(key), value, child) if key in live else copy.deepcopy(value)
        return result
    if kind == "list" and isinstance(applied, list) and isinstance(live, list) and node.list_type != "atomic":
        return _merge_list(live, applied, node)
    return copy.deepcopy(applied)


def _merge_list(live: list[Any], applied: list[Any], node: Node) -> list[Any]:
    elem_node = node.item()
    lkeys = [item_elem(x, node, i, ()) for i, x in enumerate(live)]
    rkeys = [item_elem(x, node, i, ()) for i, x in enumerate(applied)]
    lmap = dict(zip(lkeys, live, strict=True))
    rset = set(rkeys)
    out: list[Any] = []
    consumed: set[str] = set()
    li = ri = 0
    while li < len(live) or ri < len(applied):
        if li < len(live) and lkeys[li] in consumed:
            li += 1
            continue
        if li < len(live) and ri < len(applied):
            lk, rk = lkeys[li], rkeys[ri]
            if lk == rk:
                out.append(merge(live[li], applied[ri], elem_node))
                consumed.add(lk)
                li += 1
                ri += 1
            elif lk not in rset:
                out.append(live[li])
                li += 1
            else:
                out.append(
                    merge(lmap[rk], applied[ri], elem_node) if rk in lmap else copy.deepcopy(applied[ri])
                )
                consumed.add(rk)
                ri += 1
        elif li < len(live):
            out.append(live[li])
            li += 1
        else:
            rk = rkeys[ri]
            out.append(merge(lmap[rk], applied[ri], elem_node) if rk in lmap else copy.deepcopy(applied[ri]))
            consumed.add(rk)
            ri += 1
    return out


def remove_path(obj: Any, path: Path, node: Node) -> None:
    """Remove the member at ``path`` (a field, map entry or list item) from ``obj`` in place."""
    cursor: Any = obj
    current = node
    for depth, elem in enumerate(path):
        last = depth == len(path) - 1
        if elem.startswith("f:"):
            if not isinstance(cursor, dict):
                return
            key = elem[2:]
            if last:
                cursor.pop(key, None)
                return
            current = current.child(key) or DEDUCED
            cursor = cursor.get(key)
            continue
        if not isinstance(cursor, list):
            return
        for index, item in enumerate(cursor):
            try:
                matches = item_elem(item, current, index, ()) == elem
            except SchemaError:
                matches = False
            if matches:
                if last:
                    del cursor[index]
                    return
                cursor = item
                current = current.item()
                break
        else:
            return


def prefixes(paths: Iterable[Path]) -> set[Path]:
    out: set[Path] = set()
    for path in paths:
        for i in range(1, len(path) + 1):
            out.add(path[:i])
    return out


def compare(old: dict[Path, Any], new: dict[Path, Any]) -> tuple[set[Path], set[Path], set[Path]]:
    """(added, modified, removed) between two flattenings."""
    added = {p for p in new if p not in old}
    removed = {p for p in old if p not in new}
    modified = {p for p, v in new.items() if p in old and v is not MEMBER and old[p] != v}
    return added, modified, removed


@dataclass
class ApplyResult:
    obj: dict[str, Any]
    conflicts: list[tuple[str, str]]


def apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    node: Node,
    manager: str,
    api_version: str,
    subresource: str,
    has_status: bool,
    force: bool,
    now: str,
    default: Any,
) -> ApplyResult:
    """Compute the object after ``manager`` applies ``applied`` over ``live``.

    ``default`` is a callable(obj) -> obj applying server defaults before comparisons.
    Raises SchemaError for configurations that do not fit the schema.
    """
    live_obj = live or {}
    managers = read_managers(live_obj)
    applied_view = tracked_view(applied, subresource=subresource, has_status=has_status)
    new_set = set(flatten(applied_view, node, strict=True))
    key = (manager, "Apply", "", subresource)
    last = managers.get(key)

    # What the applier sends for the tracked part only (status of the main resource is reset).
    to_merge = dict(applied)
    if subresource == "status":
        to_merge = {k: v for k, v in applied.items() if k in ("apiVersion", "kind", "status")}
        to_merge["metadata"] = {}
    elif has_status:
        to_merge.pop("status", None)
    merged = merge(live_obj, to_merge, node) if live is not None else copy.deepcopy(to_merge)

    if last is not None and last.fields:
        others = set().union(*(m.fields for k, m in managers.items() if k != key)) if managers else set()
        keep = prefixes(new_set | others)
        for path in sorted(last.fields - new_set, key=len):
            if path not in keep:
                remove_path(merged, path, node)

    merged = default(merged)
    old_flat = flatten(
        tracked_view(live_obj, subresource=subresource, has_status=has_status), node, strict=False
    )
    new_flat = flatten(
        tracked_view(merged, subresource=subresource, has_status=has_status), node, strict=False
    )
    added, modified, removed = compare(old_flat, new_flat)
    changed = added | modified

    conflicts: list[tuple[str, str]] = []
    for other_key, other in managers.items():
        if other_key == key:
            continue
        clash = other.fields & changed
        if clash:
            conflicts.extend((other.printed(), path_string(p)) for p in sorted(clash))
    if conflicts and not force:
        return ApplyResult(merged, conflicts)
    for other_key, other in managers.items():
        if other_key == key:
            continue
        before = len(other.fields)
        other.fields -= changed
        other.fields -= removed
        if len(other.fields) != before:
            other.time = now
    time = last.time if last is not None and last.fields == new_set else now
    managers[key] = Manager(manager, "Apply", api_version, subresource, time, new_set)
    write_managers(merged, managers)
    return ApplyResult(merged, [])


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    node: Node,
    manager: str,
    api_version: str,
    subresource: str,
    has_status: bool,
    now: str,
) -> None:
    """managedFields after an Update (create, PUT, merge/strategic/json patch), written into ``new``."""
    old_obj = old or {}
    managers = read_managers(old_obj)
    old_flat = flatten(
        tracked_view(old_obj, subresource=subresource, has_status=has_status), node, strict=False
    )
    new_flat = flatten(tracked_view(new, subresource=subresource, has_status=has_status), node, strict=False)
    added, modified, removed = compare(old_flat, new_flat)
    changed = added | modified
    key = (manager, "Update", api_version, subresource)
    for other_key, other in managers.items():
        if other_key == key:
            continue
        before = set(other.fields)
        other.fields -= changed
        other.fields -= removed
        if other.fields != before:
            other.time = now
    mine = managers.get(key)
    if changed or mine is not None:
        fields = ((mine.fields if mine else set()) | changed) - removed
        time = now if (mine is None or fields != mine.fields) else mine.time
        managers[key] = Manager(manager, "Update", api_version, subresource, time, fields)
    write_managers(new, managers)
