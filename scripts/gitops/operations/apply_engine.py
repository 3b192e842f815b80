"""The apply engine: staged server-side apply, immutable-field re-create, rollout wait, rollback, verify.

Order of work for one run (``Engine.run``):

1. discovery: every kind must be served by the cluster, or be defined by a CRD in the same
   manifests; anything else fails BEFORE the first write;
2. plan (:mod:`gitops.core.apply_plan`): stages, namespaces, gate-blocked services left out;
3. per stage, server-side apply of each object (``force``, our field manager); CRDs are waited
   for until established and Namespaces until active before the next stage. An object's
   failure stops the run after its stage: later stages depend on earlier ones;
4. a ``422`` is classified (:mod:`gitops.core.immutable`); when it may be re-created: dry-run
   the create (an invalid manifest never costs the live object), delete ONLY that object (uid
   precondition, Orphan for workloads), wait until it is gone, apply again, verify the new
   object adopted the old pods, restore the old object if the re-create fails, grow PVCs;
5. rollout wait (:mod:`gitops.operations.rollout`), rollback of failed rollouts when enabled (then wait
   again; the run still fails), verification of what was applied.

Every message names the object, says what the server said and what to do.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import yaml

from gitops.adapters import runner
from gitops.adapters.kube import ApiResource, Kube, KubeError
from gitops.core import drift
from gitops.core.apply_plan import ApplyPlan, ObjectRef, PlannedObject, Stage, build_plan, unknown_skip_error
from gitops.core.immutable import ImmutableVerdict, check_adoption, classify, controller_uid
from gitops.core.readiness import pod_failure
from gitops.core.rollback import RollbackPlan, deployment_rollback, statefulset_rollback
from gitops.core.volumes import abandoned_claims, claim_templates, parse_quantity, plan_growth, pvc_storage
from gitops.errors import EXIT_DEPLOY_FAILED, EXIT_OK, ConfigurationError, Problem
from gitops.operations.rollout import Outcome, RolloutWaiter

PVC = ApiResource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True)
POD = ApiResource("", "v1", "Pod", "pods", True)
STORAGE_CLASS = ApiResource("storage.k8s.io", "v1", "StorageClass", "storageclasses", False)
CONTROLLER_REVISION = ApiResource("apps", "v1", "ControllerRevision", "controllerrevisions", True)
REPLICA_SET = ApiResource("apps", "v1", "ReplicaSet", "replicasets", True)
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
REVISION_HASH_LABEL = "controller-revision-hash"

# actions
CREATED, CONFIGURED, UNCHANGED, RECREATED, FAILED, SKIPPED = (
    "created",
    "configured",
    "unchanged",
    "recreated",
    "failed",
    "skipped",
)
APPLIED = (CREATED, CONFIGURED, UNCHANGED, RECREATED)
LIST_THRESHOLD = 5  # objects of one kind in one namespace above which one LIST beats GETs


@dataclass(frozen=True)
class RollbackSetting:
    """Roll back failed rollouts? ``services`` overrides ``default`` per service label value."""

    default: bool = False
    services: Mapping[str, bool] = field(default_factory=dict)

    def enabled_for(self, service: str | None) -> bool:
        if service is not None and service in self.services:
            return self.services[service]
        return self.default


@dataclass(frozen=True)
class ApplySettings:
    field_manager: str = "gitops"
    namespace: str | None = None  # default namespace; None = the kubeconfig context's
    rollout_timeout: float = 300.0
    rollback: RollbackSetting = field(default_factory=RollbackSetting)
    dry_run: bool = False
    skip_services: tuple[str, ...] = ()
    strict_skip: bool = True  # an unknown --skip-service name is an error (a typo would deploy it)
    progress_interval: float = 10.0
    delete_timeout: float = 120.0
    adoption_timeout: float = 60.0
    poll_interval: float = 0.5
    verify_timeout: float = 15.0  # how long verification waits for lagging status (PVC phase)
    parallelism: int = 4  # objects of one stage applied at once (they do not depend on each other)


@dataclass
class ObjectResult:
    item: PlannedObject
    action: str = "pending"
    message: str | None = None
    hint: str | None = None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)
    server: dict[str, Any] | None = None
    rollout: str | None = None
    rollout_message: str | None = None
    rollout_seconds: float | None = None
    pods: list[str] = field(default_factory=list)
    volumes: dict[str, Any] | None = None
    seconds: float = 0.0
    uid: str | None = None

    @property
    def ref(self) -> ObjectRef:
        return self.item.ref

    @property
    def ok(self) -> bool:
        return (
            self.action not in (FAILED, "would-fail")
            and not self.errors
            and self.rollout not in ("failed", "timeout", "rolled-back", "rollback-failed")
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            **self.ref.to_json(),
            "service": self.item.service,
            "stage": self.item.stage.label,
            "action": self.action,
            "rollout": self.rollout,
            "rollout_message": self.rollout_message,
            "duration_seconds": round(self.seconds, 3),
            "rollout_seconds": None if self.rollout_seconds is None else round(self.rollout_seconds, 3),
            "message": self.message,
            "hint": self.hint,
            "warnings": self.warnings,
            "errors": self.errors,
        }
        if self.diff:
            data["diff"] = self.diff
        if self.server:
            data["server"] = self.server
        if self.pods:
            data["pods"] = self.pods
        if self.volumes:
            data["volumes"] = self.volumes
        return data


@dataclass
class RollbackRecord:
    ref: ObjectRef
    performed: bool
    message: str
    from_revision: int | None = None
    to_revision: int | None = None
    deleted_pods: list[str] = field(default_factory=list)
    rollout: str | None = None
    rollout_message: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "object": str(self.ref),
            **self.ref.to_json(),
            "performed": self.performed,
            "message": self.message,
            "from_revision": self.from_revision,
            "to_revision": self.to_revision,
            "deleted_pods": self.deleted_pods,
            "rollout": self.rollout,
            "rollout_message": self.rollout_message,
        }


@dataclass
class Check:
    ref: ObjectRef
    name: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"object": str(self.ref), "check": self.name, "passed": self.passed, "detail": self.detail}


@dataclass
class ApplyReport:
    source: str
    cluster: dict[str, str]
    field_manager: str
    dry_run: bool
    objects: list[ObjectResult] = field(default_factory=list)
    skipped: list[ObjectResult] = field(default_factory=list)
    skipped_services: list[str] = field(default_factory=list)
    rollbacks: list[RollbackRecord] = field(default_factory=list)
    verify: list[Check] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0
    retries: int = 0

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.objects) and all(c.passed for c in self.verify)

    @property
    def result(self) -> str:
        if self.rollbacks and any(r.performed for r in self.rollbacks):
            return "rolled-back"
        if not self.ok:
            return "failed"
        return "dry-run" if self.dry_run else "applied"

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_DEPLOY_FAILED

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for o in self.objects:
            counts[o.action] = counts.get(o.action, 0) + 1
        if self.skipped:
            counts[SKIPPED] = counts.get(SKIPPED, 0) + len(self.skipped)
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "result": self.result,
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "source": self.source,
            "cluster": self.cluster,
            "field_manager": self.field_manager,
            "summary": self.counts(),
            "skipped_services": self.skipped_services,
            "objects": [o.to_json() for o in (*self.objects, *self.skipped)],
            "rollbacks": [r.to_json() for r in self.rollbacks],
            "verify": [c.to_json() for c in self.verify],
            "requests": self.requests,
            "retries": self.retries,
            "duration_seconds": round(self.seconds, 3),
        }


def _status_summary(err: KubeError) -> dict[str, Any]:
    body = err.body
    details = body.get("details") or {}
    summary: dict[str, Any] = {"code": err.status, "reason": err.reason or None, "message": err.message}
    causes = [
        {"reason": c.get("reason"), "field": c.get("field"), "message": c.get("message")}
        for c in details.get("causes") or []
        if isinstance(c, Mapping)
    ]
    if causes:
        summary["causes"] = causes
    return summary


def _uid(obj: Mapping[str, Any] | None) -> str | None:
    if not obj:
        return None
    value = (obj.get("metadata") or {}).get("uid")
    return None if value is None else str(value)


def _selector_string(obj: Mapping[str, Any]) -> str | None:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None


class Engine:
    def __init__(
        self,
        kube: Kube,
        settings: ApplySettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.kube = kube
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.console = runner.current()
        self.waiter = RolloutWaiter(kube, progress_interval=settings.progress_interval, clock=clock)
        self._resources: dict[tuple[str, str], ApiResource] = {}
        self._crd_kinds: dict[tuple[str, str], bool] = {}  # (apiVersion, kind) -> namespaced, from CRDs

    # -- entry point ---------------------------------------------------------------------------

    def run(self, manifests: Sequence[Mapping[str, Any]], source: str) -> ApplyReport:
        start = self.clock()
        cluster = {
            "host": self.kube.host,
            "context": self.kube.connection.context,
            "namespace": self.settings.namespace or self.kube.default_namespace,
        }
        report = ApplyReport(source, cluster, self.settings.field_manager, self.settings.dry_run)
        self._discover(manifests, source)
        plan = build_plan(
            manifests,
            namespaced=self._namespaced,
            default_namespace=cluster["namespace"],
            skip_services=self.settings.skip_services,
            source=source,
        )
        if plan.unknown_skip_names:
            if self.settings.strict_skip:
                raise unknown_skip_error(plan, source)
            self.console.debug(f"services not in {source}: {', '.join(plan.unknown_skip_names)}")
        report.skipped_services = list(plan.skipped_services)
        report.skipped = [
            ObjectResult(p, SKIPPED, message=f"service {p.service} is blocked by the deploy gate")
            for p in plan.skipped
        ]
        for name in plan.skipped_services:
            self.console.warning(
                f"service {name} is blocked by the gate: its objects are not applied", title="Skipped"
            )
        try:
            if self.settings.dry_run:
                report.objects = self._dry_run(plan)
            else:
                report.objects = self._apply(plan)
                if all(o.ok for o in report.objects):
                    self._wait_rollouts(report.objects)
                    failed = [o for o in report.objects if o.rollout in ("failed", "timeout")]
                    if failed:
                        report.rollbacks = self._rollback(failed)
                    else:
                        report.verify = self._verify(report.objects)
        finally:
            report.seconds = self.clock() - start
            report.requests = self.kube.requests_sent
            report.retries = self.kube.retries_done
        return report

    # -- discovery -----------------------------------------------------------------------------

    def _discover(self, manifests: Sequence[Mapping[str, Any]], source: str) -> None:
        for obj in manifests:
            if obj.get("kind") == "CustomResourceDefinition" and isinstance(obj.get("spec"), Mapping):
                spec = obj["spec"]
                kind = (spec.get("names") or {}).get("kind")
                for version in spec.get("versions") or []:
                    if kind and version.get("name"):
                        key = (f"{spec.get('group')}/{version['name']}", str(kind))
                        self._crd_kinds[key] = spec.get("scope") == "Namespaced"
        problems: list[Problem] = []
        for key in sorted({(str(o.get("apiVersion", "")), str(o.get("kind", ""))) for o in manifests}):
            if not key[0] or not key[1]:
                continue  # build_plan reports it with the document number
            res = self.kube.resource(*key)
            if res is not None:
                self._resources[key] = res
            elif key not in self._crd_kinds:
                problems.append(
                    Problem(
                        f"kind {key[1]} (apiVersion {key[0]}) is not served by the cluster at "
                        f"{self.kube.host}",
                        file=source,
                    )
                )
        if problems:
            raise ConfigurationError(
                f"{len(problems)} kind(s) in {source} are unknown to the cluster; nothing was applied",
                file=source,
                title="Unknown kinds",
                problems=problems,
                hint="fix the apiVersion/kind, or install the CRD that defines it "
                "(or add the CRD to the manifests)",
            )

    def _namespaced(self, api_version: str, kind: str) -> bool:
        res = self._resources.get((api_version, kind))
        if res is not None:
            return res.namespaced
        return self._crd_kinds.get((api_version, kind), True)

    def _resource(self, ref: ObjectRef) -> ApiResource:
        key = (ref.api_version, ref.kind)
        if key in self._resources:
            return self._resources[key]
        # A kind from a CRD applied in this run: discovery shows it shortly after "Established".
        deadline = self.clock() + 30
        while True:
            self.kube.forget_discovery(ref.api_version)
            res = self.kube.resource(ref.api_version, ref.kind)
            if res is not None:
                self._resources[key] = res
                return res
            if self.clock() >= deadline:
                raise KubeError(
                    "GET", f"discovery of {ref.api_version}", 404, f"{ref.kind} is still not served"
                )
            self.sleep(self.settings.poll_interval)

    # -- staged apply --------------------------------------------------------------------------

    def _apply(self, plan: ApplyPlan) -> list[ObjectResult]:
        results: list[ObjectResult] = []
        stop_reason: str | None = None
        for stage, items in plan.stages():
            if stop_reason:
                results += [ObjectResult(i, SKIPPED, message=stop_reason) for i in items]
                continue
            with self.console.group(f"Stage {stage.label}: {len(items)} object(s)"):
                live = self._prefetch(items)
                stage_results = self._apply_stage(items, live)
                results += stage_results
                if all(r.ok for r in stage_results) and stage in (Stage.CRDS, Stage.NAMESPACES):
                    self._wait_established(stage_results)
            failed = [r for r in stage_results if not r.ok]
            if failed:
                names = ", ".join(str(r.ref) for r in failed)
                stop_reason = f"not applied: stage {stage.label} failed ({names})"
        return results

    def _prefetch(self, items: Sequence[PlannedObject]) -> dict[ObjectRef, dict[str, Any] | None]:
        """Live objects by one LIST per (kind, namespace) when there are many (never for Secrets)."""
        groups: dict[tuple[str, str, str | None], list[PlannedObject]] = {}
        for item in items:
            groups.setdefault((item.ref.api_version, item.ref.kind, item.ref.namespace), []).append(item)
        live: dict[ObjectRef, dict[str, Any] | None] = {}
        for (_av, kind, namespace), members in groups.items():
            if (
                len(members) < LIST_THRESHOLD
                or kind == "Secret"
                or members[0].ref.group_kind in self._crd_group_kinds()
            ):
                continue
            try:
                listed = self.kube.list(self._resource(members[0].ref), namespace)
            except KubeError:
                continue  # fall back to one GET per object
            by_name = {i["metadata"]["name"]: i for i in listed.items}
            for member in members:
                live[member.ref] = by_name.get(member.ref.name)
        return live

    def _crd_group_kinds(self) -> set[tuple[str, str]]:
        return {(av.rpartition("/")[0], kind) for av, kind in self._crd_kinds}

    def _apply_one(
        self, item: PlannedObject, prefetched: Mapping[ObjectRef, dict[str, Any] | None]
    ) -> ObjectResult:
        result = ObjectResult(item)
        start = self.clock()
        ref = item.ref
        try:
            res = self._resource(ref)
            live = prefetched[ref] if ref in prefetched else self.kube.get(res, ref.namespace, ref.name)
            try:
                applied = self.kube.apply(res, item.manifest, field_manager=self.settings.field_manager)
            except KubeError as err:
                if err.status != 422:
                    raise
                self._on_invalid(result, res, live, err)
            else:
                result.uid = _uid(applied)
                result.action = (
                    CREATED
                    if live is None
                    else UNCHANGED
                    if drift.is_unchanged(live, applied)
                    else CONFIGURED
                )
                if ref.group_kind == ("apps", "StatefulSet"):
                    self._grow_volumes(result, res)
        except KubeError as err:
            self._fail(result, err)
        result.seconds = self.clock() - start
        return result

    def _apply_stage(
        self, items: Sequence[PlannedObject], live: Mapping[ObjectRef, dict[str, Any] | None]
    ) -> list[ObjectResult]:
        """Apply one stage's objects, a few at a time; results (and their log lines) in input order."""
        workers = max(1, min(self.settings.parallelism, len(items)))
        if workers == 1:
            results = [self._apply_one(item, live) for item in items]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply") as pool:
                results = list(pool.map(lambda item: self._apply_one(item, live), items))
        for result in results:
            self._log_result(result)
        return results

    def _log_result(self, result: ObjectResult) -> None:
        line = f"{result.ref}: {result.action} ({result.seconds:.2f}s)"
        if result.action == FAILED:
            self.console.error(f"{line}: {result.message}", title=f"apply failed: {result.ref}")
            if result.hint:
                self.console.log(f"  what to do: {result.hint}")
            for d in result.diff:
                self.console.log(f"    {d}")
        else:
            self.console.log(line)
        for warning in result.warnings:
            self.console.warning(warning, title=str(result.ref))

    def _fail(self, result: ObjectResult, err: KubeError, prefix: str = "") -> None:
        ref = result.ref
        result.action = FAILED
        result.server = _status_summary(err)
        result.message = f"{prefix}{err.describe()}"
        result.hint = self._hint_for(ref, err)

    def _hint_for(self, ref: ObjectRef, err: KubeError) -> str:
        where = f" in namespace {ref.namespace}" if ref.namespace else ""
        details = err.body.get("details") or {}
        if err.status is None:
            return (
                f"the API server at {self.kube.host} did not answer; check that the cluster is up and "
                "reachable from here, then run again (applying twice is safe)"
            )
        if err.status == 401:
            return "the kubeconfig's credentials were rejected (expired token or certificate?); refresh them"
        if err.status == 403:
            return (
                f"the kubeconfig's user may not change {ref.kind} objects{where}; grant it get, list, watch, "
                "create, patch and delete on them (RBAC)"
            )
        if err.status == 404 and details.get("kind") == "namespaces":
            return f"namespace {ref.namespace} does not exist: add a Namespace manifest or create it first"
        if err.status == 422:
            return "fix the manifest in Git: the server named the invalid fields above"
        if err.status == 409:
            return "another writer kept changing the object while we applied; run again"
        if err.status >= 500 or err.status == 429:
            return f"the API server kept failing after {err.attempts} attempts; run again when it is healthy"
        return "see the server's message above"

    # -- 422: immutable fields ----------------------------------------------------------------------

    def _on_invalid(
        self, result: ObjectResult, res: ApiResource, live: dict[str, Any] | None, err: KubeError
    ) -> None:
        ref = result.ref
        if live is None:
            live = self.kube.get(res, ref.namespace, ref.name)
        verdict = classify(err.body, ref=ref, live=live, desired=result.item.manifest)
        if not verdict.immutable:
            self._fail(result, err)
            if verdict.hint:
                result.hint = verdict.hint
            return
        if not verdict.recreate or live is None:
            self._fail(result, err)
            result.message = f"{verdict.summary}. Server: {err.message}"
            result.hint = verdict.hint or result.hint
            result.diff = list(verdict.diff)
            return
        self._recreate(result, res, live, verdict)

    def _refuse(self, result: ObjectResult, message: str, hint: str) -> None:
        result.action = FAILED
        result.message = message
        result.hint = hint

    def _recreate(
        self, result: ObjectResult, res: ApiResource, live: dict[str, Any], verdict: ImmutableVerdict
    ) -> None:
        ref, desired = result.ref, result.item.manifest
        self.console.log(f"{ref}: {verdict.summary}")
        result.warnings += verdict.warnings
        kind = ref.group_kind
        pvcs: list[dict[str, Any]] = []
        if kind == ("apps", "StatefulSet"):
            if (live.get("spec") or {}).get("selector") != (desired.get("spec") or {}).get("selector"):
                return self._refuse(
                    result,
                    f"{ref}: the selector changes; a re-created StatefulSet could not adopt its pods and "
                    "would collide with their names. Nothing was deleted",
                    f"delete it yourself (`kubectl delete statefulset {ref.name} -n {ref.namespace} "
                    "--cascade=orphan`), then delete its pods one by one so the new StatefulSet re-creates "
                    "them on the same volumes, or keep the old selector",
                )
            pvcs = self.kube.list(PVC, ref.namespace).items
            abandoned = abandoned_claims(live, desired, pvcs)
            if abandoned:
                return self._refuse(
                    result,
                    f"{ref}: volumeClaimTemplates no longer include the claims of "
                    f"{', '.join(abandoned)}: the re-created pods would start on NEW EMPTY volumes. "
                    "Nothing was deleted",
                    "keep the volumeClaimTemplates names (only their size may grow), "
                    "or migrate the data first",
                )
        # 1. Would the re-create be accepted? A merely invalid manifest must never cost the live object.
        rejected = self._dry_run_create(res, desired)
        if rejected is not None:
            self._fail(result, rejected, "a dry run of the re-create was rejected, so nothing was deleted: ")
            return None
        # 2. What the old object owns, and a copy to restore from.
        dependents_res, dependents = self._dependents(ref, live)
        backup = drift.strip_server_fields(live)
        old_uid = _uid(live)
        # 3. Delete exactly the object we inspected (uid precondition), with the verdict's propagation.
        propagation = verdict.propagation or "Orphan"
        self.console.log(f"{ref}: deleting (propagationPolicy {propagation}, uid {old_uid})")
        try:
            self.kube.delete(res, ref.namespace, ref.name, propagation=propagation, uid=old_uid)
        except KubeError as err:
            self._fail(result, err, "the delete before the re-create was refused; nothing changed: ")
            return None
        if not self._wait_gone(res, ref, old_uid):
            result.action = FAILED
            current = self.kube.get(res, ref.namespace, ref.name) or {}
            finalizers = (current.get("metadata") or {}).get("finalizers") or []
            result.message = (
                f"{ref} was deleted ({propagation}) but is still terminating after "
                f"{self.settings.delete_timeout:.0f}s (finalizers: {', '.join(finalizers) or 'none'}); "
                "it was not re-created yet"
            )
            result.hint = "run the apply again once it is gone (its pods and volumes are kept)"
            return None
        # 4. Re-create.
        try:
            applied = self.kube.apply(res, desired, field_manager=self.settings.field_manager)
        except KubeError as err:
            self._restore(result, res, backup, err)
            return None
        result.uid = _uid(applied)
        result.action = RECREATED
        result.message = verdict.summary
        # 5. Adoption, 6. volumes.
        if dependents_res is not None and result.uid:
            self._verify_adoption(result, dependents_res, live, desired, dependents)
        if kind == ("apps", "StatefulSet"):
            self._grow_volumes(result, res)
        return None

    def _dry_run_create(self, res: ApiResource, desired: Mapping[str, Any]) -> KubeError | None:
        """None when the API server would accept ``desired`` as a new object, else its answer.

        The kube-apiserver validates a create before it looks for an existing object, so a
        ``409 AlreadyExists`` to a dry-run create of the live name means "valid". A server (or
        proxy) that checks existence first would hide validation errors behind that 409, so we
        then ask again under a generated name of the same length: only that answer decides.
        """
        manager = self.settings.field_manager
        try:
            self.kube.create(res, desired, field_manager=manager, dry_run=True)
            return None
        except KubeError as err:
            if not (err.status == 409 and err.reason == "AlreadyExists"):
                return err
        probe = copy.deepcopy(dict(desired))
        meta = probe.setdefault("metadata", {})
        name = str(meta.pop("name"))
        meta["generateName"] = name[:-5] if len(name) > 5 else name
        try:
            self.kube.create(res, probe, field_manager=manager, dry_run=True)
        except KubeError as err:
            fields = {str(c.get("field")) for c in (err.body.get("details") or {}).get("causes") or []}
            if err.status == 422 and fields and fields <= {"metadata.name", "metadata.generateName"}:
                return None  # only the stand-in name was refused
            return err
        return None

    def _dependents(
        self, ref: ObjectRef, live: Mapping[str, Any]
    ) -> tuple[ApiResource | None, list[dict[str, Any]]]:
        kind = ref.group_kind
        if kind in (("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet")):
            dep = POD
        elif kind == ("apps", "Deployment"):
            dep = REPLICA_SET
        else:
            return None, []
        selector = _selector_string(live)
        items = self.kube.list(dep, ref.namespace, label_selector=selector).items if selector else []
        return dep, [i for i in items if controller_uid(i) == _uid(live)]

    def _wait_gone(self, res: ApiResource, ref: ObjectRef, uid: str | None) -> bool:
        deadline = self.clock() + self.settings.delete_timeout
        while True:
            current = self.kube.get(res, ref.namespace, ref.name)
            if current is None or _uid(current) != uid:
                return True
            if self.clock() >= deadline:
                return False
            self.sleep(self.settings.poll_interval)

    def _restore(
        self, result: ObjectResult, res: ApiResource, backup: dict[str, Any], err: KubeError
    ) -> None:
        ref = result.ref
        self._fail(result, err, "the re-create failed: ")
        result.message = result.message or ""
        try:
            self.kube.create(res, backup, field_manager=self.settings.field_manager)
        except KubeError as restore_err:
            if ref.kind == "Service":
                spec = backup.get("spec") or {}
                spec.pop("clusterIP", None)
                spec.pop("clusterIPs", None)
                try:
                    self.kube.create(res, backup, field_manager=self.settings.field_manager)
                except KubeError:
                    pass
                else:
                    result.message = f"{result.message}; the old Service was restored (with a new ClusterIP)"
                    return
            with self.console.group(f"Backup of {ref} (restore it with: kubectl create -f FILE)"):
                self.console.log(yaml.safe_dump(backup, sort_keys=False))
            result.message = (
                f"{result.message}; RESTORING THE OLD OBJECT ALSO FAILED: {restore_err.describe()}"
            )
            result.hint = (
                f"{ref} does not exist now. Its last manifest is printed in the log group 'Backup of {ref}': "
                "save it and `kubectl create -f` it, or fix the manifest in Git and apply again"
            )
            return
        result.message = (
            f"{result.message}; the old object was restored from the copy taken before the delete"
        )
        result.hint = "fix the manifest in Git; the cluster runs the previous version"

    def _verify_adoption(
        self,
        result: ObjectResult,
        dep_res: ApiResource,
        live: Mapping[str, Any],
        desired: Mapping[str, Any],
        before: list[dict[str, Any]],
    ) -> None:
        ref = result.ref
        if not before:
            return
        names = ", ".join(str((d.get("metadata") or {}).get("name")) for d in before)
        listed = " ".join(str((d.get("metadata") or {}).get("name")) for d in before)
        if (live.get("spec") or {}).get("selector") != (desired.get("spec") or {}).get("selector"):
            result.warnings.append(
                f"{ref}: the old {dep_res.kind}s ({names}) keep running without an owner because the "
                f"selector changed; once the new {ref.kind} is healthy delete them: "
                f"kubectl delete {dep_res.plural} -n {ref.namespace} {listed}"
            )
            return
        deadline = self.clock() + self.settings.adoption_timeout
        selector = _selector_string(live)
        while True:
            now_items = self.kube.list(dep_res, ref.namespace, label_selector=selector).items
            adoption = check_adoption(before, now_items, str(result.uid))
            if adoption.complete:
                self.console.log(
                    f"{ref}: the new object adopted {len(adoption.adopted)} {dep_res.plural}"
                    + (f" ({len(adoption.replaced)} were replaced)" if adoption.replaced else "")
                )
                return
            if self.clock() >= deadline:
                break
            self.sleep(self.settings.poll_interval)
        left = [*adoption.pending, *adoption.foreign]
        result.errors.append(
            f"the re-created {ref} did not adopt {dep_res.plural} {', '.join(left)} within "
            f"{self.settings.adoption_timeout:.0f}s; they run unmanaged"
        )
        result.hint = (
            f"check that {ref}'s selector matches their labels "
            f"(kubectl get {dep_res.plural} -n {ref.namespace} --show-labels); nothing was deleted"
        )

    # -- volumes ---------------------------------------------------------------------------------

    def _grow_volumes(self, result: ObjectResult, res: ApiResource) -> None:
        """Patch each existing PVC of the StatefulSet up to its template's size (see core.volumes)."""
        ref, desired = result.ref, result.item.manifest
        templates = {k: v for k, v in claim_templates(desired).items() if v}
        if not templates:
            return
        pvcs = self.kube.list(PVC, ref.namespace).items
        smaller = False
        for pvc in pvcs:
            name = str(pvc["metadata"]["name"])
            for tpl, size in templates.items():
                current = pvc_storage(pvc)
                if name.startswith(f"{tpl}-{ref.name}-") and current:
                    try:
                        smaller = smaller or parse_quantity(current) < parse_quantity(size)
                    except ValueError:
                        continue
        if not smaller:
            return
        try:
            classes = {str(sc["metadata"]["name"]): sc for sc in self.kube.list(STORAGE_CLASS).items}
        except KubeError as err:
            result.warnings.append(
                f"{ref}: cannot read StorageClasses to grow its PVCs ({err.describe()}); "
                "they keep their old size"
            )
            return
        default = next(
            (
                n
                for n, sc in classes.items()
                if ((sc.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION)
                == "true"
            ),
            None,
        )
        growth = plan_growth(desired, pvcs, classes, default)
        expanded: list[str] = []
        left: list[str] = [f"{b.pvc} ({b.current}, wanted {b.wanted}: {b.why})" for b in growth.blocked]
        for resize in growth.resize:
            try:
                self.kube.patch(
                    PVC,
                    ref.namespace,
                    resize.pvc,
                    {"spec": {"resources": {"requests": {"storage": resize.wanted}}}},
                    patch_type="merge",
                    field_manager=self.settings.field_manager,
                )
            except KubeError as err:
                left.append(f"{resize.pvc} ({resize.current}, wanted {resize.wanted}: {err.describe()})")
            else:
                expanded.append(f"{resize.pvc}: {resize.current} -> {resize.wanted}")
                self.console.log(
                    f"{ref}: expanded PersistentVolumeClaim {resize.pvc} {resize.current} -> {resize.wanted}"
                )
        result.volumes = {"expanded": expanded, "left_at_old_size": left, "notes": list(growth.notes)}
        if left:
            result.warnings.append(
                f"{ref}: PersistentVolumeClaims left at their old size: {'; '.join(left)}. Grow them by hand "
                "once their StorageClass allows expansion (kubectl patch pvc NAME -p "
                '\'{"spec":{"resources":{"requests":{"storage":"SIZE"}}}}\'), or migrate the data'
            )

    # -- waits -----------------------------------------------------------------------------------

    def _wait_established(self, results: Sequence[ObjectResult]) -> None:
        targets = [(r.ref, self._resource(r.ref)) for r in results if r.action in APPLIED]
        outcomes = self.waiter.wait(targets, min(self.settings.rollout_timeout, 120.0), what="establishment")
        for r in results:
            outcome = outcomes.get(r.ref)
            if outcome is not None and outcome.state != "ready":
                r.errors.append(f"{r.ref} is not usable: {outcome.message}")
        if any(r.ref.kind == "CustomResourceDefinition" for r in results):
            self.kube.forget_discovery()

    def _wait_rollouts(self, results: Sequence[ObjectResult]) -> None:
        waiting = [r for r in results if r.item.waits_for_rollout and r.action in APPLIED]
        if not waiting:
            return
        with self.console.group(f"Rollout: {len(waiting)} workload(s)"):
            outcomes = self.waiter.wait(
                [(r.ref, self._resource(r.ref)) for r in waiting], self.settings.rollout_timeout
            )
        for r in waiting:
            self._record(r, outcomes[r.ref])

    def _record(self, r: ObjectResult, outcome: Outcome) -> None:
        r.rollout, r.rollout_message, r.rollout_seconds = outcome.state, outcome.message, outcome.seconds
        r.pods = list(outcome.pods)
        if outcome.state == "ready":
            return
        detail = f"; pods: {'; '.join(outcome.pods)}" if outcome.pods else ""
        # The title names the object; the message does not repeat it.
        self.console.error(f"rollout {outcome.state}: {outcome.message}{detail}", title=f"rollout: {r.ref}")
        if outcome.state in ("failed", "timeout") and not r.hint:
            r.hint = (
                f"inspect it: kubectl describe {r.ref.kind.lower()} {r.ref.name} -n {r.ref.namespace}; "
                f"kubectl logs -n {r.ref.namespace} -l {_selector_string(r.item.manifest) or '...'}"
            )

    # -- rollback --------------------------------------------------------------------------------

    def _rollback(self, failed: Sequence[ObjectResult]) -> list[RollbackRecord]:
        records: list[RollbackRecord] = []
        rolled: list[ObjectResult] = []
        for r in failed:
            if not self.settings.rollback.enabled_for(r.item.service):
                self.console.log(f"{r.ref}: rollback on failure is disabled for it; leaving it as it is")
                continue
            if r.action not in (CONFIGURED, RECREATED):
                records.append(
                    RollbackRecord(
                        r.ref, False, f"not rolled back: it was {r.action} in this run, not changed"
                    )
                )
                continue
            record = self._rollback_one(r)
            records.append(record)
            if record.performed:
                rolled.append(r)
        if rolled:
            with self.console.group(f"Rollout after rollback: {len(rolled)} workload(s)"):
                outcomes = self.waiter.wait(
                    [(r.ref, self._resource(r.ref)) for r in rolled],
                    self.settings.rollout_timeout,
                    what="rollback",
                )
            for record in records:
                outcome = outcomes.get(record.ref)
                if outcome is None:
                    continue
                record.rollout, record.rollout_message = outcome.state, outcome.message
                target = next(r for r in rolled if r.ref == record.ref)
                target.rollout = "rolled-back" if outcome.state == "ready" else "rollback-failed"
                self.console.log(f"{record.ref}: after rollback: {outcome.state}: {outcome.message}")
        return records

    def _rollback_one(self, r: ObjectResult) -> RollbackRecord:
        ref = r.ref
        res = self._resource(ref)
        try:
            live = self.kube.get(res, ref.namespace, ref.name)
            if live is None:
                return RollbackRecord(ref, False, "not rolled back: it no longer exists")
            plan: RollbackPlan
            if ref.group_kind == ("apps", "StatefulSet"):
                plan = statefulset_rollback(live, self.kube.list(CONTROLLER_REVISION, ref.namespace).items)
            elif ref.group_kind == ("apps", "Deployment"):
                plan = deployment_rollback(live, self.kube.list(REPLICA_SET, ref.namespace).items)
            else:
                return RollbackRecord(ref, False, f"not rolled back: {ref.kind} has no rollout history")
            if plan.patch is None:
                self.console.warning(f"{ref}: {plan.reason}", title="rollback")
                return RollbackRecord(ref, False, plan.reason, plan.from_revision, plan.to_revision)
            self.console.log(f"{ref}: {plan.reason}")
            self.kube.patch(
                res, ref.namespace, ref.name, plan.patch, field_manager=self.settings.field_manager
            )
            deleted = self._unstick_pods(ref, live) if ref.group_kind == ("apps", "StatefulSet") else []
            return RollbackRecord(ref, True, plan.reason, plan.from_revision, plan.to_revision, deleted)
        except KubeError as err:
            self.console.error(f"{ref}: rollback failed: {err.describe()}", title="rollback")
            return RollbackRecord(ref, False, f"rollback failed: {err.describe()}")

    def _unstick_pods(self, ref: ObjectRef, live: Mapping[str, Any]) -> list[str]:
        """Delete pods of the FAILED revision that are stuck (CrashLoopBackOff...), so the StatefulSet
        can re-create them from the rolled-back template.

        A StatefulSet never replaces a pod that is not Ready during a rolling update, so after a
        rollback the broken pod stays broken until it is deleted (the "forced rollback" of
        https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#forced-rollback).
        Only pods controlled by this StatefulSet, at the failed update revision, and stuck in a
        fail-fast state are deleted; their volumes are untouched.
        """
        bad_revision = (live.get("status") or {}).get("updateRevision")
        selector = _selector_string(live)
        if not bad_revision or not selector:
            return []
        deleted: list[str] = []
        for pod in self.kube.list(POD, ref.namespace, label_selector=selector).items:
            meta = pod.get("metadata") or {}
            if (
                controller_uid(pod) != _uid(live)
                or (meta.get("labels") or {}).get(REVISION_HASH_LABEL) != bad_revision
            ):
                continue
            why = pod_failure(pod)
            if not why:
                continue
            self.console.log(f"{ref}: deleting stuck pod {meta.get('name')} of the failed revision ({why})")
            try:
                self.kube.delete(
                    POD, ref.namespace, str(meta.get("name")), propagation="Background", uid=_uid(pod)
                )
            except KubeError as err:
                self.console.warning(
                    f"{ref}: could not delete stuck pod {meta.get('name')}: {err.describe()}"
                )
                continue
            deleted.append(str(meta.get("name")))
        return deleted

    # -- verify ----------------------------------------------------------------------------------

    def _verify(self, results: Sequence[ObjectResult]) -> list[Check]:
        checks: list[Check] = []
        applied = [r for r in results if r.action in APPLIED]
        listed = self._prefetch([r.item for r in applied])  # one LIST per big kind, not a GET each
        for r in applied:
            res = self._resource(r.ref)
            try:
                live = listed[r.ref] if r.ref in listed else self.kube.get(res, r.ref.namespace, r.ref.name)
            except KubeError as err:
                checks.append(Check(r.ref, "exists", False, err.describe()))
                continue
            if live is None:
                checks.append(
                    Check(r.ref, "exists", False, "it is gone: something deleted it after the apply")
                )
                continue
            if r.uid and _uid(live) != r.uid:
                checks.append(
                    Check(r.ref, "exists", False, "it was replaced by another writer after the apply")
                )
                continue
            checks.append(Check(r.ref, "exists", True, f"uid {_uid(live)}"))
            if r.ref.group_kind == ("apps", "StatefulSet"):
                checks += self._verify_claims(r.ref, live)
        failed = [c for c in checks if not c.passed]
        for c in failed:
            self.console.error(f"{c.ref}: {c.name}: {c.detail}", title="verify")
        return checks

    def _verify_claims(self, ref: ObjectRef, live: Mapping[str, Any]) -> list[Check]:
        spec = live.get("spec") or {}
        replicas = int(spec.get("replicas", 1) or 0)
        start = int(((spec.get("ordinals") or {}).get("start")) or 0)
        templates = claim_templates(live)
        if not templates or replicas == 0:
            return []
        names = [f"{tpl}-{ref.name}-{o}" for tpl in templates for o in range(start, start + replicas)]
        # Ready pods have mounted their claims, so a claim not Bound yet is a status lagging
        # behind: look again for a little while (bounded) before calling it a failure.
        deadline = self.clock() + self.settings.verify_timeout
        while True:
            pvcs = {p["metadata"]["name"]: p for p in self.kube.list(PVC, ref.namespace).items}
            bound = all(((pvcs.get(n) or {}).get("status") or {}).get("phase") == "Bound" for n in names)
            if bound or self.clock() >= deadline:
                break
            self.sleep(self.settings.poll_interval)
        checks = []
        for tpl, wanted in templates.items():
            for ordinal in range(start, start + replicas):
                name = f"{tpl}-{ref.name}-{ordinal}"
                pvc = pvcs.get(name)
                if pvc is None:
                    checks.append(
                        Check(ref, f"volume {name}", False, "the PersistentVolumeClaim does not exist")
                    )
                    continue
                phase = (pvc.get("status") or {}).get("phase")
                capacity = ((pvc.get("status") or {}).get("capacity") or {}).get("storage")
                detail = (
                    f"{phase or 'no phase'}, requested {pvc_storage(pvc)}, capacity {capacity or 'unknown'}"
                )
                if wanted and capacity:
                    try:
                        if parse_quantity(capacity) < parse_quantity(wanted):
                            detail += f" (expansion to {wanted} in progress)"
                    except ValueError:
                        pass
                checks.append(Check(ref, f"volume {name}", phase == "Bound", detail))
        return checks

    # -- dry run ---------------------------------------------------------------------------------

    def _dry_run(self, plan: ApplyPlan) -> list[ObjectResult]:
        results: list[ObjectResult] = []
        created_namespaces = {p.ref.name for p in plan.objects if p.ref.kind == "Namespace"}
        crd_kinds = self._crd_group_kinds()
        with self.console.group(f"Server-side dry run of {len(plan.objects)} object(s)"):
            for item in plan.objects:
                results.append(self._dry_run_one(item, created_namespaces, crd_kinds))
        return results

    def _dry_run_one(
        self, item: PlannedObject, created_namespaces: set[str], crd_kinds: set[tuple[str, str]]
    ) -> ObjectResult:
        result = ObjectResult(item)
        start = self.clock()
        ref = item.ref
        try:
            if (ref.api_version, ref.kind) not in self._resources and ref.group_kind in crd_kinds:
                result.action, result.message = "would-create", "its CRD is created by this apply first"
                return result
            res = self._resource(ref)
            live = self.kube.get(res, ref.namespace, ref.name)
            try:
                after = self.kube.apply(
                    res, item.manifest, field_manager=self.settings.field_manager, dry_run=True
                )
            except KubeError as err:
                if err.status == 404 and ref.namespace in created_namespaces and live is None:
                    result.action, result.message = (
                        "would-create",
                        f"after namespace {ref.namespace} is created",
                    )
                    return result
                if err.status != 422:
                    raise
                verdict = classify(err.body, ref=ref, live=live, desired=item.manifest)
                if verdict.recreate and live is not None:
                    result.action = "would-recreate"
                    result.message = verdict.summary
                    result.warnings += verdict.warnings
                else:
                    self._fail(result, err)
                    result.action = "would-fail"
                    if verdict.immutable:
                        result.message = f"{verdict.summary}. Server: {err.message}"
                        result.hint = verdict.hint or result.hint
                        result.diff = list(verdict.diff)
                return result
            result.diff = drift.changed_paths(live, after, show_values=ref.kind != "Secret")
            result.action = (
                "would-create" if live is None else "would-configure" if result.diff else UNCHANGED
            )
        except KubeError as err:
            self._fail(result, err)
            result.action = "would-fail"
        finally:
            result.seconds = self.clock() - start
            self._log_dry(result)
        return result

    def _log_dry(self, result: ObjectResult) -> None:
        text = f"{result.ref}: {result.action}"
        if result.message:
            text += f": {result.message}"
        if result.action == "would-fail":
            self.console.error(text, title=f"dry run: {result.ref}")
        else:
            self.console.log(text)
        for d in result.diff:
            self.console.log(f"    {d}")
