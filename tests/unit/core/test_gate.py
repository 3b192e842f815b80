"""The gate's decision table: every rule a named check; only windows can be bypassed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import NamedTuple

import pytest

from gitops.core.gate import Decision, branch_of, evaluate
from gitops.core.policy import EmergencyOverride, Override, Policy
from gitops.errors import ConfigurationError
from tests.support.policy import allow, deny, environment, policy, service, windows

BERLIN_HOURS = windows(
    "Europe/Berlin",
    [allow("mon-fri", "09:00", "17:00")],
    [deny("2026-12-21", "2027-01-01", "year-end freeze")],
    override=EmergencyOverride(enabled=True, require_reason=True, actors=("alice", "Bob")),
)
DEV = environment("dev")
TEST = environment(
    "test",
    auto_deploy=False,
    services={
        "postgres": service(auto_deploy=False),
        "redis": service(enabled=False),
        "jaeger": service(rollback_on_failure=False),
    },
)
PROD = environment(
    "prod",
    "main",
    auto_deploy=False,
    require_manual_approval=True,
    rollout_timeout_seconds=600,
    deployment_windows=BERLIN_HOURS,
)
US = environment(
    "us", "main", deployment_windows=windows("America/New_York", [allow("mon-fri", "09:00", "17:00")])
)
CANARY = environment(
    "canary", "main", deployment_windows=windows("Europe/Berlin", [allow("sat", "22:00", "02:00")])
)
STRICT = environment(
    "strict",
    "main",
    deployment_windows=windows(
        "UTC", [allow("mon", "09:00", "10:00")], override=EmergencyOverride(False, True, ())
    ),
)
LOOSE = environment(
    "loose",
    "main",
    deployment_windows=windows(
        "UTC", [allow("mon", "09:00", "10:00")], override=EmergencyOverride(True, False, ())
    ),
)
NO_AUTO_DB = environment("noauto", "main", services={"postgres": service(auto_deploy=False)})
OFF = environment("off", "main", enabled=False, deployment_windows=BERLIN_HOURS)
NO_CLUSTER_AUTO = replace(PROD, name="pc", cluster=replace(PROD.cluster, auto_deploy=False))

POLICY = policy(DEV, TEST, PROD, US, CANARY, STRICT, LOOSE, NO_AUTO_DB, OFF, NO_CLUSTER_AUTO)
KILLED = replace(POLICY, auto_deploy=False)

WED_10 = "2026-11-25T10:00+01:00"  # inside Berlin business hours
SAT_10 = "2026-11-28T10:00+01:00"  # outside
XMAS = "2026-12-23T10:00+01:00"  # inside the freeze
MON_0930_UTC = "2026-11-23T09:30Z"
SUN_1100_UTC = "2026-11-22T11:00Z"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Case(NamedTuple):
    """One row: who asks, for what, when -> allowed?, first failing check, next allowed instant."""

    id: str
    env: str
    service: str | None
    event: str
    ref: str | None
    when: str
    allowed: bool
    blocked_by: str | None = None
    next_at: str | None = None
    override: Override | None = None
    automatic: bool | None = None
    policy: Policy = POLICY


DISPATCH = "workflow_dispatch"
ALICE = Override("alice", "db corruption fix")

# fmt: off
CASES = [
    Case("push-on-branch", "dev", "postgres", "push", "dev", SAT_10, True),
    Case("push-full-ref", "dev", None, "push", "refs/heads/dev", SAT_10, True),
    Case("branch-mismatch", "dev", None, "push", "feature/x", SAT_10, False, "branch"),
    Case("tag-is-not-a-branch", "dev", None, "push", "refs/tags/v1.0", SAT_10, False, "branch"),
    Case("no-ref", "dev", None, "push", None, SAT_10, False, "branch"),
    Case("schedule-on-default-branch", "dev", None, "schedule", "main", SAT_10, False, "branch"),
    Case("kill-switch", "dev", "postgres", "push", "dev", SAT_10, False, "global.auto_deploy", policy=KILLED),
    Case("kill-switch-spares-manual", "dev", "postgres", DISPATCH, None, SAT_10, True, policy=KILLED),
    Case("pull-request-never", "dev", "postgres", "pull_request", "refs/pull/7/merge", SAT_10, False,
         "event"),
    Case("merge-group-never", "dev", None, "merge_group", "dev", SAT_10, False, "event"),
    Case("env-auto-deploy-off", "test", None, "push", "test", SAT_10, False, "environment.auto_deploy"),
    Case("manual-ignores-auto-flags", "test", "postgres", DISPATCH, "feature/x", SAT_10, True),
    Case("workflow-call-is-manual", "test", "postgres", "workflow_call", None, SAT_10, True),
    Case("dispatch-from-cluster-workflow-is-automatic", "test", None, DISPATCH, "test", SAT_10, False,
         "environment.auto_deploy", automatic=True),
    Case("automatic-dispatch-on-branch", "dev", "postgres", DISPATCH, "dev", SAT_10, True, automatic=True),
    Case("service-disabled", "test", "redis", DISPATCH, None, SAT_10, False, "service.enabled"),
    Case("service-auto-deploy-off", "noauto", "postgres", "push", "main", SAT_10, False,
         "service.auto_deploy"),
    Case("service-auto-deploy-manual-ok", "noauto", "postgres", DISPATCH, None, SAT_10, True),
    Case("prod-push-blocked-no-next", "prod", None, "push", "main", SAT_10, False, "environment.auto_deploy"),
    Case("prod-manual-in-window", "prod", "postgres", DISPATCH, None, WED_10, True),
    Case("prod-manual-weekend-next-monday", "prod", "postgres", DISPATCH, None, SAT_10, False,
         "deployment_window", "2026-11-30T09:00:00+01:00"),
    Case("deny-beats-allow", "prod", None, DISPATCH, None, XMAS, False,
         "deployment_window", "2027-01-04T09:00:00+01:00"),
    Case("override-bypasses-window", "prod", None, DISPATCH, None, XMAS, True, override=ALICE),
    Case("override-actor-case-insensitive", "prod", None, DISPATCH, None, SAT_10, True,
         override=Override("bob", "hotfix")),
    Case("override-without-reason-refused", "prod", None, DISPATCH, None, XMAS, False, "deployment_window",
         override=Override("alice", "  ")),
    Case("override-actor-not-listed-refused", "prod", None, DISPATCH, None, XMAS, False, "deployment_window",
         override=Override("mallory", "trust me")),
    Case("override-without-actor-refused", "prod", None, DISPATCH, None, XMAS, False, "deployment_window",
         override=Override(None, "x")),
    Case("override-never-beats-enabled-false", "off", None, DISPATCH, None, SAT_10, False,
         "environment.enabled", override=ALICE),
    Case("override-disabled-in-env", "strict", None, DISPATCH, None, SUN_1100_UTC, False, "deployment_window",
         override=ALICE),
    Case("override-reason-optional", "loose", None, DISPATCH, None, SUN_1100_UTC, True,
         override=Override("anyone", None)),
    Case("override-does-not-skip-auto-rules", "prod", None, "push", "main", XMAS, False,
         "environment.auto_deploy", override=ALICE),
    Case("refused-override-in-open-window-blocks", "prod", None, DISPATCH, None, WED_10, False,
         "emergency_override", override=Override("mallory", "x")),
    Case("ny-window-on-spring-forward-monday", "us", None, "push", "main", "2026-03-09T09:30-04:00", True),
    Case("ny-window-before-dst-closed", "us", None, "push", "main", "2026-03-09T12:59Z", False,
         "deployment_window", "2026-03-09T09:00:00-04:00"),
    Case("overnight-window-sunday-morning", "canary", None, "push", "main", "2026-11-29T01:30+01:00", True),
    Case("overnight-window-sunday-night-closed", "canary", None, "push", "main", "2026-11-29T22:30+01:00",
         False, "deployment_window", "2026-12-05T22:00:00+01:00"),
    Case("strict-next-window-monday", "strict", None, "push", "main", SUN_1100_UTC, False,
         "deployment_window", "2026-11-23T09:00:00+00:00"),
    Case("strict-open-monday", "strict", None, "push", "main", MON_0930_UTC, True),
]
# fmt: on


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_decision_table(case: Case) -> None:
    decision = evaluate(
        case.policy,
        environment=case.env,
        service=case.service,
        event=case.event,
        ref=case.ref,
        at=at(case.when),
        override=case.override,
        automatic=case.automatic,
    )
    data = decision.to_json()
    assert data["allowed"] is case.allowed, data["checks"]
    assert data["blocked_by"] == case.blocked_by, data["checks"]
    assert data["next_allowed_at"] == case.next_at, data["checks"]
    assert case.allowed == all(c["passed"] for c in data["checks"])


def _decide(env: str, **kw: object) -> Decision:
    args: dict[str, object] = {
        "environment": env,
        "service": None,
        "event": "workflow_dispatch",
        "ref": None,
        "at": at(SAT_10),
        "override": None,
    }
    args.update(kw)
    return evaluate(POLICY, **args)  # type: ignore[arg-type]


def test_json_has_exactly_the_design_keys_and_more() -> None:
    data = _decide("prod", service="postgres").to_json()
    design = {
        "environment", "service", "allowed", "requires_approval", "rollback_on_failure",
        "checks", "next_allowed_at", "override", "rollout_timeout_seconds",
    }  # fmt: skip
    assert design <= set(data)
    assert data["requires_approval"] is True
    assert data["rollout_timeout_seconds"] == 600
    assert {tuple(c) for c in data["checks"]} == {("name", "passed", "detail")}


def test_check_names_for_an_automatic_service_deploy() -> None:
    decision = _decide("dev", service="postgres", event="push", ref="dev")
    assert [c.name for c in decision.checks] == [
        "event",
        "global.auto_deploy",
        "environment.enabled",
        "environment.auto_deploy",
        "branch",
        "service.enabled",
        "service.auto_deploy",
        "deployment_window",
    ]


def test_manual_dispatch_runs_only_enabled_and_window_checks() -> None:
    decision = _decide("test", service="postgres")
    assert [c.name for c in decision.checks] == [
        "event",
        "environment.enabled",
        "service.enabled",
        "deployment_window",
    ]


def test_pull_request_says_plainly_it_never_deploys() -> None:
    decision = _decide("dev", event="pull_request")
    assert [c.name for c in decision.checks] == ["event"]
    assert "never deploys" in decision.checks[0].detail


def test_accepted_override_is_recorded_with_actor_and_reason() -> None:
    decision = _decide("prod", at=at(XMAS), override=Override("alice", "db corruption fix"))
    assert decision.to_json()["override"] == {
        "actor": "alice",
        "reason": "db corruption fix",
        "bypassed_window": True,
    }
    window = next(c for c in decision.checks if c.name == "deployment_window")
    assert window.detail.startswith("BYPASSED by emergency override (@alice: db corruption fix)")


def test_override_in_an_open_window_is_recorded_as_not_needed() -> None:
    decision = _decide("prod", at=at(WED_10), override=Override("alice", "x"))
    assert decision.override is not None and decision.override.bypassed_window is False
    assert "not needed" in decision.checks[-1].detail


def test_refused_override_is_not_recorded_and_says_why() -> None:
    decision = _decide("prod", at=at(XMAS), override=Override("mallory", "trust me"))
    assert decision.override is None
    assert decision.checks[-1].name == "emergency_override"
    assert "'mallory' is not in environments.prod.deployment_windows.emergency_override.actors" in (
        decision.checks[-1].detail
    )


def test_rollback_comes_from_the_service_or_any_enabled_service() -> None:
    assert _decide("test", service="jaeger").rollback_on_failure is False
    assert _decide("test", service="postgres").rollback_on_failure is True
    assert _decide("test").rollback_on_failure is True


@pytest.mark.parametrize(
    ("env_kwargs", "allowed", "blocked_by"),
    [
        pytest.param({}, True, None, id="environment-allows"),
        pytest.param({"auto_deploy": False}, False, "environment.auto_deploy", id="environment-blocks"),
    ],
)
def test_a_service_that_is_not_listed_follows_its_environment(
    env_kwargs: dict[str, bool], allowed: bool, blocked_by: str | None
) -> None:
    """Issue 16: the reference lists only postgres; redis follows the environment, and a check says so."""
    only_postgres = {"postgres": service(rollback_on_failure=False)}
    listed = policy(environment("dev", services=only_postgres, **env_kwargs))
    decision = evaluate(
        listed, environment="dev", service="redis", event="push", ref="dev", at=at(WED_10), override=None
    )
    assert (decision.allowed, decision.blocked_by.name if decision.blocked_by else None) == (
        allowed,
        blocked_by,
    )
    names = [c.name for c in decision.checks]
    assert "service.enabled" not in names and "service.auto_deploy" not in names
    check = next(c for c in decision.checks if c.name == "service")
    assert check.passed
    assert check.detail == (
        "redis is not listed under environments.dev.services (listed: postgres), so it follows the "
        "environment: the environment's checks decide"
    )
    assert decision.rollback_on_failure is False  # the environment's: no listed service rolls back


def test_an_unlisted_name_close_to_a_listed_one_is_pointed_out() -> None:
    decision = _decide("prod", service="postgress")
    check = next(c for c in decision.checks if c.name == "service")
    assert check.detail.endswith("; did you mean 'postgres'?")


@pytest.mark.parametrize(
    ("env", "event", "ref", "allowed", "blocked_by"),
    [
        pytest.param("dev", "push", "dev", True, None, id="cluster-auto"),
        pytest.param("pc", "push", "main", False, "cluster.auto_deploy", id="cluster-auto-off"),
        pytest.param(
            "pc", "workflow_dispatch", None, False, "deployment_window", id="cluster-manual-respects-window"
        ),
    ],
)
def test_cluster_gate(env: str, event: str, ref: str | None, allowed: bool, blocked_by: str | None) -> None:
    decision = _decide(env, event=event, ref=ref, cluster=True)
    assert decision.allowed is allowed
    assert (decision.blocked_by.name if decision.blocked_by else None) == blocked_by
    assert decision.to_json()["target"] == "cluster"


@pytest.mark.parametrize(
    ("kwargs", "message", "hint"),
    [
        pytest.param(
            {"environment": "prd"}, "'prd' is not in the policy", "did you mean 'prod'?", id="env-typo"
        ),
        pytest.param({"environment": "local"}, "not governed", "dev, test, prod", id="local-not-governed"),
        pytest.param({"event": "release"}, "does not know the event", "push", id="unknown-event"),
        pytest.param({"event": "pushh"}, "'pushh'", "did you mean 'push'?", id="event-typo"),
    ],
)
def test_unknown_names_are_configuration_errors(kwargs: dict[str, str], message: str, hint: str) -> None:
    args: dict[str, object] = {"environment": "prod", **kwargs}
    env = str(args.pop("environment"))
    with pytest.raises(ConfigurationError) as info:
        _decide(env, **args)
    assert message in info.value.message
    assert info.value.hint is not None and hint in info.value.hint


def test_naive_instant_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        _decide("dev", at=datetime(2026, 11, 25, 10, 0))


@pytest.mark.parametrize(
    ("ref", "branch"),
    [("refs/heads/main", "main"), ("main", "main"), ("refs/heads/feat/a", "feat/a"), ("refs/tags/v1", None),
     ("refs/pull/1/merge", None), ("", None), (None, None)],
)  # fmt: skip
def test_branch_of(ref: str | None, branch: str | None) -> None:
    assert branch_of(ref) == branch


def test_instants_are_reported_in_the_environments_zone() -> None:
    data = _decide("us", at=datetime(2026, 11, 28, 15, 0, tzinfo=UTC)).to_json()
    assert data["at"] == "2026-11-28T10:00:00-05:00"
    assert data["next_allowed_at"] == "2026-11-30T09:00:00-05:00"
