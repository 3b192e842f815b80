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
        pytest.param("", 600.0, id="empty-is-the-default"),
        pytest.param(None, 600.0, id="none-is-the-default"),
    ],
)
def test_seconds(value: str | None, expected: float) -> None:
    assert parse_seconds(value, "--timeout", 600.0) == expected


@pytest.mark.parametrize("value", ["5m", "soon", "0", "-1", "nan", "inf", "1e999"])
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
