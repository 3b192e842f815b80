"""gitops upload-kubeconfig against GitHub's REST API (PyGithub on the wire, intercepted by responses)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from gitops.adapters import github as gh_adapter
from tests.support import github as support
from tests.support.github import (
    API,
    CLASSIC,
    PAT,
    START,
    WORKFLOW_TOKEN,
    Api,
    EnvironmentKey,
    FakeClock,
    all_text,
    assert_no_leak,
    calls,
    env_url,
    json_body,
    repo_url,
)

pytestmark = pytest.mark.integration

KUBE_TOKEN = "K10abcdef0123456789::server:0123456789abcdef0123456789abcdef"
CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkakNDQVIyZ0F3SUJBZ0lCQURBS0JnZ3Foa2pP"
KUBECONFIG = f"""\
apiVersion: v1
kind: Config
clusters:
- name: platform-dev
  cluster:
    server: https://203.0.113.10:6443
    certificate-authority-data: {CA}
contexts:
- name: platform-dev
  context:
    cluster: platform-dev
    user: platform-dev-admin
current-context: platform-dev
users:
- name: platform-dev-admin
  user:
    token: {KUBE_TOKEN}
preferences: {{}}
"""
SECRET_META = {
    "name": "KUBECONFIG",
    "created_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-28T08:00:05Z",
}


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The responses mock and the fake clock, no token in the environment."""
    clock = FakeClock()
    monkeypatch.setattr(gh_adapter, "clock", clock)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield Api(mock, clock)


@pytest.fixture
def api(bare: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    """As ``bare``, with a fine-grained personal access token in GH_TOKEN."""
    monkeypatch.setenv("GH_TOKEN", PAT)
    return bare


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG, encoding="utf-8")
    return path


def register_upload(
    rsps: responses.RequestsMock, key: EnvironmentKey, *, put_status: int = 201, env: str = "dev"
) -> None:
    rsps.get(env_url(env, "/secrets/public-key"), json=key.body())
    rsps.put(env_url(env, "/secrets/KUBECONFIG"), status=put_status, body=b"" if put_status == 204 else b"{}")
    rsps.get(env_url(env, "/secrets/KUBECONFIG"), json=SECRET_META)


def upload(cli: Any, kubeconfig: Path, *extra: str) -> Any:
    return cli(
        [
            "upload-kubeconfig",
            "--repo",
            support.REPO,
            "--environment",
            "dev",
            "--file",
            str(kubeconfig),
            *extra,
        ]
    )


def the_put(rsps: responses.RequestsMock) -> dict[str, Any]:
    [put] = calls(rsps, "PUT", "/secrets/KUBECONFIG")
    body: dict[str, Any] = json_body(put)
    return body


# -- the happy paths -------------------------------------------------------------------------


@pytest.mark.parametrize("case", [(201, True), (204, False)], ids=["new-secret", "updated-secret"])
def test_the_secret_decrypts_back_to_the_kubeconfig(
    api: Api, kubeconfig: Path, cli: Any, gha_env: Any, case: tuple[int, bool]
) -> None:
    put_status, created = case
    key = EnvironmentKey.generate()
    register_upload(api.rsps, key, put_status=put_status)
    result = upload(cli, kubeconfig, "--format", "json")
    assert result.code == 0, result.stderr
    body = the_put(api.rsps)
    assert body["key_id"] == key.key_id
    assert key.decrypt(body["encrypted_value"]) == KUBECONFIG
    import json

    data = json.loads(result.stdout)
    assert data["created"] is created
    assert data["updated_at"] == SECRET_META["updated_at"]
    assert gha_env.outputs() == {
        "secret-name": "KUBECONFIG",
        "updated-at": SECRET_META["updated_at"],
        "environment": "dev",
    }
    headline = gha_env.summary().splitlines()[0]
    assert headline.startswith("### :key: Kubeconfig stored: secret `KUBECONFIG` of environment `dev` in ")
    assert headline.endswith("(created)" if created else "(updated)")
    [put] = calls(api.rsps, "PUT")
    assert put.request.headers["Authorization"] == f"token {PAT}"
    assert_no_leak(all_text(result, gha_env), KUBECONFIG, PAT)


