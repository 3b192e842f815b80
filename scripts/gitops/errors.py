"""The one error type for mistakes a user can fix.

Anything raised that is *not* a :class:`ConfigurationError` is a bug in this suite:
the CLI prints its traceback in a log group and exits 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_DEPLOY_FAILED = 2
EXIT_INTERNAL_ERROR = 3

# Neither class is a dataclass: every verb imports this module, and `dataclasses` (with the
# inspect/ast/dis/tokenize it imports) is a fifth of a short verb's start-up.


class Problem(NamedTuple):
    """One thing wrong in the user's input, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None

    def location(self) -> str:
        parts = [p for p in (self.file, str(self.line) if self.line else None) if p]
        where = ":".join(parts)
        if self.key:
            where = f"{where} {self.key}".strip()
        return where

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class ConfigurationError(Exception):
    """A mistake in input the user controls: a file, a flag, a variable, a token.

    ``message`` says what is wrong, ``file``/``line``/``key`` say where, ``hint`` says how to
    fix it. ``problems`` carries every individual finding when one check found several
    (e.g. every missing secret variable), so the user fixes them all in one go.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
        title: str = "Configuration error",
        problems: Sequence[Problem] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        self.hint = hint
        self.title = title
        self.problems = problems

    def __repr__(self) -> str:
        where = f"file={self.file!r}, line={self.line!r}, key={self.key!r}"
        return f"ConfigurationError({self.message!r}, {where})"

    def __str__(self) -> str:
        head = str(Problem(self.message, self.file, self.line, self.key))
        lines = [head]
        lines.extend(f"  - {p}" for p in self.problems)
        if self.hint:
            lines.append(f"How to fix: {self.hint}")
        return "\n".join(lines)


def yaml_problem(exc: BaseException, text: str | None = None) -> tuple[str, int | None, str | None]:
    """``(what, line, hint)`` for a PyYAML error, without quoting the document (it may hold secrets).

    PyYAML words a tab as "found character '\\t' that cannot start any token" (libyaml drops the
    character), which hides the most common mistake in a hand-edited YAML file; this names it
    and says how to fix it. Pass the document ``text`` to recognise a tab libyaml did not name.
    ``hint`` is None when there is nothing more specific to say than "fix the syntax".
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    problem = str(getattr(exc, "problem", None) or "")
    context = str(getattr(exc, "context", None) or "")
    if "'\\t'" in problem or (mark is not None and _char_at(text, mark.line, mark.column) == "\t"):
        where = f"line {line}, column {column}" if line else "the file"
        return (
            f"a tab character at {where} (YAML indents with spaces only)",
            line,
            f"replace the tab at {where} with spaces",
        )
    what = " ".join(p for p in (context, problem) if p) or "syntax error"
    if line is not None:
        what += f" (line {line}, column {column})"
    return what, line, None


def _char_at(text: str | None, line: int, column: int) -> str | None:
    if text is None:
        return None
    lines = text.splitlines()
    if 0 <= line < len(lines) and 0 <= column < len(lines[line]):
        return lines[line][column]
    return None
