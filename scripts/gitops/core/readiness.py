"""Is an object's rollout done, still going, or failed? kstatus-like rules on plain dicts.

The rules follow ``kubectl rollout status`` (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go)
and kstatus (sigs.k8s.io/cli-utils/pkg/kstatus), with two deliberate differences:

* pods of the workload stuck in ``CrashLoopBackOff``, ``ImagePullBackOff``, ``ErrImagePull``,
  ``InvalidImageName`` or ``CreateContainerConfigError`` FAIL the rollout at once, with the
  pod's reason (``kubectl rollout status`` would wait for the full timeout);
* a ``Deployment`` whose ``Progressing`` condition says ``ProgressDeadlineExceeded`` fails
  (kubectl also fails it) instead of being "still in progress" (kstatus).

:class:`State` is one object's status at one moment (kstatus ``Current``/``InProgress``/
``Failed``); :class:`RolloutState` is how waiting for it ended, as reports show it. The waiter
(:mod:`gitops.operations.rollout`) turns the one into the other with :func:`wait_verdict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from gitops.core.ownership import controller_uid

FAIL_FAST_REASONS = frozenset(
    {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError"}
)
POD_TEMPLATE_HASH = "pod-template-hash"
# A Job retries crashing pods by design (backoffLimit); its Failed condition is the verdict.
_JOB_FAIL_FAST = FAIL_FAST_REASONS - {"CrashLoopBackOff"}


class State(Enum):
    READY = "ready"
    PROGRESSING = "progressing"
    FAILED = "failed"


@dataclass(frozen=True)
class Readiness:
    state: State
    message: str

    @property
    def done(self) -> bool:
        return self.state is not State.PROGRESSING


class RolloutState(StrEnum):
    """How a rollout ended for one object (``rollout`` in apply's JSON report)."""

    READY = "ready"
    FAILED = "failed"
    TIMEOUT = "timeout"  # still progressing at the deadline
    NOT_WAITED = "not-waited"  # still progressing when the wait stopped at another object's failure
    ROLLED_BACK = "rolled-back"  # failed, then rolled back, and the rollback became ready
    ROLLBACK_FAILED = "rollback-failed"  # failed, rolled back, and the rollback did not become ready

    @property
    def needs_rollback(self) -> bool:
        return self in (RolloutState.FAILED, RolloutState.TIMEOUT)

    @property
    def ok(self) -> bool:
        """False when the rollout failed, whether or not a rollback followed."""
        return self in (RolloutState.READY, RolloutState.NOT_WAITED)

    def after_rollback(self) -> RolloutState:
        """The state of the failed rollout, given how the wait for its rollback ended (``self``)."""
        return RolloutState.ROLLED_BACK if self is RolloutState.READY else RolloutState.ROLLBACK_FAILED


def wait_verdict(readiness: Readiness, *, expired: bool) -> RolloutState:
    """How the wait ended for an object last seen in ``readiness``; ``expired``: the deadline passed."""
    if readiness.state is State.READY:
        return RolloutState.READY
    if readiness.state is State.FAILED:
        return RolloutState.FAILED
    return RolloutState.TIMEOUT if expired else RolloutState.NOT_WAITED


def _ready(message: str) -> Readiness:
    return Readiness(State.READY, message)


def _waiting(message: str) -> Readiness:
    return Readiness(State.PROGRESSING, message)


def _failed(message: str) -> Readiness:
    return Readiness(State.FAILED, message)


def _condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return None


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _short(have: int, want: int, what: str) -> Readiness | None:
    """``"1 of 2 pods ready"`` as a waiting state while ``have`` is below ``want``, else None."""
    return _waiting(f"{have} of {want} {what}") if have < want else None


def _observed(obj: Mapping[str, Any]) -> Readiness | None:
    """None when the controller has seen the current generation, else a waiting state."""
    status = obj.get("status") or {}
    generation = _int((obj.get("metadata") or {}).get("generation"))
    observed = status.get("observedGeneration")
    if observed is None or _int(observed) < generation:
        return _waiting(f"waiting for the controller to observe generation {generation}")
    return None


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, Any] | None) -> bool:
    """Does a LabelSelector (matchLabels + matchExpressions) select these labels? Empty selects nothing."""
    if not selector:
        return False
    labels = labels or {}
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return False
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expr in expressions:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pod_failure(pod: Mapping[str, Any], reasons: frozenset[str] = FAIL_FAST_REASONS) -> str | None:
    """``"pod x: container y: CrashLoopBackOff: ..."`` when a container is stuck, else None."""
    name = (pod.get("metadata") or {}).get("name")
    status = pod.get("status") or {}
    for group in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(group) or []:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason")
            if reason not in reasons:
                continue
            text = f"pod {name}: container {cs.get('name')}: {reason}"
            if waiting.get("message"):
                text += f": {waiting['message']}"
            last = (cs.get("lastState") or {}).get("terminated") or {}
            if last:
                text += f" (last exit code {last.get('exitCode')}"
                text += f", {last['reason']})" if last.get("reason") else ")"
            return text
    return None


