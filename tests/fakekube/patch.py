"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes strategic merge patch.

Strategic merge patch follows
https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md
using the ``x-kubernetes-patch-strategy``/``-merge-key`` extensions from the schema: lists with strategy
``merge`` are merged by their merge key (containers, volumes, env, ports by name/containerPort ...),
``$patch: replace|delete|merge``, ``$retainKeys``, ``$deleteFromPrimitiveList/<field>`` and
``$setElementOrder/<field>`` are understood.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakekube.schema import DEDUCED, Node


class PatchError(Exception):
    """A patch that cannot be applied (400 BadRequest, or 422 for a failed JSON-patch test)."""


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any, node: Node) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            current = result.get(name)
            if isinstance(current, list) and isinstance(value, list):
                result[name] = [x for x in current if x not in value]
            continue
        child = node.child(key) or DEDUCED
        if value is None:
            result.pop(key, None)
            continue
        if isinstance(value, dict):
            patched = strategic_merge_patch(result.get(key), value, child)
            if patched is None:
                result.pop(key, None)
            else:
                result[key] = patched
        elif isinstance(value, list):
            result[key] = _patch_list(result.get(key), value, child)
        else:
            result[key] = value
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _patch_list(current: Any, patch: list[Any], node: Node) -> list[Any]:
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [copy.deepcopy(x) for x in patch if not (isinstance(x, dict) and "$patch" in x)]
    if node.kind != "list" or "merge" not in node.patch_strategy.split(","):
        return [copy.deepcopy(x) for x in patch if not (isinstance(x, dict) and "$patch" in x)]
    existing = list(current) if isinstance(current, list) else []
    merge_key = node.patch_merge_key
    elem = node.item()
    if not merge_key:
        # Merging primitive lists: union, keeping the existing order.
        for item in patch:
            if item not in existing:
                existing.append(copy.deepcopy(item))
        return existing
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"invalid list item for merge key {merge_key!r}: {item!r}")
        key = item.get(merge_key)
        index = next(
            (i for i, x in enumerate(existing) if isinstance(x, dict) and x.get(merge_key) == key), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del existing[index]
            continue
        if index is None:
            existing.append({k: copy.deepcopy(v) for k, v in item.items() if k != "$patch"})
        else:
            existing[index] = strategic_merge_patch(existing[index], item, elem)
    return existing


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _resolve(doc: Any, parts: list[str]) -> Any:
    cursor = doc
    for part in parts:
        if isinstance(cursor, dict):
            if part not in cursor:
                raise PatchError(f"path not found: {part}")
            cursor = cursor[part]
        elif isinstance(cursor, list):
            try:
                cursor = cursor[int(part)]
            except (ValueError, IndexError) as exc:
                raise PatchError(f"invalid index {part}") from exc
        else:
            raise PatchError(f"cannot descend into {part}")
    return cursor


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations")
    result = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid operation {op!r}")
        kind = op["op"]
        parts = _pointer(op["path"])
        if kind == "test":
            if _resolve(result, parts) != op.get("value"):
                raise PatchError(f"testing value {op['path']} failed")
            continue
        if kind in ("move", "copy"):
            value = copy.deepcopy(_resolve(result, _pointer(op["from"])))
            if kind == "move":
                result = _remove(result, _pointer(op["from"]))
            result = _add(result, parts, value)
        elif kind == "add":
            result = _add(result, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            result = _remove(result, parts)
        elif kind == "replace":
            _resolve(result, parts)
            if not parts:
                result = copy.deepcopy(op.get("value"))
            else:
                result = _remove(result, parts)
                result = _add(result, parts, copy.deepcopy(op.get("value")))
        else:
            raise PatchError(f"unknown operation {kind!r}")
    return result


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _resolve(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            index = int(last)
            if index > len(parent):
                raise PatchError(f"index {index} out of range")
            parent.insert(index, value)
    else:
        raise PatchError(f"cannot add at {'/'.join(parts)}")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return None
    parent = _resolve(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"path not found: {last}")
        del parent[last]
    elif isinstance(parent, list):
        try:
            del parent[int(last)]
        except (ValueError, IndexError) as exc:
            raise PatchError(f"invalid index {last}") from exc
    return doc
