"""deploy-k8s-resources.yml run for real with act against the fake Kubernetes API server.

Each scenario commits to its own clone of the project, runs act on the real workflow (plus
deploy-environment.yml, which it calls), and then checks three things: what the cluster
received, what the job summaries say, and that no secret value is anywhere act or the steps
left output (see harness.scan_for_secrets).

The fake cluster starts bound to the environment a scenario deploys (its identity record, as
the cluster workflow leaves a cluster), except where a scenario is about a foreign cluster.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.e2e.conftest import ActRunner
from tests.e2e.harness import (
    ROOT,
    ActResult,
    ScenarioRepo,
    dispatch_event,
    git,
    pull_request_event,
    push_event,
)
from tests.fakekube.fake import FakeKube
from tests.support.actions import parse_output_file
from tests.support.cluster_records import bind_cluster, deploy_entries, last_successful

pytestmark = pytest.mark.e2e

WORKFLOW = "deploy-k8s-resources.yml"
CONTROL = "infra/deploy-control.yaml"
BASE_KUSTOMIZATION = "infra/k8s/base/kustomization.yaml"
PROD_POSTGRES_PATCH = "infra/k8s/hetzner/prod/patches/statefulsets/postgres.statefulset.yaml"
SERVICES = ("postgres", "redis", "jaeger")


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with FakeKube(nodes=3) as fake:
        yield fake


@pytest.fixture
def kubeconfig(kube: FakeKube) -> str:
    return yaml.safe_dump(kube.kubeconfig(context="hetzner"), sort_keys=False)


@pytest.fixture
def deploy_secrets(app_secrets: dict[str, str], kubeconfig: str) -> dict[str, str]:
    return {**app_secrets, "KUBECONFIG": kubeconfig}


@pytest.fixture
def no_leaks(no_leaks: Callable[..., None], kube: FakeKube, kubeconfig: str) -> Callable[..., None]:
    """Also scan for the kubeconfig and the cluster token inside it."""

    def check(result: ActResult, also: Sequence[Path] = ()) -> None:
        no_leaks(result, extra={"KUBECONFIG": kubeconfig, "KUBECONFIG token": kube.token}, also=also)

    return check


@dataclass
class Deploy:
    """Everything one deploy scenario needs: its repository, act, the cluster and the secrets."""

    repo: ScenarioRepo
    act: ActRunner
    kube: FakeKube
    secrets: dict[str, str]
    app_secrets: dict[str, str]
    no_leaks: Callable[..., None]

    def run(
        self,
        event_name: str,
        event: dict[str, Any],
        actor: str = "platform-dev",
        *,
        triggering_actor: str | None = None,
    ) -> ActResult:
        # act has no github.triggering_actor (nektos/act: pkg/model/github_context.go); the runner's
        # GITHUB_TRIGGERING_ACTOR variable, which gitops reads when the input is empty, stands in.
        env = {"GITHUB_TRIGGERING_ACTOR": triggering_actor} if triggering_actor else {}
        return self.act(
            event_name=event_name, event=event, workflow=WORKFLOW, secrets=self.secrets, actor=actor, env=env
        )

    def push(self, branch: str, before: str, after: str) -> ActResult:
        return self.run("push", push_event(self.repo, branch, before, after))

    def dispatch(
        self,
        ref: str,
        environment: str,
        *,
        override: bool = False,
        reason: str = "",
        actor: str = "platform-oncall",
        triggering_actor: str | None = None,
    ) -> ActResult:
        inputs = {
            "environment": environment,
            "emergency_override": "true" if override else "false",
            "override_reason": reason,
            "triggered_by": "",
        }
        event = dispatch_event(ref, inputs, actor=triggering_actor or actor)
        return self.run("workflow_dispatch", event, actor=actor, triggering_actor=triggering_actor)


@pytest.fixture
def deploy(  # noqa: PLR0917 - pytest passes fixtures by name
    scenario: ScenarioRepo,
    act: ActRunner,
    kube: FakeKube,
    deploy_secrets: dict[str, str],
    app_secrets: dict[str, str],
    no_leaks: Callable[..., None],
) -> Deploy:
    return Deploy(scenario, act, kube, deploy_secrets, app_secrets, no_leaks)


def set_policy(repo: ScenarioRepo, edit: Callable[[dict[str, Any]], None]) -> str:
    """deploy-control.yaml with `edit` applied to its parsed form (comments are not kept)."""
    policy = yaml.safe_load(repo.read(CONTROL))
    edit(policy)
    return yaml.safe_dump(policy, sort_keys=False)


def touch_base(repo: ScenarioRepo, note: str) -> str:
    return repo.read(BASE_KUSTOMIZATION) + f"# {note}\n"


def statefulsets(kube: FakeKube) -> dict[str, dict[str, Any]]:
    return {s["metadata"]["name"]: s for s in kube.list_objects("apps/v1", "StatefulSet", "default")}


def written_environments(kube: FakeKube) -> set[str]:
    """The `environment` label of every object the deploy created in the namespace."""
    labels = set()
    for kind, api in (("StatefulSet", "apps/v1"), ("Service", "v1"), ("ConfigMap", "v1"), ("Secret", "v1")):
        for obj in kube.list_objects(api, kind, "default"):
            env = (obj["metadata"].get("labels") or {}).get("environment")
            if env:
                labels.add(env)
    return labels


def kube_writes(kube: FakeKube) -> list[dict[str, Any]]:
    return [r for r in kube.requests() if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]


def assert_secret_values_applied(kube: FakeKube, app_secrets: dict[str, str]) -> None:
    """The cluster holds the real values: substitution happened (in memory) before the apply."""
    found: dict[str, str] = {}
    for secret in kube.list_objects("v1", "Secret", "default"):
        for key, value in (secret.get("data") or {}).items():
            found[key] = base64.b64decode(value).decode("utf-8")
    for name, value in app_secrets.items():
        assert found.get(name) == value, f"Secret key {name} was not substituted"
    assert "StrongBase64Password" not in found.values()


def gate_summaries(result: ActResult) -> str:
    return result.summaries("gate")


def gate_decisions(result: ActResult) -> dict[str, dict[str, Any]]:
    """Each gate job's decision (the policy-gate step's ``decision`` output), by environment."""
    decisions: dict[str, dict[str, Any]] = {}
    for out in map(parse_output_file, result.outputs("gate")):
        if "decision" in out:
            decision = json.loads(out["decision"])
            decisions[decision["environment"]] = decision
    return decisions


def failed_checks(decision: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["detail"] for c in decision["checks"] if not c["passed"]}


def test_push_to_dev_changing_base_deploys_dev_only(deploy: Deploy) -> None:
    repo, kube = deploy.repo, deploy.kube
    bind_cluster(kube, "dev")
    before, after = repo.commit("dev", {BASE_KUSTOMIZATION: touch_base(repo, "tune base")}, "Base change")
    result = deploy.push("dev", before, after)
    assert result.returncode == 0, result.text(last=80)
    assert result.job_result("changes") == "success"
    # base/ affects every environment; each one is gated, only dev is deployed
    decisions = gate_decisions(result)
    assert sorted(decisions) == ["dev", "prod", "test"], result.outputs("gate")
    assert decisions["dev"]["allowed"] is True, decisions["dev"]
    # test and prod: a push to dev is not their branch (infra/deploy-control.yaml: test deploys
    # from `test`, prod from `main`), so the branch rule blocks them whatever else does
    for env, branch in (("test", "test"), ("prod", "main")):
        assert decisions[env]["allowed"] is False, decisions[env]
        failed = failed_checks(decisions[env])
        assert "branch" in failed, decisions[env]
        assert f"branch 'dev' is not environments.{env}.branch ('{branch}')" in failed["branch"], failed
    assert [r for j, _, r in result.job_results() if j == "deploy"] == ["success"], result.job_results()
    # each job's actions sourced the smallest bootstrap profile: the deploy ran without PyGithub
    assert result.profiles() == {"changes": ["core"], "gate": ["core"], "deploy": ["kube"]}
    assert set(statefulsets(kube)) == set(SERVICES)
    assert written_environments(kube) == {"dev"}
    assert_secret_values_applied(kube, deploy.app_secrets)
    deploy.no_leaks(result, also=[repo.path])


def test_push_to_dev_with_auto_deploy_off_deploys_nothing_and_says_why(deploy: Deploy) -> None:
    repo, kube = deploy.repo, deploy.kube

    def dev_auto_off(policy: dict[str, Any]) -> None:
        policy["environments"]["dev"]["auto_deploy"] = False

    repo.commit("dev", {CONTROL: set_policy(repo, dev_auto_off)}, "Pause automatic dev deploys")
    before, after = repo.commit("dev", {BASE_KUSTOMIZATION: touch_base(repo, "tune base")}, "Base change")
    kube.reset_logs()
    result = deploy.push("dev", before, after)
    assert result.returncode == 0, result.text(last=80)
    assert [r for j, _, r in result.job_results() if j == "deploy"] == [], "no deploy job may start"
    assert kube.requests() == [], "nothing may even talk to the cluster"
    assert statefulsets(kube) == {}
    summary = gate_summaries(result)
    assert "environments.dev.auto_deploy is false" in summary, summary
    deploy.no_leaks(result, also=[repo.path])


def test_push_changing_only_the_prod_overlay_on_main_is_gated(deploy: Deploy) -> None:
    repo, kube = deploy.repo, deploy.kube
    patch = repo.replace(PROD_POSTGRES_PATCH, "storage: 50Gi", "storage: 60Gi")
    before, after = repo.commit("main", {PROD_POSTGRES_PATCH: patch}, "Grow prod PostgreSQL storage")
    kube.reset_logs()
    result = deploy.push("main", before, after)
    assert result.returncode == 0, result.text(last=80)
    assert any('["prod"]' in out for out in result.outputs("changes")), result.outputs("changes")
    assert [r for j, _, r in result.job_results() if j == "gate"] == ["success"], "one gate: prod only"
    assert [r for j, _, r in result.job_results() if j == "deploy"] == []
    assert kube.requests() == []
    summary = gate_summaries(result)
    assert "environments.prod.auto_deploy is false" in summary, summary
    deploy.no_leaks(result, also=[repo.path])


def _deny_now(policy: dict[str, Any]) -> None:
    """prod: no weekly windows, one deny period around today (the test must not depend on the clock)."""
    today = datetime.now(UTC).date()
    windows = policy["environments"]["prod"]["deployment_windows"]
    windows.update(
        enabled=True,
        timezone="UTC",
        allow=[],
        deny=[
            {
                "start": (today - timedelta(days=1)).isoformat(),
                "end": (today + timedelta(days=1)).isoformat(),
                "reason": "E2E freeze: database migration",
            }
        ],
    )
    windows["emergency_override"].update(enabled=True, require_reason=True, actors=[])


def test_manual_dispatch_in_a_deny_window_is_refused_and_an_override_deploys_and_is_recorded(
    deploy: Deploy,
) -> None:
    repo, kube = deploy.repo, deploy.kube
    bind_cluster(kube, "prod")
    repo.commit("main", {CONTROL: set_policy(repo, _deny_now)}, "Freeze prod")
    kube.reset_logs()
    refused = deploy.dispatch("main", "prod")
    assert refused.returncode == 0, refused.text(last=80)
    assert [r for j, _, r in refused.job_results() if j == "deploy"] == []
    assert kube.requests() == []
    summary = gate_summaries(refused)
    assert "E2E freeze: database migration" in summary, summary
    deploy.no_leaks(refused, also=[repo.path])

    overridden = deploy.dispatch("main", "prod", override=True, reason="INC-4711 restore replication")
    assert overridden.returncode == 0, overridden.text(last=120)
    assert [r for j, _, r in overridden.job_results() if j == "deploy"] == ["success"]
    assert written_environments(kube) == {"prod"}
    assert_secret_values_applied(kube, deploy.app_secrets)
    # recorded in the gate's summary, and in the deploy step's report (its gate ran again)
    recorded = gate_summaries(overridden)
    assert "INC-4711 restore replication" in recorded, recorded
    assert "platform-oncall" in recorded, recorded
    decisions = [
        json.loads(out["deploy"])["gate"]
        for out in map(parse_output_file, overridden.outputs("deploy"))
        if "deploy" in out
    ]
    assert decisions, overridden.outputs("deploy")
    assert decisions[0]["override"]["actor"] == "platform-oncall"
    assert decisions[0]["override"]["reason"] == "INC-4711 restore replication"
    deploy.no_leaks(overridden, also=[repo.path])


def _no_windows(policy: dict[str, Any]) -> None:
    policy["environments"]["prod"]["deployment_windows"]["enabled"] = False


def seed_with_cli(deploy: Deploy, tmp: Path) -> None:
    """Deploy prod as the repository is now with `gitops apply` directly: the state before the scenario."""
    kubeconfig = deploy.kube.write_kubeconfig(tmp / "seed-kubeconfig")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITOPS_"))
    } | deploy.app_secrets
    env.pop("KUBECONFIG", None)
    command = [str(ROOT / ".venv" / "bin" / "gitops"), "apply", "--overlay", "infra/k8s/hetzner/prod"]
    command += ["--kubeconfig", str(kubeconfig), "--format", "json", "--timeout", "120"]
    done = subprocess.run(
        command, cwd=deploy.repo.path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    kubeconfig.unlink()


def test_immutable_storage_growth_recreates_only_postgres_through_the_workflow(
    deploy: Deploy, tmp_path: Path
) -> None:
    """The seed's scenario: prod PostgreSQL storage 10Gi -> 20Gi, deployed by a manual dispatch."""
    repo, kube = deploy.repo, deploy.kube
    seeded = repo.replace(PROD_POSTGRES_PATCH, "storage: 50Gi", "storage: 10Gi")
    repo.commit("main", {CONTROL: set_policy(repo, _no_windows), PROD_POSTGRES_PATCH: seeded}, "prod at 10Gi")
    bind_cluster(kube, "prod")
    seed_with_cli(deploy, tmp_path)
    kube.wait_for(lambda: kube.list_objects("v1", "PersistentVolumeClaim", "default"), timeout=30)
    before = {name: s["metadata"]["uid"] for name, s in statefulsets(kube).items()}
    pods_before = {
        p["metadata"]["name"]: p["metadata"]["uid"] for p in kube.list_objects("v1", "Pod", "default")
    }
    kube.reset_logs()

    grown = repo.replace(PROD_POSTGRES_PATCH, "storage: 10Gi", "storage: 20Gi")
    repo.commit("main", {PROD_POSTGRES_PATCH: grown}, "prod PostgreSQL 20Gi")
    result = deploy.dispatch("main", "prod")
    assert result.returncode == 0, result.text(last=120)
    assert [r for j, _, r in result.job_results() if j == "deploy"] == ["success"]

    after = {name: s["metadata"]["uid"] for name, s in statefulsets(kube).items()}
    assert after["postgres"] != before["postgres"], "postgres must have been re-created"
    assert (after["redis"], after["jaeger"]) == (before["redis"], before["jaeger"]), "only postgres changes"
    ours = [d for d in kube.delete_events if d.get("actor") not in ("controller", "garbage-collector", "gc")]
    assert [(d["kind"], d["name"]) for d in ours] == [("StatefulSet", "postgres")], kube.delete_events
    assert ours[0].get("propagationPolicy") == "Orphan"
    pvcs = [
        p
        for p in kube.list_objects("v1", "PersistentVolumeClaim", "default")
        if "postgres" in p["metadata"]["name"]
    ]
    assert pvcs, "postgres PVCs must survive"
    assert {p["spec"]["resources"]["requests"]["storage"] for p in pvcs} == {"20Gi"}, pvcs
    for name, uid in pods_before.items():
        if name.startswith("postgres"):
            pod = kube.get("v1", "Pod", "default", name)
            assert pod is not None, f"{name} was deleted"
            assert pod["metadata"]["uid"] == uid, f"{name} was deleted and re-created"
    assert "recreat" in result.summaries("deploy").lower()
    deploy.no_leaks(result, also=[repo.path])


