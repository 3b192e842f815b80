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

Any YAML key names a filter (``web.app``, ``1-api``: as written), as in paths-filter; only a
name that cannot be a step output (a line break, ``=`` or ``<<``) is refused.

A file belongs to a filter when at least one include rule matches it (``every``, paths-filter's
``predicate-quantifier``: all of them) and no exclude rule does (include minus exclude; the
order of the rules does not matter, unlike .gitignore). An exclude under a status key
(``deleted: '!x/**'``) removes only files with that status. ``!(...)`` is picomatch's "anything
but" extglob, not an exclusion.

Globs follow picomatch 2.3.1 with ``dot: true`` (:mod:`gitops.core.globs`, which says where we differ).

Statuses are paths-filter's: added, modified, deleted, renamed, copied, unmerged. We detect
renames (paths-filter does not), so a renamed file is seen twice: its new path with the
statuses {added, renamed} and its old path with {deleted, renamed}; a rule written for
paths-filter (``added: ...``, ``deleted: ...``) therefore behaves as it did there. Each filter's
files come in git's path order, as paths-filter lists them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, TypedDict

from gitops.core.change_map import FileChange
from gitops.errors import ConfigurationError, Problem

if TYPE_CHECKING:
    import yaml

STATUSES = ("added", "modified", "deleted", "renamed", "copied", "unmerged")
_HINT = "see https://github.com/dorny/paths-filter#examples for the syntax; quote every glob"


class FilterOutcome(TypedDict):
    changed: bool
    files: list[str]


PREDICATE_QUANTIFIERS = ("some", "every")


class Rule(NamedTuple):
    pattern: str  # as written, with the '!' of an exclusion
    statuses: frozenset[str] | None
    exclude: bool
    line: int | None
    glob: str = ""  # the glob itself (``pattern`` without the exclusion's '!')
    regex: str = ""

    def matches(self, path: str) -> bool:
        # re.compile answers from re's own cache after the first call
        return path == self.glob or re.compile(self.regex, re.DOTALL).fullmatch(path) is not None

    def applies(self, path: str, statuses: frozenset[str]) -> bool:
        return (self.statuses is None or not self.statuses.isdisjoint(statuses)) and self.matches(path)


