"""Staged server-side apply (fluxcd ssa ``manager_apply.go``).

Stages run in the order of :class:`gitops.core.apply_plan.Stage`; the objects of one stage do
not depend on each other and are applied a few at a time (``parallelism``), or many at a time
(``wide_parallelism``) in the stages of plain data - Secrets, ConfigMaps, Services: most of a
large run, one or two round trips each - their results and log lines kept in input order. An
object still being deleted (an earlier run's re-create whose garbage collection had not
finished) is waited for first and never written to while it terminates. Each object is applied
with ``force`` under our field manager;
"unchanged" is the API server's verdict (:func:`gitops.core.drift.applied_change`). A 422 goes
to :mod:`.invalid`, which decides (in :mod:`gitops.core.immutable`) whether :mod:`.recreate`
may act. CRDs and Namespaces are waited for before the next stage; an object's failure stops
the run after its stage: later stages depend on earlier ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gitops.adapters.kube import KubeError
from gitops.core import drift, ownership
from gitops.core.apply_plan import ApplyPlan, ObjectRef, PlannedObject, Stage
from gitops.operations.apply_engine import invalid, recreate, volumes, wait
from gitops.operations.apply_engine.changeset import Action, ObjectResult
from gitops.operations.apply_engine.parallel import each
from gitops.operations.apply_engine.session import Session

LIST_THRESHOLD = 5  # objects of one kind in one namespace above which one LIST beats GETs
WIDE_STAGES = frozenset({Stage.SECRETS, Stage.CONFIGMAPS, Stage.SERVICES})
LISTS_AT_ONCE = 4  # LISTs of one stage (or of verification) sent at once

Live = dict[ObjectRef, dict[str, Any] | None]


def apply_stages(session: Session, plan: ApplyPlan) -> list[ObjectResult]:
    results: list[ObjectResult] = []
    stop_reason: str | None = None
    for stage, items in plan.stages():
        if stop_reason:
            results += [ObjectResult(i, Action.SKIPPED, message=stop_reason) for i in items]
            continue
        with session.console.group(f"Stage {stage.label}: {len(items)} object(s)"):
            stage_results = _apply_stage(session, stage, items, live_objects(session, items))
            results += stage_results
            if all(r.ok for r in stage_results) and stage in (Stage.CRDS, Stage.NAMESPACES):
                wait.wait_established(session, stage_results)
        failed = [r for r in stage_results if not r.ok]
        if failed:
            names = ", ".join(str(r.ref) for r in failed)
            stop_reason = f"not applied: stage {stage.label} failed ({names})"
    return results


def live_objects(session: Session, items: Sequence[PlannedObject]) -> Live:
    """Live objects by one LIST per (kind, namespace) when there are many (never for Secrets).

    Objects not in the answer are read one GET each by the caller.
    """
    live: Live = {}
    for answer in each(listable(session, items), lambda group: read_group(session, group), LISTS_AT_ONCE):
        live.update(answer)
    return live


def listable(session: Session, items: Sequence[PlannedObject]) -> list[list[PlannedObject]]:
    """The groups of ``items`` (one kind in one namespace) that one LIST reads better than a GET each."""
    groups: dict[tuple[str, str, str | None], list[PlannedObject]] = {}
    for item in items:
        groups.setdefault((item.ref.api_version, item.ref.kind, item.ref.namespace), []).append(item)
    crd_kinds = session.discovery.crd_group_kinds
    return [
        members
        for (_av, kind, _ns), members in groups.items()
        if len(members) >= LIST_THRESHOLD and kind != "Secret" and members[0].ref.group_kind not in crd_kinds
    ]


def read_group(session: Session, members: Sequence[PlannedObject]) -> Live:
    """One LIST for ``members`` (one kind in one namespace); nothing when it fails (read them one by one)."""
    ref = members[0].ref
    try:
        listed = session.kube.list(session.resource(ref), ref.namespace)
    except KubeError:
        return {}
    by_name = {i["metadata"]["name"]: i for i in listed.items}
    return {member.ref: by_name.get(member.ref.name) for member in members}


def _apply_stage(
    session: Session, stage: Stage, items: Sequence[PlannedObject], live: Live
) -> list[ObjectResult]:
    """Apply one stage's objects, a bounded number at a time; results (and their log lines) in input order."""
    settings = session.settings
    width = settings.wide_parallelism if stage in WIDE_STAGES else settings.parallelism
    claims = volumes.StageClaims(session)
    results = each(items, lambda item: _apply_one(session, item, live, claims), width)
    for result in results:
        _log_result(session, result)
    return results


def _apply_one(
    session: Session, item: PlannedObject, prefetched: Mapping[ObjectRef, Any], claims: volumes.StageClaims
) -> ObjectResult:
    result = ObjectResult(item)
    start = session.clock.monotonic()
    ref = item.ref
    try:
        res = session.resource(ref)
        live = prefetched[ref] if ref in prefetched else session.kube.get(res, ref.namespace, ref.name)
        if live is not None and (live.get("metadata") or {}).get("deletionTimestamp"):
            if not recreate.wait_until_deleted(session, result, res, live):
                return result
            live = None  # gone: what follows creates it
        try:
            applied = session.kube.apply(res, item.manifest, field_manager=session.settings.field_manager)
        except KubeError as err:
            if err.status != 422:
                raise
            rejected = invalid.settle(session, result, res, live, err)
            if rejected is not None:
                recreate.recreate(session, result, res, rejected)
        else:
            result.uid = ownership.uid(applied)
            result.action = Action.of(drift.applied_change(live, applied, dry_run=False), dry_run=False)
            if ref.group_kind == ("apps", "StatefulSet"):
                volumes.grow(session, result, claims)
    except KubeError as err:
        session.fail(result, err)
    result.seconds = session.clock.monotonic() - start
    return result


def _log_result(session: Session, result: ObjectResult) -> None:
    console = session.console
    line = f"{result.ref}: {result.action} ({result.seconds:.2f}s)"
    if result.action is Action.FAILED:
        # The title names the object; the message says what happened to it (no second copy of the name).
        console.error(f"apply failed ({result.seconds:.2f}s): {result.message}", title=str(result.ref))
        if result.hint:
            console.log(f"  what to do: {result.hint}")
        for d in result.diff:
            console.log(f"    {d}")
    else:
        console.log(line)
    for warning in result.warnings:
        console.warning(warning, title=str(result.ref))
