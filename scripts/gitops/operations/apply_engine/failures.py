"""A request the API server refused: what it said (its ``Status``) and what the user can do about it.

Every failed object in a report carries the server's answer (``server``: code, reason,
message, causes) and one fix hint: for an admission denial (a policy or webhook, see
:mod:`gitops.core.admission`), the PersistentVolumeClaimResize plugin's 403, a failed
precondition or a name still being deleted, one that says so; otherwise one chosen from the
HTTP status (https://kubernetes.io/docs/reference/using-api/api-concepts/#http-status-codes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitops.adapters.kube import KubeError
from gitops.core.admission import denial_of, is_resize_refused
from gitops.core.apply_plan import ObjectRef
from gitops.core.retry import is_being_deleted, is_precondition_failure
from gitops.operations.apply_engine.changeset import Action, ObjectResult


def status_summary(err: KubeError) -> dict[str, Any]:
    """The parts of the server's ``Status`` a report shows."""
    details = err.body.get("details") or {}
    summary: dict[str, Any] = {"code": err.status, "reason": err.reason or None, "message": err.message}
    causes = [
        {"reason": c.get("reason"), "field": c.get("field"), "message": c.get("message")}
        for c in details.get("causes") or []
        if isinstance(c, Mapping)
    ]
    if causes:
        summary["causes"] = causes
    return summary


def hint_for(ref: ObjectRef, err: KubeError, host: str) -> str:
    where = f" in namespace {ref.namespace}" if ref.namespace else ""
    details = err.body.get("details") or {}
    denial = denial_of(err.body)
    if denial is not None:
        return (
            f"the cluster's admission control refused {ref} ({denial.by}): change the manifest in Git so "
            "the policy allows it, or ask the policy's owners for an exception"
        )
    if is_resize_refused(err.body):
        return (
            f"{ref.kind} {ref.name}: its StorageClass does not allow volume expansion (allowVolumeExpansion "
            "is not true) or the claim was not dynamically provisioned, so it cannot grow: keep its old size "
            "in Git, or move the data to a new, larger claim"
        )
    if err.status == 409 and is_precondition_failure(err.body):
        return (
            f"{ref} was replaced by another object of the same name between our read and this request; "
            "nothing was deleted. Run again: the next run looks at the new object"
        )
    if err.status == 409 and is_being_deleted(err.body):
        return (
            f"{ref} is still being deleted (a finalizer, such as the garbage collector's 'orphan', has not "
            "been removed yet); run again once it is gone"
        )
    if err.status is None:
        return (
            f"the API server at {host} did not answer; check that the cluster is up and "
            "reachable from here, then run again (applying twice is safe)"
        )
    if err.status == 401:
        return "the kubeconfig's credentials were rejected (expired token or certificate?); refresh them"
    if err.status == 403:
        return (
            f"the kubeconfig's user may not change {ref.kind} objects{where}; grant it get, list, watch, "
            "create, patch and delete on them (RBAC)"
        )
    if err.status == 404 and details.get("kind") == "namespaces":
        return f"namespace {ref.namespace} does not exist: add a Namespace manifest or create it first"
    if err.status == 422:
        return "fix the manifest in Git: the server named the invalid fields above"
    if err.status == 409:
        return "another writer kept changing the object while we applied; run again"
    if err.status >= 500 or err.status == 429:
        return f"the API server kept failing after {err.attempts} attempts; run again when it is healthy"
    return "see the server's message above"


def fail(result: ObjectResult, err: KubeError, host: str, prefix: str = "", *, dry_run: bool = False) -> None:
    """Mark ``result`` failed (or, in a dry run, as one that would fail) with the server's answer."""
    result.action = Action.WOULD_FAIL if dry_run else Action.FAILED
    result.server = status_summary(err)
    result.message = f"{prefix}{err.describe()}"
    result.hint = hint_for(result.ref, err, host)
