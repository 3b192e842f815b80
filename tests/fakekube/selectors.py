"""Label selectors (string and ``LabelSelector`` forms) and field selectors.

https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.fakekube.errors import ApiError, bad_request

Requirement = tuple[str, str, tuple[str, ...]]  # key, operator (=, !=, in, notin, exists, !), values

_SET = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def parse_label_selector(text: str) -> list[Requirement]:
    requirements: list[Requirement] = []
    for raw in _split(text or ""):
        part = raw.strip()
        if not part:
            continue
        match = _SET.match(part)
        if match:
            values = tuple(v.strip() for v in match.group(3).split(",") if v.strip())
            requirements.append((match.group(1), match.group(2), values))
        elif "!=" in part:
            key, value = part.split("!=", 1)
            requirements.append((key.strip(), "!=", (value.strip(),)))
        elif "==" in part:
            key, value = part.split("==", 1)
            requirements.append((key.strip(), "=", (value.strip(),)))
        elif "=" in part:
            key, value = part.split("=", 1)
            requirements.append((key.strip(), "=", (value.strip(),)))
        elif part.startswith("!"):
            requirements.append((part[1:].strip(), "!", ()))
        elif re.match(r"^[A-Za-z0-9_./-]+$", part):
            requirements.append((part, "exists", ()))
        else:
            raise bad_request(f"unable to parse requirement: {part!r}")
    return requirements


def requirements_match(requirements: list[Requirement], labels: dict[str, Any]) -> bool:
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key)
        if op == "=" and (not present or value != values[0]):
            return False
        if op == "!=" and present and value == values[0]:
            return False
        if op == "in" and (not present or value not in values):
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
    return True


def selector_requirements(selector: Any) -> list[Requirement] | None:
    """A ``LabelSelector`` object as requirements; None for a null selector (matches nothing)."""
    if not isinstance(selector, dict):
        return None
    found: list[Requirement] = [(k, "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(
            expr.get("operator"), ""
        )
        found.append((expr.get("key", ""), op, tuple(expr.get("values") or ())))
    return found


def label_selector_matches(selector: Any, labels: dict[str, Any]) -> bool:
    requirements = selector_requirements(selector)
    if requirements is None:
        return False
    return requirements_match(requirements, labels)


def _get(obj: dict[str, Any], dotted: str) -> Any:
    cursor: Any = obj
    for part in dotted.split("."):
        if not isinstance(cursor, dict):
            return None
        cursor = cursor.get(part)
    return cursor


# Field selectors the real apiserver supports per kind (beyond metadata.name / metadata.namespace).
FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "Pod": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
        "spec.hostNetwork",
    ),
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
    "Node": ("spec.unschedulable",),
    "ReplicaSet": ("status.replicas",),
    "Job": ("status.successful",),
}


def parse_field_selector(text: str, kind: str, custom: bool = False) -> Callable[[dict[str, Any]], bool]:
    checks: list[tuple[str, bool, str]] = []
    allowed = ("metadata.name", "metadata.namespace", *FIELD_LABELS.get(kind, ()))
    for raw in (text or "").split(","):
        part = raw.strip()
        if not part:
            continue
        if "!=" in part:
            key, value = part.split("!=", 1)
            positive = False
        elif "==" in part:
            key, value = part.split("==", 1)
            positive = True
        elif "=" in part:
            key, value = part.split("=", 1)
            positive = True
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        key = key.strip()
        if key not in allowed:
            raise ApiError(400, "BadRequest", f"field label not supported: {key}")
        checks.append((key, positive, value.strip()))

    def matches(obj: dict[str, Any]) -> bool:
        for key, positive, value in checks:
            actual = _get(obj, key)
            actual_text = (
                "" if actual is None else (str(actual).lower() if isinstance(actual, bool) else str(actual))
            )
            if (actual_text == value) != positive:
                return False
        return True

    return matches
