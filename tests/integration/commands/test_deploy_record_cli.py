"""``gitops deploy`` reaches only its own environment's cluster, never deploys an older commit by
accident, and records every deploy in the cluster; ``gitops claim`` and ``gitops status``.

The deploys run in a real git repository of their own (so "older" is a real ancestry, built
here: ``first`` is the parent of ``second``), render the real dev overlay of this project and
apply it to the fake API server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fakegithub import FakeGitHub
from tests.support.actions import GhaEnv
from tests.support.apply import ROOT, Cluster
from tests.support.cluster_records import (
    bind_cluster,
    deploy_entries,
    identity_of,
    last_successful,
    writes_to,
)
from tests.support.git_repo import GitRepo

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("secrets_env")]

OPEN = "2026-11-26T10:00:00+01:00"
IDENTITY_PATH = "/api/v1/namespaces/gitops-system/configmaps/gitops-cluster-identity"


@dataclass
class History:
    repo: GitRepo
    first: str  # the parent of second
    second: str


@pytest.fixture
def history(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> History:
    first = git_repo.commit("first", files={"notes.txt": "1\n"})
    second = git_repo.commit("second", files={"notes.txt": "2\n"})
    monkeypatch.chdir(git_repo.path)  # the checkout the deploy compares commits in
    return History(git_repo, first, second)


Cli = Callable[[list[str]], Any]


def deploy(cli: Cli, cluster: Cluster, environment: str, *args: str) -> Any:
    return cli(
        [
            "deploy",
            "--environment",
            environment,
            "--overlay",
            str(ROOT / "infra" / "k8s" / "hetzner" / environment),
            "--control",
            str(ROOT / "infra" / "deploy-control.yaml"),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--ref",
            "refs/heads/main",
            "--at",
            OPEN,
            "--format",
            "json",
            "--progress-interval",
            "1",
            *(args if "--event" in args else ("--event", "workflow_dispatch", *args)),
        ]
    )


# -- the cluster's identity ------------------------------------------------------------------------


def test_prod_given_devs_cluster_is_refused_and_nothing_is_written(
    cli: Cli, cluster: Cluster, history: History, gha_env: GhaEnv
) -> None:
    bind_cluster(cluster.fake, "dev")
    cluster.fake.reset_logs()
    result = deploy(cli, cluster, "prod")
    assert result.code == 1, result.output
    assert "belongs to environment 'dev'" in result.stderr and "not to 'prod'" in result.stderr
    assert "nothing was written" in result.stderr
    assert writes_to(cluster.fake) == []
    assert cluster.fake.list_objects("apps/v1", "StatefulSet", "default") == []
    summary = gha_env.summary()
    assert summary.startswith("### :x: gitops deploy: Wrong cluster")
    assert "falls back to the repository secret of the same name" in summary


def test_an_unbound_cluster_is_refused_with_the_exact_claim_command_after_one_get(
    cli: Cli, cluster: Cluster, history: History
) -> None:
    cluster.fake.reset_logs()
    result = deploy(cli, cluster, "dev")
    assert result.code == 1, result.output
    assert "has no identity record" in result.stderr
    assert f"gitops claim --environment dev --kubeconfig {cluster.kubeconfig}" in result.stderr
    # reading the identity is one GET of one ConfigMap: what a least-privilege Role allows
    assert [(r["method"], r["path"]) for r in cluster.fake.requests()] == [("GET", IDENTITY_PATH)]


def test_claim_binds_an_unbound_cluster_then_deploys(cli: Cli, cluster: Cluster, history: History) -> None:
    result = deploy(cli, cluster, "dev", "--claim")
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cluster"]["claimed"] is True and data["result"] == "applied"
    assert identity_of(cluster.fake) == "dev"
    identity = cluster.fake.get("v1", "ConfigMap", "gitops-system", "gitops-cluster-identity")
    assert identity is not None and identity["data"]["claimed-via"] == "gitops deploy --claim"


def test_claim_never_takes_another_environments_cluster(cli: Cli, cluster: Cluster, history: History) -> None:
    bind_cluster(cluster.fake, "dev")
    result = deploy(cli, cluster, "prod", "--claim")
    assert result.code == 1, result.output
    assert "belongs to environment 'dev'" in result.stderr
    assert identity_of(cluster.fake) == "dev"


@pytest.mark.parametrize("flag", ["--claim", "--allow-older"])
def test_claim_and_allow_older_are_for_a_person_only(
    cli: Cli, cluster: Cluster, history: History, flag: str
) -> None:
    bind_cluster(cluster.fake, "dev")
    cluster.fake.reset_logs()
    result = deploy(cli, cluster, "dev", "--event", "push", flag)
    assert result.code == 1, result.output
    assert f"{flag}: only a manual workflow_dispatch may use it (this run's event is push)" in result.stderr
    assert cluster.fake.requests() == []


# -- the record and the commit order ---------------------------------------------------------------


def test_every_deploy_is_recorded_with_both_actors(
    cli: Cli, cluster: Cluster, history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    bind_cluster(cluster.fake, "dev")
    monkeypatch.setenv("GITHUB_ACTOR", "alice")  # who started the run
    monkeypatch.setenv("GITHUB_TRIGGERING_ACTOR", "bob")  # who re-ran it
    result = deploy(cli, cluster, "dev")
    assert result.code == 0, result.output
    entries = deploy_entries(cluster.fake)
    assert len(entries) == 1
    entry = entries[0]
    assert entry["commit"] == history.second  # git rev-parse HEAD of the checkout
    assert (entry["ref"], entry["event"]) == ("refs/heads/main", "workflow_dispatch")
    assert (entry["actor"], entry["triggering_actor"]) == ("alice", "bob")
    assert entry["result"] == "applied" and entry["finished_at"] >= entry["started_at"]
    assert entry["gate"]["allowed"] is True and entry["gate"]["checks"]["deployment_window"] is True
    assert entry["override"] is None and entry["older_than"] is None
    assert last_successful(cluster.fake) == entry
    assert json.loads(result.stdout)["record"] == entry


def test_an_older_commit_is_skipped_and_nothing_is_written(
    cli: Cli, cluster: Cluster, history: History, gha_env: GhaEnv
) -> None:
    bind_cluster(cluster.fake, "dev")
    assert deploy(cli, cluster, "dev", "--commit", history.second).code == 0
    cluster.fake.reset_logs()
    result = deploy(cli, cluster, "dev", "--commit", history.first)
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["result"] == "skipped" and data["applied"] is False and data["apply"] is None
    assert data["order"]["relation"] == "older" and data["order"]["deployed"] == history.second
    assert writes_to(cluster.fake) == []
    assert f"SKIPPED: {history.first[:12]} is older than {history.second[:12]}" in data["reason"]
    assert gha_env.outputs()["result"] == "skipped"
    assert gha_env.summary().count(f"gitops deploy dev: SKIPPED, {history.first[:12]} is older") == 1
    assert [e["commit"] for e in deploy_entries(cluster.fake)] == [history.second]


def test_the_same_commit_is_applied_again(cli: Cli, cluster: Cluster, history: History) -> None:
    bind_cluster(cluster.fake, "dev")
    assert deploy(cli, cluster, "dev").code == 0
    result = deploy(cli, cluster, "dev")
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["order"]["relation"] == "same"
    assert [e["result"] for e in deploy_entries(cluster.fake)] == ["applied", "applied"]


def test_allow_older_rolls_back_on_purpose_and_is_recorded(
    cli: Cli, cluster: Cluster, history: History
) -> None:
    bind_cluster(cluster.fake, "dev")
    assert deploy(cli, cluster, "dev", "--commit", history.second).code == 0
    result = deploy(cli, cluster, "dev", "--commit", history.first, "--allow-older")
    assert result.code == 0, result.output
    assert "ROLLBACK" in result.stderr
    latest = deploy_entries(cluster.fake)[-1]
    assert (latest["commit"], latest["older_than"], latest["result"]) == (
        history.first,
        history.second,
        "applied",
    )
    assert last_successful(cluster.fake) == latest


def test_githubs_compare_api_decides_when_there_is_no_checkout(
    cli: Cli, cluster: Cluster, history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No git repository in the working directory: GET /repos/{o}/{r}/compare/{deployed}...{commit}
    answers (the fake computes GitHub's status from the real history of the repository)."""
    bind_cluster(cluster.fake, "dev")
    assert deploy(cli, cluster, "dev", "--commit", history.second).code == 0
    outside = tmp_path / "not-a-checkout"
    outside.mkdir()
    monkeypatch.chdir(outside)
    github = FakeGitHub(
        "acme/platform", repo_dir=history.repo.path, tokens={"ghs_read": ("token", {"contents"})}
    )
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/platform")
    monkeypatch.setenv("GH_TOKEN", "ghs_read")
    with github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        cluster.fake.reset_logs()
        result = deploy(cli, cluster, "dev", "--commit", history.first)
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["result"] == "skipped"
    compare = github.calls("GET", r"/compare/")
    assert [c.path for c in compare] == [f"/repos/acme/platform/compare/{history.second}...{history.first}"]
    assert writes_to(cluster.fake) == []


