"""Built-in kinds the engine reads or writes besides the manifests' own (no discovery needed)."""

from __future__ import annotations

from gitops.adapters.kube import ApiResource

PVC = ApiResource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True)
POD = ApiResource("", "v1", "Pod", "pods", True)
SECRET = ApiResource("", "v1", "Secret", "secrets", True)
STORAGE_CLASS = ApiResource("storage.k8s.io", "v1", "StorageClass", "storageclasses", False)
CONTROLLER_REVISION = ApiResource("apps", "v1", "ControllerRevision", "controllerrevisions", True)
REPLICA_SET = ApiResource("apps", "v1", "ReplicaSet", "replicasets", True)

# (group, kind) -> resource, for the dependents core.ownership names.
BY_GROUP_KIND = {(r.group, r.kind): r for r in (PVC, POD, STORAGE_CLASS, CONTROLLER_REVISION, REPLICA_SET)}