def test_pull_request_validates_and_touches_nothing(deploy: Deploy, tmp_path: Path) -> None:
    """A PR run validates (policy, overlays, needed secrets, workflow lint) and never reaches a
    cluster, a secret or GitHub, even though this act run is handed every secret there is."""
    from tests.fakegithub import ALL_GRANTS, FakeGitHub

    repo, kube = deploy.repo, deploy.kube
    git(repo.path, "checkout", "-q", "-b", "feature/bigger-dev-volumes", "dev")
    patch_path = "infra/k8s/hetzner/dev/patches/statefulsets/postgres.statefulset.yaml"
    text = repo.read(patch_path)
    repo.commit("feature/bigger-dev-volumes", {patch_path: text + "# reviewed sizing\n"}, "Dev sizing")
    kube.reset_logs()
    with FakeGitHub(repo_dir=repo.path, tokens={"unused": ("pat", ALL_GRANTS)}) as github:
        result = deploy.act(
            event_name="pull_request",
            event=pull_request_event(repo, "dev", "feature/bigger-dev-volumes"),
            workflow=WORKFLOW,
            secrets=deploy.secrets,
            env={"GITHUB_API_URL": github.url},
        )
        assert github.requests == []
    assert result.returncode == 0, result.text(last=80)
    # validate, then the read-only preview of dev, which has no KUBECONFIG_READONLY to read with
    # here (tests/e2e/test_diff_workflows.py gives it one) and says so
    assert [(job, res) for job, _, res in result.job_results()] == [
        ("validate", "success"),
        ("preview", "success"),
    ]
    assert "No preview for dev" in result.summaries("preview")
    steps = dict(result.step_results("validate"))
    for step in (
        "Which environments this pull request would deploy",
        "Validate deploy-control.yaml and every overlay (Kubernetes 1.37 schemas, strict)",
        "Secrets each environment needs (names only; no value is read)",
        "Lint workflows and actions (actionlint + shellcheck, zizmor)",
    ):
        assert steps.get(step) == "success", steps
    needed = [
        json.loads(o["needed-secrets"])
        for o in map(parse_output_file, result.outputs())
        if "needed-secrets" in o
    ]
    assert needed and set(needed[0]) == set(deploy.app_secrets), needed
    assert kube.requests() == [], "a pull request must never reach a cluster"
    assert statefulsets(kube) == {}
    deploy.no_leaks(result, also=[repo.path])


