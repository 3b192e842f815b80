"""gitops.adapters.kube_connection sets the client configuration itself for plain kubeconfigs, exactly as the
kubernetes client's own loader would.

The expectation is the peer, run side by side: ``kubernetes.config.kube_config.load_kube_config_from_dict``
(kubernetes 37.0.2, hash-locked) on the same kubeconfig, reached by forcing ``load_connection`` down
its loader path. Every field the request path reads is compared: the server, TLS (CA, client
certificate and key, verification, server name), the proxy (also one from the environment) and
the Authorization the configuration hands out. Kubeconfigs the short path does not take (exec
plugins, auth providers, odd shapes) are shown to go through the loader, and an exec plugin to
still work without the rest of the package.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.adapters import kube_connection, kube_modules, runner
from gitops.adapters.kube_connection import load_connection
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.errors import ConfigurationError

CA = b"-----BEGIN CERTIFICATE-----\nMIIBCA==\n-----END CERTIFICATE-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nMIICERT==\n-----END CERTIFICATE-----\n"
KEY = b"-----BEGIN EC PRIVATE KEY-----\nMHcKEY==\n-----END EC PRIVATE KEY-----\n"
FIELDS = ("host", "ssl_ca_cert", "ca_cert_data", "verify_ssl", "tls_server_name", "proxy", "no_proxy")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def config(cluster: dict[str, Any], user: dict[str, Any] | None, **context: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "contexts": [
            {
                "name": "x",
                "context": {"cluster": "c", **({"user": "u"} if user is not None else {}), **context},
            }
        ],
        "current-context": "x",
    }
    if user is not None:
        doc["users"] = [{"name": "u", "user": user}]
    return doc


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """ca.crt, client.crt, client.key and a token file (with the newline an editor adds)."""
    (tmp_path / "ca.crt").write_bytes(CA)
    (tmp_path / "client.crt").write_bytes(CERT)
    (tmp_path / "client.key").write_bytes(KEY)
    (tmp_path / "token").write_text("file-token-Zq9\n", encoding="utf-8")
    return tmp_path


HTTPS = "https://10.0.0.1:6443"

PLAIN = [
    pytest.param(
        config({"server": HTTPS, "certificate-authority-data": b64(CA)}, {"token": "t0k3n"}),
        id="token-ca-data",
    ),
    pytest.param(
        config({"server": HTTPS + "/", "certificate-authority": "ca.crt"}, {"tokenFile": "token"}),
        id="token-file-ca-file",
    ),
    pytest.param(
        config({"server": HTTPS}, {"token": "inline", "tokenFile": "token"}), id="token-wins-over-file"
    ),
    pytest.param(
        config({"server": HTTPS}, {"token": "", "username": "admin", "password": "pw"}),
        id="empty-token-then-basic",
    ),
    pytest.param(
        config(
            {"server": HTTPS, "certificate-authority-data": b64(CA)},
            {"client-certificate-data": b64(CERT), "client-key-data": b64(KEY)},
        ),
        id="client-cert-data",
    ),
    pytest.param(
        config(
            {"server": HTTPS, "certificate-authority": "ca.crt"},
            {"client-certificate": "client.crt", "client-key": "client.key"},
        ),
        id="client-cert-files",
    ),
    pytest.param(
        config(
            {
                "server": HTTPS,
                "insecure-skip-tls-verify": True,
                "tls-server-name": "kube.internal",
                "proxy-url": "http://proxy:3128",
            },
            {"token": "t"},
        ),
        id="insecure-server-name-proxy",
    ),
    pytest.param(
        config({"server": HTTPS, "insecure-skip-tls-verify": False}, {}),
        id="verify-explicitly-no-user-fields",
    ),
    pytest.param(config({"server": "http://127.0.0.1:8001"}, None), id="plain-http-no-user"),
    pytest.param(
        config(
            {"server": "http://127.0.0.1:8001", "certificate-authority": "missing.crt"},
            {"client-key": "gone.key"},
        ),
        id="http-ignores-tls-files",
    ),
    pytest.param(
        config({"certificate-authority": "ca.crt"}, {"token": "t"}), id="no-server-keeps-the-default-host"
    ),
    pytest.param(
        config(
            {"server": HTTPS, "extensions": [{"name": "x", "extension": {}}]},
            {"token": "t"},
            namespace="apps",
        ),
        id="extensions-ignored",
    ),
]


def _write(files: Path, doc: dict[str, Any]) -> Path:
    path = files / "kubeconfig"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _load(
    source: Path | KubeconfigSource,
    *,
    through_loader: bool,
    monkeypatch: pytest.MonkeyPatch,
    asked: list[str] | None = None,
) -> tuple[Any, list[str]]:
    """(connection, kubernetes modules asked for) of one load, by our path or forced through the loader."""
    asked = [] if asked is None else asked
    real = kube_modules.module

    def spy(name: str) -> Any:
        asked.append(name)
        return real(name)

    with monkeypatch.context() as patch:
        patch.setattr(kube_modules, "module", spy)
        if through_loader:
            patch.setattr(kube_connection, "_plain", lambda *_: False)
        runner.reset()
        connection = load_connection(
            source if isinstance(source, KubeconfigSource) else KubeconfigSource(path=source)
        )
    return connection, asked


def _seen(configuration: Any) -> dict[str, Any]:
    """What the request path reads of a configuration; client certificate files by content."""
    seen = {name: getattr(configuration, name) for name in FIELDS}
    for name in ("cert_file", "key_file"):
        value = getattr(configuration, name)
        seen[name] = Path(value).read_bytes() if value and value.startswith("/proc/self/fd/") else value
    seen["authorization"] = configuration.auth_settings().get("BearerToken")
    return seen


@pytest.mark.parametrize("doc", PLAIN)
def test_a_plain_kubeconfig_is_set_as_the_clients_loader_sets_it(
    doc: dict[str, Any], files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(files, doc)
    ours, asked = _load(path, through_loader=False, monkeypatch=monkeypatch)
    theirs, asked_loader = _load(path, through_loader=True, monkeypatch=monkeypatch)
    try:
        assert "config.kube_config" not in asked  # the short path was taken ...
        assert "config.kube_config" in asked_loader  # ... and the peer is the loader
        assert _seen(ours.configuration) == _seen(theirs.configuration)
        assert (ours.host, ours.namespace, ours.context) == (theirs.host, theirs.namespace, theirs.context)
    finally:
        ours.secret_files.close()
        theirs.secret_files.close()


def test_a_proxy_from_the_environment_is_picked_as_the_loader_picks_it(
    files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:3128")
    monkeypatch.setenv("NO_PROXY", "10.0.0.0/8,.internal")
    path = _write(files, config({"server": HTTPS}, {"token": "t"}))
    ours, _ = _load(path, through_loader=False, monkeypatch=monkeypatch)
    theirs, _ = _load(path, through_loader=True, monkeypatch=monkeypatch)
    assert _seen(ours.configuration) == _seen(theirs.configuration)
    assert ours.configuration.proxy == "http://env-proxy:3128"


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(
            config({"server": HTTPS, "certificate-authority": "missing.crt"}, {"token": "t"}), id="missing-ca"
        ),
        pytest.param(
            config({"server": HTTPS}, {"client-certificate": "client.crt", "client-key": "gone.key"}),
            id="missing-key",
        ),
        pytest.param(config({"server": HTTPS}, {"tokenFile": "no-such-token"}), id="missing-token-file"),
    ],
)
def test_a_missing_file_is_reported_as_the_loader_reports_it(
    doc: dict[str, Any], files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(files, doc)
    messages = []
    for through_loader in (False, True):
        with pytest.raises(ConfigurationError) as info:
            _load(path, through_loader=through_loader, monkeypatch=monkeypatch)
        messages.append(info.value.message)
    assert messages[0] == messages[1]
    assert "does not exist" in messages[0] or "No such file" in messages[0]


LOADER = [
    pytest.param(
        config({"server": HTTPS}, {"auth-provider": {"name": "oidc", "config": {}}}), id="auth-provider"
    ),
    pytest.param(config({"server": HTTPS}, {"token": None}), id="null-token"),
    pytest.param(
        config({"server": HTTPS, "certificate-authority-data": ""}, {"token": "t"}), id="empty-ca-data"
    ),
    pytest.param(
        config({"server": HTTPS, "insecure-skip-tls-verify": "true"}, {"token": "t"}), id="string-bool"
    ),
    pytest.param(config({"server": HTTPS}, {"token": "t", "as": "someone"}), id="impersonation"),
    pytest.param(
        {**config({"server": HTTPS}, None), "users": [{"name": None, "user": {"token": "t"}}]},
        id="a-user-without-a-name",
    ),
]


@pytest.mark.parametrize("doc", LOADER)
def test_anything_else_goes_through_the_clients_loader(
    doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a variable, so it reaches the loader as written (a file's entries are merged first)."""
    monkeypatch.setenv("KC", yaml.safe_dump(doc))
    asked: list[str] = []
    try:
        connection, _ = _load(
            KubeconfigSource(env_var="KC"), through_loader=False, monkeypatch=monkeypatch, asked=asked
        )
    except ConfigurationError:
        pass  # the loader refused it (a null, a nameless entry): its verdict, as before
    else:
        connection.secret_files.close()
    assert "config.kube_config" in asked


