"""gitops.cli.main: how user mistakes and bugs reach the user (exit codes, annotations, summary)."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from gitops import cli as cli_module
from gitops.errors import EXIT_INTERNAL_ERROR, EXIT_USER_ERROR, ConfigurationError, Problem
from tests.support.actions import GhaEnv


def fake_verb(behaviour: Callable[[argparse.Namespace], int]) -> ModuleType:
    module = ModuleType("gitops.commands.fake")
    module.DESCRIPTION = "a fake verb for tests"  # type: ignore[attr-defined]
    module.EPILOG = "example: gitops fake"  # type: ignore[attr-defined]
    module.add_arguments = lambda p: None  # type: ignore[attr-defined]
    module.run = behaviour  # type: ignore[attr-defined]
    return module


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[argparse.Namespace], int]], None]:
    def use(behaviour: Callable[[argparse.Namespace], int]) -> None:
        module = fake_verb(behaviour)
        monkeypatch.setattr(cli_module, "VERBS", {"fake": "fake"})
        monkeypatch.setattr(cli_module, "_load", lambda name: module)

    return use


def user_mistake(args: argparse.Namespace) -> int:
    raise ConfigurationError(
        "the overlay has no kustomization.yaml",
        file="infra/k8s/x/y/kustomization.yaml",
        line=7,
        key="resources",
        hint="Add a kustomization.yaml to the overlay.",
        title="Overlay not found",
        problems=[Problem("first finding", "a.yaml", 2), Problem("second finding", "b.yaml", 9, "spec.x")],
    )


def bug(args: argparse.Namespace) -> int:
    raise RuntimeError("something internal broke")


def test_configuration_error_in_actions_is_exit_1_with_file_line_annotation_and_fix_hint(
    gha_env: GhaEnv, install: Any, cli: Any
) -> None:
    install(user_mistake)
    result = cli(["fake"])
    assert result.code == EXIT_USER_ERROR
    assert result.stdout == ""
    annotations = [line for line in result.stderr.splitlines() if line.startswith("::error")]
    # one annotation per located problem, each at its own file and line, so a PR marks every bad line
    assert annotations == [
        "::error title=Overlay not found,file=a.yaml,line=2::first finding",
        "::error title=Overlay not found,file=b.yaml,line=9::spec.x: second finding",
    ]
    assert "Overlay not found: resources: the overlay has no kustomization.yaml" in result.stderr
    summary = gha_env.summary()
    assert "### :x: gitops fake: Overlay not found" in summary
    assert "Where: `infra/k8s/x/y/kustomization.yaml:7` `resources`" in summary
    assert "- a.yaml:2: first finding" in summary
    assert "**How to fix:** Add a kustomization.yaml to the overlay." in summary
    assert "Traceback" not in result.stderr


def test_configuration_error_outside_actions_is_readable_text(install: Any, cli: Any) -> None:
    install(user_mistake)
    result = cli(["fake"])
    assert result.code == EXIT_USER_ERROR
    assert (
        "error: infra/k8s/x/y/kustomization.yaml:7: Overlay not found: resources: the overlay"
        in result.stderr
    )
    assert "How to fix: Add a kustomization.yaml to the overlay." in result.stderr
    assert "::" not in result.stderr


def test_unexpected_exception_is_exit_3_with_the_traceback_in_a_group(
    gha_env: GhaEnv, install: Any, cli: Any
) -> None:
    install(bug)
    result = cli(["fake"])
    assert result.code == EXIT_INTERNAL_ERROR
    lines = result.stderr.splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.startswith("::group::Internal error: RuntimeError")
    )
    end = lines.index("::endgroup::")
    inside = "\n".join(lines[start:end])
    assert "Traceback (most recent call last)" in inside
    assert "RuntimeError: something internal broke" in inside
    assert 'raise RuntimeError("something internal broke")' in inside
    after = lines[end + 1 :]
    assert any(line.startswith("::error title=gitops bug::internal error: RuntimeError") for line in after)


def test_a_verb_returns_its_own_exit_code(install: Any, cli: Any) -> None:
    install(lambda args: 2)
    assert cli(["fake"]).code == 2


def test_format_defaults_to_json_in_actions_and_table_elsewhere(
    gha_env: GhaEnv, install: Any, cli: Any
) -> None:
    seen: list[str] = []

    def record(args: argparse.Namespace) -> int:
        seen.append(args.format)
        return 0

    install(record)
    cli(["fake"])
    cli(["fake", "--format", "table"])
    assert seen == ["json", "table"]


def test_only_the_requested_verb_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[str] = []
    present = fake_verb(lambda args: 0)

    def load(name: str) -> ModuleType:
        loaded.append(name)
        return present

    monkeypatch.setattr(cli_module, "VERBS", {"other": "other", "fake": "fake"})
    monkeypatch.setattr(cli_module, "_load", load)
    parser = cli_module.build_parser(["fake", "--format", "json"])
    choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert list(choices) == ["other", "fake"]
    assert loaded == ["fake"]
    loaded.clear()
    cli_module.build_parser(["--help"])
    assert loaded == []


def test_help_lists_every_verb_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_module.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for verb, summary in cli_module.SUMMARIES.items():
        assert verb in out
        assert summary.split()[0] in out
    assert set(cli_module.SUMMARIES) == set(cli_module.VERBS)


def test_a_broken_import_inside_a_verb_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(name: str) -> ModuleType:
        raise ModuleNotFoundError("No module named 'nonexistent_dependency'", name="nonexistent_dependency")

    monkeypatch.setattr(cli_module, "VERBS", {"fake": "fake"})
    monkeypatch.setattr(cli_module, "_load", load)
    with pytest.raises(ModuleNotFoundError, match="nonexistent_dependency"):
        cli_module.build_parser(["fake"])


@pytest.mark.parametrize("verb", list(cli_module.VERBS))
def test_every_verb_exists_and_its_help_teaches_with_examples(
    verb: str, capsys: pytest.CaptureFixture[str]
) -> None:
    mod = importlib.import_module(f"gitops.commands.{cli_module.VERBS[verb]}")
    assert callable(getattr(mod, "add_arguments", None))
    assert callable(getattr(mod, "run", None))
    assert mod.DESCRIPTION.strip() and mod.EPILOG.strip()
    with pytest.raises(SystemExit) as exc:
        cli_module.main([verb, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: gitops {verb}" in text
    assert "--format" in text
    assert "example" in text.lower(), f"`gitops {verb} --help` should show an example"


def test_usage_mistakes_exit_1_not_argparses_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_module.main(["render"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "the following arguments are required: --overlay" in err
    assert "gitops render --help" in err


def test_every_option_of_every_verb_has_help_text() -> None:
    for verb in cli_module.VERBS:
        parser = cli_module.build_parser([verb])
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[verb]
        missing = [a.option_strings[0] for a in sub._actions if a.option_strings and not a.help]
        assert not missing, f"gitops {verb}: options without help text: {missing}"


def mistake(**kwargs: Any) -> Callable[[argparse.Namespace], int]:
    def behaviour(args: argparse.Namespace) -> int:
        raise ConfigurationError(**kwargs)

    return behaviour


def test_a_message_that_starts_with_its_key_does_not_repeat_it(install: Any, cli: Any) -> None:
    install(mistake(message="--timeout must be a positive number of seconds, not '5m'", key="--timeout"))
    result = cli(["fake"])
    assert "error: Configuration error: --timeout must be a positive number" in result.stderr
    assert "--timeout: --timeout" not in result.stderr


def test_a_lone_problem_that_repeats_the_message_is_not_listed_twice(install: Any, cli: Any) -> None:
    install(
        mistake(
            message="not valid YAML: a tab character at line 3, column 1",
            file="p.yaml",
            line=3,
            problems=[Problem("not valid YAML: a tab character at line 3, column 1", "p.yaml", 3)],
        )
    )
    result = cli(["fake"])
    assert result.stderr.count("a tab character") == 1


def test_summary_names_the_verb_and_where_without_empty_code_spans(
    gha_env: GhaEnv, install: Any, cli: Any
) -> None:
    install(mistake(message="no GitHub token", key="GH_TOKEN", title="GitHub token missing"))
    cli(["fake"])
    summary = gha_env.summary()
    assert summary.startswith("### :x: gitops fake: GitHub token missing")
    assert "Where: `GH_TOKEN`" in summary
    assert "``" not in summary