# -- issue 14: the cluster's identity, the commit order, the override on a re-run ---------------------


def gitops_cli(deploy: Deploy, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The `gitops` CLI of this checkout against the fake cluster (what a person runs afterwards)."""
    kubeconfig = deploy.kube.write_kubeconfig(tmp / "cli-kubeconfig")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITOPS_"))}
    env.pop("KUBECONFIG", None)
    command = [str(ROOT / ".venv" / "bin" / "gitops"), *args, "--kubeconfig", str(kubeconfig)]
    return subprocess.run(
        command, cwd=deploy.repo.path, env=env, capture_output=True, text=True, timeout=120, check=False
    )


IDENTITY_PATH = "/api/v1/namespaces/gitops-system/configmaps/gitops-cluster-identity"


def _open_prod(policy: dict[str, Any]) -> None:
    policy["environments"]["prod"]["deployment_windows"]["enabled"] = False


def test_prods_job_given_the_dev_clusters_kubeconfig_is_refused_and_writes_nothing(deploy: Deploy) -> None:
    """prod has no KUBECONFIG of its own, so GitHub hands its job the repository's (dev's): the
    deploy reads the dev cluster's identity record and stops before its first write."""
    repo, kube = deploy.repo, deploy.kube
    bind_cluster(kube, "dev")  # the cluster behind the KUBECONFIG secret is dev's
    repo.commit("main", {CONTROL: set_policy(repo, _open_prod)}, "prod: no windows")
    kube.reset_logs()
    result = deploy.dispatch("main", "prod")
    assert [r for j, _, r in result.job_results() if j == "gate"] == ["success"]
    assert [r for j, _, r in result.job_results() if j == "deploy"] == ["failure"], result.text(last=60)
    # not even the diff before the deploy (a server-side dry run would carry prod's Secrets) sends
    # anything but reads of the identity record to dev's cluster
    assert kube_writes(kube) == [], "nothing may be written to another environment's cluster"
    assert {r["path"] for r in kube.requests()} == {IDENTITY_PATH}
    assert statefulsets(kube) == {}
    summary = result.summaries("deploy")
    assert "refusing to compare prod's manifests with it; nothing was sent to it" in summary, summary
    assert "### :x: gitops deploy: Wrong cluster" in summary, summary
    assert "belongs to environment 'dev'" in summary and "not to 'prod'" in summary
    assert "falls back to the repository secret of the same name" in summary
    deploy.no_leaks(result, also=[repo.path])


