"""Roll back workloads whose rollout failed, as ``kubectl rollout undo`` does, then wait again.

The revision to go back to is chosen in :mod:`gitops.core.rollback` (and which stuck pods of
the failed revision to delete so a StatefulSet can replace them). Only objects this run
changed are rolled back, and only when rollback is enabled for their service. The run still
fails: a rollback restores service, it does not deploy what was asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitops.adapters.kube import KubeError
from gitops.core.apply_plan import ObjectRef
from gitops.core.ownership import selector_string
from gitops.core.rollback import RollbackPlan, deployment_rollback, statefulset_rollback, stuck_pods
from gitops.operations.apply_engine.changeset import Action, ObjectResult, RollbackRecord
from gitops.operations.apply_engine.kinds import CONTROLLER_REVISION, POD, REPLICA_SET
from gitops.operations.apply_engine.session import Session

ROLLED_BACK_ACTIONS = (Action.CONFIGURED, Action.RECREATED)  # what this run changed in place


def roll_back(session: Session, failed: Sequence[ObjectResult]) -> list[RollbackRecord]:
    records: list[RollbackRecord] = []
    rolled: list[ObjectResult] = []
    for r in failed:
        if not session.settings.rollback.enabled_for(r.item.service):
            session.console.log(f"{r.ref}: rollback on failure is disabled for it; leaving it as it is")
            continue
        if r.action not in ROLLED_BACK_ACTIONS:
            why = f"not rolled back: it was {r.action} in this run, not changed"
            records.append(RollbackRecord(r.ref, False, why))
            continue
        record = _rollback_one(session, r)
        records.append(record)
        if record.performed:
            rolled.append(r)
    if not rolled:
        return records
    with session.console.group(f"Rollout after rollback: {len(rolled)} workload(s)"):
        targets = [(r.ref, session.resource(r.ref)) for r in rolled]
        outcomes = session.waiter.wait(targets, session.settings.rollout_timeout, what="rollback")
    for record in records:
        outcome = outcomes.get(record.ref)
        if outcome is None:
            continue
        record.rollout, record.rollout_message = outcome.state, outcome.message
        target = next(r for r in rolled if r.ref == record.ref)
        target.rollout = outcome.state.after_rollback()
        session.console.log(f"{record.ref}: after rollback: {outcome.state}: {outcome.message}")
    return records


def _rollback_one(session: Session, r: ObjectResult) -> RollbackRecord:
    ref, kube = r.ref, session.kube
    res = session.resource(ref)
    try:
        live = kube.get(res, ref.namespace, ref.name)
        if live is None:
            return RollbackRecord(ref, False, "not rolled back: it no longer exists")
        plan: RollbackPlan
        if ref.group_kind == ("apps", "StatefulSet"):
            plan = statefulset_rollback(live, kube.list(CONTROLLER_REVISION, ref.namespace).items)
        elif ref.group_kind == ("apps", "Deployment"):
            plan = deployment_rollback(live, kube.list(REPLICA_SET, ref.namespace).items)
        else:
            return RollbackRecord(ref, False, f"not rolled back: {ref.kind} has no rollout history")
        if plan.patch is None:
            session.console.warning(f"{ref}: {plan.reason}", title="rollback")
            return RollbackRecord(ref, False, plan.reason, plan.from_revision, plan.to_revision)
        session.console.log(f"{ref}: {plan.reason}")
        kube.patch(res, ref.namespace, ref.name, plan.patch, field_manager=session.settings.field_manager)
        deleted = _unstick_pods(session, ref, live) if ref.group_kind == ("apps", "StatefulSet") else []
        return RollbackRecord(ref, True, plan.reason, plan.from_revision, plan.to_revision, deleted)
    except KubeError as err:
        session.console.error(f"{ref}: rollback failed: {err.describe()}", title="rollback")
        return RollbackRecord(ref, False, f"rollback failed: {err.describe()}")


def _unstick_pods(session: Session, ref: ObjectRef, live: Mapping[str, Any]) -> list[str]:
    """Delete the StatefulSet's stuck pods of the failed revision (see core.rollback.stuck_pods)."""
    selector = selector_string(live)
    if not selector or not (live.get("status") or {}).get("updateRevision"):
        return []
    pods = session.kube.list(POD, ref.namespace, label_selector=selector).items
    deleted: list[str] = []
    for pod in stuck_pods(live, pods):
        session.console.log(f"{ref}: deleting stuck pod {pod.name} of the failed revision ({pod.why})")
        try:
            session.kube.delete(POD, ref.namespace, pod.name, propagation="Background", uid=pod.pod_uid)
        except KubeError as err:
            session.console.warning(f"{ref}: could not delete stuck pod {pod.name}: {err.describe()}")
            continue
        deleted.append(pod.name)
    return deleted
