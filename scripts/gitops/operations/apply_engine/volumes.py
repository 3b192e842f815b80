"""Grow a StatefulSet's existing claims to its volumeClaimTemplates' size (PVC expansion).

Which claims are smaller, and which of those may grow, is decided in
:mod:`gitops.core.volumes`; this module reads the claims and StorageClasses (:func:`plan`, also
what a dry run and ``gitops diff`` show), patches each claim that may grow (:func:`grow`), and
records what grew and what was left at its old size (and why).
"""

from __future__ import annotations

import threading
from typing import Any

from gitops.adapters.kube import KubeError
from gitops.core.admission import is_resize_refused
from gitops.core.volumes import GrowthPlan, claim_templates, kept_classes, plan_growth, undersized_claims
from gitops.operations.apply_engine.changeset import ObjectResult
from gitops.operations.apply_engine.kinds import PVC, STORAGE_CLASS
from gitops.operations.apply_engine.session import Session

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


class StageClaims:
    """The claims of each namespace, listed once for all the StatefulSets of one stage.

    They are applied at once and each looks for claims to grow right after its apply: the first
    to ask lists, the others wait for that answer instead of sending the same LIST.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._listed: dict[str | None, list[dict[str, Any]]] = {}

    def of(self, namespace: str | None) -> list[dict[str, Any]]:
        with self._lock:
            if namespace not in self._listed:
                self._listed[namespace] = self._session.kube.list(PVC, namespace).items
            return self._listed[namespace]


def plan(
    session: Session, result: ObjectResult, pvcs: list[dict[str, Any]] | None = None
) -> GrowthPlan | None:
    """Which existing PVCs of the StatefulSet would grow, and which could not (read-only).

    None when no claim is smaller than its template. The apply grows them (:func:`grow`);
    its dry run and ``gitops diff`` show this plan. ``pvcs``: the namespace's claims, when the
    caller has listed them already, else a LIST.
    """
    ref, desired = result.ref, result.item.manifest
    if not any(claim_templates(desired).values()):
        return None
    if pvcs is None:
        pvcs = session.kube.list(PVC, ref.namespace).items
    if not undersized_claims(desired, pvcs)[0]:
        return None
    try:
        classes = {str(sc["metadata"]["name"]): sc for sc in session.kube.list(STORAGE_CLASS).items}
    except KubeError as err:
        result.warnings.append(
            f"{ref}: cannot read StorageClasses to grow its PVCs ({err.describe()}); they keep their old size"
        )
        return None
    default = next(
        (
            name
            for name, sc in classes.items()
            if ((sc.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"
        ),
        None,
    )
    return plan_growth(desired, pvcs, classes, default)


def say_kept_classes(result: ObjectResult, pvcs: list[dict[str, Any]]) -> None:
    """Warn (in the log, the report and the summary) about claims that keep another StorageClass
    than their template now asks for: a re-create does not move them (:func:`kept_classes`)."""
    ref, desired = result.ref, result.item.manifest
    kept = kept_classes(desired, pvcs)
    if kept:
        claims = "; ".join(
            f"{k.pvc} stays on {k.current or 'no StorageClass'} (the template asks for {k.wanted})"
            for k in kept
        )
        result.warnings.append(
            f"{ref}: existing PersistentVolumeClaims keep their StorageClass: {claims}. A claim's class "
            "never changes, so only new replicas get the new one; to move a replica's data, copy it to a "
            "claim of the new class"
        )


def grow(session: Session, result: ObjectResult, claims: StageClaims | None = None) -> None:
    """Patch each existing PVC of the StatefulSet up to its template's size (and say which keep
    another StorageClass). ``claims``: the stage's listing, else one LIST for both questions."""
    ref, desired = result.ref, result.item.manifest
    templates = (desired.get("spec") or {}).get("volumeClaimTemplates") or []
    if not any(claim_templates(desired).values()) and not any(
        isinstance((t.get("spec") or {}).get("storageClassName"), str) for t in templates
    ):
        return
    pvcs = claims.of(ref.namespace) if claims else session.kube.list(PVC, ref.namespace).items
    say_kept_classes(result, pvcs)
    growth = plan(session, result, pvcs=pvcs)
    if growth is None:
        return
    expanded: list[str] = []
    left: list[str] = [f"{b.pvc} ({b.current}, wanted {b.wanted}: {b.why})" for b in growth.blocked]
    for resize in growth.resize:
        try:
            session.kube.patch(
                PVC,
                ref.namespace,
                resize.pvc,
                {"spec": {"resources": {"requests": {"storage": resize.wanted}}}},
                patch_type="merge",
                field_manager=session.settings.field_manager,
            )
        except KubeError as err:
            why = (
                "its StorageClass does not allow expansion (the PersistentVolumeClaimResize admission "
                f"plugin refused: {err.message})"
                if is_resize_refused(err.body)
                else err.describe()
            )
            left.append(f"{resize.pvc} ({resize.current}, wanted {resize.wanted}: {why})")
        else:
            expanded.append(f"{resize.pvc}: {resize.current} -> {resize.wanted}")
            session.console.log(
                f"{ref}: expanded PersistentVolumeClaim {resize.pvc} {resize.current} -> {resize.wanted}"
            )
    result.volumes = {"expanded": expanded, "left_at_old_size": left, "notes": list(growth.notes)}
    if left:
        result.warnings.append(
            f"{ref}: PersistentVolumeClaims left at their old size: {'; '.join(left)}. Grow them by hand "
            "once their StorageClass allows expansion (kubectl patch pvc NAME -p "
            '\'{"spec":{"resources":{"requests":{"storage":"SIZE"}}}}\'), or migrate the data'
        )