def test_the_kubeconfig_lines_are_masked_before_anything_else(
    api: Api, kubeconfig: Path, cli: Any, gha_env: Any
) -> None:
    register_upload(api.rsps, EnvironmentKey.generate())
    result = upload(cli, kubeconfig)
    assert result.code == 0, result.stderr
    masks = [line for line in result.stderr.splitlines() if line.startswith("::add-mask::")]
    assert f"::add-mask::token: {KUBE_TOKEN}" in masks
    assert f"::add-mask::{KUBE_TOKEN}" in masks
    assert "::add-mask::server: https://203.0.113.10:6443" in masks
    assert "::add-mask::apiVersion: v1" not in masks  # structure is not masked: it would blank every manifest
    assert f"::add-mask::{PAT}" in masks
    # the kubeconfig is masked before the token is even read, let alone any API call made
    assert masks.index(f"::add-mask::{KUBE_TOKEN}") < masks.index(f"::add-mask::{PAT}")


def test_reads_the_kubeconfig_from_an_environment_variable(
    api: Api, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEV_KUBECONFIG", KUBECONFIG)
    key = EnvironmentKey.generate()
    register_upload(api.rsps, key)
    result = cli(
        ["upload-kubeconfig", "--repo", support.REPO, "--environment", "dev", "--from-env", "DEV_KUBECONFIG"]
    )
    assert result.code == 0, result.stderr
    assert key.decrypt(the_put(api.rsps)["encrypted_value"]) == KUBECONFIG
    assert_no_leak(all_text(result), KUBECONFIG, PAT)


def test_action_inputs_come_from_the_environment(
    api: Api,
    kubeconfig: Path,
    cli: Any,
    gha_env: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", support.REPO)
    monkeypatch.setenv("GITOPS_INPUT_ENVIRONMENT", "dev")
    monkeypatch.setenv("GITOPS_INPUT_KUBECONFIG_PATH", str(kubeconfig))
    monkeypatch.setenv("GITOPS_INPUT_CREATE_ENVIRONMENT", "false")
    register_upload(api.rsps, EnvironmentKey.generate())
    result = cli(["upload-kubeconfig"])
    assert result.code == 0, result.stderr
    assert gha_env.outputs()["environment"] == "dev"


def test_a_boolean_input_that_is_not_true_or_false_is_refused(
    api: Api, kubeconfig: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITOPS_INPUT_CREATE_ENVIRONMENT", "yes")
    result = upload(cli, kubeconfig)
    assert result.code == 1
    assert "must be 'true' or 'false'" in result.stderr
    assert len(api.rsps.calls) == 0


def test_create_environment_creates_only_a_missing_one(
    api: Api, kubeconfig: Path, cli: Any, gha_env: Any
) -> None:
    api.rsps.get(env_url("dev"), status=404, json={"message": "Not Found"})
    api.rsps.get(repo_url(), json={"full_name": support.REPO})
    api.rsps.put(env_url("dev"), json={"name": "dev"})
    register_upload(api.rsps, EnvironmentKey.generate())
    result = upload(cli, kubeconfig, "--create-environment")
    assert result.code == 0, result.stderr
    assert json_body(calls(api.rsps, "PUT", "/environments/dev")[0]) == {}
    assert "created now" in gha_env.summary()


def test_create_environment_leaves_an_existing_one_untouched(api: Api, kubeconfig: Path, cli: Any) -> None:
    api.rsps.get(env_url("dev"), json={"name": "dev", "protection_rules": [{"type": "required_reviewers"}]})
    register_upload(api.rsps, EnvironmentKey.generate())
    result = upload(cli, kubeconfig, "--create-environment")
    assert result.code == 0, result.stderr
    assert [c.request.method for c in api.rsps.calls] == [
        "GET",
        "GET",
        "PUT",
        "GET",
    ]  # no PUT of the environment


# -- refusals before any API call ----------------------------------------------------------------


def test_an_invalid_kubeconfig_calls_no_api_and_never_echoes_it(
    api: Api, tmp_path: Path, cli: Any, gha_env: Any
) -> None:
    bad = KUBECONFIG.replace("https://203.0.113.10:6443", "http://203.0.113.10:6443")
    path = tmp_path / "kc"
    path.write_text(bad, encoding="utf-8")
    result = upload(cli, path)
    assert result.code == 1
    assert "clusters[name=platform-dev].cluster.server" in result.stderr
    assert "https://" in result.stderr
    assert len(api.rsps.calls) == 0
    assert_no_leak(all_text(result, gha_env), bad, PAT)


def test_a_kubeconfig_over_48_kb_is_refused(api: Api, tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "big"
    path.write_text(
        KUBECONFIG.replace("preferences: {}", "preferences:\n  pad: " + "x" * 49_200), encoding="utf-8"
    )
    result = upload(cli, path)
    assert result.code == 1
    assert "48 KB" in result.stderr
    assert len(api.rsps.calls) == 0


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        pytest.param(["--name", "GITHUB_KUBECONFIG"], "invalid secret name", id="github-prefix"),
        pytest.param(["--name", "1KUBE"], "invalid secret name", id="leading-digit"),
        pytest.param(["--repo", "not a repo"], "OWNER/NAME", id="bad-repo"),
    ],
)
def test_bad_names_are_refused_before_any_call(
    api: Api, kubeconfig: Path, cli: Any, argv: list[str], words: str
) -> None:
    result = upload(cli, kubeconfig, *argv)
    assert result.code == 1
    assert words in result.stderr
    assert len(api.rsps.calls) == 0


def test_no_token_says_where_to_put_one(bare: Api, kubeconfig: Path, cli: Any) -> None:
    result = upload(cli, kubeconfig)
    assert result.code == 1
    assert "GH_TOKEN" in result.stderr
    assert len(bare.rsps.calls) == 0


# -- GitHub says no ---------------------------------------------------------------------------


def test_401_says_the_token_is_wrong_or_expired(api: Api, kubeconfig: Path, cli: Any, gha_env: Any) -> None:
    api.rsps.get(env_url("dev", "/secrets/public-key"), status=401, json={"message": "Bad credentials"})
    result = upload(cli, kubeconfig)
    assert result.code == 1
    assert "wrong, expired or revoked (HTTP 401)" in result.stderr
    assert "fine-grained" in result.stderr  # the kind of token, from its prefix
    assert not calls(api.rsps, "PUT")
    assert_no_leak(all_text(result, gha_env), KUBECONFIG, PAT)


def test_403_with_the_workflow_token_says_it_can_never_write_secrets(
    bare: Api,
    kubeconfig: Path,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
    gha_env: Any,
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", WORKFLOW_TOKEN)
    bare.rsps.get(env_url("dev", "/secrets/public-key"), json=EnvironmentKey.generate().body())
    bare.rsps.put(
        env_url("dev", "/secrets/KUBECONFIG"),
        status=403,
        json={"message": "Resource not accessible by integration"},
        headers={"X-Accepted-GitHub-Permissions": "secrets=write; environments=write"},
    )
    result = upload(cli, kubeconfig)
    assert result.code == 1
    assert "This looks like the workflow's GITHUB_TOKEN" in result.stderr
    assert "GITHUB_TOKEN can never do this, whatever `permissions:` grant" in result.stderr
    assert "secrets=write; environments=write" in result.stderr
    assert "Resource not accessible by integration" in result.stderr
    assert_no_leak(all_text(result, gha_env), KUBECONFIG, WORKFLOW_TOKEN)


def test_403_with_a_classic_token_names_the_missing_scope(
    bare: Api,
    kubeconfig: Path,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GH_TOKEN", CLASSIC)
    bare.rsps.get(
        env_url("dev", "/secrets/public-key"),
        status=403,
        json={"message": "Must have admin rights to Repository."},
        headers={"X-OAuth-Scopes": "read:org"},
    )
    result = upload(cli, kubeconfig)
    assert result.code == 1
    assert "the `repo` scope (it has: read:org)" in result.stderr


def test_403_with_a_fine_grained_token_names_both_permissions(api: Api, kubeconfig: Path, cli: Any) -> None:
    api.rsps.get(
        env_url("dev", "/secrets/public-key"),
        status=403,
        json={"message": "Resource not accessible by personal access token"},
    )
    result = upload(cli, kubeconfig)
    assert result.code == 1
    assert '"Environments: Read and write" and "Secrets: Read and write"' in result.stderr


def test_404_and_no_repository_says_the_repository_is_missing_or_invisible(
    api: Api, kubeconfig: Path, cli: Any
) -> None:
    api.rsps.get(env_url("dev", "/secrets/public-key"), status=404, json={"message": "Not Found"})
    api.rsps.get(repo_url(), status=404, json={"message": "Not Found"})
    result = upload(cli, kubeconfig)
    assert result.code == 1
    assert (
        "repository acme/platform was not found, or the fine-grained personal access token" in result.stderr
    )


def test_404_with_a_repository_says_the_environment_is_missing(
    api: Api, kubeconfig: Path, cli: Any, gha_env: Any
) -> None:
    api.rsps.get(env_url("dev", "/secrets/public-key"), status=404, json={"message": "Not Found"})
    api.rsps.get(repo_url(), json={"full_name": support.REPO})
    api.rsps.get(env_url("dev"), status=404, json={"message": "Not Found"})
    result = upload(cli, kubeconfig)
    assert result.code == 1
    assert "environment 'dev' does not exist in acme/platform" in result.stderr
    assert "--create-environment" in result.stderr
    assert "Environment not found" in gha_env.summary()


def test_404_on_the_secrets_of_an_existing_environment_blames_the_permission(
    api: Api, kubeconfig: Path, cli: Any
) -> None:
    api.rsps.get(env_url("dev", "/secrets/public-key"), status=404, json={"message": "Not Found"})
    api.rsps.get(repo_url(), json={"full_name": support.REPO})
    api.rsps.get(env_url("dev"), json={"name": "dev"})
    result = upload(cli, kubeconfig)
    assert result.code == 1
    assert "its secrets API answered 404" in result.stderr


def test_422_reports_githubs_validation_message(api: Api, kubeconfig: Path, cli: Any) -> None:
    api.rsps.get(env_url("dev", "/secrets/public-key"), json=EnvironmentKey.generate().body())
    api.rsps.put(
        env_url("dev", "/secrets/KUBECONFIG"),
        status=422,
        json={
            "message": "Validation Failed",
            "errors": [{"resource": "Secret", "field": "key_id", "code": "invalid"}],
            "documentation_url": "https://docs.github.com/rest/actions/secrets",
        },
    )
    result = upload(cli, kubeconfig)
    assert result.code == 1
    assert "GitHub refused to write secret KUBECONFIG" in result.stderr
    assert "Validation Failed; Secret key_id invalid" in result.stderr
    assert "https://docs.github.com/rest/actions/secrets" in result.stderr


# -- rate limits and server errors -------------------------------------------------------------


def test_a_primary_rate_limit_waits_until_the_reset(api: Api, kubeconfig: Path, cli: Any) -> None:
    key = EnvironmentKey.generate()
    api.rsps.get(
        env_url("dev", "/secrets/public-key"),
        status=403,
        json={"message": "API rate limit exceeded for user ID 1."},
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(START) + 30)},
    )
    register_upload(api.rsps, key)
    result = upload(cli, kubeconfig)
    assert result.code == 0, result.stderr
    assert api.clock.sleeps == [31.0]
    assert "rate limited (limit resets at" in result.stderr


def test_a_429_on_the_put_honours_retry_after(api: Api, kubeconfig: Path, cli: Any) -> None:
    key = EnvironmentKey.generate()
    api.rsps.get(env_url("dev", "/secrets/public-key"), json=key.body())
    api.rsps.put(
        env_url("dev", "/secrets/KUBECONFIG"),
        status=429,
        json={"message": "slow down"},
        headers={"Retry-After": "7"},
    )
    api.rsps.put(env_url("dev", "/secrets/KUBECONFIG"), status=201, json={})
    api.rsps.get(env_url("dev", "/secrets/KUBECONFIG"), json=SECRET_META)
    result = upload(cli, kubeconfig)
    assert result.code == 0, result.stderr
    assert api.clock.sleeps == [7.0]
    assert len(calls(api.rsps, "PUT")) == 2
    assert key.decrypt(json_body(calls(api.rsps, "PUT")[1])["encrypted_value"]) == KUBECONFIG


def test_a_rate_limit_that_resets_far_away_fails_at_once_saying_when(
    api: Api, kubeconfig: Path, cli: Any
) -> None:
    api.rsps.get(
        env_url("dev", "/secrets/public-key"),
        status=403,
        json={"message": "API rate limit exceeded"},
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(START) + 3000)},
    )
    result = upload(cli, kubeconfig)
    assert result.code == 1
    assert "lifts at 2027-01-15 08:50:01 UTC, in 50 minutes" in result.stderr
    assert api.clock.sleeps == []
    assert not calls(api.rsps, "PUT")


