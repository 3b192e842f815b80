"""Parsing action inputs and flags that arrive as strings: booleans and durations.

Composite actions hand every input over as text; a boolean is accepted only in the forms the
Actions toolkit's ``getBooleanInput`` accepts (YAML 1.2 core: true/True/TRUE, false/False/FALSE),
so a typo such as ``ture`` or YAML 1.1's ``yes`` is an error that names the input, never a
silent ``false``. A duration is plain decimal seconds (``30``, ``0.5``), more than zero and at
most :data:`MAX_SECONDS`: ``5m``, ``nan``, ``inf``, ``-1``, ``1e300``, ``1_0`` and digits of
other scripts (which Python's ``float`` would all take) are refused with a message that names the
flag, never read as something else and never passed on to a timer that cannot hold them (a
``threading.Event.wait(1e300)`` raises ``OverflowError``). Every verb parses its booleans and
durations here, so they all accept and refuse the same things.
"""

from __future__ import annotations

import re

from gitops.errors import ConfigurationError

# "Each job in a workflow can run for up to 5 days of execution time" (self-hosted runners;
# 6 hours on GitHub-hosted ones): docs.github.com, "Usage limits for self-hosted runners". No
# wait or timeout of a step can be longer than the job that runs it.
MAX_SECONDS = 5 * 24 * 3600.0

_DECIMAL = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,9})?")

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
    """``value`` as a number of seconds in (0, :data:`MAX_SECONDS`]; empty means ``default``.

    ``name`` is what the error calls the value (``--timeout``, or ``--timeout (input `timeout`)``).
    """
    text = (value or "").strip()
    if not text:
        return default
    number = float(text) if _DECIMAL.fullmatch(text) else 0.0
    if not 0 < number <= MAX_SECONDS:
        flag = name.split(maxsplit=1)[0]
        shown = value if len(value or "") <= 40 else f"{(value or '')[:40]}..."
        too_long = number > MAX_SECONDS
        raise ConfigurationError(
            f"{name} must be a positive number of seconds"
            + (f" of at most {MAX_SECONDS:g} (5 days)" if too_long else "")
            + f", not {shown!r}",
            key=name,
            title="Invalid input",
            hint=f"write plain seconds, e.g. {flag} {default:g} (units such as 5m are not accepted)"
            if not too_long
            else "no step runs longer than its job, and a job runs at most 5 days (6 hours on "
            f"GitHub-hosted runners): e.g. {flag} {default:g}",
        )
    return number
