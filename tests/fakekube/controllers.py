"""The controller loop: what kube-controller-manager, the scheduler and the kubelet would do, simplified.

One ``tick()`` runs every controller once under the store lock. Semantics mimicked (upstream sources:
pkg/controller/statefulset, deployment, replicaset, daemon, job, garbagecollector, volume/pvcprotection):

- StatefulSet: ControllerRevisions ``<sts>-<hash>`` holding ``{"spec":{"template":{...,"$patch":"replace"}}}``
  (an equal older revision is re-numbered instead of duplicated); pods ``<sts>-<ordinal>`` and PVCs
  ``<claim>-<sts>-<ordinal>`` (existing PVCs reused; ownerReferences only per
  persistentVolumeClaimRetentionPolicy); OrderedReady waits for each pod to be Running and Ready; rolling
  update from the highest ordinal down to the partition; OnDelete; adoption of orphaned pods and revisions
  (same uid, never deleted); status counters and currentRevision/updateRevision. The known "forced
  rollback" issue is mimicked (a broken pod is not replaced after the template is reverted) unless the
  ``sts_forced_rollback_required`` knob is off.
- Deployment -> ReplicaSet (pod-template-hash, revision annotations) -> pods; Progressing/Available
  conditions including ProgressDeadlineExceeded.
- DaemonSet: one pod per Node; Job: pods run to completion; PVCs bind to their StorageClass and grow when
  it allows expansion; CRDs become Established and serve their kinds.
- Garbage collector: ``orphan`` and ``foregroundDeletion`` finalizers, dependents of deleted owners,
  ``kubernetes.io/pvc-protection``, namespace termination.
- Kubelet: pod phases, conditions and containerStatuses, shaped by the never_ready / crashloop /
  image_pull_backoff knobs and the readiness delay.
"""

from __future__ import annotations

import copy
import json
import re
import time
from typing import TYPE_CHECKING, Any

from tests.fakekube import authz, defaults, ssa
from tests.fakekube.api import random_suffix
from tests.fakekube.resources import Resource
from tests.fakekube.selectors import label_selector_matches, parse_label_selector, requirements_match
from tests.fakekube.store import key_of, now_rfc3339
from tests.fakekube.validation import parse_quantity

if TYPE_CHECKING:
    from tests.fakekube.fake import FakeKube

MANAGER = "kube-controller-manager"
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    return "".join(ALPHANUMS[ord(c) % len(ALPHANUMS)] for c in text)


def template_hash(template: Any, collision: int = 0) -> str:
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision:
        data += str(collision).encode()
    return safe_encode(str(fnv32a(data)))