def _normalize_template(template: Any) -> Any:
    """A pod template for comparison: without ``$patch`` directives, the pod-template-hash label, empties."""
    if isinstance(template, Mapping):
        result = {k: _normalize_template(v) for k, v in template.items() if k != "$patch"}
        labels = (result.get("metadata") or {}).get("labels")
        if isinstance(labels, dict):
            labels.pop(POD_TEMPLATE_HASH, None)
        return _drop_empty(result)
    if isinstance(template, list):
        return [_normalize_template(v) for v in template]
    return template


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_empty(v) for k, v in value.items() if v not in (None, {}, [])}
    return value


def templates_equal(a: Any, b: Any) -> bool:
    """Equal pod templates, as the controllers compare them (``EqualIgnoreHash``)."""
    return bool(_normalize_template(a) == _normalize_template(b))


def current_pods(
    obj: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]],
    replicasets: Sequence[Mapping[str, Any]] = (),
) -> list[Mapping[str, Any]]:
    """The pods whose state says something about the CURRENT rollout of ``obj``.

    Terminating pods are on their way out. Right after a rollback the crash-looping pods of the
    abandoned revision are still listed for a while, and they must not fail the rollout that
    replaces them, so: for a StatefulSet whose controller has observed the current generation,
    only pods of its ``updateRevision``; for a Deployment, only pods of its current ReplicaSet
    (the one it controls whose pod template equals its own, ignoring ``pod-template-hash``, as
    the deployment controller finds it), and none while that ReplicaSet is not known yet.
    """
    live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
    kind = obj.get("kind")
    if kind == "Deployment":
        uid = (obj.get("metadata") or {}).get("uid")
        template = (obj.get("spec") or {}).get("template")
        current = {
            (rs.get("metadata") or {}).get("uid")
            for rs in replicasets
            if controller_uid(rs) == uid and templates_equal((rs.get("spec") or {}).get("template"), template)
        }
        return [p for p in live if controller_uid(p) in current]
    if kind != "StatefulSet" or _observed(obj) is not None:
        return live
    update = (obj.get("status") or {}).get("updateRevision")
    if not update:
        return live
    return [
        p
        for p in live
        if ((p.get("metadata") or {}).get("labels") or {}).get("controller-revision-hash") == update
    ]


def assess(
    obj: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]] = (),
    replicasets: Sequence[Mapping[str, Any]] = (),
) -> Readiness:
    """The rollout state of ``obj``; ``pods`` are the pods its selector selects (for fail-fast),
    ``replicasets`` those of its namespace (to tell a Deployment's current pods from old ones)."""
    kind = obj.get("kind")
    if kind == "StatefulSet":
        result = _statefulset(obj)
    elif kind == "Deployment":
        result = _deployment(obj)
    elif kind == "DaemonSet":
        result = _daemonset(obj)
    elif kind == "Job":
        result = _job(obj)
    elif kind == "CustomResourceDefinition":
        return _crd(obj)
    elif kind == "Namespace":
        return _namespace(obj)
    else:
        return _ready("applied")
    if result.state is State.PROGRESSING:
        reasons = _JOB_FAIL_FAST if kind == "Job" else FAIL_FAST_REASONS
        for pod in current_pods(obj, pods, replicasets):
            failure = pod_failure(pod, reasons)
            if failure:
                return _failed(failure)
    return result


