"""After a successful rollout: does every applied object still exist as we left it, and are a
StatefulSet's volumes Bound?

An object gone, or replaced (another uid) by another writer since the apply, fails the run.
A claim's phase may lag behind its ready pod, so claims are looked at again for up to
``verify_timeout`` before one that is not Bound fails it (:func:`gitops.core.volumes.claim_states`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitops.adapters.kube import KubeError
from gitops.core.apply_plan import ObjectRef
from gitops.core.ownership import uid
from gitops.core.volumes import ClaimState, claim_states
from gitops.operations.apply_engine.changeset import APPLIED, Check, ObjectResult
from gitops.operations.apply_engine.kinds import PVC
from gitops.operations.apply_engine.session import Session
from gitops.operations.apply_engine.stages import live_objects


def verify(session: Session, results: Sequence[ObjectResult]) -> list[Check]:
    checks: list[Check] = []
    applied = [r for r in results if r.action in APPLIED]
    listed = live_objects(session, [r.item for r in applied])  # one LIST per big kind, not a GET each
    for r in applied:
        res = session.resource(r.ref)
        try:
            live = listed[r.ref] if r.ref in listed else session.kube.get(res, r.ref.namespace, r.ref.name)
        except KubeError as err:
            checks.append(Check(r.ref, "exists", False, err.describe()))
            continue
        if live is None:
            checks.append(Check(r.ref, "exists", False, "it is gone: something deleted it after the apply"))
            continue
        if r.uid and uid(live) != r.uid:
            checks.append(Check(r.ref, "exists", False, "it was replaced by another writer after the apply"))
            continue
        checks.append(Check(r.ref, "exists", True, f"uid {uid(live)}"))
        if r.ref.group_kind == ("apps", "StatefulSet"):
            checks += _verify_claims(session, r.ref, live)
    for c in checks:
        if not c.passed:
            session.console.error(f"{c.ref}: {c.name}: {c.detail}", title="verify")
    return checks


def _verify_claims(session: Session, ref: ObjectRef, live: Mapping[str, Any]) -> list[Check]:
    if not claim_states(live, []):
        return []  # no claim templates, or no replicas

    def look() -> list[ClaimState]:
        return claim_states(live, session.kube.list(PVC, ref.namespace).items)

    states = session.poll(look, lambda found: all(s.bound for s in found), session.settings.verify_timeout)
    return [Check(ref, f"volume {s.pvc}", s.bound, s.detail) for s in states]
