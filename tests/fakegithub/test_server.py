"""The fake GitHub API answers like GitHub: PyGithub works against it, and the checks are real."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.fakegithub import ALL_GRANTS, FakeGitHub, GitHubApp

PAT = "github_pat_e2e_example"
WORKFLOW_TOKEN = "ghs_workflow_token_example"

WORKFLOW = """\
name: Deploy Kubernetes resources
on:
  push:
    branches: [dev]
  workflow_dispatch:
    inputs:
      environment:
        type: choice
        options: [dev, test, prod]
        required: true
      emergency_override:
        type: boolean
        default: false
      triggered_by:
        type: string
        default: ""
"""


@pytest.fixture
def workflows(tmp_path: Path) -> Path:
    directory = tmp_path / "workflows"
    directory.mkdir()
    (directory / "deploy-k8s-resources.yml").write_text(WORKFLOW, encoding="utf-8")
    (directory / "ci.yml").write_text("name: CI\non: [push]\njobs: {}\n", encoding="utf-8")
    return directory


@pytest.fixture
def gh(workflows: Path) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(
        "acme/platform",
        workflows_dir=workflows,
        branches={"main": "a" * 40, "dev": "b" * 40},
        tokens={PAT: ("pat", ALL_GRANTS), WORKFLOW_TOKEN: ("github_token", {"actions", "contents"})},
    )
    with fake:
        yield fake


def call(gh: FakeGitHub, method: str, path: str, token: str = PAT, **kwargs: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    return requests.request(method, gh.url + path, headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]


def test_pygithub_uploads_an_environment_secret_that_the_server_decrypts(gh: FakeGitHub) -> None:
    import github

    client = github.Github(
        auth=github.Auth.Token(PAT),
        base_url=gh.url,
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    environment = client.get_repo("acme/platform").get_environment("dev")
    kubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- name: e2e\n  user:\n    token: t0k3n-ü\n"
    environment.create_secret("KUBECONFIG", kubeconfig)
    assert gh.decrypt_secret("dev", "KUBECONFIG") == kubeconfig
    environment.create_secret("KUBECONFIG", "rotated")
    assert gh.decrypt_secret("dev", "KUBECONFIG") == "rotated"
    statuses = [r.status for r in gh.calls("PUT", r"/secrets/KUBECONFIG$")]
    assert statuses == [201, 204], "first PUT creates (201), the second updates (204), as GitHub answers"
    assert environment.get_secret("KUBECONFIG").updated_at is not None


def test_each_environment_has_its_own_key(gh: FakeGitHub) -> None:
    dev_id, dev_key = gh.public_key("dev")
    prod_id, prod_key = gh.public_key("prod")
    assert dev_id != prod_id
    assert dev_key != prod_key
    from base64 import b64decode, b64encode

    from nacl.public import PublicKey, SealedBox

    sealed = SealedBox(PublicKey(b64decode(prod_key))).encrypt(b"for prod")
    wrong = call(
        gh,
        "PUT",
        "/repos/acme/platform/environments/dev/secrets/KUBECONFIG",
        json={"encrypted_value": b64encode(sealed).decode(), "key_id": prod_id},
    )
    assert wrong.status_code == 422
    assert "KUBECONFIG" not in gh.secrets["dev"]


def test_workflow_token_cannot_write_secrets_and_unknown_tokens_are_rejected(gh: FakeGitHub) -> None:
    key = call(gh, "GET", "/repos/acme/platform/environments/dev/secrets/public-key", token=WORKFLOW_TOKEN)
    assert key.status_code == 403
    assert key.json()["message"] == "Resource not accessible by integration"
    assert call(gh, "GET", "/repos/acme/platform", token="nope").status_code == 401
    assert call(gh, "GET", "/repos/acme/other", token=PAT).status_code == 404
    assert call(gh, "GET", "/repos/acme/platform/environments/staging", token=PAT).status_code == 404
    tokens_seen = {r.token for r in gh.requests}
    assert tokens_seen == {"github_token", "pat", None}, "only labels are recorded, never token values"


def test_dispatch_with_run_details_and_run_progress(gh: FakeGitHub) -> None:
    answer = call(
        gh,
        "POST",
        "/repos/acme/platform/actions/workflows/deploy-k8s-resources.yml/dispatches",
        token=WORKFLOW_TOKEN,
        json={
            "ref": "dev",
            "inputs": {"environment": "dev", "triggered_by": "hetzner-k8s"},
            "return_run_details": True,
        },
    )
    assert answer.status_code == 200
    run_id = answer.json()["workflow_run_id"]
    assert answer.json()["run_url"] == f"{gh.url}/repos/acme/platform/actions/runs/{run_id}"
    assert gh.dispatches[0].inputs == {"environment": "dev", "triggered_by": "hetzner-k8s"}
    assert gh.dispatches[0].actor == "github_token"
    seen = [call(gh, "GET", f"/repos/acme/platform/actions/runs/{run_id}").json() for _ in range(4)]
    assert [(s["status"], s["conclusion"]) for s in seen] == [
        ("queued", None),
        ("in_progress", None),
        ("completed", "success"),
        ("completed", "success"),
    ]
    listed = call(gh, "GET", "/repos/acme/platform/actions/workflows/deploy-k8s-resources.yml/runs").json()
    assert [r["id"] for r in listed["workflow_runs"]] == [run_id]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"ref": "nope", "inputs": {"environment": "dev"}}, "No ref found for: nope", id="unknown-ref"
        ),
        pytest.param(
            {"ref": "dev", "inputs": {"environment": "dev", "colour": "blue"}},
            'Unexpected inputs provided: ["colour"]',
            id="unexpected-input",
        ),
        pytest.param(
            {"ref": "dev", "inputs": {"environment": "staging"}},
            "Provided value 'staging' for input 'environment' not in the list of allowed values",
            id="choice",
        ),
        pytest.param(
            {"ref": "dev", "inputs": {}}, "Required input 'environment' not provided", id="required"
        ),
        pytest.param(
            {"ref": "dev", "inputs": {"environment": "dev", "emergency_override": "yes"}},
            "Provided value 'yes' for input 'emergency_override' is not a boolean",
            id="boolean",
        ),
    ],
)
def test_dispatch_validation_matches_github(gh: FakeGitHub, body: dict[str, object], message: str) -> None:
    answer = call(
        gh, "POST", "/repos/acme/platform/actions/workflows/deploy-k8s-resources.yml/dispatches", json=body
    )
    assert answer.status_code == 422
    assert answer.json()["message"] == message
    assert gh.dispatches == []


def test_dispatch_of_a_workflow_without_the_trigger_or_unknown_workflow(gh: FakeGitHub) -> None:
    no_trigger = call(
        gh, "POST", "/repos/acme/platform/actions/workflows/ci.yml/dispatches", json={"ref": "main"}
    )
    assert no_trigger.status_code == 422
    assert "workflow_dispatch" in no_trigger.json()["message"]
    missing = call(
        gh, "POST", "/repos/acme/platform/actions/workflows/nope.yml/dispatches", json={"ref": "main"}
    )
    assert missing.status_code == 404


def test_enterprise_server_mode_rejects_return_run_details(workflows: Path) -> None:
    with FakeGitHub(workflows_dir=workflows, branches={"main": "c" * 40}, return_run_details=False) as ghes:
        path = "/api/v3/repos/acme/platform/actions/workflows/deploy-k8s-resources.yml/dispatches"
        body: dict[str, object] = {
            "ref": "main",
            "inputs": {"environment": "dev"},
            "return_run_details": True,
        }
        rejected = call(ghes, "POST", path, json=body)
        assert rejected.status_code == 422
        assert '"return_run_details" is not a permitted key' in rejected.json()["message"]
        del body["return_run_details"]
        accepted = call(ghes, "POST", path, json=body)
        assert accepted.status_code == 204
        assert accepted.content == b""
        assert len(ghes.dispatches) == 1


def test_github_app_installation_token_can_write_secrets(workflows: Path) -> None:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    app = GitHubApp(app_id=123, public_key_pem=public_pem.decode(), grants=frozenset({"secrets", "actions"}))
    with FakeGitHub(workflows_dir=workflows, tokens={}, app=app) as fake:
        now = int(time.time())
        signed = jwt.encode({"iat": now - 60, "exp": now + 540, "iss": "123"}, private_pem, algorithm="RS256")
        installation = call(fake, "GET", "/repos/acme/platform/installation", token=signed)
        assert installation.status_code == 200
        minted = call(
            fake, "POST", f"/app/installations/{installation.json()['id']}/access_tokens", token=signed
        )
        assert minted.status_code == 201
        token = minted.json()["token"]
        assert call(fake, "GET", "/repos/acme/platform/environments/dev", token=signed).status_code == 403
        key_answer = call(
            fake, "GET", "/repos/acme/platform/environments/dev/secrets/public-key", token=token
        )
        assert key_answer.status_code == 200
        forged = jwt.encode(
            {"iat": now, "exp": now + 60, "iss": "123"},
            "not-the-app-key-but-long-enough-for-hs256",
            algorithm="HS256",
        )
        assert call(fake, "GET", "/repos/acme/platform/installation", token=forged).status_code == 401


def test_repository_backed_refs_contents_and_dispatch(tmp_path: Path) -> None:
    """With repo_dir, refs, file contents and workflows come live from a real git repository."""
    import base64
    import subprocess

    repo = tmp_path / "platform"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "deploy-k8s-resources.yml").write_text(WORKFLOW, encoding="utf-8")
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
        ).stdout.strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "one")
    git("branch", "dev")
    git("tag", "v1.0.0")
    with FakeGitHub(repo_dir=repo, tokens={PAT: ("pat", ALL_GRANTS)}) as fake:
        ref = call(fake, "GET", "/repos/acme/platform/git/ref/heads/dev").json()
        assert ref["object"]["sha"] == git("rev-parse", "dev")
        assert call(fake, "GET", "/repos/acme/platform/git/ref/tags/v1.0.0").status_code == 200
        assert call(fake, "GET", "/repos/acme/platform/git/ref/heads/nope").status_code == 404
        path = "/repos/acme/platform/contents/.github/workflows/deploy-k8s-resources.yml"
        content = call(fake, "GET", path, params={"ref": "dev"}).json()
        assert base64.b64decode(content["content"]).decode() == WORKFLOW
        assert call(fake, "GET", path, params={"ref": "nope"}).status_code == 404
        # a commit made after the server started is seen at once
        (repo / "x.txt").write_text("x", encoding="utf-8")
        git("checkout", "-q", "dev")
        git("add", "x.txt")
        git("commit", "-q", "-m", "two")
        answer = call(
            fake,
            "POST",
            "/repos/acme/platform/actions/workflows/deploy-k8s-resources.yml/dispatches",
            json={"ref": "refs/heads/dev", "inputs": {"environment": "dev"}},
        )
        assert answer.status_code == 204
        assert fake.dispatches[0].head_sha == git("rev-parse", "dev")
        assert fake.dispatches[0].ref == "refs/heads/dev"
