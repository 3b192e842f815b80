"""hetzner-k8s.yml run for real with act: cluster config change -> cluster gate -> hetzner-k3s
(a stand-in on PATH) -> cluster ready (the fake Kubernetes API) -> kubeconfig uploaded as the
environment's KUBECONFIG secret (the fake GitHub API decrypts it) -> deploy-k8s-resources.yml
dispatched with the right inputs. The recorded dispatch is then run with act as GitHub would run
it, with the uploaded secret, and deploys dev onto the new cluster.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.e2e.conftest import ActRunner
from tests.e2e.harness import ActResult, ScenarioRepo, dispatch_event, push_event
from tests.fakegithub import FakeGitHub, GitHubApp
from tests.fakekube.fake import FakeKube
from tests.fakekube.wire import Wire

pytestmark = pytest.mark.e2e

DEV_CLUSTER_CONFIG = "infra/k8s/hetzner/dev/cluster/cluster-config.yaml"

# hetzner-k3s stand-in: records what it was given (hashes, never values), prints the token and a
# key line (the log must redact them), writes the kubeconfig of the fake cluster where the
# config says. Paths are baked in: gitops hands hetzner-k3s a filtered environment.
STANDIN = """\
#!{python}
import hashlib, json, os, stat, sys
import yaml

argv = sys.argv[1:]
config_path = argv[argv.index("--config") + 1]
config = yaml.safe_load(open(config_path))
ssh = config["networking"]["ssh"]
private = open(ssh["private_key_path"]).read()
record = {{
    "argv": argv,
    "cluster_name": config["cluster_name"],
    "token_sha256": hashlib.sha256(os.environ.get("HCLOUD_TOKEN", "").encode()).hexdigest(),
    "private_key_sha256": hashlib.sha256(private.encode()).hexdigest(),
    "private_key_mode": oct(stat.S_IMODE(os.stat(ssh["private_key_path"]).st_mode)),
    "kubeconfig_path": config["kubeconfig_path"],
    "env_names": sorted(os.environ),
}}
with open({record!r}, "a") as out:
    out.write(json.dumps(record) + "\\n")
print("[Configuration] Validating configuration... using token " + os.environ.get("HCLOUD_TOKEN", ""))
print("[SSH] key " + private.splitlines()[1])
with open(config["kubeconfig_path"], "w") as out:
    out.write(open({kubeconfig!r}).read())
os.chmod(config["kubeconfig_path"], 0o600)
print("[Control plane] kubeconfig file generated as " + config["kubeconfig_path"])
"""


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    # dev's cluster after the pushed change: 1 master + 3 workers, the hcloud CSI node plugin on each.
    with FakeKube(nodes=4) as fake:
        fake.seed_csi_node_plugin()
        yield fake


@pytest.fixture
def standin(tmp_path: Path, kube: FakeKube) -> tuple[Path, Path]:
    """(bin dir with hetzner-k3s and helm, record file)."""
    bin_dir = tmp_path / "standin-bin"
    bin_dir.mkdir()
    kubeconfig = kube.write_kubeconfig(tmp_path / "standin-kubeconfig", context="hetzner-dev-cluster")
    record = tmp_path / "standin-record.jsonl"
    tool = bin_dir / "hetzner-k3s"
    tool.write_text(STANDIN.format(python=sys.executable, record=str(record), kubeconfig=str(kubeconfig)))
    tool.chmod(0o755)
    helm = bin_dir / "helm"
    helm.write_text("#!/bin/sh\necho 'version.BuildInfo{Version:\"v3.19.0\"}'\n")
    helm.chmod(0o755)
    return bin_dir, record


@dataclass
class ClusterRun:
    result: ActResult
    github: FakeGitHub
    uploaded: str
    after: str
    standin_runs: list[dict[str, Any]]


def run_cluster_workflow(
    scenario: ScenarioRepo,
    act: ActRunner,
    standin: tuple[Path, Path],
    *,
    secrets: dict[str, str],
    github: FakeGitHub,
    variables: dict[str, str] | None = None,
) -> ClusterRun:
    """Push a dev cluster-config change and run hetzner-k8s.yml against the fakes."""
    bin_dir, record = standin
    config = scenario.replace(DEV_CLUSTER_CONFIG, "instance_count: 2", "instance_count: 3")
    before, after = scenario.commit("dev", {DEV_CLUSTER_CONFIG: config}, "Third dev worker")
    with github:
        result = act(
            event_name="push",
            event=push_event(scenario, "dev", before, after),
            workflow="hetzner-k8s.yml",
            secrets=secrets,
            variables=variables or {},
            env={"GITHUB_API_URL": github.url, "GITOPS_HETZNER_K3S": "hetzner-k3s"},
            extra_path=[bin_dir],
        )
    assert result.returncode == 0, result.text(last=100)
    assert [(j, r) for j, _, r in result.job_results()] == [
        ("changes", "success"),
        ("gate", "success"),
        ("cluster", "success"),
    ], result.job_results()
    runs = [json.loads(line) for line in record.read_text().splitlines()]
    return ClusterRun(result, github, github.decrypt_secret("dev", "KUBECONFIG"), after, runs)


def pat_github(scenario: ScenarioRepo, tokens: dict[str, str]) -> FakeGitHub:
    """GitHub with the PAT that may write secrets and the job's GITHUB_TOKEN that may dispatch."""
    return FakeGitHub(
        "acme/platform",
        repo_dir=scenario.path,
        tokens={
            # administration: to create the unprotected <env>-preview environment (gitops preview-access)
            tokens["INFRA_DEPLOY_TOKEN"]: ("pat", {"secrets", "environments", "administration"}),
            tokens["GITHUB_TOKEN"]: ("github_token", {"actions", "contents"}),
        },
    )


