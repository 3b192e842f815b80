"""``Status`` bodies shaped exactly like the real apiserver's (k8s.io/apimachinery/pkg/api/errors).

https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakekube.resources import Resource


@dataclass
class FieldError:
    """One ``field.Error``: its ``Type`` becomes the cause reason, ``ErrorBody()`` the cause message."""

    reason: str  # FieldValueInvalid | FieldValueForbidden | FieldValueRequired | FieldValueNotSupported ...
    field: str
    detail: str
    value: Any = None
    has_value: bool = False

    def body(self) -> str:
        if self.reason == "FieldValueForbidden":
            return f"Forbidden: {self.detail}"
        if self.reason == "FieldValueRequired":
            return f"Required value: {self.detail}" if self.detail else "Required value"
        if self.reason == "FieldValueNotSupported":
            return f"Unsupported value: {render_value(self.value)}: {self.detail}"
        if self.reason == "FieldValueDuplicate":
            return f"Duplicate value: {render_value(self.value)}"
        if self.reason == "FieldValueTypeInvalid":
            return f"Invalid value: {render_value(self.value)}: {self.detail}"
        if self.has_value:
            return f"Invalid value: {render_value(self.value)}: {self.detail}"
        return f"Invalid value: {self.detail}"

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def render_value(value: Any) -> str:
    """How field errors print a value: strings quoted, numbers bare, structures as compact JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@dataclass
class ApiError(Exception):
    """An error the handler turns into a ``Status`` response."""

    code: int
    reason: str
    message: str
    details: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Sent as Go's http.Error writes it (text/plain, the message and a line break), not as a Status:
    # how the apiserver's filters answer before a request reaches its handler.
    plain: bool = False

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:  # metav1.Status.Reason is omitempty: a webhook's denial may carry none
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"


def _details(res: Resource | None, name: str | None, *, kind: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if res is not None and res.group:
        details["group"] = res.group
    if kind is not None:
        details["kind"] = kind
    elif res is not None:
        details["kind"] = res.plural
    return details


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', _details(res, name))


def namespace_not_found(name: str) -> ApiError:
    return ApiError(404, "NotFound", f'namespaces "{name}" not found', {"name": name, "kind": "namespaces"})


def path_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(res: Resource, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists', _details(res, name))


def conflict(res: Resource, name: str, why: str | None = None) -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {res.qualified} "{name}": {why}',
        _details(res, name),
    )


def precondition_conflict(res: Resource, name: str, why: str) -> ApiError:
    """A DELETE whose precondition does not hold, as rest.BeforeDelete refuses it
    (staging/src/k8s.io/apiserver/pkg/registry/rest/delete.go): errors.NewConflict with
    GroupResource{Group: gvk.Group, Resource: gvk.Kind}, so the message says ``StatefulSet.apps``
    and ``details.kind`` the Kind, not the plural of an ordinary Conflict."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {res.qualified_kind} "{name}": {why}',
        _details(res, name, kind=res.kind),
    )


def invalid(res: Resource, name: str, errors: list[FieldError]) -> ApiError:
    aggregate = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(str(e) for e in errors) + "]"
    causes = [{"reason": e.reason, "message": e.body(), "field": e.field} for e in errors]
    details = _details(res, name, kind=res.kind)
    details["causes"] = causes
    return ApiError(422, "Invalid", f'{res.qualified_kind} "{name}" is invalid: {aggregate}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(res: Resource, name: str, why: str) -> ApiError:
    return ApiError(403, "Forbidden", f'{res.qualified} "{name}" is forbidden: {why}', _details(res, name))


def method_not_allowed() -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
    )


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
        {},
    )


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def too_many_requests(retry_after: int = 1) -> ApiError:
    """The apiserver's 429 (max-in-flight and API priority and fairness alike): ``tooManyRequests``
    in staging/src/k8s.io/apiserver/pkg/server/filters/maxinflight.go sets ``Retry-After`` and
    answers with ``http.Error`` - plain text, no Status body."""
    return ApiError(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.",
        headers={"Retry-After": str(retry_after)},
        plain=True,
    )


def internal_error(
    why: str = 'an error on the server ("") has prevented the request from succeeding',
) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {why}", {"causes": [{"message": why}]})


def gateway_timeout() -> ApiError:
    return ApiError(
        504,
        "Timeout",
        "Timeout: request did not complete within requested timeout - context deadline exceeded",
        {},
    )


def gone(requested: str, oldest: int) -> ApiError:
    return ApiError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def apply_conflict(conflicts: list[tuple[str, str]]) -> ApiError:
    """``conflicts``: (printed manager, path string) pairs, as fieldmanager.NewConflictError builds them."""
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {manager}", "field": path}
        for manager, path in conflicts
    ]
    if len(conflicts) == 1:
        manager, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {manager}: {path}"
    else:
        grouped: dict[str, list[str]] = {}
        for manager, path in conflicts:
            grouped.setdefault(manager, []).append(path)
        lines: list[str] = []
        for manager in sorted(grouped):
            lines.append(f"conflicts with {manager}:")
            lines.extend(f"- {p}" for p in grouped[manager])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, "Conflict", message, {"causes": causes})


def policy_denied(res: Resource, name: str, message: str, policy: str = "fakekube-policy") -> ApiError:
    """A ValidatingAdmissionPolicy's Deny (admission/plugin/policy/validating/dispatcher.go ``Dispatch``):
    admission.NewForbidden names the RESOURCE, then the decision's reason (default Invalid) sets the
    code, and a cause with only the message is appended."""
    why = f"ValidatingAdmissionPolicy '{policy}' with binding '{policy}-binding' denied request: {message}"
    details = _details(res, name)
    details["causes"] = [{"message": why}]
    return ApiError(422, "Invalid", f'{res.qualified} "{name}" is forbidden: {why}', details)


def webhook_denied(message: str, webhook: str = "deny.fakekube.example.com") -> ApiError:
    """A webhook's ``allowed: false`` with status code 403 and a message, through ``ToStatusErr``
    (admission/plugin/webhook/errors/statuserror.go): no reason, no details."""
    return ApiError(403, "", f'admission webhook "{webhook}" denied the request: {message}')
