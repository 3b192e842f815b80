"""``meta.k8s.io/v1`` Table responses, which ``kubectl get`` asks for (``Accept: ...;as=Table``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.fakekube.api import Request

Column = tuple[str, str, Callable[[dict[str, Any]], Any]]


def _age(obj: dict[str, Any]) -> str:
    created = (obj.get("metadata") or {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    then = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = int((datetime.now(UTC) - then).total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3600 * 3:
        return f"{seconds // 60}m"
    if seconds < 86400 * 2:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("spec") or {}


def _pod_status(pod: dict[str, Any]) -> str:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    for container in _status(pod).get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            return str(waiting["reason"])
    return str(_status(pod).get("phase", "Pending"))


def _pod_ready(pod: dict[str, Any]) -> str:
    statuses = _status(pod).get("containerStatuses") or []
    total = len(_spec(pod).get("containers") or [])
    return f"{sum(1 for c in statuses if c.get('ready'))}/{total}"


COLUMNS: dict[str, list[Column]] = {
    "Pod": [
        ("Ready", "string", _pod_ready),
        ("Status", "string", _pod_status),
        (
            "Restarts",
            "string",
            lambda p: str(
                sum(int(c.get("restartCount", 0)) for c in _status(p).get("containerStatuses") or [])
            ),
        ),
    ],
    "StatefulSet": [
        ("Ready", "string", lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}")
    ],
    "Deployment": [
        ("Ready", "string", lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}"),
        ("Up-to-date", "integer", lambda o: _status(o).get("updatedReplicas", 0)),
        ("Available", "integer", lambda o: _status(o).get("availableReplicas", 0)),
    ],
    "ReplicaSet": [
        ("Desired", "integer", lambda o: _spec(o).get("replicas", 0)),
        ("Current", "integer", lambda o: _status(o).get("replicas", 0)),
        ("Ready", "integer", lambda o: _status(o).get("readyReplicas", 0)),
    ],
    "PersistentVolumeClaim": [
        ("Status", "string", lambda o: _status(o).get("phase", "")),
        ("Volume", "string", lambda o: _spec(o).get("volumeName", "")),
        ("Capacity", "string", lambda o: (_status(o).get("capacity") or {}).get("storage", "")),
        ("StorageClass", "string", lambda o: _spec(o).get("storageClassName", "")),
    ],
    "Service": [
        ("Type", "string", lambda o: _spec(o).get("type", "")),
        ("Cluster-IP", "string", lambda o: _spec(o).get("clusterIP", "")),
        (
            "Ports",
            "string",
            lambda o: ",".join(
                f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in _spec(o).get("ports") or []
            ),
        ),
    ],
    "Node": [
        (
            "Status",
            "string",
            lambda o: (
                "Ready"
                if any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in _status(o).get("conditions") or []
                )
                else "NotReady"
            ),
        )
    ],
    "Namespace": [("Status", "string", lambda o: _status(o).get("phase", ""))],
    "ControllerRevision": [
        (
            "Controller",
            "string",
            lambda o: next(
                (
                    f"{r.get('kind', '').lower()}.apps/{r.get('name')}"
                    for r in (o.get("metadata") or {}).get("ownerReferences") or []
                    if r.get("controller")
                ),
                "<none>",
            ),
        ),
        ("Revision", "integer", lambda o: o.get("revision", 0)),
    ],
}


def table(req: Request, body: dict[str, Any], verb: str) -> dict[str, Any]:
    kind = req.res.kind
    columns: list[Column] = [("Name", "string", lambda o: (o.get("metadata") or {}).get("name", ""))]
    columns += COLUMNS.get(kind, [])
    columns.append(("Age", "string", _age))
    items = body.get("items", []) if verb == "list" else [body]
    include = req.query.get("includeObject", "Metadata")
    rows = []
    for item in items:
        if include == "Object":
            obj: Any = {"apiVersion": req.res.api_version, "kind": kind, **item}
        elif include == "None":
            obj = None
        else:
            obj = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": item.get("metadata"),
            }
        row: dict[str, Any] = {"cells": [fn(item) for _, _, fn in columns]}
        if obj is not None:
            row["object"] = obj
        rows.append(row)
    meta = (
        dict(body.get("metadata") or {})
        if verb == "list"
        else {"resourceVersion": (body.get("metadata") or {}).get("resourceVersion", "")}
    )
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": [
            {
                "name": name,
                "type": kind_,
                "format": "name" if name == "Name" else "",
                "description": name,
                "priority": 0,
            }
            for name, kind_, _ in columns
        ],
        "rows": rows,
    }
