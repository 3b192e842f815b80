"""Classify an API server 422 into what, if anything, may be re-created to get past it.

The API server answers an update that touches an immutable field with ``422`` and a
``Status`` (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/):
``reason: Invalid``, ``details.kind``/``details.name``/``details.group`` naming the object and
``details.causes[]`` with a machine-readable ``reason`` (``FieldValueForbidden``,
``FieldValueInvalid``...) and the ``field`` path. We decide from those structured fields; the
human ``message`` is parsed only when a server (or proxy) dropped the causes (reading the Status:
:mod:`gitops.core.invalid_status`).

Safety rules (DESIGN.md "Nothing is deleted that the user did not ask to delete"):

* only the object the 422 names, and only when it is the object we sent;
* only when EVERY cause is an immutable-field cause: a manifest that is also invalid in
  another way would fail the re-create, so deleting would only cost the live object;
* workloads are deleted with ``propagationPolicy: Orphan`` so their pods and volumes stay;
  Jobs with ``Background`` (a Job's pods are its run; they cannot be adopted);
  Services are re-created and we say that the ClusterIP changes;
* never a Namespace, PersistentVolume or PersistentVolumeClaim: a PVC change is fatal, with
  the diff; immutable ConfigMaps/Secrets are refused (rename them instead);
* never a StatefulSet whose ``persistentVolumeClaimRetentionPolicy.whenDeleted`` is
  ``Delete``: that policy makes the volumes follow the StatefulSet;
* never a StatefulSet whose selector changes: the new object could not adopt the pods, and
  would collide with their names (``<name>-<ordinal>``);
* never a StatefulSet whose ``volumeClaimTemplates`` drop a template that still has claims:
  its pods would come back on new, empty volumes (claims are named
  ``<template>-<statefulset>-<ordinal>``, see :mod:`gitops.core.volumes`).

:func:`classify` is the one place that decides what may be deleted. The apply engine, its
dry run (and any preview of what apply would do) call it and do what the verdict says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from gitops.core import immutable_fields
from gitops.core.admission import denial_of
from gitops.core.apply_plan import ObjectRef
from gitops.core.drift import Change
from gitops.core.immutable_fields import FIELD_ERROR_REASONS, normalize
from gitops.core.invalid_status import Cause, causes_from_message, named_object, structured_causes
from gitops.core.volumes import abandoned_claims


class Remedy(Enum):
    RECREATE_ORPHAN = "recreate-orphan"  # StatefulSet / Deployment / DaemonSet / ReplicaSet
    RECREATE_BACKGROUND = "recreate-background"  # Job
    RECREATE_SERVICE = "recreate-service"  # Service (ClusterIP changes)
    FATAL_PVC = "fatal-pvc"  # PersistentVolumeClaim: never deleted
    REFUSE = "refuse"  # immutable, but re-creating is not safe or not ours to do
    DENIED = "denied"  # the cluster's admission control (a policy or webhook) refused it
    NOT_IMMUTABLE = "not-immutable"  # an ordinary validation error


class Evidence(Enum):
    """What a verdict was decided from; the report names it."""

    CAUSES = "the server's causes"
    MESSAGE = "the server's message (it sent no causes)"
    COMPARISON = (
        "a comparison of the live object with the manifest (the server's causes were missing or unrecognised)"
    )
    ADMISSION = "the admission denial in the server's message"


@dataclass(frozen=True)
class ImmutableVerdict:
    remedy: Remedy
    summary: str
    causes: tuple[Cause, ...] = ()
    hint: str | None = None
    warnings: tuple[str, ...] = ()
    diff: tuple[str, ...] = ()
    evidence: Evidence = Evidence.CAUSES

    @property
    def recreate(self) -> bool:
        return self.remedy in (Remedy.RECREATE_ORPHAN, Remedy.RECREATE_BACKGROUND, Remedy.RECREATE_SERVICE)

    @property
    def propagation(self) -> str | None:
        """The ``propagationPolicy`` of the DELETE, or None when nothing may be deleted."""
        return {
            Remedy.RECREATE_ORPHAN: "Orphan",
            Remedy.RECREATE_BACKGROUND: "Background",
            Remedy.RECREATE_SERVICE: "Background",  # a Service has no dependents; the default
        }.get(self.remedy)

    @property
    def immutable(self) -> bool:
        return self.remedy not in (Remedy.NOT_IMMUTABLE, Remedy.DENIED)

    @property
    def change(self) -> Change:
        """What apply does with the object the 422 was about: re-create it, or stop at it."""
        return Change.RECREATE if self.recreate else Change.REFUSE


# Fallback only: phrases the API server uses for immutable fields.
_IMMUTABLE_PHRASES = (
    "field is immutable",
    "may not change once set",
    "updates to statefulset spec for fields other than",
    "spec is immutable after creation",
    "field is immutable when `immutable` is set",
)


def is_immutable_cause(group: str, kind: str, cause: Cause) -> bool:
    """Does ``cause`` say that an immutable field of the kind changed?

    Kinds in :data:`gitops.core.immutable_fields.IMMUTABLE_FIELDS` decide by the table alone (a
    cause it does not recognise is confirmed, or not, by comparing the objects: see
    :func:`classify`); kinds without a table fall back to the server's phrases, which only ever
    lead to "refuse" (:func:`_not_automatic`).
    """
    if immutable_fields.match(group, kind, cause.field, cause.reason, cause.message):
        return True
    if immutable_fields.known(group, kind):
        return False
    text = cause.message.lower()
    return any(phrase in text for phrase in _IMMUTABLE_PHRASES)


def _recognised(cause: Cause) -> bool:
    """A cause with a field and one of the reasons apimachinery's field errors use."""
    return bool(cause.field) and cause.reason in FIELD_ERROR_REASONS


