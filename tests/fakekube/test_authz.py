"""ServiceAccount tokens and RBAC in the fake, as the real apiserver does them.

Expected answers: the 403 body is apimachinery's ``errors.NewForbidden`` of the message that
k8s.io/apiserver ``responsewriters.forbiddenMessage`` builds ("User %q cannot %s resource %q in
API group %q in the namespace %q"); RBAC semantics from
https://kubernetes.io/docs/reference/access-authn-authz/rbac/ (RBAC authorizes a ``dryRun``
request like the real one: the dry run needs the verb, ``patch``); the token controller from
https://kubernetes.io/docs/concepts/security/service-accounts/#manual-secret-management-for-serviceaccounts.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

import pytest
import yaml

from tests.fakekube import FakeKube
from tests.fakekube.wire import Wire

USER = "system:serviceaccount:kube-system:gitops-preview"


def preview_access() -> list[dict[str, object]]:
    text = resources.files("gitops").joinpath("data/preview-access.yaml").read_text(encoding="utf-8")
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.fixture
def fake() -> Iterator[FakeKube]:
    with FakeKube() as started:
        for obj in preview_access():
            started.put(obj)
        yield started


def test_the_token_controller_fills_the_secret_and_the_token_authenticates(fake: FakeKube) -> None:
    token = fake.service_account_token("kube-system", "gitops-preview-token")
    secret = fake.get("v1", "Secret", "kube-system", "gitops-preview-token")
    assert secret is not None and {"token", "ca.crt", "namespace"} <= set(secret["data"])
    reader = Wire(fake, token=token)
    assert reader.call("GET", "/api/v1/namespaces/default/configmaps").status == 200
    assert reader.call("GET", "/apis/apps/v1/namespaces/default/statefulsets").status == 200
    assert reader.call("GET", "/api").status == 200, "discovery is open to every authenticated user"
    assert Wire(fake, token="not-a-token").call("GET", "/api/v1/namespaces").status == 401
    users = {r["path"]: r["user"] for r in fake.requests() if r["path"].endswith("/configmaps")}
    assert users == {"/api/v1/namespaces/default/configmaps": USER}, "the request log names the user"


@pytest.mark.parametrize(
    ("method", "path", "query", "message"),
    [
        pytest.param(
            "GET",
            "/api/v1/namespaces/default/secrets/db",
            None,
            f'secrets "db" is forbidden: User "{USER}" cannot get resource "secrets" in API group "" in the '
            'namespace "default"',
            id="no-secret-get",
        ),
        pytest.param(
            "GET",
            "/api/v1/namespaces/default/secrets",
            None,
            f'secrets is forbidden: User "{USER}" cannot list resource "secrets" in API group "" in the '
            'namespace "default"',
            id="no-secret-list",
        ),
        pytest.param(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/settings",
            {"fieldManager": "gitops", "dryRun": "All", "force": "true"},
            f'configmaps "settings" is forbidden: User "{USER}" cannot patch resource "configmaps" in API '
            'group "" in the namespace "default"',
            id="no-dry-run-either",
        ),
        pytest.param(
            "DELETE",
            "/apis/apps/v1/namespaces/default/statefulsets/db",
            None,
            f'statefulsets.apps "db" is forbidden: User "{USER}" cannot delete resource "statefulsets" in '
            'API group "apps" in the namespace "default"',
            id="no-delete",
        ),
    ],
)
def test_the_preview_identity_reads_and_nothing_else(
    fake: FakeKube, method: str, path: str, query: dict[str, str] | None, message: str
) -> None:
    reader = Wire(fake, token=fake.service_account_token("kube-system", "gitops-preview-token"))
    body = (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}
        if method == "PATCH"
        else None
    )
    answer = reader.call(method, path, body, content_type="application/apply-patch+yaml", query=query)
    assert answer.status == 403
    assert answer.body["reason"] == "Forbidden"
    assert answer.body["message"] == message
    assert fake.get("v1", "ConfigMap", "default", "settings") is None


def test_the_admin_token_is_still_allowed_everything(fake: FakeKube) -> None:
    assert Wire(fake).call("GET", "/api/v1/namespaces/kube-system/secrets").status == 200
