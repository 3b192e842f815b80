"""``--dry-run`` and ``gitops diff``: what apply would do to each object, asked of the server; no writes.

Each object is applied with ``dryRun=All``; the answer is compared with the live object
(:func:`gitops.core.drift.applied_change`, :func:`gitops.core.drift.changed_paths` for the
diff, values hidden for Secrets). A 422 goes through the same handling as a real run
(:mod:`.invalid`): "would-recreate" exactly when the real run would re-create, "would-fail"
with the same message and fix when it would stop. A re-create is foreseen with the real run's
own first steps that write nothing: the dry-run create (:func:`.recreate.dry_run_create`,
whose refusal stops the real run before the delete), what the old object controls
(:func:`.recreate.controlled`: the pods kept, or a Job's deleted) and which claims would grow
(:func:`.volumes.plan`). Objects whose Namespace or CRD this apply creates first cannot be
asked about and are reported as "would-create".

:func:`preview` is one object's foresight with everything it read, for ``gitops diff``
(:mod:`gitops.operations.diffing`); it lets the API server's refusals other than 422 out,
so the caller decides (a 403 means the credentials may not dry-run: the diff compares
client-side instead). :func:`dry_run` is the engine's ``--dry-run``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitops.adapters.kube import ApiResource, KubeError
from gitops.core import drift
from gitops.core.apply_plan import ApplyPlan, PlannedObject
from gitops.core.volumes import GrowthPlan
from gitops.operations.apply_engine import invalid, recreate, volumes
from gitops.operations.apply_engine.changeset import Action, ObjectResult
from gitops.operations.apply_engine.invalid import Rejected
from gitops.operations.apply_engine.session import Session


@dataclass
class Preview:
    """What apply would do with one object (``result``), and what that was decided from."""

    result: ObjectResult
    live: dict[str, Any] | None = None
    answer: dict[str, Any] | None = None  # the API server's reply to the dry-run apply
    rejected: Rejected | None = None  # the 422 and the classifier's verdict, when it was rejected
    growth: GrowthPlan | None = None  # a StatefulSet's claims smaller than its templates
    dependent_kind: str | None = None  # what the object controls (Pod, ReplicaSet), if anything
    dependents: list[str] = field(default_factory=list)  # their names now
    looked: bool = False  # the live object was read (False: decided before any read)


def dry_run(session: Session, plan: ApplyPlan) -> list[ObjectResult]:
    created_namespaces = {p.ref.name for p in plan.objects if p.ref.kind == "Namespace"}
    with session.console.group(f"Server-side dry run of {len(plan.objects)} object(s)"):
        return [_dry_run_one(session, item, created_namespaces) for item in plan.objects]


def _dry_run_one(session: Session, item: PlannedObject, created_namespaces: set[str]) -> ObjectResult:
    start = session.clock.monotonic()
    result = ObjectResult(item)
    try:
        result = preview(session, item, created_namespaces).result
    except KubeError as err:
        session.fail(result, err)
    finally:
        result.seconds = session.clock.monotonic() - start
        _log(session, result)
    return result


def preview(session: Session, item: PlannedObject, created_namespaces: set[str]) -> Preview:
    """Foresee one object; a KubeError other than the 422 apply handles itself is raised."""
    found = Preview(ObjectResult(item))
    result, ref = found.result, item.ref
    if not session.discovery.served(ref) and ref.group_kind in session.discovery.crd_group_kinds:
        result.action, result.message = Action.WOULD_CREATE, "its CRD is created by this apply first"
        return found
    res = session.resource(ref)
    found.live = live = session.kube.get(res, ref.namespace, ref.name)
    found.looked = True
    try:
        manager = session.settings.field_manager
        found.answer = after = session.kube.apply(res, item.manifest, field_manager=manager, dry_run=True)
    except KubeError as err:
        if err.status == 404 and ref.namespace in created_namespaces and live is None:
            result.action = Action.WOULD_CREATE
            result.message = f"after namespace {ref.namespace} is created"
            return found
        if err.status != 422:
            raise
        rejected = invalid.settle(session, result, res, live, err)
        if rejected is not None:
            foresee_recreate(session, found, res, rejected, dry_run_create=True)
        return found
    result.diff = drift.changed_paths(live, after, show_values=ref.kind != "Secret")
    result.action = Action.of(drift.applied_change(live, after, dry_run=True), dry_run=True)
    if ref.group_kind == ("apps", "StatefulSet") and live is not None:
        _foresee_growth(session, found)
    return found


def foresee_recreate(
    session: Session, found: Preview, res: ApiResource, rejected: Rejected, *, dry_run_create: bool
) -> None:
    """The real re-create's steps that write nothing: may it proceed, what it keeps, what grows.

    ``dry_run_create`` False: the credentials may not dry-run, so the first step (which can
    stop the real run before it deletes anything) is not taken; the caller says so.
    """
    result, ref = found.result, found.result.ref
    found.rejected = rejected
    if dry_run_create:
        refused = recreate.dry_run_create(session, res, result.item.manifest)
        if refused is not None:
            why = "a dry run of the re-create was rejected, so nothing would be deleted: "
            session.fail(result, refused, why)
            return
    result.action = Action.WOULD_RECREATE
    result.message = rejected.verdict.summary
    result.warnings += rejected.verdict.warnings
    dep_res, dependents = recreate.controlled(session, ref, rejected.live)
    if dep_res is not None:
        found.dependent_kind = dep_res.kind
        found.dependents = [str((d.get("metadata") or {}).get("name")) for d in dependents]
    if ref.group_kind == ("apps", "StatefulSet"):
        _foresee_growth(session, found)


def _foresee_growth(session: Session, found: Preview) -> None:
    growth = volumes.plan(session, found.result)
    if growth is None:
        return
    found.growth = growth
    found.result.volumes = growth.to_json()


def _log(session: Session, result: ObjectResult) -> None:
    text = f"{result.action}: {result.message}" if result.message else str(result.action)
    if result.action is Action.WOULD_FAIL:
        session.console.error(f"dry run: {text}", title=str(result.ref))  # the title names the object
    else:
        session.console.log(f"{result.ref}: {text}")
    for d in result.diff:
        session.console.log(f"    {d}")
    for line in (result.volumes or {}).get("grow") or []:
        session.console.log(f"    would grow PersistentVolumeClaim {line}")
