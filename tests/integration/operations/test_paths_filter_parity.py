"""dorny/paths-filter v4.0.2's own tests, ported: every test of __tests__/filter.test.ts and
__tests__/git.test.ts, each case named after the dorny test it comes from.

The facts carry over (the filters, the changed files with their statuses, what must match);
the code does not. Where dorny calls its ``Filter`` class with a list of files, each case here
builds a real git repository in which those files have those statuses (a commit that creates
what must exist before, then one that adds, modifies and deletes), runs ``detect`` on the
range, and for the step outputs runs ``gitops changes`` as inside Actions.

paths-filter is not published on npm (checked: `npm view paths-filter` and `@dorny/paths-filter`
are 404), so these tests carry its expectations as cited data; benchmarks/bench_changes.py
--dorny DIR runs its dist/index.js side by side on the benchmark repository.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gitops.errors import ConfigurationError
from gitops.operations.change_detection import detect
from tests.support.actions import GhaEnv
from tests.support.git_repo import ZERO, GitRepo, git_repo  # noqa: F401

pytestmark = pytest.mark.integration

Change = tuple[str, str]  # (status, path): added | modified | deleted


def modified(*paths: str) -> list[Change]:
    """dorny filter.test.ts's modified() helper: every file with status 'modified'."""
    return [("modified", p) for p in paths]


def build(repo: GitRepo, changes: list[Change]) -> tuple[str, str]:
    """Two commits: the second gives each path its status; returns (base, head)."""
    before = {p: "before\n" for s, p in changes if s in ("modified", "deleted")}
    base = repo.commit("before", files={"unrelated.txt": "x\n", **before})
    after = {p: f"after {s}\n" for s, p in changes if s in ("modified", "added")}
    head = repo.commit("after", files=after, delete=tuple(p for s, p in changes if s == "deleted"))
    return base, head


@dataclass
class Case:
    filters: str
    changes: list[Change]
    expected: dict[str, list[str]]  # filter -> matching files (every other filter: none)
    quantifier: str = "some"


EVERY_FILTER = """
backend:
  - 'pkg/a/b/c/**'
  - '!**/*.jpeg'
  - '!**/*.md'
"""
TYPESCRIPT = ["pkg/a/b/c/some-class.ts", "pkg/a/b/c/src/main/some-class.ts"]
OTHER_PKG_TYPESCRIPT = ["pkg/x/y/z/some-class.ts", "pkg/x/y/z/src/main/some-class.ts"]
OTHER_PKG_JPEG = ["pkg/x/y/z/some-pic.jpeg", "pkg/x/y/z/src/main/jpeg/some-pic.jpeg"]
DOCS = [
    "pkg/a/b/c/some-pics.jpeg",
    "pkg/a/b/c/src/main/jpeg/some-pic.jpeg",
    "pkg/a/b/c/src/main/some-docs.md",
    "pkg/a/b/c/some-docs.md",
]
SHARED = """
shared: &shared
  - common/**/*
  - config/**/*
"""

FILTER_TESTS = [
    # describe('matching tests')
    pytest.param(
        Case('src: "src/**/*.js"', modified("src/app/module/file.js"), {"src": ["src/app/module/file.js"]}),
        id="matches single inline rule",
    ),
    pytest.param(
        Case(
            "src:\n  - src/**/*.js", modified("src/app/module/file.js"), {"src": ["src/app/module/file.js"]}
        ),
        id="matches single rule in single group",
    ),
    pytest.param(
        Case("src:\n  - src/**/*.js", modified("not_src/other_file.js"), {}),
        id="no match when file is in different folder",
    ),
    pytest.param(
        Case(
            "src:\n  - src/**/*.js\ntest:\n  - test/**/*.js",
            modified("test/test.js"),
            {"test": ["test/test.js"]},
        ),
        id="match only within second groups ",
    ),
    pytest.param(
        Case("src:\n  - src/**/*.js\n  - test/**/*.js", modified("test/test.js"), {"src": ["test/test.js"]}),
        id="match only withing second rule of single group",
    ),
    pytest.param(
        Case('any:\n  - "**"', modified("test/test.js"), {"any": ["test/test.js"]}),
        id="matches anything",
    ),
    pytest.param(
        Case('dot:\n  - "**/*.js"', modified(".test/.test.js"), {"dot": [".test/.test.js"]}),
        id="globbing matches path where file or folder name starts with dot",
    ),
    pytest.param(
        # dorny matches each file on its own; one commit with all three gives the same facts
        Case(
            "backend:\n  - '!(**/*.tsx|**/*.less)'",
            modified("src/ui.tsx", "src/ui.less", "src/server.py"),
            {"backend": ["src/server.py"]},
        ),
        id="matches all except tsx and less files (negate a group with or-ed parts)",
    ),
    pytest.param(
        Case(
            EVERY_FILTER,
            modified(*TYPESCRIPT, *OTHER_PKG_TYPESCRIPT, *OTHER_PKG_JPEG, *DOCS),
            {"backend": TYPESCRIPT},
            quantifier="every",
        ),
        id="matches only files that are matching EVERY pattern when set to PredicateQuantifier.EVERY",
    ),
    pytest.param(
        Case(
            SHARED + "src:\n  - *shared\n  - src/**/*",
            modified("config/settings.yml"),
            {"shared": ["config/settings.yml"], "src": ["config/settings.yml"]},
        ),
        id="matches path based on rules included using YAML anchor",
    ),
    # describe('matching specific change status')
    pytest.param(
        Case('add:\n  - added: "**/*"', modified("file.js"), {}),
        id="does not match modified file as added",
    ),
    pytest.param(
        Case('add:\n  - added: "**/*"', [("added", "file.js")], {"add": ["file.js"]}),
        id="match added file as added",
    ),
    pytest.param(
        Case('addOrModify:\n  - added|modified: "**/*"', modified("file.js"), {"addOrModify": ["file.js"]}),
        id="matches when multiple statuses are configured",
    ),
    pytest.param(
        Case(
            SHARED + "src:\n  - modified: *shared",
            modified("config/file.js", "common/anotherFile.js"),
            {
                "shared": ["common/anotherFile.js", "config/file.js"],
                "src": ["common/anotherFile.js", "config/file.js"],
            },
        ),
        id="matches when using an anchor",
    ),
]


