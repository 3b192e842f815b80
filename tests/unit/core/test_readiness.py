from __future__ import annotations

from typing import Any

import pytest

from gitops.core.readiness import (
    Readiness,
    RolloutState,
    State,
    assess,
    pod_failure,
    pod_summary,
    selects,
    wait_verdict,
)
from tests.support import manifests as m


def sts(
    *,
    replicas: int = 1,
    generation: int = 2,
    observed: int | None = 2,
    ready: int = 1,
    updated: int = 1,
    current: str = "r2",
    update: str = "r2",
    strategy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "readyReplicas": ready,
        "updatedReplicas": updated,
        "currentRevision": current,
        "updateRevision": update,
    }
    if observed is not None:
        status["observedGeneration"] = observed
    obj = m.statefulset("postgres", replicas=replicas, strategy=strategy or {"type": "RollingUpdate"})
    return m.with_status(m.with_meta(obj, generation=generation), **status)


@pytest.mark.parametrize(
    ("obj", "state", "fragment"),
    [
        pytest.param(sts(), State.READY, "1/1 ready", id="ready"),
        pytest.param(sts(observed=1), State.PROGRESSING, "observe generation 2", id="old-generation"),
        pytest.param(sts(observed=None), State.PROGRESSING, "observe generation", id="no-status-yet"),
        pytest.param(
            sts(replicas=3, ready=2, updated=3), State.PROGRESSING, "2 of 3 pods ready", id="not-ready"
        ),
        pytest.param(
            sts(replicas=2, ready=2, updated=1), State.PROGRESSING, "1 of 2 pods updated", id="not-updated"
        ),
        pytest.param(sts(current="r1", update="r2"), State.PROGRESSING, "r1 -> r2", id="revisions-differ"),
        pytest.param(
            sts(
                replicas=3,
                ready=3,
                updated=1,
                current="r1",
                strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
            ),
            State.READY,
            "partitioned rollout complete",
            id="partition-done-despite-revisions",
        ),
        pytest.param(
            sts(
                replicas=3,
                ready=3,
                updated=0,
                strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
            ),
            State.PROGRESSING,
            "0 of 1 new pods",
            id="partition-waiting",
        ),
        pytest.param(
            sts(observed=1, ready=0, strategy={"type": "OnDelete"}),
            State.READY,
            "OnDelete",
            id="ondelete-no-rollout",
        ),
    ],
)
def test_statefulset(obj: dict[str, Any], state: State, fragment: str) -> None:
    result = assess(obj)
    assert result.state is state
    assert fragment in result.message


def deployment(**status: Any) -> dict[str, Any]:
    base = {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}
    base.update(status)
    return m.with_status(m.with_meta(m.deployment(replicas=2), generation=3), **base)


@pytest.mark.parametrize(
    ("obj", "state", "fragment"),
    [
        pytest.param(deployment(), State.READY, "2/2", id="ready"),
        pytest.param(deployment(updatedReplicas=1), State.PROGRESSING, "1 of 2 new", id="updating"),
        pytest.param(deployment(replicas=3), State.PROGRESSING, "1 old replicas", id="old-pending"),
        pytest.param(deployment(availableReplicas=1), State.PROGRESSING, "1 of 2 updated", id="unavailable"),
        pytest.param(
            deployment(
                availableReplicas=1,
                conditions=[
                    {
                        "type": "Progressing",
                        "status": "False",
                        "reason": "ProgressDeadlineExceeded",
                        "message": "x",
                    }
                ],
            ),
            State.FAILED,
            "progress deadline",
            id="deadline-exceeded-fails",
        ),
    ],
)
def test_deployment(obj: dict[str, Any], state: State, fragment: str) -> None:
    result = assess(obj)
    assert result.state is state and fragment in result.message


@pytest.mark.parametrize(
    ("status", "strategy", "state"),
    [
        pytest.param(
            {
                "observedGeneration": 1,
                "desiredNumberScheduled": 2,
                "updatedNumberScheduled": 2,
                "numberAvailable": 2,
            },
            "RollingUpdate",
            State.READY,
            id="ready",
        ),
        pytest.param(
            {
                "observedGeneration": 1,
                "desiredNumberScheduled": 2,
                "updatedNumberScheduled": 1,
                "numberAvailable": 2,
            },
            "RollingUpdate",
            State.PROGRESSING,
            id="updating",
        ),
        pytest.param({}, "OnDelete", State.READY, id="ondelete"),
    ],
)
def test_daemonset(status: dict[str, Any], strategy: str, state: State) -> None:
    obj = m.with_meta(m.daemonset(strategy={"type": strategy}), generation=1)
    assert assess(m.with_status(obj, **status)).state is state