def test_a_rerun_of_an_older_push_after_a_newer_one_deployed_is_skipped(
    deploy: Deploy, tmp_path: Path
) -> None:
    """Push A, push B (deployed), then A's run is re-run (it keeps commit A): skipped, nothing
    written, and `gitops status` afterwards still shows B."""
    repo, kube = deploy.repo, deploy.kube
    bind_cluster(kube, "dev")
    base, older = repo.commit("dev", {BASE_KUSTOMIZATION: touch_base(repo, "change A")}, "Change A")
    _, newer = repo.commit("dev", {BASE_KUSTOMIZATION: touch_base(repo, "change B")}, "Change B")
    deployed = deploy.push("dev", older, newer)
    assert [r for j, _, r in deployed.job_results() if j == "deploy"] == ["success"], deployed.text(last=80)
    assert [e["commit"] for e in deploy_entries(kube)] == [newer]

    git(repo.path, "checkout", "-q", "--detach", older)  # a re-run deploys its run's original commit
    kube.reset_logs()
    rerun = deploy.push("dev", base, older)
    assert rerun.returncode == 0, rerun.text(last=80)
    assert [r for j, _, r in rerun.job_results() if j == "deploy"] == ["success"]
    # the diff step before the deploy sends dryRun=All requests (the API server stores nothing);
    # the deploy itself writes nothing, not even its record
    stored = [w for w in kube_writes(kube) if (w.get("query") or {}).get("dryRun") != "All"]
    assert stored == [], "a stale deploy writes nothing"
    summary = rerun.summaries("deploy")
    assert f"gitops deploy dev: SKIPPED, {older[:12]} is older than what runs; nothing written" in summary
    outputs = [parse_output_file(o) for o in rerun.outputs("deploy")]
    assert any(o.get("result") == "skipped" for o in outputs), outputs
    assert [e["commit"] for e in deploy_entries(kube)] == [newer]
    successful = last_successful(kube)
    assert successful is not None and successful["commit"] == newer

    # gitops status after the act deploys: what dev runs, who deployed it, how
    status = gitops_cli(deploy, tmp_path, "status", "--format", "table")
    assert status.returncode == 0, status.stderr
    row = next(line for line in status.stdout.splitlines() if line.startswith("dev "))
    assert newer[:12] in row and "platform-dev" in row and "push, automatic" in row
    (tmp_path / "status.txt").write_text(status.stdout, encoding="utf-8")  # what the README shows
    deploy.no_leaks(rerun, also=[repo.path])