@pytest.mark.parametrize("case", FILTER_TESTS)
def test_filter_test_ts(git_repo: GitRepo, case: Case) -> None:  # noqa: F811
    base, head = build(git_repo, case.changes)
    report = detect(
        git_repo.path, base=base, head=head, filters=case.filters, predicate_quantifier=case.quantifier
    )
    got = {name: outcome["files"] for name, outcome in report.filters.items() if outcome["files"]}
    assert got == case.expected
    assert all(outcome["changed"] == bool(outcome["files"]) for outcome in report.filters.values())


def test_filter_test_ts_outputs_in_actions(git_repo: GitRepo, gha_env: GhaEnv, cli: Any) -> None:  # noqa: F811
    """The EVERY case again, as step outputs: paths-filter's main.ts exportResults() sets
    `<name>` ('true'/'false'), `<name>_count` and `changes` (JSON list of matching filters)."""
    base, head = build(git_repo, modified(*TYPESCRIPT, *DOCS))
    filters = EVERY_FILTER + "docs: '**/*.md'\nnone: 'nothing/**'"
    argv = ["changes", "--repo", str(git_repo.path), "--base", base, "--head", head, "--filters", filters]
    result = cli([*argv, "--predicate-quantifier", "every", "--list-files", "json"])
    assert result.code == 0, result.output
    out = gha_env.outputs()
    assert (out["backend"], out["backend_count"]) == ("true", "2")
    assert json.loads(out["backend_files"]) == TYPESCRIPT
    assert (out["docs"], out["docs_count"]) == ("true", "2")
    assert (out["none"], out["none_count"], out["none_files"]) == ("false", "0", "[]")
    assert out["changes"] == '["backend","docs"]'  # JSON.stringify's bytes: no spaces


@pytest.mark.parametrize(
    ("filters", "needle"),
    [
        # describe('yaml filter parsing tests'); dorny: toThrow(/^Invalid filter.*/)
        pytest.param("not a dictionary", "must be a YAML mapping", id="throws if yaml is not a dictionary"),
        pytest.param(
            "src:\n  - src/**/*.js\n  - dict:\n      some: value\n",
            "unknown change status 'dict'",
            id="throws if pattern is not a string",
        ),
    ],
)
def test_filter_test_ts_yaml_parsing(git_repo: GitRepo, filters: str, needle: str) -> None:  # noqa: F811
    build(git_repo, modified("src/a.js"))
    path = git_repo.path / "filters.yaml"
    path.write_text(filters, encoding="utf-8")  # a file: "not a dictionary" inline would name one
    with pytest.raises(ConfigurationError) as info:
        detect(git_repo.path, filters=str(path))
    assert needle in str(info.value)
    assert info.value.title == "Invalid filters"


# -- __tests__/git.test.ts ----------------------------------------------------------------------


def test_parse_git_diff_output_returns_files_with_correct_change_status(git_repo: GitRepo) -> None:  # noqa: F811
    """'parseGitDiffOutput returns files with correct change status': A LICENSE, M src/index.ts,
    D src/main.ts (there a hand-written `git diff -z` output; here the real one)."""
    base, head = build(
        git_repo, [("added", "LICENSE"), ("modified", "src/index.ts"), ("deleted", "src/main.ts")]
    )
    report = detect(git_repo.path, base=base, head=head)
    assert [(c.path, c.status) for c in report.file_statuses] == [
        ("LICENSE", "added"),
        ("src/index.ts", "modified"),
        ("src/main.ts", "deleted"),
    ]


