"""What to apply, in which order: object identity, staging, and leaving out gate-blocked services.

Pure: manifests in, an ordered plan out. The engine (:mod:`gitops.operations.apply_engine`) asks the cluster's
discovery which kinds are namespaced and passes the answer in as ``namespaced``.

Why stages: a Namespace or CRD must exist before the objects that live in it or use it, a
StorageClass before the claims that name it, and Secrets/ConfigMaps/Services before the
workloads whose pods mount or resolve them (a pod that starts before its ConfigMap exists
sits in ``CreateContainerConfigError`` and fails the rollout we are about to watch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from gitops.errors import ConfigurationError, Problem

SERVICE_LABEL = "app.kubernetes.io/name"


class Stage(IntEnum):
    """Apply order. Within a stage the input (kustomize) order is kept."""

    CRDS = 0
    NAMESPACES = 1
    CLUSTER_CLASSES = 2
    ACCESS = 3
    SECRETS = 4
    CONFIGMAPS = 5
    STORAGE = 6
    SERVICES = 7
    WORKLOADS = 8
    REST = 9

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


# (group, kind) -> stage. group "" is the core API group.
_STAGES: dict[tuple[str, str], Stage] = {
    ("apiextensions.k8s.io", "CustomResourceDefinition"): Stage.CRDS,
    ("", "Namespace"): Stage.NAMESPACES,
    ("storage.k8s.io", "StorageClass"): Stage.CLUSTER_CLASSES,
    ("storage.k8s.io", "VolumeAttributesClass"): Stage.CLUSTER_CLASSES,
    ("snapshot.storage.k8s.io", "VolumeSnapshotClass"): Stage.CLUSTER_CLASSES,
    ("scheduling.k8s.io", "PriorityClass"): Stage.CLUSTER_CLASSES,
    ("networking.k8s.io", "IngressClass"): Stage.CLUSTER_CLASSES,
    ("node.k8s.io", "RuntimeClass"): Stage.CLUSTER_CLASSES,
    ("", "ServiceAccount"): Stage.ACCESS,
    ("rbac.authorization.k8s.io", "ClusterRole"): Stage.ACCESS,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): Stage.ACCESS,
    ("rbac.authorization.k8s.io", "Role"): Stage.ACCESS,
    ("rbac.authorization.k8s.io", "RoleBinding"): Stage.ACCESS,
    ("", "ResourceQuota"): Stage.ACCESS,
    ("", "LimitRange"): Stage.ACCESS,
    ("", "Secret"): Stage.SECRETS,
    ("", "ConfigMap"): Stage.CONFIGMAPS,
    ("", "PersistentVolume"): Stage.STORAGE,
    ("", "PersistentVolumeClaim"): Stage.STORAGE,
    ("", "Service"): Stage.SERVICES,
    ("apps", "StatefulSet"): Stage.WORKLOADS,
    ("apps", "Deployment"): Stage.WORKLOADS,
    ("apps", "DaemonSet"): Stage.WORKLOADS,
    ("apps", "ReplicaSet"): Stage.WORKLOADS,
    ("batch", "Job"): Stage.WORKLOADS,
    ("batch", "CronJob"): Stage.WORKLOADS,
    ("", "Pod"): Stage.WORKLOADS,
}

# Kinds whose rollout we wait for (see gitops.core.readiness).
ROLLOUT_KINDS: frozenset[tuple[str, str]] = frozenset(
    {("apps", "StatefulSet"), ("apps", "Deployment"), ("apps", "DaemonSet"), ("batch", "Job")}
)


def split_api_version(api_version: str) -> tuple[str, str]:
    """``apps/v1`` -> ``("apps", "v1")``; ``v1`` -> ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    return group, version


@dataclass(frozen=True, order=True)
class ObjectRef:
    """The identity of one object: what the API server calls it."""

    group: str
    version: str
    kind: str
    namespace: str | None
    name: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_kind(self) -> tuple[str, str]:
        return (self.group, self.kind)

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }

    @classmethod
    def of(cls, obj: Mapping[str, Any], namespace: str | None = None) -> ObjectRef:
        """The ref of a manifest or live object; ``namespace`` fills in a missing one."""
        group, version = split_api_version(str(obj.get("apiVersion", "")))
        meta = obj.get("metadata") or {}
        return cls(group, version, str(obj.get("kind", "")), meta.get("namespace") or namespace, meta["name"])


@dataclass(frozen=True)
class PlannedObject:
    """One manifest, with the namespace it will land in and the stage it belongs to."""

    ref: ObjectRef
    manifest: dict[str, Any]
    stage: Stage
    service: str | None

    @property
    def waits_for_rollout(self) -> bool:
        return self.ref.group_kind in ROLLOUT_KINDS