@pytest.mark.parametrize(
    ("conditions", "state"),
    [
        pytest.param([{"type": "Complete", "status": "True"}], State.READY, id="complete"),
        pytest.param(
            [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}], State.FAILED, id="fail"
        ),
        pytest.param([], State.PROGRESSING, id="running"),
    ],
)
def test_job(conditions: list[dict[str, str]], state: State) -> None:
    assert assess(m.with_status(m.job(), conditions=conditions, active=1)).state is state


def pod(
    reason: str, *, init: bool = False, message: str = "", exit_code: int | None = None
) -> dict[str, Any]:
    cs: dict[str, Any] = {"name": "postgres", "state": {"waiting": {"reason": reason, "message": message}}}
    if exit_code is not None:
        cs["lastState"] = {"terminated": {"exitCode": exit_code, "reason": "Error"}}
    key = "initContainerStatuses" if init else "containerStatuses"
    return m.with_status(m.pod("postgres-0", labels={"controller-revision-hash": "r2"}), **{key: [cs]})


@pytest.mark.parametrize(
    ("the_pod", "expected"),
    [
        pytest.param(
            pod("CrashLoopBackOff", message="back-off 10s", exit_code=1),
            "pod postgres-0: container postgres: CrashLoopBackOff: back-off 10s (last exit code 1, Error)",
            id="crashloop",
        ),
        pytest.param(
            pod("ImagePullBackOff"), "pod postgres-0: container postgres: ImagePullBackOff", id="pull"
        ),
        pytest.param(
            pod("ErrImagePull", init=True), "pod postgres-0: container postgres: ErrImagePull", id="init"
        ),
        pytest.param(pod("ContainerCreating"), None, id="still-creating"),
    ],
)
def test_pod_failure(the_pod: dict[str, Any], expected: str | None) -> None:
    assert pod_failure(the_pod) == expected


def test_crashlooping_pods_fail_a_waiting_rollout_fast() -> None:
    result = assess(sts(ready=0), [pod("CrashLoopBackOff")])
    assert result.state is State.FAILED
    assert "CrashLoopBackOff" in result.message


def test_a_ready_rollout_ignores_pod_noise() -> None:
    assert assess(sts(), [pod("CrashLoopBackOff")]).state is State.READY


def test_a_job_may_crash_and_retry_but_not_fail_to_pull() -> None:
    job = m.with_status(m.job(), active=1)
    assert assess(job, [pod("CrashLoopBackOff")]).state is State.PROGRESSING
    assert assess(job, [pod("ImagePullBackOff")]).state is State.FAILED