def revision_data(template: dict[str, Any]) -> dict[str, Any]:
    """The ControllerRevision ``data`` of a StatefulSet/DaemonSet template (rollout undo patches with it).

    Keys are sorted at every level, as Go's json.Marshal of the map the real controller builds: kubectl's
    ``rollout undo`` compares these bytes with its own encoding of the live template to skip a no-op undo.
    """
    data: dict[str, Any] = _sorted({"spec": {"template": {**copy.deepcopy(template), "$patch": "replace"}}})
    return data


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def controller_ref(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_terminating(obj: dict[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return None


def pod_ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or is_terminating(pod):
        return False
    ready = condition(pod, "Ready")
    return bool(ready and ready.get("status") == "True")


def _labels(obj: dict[str, Any]) -> dict[str, Any]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _set_condition(conditions: list[dict[str, Any]], new: dict[str, Any], now: str) -> list[dict[str, Any]]:
    out = []
    found = False
    for cond in conditions:
        if cond.get("type") == new["type"]:
            found = True
            merged = dict(new)
            same = cond.get("status") == new.get("status")
            merged["lastTransitionTime"] = cond.get("lastTransitionTime", now) if same else now
            if "lastUpdateTime" in new:
                unchanged = same and cond.get("reason") == new.get("reason")
                merged["lastUpdateTime"] = cond.get("lastUpdateTime", now) if unchanged else now
            out.append(merged)
        else:
            out.append(cond)
    if not found:
        merged = dict(new)
        merged["lastTransitionTime"] = now
        if "lastUpdateTime" in new:
            merged["lastUpdateTime"] = now
        out.append(merged)
    return out


class Controllers:
    def __init__(self, fake: FakeKube) -> None:
        self.fake = fake
        self.api = fake.api
        self.store = fake.store
        self.first_seen: dict[str, float] = {}
        self._orphan_seen: dict[str, float] = {}  # uid -> when the GC first saw its orphan finalizer
        self.terminating_seen: dict[str, float] = {}
        self.deploy_progress: dict[str, float] = {}
        self.progress_keys: dict[str, tuple[Any, ...]] = {}
        self.changes = 0
        self.event_names: dict[tuple[str, str, str], str] = {}
        self.pod_modes: dict[str, str] = {}
        self._pod_ip = 10
        self._node_rr = 0

    # --- helpers ------------------------------------------------------------------------------

    def res(self, api_version: str, kind: str) -> Resource:
        found = self.fake.registry.by_kind(api_version, kind)
        assert found is not None, (api_version, kind)
        return found

    def save(
        self,
        new: dict[str, Any],
        old: dict[str, Any] | None,
        *,
        actor: str,
        subresource: str = "",
        manager: str = MANAGER,
    ) -> dict[str, Any]:
        """Persist a controller write (no validation), keeping managedFields and generation honest."""
        res = self.res(new["apiVersion"], new["kind"])
        if old is not None:
            if _same(new, old):
                return old
            meta = new.setdefault("metadata", {})
            if res.generation and _spec(new) != _spec(old):
                meta["generation"] = int((old.get("metadata") or {}).get("generation", 1)) + 1
        elif res.generation:
            new.setdefault("metadata", {}).setdefault("generation", 1)
        ssa.record_update(
            old,
            new,
            node=self.api.schema_for(res),
            manager=manager,
            api_version=res.api_version,
            subresource=subresource,
            has_status=res.has_status,
            now=now_rfc3339(),
        )
        self.changes += 1
        return self.store.put(new, actor=actor)

    def remove(self, obj: dict[str, Any], *, actor: str) -> None:
        self.changes += 1
        self.store.remove(key_of(obj), actor=actor)

    def delete(self, obj: dict[str, Any], *, actor: str, policy: str = "Background") -> None:
        res = self.res(obj["apiVersion"], obj["kind"])
        if obj["kind"] == "Pod" and actor.startswith("controller:"):
            self._child_event(obj, "delete")
        self.changes += 1
        self.store.delete_log.append(
            {
                "time": now_rfc3339(),
                "apiVersion": obj["apiVersion"],
                "kind": obj["kind"],
                "namespace": obj["metadata"].get("namespace"),
                "name": obj["metadata"]["name"],
                "uid": obj["metadata"].get("uid"),
                "propagationPolicy": policy,
                "dryRun": False,
                "actor": actor,
            }
        )
        self.api.delete_object(res, copy.deepcopy(obj), policy=policy, actor=actor)

    def objects(self, group: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return list(self.store.iter_type(group, kind, namespace))

    def event(
        self, obj: dict[str, Any], reason: str, message: str, *, component: str, warning: bool = False
    ) -> None:
        """Record a core/v1 Event about ``obj`` (a repeat bumps ``count``), as the real components do."""
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (str(meta.get("uid")), reason, message)
        now = now_rfc3339()
        known = self.event_names.get(key)
        current = self.store.peek(("", "Event", namespace, known)) if known else None
        if current is not None:
            new = copy.deepcopy(current)
            new["count"] = int(current.get("count", 1)) + 1
            new["lastTimestamp"] = now
            self.save(new, current, actor=f"controller:{component}", manager=component)
            return
        name = f"{meta['name']}.{time.time_ns():x}"
        self.event_names[key] = name
        involved = {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta["name"],
            "namespace": namespace,
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        self.save(
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": involved,
                "reason": reason,
                "message": message,
                "source": {"component": component},
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
                "type": "Warning" if warning else "Normal",
                "reportingComponent": component,
                "reportingInstance": "",
            },
            None,
            actor=f"controller:{component}",
            manager=component,
        )

    def _owner_of(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        ref = controller_ref(obj)
        return self.store.by_uid(str(ref.get("uid"))) if ref else None

    def _child_event(self, child: dict[str, Any], verb: str) -> None:
        """SuccessfulCreate/SuccessfulDelete on the controller that owns ``child``."""
        owner = self._owner_of(child)
        if owner is None:
            return
        name, kind = child["metadata"]["name"], owner["kind"]
        component = {
            "StatefulSet": "statefulset-controller",
            "ReplicaSet": "replicaset-controller",
            "DaemonSet": "daemonset-controller",
            "Job": "job-controller",
        }.get(kind, "controller")
        if kind == "StatefulSet":
            message = f"{verb} Pod {name} in StatefulSet {owner['metadata']['name']} successful"
        else:
            message = f"{verb.capitalize()}d pod: {name}"
        self.event(owner, f"Successful{verb.capitalize()}", message, component=component)

    # --- the loop ---------------------------------------------------------------------------

    def tick(self) -> int:
        """Run every controller once; returns how many writes it made."""
        self.changes = 0
        with self.store.lock:
            self.crds()
            self.garbage_collector()
            self.namespaces()
            self.service_account_tokens()
            self.pvcs()
            for sts in self.objects("apps", "StatefulSet"):
                self.statefulset(sts)
            for deploy in self.objects("apps", "Deployment"):
                self.deployment(deploy)
            for rs in self.objects("apps", "ReplicaSet"):
                self.replicaset(rs)
            for ds in self.objects("apps", "DaemonSet"):
                self.daemonset(ds)
            for job in self.objects("batch", "Job"):
                self.job(job)
            for pdb in self.objects("policy", "PodDisruptionBudget"):
                self.disruption_budget(pdb)
            self.kubelet()
        return self.changes

    # --- ServiceAccount tokens -----------------------------------------------------------------

    def service_account_tokens(self) -> None:
        """The token controller: fill each long-lived token Secret of an existing ServiceAccount."""
        for secret in authz.fill_service_account_tokens(self.fake):
            self.save(secret, self.store.get(key_of(secret)), actor="controller:serviceaccount-token")

    # --- CRDs ----------------------------------------------------------------------------------

    def crds(self) -> None:
        self.fake.sync_crds()
        for crd in self.objects("apiextensions.k8s.io", "CustomResourceDefinition"):
            if is_terminating(crd):
                self._crd_cleanup(crd)
                continue
            established = condition(crd, "Established")
            if established and established.get("status") == "True":
                continue
            new = copy.deepcopy(crd)
            now = now_rfc3339()
            names = (new.get("spec") or {}).get("names") or {}
            status = new.setdefault("status", {})
            conditions = status.get("conditions") or []
            conditions = _set_condition(
                conditions,
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                },
                now,
            )
            conditions = _set_condition(
                conditions,
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                },
                now,
            )
            status["conditions"] = conditions
            status["acceptedNames"] = names
            status["storedVersions"] = [
                v["name"] for v in (new.get("spec") or {}).get("versions") or [] if v.get("storage")
            ]
            finalizers = new["metadata"].setdefault("finalizers", [])
            if "customresourcecleanup.apiextensions.k8s.io" not in finalizers:
                finalizers.append("customresourcecleanup.apiextensions.k8s.io")
            self.save(new, crd, actor="controller:apiextensions", subresource="status")
            self.fake.sync_crds()

    def _crd_cleanup(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
        remaining = self.objects(group, kind)
        for obj in remaining:
            if not is_terminating(obj):
                self.delete(obj, actor="controller:apiextensions")
        if not self.objects(group, kind):
            self._drop_finalizer(
                crd, "customresourcecleanup.apiextensions.k8s.io", actor="controller:apiextensions"
            )

    def _drop_finalizer(self, obj: dict[str, Any], finalizer: str, *, actor: str) -> None:
        new = copy.deepcopy(obj)
        finalizers = [f for f in new["metadata"].get("finalizers") or [] if f != finalizer]
        if finalizers:
            new["metadata"]["finalizers"] = finalizers
            self.save(new, obj, actor=actor)
        else:
            new["metadata"].pop("finalizers", None)
            stored = self.save(new, obj, actor=actor)
            if is_terminating(stored):
                self.remove(stored, actor=actor)

    # --- garbage collector --------------------------------------------------------------------

    def _orphan_due(self, uid: str) -> bool:
        """May the GC remove the ``orphan`` finalizer of ``uid`` now? (knobs: orphan_finalizer_seconds,
        gc_stalled)"""
        knobs = self.fake.knobs
        if knobs.gc_stalled:
            return False
        first_seen = self._orphan_seen.setdefault(uid, time.monotonic())
        return time.monotonic() - first_seen >= knobs.orphan_finalizer_seconds

    def garbage_collector(self) -> None:
        dependents: dict[str, list[dict[str, Any]]] = {}
        for obj in list(self.store.objects.values()):
            for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
                dependents.setdefault(str(ref.get("uid")), []).append(obj)
        for obj in list(self.store.objects.values()):
            meta = obj.get("metadata") or {}
            if not meta.get("deletionTimestamp"):
                continue
            finalizers = list(meta.get("finalizers") or [])
            uid = str(meta.get("uid"))
            if "orphan" in finalizers:
                if not self._orphan_due(uid):
                    continue
                for dep in dependents.get(uid, []):
                    current = self.store.peek(key_of(dep))
                    if current is None:
                        continue
                    new = copy.deepcopy(current)
                    refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
                    if refs:
                        new["metadata"]["ownerReferences"] = refs
                    else:
                        new["metadata"].pop("ownerReferences", None)
                    self.save(new, current, actor="garbage-collector")
                current = self.store.peek(key_of(obj))
                if current is not None:
                    self._drop_finalizer(current, "orphan", actor="garbage-collector")
                continue
            if "foregroundDeletion" in finalizers:
                alive = [d for d in dependents.get(uid, []) if self.store.peek(key_of(d)) is not None]
                for dep in alive:
                    if not is_terminating(dep):
                        self.delete(dep, actor="garbage-collector", policy="Foreground")
                if not [d for d in alive if self.store.peek(key_of(d)) is not None]:
                    self._drop_finalizer(obj, "foregroundDeletion", actor="garbage-collector")
                continue
            if (
                "kubernetes.io/pvc-protection" in finalizers
                and obj.get("kind") == "PersistentVolumeClaim"
                and not self._pvc_in_use(obj)
            ):
                self._drop_finalizer(obj, "kubernetes.io/pvc-protection", actor="controller:pvc-protection")
        # Dependents whose owners are all gone are deleted (background propagation).
        for obj in list(self.store.objects.values()):
            refs = (obj.get("metadata") or {}).get("ownerReferences") or []
            if not refs or is_terminating(obj):
                continue
            alive = [r for r in refs if self.store.uids.get(str(r.get("uid"))) is not None]
            if not alive:
                self.delete(obj, actor="garbage-collector")
            elif len(alive) != len(refs):
                new = copy.deepcopy(obj)
                new["metadata"]["ownerReferences"] = alive
                self.save(new, obj, actor="garbage-collector")

    def _pvc_in_use(self, pvc: dict[str, Any]) -> bool:
        name = pvc["metadata"]["name"]
        for pod in self.objects("", "Pod", pvc["metadata"].get("namespace")):
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            for volume in (pod.get("spec") or {}).get("volumes") or []:
                if ((volume.get("persistentVolumeClaim") or {}).get("claimName")) == name:
                    return True
        return False

    def namespaces(self) -> None:
        for ns in self.objects("", "Namespace"):
            if not is_terminating(ns):
                continue
            name = ns["metadata"]["name"]
            remaining = 0
            for key, obj in list(self.store.objects.items()):
                if key[2] != name or key[1] == "Namespace":
                    continue
                remaining += 1
                if not is_terminating(obj):
                    self.delete(obj, actor="controller:namespace")
            if remaining == 0 and not ns["metadata"].get("finalizers"):
                self.remove(ns, actor="controller:namespace")

    # --- volumes -------------------------------------------------------------------------------

    def pvcs(self) -> None:
        self._reclaim_volumes()
        for pvc in self.objects("", "PersistentVolumeClaim"):
            spec = pvc.get("spec") or {}
            status = pvc.get("status") or {}
            requested = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
            class_name = spec.get("storageClassName")
            sc = self.api.storage_class(class_name) if class_name else None
            if status.get("phase") != "Bound":
                if sc is not None:
                    self._bind(pvc, sc)
                continue
            capacity = (status.get("capacity") or {}).get("storage")
            want, have = parse_quantity(requested), parse_quantity(capacity)
            if (
                want is not None
                and have is not None
                and want > have
                and sc
                and sc.get("allowVolumeExpansion")
            ):
                new = copy.deepcopy(pvc)
                new["status"]["capacity"] = {"storage": requested}
                new["status"]["allocatedResources"] = {"storage": requested}
                self.save(new, pvc, actor="controller:volume-expand", subresource="status")

    def _bind(self, pvc: dict[str, Any], sc: dict[str, Any], node: str | None = None) -> None:
        """Provision and bind ``pvc`` (a new PV of its StorageClass); ``node``: the scheduler chose one."""
        spec = pvc.get("spec") or {}
        new = copy.deepcopy(pvc)
        new["spec"]["volumeName"] = f"pvc-{pvc['metadata']['uid']}"
        annotations = new["metadata"].setdefault("annotations", {})
        annotations["pv.kubernetes.io/bind-completed"] = "yes"
        annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
        annotations["volume.beta.kubernetes.io/storage-provisioner"] = sc.get("provisioner", "")
        annotations["volume.kubernetes.io/storage-provisioner"] = sc.get("provisioner", "")
        if node and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
            annotations["volume.kubernetes.io/selected-node"] = node
        new["status"] = {
            "phase": "Bound",
            "accessModes": list(spec.get("accessModes") or []),
            "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage")},
        }
        saved = self.save(new, pvc, actor="controller:persistentvolume-binder")
        self._provision(saved, sc)

    def _provision(self, pvc: dict[str, Any], sc: dict[str, Any]) -> None:
        """The CSI external-provisioner's PersistentVolume for a claim it bound: the StorageClass's
        reclaimPolicy (default Delete), a claimRef back to the claim, the driver's volume handle.
        (kubernetes-csi/external-provisioner controller.go; the PV object: core/v1 PersistentVolume.)"""
        meta, spec = pvc["metadata"], pvc.get("spec") or {}
        name = spec["volumeName"]
        if self.store.peek(("", "PersistentVolume", "", name)) is not None:
            return
        driver = sc.get("provisioner", "")
        pv: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": driver}},
            "spec": {
                "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                "capacity": dict((pvc.get("status") or {}).get("capacity") or {}),
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": meta.get("namespace", "default"),
                    "name": meta["name"],
                    "uid": meta.get("uid"),
                    "resourceVersion": meta.get("resourceVersion"),
                },
                "csi": {"driver": driver, "fsType": "ext4", "volumeHandle": str(abs(hash(name)) % 10**9)},
                "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                "storageClassName": sc["metadata"]["name"],
                "volumeMode": spec.get("volumeMode", "Filesystem"),
            },
            "status": {"phase": "Bound"},
        }
        self.save(pv, None, actor="controller:external-provisioner")

    def _reclaim_volumes(self) -> None:
        """A claim is gone: Delete removes its PersistentVolume (and the disk behind it), Retain keeps
        it Released with its claimRef (https://kubernetes.io/docs/concepts/storage/persistent-volumes/#reclaiming)."""
        for pv in self.objects("", "PersistentVolume"):
            ref = (pv.get("spec") or {}).get("claimRef") or {}
            if not ref.get("name") or (pv.get("status") or {}).get("phase") == "Released":
                continue
            claim = self.store.peek(("", "PersistentVolumeClaim", ref.get("namespace") or "", ref["name"]))
            if claim is not None and (not ref.get("uid") or claim["metadata"].get("uid") == ref.get("uid")):
                continue
            if pv["spec"].get("persistentVolumeReclaimPolicy", "Delete") == "Delete":
                self.delete(pv, actor="controller:external-provisioner")
            else:
                new = copy.deepcopy(pv)
                new["status"] = {"phase": "Released"}
                self.save(new, pv, actor="controller:persistentvolume-binder", subresource="status")

    def _bind_claims(self, pod: dict[str, Any], node: str) -> bool:
        """The scheduler's volume binding for ``pod`` on ``node``: all its claims end up Bound, or none
        is touched and the pod stays unscheduled (a claim missing, or of an unknown StorageClass).

        As with WaitForFirstConsumer on a real cluster, the claims bind when the pod is scheduled,
        before anything runs, so a pod never has a node (let alone readiness) with a Pending claim.
        """
        namespace = pod["metadata"].get("namespace", "default")
        pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            pvc = self.store.peek(("", "PersistentVolumeClaim", namespace, claim))
            if pvc is None:
                return False
            if (pvc.get("status") or {}).get("phase") == "Bound":
                continue
            class_name = (pvc.get("spec") or {}).get("storageClassName")
            sc = self.api.storage_class(class_name) if class_name else None
            if sc is None:
                return False
            pending.append((pvc, sc))
        for pvc, sc in pending:
            self._bind(pvc, sc, node)
        return True

    def _ensure_claims(self, sts: dict[str, Any], ordinal: int) -> None:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        namespace = meta.get("namespace", "default")
        for template in spec.get("volumeClaimTemplates") or []:
            claim_name = f"{template['metadata']['name']}-{meta['name']}-{ordinal}"
            if self.store.peek(("", "PersistentVolumeClaim", namespace, claim_name)) is not None:
                continue
            labels = dict((template.get("metadata") or {}).get("labels") or {})
            labels.update(((spec.get("selector") or {}).get("matchLabels")) or {})
            claim: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {
                    "name": claim_name,
                    "namespace": namespace,
                    "labels": labels,
                    "finalizers": ["kubernetes.io/pvc-protection"],
                },
                "spec": copy.deepcopy(template.get("spec") or {}),
                "status": {"phase": "Pending"},
            }
            annotations = (template.get("metadata") or {}).get("annotations")
            if annotations:
                claim["metadata"]["annotations"] = dict(annotations)
            if "storageClassName" not in claim["spec"]:
                default_class = self.api._default_storage_class()
                if default_class:
                    claim["spec"]["storageClassName"] = default_class
            defaults.pvc(claim)
            self.save(claim, None, actor="controller:statefulset")
            self.event(
                sts,
                "SuccessfulCreate",
                f"create Claim {claim_name} Pod {meta['name']}-{ordinal} in "
                f"StatefulSet {meta['name']} success",
                component="statefulset-controller",
            )

    def _sync_claim_owners(self, sts: dict[str, Any], pods_by_ordinal: dict[int, dict[str, Any]]) -> None:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        policy = spec.get("persistentVolumeClaimRetentionPolicy") or {}
        when_deleted = policy.get("whenDeleted", "Retain")
        when_scaled = policy.get("whenScaled", "Retain")
        replicas = int(spec.get("replicas", 1))
        start = int((spec.get("ordinals") or {}).get("start", 0))
        namespace = meta.get("namespace", "default")
        pattern = re.compile(rf"^(?P<claim>.+)-{re.escape(meta['name'])}-(?P<ord>\d+)$")
        templates = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates") or []}
        for pvc in self.objects("", "PersistentVolumeClaim", namespace):
            match = pattern.match(pvc["metadata"]["name"])
            if not match or match.group("claim") not in templates:
                continue
            ordinal = int(match.group("ord"))
            refs = [dict(r) for r in pvc["metadata"].get("ownerReferences") or []]
            pod_names = {f"{meta['name']}-{ordinal}"}
            kept = [
                r
                for r in refs
                if not (
                    r.get("uid") == meta["uid"] or (r.get("kind") == "Pod" and r.get("name") in pod_names)
                )
            ]
            if when_deleted == "Delete":
                kept.append(
                    {
                        "apiVersion": "apps/v1",
                        "kind": "StatefulSet",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                )
            condemned = not (start <= ordinal < start + replicas)
            pod = pods_by_ordinal.get(ordinal)
            if when_scaled == "Delete" and condemned and pod is not None:
                kept.append(
                    {
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "name": pod["metadata"]["name"],
                        "uid": pod["metadata"]["uid"],
                        "controller": False,
                        "blockOwnerDeletion": True,
                    }
                )
            if kept != refs:
                new = copy.deepcopy(pvc)
                if kept:
                    new["metadata"]["ownerReferences"] = kept
                else:
                    new["metadata"].pop("ownerReferences", None)
                self.save(new, pvc, actor="controller:statefulset")

    # --- revisions ------------------------------------------------------------------------------

    def _claim(
        self, owner: dict[str, Any], candidates: list[dict[str, Any]], *, actor: str, member: Any = None
    ) -> list[dict[str, Any]]:
        """Adopt matching orphans and release non-matching children, as ControllerRefManager does."""
        uid = owner["metadata"]["uid"]
        selector = (owner.get("spec") or {}).get("selector")
        owned: list[dict[str, Any]] = []
        for obj in candidates:
            ref = controller_ref(obj)
            matches = label_selector_matches(selector, _labels(obj))
            if ref is not None and ref.get("uid") == uid:
                if matches:
                    owned.append(obj)
                else:
                    new = copy.deepcopy(obj)
                    new["metadata"]["ownerReferences"] = [
                        r for r in new["metadata"]["ownerReferences"] if r.get("uid") != uid
                    ] or None
                    if new["metadata"]["ownerReferences"] is None:
                        new["metadata"].pop("ownerReferences")
                    self.save(new, obj, actor=actor)
            elif ref is None and matches and not is_terminating(obj) and (member is None or member(obj)):
                new = copy.deepcopy(obj)
                new["metadata"].setdefault("ownerReferences", []).append(owner_ref(owner))
                owned.append(self.save(new, obj, actor=actor))
        return owned

    def _revisions(self, owner: dict[str, Any], actor: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Claim ControllerRevisions and return (all revisions, the update revision) for the template."""
        meta, spec = owner["metadata"], owner.get("spec") or {}
        namespace = meta.get("namespace", "default")
        revisions = self._claim(owner, self.objects("apps", "ControllerRevision", namespace), actor=actor)
        revisions.sort(key=lambda r: int(r.get("revision", 0)))
        template = spec.get("template") or {}
        data = revision_data(template)
        highest = int(revisions[-1].get("revision", 0)) if revisions else 0
        for revision in reversed(revisions):
            if revision.get("data") == data:
                if int(revision.get("revision", 0)) != highest:
                    new = copy.deepcopy(revision)
                    new["revision"] = highest + 1
                    renumbered = self.save(new, revision, actor=actor)
                    name = renumbered["metadata"]["name"]
                    revisions = [r for r in revisions if r["metadata"]["name"] != name]
                    revisions.append(renumbered)
                    return revisions, renumbered
                return revisions, revision
        collision = int((owner.get("status") or {}).get("collisionCount", 0))
        while True:
            hashed = template_hash(data, collision)
            name = f"{meta['name']}-{hashed}"
            existing = self.store.peek(("apps", "ControllerRevision", namespace, name))
            if existing is None:
                break
            if existing.get("data") == data:
                return revisions, existing
            collision += 1
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels["controller.kubernetes.io/hash"] = hashed
        created = self.save(
            {
                "apiVersion": "apps/v1",
                "kind": "ControllerRevision",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": labels,
                    "ownerReferences": [owner_ref(owner)],
                },
                "data": data,
                "revision": highest + 1,
            },
            None,
            actor=actor,
        )
        revisions.append(created)
        return revisions, created

    def _truncate_history(
        self, owner: dict[str, Any], revisions: list[dict[str, Any]], live: set[str], actor: str
    ) -> None:
        limit = int((owner.get("spec") or {}).get("revisionHistoryLimit", 10))
        old = [r for r in revisions if r["metadata"]["name"] not in live]
        old.sort(key=lambda r: int(r.get("revision", 0)))
        excess = len(old) - limit
        for revision in old[: max(0, excess)]:
            self.delete(revision, actor=actor)

    # --- StatefulSet -----------------------------------------------------------------------------

    def statefulset(self, sts: dict[str, Any]) -> None:
        if is_terminating(sts):
            return
        actor = "controller:statefulset"
        meta, spec = sts["metadata"], sts.get("spec") or {}
        namespace = meta.get("namespace", "default")
        name = meta["name"]
        member_re = re.compile(rf"^{re.escape(name)}-(\d+)$")
        pods = self._claim(
            sts,
            self.objects("", "Pod", namespace),
            actor=actor,
            member=lambda p: bool(member_re.match(p["metadata"]["name"])),
        )
        revisions, update_rev = self._revisions(sts, actor)
        update_name = update_rev["metadata"]["name"]
        status = sts.get("status") or {}
        names = {r["metadata"]["name"]: r for r in revisions}
        current_name = (
            status.get("currentRevision") if status.get("currentRevision") in names else update_name
        )
        current_rev = names.get(current_name, update_rev)
        replicas = int(spec.get("replicas", 1))
        start = int((spec.get("ordinals") or {}).get("start", 0))
        strategy = spec.get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0)) if rolling else 0
        monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        by_ord: dict[int, dict[str, Any]] = {}
        for pod in pods:
            match = member_re.match(pod["metadata"]["name"])
            if match:
                by_ord[int(match.group(1))] = pod
        self._sts_pods(
            sts,
            by_ord,
            start=start,
            replicas=replicas,
            partition=partition,
            rolling=rolling,
            monotonic=monotonic,
            current_rev=current_rev,
            update_rev=update_rev,
        )
        # Re-read after the writes above for an honest status.
        pods = [
            p
            for p in self.objects("", "Pod", namespace)
            if (controller_ref(p) or {}).get("uid") == meta["uid"]
        ]
        by_ord = {}
        for pod in pods:
            match = member_re.match(pod["metadata"]["name"])
            if match:
                by_ord[int(match.group(1))] = pod
        self._sync_claim_owners(sts, by_ord)
        # As StatefulSetControl.updateStatefulSet counts: terminating pods are replicas but neither current
        # nor updated.
        ready = [p for p in pods if pod_ready(p)]
        alive = [p for p in pods if not is_terminating(p)]
        updated = [p for p in alive if _labels(p).get("controller-revision-hash") == update_name]
        current = [p for p in alive if _labels(p).get("controller-revision-hash") == current_name]
        new_status: dict[str, Any] = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(pods),
            "readyReplicas": len(ready),
            "currentReplicas": len(current),
            "updatedReplicas": len(updated),
            "currentRevision": current_name,
            "updateRevision": update_name,
            "collisionCount": int(status.get("collisionCount", 0)),
            "availableReplicas": len(ready),
        }
        if rolling and len(updated) == len(pods) and len(ready) == len(pods):
            new_status["currentRevision"] = update_name
            new_status["currentReplicas"] = len(updated)
        for key in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if new_status[key] == 0:
                new_status.pop(key)
        live_revisions = {_labels(p).get("controller-revision-hash", "") for p in pods}
        live_revisions |= {new_status["currentRevision"], update_name}
        self._truncate_history(
            sts, [r for r in revisions if self.store.peek(key_of(r))], live_revisions, actor
        )
        latest = self.store.peek(key_of(sts))
        if latest is not None and (latest.get("status") or {}) != new_status:
            new = copy.deepcopy(latest)
            new["status"] = new_status
            self.save(new, latest, actor=actor, subresource="status")

    def _sts_pods(
        self,
        sts: dict[str, Any],
        by_ord: dict[int, dict[str, Any]],
        *,
        start: int,
        replicas: int,
        partition: int,
        rolling: bool,
        monotonic: bool,
        current_rev: dict[str, Any],
        update_rev: dict[str, Any],
    ) -> None:
        actor = "controller:statefulset"
        update_name = update_rev["metadata"]["name"]
        forced_issue = self.fake.knobs.sts_forced_rollback_required
        for ordinal in range(start, start + replicas):
            pod = by_ord.get(ordinal)
            if pod is not None and (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded"):
                if not is_terminating(pod):
                    self.delete(pod, actor=actor)
                if monotonic:
                    return
                continue
            if pod is None:
                self._ensure_claims(sts, ordinal)
                use_current = rolling and ordinal - start < partition
                revision = current_rev if use_current else update_rev
                self._create_sts_pod(sts, ordinal, revision)
                if monotonic:
                    return
                continue
            if is_terminating(pod):
                if monotonic:
                    return
                continue
            if not pod_ready(pod) and monotonic:
                stale = _labels(pod).get("controller-revision-hash") != update_name
                if forced_issue or not stale or not rolling:
                    return
        # Scale down: the highest condemned ordinal first.
        condemned = sorted((o for o in by_ord if not (start <= o < start + replicas)), reverse=True)
        for ordinal in condemned:
            pod = by_ord[ordinal]
            if not is_terminating(pod):
                self.delete(pod, actor=actor)
            if monotonic:
                return
        if not rolling:
            return
        for ordinal in range(start + replicas - 1, start + partition - 1, -1):
            pod = by_ord.get(ordinal)
            if pod is None:
                return
            if _labels(pod).get("controller-revision-hash") != update_name and not is_terminating(pod):
                self.delete(pod, actor=actor)
                return
            if not pod_ready(pod):
                return

    def _create_sts_pod(self, sts: dict[str, Any], ordinal: int, revision: dict[str, Any]) -> None:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
        template.pop("$patch", None)
        name = f"{meta['name']}-{ordinal}"
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        labels["controller-revision-hash"] = revision["metadata"]["name"]
        labels["statefulset.kubernetes.io/pod-name"] = name
        labels["apps.kubernetes.io/pod-index"] = str(ordinal)
        pod_spec = copy.deepcopy(template.get("spec") or {})
        pod_spec["hostname"] = name
        if spec.get("serviceName"):
            pod_spec["subdomain"] = spec["serviceName"]
        volumes = [
            v
            for v in pod_spec.get("volumes") or []
            if v.get("name") not in {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates") or []}
        ]
        for claim in spec.get("volumeClaimTemplates") or []:
            volumes.append(
                {
                    "name": claim["metadata"]["name"],
                    "persistentVolumeClaim": {
                        "claimName": f"{claim['metadata']['name']}-{meta['name']}-{ordinal}"
                    },
                }
            )
        if volumes:
            pod_spec["volumes"] = volumes
        self._create_pod(
            sts,
            name,
            labels,
            (template.get("metadata") or {}).get("annotations"),
            pod_spec,
            actor="controller:statefulset",
        )

    def _create_pod(
        self,
        owner: dict[str, Any],
        name: str,
        labels: dict[str, Any],
        annotations: Any,
        pod_spec: dict[str, Any],
        *,
        actor: str,
    ) -> dict[str, Any]:
        pod: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": owner["metadata"].get("namespace", "default"),
                "labels": labels,
                "ownerReferences": [owner_ref(owner)],
            },
            "spec": pod_spec,
        }
        if annotations:
            pod["metadata"]["annotations"] = dict(annotations)
        defaults.pod(pod)
        created = self.save(pod, None, actor=actor)
        self._child_event(created, "create")
        return created

    # --- Deployment / ReplicaSet ----------------------------------------------------------------

    def deployment(self, deploy: dict[str, Any]) -> None:
        if is_terminating(deploy):
            return
        actor = "controller:deployment"
        meta, spec = deploy["metadata"], deploy.get("spec") or {}
        namespace = meta.get("namespace", "default")
        sets = self._claim(deploy, self.objects("apps", "ReplicaSet", namespace), actor=actor)
        template = copy.deepcopy(spec.get("template") or {})
        replicas = int(spec.get("replicas", 1))

        def stripped(rs: dict[str, Any]) -> dict[str, Any]:
            t = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
            (t.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
            return t

        def revision_of(rs: dict[str, Any]) -> int:
            return int(
                ((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision")) or 0
            )

        max_revision = max((revision_of(rs) for rs in sets), default=0)
        new_rs = next((rs for rs in sets if stripped(rs) == template), None)
        if spec.get("paused"):
            return
        if new_rs is None:
            hashed = template_hash(template)
            rs_template = copy.deepcopy(template)
            rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = hashed
            selector = copy.deepcopy(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = hashed
            new_rs = self.save(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{meta['name']}-{hashed}",
                        "namespace": namespace,
                        "labels": dict(rs_template["metadata"]["labels"]),
                        "annotations": {
                            "deployment.kubernetes.io/revision": str(max_revision + 1),
                            "deployment.kubernetes.io/desired-replicas": str(replicas),
                            "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                        },
                        "ownerReferences": [owner_ref(deploy)],
                    },
                    "spec": {
                        "replicas": 0,
                        "selector": selector,
                        "template": rs_template,
                        "minReadySeconds": spec.get("minReadySeconds", 0),
                    },
                },
                None,
                actor=actor,
            )
            sets.append(new_rs)
        elif revision_of(new_rs) < max_revision:
            updated = copy.deepcopy(new_rs)
            updated["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = str(
                max_revision + 1
            )
            new_rs = self.save(updated, new_rs, actor=actor)
        old_sets = [rs for rs in sets if rs["metadata"]["name"] != new_rs["metadata"]["name"]]
        new_available = int((new_rs.get("status") or {}).get("availableReplicas", 0))
        recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
        old_pods = sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in old_sets)
        want_new = replicas if not (recreate and old_pods > 0) else 0
        self._scale_rs(new_rs, want_new, actor)
        for rs in old_sets:
            target = (
                0
                if recreate
                else max(0, min(int((rs.get("spec") or {}).get("replicas", 0)), replicas - new_available))
            )
            self._scale_rs(rs, target, actor)
        revision = str(revision_of(self.store.peek(key_of(new_rs)) or new_rs))
        latest = self.store.peek(key_of(deploy))
        if latest is None:
            return
        annotations = (latest["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision")
        if annotations != revision:
            new = copy.deepcopy(latest)
            new["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = revision
            latest = self.save(new, latest, actor=actor)
        self._deployment_status(latest, new_rs, old_sets, actor)
        self._truncate_rs_history(latest, old_sets, actor)

    def _deployment_status(
        self, deploy: dict[str, Any], new_rs: dict[str, Any], old_sets: list[dict[str, Any]], actor: str
    ) -> None:
        meta, spec = deploy["metadata"], deploy.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        new_rs = self.store.peek(key_of(new_rs)) or new_rs
        all_sets = [new_rs] + [self.store.peek(key_of(rs)) or rs for rs in old_sets]
        total = sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in all_sets)
        ready = sum(int((rs.get("status") or {}).get("readyReplicas", 0)) for rs in all_sets)
        available = sum(int((rs.get("status") or {}).get("availableReplicas", 0)) for rs in all_sets)
        updated = int((new_rs.get("status") or {}).get("replicas", 0))
        new_available = int((new_rs.get("status") or {}).get("availableReplicas", 0))
        now = now_rfc3339()
        conditions = list((deploy.get("status") or {}).get("conditions") or [])
        max_unavailable = _resolve_percent(
            ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%"),
            replicas,
            round_up=False,
        )
        min_available = replicas - max_unavailable
        if available >= min_available:
            avail_cond = {
                "type": "Available",
                "status": "True",
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
                "lastUpdateTime": now,
            }
        else:
            avail_cond = {
                "type": "Available",
                "status": "False",
                "reason": "MinimumReplicasUnavailable",
                "message": "Deployment does not have minimum availability.",
                "lastUpdateTime": now,
            }
        rs_name = new_rs["metadata"]["name"]
        complete = updated == replicas and new_available == replicas and total == replicas
        uid = meta["uid"]
        progress_key = (rs_name, updated, new_available, total, meta.get("generation", 1))
        if self.progress_keys.get(uid) != progress_key:
            self.progress_keys[uid] = progress_key
            self.deploy_progress[uid] = time.monotonic()
        last_progress = self.deploy_progress[uid]
        deadline = spec.get("progressDeadlineSeconds")
        if complete:
            prog = {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{rs_name}" has successfully progressed.',
                "lastUpdateTime": now,
            }
        elif deadline is not None and time.monotonic() - last_progress > float(deadline):
            prog = {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": f'ReplicaSet "{rs_name}" has timed out progressing.',
                "lastUpdateTime": now,
            }
        else:
            prog = {
                "type": "Progressing",
                "status": "True",
                "reason": "ReplicaSetUpdated",
                "message": f'ReplicaSet "{rs_name}" is progressing.',
                "lastUpdateTime": now,
            }
        conditions = _set_condition(conditions, avail_cond, now)
        conditions = _set_condition(conditions, prog, now)
        conditions.sort(key=lambda c: 0 if c["type"] == "Available" else 1)
        new_status: dict[str, Any] = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "unavailableReplicas": max(0, replicas - available),
            "conditions": conditions,
        }
        for key in (
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
        ):
            if new_status[key] == 0:
                new_status.pop(key)
        if _strip_times(deploy.get("status") or {}) != _strip_times(new_status):
            new = copy.deepcopy(deploy)
            new["status"] = new_status
            self.save(new, deploy, actor=actor, subresource="status")

    def _truncate_rs_history(
        self, deploy: dict[str, Any], old_sets: list[dict[str, Any]], actor: str
    ) -> None:
        limit = int((deploy.get("spec") or {}).get("revisionHistoryLimit", 10))
        idle = [self.store.peek(key_of(rs)) for rs in old_sets]
        idle_sets = [
            rs
            for rs in idle
            if rs is not None
            and int((rs.get("spec") or {}).get("replicas", 0)) == 0
            and int((rs.get("status") or {}).get("replicas", 0)) == 0
        ]
        idle_sets.sort(
            key=lambda rs: int(
                ((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision")) or 0
            )
        )
        for rs in idle_sets[: max(0, len(idle_sets) - limit)]:
            self.delete(rs, actor=actor)

    def _scale_rs(self, rs: dict[str, Any], replicas: int, actor: str) -> None:
        current = self.store.peek(key_of(rs)) or rs
        before = int((current.get("spec") or {}).get("replicas", 0))
        if before == replicas:
            return
        owner = self._owner_of(current)
        if owner is not None:
            direction = "up" if replicas > before else "down"
            self.event(
                owner,
                "ScalingReplicaSet",
                f"Scaled {direction} replica set {current['metadata']['name']} from {before} to {replicas}",
                component="deployment-controller",
            )
        new = copy.deepcopy(current)
        new["spec"]["replicas"] = replicas
        new["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(
            replicas
        )
        self.save(new, current, actor=actor)

    def replicaset(self, rs: dict[str, Any]) -> None:
        if is_terminating(rs):
            return
        actor = "controller:replicaset"
        meta, spec = rs["metadata"], rs.get("spec") or {}
        namespace = meta.get("namespace", "default")
        pods = self._claim(rs, self.objects("", "Pod", namespace), actor=actor)
        active = [
            p
            for p in pods
            if not is_terminating(p) and (p.get("status") or {}).get("phase") not in ("Failed", "Succeeded")
        ]
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        for _ in range(replicas - len(active)):
            pod_spec = copy.deepcopy(template.get("spec") or {})
            labels = dict((template.get("metadata") or {}).get("labels") or {})
            self._create_pod(
                rs,
                f"{meta['name']}-{random_suffix()}",
                labels,
                (template.get("metadata") or {}).get("annotations"),
                pod_spec,
                actor=actor,
            )
        if len(active) > replicas:
            victims = sorted(active, key=lambda p: (pod_ready(p), p["metadata"].get("creationTimestamp", "")))
            for pod in victims[: len(active) - replicas]:
                self.delete(pod, actor=actor)
        pods = [
            p
            for p in self.objects("", "Pod", namespace)
            if (controller_ref(p) or {}).get("uid") == meta["uid"] and not is_terminating(p)
        ]
        ready = len([p for p in pods if pod_ready(p)])
        labelled = len(
            [
                p
                for p in pods
                if requirements_match(
                    parse_label_selector(
                        ",".join(
                            f"{k}={v}"
                            for k, v in ((template.get("metadata") or {}).get("labels") or {}).items()
                        )
                    ),
                    _labels(p),
                )
            ]
        )
        new_status: dict[str, Any] = {
            "replicas": len(pods),
            "fullyLabeledReplicas": labelled,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": meta.get("generation", 1),
        }
        for key in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
            if new_status[key] == 0:
                new_status.pop(key)
        latest = self.store.peek(key_of(rs))
        if latest is not None and (latest.get("status") or {}) != new_status:
            new = copy.deepcopy(latest)
            new["status"] = new_status
            self.save(new, latest, actor=actor, subresource="status")

    # --- DaemonSet ---------------------------------------------------------------------------

    def daemonset(self, ds: dict[str, Any]) -> None:
        if is_terminating(ds):
            return
        actor = "controller:daemonset"
        meta, spec = ds["metadata"], ds.get("spec") or {}
        namespace = meta.get("namespace", "default")
        pods = self._claim(ds, self.objects("", "Pod", namespace), actor=actor)
        revisions, update_rev = self._revisions(ds, actor)
        update_name = update_rev["metadata"]["name"]
        hashed = update_name.rsplit("-", 1)[-1]
        nodes = [n["metadata"]["name"] for n in self.objects("", "Node")]
        by_node: dict[str, list[dict[str, Any]]] = {}
        for pod in pods:
            by_node.setdefault((pod.get("spec") or {}).get("nodeName", ""), []).append(pod)
        template = spec.get("template") or {}
        for node in nodes:
            if not [p for p in by_node.get(node, []) if not is_terminating(p)]:
                labels = dict((template.get("metadata") or {}).get("labels") or {})
                labels["controller-revision-hash"] = hashed
                labels["pod-template-generation"] = str(meta.get("generation", 1))
                pod_spec = copy.deepcopy(template.get("spec") or {})
                pod_spec["nodeName"] = node
                self._create_pod(
                    ds,
                    f"{meta['name']}-{random_suffix()}",
                    labels,
                    (template.get("metadata") or {}).get("annotations"),
                    pod_spec,
                    actor=actor,
                )
        for node, node_pods in by_node.items():
            if node not in nodes:
                for pod in node_pods:
                    if not is_terminating(pod):
                        self.delete(pod, actor=actor)
        rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
        current = [
            p
            for p in self.objects("", "Pod", namespace)
            if (controller_ref(p) or {}).get("uid") == meta["uid"]
        ]
        if rolling and all(
            pod_ready(p) or _labels(p).get("controller-revision-hash") != hashed for p in current
        ):
            stale = [
                p
                for p in current
                if _labels(p).get("controller-revision-hash") != hashed and not is_terminating(p)
            ]
            unavailable = [p for p in current if not pod_ready(p)]
            if stale and len(unavailable) <= len(stale):
                self.delete(stale[0], actor=actor)
        current = [
            p
            for p in self.objects("", "Pod", namespace)
            if (controller_ref(p) or {}).get("uid") == meta["uid"] and not is_terminating(p)
        ]
        ready = [p for p in current if pod_ready(p)]
        updated = [p for p in current if _labels(p).get("controller-revision-hash") == hashed]
        new_status: dict[str, Any] = {
            "currentNumberScheduled": len(current),
            "numberMisscheduled": 0,
            "desiredNumberScheduled": len(nodes),
            "numberReady": len(ready),
            "observedGeneration": meta.get("generation", 1),
            "updatedNumberScheduled": len(updated),
            "numberAvailable": len(ready),
            "numberUnavailable": max(0, len(nodes) - len(ready)),
        }
        for key in ("updatedNumberScheduled", "numberAvailable", "numberUnavailable"):
            if new_status[key] == 0:
                new_status.pop(key)
        live = {update_name} | {
            f"{meta['name']}-{_labels(p).get('controller-revision-hash')}" for p in current
        }
        self._truncate_history(ds, [r for r in revisions if self.store.peek(key_of(r))], live, actor)
        latest = self.store.peek(key_of(ds))
        if latest is not None and (latest.get("status") or {}) != new_status:
            new = copy.deepcopy(latest)
            new["status"] = new_status
            self.save(new, latest, actor=actor, subresource="status")

    # --- Job -------------------------------------------------------------------------------------

    def job(self, job: dict[str, Any]) -> None:
        if is_terminating(job):
            return
        actor = "controller:job"
        meta, spec = job["metadata"], job.get("spec") or {}
        namespace = meta.get("namespace", "default")
        status = job.get("status") or {}
        pods = self._claim(job, self.objects("", "Pod", namespace), actor=actor)
        succeeded = len([p for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"])
        failed = len([p for p in pods if (p.get("status") or {}).get("phase") == "Failed"])
        active = [
            p
            for p in pods
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and not is_terminating(p)
        ]
        completions = int(spec.get("completions", 1))
        parallelism = int(spec.get("parallelism", 1))
        backoff = int(spec.get("backoffLimit", 6))
        finished = any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        now = now_rfc3339()
        new_status = copy.deepcopy(status)
        new_status.setdefault("startTime", now)
        if not finished and not spec.get("suspend"):
            if succeeded >= completions:
                conditions = _set_condition(
                    list(status.get("conditions") or []),
                    {
                        "type": "SuccessCriteriaMet",
                        "status": "True",
                        "reason": "CompletionsReached",
                        "message": "Reached expected number of succeeded pods",
                        "lastProbeTime": now,
                    },
                    now,
                )
                conditions = _set_condition(
                    conditions,
                    {
                        "type": "Complete",
                        "status": "True",
                        "reason": "CompletionsReached",
                        "message": "Reached expected number of succeeded pods",
                        "lastProbeTime": now,
                    },
                    now,
                )
                new_status["conditions"] = conditions
                new_status["completionTime"] = now
                self.event(job, "Completed", "Job completed", component="job-controller")
                for pod in active:
                    self.delete(pod, actor=actor)
                active = []
            elif failed > backoff:
                conditions = _set_condition(
                    list(status.get("conditions") or []),
                    {
                        "type": "FailureTarget",
                        "status": "True",
                        "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit",
                        "lastProbeTime": now,
                    },
                    now,
                )
                conditions = _set_condition(
                    conditions,
                    {
                        "type": "Failed",
                        "status": "True",
                        "reason": "BackoffLimitExceeded",
                        "message": "Job has reached the specified backoff limit",
                        "lastProbeTime": now,
                    },
                    now,
                )
                new_status["conditions"] = conditions
                self.event(
                    job,
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    component="job-controller",
                    warning=True,
                )
                for pod in active:
                    self.delete(pod, actor=actor)
                active = []
            else:
                want = min(parallelism, completions - succeeded) - len(active)
                template = spec.get("template") or {}
                for _ in range(max(0, want)):
                    labels = dict((template.get("metadata") or {}).get("labels") or {})
                    active.append(
                        self._create_pod(
                            job,
                            f"{meta['name']}-{random_suffix()}",
                            labels,
                            (template.get("metadata") or {}).get("annotations"),
                            copy.deepcopy(template.get("spec") or {}),
                            actor=actor,
                        )
                    )
        new_status["active"] = len(active)
        new_status["succeeded"] = succeeded
        new_status["failed"] = failed
        new_status["ready"] = len([p for p in active if pod_ready(p)])
        new_status["terminating"] = 0
        new_status["uncountedTerminatedPods"] = {}
        for key in ("active", "succeeded", "failed"):
            if new_status[key] == 0:
                new_status.pop(key)
        latest = self.store.peek(key_of(job))
        if latest is not None and (latest.get("status") or {}) != new_status:
            new = copy.deepcopy(latest)
            new["status"] = new_status
            self.save(new, latest, actor=actor, subresource="status")

    # --- PodDisruptionBudget ---------------------------------------------------------------

    def disruption_budget(self, pdb: dict[str, Any]) -> None:
        """Status as the disruption controller computes it (pods matching the selector, healthy = Ready)."""
        meta, spec = pdb["metadata"], pdb.get("spec") or {}
        pods = [
            p
            for p in self.objects("", "Pod", meta.get("namespace", "default"))
            if not is_terminating(p) and label_selector_matches(spec.get("selector"), _labels(p))
        ]
        expected = len(pods)
        healthy = len([p for p in pods if pod_ready(p)])
        if "minAvailable" in spec:
            desired = _resolve_percent(spec["minAvailable"], expected, round_up=True)
        elif "maxUnavailable" in spec:
            desired = max(0, expected - _resolve_percent(spec["maxUnavailable"], expected, round_up=True))
        else:
            desired = expected
        allowed = max(0, healthy - desired)
        now = now_rfc3339()
        condition_new = {
            "type": "DisruptionAllowed",
            "status": "True" if allowed else "False",
            "reason": "SufficientPods" if allowed else "InsufficientPods",
            "message": "",
            "observedGeneration": meta.get("generation", 1),
        }
        conditions = _set_condition(
            list((pdb.get("status") or {}).get("conditions") or []), condition_new, now
        )
        status = {
            "observedGeneration": meta.get("generation", 1),
            "disruptionsAllowed": allowed,
            "currentHealthy": healthy,
            "desiredHealthy": desired,
            "expectedPods": expected,
            "conditions": conditions,
        }
        if _strip_times(status) != _strip_times(pdb.get("status") or {}):
            new = copy.deepcopy(pdb)
            new["status"] = status
            self.save(new, pdb, actor="controller:disruption", subresource="status")

    # --- kubelet -------------------------------------------------------------------------------

    def kubelet(self) -> None:
        knobs = self.fake.knobs
        nodes = self.objects("", "Node")
        now_mono = time.monotonic()
        for pod in self.objects("", "Pod"):
            meta = pod["metadata"]
            uid = str(meta.get("uid"))
            if is_terminating(pod):
                seen = self.terminating_seen.setdefault(uid, now_mono)
                if not meta.get("finalizers") and now_mono - seen >= knobs.pod_termination_seconds:
                    self.terminating_seen.pop(uid, None)
                    self.first_seen.pop(uid, None)
                    self.remove(pod, actor="kubelet")
                continue
            first = self.first_seen.setdefault(uid, now_mono)
            new = copy.deepcopy(pod)
            spec = new.setdefault("spec", {})
            if not spec.get("nodeName"):
                if nodes:
                    node = nodes[(self._node_rr + 1) % len(nodes)]["metadata"]["name"]
                else:
                    node = "fakekube-node"
                if self._bind_claims(pod, node):
                    self._node_rr = (self._node_rr + 1) % max(len(nodes), 1)
                    spec["nodeName"] = node
            scheduled = bool(spec.get("nodeName")) and not pod.get("spec", {}).get("nodeName")
            new["status"] = self._pod_status(new, now_mono - first)
            if _strip_times(new.get("status")) != _strip_times(pod.get("status")) or spec != pod.get("spec"):
                saved = self.save(new, pod, actor="kubelet", subresource="status", manager="kubelet")
                if scheduled:
                    self.event(
                        saved,
                        "Scheduled",
                        f"Successfully assigned {meta.get('namespace')}/{meta['name']} to {spec['nodeName']}",
                        component="default-scheduler",
                    )
                self._kubelet_events(saved)

    def _kubelet_events(self, pod: dict[str, Any]) -> None:
        """Events the kubelet records when a pod's containers change state (once per transition)."""
        uid = str(pod["metadata"].get("uid"))
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        mode = ",".join(
            f"{c['name']}:{next(iter(c.get('state') or {'none': 0}))}:"
            f"{((c.get('state') or {}).get('waiting') or {}).get('reason', '')}:{c.get('ready')}"
            for c in statuses
        )
        if self.pod_modes.get(uid) == mode:
            return
        self.pod_modes[uid] = mode
        name, namespace = pod["metadata"]["name"], pod["metadata"].get("namespace", "default")
        for container in statuses:
            state = container.get("state") or {}
            reason = (state.get("waiting") or {}).get("reason")
            image = container.get("image", "")
            if reason == "CrashLoopBackOff":
                self.event(
                    pod,
                    "BackOff",
                    f"Back-off restarting failed container {container['name']} in pod "
                    f"{name}_{namespace}({uid})",
                    component="kubelet",
                    warning=True,
                )
            elif reason == "ImagePullBackOff":
                self.event(
                    pod,
                    "Failed",
                    f'Failed to pull image "{image}": rpc error: code = NotFound desc = '
                    f'failed to pull and unpack image "{image}": not found',
                    component="kubelet",
                    warning=True,
                )
                self.event(
                    pod, "BackOff", f'Back-off pulling image "{image}"', component="kubelet", warning=True
                )
            elif "running" in state:
                self.event(pod, "Started", f"Started container {container['name']}", component="kubelet")
                if not container.get("ready"):
                    self.event(
                        pod,
                        "Unhealthy",
                        "Readiness probe failed: HTTP probe failed with statuscode: 503",
                        component="kubelet",
                        warning=True,
                    )

    def _pod_status(self, pod: dict[str, Any], age: float) -> dict[str, Any]:
        knobs = self.fake.knobs
        old = pod.get("status") or {}
        now = now_rfc3339()
        spec = pod.get("spec") or {}
        containers = spec.get("containers") or []
        status: dict[str, Any] = {
            "phase": old.get("phase", "Pending"),
            "qosClass": old.get("qosClass", "BestEffort"),
        }
        conditions = list(old.get("conditions") or [])
        unbound = self._unbound_claims(pod)
        if unbound:
            conditions = _set_condition(
                conditions,
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
                },
                now,
            )
            status["phase"] = "Pending"
            status["conditions"] = conditions
            return status
        conditions = _set_condition(conditions, {"type": "PodScheduled", "status": "True"}, now)
        status["hostIP"] = "10.0.0.10"
        status["hostIPs"] = [{"ip": "10.0.0.10"}]
        status["startTime"] = old.get("startTime", now)
        mode = self._pod_mode(pod)
        restart_policy = spec.get("restartPolicy", "Always")
        statuses = []
        old_statuses = {c.get("name"): c for c in old.get("containerStatuses") or []}
        if age < knobs.readiness_delay and mode == "ok":
            mode = "creating"
        phase = "Running"
        ready = False
        for container in containers:
            name = container.get("name", "")
            previous = old_statuses.get(name) or {}
            entry: dict[str, Any] = {
                "name": name,
                "image": container.get("image", ""),
                "imageID": "",
                "restartCount": int(previous.get("restartCount", 0)),
                "started": False,
                "ready": False,
            }
            if mode == "creating":
                entry["state"] = {"waiting": {"reason": "ContainerCreating"}}
                phase = "Pending"
            elif mode == "image_pull_backoff":
                entry["state"] = {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": f'Back-off pulling image "{container.get("image", "")}"',
                    }
                }
                phase = "Pending"
            elif mode == "crashloop":
                restarts = max(1, int(age // 5) + 1)
                entry["restartCount"] = max(entry["restartCount"], restarts)
                entry["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off 10s restarting failed container={name} "
                        f"pod={pod['metadata']['name']}",
                    }
                }
                entry["lastState"] = {
                    "terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}
                }
                if restart_policy != "Always":
                    phase = "Failed"
                    entry["state"] = {
                        "terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}
                    }
                    if knobs.termination_message:
                        entry["state"]["terminated"]["message"] = knobs.termination_message
                    entry.pop("lastState")
            elif restart_policy != "Always":
                entry["state"] = {
                    "terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}
                }
                phase = "Succeeded"
            else:
                started = (previous.get("state") or {}).get("running", {}).get("startedAt", now)
                entry["state"] = {"running": {"startedAt": started}}
                entry["started"] = True
                entry["ready"] = mode != "never_ready"
            entry["imageID"] = (
                f"docker.io/library/{entry['image']}@sha256:{'0' * 64}" if phase != "Pending" else ""
            )
            statuses.append(entry)
        ready = bool(statuses) and all(c["ready"] for c in statuses) and phase == "Running"
        if phase != "Pending":
            status["podIP"] = old.get("podIP") or self._next_pod_ip()
            status["podIPs"] = [{"ip": status["podIP"]}]
        status["phase"] = phase
        status["containerStatuses"] = statuses
        not_ready_reason = "PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady"
        names = [c["name"] for c in statuses if not c["ready"]]
        message = f"containers with unready status: [{' '.join(names)}]"
        conditions = _set_condition(
            conditions,
            {"type": "PodReadyToStartContainers", "status": "True" if phase != "Pending" else "False"},
            now,
        )
        conditions = _set_condition(conditions, {"type": "Initialized", "status": "True"}, now)
        if ready:
            conditions = _set_condition(conditions, {"type": "Ready", "status": "True"}, now)
            conditions = _set_condition(conditions, {"type": "ContainersReady", "status": "True"}, now)
        else:
            conditions = _set_condition(
                conditions,
                {"type": "Ready", "status": "False", "reason": not_ready_reason, "message": message},
                now,
            )
            conditions = _set_condition(
                conditions,
                {
                    "type": "ContainersReady",
                    "status": "False",
                    "reason": not_ready_reason,
                    "message": message,
                },
                now,
            )
        order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
        conditions.sort(key=lambda c: order.index(c["type"]) if c["type"] in order else len(order))
        status["conditions"] = conditions
        return status

    def _next_pod_ip(self) -> str:
        self._pod_ip += 1
        return f"10.42.{(self._pod_ip // 250) % 250}.{self._pod_ip % 250 + 2}"

    def _unbound_claims(self, pod: dict[str, Any]) -> bool:
        namespace = pod["metadata"].get("namespace", "default")
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            pvc = self.store.peek(("", "PersistentVolumeClaim", namespace, claim))
            if pvc is None or (pvc.get("status") or {}).get("phase") != "Bound":
                return True
        return False

    def _pod_mode(self, pod: dict[str, Any]) -> str:
        knobs = self.fake.knobs
        if self.fake.targets_pod(knobs.image_pull_backoff, pod):
            return "image_pull_backoff"
        if self.fake.targets_pod(knobs.crashloop, pod):
            return "crashloop"
        if self.fake.targets_pod(knobs.never_ready, pod):
            return "never_ready"
        return "ok"


def _resolve_percent(value: Any, total: int, *, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        fraction = total * int(value[:-1]) / 100
        return int(-(-fraction // 1)) if round_up else int(fraction)
    return int(value or 0)


def _strip_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_times(v)
            for k, v in value.items()
            if k not in ("lastTransitionTime", "lastUpdateTime", "lastProbeTime", "startedAt", "finishedAt")
        }
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return value


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _same(new: dict[str, Any], old: dict[str, Any]) -> bool:
    def norm(obj: dict[str, Any]) -> dict[str, Any]:
        meta = {
            k: v
            for k, v in (obj.get("metadata") or {}).items()
            if k not in ("resourceVersion", "managedFields")
        }
        return {**obj, "metadata": meta}

    return norm(new) == norm(old)


__all__ = ["Controllers", "revision_data", "template_hash"]
