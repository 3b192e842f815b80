from __future__ import annotations

import base64
import io
import json
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
    run.mask("abcd")
    run.mask("abcdefgh")
    assert run.redact("xx abcdefgh yy abcd") == "xx *** yy ***"


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


# The runner's own limit, as its error says it: "$GITHUB_STEP_SUMMARY upload aborted, supports
# content up to a size of 1024k, got 1962k" (GitHub docs: "each step is restricted to a maximum
# size of 1MiB"). A summary over it is not shown at all.
RUNNER_LIMIT = 1024 * 1024


def test_a_summary_never_crosses_the_runners_limit_and_points_to_the_full_report(
    gha_env: GhaEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/platform")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    err = io.StringIO()
    run = runner.reset(Runner(stream=err))
    run.summary("### Deploy\n")
    rows = "".join(f"| StatefulSet default/s{i} | configured | ready é |\n" for i in range(40_000))
    run.summary("<details><summary>objects</summary>\n\n" + rows + "</details>\n")  # ~1.8 MB
    run.summary("### a later section that no longer fits\n")
    text = gha_env.summary()
    assert len(text.encode("utf-8")) <= RUNNER_LIMIT
    assert text.startswith("### Deploy\n<details><summary>objects</summary>")
    body, _, pointer = text.partition("\n> [!WARNING]\n")
    assert body.endswith("|\n\n</details>\n"), body[-200:]  # whole rows, the open <details> closed
    assert (
        "cut at GitHub's 1 MiB limit" in pointer
        and "https://github.com/acme/platform/actions/runs/42" in pointer
    )
    assert "a later section" not in text
    assert "::warning title=Summary cut::" in err.getvalue()


def test_a_summary_under_the_limit_is_written_whole(gha_env: GhaEnv) -> None:
    run = runner.current()
    big = "x" * (RUNNER_LIMIT - 10) + "\n"
    run.summary(big)
    assert gha_env.summary() == big


def test_a_cut_never_splits_a_character() -> None:
    data = ("é" * 10 + "\n" + "é" * 10).encode("utf-8")
    assert runner.cut_summary(data, 25, "P") == "é" * 10 + "\n" + "P"
    assert runner.cut_summary(data, 5, "P") == "P"


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


# -- every way out is redacted (gitops.core.redaction decides what) --------------------------------


def test_set_output_is_redacted_and_json_stays_json(gha_env: GhaEnv) -> None:
    run = runner.current()
    run.mask("hunter2-password")
    report = json.dumps({"message": "denied: password=hunter2-password", "server": "https://u:p4ss@h:6443"})
    run.set_output("report", report)
    run.set_output("plain", "token hunter2-password used")
    outputs = parse_output_file(gha_env.output.read_text())
    assert json.loads(outputs["report"]) == {
        "message": "denied: password=***",
        "server": "https://***@h:6443",
    }
    assert outputs["plain"] == "token *** used"
    assert "hunter2-password" not in gha_env.output.read_text()


def test_mask_sends_every_form_to_the_runner(gha_env: GhaEnv) -> None:
    stream = io.StringIO()
    run = Runner(env=gha_env.variables(), stream=stream)
    run.mask('pa"ss-word')
    lines = stream.getvalue().splitlines()
    assert '::add-mask::pa"ss-word' in lines
    encoded = base64.b64encode(b'pa"ss-word').decode()
    assert f"::add-mask::{encoded}" in lines
    assert '::add-mask::pa\\"ss-word' in lines  # as it appears inside JSON
    run.mask('pa"ss-word')
    assert len(stream.getvalue().splitlines()) == len(lines)  # registered once


@pytest.mark.parametrize("value", ["true", "x", "off"])
def test_a_value_too_short_or_common_is_not_masked_and_its_origin_is_warned_about(
    gha_env: GhaEnv, value: str
) -> None:
    stream = io.StringIO()
    run = Runner(env=gha_env.variables(), stream=stream)
    run.mask(value, origin="$DB_PASSWORD")
    run.mask(value, origin="$DB_PASSWORD")
    lines = stream.getvalue().splitlines()
    assert not any(line.startswith("::add-mask::") for line in lines)
    warnings = [line for line in lines if line.startswith("::warning")]
    assert len(warnings) == 1 and "$DB_PASSWORD" in warnings[0] and "not masked" in warnings[0]
    assert run.redact('{"allowed": true, "x": 1}') == '{"allowed": true, "x": 1}'


def test_an_empty_value_is_neither_masked_nor_warned_about(gha_env: GhaEnv) -> None:
    stream = io.StringIO()
    Runner(env=gha_env.variables(), stream=stream).mask("", origin="$EMPTY_ALLOWED")
    assert stream.getvalue() == ""


def test_credentials_in_urls_are_redacted_without_being_registered() -> None:
    out = io.StringIO()
    Runner({}, stream=out).log("waiting up to 600s for https://admin:Pa55@203.0.113.10:6443")
    assert out.getvalue() == "waiting up to 600s for https://***@203.0.113.10:6443\n"


def test_json_on_stdout_is_redacted_value_by_value(capsys: pytest.CaptureFixture[str]) -> None:
    from gitops.commands.output import emit

    run = runner.current()
    run.mask('se"cret-value')
    emit("json", {"message": 'quoted se"cret-value here', "ok": True}, lambda: "")
    assert json.loads(capsys.readouterr().out) == {"message": "quoted *** here", "ok": True}


@pytest.mark.parametrize("where", ["a-directory", "gone/out"])
def test_an_unwritable_output_file_stops_the_verb_before_it_starts(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-directory").mkdir()
    console = runner.Runner({"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / where)}, io.StringIO())
    from gitops.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as info:
        console.check_files()
    assert info.value.key == "GITHUB_OUTPUT"
    assert "cannot be written" in info.value.message


def test_an_unwritable_summary_is_warned_about_once_and_skipped(tmp_path: Path) -> None:
    stream = io.StringIO()
    console = runner.Runner({"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path)}, stream)
    console.check_files()
    console.summary("### one")
    console.summary("### two")
    warnings = [line for line in stream.getvalue().splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1
    assert "GITHUB_STEP_SUMMARY" in warnings[0]