def classify(
    status: Mapping[str, Any],
    *,
    ref: ObjectRef,
    live: Mapping[str, Any] | None,
    desired: Mapping[str, Any],
    claims: Sequence[Mapping[str, Any]] = (),
    resource: str | None = None,
) -> ImmutableVerdict:
    """Decide what to do about a failed apply of ``desired`` (identified by ``ref``).

    ``status`` is the parsed error body; ``live`` is the object as it is in the cluster now
    (None if it does not exist, in which case nothing can be immutable). ``claims`` are the
    PersistentVolumeClaims of the object's namespace, needed for a StatefulSet only.
    ``resource`` is the plural resource name of ``ref`` ("statefulsets"): admission errors
    name the resource, not the kind, in ``details.kind``.
    """
    message = str(status.get("message") or "")
    denial = denial_of(status)
    structured = structured_causes(status)
    causes = structured or causes_from_message(message)
    evidence = Evidence.CAUSES if structured else Evidence.MESSAGE
    if denial is not None:
        return ImmutableVerdict(
            Remedy.DENIED,
            str(denial),
            causes,
            hint="the cluster's admission control refused the object: change the manifest in Git so the "
            "policy allows it, or ask the policy's owners for an exception. Nothing was deleted",
            evidence=Evidence.ADMISSION,
        )
    if int(status.get("code") or 0) != 422 or (status.get("reason") and status.get("reason") != "Invalid"):
        return ImmutableVerdict(Remedy.NOT_IMMUTABLE, message or "not a validation error", causes)
    group, kind, name = named_object(status)
    kinds = {ref.kind.lower(), (resource or "").lower()} - {""}
    if (name is not None and name != ref.name) or (kind is not None and kind.lower() not in kinds):
        return ImmutableVerdict(
            Remedy.REFUSE,
            f"the server's error names {kind} {name!r}, not the {ref} we sent; refusing to delete anything",
            causes,
            hint="report this: a webhook or proxy may be rewriting errors",
        )
    if group is not None and group != ref.group:
        return ImmutableVerdict(
            Remedy.REFUSE,
            f"the server's error names API group {group!r}, not {ref.group!r} of {ref}; refusing to delete",
            causes,
        )
    immutable = [c for c in causes if is_immutable_cause(ref.group, ref.kind, c)]
    unrecognised = [c for c in causes if c not in immutable and not _recognised(c)]
    others = [c for c in causes if c not in immutable and c not in unrecognised]
    if others:
        if not immutable:
            return ImmutableVerdict(Remedy.NOT_IMMUTABLE, message or "the server rejected the object", causes)
        return ImmutableVerdict(
            Remedy.NOT_IMMUTABLE,
            f"changes immutable field(s) {_fields(immutable)} but is also invalid: "
            + "; ".join(map(str, others)),
            causes,
            hint="fix the other errors first; re-creating an invalid object would only lose the live one",
        )
    if live is None:
        return ImmutableVerdict(
            Remedy.NOT_IMMUTABLE, f"was rejected as immutable but does not exist: {message}", causes
        )
    objects = _Objects(ref, live, desired, claims)
    if immutable and not unrecognised:
        return _remedy_for(objects, immutable, evidence)
    return _by_comparison(objects, causes, unrecognised, message)


