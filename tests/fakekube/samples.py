"""Small manifests for tests of (and with) the fake API server."""

from __future__ import annotations

from typing import Any


def _template(name: str, image: str, labels: dict[str, str], *, restart: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": name, "image": image}]}
    if restart:
        spec["restartPolicy"] = restart
    return {"metadata": {"labels": dict(labels)}, "spec": spec}


def statefulset(
    name: str = "postgres",
    *,
    image: str = "postgis/postgis:18-3.6",
    storage: str = "10Gi",
    replicas: int = 1,
    retention: str | None = None,
    strategy: dict[str, Any] | None = None,
    policy: str | None = None,
    namespace: str = "default",
) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name}
    spec: dict[str, Any] = {
        "serviceName": name,
        "replicas": replicas,
        "selector": {"matchLabels": labels},
        "template": _template(name, image, labels),
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}},
            }
        ],
    }
    if retention:
        spec["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": retention, "whenScaled": "Retain"}
    if strategy:
        spec["updateStrategy"] = strategy
    if policy:
        spec["podManagementPolicy"] = policy
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    }


def deployment(
    name: str = "web",
    *,
    image: str = "nginx:1.29",
    replicas: int = 1,
    labels: dict[str, str] | None = None,
    deadline: int | None = None,
) -> dict[str, Any]:
    selector = labels or {"app": name}
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": selector},
        "template": _template(name, image, selector),
    }
    if deadline is not None:
        spec["progressDeadlineSeconds"] = deadline
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def daemonset(
    name: str = "agent", *, image: str = "busybox:1.37", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    selector = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"matchLabels": selector}, "template": _template(name, image, selector)},
    }


def job(name: str = "migrate", *, image: str = "busybox:1.37", command: str = "true") -> dict[str, Any]:
    template = _template(name, image, {"app": name}, restart="Never")
    template["spec"]["containers"][0]["command"] = ["sh", "-c", command]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": template},
    }


def service(
    name: str = "postgres", *, port: int = 5432, cluster_ip: str | None = None, kind: str | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"app.kubernetes.io/name": name},
        "ports": [{"name": "db", "port": port}],
    }
    if cluster_ip is not None:
        spec["clusterIP"] = cluster_ip
    if kind is not None:
        spec["type"] = kind
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def pvc(
    name: str = "data",
    *,
    storage: str = "10Gi",
    storage_class: str | None = "hcloud-volumes",
    modes: tuple[str, ...] = ("ReadWriteOnce",),
) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": list(modes), "resources": {"requests": {"storage": storage}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def configmap(name: str = "settings", data: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": dict(data or {"a": "1"}),
    }
