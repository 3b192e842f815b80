"""Loading deploy-control.yaml: the real file is valid, and every bad file is refused precisely.

Each file in ``tests/fixtures/policies/bad/`` states what it expects in its header (see
``tests.support.policy.expectations``); every expectation must be among the problems of the one
ConfigurationError raised for the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitops.core.policy import WEEKDAYS, ClusterPolicy, EmergencyOverride, ServicePolicy
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


# -- issue 16: the reference's own file, and the defaults of every key it leaves out -------------

REFERENCE = ROOT / "tests" / "fixtures" / "policies" / "reference" / "deploy-control.yaml"


def test_the_reference_policy_loads_with_the_documented_defaults() -> None:
    """The file of the user's original setup (reference/gitops-implementation-summary.md, section 4,
    copied verbatim): no version, five keys per environment, only postgres listed."""
    policy = load_policy(REFERENCE)
    assert policy.version == 3 and policy.auto_deploy is True
    assert list(policy.environments) == ["dev", "test", "prod"]
    dev, test, prod = (policy.environments[e] for e in ("dev", "test", "prod"))
    # What the reference writes is what it gets.
    assert [(e.enabled, e.auto_deploy, e.require_manual_approval) for e in (dev, test, prod)] == [
        (True, True, False),
        (True, False, False),
        (True, False, True),
    ]
    assert all(not e.deployment_windows.enabled for e in (dev, test, prod))
    assert {e.name: dict(e.services) for e in (dev, test, prod)} == {
        "dev": {"postgres": ServicePolicy(enabled=True, auto_deploy=True, rollback_on_failure=False)},
        "test": {"postgres": ServicePolicy(enabled=True, auto_deploy=False, rollback_on_failure=False)},
        "prod": {"postgres": ServicePolicy(enabled=True, auto_deploy=False, rollback_on_failure=False)},
    }
    # What it leaves out has the default the issue names.
    assert [e.branch for e in (dev, test, prod)] == ["dev", "test", "main"]
    assert {e.rollout_timeout_seconds for e in (dev, test, prod)} == {300}
    assert [e.cluster for e in (dev, test, prod)] == [
        ClusterPolicy(enabled=True, auto_deploy=True),  # the environment's auto_deploy
        ClusterPolicy(enabled=True, auto_deploy=False),
        ClusterPolicy(enabled=True, auto_deploy=False),
    ]
    for env in (dev, test, prod):
        windows = env.deployment_windows
        assert (windows.timezone.key, windows.allow, windows.deny) == ("UTC", (), ())
        assert windows.emergency_override.enabled is False
    # ... and is marked as a default, key by key (what `gitops validate --explain` shows).
    assert policy.defaults["version"] == "3"
    assert set(policy.defaults) >= {
        f"environments.{env}.{key}"
        for env in ("dev", "test", "prod")
        for key in (
            "branch",
            "rollout_timeout_seconds",
            "cluster.enabled",
            "cluster.auto_deploy",
            "deployment_windows.timezone",
            "deployment_windows.allow",
            "deployment_windows.deny",
            "deployment_windows.emergency_override.enabled",
        )
    }
    written = ("enabled", "auto_deploy", "require_manual_approval", "deployment_windows.enabled", "services")
    assert not {f"environments.{env}.{key}" for env in policy.environments for key in written} & set(
        policy.defaults
    )
    assert policy.line_of("environments.prod.services.postgres") == 36


def test_a_file_that_writes_every_key_has_no_defaults() -> None:
    assert load_policy(ROOT / "infra" / "deploy-control.yaml").defaults == {}


MINIMAL = """\
global:
  auto_deploy: true
environments:
  staging:
    enabled: true
    auto_deploy: true
    require_manual_approval: false
    deployment_windows:
      enabled: false
