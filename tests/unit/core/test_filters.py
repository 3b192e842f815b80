"""gitops.core.filters: dorny/paths-filter syntax, '!' exclusions, statuses (the globs: test_globs.py)."""

from __future__ import annotations

import pytest

from gitops.core.change_map import FileChange
from gitops.core.filters import evaluate, every_filter, parse_filters
from gitops.errors import ConfigurationError

CHANGES = [
    FileChange("added", "backend/api.py"),
    FileChange("modified", "backend/README.md"),
    FileChange("deleted", "frontend/app.js"),
    FileChange("modified", "common/util.py"),
    FileChange("renamed", "docs/new.md", "docs/old.md"),
    FileChange("modified", ".github/workflows/ci.yml"),
]


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        pytest.param(
            "backend: 'backend/**'", {"backend": ["backend/api.py", "backend/README.md"]}, id="single-glob"
        ),
        pytest.param(
            "backend:\n  - 'backend/**'\n  - '!**/*.md'",
            {"backend": ["backend/api.py"]},
            id="exclusion",
        ),
        pytest.param(
            "backend:\n  - '!**/*.md'\n  - 'backend/**'",
            {"backend": ["backend/api.py"]},
            id="exclusion-order-does-not-matter",
        ),
        pytest.param(
            "shared: &shared\n  - 'common/**'\nsrc:\n  - *shared\n  - 'backend/*.py'",
            {"shared": ["common/util.py"], "src": ["backend/api.py", "common/util.py"]},
            id="anchor-alias-nested-list",
        ),
        pytest.param(
            "lint:\n  - added|modified: '**/*.py'",
            {"lint": ["backend/api.py", "common/util.py"]},
            id="combined-status",
        ),
        pytest.param(
            "gone:\n  - deleted: '**'",
            {"gone": ["frontend/app.js", "docs/old.md"]},
            id="deleted-includes-rename-source",
        ),
        pytest.param(
            "new:\n  - added: 'docs/**'",
            {"new": ["docs/new.md"]},
            id="added-includes-rename-target",
        ),
        pytest.param(
            "moved:\n  - renamed: '**'", {"moved": ["docs/new.md", "docs/old.md"]}, id="renamed-both"
        ),
        pytest.param(
            "shared: &shared\n  - 'common/**'\n  - 'backend/**'\nx:\n  - ADDED | Modified: *shared",
            {
                "shared": ["backend/api.py", "backend/README.md", "common/util.py"],
                "x": ["backend/api.py", "backend/README.md", "common/util.py"],
            },
            id="status-with-alias-list-case-and-spaces",
        ),
        pytest.param(
            "x:\n  - '**'\n  - deleted: '!frontend/**'",
            {
                "x": [
                    "backend/api.py",
                    "backend/README.md",
                    "common/util.py",
                    "docs/new.md",
                    "docs/old.md",
                    ".github/workflows/ci.yml",
                ]
            },
            id="status-scoped-exclusion",
        ),
        pytest.param("ci: '.github/**'", {"ci": [".github/workflows/ci.yml"]}, id="dot-true"),
        pytest.param("none: 'nothing/**'", {"none": []}, id="no-match"),
        pytest.param(
            "neg-ext: '!(backend)/**'",
            {
                "neg-ext": [
                    "frontend/app.js",
                    "common/util.py",
                    "docs/new.md",
                    "docs/old.md",
                    ".github/workflows/ci.yml",
                ]
            },
            id="extglob-bang-is-not-exclusion",
        ),
    ],
)
def test_filters(yaml_text: str, expected: dict[str, list[str]]) -> None:
    result = evaluate(parse_filters(yaml_text), CHANGES)
    # in git's path order, as paths-filter lists them (`git diff` sorts by path)
    assert {name: outcome["files"] for name, outcome in result.items()} == {
        name: sorted(files) for name, files in expected.items()
    }
    assert {name: outcome["changed"] for name, outcome in result.items()} == {
        k: bool(v) for k, v in expected.items()
    }


def test_every_filter_counts_without_files() -> None:
    assert every_filter(parse_filters("a: x\nb: y")) == {
        "a": {"changed": True, "files": []},
        "b": {"changed": True, "files": []},
    }


@pytest.mark.parametrize(
    ("yaml_text", "line", "needle"),
    [
        pytest.param("a:\n  - 'x'\n  - [unclosed", 3, "not valid YAML", id="syntax"),
        pytest.param("a:\n  - *x/**", 2, "not valid YAML", id="unquoted-star"),
        pytest.param("a:\n  - !docs/**\n", 2, "quote globs that start with '!'", id="unquoted-bang-is-a-tag"),
        pytest.param("- a\n- b", 1, "mapping of filter names", id="root-is-list"),
        pytest.param("just a string", 1, "mapping of filter names", id="root-is-scalar"),
        pytest.param("", None, "mapping of filter names", id="empty"),
        pytest.param("a:\n  - 'x'\n  - adde|modified: 'y'", 3, "did you mean 'added'", id="status-typo"),
        pytest.param("a:\n  - '!docs/**'", 2, "only exclusions", id="only-exclusions"),
        pytest.param("a:\n  -\n", 2, "empty glob", id="empty-glob"),
        pytest.param("'a=b': x", 1, "cannot be a step output name", id="name-with-equals"),
        pytest.param('"a\\nb": x', 1, "cannot be a step output name", id="name-with-line-break"),
        pytest.param("? [a, b]\n: x", 1, "cannot be a step output name", id="name-not-a-scalar"),
        pytest.param("a: x\nb: y\na: z", 3, "defined twice", id="duplicate"),
        pytest.param("a:\n  - added:\n      deleted: x", 3, "status key's value", id="nested-status"),
        pytest.param("a: 'x'\n---\nb: y", 2, "not valid YAML", id="two-documents"),
    ],
)
def test_invalid_filters_name_the_line(yaml_text: str, line: int | None, needle: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_filters(yaml_text, source=".github/filters.yaml")
    error = info.value
    assert needle in str(error)
    assert error.line == line
    assert error.file == ".github/filters.yaml"
    assert error.hint


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_filters("a:\n  - addd: x\nb:\n  - '!y'\n")
    assert [p.line for p in info.value.problems] == [2, 4]


# Issue 12, defect 6: dorny/paths-filter takes any YAML key as a filter name (js-yaml keys are
# strings) and sets outputs named after it; before the fix the whole filter set was refused.
@pytest.mark.parametrize(
    ("yaml_text", "names"),
    [
        pytest.param("web.app: 'web/**'", ["web.app"], id="dot"),
        pytest.param("1-api: 'api/**'", ["1-api"], id="leading-digit"),
        pytest.param("'my filter': x", ["my filter"], id="space"),
        pytest.param("1: x\ntrue: y", ["1", "true"], id="non-string-scalars-as-written"),
        pytest.param("Backend: x\nbackend: y", ["Backend", "backend"], id="case-sensitive"),
    ],
)
def test_any_yaml_key_is_a_filter_name(yaml_text: str, names: list[str]) -> None:
    assert [f.name for f in parse_filters(yaml_text)] == names
