"""Reading a YAML node tree against a schema, collecting every problem with its line (pure).

A schema (the deploy-control policy in :mod:`gitops.core.policy_schema`) subclasses
:class:`SchemaReader` and only says what it expects where; this module knows how to read
what the user wrote, judged by the text rather than by YAML 1.1's guesses:

* mappings: duplicate keys (which ``safe_load`` silently collapses to the last one), unknown
  keys with "did you mean" or where the key belongs, missing keys, ``<<`` merge keys (keys
  written explicitly win over merged ones);
* booleans are ``true``/``false`` (any case). YAML 1.1's ``yes/no/on/off/y/n`` are refused:
  PyYAML reads them as booleans but YAML 1.2 tools (yq, GitHub's parsers) read them as
  strings, so the same file would mean different things to different tools. A quoted
  ``"true"`` is a string and refused too;
* integers are plain decimal digits; ``"300"`` (quoted), ``0x12c``, ``1_000`` are refused;
* strings that YAML would turn into numbers or booleans when unquoted must be quoted.

Nodes come from :func:`gitops.core.documents.compose` (bounded, acyclic, with marks).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gitops.core.documents import MERGE_TAG, line_of
from gitops.errors import Problem

NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"
_TRUE, _FALSE = ("true", "True", "TRUE"), ("false", "False", "FALSE")
_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}
_INT = re.compile(r"-?[0-9]+")

Entries = dict[str, tuple[Node, Node]]


def describe(node: Node) -> str:
    """What the user wrote, in words: ``a mapping``, ``nothing (null)``, ``the string '5'``."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, ScalarNode):
        if node.tag == NULL_TAG:
            return "nothing (null)"
        if node.style in ("'", '"'):
            return f"the string {node.value!r}"
        return f"{node.value!r}"
    return "something else"  # pragma: no cover - compose yields only these three node kinds


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close and len(word) >= 4:  # a shortened key: `rollback` for `rollback_on_failure`
        close = [c for c in choices if c.startswith(word)][:1]
    return f"; did you mean {close[0]!r}?" if close else ""