def cluster_secrets(tokens: dict[str, str]) -> dict[str, str]:
    return {
        "HETZNER_TOKEN": tokens["HETZNER_TOKEN"],
        "HETZNER_SSH_PRIVATE_KEY": tokens["HETZNER_SSH_PRIVATE_KEY"],
        "HETZNER_SSH_PUBLIC_KEY": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e e2e@example.com",
        "GITHUB_TOKEN": tokens["GITHUB_TOKEN"],
    }


def test_cluster_config_change_creates_uploads_and_dispatches_then_the_dispatch_deploys(  # noqa: PLR0917 - fixtures
    scenario: ScenarioRepo,
    act: ActRunner,
    kube: FakeKube,
    standin: tuple[Path, Path],
    app_secrets: dict[str, str],
    tokens: dict[str, str],
    no_leaks: Callable[..., None],
) -> None:
    github = pat_github(scenario, tokens)
    run = run_cluster_workflow(
        scenario,
        act,
        standin,
        secrets={**cluster_secrets(tokens), "INFRA_DEPLOY_TOKEN": tokens["INFRA_DEPLOY_TOKEN"]},
        github=github,
    )

    # hetzner-k3s ran once, for dev, with the token and the key from the secrets (0600 file)
    assert len(run.standin_runs) == 1
    standin_run = run.standin_runs[0]
    assert standin_run["argv"][0] == "create"
    assert standin_run["cluster_name"] == "hetzner-dev-cluster"
    assert standin_run["token_sha256"] == hashlib.sha256(tokens["HETZNER_TOKEN"].encode()).hexdigest()
    key_sha = hashlib.sha256(tokens["HETZNER_SSH_PRIVATE_KEY"].encode()).hexdigest()
    assert standin_run["private_key_sha256"] == key_sha
    assert standin_run["private_key_mode"] == "0o600"
    assert not {"INFRA_DEPLOY_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"} & set(standin_run["env_names"])

    # the cluster was checked for readiness, then its kubeconfig uploaded as dev's KUBECONFIG
    # with the PAT; the fake GitHub decrypts it with dev's private key
    assert kube.requests(path=r"/api/v1/nodes"), "cluster-ready never asked the cluster"
    assert yaml.safe_load(run.uploaded) == kube.kubeconfig(context="hetzner-dev-cluster")
    assert {r.token for r in github.calls("PUT", r"/secrets/KUBECONFIG$")} == {"pat"}
    assert github.secrets["prod"] == {}
    assert github.secrets["test"] == {}

    # deploy-k8s-resources.yml dispatched on dev, as the automation, with GITHUB_TOKEN
    assert len(github.dispatches) == 1
    dispatched = github.dispatches[0]
    assert dispatched.workflow_path == ".github/workflows/deploy-k8s-resources.yml"
    assert dispatched.ref in ("dev", "refs/heads/dev")
    assert dispatched.inputs == {"environment": "dev", "triggered_by": "hetzner-k8s"}
    assert dispatched.actor == "github_token"
    assert dispatched.head_sha == run.after

    # the read-only identity for previews and drift checks: created in the cluster, its kubeconfig
    # sealed into the new, unprotected dev-preview environment (never a file, never printed)
    readonly = github.decrypt_secret("dev-preview", "KUBECONFIG_READONLY")
    reader_token = yaml.safe_load(readonly)["users"][0]["user"]["token"]
    assert kube.get("rbac.authorization.k8s.io/v1", "ClusterRole", None, "gitops-preview") is not None
    assert Wire(kube, token=reader_token).call("GET", "/api/v1/namespaces/default/secrets").status == 403
    assert Wire(kube, token=reader_token).call("GET", "/api/v1/namespaces/default/configmaps").status == 200

    # smallest profiles: the upload and the dispatch ran in the github venv (no kubernetes client);
    # preview-access needs both clients in one process (the kubeconfig it makes never touches a file)
    assert run.result.profiles() == {
        "changes": ["core"],
        "gate": ["core"],
        "cluster": ["kube", "github", "all"],
    }
    kube_secrets = {
        "KUBECONFIG": run.uploaded,
        "KUBECONFIG token": kube.token,
        "KUBECONFIG_READONLY": readonly,
        "KUBECONFIG_READONLY token": reader_token,
    }
    no_leaks(run.result, extra=kube_secrets, also=[scenario.path])

    # GitHub would now start the dispatched run: do exactly that, with the uploaded secret.
    kube.reset_logs()
    deploy_run = act(
        event_name="workflow_dispatch",
        event=dispatch_event(dispatched.ref, {k: str(v) for k, v in dispatched.inputs.items()}),
        workflow="deploy-k8s-resources.yml",
        secrets={**app_secrets, "KUBECONFIG": run.uploaded},
    )
    assert deploy_run.returncode == 0, deploy_run.text(last=100)
    assert [r for j, _, r in deploy_run.job_results() if j == "deploy"] == ["success"]
    # triggered_by: hetzner-k8s makes it automatic: the push rules were checked and passed
    assert "automatic" in deploy_run.summaries("gate").lower()
    statefulsets = {s["metadata"]["name"] for s in kube.list_objects("apps/v1", "StatefulSet", "default")}
    assert statefulsets == {"postgres", "redis", "jaeger"}
    no_leaks(deploy_run, extra=kube_secrets, also=[scenario.path])


