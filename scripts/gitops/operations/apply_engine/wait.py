"""Rollout waits of one run (fluxcd ssa ``manager_wait.go``): the glue between the engine and the waiter.

:class:`gitops.operations.rollout.RolloutWaiter` watches; this module chooses what to wait
for (CRDs and Namespaces between stages, workloads after the last stage) and records each
:class:`~gitops.operations.rollout.Outcome` on the object's result.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitops.core.ownership import selector_string
from gitops.core.readiness import RolloutState
from gitops.operations.apply_engine.changeset import APPLIED, ObjectResult
from gitops.operations.apply_engine.session import Session
from gitops.operations.rollout import Outcome

ESTABLISH_TIMEOUT = 120.0  # at most this long for a CRD or Namespace before the next stage


def wait_established(session: Session, results: Sequence[ObjectResult]) -> None:
    """Wait until the CRDs / Namespaces just applied can be used; an error on each that cannot."""
    targets = [(r.ref, session.resource(r.ref)) for r in results if r.action in APPLIED]
    timeout = min(session.settings.rollout_timeout, ESTABLISH_TIMEOUT)
    outcomes = session.waiter.wait(targets, timeout, what="establishment")
    for r in results:
        outcome = outcomes.get(r.ref)
        if outcome is not None and outcome.state is not RolloutState.READY:
            r.errors.append(f"{r.ref} is not usable: {outcome.message}")
    if any(r.ref.kind == "CustomResourceDefinition" for r in results):
        session.kube.forget_discovery()


def wait_rollouts(session: Session, results: Sequence[ObjectResult]) -> None:
    waiting = [r for r in results if r.item.waits_for_rollout and r.action in APPLIED]
    if not waiting:
        return
    with session.console.group(f"Rollout: {len(waiting)} workload(s)"):
        outcomes = session.waiter.wait(
            [(r.ref, session.resource(r.ref)) for r in waiting], session.settings.rollout_timeout
        )
    for r in waiting:
        _record(session, r, outcomes[r.ref])


def _record(session: Session, r: ObjectResult, outcome: Outcome) -> None:
    r.rollout, r.rollout_message, r.rollout_seconds = outcome.state, outcome.message, outcome.seconds
    r.pods = list(outcome.pods)
    r.observed = outcome.last_seen
    if outcome.state is RolloutState.READY:
        return
    detail = f"; pods: {'; '.join(outcome.pods)}" if outcome.pods else ""
    # The title names the object; the message does not repeat it.
    session.console.error(f"rollout {outcome.state}: {outcome.message}{detail}", title=f"rollout: {r.ref}")
    if outcome.state.needs_rollback and not r.hint:
        r.hint = (
            f"inspect it: kubectl describe {r.ref.kind.lower()} {r.ref.name} -n {r.ref.namespace}; "
            f"kubectl logs -n {r.ref.namespace} -l {selector_string(r.item.manifest) or '...'}"
        )
