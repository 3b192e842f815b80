"""Re-create an object whose immutable fields change (fluxcd ssa ``manager_delete.go`` + re-apply).

Only after :mod:`gitops.core.immutable` allowed it (see :mod:`.invalid`), and in this order,
each step able to stop the re-create before anything is lost:

1. dry-run the create: a merely invalid manifest must never cost the live object;
2. remember what the old object controls (its pods or ReplicaSets) and a copy to restore from;
3. delete exactly the object we inspected (uid precondition) with the verdict's propagation
   (``Orphan`` for workloads: pods and volumes stay);
4. wait until it is gone (the garbage collector removes the ``orphan`` finalizer first);
5. apply the manifest again; if that fails, create the old object again from the copy;
6. check that the new object adopted the old dependents, and grow a StatefulSet's claims.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from gitops.adapters.kube import ApiResource, KubeError
from gitops.core import drift, ownership
from gitops.core.apply_plan import ObjectRef
from gitops.operations.apply_engine import volumes
from gitops.operations.apply_engine.changeset import Action, ObjectResult
from gitops.operations.apply_engine.invalid import Rejected
from gitops.operations.apply_engine.kinds import BY_GROUP_KIND
from gitops.operations.apply_engine.session import Session


def recreate(session: Session, result: ObjectResult, res: ApiResource, rejected: Rejected) -> None:
    ref, desired, live, verdict = result.ref, result.item.manifest, rejected.live, rejected.verdict
    session.console.log(f"{ref}: {verdict.summary}")
    result.warnings += verdict.warnings
    refused = dry_run_create(session, res, desired)
    if refused is not None:
        session.fail(result, refused, "a dry run of the re-create was rejected, so nothing was deleted: ")
        return
    dependents_res, dependents = controlled(session, ref, live)
    backup = drift.strip_server_fields(live)
    old_uid = ownership.uid(live)
    propagation = verdict.propagation or "Orphan"
    session.console.log(f"{ref}: deleting (propagationPolicy {propagation}, uid {old_uid})")
    try:
        session.kube.delete(res, ref.namespace, ref.name, propagation=propagation, uid=old_uid)
    except KubeError as err:
        session.fail(result, err, "the delete before the re-create was refused; nothing changed: ")
        return
    if not _wait_gone(session, res, ref, old_uid):
        result.action = Action.FAILED
        result.message = (
            f"{ref} was deleted ({propagation}) but is still terminating after "
            f"{session.settings.delete_timeout:.0f}s (finalizers: {_finalizers(session, res, ref)}); "
            "it was not re-created yet"
        )
        result.hint = "run the apply again once it is gone (its pods and volumes are kept)"
        return
    try:
        applied = session.kube.apply(res, desired, field_manager=session.settings.field_manager)
    except KubeError as err:
        _restore(session, result, res, backup, err)
        return
    result.uid = ownership.uid(applied)
    result.action = Action.RECREATED
    result.message = verdict.summary
    if dependents_res is not None and result.uid:
        _verify_adoption(session, result, dependents_res, live, dependents)
    if ref.group_kind == ("apps", "StatefulSet"):
        volumes.grow(session, result)


def dry_run_create(session: Session, res: ApiResource, desired: Mapping[str, Any]) -> KubeError | None:
    """None when the API server would accept ``desired`` as a new object, else its answer.

    The kube-apiserver validates a create before it looks for an existing object, so a
    ``409 AlreadyExists`` to a dry-run create of the live name means "valid". A server (or
    proxy) that checks existence first would hide validation errors behind that 409, so we
    then ask again under a generated name of the same length: only that answer decides.
    """
    manager = session.settings.field_manager
    try:
        session.kube.create(res, desired, field_manager=manager, dry_run=True)
        return None
    except KubeError as err:
        if not (err.status == 409 and err.reason == "AlreadyExists"):
            return err
    probe = copy.deepcopy(dict(desired))
    meta = probe.setdefault("metadata", {})
    name = str(meta.pop("name"))
    meta["generateName"] = name[:-5] if len(name) > 5 else name
    try:
        session.kube.create(res, probe, field_manager=manager, dry_run=True)
    except KubeError as err:
        fields = {str(c.get("field")) for c in (err.body.get("details") or {}).get("causes") or []}
        if err.status == 422 and fields and fields <= {"metadata.name", "metadata.generateName"}:
            return None  # only the stand-in name was refused
        return err
    return None


def controlled(
    session: Session, ref: ObjectRef, live: Mapping[str, Any]
) -> tuple[ApiResource | None, list[Mapping[str, Any]]]:
    """The resource of what ``live`` controls, and those it controls now (by its selector):
    what the re-create keeps (orphans, then checks the new object adopted), or deletes (a Job's)."""
    kind = ownership.dependent_kind(ref.group_kind)
    if kind is None:
        return None, []
    dep = BY_GROUP_KIND[kind]
    selector = ownership.selector_string(live)
    items = session.kube.list(dep, ref.namespace, label_selector=selector).items if selector else []
    return dep, ownership.controlled_by(live, items)


def wait_until_deleted(
    session: Session, result: ObjectResult, res: ApiResource, live: Mapping[str, Any]
) -> bool:
    """``live`` is being deleted (an earlier run's re-create the garbage collector has not finished):
    wait ``delete_timeout`` for it to go, so it is created anew instead of written to while it
    terminates (a write would be lost with it). False, with ``result`` failed, if it stays."""
    ref = result.ref
    finalizers = _finalizers(session, res, ref)
    session.console.log(
        f"{ref}: still being deleted (finalizers: {finalizers}); waiting up to "
        f"{session.settings.delete_timeout:.0f}s for it to go before applying"
    )
    if _wait_gone(session, res, ref, ownership.uid(live)):
        return True
    result.action = Action.FAILED
    result.message = (
        f"{ref} is still being deleted after {session.settings.delete_timeout:.0f}s "
        f"(finalizers: {_finalizers(session, res, ref)}); nothing was applied to it"
    )
    result.hint = (
        "the garbage collector (kube-controller-manager) has not removed its finalizer: check that the "
        "controller-manager is healthy, then run the apply again (pods and volumes are kept)"
    )
    return False


def _finalizers(session: Session, res: ApiResource, ref: ObjectRef) -> str:
    current = session.kube.get(res, ref.namespace, ref.name) or {}
    return ", ".join((current.get("metadata") or {}).get("finalizers") or []) or "none"


def _wait_gone(session: Session, res: ApiResource, ref: ObjectRef, uid: str | None) -> bool:
    """Is the object with ``uid`` gone (deleted, or replaced by another) within ``delete_timeout``?"""

    def gone() -> bool:
        current = session.kube.get(res, ref.namespace, ref.name)
        return current is None or ownership.uid(current) != uid

    return session.poll(gone, bool, session.settings.delete_timeout)


def _restore(
    session: Session, result: ObjectResult, res: ApiResource, backup: dict[str, Any], err: KubeError
) -> None:
    """The re-create failed: create the old object again from the copy taken before the delete."""
    ref, manager = result.ref, session.settings.field_manager
    session.fail(result, err, "the re-create failed: ")
    result.message = result.message or ""
    try:
        session.kube.create(res, backup, field_manager=manager)
    except KubeError as restore_err:
        if ref.kind == "Service":
            spec = backup.get("spec") or {}
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
            try:
                session.kube.create(res, backup, field_manager=manager)
            except KubeError:
                pass
            else:
                result.message = f"{result.message}; the old Service was restored (with a new ClusterIP)"
                return
        with session.console.group(f"Backup of {ref} (restore it with: kubectl create -f FILE)"):
            session.console.log(yaml.safe_dump(backup, sort_keys=False))
        result.message = f"{result.message}; RESTORING THE OLD OBJECT ALSO FAILED: {restore_err.describe()}"
        result.hint = (
            f"{ref} does not exist now. Its last manifest is printed in the log group 'Backup of {ref}': "
            "save it and `kubectl create -f` it, or fix the manifest in Git and apply again"
        )
        return
    result.message = f"{result.message}; the old object was restored from the copy taken before the delete"
    result.hint = "fix the manifest in Git; the cluster runs the previous version"


def _verify_adoption(
    session: Session,
    result: ObjectResult,
    dep_res: ApiResource,
    live: Mapping[str, Any],
    before: Sequence[Mapping[str, Any]],
) -> None:
    """Did the new object adopt what the old one controlled (``before``)? Waits ``adoption_timeout``."""
    ref, desired = result.ref, result.item.manifest
    if not before:
        return
    names = ", ".join(str((d.get("metadata") or {}).get("name")) for d in before)
    listed = " ".join(str((d.get("metadata") or {}).get("name")) for d in before)
    if (live.get("spec") or {}).get("selector") != (desired.get("spec") or {}).get("selector"):
        result.warnings.append(
            f"{ref}: the old {dep_res.kind}s ({names}) keep running without an owner because the "
            f"selector changed; once the new {ref.kind} is healthy delete them: "
            f"kubectl delete {dep_res.plural} -n {ref.namespace} {listed}"
        )
        return
    selector = ownership.selector_string(live)

    def adoption() -> ownership.Adoption:
        now = session.kube.list(dep_res, ref.namespace, label_selector=selector).items
        return ownership.check_adoption(before, now, str(result.uid))

    outcome = session.poll(adoption, lambda a: a.complete, session.settings.adoption_timeout)
    if outcome.complete:
        session.console.log(
            f"{ref}: the new object adopted {len(outcome.adopted)} {dep_res.plural}"
            + (f" ({len(outcome.replaced)} were replaced)" if outcome.replaced else "")
        )
        return
    left = [*outcome.pending, *outcome.foreign]
    result.errors.append(
        f"the re-created {ref} did not adopt {dep_res.plural} {', '.join(left)} within "
        f"{session.settings.adoption_timeout:.0f}s; they run unmanaged"
    )
    result.hint = (
        f"check that {ref}'s selector matches their labels "
        f"(kubectl get {dep_res.plural} -n {ref.namespace} --show-labels); nothing was deleted"
    )
