"""gitops dispatch against GitHub's REST API (PyGithub on the wire, intercepted by responses)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from gitops.adapters import github as gh_adapter
from gitops.core.workflow_dispatch import CONCLUSIONS
from tests.support import github as support
from tests.support.github import (
    API,
    PAT,
    WORKFLOW_TOKEN,
    Api,
    FakeClock,
    all_text,
    assert_no_leak,
    calls,
    json_body,
    repo_url,
)

pytestmark = pytest.mark.integration

DEPLOY = {
    "id": 161001,
    "name": "Deploy Kubernetes resources",
    "path": ".github/workflows/deploy-k8s-resources.yml",
    "state": "active",
}
CLUSTER = {
    "id": 161002,
    "name": "Hetzner k8s",
    "path": ".github/workflows/hetzner-k8s.yml",
    "state": "active",
}
OLD = {"id": 161003, "name": "Old deploy", "path": ".github/workflows/old.yml", "state": "disabled_manually"}
GITHUB_NOW = "Fri, 15 Jan 2027 08:00:00 GMT"  # = support.START, GitHub's clock in the Date header
RUNS_URL = repo_url("/actions/workflows/161001/runs")
DISPATCH_URL = repo_url("/actions/workflows/161001/dispatches")
WORKFLOW_YAML = """\
name: Deploy Kubernetes resources
run-name: "Deploy ${{ inputs.environment }} ${{ inputs.dispatch_id }}"
on:
  push:
    branches: [main]
  workflow_dispatch:
    inputs:
      environment:
        required: true
        type: choice
        options: [dev, test, prod]
      triggered_by:
        type: string
        default: manual
      dry_run:
        type: boolean
        default: false
      DISPATCH_ID_INPUT