@dataclass(frozen=True)
class _Objects:
    """What the rejection is about: the object we sent, as it is live and as the manifest wants it."""

    ref: ObjectRef
    live: Mapping[str, Any]
    desired: Mapping[str, Any]
    claims: Sequence[Mapping[str, Any]]


def _by_comparison(
    objects: _Objects, causes: tuple[Cause, ...], unrecognised: Sequence[Cause], message: str
) -> ImmutableVerdict:
    """Causes missing or not recognised: the known immutable fields of the kind decide, compared client-side.

    Only when every unrecognised cause that names a field names one of the fields that changed;
    anything else stays "refuse, with the server's message".
    """
    ref = objects.ref
    changed = (
        immutable_fields.changed_immutable_fields(ref.group, ref.kind, objects.live, objects.desired)
        if immutable_fields.known(ref.group, ref.kind)
        else ()
    )
    unexplained = [c for c in unrecognised if c.field and not any(_overlaps(c.field, p) for p in changed)]
    if not changed or unexplained:
        return ImmutableVerdict(
            Remedy.NOT_IMMUTABLE,
            message or "the server rejected the object",
            causes,
            hint="the server's answer names no immutable field we know, so nothing was deleted; "
            "read its message above and fix the manifest in Git",
        )
    compared = tuple(Cause("", path, "differs from the live object") for path in changed)
    return _remedy_for(objects, list(compared), Evidence.COMPARISON)


def _overlaps(field: str, path: str) -> bool:
    a, b = normalize(field), path
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _fields(causes: Sequence[Cause]) -> str:
    return ", ".join(sorted({c.field or "?" for c in causes}))


@dataclass(frozen=True)
class _Case:
    """One rejection whose causes are all immutable fields: what each kind's remedy decides from."""

    ref: ObjectRef
    causes: tuple[Cause, ...]
    live: Mapping[str, Any]
    desired: Mapping[str, Any]
    claims: Sequence[Mapping[str, Any]]
    evidence: Evidence

    @property
    def fields(self) -> str:
        """The fields the causes name; a StatefulSet's whole-``spec`` cause (<= 1.36) says which changed."""
        named = _fields(self.causes)
        if named == "spec" and self.ref.group_kind == ("apps", "StatefulSet"):
            group, kind = self.ref.group_kind
            changed = immutable_fields.changed_immutable_fields(group, kind, self.live, self.desired)
            if changed:
                return f"spec ({', '.join(changed)})"
        return named

    def changes(self, path: str) -> bool:
        """Does the rejection concern ``path`` (named by a cause, or changed under a whole-spec cause)?"""
        if any(normalize(c.field) == path for c in self.causes):
            return True
        group, kind = self.ref.group_kind
        return path in immutable_fields.changed_immutable_fields(group, kind, self.live, self.desired)

    def verdict(
        self,
        remedy: Remedy,
        summary: str,
        *,
        hint: str | None = None,
        warnings: tuple[str, ...] = (),
        diff: tuple[str, ...] = (),
    ) -> ImmutableVerdict:
        return ImmutableVerdict(remedy, summary, self.causes, hint, warnings, diff, self.evidence)


