"""See before you approve: the read-only preview jobs and the drift workflow, run for real with act.

The cluster is the fake API server with the real read-only identity of
scripts/gitops/data/preview-access.yaml (a ServiceAccount whose token the fake authorizes by
RBAC: get/list/watch on the kinds we deploy, no Secrets, no writes). Its kubeconfig is the
KUBECONFIG_READONLY secret; the deploy's KUBECONFIG is the cluster admin. The fake's request log
names the user of every request, so each scenario checks that the read-only identity wrote
nothing, and that the preview ran before the deploy's first write.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.e2e.conftest import ActRunner
from tests.e2e.harness import ROOT, ActResult, ScenarioRepo, dispatch_event, git, pull_request_event
from tests.e2e.test_deploy_workflow import CONTROL, PROD_POSTGRES_PATCH, set_policy
from tests.fakekube.fake import FakeKube
from tests.fakekube.wire import Wire
from tests.support.cluster_records import bind_cluster

pytestmark = pytest.mark.e2e

READER = "system:serviceaccount:kube-system:gitops-preview"
DEV_REDIS_PATCH = "infra/k8s/hetzner/dev/patches/statefulsets/redis.statefulset.yaml"


@dataclass
class Cluster:
    kube: FakeKube
    admin: str  # kubeconfig YAML text
    reader: str
    reader_token: str


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with FakeKube(nodes=3) as kube:
        text = resources.files("gitops").joinpath("data/preview-access.yaml").read_text(encoding="utf-8")
        for obj in yaml.safe_load_all(text):
            kube.put(obj)
        token = kube.service_account_token("kube-system", "gitops-preview-token")
        admin = yaml.safe_dump(kube.kubeconfig(context="hetzner"), sort_keys=False)
        reader = yaml.safe_dump(kube.kubeconfig(context="hetzner", token=token), sort_keys=False)
        yield Cluster(kube, admin, reader, token)


@pytest.fixture
def leaks(no_leaks: Callable[..., None], cluster: Cluster) -> Callable[[ActResult, ScenarioRepo], None]:
    def check(result: ActResult, repo: ScenarioRepo) -> None:
        extra = {
            "KUBECONFIG": cluster.admin,
            "KUBECONFIG token": cluster.kube.token,
            "KUBECONFIG_READONLY": cluster.reader,
            "KUBECONFIG_READONLY token": cluster.reader_token,
        }
        no_leaks(result, extra=extra, also=[repo.path])

    return check


def seed(cluster: Cluster, repo: ScenarioRepo, overlay: str, app_secrets: dict[str, str], tmp: Path) -> None:
    """The environment as deployed before the scenario, by `gitops apply` with the admin kubeconfig,
    on a cluster bound to it (its identity record, as the cluster workflow leaves it)."""
    bind_cluster(cluster.kube, Path(overlay).name)
    kubeconfig = cluster.kube.write_kubeconfig(tmp / "seed-kubeconfig")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITOPS_"))} | app_secrets
    env.pop("KUBECONFIG", None)
    command = [
        str(ROOT / ".venv" / "bin" / "gitops"),
        "apply",
        "--overlay",
        overlay,
        "--kubeconfig",
        str(kubeconfig),
    ]
    done = subprocess.run(
        [*command, "--format", "json", "--timeout", "120"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    kubeconfig.unlink()
    cluster.kube.wait_for(
        lambda: cluster.kube.list_objects("v1", "PersistentVolumeClaim", "default"), timeout=30
    )
    cluster.kube.reset_logs()


def by_reader(kube: FakeKube) -> list[dict[str, Any]]:
    return [r for r in kube.requests() if r.get("user") == READER]


def assert_reader_wrote_nothing(kube: FakeKube) -> None:
    reads = by_reader(kube)
    assert reads, "the read-only identity was never used"
    others = [(r["method"], r["path"], r["status"]) for r in reads if r["method"] != "GET"]
    # auto mode: the first dry run is refused by RBAC (403), the rest is compared client-side
    assert others == [(m, p, 403) for m, p, _ in others] and len(others) <= 1, others


def no_windows(policy: dict[str, Any]) -> None:
    policy["environments"]["prod"]["deployment_windows"]["enabled"] = False


def test_prod_approver_sees_a_read_only_preview_before_the_deploy(  # noqa: PLR0917 - pytest passes fixtures by name
    scenario: ScenarioRepo,
    act: ActRunner,
    cluster: Cluster,
    app_secrets: dict[str, str],
    leaks: Callable[[ActResult, ScenarioRepo], None],
    tmp_path: Path,
) -> None:
    """prod requires approval: the preview job (prod-preview, KUBECONFIG_READONLY) shows the seed
    scenario, 50Gi -> 60Gi, as 'recreate postgres with orphan cascade, grow its PVCs, keep its pods'
    before the approval-gated deploy job writes anything; the deploy job's own diff runs first too.
    Both diffs get the deploy's gate inputs: jaeger, switched off in the policy, is shown skipped,
    and the deploy leaves it out."""
    repo, kube = scenario, cluster.kube

    def no_windows_no_jaeger(policy: dict[str, Any]) -> None:
        no_windows(policy)
        policy["environments"]["prod"]["services"]["jaeger"]["enabled"] = False

    repo.commit("main", {CONTROL: set_policy(repo, no_windows_no_jaeger)}, "prod any time, jaeger off")
    seed(cluster, repo, "infra/k8s/hetzner/prod", app_secrets, tmp_path)
    grown = repo.replace(PROD_POSTGRES_PATCH, "storage: 50Gi", "storage: 60Gi")
    repo.commit("main", {PROD_POSTGRES_PATCH: grown}, "Grow prod PostgreSQL storage")
    inputs = {"environment": "prod", "emergency_override": "false", "override_reason": "", "triggered_by": ""}
    secrets = {**app_secrets, "KUBECONFIG": cluster.admin, "KUBECONFIG_READONLY": cluster.reader}
    result = act(
        event_name="workflow_dispatch",
        event=dispatch_event("main", inputs),
        workflow="deploy-k8s-resources.yml",
        secrets=secrets,
        actor="platform-oncall",
    )
    assert result.returncode == 0, result.text(last=120)
    jobs = {job: outcome for job, _, outcome in result.job_results()}
    assert (jobs.get("preview"), jobs.get("deploy")) == ("success", "success"), result.job_results()

    preview = result.summaries("preview")
    assert "Preview for the approver: what deploying prod would change" in preview, preview
    assert (
        "recreate StatefulSet default/postgres with orphan cascade, grow its PVCs "
        "(data-postgres-0: 50Gi -> 60Gi), keep its pods (postgres-0)"
    ) in preview, preview
    assert "Mode **client**" in preview  # the read-only identity may not dry-run
    assert "Deploy gate: allowed (workflow_dispatch, manual, ref refs/heads/main, at " in preview
    assert (
        "- :no_entry_sign: `jaeger`: service.enabled: environments.prod.services.jaeger.enabled is false"
        in preview
    )
    assert "skipped by the deploy gate" in preview and "`StatefulSet default/jaeger`" in preview
    assert "may not read Secrets" in preview  # said plainly, not guessed

    # The preview read, and wrote nothing; all of it happened before the deploy's first write.
    assert_reader_wrote_nothing(kube)
    first_write = min(
        r["seq"]
        for r in kube.requests()
        if r["method"] in ("PATCH", "POST", "DELETE") and not r["query"].get("dryRun")
    )
    assert max(r["seq"] for r in by_reader(kube)) < first_write

    deploy = result.summaries("deploy")
    assert deploy.index("What deploying prod will change") < deploy.index("gitops deploy prod"), deploy
    assert "Mode **server-dry-run**" in deploy
    diff_part = deploy[: deploy.index("gitops deploy prod")]
    assert "- :no_entry_sign: `jaeger`: service.enabled: " in diff_part, diff_part
    assert "- `jaeger` skipped by the gate: service.enabled: " in deploy  # the deploy left out the same
    postgres = kube.get("apps/v1", "StatefulSet", "default", "postgres")
    assert postgres is not None
    assert postgres["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "60Gi"
    leaks(result, repo)


def test_pull_request_preview_shows_the_diff_with_read_only_credentials(  # noqa: PLR0917 - pytest passes fixtures by name
    scenario: ScenarioRepo,
    act: ActRunner,
    cluster: Cluster,
    app_secrets: dict[str, str],
    leaks: Callable[[ActResult, ScenarioRepo], None],
    tmp_path: Path,
) -> None:
    repo, kube = scenario, cluster.kube
    repo.checkout("dev")
    seed(cluster, repo, "infra/k8s/hetzner/dev", app_secrets, tmp_path)
    git(repo.path, "checkout", "-q", "-b", "feature/more-cache", "dev")
    bigger = repo.replace(
        DEV_REDIS_PATCH, "requests: {cpu: 100m, memory: 256Mi}", "requests: {cpu: 100m, memory: 384Mi}"
    )
    repo.commit("feature/more-cache", {DEV_REDIS_PATCH: bigger}, "More memory for the dev cache")
    # Every secret there is, as a real repository would have them: the PR job must use only one.
    secrets = {**app_secrets, "KUBECONFIG": cluster.admin, "KUBECONFIG_READONLY": cluster.reader}
    result = act(
        event_name="pull_request",
        event=pull_request_event(repo, "dev", "feature/more-cache"),
        workflow="deploy-k8s-resources.yml",
        secrets=secrets,
        job="preview",
    )
    assert result.returncode == 0, result.text(last=120)
    assert result.matrix_values("preview", "environment") == ["dev"]
    summary = result.summaries("preview")
    assert "What merging this pull request would change in dev" in summary, summary
    assert "spec.template.spec.containers[name=valkey].resources.requests.memory" in summary
    assert "+            memory: 384Mi" in summary
    assert_reader_wrote_nothing(kube)
    others = [(r["method"], r["path"], r["status"]) for r in kube.requests() if r.get("user") != READER]
    assert not others, f"the PR job used another identity: {others}"
    leaks(result, repo)


def scale_by_hand(kube: FakeKube, name: str, replicas: int) -> None:
    """A change made in the cluster outside Git (what `kubectl scale` sends)."""
    answer = Wire(kube).call(
        "PATCH",
        f"/apis/apps/v1/namespaces/default/statefulsets/{name}",
        {"spec": {"replicas": replicas}},
        content_type="application/merge-patch+json",
        query={"fieldManager": "kubectl"},
    )
    assert answer.status == 200, answer.body


def test_drift_workflow_fails_naming_the_drifted_objects_and_fields(  # noqa: PLR0917 - pytest passes fixtures by name
    scenario: ScenarioRepo,
    act: ActRunner,
    cluster: Cluster,
    app_secrets: dict[str, str],
    leaks: Callable[[ActResult, ScenarioRepo], None],
    tmp_path: Path,
) -> None:
    repo, kube = scenario, cluster.kube
    repo.checkout("dev")
    seed(cluster, repo, "infra/k8s/hetzner/dev", app_secrets, tmp_path)
    repo.checkout("main")
    scale_by_hand(kube, "redis", 2)
    kube.reset_logs()
    event = dispatch_event("main", {"environment": "dev"})
    event["workflow"] = ".github/workflows/drift.yml"
    result = act(
        event_name="workflow_dispatch",
        event=event,
        workflow="drift.yml",
        secrets={"KUBECONFIG_READONLY": cluster.reader},
    )
    assert result.returncode != 0, "drift must fail the run"
    assert result.job_result("branches") == "success"
    assert result.job_result("drift", environment="dev") == "failure", result.job_results()
    assert result.job_result("drift", environment="prod") == "success"  # not asked for: nothing run
    summary = result.summaries("drift")
    assert "Drift check of dev against branch dev" in summary, summary
    assert "`StatefulSet default/redis`" in summary and "spec.replicas" in summary
    assert "1 of " in summary  # only redis drifted
    assert "Deploy gate: not evaluated (no gate inputs)" in summary  # drift compares every object
    assert_reader_wrote_nothing(kube)
    assert {json.dumps(r.get("user")) for r in kube.requests()} == {json.dumps(READER)}
    leaks(result, repo)
