"""gitops.adapters.kube_connection: every credential of a kubeconfig is masked before the connection is used.

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
from gitops.adapters.kube_connection import load_connection
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.errors import ConfigurationError

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


# client-go transport/token_source.go (fileTokenSource): strings.TrimSpace of the file, an empty one
# is "read empty token from file"; a readable file wins over `token`, which is the fallback.
@pytest.mark.parametrize(
    ("content", "inline", "expected"),
    [
        pytest.param(f"{TOKEN_IN_FILE}\n", None, TOKEN_IN_FILE, id="final-newline-trimmed"),
        pytest.param(f" \t{TOKEN_IN_FILE}\r\n\n", None, TOKEN_IN_FILE, id="white-space-trimmed"),
        pytest.param(f"{TOKEN_IN_FILE}\n", "inline-token-Zq9", TOKEN_IN_FILE, id="the-file-wins"),
        pytest.param(None, "inline-token-Zq9", "inline-token-Zq9", id="unreadable-file-falls-back"),
    ],
)
def test_the_token_file_is_read_as_kubectl_reads_it(
    tmp_path: Path, content: str | None, inline: str | None, expected: str
) -> None:
    if content is not None:
        (tmp_path / "token").write_text(content, encoding="utf-8")
    user: dict[str, Any] = {"tokenFile": "token"}
    if inline is not None:
        user["token"] = inline
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig(user)), encoding="utf-8")
    runner.reset()
    connection = load_connection(KubeconfigSource(path=path))
    connection.secret_files.close()
    assert connection.configuration.api_key["BearerToken"] == f"Bearer {expected}"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param("", "is empty", id="empty"),
        pytest.param("\n  \n", "is empty", id="blank"),
        pytest.param(f"{TOKEN_IN_FILE}\nsecond\n", "line break", id="two-lines"),
        pytest.param(None, "cannot read the token file", id="missing"),
    ],
)
def test_a_token_file_no_header_can_carry_is_refused_without_quoting_it(
    tmp_path: Path, content: str | None, words: str
) -> None:
    if content is not None:
        (tmp_path / "token").write_text(content, encoding="utf-8")
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig({"tokenFile": "token"})), encoding="utf-8")
    runner.reset()
    with pytest.raises(ConfigurationError) as info:
        load_connection(KubeconfigSource(path=path))
    assert words in info.value.message
    assert info.value.key is not None and info.value.key.startswith("users[name=u].user.")
    assert TOKEN_IN_FILE not in str(info.value)


def test_a_failing_exec_plugin_is_an_error_with_its_stderr_redacted(tmp_path: Path) -> None:
    plugin = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "sh",
        "args": ["-c", 'echo "denied for $PLUGIN_KEY" >&2; exit 4'],
        "env": [{"name": "PLUGIN_KEY", "value": "plugin-key-Zq9-secret"}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig({"exec": plugin})), encoding="utf-8")
    runner.reset()
    with pytest.raises(ConfigurationError) as info:
        load_connection(KubeconfigSource(path=path))
    # The python client only logs "exec: process returned 4. <stderr>" and goes on without a token.
    said = "exec credential plugin 'sh' failed: exec: process returned 4. denied for ***"
    assert said in info.value.message
    assert info.value.key == "users[name=u].user.exec"


def test_plain_http_to_another_machine_with_a_credential_is_refused(tmp_path: Path) -> None:
    config = kubeconfig({"token": "plain-token-Zq9-0123"})
    config["clusters"][0]["cluster"]["server"] = "http://192.0.2.1:8080"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    runner.reset()
    with pytest.raises(ConfigurationError, match=r"plain http to 192\.0\.2\.1"):
        load_connection(KubeconfigSource(path=path))
