"""The API resources the fake server serves: what discovery lists and how URLs map to kinds."""

from __future__ import annotations

from dataclasses import dataclass, field

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    # Kinds whose `metadata.generation` the real apiserver tracks (spec changes bump it).
    generation: bool = True
    custom: bool = False
    verbs: tuple[str, ...] = field(default=tuple(VERBS))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified(self) -> str:
        """``statefulsets.apps`` / ``pods``: how NotFound and Conflict messages name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """``StatefulSet.apps`` / ``Service``: how Invalid messages name the kind."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def base_path(self, namespace: str | None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{root}/namespaces/{namespace}/{self.plural}"
        return f"{root}/{self.plural}"


_ALL = ("all",)
_STATUS = ("status",)
_SCALE = ("status", "scale")

BUILTIN: tuple[Resource, ...] = (
    Resource(
        "", "v1", "Namespace", "namespaces", False, ("ns",), (), ("status", "finalize"), generation=False
    ),
    Resource("", "v1", "Pod", "pods", True, ("po",), _ALL, ("status", "eviction", "binding")),
    Resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",), (), _STATUS, False),
    Resource("", "v1", "PersistentVolume", "persistentvolumes", False, ("pv",), (), _STATUS, False),
    Resource("", "v1", "Service", "services", True, ("svc",), _ALL, _STATUS, False),
    Resource("", "v1", "Secret", "secrets", True, (), (), (), False),
    Resource("", "v1", "ConfigMap", "configmaps", True, ("cm",), (), (), False),
    Resource("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",), (), (), False),
    Resource("", "v1", "Event", "events", True, ("ev",), (), (), False),
    Resource("", "v1", "Node", "nodes", False, ("no",), (), _STATUS, False),
    Resource("", "v1", "Endpoints", "endpoints", True, ("ep",), (), (), False),
    Resource("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), _ALL, _SCALE),
    Resource("apps", "v1", "Deployment", "deployments", True, ("deploy",), _ALL, _SCALE),
    Resource("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), _ALL, _SCALE),
    Resource("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), _ALL, _STATUS),
    Resource("apps", "v1", "ControllerRevision", "controllerrevisions", True, (), (), (), False),
    Resource("batch", "v1", "Job", "jobs", True, (), _ALL, _STATUS),
    Resource("batch", "v1", "CronJob", "cronjobs", True, ("cj",), _ALL, _STATUS),
    Resource("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ("pdb",), (), _STATUS),
    Resource("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ("sc",), (), (), False),
    Resource("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False, (), (), (), False),
    Resource("storage.k8s.io", "v1", "CSINode", "csinodes", False, (), (), (), False),
    Resource("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), (), _STATUS),
    Resource("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",), (), ()),
    Resource("rbac.authorization.k8s.io", "v1", "Role", "roles", True, (), (), (), False),
    Resource("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True, (), (), (), False),
    Resource("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False, (), (), (), False),
    Resource(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        False,
        (),
        (),
        (),
        False,
    ),
    Resource(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
        (),
        _STATUS,
    ),
)

# Preferred order of groups in discovery (the real server lists core first, then by priority).
GROUP_ORDER = [
    "",
    "apps",
    "batch",
    "policy",
    "storage.k8s.io",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "apiextensions.k8s.io",
]


class Registry:
    """Lookup of resources by URL segment and by apiVersion/kind; custom resources can be added."""

    def __init__(self) -> None:
        self._by_path: dict[tuple[str, str, str], Resource] = {}
        self._by_kind: dict[tuple[str, str], Resource] = {}
        for res in BUILTIN:
            self.add(res)

    def add(self, res: Resource) -> None:
        self._by_path[(res.group, res.version, res.plural)] = res
        self._by_kind[(res.api_version, res.kind)] = res

    def remove(self, res: Resource) -> None:
        self._by_path.pop((res.group, res.version, res.plural), None)
        self._by_kind.pop((res.api_version, res.kind), None)

    def by_path(self, group: str, version: str, plural: str) -> Resource | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> Resource | None:
        return self._by_kind.get((api_version, kind))

    def all(self) -> list[Resource]:
        return list(self._by_path.values())

    def groups(self) -> dict[str, list[str]]:
        """group -> versions (only v1 for built-ins; CRDs may add more)."""
        found: dict[str, list[str]] = {}
        for res in self._by_path.values():
            versions = found.setdefault(res.group, [])
            if res.version not in versions:
                versions.append(res.version)
        order = {g: i for i, g in enumerate(GROUP_ORDER)}
        return dict(sorted(found.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))

    def in_group_version(self, group: str, version: str) -> list[Resource]:
        return [r for r in self._by_path.values() if r.group == group and r.version == version]
