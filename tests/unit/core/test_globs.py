"""gitops.core.globs: picomatch globs (dot: true), as dorny/paths-filter matches them."""

from __future__ import annotations

import pytest

from gitops.core.globs import GlobError, compile_glob, expand_braces

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