@dataclass(frozen=True)
class ApplyPlan:
    objects: tuple[PlannedObject, ...]
    skipped: tuple[PlannedObject, ...] = ()
    skipped_services: tuple[str, ...] = ()
    unknown_skip_names: tuple[str, ...] = ()

    def stages(self) -> list[tuple[Stage, list[PlannedObject]]]:
        """Non-empty stages in apply order."""
        grouped: dict[Stage, list[PlannedObject]] = {}
        for item in self.objects:
            grouped.setdefault(item.stage, []).append(item)
        return sorted(grouped.items())

    @property
    def services(self) -> list[str]:
        return sorted({o.service for o in (*self.objects, *self.skipped) if o.service})


def stage_of(group: str, kind: str) -> Stage:
    return _STAGES.get((group, kind), Stage.REST)


def service_of(obj: Mapping[str, Any]) -> str | None:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    value = labels.get(SERVICE_LABEL)
    return str(value) if value else None


@dataclass
class _Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, message: str, source: str, index: int) -> None:
        self.items.append(Problem(message, file=source, key=f"document {index + 1}"))


def _check_manifest(obj: Any, index: int, source: str, problems: _Problems) -> bool:
    if not isinstance(obj, Mapping):
        problems.add(f"is a {type(obj).__name__}, not a Kubernetes object", source, index)
        return False
    missing = [k for k in ("apiVersion", "kind") if not obj.get(k)]
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not meta.get("name"):
        if isinstance(meta, Mapping) and meta.get("generateName"):
            problems.add(
                "uses metadata.generateName, which server-side apply cannot address; give it a fixed name",
                source,
                index,
            )
            return False
        missing.append("metadata.name")
    if missing:
        problems.add(f"{obj.get('kind') or 'object'} lacks {', '.join(missing)}", source, index)
        return False
    return True


def build_plan(
    manifests: Sequence[Mapping[str, Any]],
    *,
    namespaced: Callable[[str, str], bool],
    default_namespace: str,
    skip_services: Iterable[str] = (),
    source: str = "manifests",
) -> ApplyPlan:
    """Order ``manifests`` into stages and leave out objects of ``skip_services``.

    ``namespaced(api_version, kind)`` answers from discovery. A namespaced object without
    ``metadata.namespace`` lands in ``default_namespace``; a cluster-scoped object that carries
    a namespace is refused (the server would ignore it and the user meant something else).
    Duplicate identities are refused: the second would silently overwrite the first.
    """
    problems = _Problems()
    seen: dict[ObjectRef, int] = {}
    planned: list[PlannedObject] = []
    for index, raw in enumerate(manifests):
        if not _check_manifest(raw, index, source, problems):
            continue
        obj = dict(raw)
        group, _version = split_api_version(str(obj["apiVersion"]))
        kind = str(obj["kind"])
        meta = dict(obj["metadata"])
        if namespaced(str(obj["apiVersion"]), kind):
            meta.setdefault("namespace", default_namespace)
            if not meta["namespace"]:
                meta["namespace"] = default_namespace
        elif meta.get("namespace"):
            problems.add(
                f"{kind} {meta['name']} is cluster-scoped but sets metadata.namespace "
                f"{meta['namespace']!r}; remove it",
                source,
                index,
            )
            continue
        obj["metadata"] = meta
        ref = ObjectRef.of(obj)
        if ref in seen:
            problems.add(f"{ref} appears twice (also document {seen[ref] + 1})", source, index)
            continue
        seen[ref] = index
        planned.append(PlannedObject(ref, obj, stage_of(group, kind), service_of(obj)))
    if problems.items:
        raise ConfigurationError(
            f"{len(problems.items)} manifest problem(s) in {source}; nothing was applied",
            file=source,
            title="Invalid manifests",
            problems=problems.items,
            hint="fix the manifests (or the overlay that renders them) and run again",
        )
    planned.sort(key=lambda p: p.stage)  # stable: kustomize order within a stage
    skip = sorted(set(skip_services))
    kept = tuple(p for p in planned if p.service not in skip)
    skipped = tuple(p for p in planned if p.service in skip)
    present = {p.service for p in planned}
    unknown = tuple(s for s in skip if s not in present)
    return ApplyPlan(kept, skipped, tuple(s for s in skip if s in present), unknown)


def unknown_skip_error(plan: ApplyPlan, source: str) -> ConfigurationError:
    """The error for ``--skip-service`` names that match no object (a typo would deploy a blocked service)."""
    known = ", ".join(plan.services) or "none"
    return ConfigurationError(
        f"--skip-service {', '.join(plan.unknown_skip_names)}: no object in {source} carries "
        f"the label {SERVICE_LABEL} with that value (services present: {known})",
        key="--skip-service",
        hint=f"use one of: {known}",
        title="Unknown service",
    )
