"""gitops.core.list_files: dorny/paths-filter's list-files formats, byte for byte.

Expected values: dorny/paths-filter v4.0.2 __tests__/csv-escape.test.ts and shell-escape.test.ts
(test names cited per row), and its dist/index.js run side by side on a repository holding the
names of SIDE_BY_SIDE (push event, explicit base, `list-files` each format; see
benchmarks/bench_changes.py --dorny for how it is run).
"""

from __future__ import annotations

import pytest

from gitops.core.list_files import backslash_escape, csv_escape, format_files, shell_escape


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("file.txt", "file.txt", id="csvEscape: simple filename should not be modified"),
        pytest.param(
            "path/to/file.txt",
            "path/to/file.txt",
            id="csvEscape: directory separator should be preserved and not escaped",
        ),
        pytest.param(
            "file with space", '"file with space"', id="csvEscape: filename with spaces should be quoted"
        ),
        pytest.param(
            "file, with coma", '"file, with coma"', id='csvEscape: filename with "," should be quoted'
        ),
        pytest.param(
            'file " with double quote',
            '"file "" with double quote"',
            id="csvEscape: Double quote should be escaped by another double quote",
        ),
    ],
)
def test_csv_escape(name: str, expected: str) -> None:
    assert csv_escape(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("file.txt", "file.txt", id="escape: simple filename should not be modified"),
        pytest.param(
            "path/to/file.txt",
            "path/to/file.txt",
            id="escape: directory separator should be preserved and not escaped",
        ),
        pytest.param(
            "file with space", "file\\ with\\ space", id="escape: spaces should be escaped with backslash"
        ),
        pytest.param(
            "file'with quote\"",
            "file\\'with\\ quote\\\"",
            id="escape: quotes should be escaped with backslash",
        ),
        pytest.param("$var", "\\$var", id="escape: $variables should be escaped"),
    ],
)
def test_backslash_escape(name: str, expected: str) -> None:
    assert backslash_escape(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("file.txt", "file.txt", id="shellEscape: simple filename should not be modified"),
        pytest.param(
            "path/to/file.txt",
            "path/to/file.txt",
            id="shellEscape: directory separator should be preserved and not escaped",
        ),
        pytest.param(
            "file with space", "'file with space'", id="shellEscape: filename with spaces should be quoted"
        ),
        pytest.param("$var", "'$var'", id="shellEscape: filename with $ should be quoted"),
        pytest.param('file"name', "'file\"name'", id='shellEscape: filename with " should be quoted'),
        pytest.param(
            "file'with quote",
            '"file\'with quote"',
            id="shellEscape: filename with single quote should be wrapped in double quotes",
        ),
        pytest.param(
            "file'with $quote",
            "file\\''with $quote'",
            id=(
                "shellEscape: filename with single quote and special characters "
                "is split and quoted/escaped as needed"
            ),
        ),
    ],
)
def test_shell_escape(name: str, expected: str) -> None:
    assert shell_escape(name) == expected


# The names (sorted as git lists them) and what paths-filter v4.0.2 wrote for each format.
SIDE_BY_SIDE = [
    "d/$var",
    "d/*.txt",
    "d/-dash.txt",
    "d/[x].txt",
    "d/a b.txt",
    "d/a'b $c.txt",
    "d/a'b.txt",
    "d/a\\b.txt",
    "d/file'with quote\"",
    "d/it's.txt",
    "d/pa-th_1.2+3:4@5%.txt",
    'd/q"q.txt',
    "d/tab\tx.txt",
    "d/x,y.txt",
    "d/é.txt",
]
DORNY_WROTE = {
    "csv": (
        '"d/$var","d/*.txt",d/-dash.txt,"d/[x].txt","d/a b.txt","d/a\'b $c.txt","d/a\'b.txt","d/a\\b.txt",'
        '"d/file\'with quote""","d/it\'s.txt",d/pa-th_1.2+3:4@5%.txt,"d/q""q.txt","d/tab\tx.txt","d/x,y.txt",'
        '"d/é.txt"'
    ),
    "shell": (
        "'d/$var' 'd/*.txt' d/-dash.txt 'd/[x].txt' 'd/a b.txt' d/a\\''b $c.txt' \"d/a'b.txt\" 'd/a\\b.txt' "
        "d/file\\''with quote\"' \"d/it's.txt\" d/pa-th_1.2+3:4@5%.txt 'd/q\"q.txt' 'd/tab\tx.txt' d/x,y.txt "
        "'d/é.txt'"
    ),
    "escape": (
        "d/\\$var d/\\*.txt d/-dash.txt d/\\[x\\].txt d/a\\ b.txt d/a\\'b\\ \\$c.txt d/a\\'b.txt "
        "d/a\\\\b.txt d/file\\'with\\ quote\\\" d/it\\'s.txt d/pa-th_1.2+3:4@5%.txt "
        'd/q\\"q.txt d/tab\\\tx.txt d/x,y.txt d/\\é.txt'
    ),
    "json": (
        '["d/$var","d/*.txt","d/-dash.txt","d/[x].txt","d/a b.txt","d/a\'b $c.txt","d/a\'b.txt",'
        '"d/a\\\\b.txt","d/file\'with quote\\"","d/it\'s.txt","d/pa-th_1.2+3:4@5%.txt",'
        '"d/q\\"q.txt","d/tab\\tx.txt","d/x,y.txt","d/é.txt"]'
    ),
}


@pytest.mark.parametrize("fmt", sorted(DORNY_WROTE))
def test_every_format_byte_for_byte_as_paths_filter_wrote_it(fmt: str) -> None:
    assert format_files(SIDE_BY_SIDE, fmt) == DORNY_WROTE[fmt]


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        # paths-filter's "only safe characters" test is per line (a /m regex): "ok\n$(x)" passed unquoted
        pytest.param("csv", '"ok\n$(x)"', id="csv-quotes-a-line-break"),
        pytest.param("shell", "'ok\n$(x)'", id="shell-quotes-a-line-break"),
        pytest.param("escape", 'ok"\n"\\$\\(x\\)', id="escape-keeps-a-line-break-in-quotes"),
        pytest.param("json", '["ok\\n$(x)"]', id="json"),
    ],
)
def test_deviation_a_name_with_a_line_break_stays_one_word(fmt: str, expected: str) -> None:
    assert format_files(["ok\n$(x)"], fmt) == expected


def test_deviation_a_character_outside_the_bmp_is_escaped_whole() -> None:
    # paths-filter escapes each UTF-16 half ("d/\\\ufffd\\\ufffd.txt" reached $GITHUB_OUTPUT)
    assert backslash_escape("d/😀.txt") == "d/\\😀.txt"


def test_empty_list_and_empty_name() -> None:
    assert [format_files([], f) for f in ("csv", "shell", "escape", "json")] == ["", "", "", "[]"]
    assert (csv_escape(""), shell_escape("")) == ("", "")
    with pytest.raises(ValueError, match="unknown list format"):
        format_files(["a"], "none")
