"""What an API server's 422 says: its causes and the object it names (pure).

A rejected write answers with a ``Status``
(https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/): ``reason:
Invalid``, ``details.kind``/``details.name``/``details.group`` naming the object, and
``details.causes[]`` with a machine-readable ``reason`` (``FieldValueForbidden``,
``FieldValueInvalid``, ...), the ``field`` path and a message. A server (or proxy) that drops
the details still writes them into ``message`` (``StatefulSet.apps "db" is invalid: spec:
Forbidden: ...``), which is parsed only then. What the causes mean for the object (may it be
re-created?) is :mod:`gitops.core.immutable`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitops.core.immutable_fields import FORBIDDEN, INVALID


@dataclass(frozen=True)
class Cause:
    """One cause of a rejection: its machine-readable reason, the field path, the server's words."""

    reason: str
    field: str
    message: str = ""

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}" if self.message else self.field
        return f"{text} ({self.reason})" if self.reason else text


_TYPE_TO_REASON = {
    "Invalid value": INVALID,
    "Forbidden": FORBIDDEN,
    "Required value": "FieldValueRequired",
    "Unsupported value": "FieldValueNotSupported",
    "Duplicate value": "FieldValueDuplicate",
    "Not found": "FieldValueNotFound",
    "Too long": "FieldValueTooLong",
    "Too many": "FieldValueTooMany",
    "Internal error": "InternalError",
}
_CAUSE_TYPES = "|".join(map(re.escape, _TYPE_TO_REASON))
_CAUSE_IN_MESSAGE = re.compile(r"(?:^|\[|, )(?P<field>[A-Za-z][\w.\[\]/-]*): (?P<type>" + _CAUSE_TYPES + r")")
_HEAD = re.compile(r'^(?:The )?(?P<kind>[A-Za-z]+)(?:\.(?P<group>[\w.-]+))? "(?P<name>[^"]+)" is invalid: ?')


def causes_of(status: Mapping[str, Any]) -> tuple[Cause, ...]:
    """The causes of a Status: structured ``details.causes``, else parsed from ``message``."""
    return structured_causes(status) or causes_from_message(str(status.get("message") or ""))


def causes_from_message(message: str) -> tuple[Cause, ...]:
    """The causes written into ``message`` (``<field>: <type>: <detail>``, one per field)."""
    head = _HEAD.match(message)
    body = message[head.end() :] if head else message
    matches = list(_CAUSE_IN_MESSAGE.finditer(body))
    causes = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        detail = body[m.start("type") : end].rstrip("]").strip()
        causes.append(Cause(_TYPE_TO_REASON[m["type"]], m["field"], detail))
    return tuple(causes)


def named_object(status: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(group, kind, name) from details, else from the message head."""
    details = status.get("details") or {}
    kind, name, group = details.get("kind"), details.get("name"), details.get("group")
    if not kind or not name:
        head = _HEAD.match(str(status.get("message") or ""))
        if head:
            kind, name = kind or head["kind"], name or head["name"]
            group = group if group is not None else head["group"] or ""
    return (
        None if group is None else str(group),
        None if kind is None else str(kind),
        None if name is None else str(name),
    )


def structured_causes(status: Mapping[str, Any]) -> tuple[Cause, ...]:
    """``details.causes`` as sent (none when a server or proxy dropped them)."""
    raw = (status.get("details") or {}).get("causes") or []
    return tuple(
        Cause(str(c.get("reason") or ""), str(c.get("field") or ""), str(c.get("message") or ""))
        for c in raw
        if isinstance(c, Mapping)
    )