"""


@pytest.mark.parametrize(
    "version",
    [
        pytest.param(None, id="absent"),
        pytest.param("3", id="int"),
        pytest.param('"3"', id="quoted"),
        pytest.param('"3.0.0"', id="semver-quoted"),
        pytest.param("3.0.0", id="semver-plain"),
        pytest.param('"3.4.1"', id="later-minor"),
        pytest.param('"v3.0.0"', id="v-prefixed-as-the-reference-writes-it"),
    ],
)
def test_accepted_versions(version: str | None) -> None:
    text = MINIMAL if version is None else f"version: {version}\n{MINIMAL}"
    assert parse_policy(text, "v.yaml").version == 3


@pytest.mark.parametrize(
    ("version", "message"),
    [
        pytest.param("2", "version 2 is not supported: this suite reads version 3", id="old"),
        pytest.param('"4.0.0"', "version 4.0.0 is not supported", id="newer"),
        pytest.param('"30"', "version 30 is not supported", id="not-three"),
        pytest.param("three", "expected the schema version 3", id="words"),
        pytest.param("", "expected the schema version 3", id="null"),
    ],
)
def test_refused_versions(version: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_policy(f"version: {version}\n{MINIMAL}", "v.yaml")
    [problem] = info.value.problems
    assert (problem.key, problem.line) == ("version", 1)
    assert message in problem.message


def test_a_minimal_environment_gets_its_own_name_as_branch() -> None:
    staging = parse_policy(MINIMAL, "m.yaml").environments["staging"]
    assert staging.branch == "staging"
    assert staging.services == {}


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        pytest.param(
            "    cluster: {enabled: false}\n",
            lambda e: e.cluster == ClusterPolicy(enabled=False, auto_deploy=True),
            id="cluster-auto_deploy-follows-the-environment",
        ),
        pytest.param(
            "    cluster: {}\n",
            lambda e: e.cluster == ClusterPolicy(enabled=True, auto_deploy=True),
            id="empty-cluster",
        ),
        pytest.param(
            "    services: {}\n",
            lambda e: e.services == {},
            id="no-services-listed",
        ),
    ],
)
def test_partial_sections_get_defaults_key_by_key(section: str, expected: Any) -> None:
    assert expected(parse_policy(MINIMAL + section, "m.yaml").environments["staging"])


def test_an_override_that_is_only_enabled_requires_a_reason_and_allows_anyone() -> None:
    text = MINIMAL.replace(
        "      enabled: false\n", "      enabled: true\n      emergency_override: {enabled: true}\n"
    )
    windows = parse_policy(text, "m.yaml").environments["staging"].deployment_windows
    assert windows.enabled and windows.allow == () and windows.timezone.key == "UTC"
    assert windows.emergency_override == EmergencyOverride(enabled=True, require_reason=True, actors=())


def two_environments(dev_extra: str = "", prod_extra: str = "", windows_extra: str = "") -> str:
    env = (
        "    enabled: true\n    auto_deploy: false\n    require_manual_approval: false\n"
        "    deployment_windows:\n      enabled: false\n"
    )
    return (
        "global:\n  auto_deploy: true\nenvironments:\n"
        f"  dev:\n{env}{windows_extra}{dev_extra}"
        f"  prod:\n{env}{prod_extra}"
    )


@pytest.mark.parametrize(
    ("text", "key", "line", "message"),
    [
        pytest.param(
            two_environments(dev_extra="    branch: develop\n"),
            "environments.prod.branch",
            11,
            "key 'branch' is missing; every environment has the same keys (dev sets it at line 10)",
            id="branch-in-one-environment",
        ),
        pytest.param(
            two_environments(windows_extra="      timezone: Europe/Berlin\n"),
            "environments.prod.deployment_windows.timezone",
            15,
            "(dev sets it at line 10): set it here too, or leave it out everywhere for the default (UTC)",
            id="nested-key-reported-at-its-mapping",
        ),
        pytest.param(
            two_environments(prod_extra="    cluster:\n      enabled: true\n"),
            "environments.dev.cluster",
            4,
            "key 'cluster' is missing",
            id="a-missing-section-once-not-per-key",
        ),
        pytest.param(
            two_environments(
                prod_extra="    services:\n      postgres: {enabled: true, auto_deploy: true, "
                "rollback_on_failure: false}\n"
            ),
            "environments.dev.services",
            4,
            "leave it out everywhere for the default ({} (a service not listed follows its environment))",
            id="services-in-one-environment",
        ),
    ],
)
def test_parity_holds_over_the_keys_present(text: str, key: str, line: int, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_policy(text, "p.yaml")
    assert [(p.key, p.line) for p in info.value.problems] == [(key, line)]
    assert message in info.value.problems[0].message


def test_a_typo_of_an_optional_key_is_still_an_error_with_did_you_mean() -> None:
    text = MINIMAL.replace("    enabled: true\n", "    enabled: true\n    brnach: main\n", 1)
    with pytest.raises(ConfigurationError) as info:
        parse_policy(text, "t.yaml")
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.key) == ("t.yaml", 6, "environments.staging.brnach")
    assert "did you mean 'branch'?" in problem.message


def test_a_stray_top_level_key_does_not_count_for_an_environment_s_parity() -> None:
    text = "branch: main\n" + two_environments(dev_extra="    branch: develop\n")
    with pytest.raises(ConfigurationError) as info:
        parse_policy(text, "p.yaml")
    assert {p.key for p in info.value.problems} == {"branch", "environments.prod.branch"}