jobs: {}
"""


def workflow_file(*, correlates: bool) -> str:
    text = WORKFLOW_YAML.replace(
        "      DISPATCH_ID_INPUT\n",
        "      dispatch_id:\n        type: string\n        default: ''\n" if correlates else "",
    )
    return base64.b64encode(text.encode()).decode()


def run_json(
    run_id: int,
    *,
    status: str = "queued",
    conclusion: str | None = None,
    created: str = "2027-01-15T08:00:02Z",
    title: str = "Deploy dev",
    actor: str = "octo-bot",
    branch: str = "main",
) -> dict[str, Any]:
    return {
        "id": run_id,
        "name": "Deploy Kubernetes resources",
        "display_title": title,
        "event": "workflow_dispatch",
        "head_branch": branch,
        "status": status,
        "conclusion": conclusion,
        "created_at": created,
        "html_url": f"https://github.com/{support.REPO}/actions/runs/{run_id}",
        "url": f"https://api.github.com/repos/{support.REPO}/actions/runs/{run_id}",
        "actor": {"login": actor},
        "triggering_actor": {"login": actor},
    }


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    clock = FakeClock()
    monkeypatch.setattr(gh_adapter, "clock", clock)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield Api(mock, clock)


@pytest.fixture
def api(bare: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setenv("GH_TOKEN", PAT)
    return bare


def preflight(rsps: responses.RequestsMock, *, correlates: bool = False, contents: bool = True) -> None:
    """The three reads before any dispatch: workflows, the ref, the workflow file at the ref."""
    rsps.get(repo_url("/actions/workflows"), json={"total_count": 3, "workflows": [DEPLOY, CLUSTER, OLD]})
    rsps.get(
        repo_url("/git/ref/heads/main"),
        json={"ref": "refs/heads/main", "object": {"sha": "a" * 40, "type": "commit"}},
        headers={"Date": GITHUB_NOW},
    )
    if contents:
        rsps.get(
            repo_url("/contents/.github/workflows/deploy-k8s-resources.yml"),
            json={"type": "file", "encoding": "base64", "content": workflow_file(correlates=correlates)},
        )


def details(run_id: int = 9001) -> dict[str, Any]:
    return {
        "workflow_run_id": run_id,
        "run_url": f"https://api.github.com/repos/{support.REPO}/actions/runs/{run_id}",
        "html_url": f"https://github.com/{support.REPO}/actions/runs/{run_id}",
    }


def dispatch(cli: Any, *extra: str) -> Any:
    return cli(
        [
            "dispatch",
            "--repo",
            support.REPO,
            "--workflow",
            "deploy-k8s-resources.yml",
            "--ref",
            "main",
            "-f",
            "environment=dev",
            *extra,
        ]
    )


# -- dispatching -------------------------------------------------------------------------------


def test_dispatch_with_run_details_posts_once_and_reports_the_run(api: Api, cli: Any, gha_env: Any) -> None:
    preflight(api.rsps)
    api.rsps.post(DISPATCH_URL, json=details())
    result = dispatch(cli, "-f", "triggered_by=hetzner-k8s", "--format", "json")
    assert result.code == 0, result.stderr
    [post] = calls(api.rsps, "POST")
    assert json_body(post) == {
        "ref": "main",
        "inputs": {"environment": "dev", "triggered_by": "hetzner-k8s"},
        "return_run_details": True,
    }
    data = json.loads(result.stdout)
    assert (data["run_id"], data["found_by"], data["conclusion"]) == (9001, "return_run_details", None)
    assert gha_env.outputs() == {
        "run-id": "9001",
        "run-url": f"https://github.com/{support.REPO}/actions/runs/9001",
        "conclusion": "",
    }
    assert gha_env.summary().startswith(
        "### :rocket: Dispatched Deploy Kubernetes resources on main: run 9001"
    )
    assert "ref=main" in calls(api.rsps, "GET", "/contents/")[0].request.url
    assert_no_leak(all_text(result, gha_env), PAT)


@pytest.mark.parametrize(
    ("wanted", "workflow_id"),
    [
        pytest.param("deploy-k8s-resources.yml", 161001, id="file-name"),
        pytest.param(".github/workflows/deploy-k8s-resources.yml", 161001, id="path"),
        pytest.param("Deploy Kubernetes resources", 161001, id="name"),
        pytest.param("deploy kubernetes RESOURCES", 161001, id="name-any-case"),
        pytest.param("161001", 161001, id="id"),
    ],
)
def test_the_workflow_is_found_by_file_name_path_name_or_id(
    api: Api, cli: Any, wanted: str, workflow_id: int
) -> None:
    preflight(api.rsps)
    api.rsps.post(repo_url(f"/actions/workflows/{workflow_id}/dispatches"), json=details())
    result = cli(
        ["dispatch", "--repo", support.REPO, "--workflow", wanted, "--ref", "main", "-f", "environment=dev"]
    )
    assert result.code == 0, result.stderr


def test_json_inputs_and_fields_merge_into_strings(api: Api, cli: Any) -> None:
    preflight(api.rsps)
    api.rsps.post(DISPATCH_URL, json=details())
    result = dispatch(cli, "--inputs", '{"dry_run": true, "triggered_by": "ci"}')
    assert result.code == 0, result.stderr
    body = json_body(calls(api.rsps, "POST")[0])
    assert body["inputs"] == {"dry_run": "true", "triggered_by": "ci", "environment": "dev"}


def test_a_tag_ref_is_checked_as_a_tag(api: Api, cli: Any) -> None:
    api.rsps.get(repo_url("/actions/workflows"), json={"total_count": 1, "workflows": [DEPLOY]})
    api.rsps.get(repo_url("/git/ref/tags/v1.2.0"), json={"ref": "refs/tags/v1.2.0"})
    api.rsps.get(
        repo_url("/contents/.github/workflows/deploy-k8s-resources.yml"),
        status=404,
        json={"message": "Not Found"},
    )
    api.rsps.post(DISPATCH_URL, json=details())
    result = cli(["dispatch", "--repo", support.REPO, "--workflow", "161001", "--ref", "refs/tags/v1.2.0"])
    assert result.code == 0, result.stderr
    assert json_body(calls(api.rsps, "POST")[0])["ref"] == "refs/tags/v1.2.0"


def test_the_workflow_token_can_dispatch(bare: Api, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", WORKFLOW_TOKEN)
    preflight(bare.rsps)
    bare.rsps.post(DISPATCH_URL, json=details())
    result = dispatch(cli)
    assert result.code == 0, result.stderr
    assert calls(bare.rsps, "POST")[0].request.headers["Authorization"] == f"token {WORKFLOW_TOKEN}"


# -- GitHub Enterprise Server: no return_run_details ----------------------------------------------

GHES_REFUSAL = {"message": 'Invalid request.\n\n"return_run_details" is not a permitted key.'}


def test_ghes_fallback_posts_again_without_the_field_and_finds_the_run_by_dispatch_id(
    api: Api, cli: Any, gha_env: Any
) -> None:
    preflight(api.rsps, correlates=True)
    api.rsps.post(DISPATCH_URL, status=422, json=GHES_REFUSAL)
    api.rsps.post(DISPATCH_URL, status=204)
    captured: dict[str, str] = {}

    def runs(request: Any) -> tuple[int, dict[str, str], str]:
        posted = json.loads(calls(api.rsps, "POST")[-1].request.body)
        captured["id"] = posted["inputs"]["dispatch_id"]
        body = {
            "total_count": 2,
            "workflow_runs": [
                run_json(7002, title="Deploy dev someone-else", created="2027-01-15T08:00:01Z"),
                run_json(7001, title=f"Deploy dev {captured['id']}", created="2027-01-15T08:00:03Z"),
            ],
        }
        return 200, {}, json.dumps(body)

    api.rsps.add_callback(responses.GET, RUNS_URL, callback=runs)
    result = dispatch(cli, "--format", "json")
    assert result.code == 0, result.stderr
    first, second = (json_body(c) for c in calls(api.rsps, "POST"))
    assert first["return_run_details"] is True
    assert "return_run_details" not in second
    assert first["inputs"] == second["inputs"] and len(second["inputs"]["dispatch_id"]) == 32
    data = json.loads(result.stdout)
    assert (data["run_id"], data["found_by"]) == (7001, "dispatch_id")
    query = calls(api.rsps, "GET", "/runs")[0].request.url
    assert "event=workflow_dispatch" in query and "created=%3E%3D2027-01-15T08%3A00%3A00Z" in query
    assert gha_env.outputs()["run-id"] == "7001"


def test_ghes_fallback_without_dispatch_id_matches_time_branch_and_actor_and_says_so(
    api: Api, cli: Any
) -> None:
    preflight(api.rsps, correlates=False)
    api.rsps.post(DISPATCH_URL, status=400, json=GHES_REFUSAL)
    api.rsps.post(DISPATCH_URL, status=204)
    api.rsps.get(f"{API}/user", json={"login": "octo-bot"})
    api.rsps.get(
        RUNS_URL,
        json={
            "total_count": 4,
            "workflow_runs": [
                run_json(8004, created="2027-01-15T08:00:09Z", actor="someone-else"),
                run_json(8003, created="2027-01-15T08:00:05Z", branch="feature"),
                run_json(8002, created="2027-01-15T08:00:04Z"),
                run_json(8001, created="2027-01-15T07:59:58Z"),  # before our dispatch
            ],
        },
    )
    result = dispatch(cli, "--format", "json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["run_id"], data["found_by"]) == (8002, "heuristic")
    assert "matched by time, branch and event" in result.stderr
    assert "declares no `dispatch_id` input" in result.stderr


def test_ghes_fallback_waits_for_the_run_to_appear(api: Api, cli: Any) -> None:
    preflight(api.rsps, correlates=False)
    api.rsps.post(DISPATCH_URL, status=422, json=GHES_REFUSAL)
    api.rsps.post(DISPATCH_URL, status=204)
    api.rsps.get(f"{API}/user", json={"login": "octo-bot"})
    api.rsps.get(RUNS_URL, json={"total_count": 0, "workflow_runs": []})
    api.rsps.get(RUNS_URL, json={"total_count": 1, "workflow_runs": [run_json(8100)]})
    result = dispatch(cli)
    assert result.code == 0, result.stderr
    assert api.clock.sleeps == [3.0]
    assert "has not appeared yet" in result.stderr


def test_a_422_about_something_else_is_explained_not_retried(api: Api, cli: Any) -> None:
    preflight(api.rsps, contents=False)
    api.rsps.get(
        repo_url("/contents/.github/workflows/deploy-k8s-resources.yml"),
        status=404,
        json={"message": "Not Found"},
    )
    api.rsps.post(DISPATCH_URL, status=422, json={"message": "Required input 'environment' not provided"})
    result = cli(
        ["dispatch", "--repo", support.REPO, "--workflow", "deploy-k8s-resources.yml", "--ref", "main"]
    )
    assert result.code == 1
    assert "Required input 'environment' not provided; nothing was dispatched" in result.stderr
    assert "Workflow inputs do not match" in result.stderr
    assert "How to fix: give exactly the inputs that `on.workflow_dispatch.inputs` of" in result.stderr
    assert len(calls(api.rsps, "POST")) == 1


# -- a 5xx on the POST: never a second dispatch ---------------------------------------------------


def test_a_5xx_on_the_dispatch_is_not_resent_and_the_run_is_found(api: Api, cli: Any, gha_env: Any) -> None:
    preflight(api.rsps, correlates=True)
    api.rsps.post(DISPATCH_URL, status=502, body="Bad Gateway")

    def runs(request: Any) -> tuple[int, dict[str, str], str]:
        ident = json.loads(calls(api.rsps, "POST")[0].request.body)["inputs"]["dispatch_id"]
        return (
            200,
            {},
            json.dumps({"total_count": 1, "workflow_runs": [run_json(9100, title=f"Deploy dev {ident}")]}),
        )

    api.rsps.get(RUNS_URL, json={"total_count": 0, "workflow_runs": []})
    api.rsps.add_callback(responses.GET, RUNS_URL, callback=runs)
    result = dispatch(cli)
    assert result.code == 0, result.stderr
    assert len(calls(api.rsps, "POST")) == 1
    assert "NOT sent again" in result.stderr
    assert gha_env.outputs()["run-id"] == "9100"


def test_a_5xx_on_the_dispatch_with_no_run_appearing_fails_without_a_second_post(
    api: Api, cli: Any, gha_env: Any
) -> None:
    preflight(api.rsps)
    api.rsps.post(DISPATCH_URL, status=503, json={"message": "Service Unavailable"})
    api.rsps.get(f"{API}/user", json={"login": "octo-bot"})
    api.rsps.get(RUNS_URL, json={"total_count": 0, "workflow_runs": []})
    result = dispatch(cli, "--find-timeout", "10")
    assert result.code == 2
    assert len(calls(api.rsps, "POST")) == 1
    assert "It may still appear later" in result.stderr
    assert sum(api.clock.sleeps) == pytest.approx(10.0)
    assert len(calls(api.rsps, "GET", "/runs")) == 5  # at 0, 3, 6, 9 and 10 seconds
    assert "run-id" not in gha_env.outputs()


def test_a_lost_connection_on_the_dispatch_is_not_resent(api: Api, cli: Any) -> None:
    import requests

    preflight(api.rsps)
    api.rsps.post(DISPATCH_URL, body=requests.ConnectionError("reset by peer"))
    api.rsps.get(f"{API}/user", json={"login": "octo-bot"})
    api.rsps.get(RUNS_URL, json={"total_count": 1, "workflow_runs": [run_json(9200)]})
    result = dispatch(cli)
    assert result.code == 0, result.stderr
    assert len(calls(api.rsps, "POST")) == 1


# -- waiting ---------------------------------------------------------------------------------------


def wait_for(api: Api, final: str | None) -> None:
    url = repo_url("/actions/runs/9001")
    api.rsps.get(url, json=run_json(9001, status="queued"))
    api.rsps.get(url, json=run_json(9001, status="in_progress"))
    api.rsps.get(url, json=run_json(9001, status="completed", conclusion=final))


@pytest.mark.parametrize("conclusion", sorted(CONCLUSIONS))
def test_wait_follows_queued_in_progress_completed_and_maps_each_conclusion(
    api: Api, cli: Any, gha_env: Any, conclusion: str
) -> None:
    preflight(api.rsps)
    api.rsps.post(DISPATCH_URL, json=details())
    wait_for(api, conclusion)
    result = dispatch(cli, "--wait", "--poll-interval", "15")
    assert result.code == (0 if conclusion == "success" else 2), result.stderr
    assert "run 9001: queued (0s)" in result.stderr
    assert "run 9001: in progress (15s)" in result.stderr
    assert "run 9001: completed (30s)" in result.stderr
    assert CONCLUSIONS[conclusion] in result.stderr
    assert api.clock.sleeps == [15.0, 15.0]
    assert gha_env.outputs()["conclusion"] == conclusion
    headline = gha_env.summary().splitlines()[0]
    outcome = "succeeded" if conclusion == "success" else f"concluded {conclusion}"
    assert headline.endswith(f"Deploy Kubernetes resources on main: run 9001 {outcome}"), headline


def test_wait_gives_up_at_the_timeout_and_says_the_run_goes_on(api: Api, cli: Any, gha_env: Any) -> None:
    preflight(api.rsps)
    api.rsps.post(DISPATCH_URL, json=details())
    api.rsps.get(repo_url("/actions/runs/9001"), json=run_json(9001, status="in_progress"))
    result = dispatch(cli, "--wait", "--timeout", "120", "--poll-interval", "50")
    assert result.code == 2
    assert "still in progress after 2m00s" in result.stderr
    assert "the run goes on" in result.stderr
    assert api.clock.sleeps == [50.0, 50.0, 20.0]
    assert "wait timed out" in gha_env.summary()


def test_wait_reports_a_long_unchanged_status_every_minute(api: Api, cli: Any) -> None:
    preflight(api.rsps)
    api.rsps.post(DISPATCH_URL, json=details())
    url = repo_url("/actions/runs/9001")
    for _ in range(7):
        api.rsps.get(url, json=run_json(9001, status="waiting"))
    api.rsps.get(url, json=run_json(9001, status="completed", conclusion="success"))
    result = dispatch(cli, "--wait", "--poll-interval", "20")
    assert result.code == 0, result.stderr
    assert "waiting (for an environment's protection rules" in result.stderr
    assert "run 9001: still waiting" in result.stderr


def test_wait_survives_a_rate_limit_and_a_5xx_while_polling(api: Api, cli: Any) -> None:
    preflight(api.rsps)
    api.rsps.post(DISPATCH_URL, json=details())
    url = repo_url("/actions/runs/9001")
    api.rsps.get(url, status=429, json={"message": "slow down"}, headers={"Retry-After": "12"})
    api.rsps.get(url, status=500, json={"message": "Server Error"})
    api.rsps.get(url, json=run_json(9001, status="completed", conclusion="success"))
    result = dispatch(cli, "--wait")
    assert result.code == 0, result.stderr
    assert api.clock.sleeps == [12.0, 2.0]


# -- nothing is dispatched ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        pytest.param(["--inputs", "{not json"], "--inputs is not valid JSON", id="bad-json"),
        pytest.param(["--inputs", "[1, 2]"], "must be a JSON object", id="not-an-object"),
        pytest.param(["--inputs", '{"nested": {"a": 1}}'], "is dict", id="nested-value"),
        pytest.param(["--inputs", '{"x": null}'], "is null", id="null-value"),
        pytest.param(["-f", "novalue"], "-f expects KEY=VALUE", id="field-without-equals"),
        pytest.param(["--inputs", '{"environment": "prod"}'], "given twice", id="duplicate"),
        pytest.param(["--ref", "refs/pull/1/merge"], "branch or tag", id="pull-ref"),
    ],
)
def test_bad_inputs_dispatch_nothing_and_call_nothing(
    api: Api, cli: Any, extra: list[str], words: str
) -> None:
    result = dispatch(cli, *extra)
    assert result.code == 1
    assert words in result.stderr
    assert len(api.rsps.calls) == 0


def test_a_timeout_with_a_unit_says_seconds_not_invalid_float(api: Api, cli: Any) -> None:
    # every verb parses durations alike (gitops.core.inputs.parse_seconds): a user error, exit 1
    result = dispatch(cli, "--wait", "--timeout", "30m")
    assert result.code == 1
    assert "--timeout must be a positive number of seconds, not '30m'" in result.stderr
    assert "write plain seconds, e.g. --timeout 1800 (units such as 5m are not accepted)" in result.stderr
    assert "invalid float" not in result.stderr
    assert len(api.rsps.calls) == 0


def test_a_disabled_workflow_is_refused(api: Api, cli: Any) -> None:
    api.rsps.get(repo_url("/actions/workflows"), json={"total_count": 3, "workflows": [DEPLOY, CLUSTER, OLD]})
    result = cli(["dispatch", "--repo", support.REPO, "--workflow", "old.yml", "--ref", "main"])
    assert result.code == 1
    assert "is disabled (it was disabled by hand); nothing was dispatched" in result.stderr
    assert "gh workflow enable 161003" in result.stderr
    assert not calls(api.rsps, "POST")


def test_a_missing_workflow_lists_the_available_ones(api: Api, cli: Any, gha_env: Any) -> None:
    api.rsps.get(repo_url("/actions/workflows"), json={"total_count": 3, "workflows": [DEPLOY, CLUSTER, OLD]})
    result = cli(["dispatch", "--repo", support.REPO, "--workflow", "deploy.yml", "--ref", "main"])
    assert result.code == 1
    assert "no workflow 'deploy.yml' in acme/platform" in result.stderr
    for name in (
        "deploy-k8s-resources.yml",
        "hetzner-k8s.yml",
        "old.yml (Old deploy, id 161003, disabled_manually)",
    ):
        assert name in result.stderr
    assert "hetzner-k8s.yml" in gha_env.summary()


def test_an_unknown_ref_is_refused(api: Api, cli: Any) -> None:
    api.rsps.get(repo_url("/actions/workflows"), json={"total_count": 1, "workflows": [DEPLOY]})
    api.rsps.get(repo_url("/git/ref/heads/nope"), status=404, json={"message": "Not Found"})
    api.rsps.get(repo_url("/git/ref/tags/nope"), status=404, json={"message": "Not Found"})
    result = cli(["dispatch", "--repo", support.REPO, "--workflow", "161001", "--ref", "nope"])
    assert result.code == 1
    assert "no branch or tag 'nope' in acme/platform; nothing was dispatched" in result.stderr
    assert not calls(api.rsps, "POST")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        pytest.param(
            ["-f", "colour=blue"], "input 'colour' is not declared by the workflow", id="undeclared"
        ),
        pytest.param(["-f", "dry_run=maybe"], "is a boolean", id="not-a-boolean"),
    ],
)
def test_inputs_the_workflow_file_would_refuse_dispatch_nothing(
    api: Api, cli: Any, extra: list[str], words: str
) -> None:
    preflight(api.rsps)
    result = dispatch(cli, *extra)
    assert result.code == 1
    assert words in result.stderr
    assert not calls(api.rsps, "POST")


def test_a_missing_required_input_dispatches_nothing(api: Api, cli: Any) -> None:
    preflight(api.rsps)
    result = cli(
        ["dispatch", "--repo", support.REPO, "--workflow", "161001", "--ref", "main", "-f", "triggered_by=x"]
    )
    assert result.code == 1
    assert "required input 'environment' is missing" in result.stderr
    assert not calls(api.rsps, "POST")


def test_no_token_says_where_to_set_one_in_a_workflow_and_on_a_laptop(
    bare: Api, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    result = dispatch(cli)
    assert result.code == 1
    assert "GitHub token missing: GH_TOKEN: no GitHub token: set GH_TOKEN (or GITHUB_TOKEN)" in result.stderr
    assert "`env: GH_TOKEN: ${{ secrets.INFRA_DEPLOY_TOKEN }}`" in result.stderr
    assert "export GH_TOKEN=$(gh auth token)" in result.stderr
    assert len(bare.rsps.calls) == 0


def test_no_repository_outside_actions_says_pass_repo(
    api: Api, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    result = cli(["dispatch", "--workflow", "deploy-k8s-resources.yml", "--ref", "main"])
    assert result.code == 1
    assert "--repo is empty and $GITHUB_REPOSITORY is not set" in result.stderr
    assert "How to fix: pass --repo OWNER/NAME, e.g. --repo acme/platform" in result.stderr
    assert len(api.rsps.calls) == 0


def test_a_missing_repository_is_named(api: Api, cli: Any) -> None:
    api.rsps.get(repo_url("/actions/workflows"), status=404, json={"message": "Not Found"})
    api.rsps.get(repo_url(), status=404, json={"message": "Not Found"})
    result = dispatch(cli)
    assert result.code == 1
    assert "repository acme/platform was not found" in result.stderr


def test_403_on_the_dispatch_names_actions_write(
    bare: Api, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", WORKFLOW_TOKEN)
    preflight(bare.rsps)
    bare.rsps.post(
        DISPATCH_URL,
        status=403,
        json={"message": "Resource not accessible by integration"},
        headers={"X-Accepted-GitHub-Permissions": "actions=write"},
    )
    result = dispatch(cli)
    assert result.code == 1
    assert "actions=write" in result.stderr
    assert "`permissions: actions: write` in the calling job" in result.stderr
    assert len(calls(bare.rsps, "POST")) == 1


def test_action_inputs_come_from_the_environment(
    api: Api, cli: Any, gha_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "GITHUB_REPOSITORY": support.REPO,
        "GITHUB_REF_NAME": "main",
        "GITOPS_INPUT_WORKFLOW": "deploy-k8s-resources.yml",
        "GITOPS_INPUT_INPUTS": '{"environment": "dev", "dry_run": false}',
        "GITOPS_INPUT_WAIT": "true",
        "GITOPS_INPUT_POLL_INTERVAL": "5",
        "GITOPS_INPUT_TIMEOUT": "600",
    }.items():
        monkeypatch.setenv(name, value)
    preflight(api.rsps)
    api.rsps.post(DISPATCH_URL, json=details())
    wait_for(api, "success")
    result = cli(["dispatch", "--format", "json"])
    assert result.code == 0, result.stderr
    assert json_body(calls(api.rsps, "POST")[0])["inputs"] == {"environment": "dev", "dry_run": "false"}
    assert api.clock.sleeps == [5.0, 5.0]
    assert gha_env.outputs()["conclusion"] == "success"


@pytest.mark.parametrize(
    "case",
    [
        ("GITOPS_INPUT_WAIT", "yes", "must be 'true' or 'false'"),
        ("GITOPS_INPUT_TIMEOUT", "soon", "number of seconds"),
    ],
    ids=["wait", "timeout"],
)
def test_bad_action_inputs_are_refused(
    api: Api, cli: Any, monkeypatch: pytest.MonkeyPatch, case: tuple[str, str, str]
) -> None:
    name, value, words = case
    monkeypatch.setenv(name, value)
    result = dispatch(cli)
    assert result.code == 1
    assert words in result.stderr
    assert len(api.rsps.calls) == 0
