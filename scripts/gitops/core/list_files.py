"""dorny/paths-filter's ``list-files`` formats for the ``<filter>_files`` step output (pure).

Byte for byte what paths-filter v4 writes (its ``src/list-format/*.ts``, run side by side):

* ``json``: a compact JSON array (``["a","b c"]``), non-ASCII as is;
* ``csv``: comma-separated; a name with anything but ``[A-Za-z0-9._+:@%/-]`` is wrapped in
  double quotes, an inner ``"`` doubled (RFC 4180);
* ``shell``: space-separated words for a POSIX shell, quoted only where needed: ``'a b'``;
  a name with a single quote goes in double quotes when it has nothing else to fear
  (``"it's.txt"``), else it is split at each ``'`` and each piece quoted (``a\\''b $c'``);
* ``escape``: space-separated, every character outside ``[A-Za-z0-9,._+:@%/-]`` backslash-escaped.

Two deliberate differences, both for names paths-filter mishandles (README, "Differences from
dorny/paths-filter"): paths-filter checks "only safe characters" line by line, so a name with a
line break can pass unquoted; here the check covers the whole name, and in ``escape`` a line
break is written as ``"<LF>"`` (a backslash before it would join the lines). paths-filter also
escapes a character outside the BMP (an emoji) as two broken halves; here it is one character.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

LIST_FORMATS = ("none", "csv", "shell", "escape", "json")

_CSV_SAFE = re.compile(r"[A-Za-z0-9._+:@%/-]+")
_SHELL_SAFE = re.compile(r"[A-Za-z0-9,._+:@%/-]+")
# JavaScript's \s (ECMA-262 WhiteSpace and LineTerminator), which differs from Python's
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_SHELL_SAFE_WITH_QUOTE = re.compile(f"[A-Za-z0-9,._+:@%/'{_JS_SPACE}-]+")
_ESCAPED = re.compile(r"[^A-Za-z0-9,._+:@%/-]")


def csv_escape(name: str) -> str:
    if name == "" or _CSV_SAFE.fullmatch(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def shell_escape(name: str) -> str:
    if name == "" or _SHELL_SAFE.fullmatch(name):
        return name
    if "'" in name:
        if _SHELL_SAFE_WITH_QUOTE.fullmatch(name):
            return f'"{name}"'
        return "\\'".join(shell_escape(part) for part in name.split("'"))
    return f"'{name}'"


def backslash_escape(name: str) -> str:
    return _ESCAPED.sub(lambda m: '"\n"' if m[0] == "\n" else "\\" + m[0], name)


def format_files(names: Sequence[str], fmt: str) -> str:
    """The ``<filter>_files`` value for ``list-files: fmt`` (``none``: the output is not set at all)."""
    if fmt == "json":
        return json.dumps(list(names), ensure_ascii=False, separators=(",", ":"))
    if fmt == "csv":
        return ",".join(csv_escape(n) for n in names)
    if fmt == "shell":
        return " ".join(shell_escape(n) for n in names)
    if fmt == "escape":
        return " ".join(backslash_escape(n) for n in names)
    raise ValueError(f"unknown list format {fmt!r} (one of {', '.join(LIST_FORMATS)})")
