"""After a successful rollout: does every applied object still exist as we left it, and are a
StatefulSet's volumes Bound?

An object gone, or replaced (another uid) by another writer since the apply, fails the run.
A claim's phase may lag behind its ready pod, so claims are looked at again for up to
``verify_timeout`` before one that is not Bound fails it (:func:`gitops.core.volumes.claim_states`).

Nothing is read twice: an object the rollout watch has just seen is taken from it, the others
come from one LIST per big kind or a GET each (a few at a time), and the claims of a namespace
from one LIST per look for all its StatefulSets (kept on the session: the volumes' Retain step
reads them there).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from gitops.adapters.kube import KubeError
from gitops.core.apply_plan import ObjectRef
from gitops.core.ownership import uid
from gitops.core.volumes import ClaimState, claim_states
from gitops.operations.apply_engine.changeset import APPLIED, Check, ObjectResult
from gitops.operations.apply_engine.kinds import PVC
from gitops.operations.apply_engine.parallel import each
from gitops.operations.apply_engine.session import Session
from gitops.operations.apply_engine.stages import listable, read_group


def verify(session: Session, results: Sequence[ObjectResult]) -> list[Check]:
    applied = [r for r in results if r.action in APPLIED]
    live = _read(session, applied)
    exists: dict[ObjectRef, Check] = {r.ref: _exists(r, live[r.ref]) for r in applied}
    claims = _verify_claims(
        session,
        [
            (r.ref, live[r.ref])
            for r in applied
            if exists[r.ref].passed and r.ref.group_kind == ("apps", "StatefulSet")
        ],
    )
    checks: list[Check] = []
    for r in applied:
        checks += [exists[r.ref], *claims.get(r.ref, [])]
    for c in checks:
        if not c.passed:
            session.console.error(f"{c.ref}: {c.name}: {c.detail}", title="verify")
    return checks


def _read(session: Session, applied: Sequence[ObjectResult]) -> dict[ObjectRef, Any]:
    """Each object as it is now (None: gone; a KubeError: unreadable), all reads at once."""
    live: dict[ObjectRef, Any] = {r.ref: r.observed for r in applied if r.observed is not None}
    unseen = [r.item for r in applied if r.ref not in live]
    groups = listable(session, unseen)  # one LIST per big kind, not a GET each
    grouped = {i.ref for group in groups for i in group}

    def get(ref: ObjectRef) -> dict[ObjectRef, Any]:
        try:
            return {ref: session.kube.get(session.resource(ref), ref.namespace, ref.name)}
        except KubeError as err:
            return {ref: err}

    reads: list[Callable[[], Mapping[ObjectRef, Any]]] = [partial(read_group, session, g) for g in groups]
    reads += [partial(get, i.ref) for i in unseen if i.ref not in grouped]
    for answer in each(reads, lambda read: read(), session.settings.wide_parallelism):
        live.update(answer)
    missed = [i.ref for i in unseen if i.ref not in live]  # in a LIST that failed
    for answer in each(missed, get, session.settings.parallelism):
        live.update(answer)
    return live


def _exists(r: ObjectResult, live: Any) -> Check:
    if isinstance(live, KubeError):
        return Check(r.ref, "exists", False, live.describe())
    if live is None:
        return Check(r.ref, "exists", False, "it is gone: something deleted it after the apply")
    if r.uid and uid(live) != r.uid:
        return Check(r.ref, "exists", False, "it was replaced by another writer after the apply")
    return Check(r.ref, "exists", True, f"uid {uid(live)}")


def _verify_claims(
    session: Session, statefulsets: Sequence[tuple[ObjectRef, Mapping[str, Any]]]
) -> dict[ObjectRef, list[Check]]:
    claiming = [(ref, live) for ref, live in statefulsets if claim_states(live, [])]  # templates and replicas
    if not claiming:
        return {}
    namespaces = sorted({ref.namespace for ref, _ in claiming}, key=str)

    def look() -> list[tuple[ObjectRef, list[ClaimState]]]:
        pvcs = {ns: session.kube.list(PVC, ns).items for ns in namespaces}
        session.claims.update(pvcs)  # the last look is what the steps after the rollout read
        return [(ref, claim_states(live, pvcs[ref.namespace])) for ref, live in claiming]

    found = session.poll(
        look,
        lambda seen: all(s.bound for _, states in seen for s in states),
        session.settings.verify_timeout,
    )
    return {ref: [Check(ref, f"volume {s.pvc}", s.bound, s.detail) for s in states] for ref, states in found}
