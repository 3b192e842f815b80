"""The README is part of the product: its Quick start and action reference must stay true."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import action_docs

ROOT = Path(__file__).resolve().parents[2]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quick start\n(.*?)^## ", text, re.S | re.M)
    assert section, "README.md needs a '## Quick start' section"
    blocks = re.findall(r"```[a-z]*\n(.*?)```", section.group(1), re.S)
    assert len(blocks) == 1, "the Quick start holds exactly one code block"
    return [line for line in blocks[0].splitlines() if line.strip()]


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    setup, test = commands
    assert setup.endswith("gitops plan"), "the first command ends with the main job"
    assert test in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_action_reference_is_generated_from_every_action_yml() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert action_docs.splice(readme, action_docs.generated()) == readme, (
        "README.md's action reference is stale: run python -m tests.support.action_docs --write"
    )
    for path in action_docs.action_files():
        rel = path.parent.relative_to(ROOT).as_posix()
        if rel != ".":
            assert f"`{rel}`" in readme, f"{rel} is missing from the README"


def test_adoption_starts_with_gitops_init() -> None:
    """Issue 16: a newcomer's first step in another repository is `gitops init`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Adopting the suite in another repository\n(.*?)^## ", text, re.S | re.M)
    assert section, "README.md needs its adoption section"
    headings = re.findall(r"^### (.+)$", section.group(1), re.M)
    assert headings[0] == "Start with `gitops init`", headings
    first_block = re.search(r"```[a-z]*\n(.*?)```", section.group(1), re.S)
    assert first_block and "gitops init " in first_block.group(1).splitlines()[0]


def test_every_default_of_the_policy_is_in_the_readme() -> None:
    """Issue 16: every key the reference leaves out has a documented default (core.policy.DEFAULTS)."""
    from gitops.core.policy import DEFAULTS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^### Coming from the reference setup\n(.*?)^### ", text, re.S | re.M)
    assert section, "README.md needs its 'Coming from the reference setup' section"
    for key, _ in DEFAULTS:
        leaf = key.rsplit(".", 1)[-1]
        assert re.search(rf"`[^`]*\b{leaf}\b[^`]*`", section.group(1)), (
            f"the default of {key} is not in the README"
        )
