"""Every action.yml follows the one input convention of ``gitops.commands.options``.

The step passes each input ``NAME`` as ``GITOPS_INPUT_<NAME>`` through ``env:`` (STYLE.md:
never ``${{ inputs.x }}`` inside ``run:``) and runs ``gitops VERB --format json`` with no other
flag; the verb reads each variable into one of its options. So an input added to an action.yml
without an option behind it, or passed under another variable name, fails here.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops import cli
from gitops.commands.options import input_env
from tests.support.action_docs import action_files

ROOT = Path(__file__).resolve().parents[3]
ACTIONS = {path.parent.relative_to(ROOT).as_posix(): path for path in action_files()}


def spec(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def launcher(path: Path) -> str | None:
    """The script of a JavaScript action (actions/detect-changes: only JS actions may set outputs
    they do not declare); None for a composite one."""
    runs = spec(path)["runs"]
    if not str(runs.get("using", "")).startswith("node"):
        return None
    return (path.parent / runs["main"]).read_text(encoding="utf-8")


def step(path: Path) -> dict[str, Any]:
    steps = spec(path)["runs"]["steps"]
    assert len(steps) == 1, f"{path}: one step that runs one verb"
    result: dict[str, Any] = steps[0]
    return result


def verb_of(path: Path) -> str:
    """The verb the step runs; the only other line may source the bootstrap script."""
    script = launcher(path)
    if script is not None:  # `const args = ['VERB', '--format', 'json']` and nothing else
        found = re.search(r"const args = \['([a-z-]+)', '--format', 'json'\]\n", script)
        assert found and found[1] in cli.VERBS, f"{path}: the launcher runs `gitops VERB --format json`"
        return found[1]
    lines = [line.strip() for line in step(path)["run"].splitlines() if line.strip()]
    commands = [line for line in lines if not line.startswith("source ")]
    assert len(commands) == 1, f"{path}: run: holds the bootstrap and one gitops command: {lines}"
    words = commands[0].split()
    assert words[0] == "gitops" and words[2:] == ["--format", "json"], (
        f"{path}: the command is `gitops VERB --format json` (inputs arrive through env): {commands[0]}"
    )
    assert words[1] in cli.VERBS, words[1]
    return words[1]


def verb_parser(verb: str) -> argparse.ArgumentParser:
    parser = cli.build_parser([verb])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    result: argparse.ArgumentParser = sub.choices[verb]
    return result


def test_there_are_twelve_actions() -> None:
    assert len(ACTIONS) == 12, sorted(ACTIONS)


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_input_is_passed_as_its_variable_and_nothing_else(action: str) -> None:
    path = ACTIONS[action]
    inputs = spec(path).get("inputs") or {}
    script = launcher(path)
    if script is not None:
        # the runner sets INPUT_<NAME>; the launcher renames every one, '-' -> '_' (run by node in
        # tests/integration/actions/test_detect_changes_action.py)
        assert "`GITOPS_INPUT_${name.slice(6).replace(/-/g, '_')}`" in script
        assert all(input_env(name) == "GITOPS_INPUT_" + name.upper().replace("-", "_") for name in inputs)
        return
    expected = {input_env(name): f"${{{{ inputs.{name} }}}}" for name in inputs}
    assert step(path).get("env", {}) == expected


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_the_verb_reads_every_input(action: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ACTIONS[action]
    verb = verb_of(path)
    inputs = list(spec(path).get("inputs") or {})
    sentinels = {name: f"sentinel-for-{name}" for name in inputs}
    for name, value in sentinels.items():
        monkeypatch.setenv(input_env(name), value)
    parsed = vars(verb_parser(verb).parse_args([]))  # no flags: required options come from inputs
    values = [v for value in parsed.values() for v in (value if isinstance(value, list) else [value])]
    unread = [name for name, sentinel in sentinels.items() if sentinel not in values]
    assert not unread, f"gitops {verb} has no option reading input(s) {unread} of {action}"