@pytest.mark.parametrize(
    ("obj", "state"),
    [
        pytest.param(
            m.with_status(m.crd(), conditions=[{"type": "Established", "status": "True"}]),
            State.READY,
            id="crd-established",
        ),
        pytest.param(m.with_status(m.crd()), State.PROGRESSING, id="crd-waiting"),
        pytest.param(
            m.with_status(
                m.crd(), conditions=[{"type": "NamesAccepted", "status": "False", "message": "clash"}]
            ),
            State.FAILED,
            id="crd-names-rejected",
        ),
        pytest.param(m.with_status(m.namespace_object(), phase="Active"), State.READY, id="ns-active"),
        pytest.param(
            m.with_status(m.namespace_object(), phase="Terminating"), State.FAILED, id="ns-terminating"
        ),
        pytest.param(m.configmap(), State.READY, id="no-rollout"),
    ],
)
def test_other_kinds(obj: dict[str, Any], state: State) -> None:
    assert assess(obj).state is state


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        pytest.param({"matchLabels": {"app": "pg"}}, {"app": "pg", "x": "y"}, True, id="match"),
        pytest.param({"matchLabels": {"app": "pg"}}, {"app": "redis"}, False, id="mismatch"),
        pytest.param({}, {"app": "pg"}, False, id="empty-selects-nothing"),
        pytest.param(
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}, {"tier": "db"}, True
        ),
        pytest.param(
            {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]},
            {"tier": "db"},
            False,
        ),
        pytest.param({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {}, False, id="exists"),
        pytest.param(
            {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {}, True, id="not-exists"
        ),
    ],
)
def test_selects(selector: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert selects(selector, labels) is expected


def test_pod_summary_for_timeout_reports() -> None:
    crashing = pod("CrashLoopBackOff")
    crashing["status"]["phase"] = "Running"
    assert pod_summary(crashing) == "postgres-0: Running, 0/1 ready (postgres: CrashLoopBackOff)"
    pending = m.with_status(m.with_meta(m.pod("redis-0"), deletionTimestamp="x"), phase="Pending")
    assert pod_summary(pending) == "redis-0: Pending (terminating)"


def test_only_pods_of_the_current_revision_fail_a_statefulset_fast() -> None:
    old = pod("CrashLoopBackOff")
    old["metadata"]["labels"] = {"controller-revision-hash": "r1"}
    assert assess(sts(ready=0, current="r1", update="r2"), [old]).state is State.PROGRESSING
    old["metadata"]["labels"]["controller-revision-hash"] = "r2"
    assert assess(sts(ready=0, current="r1", update="r2"), [old]).state is State.FAILED


def test_terminating_pods_never_fail_a_rollout() -> None:
    leaving = pod("CrashLoopBackOff")
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert assess(sts(ready=0), [leaving]).state is State.PROGRESSING


def test_only_pods_of_a_deployments_current_replicaset_fail_it_fast() -> None:
    def replicaset(uid: str, image: str, hashed: str) -> dict[str, Any]:
        made = m.replicaset(f"web-{hashed}", image=image, labels={"app": "web", "pod-template-hash": hashed})
        return m.owned_by(m.with_meta(made, uid=uid), "d", kind="Deployment", name="web")

    deploy = m.with_meta(m.deployment("web", image="web:1"), uid="d", generation=2)
    m.with_status(deploy, observedGeneration=2, updatedReplicas=0)
    old_rs = replicaset("rs-old", "web:2", "b")
    new_rs = replicaset("rs-new", "web:1", "a")
    stuck = m.owned_by(pod("ImagePullBackOff"), "rs-old", kind="ReplicaSet")
    assert assess(deploy, [stuck], [old_rs, new_rs]).state is State.PROGRESSING  # the abandoned template
    m.owned_by(stuck, "rs-new", kind="ReplicaSet")
    assert assess(deploy, [stuck], [old_rs, new_rs]).state is State.FAILED
    assert assess(deploy, [stuck], []).state is State.PROGRESSING  # ReplicaSets not known yet


@pytest.mark.parametrize(
    ("readiness", "expired", "verdict"),
    [
        pytest.param(
            Readiness(State.READY, "1/1"), True, RolloutState.READY, id="ready-even-at-the-deadline"
        ),
        pytest.param(Readiness(State.FAILED, "crash"), False, RolloutState.FAILED, id="failed"),
        pytest.param(Readiness(State.PROGRESSING, "0 of 1"), True, RolloutState.TIMEOUT, id="timeout"),
        pytest.param(
            Readiness(State.PROGRESSING, "0 of 1"), False, RolloutState.NOT_WAITED, id="stopped-early"
        ),
    ],
)
def test_the_waits_verdict_carries_the_last_state(
    readiness: Readiness, expired: bool, verdict: RolloutState
) -> None:
    assert wait_verdict(readiness, expired=expired) is verdict


@pytest.mark.parametrize(
    ("state", "ok", "needs_rollback"),
    [
        pytest.param(RolloutState.READY, True, False, id="ready"),
        pytest.param(RolloutState.NOT_WAITED, True, False, id="not-waited"),
        pytest.param(RolloutState.FAILED, False, True, id="failed"),
        pytest.param(RolloutState.TIMEOUT, False, True, id="timeout"),
        pytest.param(RolloutState.ROLLED_BACK, False, False, id="rolled-back-still-fails-the-run"),
        pytest.param(RolloutState.ROLLBACK_FAILED, False, False, id="rollback-failed"),
    ],
)
def test_rollout_states(state: RolloutState, ok: bool, needs_rollback: bool) -> None:
    assert (state.ok, state.needs_rollback) == (ok, needs_rollback)


def test_the_rollout_state_after_a_rollback() -> None:
    assert RolloutState.READY.after_rollback() is RolloutState.ROLLED_BACK
    assert RolloutState.TIMEOUT.after_rollback() is RolloutState.ROLLBACK_FAILED
    assert RolloutState.FAILED.after_rollback() is RolloutState.ROLLBACK_FAILED