def test_a_duplicate_name_in_a_kubeconfig_variable_is_refused_by_the_loader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file's duplicates are merged away as kubectl merges them (the first wins); a variable's are not."""
    doc = config({"server": HTTPS}, {"token": "a"})
    doc["users"].append({"name": "u", "user": {"token": "b"}})
    monkeypatch.setenv("KC", yaml.safe_dump(doc))
    runner.reset()
    with pytest.raises(ConfigurationError) as info:
        load_connection(KubeconfigSource(env_var="KC"))
    assert "Expected only one object with name u in kube-config/users list" in info.value.message


def test_an_exec_plugin_still_runs_through_the_loader(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": "exec-token-Zq9"},
    }
    plugin = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": sys.executable,
        "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
    }
    path = _write(files, config({"server": HTTPS}, {"exec": plugin}))
    connection, asked = _load(path, through_loader=False, monkeypatch=monkeypatch)
    assert "config.kube_config" in asked
    assert connection.configuration.auth_settings()["BearerToken"]["value"] == "Bearer exec-token-Zq9"


def test_the_kubernetes_package_is_complete_for_whoever_imports_it_afterwards() -> None:
    """Our modules load without kubernetes/__init__.py; the package still answers like the real one."""
    script = (
        "from gitops.adapters import kube_modules\n"
        "kube_modules.module('client.rest')\n"
        "import sys\n"
        "assert 'kubernetes.dynamic' not in sys.modules and 'kubernetes.config' not in sys.modules\n"
        "import kubernetes\n"
        "print(kubernetes.__version__)\n"
        "from kubernetes import config, dynamic, watch\n"
        "print(kubernetes.client.CoreV1Api.__name__, config.load_kube_config_from_dict.__name__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["37.0.2", "CoreV1Api", "load_kube_config_from_dict"]