def _remedy_for(objects: _Objects, causes: list[Cause], evidence: Evidence) -> ImmutableVerdict:
    case = _Case(objects.ref, tuple(causes), objects.live, objects.desired, objects.claims, evidence)
    return _REMEDIES.get(objects.ref.group_kind, _not_automatic)(case)


def _namespace(case: _Case) -> ImmutableVerdict:
    return case.verdict(
        Remedy.REFUSE,
        f"immutable field(s) {case.fields}; a Namespace is never deleted "
        "(that would delete everything in it)",
        hint="revert the change to the Namespace in Git",
    )


def _claim(case: _Case) -> ImmutableVerdict:
    diff = tuple(spec_diff(case.live.get("spec") or {}, case.desired.get("spec") or {}, "spec"))
    phase = (case.live.get("status") or {}).get("phase")
    if any(normalize(c.field) == "spec.resources.requests.storage" for c in case.causes):
        return case.verdict(
            Remedy.FATAL_PVC,
            "a PersistentVolumeClaim cannot shrink below its current capacity; a PVC is never deleted",
            hint="keep the size in Git at least at the claim's current capacity "
            "(volumes only grow); to use less space, migrate the data to a new, smaller PVC",
            diff=diff,
        )
    if phase and phase != "Bound":
        return case.verdict(
            Remedy.FATAL_PVC,
            f"the PersistentVolumeClaim is {phase}, not Bound: the spec of a claim that is not bound "
            "cannot change at all (not even its size); a PVC is never deleted",
            hint="revert the change in Git and apply again once the claim is Bound (it binds when a pod "
            "uses it, for WaitForFirstConsumer classes); its size can grow after that",
            diff=diff,
        )
    return case.verdict(
        Remedy.FATAL_PVC,
        "a PersistentVolumeClaim's spec is immutable except resources.requests.storage "
        "(growth) and volumeAttributesClassName; a PVC is never deleted",
        hint="revert these fields in Git (only storage growth is allowed), or migrate the data to a new PVC",
        diff=diff,
    )


def _volume(case: _Case) -> ImmutableVerdict:
    return case.verdict(
        Remedy.REFUSE,
        f"immutable field(s) {case.fields}; a PersistentVolume is never deleted",
        hint="revert the change in Git",
    )


def _immutable_data(case: _Case) -> ImmutableVerdict:
    """A ConfigMap or Secret marked ``immutable: true``, or a Secret whose type changes."""
    if case.ref.kind == "Secret" and case.changes("type"):
        return case.verdict(
            Remedy.REFUSE,
            "a Secret's type cannot change; it is not re-created automatically",
            hint="give the Secret with the new type a new name and point the workloads at it, or keep the "
            "old type in Git",
        )
    return case.verdict(
        Remedy.REFUSE,
        "it is marked immutable: true, so its data cannot change in place",
        hint="give the changed data a new name (a kustomize generator appends a content hash) "
        "and point the workloads at it",
    )


def _workload(case: _Case) -> ImmutableVerdict:
    """Deployment, DaemonSet, ReplicaSet: orphan the pods, the new object adopts them."""
    warnings: tuple[str, ...] = ()
    if case.changes("spec.selector") or _selector(case.live) != _selector(case.desired):
        warnings = (
            f"{case.ref}: the selector changes, so the new object will NOT adopt the old pods; they keep "
            "running orphaned until you delete them",
        )
    return case.verdict(
        Remedy.RECREATE_ORPHAN,
        f"immutable field(s) {case.fields}; re-creating it with propagationPolicy Orphan "
        "(its pods and volumes are kept and adopted by the new object)",
        warnings=warnings,
    )