def _statefulset(obj: Mapping[str, Any]) -> Readiness:
    spec = obj.get("spec") or {}
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return _ready("updateStrategy OnDelete: pods change only when deleted, no rollout to wait for")
    waiting = _observed(obj)
    if waiting:
        return waiting
    status = obj.get("status") or {}
    replicas = _int(spec.get("replicas"), 1)
    ready = _int(status.get("readyReplicas"))
    if ready < replicas:
        return _waiting(f"{ready} of {replicas} pods ready")
    if "availableReplicas" in status and _int(status.get("availableReplicas")) < replicas:
        return _waiting(f"{_int(status.get('availableReplicas'))} of {replicas} pods available")
    partition = _int((strategy.get("rollingUpdate") or {}).get("partition"))
    updated = _int(status.get("updatedReplicas"))
    if partition > 0:
        target = max(replicas - partition, 0)
        if updated < target:
            return _waiting(f"partitioned rollout: {updated} of {target} new pods updated")
        return _ready(f"partitioned rollout complete: {updated} new pods updated (partition {partition})")
    current, update = status.get("currentRevision"), status.get("updateRevision")
    if updated < replicas:
        return _waiting(f"{updated} of {replicas} pods updated to revision {update}")
    if update and current != update:
        return _waiting(f"rolling update: {current} -> {update}")
    return _ready(f"{ready}/{replicas} ready at revision {update or current}")


def _deployment(obj: Mapping[str, Any]) -> Readiness:
    spec = obj.get("spec") or {}
    if spec.get("paused"):
        return _ready("paused: no rollout until it is resumed")
    waiting = _observed(obj)
    if waiting:
        return waiting
    progressing = _condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return _failed(f"exceeded its progress deadline: {progressing.get('message') or 'no progress'}")
    status = obj.get("status") or {}
    replicas = _int(spec.get("replicas"), 1)
    updated = _int(status.get("updatedReplicas"))
    available = _int(status.get("availableReplicas"))
    old = _int(status.get("replicas")) - updated
    return (
        _short(updated, replicas, "new replicas updated")
        or (_waiting(f"{old} old replicas pending termination") if old > 0 else None)
        or _short(available, updated, "updated replicas available")
        or _ready(f"{available}/{replicas} available")
    )


def _daemonset(obj: Mapping[str, Any]) -> Readiness:
    spec = obj.get("spec") or {}
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return _ready("updateStrategy OnDelete: pods change only when deleted, no rollout to wait for")
    waiting = _observed(obj)
    if waiting:
        return waiting
    status = obj.get("status") or {}
    desired = _int(status.get("desiredNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    return (
        _short(_int(status.get("updatedNumberScheduled")), desired, "pods updated")
        or _short(available, desired, "updated pods available")
        or _ready(f"{available}/{desired} available")
    )


def _job(obj: Mapping[str, Any]) -> Readiness:
    failed = _condition(obj, "Failed")
    if failed and failed.get("status") == "True":
        return _failed(f"job failed: {failed.get('reason') or ''} {failed.get('message') or ''}".strip())
    complete = _condition(obj, "Complete")
    if complete and complete.get("status") == "True":
        return _ready("complete")
    status = obj.get("status") or {}
    completions = (obj.get("spec") or {}).get("completions")
    total = f"/{completions}" if completions is not None else ""
    return _waiting(
        f"running: {_int(status.get('active'))} active, {_int(status.get('succeeded'))}{total} succeeded, "
        f"{_int(status.get('failed'))} failed"
    )


def _crd(obj: Mapping[str, Any]) -> Readiness:
    names = _condition(obj, "NamesAccepted")
    if names and names.get("status") == "False":
        return _failed(f"names not accepted: {names.get('message') or names.get('reason')}")
    established = _condition(obj, "Established")
    if established and established.get("status") == "True":
        return _ready("established")
    return _waiting("waiting for the CRD to be established")


def _namespace(obj: Mapping[str, Any]) -> Readiness:
    phase = (obj.get("status") or {}).get("phase")
    if phase == "Terminating" or (obj.get("metadata") or {}).get("deletionTimestamp"):
        return _failed("the namespace is being deleted; wait until it is gone, then apply again")
    if phase in (None, "Active"):
        return _ready("active")
    return _waiting(f"phase {phase}")


def pod_summary(pod: Mapping[str, Any]) -> str:
    """``postgres-0: Running, 0/1 ready (postgres: CrashLoopBackOff)`` for timeout reports."""
    name = (pod.get("metadata") or {}).get("name")
    status = pod.get("status") or {}
    statuses = list(status.get("containerStatuses") or [])
    ready = sum(1 for cs in statuses if cs.get("ready"))
    text = f"{name}: {status.get('phase') or 'Unknown'}"
    if statuses:
        text += f", {ready}/{len(statuses)} ready"
    waiting = [
        f"{cs.get('name')}: {((cs.get('state') or {}).get('waiting') or {}).get('reason')}"
        for cs in [*(status.get("initContainerStatuses") or []), *statuses]
        if ((cs.get("state") or {}).get("waiting") or {}).get("reason")
    ]
    if waiting:
        text += f" ({', '.join(waiting)})"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        text += " (terminating)"
    return text