class SchemaReader:
    """Walks a node tree for a schema, collecting every problem on the way.

    ``homes`` maps a key to where it belongs, to say "`timezone` belongs under
    deployment_windows" for a key written in the wrong mapping. ``lines`` records the line of
    every key read, by dotted path, for messages about the model built from the file.
    """

    def __init__(self, source: str, homes: Mapping[str, Sequence[str]] | None = None) -> None:
        self.source = source
        self.homes = dict(homes or {})
        self.problems: list[Problem] = []
        self.lines: dict[str, int] = {}

    def problem(self, node: Node, key: str, message: str) -> None:
        self.problems.append(Problem(message, self.source, line_of(node), key))

    def missing_key_note(self, key: str) -> str:
        """Words added to "required key ... is missing" for the mapping at ``key`` (a schema's choice)."""
        return ""

    # -- structure ---------------------------------------------------------------------
    def mapping(
        self,
        node: Node,
        key: str,
        keys: Sequence[str] | None,
        what: str = "",
        required: Sequence[str] | None = None,
    ) -> Entries | None:
        """Entries of a mapping node, reporting duplicates, unknown keys and missing keys.

        ``keys`` are the keys allowed (None: any); ``required`` those that must be there
        (default: every allowed key).
        """
        if not isinstance(node, MappingNode):
            where = "" if key else " at the top of the file"
            self.problem(node, key, f"expected a mapping{what}{where}, got {describe(node)}")
            return None
        entries: Entries = {}
        merged: Entries = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                for name, pair in self._merge_sources(key_node, value_node, key).items():
                    merged.setdefault(name, pair)
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, key, "a key must be a plain name, not a list or mapping")
                continue
            name = str(key_node.value)
            path = f"{key}.{name}" if key else name
            if name in entries:
                first = line_of(entries[name][0])
                self.problem(
                    key_node,
                    path,
                    f"duplicate key {name!r} (first at line {first}); YAML would silently keep only "
                    "this last one: delete one of them",
                )
                continue
            entries[name] = (key_node, value_node)
        for name, pair in merged.items():
            entries.setdefault(name, pair)
        if keys is not None:
            for name, (key_node, _) in entries.items():
                if name not in keys:
                    path = f"{key}.{name}" if key else name
                    self.problem(key_node, path, self._unknown(name, keys))
            note = self.missing_key_note(key)
            for name in keys if required is None else required:
                if name not in entries:
                    path = f"{key}.{name}" if key else name
                    self.problem(node, path, f"required key {name!r} is missing{note}")
        for name, (key_node, _) in entries.items():
            self.lines[f"{key}.{name}" if key else name] = line_of(key_node)
        return entries

    def _merge_sources(self, merge_key: Node, node: Node, key: str) -> Entries:
        """The entries a ``<<`` key merges in (problems are reported at the ``<<``: an alias has no line).

        The loader refuses a mapping that merges itself, so this never loops.
        """
        sources = node.value if isinstance(node, SequenceNode) else [node]
        result: Entries = {}
        for source in sources:
            if not isinstance(source, MappingNode):
                self.problem(
                    merge_key, key, "a '<<' merge key needs a mapping (or a list of mappings) to merge"
                )
                continue
            for name, pair in (self.mapping(source, key, None) or {}).items():
                result.setdefault(name, pair)
        return result

    def _unknown(self, name: str, keys: Sequence[str]) -> str:
        message = f"unknown key {name!r}"
        hint = did_you_mean(name, keys)
        if hint:
            return message + hint
        homes = self.homes.get(name, [])  # never this mapping: the key would be known here
        if homes:
            return f"{message}: {name!r} belongs under {' or '.join(homes)}"
        return f"{message} (allowed here: {', '.join(keys)})"

    def sequence(self, node: Node, key: str, what: str) -> list[Node] | None:
        if isinstance(node, SequenceNode):
            return list(node.value)
        hint = " (write [] for none)" if node.tag == NULL_TAG else ""
        self.problem(node, key, f"expected a list of {what}, got {describe(node)}{hint}")
        return None

    # -- scalars -------------------------------------------------------------------------
    def scalar(self, node: Node, key: str, expected: str) -> ScalarNode | None:
        if not isinstance(node, ScalarNode) or node.tag == NULL_TAG:
            self.problem(node, key, f"expected {expected}, got {describe(node)}")
            return None
        if node.tag.startswith("!"):
            self.problem(node, key, f"custom tag {node.tag} is not supported here; expected {expected}")
            return None
        return node

    def scalar_text(self, node: Node, key: str, expected: str) -> str | None:
        scalar = self.scalar(node, key, expected)
        return None if scalar is None else str(scalar.value)

    def boolean(self, node: Node, key: str) -> bool | None:
        scalar = self.scalar(node, key, "true or false")
        if scalar is None:
            return None
        text, plain = str(scalar.value), scalar.style is None
        if plain and text in _TRUE:
            return True
        if plain and text in _FALSE:
            return False
        if plain and text.lower() in _YAML11_BOOLS:
            self.problem(
                node,
                key,
                f"{text!r} is a YAML 1.1 boolean that YAML 1.2 tools (yq, GitHub) read as a string; "
                "write true or false",
            )
        elif not plain and text.lower() in ("true", "false", *_YAML11_BOOLS):
            self.problem(
                node, key, f"{text!r} is quoted, so it is a string; write true or false without quotes"
            )
        else:
            self.problem(node, key, f"expected true or false, got {describe(node)}")
        return None

    def integer(self, node: Node, key: str, minimum: int, maximum: int, unit: str = "") -> int | None:
        what = f"a whole number of {unit}" if unit else "a whole number"
        scalar = self.scalar(node, key, what)
        if scalar is None:
            return None
        text = str(scalar.value)
        if scalar.style is not None or not _INT.fullmatch(text):
            quoted = " (it is quoted: remove the quotes)" if scalar.style is not None else ""
            self.problem(node, key, f"expected {what} in decimal digits, got {describe(node)}{quoted}")
            return None
        if len(text) > 30:  # past any limit a schema sets, and short of int()'s 4,300-digit refusal
            limit = f"use {minimum}..{maximum} {unit}".rstrip()
            self.problem(node, key, f"{text[:12]}... is out of range: {limit}")
            return None
        value = int(text)
        if not minimum <= value <= maximum:
            self.problem(node, key, f"{value} is out of range: use {minimum}..{maximum} {unit}".rstrip())
            return None
        return value

    def string(self, node: Node, key: str, what: str, pattern: re.Pattern[str] | None = None) -> str | None:
        scalar = self.scalar(node, key, what)
        if scalar is None:
            return None
        text = str(scalar.value)
        if scalar.style is None and scalar.tag != STR_TAG:
            self.problem(node, key, f'{text!r} is not read as text by YAML; quote it: {text!r} -> "{text}"')
            return None
        if not text.strip():
            self.problem(node, key, f"expected {what}, got an empty string")
            return None
        if pattern is not None and not pattern.fullmatch(text):
            self.problem(node, key, f"{text!r} is not {what}")
            return None
        return text
