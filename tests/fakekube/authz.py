"""ServiceAccount tokens and RBAC: who a bearer token is, and whether RBAC lets it do a request.

The fake's own token (``fake.token``) is the cluster admin and may do anything, as before. Any
other token is looked up among the Secrets of type ``kubernetes.io/service-account-token``
(the long-lived ServiceAccount tokens, https://kubernetes.io/docs/concepts/security/service-accounts/#manual-secret-management-for-serviceaccounts);
the controller loop fills such a Secret's ``token``, ``ca.crt`` and ``namespace`` once its
ServiceAccount exists, as the real token controller does. Its user is
``system:serviceaccount:<namespace>:<name>``.

Authorization follows RBAC (https://kubernetes.io/docs/reference/access-authn-authz/rbac/): a
request is allowed when a rule of a ClusterRole bound by a ClusterRoleBinding, or of a Role or
ClusterRole bound by a RoleBinding in the request's namespace, names its verb, API group and
resource (``*`` matches all; ``resourceNames`` limits to those names; subresources are
``resource/subresource``). Discovery, version and OpenAPI paths are open to every
authenticated user (the default ``system:discovery`` binding). A denial is the apiserver's
403: ``<resource>[.<group>] "<name>" is forbidden: User "<user>" cannot <verb> resource
"<resource>" in API group "<group>" in the namespace "<ns>"`` (k8s.io/apiserver
``responsewriters.forbiddenMessage`` wrapped by apimachinery ``errors.NewForbidden``).
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.fakekube.errors import ApiError

if TYPE_CHECKING:
    from tests.fakekube.fake import FakeKube

TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_ANNOTATION = "kubernetes.io/service-account.name"
RBAC = "rbac.authorization.k8s.io"


@dataclass(frozen=True)
class User:
    name: str
    admin: bool = False
    namespace: str = ""  # a ServiceAccount's
    account: str = ""

    @classmethod
    def service_account(cls, namespace: str, name: str) -> User:
        return cls(f"system:serviceaccount:{namespace}:{name}", False, namespace, name)


ADMIN = User("kubernetes-admin", admin=True)


@dataclass(frozen=True)
class Attributes:
    """What a resource request asks (authorizer.Attributes)."""

    verb: str
    group: str
    resource: str
    subresource: str
    namespace: str | None
    name: str | None


def authenticate(fake: FakeKube, token: str) -> User | None:
    """The user of a bearer token: the admin, a ServiceAccount, or None (401)."""
    if secrets.compare_digest(token.encode(), fake.token.encode()):
        return ADMIN
    if not token:
        return None
    for secret in fake.store.list_objects("", "Secret"):
        if secret.get("type") != TOKEN_TYPE:
            continue
        stored = (secret.get("data") or {}).get("token")
        if not stored:
            continue
        if secrets.compare_digest(base64.b64decode(stored), token.encode()):
            meta = secret["metadata"]
            account = (meta.get("annotations") or {}).get(SA_ANNOTATION, "")
            return User.service_account(str(meta.get("namespace")), str(account))
    return None


def authorize(fake: FakeKube, user: User, attrs: Attributes) -> None:
    """Raise the apiserver's 403 unless RBAC allows ``attrs`` for ``user``."""
    if user.admin or _allowed(fake, user, attrs):
        return
    raise forbidden(user, attrs)


def forbidden(user: User, attrs: Attributes) -> ApiError:
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    where = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    reason = (
        f'User "{user.name}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.group}" {where}'
    )
    qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
    head = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    details: dict[str, Any] = {"kind": attrs.resource}
    if attrs.name:
        details["name"] = attrs.name
    if attrs.group:
        details["group"] = attrs.group
    return ApiError(403, "Forbidden", f"{head} is forbidden: {reason}", details)


def _allowed(fake: FakeKube, user: User, attrs: Attributes) -> bool:
    for rules in _rules_of(fake, user, attrs.namespace):
        if any(_matches(rule, attrs) for rule in rules):
            return True
    return False


def _rules_of(fake: FakeKube, user: User, namespace: str | None) -> list[list[dict[str, Any]]]:
    found: list[list[dict[str, Any]]] = []
    for binding in fake.store.list_objects(RBAC, "ClusterRoleBinding"):
        if _binds(binding, user):
            found.append(_role_rules(fake, binding.get("roleRef") or {}, None))
    if namespace:
        for binding in fake.store.list_objects(RBAC, "RoleBinding", namespace):
            if _binds(binding, user):
                found.append(_role_rules(fake, binding.get("roleRef") or {}, namespace))
    return found


def _binds(binding: dict[str, Any], user: User) -> bool:
    for subject in binding.get("subjects") or []:
        same_account = subject.get("name") == user.account and subject.get("namespace") == user.namespace
        if subject.get("kind") == "ServiceAccount" and user.account and same_account:
            return True
        if subject.get("kind") == "User" and subject.get("name") == user.name:
            return True
    return False


def _role_rules(fake: FakeKube, ref: dict[str, Any], namespace: str | None) -> list[dict[str, Any]]:
    kind, name = ref.get("kind"), ref.get("name")
    if kind == "ClusterRole":
        role = fake.store.get((RBAC, "ClusterRole", "", str(name)))
    elif kind == "Role" and namespace:
        role = fake.store.get((RBAC, "Role", namespace, str(name)))
    else:
        role = None
    return list((role or {}).get("rules") or [])


def _matches(rule: dict[str, Any], attrs: Attributes) -> bool:
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    return (
        _has(rule.get("verbs"), attrs.verb)
        and _has(rule.get("apiGroups"), attrs.group)
        and _has(rule.get("resources"), resource)
        and (not rule.get("resourceNames") or attrs.name in rule["resourceNames"])
    )


def _has(values: Any, wanted: str) -> bool:
    return isinstance(values, list) and ("*" in values or wanted in values)


def fill_service_account_tokens(fake: FakeKube) -> list[dict[str, Any]]:
    """The token controller: each token Secret of an existing ServiceAccount gets its token (once).
    Returns the Secrets to save."""
    filled: list[dict[str, Any]] = []
    for secret in fake.store.list_objects("", "Secret"):
        if secret.get("type") != TOKEN_TYPE or (secret.get("data") or {}).get("token"):
            continue
        meta = secret.get("metadata") or {}
        account = (meta.get("annotations") or {}).get(SA_ANNOTATION)
        namespace = meta.get("namespace")
        if not account or fake.store.get(("", "ServiceAccount", str(namespace), str(account))) is None:
            continue
        data = dict(secret.get("data") or {})
        data["token"] = base64.b64encode(f"fakesa.{secrets.token_urlsafe(32)}".encode()).decode()
        data["namespace"] = base64.b64encode(str(namespace).encode()).decode()
        data["ca.crt"] = base64.b64encode(fake.ca_pem).decode()
        filled.append({**secret, "data": data})
    return filled
