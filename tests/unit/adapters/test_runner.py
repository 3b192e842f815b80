from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from gitops.adapters import runner
from gitops.adapters.runner import (
    OutputError,
    Runner,
    escape_data,
    escape_property,
    format_command,
    format_output,
)
from tests.support.actions import GhaEnv, parse_output_file


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        pytest.param("plain", "plain", "plain", id="plain"),
        pytest.param("100%", "100%25", "100%25", id="percent-first"),
        pytest.param("a\nb", "a%0Ab", "a%0Ab", id="newline"),
        pytest.param("a\r\nb", "a%0D%0Ab", "a%0D%0Ab", id="crlf"),
        pytest.param("k: v, w", "k: v, w", "k%3A v%2C w", id="colon-comma-only-in-properties"),
        pytest.param("%0A", "%250A", "%250A", id="already-escaped-looking"),
    ],
)
def test_escaping_matches_the_toolkit(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop


def test_format_command_with_properties_and_dropped_nones() -> None:
    line = format_command("error", "bad: value\nsecond", file="infra/a,b.yaml", line=7, title=None)
    assert line == "::error file=infra/a%2Cb.yaml,line=7::bad: value%0Asecond"
    assert format_command("endgroup") == "::endgroup::"


def test_output_refuses_a_value_containing_the_delimiter() -> None:
    with pytest.raises(OutputError, match="contains the delimiter"):
        format_output("x", "before ghadelimiter_abc after", "ghadelimiter_abc")
    with pytest.raises(OutputError, match="invalid output name"):
        format_output("a\nb", "v", "d")


def test_set_output_uses_a_random_delimiter_per_value(gha_env: GhaEnv) -> None:
    run = runner.current()
    run.set_output("one", "single")
    run.set_output("multi", "line 1\nline 2\n\nline=4")
    run.set_output("json", '{"include":[{"environment":"dev"}]}')
    text = gha_env.output.read_text()
    delimiters = re.findall(r"<<(ghadelimiter_[0-9a-f]{32})\n", text)
    assert len(delimiters) == 3
    assert len(set(delimiters)) == 3
    assert parse_output_file(text) == {
        "one": "single",
        "multi": "line 1\nline 2\n\nline=4",
        "json": '{"include":[{"environment":"dev"}]}',
    }


def test_mask_registers_every_line_before_anything_else(gha_env: GhaEnv) -> None:
    stream = io.StringIO()
    run = Runner(env=gha_env.variables(), stream=stream)
    run.mask("first-line\n  \nsecond: line%")
    lines = stream.getvalue().splitlines()
    assert "::add-mask::first-line%0A  %0Asecond: line%25" in lines
    assert "::add-mask::first-line" in lines
    assert "::add-mask::second: line%25" in lines
    assert not any(line == "::add-mask::  " for line in lines)
    run.log("value is second: line% ok")
    assert stream.getvalue().splitlines()[-1] == "value is *** ok"


def test_mask_outside_actions_prints_no_command_but_still_redacts() -> None:
    stream = io.StringIO()
    run = Runner(env={}, stream=stream)
    run.mask("s3cr3t")
    assert stream.getvalue() == ""
    run.error("token s3cr3t rejected", file="a.yaml", line=3, title="Auth")
    assert stream.getvalue() == "error: a.yaml:3: Auth: token *** rejected\n"


def test_redaction_prefers_the_longest_secret() -> None:
    run = Runner(env={}, stream=io.StringIO())
    run.mask("abc")
    run.mask("abcdef")
    assert run.redact("xx abcdef yy abc") == "xx *** yy ***"


def test_annotations_in_actions_are_workflow_commands(gha_env: GhaEnv) -> None:
    stream = io.StringIO()
    run = Runner(env=gha_env.variables(), stream=stream)
    run.error("line one\nline two", file="infra/deploy-control.yaml", line=12, title="Policy: bad key")
    run.warning("careful")
    run.notice("fyi", title="Note")
    assert stream.getvalue().splitlines() == [
        "::error title=Policy%3A bad key,file=infra/deploy-control.yaml,line=12::line one%0Aline two",
        "::warning::careful",
        "::notice title=Note::fyi",
    ]


def test_group_in_and_outside_actions(gha_env: GhaEnv) -> None:
    inside = io.StringIO()
    with Runner(env=gha_env.variables(), stream=inside).group("Apply"):
        pass
    assert inside.getvalue() == "::group::Apply\n::endgroup::\n"
    outside = io.StringIO()
    with Runner(env={}, stream=outside).group("Apply"):
        pass
    assert outside.getvalue() == "== Apply\n"


def test_summary_appends_redacted_markdown(gha_env: GhaEnv) -> None:
    run = runner.current()
    run.mask("hunter2")
    run.summary("### Title\n| a | hunter2 |")
    run.summary("more")
    assert gha_env.summary() == "### Title\n| a | *** |\nmore\n"


def test_summary_and_output_are_noops_outside_actions(tmp_path: Path) -> None:
    run = Runner(env={}, stream=io.StringIO())
    run.summary("nothing")
    run.set_output("x", "y")
    assert list(tmp_path.iterdir()) == []


def test_a_line_without_a_file_is_not_printed_as_a_location() -> None:
    out = io.StringIO()
    Runner({}, stream=out).error("the kubeconfig in $KC is not valid YAML (line 1)", line=1, title="Invalid")
    assert out.getvalue() == "error: Invalid: the kubeconfig in $KC is not valid YAML (line 1)\n"
    out = io.StringIO()
    Runner({"GITHUB_ACTIONS": "true"}, stream=out).error("bad", line=1, title="Invalid")
    assert out.getvalue() == "::error title=Invalid::bad\n"
