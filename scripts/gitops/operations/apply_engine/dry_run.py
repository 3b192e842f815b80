"""``--dry-run``: what apply would do to each object, asked of the API server, with nothing written.

Each object is applied with ``dryRun=All``; the answer is compared with the live object
(:func:`gitops.core.drift.applied_change`, :func:`gitops.core.drift.changed_paths` for the
diff, values hidden for Secrets). A 422 goes through the same handling as a real run
(:mod:`.invalid`): "would-recreate" exactly when the real run would re-create, "would-fail"
with the same message and fix when it would stop. Objects whose Namespace or CRD this apply
creates first cannot be asked about and are reported as "would-create".
"""

from __future__ import annotations

from gitops.adapters.kube import KubeError
from gitops.core import drift
from gitops.core.apply_plan import ApplyPlan, PlannedObject
from gitops.operations.apply_engine import invalid
from gitops.operations.apply_engine.changeset import Action, ObjectResult
from gitops.operations.apply_engine.session import Session


def dry_run(session: Session, plan: ApplyPlan) -> list[ObjectResult]:
    created_namespaces = {p.ref.name for p in plan.objects if p.ref.kind == "Namespace"}
    with session.console.group(f"Server-side dry run of {len(plan.objects)} object(s)"):
        return [_dry_run_one(session, item, created_namespaces) for item in plan.objects]


def _dry_run_one(session: Session, item: PlannedObject, created_namespaces: set[str]) -> ObjectResult:
    result = ObjectResult(item)
    start = session.clock.monotonic()
    ref = item.ref
    try:
        if not session.discovery.served(ref) and ref.group_kind in session.discovery.crd_group_kinds:
            result.action, result.message = Action.WOULD_CREATE, "its CRD is created by this apply first"
            return result
        res = session.resource(ref)
        live = session.kube.get(res, ref.namespace, ref.name)
        try:
            manager = session.settings.field_manager
            after = session.kube.apply(res, item.manifest, field_manager=manager, dry_run=True)
        except KubeError as err:
            if err.status == 404 and ref.namespace in created_namespaces and live is None:
                result.action = Action.WOULD_CREATE
                result.message = f"after namespace {ref.namespace} is created"
                return result
            if err.status != 422:
                raise
            rejected = invalid.settle(session, result, res, live, err)
            if rejected is not None:
                result.action = Action.WOULD_RECREATE
                result.message = rejected.verdict.summary
                result.warnings += rejected.verdict.warnings
            return result
        result.diff = drift.changed_paths(live, after, show_values=ref.kind != "Secret")
        result.action = Action.of(drift.applied_change(live, after, dry_run=True), dry_run=True)
    except KubeError as err:
        session.fail(result, err)
    finally:
        result.seconds = session.clock.monotonic() - start
        _log(session, result)
    return result


def _log(session: Session, result: ObjectResult) -> None:
    text = f"{result.action}: {result.message}" if result.message else str(result.action)
    if result.action is Action.WOULD_FAIL:
        session.console.error(f"dry run: {text}", title=str(result.ref))  # the title names the object
    else:
        session.console.log(f"{result.ref}: {text}")
    for d in result.diff:
        session.console.log(f"    {d}")
