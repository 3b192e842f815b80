"""``gitops plan`` over real git repositories: one row per environment, affected x gate decision."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.actions import GhaEnv
from tests.support.apply import Cluster
from tests.support.cluster_records import bind_cluster, seed_deploy
from tests.support.git_repo import GitRepo, git_repo  # noqa: F401

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
POLICY = (ROOT / "infra" / "deploy-control.yaml").read_text(encoding="utf-8")
SAT = "2026-11-28T10:00:00+01:00"  # prod's windows closed (weekend)
WED = "2026-11-25T10:00:00+01:00"  # prod's windows open
DEV_PATCH = "infra/k8s/hetzner/dev/patches/postgres.yaml"
BASE_FILE = "infra/k8s/base/statefulsets/redis.statefulset.yaml"
CONTROL = "infra/deploy-control.yaml"


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:  # noqa: F811 - the fixture imported above
    """The standard infra tree with this repository's real policy, committed on main."""
    git_repo.write_infra({CONTROL: POLICY})
    git_repo.commit("infra")
    return git_repo


def plan(cli: Any, repo: GitRepo, *args: str) -> Any:
    return cli(["plan", "--repo", str(repo.path), *args])


def plan_json(cli: Any, repo: GitRepo, *args: str) -> dict[str, Any]:
    result = plan(cli, repo, "--format", "json", *args)
    assert result.code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def by_env(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["environment"]: row for row in data["environments"]}


def test_last_commit_by_default_one_row_per_environment_including_local(cli: Any, repo: GitRepo) -> None:
    head = repo.commit("dev: bigger", files={DEV_PATCH: "replicas: 2\n"})
    data = plan_json(cli, repo, "--at", SAT)
    assert (data["base"], data["head"]) == (repo.rev("HEAD~1"), head)
    rows = by_env(data)
    assert list(rows) == ["dev", "test", "prod", "local"]
    assert [rows[e]["affected"] for e in rows] == [True, False, False, False]
    assert rows["dev"]["reasons"] == [DEV_PATCH]
    assert rows["dev"]["push"]["allowed"] is True
    assert rows["dev"]["outcome"] == "a push to dev deploys it now"
    assert rows["test"]["push"]["blocked_by"] == "environment.auto_deploy"
    assert rows["test"]["dispatch"]["allowed"] is True
    assert rows["prod"]["requires_approval"] is True
    assert rows["prod"]["dispatch"]["blocked_by"] == "deployment_window"
    assert rows["prod"]["window"]["next_open"] == "2026-11-30T09:00:00+01:00"
    assert (rows["prod"]["window"]["enabled"], rows["dev"]["window"]["enabled"]) == (True, False)
    assert rows["dev"]["services"]["postgres"] == {"push": True, "dispatch": True}
    assert rows["test"]["services"]["postgres"] == {"push": False, "dispatch": True}
    assert rows["local"]["governed"] is False and rows["local"]["push"] is None
    assert "laptop only" in rows["local"]["not_governed"]


def test_a_base_change_touches_every_environment(cli: Any, repo: GitRepo) -> None:
    repo.commit("redis", files={BASE_FILE: "kind: StatefulSet\nmetadata: {name: redis2}\n"})
    rows = by_env(plan_json(cli, repo, "--at", WED))
    assert all(row["affected"] for row in rows.values())
    assert rows["prod"]["outcome"] == (
        "push does not deploy (auto_deploy off); a manual workflow_dispatch deploys it now after approval"
    )
    assert rows["prod"]["window"]["open"] is True
    assert rows["prod"]["window"]["closes_at"] == "2026-11-25T17:00:00+01:00"


def test_a_policy_change_touches_only_its_environment(cli: Any, repo: GitRepo) -> None:
    repo.commit(
        "prod: longer timeout",
        files={CONTROL: POLICY.replace("rollout_timeout_seconds: 900", "rollout_timeout_seconds: 1200")},
    )
    rows = by_env(plan_json(cli, repo, "--at", SAT))
    assert [e for e, row in rows.items() if row["affected"]] == ["prod"]
    assert rows["prod"]["push"]["rollout_timeout_seconds"] == 1200
    assert rows["prod"]["outcome"].startswith(
        "blocked now (window closed); manual workflow_dispatch deploys from"
    )


