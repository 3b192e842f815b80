"""gitops.core.filters: dorny/paths-filter syntax, picomatch globs (dot: true), '!' exclusions."""

from __future__ import annotations

import pytest

from gitops.core.change_map import FileChange
from gitops.core.filters import GlobError, compile_glob, evaluate, every_filter, expand_braces, parse_filters
from gitops.errors import ConfigurationError

# (glob, path, matches). Expected values are what picomatch 2.3.1 (the version dorny/paths-filter
# v4.0.2 bundles) answers with {dot: true}, run side by side; the rows whose id starts with
# "deviation-" are our documented differences (README, "Differences from dorny/paths-filter").
GLOBS = [
    ("a/**", "a", True),
    ("a/**", "a/b/c", True),
    ("a/**", "ab", False),
    ("**/foo", "foo", True),
    ("**/foo", "x/y/foo", True),
    ("**/foo", "xfoo", False),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**/b", "a/xb", False),
    ("a/**/**/b", "a/b", True),
    ("*.md", "docs/a.md", False),
    ("*.md", "a.md", True),
    ("*.md", ".x.md", True),
    ("**/*.md", "docs/a.md", True),
    ("**/*.md", "a.md", True),
    ("**", ".github/x", True),
    ("**/*", ".a/b", True),
    ("a/**/*.yaml", "a/b/.c.yaml", True),
    ("**/.github/**", ".github/workflows/x.yml", True),
    ("./src/**", "src/a", True),
    ("*", "a/b", False),
    ("*", "a", True),
    ("a*", "a", True),
    ("a/*", "a/b", True),
    ("a/**b", "a/xb", True),
    ("a/**b", "a/x/b", False),
    ("?", "a", True),
    ("a?c", "abc", True),
    ("a?c", "a/c", False),
    ("FOO", "foo", False),
    ("a.b", "axb", False),
    ("a+b", "a+b", True),
    ("a$b", "a$b", True),
    ("a^b", "a^b", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("{a,b}/*", "a/x", True),
    ("{a,b}/*", "c/x", False),
    ("{a,b/c}/*", "b/c/x", True),
    ("{a,b}{c,d}", "bd", True),
    ("a{,.x}", "a", True),
    ("a{,.x}", "a.x", True),
    ("{a}", "{a}", True),
    ("{a}", "a", False),
    ("src/**/*.{js,ts}", "src/a/b.ts", True),
    ("src/**/*.{js,ts}", "src/b.js", True),
    ("src/**/*.{js,ts}", "src/b.css", False),
    ("*.{yml,yaml}", "a.yaml", True),
    ("x{1..3}", "x2", True),
    ("x{1..3}", "x4", False),
    ("x{a..c}", "xb", True),
    ("[[:alpha:]]", "x", True),
    ("[[:alpha:]]", "1", False),
    ("[[:digit:]][[:digit:]]", "12", True),
    ("[[:upper:]]*", "Abc", True),
    ("[a-c]x", "bx", True),
    ("[]a]", "]", True),
    ("[^a]", "b", True),
    ("[^a]", "a", False),
    ("*.[ch]", "x.c", True),
    ("a[b", "a[b", True),
    ("@(a|b).txt", "a.txt", True),
    ("@(a|b).txt", "c.txt", False),
    ("*(a|b)", "abab", True),
    ("+(a|b)", "abab", True),
    ("?(a|b)x", "x", True),
    ("?(a|b)x", "ax", True),
    ("*(a)b", "aaab", True),
    ("a*(b)", "a", True),
    ("(a|b)/c", "a/c", True),
    ("(a|b)/c", "ab/c", False),
    ("@(!(a)|b)c", "xc", True),
    ("!(*.md)", "a.js", True),
    ("!(*.md)", "a.md", False),
    ("!(a)", "ab", True),
    ("!(a)", "a", False),
    ("x/!(a)", "x/ab", True),
    ("x/!(a)", "x/a", False),
    ("a/!(b)/c", "a/x/c", True),
    ("a/!(b)/c", "a/b/c", False),
    ("a/!(b)/c", "a/bb/c", False),
    ("!(a)/b", "ba/b", True),
    ("!(a)/b", "ab/b", False),
    ("!(foo).js", "bar.js", True),
    ("!(foo).js", "foo.js", False),
    ("!(foo).js", "foo.x.js", False),
    ("a/!(b)*", "a/cb", True),
    ("a/!(b)*", "a/bc", False),
    ("x/!(*.md)/y", "x/a.js/y", True),
    ("x/!(*.md)/y", "x/a.md/y", False),
    ("x/!(a)/y/**", "x/b/y/z", True),
    ("x/!(a)/y/**", "x/a/y/z", False),
    ("infra/k8s/*/dev/**", "infra/k8s/hetzner/dev/k.yaml", True),
    ("infra/k8s/*/dev/**", "infra/k8s/hetzner/dev", True),
    ("**/cluster/**", "infra/k8s/hetzner/dev/cluster/c.yaml", True),
    ("!({a,b})", "a", False),
    ("!({a,b})", "c", True),
    ("@({a,b}|c).txt", "b.txt", True),
]
# Issue 12, defect 2: a negated extglob whose alternatives contain '/' or '**' is about the rest
# of the PATH, not one segment. Before the fix every row expecting True here was False.
NEGATED_PATHS = [
    # dorny filter.test.ts 'matches all except tsx and less files (negate a group with or-ed parts)'
    pytest.param("!(**/*.tsx|**/*.less)", "src/server.py", True, id="dorny-negate-group-py"),
    pytest.param("!(**/*.tsx|**/*.less)", "src/ui.tsx", False, id="dorny-negate-group-tsx"),
    pytest.param("!(**/*.tsx|**/*.less)", "src/ui.less", False, id="dorny-negate-group-less"),
    # picomatch 2.3.1 side by side
    pytest.param("!(src/**)", "docs/a.md", True, id="negate-dir-other-dir"),
    pytest.param("!(src/**)", "src/a/b.py", False, id="negate-dir-inside"),
    pytest.param("!(**/*.md)", "docs/a.py", True, id="negate-any-md-py"),
    pytest.param("!(**/*.md)", "docs/a.md", False, id="negate-any-md-md"),
    pytest.param("x/!(a/b)", "x/c/d", True, id="negate-after-prefix"),
    pytest.param("x/!(a/b)", "x/a/b", False, id="negate-after-prefix-rejects"),
    pytest.param("src/!(a/**)", "src/b/c.py", True, id="negate-subtree"),
    pytest.param("src/!(a/**)", "src/a/c.py", False, id="negate-subtree-rejects"),
    # picomatch answers True for these: inside its extglob, '**/' needs a '/' before the file
    # and '**' after a '|' spans one directory; we read every alternative as a whole glob.
    pytest.param("!(**/*.tsx|**/*.less)", "ui.tsx", False, id="deviation-negate-top-level-file"),
    pytest.param("!(**/*.tsx|**/*.less)", "a/b/ui.less", False, id="deviation-negate-second-alt-deep"),
    pytest.param("!(**/*.md)", "a.md", False, id="deviation-negate-any-md-top-level"),
    pytest.param("!(src/**)", "src", False, id="deviation-negate-dir-itself"),
    # picomatch compares '!(a/b)' with the whole rest of the path (it answers True): '/c' follows
    pytest.param("!(a/b)/c", "a/b/c", False, id="deviation-negate-then-more"),
    pytest.param("!(a/b)/c", "x/y/c", True, id="negate-then-more"),
    # picomatch never crosses '/' with '!(**.md)' (False); the issue asks '**' to mean paths
    pytest.param("!(**.md)", "a/b.md", True, id="deviation-negate-double-star-no-slash"),
    pytest.param("!(**.md)", "ab.md", False, id="negate-double-star-no-slash-rejects"),
]

# Issue 12, defect 3: picomatch matches a bracket expression literally too (when its content has
# no regex character), and a glob equal to the path always matches (picomatch.test: input === glob).
# Next.js / SvelteKit folder names. picomatch 2.3.1 side by side; before the fix all were False.
LITERALS = [
    pytest.param("web/app/[slug]/**", "web/app/[slug]/page.tsx", True, id="literal-bracket-dir"),
    pytest.param("web/app/[slug]/**", "web/app/s/page.tsx", True, id="bracket-still-a-class"),
    pytest.param("src/[id].ts", "src/[id].ts", True, id="literal-bracket-file"),
    pytest.param("**/[slug].tsx", "x/[slug].tsx", True, id="literal-bracket-after-globstar"),
    pytest.param("web/app/[...all]/page.tsx", "web/app/[...all]/page.tsx", True, id="equal-catch-all"),
    pytest.param("web/app/[...all]/**", "web/app/[...all]/page.tsx", False, id="catch-all-class-only"),
    pytest.param(
        "web/app/(marketing)/page.tsx", "web/app/(marketing)/page.tsx", True, id="equal-route-group"
    ),
    pytest.param("web/app/(marketing)/page.tsx", "web/app/marketing/page.tsx", True, id="group-is-a-group"),
    pytest.param("Copy (1).txt", "Copy (1).txt", True, id="equal-parentheses"),
    pytest.param("Copy (1).txt", "Copy 1.txt", True, id="parentheses-still-a-group"),
    pytest.param("[!a]", "[!a]", True, id="literal-bracket-negation-text"),
]

DEVIATIONS = [
    pytest.param("[!a]", "b", True, id="deviation-posix-bracket-negation"),
    pytest.param("[!a]", "a", False, id="deviation-posix-bracket-negation-rejects"),
    pytest.param("x{01..10}", "x05", True, id="deviation-bash-zero-padded-range"),
    pytest.param("x{1..10..3}", "x4", True, id="deviation-bash-range-step"),
]


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [pytest.param(g, p, e, id=f"{g} ~ {p}") for g, p, e in GLOBS] + NEGATED_PATHS + LITERALS + DEVIATIONS,
)
def test_glob(glob: str, path: str, expected: bool) -> None:
    assert compile_glob(glob)(path) is expected


@pytest.mark.parametrize(
    ("pattern", "expanded"),
    [
        pytest.param("a/{b,c}/{1..2}", ["a/b/1", "a/b/2", "a/c/1", "a/c/2"], id="product"),
        pytest.param("{a,{b,c}}", ["a", "b", "c"], id="nested"),
        pytest.param("x{c..a}", ["xc", "xb", "xa"], id="descending"),
        pytest.param("a{b", ["a{b"], id="unclosed-literal"),
        pytest.param("\\{a,b}", ["\\{a,b}"], id="escaped"),
        pytest.param("!({a,b})/x", ["!({a,b})/x"], id="inside-an-extglob-stays"),
    ],
)
def test_expand_braces(pattern: str, expanded: list[str]) -> None:
    assert expand_braces(pattern) == expanded


def test_brace_bomb_is_refused() -> None:
    with pytest.raises(GlobError, match="more than"):
        expand_braces("{a,b}" * 12)


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
