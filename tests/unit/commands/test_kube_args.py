"""gitops.commands._kube_args: the connection flags' errors say which fix applies."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops.adapters.kube import KubeconfigSource
from gitops.commands._kube_args import credentials_error, seconds
from gitops.errors import ConfigurationError


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


def test_seconds_with_a_unit_says_plain_seconds() -> None:
    with pytest.raises(ConfigurationError) as info:
        seconds("5m", "--timeout", 600.0)
    assert info.value.message == "--timeout must be a positive number of seconds, not '5m'"
    assert info.value.hint == "write plain seconds, e.g. --timeout 600 (units such as 5m are not accepted)"