def test_explicit_range_and_dispatch_kind(cli: Any, repo: GitRepo) -> None:
    first = repo.rev()
    repo.commit("dev", files={DEV_PATCH: "replicas: 3\n"})
    repo.commit("docs", files={"README.md": "# more\n"})
    rows = by_env(plan_json(cli, repo, "--base", first, "--head", "HEAD", "--at", SAT))
    assert rows["dev"]["affected"] and not rows["test"]["affected"]
    data = plan_json(cli, repo, "--event-kind", "workflow_dispatch", "--at", SAT)
    assert data["files"] == [] and data["event_kind"] == "workflow_dispatch"
    rows = by_env(data)
    assert all(row["affected"] for row in rows.values())
    assert "workflow_dispatch" in rows["test"]["reasons"][0]
    assert rows["test"]["outcome"] == "a manual workflow_dispatch deploys it now"


def test_event_payload(cli: Any, repo: GitRepo) -> None:
    before = repo.rev()
    after = repo.commit("dev", files={DEV_PATCH: "replicas: 4\n"})
    event = repo.push_event(before, after, ref="refs/heads/dev")
    data = plan_json(cli, repo, "--event", str(event), "--event-name", "push", "--at", SAT)
    assert (data["base"], data["head"]) == (before, after)
    assert by_env(data)["dev"]["affected"] is True


def test_an_overlay_missing_from_the_policy_is_called_out(cli: Any, repo: GitRepo) -> None:
    repo.commit(
        "staging", files={"infra/k8s/hetzner/staging/kustomization.yaml": "resources:\n  - ../../../base\n"}
    )
    result = plan(cli, repo, "--at", SAT, "--format", "table")
    assert result.code == 0, result.output
    staging = next(line for line in result.stdout.splitlines() if line.startswith("staging "))
    assert "NOT IN POLICY" in staging
    rows = by_env(plan_json(cli, repo, "--at", SAT))
    assert list(rows) == ["dev", "test", "prod", "staging", "local"]
    assert rows["staging"]["governed"] is False


def test_table_reads_at_a_glance(cli: Any, repo: GitRepo) -> None:
    repo.commit(
        "redis", files={BASE_FILE: "kind: StatefulSet\nmetadata: {name: redis3}\n", DEV_PATCH: "x: 1\n"}
    )
    result = plan(cli, repo, "--at", SAT, "--format", "table")
    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        lines[0].startswith("gitops plan: ")
        and "2 files changed; push at Sat 2026-11-28 09:00 UTC" in lines[0]
    )
    header = lines[2].split()
    assert header[:4] == ["ENV", "BRANCH", "AFFECTED", "WHY"]
    dev = next(line for line in lines if line.startswith("dev "))
    assert "2 files: base, overlay" in dev and "allowed" in dev
    prod = next(line for line in lines if line.startswith("prod "))
    # the gate's words (allowed / blocked: why), as in `gitops gate` and `gitops deploy`
    assert "blocked: auto_deploy off" in prod and "blocked: window closed" in prod and "required" in prod
    assert "opens Mon 2026-11-30 09:00 CET (in 1d 23h)" in prod
    assert any(line.startswith("local ") and "not governed" in line for line in lines)
    assert lines[-4:][0].startswith("dev    a push to dev deploys it now")


