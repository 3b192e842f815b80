from __future__ import annotations

import pytest

from gitops.core.inputs import parse_bool, parse_seconds
from gitops.errors import ConfigurationError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("true", True, id="true"),
        pytest.param("True", True, id="True"),
        pytest.param("TRUE", True, id="TRUE"),
        pytest.param("false", False, id="false"),
        pytest.param(" False\n", False, id="whitespace-around"),
        pytest.param("", False, id="empty-is-the-default"),
        pytest.param(None, False, id="none-is-the-default"),
    ],
)
def test_the_toolkits_boolean_forms(value: str | None, expected: bool) -> None:
    assert parse_bool(value, "--x") is expected


def test_empty_can_default_to_true_or_be_refused() -> None:
    assert parse_bool("", "--x", default=True) is True
    with pytest.raises(ConfigurationError, match="--x must be 'true' or 'false'"):
        parse_bool("", "--x", default=None)


@pytest.mark.parametrize("value", ["yes", "no", "on", "off", "1", "0", "ture", "tRuE"])
def test_anything_else_names_the_input(value: str) -> None:
    with pytest.raises(ConfigurationError) as exc:
        parse_bool(value, "input `wait`")
    assert exc.value.key == "input `wait`"
    assert repr(value) in exc.value.message
    assert exc.value.hint and "yes/no/on/off" in exc.value.hint


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1800", 1800.0, id="whole"),
        pytest.param("0.5", 0.5, id="fraction"),
        pytest.param(" 30\n", 30.0, id="whitespace-around"),
        pytest.param("432000", 432000.0, id="five-days-the-longest-job"),
        pytest.param("", 600.0, id="empty-is-the-default"),
        pytest.param(None, 600.0, id="none-is-the-default"),
    ],
)
def test_seconds(value: str | None, expected: float) -> None:
    assert parse_seconds(value, "--timeout", 600.0) == expected


# Python's float() takes all of these but the first two: nan, infinities, exponents, underscores,
# a sign, hex-like text and digits of other scripts are not "plain seconds".
@pytest.mark.parametrize(
    "value",
    ["5m", "soon", "0", "-1", "-0", "+5", "nan", "NaN", "inf", "-inf", "Infinity", "1e999", "1e3", "1_0",
     "0x10", ".5", "5.", "\u0663", "1 0", "0.0"],
)  # fmt: skip
def test_anything_but_positive_finite_seconds_is_refused(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_seconds(value, "--timeout", 600.0)
    assert info.value.message == f"--timeout must be a positive number of seconds, not {value!r}"
    assert info.value.hint == "write plain seconds, e.g. --timeout 600 (units such as 5m are not accepted)"


def test_a_seconds_error_names_the_input_it_came_from() -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_seconds("30m", "--timeout (input `timeout`)", 1800.0)
    assert info.value.key == "--timeout (input `timeout`)"
    assert info.value.hint == "write plain seconds, e.g. --timeout 1800 (units such as 5m are not accepted)"


@pytest.mark.parametrize("value", ["432001", "432000.5", "999999999", "86400000.5"])
def test_a_duration_longer_than_any_job_is_refused(value: str) -> None:
    # 5 days: the longest a job may run (docs.github.com, "Usage limits for self-hosted runners").
    with pytest.raises(ConfigurationError) as info:
        parse_seconds(value, "--timeout", 600.0)
    assert "at most 432000 (5 days)" in info.value.message
    assert info.value.key == "--timeout"


def test_a_long_value_is_shortened_in_the_message() -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_seconds("9" * 5000, "--timeout", 600.0)
    assert len(info.value.message) < 200