def _override_only_for_oncall(policy: dict[str, Any]) -> None:
    _deny_now(policy)
    policy["environments"]["prod"]["deployment_windows"]["emergency_override"]["actors"] = ["platform-oncall"]


def test_an_override_rerun_by_someone_not_on_the_list_is_refused_and_both_actors_are_recorded(
    deploy: Deploy,
) -> None:
    """github.actor stays the first run's user on a re-run: the override is checked for the person
    who re-ran it (github.triggering_actor), and the record keeps both."""
    repo, kube = deploy.repo, deploy.kube
    bind_cluster(kube, "prod")
    repo.commit(
        "main", {CONTROL: set_policy(repo, _override_only_for_oncall)}, "Freeze prod, oncall may override"
    )
    kube.reset_logs()
    rerun = deploy.dispatch(
        "main",
        "prod",
        override=True,
        reason="INC-7 hotfix",
        actor="platform-oncall",
        triggering_actor="mallory",
    )
    assert rerun.returncode == 0, rerun.text(last=60)
    assert [r for j, _, r in rerun.job_results() if j == "deploy"] == [], "the gate must stop the re-run"
    assert kube.requests() == []
    decision = gate_decisions(rerun)["prod"]
    assert decision["allowed"] is False
    assert "'mallory' is not in" in failed_checks(decision)["emergency_override"], decision
    deploy.no_leaks(rerun, also=[repo.path])

    # The other way round: platform-dev started the run, platform-oncall re-ran it: allowed.
    allowed = deploy.dispatch(
        "main",
        "prod",
        override=True,
        reason="INC-7 hotfix",
        actor="platform-dev",
        triggering_actor="platform-oncall",
    )
    assert [r for j, _, r in allowed.job_results() if j == "deploy"] == ["success"], allowed.text(last=80)
    (entry,) = deploy_entries(kube)
    assert (entry["actor"], entry["triggering_actor"]) == ("platform-dev", "platform-oncall")
    assert entry["override"]["actor"] == "platform-oncall" and entry["override"]["reason"] == "INC-7 hotfix"
    assert entry["event"] == "workflow_dispatch" and entry["result"] == "applied"
    deploy.no_leaks(allowed, also=[repo.path])
