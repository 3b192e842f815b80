"""The REST semantics of the fake apiserver, independent of HTTP: one method per verb.

Write path for every mutating verb (as the real registry's ``Create``/``Update``/``Patch``):
decode -> (patch) -> status/spec split -> defaults -> kind hooks -> validation -> managedFields ->
generation -> no-op detection -> persist (unless ``dryRun=All``).
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests.fakekube import defaults, errors, patch, schema, ssa, validation
from tests.fakekube.errors import ApiError
from tests.fakekube.resources import Registry, Resource
from tests.fakekube.selectors import parse_field_selector, parse_label_selector, requirements_match
from tests.fakekube.store import Key, Store, now_rfc3339

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PATCH_TYPES = [JSON_PATCH, MERGE, STRATEGIC, APPLY]

# Default garbage-collection policy when a DELETE names none (batch/v1 Jobs keep their pods).
ORPHAN_BY_DEFAULT = {("batch", "Job"), ("", "ReplicationController")}
JOB_DELETE_WARNING = (
    "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove "
    "them or set propagationPolicy=Orphan to suppress this warning"
)


@dataclass
class Request:
    method: str
    res: Resource
    namespace: str | None
    name: str | None
    subresource: str
    query: dict[str, str]
    body: bytes = b""
    content_type: str = ""
    user_agent: str = ""


@dataclass
class Response:
    code: int
    body: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def random_suffix(length: int = 5) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(random.choice(alphabet) for _ in range(length))


def decode_body(raw: bytes, *, yaml_ok: bool = False) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        if yaml_ok:
            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as yexc:
                raise errors.bad_request(f"error decoding YAML: {yexc}") from yexc
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc


def strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def user_agent_manager(user_agent: str) -> str:
    """fieldmanager's default manager name: the User-Agent up to the first '/'."""
    return (user_agent.split("/", 1)[0] or "unknown")[:128]


def drop_unknown(obj: Any, node: schema.Node, path: str = "") -> list[str]:
    """Remove fields the schema does not declare; returns their dotted paths (for strict/warn validation)."""
    found: list[str] = []
    if node.kind == "struct" and isinstance(obj, dict):
        for key in list(obj):
            child = node.child(key)
            sub = f"{path}.{key}" if path else key
            if child is None:
                found.append(sub)
                del obj[key]
            else:
                found += drop_unknown(obj[key], child, sub)
    elif node.kind == "map" and isinstance(obj, dict) and node.elem is not None:
        for key, value in obj.items():
            found += drop_unknown(value, node.elem, f"{path}[{key}]")
    elif node.kind == "list" and isinstance(obj, list):
        for index, value in enumerate(obj):
            found += drop_unknown(value, node.item(), f"{path}[{index}]")
    return found