def _statefulset(case: _Case) -> ImmutableVerdict:
    """A workload whose re-create must also keep its volumes and its pods' names (module doc)."""
    ref = case.ref
    policy = (case.live.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    if policy.get("whenDeleted") == "Delete":
        return case.verdict(
            Remedy.REFUSE,
            "it has persistentVolumeClaimRetentionPolicy.whenDeleted: Delete, so deleting it "
            "could delete its volumes; refusing to re-create it",
            hint=(
                "set whenDeleted: Retain on the live object first (the field is mutable): "
                f"kubectl patch statefulset {ref.name} -n {ref.namespace} --type merge -p "
                '\'{"spec":{"persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Retain"}}}\''
                ", then run the deploy again"
            ),
        )
    if case.changes("spec.selector") or _selector(case.live) != _selector(case.desired):
        return case.verdict(
            Remedy.REFUSE,
            "the selector changes; a re-created StatefulSet could not adopt its pods and "
            "would collide with their names. Nothing was deleted",
            hint=f"delete it yourself (`kubectl delete statefulset {ref.name} -n {ref.namespace} "
            "--cascade=orphan`), then delete its pods one by one so the new StatefulSet re-creates "
            "them on the same volumes, or keep the old selector",
        )
    abandoned = abandoned_claims(case.live, case.desired, case.claims)
    if abandoned:
        return case.verdict(
            Remedy.REFUSE,
            f"volumeClaimTemplates no longer include the claims of {', '.join(abandoned)}: "
            "the re-created pods would start on NEW EMPTY volumes. Nothing was deleted",
            hint="keep the volumeClaimTemplates names (only their size may grow), or migrate the data first",
        )
    return _workload(case)


def _job(case: _Case) -> ImmutableVerdict:
    return case.verdict(
        Remedy.RECREATE_BACKGROUND,
        f"immutable field(s) {case.fields}; re-creating the Job (its pods are deleted with it "
        "and the Job runs again)",
    )


def _service(case: _Case) -> ImmutableVerdict:
    spec = case.live.get("spec") or {}
    old_ip = spec.get("clusterIP")
    shown = f" {old_ip}" if old_ip and old_ip != "None" else ""
    warnings = [
        f"{case.ref}: its ClusterIP{shown} changes; clients that use the IP instead of the DNS name "
        "must be updated"
    ]
    if spec.get("type") == "LoadBalancer":
        ingress = ((case.live.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        addresses = ", ".join(_address(i) for i in ingress if _address(i))
        warnings.append(
            f"{case.ref}: it is a LoadBalancer: deleting it releases its load balancer"
            + (f" and external address {addresses}" if addresses else "")
            + "; the new Service gets a NEW load balancer and external IP (update DNS records and firewall "
            "allow-lists that name the old one)"
        )
    return case.verdict(
        Remedy.RECREATE_SERVICE,
        f"immutable field(s) {case.fields}; re-creating the Service",
        warnings=tuple(warnings),
    )


def _address(ingress: Any) -> str:
    return str(ingress.get("ip") or ingress.get("hostname") or "") if isinstance(ingress, Mapping) else ""


def _not_automatic(case: _Case) -> ImmutableVerdict:
    return case.verdict(
        Remedy.REFUSE,
        f"immutable field(s) {case.fields}; this kind is not re-created automatically",
        hint=f"revert the change in Git, or delete {case.ref} yourself if losing it is acceptable",
    )


# (group, kind) -> its remedy; any other kind is refused with the server's message.
_REMEDIES = {
    ("", "Namespace"): _namespace,
    ("", "PersistentVolumeClaim"): _claim,
    ("", "PersistentVolume"): _volume,
    ("", "ConfigMap"): _immutable_data,
    ("", "Secret"): _immutable_data,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "Deployment"): _workload,
    ("apps", "DaemonSet"): _workload,
    ("apps", "ReplicaSet"): _workload,
    ("batch", "Job"): _job,
    ("", "Service"): _service,
}


def _selector(obj: Mapping[str, Any]) -> Any:
    return (obj.get("spec") or {}).get("selector")


def spec_diff(live: Any, desired: Any, path: str) -> list[str]:
    """Lines ``path: live -> desired`` for every field ``desired`` sets to another value."""
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        lines: list[str] = []
        for key in desired:
            lines += spec_diff(live.get(key), desired[key], f"{path}.{key}")
        return lines
    if desired != live:
        return [f"{path}: {_show(live)} -> {_show(desired)}"]
    return []


def _show(value: Any) -> str:
    return "(unset)" if value is None else repr(value) if isinstance(value, str) else str(value)