class _AnyOf:
    """Does a path match one of these globs (statuses aside)? One regex for all of them."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._literals = frozenset(r.glob for r in rules)
        joined = "|".join(f"(?:{r.regex})" for r in rules)
        self._fullmatch = re.compile(joined, re.DOTALL).fullmatch if rules else None

    def __call__(self, path: str) -> bool:
        return self._fullmatch is not None and (path in self._literals or self._fullmatch(path) is not None)

    def select(self, paths: Iterable[str]) -> set[str]:
        """The paths that match, the regex run over all of them at C speed."""
        if self._fullmatch is None:
            return set()
        chosen = set(filter(self._fullmatch, paths))
        chosen.update(self._literals.intersection(paths))
        return chosen


class Filter(NamedTuple):
    """A named filter: a file belongs to it when the include rules say so (``some``: any of
    them, ``every``: all of them, as paths-filter's ``predicate-quantifier``) and no exclusion
    ('!glob', our difference) applies."""

    name: str
    rules: tuple[Rule, ...]
    line: int | None = None

    @property
    def includes(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if not r.exclude)

    @property
    def excludes(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.exclude)

    def matches(self, path: str, statuses: frozenset[str], quantifier: str = "some") -> bool:
        return _Matcher(self, quantifier).matches(path, statuses)


class _Matcher:
    """One filter, compiled for matching many paths: its plain globs as one regex each side."""

    def __init__(self, flt: Filter, quantifier: str) -> None:
        self.every = quantifier == "every"
        self.includes = flt.includes
        self.status_includes = tuple(r for r in self.includes if r.statuses is not None)
        self.status_excludes = tuple(r for r in flt.excludes if r.statuses is not None)
        self.plain_includes = _AnyOf([r for r in self.includes if r.statuses is None])
        self.plain_excludes = _AnyOf([r for r in flt.excludes if r.statuses is None])
        self.plain_only = not self.every and not self.status_includes and not self.status_excludes

    def matches(self, path: str, statuses: frozenset[str]) -> bool:
        if self.every:
            included = all(r.applies(path, statuses) for r in self.includes)
        else:
            included = self.plain_includes(path) or any(
                r.applies(path, statuses) for r in self.status_includes
            )
        return included and not (
            self.plain_excludes(path) or any(r.applies(path, statuses) for r in self.status_excludes)
        )


class FilterFile(NamedTuple):
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


def evaluate(
    filters: Sequence[Filter], changes: Sequence[FileChange], quantifier: str = "some"
) -> dict[str, FilterOutcome]:
    """Each filter's files, in git's path order (what paths-filter lists: ``git diff`` sorts by path)."""
    files = filter_files(changes)
    paths = [f.path for f in files]
    result: dict[str, FilterOutcome] = {}
    for flt in filters:
        matcher = _Matcher(flt, quantifier)
        if matcher.plain_only:
            # the common case, for thousands of files: one C-level regex match per path
            found = matcher.plain_includes.select(paths)
            found -= matcher.plain_excludes.select(found)
        else:
            found = {f.path for f in files if matcher.matches(f.path, f.statuses)}
        matched = sorted(found)
        result[flt.name] = {"changed": bool(matched), "files": matched}
    return result


def every_filter(filters: Sequence[Filter]) -> dict[str, FilterOutcome]:
    """Every filter counts as changed, with no files: a run with no diff (workflow_dispatch, schedule)."""
    return {flt.name: {"changed": True, "files": []} for flt in filters}


class _Parser:
    def __init__(self, source: str) -> None:
        # The one bounded reader (and PyYAML with it) only when there are filters to parse:
        # the largest import of a CLI start (benchmarks/results/changes.md); the glob translator
        # with them, since matching needs only the regexes it made.
        import yaml

        from gitops.core import documents, globs

        self.yaml = yaml
        self.documents = documents
        self.globs = globs
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
        if isinstance(node, self.yaml.SequenceNode):
            rules: list[Rule] = []
            for item in node.value:
                rules.extend(self.patterns(item, statuses, name, (*stack, id(node))))
            return rules
        if isinstance(node, self.yaml.MappingNode):
            if statuses is not None:
                self.problem(node, "a status key's value must be a glob or a list of globs", key=name)
                return []
            return self.status_rules(node, name, stack)
        if isinstance(node, self.yaml.ScalarNode):
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
        if node.tag != "tag:yaml.org,2002:str":  # 5, true, 1.5, 2024-01-01: never a path as written
            kind = node.tag.rsplit(":", 1)[-1]
            self.problem(
                node,
                f"{text!r} is read by YAML as a {kind}, not a glob (dorny/paths-filter refuses it too: "
                f"'Unexpected element type'); quote it, '{text}', if a path is meant",
                key=name,
            )
            return []
        exclude = len(text) > 1 and text.startswith("!") and not text.startswith("!(")
        pattern = text[1:] if exclude else text
        try:
            regex = self.globs.glob_to_regex(pattern)
            re.compile(regex)
        except (self.globs.GlobError, re.error) as exc:
            self.problem(node, f"glob {text!r}: {exc}", key=name)
            return []
        return [Rule(text, statuses, exclude, line, pattern, regex)]

    def status_rules(self, node: yaml.MappingNode, name: str, stack: tuple[int, ...]) -> list[Rule]:
        rules: list[Rule] = []
        for key_node, value_node in node.value:
            key = str(key_node.value)
            words = [w.strip().lower() for w in key.split("|") if w.strip()]
            unknown = [w for w in words if w not in STATUSES]
            if not words or unknown:
                bad = unknown[0] if unknown else key
                import difflib  # only for a mistake

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
        documents = self.documents
        kind = documents.DocumentKind(
            title="Invalid filters",
            message="the filters are {problem}",
            hint=_HINT + " (globs starting with '*' or '!' must be quoted)",
        )
        root = documents.compose(text, self.source, kind, duplicates=True).root
        if root is None or not isinstance(root, self.yaml.MappingNode) or not root.value:
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
            plain = isinstance(key_node, self.yaml.ScalarNode)
            name = str(key_node.value) if plain else ""
            unusable = _unusable_name(name) if plain else "is not a plain key"
            if unusable:
                self.problem(
                    key_node,
                    f"filter name {name or key_node.tag!r} cannot be a step output name: it {unusable}",
                    key=name or None,
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


def _unusable_name(name: str) -> str | None:
    """Why ``name`` cannot name a step output (``$GITHUB_OUTPUT``'s ``name<<DELIMITER`` line), if it cannot.

    Any other YAML key works, as in paths-filter (``web.app``, ``1-api``; read it as
    ``steps.<id>.outputs['web.app']``).
    """
    if not name.strip():
        return "is empty"
    if "\n" in name or "\r" in name:
        return "has a line break"
    if "=" in name or "<<" in name:
        return "contains '=' or '<<', which the runner reads as the end of the name"
    return None


def output_names(name: str, *, list_files: bool) -> tuple[str, ...]:
    """The step outputs paths-filter sets for one filter: ``<name>``, ``<name>_count``, ``<name>_files``."""
    return (name, f"{name}_count", *((f"{name}_files",) if list_files else ()))


def output_name_clashes(
    filter_names: Sequence[str], reserved: Mapping[str, str], *, list_files: bool
) -> list[str]:
    """Sentences for every filter output that would overwrite another output.

    ``reserved`` maps output names that exist anyway (built-in outputs, one per environment)
    to what they are. Two filters can clash too (``x_count`` and the count of ``x``).
    """
    owners: dict[str, str] = dict(reserved)
    problems: list[str] = []
    for name in filter_names:
        for output in output_names(name, list_files=list_files):
            owner = owners.get(output)
            if owner is not None:
                what = "its output" if output == name else f"its output '{output}'"
                problems.append(f"filter '{name}': {what} would overwrite {owner}")
            else:
                owners[output] = f"an output of filter '{name}'"
    return problems


def parse_filters(text: str, source: str = "filters") -> list[Filter]:
    """Parse paths-filter YAML into filters; every problem (with its line) in one ConfigurationError."""
    return _Parser(source).parse(text)
