"""gitops.operations.rendering: manifest loading/dumping and render_overlay without kustomize (masking
every form of a value: tests/unit/adapters/test_runner.py, tests/unit/core/test_redaction.py)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gitops.adapters import runner
from gitops.adapters.runner import Runner
from gitops.errors import ConfigurationError
from gitops.operations.rendering import dump_manifests, load_manifests, render_overlay

PH = "StrongBase64Password"
PH64 = base64.b64encode(PH.encode()).decode()

MANIFESTS = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  D: {PH64}
stringData:
  S: {PH}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  started: 2024-01-01
  quoted: "on"
"""


# -- load_manifests ------------------------------------------------------------------------


def test_load_skips_empty_documents_and_keeps_dates_as_strings() -> None:
    docs = load_manifests("---\n" + MANIFESTS + "---\n---\n", "test")
    assert [d["kind"] for d in docs] == ["Secret", "ConfigMap"]
    assert docs[1]["data"] == {"started": "2024-01-01", "quoted": "on"}


def test_load_expands_lists_like_kubectl() -> None:
    item = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}'
    text = f'{{"apiVersion": "v1", "kind": "List", "items": [{item}]}}'
    assert [d["metadata"]["name"] for d in load_manifests(text, "list.json")] == ["a"]


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        pytest.param("apiVersion: v1\nkind: [\n", 3, "not valid YAML", id="syntax"),
        pytest.param(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: a\n",
            4,
            "a tab character at line 4, column 1 (YAML indents with spaces only)",
            id="tab",
        ),
        pytest.param("- a\n- b\n", 1, "a document must be a mapping, not list", id="not-a-mapping"),
        pytest.param("---\nkind: X\nmetadata: {name: a}\n", 2, "object lacks apiVersion", id="no-apiversion"),
        pytest.param(
            "apiVersion: v1\nkind: X\nmetadata: {}\n", 1, "object lacks metadata.name", id="no-name"
        ),
    ],
)
def test_load_reports_problems_with_source_and_line(text: str, line: int, expected: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_manifests(text, "manifests.yaml")
    (problem,) = info.value.problems
    assert (problem.file, problem.line) == ("manifests.yaml", line)
    assert expected in problem.message


def test_a_tab_gets_the_tab_fix_not_the_object_shape_hint() -> None:
    with pytest.raises(ConfigurationError) as info:
        load_manifests("kind: ConfigMap\nmetadata:\n\tname: a\n", "m.yaml")
    assert info.value.hint == "replace the tab at line 3, column 1 with spaces"


def test_every_bad_document_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as info:
        load_manifests("kind: A\n---\nkind: B\n", "m.yaml")
    assert [p.line for p in info.value.problems] == [1, 3]


# -- dump_manifests ------------------------------------------------------------------------


def test_dump_keeps_key_order_and_quotes_what_yaml_11_would_misread() -> None:
    obj = {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "x"},
        "data": {"a": "yes", "b": "0755"},
    }
    text = dump_manifests([obj])
    assert text.startswith("---\nkind: ConfigMap\napiVersion: v1\n")
    assert "a: 'yes'" in text
    assert "b: '0755'" in text
    assert load_manifests(text, "t") == [obj]


def test_dump_never_folds_long_lines() -> None:
    value = "word " * 200
    text = dump_manifests(
        [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"v": value}}]
    )
    assert value.strip() in text


def test_dump_escapes_unicode_line_breaks() -> None:
    text = dump_manifests(
        [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"v": "a\x85b"}}]
    )
    assert '"a\\Nb"' in text
    assert "\x85" not in text


def test_dump_of_nothing_is_empty() -> None:
    assert dump_manifests([]) == ""


# -- render_overlay (kustomize output given directly) ---------------------------------------


def test_render_overlay_substitutes_and_masks_before_returning(tmp_path: Path) -> None:
    run = runner.reset(Runner(env={}))
    env = {"D": "dee-value", "S": "ess-value", "UNRELATED": "unrelated"}
    rendered = render_overlay(tmp_path, env, manifests=MANIFESTS)
    assert rendered.objects[0]["data"] == {"D": base64.b64encode(b"dee-value").decode()}
    assert rendered.objects[0]["stringData"] == {"S": "ess-value"}
    assert sorted(rendered.secret_values) == ["dee-value", "ess-value"]
    assert [(n.secret, n.key, n.variable, n.is_set) for n in rendered.needed] == [
        ("creds", "D", "D", True),
        ("creds", "S", "S", True),
    ]
    encoded = base64.b64encode(b"dee-value").decode()
    # only used values are masked
    assert run.redact(f"dee-value ess-value {encoded} unrelated") == "*** *** *** unrelated"
    assert "dee-value" not in repr(rendered)
    assert "ess-value" not in repr(rendered)


def test_render_overlay_without_substitution_reads_no_values(tmp_path: Path) -> None:
    run = runner.reset(Runner(env={}))
    rendered = render_overlay(tmp_path, {"D": "dee"}, manifests=MANIFESTS, substitute_values=False)
    assert rendered.objects[0]["stringData"] == {"S": PH}
    assert rendered.secret_values == []
    assert [(n.variable, n.state) for n in rendered.needed] == [("D", "set"), ("S", "unset")]
    assert run.redact("dee") == "dee"  # nothing read, nothing masked


def test_render_overlay_missing_variable_is_one_error_naming_the_overlay(tmp_path: Path) -> None:
    runner.reset(Runner(env={}))
    with pytest.raises(ConfigurationError) as info:
        render_overlay(tmp_path, {"D": "dee"}, manifests=MANIFESTS)
    assert str(tmp_path) in info.value.message or tmp_path.name in info.value.message
    assert [str(p) for p in info.value.problems] == [
        "variable S is not set: Secret creds, key S (stringData)"
    ]


def test_render_overlay_reads_the_secret_map(tmp_path: Path) -> None:
    runner.reset(Runner(env={}))
    smap = tmp_path / "map.yaml"
    smap.write_text('creds: {"$.stringData.S": OTHER}\n', encoding="utf-8")
    rendered = render_overlay(tmp_path, {"D": "1", "OTHER": "2"}, manifests=MANIFESTS, secret_map=smap)
    assert rendered.objects[0]["stringData"] == {"S": "2"}


def test_render_overlay_names_an_unreadable_secret_map(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        render_overlay(tmp_path, {}, manifests=MANIFESTS, secret_map=tmp_path / "nope.yaml")
    assert info.value.key == "--secret-map"
    assert "nope.yaml" in (info.value.file or "")


def test_render_overlay_map_that_does_not_fit_fails_even_without_values(tmp_path: Path) -> None:
    smap = tmp_path / "map.yaml"
    smap.write_text('creds: {"$.stringData.NOPE": X}\n', encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        render_overlay(tmp_path, {}, manifests=MANIFESTS, secret_map=smap, substitute_values=False)
    assert "selects nothing in Secret creds" in str(info.value)


def test_render_overlay_names_given_manifests_by_their_source() -> None:
    with pytest.raises(ConfigurationError) as info:
        render_overlay(Path("manifests.yaml"), {}, manifests="kind: X\n")
    assert info.value.file == "manifests.yaml"