def test_5xx_on_get_and_put_are_retried_with_backoff(api: Api, kubeconfig: Path, cli: Any) -> None:
    key = EnvironmentKey.generate()
    api.rsps.get(env_url("dev", "/secrets/public-key"), status=502, body="Bad Gateway")
    api.rsps.get(env_url("dev", "/secrets/public-key"), status=503, json={"message": "unavailable"})
    api.rsps.get(env_url("dev", "/secrets/public-key"), json=key.body())
    api.rsps.put(env_url("dev", "/secrets/KUBECONFIG"), status=500, json={"message": "Server Error"})
    api.rsps.put(env_url("dev", "/secrets/KUBECONFIG"), status=204)
    api.rsps.get(env_url("dev", "/secrets/KUBECONFIG"), json=SECRET_META)
    result = upload(cli, kubeconfig)
    assert result.code == 0, result.stderr
    assert api.clock.sleeps == [1.0, 2.0, 1.0]
    assert len(calls(api.rsps, "PUT")) == 2


def test_a_put_failing_every_time_gives_up_after_five_attempts(
    api: Api, kubeconfig: Path, cli: Any, gha_env: Any
) -> None:
    api.rsps.get(env_url("dev", "/secrets/public-key"), json=EnvironmentKey.generate().body())
    for _ in range(5):
        api.rsps.put(env_url("dev", "/secrets/KUBECONFIG"), status=502, body="Bad Gateway")
    result = upload(cli, kubeconfig)
    assert result.code == 2
    assert "HTTP 502" in result.stderr and "after 5 attempts" in result.stderr
    assert api.clock.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert_no_leak(all_text(result, gha_env), KUBECONFIG, PAT)


