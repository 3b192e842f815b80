"""``gitops gate`` end to end: flags and Actions defaults in, JSON/table, outputs and summary out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.actions import GhaEnv
from tests.support.policy import BAD_FILES, GOOD_POLICY, expectations

ROOT = Path(__file__).resolve().parents[3]
SAT = "2026-11-28T10:00:00+01:00"
XMAS = "2026-12-23T10:00:00+01:00"
WED = "2026-11-25T10:00:00+01:00"


@pytest.fixture
def control(tmp_path: Path) -> Path:
    path = tmp_path / "deploy-control.yaml"
    path.write_text(GOOD_POLICY, encoding="utf-8")
    return path


def gate(cli: Any, control: Path, *args: str) -> Any:
    return cli(["gate", "--control", str(control), *args])


def decision(result: Any) -> dict[str, Any]:
    assert result.code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_blocked_is_exit_0_with_json_and_next_window(cli: Any, control: Path) -> None:
    data = decision(
        gate(cli, control, "--env", "prod", "--event", "workflow_dispatch", "--at", SAT, "--format", "json")
    )
    assert data["allowed"] is False
    assert data["blocked_by"] == "deployment_window"
    assert data["next_allowed_at"] == "2026-11-30T09:00:00+01:00"
    assert data["control"] == str(control)


def test_actions_outputs_and_summary(cli: Any, control: Path, gha_env: GhaEnv) -> None:
    result = gate(
        cli, control, "--env", "prod", "--service", "redis", "--event", "workflow_dispatch", "--at", SAT
    )
    data = decision(result)  # JSON is the default inside Actions
    outputs = gha_env.outputs()
    assert outputs["allowed"] == "false"
    assert outputs["requires-approval"] == "true"
    assert outputs["rollback-on-failure"] == "false"  # redis in prod
    assert outputs["rollout-timeout"] == "600"
    assert outputs["next-allowed-at"] == "2026-11-30T09:00:00+01:00"
    assert json.loads(outputs["decision"]) == data
    summary = gha_env.summary()
    assert "Deploy gate" in summary and "prod/redis: BLOCKED" in summary
    assert "| deployment_window | :x: |" in summary
    assert "::notice title=Deploy gate%3A prod/redis blocked::deployment_window" in result.stderr


def test_override_is_recorded_prominently(cli: Any, control: Path, gha_env: GhaEnv) -> None:
    result = gate(
        cli, control, "--env", "prod", "--event", "workflow_dispatch", "--at", XMAS,
        "--override", "--reason", "INC-42 restore", "--actor", "alice",
    )  # fmt: skip
    data = decision(result)
    assert data["allowed"] is True
    assert data["override"] == {"actor": "alice", "reason": "INC-42 restore", "bypassed_window": True}
    assert gha_env.outputs()["allowed"] == "true"
    summary = gha_env.summary()
    assert "**Emergency override** by @alice: INC-42 restore" in summary
    assert (
        "::warning title=Deployment windows bypassed for prod::emergency override by @alice" in result.stderr
    )


def test_defaults_come_from_the_actions_environment(
    cli: Any, control: Path, gha_env: GhaEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    monkeypatch.setenv("GITHUB_REF", "refs/heads/feature/x")
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    data = decision(gate(cli, control, "--env", "dev", "--at", SAT))
    assert (data["event"], data["ref"], data["blocked_by"]) == ("push", "refs/heads/feature/x", "branch")
    # empty options (as an action passes unset inputs) mean "the default"
    data = decision(
        gate(cli, control, "--env=prod", "--service=", "--event=workflow_dispatch", "--ref=", "--at", XMAS,
             "--override=true", "--reason=hotfix", "--actor=", "--cluster=", "--triggered-by=")
    )  # fmt: skip
    assert data["override"]["actor"] == "alice"
    assert data["allowed"] is True


def test_triggered_by_makes_a_dispatch_automatic(
    cli: Any, control: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["--env", "prod", "--event", "workflow_dispatch", "--ref", "main", "--at", WED, "--format", "json"]
    assert decision(gate(cli, control, *base))["allowed"] is True
    data = decision(gate(cli, control, *base, "--triggered-by", "hetzner-k8s"))
    assert (data["automatic"], data["blocked_by"]) == (True, "environment.auto_deploy")
    monkeypatch.setenv("GITOPS_TRIGGERED_BY", "hetzner-k8s")
    assert decision(gate(cli, control, *base))["automatic"] is True
    assert decision(gate(cli, control, *base, "--triggered-by", "manual"))["automatic"] is False


def test_table_output_reads_at_a_glance(cli: Any, control: Path) -> None:
    result = gate(
        cli, control, "--env", "prod", "--event", "workflow_dispatch", "--at", SAT, "--format", "table"
    )
    assert result.code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "prod: BLOCKED (workflow_dispatch, manual; at Sat 2026-11-28 10:00 CET)"
    assert any(line.startswith("deployment_window    FAIL") for line in lines)
    assert "Next allowed: Mon 2026-11-30 09:00 CET (in 1d 23h)" in lines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--env", "prod", "--at", "2026-11-28T10:00"], "no UTC offset", id="naive-at"),
        pytest.param(
            ["--env", "prod", "--override=maybe"], "--override must be 'true' or 'false'", id="bad-bool"
        ),
        pytest.param(["--env", "prd"], "did you mean 'prod'", id="unknown-env"),
        pytest.param(["--env", "local"], "not governed", id="local"),
        pytest.param(
            ["--env", "prod", "--event", "release"], "does not know the event 'release'", id="unknown-event"
        ),
        pytest.param(["--env", "prod", "--event", "pushh"], "did you mean 'push'?", id="event-typo"),
        pytest.param(
            ["--env", "prod", "--at", "2026-13-01T10:00Z"], "(month must be in 1..12)", id="impossible-at"
        ),
    ],
)
def test_bad_arguments_exit_1(cli: Any, control: Path, args: list[str], message: str) -> None:
    result = gate(cli, control, *args)
    assert result.code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_service_the_policy_does_not_list_follows_its_environment(cli: Any, control: Path) -> None:
    """Issue 16: the reference's policy lists only postgres; redis and jaeger follow their environment,
    and the gate's checks say so (with a did-you-mean, in case the name is a typo)."""
    data = decision(
        gate(cli, control, "--env", "prod", "--service", "redsi", "--event", "workflow_dispatch", "--at", WED,
             "--format", "json")
    )  # fmt: skip
    assert data["allowed"] is True
    checks = {c["name"]: c for c in data["checks"]}
    assert "service.enabled" not in checks
    service = checks["service"]
    assert service["passed"] is True
    assert "redsi is not listed under environments.prod.services" in service["detail"]
    assert "follows the environment" in service["detail"] and "did you mean 'redis'" in service["detail"]
    assert data["rollback_on_failure"] is True  # the environment's: postgres (enabled) rolls back


