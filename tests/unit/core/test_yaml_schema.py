"""gitops.core.yaml_schema: judging what a user wrote by its text, the way YAML 1.2 tools read it.

Booleans: the YAML 1.2.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution)
resolves only ``true|True|TRUE|false|False|FALSE``; YAML 1.1's ``yes/no/on/off/y/n`` are strings
there, so a file that relies on them means different things to PyYAML and to yq or GitHub.
Integers: the same schema's ``[-+]?[0-9]+`` (we also refuse the ``+``, which nothing needs).
"""

from __future__ import annotations

import pytest
from yaml.nodes import Node

from gitops.core import documents
from gitops.core.yaml_schema import SchemaReader

KIND = documents.DocumentKind(title="Invalid test input")


def only_problem(reader: SchemaReader, words: str | None) -> None:
    messages = [p.message for p in reader.problems]
    if words is None:
        assert messages == []
    else:
        assert len(messages) == 1 and words in messages[0], messages
        assert (reader.problems[0].file, reader.problems[0].line, reader.problems[0].key) == (
            "t.yaml",
            1,
            "v",
        )


def node(text: str) -> Node:
    root = documents.compose(f"v: {text}\n", "t.yaml", KIND).root
    assert root is not None
    value: Node = root.value[0][1]
    return value


@pytest.mark.parametrize(
    ("text", "value", "words"),
    [
        pytest.param("true", True, None, id="true"),
        pytest.param("False", False, None, id="False"),
        pytest.param("TRUE", True, None, id="TRUE"),
        pytest.param("yes", None, "YAML 1.1 boolean", id="yes"),
        pytest.param("off", None, "YAML 1.1 boolean", id="off"),
        pytest.param("Y", None, "YAML 1.1 boolean", id="Y"),
        pytest.param('"true"', None, "is quoted, so it is a string", id="quoted"),
        pytest.param("1", None, "expected true or false, got '1'", id="number"),
        pytest.param("", None, "expected true or false, got nothing (null)", id="null"),
        pytest.param("!flag true", None, "custom tag !flag", id="custom-tag"),
    ],
)
def test_booleans_are_yaml_1_2_booleans(text: str, value: bool | None, words: str | None) -> None:
    reader = SchemaReader("t.yaml")
    assert reader.boolean(node(text), "v") is value
    only_problem(reader, words)


@pytest.mark.parametrize(
    ("text", "value", "words"),
    [
        pytest.param("300", 300, None, id="decimal"),
        pytest.param("-1", None, "-1 is out of range: use 0..1000 seconds", id="below"),
        pytest.param('"300"', None, "it is quoted: remove the quotes", id="quoted"),
        pytest.param("0x12c", None, "in decimal digits", id="hex"),
        pytest.param("1_000", None, "in decimal digits", id="underscore"),
        pytest.param("9" * 5000, None, "is out of range", id="5000-digits"),
    ],
)
def test_integers_are_plain_decimal_digits(text: str, value: int | None, words: str | None) -> None:
    reader = SchemaReader("t.yaml")
    assert reader.integer(node(text), "v", 0, 1000, "seconds") == value
    only_problem(reader, words)


@pytest.mark.parametrize(
    ("text", "value", "words"),
    [
        pytest.param("main", "main", None, id="plain-text"),
        pytest.param('"2026"', "2026", None, id="quoted-number-is-text"),
        pytest.param("2026", None, "is not read as text by YAML; quote it", id="number"),
        pytest.param("on", None, "is not read as text by YAML; quote it", id="yaml11-bool"),
        pytest.param('""', None, "got an empty string", id="empty"),
    ],
)
def test_strings_are_what_yaml_reads_as_text(text: str, value: str | None, words: str | None) -> None:
    reader = SchemaReader("t.yaml")
    assert reader.string(node(text), "v", "a name") == value
    only_problem(reader, words)


def test_a_mapping_reports_duplicates_unknown_missing_and_misplaced_keys() -> None:
    text = "a: 1\nb: 2\na: 3\ntimezon: x\nwindow: y\n"
    root = documents.compose(text, "t.yaml", KIND, duplicates=True).root
    assert root is not None
    reader = SchemaReader("t.yaml", homes={"window": ["deployment_windows"]})
    entries = reader.mapping(root, "", ("a", "b", "timezone", "c"))
    assert entries is not None and sorted(entries) == ["a", "b", "timezon", "window"]
    found = {(p.key, p.line): p.message for p in reader.problems}
    assert found[("a", 3)].startswith("duplicate key 'a' (first at line 1)")
    assert found[("timezon", 4)] == "unknown key 'timezon'; did you mean 'timezone'?"
    assert found[("window", 5)] == "unknown key 'window': 'window' belongs under deployment_windows"
    assert found[("c", 1)] == "required key 'c' is missing"
    assert found[("timezone", 1)] == "required key 'timezone' is missing"


def test_merge_keys_fill_in_and_explicit_keys_win() -> None:
    text = "base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  y: 3\n"
    root = documents.compose(text, "t.yaml", KIND).root
    assert root is not None
    reader = SchemaReader("t.yaml")
    top = reader.mapping(root, "", None)
    assert top is not None
    thing = reader.mapping(top["thing"][1], "thing", ("x", "y"))
    assert thing is not None and not reader.problems
    assert {k: v[1].value for k, v in thing.items()} == {"y": "3", "x": "1"}
