"""OpenAPI v3 documents (``/openapi/v3`` and ``/openapi/v3/<api|apis/g>/<v>``).

kubectl 1.37 fetches them for two things: the field-validation query-param verifier (it looks for the
PATCH operation of the kind, tagged ``x-kubernetes-group-version-kind``, with a ``fieldValidation``
query parameter; when found, ``--validate=strict`` is done server side) and ``kubectl explain``.
The schemas come from the same 1.37 definitions the fake uses for server-side apply.
``/openapi/v2`` is not served: kubectl only asks for it as protobuf, and falls back to v3.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from tests.fakekube import schema
from tests.fakekube.resources import Registry, Resource

_PARAMS = {
    "dryRun": "When present, indicates that modifications should not be persisted.",
    "fieldManager": "fieldManager is a name associated with the actor or entity that is making changes.",
    "fieldValidation": "fieldValidation instructs the server on how to handle objects in the request "
    "containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
    "force": 'Force is going to "force" Apply requests.',
    "pretty": "If 'true', then the output is pretty printed.",
}


def _convert(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            if key == "$ref" and isinstance(sub, str):
                out[key] = sub.replace("#/$defs/", "#/components/schemas/")
            elif key == "type" and isinstance(sub, list):
                types = [t for t in sub if t != "null"]
                out["type"] = types[0] if types else "object"
                if "null" in sub:
                    out["nullable"] = True
            elif key in ("$schema", "$id"):
                continue
            else:
                out[key] = _convert(sub)
        return out
    if isinstance(value, list):
        return [_convert(v) for v in value]
    return value


def _reachable(roots: list[str]) -> list[str]:
    defs = schema.definitions()
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        text = json.dumps(defs[name])
        for part in text.split('"#/$defs/')[1:]:
            stack.append(part.split('"', 1)[0])
    return sorted(seen)


def _param(name: str, kind: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": _PARAMS.get(name, name),
        "schema": {"type": kind, "uniqueItems": True},
    }


def _operations(res: Resource, ref: str) -> dict[str, Any]:
    gvk = {"group": res.group, "kind": res.kind, "version": res.version}
    body_ref = {"$ref": ref}
    json_content = {"application/json": {"schema": body_ref}, "application/yaml": {"schema": body_ref}}
    item: dict[str, Any] = {
        "get": {
            "operationId": f"read{res.kind}",
            "responses": {"200": {"description": "OK", "content": json_content}},
            "x-kubernetes-action": "get",
            "x-kubernetes-group-version-kind": gvk,
        },
        "put": {
            "operationId": f"replace{res.kind}",
            "parameters": [_param("dryRun"), _param("fieldManager"), _param("fieldValidation")],
            "requestBody": {"content": {"*/*": {"schema": body_ref}}, "required": True},
            "responses": {"200": {"description": "OK", "content": json_content}},
            "x-kubernetes-action": "put",
            "x-kubernetes-group-version-kind": gvk,
        },
        "patch": {
            "operationId": f"patch{res.kind}",
            "parameters": [
                _param("dryRun"),
                _param("fieldManager"),
                _param("fieldValidation"),
                _param("force", "boolean"),
            ],
            "requestBody": {
                "content": {
                    t: {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}
                    for t in (
                        "application/apply-patch+yaml",
                        "application/json-patch+json",
                        "application/merge-patch+json",
                        "application/strategic-merge-patch+json",
                    )
                },
                "required": True,
            },
            "responses": {"200": {"description": "OK", "content": json_content}},
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
        },
        "delete": {
            "operationId": f"delete{res.kind}",
            "parameters": [_param("dryRun")],
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": "delete",
            "x-kubernetes-group-version-kind": gvk,
        },
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
    }
    if res.namespaced:
        item["parameters"].append(
            {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}
        )
    return item


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _schema_name(res: Resource) -> str:
    reversed_group = ".".join(reversed(res.group.split("."))) if res.group else "io.k8s.api.core"
    return f"{reversed_group}.{res.version}.{res.kind}"


@functools.lru_cache(maxsize=64)
def _group_doc(key: tuple[tuple[Any, ...], ...], custom_json: str) -> dict[str, Any]:
    custom: dict[str, Any] = json.loads(custom_json)
    paths: dict[str, Any] = {}
    roots: list[str] = [
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
        "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    ]
    components: dict[str, Any] = {}
    for fields in key:
        res = Resource(*fields)
        name = schema.gvk_index().get((res.group, res.version, res.kind))
        if name is None:
            name = _schema_name(res)
            crd_schema = custom.get(f"{res.api_version}/{res.kind}") or {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
            }
            components[name] = {
                **crd_schema,
                "x-kubernetes-group-version-kind": [
                    {"group": res.group, "kind": res.kind, "version": res.version}
                ],
            }
        else:
            roots.append(name)
        ref = f"#/components/schemas/{name}"
        base = f"/{_gv_path(res.group, res.version)}"
        if res.namespaced:
            paths[f"{base}/namespaces/{{namespace}}/{res.plural}/{{name}}"] = _operations(res, ref)
        else:
            paths[f"{base}/{res.plural}/{{name}}"] = _operations(res, ref)
    defs = schema.definitions()
    for name in _reachable(roots):
        components[name] = _convert(defs[name])
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.37.0"},
        "paths": paths,
        "components": {"schemas": components},
    }


def document(registry: Registry, path: str, custom: dict[str, Any] | None = None) -> dict[str, Any] | None:
    if path.rstrip("/") == "/openapi/v3":
        index: dict[str, Any] = {}
        for group, versions in registry.groups().items():
            for version in versions:
                gv = _gv_path(group, version)
                digest = (
                    hashlib.sha512(repr(_key(registry, group, version)).encode()).hexdigest()[:64].upper()
                )
                index[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
        return {"paths": index}
    if not path.startswith("/openapi/v3/"):
        return None
    gv = path[len("/openapi/v3/") :].strip("/")
    parts = gv.split("/")
    if len(parts) == 2 and parts[0] == "api":
        group, version = "", parts[1]
    elif len(parts) == 3 and parts[0] == "apis":
        group, version = parts[1], parts[2]
    else:
        return None
    key = _key(registry, group, version)
    if not key:
        return None
    return _group_doc(key, json.dumps(custom or {}, sort_keys=True))


def _key(registry: Registry, group: str, version: str) -> tuple[tuple[Any, ...], ...]:
    resources = sorted(registry.in_group_version(group, version), key=lambda r: r.plural)
    return tuple(
        (
            r.group,
            r.version,
            r.kind,
            r.plural,
            r.namespaced,
            r.short_names,
            r.categories,
            r.subresources,
            r.generation,
            r.custom,
            r.verbs,
        )
        for r in resources
    )
