"""Printing a verb's result: JSON for machines, an aligned table for people, markdown for summaries."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gitops.adapters import runner

if TYPE_CHECKING:
    from gitops.core.gate import Decision

Row = Sequence[object]


def default_format() -> str:
    """JSON inside Actions (the data also goes to outputs), a readable table elsewhere."""
    return "json" if runner.current().in_actions else "table"


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False, default=str)


def text_table(headers: Sequence[str], rows: Sequence[Row]) -> str:
    """A plain aligned table; cells are str()'d and never wrapped.

    Headers are upper-cased (as kubectl prints them), so every verb's table looks the same
    whatever case its caller wrote them in.
    """
    cells = [[str(h).upper() for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# CommonMark: "Any ASCII punctuation character may be backslash-escaped"; these are the ones that
# start code, emphasis, links, images, HTML, entities or strikethrough anywhere in a line (an
# underscore only at a word's edge: `kill_switch` stays as written). `|` is left to markdown_table,
# which escapes it in cells (escaping it twice would end the cell).
_MARKDOWN = re.compile(r"([\\`*\[\]<>~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
GITHUB_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")


def plain(text: str) -> str:
    """Text a user wrote (an override reason, an input value), as markdown that shows exactly that
    text on one line: no heading, emphasis, link, image or HTML can come out of it."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def mention(login: str | None) -> str:
    """``@login`` for a GitHub login; anything else (who knows what ``--actor`` says) as plain text."""
    if not login:
        return "an unnamed actor"
    return f"@{login}" if GITHUB_LOGIN.fullmatch(login) else plain(login)


def _md_cell(value: object) -> str:
    return ("" if value is None else str(value)).replace("|", "\\|").replace("\n", "<br>")


def markdown_table(headers: Sequence[str], rows: Sequence[Row]) -> str:
    head = "| " + " | ".join(_md_cell(h) for h in headers) + " |"
    sep = "|" + "|".join("---" for _ in headers) + "|"
    body = ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join([head, sep, *body]) + "\n"


def emit(fmt: str, data: Mapping[str, Any] | Sequence[Any], human: Callable[[], str]) -> None:
    """Print the result on stdout: ``data`` as JSON, or ``human()`` for ``--format table``.

    Everything printed is passed through the runner's redaction, so a registered secret
    cannot reach stdout even by mistake; JSON is redacted string by string before it is
    serialised, so it stays valid whatever the secret looks like.
    """
    console = runner.current()
    if fmt == "json":
        text = console.redact_json(to_json(console.redact_data(data)))
    else:
        text = console.redact(human())
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def until(when: datetime, now: datetime) -> str:
    """``in 2d 3h`` / ``in 45m``: how far ``when`` is from ``now``, to the minute."""
    minutes = max(0, int((when - now).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{mins}m" if mins and not days else "",
    ]
    return "in " + (" ".join(p for p in parts if p) or "0m")


def next_window_text(decision: Decision, now: datetime | None = None) -> str:
    """``Mon 2026-11-30 09:00 CET (in 1d 23h)``, when a gate decision may next allow, or ``-``."""
    from gitops.core.windows import fmt_local

    if decision.next_allowed_at is None:
        return "-"
    when = decision.next_allowed_at
    return f"{fmt_local(when, decision.timezone)} ({until(when, now or decision.at)})"
