"""The apiserver's validation for the cases a deploy tool meets: names, selectors and immutable fields.

Messages and cause reasons follow k8s.io/kubernetes/pkg/apis/*/validation of the minor version the
fake serves (``minor``, "1.31" ... "1.37"); where they differ between versions, the corpus in
``tests/corpus/kubernetes/<minor>/`` holds the real body of each case with its source, and
``tests/fakekube/test_corpus.py`` checks that the fake answers exactly that. The field errors become
``422 Invalid`` Status bodies through :func:`tests.fakekube.errors.invalid`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.fakekube.errors import ApiError, FieldError, forbidden

SERVER_MINORS = ("1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37")
DEFAULT_MINOR = "1.37"

# ValidateStatefulSetUpdate up to 1.36: one Forbidden cause on `spec`; 'revisionHistoryLimit' became
# mutable (and joined the message) in 1.33 (kubernetes/kubernetes#130263).
STATEFULSET_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
    "'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)
STATEFULSET_FORBIDDEN_1_32 = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', "
    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)
STATEFULSET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
# From 1.37 (kubernetes/kubernetes#138080): ValidateImmutableField per field, in this order.
STATEFULSET_IMMUTABLE = ("selector", "volumeClaimTemplates", "serviceName", "podManagementPolicy")
PVC_FORBIDDEN = (
    "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound "
    "claims"
)
PVC_FORBIDDEN_1_33 = "spec is immutable after creation except resources.requests for bound claims"
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"
PVC_RESIZE_FORBIDDEN = (
    "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must "
    "support resize"
)
IMMUTABLE = "field is immutable"

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
LABEL_1123_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)

_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")


def parse_quantity(value: Any) -> Decimal | None:
    """A resource.Quantity as a number of base units; None when it is not a quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]
    except InvalidOperation:
        return None


def _name_errors(kind: str, meta: dict[str, Any]) -> list[FieldError]:
    name = meta.get("name")
    if not name:
        return [FieldError("FieldValueRequired", "metadata.name", "name or generateName is required")]
    if kind in ("Service", "Namespace"):
        pattern, message = (
            (_LABEL_1035, LABEL_1035_MSG) if kind == "Service" else (_LABEL_1123, LABEL_1123_MSG)
        )
    else:
        pattern, message = _SUBDOMAIN, SUBDOMAIN_MSG
    if not isinstance(name, str) or not pattern.match(name) or len(name) > 253:
        return [FieldError("FieldValueInvalid", "metadata.name", message, name, True)]
    return []


def _selector_matches(selector: Any, labels: Any) -> bool:
    from tests.fakekube.selectors import label_selector_matches

    return label_selector_matches(selector, labels if isinstance(labels, dict) else {})