def test_actions_summary_and_outputs(cli: Any, repo: GitRepo, gha_env: GhaEnv) -> None:
    repo.commit("redis", files={BASE_FILE: "kind: StatefulSet\nmetadata: {name: redis4}\n"})
    result = plan(cli, repo, "--at", WED)
    assert result.code == 0, result.output
    outputs = gha_env.outputs()
    assert json.loads(outputs["deploys"]) == ["dev"]
    assert json.loads(outputs["plan"]) == json.loads(result.stdout)
    # the branches of infra/deploy-control.yaml's environments; `local` is not governed
    assert json.loads(outputs["branches"]) == [
        {"environment": "dev", "branch": "dev"},
        {"environment": "test", "branch": "test"},
        {"environment": "prod", "branch": "main"},
    ]
    summary = gha_env.summary()
    assert summary.startswith("### Deploy plan")
    assert "| dev | dev | yes | " in summary and "OUTCOME" in summary


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--base", "HEAD", "--event", "x.json"], "either --base/--head or --event", id="both"),
        pytest.param(["--at", "tomorrow"], "not an ISO 8601", id="bad-at"),
        pytest.param(["--base", "no-such-rev"], "no-such-rev", id="unknown-revision"),
    ],
)
def test_bad_arguments_exit_1(cli: Any, repo: GitRepo, args: list[str], message: str) -> None:
    result = plan(cli, repo, *args)
    assert result.code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_policy_exits_1_with_its_line(cli: Any, repo: GitRepo) -> None:
    repo.commit("oops", files={CONTROL: POLICY.replace('start: "09:00"', 'start: "24:00"', 1)})
    result = plan(cli, repo)
    assert result.code == 1
    assert "environments.prod.deployment_windows.allow[0].start" in result.stderr


def test_this_repository_plans_every_environment(cli: Any) -> None:
    """The Quick start's command on the real tree (dispatch kind: needs no history)."""
    result = cli(["plan", "--repo", str(ROOT), "--event-kind", "workflow_dispatch", "--format", "json"])
    assert result.code == 0, result.output
    assert [row["environment"] for row in json.loads(result.stdout)["environments"]] == [
        "dev",
        "test",
        "prod",
        "local",
    ]


def test_a_root_commit_counts_every_file(cli: Any, repo: GitRepo) -> None:
    result = plan(cli, repo, "--at", SAT, "--format", "table")
    assert result.code == 0, result.output
    assert "(every file)" in result.stdout.splitlines()[0]
    assert "root commit" in result.stdout
    dev = next(line for line in result.stdout.splitlines() if line.startswith("dev "))
    assert "files: " in dev and "policy" in dev


def test_plan_shows_what_each_reachable_cluster_runs(cli: Any, repo: GitRepo, cluster: Cluster) -> None:
    """dev's cluster through the kubeconfig_path of its cluster config, prod's through --cluster
    (here, wrongly, dev's kubeconfig: said so, never shown as prod's state); test has none."""
    bind_cluster(cluster.fake, "dev")
    seeded = seed_deploy(cluster.fake, "dev", "1a2b3c4d5e6f" + "0" * 28)
    config = f"cluster_name: dev\nkubeconfig_path: {cluster.kubeconfig}\n"
    repo.commit("dev kubeconfig", files={"infra/k8s/hetzner/dev/cluster/cluster-config.yaml": config})
    args = ["--at", WED, "--cluster", f"prod={cluster.kubeconfig}"]
    result = plan(cli, repo, *args, "--format", "table")
    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[2].split()[-1] == "DEPLOYED"
    dev = next(line for line in lines if line.startswith("dev "))
    assert dev.endswith("1a2b3c4d5e6f 2026-11-26 10:02 UTC")
    prod = next(line for line in lines if line.startswith("prod "))
    assert prod.endswith("? this kubeconfig reaches dev's cluster, not prod's")
    rows = by_env(plan_json(cli, repo, *args))
    assert rows["dev"]["deployed"]["deployed"] == seeded
    assert rows["test"]["deployed"] is None and rows["local"]["deployed"] is None
    assert rows["prod"]["deployed"]["reached"] is False
    assert all(r["method"] == "GET" for r in cluster.fake.requests()), "plan never writes"


def test_plan_without_a_known_cluster_or_with_no_status_asks_none(
    cli: Any, repo: GitRepo, cluster: Cluster
) -> None:
    result = plan(cli, repo, "--at", WED, "--format", "table")
    assert "DEPLOYED" not in result.stdout.splitlines()[2]
    cluster.fake.reset_logs()
    quiet = plan(cli, repo, "--at", WED, "--cluster", f"dev={cluster.kubeconfig}", "--no-status")
    assert quiet.code == 0, quiet.output
    assert cluster.fake.requests() == []