def test_kubeconfig_upload_with_a_github_app_instead_of_a_pat(  # noqa: PLR0917 - fixtures
    scenario: ScenarioRepo,
    act: ActRunner,
    kube: FakeKube,
    standin: tuple[Path, Path],
    tokens: dict[str, str],
    no_leaks: Callable[..., None],
) -> None:
    """vars.INFRA_DEPLOY_APP_ID set: an installation token is minted from the App's key; no PAT."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    app = GitHubApp(
        app_id=424242, public_key_pem=public_pem.decode(), grants=frozenset({"secrets", "environments"})
    )
    github = FakeGitHub(
        "acme/platform",
        repo_dir=scenario.path,
        tokens={tokens["GITHUB_TOKEN"]: ("github_token", {"actions", "contents"})},
        app=app,
    )
    run = run_cluster_workflow(
        scenario,
        act,
        standin,
        secrets={**cluster_secrets(tokens), "INFRA_DEPLOY_APP_PRIVATE_KEY": private_pem},
        variables={"INFRA_DEPLOY_APP_ID": "424242"},
        github=github,
    )
    assert yaml.safe_load(run.uploaded) == kube.kubeconfig(context="hetzner-dev-cluster")
    assert {r.token for r in github.calls("PUT", r"/secrets/KUBECONFIG$")} == {"app-installation"}
    # This App may not create environments: the read-only preview kubeconfig is not stored, the
    # step says why (best effort), and the cluster job goes on to the dispatch.
    assert "dev-preview" not in github.secrets
    assert "administration" in run.result.text().lower()
    assert len(app.minted) == 2  # one installation token per step that writes secrets
    assert [d.actor for d in github.dispatches] == ["github_token"]
    minted = {f"App installation token {i}": value for i, value in enumerate(app.minted)}
    extra = {
        "KUBECONFIG": run.uploaded,
        "KUBECONFIG token": kube.token,
        "App private key": private_pem,
        **minted,
    }
    no_leaks(run.result, extra=extra, also=[scenario.path])


def test_a_test_cluster_run_dispatches_nothing_and_says_what_to_run(  # noqa: PLR0917 - fixtures
    scenario: ScenarioRepo,
    act: ActRunner,
    kube: FakeKube,
    standin: tuple[Path, Path],
    tokens: dict[str, str],
    no_leaks: Callable[..., None],
) -> None:
    """test has auto_deploy: false, so the automatic deploy the cluster run would dispatch is refused:
    instead of a green run and an empty cluster, nothing is dispatched and the summary says, plainly,
    what to run. The cluster is bound to test before its kubeconfig is stored."""
    bin_dir, _ = standin
    github = pat_github(scenario, tokens)
    scenario.checkout("test")
    with github:
        result = act(
            event_name="workflow_dispatch",
            event=dispatch_event("test", {"environment": "test"}, actor="platform-admin"),
            workflow="hetzner-k8s.yml",
            secrets={**cluster_secrets(tokens), "INFRA_DEPLOY_TOKEN": tokens["INFRA_DEPLOY_TOKEN"]},
            env={"GITHUB_API_URL": github.url, "GITOPS_HETZNER_K3S": "hetzner-k3s"},
            extra_path=[bin_dir],
        )
    assert result.returncode == 0, result.text(last=100)
    assert result.job_result("cluster") == "success", result.job_results()
    assert github.dispatches == [], "a deploy the policy refuses is not dispatched"
    identity = kube.get("v1", "ConfigMap", "gitops-system", "gitops-cluster-identity")
    assert identity is not None and identity["data"]["environment"] == "test"
    assert github.decrypt_secret("test", "KUBECONFIG")
    summary = result.summaries("cluster")
    assert "test: the cluster is ready, but nothing was deployed onto it" in summary, summary
    assert "The cluster is EMPTY" in summary
    assert "environment.auto_deploy: environments.test.auto_deploy is false" in summary
    assert "gh workflow run deploy-k8s-resources.yml --ref test -f environment=test" in summary
    assert "`environments.test.auto_deploy: true`" in summary
    no_leaks(result, extra={"KUBECONFIG token": kube.token}, also=[scenario.path])
