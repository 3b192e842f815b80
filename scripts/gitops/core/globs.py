"""Globs as dorny/paths-filter matches them, translated to Python regexes (pure).

Globs follow picomatch 2.3.1 (what paths-filter v4 bundles) with ``dot: true``: ``*`` and ``?``
never cross ``/``; ``**`` as a whole segment spans any number of directories (``a/**`` also
matches ``a``, ``**/x`` also matches ``x``); ``[...]``/``[!...]`` classes with POSIX
``[:alpha:]`` names; ``{a,b}`` and ``{1..3}`` braces; ``@( )``, ``*( )``, ``+( )``, ``?( )``,
``!( )`` extglobs and ``(a|b)`` groups; ``\\`` escapes; a leading ``./`` is ignored; matching is
case-sensitive. A glob without ``/`` matches only top-level names (``*.md`` does not match
``docs/a.md``; write ``**/*.md``). As in picomatch, a path equal to the glob always matches
(``Copy (1).txt``, ``app/[...all]/page.tsx``), and a bracket expression without regex
characters also matches itself (``app/[slug]/**`` matches ``app/[slug]/page.tsx``).

Where picomatch does something surprising we do what the glob says (each is a row of the
README's "Differences from dorny/paths-filter"): ``[!a]`` is "any character but a" (POSIX;
picomatch reads "! or a"); ``{1..10}`` expands like Bash (picomatch builds a character class
that only works for single digits); ``!(...)`` whose alternatives hold ``/`` or ``**`` is about
the rest of the path, every alternative read as a whole glob (picomatch's ``**/`` inside it needs
a ``/``, ``**`` after a ``|`` spans one directory, and it ignores what follows the group).

:func:`glob_to_regex` translates one glob in one pass (:func:`_translate`); the filters of
:mod:`gitops.core.filters` join many of them into one regex per side.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_MAX_BRACE_EXPANSION = 1024


class GlobError(ValueError):
    """A glob that cannot be compiled (the caller adds file and line)."""


_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "ascii": "\\x00-\\x7f",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "\\x21-\\x7e",
    "lower": "a-z",
    "print": "\\x20-\\x7e",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").replace("]", "\\]"),
    "space": " \\t\\r\\n\\v\\f",
    "upper": "A-Z",
    "word": "A-Za-z0-9_",
    "xdigit": "A-Fa-f0-9",
}


def _closing(text: str, start: int, open_ch: str, close_ch: str) -> int:
    """Index of the ``close_ch`` matching ``text[start] == open_ch``, honouring escapes; -1 if none."""
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside braces, parentheses and brackets (escapes honoured)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch in "{([":
            depth += 1
        elif ch in "})]" and depth:
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


_RANGE = re.compile(r"(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?\Z")


def _range(body: str) -> list[str] | None:
    match = _RANGE.match(body)
    if not match:
        return None
    lo, hi, step_text = match.groups()
    step = abs(int(step_text)) if step_text else 1
    step = step or 1
    if lo.lstrip("-").isdigit() and hi.lstrip("-").isdigit():
        a, b = int(lo), int(hi)
        width = max(len(lo), len(hi)) if (lo.lstrip("-").startswith("0") and len(lo) > 1) else 0
        values = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
        return [str(v).zfill(width) if width else str(v) for v in values]
    if lo.isalpha() and hi.isalpha():
        a, b = ord(lo), ord(hi)
        values = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
        return [chr(v) for v in values]
    return None


def expand_braces(pattern: str) -> list[str]:
    """Bash-style brace expansion: ``a/{b,c}/{1..2}`` -> four patterns. Lone braces stay literal.

    Braces inside an extglob or group (``!({a,b})``) are left for that group to expand into
    alternatives: expanding them here would turn "neither a nor b" into "not a, or not b".
    """
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            end = _closing(pattern, i, "(", ")")
            if end != -1:
                i = end + 1
                continue
        if ch == "{":
            end = _closing(pattern, i, "{", "}")
            if end == -1:
                return [pattern]
            body = pattern[i + 1 : end]
            options = _split_top(body, ",")
            if len(options) == 1:
                options = _range(body) or []
            if not options:
                # `{x}` is literal: keep it and expand whatever follows it
                head = pattern[: end + 1]
                return [head + rest for rest in expand_braces(pattern[end + 1 :])]
            prefix, suffix = pattern[:i], pattern[end + 1 :]
            result: list[str] = []
            for option in options:
                result.extend(expand_braces(prefix + option + suffix))
                if len(result) > _MAX_BRACE_EXPANSION:
                    raise GlobError(f"braces expand to more than {_MAX_BRACE_EXPANSION} patterns")
            return result
        i += 1
    return [pattern]


# picomatch's REGEX_SPECIAL_CHARS: a bracket expression without any of these also matches itself
# literally (``[slug]`` matches "[slug]" and "s"); one with them (``[...all]``, ``[a-z]``) is a class only.
_REGEX_SPECIAL = frozenset("-*+?.^${}(|)[]\\")


def _char_class(pattern: str, i: int) -> tuple[str, int] | None:
    """Translate ``[...]`` starting at ``pattern[i]``; None when it is not closed in this segment."""
    j = i + 1
    negate = j < len(pattern) and pattern[j] in "!^"
    if negate:
        j += 1
    body: list[str] = []
    first = True
    while j < len(pattern) and pattern[j] != "/":
        ch = pattern[j]
        if ch == "]" and not first:
            inner = "".join(body)
            regex = f"[^/{inner}]" if negate else f"[{inner}]"
            raw = pattern[i + 1 : j]
            if not _REGEX_SPECIAL.intersection(raw):
                regex = f"(?:{re.escape(pattern[i : j + 1])}|{regex})"
            return regex, j + 1
        first = False
        if ch == "[" and pattern.startswith("[:", j):
            end = pattern.find(":]", j + 2)
            name = pattern[j + 2 : end] if end != -1 else ""
            if name in _POSIX_CLASSES:
                body.append(_POSIX_CLASSES[name])
                j = end + 2
                continue
        if ch == "\\" and j + 1 < len(pattern):
            body.append(re.escape(pattern[j + 1]))
            j += 2
            continue
        body.append("\\" + ch if ch in "\\^[]" else ch)
        j += 1
    return None


# extglob kind -> regex quantifier: @(a|b) once, *(..) any number, +(..) at least once, ?(..) optional
_QUANTIFIER = {"@": "", "*": "*", "+": "+", "?": "?"}


def _alternatives(inner: str) -> list[str]:
    """The ``|``-separated alternatives of an extglob body, braces expanded into more of them."""
    return [expanded for alt in _split_top(inner, "|") for expanded in expand_braces(alt)]


def _reaches_across_segments(inner: str) -> bool:
    """A negated extglob about the rest of the PATH (``!(src/**)``), not about one segment."""
    return "/" in inner or "**" in inner


def _translate(pattern: str, i: int = 0, *, whole: bool = True) -> str:
    """Translate ``pattern[i:]`` to a regex, in one pass.

    ``whole``: ``pattern`` is a whole glob, where ``/`` separates segments and ``**`` as a whole
    segment spans directories; otherwise it is one alternative of a segment-level extglob.

    picomatch anchors a segment-level ``!(x)`` only where nothing follows it (``x/!(a)`` rejects
    ``x/a`` but accepts ``x/ab``); elsewhere ``!(x)`` means "does not start with x" (``!(a)/b``
    rejects ``ab/b``). We keep both. A negated extglob that reaches across segments
    (:func:`_reaches_across_segments`) means "the rest of the path is not one of these globs
    followed by what comes after the group": every alternative is read as a whole glob.
    """
    out: list[str] = []
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        at_segment_start = whole and (i == 0 or pattern[i - 1] == "/")
        if ch == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "/":
            out.append("/")
            i += 1
            continue
        opens_group = ch == "(" or (ch in "@*+?!" and i + 1 < n and pattern[i + 1] == "(")
        if opens_group:
            paren = i if ch == "(" else i + 1
            end = _closing(pattern, paren, "(", ")")
            if end != -1:
                inner = pattern[paren + 1 : end]
                kind = "@" if ch == "(" else ch
                if kind == "!":
                    rest = _translate(pattern, end + 1, whole=whole)
                    if whole and _reaches_across_segments(inner):
                        group = "|".join(f"(?:{_whole_glob(alt)})" for alt in _alternatives(inner))
                        out.append(f"(?!(?:{group}){rest}\\Z).*?{rest}")
                    else:
                        group = "|".join(_translate(alt, whole=False) for alt in _alternatives(inner))
                        anchor = "\\Z" if not rest and end + 1 == n and whole else ""
                        out.append(f"(?!(?:{group}){anchor})[^/]*?{rest}")
                    return "".join(out)
                group = "|".join(_translate(alt, whole=False) for alt in _alternatives(inner))
                out.append(f"(?:{group}){_QUANTIFIER[kind]}")
                i = end + 1
                continue
        if ch == "*":
            stars = i
            while i < n and pattern[i] == "*":
                i += 1
            segment_ends = i == n or pattern[i] == "/"
            if at_segment_start and segment_ends and i - stars >= 2:
                # `**` as a whole segment: any number of directories (also none)
                while pattern.startswith("/**", i) and (i + 3 == n or pattern[i + 3] == "/"):
                    i += 3  # `**/**` is `**`
                if i == n:
                    if out and out[-1] == "/":
                        out[-1] = "(?:/.*)?"  # `a/**` also matches `a`
                    else:
                        out.append(".*")
                else:
                    out.append("(?:.*/)?")  # `**/x` also matches `x`
                    i += 1  # past the '/'
                continue
            out.append("[^/]+" if at_segment_start and segment_ends else "[^/]*")
            continue
        if ch == "?":
            out.append("[^/]")
            i += 1
            continue
        if ch == "[":
            translated = _char_class(pattern, i)
            if translated is not None:
                out.append(translated[0])
                i = translated[1]
                continue
        out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _whole_glob(pattern: str) -> str:
    """The regex of one glob (``./`` prefix dropped, braces expanded), for ``re.fullmatch``."""
    while pattern.startswith("./"):
        pattern = pattern[2:]
    if not pattern:
        raise GlobError("empty pattern")
    return "|".join(f"(?:{_translate(p)})" for p in expand_braces(pattern))


def glob_to_regex(pattern: str) -> str:
    """The regex (for ``re.fullmatch``) of one picomatch glob with ``dot: true``."""
    return _whole_glob(pattern)


def compile_glob(pattern: str) -> Callable[[str], bool]:
    """A predicate for one glob. Raises :class:`GlobError` for a pattern that cannot compile.

    Like picomatch's ``test()``, a path equal to the glob matches whatever the glob's syntax
    says (``Copy (1).txt``, ``app/[...all]/page.tsx``).
    """
    try:
        regex = re.compile(glob_to_regex(pattern), re.DOTALL)
    except re.error as exc:
        raise GlobError(f"cannot compile: {exc}") from exc
    fullmatch = regex.fullmatch
    return lambda path: path == pattern or fullmatch(path) is not None
