"""gitops.core.workflow_dispatch: inputs, workflow choice, the run a dispatch created, conclusions."""

from __future__ import annotations

from typing import Any

import pytest

from gitops.core.workflow_dispatch import (
    CONCLUSIONS,
    check_inputs,
    match_workflow,
    outcome,
    parse_inputs,
    pick_run,
    read_workflow,
    split_ref,
)
from gitops.errors import ConfigurationError

WORKFLOWS = [
    {"id": 1, "name": "Deploy", "path": ".github/workflows/deploy.yml", "state": "active"},
    {"id": 2, "name": "Cluster", "path": ".github/workflows/cluster.yaml", "state": "active"},
    {"id": 3, "name": "Stale", "path": ".github/workflows/stale.yml", "state": "disabled_inactivity"},
    {"id": 4, "name": "Twin", "path": ".github/workflows/twin-a.yml", "state": "active"},
    {"id": 5, "name": "Twin", "path": ".github/workflows/twin-b.yml", "state": "active"},
]


@pytest.mark.parametrize(
    ("inputs_json", "fields", "expected"),
    [
        pytest.param(None, [], {}, id="nothing"),
        pytest.param(
            '{"a": "x", "b": true, "c": false, "d": 3, "e": 1.5}',
            [],
            {"a": "x", "b": "true", "c": "false", "d": "3", "e": "1.5"},
            id="json-scalars",
        ),
        pytest.param(
            None, ["a=1", "b=x=y", "c="], {"a": "1", "b": "x=y", "c": ""}, id="fields-split-on-first-equals"
        ),
        pytest.param('{"a": "1"}', ["b=2"], {"a": "1", "b": "2"}, id="both"),
        pytest.param("  ", [], {}, id="blank-json"),
    ],
)
def test_parse_inputs(inputs_json: str | None, fields: list[str], expected: dict[str, str]) -> None:
    assert parse_inputs(inputs_json, fields) == expected


@pytest.mark.parametrize(
    ("inputs_json", "fields", "words"),
    [
        pytest.param("{", [], "not valid JSON: Expecting property name", id="syntax"),
        pytest.param('"x"', [], "must be a JSON object, found str", id="string"),
        pytest.param('{"a": [1]}', [], "is list", id="list-value"),
        pytest.param('{"a": 1}', ["a=2"], "given twice", id="duplicate"),
        pytest.param(None, ["=x"], "KEY=VALUE", id="empty-key"),
        pytest.param(None, ["bad name=1"], "invalid input name", id="space-in-name"),
        pytest.param(
            "{" + ", ".join(f'"i{n}": "v"' for n in range(26)) + "}", [], "at most 25", id="too-many"
        ),
    ],
)
def test_parse_inputs_refuses(inputs_json: str | None, fields: list[str], words: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_inputs(inputs_json, fields)
    assert words in caught.value.message
    assert caught.value.title == "Invalid workflow inputs"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("main", ("main", None)),
        ("refs/heads/release/1.x", ("release/1.x", "heads")),
        ("refs/tags/v1.0.0", ("v1.0.0", "tags")),
        ("feature/x", ("feature/x", None)),
    ],
)
def test_split_ref(ref: str, expected: tuple[str, str | None]) -> None:
    assert split_ref(ref) == expected


@pytest.mark.parametrize("ref", ["", "refs/pull/1/merge", "a..b", "main/"])
def test_split_ref_refuses(ref: str) -> None:
    with pytest.raises(ConfigurationError, match="branch or tag"):
        split_ref(ref)


@pytest.mark.parametrize(
    ("wanted", "found"),
    [("1", 1), ("deploy.yml", 1), (".github/workflows/cluster.yaml", 2), ("Cluster", 2), ("cluster", 2)],
)
def test_match_workflow(wanted: str, found: int) -> None:
    assert match_workflow(WORKFLOWS, wanted, "o/r")["id"] == found


def test_match_workflow_refuses_disabled_missing_and_ambiguous() -> None:
    with pytest.raises(ConfigurationError, match="disabled") as caught:
        match_workflow(WORKFLOWS, "stale.yml", "o/r")
    assert "60 days" in caught.value.message
    with pytest.raises(ConfigurationError, match=r"no workflow 'nope\.yml'") as caught:
        match_workflow(WORKFLOWS, "nope.yml", "o/r")
    assert len(caught.value.problems) == len(WORKFLOWS)
    with pytest.raises(ConfigurationError, match=r"2 workflows in o/r are named 'Twin'"):
        match_workflow(WORKFLOWS, "Twin", "o/r")


