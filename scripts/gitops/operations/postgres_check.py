"""After a PostgreSQL rollout: ask the database whether its first start finished initialising.

For each applied StatefulSet annotated ``gitops/verify-postgres`` (see
:mod:`gitops.core.postgres_check`), after its rollout is Ready: unless a check already passed for
its current revision, create the read-only check Job, wait for it, and report. A failed check
fails the deploy (exit 2) loudly, with what is missing and the recovery steps, in the log, as an
error annotation and (through the apply report's verify entry) in the job summary. No
``kubectl exec``, nothing written to the database.

The Job is waited for by WATCHING it (:class:`gitops.operations.rollout.RolloutWaiter`, the Job
rules of :mod:`gitops.core.readiness`: its Complete or Failed condition, and its pod failing fast
when its image cannot be pulled), on the apply run's clock, so the check ends the moment the Job
does; at :data:`WAIT_SECONDS` its state and its pod's are reported. The StatefulSet is taken as
the rollout watch last saw it, not read again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops.adapters import runner
from gitops.adapters.kube import ApiResource, Kube, KubeError
from gitops.core.apply_plan import ObjectRef
from gitops.core.postgres_check import (
    LABEL_FOR,
    LABEL_REVISION,
    NotVerifiable,
    Target,
    failure_detail,
    finished,
    recovery_steps,
    revision,
    targets,
    verification_job,
)
from gitops.core.readiness import RolloutState, assess
from gitops.operations.rollout import Outcome, RolloutWaiter

JOBS = ApiResource("batch", "v1", "Job", "jobs", True)
PODS = ApiResource("", "v1", "Pod", "pods", True)
STATEFULSETS = ApiResource("apps", "v1", "StatefulSet", "statefulsets", True)
WAIT_SECONDS = 240.0  # longer than the Job's own activeDeadlineSeconds: it normally ends itself first


@dataclass
class PostgresCheck:
    target: Target
    passed: bool
    detail: str
    job: str | None = None
    recovery: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.target.namespace}/{self.target.statefulset}"

    @property
    def summary(self) -> str:
        """One line: what the check said, then how to recover (the apply report's verify detail)."""
        said = " / ".join(line.strip() for line in self.detail.splitlines() if line.strip())
        steps = " ".join(f"({i}) {step}" for i, step in enumerate(self.recovery, 1))
        return f"{said}. How to recover: {steps}" if steps else said

    def to_json(self) -> dict[str, Any]:
        return {
            "statefulset": self.name,
            "passed": self.passed,
            "detail": self.detail,
            "job": self.job,
            "recovery": self.recovery,
        }


def verify_postgres(
    kube: Kube,
    objects: Sequence[Mapping[str, Any]],
    default_namespace: str,
    *,
    waiter: RolloutWaiter | None = None,
    seen: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> list[PostgresCheck]:
    """One check per annotated StatefulSet of ``objects`` (the applied manifests).

    ``waiter`` watches the check Jobs (the apply engine passes its own, on the run's clock);
    ``seen``: StatefulSets by (namespace, name) as a watch has just delivered them, not read again.
    """
    waiter = waiter or RolloutWaiter(kube)
    results = []
    for target in targets(objects, default_namespace):
        try:
            result = _check(kube, waiter, target, (seen or {}).get((target.namespace, target.statefulset)))
        except KubeError as err:
            result = PostgresCheck(target, False, f"the check could not run: {err.describe()}")
        _report(result)
        results.append(result)
    return results


def _check(kube: Kube, waiter: RolloutWaiter, target: Target, sts: Mapping[str, Any] | None) -> PostgresCheck:
    if sts is None:
        sts = kube.get(STATEFULSETS, target.namespace, target.statefulset)
    if sts is None:
        return PostgresCheck(target, False, "the StatefulSet does not exist")
    rev = revision(sts)
    selector = f"{LABEL_FOR}={target.statefulset},{LABEL_REVISION}={rev}"
    earlier = kube.list(JOBS, target.namespace, label_selector=selector).items
    passed = [j for j in earlier if finished(j) is True]
    if passed:
        done = str(passed[0]["metadata"]["name"])
        return PostgresCheck(target, True, f"initialised (checked for revision {rev} by Job {done})", done)
    running = [j for j in earlier if finished(j) is None]
    if running:
        name = str(running[0]["metadata"]["name"])
    else:
        try:
            job = verification_job(sts, target, attempt=len(earlier) + 1)
        except NotVerifiable as why:
            return PostgresCheck(target, False, f"cannot be checked: {why}")
        name = str(job["metadata"]["name"])
        kube.create(JOBS, job, field_manager="gitops")
    runner.current().log(
        f"  checking that {target.statefulset} finished initialising (Job {target.namespace}/{name})"
    )
    ref = ObjectRef(JOBS.group, JOBS.version, JOBS.kind, target.namespace, name)
    outcome = waiter.wait([(ref, JOBS)], WAIT_SECONDS, what="PostgreSQL check")[ref]
    return _verdict(kube, target, sts, name, outcome)


def _verdict(
    kube: Kube, target: Target, sts: Mapping[str, Any], name: str, outcome: Outcome
) -> PostgresCheck:
    """What the wait for the check Job ``name`` says: passed, failed (what it printed), or not finished."""
    if outcome.state is RolloutState.READY:
        return PostgresCheck(target, True, f"initialised (checked by Job {name})", name)
    live = outcome.last_seen or {}
    if finished(live) is False:  # its psql said why: the termination message of its pod
        pods = kube.list(PODS, target.namespace, label_selector=f"job-name={name}").items
        detail = failure_detail(live, pods)
    elif (
        outcome.state is RolloutState.FAILED
    ):  # its pod cannot run (an image that does not pull), or no watch
        detail = outcome.message
    else:
        state = assess(live).message if live else "not seen yet"
        its_pods = f"; pods: {'; '.join(outcome.pods)}" if outcome.pods else ""
        detail = (
            f"the check did not finish within {WAIT_SECONDS:g}s (the Job: {state}{its_pods}; "
            f"kubectl -n {target.namespace} describe job {name})"
        )
    return PostgresCheck(target, False, detail, name, recovery_steps(target, sts))


def _report(result: PostgresCheck) -> None:
    console = runner.current()
    if result.passed:
        console.log(f"  {result.name}: {result.detail}")
        return
    console.error(
        f"{result.name} is NOT fully initialised or could not be checked: {result.detail}",
        title="PostgreSQL check failed",
    )
    if result.recovery:
        console.log(
            "How to recover:\n" + "\n".join(f"  {i}. {step}" for i, step in enumerate(result.recovery, 1))
        )
