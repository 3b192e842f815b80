"""gitops.commands.options: shared flags, and how an action input reaches one."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gitops.adapters import runner
from gitops.adapters.kube import DEFAULT_REQUEST_TIMEOUT
from gitops.commands import options
from gitops.errors import ConfigurationError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    options.add(p, "--context", input="context", metavar="NAME", help="x")
    options.add(p, "--environment", input="environment", required=True, help="x")
    options.add(p, "--csi-driver", input="csi-driver", keep_empty=True, default=None, help="x")
    options.add(p, "--skip-service", input="skip-services", action="append", default=[], help="x")
    options.DRY_RUN.add(p)
    options.REQUEST_TIMEOUT.add(p)
    return p


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        pytest.param("context", "GITOPS_INPUT_CONTEXT", id="one-word"),
        pytest.param("kubeconfig-env", "GITOPS_INPUT_KUBECONFIG_ENV", id="dashes"),
        pytest.param("app-id", "GITOPS_INPUT_APP_ID", id="app-id"),
    ],
)
def test_input_variable_names(name: str, variable: str) -> None:
    # the actions toolkit's getInput reads INPUT_<NAME upper-cased>; ours adds a prefix and
    # also turns '-' into '_' so that bash can expand the variable
    assert options.input_env(name) == variable


def test_without_inputs_the_flags_and_their_defaults_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    args = parser().parse_args(["--environment", "dev"])
    assert (args.context, args.environment, args.csi_driver, args.skip_service) == ("", "dev", None, [])
    assert options.DRY_RUN.read(args) is False
    assert options.REQUEST_TIMEOUT.read(args) == DEFAULT_REQUEST_TIMEOUT


def test_an_input_is_the_default_and_a_flag_still_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITOPS_INPUT_CONTEXT", "hetzner-dev")
    monkeypatch.setenv("GITOPS_INPUT_ENVIRONMENT", "prod")
    monkeypatch.setenv("GITOPS_INPUT_SKIP_SERVICES", "postgres,redis")
    monkeypatch.setenv("GITOPS_INPUT_DRY_RUN", "true")
    monkeypatch.setenv("GITOPS_INPUT_REQUEST_TIMEOUT", "5")  # not an input of --request-timeout
    args = parser().parse_args([])  # --environment is not required: its input is set
    assert (args.context, args.environment, args.skip_service) == ("hetzner-dev", "prod", ["postgres,redis"])
    assert options.DRY_RUN.read(args) is True
    assert options.REQUEST_TIMEOUT.read(args) == DEFAULT_REQUEST_TIMEOUT
    args = parser().parse_args(["--context", "other", "--environment", "dev", "--dry-run", "false"])
    assert (args.context, args.environment) == ("other", "dev")
    assert options.DRY_RUN.read(args) is False


def test_an_empty_input_means_the_default_unless_empty_says_something(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITOPS_INPUT_CONTEXT", "")
    monkeypatch.setenv("GITOPS_INPUT_ENVIRONMENT", "  ")
    monkeypatch.setenv("GITOPS_INPUT_CSI_DRIVER", "")
    with pytest.raises(SystemExit):  # an empty required input is no input
        parser().parse_args([])
    args = parser().parse_args(["--environment", "dev"])
    assert args.context == ""
    assert args.csi_driver == ""  # '' skips the check; not None, the default


def test_a_bad_input_is_named_by_flag_and_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITOPS_INPUT_DRY_RUN", "yes")
    with pytest.raises(ConfigurationError) as info:
        options.DRY_RUN.read(parser().parse_args(["--environment", "dev"]))
    assert info.value.message == "--dry-run (input `dry-run`) must be 'true' or 'false', not 'yes'"
    with pytest.raises(ConfigurationError) as info:
        options.DRY_RUN.read(parser().parse_args(["--environment", "dev", "--dry-run", "on"]))
    assert info.value.message.startswith("--dry-run (input `dry-run`) must be")  # both are named


def test_a_switch_alone_means_true() -> None:
    assert options.DRY_RUN.read(parser().parse_args(["--environment", "dev", "--dry-run"])) is True


def test_the_kubeconfig_comes_one_way_only() -> None:
    p = argparse.ArgumentParser()
    options.add_kube_args(p)
    source = options.kube_source(p.parse_args(["--kubeconfig-env", "KC", "--context", "prod"]))
    assert (source.path, source.env_var, source.context) == (None, "KC", "prod")
    with pytest.raises(ConfigurationError, match="mutually exclusive"):
        options.kube_source(p.parse_args(["--kubeconfig", "kc.yaml", "--kubeconfig-env", "KC"]))


def gate_args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    options.add_gate_args(p, title="gate", environment_help="x")
    return p.parse_args(["--env", "prod", *argv])


def test_gate_request_defaults_come_from_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_ACTOR": "alice",
        "GITOPS_TRIGGERED_BY": "hetzner-k8s",
    }.items():
        monkeypatch.setenv(name, value)
    runner.reset()
    request = options.gate_request(
        gate_args("--override", "--reason", "INC-42", "--at", "2026-11-28T10:00:00Z")
    )
    assert request.environment == "prod"
    assert request.control == Path("infra/deploy-control.yaml")
    assert (request.event, request.ref, request.automatic) == ("push", "refs/heads/main", True)
    assert request.at == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert request.override is not None
    assert (request.override.actor, request.override.reason) == ("alice", "INC-42")


@pytest.mark.parametrize(
    ("variables", "flag", "checked"),
    [
        # GitHub: "If the workflow run is a re-run, this value may differ from github.actor"
        # (GITHUB_TRIGGERING_ACTOR, docs.github.com "Variables reference")
        pytest.param(
            {"GITHUB_ACTOR": "alice", "GITHUB_TRIGGERING_ACTOR": "mallory"}, (), "mallory", id="re-run"
        ),
        pytest.param({"GITHUB_ACTOR": "alice"}, (), "alice", id="older-server-without-triggering-actor"),
        pytest.param(
            {"GITHUB_ACTOR": "alice", "GITHUB_TRIGGERING_ACTOR": "bob"},
            ("--actor", "carol"),
            "carol",
            id="flag-wins",
        ),
    ],
)
def test_the_override_is_checked_for_who_started_this_attempt(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], flag: tuple[str, ...], checked: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    runner.reset()
    request = options.gate_request(gate_args("--override", "--reason", "INC-42", *flag))
    assert request.override is not None and request.override.actor == checked


@pytest.mark.parametrize(
    ("triggered_by", "automatic"),
    [
        pytest.param("", None, id="a-person"),
        pytest.param("manual", None, id="manual-is-a-person"),
        pytest.param("hetzner-k8s", True, id="automation"),
    ],
)
def test_triggered_by(triggered_by: str, automatic: bool | None) -> None:
    assert options.gate_request(gate_args("--triggered-by", triggered_by)).automatic is automatic


def test_a_reason_without_override_is_ignored_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    runner.reset()
    request = options.gate_request(gate_args("--reason", "INC-42"))
    assert request.override is None
    assert "--reason is ignored without --override" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["dev", "prod-2", "a"])
def test_a_policy_name_is_a_dns_label(value: str) -> None:
    assert options.policy_name(value, "--environment", None, "dev") == value


@pytest.mark.parametrize("value", ["../prod", "dev\nprod", "Dev", "-dev", "dev-", "x" * 64, "dev prod", ""])
def test_anything_else_is_refused_by_its_flag(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        options.policy_name(value, "--environment", None, "dev")
    assert info.value.key == "--environment"
    assert len(info.value.message) < 200
