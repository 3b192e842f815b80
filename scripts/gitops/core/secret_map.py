"""The secret map: which variable fills which placeholder, where the convention does not fit (pure).

A secret map is YAML: Secret name -> JSONPath expression -> variable name. It overrides the
convention of :mod:`gitops.core.secrets` (the variable named like the key) for the values its
expressions select::

    postgres-credentials:
      "$.stringData.POSTGRES_SA_PASSWORD": PG_SA
    "default/redis-acl":            # namespace/name also works
      "$.data.*": REDIS_SHARED      # one variable for every placeholder in data

:func:`parse_secret_map` reads and checks the file (every mistake at once, with its line);
:func:`select` evaluates the entries of one Secret and reports those that select nothing, or
something that is not a placeholder. Expressions are jsonpath-ng's extended syntax.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from gitops.core import documents
from gitops.errors import ConfigurationError, Problem

VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # an environment variable's name
MAP_HINT = (
    "A secret map is YAML: Secret name -> JSONPath expression -> variable name, e.g. "
    '`postgres-credentials: {"$.stringData.POSTGRES_SA_PASSWORD": PG_SA}`.'
)


@dataclass(frozen=True)
class MapEntry:
    """One line of a secret map: in Secret ``secret``, what ``expression`` selects comes from ``variable``."""

    secret: str
    expression: str
    variable: str
    line: int | None = None

    def key_path(self) -> str:
        return f"{self.secret}.{self.expression}"


@dataclass(frozen=True)
class SecretMap:
    """A parsed secret map; ``source`` names its file in messages."""

    source: str
    entries: tuple[MapEntry, ...] = ()

    def for_secret(self, name: str, namespace: str | None) -> list[MapEntry]:
        qualified = f"{namespace or 'default'}/{name}"
        return [e for e in self.entries if e.secret in (name, qualified)]


@functools.lru_cache(maxsize=256)
def compiled(expression: str) -> Any:
    """The parsed JSONPath expression (jsonpath-ng, imported only when a map is used)."""
    from jsonpath_ng.ext.parser import parse

    return parse(expression)


SECRET_MAP = documents.DocumentKind(
    title="Invalid secret map", message="the secret map is {problem}", hint=MAP_HINT
)


def parse_secret_map(text: str, source: str) -> SecretMap:
    """Parse and check a secret map; every mistake is reported at once, with file and line."""
    root = documents.compose(text, source, SECRET_MAP).root
    if root is None:
        return SecretMap(source)
    if not isinstance(root, yaml.MappingNode):
        raise ConfigurationError(
            "the secret map must be a mapping of Secret names",
            file=source,
            line=root.start_mark.line + 1,
            hint=MAP_HINT,
            title="Invalid secret map",
        )
    problems: list[Problem] = []
    entries: list[MapEntry] = []
    for secret_node, body in root.value:
        secret = secret_node.value if isinstance(secret_node, yaml.ScalarNode) else None
        line = secret_node.start_mark.line + 1
        if not secret:
            problems.append(Problem("a Secret name must be a non-empty string", source, line))
            continue
        if not isinstance(body, yaml.MappingNode) or not body.value:
            problems.append(
                Problem(
                    'must map JSONPath expressions to variable names, e.g. {"$.stringData.KEY": VARIABLE}',
                    source,
                    line,
                    secret,
                )
            )
            continue
        for expr_node, var_node in body.value:
            expr = expr_node.value if isinstance(expr_node, yaml.ScalarNode) else ""
            variable = var_node.value if isinstance(var_node, yaml.ScalarNode) else ""
            eline = expr_node.start_mark.line + 1
            where = f"{secret}.{expr}" if expr else secret
            if not expr.startswith("$"):
                problems.append(
                    Problem(
                        f"{expr!r} is not a JSONPath expression; write $.stringData.KEY or $.data.KEY",
                        source,
                        eline,
                        where,
                    )
                )
                continue
            try:
                compiled(expr)
            except Exception as exc:  # jsonpath-ng raises several types for bad syntax
                problems.append(Problem(f"invalid JSONPath expression {expr!r}: {exc}", source, eline, where))
                continue
            if not isinstance(variable, str) or not VARIABLE.match(variable):
                problems.append(
                    Problem(
                        f"{variable!r} is not a valid environment variable name "
                        "(letters, digits and _, not starting with a digit)",
                        source,
                        var_node.start_mark.line + 1,
                        where,
                    )
                )
                continue
            entries.append(MapEntry(secret, expr, variable, eline))
    if problems:
        raise ConfigurationError(
            f"the secret map {source} has {len(problems)} problem(s)",
            file=source,
            line=problems[0].line,
            hint=MAP_HINT,
            title="Invalid secret map",
            problems=problems,
        )
    return SecretMap(source, tuple(entries))


@dataclass(frozen=True)
class Site:
    """Stands in for a data/stringData value while a JSONPath expression is evaluated."""

    field: str
    key: str


def select(
    name: str,
    probe: Mapping[str, Any],
    entries: Sequence[MapEntry],
    source: str,
    is_placeholder: Mapping[tuple[str, str], bool],
) -> tuple[dict[tuple[str, str], list[MapEntry]], list[Problem]]:
    """Which map entries select which (field, key) of Secret ``name``; and what they got wrong.

    ``probe`` is the Secret with each data/stringData value replaced by its :class:`Site`.
    """
    chosen: dict[tuple[str, str], list[MapEntry]] = {}
    problems: list[Problem] = []
    for entry in entries:
        matches = [m.value for m in compiled(entry.expression).find(probe)]
        if not matches:
            problems.append(
                Problem(
                    f"selects nothing in Secret {name}",
                    source,
                    entry.line,
                    entry.key_path(),
                )
            )
        for value in matches:
            if not isinstance(value, Site):
                problems.append(
                    Problem(
                        f"selects something in Secret {name} that is not a data/stringData value; "
                        "select keys, e.g. $.stringData.KEY",
                        source,
                        entry.line,
                        entry.key_path(),
                    )
                )
                continue
            if not is_placeholder.get((value.field, value.key), False):
                problems.append(
                    Problem(
                        f"selects {value.field}.{value.key} of Secret {name}, which is not the placeholder; "
                        "only placeholders are substituted",
                        source,
                        entry.line,
                        entry.key_path(),
                    )
                )
                continue
            chosen.setdefault((value.field, value.key), []).append(entry)
    return chosen, problems
