"""After a PostgreSQL rollout: ask the database whether its first start finished initialising.

For each applied StatefulSet annotated ``gitops/verify-postgres`` (see
:mod:`gitops.core.postgres_check`), after its rollout is Ready: unless a check already passed for
its current revision, create the read-only check Job, wait for it, and report. A failed check
fails the deploy (exit 2) loudly, with what is missing and the recovery steps, in the log, as an
error annotation and (through the apply report's verify entry) in the job summary. No
``kubectl exec``, nothing written to the database.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops.adapters import runner
from gitops.adapters.kube import ApiResource, Kube, KubeError
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

JOBS = ApiResource("batch", "v1", "Job", "jobs", True)
PODS = ApiResource("", "v1", "Pod", "pods", True)
STATEFULSETS = ApiResource("apps", "v1", "StatefulSet", "statefulsets", True)
POLL_SECONDS = 2.0
WAIT_SECONDS = 240.0


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
    kube: Kube, objects: Sequence[Mapping[str, Any]], default_namespace: str
) -> list[PostgresCheck]:
    """One check per annotated StatefulSet of ``objects`` (the applied manifests)."""
    results = []
    for target in targets(objects, default_namespace):
        try:
            result = _check(kube, target)
        except KubeError as err:
            result = PostgresCheck(target, False, f"the check could not run: {err.describe()}")
        _report(result)
        results.append(result)
    return results


def _check(kube: Kube, target: Target) -> PostgresCheck:
    console = runner.current()
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
    console.log(f"  checking that {target.statefulset} finished initialising (Job {target.namespace}/{name})")
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        live = kube.get(JOBS, target.namespace, name) or {}
        outcome = finished(live)
        if outcome is True:
            return PostgresCheck(target, True, f"initialised (checked by Job {name})", name)
        if outcome is False or time.monotonic() >= deadline:
            pods = kube.list(PODS, target.namespace, label_selector=f"job-name={name}").items
            detail = (
                failure_detail(live, pods)
                if outcome is False
                else f"the check did not finish within {WAIT_SECONDS:g}s (kubectl -n {target.namespace} "
                f"describe job {name})"
            )
            return PostgresCheck(target, False, detail, name, recovery_steps(target, sts))
        time.sleep(POLL_SECONDS)


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
