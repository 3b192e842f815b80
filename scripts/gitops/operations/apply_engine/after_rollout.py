"""What runs once the rollouts are done (and rolled back or verified): protect the data, check the database.

* Volume retention (:mod:`gitops.operations.volume_retention`), for everything applied, also after
  a failed rollout: a database that did not start still has its data on its volume. Each claim's
  result goes on the object that owns it: ``volumes.retained`` (JSON and the summary's note) and,
  for a volume left unprotected, a warning. The claims verification has just listed are not
  listed again; the claims' volumes are read (and patched) a few at a time.
* The PostgreSQL check (:mod:`gitops.operations.postgres_check`), for the annotated StatefulSets
  whose rollout became Ready; a failed check is a failed ``verify`` entry, so the run fails (exit 2).
  Each StatefulSet is taken as its rollout watch last saw it; the check's Job is watched by the
  run's rollout waiter (its clock, its progress lines).
"""

from __future__ import annotations

from collections.abc import Mapping

from gitops.core.readiness import RolloutState
from gitops.operations.apply_engine.changeset import APPLIED, ApplyReport, Check, ObjectResult
from gitops.operations.apply_engine.parallel import each
from gitops.operations.apply_engine.session import Session
from gitops.operations.postgres_check import verify_postgres
from gitops.operations.volume_retention import not_protected, retain_volumes


def after_rollout(session: Session, report: ApplyReport) -> None:
    namespace = report.cluster["namespace"]
    applied = {
        (r.ref.kind, r.ref.namespace or namespace, r.ref.name): r
        for r in report.objects
        if r.action in APPLIED
    }
    _retain(session, applied, namespace)
    ready = {
        (r.ref.namespace or namespace, r.ref.name): r
        for r in applied.values()
        if r.ref.group_kind == ("apps", "StatefulSet") and r.rollout is RolloutState.READY
    }
    checks = verify_postgres(
        session.kube,
        [r.item.manifest for r in ready.values()],
        namespace,
        waiter=session.waiter,
        seen={key: r.observed for key, r in ready.items() if r.observed is not None},
    )
    for check in checks:
        result = ready[(check.target.namespace, check.target.statefulset)]
        report.verify.append(Check(result.ref, "postgres initialised", check.passed, check.summary))


def _retain(session: Session, applied: Mapping[tuple[str, str, str], ObjectResult], namespace: str) -> None:
    """The volumes of the applied claims set to Retain; each claim's row on the object that owns it."""
    width = session.settings.parallelism
    rows = retain_volumes(
        session.kube,
        [r.item.manifest for r in applied.values()],
        namespace,
        listed=session.claims,
        each=lambda claims, protect: each(claims, protect, width),
    )
    for row in rows:
        owner = applied[(row.claim.kind, row.claim.namespace, row.claim.owner)]
        volumes = owner.volumes if owner.volumes is not None else {}
        if row.error:
            owner.warnings.append(not_protected(row))
        elif row.retention.patch:
            volumes.setdefault("retained", []).append(row.text)
        volumes.setdefault("retention", []).append(row.to_json())
        owner.volumes = volumes
