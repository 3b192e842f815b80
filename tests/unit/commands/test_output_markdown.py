"""gitops.commands.output.plain and mention: a user's words in a job summary, shown as written.

CommonMark: "Any ASCII punctuation character may be backslash-escaped"; an escaped character is
shown literally, so nothing the user wrote can open emphasis, a link, an image or HTML.
"""

from __future__ import annotations

import pytest

from gitops.commands.output import mention, plain


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("INC-42 data fix", "INC-42 data fix", id="plain-text-unchanged"),
        pytest.param("kill_switch", "kill_switch", id="intraword-underscore-kept"),
        pytest.param("<img src=x>", "\\<img src=x\\>", id="html"),
        pytest.param("[a](http://x)", "\\[a\\](http://x)", id="link"),
        pytest.param("**bold** `code`", "\\*\\*bold\\*\\* \\`code\\`", id="emphasis-and-code"),
        pytest.param("a\n# heading", "a # heading", id="line-break-collapsed"),
        pytest.param("R&D", "R\\&D", id="entity"),
    ],
)
def test_plain(text: str, shown: str) -> None:
    assert plain(text) == shown


def test_mention_only_for_a_github_login() -> None:
    assert mention("alice") == "@alice"
    assert mention("dependabot[bot]") == "@dependabot[bot]"
    assert mention("<b>x</b>") == "\\<b\\>x\\</b\\>"
    assert mention(None) == "an unnamed actor"
