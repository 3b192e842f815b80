"""Named path filters in dorny/paths-filter's syntax, with exclusions (pure).

The syntax (https://github.com/dorny/paths-filter#examples)::

    shared: &shared              # a filter: a glob, or a list of rules
      - 'common/**'
      - 'config/**'
    backend:
      - *shared                  # YAML aliases and nested lists are flattened
      - 'backend/**'
      - '!backend/**/*.md'       # OUR DIFFERENCE: a leading '!' excludes
    docs: 'docs/**'              # a single glob
    lint:
      - added|modified: '**/*.py'        # only files with one of these statuses
      - added|modified: ['a/**', 'b/**']

A file belongs to a filter when at least one include rule matches it and no exclude rule does
(include minus exclude; the order of the rules does not matter, unlike .gitignore). An exclude
under a status key (``deleted: '!x/**'``) removes only files with that status. ``!(...)`` is
picomatch's "anything but" extglob, not an exclusion.

Globs follow picomatch with ``dot: true`` (what paths-filter uses): ``*`` and ``?`` never cross
``/``; ``**`` as a whole segment spans any number of directories (``a/**`` also matches ``a``,
``**/x`` also matches ``x``); ``[...]``/``[!...]`` classes with POSIX ``[:alpha:]`` names;
``{a,b}`` and ``{1..3}`` braces; ``@( )``, ``*( )``, ``+( )``, ``?( )``, ``!( )`` extglobs and
``(a|b)`` groups; ``\\`` escapes; a leading ``./`` is ignored; matching is case-sensitive. A glob
without ``/`` matches only top-level names (``*.md`` does not match ``docs/a.md``; write
``**/*.md``). Two places where picomatch 4 does something surprising and we do what the glob
says: ``[!a]`` is "any character but a" (POSIX; picomatch reads "! or a"), and ``{1..10}``
expands like Bash (picomatch builds a character class that only works for single digits).

Statuses are paths-filter's: added, modified, deleted, renamed, copied, unmerged. We detect
renames (paths-filter does not), so a renamed file is seen twice: its new path with the
statuses {added, renamed} and its old path with {deleted, renamed}; a rule written for
paths-filter (``added: ...``, ``deleted: ...``) therefore behaves as it did there.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import yaml

from gitops.core import documents
from gitops.core.change_map import FileChange
from gitops.errors import ConfigurationError, Problem

STATUSES = ("added", "modified", "deleted", "renamed", "copied", "unmerged")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_MAX_BRACE_EXPANSION = 1024
_HINT = "see https://github.com/dorny/paths-filter#examples for the syntax; quote every glob"


class FilterOutcome(TypedDict):
    changed: bool
    files: list[str]


class GlobError(ValueError):
    """A glob that cannot be compiled (the caller adds file and line)."""


# -- globs -----------------------------------------------------------------------------------

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
    """Bash-style brace expansion: ``a/{b,c}/{1..2}`` -> four patterns. Lone braces stay literal."""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
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


def _char_class(seg: str, i: int) -> tuple[str, int] | None:
    """Translate ``[...]`` starting at ``seg[i]``; None when it is not a closed class."""
    j = i + 1
    negate = j < len(seg) and seg[j] in "!^"
    if negate:
        j += 1
    body: list[str] = []
    first = True
    while j < len(seg):
        ch = seg[j]
        if ch == "]" and not first:
            inner = "".join(body)
            return (f"[^/{inner}]" if negate else f"[{inner}]"), j + 1
        first = False
        if ch == "[" and seg.startswith("[:", j):
            end = seg.find(":]", j + 2)
            name = seg[j + 2 : end] if end != -1 else ""
            if name in _POSIX_CLASSES:
                body.append(_POSIX_CLASSES[name])
                j = end + 2
                continue
        if ch == "\\" and j + 1 < len(seg):
            body.append(re.escape(seg[j + 1]))
            j += 2
            continue
        body.append("\\" + ch if ch in "\\^[]" else ch)
        j += 1
    return None


def _translate(seg: str, i: int = 0, stops: str = "", *, at_end: bool = False) -> tuple[str, int]:
    """Translate one path segment (or an extglob alternative) to a regex, up to a char in ``stops``.

    ``at_end``: this segment ends the pattern. picomatch anchors ``!(x)`` only there (``x/!(a)``
    rejects ``x/a`` but accepts ``x/ab``); elsewhere ``!(x)`` means "does not start with x"
    (``!(a)/b`` rejects ``ab/b``). We keep both behaviours.
    """
    out: list[str] = []
    n = len(seg)
    while i < n:
        ch = seg[i]
        if ch in stops:
            break
        if ch == "\\" and i + 1 < n:
            out.append(re.escape(seg[i + 1]))
            i += 2
            continue
        opens_group = ch == "(" or (ch in "@*+?!" and i + 1 < n and seg[i + 1] == "(")
        if opens_group:
            paren = i if ch == "(" else i + 1
            end = _closing(seg, paren, "(", ")")
            if end != -1:
                alternatives: list[str] = []
                j = paren + 1
                while True:
                    alt, j = _translate(seg, j, stops="|)")
                    alternatives.append(alt)
                    if j >= end or seg[j] == ")":
                        break
                    j += 1  # past '|'
                group = "|".join(alternatives)
                kind = "@" if ch == "(" else ch
                if kind == "!":
                    rest, i = _translate(seg, end + 1, stops)
                    if not rest and at_end and not stops:
                        out.append(f"(?!(?:{group})\\Z)[^/]*?")
                    else:
                        out.append(f"(?!(?:{group}))[^/]*?{rest}")
                    return "".join(out), i
                quantifier = {"@": "", "*": "*", "+": "+", "?": "?"}[kind]
                out.append(f"(?:{group}){quantifier}")
                i = end + 1
                continue
        if ch == "*":
            while i < n and seg[i] == "*":
                i += 1
            out.append("[^/]*")
            continue
        if ch == "?":
            out.append("[^/]")
            i += 1
            continue
        if ch == "[":
            translated = _char_class(seg, i)
            if translated is not None:
                out.append(translated[0])
                i = translated[1]
                continue
        out.append(re.escape(ch))
        i += 1
    return "".join(out), i


def _single_glob(pattern: str) -> str:
    globstar = None
    tokens: list[str | None] = []
    segments = _split_top(pattern, "/")
    for position, seg in enumerate(segments, start=1):
        if seg == "**":
            if tokens and tokens[-1] is globstar:
                continue
            tokens.append(globstar)
        elif seg == "*":
            tokens.append("[^/]+")
        else:
            tokens.append(_translate(seg, at_end=position == len(segments))[0])
    if tokens == [globstar]:
        return ".*"
    out: list[str] = []
    last = len(tokens) - 1
    for index, token in enumerate(tokens):
        if token is None:
            if index == 0:
                out.append("(?:.*/)?")
            elif index == last:
                out.append("(?:/.*)?")
            else:
                out.append("/(?:.*/)?")
        else:
            if index > 0 and tokens[index - 1] is not None:
                out.append("/")
            out.append(token)
    return "".join(out)


def glob_to_regex(pattern: str) -> str:
    """The regex (for ``re.fullmatch``) of one picomatch glob with ``dot: true``."""
    while pattern.startswith("./"):
        pattern = pattern[2:]
    if not pattern:
        raise GlobError("empty pattern")
    return "|".join(f"(?:{_single_glob(p)})" for p in expand_braces(pattern))


def compile_glob(pattern: str) -> Callable[[str], bool]:
    """A predicate for one glob. Raises :class:`GlobError` for a pattern that cannot compile."""
    try:
        regex = re.compile(glob_to_regex(pattern), re.DOTALL)
    except re.error as exc:
        raise GlobError(f"cannot compile: {exc}") from exc
    return lambda path: regex.fullmatch(path) is not None


# -- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    pattern: str
    statuses: frozenset[str] | None
    exclude: bool
    line: int | None
    matches: Callable[[str], bool] = field(compare=False, repr=False)

    def applies(self, path: str, statuses: frozenset[str]) -> bool:
        return (self.statuses is None or not self.statuses.isdisjoint(statuses)) and self.matches(path)


@dataclass(frozen=True)
class Filter:
    name: str
    rules: tuple[Rule, ...]
    line: int | None = None

    @property
    def includes(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if not r.exclude)

    @property
    def excludes(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.exclude)

    def matches(self, path: str, statuses: frozenset[str]) -> bool:
        return any(r.applies(path, statuses) for r in self.includes) and not any(
            r.applies(path, statuses) for r in self.excludes
        )


@dataclass(frozen=True)
class FilterFile:
    """A path as filters see it, with every status it counts as."""

    path: str
    statuses: frozenset[str]


def filter_files(changes: Iterable[FileChange]) -> list[FilterFile]:
    """Changed files as filters see them; a rename becomes its new and its old path."""
    files: list[FilterFile] = []
    for change in changes:
        status = change.status
        if status == "renamed" and change.old_path:
            files.append(FilterFile(change.path, frozenset({"added", "renamed"})))
            files.append(FilterFile(change.old_path, frozenset({"deleted", "renamed"})))
        elif status == "copied":
            files.append(FilterFile(change.path, frozenset({"added", "copied"})))
        elif status == "type-changed":
            files.append(FilterFile(change.path, frozenset({"modified"})))
        else:
            files.append(FilterFile(change.path, frozenset({status})))
    return files


def evaluate(filters: Sequence[Filter], changes: Sequence[FileChange]) -> dict[str, FilterOutcome]:
    files = filter_files(changes)
    result: dict[str, FilterOutcome] = {}
    for flt in filters:
        matched: list[str] = []
        seen: set[str] = set()
        for f in files:
            if f.path not in seen and flt.matches(f.path, f.statuses):
                seen.add(f.path)
                matched.append(f.path)
        result[flt.name] = {"changed": bool(matched), "files": matched}
    return result


def every_filter(filters: Sequence[Filter]) -> dict[str, FilterOutcome]:
    """Every filter counts as changed, with no files: a run with no diff (workflow_dispatch, schedule)."""
    return {flt.name: {"changed": True, "files": []} for flt in filters}


FILTERS = documents.DocumentKind(
    title="Invalid filters",
    message="the filters are {problem}",
    hint=_HINT + " (globs starting with '*' or '!' must be quoted)",
)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, node: yaml.Node | None, message: str, key: str | None = None) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(Problem(message, file=self.source, line=line, key=key))

    def patterns(
        self, node: yaml.Node, statuses: frozenset[str] | None, name: str, stack: tuple[int, ...] = ()
    ) -> list[Rule]:
        if id(node) in stack:
            self.problem(node, "a YAML alias refers to itself", key=name)
            return []
        if isinstance(node, yaml.SequenceNode):
            rules: list[Rule] = []
            for item in node.value:
                rules.extend(self.patterns(item, statuses, name, (*stack, id(node))))
            return rules
        if isinstance(node, yaml.MappingNode):
            if statuses is not None:
                self.problem(node, "a status key's value must be a glob or a list of globs", key=name)
                return []
            return self.status_rules(node, name, stack)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, statuses, name)
        self.problem(node, f"unexpected YAML node {type(node).__name__}", key=name)
        return []

    def scalar(self, node: yaml.ScalarNode, statuses: frozenset[str] | None, name: str) -> list[Rule]:
        line = node.start_mark.line + 1
        text = str(node.value)
        if node.tag.startswith("!"):
            self.problem(
                node,
                f"YAML read `{node.tag}` as a tag: quote globs that start with '!', e.g. '{node.tag}{text}'",
                key=name,
            )
            return []
        if node.tag == "tag:yaml.org,2002:null" or not text.strip():
            self.problem(node, "empty glob", key=name)
            return []
        exclude = len(text) > 1 and text.startswith("!") and not text.startswith("!(")
        pattern = text[1:] if exclude else text
        try:
            matches = compile_glob(pattern)
        except GlobError as exc:
            self.problem(node, f"glob {text!r}: {exc}", key=name)
            return []
        return [Rule(text, statuses, exclude, line, matches)]

    def status_rules(self, node: yaml.MappingNode, name: str, stack: tuple[int, ...]) -> list[Rule]:
        rules: list[Rule] = []
        for key_node, value_node in node.value:
            key = str(key_node.value)
            words = [w.strip().lower() for w in key.split("|") if w.strip()]
            unknown = [w for w in words if w not in STATUSES]
            if not words or unknown:
                bad = unknown[0] if unknown else key
                close = difflib.get_close_matches(bad, STATUSES, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                self.problem(
                    key_node,
                    f"unknown change status '{bad}' (use {'|'.join(STATUSES)}, combined with '|'){hint}",
                    key=name,
                )
                continue
            rules.extend(self.patterns(value_node, frozenset(words), name, (*stack, id(node))))
        return rules

    def parse(self, text: str) -> list[Filter]:
        root = documents.compose(text, self.source, FILTERS, duplicates=True).root
        if root is None or not isinstance(root, yaml.MappingNode) or not root.value:
            raise ConfigurationError(
                "the filters must be a YAML mapping of filter names to globs",
                file=self.source,
                line=root.start_mark.line + 1 if root is not None else None,
                hint=_HINT + ", e.g. `backend: ['backend/**']`",
                title="Invalid filters",
            )
        filters: list[Filter] = []
        seen: set[str] = set()
        for key_node, value_node in root.value:
            name = str(key_node.value)
            if not isinstance(key_node, yaml.ScalarNode) or not _NAME.match(name):
                self.problem(
                    key_node,
                    f"filter name {name!r} cannot be a step output name: use letters, digits, '_' and '-', "
                    "starting with a letter or '_'",
                    key=name,
                )
                continue
            if name in seen:
                self.problem(key_node, f"filter '{name}' is defined twice", key=name)
                continue
            seen.add(name)
            rules = self.patterns(value_node, None, name)
            if rules and not any(not r.exclude for r in rules):
                self.problem(
                    value_node,
                    "only exclusions ('!...'): add what to include, e.g. '**' then '!docs/**'",
                    key=name,
                )
            filters.append(Filter(name, tuple(rules), key_node.start_mark.line + 1))
        if self.problems:
            first = self.problems[0]
            raise ConfigurationError(
                first.message if len(self.problems) == 1 else f"{len(self.problems)} problems in the filters",
                file=self.source,
                line=first.line,
                key=first.key,
                hint=_HINT,
                title="Invalid filters",
                problems=tuple(self.problems) if len(self.problems) > 1 else (),
            )
        return filters


def parse_filters(text: str, source: str = "filters") -> list[Filter]:
    """Parse paths-filter YAML into filters; every problem (with its line) in one ConfigurationError."""
    return _Parser(source).parse(text)
