"""Parsing action inputs and flags that arrive as strings: booleans and durations.

Composite actions hand every input over as text; a boolean is accepted only in the forms the
Actions toolkit's ``getBooleanInput`` accepts (YAML 1.2 core: true/True/TRUE, false/False/FALSE),
so a typo such as ``ture`` or YAML 1.1's ``yes`` is an error that names the input, never a
silent ``false``. A duration is a plain, positive, finite number of seconds: ``5m`` is refused
with a message that says so, never read as something else. Every verb parses its booleans and
durations here, so they all accept and refuse the same things.
"""

from __future__ import annotations

import math

from gitops.errors import ConfigurationError

TRUE = frozenset({"true", "True", "TRUE"})
FALSE = frozenset({"false", "False", "FALSE"})


def parse_bool(value: str | None, name: str, *, default: bool | None = False) -> bool:
    """``value`` as a boolean; empty means ``default`` (``None``: empty is an error too)."""
    text = (value or "").strip()
    if not text and default is not None:
        return default
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ConfigurationError(
        f"{name} must be 'true' or 'false', not {value!r}",
        key=name,
        title="Invalid input",
        hint="Write 'true' or 'false' (YAML 1.1 words such as yes/no/on/off are not booleans here).",
    )


def parse_seconds(value: str | None, name: str, default: float) -> float:
    """``value`` as a positive number of seconds; empty means ``default``.

    ``name`` is what the error calls the value (``--timeout``, or ``--timeout (input `timeout`)``).
    """
    text = (value or "").strip()
    if not text:
        return default
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        flag = name.split(maxsplit=1)[0]
        raise ConfigurationError(
            f"{name} must be a positive number of seconds, not {value!r}",
            key=name,
            title="Invalid input",
            hint=f"write plain seconds, e.g. {flag} {default:g} (units such as 5m are not accepted)",
        )
    return number
