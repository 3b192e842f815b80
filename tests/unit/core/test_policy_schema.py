"""Loading deploy-control.yaml: the real file is valid, and every bad file is refused precisely.

Each file in ``tests/fixtures/policies/bad/`` states what it expects in its header (see
``tests.support.policy.expectations``); every expectation must be among the problems of the one
ConfigurationError raised for the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops.core.policy import WEEKDAYS
from gitops.core.policy_schema import parse_instant, parse_policy
from gitops.errors import ConfigurationError, Problem
from gitops.operations.gating import load_policy
from tests.support.policy import BAD_FILES, GOOD_POLICY, Expectation, expectations

ROOT = Path(__file__).resolve().parents[3]


def test_the_corpus_is_big_enough() -> None:
    assert len(BAD_FILES) >= 25


def matches(problem: Problem, expected: Expectation) -> bool:
    return (
        (problem.key or None) == expected.key
        and problem.line == expected.line
        and expected.message in problem.message
    )


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_bad_policy_is_refused_with_line_and_key(path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_policy(path)
    error = info.value
    assert error.file == str(path)
    assert error.problems, "every finding is listed in problems"
    for problem in error.problems:
        assert problem.file == str(path) and problem.line
    for expected in expectations(path):
        assert any(matches(p, expected) for p in error.problems), f"expected {expected} among:\n" + "\n".join(
            str(p) for p in error.problems
        )
    assert error.line == min(p.line or 0 for p in error.problems), "the headline points at the first problem"


def test_the_real_policy_file_loads() -> None:
    policy = load_policy(ROOT / "infra" / "deploy-control.yaml")
    assert list(policy.environments) == ["dev", "test", "prod"]
    assert policy.services == ("postgres", "redis", "jaeger")
    dev, test, prod = (policy.environments[e] for e in ("dev", "test", "prod"))
    assert (dev.branch, dev.auto_deploy) == ("dev", True)
    assert (test.branch, test.auto_deploy) == ("test", False)
    assert (prod.branch, prod.auto_deploy, prod.require_manual_approval) == ("main", False, True)
    assert [e.rollout_timeout_seconds for e in (dev, test, prod)] == [720, 720, 900]
    windows = prod.deployment_windows
    assert windows.enabled and windows.timezone.key == "Europe/Berlin" and windows.allow
    assert windows.emergency_override.enabled and windows.emergency_override.require_reason
    assert "local" not in policy.environments  # documented as not governed


def test_good_policy_values_and_line_numbers() -> None:
    policy = parse_policy(GOOD_POLICY, "good.yaml")
    prod = policy.environments["prod"]
    window = prod.deployment_windows.allow[0]
    assert [WEEKDAYS[d] for d in sorted(window.days)] == ["mon", "tue", "wed", "thu", "fri"]
    assert (window.start.isoformat(), window.end.isoformat()) == ("09:00:00", "17:00:00")
    assert prod.deployment_windows.deny[0].reason == "year-end freeze"
    assert prod.deployment_windows.emergency_override.actors == ("alice",)
    assert policy.line_of("environments.prod") == 21
    assert policy.line_of("environments.prod.deployment_windows") == 28


@pytest.mark.parametrize(
    ("edit", "check"),
    [
        pytest.param(('start: "09:00"', "start: 09:00"), "09:00:00", id="unquoted-time-read-as-text"),
        pytest.param(('start: "09:00"', "start: '09:00'"), "09:00:00", id="single-quoted-time"),
        pytest.param(
            ("enabled: true\n    auto_deploy: false", "enabled: TRUE\n    auto_deploy: False"),
            None,
            id="bool-case",
        ),
    ],
)
def test_accepted_spellings(edit: tuple[str, str], check: str | None) -> None:
    policy = parse_policy(GOOD_POLICY.replace(*edit), "good.yaml")
    if check:
        assert policy.environments["prod"].deployment_windows.allow[0].start.isoformat() == check
    else:
        assert (
            policy.environments["prod"].enabled is True and policy.environments["prod"].auto_deploy is False
        )


def test_merge_keys_and_anchors_share_settings_and_explicit_keys_win() -> None:
    text = GOOD_POLICY.replace(
        "    services:\n      postgres: {enabled: true, auto_deploy: true, rollback_on_failure: true}\n"
        "      redis: {enabled: true, auto_deploy: true, rollback_on_failure: true}\n",
        "    services:\n      postgres: &svc {enabled: true, auto_deploy: true, rollback_on_failure: true}\n"
        "      redis:\n        <<: *svc\n        rollback_on_failure: false\n",
        1,
    )
    policy = parse_policy(text, "anchors.yaml")
    redis = policy.environments["dev"].services["redis"]
    assert (redis.enabled, redis.rollback_on_failure) == (True, False)


def test_missing_file_names_the_path_and_the_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_policy(tmp_path / "nope.yaml")
    assert info.value.file == str(tmp_path / "nope.yaml")
    assert info.value.hint and "--control" in info.value.hint


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# only a comment\n")
    with pytest.raises(ConfigurationError) as info:
        load_policy(path)
    assert "the file is empty" in str(info.value)


def test_all_problems_are_reported_in_one_error_sorted_by_line() -> None:
    text = GOOD_POLICY.replace("auto_deploy: true\nenvironments", "auto_deploy: yes\nenvironments").replace(
        'end: "17:00"', 'end: "24:00"'
    )
    with pytest.raises(ConfigurationError) as info:
        parse_policy(text, "two.yaml")
    keys = [p.key for p in info.value.problems]
    assert keys == ["global.auto_deploy", "environments.prod.deployment_windows.allow[0].end"]
    assert info.value.message == "2 problems in the deploy-control policy"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-11-23T08:30:00+01:00", "2026-11-23T07:30:00+00:00", id="offset"),
        pytest.param("2026-11-23T07:30Z", "2026-11-23T07:30:00+00:00", id="zulu"),
    ],
)
def test_parse_instant(text: str, expected: str) -> None:
    assert parse_instant(text).isoformat() == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("2026-11-23T08:30", "no UTC offset", id="naive"),
        pytest.param("next monday", "not an ISO 8601", id="garbage"),
    ],
)
def test_parse_instant_refuses(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_instant(text)


def test_a_tab_is_named_with_its_line_and_column_and_how_to_fix_it() -> None:
    good = GOOD_POLICY.splitlines()
    line = next(i for i, text in enumerate(good) if text.startswith("    auto_deploy:"))
    good[line] = "\t" + good[line].lstrip()
    with pytest.raises(ConfigurationError) as info:
        parse_policy("\n".join(good), "deploy-control.yaml")
    error = info.value
    assert error.line == line + 1
    assert f"a tab character at line {line + 1}, column 1 (YAML indents with spaces only)" in error.message
    assert "'\\t'" not in error.message, "not PyYAML's wording"
    assert error.hint == f"replace the tab at line {line + 1}, column 1 with spaces"