def test_an_unreachable_api_is_retried_then_reported(api: Api, kubeconfig: Path, cli: Any) -> None:
    import requests

    for _ in range(5):
        api.rsps.get(env_url("dev", "/secrets/public-key"), body=requests.ConnectionError("refused"))
    result = upload(cli, kubeconfig)
    assert result.code == 2
    assert "GitHub did not answer" in result.stderr
    assert len(api.clock.sleeps) == 4


def test_github_enterprise_server_url_is_used(
    api: Api, kubeconfig: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "https://ghes.example.com/api/v3/")
    base = f"https://ghes.example.com:443/api/v3/repos/{support.REPO}/environments/dev/secrets"
    key = EnvironmentKey.generate()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(f"{base}/public-key", json=key.body())
        mock.put(f"{base}/KUBECONFIG", status=201, json={})
        mock.get(f"{base}/KUBECONFIG", json=SECRET_META)
        result = upload(cli, kubeconfig)
    assert result.code == 0, result.stderr


# -- GitHub App ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_key() -> tuple[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return pem, private.public_key()


@pytest.fixture
def app(app_key: tuple[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    """The App's PEM private key in GITHUB_APP_PRIVATE_KEY; returns (pem, public key)."""
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", app_key[0])
    return app_key


def register_app(rsps: responses.RequestsMock, permissions: dict[str, str], minted: str) -> None:
    rsps.get(repo_url("/installation"), json={"id": 4242, "app_id": 123456})
    rsps.post(
        f"{API}/app/installations/4242/access_tokens",
        status=201,
        json={"token": minted, "expires_at": "2027-01-15T09:00:00Z", "permissions": permissions},
    )


def test_a_github_app_mints_a_repository_token_and_uses_it(
    bare: Api,
    kubeconfig: Path,
    cli: Any,
    gha_env: Any,
    app: tuple[str, Any],
) -> None:
    import jwt

    pem, public = app
    minted = "ghs_MINTEDinstallationtoken0000000000000"
    register_app(bare.rsps, {"secrets": "write", "metadata": "read"}, minted)
    key = EnvironmentKey.generate()
    register_upload(bare.rsps, key)
    result = upload(cli, kubeconfig, "--app-id", "123456")
    assert result.code == 0, result.stderr
    scheme, _, token_jwt = (
        calls(bare.rsps, "GET", "/installation")[0].request.headers["Authorization"].partition(" ")
    )
    assert scheme == "Bearer"
    assert jwt.decode(token_jwt, public, algorithms=["RS256"])["iss"] == "123456"
    assert json_body(calls(bare.rsps, "POST")[0]) == {"repositories": ["platform"]}
    assert calls(bare.rsps, "PUT")[0].request.headers["Authorization"] == f"token {minted}"
    assert key.decrypt(the_put(bare.rsps)["encrypted_value"]) == KUBECONFIG
    assert_no_leak(all_text(result, gha_env), KUBECONFIG, pem, minted, token_jwt)


def test_a_github_app_without_secrets_permission_stops_before_writing(
    bare: Api,
    kubeconfig: Path,
    cli: Any,
    app: tuple[str, Any],
) -> None:
    register_app(bare.rsps, {"contents": "read", "actions": "write"}, "ghs_MINTEDnosecrets000000000000000000")
    result = upload(cli, kubeconfig, "--app-id", "123456")
    assert result.code == 1
    assert '"Secrets" or "Environments": Read and write' in result.stderr
    assert not calls(bare.rsps, "PUT")


def test_a_github_app_not_installed_on_the_repository(
    bare: Api,
    kubeconfig: Path,
    cli: Any,
    app: tuple[str, Any],
) -> None:
    bare.rsps.get(repo_url("/installation"), status=404, json={"message": "Not Found"})
    result = upload(cli, kubeconfig, "--app-id", "123456")
    assert result.code == 1
    assert "GitHub App 123456 is not installed on acme/platform" in result.stderr


def test_a_broken_app_key_is_refused_without_echoing_it(
    bare: Api,
    kubeconfig: Path,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = "-----BEGIN RSA PRIVATE KEY-----\nNOTAKEYNOTAKEYNOTAKEY\n-----END RSA PRIVATE KEY-----\n"
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY", broken)
    result = upload(cli, kubeconfig, "--app-id", "123456")
    assert result.code == 1
    assert "is not a usable GitHub App private key" in result.stderr
    assert "NOTAKEYNOTAKEYNOTAKEY" not in result.stdout + result.stderr
    assert len(bare.rsps.calls) == 0


# -- --check-server ------------------------------------------------------------------------------


class TlsServer:
    """A TLS listener on 127.0.0.1 (self-signed); records what a client sends after the handshake."""

    def __init__(self, tmp: Path) -> None:
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k3s-test")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256())
        )
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        (tmp / "tls.crt").write_bytes(self.cert_pem)
        (tmp / "tls.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(tmp / "tls.crt", tmp / "tls.key")
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.handshakes = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    self.handshakes += 1
                    tls.settimeout(2)
                    with contextlib.suppress(TimeoutError, ssl.SSLError, OSError):
                        self.received = tls.recv(4096)
            except (ssl.SSLError, OSError):
                pass

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


def test_check_server_handshakes_without_sending_credentials(api: Api, tmp_path: Path, cli: Any) -> None:
    import base64

    server = TlsServer(tmp_path)
    ca = base64.b64encode(server.cert_pem).decode()
    text = KUBECONFIG.replace("https://203.0.113.10:6443", f"https://127.0.0.1:{server.port}").replace(CA, ca)
    path = tmp_path / "kc"
    path.write_text(text, encoding="utf-8")
    register_upload(api.rsps, EnvironmentKey.generate())
    try:
        result = upload(cli, path, "--check-server")
    finally:
        server.close()
    assert result.code == 0, result.stderr
    assert server.handshakes == 1
    assert server.received == b""  # nothing after the handshake: no request, no token
    assert "answered a TLS" in result.stderr


def test_check_server_refuses_an_unreachable_server_and_uploads_nothing(
    api: Api, tmp_path: Path, cli: Any
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "kc"
    path.write_text(KUBECONFIG.replace("203.0.113.10:6443", f"127.0.0.1:{port}"), encoding="utf-8")
    result = upload(cli, path, "--check-server")
    assert result.code == 1
    assert f"127.0.0.1:{port} is not reachable" in result.stderr
    assert len(api.rsps.calls) == 0


# -- the retry configuration itself --------------------------------------------------------------


def test_pygithubs_default_retry_would_resend_a_post_but_ours_sends_once(
    bare: Api,
) -> None:
    """Why gitops builds PyGithub with retry=None: its default GithubRetry re-sends POST on 5xx."""
    import requests
    from github import Auth, Github

    url = repo_url("/actions/workflows/1/dispatches")
    bare.rsps.post(url, status=502, body="Bad Gateway")  # the only match: answers every attempt
    default = Github(auth=Auth.Token(PAT), seconds_between_requests=None, seconds_between_writes=None)
    with pytest.raises(requests.exceptions.RetryError):
        default.requester.requestJson(
            "POST", f"/repos/{support.REPO}/actions/workflows/1/dispatches", input={"ref": "main"}
        )
    assert len(calls(bare.rsps, "POST")) > 1  # PyGithub's default would have dispatched again and again

    bare.rsps.reset()
    bare.rsps.post(url, status=502, body="Bad Gateway")
    client = gh_adapter.GitHub(
        Auth.Token(PAT),
        support_token_info(),
        "https://api.github.com",
        policy=gh_adapter.github_http.RetryPolicy(),
    )
    with pytest.raises(gh_adapter.GitHubUnavailable) as caught:
        client.request(
            "POST",
            f"/repos/{support.REPO}/actions/workflows/1/dispatches",
            operation="dispatch",
            needs=gh_adapter.github_errors.ACTIONS_WRITE,
            body={"ref": "main"},
            ok=(204,),
        )
    assert caught.value.maybe_applied
    assert len(calls(bare.rsps, "POST")) == 1


def support_token_info() -> Any:
    from gitops.core.github_errors import FINE_GRAINED_PAT, TokenInfo

    return TokenInfo(FINE_GRAINED_PAT, "GH_TOKEN")