class Api:
    def __init__(
        self,
        store: Store,
        registry: Registry,
        *,
        on_crd: Callable[[], None] | None = None,
        minor: str = validation.DEFAULT_MINOR,
    ) -> None:
        self.minor = minor
        self.store = store
        self.registry = registry
        self.custom_schemas: dict[tuple[str, str], schema.Node] = {}
        self._ip_counter = 10
        self._node_port = 30000
        self.on_crd = on_crd

    # --- helpers ------------------------------------------------------------------------------

    def schema_for(self, res: Resource) -> schema.Node:
        if res.custom:
            return self.custom_schemas.get((res.api_version, res.kind)) or schema.from_crd_schema(None)
        found = schema.for_kind(res.group, res.version, res.kind)
        return found if found is not None else schema.from_crd_schema(None)

    def key(self, res: Resource, namespace: str | None, name: str) -> Key:
        return (res.group, res.kind, (namespace or "") if res.namespaced else "", name)

    def _require_namespace(self, res: Resource, namespace: str | None, *, creating: bool) -> None:
        if not res.namespaced or not namespace:
            return
        ns = self.store.peek(("", "Namespace", "", namespace))
        if ns is None:
            raise errors.namespace_not_found(namespace)
        if creating and (ns.get("metadata") or {}).get("deletionTimestamp"):
            raise ApiError(
                403,
                "Forbidden",
                f'{res.qualified} "" is forbidden: unable to create new content in namespace {namespace} '
                "because it is being terminated",
                {"kind": res.plural, "group": res.group} if res.group else {"kind": res.plural},
            )

    @staticmethod
    def _dry_run(req: Request) -> bool:
        value = req.query.get("dryRun", "")
        if value and value != "All":
            raise ApiError(
                422, "Invalid", f'Invalid dryRun value "{value}": supported values: "All"', {"causes": []}
            )
        return value == "All"

    @staticmethod
    def _manager(req: Request) -> str:
        return req.query.get("fieldManager") or user_agent_manager(req.user_agent)

    def _check_type(self, req: Request, obj: Any) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        res = req.res
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if kind and kind != res.kind:
            raise errors.bad_request(
                f"the object provided is unrecognized (must be of type {res.kind}): "
                f"couldn't get version/kind; json parse error (kind {kind})"
            )
        if api_version and api_version != res.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({res.api_version})"
            )
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        return obj

    def _decode_typed(self, req: Request, obj: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        """Strict/warn/ignore decoding of a create/update body as the typed decoder does."""
        node = self.schema_for(req.res)
        obj = strip_nulls(obj)
        unknown = drop_unknown(obj, node)
        directive = req.query.get("fieldValidation", "Warn")
        if unknown:
            if directive == "Strict":
                listing = ", ".join(f'unknown field "{u}"' for u in unknown)
                raise errors.bad_request(
                    f'{req.res.kind} in version "{req.res.version}" cannot be handled as a {req.res.kind}: '
                    f"strict decoding error: {listing}"
                )
            if directive == "Warn":
                warnings.extend(f'unknown field "{u}"' for u in unknown)
        try:
            ssa.flatten(ssa.tracked_view(obj, subresource="", has_status=False), node, strict=True)
        except ssa.SchemaError as exc:
            raise errors.bad_request(
                f'{req.res.kind} in version "{req.res.version}" cannot be handled as a {req.res.kind}: {exc}'
            ) from exc
        return obj

    def _has_generation(self, res: Resource) -> bool:
        return res.generation

    @staticmethod
    def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}

    def storage_class(self, name: str) -> dict[str, Any] | None:
        return self.store.peek(("storage.k8s.io", "StorageClass", "", name))

    def _default_storage_class(self) -> str | None:
        for sc in self.store.iter_type("storage.k8s.io", "StorageClass"):
            annotations = (sc.get("metadata") or {}).get("annotations") or {}
            if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
                return str(sc["metadata"]["name"])
        return None

    def _allocate_ip(self) -> str:
        used = {(s.get("spec") or {}).get("clusterIP") for s in self.store.iter_type("", "Service")}
        while True:
            self._ip_counter += 1
            ip = str(ipaddress.IPv4Address("10.43.0.0") + self._ip_counter)
            if ip not in used:
                return ip

    def _allocate_node_port(self) -> int:
        self._node_port += 1
        return self._node_port

    # --- kind hooks -------------------------------------------------------------------------

    def _on_create(self, res: Resource, obj: dict[str, Any], *, dry_run: bool) -> None:
        kind = res.kind
        meta = obj.setdefault("metadata", {})
        if kind == "Service":
            spec = obj.setdefault("spec", {})
            if spec.get("type") != "ExternalName":
                # normalizeClusterIPs on create: a clusterIP sent alone (an old client, or a headless
                # Service's `clusterIP: None`) starts the list; both unset are allocated; a list that
                # disagrees with the clusterIP is left for validation to refuse.
                ips = list(spec.get("clusterIPs") or [])
                ip = spec.get("clusterIP") or (ips[0] if ips else None)
                if not ip:
                    ip = self._allocate_ip() if not dry_run else "10.43.255.254"
                spec["clusterIP"] = ip
                spec["clusterIPs"] = ips or [ip]
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
                if spec.get("type") in ("NodePort", "LoadBalancer"):
                    for port in spec.get("ports") or []:
                        port.setdefault("nodePort", self._allocate_node_port())
            obj.setdefault("status", {"loadBalancer": {}})
        elif kind == "Job":
            spec = obj.setdefault("spec", {})
            uid = meta["uid"]
            if not spec.get("manualSelector"):
                generated = {"batch.kubernetes.io/controller-uid": uid}
                spec.setdefault("selector", {"matchLabels": generated})
                template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
                labels = template_meta.setdefault("labels", {})
                labels.setdefault("batch.kubernetes.io/controller-uid", uid)
                labels.setdefault("batch.kubernetes.io/job-name", meta["name"])
                labels.setdefault("controller-uid", uid)
                labels.setdefault("job-name", meta["name"])
            obj.setdefault("status", {})
        elif kind == "PersistentVolumeClaim":
            finalizers = meta.setdefault("finalizers", [])
            if "kubernetes.io/pvc-protection" not in finalizers:
                finalizers.append("kubernetes.io/pvc-protection")
            spec = obj.setdefault("spec", {})
            if "storageClassName" not in spec:
                default_class = self._default_storage_class()
                if default_class:
                    spec["storageClassName"] = default_class
            obj["status"] = {"phase": "Pending"}
        elif kind == "StatefulSet":
            obj["status"] = {"replicas": 0, "availableReplicas": 0}
        elif kind in ("Deployment", "ReplicaSet", "DaemonSet") or kind == "CustomResourceDefinition":
            obj.setdefault("status", {})

    def _on_update(self, res: Resource, old: dict[str, Any], new: dict[str, Any]) -> None:
        if res.kind == "Service":
            self._service_update(old.get("spec") or {}, new.setdefault("spec", {}))
        elif res.kind == "Job":
            old_spec = old.get("spec") or {}
            spec = new.setdefault("spec", {})
            if "selector" not in spec and "selector" in old_spec:
                spec["selector"] = old_spec["selector"]

    def _service_update(self, old_spec: dict[str, Any], spec: dict[str, Any]) -> None:
        """normalizeClusterIPs + patchAllocatedValues of the Service REST storage, and NodePort allocation."""
        old_ip, new_ip = old_spec.get("clusterIP") or "", spec.get("clusterIP") or ""
        old_ips = list(old_spec.get("clusterIPs") or [])
        # An old client that sent the same clusterIP and no list: keep the list.
        if old_ips and not spec.get("clusterIPs") and old_ip == new_ip:
            spec["clusterIPs"] = old_ips
        if old_ip != new_ip:
            same_ips = list(spec.get("clusterIPs") or []) == old_ips
            if old_ip and not new_ip and same_ips:
                spec.pop("clusterIPs", None)  # clearing the singular clears the (unchanged) plural
            elif same_ips and old_ips:
                spec["clusterIPs"] = [new_ip, *old_ips[1:]]  # a changed clusterIP leads the list
        if spec.get("type") != "ExternalName" and old_spec.get("type") != "ExternalName":
            if not spec.get("clusterIP") and old_ip:
                spec["clusterIP"] = old_ip
            if not spec.get("clusterIPs") and old_ips:
                spec["clusterIPs"] = old_ips
            for key in ("ipFamilies", "ipFamilyPolicy"):
                if key not in spec and key in old_spec:
                    spec[key] = old_spec[key]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            old_ports = {
                (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                for p in old_spec.get("ports") or []
            }
            for port in spec.get("ports") or []:
                if not port.get("nodePort"):
                    port["nodePort"] = old_ports.get((port.get("port"), port.get("protocol", "TCP"))) or (
                        self._allocate_node_port()
                    )
            spec.setdefault("externalTrafficPolicy", "Cluster")

    def _default(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        return defaults.apply_defaults(obj, res.kind)

    # --- reads ---------------------------------------------------------------------------------

    def get(self, req: Request) -> Response:
        assert req.name is not None
        obj = self.store.get(self.key(req.res, req.namespace, req.name))
        if obj is None:
            raise errors.not_found(req.res, req.name)
        if req.subresource == "scale":
            return Response(200, self._scale(req.res, obj))
        return Response(200, obj)

    def _scale(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {
                "replicas": (obj.get("status") or {}).get("replicas", 0),
                "selector": ",".join(f"{k}={v}" for k, v in selector.items()),
            },
        }

    def list_filter(self, req: Request) -> Callable[[dict[str, Any]], bool]:
        label_req = parse_label_selector(req.query.get("labelSelector", ""))
        field_match = parse_field_selector(req.query.get("fieldSelector", ""), req.res.kind, req.res.custom)

        def matches(obj: dict[str, Any]) -> bool:
            labels = (obj.get("metadata") or {}).get("labels") or {}
            return requirements_match(label_req, labels) and field_match(obj)

        return matches

    def list_(self, req: Request) -> Response:
        matches = self.list_filter(req)
        namespace = req.namespace if req.res.namespaced else None
        with self.store.lock:
            items = [o for o in self.store.list_objects(req.res.group, req.res.kind, namespace) if matches(o)]
            rv = self.store.rv
        start = 0
        token = req.query.get("continue")
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                start = int(decoded["start"])
            except (ValueError, KeyError, TypeError) as exc:
                raise errors.bad_request(
                    "continue key is not valid: incorrect encoded start resourceVersion"
                ) from exc
        limit = int(req.query.get("limit") or 0)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        page = items[start:]
        if limit > 0 and len(page) > limit:
            page = page[:limit]
            meta["continue"] = base64.urlsafe_b64encode(
                json.dumps({"rv": rv, "start": start + limit}).encode()
            ).decode()
            meta["remainingItemCount"] = len(items) - start - limit
        if not req.res.custom:
            for item in page:
                item.pop("apiVersion", None)
                item.pop("kind", None)
        return Response(
            200,
            {
                "kind": f"{req.res.kind}List",
                "apiVersion": req.res.api_version,
                "metadata": meta,
                "items": page,
            },
        )

    # --- create --------------------------------------------------------------------------------

    def create(self, req: Request, *, actor: str | None = None) -> Response:
        dry_run = self._dry_run(req)
        warnings: list[str] = []
        body = self._check_type(req, decode_body(req.body, yaml_ok=True))
        obj = self._decode_typed(req, body, warnings)
        meta = obj.setdefault("metadata", {})
        if req.res.namespaced:
            if meta.get("namespace") and req.namespace and meta["namespace"] != req.namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = req.namespace or meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{random_suffix()}"
        with self.store.lock:
            self._require_namespace(req.res, meta.get("namespace"), creating=True)
            created = self._create_locked(
                req, obj, dry_run=dry_run, manager=self._manager(req), operation="Update", actor=actor
            )
        return Response(201, created, warnings)

    def _create_locked(
        self,
        req: Request,
        obj: dict[str, Any],
        *,
        dry_run: bool,
        manager: str,
        operation: str,
        actor: str | None,
        applied: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        res = req.res
        meta = obj.setdefault("metadata", {})
        name = str(meta.get("name") or "")
        for key in (
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if res.has_status and res.kind not in ("Namespace",):
            obj.pop("status", None)
        self._default(res, obj)
        self._on_create(res, obj, dry_run=dry_run)
        field_errors = validation.validate_create(res.kind, obj)
        if field_errors:
            raise errors.invalid(res, name, field_errors)
        # As the generic registry's Store.Create: BeforeCreate (defaulting, the strategy's Validate)
        # comes first, and only the storage layer's create - dry run or not - finds an existing key.
        # So an invalid object is a 422 even when its name is taken.
        existing = self.store.peek(self.key(res, meta.get("namespace"), name)) if name else None
        if existing is not None:
            conflict = errors.already_exists(res, name)
            if (existing.get("metadata") or {}).get("deletionTimestamp"):
                conflict.message = f"object is being deleted: {conflict.message}"
            raise conflict
        if self._has_generation(res):
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        node = self.schema_for(res)
        if operation == "Apply" and applied is not None:
            fields = set(
                ssa.flatten(ssa.tracked_view(applied, subresource="", has_status=res.has_status), node)
            )
            ssa.write_managers(
                obj,
                {
                    (manager, "Apply", "", ""): ssa.Manager(
                        manager, "Apply", res.api_version, "", now_rfc3339(), fields
                    )
                },
            )
        else:
            ssa.record_update(
                None,
                obj,
                node=node,
                manager=manager,
                api_version=res.api_version,
                subresource="",
                has_status=res.has_status,
                now=now_rfc3339(),
            )
        if dry_run:
            return obj
        stored = self.store.put(obj, actor=actor or f"client:{manager}")
        if res.kind == "CustomResourceDefinition" and self.on_crd is not None:
            self.on_crd()
        return stored

    # --- update (PUT) ------------------------------------------------------------------------

    def update(self, req: Request, *, actor: str | None = None) -> Response:
        assert req.name is not None
        dry_run = self._dry_run(req)
        warnings: list[str] = []
        body = self._check_type(req, decode_body(req.body, yaml_ok=True))
        if req.subresource == "scale":
            return self._update_scale(req, body, dry_run=dry_run, actor=actor)
        obj = self._decode_typed(req, body, warnings)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != req.name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({req.name})"
            )
        with self.store.lock:
            old = self.store.get(self.key(req.res, req.namespace, req.name))
            if old is None:
                raise errors.not_found(req.res, req.name)
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(req.res, req.name)
            result, code = self._update_locked(
                req, old, obj, dry_run=dry_run, manager=self._manager(req), actor=actor
            )
        return Response(code, result, warnings)

    def _update_scale(
        self, req: Request, body: dict[str, Any], *, dry_run: bool, actor: str | None
    ) -> Response:
        assert req.name is not None
        with self.store.lock:
            old = self.store.get(self.key(req.res, req.namespace, req.name))
            if old is None:
                raise errors.not_found(req.res, req.name)
            new = copy.deepcopy(old)
            new.setdefault("spec", {})["replicas"] = (body.get("spec") or {}).get("replicas", 0)
            plain = Request(
                req.method, req.res, req.namespace, req.name, "", req.query, b"", "", req.user_agent
            )
            result, code = self._update_locked(
                plain, old, new, dry_run=dry_run, manager=self._manager(req), actor=actor
            )
        return Response(code, self._scale(req.res, result))

    def _merge_subresource(self, req: Request, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        res = req.res
        if req.subresource == "status":
            merged = copy.deepcopy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            managed = (new.get("metadata") or {}).get("managedFields")
            if managed is not None:
                merged["metadata"]["managedFields"] = managed
            return merged
        if res.has_status:
            new = dict(new)
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        return new

    def _update_locked(
        self,
        req: Request,
        old: dict[str, Any],
        new: dict[str, Any],
        *,
        dry_run: bool,
        manager: str,
        actor: str | None,
        operation: str = "Update",
        managed: bool = True,
    ) -> tuple[dict[str, Any], int]:
        """Validate and persist ``new`` over ``old``; returns (object, code). ``new`` is not yet defaulted."""
        res = req.res
        new = self._merge_subresource(req, old, new)
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        meta = new.setdefault("metadata", {})
        old_meta = old["metadata"]
        for key in (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
            if added:
                raise errors.invalid(
                    res,
                    meta["name"],
                    [
                        errors.FieldError(
                            "FieldValueForbidden",
                            "metadata.finalizers",
                            "no new finalizers can be added if the object is being deleted, found new "
                            f"finalizers {json.dumps(sorted(added))}",
                        )
                    ],
                )
        new = self._default(res, new)
        self._on_update(res, old, new)
        if req.subresource != "status":
            field_errors = validation.validate_update(
                res.kind, old, new, storage_class=self.storage_class, resource=res, minor=self.minor
            )
            if field_errors:
                raise errors.invalid(res, meta["name"], field_errors)
        if managed:
            # As FieldManager.Update: managedFields sent in an update are the new truth (kubectl's
            # client-side -> server-side apply upgrade relies on it; `[{}]` clears them); absent or empty
            # keeps the live ones.
            sent = meta.get("managedFields")
            base = old_meta.get("managedFields") or []
            if req.subresource != "status" and isinstance(sent, list) and sent and sent != base:
                base = [entry for entry in sent if isinstance(entry, dict) and entry]
            meta["managedFields"] = copy.deepcopy(base)
            if not meta["managedFields"]:
                meta.pop("managedFields")
            ssa.record_update(
                {**old, "metadata": {**old_meta, "managedFields": base}},
                new,
                node=self.schema_for(res),
                manager=manager,
                api_version=res.api_version,
                subresource=req.subresource if req.subresource == "status" else "",
                has_status=res.has_status,
                now=now_rfc3339(),
            )
        if self._has_generation(res) and self._spec_part(old) != self._spec_part(new):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        if _normalized(new) == _normalized(old):
            return old, 200
        if dry_run:
            return new, 200
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            stored = self.store.put(new, actor=actor or f"client:{manager}")
            self.store.remove(self.key(res, meta.get("namespace"), meta["name"]), actor="finalizers-removed")
            return stored, 200
        stored = self.store.put(new, actor=actor or f"client:{manager}")
        if res.kind == "CustomResourceDefinition" and self.on_crd is not None:
            self.on_crd()
        return stored, 200

    # --- patch ---------------------------------------------------------------------------------

    def patch(self, req: Request, *, actor: str | None = None) -> Response:
        assert req.name is not None
        dry_run = self._dry_run(req)
        content_type = req.content_type.split(";")[0].strip().lower()
        if content_type not in PATCH_TYPES:
            raise errors.unsupported_media_type(content_type, PATCH_TYPES)
        force = req.query.get("force", "").lower() in ("true", "1")
        if content_type == APPLY:
            return self._apply(req, force=force, dry_run=dry_run, actor=actor)
        if "force" in req.query:
            raise errors.bad_request("force is only allowed for apply patches")
        body = decode_body(req.body)
        if body is None:
            raise errors.bad_request("the body of the request was in an unknown format")
        with self.store.lock:
            old = self.store.get(self.key(req.res, req.namespace, req.name))
            if old is None:
                raise errors.not_found(req.res, req.name)
            node = self.schema_for(req.res)
            try:
                if content_type == MERGE:
                    if not isinstance(body, dict):
                        raise errors.bad_request("merge patch must be a JSON object")
                    new = patch.merge_patch(old, body)
                elif content_type == STRATEGIC:
                    if req.res.custom:
                        raise errors.unsupported_media_type(content_type, [JSON_PATCH, MERGE, APPLY])
                    if not isinstance(body, dict):
                        raise errors.bad_request("strategic merge patch must be a JSON object")
                    new = patch.strategic_merge_patch(old, body, node)
                else:
                    new = patch.json_patch(old, body)
            except patch.PatchError as exc:
                raise ApiError(
                    422 if "testing value" in str(exc) else 400,
                    "Invalid" if "testing value" in str(exc) else "BadRequest",
                    str(exc),
                ) from exc
            if not isinstance(new, dict):
                raise errors.bad_request("patch produced a non-object")
            wanted_rv = (
                (body.get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
            )
            if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(req.res, req.name)
            if req.subresource == "scale":
                replicas = (new.get("spec") or {}).get("replicas")
                new = copy.deepcopy(old)
                new.setdefault("spec", {})["replicas"] = replicas
            new = strip_nulls(new)
            plain = (
                req
                if req.subresource != "scale"
                else Request(
                    req.method, req.res, req.namespace, req.name, "", req.query, b"", "", req.user_agent
                )
            )
            result, code = self._update_locked(
                plain, old, new, dry_run=dry_run, manager=self._manager(req), actor=actor
            )
        if req.subresource == "scale":
            return Response(code, self._scale(req.res, result))
        return Response(code, result)

    def _apply(self, req: Request, *, force: bool, dry_run: bool, actor: str | None) -> Response:
        assert req.name is not None
        res = req.res
        manager = req.query.get("fieldManager", "")
        if not manager:
            raise errors.bad_request(
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                "is required for apply patch"
            )
        body = decode_body(req.body, yaml_ok=True)
        if not isinstance(body, dict):
            raise errors.bad_request("error decoding YAML: the patch is not an object")
        meta: dict[str, Any] = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
        if not body.get("apiVersion") or not body.get("kind"):
            raise errors.bad_request(
                "Object 'Kind' is missing in '" + json.dumps(body, separators=(",", ":"))[:200] + "'"
            )
        if body.get("kind") != res.kind or body.get("apiVersion") != res.api_version:
            if body.get("kind") == res.kind:
                message = (
                    f"the API version in the data ({body.get('apiVersion')}) does not match the expected "
                    f"API version ({res.api_version})"
                )
            else:
                message = (
                    f"the kind in the data ({body.get('kind')}) does not match the expected kind ({res.kind})"
                )
            raise errors.bad_request(message)
        if meta.get("name") and meta["name"] != req.name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({req.name})"
            )
        if res.namespaced and meta.get("namespace") and meta["namespace"] != req.namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        node = self.schema_for(res)
        gvknn = (
            f"{(req.namespace + '/') if res.namespaced and req.namespace else ''}{req.name}; "
            f"{res.api_version if res.group else '/' + res.version}, Kind={res.kind}"
        )
        try:
            ssa.flatten(ssa.tracked_view(body, subresource=req.subresource, has_status=res.has_status), node)
        except ssa.SchemaError as exc:
            raise ApiError(500, "", f"failed to create typed patch object ({gvknn}): {exc}") from exc
        with self.store.lock:
            key = self.key(res, req.namespace, req.name)
            live = self.store.get(key)
            wanted_rv = meta.get("resourceVersion")
            if wanted_rv and (live is None or live["metadata"]["resourceVersion"] != wanted_rv):
                if live is None:
                    raise errors.not_found(res, req.name)
                raise errors.conflict(res, req.name)
            if live is None:
                if req.subresource:
                    raise errors.not_found(res, req.name)
                self._require_namespace(res, req.namespace, creating=True)
                obj = strip_nulls(copy.deepcopy(body))
                obj.setdefault("metadata", {})["name"] = req.name
                if res.namespaced:
                    obj["metadata"]["namespace"] = req.namespace
                created = self._create_locked(
                    req, obj, dry_run=dry_run, manager=manager, operation="Apply", actor=actor, applied=body
                )
                return Response(201, created)

            def default(obj: dict[str, Any]) -> dict[str, Any]:
                obj = strip_nulls(obj)
                self._default(res, obj)
                self._on_update(res, live, obj)
                return obj

            try:
                result = ssa.apply(
                    live,
                    body,
                    node=node,
                    manager=manager,
                    api_version=res.api_version,
                    subresource=req.subresource,
                    has_status=res.has_status,
                    force=force,
                    now=now_rfc3339(),
                    default=default,
                )
            except ssa.SchemaError as exc:
                raise ApiError(500, "", f"failed to create typed patch object ({gvknn}): {exc}") from exc
            if result.conflicts:
                raise errors.apply_conflict(result.conflicts)
            obj, code = self._update_locked(
                Request(req.method, res, req.namespace, req.name, req.subresource, req.query),
                live,
                result.obj,
                dry_run=dry_run,
                manager=manager,
                actor=actor,
                managed=False,
            )
        return Response(code, obj)

    def _check_disruption_budgets(self, pod: dict[str, Any]) -> None:
        from tests.fakekube.selectors import label_selector_matches

        labels = (pod.get("metadata") or {}).get("labels") or {}
        for pdb in self.store.iter_type("policy", "PodDisruptionBudget", pod["metadata"].get("namespace")):
            if not label_selector_matches((pdb.get("spec") or {}).get("selector"), labels):
                continue
            status = pdb.get("status") or {}
            if int(status.get("disruptionsAllowed", 0)) <= 0:
                cause = (
                    f"The disruption budget {pdb['metadata']['name']} needs "
                    f"{status.get('desiredHealthy', 0)} healthy pods and has "
                    f"{status.get('currentHealthy', 0)} currently"
                )
                raise ApiError(
                    429,
                    "TooManyRequests",
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    {"causes": [{"reason": "DisruptionBudget", "message": cause}]},
                )

    def pod_subresource(self, req: Request) -> Response:
        """POST pods/<name>/eviction (a graceful delete; PDBs are not consulted) and pods/<name>/binding."""
        assert req.name is not None
        body = decode_body(req.body) or {}
        dry_run = self._dry_run(req) or bool((body.get("deleteOptions") or {}).get("dryRun"))
        with self.store.lock:
            pod = self.store.get(self.key(req.res, req.namespace, req.name))
            if pod is None:
                raise errors.not_found(req.res, req.name)
            if req.subresource == "eviction":
                self._check_disruption_budgets(pod)
                self.store.delete_log.append(
                    {
                        "time": now_rfc3339(),
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "namespace": req.namespace,
                        "name": req.name,
                        "uid": pod["metadata"].get("uid"),
                        "propagationPolicy": "Background",
                        "dryRun": dry_run,
                        "actor": f"client:{user_agent_manager(req.user_agent)} (eviction)",
                    }
                )
                self.delete_object(
                    req.res,
                    pod,
                    policy="Background",
                    dry_run=dry_run,
                    actor=f"client:{user_agent_manager(req.user_agent)}",
                )
            elif not dry_run:
                target = (body.get("target") or {}).get("name")
                if not target:
                    raise errors.bad_request("binding target is required")
                new = copy.deepcopy(pod)
                new.setdefault("spec", {})["nodeName"] = target
                self.store.put(new, actor="scheduler")
        return Response(
            201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
        )

    # --- delete --------------------------------------------------------------------------------

    def delete(self, req: Request, *, actor: str | None = None) -> Response:
        assert req.name is not None
        dry_run = self._dry_run(req)
        options = decode_body(req.body) or {}
        if not isinstance(options, dict):
            raise errors.bad_request("DeleteOptions must be an object")
        policy = options.get("propagationPolicy") or req.query.get("propagationPolicy")
        if policy is None:
            orphan = options.get("orphanDependents")
            if orphan is None and "orphanDependents" in req.query:
                orphan = req.query["orphanDependents"].lower() == "true"
            if orphan is not None:
                policy = "Orphan" if orphan else "Background"
        warnings: list[str] = []
        if policy is None:
            policy = "Orphan" if (req.res.group, req.res.kind) in ORPHAN_BY_DEFAULT else "Background"
            if req.res.kind == "Job":
                warnings.append(JOB_DELETE_WARNING)
        if policy not in ("Orphan", "Background", "Foreground"):
            raise ApiError(
                422,
                "Invalid",
                f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan"',
                {"kind": "DeleteOptions", "group": "meta.k8s.io", "causes": []},
            )
        grace = options.get("gracePeriodSeconds", req.query.get("gracePeriodSeconds"))
        preconditions = options.get("preconditions") or {}
        with self.store.lock:
            key = self.key(req.res, req.namespace, req.name)
            obj = self.store.get(key)
            if obj is None:
                raise errors.not_found(req.res, req.name)
            meta = obj["metadata"]
            if preconditions.get("uid") and preconditions["uid"] != meta.get("uid"):
                raise errors.precondition_conflict(
                    req.res,
                    req.name,
                    f"the UID in the precondition ({preconditions['uid']}) does not match the UID in "
                    f"record ({meta.get('uid')}). The object might have been deleted and then recreated",
                )
            if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != meta.get(
                "resourceVersion"
            ):
                raise errors.precondition_conflict(
                    req.res,
                    req.name,
                    f"the ResourceVersion in the precondition ({preconditions['resourceVersion']}) does not "
                    f"match the ResourceVersion in record ({meta.get('resourceVersion')}). The object might "
                    "have been modified",
                )
            self.store.delete_log.append(
                {
                    "time": now_rfc3339(),
                    "apiVersion": req.res.api_version,
                    "kind": req.res.kind,
                    "namespace": meta.get("namespace"),
                    "name": meta.get("name"),
                    "uid": meta.get("uid"),
                    "propagationPolicy": policy,
                    "dryRun": dry_run,
                    "actor": actor or f"client:{self._manager(req)}",
                }
            )
            accepted = (
                options.get("orphanDependents") is False or req.query.get("orphanDependents") == "false"
            )
            result = self.delete_object(
                req.res,
                obj,
                policy=policy,
                grace=grace,
                dry_run=dry_run,
                actor=actor or f"client:{user_agent_manager(req.user_agent)}",
            )
        code = 202 if accepted and (result.get("metadata") or {}).get("deletionTimestamp") else 200
        return Response(code, result, warnings)

    def delete_object(
        self,
        res: Resource,
        obj: dict[str, Any],
        *,
        policy: str,
        grace: Any = None,
        dry_run: bool = False,
        actor: str,
    ) -> dict[str, Any]:
        """Start deleting ``obj`` (caller holds the lock); returns the object as DELETE answers it."""
        meta = obj["metadata"]
        finalizers: list[str] = list(meta.get("finalizers") or [])
        if policy == "Orphan" and "orphan" not in finalizers:
            finalizers.append("orphan")
        if policy == "Foreground" and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if policy != "Orphan" and "orphan" in finalizers and not meta.get("deletionTimestamp"):
            finalizers.remove("orphan")
        graceful = (
            res.kind == "Pod"
            and not (grace is not None and int(grace) == 0)
            and not meta.get("deletionTimestamp")
        )
        if res.kind == "Namespace":
            finalizers = finalizers or []
            graceful = True
        key = self.key(res, meta.get("namespace"), meta["name"])
        if not finalizers and not graceful:
            if dry_run:
                return obj
            removed = self.store.remove(key, actor=actor)
            return removed or obj
        if meta.get("deletionTimestamp") and finalizers == list(meta.get("finalizers") or []):
            return obj
        new = copy.deepcopy(obj)
        new_meta = new["metadata"]
        new_meta.setdefault("deletionTimestamp", now_rfc3339())
        if res.kind == "Pod":
            seconds = (
                int(grace)
                if grace is not None
                else int((obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
            )
            new_meta.setdefault("deletionGracePeriodSeconds", seconds)
        else:
            new_meta.setdefault("deletionGracePeriodSeconds", 0)
        if finalizers:
            new_meta["finalizers"] = finalizers
        if res.kind == "Namespace":
            new.setdefault("status", {})["phase"] = "Terminating"
        if self._has_generation(res):
            new_meta["generation"] = int(new_meta.get("generation", 1)) + 1
        if dry_run:
            return new
        return self.store.put(new, actor=actor, action="deleting")

    def delete_collection(self, req: Request, *, actor: str | None = None) -> Response:
        matches = self.list_filter(req)
        namespace = req.namespace if req.res.namespaced else None
        deleted: list[dict[str, Any]] = []
        for obj in self.store.list_objects(req.res.group, req.res.kind, namespace):
            if not matches(obj):
                continue
            sub = Request(
                "DELETE",
                req.res,
                obj["metadata"].get("namespace"),
                obj["metadata"]["name"],
                "",
                req.query,
                req.body,
                req.content_type,
                req.user_agent,
            )
            try:
                deleted.append(self.delete(sub, actor=actor).body)
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return Response(
            200,
            {
                "kind": f"{req.res.kind}List",
                "apiVersion": req.res.api_version,
                "metadata": {"resourceVersion": str(self.store.rv)},
                "items": deleted,
            },
        )


def _normalized(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without its resourceVersion and managedFields times (what makes a write a no-op)."""
    copied = dict(obj)
    meta = dict(copied.get("metadata") or {})
    meta.pop("resourceVersion", None)
    managed = meta.get("managedFields")
    if managed:
        meta["managedFields"] = [{k: v for k, v in m.items() if k != "time"} for m in managed]
    copied["metadata"] = meta
    return copied