@pytest.mark.parametrize(
    ("ref", "shown"),
    [
        # 'Trims "refs/" and "heads/" from ref': only a full refs/heads/ or refs/tags/ prefix goes
        pytest.param("refs/heads/master", "new branch master", id="refs/heads/master"),
        pytest.param("heads/master", "new branch heads/master", id="heads/master"),
        pytest.param("master", "new branch master", id="master"),
        pytest.param("refs/tags/v1", "new tag v1", id="refs/tags/v1"),
        pytest.param("tags/v1", "new branch tags/v1", id="tags/v1"),
        pytest.param("v1", "new branch v1", id="v1"),
    ],
)
def test_trims_refs_heads_and_tags_from_ref(git_repo: GitRepo, ref: str, shown: str) -> None:  # noqa: F811
    _, head = build(git_repo, modified("src/a.js"))
    git_repo.push("main")
    event = git_repo.push_event(ZERO, head, ref=ref, default_branch="main")
    report = detect(git_repo.path, event_name="push", event_path=event)
    assert report.note is not None and f"push of a {shown}" in report.note


LONG_BRANCH = "This_is_very_long_name_for_a_branch_1111"


@pytest.mark.parametrize(
    ("base", "compared"),
    [
        # 'isGitSha(ref) returns true only for 40 characters of a-z and 0-9': a SHA compares the
        # two commits directly (git.ts getChanges, two dots); a branch name, even one 40
        # characters long, compares from the merge-base (getChangesSinceMergeBase, three dots)
        pytest.param("sha", "compared the trees", id="8b399ed1681b9efd6b1e048ca1c5cba47edf3855-like SHA"),
        pytest.param(LONG_BRANCH, "compared with their merge-base", id=LONG_BRANCH),
        pytest.param("master", "compared with their merge-base", id="master"),
    ],
)
def test_is_git_sha_decides_two_dots_or_merge_base(git_repo: GitRepo, base: str, compared: str) -> None:  # noqa: F811
    git_repo.commit("start", files={"a.txt": "a\n"})
    for branch in (LONG_BRANCH, "master"):
        git_repo.branch(branch)
        git_repo.commit(f"on {branch}", files={f"{branch}.txt": "x\n"})
        git_repo.checkout("main")
    git_repo.commit("main", files={"b.txt": "b\n"})
    rev = git_repo.rev(LONG_BRANCH) if base == "sha" else base
    assert (len(rev) == 40) is (base != "master")
    report = detect(git_repo.path, base=rev)
    assert report.note is not None and compared in report.note
    if base == "sha":  # the other branch's file is not in main's tree: it counts
        assert report.files == [f"{LONG_BRANCH}.txt", "b.txt"]
    else:
        assert report.files == ["b.txt"]


def test_list_files_formats_through_the_cli(git_repo: GitRepo, gha_env: GhaEnv, cli: Any) -> None:  # noqa: F811
    """main.ts serializeExport(): `<name>_files` only when list-files is not 'none'."""
    base, head = build(git_repo, [("added", "web/app/[slug]/page.tsx"), ("added", "web/a b.ts")])
    argv = [
        "changes",
        "--repo",
        str(git_repo.path),
        "--base",
        base,
        "--head",
        head,
        "--filters",
        "web: 'web/**'",
    ]
    assert cli(argv).code == 0
    assert "web_files" not in gha_env.outputs()
    assert gha_env.outputs()["web_count"] == "2"
    for fmt, expected in [
        ("csv", '"web/a b.ts","web/app/[slug]/page.tsx"'),
        ("shell", "'web/a b.ts' 'web/app/[slug]/page.tsx'"),
        ("escape", "web/a\\ b.ts web/app/\\[slug\\]/page.tsx"),
        ("json", '["web/a b.ts","web/app/[slug]/page.tsx"]'),
    ]:
        gha_env.output.write_text("")
        result = cli([*argv, "--list-files", fmt.upper()])  # main.ts lower-cases list-files
        assert result.code == 0, result.output
        assert gha_env.outputs()["web_files"] == expected, fmt


def test_changes_output_name_taken_by_a_filter_is_refused(git_repo: GitRepo, cli: Any) -> None:  # noqa: F811
    """main.ts skips the `changes` output when a filter is called 'changes'; we refuse the filter
    (a workflow reading `changes` would silently get the filter's 'true'/'false' otherwise)."""
    base, _ = build(git_repo, modified("a.js"))
    argv = ["changes", "--repo", str(git_repo.path), "--base", base, "--filters", "changes: '**'"]
    result = cli(argv)
    assert result.code == 1
    assert "filter 'changes': its output would overwrite a built-in output" in result.stderr


def test_working_directory_relative_filters_file(git_repo: GitRepo, tmp_path: Path) -> None:  # noqa: F811
    """main.ts isPathInput(): no newline and no ':' means a file path."""
    base, head = build(git_repo, modified("src/a.js"))
    (git_repo.path / ".github").mkdir()
    (git_repo.path / ".github" / "filters.yml").write_text("src: 'src/**'\n", encoding="utf-8")
    report = detect(git_repo.path, base=base, head=head, filters=".github/filters.yml")
    assert report.filters["src"]["files"] == ["src/a.js"]
