"""gitops.adapters.kube: every credential of a kubeconfig is masked before the connection is used.

What counts as a credential is gitops.core.redaction's decision (tests/unit/core/test_redaction.py);
these tests check that the adapter applies it to both ways a kubeconfig arrives, including the
content of a ``tokenFile`` (kubeconfig.v1: "TokenFile is a pointer to a file that contains a bearer
token") and the userinfo of the server URL, which the adapter used to miss.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.adapters import runner
from gitops.adapters.kube import KubeconfigSource, load_connection

TOKEN_IN_FILE = "tokenfile-secret-Zq9"
URL_PASSWORD = "url-Pa55-Zq9"
KEY = b"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKeyZq9\n-----END EC PRIVATE KEY-----\n"


def kubeconfig(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": f"https://kube-admin:{URL_PASSWORD}@127.0.0.1:6443"}}
        ],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }


def test_a_kubeconfig_file_masks_its_token_file_content_and_url_credentials(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN_IN_FILE + "\n", encoding="utf-8")  # as `kubectl create token >`
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig({"tokenFile": "token"})), encoding="utf-8")
    run = runner.reset()
    connection = load_connection(KubeconfigSource(path=path))
    connection.secret_files.close()
    assert run.redact(f"Bearer {TOKEN_IN_FILE}\n") == "Bearer ***\n"
    assert run.redact(f"pw {URL_PASSWORD} and kube-admin:{URL_PASSWORD}") == "pw *** and ***"


def test_a_kubeconfig_in_a_variable_masks_its_data_lines_but_not_its_structure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = kubeconfig(
        {"client-key-data": base64.b64encode(KEY).decode(), "client-certificate-data": "Q0VSVA=="}
    )
    monkeypatch.setenv("KC", yaml.safe_dump(config))
    run = runner.reset()
    connection = load_connection(KubeconfigSource(env_var="KC"))
    connection.secret_files.close()
    assert run.redact(KEY.decode()) == "***\n"
    assert run.redact(URL_PASSWORD) == "***"
    assert run.redact("apiVersion: v1\nkind: Config\nusers:") == "apiVersion: v1\nkind: Config\nusers:"


def test_a_base64_kubeconfig_in_a_variable_is_masked_as_written_and_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = yaml.safe_dump(kubeconfig({"token": "plain-token-Zq9-0123"}))
    encoded = base64.b64encode(text.encode()).decode()
    monkeypatch.setenv("KC", encoded)
    run = runner.reset()
    load_connection(KubeconfigSource(env_var="KC")).secret_files.close()
    assert run.redact(f"{encoded} plain-token-Zq9-0123") == "*** ***"
