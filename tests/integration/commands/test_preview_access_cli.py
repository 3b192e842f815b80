"""``gitops preview-access`` end to end: the read-only identity in the fake cluster, its kubeconfig in the
fake GitHub's ``<env>-preview`` environment, and that kubeconfig driving ``gitops diff``.

What the identity may do is RBAC's decision, made by the fake with the objects the command applied
(tests/fakekube/authz.py, RBAC semantics from https://kubernetes.io/docs/reference/access-authn-authz/rbac/).
GitHub's side is the sealed-box secret API (https://docs.github.com/en/rest/actions/secrets), played by
tests/fakegithub.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import CliResult
from tests.fakegithub import ALL_GRANTS, FakeGitHub
from tests.fakekube.wire import Wire
from tests.support.actions import GhaEnv
from tests.support.apply import Cluster, start_fake
from tests.support.cluster_records import bind_cluster

pytestmark = pytest.mark.integration

PAT = "github_pat_previewaccess0123456789abcdef"
Cli = Callable[[list[str]], CliResult]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    yield from start_fake(tmp_path)


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with FakeGitHub(tokens={PAT: ("pat", ALL_GRANTS)}) as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GH_TOKEN", PAT)
        yield fake


def test_the_read_only_kubeconfig_lands_in_the_preview_environment_and_can_only_read(
    cli: Cli, cluster: Cluster, github: FakeGitHub, gha_env: GhaEnv, tmp_path: Path
) -> None:
    args = ["preview-access", "--environment", "dev", "--kubeconfig", str(cluster.kubeconfig)]
    result = cli([*args, "--repo", "acme/platform", "--create-environment", "--format", "json"])
    assert result.code == 0, result.output
    kube = cluster.fake
    account = kube.get("v1", "ServiceAccount", "kube-system", "gitops-preview")
    assert account is not None
    stored = github.decrypt_secret("dev-preview", "KUBECONFIG_READONLY")
    config = yaml.safe_load(stored)
    token = config["users"][0]["user"]["token"]
    secret = kube.get("v1", "Secret", "kube-system", "gitops-preview-token")
    assert secret is not None and base64.b64decode(secret["data"]["token"]).decode() == token
    assert config["clusters"][0]["cluster"]["server"] == kube.url
    assert gha_env.outputs()["environment"] == "dev-preview"
    # The token, and the kubeconfig holding it, were masked and never printed.
    for text in (result.stdout, result.stderr, gha_env.summary(), gha_env.output.read_text(encoding="utf-8")):
        shown = "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))
        assert token not in shown

    reader = Wire(kube, token=token)
    assert reader.call("GET", "/apis/apps/v1/namespaces/default/statefulsets").status == 200
    assert reader.call("GET", "/api/v1/namespaces/default/secrets").status == 403
    assert (
        reader.call("DELETE", "/api/v1/namespaces/kube-system/serviceaccounts/gitops-preview").status == 403
    )

    # Running it again keeps the same identity and token (the cluster workflow runs it every time).
    again = cli([*args, "--repo", "acme/platform", "--format", "json"])
    assert again.code == 0, again.output
    assert yaml.safe_load(github.decrypt_secret("dev-preview", "KUBECONFIG_READONLY")) == config

    # gitops diff with it: client mode, the Secret said to be unknown, nothing written.
    path = tmp_path / "readonly.yaml"
    path.write_text(stored, encoding="utf-8")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [cm.yaml]\n", encoding="utf-8")
    (overlay / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata: {a: '1'}\n",
        encoding="utf-8",
    )
    bind_cluster(kube, "dev")  # the read-only identity reads the identity record like any ConfigMap
    kube.reset_logs()
    diffed = cli(["diff", "--environment", "dev", "--overlay", str(overlay), "--kubeconfig", str(path)])
    assert diffed.code == 0, diffed.output
    assert "create" in diffed.stdout
    assert not [r for r in kube.requests() if r["method"] != "GET" and r["status"] != 403]


def test_a_kubeconfig_that_may_not_create_the_identity_says_which_grant_is_missing(
    cli: Cli, cluster: Cluster, github: FakeGitHub, tmp_path: Path
) -> None:
    """The read-only kubeconfig itself cannot make another identity: 403, explained, exit 1."""
    first = ["preview-access", "--environment", "dev", "--kubeconfig", str(cluster.kubeconfig)]
    assert cli([*first, "--repo", "acme/platform", "--create-environment"]).code == 0
    reader = tmp_path / "readonly.yaml"
    reader.write_text(github.decrypt_secret("dev-preview", "KUBECONFIG_READONLY"), encoding="utf-8")
    refused = cli(
        ["preview-access", "--environment", "dev", "--kubeconfig", str(reader), "--repo", "acme/platform"]
    )
    assert refused.code == 1, refused.output
    assert "HTTP 403" in refused.stderr and "serviceaccounts" in refused.stderr
