"""gitops.core.kube_errors: a refused kubeconfig gets the fix that applies to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.core.kube_errors import credentials_error


@pytest.mark.parametrize(
    ("status", "title", "message", "hint"),
    [
        pytest.param(
            401,
            "Kubernetes credentials rejected",
            "rejected the credentials of context 'prod' of the kubeconfig in $KC (HTTP 401",
            "get a fresh kubeconfig",
            id="401-expired-token",
        ),
        pytest.param(
            403,
            "Kubernetes permission missing",
            "accepted the credentials of context 'prod' of the kubeconfig in $KC but does not allow this",
            "grant the kubeconfig's user (RBAC) list on nodes",
            id="403-rbac",
        ),
    ],
)
def test_401_and_403_get_different_fixes(status: int, title: str, message: str, hint: str) -> None:
    error = credentials_error(
        "https://k8s.example:6443",
        "prod",
        KubeconfigSource(env_var="KC"),
        status,
        "GET /api/v1/nodes: Unauthorized",
        needs="list on nodes",
    )
    assert error.title == title
    assert message in error.message
    assert error.hint is not None and hint in error.hint


def test_a_file_source_is_named_by_its_path() -> None:
    error = credentials_error(
        "https://h", "c", KubeconfigSource(path=Path("/tmp/kc")), 401, "x", needs="get on everything"
    )
    assert "context 'c' of /tmp/kc" in error.message
