"""The hostile harness's own checks can fail: a leak it is shown is a leak it reports.

Every hostile case ends in ``judge``; if its leak scan missed a secret in some place or form,
all 500+ cases would stay green whatever gitops printed. These canaries hand it runs that leak
in each place (stdout, stderr, a runner file) and each form (as is, base64, one line of a
multi-line secret), and one that leaks nothing.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.hostile.harness import Case, Result, documented_unmaskable, judge, leaks

SECRET = "canary-Secret-Zq9-value\nsecond-line-of-it"
B64 = base64.b64encode(SECRET.encode("utf-8")).decode("ascii")


def _result(*, stdout: str = "", stderr: str = "", files: dict[str, str] | None = None) -> Result:
    case = Case("canary", ["plan"], issue="13.1", exit=0)
    return Result(
        case=case,
        dir=Path(),
        code=0,
        stdout=stdout,
        stderr=stderr,
        seconds=0.1,
        rss_mb=10.0,
        files=files or {},
        secrets=[SECRET],
    )


@pytest.mark.parametrize(
    ("where", "result"),
    [
        ("stdout", _result(stdout=f"password: {SECRET}")),
        ("stderr", _result(stderr=f"error: {B64}")),
        ("github/GITHUB_OUTPUT", _result(files={"github/GITHUB_OUTPUT": "report=second-line-of-it"})),
        ("github/GITHUB_STEP_SUMMARY", _result(files={"github/GITHUB_STEP_SUMMARY": f"| {SECRET} |"})),
    ],
    ids=["stdout-as-is", "stderr-base64", "output-file-one-line", "summary-as-is"],
)
def test_a_leak_is_reported_with_its_place(where: str, result: Result) -> None:
    found = leaks(result)
    assert found and all(f.startswith(f"{where}: ") for f in found), found
    assert judge(result) == [f"leak: {f}" for f in found]


def test_masked_output_and_add_mask_lines_are_not_leaks() -> None:
    # The runner is told the value to mask (::add-mask::) and prints *** where it would stand.
    result = _result(stdout="password: ***", stderr=f"::add-mask::{SECRET.splitlines()[0]}\nok")
    assert leaks(result) == []
    assert judge(result) == []


@pytest.mark.parametrize(
    ("value", "unmaskable"),
    [("abc", True), (" ab ", True), ("True", True), ("off", True), ("abcd", False), ("truely", False)],
)
def test_the_documented_rule_of_unmaskable_values(value: str, unmaskable: bool) -> None:
    # README "Security": under 4 characters, or a YAML/JSON word (true, false, null, none, yes,
    # no, on, off, any case).
    assert documented_unmaskable(value) is unmaskable
