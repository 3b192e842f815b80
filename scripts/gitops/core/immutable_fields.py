"""Which fields of which kinds the API server refuses to change, and in which shapes it says so.

One row per immutable field: the path the server names in ``details.causes[].field``, the
cause reasons it uses for it, and whether deeper paths count (``spec.template.spec...`` of a
Job). Rows cover every shape of the supported minor versions (1.31 to 1.37); the corpus in
``tests/corpus/kubernetes/<minor>/`` holds one real body per case and version, each citing the
upstream function it comes from:

* StatefulSet up to 1.36: ONE ``FieldValueForbidden`` cause on ``spec``
  (``ValidateStatefulSetUpdate``: "updates to statefulset spec for fields other than ...");
  from 1.37 (kubernetes/kubernetes#138080) one ``FieldValueInvalid`` cause per changed field:
  ``spec.selector``, ``spec.volumeClaimTemplates``, ``spec.serviceName``,
  ``spec.podManagementPolicy`` ("field is immutable").
* Deployment/DaemonSet/ReplicaSet: ``spec.selector`` (their registry strategies' ``ValidateUpdate``).
* Job: ``ValidateJobSpecUpdate`` (selector, template, completions, completionMode, ...).
* Service: ``spec.clusterIP(s)`` and ``spec.ipFamilies`` ("may not change once set"),
  ``spec.loadBalancerClass`` of a LoadBalancer.
* PersistentVolumeClaim: ``spec`` (bound or not), ``spec.resources.requests.storage`` (shrink).
* ConfigMap/Secret marked ``immutable: true``: ``data``/``binaryData``/``immutable``; a Secret's ``type``.

Each row also says where to look in the objects themselves (``compare``): when a server sends
no causes, or causes we do not recognise, :func:`changed_immutable_fields` compares the live
object with the manifest on exactly these paths. That comparison only ever looks at fields
the manifest sets (what server-side apply would change), so a defaulted field the manifest
leaves out never counts as a change.

Pure data and pure functions: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FORBIDDEN = "FieldValueForbidden"
INVALID = "FieldValueInvalid"

# The cause reasons apimachinery's field.ErrorType produces (k8s.io/apimachinery/pkg/util/validation/field).
FIELD_ERROR_REASONS = frozenset(
    {
        "FieldValueNotFound",
        "FieldValueRequired",
        "FieldValueDuplicate",
        "FieldValueInvalid",
        "FieldValueNotSupported",
        "FieldValueForbidden",
        "FieldValueTooLong",
        "FieldValueTooMany",
        "InternalError",
        "FieldValueTypeInvalid",
    }
)


@dataclass(frozen=True)
class ImmutableField:
    """One way a server names one immutable field."""

    path: str  # as in details.causes[].field, without list indexes
    reasons: frozenset[str]
    prefix: bool = False  # deeper paths (path + ".x") are the same field
    compare: tuple[str, ...] = ()  # dotted paths compared client-side; default: (path,)
    # Where one field and reason also carry ordinary validation errors (a Service's clusterIPs[0]
    # "may not be set to 'None' for NodePort services"), the words that make it the immutable one.
    phrases: tuple[str, ...] = ()

    def matches(self, field_path: str, reason: str, message: str = "") -> bool:
        path = normalize(field_path)
        on_path = path == self.path or (self.prefix and path.startswith(self.path + "."))
        said = not self.phrases or any(phrase in message for phrase in self.phrases)
        return on_path and reason in self.reasons and said

    @property
    def compared(self) -> tuple[str, ...]:
        return self.compare or (self.path,)


# validateUpgradeDowngradeClusterIPs, validateIPFamilies, validateLoadBalancerClassField.
_SERVICE_PHRASES = ("may not change once set", "primary clusterIP can not be unset", "field is immutable")
_STS_FIELDS = ("spec.selector", "spec.volumeClaimTemplates", "spec.serviceName", "spec.podManagementPolicy")

IMMUTABLE_FIELDS: dict[tuple[str, str], tuple[ImmutableField, ...]] = {
    ("apps", "StatefulSet"): (
        # <= 1.36: one Forbidden cause on the whole spec, whichever immutable field changed.
        ImmutableField("spec", frozenset({FORBIDDEN}), compare=_STS_FIELDS),
        # >= 1.37: one Invalid cause per field.
        ImmutableField("spec.selector", frozenset({INVALID})),
        ImmutableField("spec.volumeClaimTemplates", frozenset({INVALID}), prefix=True),
        ImmutableField("spec.serviceName", frozenset({INVALID})),
        ImmutableField("spec.podManagementPolicy", frozenset({INVALID})),
    ),
    ("apps", "Deployment"): (ImmutableField("spec.selector", frozenset({INVALID})),),
    ("apps", "DaemonSet"): (ImmutableField("spec.selector", frozenset({INVALID})),),
    ("apps", "ReplicaSet"): (ImmutableField("spec.selector", frozenset({INVALID})),),
    ("batch", "Job"): (
        ImmutableField("spec.selector", frozenset({INVALID})),
        ImmutableField("spec.template", frozenset({INVALID}), prefix=True),
        ImmutableField("spec.completions", frozenset({INVALID})),
        ImmutableField("spec.completionMode", frozenset({INVALID})),
        ImmutableField("spec.podFailurePolicy", frozenset({INVALID}), prefix=True),
        ImmutableField("spec.backoffLimitPerIndex", frozenset({INVALID})),
        ImmutableField("spec.successPolicy", frozenset({INVALID}), prefix=True),
        ImmutableField("spec.managedBy", frozenset({INVALID})),
    ),
    ("", "Service"): (
        ImmutableField("spec.clusterIP", frozenset({INVALID}), phrases=_SERVICE_PHRASES),
        ImmutableField(
            "spec.clusterIPs",
            frozenset({INVALID}),
            compare=("spec.clusterIPs", "spec.clusterIP"),
            phrases=_SERVICE_PHRASES,
        ),
        ImmutableField("spec.ipFamilies", frozenset({INVALID}), phrases=_SERVICE_PHRASES),
        ImmutableField("spec.loadBalancerClass", frozenset({INVALID}), phrases=_SERVICE_PHRASES),
    ),
    ("", "PersistentVolumeClaim"): (
        ImmutableField(
            "spec",
            frozenset({FORBIDDEN}),
            prefix=True,
            compare=(
                "spec.accessModes",
                "spec.selector",
                "spec.storageClassName",
                "spec.volumeMode",
                "spec.volumeName",
                "spec.dataSource",
                "spec.dataSourceRef",
                "spec.resources.requests.storage",
            ),
        ),
    ),
    ("", "PersistentVolume"): (ImmutableField("spec", frozenset({FORBIDDEN, INVALID}), prefix=True),),
    ("", "ConfigMap"): (
        ImmutableField("data", frozenset({FORBIDDEN})),
        ImmutableField("binaryData", frozenset({FORBIDDEN})),
        ImmutableField("immutable", frozenset({FORBIDDEN})),
    ),
    ("", "Secret"): (
        ImmutableField("data", frozenset({FORBIDDEN}), compare=("data", "stringData")),
        ImmutableField("immutable", frozenset({FORBIDDEN})),
        ImmutableField("type", frozenset({INVALID})),
    ),
}

_INDEX = re.compile(r"\[[^\]]*\]")


def normalize(field_path: str) -> str:
    """``spec.clusterIPs[0]`` -> ``spec.clusterIPs``."""
    return _INDEX.sub("", field_path)


def fields_of(group: str, kind: str) -> tuple[ImmutableField, ...]:
    return IMMUTABLE_FIELDS.get((group, kind), ())


def known(group: str, kind: str) -> bool:
    return (group, kind) in IMMUTABLE_FIELDS


def match(group: str, kind: str, field_path: str, reason: str, message: str = "") -> ImmutableField | None:
    """The row that says (``field_path``, ``reason``, ``message``) is an immutable-field cause, if any."""
    return next((f for f in fields_of(group, kind) if f.matches(field_path, reason, message)), None)


def changed_immutable_fields(
    group: str, kind: str, live: Mapping[str, Any], desired: Mapping[str, Any]
) -> tuple[str, ...]:
    """The immutable paths of the kind where ``desired`` sets a value that ``live`` does not have.

    Only fields the manifest sets are compared (what server-side apply would write); inside
    them, only the keys the manifest sets (the live object carries server defaults). A Secret's
    data is not compared: a manifest's ``stringData`` never equals the live base64 ``data``.
    """
    paths: list[str] = []
    for row in fields_of(group, kind):
        for path in row.compared:
            if kind == "Secret" and path in ("data", "stringData"):
                continue
            if path in paths:
                continue
            present, wanted = _lookup(desired, path)
            if not present:
                continue
            _, current = _lookup(live, path)
            if not _contained(wanted, current):
                paths.append(path)
    return tuple(paths)


def _lookup(obj: Any, path: str) -> tuple[bool, Any]:
    node = obj
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _contained(wanted: Any, current: Any) -> bool:
    """Is every value ``wanted`` sets equal in ``current`` (maps: wanted's keys only; lists: same length)?"""
    if isinstance(wanted, Mapping):
        if not isinstance(current, Mapping):
            return not wanted
        return all(_contained(v, current.get(k)) for k, v in wanted.items())
    if isinstance(wanted, Sequence) and not isinstance(wanted, str):
        if not isinstance(current, Sequence) or isinstance(current, str) or len(wanted) != len(current):
            return False
        return all(_contained(w, c) for w, c in zip(wanted, current, strict=True))
    if _quantity(wanted) is not None and _quantity(wanted) == _quantity(current):
        return True
    return bool(wanted == current)


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_FACTORS = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def _quantity(value: Any) -> float | None:
    """``"20Gi"`` and ``"21474836480"`` are the same size: compare storage sizes as numbers."""
    if not isinstance(value, str):
        return None
    m = _QUANTITY.match(value)
    return float(m.group(1)) * _FACTORS[m.group(2)] if m else None
