"""Structural schemas for the fake API server, compiled from the Kubernetes 1.37 OpenAPI definitions.

The definitions come from the ``kubernetes-validate`` wheel (already a runtime dependency), which bundles
the upstream OpenAPI ``definitions`` with their ``x-kubernetes-list-type``, ``x-kubernetes-list-map-keys``,
``x-kubernetes-map-type`` and ``x-kubernetes-patch-strategy``/``-merge-key`` extensions. Those are exactly
what server-side apply (structured-merge-diff) and strategic merge patch need:
https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy

Lists without ``x-kubernetes-list-type`` are atomic, as in structured-merge-diff. Objects without a schema
(custom resources of a CRD without one, ``RawExtension``) are "deduced": maps granular, lists atomic.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KUBE_VERSION = "1.37.0"

# Key fields that the upstream OpenAPI marks with a default; a list-map item may omit them.
KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


@dataclass(eq=False)
class Node:
    """One schema node. ``kind`` is struct | map | list | scalar | deduced."""

    kind: str
    fields: dict[str, Node] = field(default_factory=dict)
    elem: Node | None = None
    atomic: bool = False
    list_type: str = "atomic"
    keys: tuple[str, ...] = ()
    patch_strategy: str = ""
    patch_merge_key: str = ""
    scalar_types: tuple[str, ...] = ()
    preserve_unknown: bool = False
    name: str = ""

    def child(self, key: str) -> Node | None:
        """The schema of ``key`` inside this struct or map; None when the field is not declared."""
        if self.kind == "struct":
            found = self.fields.get(key)
            if found is not None:
                return found
            return DEDUCED if self.preserve_unknown else None
        if self.kind == "map":
            return self.elem or DEDUCED
        if self.kind == "deduced":
            return DEDUCED
        return None

    def item(self) -> Node:
        return self.elem or DEDUCED


DEDUCED = Node(kind="deduced", name="deduced")
SCALAR = Node(kind="scalar", name="scalar")


def _definitions_path() -> Path:
    import kubernetes_validate

    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    return base / f"v{KUBE_VERSION}-local" / "_definitions.json"


@functools.cache
def definitions() -> dict[str, Any]:
    """The raw OpenAPI definitions (``$defs``) of Kubernetes 1.37, keyed by the Go type name."""
    with _definitions_path().open(encoding="utf-8") as handle:
        raw = json.load(handle)
    defs: dict[str, Any] = raw["$defs"]
    return defs


@functools.cache
def gvk_index() -> dict[tuple[str, str, str], str]:
    """(group, version, kind) -> definition name."""
    index: dict[tuple[str, str, str], str] = {}
    for name, spec in definitions().items():
        for gvk in spec.get("x-kubernetes-group-version-kind") or []:
            key = (gvk.get("group", ""), gvk["version"], gvk["kind"])
            # The same kind is registered for several definitions only for shared meta types.
            index.setdefault(key, name)
    return index


class _Compiler:
    def __init__(self, defs: dict[str, Any], ref_prefix: str) -> None:
        self.defs = defs
        self.ref_prefix = ref_prefix
        self.cache: dict[str, Node] = {}

    def ref(self, name: str) -> Node:
        node = self.cache.get(name)
        if node is not None:
            return node
        node = Node(kind="deduced", name=name)
        self.cache[name] = node  # placeholder first: the definitions are recursive (JSONSchemaProps)
        compiled = self.compile(self.defs.get(name, {}))
        node.__dict__.update({k: v for k, v in compiled.__dict__.items() if k != "name"})
        return node

    def compile(self, spec: dict[str, Any], extensions: dict[str, Any] | None = None) -> Node:
        ext = dict(extensions or {})
        if "$ref" in spec:
            target = spec["$ref"].removeprefix(self.ref_prefix)
            base = self.ref(target)
            for key in ("x-kubernetes-list-type", "x-kubernetes-patch-strategy", "x-kubernetes-map-type"):
                if key in spec:
                    ext[key] = spec[key]
            if not ext:
                return base
            copy = Node(**dict(base.__dict__))
            _apply_extensions(copy, ext)
            return copy
        all_of = spec.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            merged = {**spec, **all_of[0]}
            merged.pop("allOf", None)
            return self.compile(merged, ext)
        if spec.get("x-kubernetes-int-or-string") or "oneOf" in spec or "anyOf" in spec:
            node = Node(kind="scalar", scalar_types=_scalar_types(spec))
            _apply_extensions(node, {**spec, **ext})
            return node
        types = spec.get("type")
        if isinstance(types, list):
            types = next((t for t in types if t != "null"), None)
        if types == "object" or (types is None and "properties" in spec):
            props = spec.get("properties")
            addl = spec.get("additionalProperties")
            if props:
                node = Node(kind="struct")
                for key, sub in props.items():
                    node.fields[key] = self.compile(sub)
                node.preserve_unknown = bool(spec.get("x-kubernetes-preserve-unknown-fields"))
            elif isinstance(addl, dict):
                node = Node(kind="map", elem=self.compile(addl))
            else:
                node = Node(kind="deduced")
        elif types == "array":
            items = spec.get("items")
            node = Node(kind="list", elem=self.compile(items) if isinstance(items, dict) else DEDUCED)
        elif types in ("string", "integer", "number", "boolean"):
            node = Node(kind="scalar", scalar_types=(str(types),))
        else:
            node = Node(kind="deduced")
        _apply_extensions(node, {**spec, **ext})
        return node


def _scalar_types(spec: dict[str, Any]) -> tuple[str, ...]:
    if spec.get("x-kubernetes-int-or-string"):
        return ("string", "integer")
    found: list[str] = []
    for option in spec.get("oneOf") or spec.get("anyOf") or []:
        types = option.get("type")
        for t in types if isinstance(types, list) else [types]:
            if t and t != "null":
                found.append("number" if t == "integer" and "number" in found else t)
    return tuple(found)


def _apply_extensions(node: Node, spec: dict[str, Any]) -> None:
    if node.kind == "list":
        node.list_type = str(spec.get("x-kubernetes-list-type") or "atomic")
        node.keys = tuple(spec.get("x-kubernetes-list-map-keys") or ())
        if node.list_type == "map" and not node.keys:
            node.list_type = "atomic"
        node.patch_strategy = str(spec.get("x-kubernetes-patch-strategy") or "")
        node.patch_merge_key = str(spec.get("x-kubernetes-patch-merge-key") or "")
    elif node.kind in ("struct", "map"):
        node.atomic = spec.get("x-kubernetes-map-type") == "atomic"
        if spec.get("x-kubernetes-patch-strategy"):
            node.patch_strategy = str(spec["x-kubernetes-patch-strategy"])


@functools.cache
def _builtin_compiler() -> _Compiler:
    return _Compiler(definitions(), "#/$defs/")


def for_kind(group: str, version: str, kind: str) -> Node | None:
    """The compiled schema of a built-in kind, or None when 1.37 has no such kind."""
    name = gvk_index().get((group, version, kind))
    if name is None:
        return None
    return _builtin_compiler().ref(name)


def for_definition(name: str) -> Node:
    return _builtin_compiler().ref(name)


def from_crd_schema(open_api_v3: dict[str, Any] | None) -> Node:
    """Compile a CRD version's ``openAPIV3Schema`` plus apiVersion/kind/metadata, as the server does."""
    if not open_api_v3:
        node = Node(kind="struct", preserve_unknown=True)
    else:
        node = _Compiler({}, "#/definitions/").compile(open_api_v3)
        if node.kind != "struct":
            node = Node(kind="struct", preserve_unknown=True)
    node.fields.setdefault("apiVersion", Node(kind="scalar", scalar_types=("string",)))
    node.fields.setdefault("kind", Node(kind="scalar", scalar_types=("string",)))
    node.fields["metadata"] = for_definition("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    return node
