"""The effective policy (gitops.core.policy_explain): every key with the gate's value, defaults marked.

The expectations are the defaults issue 16 names (branch dev->dev, test->test, prod->main, else the
environment's name; rollout_timeout_seconds 300; cluster {enabled: true, auto_deploy: the
environment's}; windows in UTC with allow: [] and deny: []; emergency_override {enabled: false}),
read from the reference's own file, which leaves every one of them out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gitops.core.policy import Policy
from gitops.core.policy_explain import effective, explain
from gitops.core.policy_schema import parse_policy
from gitops.operations.gating import load_policy
from tests.support.policy import GOOD_POLICY

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "tests" / "fixtures" / "policies" / "reference" / "deploy-control.yaml"
SOURCES = [
    pytest.param(lambda: load_policy(REFERENCE), id="reference-v3.0.0"),
    pytest.param(lambda: load_policy(ROOT / "infra" / "deploy-control.yaml"), id="this-repository"),
    pytest.param(lambda: parse_policy(GOOD_POLICY, "good.yaml"), id="windows-deny-actors"),
]


@pytest.mark.parametrize("read", SOURCES)
def test_the_explanation_is_a_policy_file_that_reads_back_to_the_same_policy(
    read: Callable[[], Policy],
) -> None:
    policy = read()
    again = parse_policy(explain(policy), "explained.yaml")
    assert again.environments == policy.environments
    assert (again.version, again.auto_deploy) == (policy.version, policy.auto_deploy)
    assert again.defaults == {}, "every key is written out"


@pytest.mark.parametrize("read", SOURCES)
def test_exactly_the_defaulted_values_are_marked(read: Callable[[], Policy]) -> None:
    policy = read()
    marked = [line for line in explain(policy).splitlines() if "  # default: " in line]
    assert len(marked) == len(policy.defaults)


def test_the_reference_file_explained() -> None:
    text = explain(load_policy(REFERENCE))
    prod = text[text.index("  prod:\n") :]
    assert prod.splitlines()[:22] == [
        "  prod:",
        "    branch: main  # default: dev -> dev, test -> test, prod -> main, any other environment -> "
        "its own name",
        "    enabled: true",
        "    auto_deploy: false",
        "    require_manual_approval: true",
        "    rollout_timeout_seconds: 300  # default: 300",
        "    cluster:",
        "      enabled: true  # default: true",
        "      auto_deploy: false  # default: the environment's auto_deploy",
        "    deployment_windows:",
        "      enabled: false",
        "      timezone: UTC  # default: UTC",
        "      allow: []  # default: [] (any time; only deny restricts)",
        "      deny: []  # default: []",
        "      emergency_override:",
        "        enabled: false  # default: false",
        "        require_reason: true  # default: true",
        "        actors: []  # default: [] (anyone allowed to run the workflow)",
        "    services:",
        "      postgres:",
        "        enabled: true",
        "        auto_deploy: false",
    ]
    assert text.startswith("version: 3  # default: 3\nglobal:\n  auto_deploy: true\nenvironments:\n")


def test_times_and_dates_are_quoted_and_lists_flow() -> None:
    text = explain(parse_policy(GOOD_POLICY, "good.yaml"))
    assert (
        '        - days: [mon, tue, wed, thu, fri]\n          start: "09:00"\n          end: "17:00"\n'
        in text
    )
    assert (
        '        - start: "2026-12-21"\n          end: "2027-01-01"\n          reason: year-end freeze\n'
        in text
    )
    assert "        actors: [alice]\n" in text


def test_effective_is_plain_data_with_every_key() -> None:
    data = effective(load_policy(REFERENCE))
    dev = data["environments"]["dev"]
    assert list(dev) == [
        "branch",
        "enabled",
        "auto_deploy",
        "require_manual_approval",
        "rollout_timeout_seconds",
        "cluster",
        "deployment_windows",
        "services",
    ]
    assert dev["deployment_windows"] == {
        "enabled": False,
        "timezone": "UTC",
        "allow": [],
        "deny": [],
        "emergency_override": {"enabled": False, "require_reason": True, "actors": []},
    }
    assert dev["cluster"] == {"enabled": True, "auto_deploy": True}
