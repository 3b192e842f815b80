"""gitops.core.kubeconfig: what a kubeconfig must hold to be stored as a secret (masking: test_redaction)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from gitops.core.kubeconfig import (
    MAX_SECRET_BYTES,
    certificate_authority,
    sealed_size,
    utf8_size,
    validate_kubeconfig,
)
from gitops.errors import ConfigurationError

TOKEN = "k3s-token-0123456789abcdefSECRET"
KEY_DATA = "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUtleQ=="
CERT_DATA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkekNDQVIyZ0F3SUJBZ0lCQURBS0Jn"
CA_DATA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJlRENDQVIrZ0F3SUJBZ0lCQURBS0Jn"


def base() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "dev",
                "cluster": {"server": "https://203.0.113.10:6443", "certificate-authority-data": CA_DATA},
            }
        ],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "admin"}}],
        "current-context": "dev",
        "users": [
            {"name": "admin", "user": {"client-certificate-data": CERT_DATA, "client-key-data": KEY_DATA}}
        ],
        "preferences": {},
    }


def dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def mutate(path: str, value: Any) -> dict[str, Any]:
    """base() with one key changed; path like "users.0.user" ("-" deletes)."""
    doc = copy.deepcopy(base())
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if value == "-":
        del node[key]
    else:
        node[key] = value
    return doc


def test_a_complete_kubeconfig_is_described_without_credentials() -> None:
    text = dump(base())
    facts = validate_kubeconfig(text, "kubeconfig")
    assert (facts.current_context, facts.cluster, facts.user, facts.auth) == (
        "dev",
        "dev",
        "admin",
        "client-certificate",
    )
    assert facts.server == "https://203.0.113.10:6443"
    assert facts.size_bytes == len(text.encode())
    assert KEY_DATA not in repr(facts)


@pytest.mark.parametrize(
    ("user", "auth"),
    [
        pytest.param({"token": TOKEN}, "token", id="token"),
        pytest.param(
            {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "aws"}}, "exec", id="exec"
        ),
        pytest.param({"auth-provider": {"name": "oidc", "config": {}}}, "auth-provider", id="auth-provider"),
        pytest.param(
            {"client-certificate-data": CERT_DATA, "client-key-data": KEY_DATA},
            "client-certificate",
            id="cert",
        ),
    ],
)
def test_every_kind_of_credential_is_accepted(user: dict[str, Any], auth: str) -> None:
    assert validate_kubeconfig(dump(mutate("users.0.user", user))).auth == auth


@pytest.mark.parametrize(
    ("doc", "key", "words"),
    [
        pytest.param(
            mutate("current-context", "-"), "current-context", "missing or empty", id="no-current-context"
        ),
        pytest.param(
            mutate("current-context", ""), "current-context", "missing or empty", id="empty-current-context"
        ),
        pytest.param(
            mutate("current-context", "prod"),
            "contexts",
            "no context named 'prod' (defined: dev)",
            id="unknown-context",
        ),
        pytest.param(
            mutate("contexts.0.context.cluster", "nope"),
            "clusters",
            "no cluster named 'nope'",
            id="unknown-cluster",
        ),
        pytest.param(
            mutate("contexts.0.context.user", "-"),
            "contexts[name=dev].context.user",
            "names no user",
            id="context-without-user",
        ),
        pytest.param(
            mutate("clusters.0.cluster.server", "-"),
            "clusters[name=dev].cluster.server",
            "no `server`",
            id="no-server",
        ),
        pytest.param(
            mutate("clusters.0.cluster.server", "http://203.0.113.10:6443"),
            "clusters[name=dev].cluster.server",
            "https://",
            id="plain-http",
        ),
        pytest.param(
            mutate("clusters.0.cluster.server", "https://:6443"),
            "clusters[name=dev].cluster.server",
            "no host",
            id="no-host",
        ),
        pytest.param(
            mutate("users.0.user", {}), "users[name=admin].user", "no credentials", id="no-credentials"
        ),
        pytest.param(
            mutate("users.0.user", {"client-certificate-data": CERT_DATA}),
            "users[name=admin].user",
            "without its key",
            id="cert-without-key",
        ),
        pytest.param(
            mutate("users.0.user", {"username": "u", "password": "p"}),
            "users[name=admin].user",
            "basic auth was removed",
            id="basic-auth",
        ),
        pytest.param(
            mutate("users.0.user", {"tokenFile": "/var/run/token"}),
            "users[name=admin].user.tokenFile",
            "file on this machine",
            id="token-file",
        ),
        pytest.param(
            mutate("clusters.0.cluster", {"server": "https://h:6443", "certificate-authority": "/ca.crt"}),
            "clusters[name=dev].cluster.certificate-authority",
            "file on this machine",
            id="ca-file",
        ),
        pytest.param(mutate("kind", "Pod"), "kind", "must be Config", id="wrong-kind"),
        pytest.param(mutate("users", {"admin": {}}), "users", "must be a list", id="users-not-a-list"),
    ],
)
def test_each_problem_names_its_key_path(doc: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        validate_kubeconfig(dump(doc), "kc.yaml")
    err = caught.value
    found = [(p.key, p.message) for p in err.problems] or [(err.key, err.message)]
    assert any(k == key and words in m for k, m in found), found
    assert err.file == "kc.yaml"


def test_a_context_defined_twice_is_refused_with_both_lines() -> None:
    doc = base()
    doc["contexts"].append({"name": "dev", "context": {"cluster": "dev", "user": "admin"}})
    with pytest.raises(ConfigurationError, match=r"defined 2 times \(lines \d+, \d+\)") as caught:
        validate_kubeconfig(dump(doc))
    assert caught.value.key == "contexts[name=dev]"


def test_a_repeated_current_context_key_is_refused() -> None:
    text = dump(base()) + "current-context: other\n"
    with pytest.raises(ConfigurationError) as caught:
        validate_kubeconfig(text)
    keys = [p.key for p in caught.value.problems] or [caught.value.key]
    assert "current-context" in keys


def test_several_problems_are_reported_together_with_lines() -> None:
    doc = mutate("clusters.0.cluster.server", "http://x")
    doc["users"][0]["user"] = {}
    with pytest.raises(ConfigurationError) as caught:
        validate_kubeconfig(dump(doc), "kc")
    assert len(caught.value.problems) == 2
    assert all(p.line for p in caught.value.problems)


def test_the_line_of_a_problem_is_the_line_of_its_key() -> None:
    text = dump(mutate("clusters.0.cluster.server", "http://203.0.113.10"))
    with pytest.raises(ConfigurationError) as caught:
        validate_kubeconfig(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "server:" in row)
    assert caught.value.line == line


def test_invalid_yaml_never_quotes_the_content() -> None:
    text = f"users:\n- name: a\n  user:\n    token: {TOKEN}\n   bad: [\n"
    with pytest.raises(ConfigurationError) as caught:
        validate_kubeconfig(text, "kc")
    rendered = str(caught.value) + repr(caught.value)
    assert TOKEN not in rendered
    assert caught.value.line is not None


def test_secret_values_never_appear_in_any_error() -> None:
    doc = mutate("clusters.0.cluster.server", f"http://{TOKEN}.example")
    doc["users"][0]["user"] = {"client-certificate-data": CERT_DATA, "tokenFile": "/t"}
    with pytest.raises(ConfigurationError) as caught:
        validate_kubeconfig(dump(doc))
    rendered = str(caught.value) + "".join(str(p) for p in caught.value.problems)
    for secret in (CERT_DATA, KEY_DATA):
        assert secret not in rendered


def test_insecure_skip_tls_verify_is_a_warning() -> None:
    doc = mutate("clusters.0.cluster", {"server": "https://h:6443", "insecure-skip-tls-verify": True})
    facts = validate_kubeconfig(dump(doc))
    assert any("insecure-skip-tls-verify" in w for w in facts.warnings)


def test_the_limit_counts_utf8_bytes_not_characters() -> None:
    doc = base()
    doc["preferences"] = {"note": "é" * ((MAX_SECRET_BYTES // 2) - 200)}  # ~half as many chars as bytes
    text = dump(doc)
    assert len(text) < MAX_SECRET_BYTES < utf8_size(text)
    with pytest.raises(ConfigurationError, match="48 KB") as caught:
        validate_kubeconfig(text)
    assert caught.value.title == "Kubeconfig too large"


def test_a_kubeconfig_just_under_the_limit_passes_and_reports_its_sealed_size() -> None:
    doc = base()
    text = dump(doc)
    doc["preferences"] = {"pad": "x" * (MAX_SECRET_BYTES - utf8_size(text) - 40)}
    text = dump(doc)
    assert utf8_size(text) <= MAX_SECRET_BYTES
    facts = validate_kubeconfig(text)
    assert facts.sealed_size_bytes == sealed_size(facts.size_bytes) > MAX_SECRET_BYTES


@pytest.mark.parametrize(("plain", "encoded"), [(0, 64), (1, 68), (3, 68), (4, 72), (100, 200)])
def test_sealed_size_is_base64_of_message_plus_48_bytes(plain: int, encoded: int) -> None:
    import base64

    from nacl.public import PrivateKey, SealedBox

    assert sealed_size(plain) == encoded
    box = SealedBox(PrivateKey.generate().public_key)
    assert len(base64.b64encode(box.encrypt(b"x" * plain))) == encoded


def test_certificate_authority_of_the_current_cluster() -> None:
    assert certificate_authority(dump(base())) == CA_DATA
    assert certificate_authority(dump(mutate("clusters.0.cluster.certificate-authority-data", "-"))) is None