WORKFLOW_FILE = """\
run-name: "Deploy ${{ inputs.dispatch_id }}"
on:
  workflow_dispatch:
    inputs:
      environment: {required: true, type: choice, options: [dev, prod]}
      note: {required: true, default: none}
      force: {type: boolean}
      dispatch_id: {}
"""


def test_read_workflow_handles_yaml_on_as_true_and_every_trigger_shape() -> None:
    spec = read_workflow(WORKFLOW_FILE)
    assert spec is not None and spec.dispatchable and spec.correlates and spec.title_carries_id
    assert spec.inputs["environment"].options == ("dev", "prod")
    assert spec.inputs["note"].has_default
    assert read_workflow("on: workflow_dispatch\n") == read_workflow("on: [push, workflow_dispatch]\n")
    assert not read_workflow("on: push\n").dispatchable  # type: ignore[union-attr]
    assert read_workflow("on: [\n") is None
    assert read_workflow("- a\n") is None


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        pytest.param({"environment": "dev"}, [], id="ok"),
        pytest.param({}, ["required input 'environment' is missing"], id="missing-required"),
        pytest.param({"environment": "qa"}, ["must be one of: dev, prod"], id="not-an-option"),
        pytest.param({"environment": "dev", "force": "yes"}, ["is a boolean"], id="bad-boolean"),
        pytest.param({"environment": "dev", "x": "1"}, ["'x' is not declared"], id="undeclared"),
    ],
)
def test_check_inputs(inputs: dict[str, str], words: list[str]) -> None:
    spec = read_workflow(WORKFLOW_FILE)
    assert spec is not None
    problems = check_inputs(spec, inputs, "deploy.yml")
    assert [w for w in words if not any(w in p.message for p in problems)] == []
    assert len(problems) == len(words)


def test_check_inputs_without_a_dispatch_trigger() -> None:
    spec = read_workflow("on: push\n")
    assert spec is not None
    [problem] = check_inputs(spec, {}, "ci.yml")
    assert "no `on: workflow_dispatch`" in problem.message


def run(
    run_id: int,
    created: str,
    *,
    title: str = "Deploy",
    branch: str = "main",
    actor: str = "me",
    event: str = "workflow_dispatch",
) -> dict[str, Any]:
    return {
        "id": run_id,
        "created_at": created,
        "display_title": title,
        "head_branch": branch,
        "event": event,
        "actor": {"login": actor},
    }


SINCE = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def test_pick_run_prefers_the_correlation_id() -> None:
    runs = [run(3, "2027-01-15T08:00:01Z"), run(2, "2027-01-15T08:00:05Z", title="Deploy abc123")]
    pick = pick_run(runs, since=SINCE, branch="main", correlation_id="abc123")
    assert (pick.run and pick.run["id"], pick.how) == (2, "dispatch_id")


def test_pick_run_heuristic_takes_the_oldest_match_and_counts_candidates() -> None:
    runs = [
        run(5, "2027-01-15T08:00:09Z"),
        run(4, "2027-01-15T08:00:03Z"),
        run(3, "2027-01-15T08:00:02Z", branch="other"),
        run(2, "2027-01-15T08:00:01Z", event="push"),
        run(1, "2027-01-15T07:59:59Z"),
        run(6, "2027-01-15T08:00:01Z", actor="someone"),
    ]
    pick = pick_run(runs, since=SINCE, branch="main", correlation_id=None, actor="me")
    assert (pick.run and pick.run["id"], pick.how, pick.candidates) == (4, "heuristic", 2)


def test_pick_run_without_a_match() -> None:
    assert (
        pick_run([run(1, "2027-01-15T07:00:00Z")], since=SINCE, branch="main", correlation_id="x").how
        == "none"
    )


@pytest.mark.parametrize("conclusion", sorted(CONCLUSIONS))
def test_only_success_is_success_and_every_conclusion_is_said_plainly(conclusion: str) -> None:
    ok, sentence = outcome(conclusion)
    assert ok is (conclusion == "success")
    assert sentence == CONCLUSIONS[conclusion]


def test_an_unknown_or_missing_conclusion_is_not_success() -> None:
    assert outcome("brand_new") == (False, "the run ended with an unknown conclusion 'brand_new'")
    assert outcome(None)[0] is False
