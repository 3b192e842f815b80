"""Parsing action inputs and flags that arrive as strings.

Composite actions hand every input over as text; a boolean is accepted only in the forms the
Actions toolkit's ``getBooleanInput`` accepts (YAML 1.2 core: true/True/TRUE, false/False/FALSE),
so a typo such as ``ture`` or YAML 1.1's ``yes`` is an error that names the input, never a
silent ``false``.
"""

from __future__ import annotations

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
