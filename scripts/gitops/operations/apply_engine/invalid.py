"""An apply the API server rejected as Invalid (422): the one handling the real run and the dry run share.

What may be deleted is decided by :func:`gitops.core.immutable.classify` alone, from the
server's ``Status``, the live object, the manifest and (for a StatefulSet) the claims of its
namespace. This module reads those from the cluster, and either hands the object on to be
re-created or records that apply stops at it: with the classifier's summary, the server's
own message, the fields that would change, the fix, and the evidence the verdict rests on
(the server's causes, its message, an admission denial, or a client-side comparison).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops.adapters.kube import ApiResource, KubeError
from gitops.core.drift import Change
from gitops.core.immutable import ImmutableVerdict, Remedy, classify
from gitops.core.volumes import claim_templates
from gitops.operations.apply_engine.changeset import ObjectResult
from gitops.operations.apply_engine.kinds import PVC
from gitops.operations.apply_engine.session import Session


@dataclass(frozen=True)
class Rejected:
    """An object the server rejected, that may be re-created: the verdict and the live object."""

    verdict: ImmutableVerdict
    live: dict[str, Any]


def settle(
    session: Session, result: ObjectResult, res: ApiResource, live: dict[str, Any] | None, err: KubeError
) -> Rejected | None:
    """Classify the 422 ``err`` for ``result``'s object; :class:`Rejected` when it may be re-created,
    else None with ``result`` marked failed (would-fail in a dry run)."""
    ref = result.ref
    if live is None:
        live = session.kube.get(res, ref.namespace, ref.name)
    claims: list[dict[str, Any]] = []
    if ref.group_kind == ("apps", "StatefulSet") and live is not None and claim_templates(live):
        claims = session.kube.list(PVC, ref.namespace).items
    verdict = classify(
        err.body, ref=ref, live=live, desired=result.item.manifest, claims=claims, resource=res.plural
    )
    result.evidence = verdict.evidence.value
    if verdict.change is Change.RECREATE and live is not None:
        return Rejected(verdict, live)
    session.fail(result, err)
    if verdict.remedy is not Remedy.NOT_IMMUTABLE:  # immutable or denied: our words, then the server's
        result.message = f"{verdict.summary}. Server: {err.message}"
        result.diff = list(verdict.diff)
    result.hint = verdict.hint or result.hint
    return None
