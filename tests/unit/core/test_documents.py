"""gitops.core.documents: one bounded, line-aware reader for every YAML and JSON input.

Expected values come from the peers the loader must agree with or be as strict as: PyYAML's own
``safe_load`` (the data of every good document, read side by side), go-yaml as kubectl uses it
(gopkg.in/yaml.v3 decode.go: "document contains excessive aliasing", "anchor 'x' value contains
itself", "exceeded max depth of 10000"), Python's ``json`` and RFC 8259.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from gitops.core import documents
from gitops.core.documents import DocumentError, DocumentKind, Limits

ROOT = Path(__file__).resolve().parents[3]
KIND = DocumentKind(title="Invalid test input", message="the input is {problem}", hint="fix it")
MANIFESTS = DocumentKind(title="Invalid manifests", limits=documents.MANIFESTS, dates=False)
PAYLOAD = DocumentKind(title="Invalid payload", limits=documents.PAYLOAD)

GOOD_YAML = sorted(
    [
        *ROOT.glob("infra/**/*.yaml"),
        *ROOT.glob("tests/fixtures/render/**/*.yaml"),
        ROOT / "action.yml",
        *ROOT.glob("actions/*/action.yml"),
        *ROOT.glob(".github/workflows/*.yml"),
    ]
)


def laughs(levels: int, fanout: int = 10) -> str:
    lines = ["a0: &a0 x"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fanout) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def refused(text: str, kind: DocumentKind = KIND) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        documents.load(text, "in.yaml", kind)
    return info.value


# -- agreement with PyYAML on every real document -----------------------------------------------


def test_the_corpus_is_real() -> None:
    assert len(GOOD_YAML) >= 40


@pytest.mark.parametrize("path", GOOD_YAML, ids=[str(p.relative_to(ROOT)) for p in GOOD_YAML])
def test_every_real_document_reads_as_safe_load_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    ours = [d.data for d in documents.compose_all(text, str(path), KIND)]
    assert ours == list(yaml.safe_load_all(text))


def test_manifests_keep_dates_as_text_and_the_rest_as_safe_load() -> None:
    text = 'a: 2024-01-01\nb: "on"\nc: on\nd: 0x1F\ne: ~\nf: [1, 1.5, -2]\n'
    data = documents.load(text, None, MANIFESTS)
    expected = yaml.safe_load(text)
    expected["a"] = "2024-01-01"  # Kubernetes reads an unquoted date as a string
    assert data == expected
    assert documents.load(text, None, KIND)["a"] == yaml.safe_load(text)["a"]  # a date elsewhere


def test_merge_keys_merge_as_safe_load_merges_them() -> None:
    text = "base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  y: 3\n"
    assert (
        documents.load(text, None, KIND)
        == yaml.safe_load(text)
        == {
            "base": {"x": 1, "y": 2},
            "thing": {"x": 1, "y": 3},
        }
    )


def test_aliases_share_one_object_instead_of_copying() -> None:
    data = documents.load("a: &a [1, 2]\nb: *a\n", None, KIND)
    assert data["a"] is data["b"]


# -- marks --------------------------------------------------------------------------------------


def test_lines_of_nested_keys_and_list_items() -> None:
    doc = documents.compose("a:\n  b:\n    - c: 1\n      d: 2\n  e: x\n", "f.yaml", KIND)
    assert doc.line(("a", "b", 0, "d")) == 4
    assert doc.line(("a", "e")) == 5
    assert doc.line(("a", "missing")) == 2  # the deepest existing ancestor: the value of `a`
    assert doc.line(()) == 1


def test_every_document_of_a_stream_knows_where_it_starts() -> None:
    docs = documents.compose_all("a: 1\n---\nb: 2\n---\n# only a comment\n", "s.yaml", KIND)
    assert [(d.start_line, d.data) for d in docs] == [(1, {"a": 1}), (2, {"b": 2}), (4, None)]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param("a: b: c\n", 1, "mapping values are not allowed", id="colon-in-plain-value"),
        pytest.param("a:\n\tb: 1\n", 2, "a tab character at line 2, column 1", id="tab"),
        # where the text ends (libyaml would say line 4: it reads a missing final newline)
        pytest.param("a:\n  - 'x'\n  - [unclosed", 3, "did not find expected", id="unclosed-at-eof"),
        pytest.param('k: "open\n', 2, "found unexpected end of stream", id="unterminated-quote"),
        pytest.param("a: *nope\n", 1, "found undefined alias 'nope'", id="undefined-alias"),
        pytest.param(
            "a: &x 1\nb: &x 2\n", 2, "found duplicate anchor 'x' (first at line 1)", id="dup-anchor"
        ),
        pytest.param("a: 1\n---\nb: 2\n", 2, "expected one document, found 2", id="two-documents"),
        pytest.param(
            "a: !!python/object:os.system {}\n", 1, "could not determine a constructor", id="python"
        ),
        pytest.param("d: 2026-13-45\n", 1, "month must be in 1..12", id="impossible-date"),
        pytest.param("n: " + "7" * 5000 + "\n", 1, "Exceeds the limit (4300 digits)", id="huge-number"),
    ],
)
def test_syntax_errors_name_the_line_and_never_quote_the_text(text: str, line: int, words: str) -> None:
    error = refused(text)
    assert error.line == line
    assert words in error.message
    assert error.message.startswith("the input is not valid YAML: ")
    assert error.file == "in.yaml" and error.title == "Invalid test input"
    assert [str(p) for p in error.problems] == [
        f"in.yaml:{line}{' ' + error.key if error.key else ''}: {error.message}"
    ]


def test_an_error_never_quotes_the_document() -> None:
    secret = "tok3n-Zq9-do-not-print"
    for text in (f"token: {secret}\n  bad: [", f"token: {secret}: x\n", f"\ttoken: {secret}\n"):
        error = refused(text)
        assert secret not in str(error) and all(secret not in str(p) for p in error.problems)


# -- limits -------------------------------------------------------------------------------------


def test_a_billion_laughs_is_refused_at_once_where_the_budget_runs_out() -> None:
    started = time.monotonic()
    error = refused(laughs(9))
    assert time.monotonic() - started < 1.0
    assert "not safe to read: its aliases expand to more than 10,000 nodes" in error.message
    assert (error.line, error.key) == (5, "a4[7]")  # 1,230 + 8 x 1,111 > 10,000 at the 8th alias of a4


@pytest.mark.parametrize(
    ("levels", "accepted"),
    [
        # go-yaml v3 (allowedAliasRatio) accepts the 3-level document and refuses the 4-level one
        pytest.param(3, True, id="3-levels-1230-alias-nodes"),
        pytest.param(4, False, id="4-levels-12340-alias-nodes"),
    ],
)
def test_alias_expansion_is_bounded_like_go_yaml(levels: int, accepted: bool) -> None:
    if accepted:
        assert documents.load(laughs(levels), None, KIND)[f"a{levels}"][0] is not None
    else:
        assert "billion laughs" in refused(laughs(levels)).message


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        pytest.param("a: &x\n  b: *x\n", 2, "a.b", id="mapping-contains-itself"),
        pytest.param("a: &x [1, *x]\n", 1, "a[1]", id="list-contains-itself"),
        pytest.param("a: &x\n  <<: *x\n  b: 1\n", 2, "a", id="merge-of-itself"),
    ],
)
def test_an_alias_inside_the_node_it_names_is_refused(text: str, line: int, key: str) -> None:
    error = refused(text)  # go-yaml: "anchor 'x' value contains itself"
    assert "not safe to read: the alias *x refers to the" in error.message
    assert "it is in" in error.message
    assert (error.line, error.key) == (line, key)


def test_nesting_is_limited_without_recursion() -> None:
    def block(depth: int) -> str:
        return "".join("  " * i + "-\n" for i in range(depth - 1)) + "  " * (depth - 1) + "- x\n"

    assert documents.load(block(100), None, KIND) is not None
    error = refused(block(101))
    assert error.message == "the input is nested too deeply: more than 100 levels"
    assert error.line == 101
    deep = refused("[" * 100_000)  # libyaml stops flow nesting at 1,000 levels
    assert "not valid YAML" in deep.message and deep.line == 1


def test_size_is_checked_before_parsing() -> None:
    small = DocumentKind(title="Invalid", limits=Limits(max_bytes=100))
    error = refused("a: " + "x" * 200 + "\n", small)
    assert error.message == "too large: 204 bytes (at most 100 are read)"
    assert documents.load("a: é\n", None, DocumentKind(title="x", limits=Limits(max_bytes=6))) == {"a": "é"}
    with pytest.raises(DocumentError, match="8 bytes"):  # counted in UTF-8 bytes, not characters
        documents.load("a: éé\n", None, DocumentKind(title="x", limits=Limits(max_bytes=6)))


def test_the_number_of_values_is_limited() -> None:
    few = DocumentKind(title="Invalid", limits=Limits(max_bytes=10_000, max_nodes=50))
    assert "too large: more than 50 values" in refused("[" + "1," * 60 + "]", few).message


# -- duplicate keys -----------------------------------------------------------------------------


def test_duplicate_keys_are_refused_with_both_lines_and_the_key_path() -> None:
    error = refused("a:\n  b: 1\n  c: 2\n  b: 3\n")
    assert error.message.startswith("the input is ambiguous: key 'b' is defined twice in one mapping")
    assert "(lines 2 and 4)" in error.message
    assert (error.line, error.key, error.hint) == (4, "a.b", "keep exactly one of them")


def test_duplicate_keys_can_be_listed_for_a_schema_to_report() -> None:
    doc = documents.compose("x: 1\nitems:\n  - k: 1\n    k: 2\nx: 3\n", None, KIND, duplicates=True)
    assert [(d.path, d.line, d.first_line) for d in doc.duplicates] == [("items[0].k", 4, 3), ("x", 5, 1)]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1: a\n'1': b\n", id="int-and-string"),
        pytest.param("a: 1\n<<: {a: 2}\n", id="merged-key-is-overridden-not-duplicated"),
    ],
)
def test_keys_that_yaml_reads_as_different_are_not_duplicates(text: str) -> None:
    assert documents.load(text, None, KIND) == yaml.safe_load(text)


def test_keys_written_differently_but_read_alike_are_duplicates() -> None:
    assert "key 'a' is defined twice" in refused("a: 1\n'a': 2\n").message


# -- JSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"a": [1, 2.5, true, null, "x"], "b": {"c": "\\u00e9"}}', id="object"),
        pytest.param("[]", id="empty-list"),
        pytest.param('"text"', id="string"),
    ],
)
def test_json_reads_as_json_loads_reads_it(text: str) -> None:
    assert documents.parse_json(text, None, PAYLOAD) == json.loads(text)
    assert documents.parse_json(text.encode(), None, PAYLOAD) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "words", "line"),
    [
        pytest.param(
            "[" * 100_000 + "]" * 100_000, "nested too deeply: more than 100 levels", None, id="deep"
        ),
        pytest.param(
            '{"a":' * 101 + "1" + "}" * 101, "nested too deeply: more than 100 levels", None, id="101"
        ),
        pytest.param(
            '{"a": 1, "a": 2}', "ambiguous: key 'a' appears twice in one object", None, id="duplicate"
        ),
        pytest.param('{"a": NaN}', "NaN is not a JSON number", None, id="nan"),  # RFC 8259 section 6
        pytest.param('{"a": Infinity}', "Infinity is not a JSON number", None, id="infinity"),
        pytest.param('{\n  "a": 1,\n}', "Expecting property name", 3, id="trailing-comma"),
        pytest.param(b'{"a": "\xff"}', "not UTF-8 text", None, id="not-utf8"),
        pytest.param("1" * 5000, "Exceeds the limit (4300 digits)", None, id="huge-number"),
    ],
)
def test_bad_json_is_refused_clearly(text: str | bytes, words: str, line: int | None) -> None:
    with pytest.raises(DocumentError) as info:
        documents.parse_json(text, "event.json", PAYLOAD)
    assert words in info.value.message
    assert info.value.line == line and info.value.file == "event.json"


def test_json_depth_100_is_accepted_and_the_path_of_101_is_named() -> None:
    assert documents.parse_json('{"a":' * 100 + "1" + "}" * 100, None, PAYLOAD) is not None
    with pytest.raises(DocumentError) as info:
        documents.parse_json('{"a":' * 101 + "1" + "}" * 101, None, PAYLOAD)
    assert info.value.key == ".".join(["a"] * 100)


def test_a_flag_names_the_place_when_there_is_no_file() -> None:
    inputs = DocumentKind(title="Invalid workflow inputs", message="--inputs is {problem}", flag="--inputs")
    with pytest.raises(DocumentError) as info:
        documents.parse_json("{", None, inputs)
    assert (info.value.key, info.value.file) == ("--inputs", None)
    assert info.value.message.startswith("--inputs is not valid JSON: Expecting property name")