def _workload_create(obj: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        errors.append(FieldError("FieldValueRequired", "spec.selector", ""))
    elif not _selector_matches(selector, labels):
        errors.append(
            FieldError(
                "FieldValueInvalid",
                "spec.template.metadata.labels",
                "`selector` does not match template `labels`",
                labels,
                True,
            )
        )
    if not (template.get("spec") or {}).get("containers"):
        errors.append(FieldError("FieldValueRequired", "spec.template.spec.containers", ""))
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        errors.append(
            FieldError(
                "FieldValueInvalid",
                "spec.replicas",
                "must be greater than or equal to 0",
                replicas,
                True,
            )
        )
    return errors


def validate_create(kind: str, obj: dict[str, Any]) -> list[FieldError]:
    meta = obj.get("metadata") or {}
    errors = _name_errors(kind, meta)
    if kind in ("StatefulSet", "Deployment", "ReplicaSet", "DaemonSet"):
        errors += _workload_create(obj)
    elif kind == "Pod":
        if not (obj.get("spec") or {}).get("containers"):
            errors.append(FieldError("FieldValueRequired", "spec.containers", ""))
    elif kind == "PersistentVolumeClaim":
        spec = obj.get("spec") or {}
        if not spec.get("accessModes"):
            errors.append(
                FieldError("FieldValueRequired", "spec.accessModes", "at least 1 access mode is required")
            )
        if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
            errors.append(FieldError("FieldValueRequired", "spec.resources[storage]", ""))
    elif kind == "Service":
        errors += _service(obj.get("spec") or {})
    elif kind == "Job":
        template = (obj.get("spec") or {}).get("template") or {}
        policy = (template.get("spec") or {}).get("restartPolicy")
        if policy not in ("Never", "OnFailure"):
            errors.append(
                FieldError(
                    "FieldValueNotSupported",
                    "spec.template.spec.restartPolicy",
                    'supported values: "OnFailure", "Never"',
                    policy,
                    True,
                )
            )
    return errors


def _immutable(old: Any, new: Any, field: str) -> list[FieldError]:
    if old != new:
        return [FieldError("FieldValueInvalid", field, IMMUTABLE, new, True)]
    return []


def _minor(minor: str) -> tuple[int, int]:
    major, _, rest = minor.partition(".")
    return int(major), int(rest)


def validate_update(
    kind: str,
    old: dict[str, Any],
    new: dict[str, Any],
    *,
    storage_class: Callable[[str], dict[str, Any] | None],
    resource: Any = None,
    minor: str = DEFAULT_MINOR,
) -> list[FieldError]:
    """Field errors for changing ``old`` into ``new`` (both defaulted). May raise 403 for PVC resize."""
    old_spec = old.get("spec") or {}
    new_spec = new.get("spec") or {}
    errors: list[FieldError] = []
    if kind == "StatefulSet":
        errors += _statefulset_update(old_spec, new_spec, minor)
    elif kind in ("ConfigMap", "Secret"):
        errors += _immutable_data_update(kind, old, new)
    elif kind in ("Deployment", "ReplicaSet", "DaemonSet"):
        errors += _immutable(old_spec.get("selector"), new_spec.get("selector"), "spec.selector")
    elif kind == "Job":
        errors += _immutable(old_spec.get("selector"), new_spec.get("selector"), "spec.selector")
        errors += _immutable(old_spec.get("template"), new_spec.get("template"), "spec.template")
        errors += _immutable(old_spec.get("completions"), new_spec.get("completions"), "spec.completions")
    elif kind == "Service":
        errors += (
            _service(new_spec)
            + _service_update(old_spec, new_spec)
            + _load_balancer_class(old_spec, new_spec)
        )
    elif kind == "PersistentVolumeClaim":
        errors += _pvc_update(old, new, storage_class, resource, minor)
    return errors


def _statefulset_update(old_spec: dict[str, Any], new_spec: dict[str, Any], minor: str) -> list[FieldError]:
    """ValidateStatefulSetUpdate: the whole-spec Forbidden cause up to 1.36, one cause per field after."""
    if _minor(minor) >= (1, 37):
        errors: list[FieldError] = []
        for key in STATEFULSET_IMMUTABLE:
            errors += _immutable(old_spec.get(key), new_spec.get(key), f"spec.{key}")
        return errors
    mutable = [k for k in STATEFULSET_MUTABLE if k != "revisionHistoryLimit" or _minor(minor) >= (1, 33)]
    clone = copy.deepcopy(old_spec)
    for key in mutable:
        if key in new_spec:
            clone[key] = new_spec[key]
        else:
            clone.pop(key, None)
    if clone != new_spec:
        text = STATEFULSET_FORBIDDEN if _minor(minor) >= (1, 33) else STATEFULSET_FORBIDDEN_1_32
        return [FieldError("FieldValueForbidden", "spec", text)]
    return []


def _immutable_data_update(kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    """ValidateConfigMapUpdate / ValidateSecretUpdate: a Secret's type never changes; nothing changes
    once ``immutable: true`` is set."""
    errors: list[FieldError] = []
    if kind == "Secret":
        errors += _immutable(old.get("type") or "Opaque", new.get("type") or "Opaque", "type")
    if old.get("immutable") is True:
        if new.get("immutable") is not True:
            errors.append(FieldError("FieldValueForbidden", "immutable", IMMUTABLE_WHEN_SET))
        for key in ("data",) if kind == "Secret" else ("data", "binaryData"):
            if (old.get(key) or {}) != (new.get(key) or {}):
                errors.append(FieldError("FieldValueForbidden", key, IMMUTABLE_WHEN_SET))
    return errors


def _headless(spec: dict[str, Any]) -> bool:
    return (spec.get("clusterIPs") or []) == ["None"]


def _service(spec: dict[str, Any]) -> list[FieldError]:
    """ValidateService's checks of ports and cluster IPs (create and update; after the registry's
    normalizeClusterIPs/patchAllocatedValues, so a ``clusterIP`` sent alone already has its list)."""
    errors: list[FieldError] = []
    service_type = spec.get("type") or "ClusterIP"
    if service_type == "ExternalName":
        return errors
    ips: list[Any] = list(spec.get("clusterIPs") or [])
    ip = spec.get("clusterIP") or ""
    if not spec.get("ports") and not _headless(spec):
        errors.append(FieldError("FieldValueRequired", "spec.ports", ""))
    if _headless(spec) and service_type in ("NodePort", "LoadBalancer"):
        errors.append(
            FieldError(
                "FieldValueInvalid",
                "spec.clusterIPs[0]",
                f"may not be set to 'None' for {service_type} services",
                "None",
                True,
            )
        )
    # validateServiceClusterIPsRelatedFields: the singular and the plural field agree.
    if ip:
        if not ips:
            errors.append(FieldError("FieldValueRequired", "spec.clusterIPs", ""))
        elif ips[0] != ip:
            errors.append(
                FieldError(
                    "FieldValueInvalid", "spec.clusterIPs", "first value must match `clusterIP`", ips, True
                )
            )
    elif ips:
        errors.append(
            FieldError(
                "FieldValueInvalid",
                "spec.clusterIPs",
                "must be empty when `clusterIP` is not specified",
                ips,
                True,
            )
        )
    for index, value in enumerate(ips):
        if index == 0 and value == "None":
            if len(ips) > 1:
                errors.append(
                    FieldError(
                        "FieldValueInvalid",
                        "spec.clusterIPs",
                        "'None' must be the first and only value",
                        ips,
                        True,
                    )
                )
            continue
        if not _is_ip(value):
            errors.append(
                FieldError(
                    "FieldValueInvalid",
                    f"spec.clusterIPs[{index}]",
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    value,
                    True,
                )
            )
    if len(ips) > 2:
        errors.append(
            FieldError("FieldValueInvalid", "spec.clusterIPs", "may only hold up to 2 values", ips, True)
        )
    return errors


def _is_ip(value: Any) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def _load_balancer_class(old_spec: dict[str, Any], new_spec: dict[str, Any]) -> list[FieldError]:
    """validateLoadBalancerClassField: a LoadBalancer keeps its class while it stays a LoadBalancer."""
    if old_spec.get("type") == new_spec.get("type") == "LoadBalancer":
        old_class, new_class = old_spec.get("loadBalancerClass"), new_spec.get("loadBalancerClass")
        if old_class != new_class:
            return [
                FieldError(
                    "FieldValueInvalid", "spec.loadBalancerClass", "may not change once set", new_class, True
                )
            ]
    return []


def _service_update(old_spec: dict[str, Any], new_spec: dict[str, Any]) -> list[FieldError]:
    """validateUpgradeDowngradeClusterIPs: a cluster IP never changes once set (headless stays headless)."""
    errors: list[FieldError] = []
    if old_spec.get("type") == "ExternalName" or new_spec.get("type") == "ExternalName":
        return errors
    if _headless(old_spec) and _headless(new_spec):
        return errors
    old_ips: list[Any] = list(old_spec.get("clusterIPs") or [])
    new_ips: list[Any] = list(new_spec.get("clusterIPs") or [])
    if len(old_ips) == len(new_ips):
        for index, value in enumerate(old_ips):
            if value != new_ips[index]:
                errors.append(
                    FieldError(
                        "FieldValueInvalid",
                        f"spec.clusterIPs[{index}]",
                        "may not change once set",
                        new_ips,
                        True,
                    )
                )
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errors.append(
                FieldError(
                    "FieldValueInvalid",
                    "spec.clusterIPs[0]",
                    "primary clusterIP can not be unset",
                    new_ips,
                    True,
                )
            )
        elif new_ips[0] != old_ips[0]:
            errors.append(
                FieldError(
                    "FieldValueInvalid", "spec.clusterIPs[0]", "may not change once set", new_ips, True
                )
            )
    elif old_ips and new_ips[0] != old_ips[0]:
        errors.append(
            FieldError("FieldValueInvalid", "spec.clusterIPs[0]", "may not change once set", new_ips, True)
        )
    return errors


def _pvc_update(
    old: dict[str, Any],
    new: dict[str, Any],
    storage_class: Callable[[str], dict[str, Any] | None],
    resource: Any,
    minor: str,
) -> list[FieldError]:
    """ValidatePersistentVolumeClaimUpdate: only a Bound claim may change (grow, or its
    volumeAttributesClassName); shrinking stops at status.capacity (RecoverVolumeExpansionFailure,
    GA in 1.34; before, not below the previous request)."""
    forbidden = PVC_FORBIDDEN if _minor(minor) >= (1, 34) else PVC_FORBIDDEN_1_33
    if (old.get("status") or {}).get("phase") != "Bound":
        old_full = copy.deepcopy(old.get("spec") or {})
        new_full = copy.deepcopy(new.get("spec") or {})
        if not old_full.get("volumeName"):
            new_full.pop("volumeName", None)
        if old_full != new_full:
            diff = _spec_diff(old_full, new_full)
            return [FieldError("FieldValueForbidden", "spec", f"{forbidden}\n{diff}")]
        return []
    old_spec = copy.deepcopy(old.get("spec") or {})
    new_spec = copy.deepcopy(new.get("spec") or {})
    old_requests = (old_spec.get("resources") or {}).get("requests") or {}
    new_requests = (new_spec.get("resources") or {}).get("requests") or {}
    for spec in (old_spec, new_spec):
        (spec.get("resources") or {}).pop("requests", None)
        spec.pop("volumeAttributesClassName", None)
        if not spec.get("resources"):
            spec.pop("resources", None)
    # Binding fills volumeName on an unbound claim; that is not a user change.
    if not old_spec.get("volumeName"):
        new_spec.pop("volumeName", None)
    if old_spec != new_spec:
        diff = _spec_diff(old_spec, new_spec)
        return [FieldError("FieldValueForbidden", "spec", f"{forbidden}\n{diff}")]
    old_size = parse_quantity(old_requests.get("storage"))
    new_size = parse_quantity(new_requests.get("storage"))
    if old_size is None or new_size is None or new_size == old_size:
        return []
    capacity = parse_quantity(((old.get("status") or {}).get("capacity") or {}).get("storage")) or old_size
    if new_size < old_size:
        if _minor(minor) < (1, 34):
            why = "field can not be less than previous value"
        elif new_size <= capacity:
            why = "field can not be less than status.capacity"
        else:
            return []
        return [FieldError("FieldValueForbidden", "spec.resources.requests.storage", why)]
    if new_size > old_size:
        class_name = new_spec.get("storageClassName") or ""
        sc = storage_class(class_name) if class_name else None
        if sc is None or not sc.get("allowVolumeExpansion"):
            name = (new.get("metadata") or {}).get("name", "")
            raise _resize_forbidden(resource, name)
    return []


def _resize_forbidden(resource: Any, name: str) -> ApiError:
    return forbidden(resource, name, PVC_RESIZE_FORBIDDEN)


def _spec_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    lines = ["  core.PersistentVolumeClaimSpec{"]
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if key in old:
                lines.append(f"- \t{key}: {json.dumps(old[key], sort_keys=True)},")
            if key in new:
                lines.append(f"+ \t{key}: {json.dumps(new[key], sort_keys=True)},")
        else:
            lines.append(f"  \t{key}: {json.dumps(old[key], sort_keys=True)},")
    lines.append("  }")
    return "\n".join(lines)
