"""Kubernetes objects for tests: one builder per kind, a small valid object by default.

The one place the tests get manifests and live objects from: the fake API server's own tests,
the apply and rollout integration tests, and the unit tests of the core decisions. Each call
returns a fresh dict. What a test is about stays visible in the test: the builders take the
common variations as arguments, and :func:`with_meta`, :func:`with_status` and
:func:`owned_by` add what the server or a controller would have written.

``namespace=None`` leaves ``metadata.namespace`` out (``gitops apply --namespace`` and the
kubeconfig context decide); the default is ``"default"``.
"""

from __future__ import annotations

from typing import Any

APP = "app.kubernetes.io/name"


def obj(
    api_version: str, kind: str, name: str, namespace: str | None = "default", **fields: Any
) -> dict[str, Any]:
    """Any object: ``fields`` are its top-level keys besides apiVersion, kind and metadata."""
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **fields}


def with_meta(target: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """``target`` with these metadata fields set (uid, generation, labels, annotations...)."""
    target["metadata"].update(fields)
    return target


def with_status(target: dict[str, Any], **status: Any) -> dict[str, Any]:
    """``target`` with this ``status`` (what its controller reported)."""
    target["status"] = status
    return target


def owned_by(
    target: dict[str, Any], uid: str | None, kind: str = "StatefulSet", name: str = "postgres"
) -> dict[str, Any]:
    """``target`` controlled by the object with ``uid`` (no owner at all when ``uid`` is None)."""
    meta = target["metadata"]
    meta.pop("ownerReferences", None)
    if uid is not None:
        meta["ownerReferences"] = [{"uid": uid, "controller": True, "kind": kind, "name": name}]
    return target


def pod_template(
    name: str,
    image: str,
    labels: dict[str, str] | None,
    *,
    restart: str | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": name, "image": image}
    if command is not None:
        container["command"] = ["sh", "-c", command]
    spec: dict[str, Any] = {"containers": [container]}
    if restart:
        spec["restartPolicy"] = restart
    return {"metadata": {"labels": dict(labels)}, "spec": spec} if labels else {"spec": spec}


def claim_template(
    name: str = "data", storage: str = "10Gi", storage_class: str | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"metadata": {"name": name}, "spec": spec}


def statefulset(
    name: str = "postgres",
    *,
    image: str = "postgis/postgis:18-3.6",
    storage: str | None = "10Gi",
    storage_class: str | None = None,
    claim: str = "data",
    replicas: int = 1,
    retention: str | None = None,
    strategy: dict[str, Any] | None = None,
    policy: str | None = None,
    labels: dict[str, str] | None = None,
    namespace: str | None = "default",
) -> dict[str, Any]:
    """One claim template ``claim`` of ``storage`` (none when ``storage`` is None)."""
    labels = labels or {APP: name}
    spec: dict[str, Any] = {
        "serviceName": name,
        "replicas": replicas,
        "selector": {"matchLabels": labels},
        "template": pod_template(name, image, labels),
    }
    if storage is not None:
        spec["volumeClaimTemplates"] = [claim_template(claim, storage, storage_class)]
    if retention:
        spec["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": retention, "whenScaled": "Retain"}
    if strategy:
        spec["updateStrategy"] = strategy
    if policy:
        spec["podManagementPolicy"] = policy
    return with_meta(obj("apps/v1", "StatefulSet", name, namespace, spec=spec), labels=dict(labels))


def deployment(
    name: str = "web",
    *,
    image: str = "nginx:1.29",
    replicas: int = 1,
    labels: dict[str, str] | None = None,
    deadline: int | None = None,
    namespace: str | None = "default",
) -> dict[str, Any]:
    selector = labels or {"app": name}
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": selector},
        "template": pod_template(name, image, selector),
    }
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    return obj("apps/v1", "Deployment", name, namespace, spec=spec)


def replicaset(
    name: str = "web-h1",
    *,
    image: str = "nginx:1.29",
    labels: dict[str, str] | None = None,
    revision: int | None = None,
    namespace: str | None = "default",
) -> dict[str, Any]:
    """A ReplicaSet as a Deployment creates it; ``revision`` is its ``deployment.kubernetes.io/revision``."""
    selector = labels or {"app": "web"}
    spec = {"selector": {"matchLabels": selector}, "template": pod_template("web", image, selector)}
    made = obj("apps/v1", "ReplicaSet", name, namespace, spec=spec)
    if revision is not None:
        with_meta(made, annotations={"deployment.kubernetes.io/revision": str(revision)})
    return made


def controller_revision(
    name: str, revision: int, template: dict[str, Any], *, namespace: str | None = "default"
) -> dict[str, Any]:
    """A StatefulSet's ControllerRevision: its ``data`` is the patch that restores ``template``."""
    data = {"spec": {"template": {**template, "$patch": "replace"}}}
    return obj("apps/v1", "ControllerRevision", name, namespace, revision=revision, data=data)


def daemonset(
    name: str = "agent",
    *,
    image: str = "busybox:1.37",
    labels: dict[str, str] | None = None,
    strategy: dict[str, Any] | None = None,
    namespace: str | None = "default",
) -> dict[str, Any]:
    selector = labels or {"app": name}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector},
        "template": pod_template(name, image, selector),
    }
    if strategy:
        spec["updateStrategy"] = strategy
    return obj("apps/v1", "DaemonSet", name, namespace, spec=spec)