def test_missing_policy_file_exit_1(cli: Any, tmp_path: Path) -> None:
    result = cli(["gate", "--env", "prod", "--control", str(tmp_path / "none.yaml")])
    assert result.code == 1
    assert "none.yaml" in result.stderr and "--control" in result.stderr


def test_a_directory_as_policy_file_says_pass_the_file(cli: Any, tmp_path: Path) -> None:
    result = cli(["gate", "--env", "prod", "--control", str(tmp_path)])
    assert result.code == 1
    assert f"{tmp_path} is a directory, not the policy file" in result.stderr
    expected = tmp_path / "deploy-control.yaml"
    assert f"How to fix: pass the file itself, e.g. --control {expected}" in result.stderr
    assert "Errno" not in result.stderr


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_every_bad_policy_exits_1_with_file_line_and_key(cli: Any, path: Path) -> None:
    result = cli(["gate", "--env", "prod", "--control", str(path)])
    assert result.code == 1
    assert "Traceback" not in result.output
    assert result.stdout == ""
    for expected in expectations(path):
        where = f"{path}:{expected.line}"
        assert (f"{where} {expected.key}:" if expected.key else f"{where}:") in result.stderr, result.stderr


def test_bad_policy_is_an_annotation_in_actions(cli: Any, gha_env: GhaEnv) -> None:
    path = next(p for p in BAD_FILES if "many-problems" in p.name)
    result = cli(["gate", "--env", "prod", "--control", str(path)])
    assert result.code == 1
    assert f"::error title=Invalid deploy-control policy,file={path},line=9::" in result.stderr
    assert "global.kill_switch" in gha_env.summary()


def test_real_entry_point_in_a_subprocess(tmp_path: Path) -> None:
    """The installed console script: JSON only on stdout; a bad file gives exit 1 and no traceback."""
    gitops = Path(sys.executable).with_name("gitops")
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_POLICY, encoding="utf-8")
    env = {"PATH": str(gitops.parent), "HOME": str(tmp_path)}
    ok = subprocess.run(
        [str(gitops), "gate", "--env", "dev", "--event", "push", "--ref", "dev", "--control", str(good),
         "--format", "json"],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["allowed"] is True
    bad = BAD_FILES[0]
    failed = subprocess.run(
        [str(gitops), "gate", "--env", "dev", "--control", str(bad)],
        capture_output=True, text=True, env=env, check=False, timeout=60,
    )  # fmt: skip
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert f"{bad}:5 verison: unknown key 'verison'; did you mean 'version'?" in failed.stderr


REFERENCE_POLICY = ROOT / "tests" / "fixtures" / "policies" / "reference" / "deploy-control.yaml"


@pytest.mark.parametrize(
    ("args", "allowed", "blocked_by"),
    [
        pytest.param(["--env", "dev", "--event", "push", "--ref", "dev"], True, None, id="dev-push-from-dev"),
        pytest.param(
            ["--env", "dev", "--event", "push", "--ref", "main"], False, "branch", id="dev-push-from-main"
        ),
        pytest.param(
            ["--env", "prod", "--event", "push", "--ref", "main"],
            False,
            "environment.auto_deploy",
            id="prod-never-automatic",
        ),
        pytest.param(["--env", "prod", "--event", "workflow_dispatch"], True, None, id="prod-by-hand"),
        pytest.param(
            ["--env", "test", "--service", "postgres", "--event", "push", "--ref", "test"],
            False,
            "environment.auto_deploy",
            id="test-postgres-push",
        ),
    ],
)
def test_the_reference_policy_gates_as_its_document_says(
    cli: Any, args: list[str], allowed: bool, blocked_by: str | None
) -> None:
    """The reference (gitops-implementation-summary.md, section 4): dev auto-deploys on push to dev,
    test and prod are dispatched by hand, prod always requires approval."""
    data = decision(gate(cli, REFERENCE_POLICY, *args, "--at", WED, "--format", "json"))
    assert (data["allowed"], data["blocked_by"]) == (allowed, blocked_by)
    assert data["requires_approval"] is (data["environment"] == "prod")
    assert data["rollout_timeout_seconds"] == 300  # the default
