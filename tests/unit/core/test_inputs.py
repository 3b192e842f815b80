from __future__ import annotations

import pytest

from gitops.core.inputs import parse_bool
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