def job(
    name: str = "migrate",
    *,
    image: str = "busybox:1.37",
    command: str | None = "true",
    labels: dict[str, str] | None = None,
    namespace: str | None = "default",
) -> dict[str, Any]:
    """``labels=None`` labels the pod template ``app: <name>``; ``{}`` leaves it unlabelled."""
    template = pod_template(
        name, image, {"app": name} if labels is None else labels, restart="Never", command=command
    )
    return obj("batch/v1", "Job", name, namespace, spec={"template": template})


def pod(
    name: str = "postgres-0",
    *,
    image: str = "postgis/postgis:18-3.6",
    labels: dict[str, str] | None = None,
    namespace: str | None = "default",
) -> dict[str, Any]:
    made = obj("v1", "Pod", name, namespace, spec={"containers": [{"name": name, "image": image}]})
    return with_meta(made, labels=dict(labels)) if labels else made


def service(
    name: str = "postgres",
    *,
    port: int = 5432,
    port_name: str = "db",
    cluster_ip: str | None = None,
    cluster_ips: list[str] | None = None,
    kind: str | None = None,
    selector: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    namespace: str | None = "default",
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": selector or {APP: name},
        "ports": [{"name": port_name, "port": port}],
    }
    if cluster_ip is not None:
        spec["clusterIP"] = cluster_ip
    if cluster_ips is not None:
        spec["clusterIPs"] = cluster_ips
    if kind is not None:
        spec["type"] = kind
    made = obj("v1", "Service", name, namespace, spec=spec)
    return with_meta(made, labels=dict(labels)) if labels else made


def pvc(
    name: str = "data",
    *,
    storage: str = "10Gi",
    storage_class: str | None = "hcloud-volumes",
    modes: tuple[str, ...] = ("ReadWriteOnce",),
    namespace: str | None = "default",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": list(modes), "resources": {"requests": {"storage": storage}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return obj("v1", "PersistentVolumeClaim", name, namespace, spec=spec)


def configmap(
    name: str = "settings", data: dict[str, str] | None = None, *, namespace: str | None = "default"
) -> dict[str, Any]:
    return obj("v1", "ConfigMap", name, namespace, data=dict(data or {"a": "1"}))


def namespace_object(name: str = "apps") -> dict[str, Any]:
    return obj("v1", "Namespace", name, None)


def crd(
    group: str = "example.com", kind: str = "Widget", plural: str = "widgets", *, scope: str = "Namespaced"
) -> dict[str, Any]:
    """A CustomResourceDefinition of one served, stored version ``v1`` that keeps unknown fields."""
    spec = {
        "group": group,
        "scope": scope,
        "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": f"{kind}List"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    }
    return obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"{plural}.{group}", None, spec=spec)