def test_without_git_or_github_the_order_is_not_guessed(
    cli: Cli, cluster: Cluster, history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bind_cluster(cluster.fake, "dev")
    assert deploy(cli, cluster, "dev", "--commit", history.second).code == 0
    outside = tmp_path / "not-a-checkout"
    outside.mkdir()
    monkeypatch.chdir(outside)
    cluster.fake.reset_logs()
    result = deploy(cli, cluster, "dev", "--commit", history.first)
    assert result.code == 1, result.output
    assert f"cannot tell whether {history.first[:12]} is older than {history.second[:12]}" in result.stderr
    assert "fetch-depth: 0" in result.stderr
    assert writes_to(cluster.fake) == []


def test_a_dry_run_checks_the_cluster_and_the_order_but_records_nothing(
    cli: Cli, cluster: Cluster, history: History
) -> None:
    bind_cluster(cluster.fake, "dev")
    cluster.fake.reset_logs()
    result = deploy(cli, cluster, "dev", "--dry-run")
    assert result.code == 0, result.output
    assert json.loads(result.stdout)["record"] is None
    writes = writes_to(cluster.fake)
    assert writes and all((w.get("query") or {}).get("dryRun") == "All" for w in writes), writes
    assert deploy_entries(cluster.fake) == []


# -- gitops claim and gitops status ----------------------------------------------------------------


def test_claim_binds_once_and_then_says_it_is_already_bound(
    cli: Cli, cluster: Cluster, gha_env: GhaEnv
) -> None:
    args = ["claim", "--environment", "prod", "--kubeconfig", str(cluster.kubeconfig), "--format", "json"]
    first = cli(args)
    assert first.code == 0, first.output
    assert json.loads(first.stdout)["created"] is True
    assert identity_of(cluster.fake) == "prod"
    again = cli(args)
    assert again.code == 0, again.output
    assert json.loads(again.stdout)["created"] is False and json.loads(again.stdout)["existed"] is True
    other = cli([*args[:2], "dev", *args[3:]])
    assert other.code == 1 and "belongs to environment 'prod'" in other.stderr
    assert identity_of(cluster.fake) == "prod"


def test_status_shows_what_runs_who_deployed_it_and_the_latest_attempt(
    cli: Cli, cluster: Cluster, history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    bind_cluster(cluster.fake, "dev")
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    assert deploy(cli, cluster, "dev", "--commit", history.second).code == 0
    monkeypatch.delenv("GITHUB_ACTOR")
    result = cli(["status", "--kubeconfig", str(cluster.kubeconfig), "--format", "table"])
    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "gitops status: 1 of 1 environment reached"
    row = next(line for line in lines if line.startswith("dev "))
    assert history.second[:12] in row and "alice" in row and "workflow_dispatch, manual" in row
    data = json.loads(cli(["status", "--kubeconfig", str(cluster.kubeconfig), "--format", "json"]).stdout)
    assert data["environments"][0]["deployed"]["commit"] == history.second
    assert data["environments"][0]["identity"]["environment"] == "dev"


def test_status_of_each_environment_through_its_own_kubeconfig(
    cli: Cli, cluster: Cluster, history: History, tmp_path: Path
) -> None:
    bind_cluster(cluster.fake, "dev")
    assert deploy(cli, cluster, "dev").code == 0
    result = cli(
        [
            "status",
            "--control",
            str(ROOT / "infra" / "deploy-control.yaml"),
            "--infra",
            str(tmp_path / "no-infra"),  # no cluster configs: only --cluster says where a cluster is
            "--cluster",
            f"dev={cluster.kubeconfig}",
            "--cluster",
            f"prod={cluster.kubeconfig}",  # the wrong kubeconfig for prod: dev's cluster
            "--format",
            "json",
        ]
    )
    assert result.code == 0, result.output
    rows = {e["environment"]: e for e in json.loads(result.stdout)["environments"]}
    assert list(rows) == ["dev", "test", "prod"]
    assert rows["dev"]["reached"] is True and rows["dev"]["deployed"]["commit"] == history.second
    assert rows["test"]["problem"] == "no kubeconfig for its cluster"
    assert rows["prod"]["reached"] is False
    assert rows["prod"]["problem"] == "this kubeconfig reaches dev's cluster, not prod's"
    assert rows["prod"]["deployed"] is None


def test_without_a_commit_to_record_the_deploy_stops_before_the_cluster(
    cli: Cli, cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bind_cluster(cluster.fake, "dev")
    monkeypatch.chdir(tmp_path)  # not a checkout, no $GITHUB_SHA, no --commit
    cluster.fake.reset_logs()
    result = deploy(cli, cluster, "dev")
    assert result.code == 1, result.output
    assert "--commit: no commit to deploy: --commit is empty, $GITHUB_SHA is not set" in result.stderr
    assert "--repo" not in result.stderr
    assert cluster.fake.requests() == []
