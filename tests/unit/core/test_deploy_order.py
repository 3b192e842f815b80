"""gitops.core.deploy_order: never an older commit by accident.

The relation table follows git's definition of ancestry (``git merge-base --is-ancestor A B``
exits 0 when A is an ancestor of B, and A is an ancestor of itself) and GitHub's compare statuses
for ``compare/{base}...{head}`` (https://docs.github.com/en/rest/commits/commits#compare-two-commits):
``ahead`` = head has commits base lacks and not the reverse, ``behind`` = the reverse, ``identical``,
``diverged`` = both.
"""

from __future__ import annotations

import pytest

from gitops.core.deploy_order import (
    COMPARE_STATUS,
    Relation,
    decide,
    manual_only,
    relation_from_ancestry,
)

OLD, NEW = "a" * 40, "b" * 40


@pytest.mark.parametrize(
    ("commit_is_ancestor", "deployed_is_ancestor", "commit", "expected"),
    [
        pytest.param(True, True, OLD, Relation.SAME, id="same-commit"),
        pytest.param(True, False, NEW, Relation.OLDER, id="commit-is-an-ancestor-of-the-deployed"),
        pytest.param(False, True, NEW, Relation.NEWER, id="deployed-is-an-ancestor-of-the-commit"),
        pytest.param(False, False, NEW, Relation.DIVERGED, id="neither"),
    ],
)
def test_relation_from_two_ancestry_answers(
    commit_is_ancestor: bool, deployed_is_ancestor: bool, commit: str, expected: Relation
) -> None:
    deployed = OLD
    got = relation_from_ancestry(
        commit, deployed, commit_is_ancestor=commit_is_ancestor, deployed_is_ancestor=deployed_is_ancestor
    )
    assert got is expected


def test_githubs_compare_statuses_map_base_deployed_head_commit() -> None:
    # base = the deployed commit, head = this deploy's: "behind" means head is an ancestor of base
    assert COMPARE_STATUS == {
        "identical": Relation.SAME,
        "ahead": Relation.NEWER,
        "behind": Relation.OLDER,
        "diverged": Relation.DIVERGED,
    }


@pytest.mark.parametrize(
    ("relation", "allow_older", "proceed", "rollback", "warning", "words"),
    [
        pytest.param(Relation.SAME, False, True, False, False, "applied again", id="same-reapplies"),
        pytest.param(Relation.NEWER, False, True, False, False, "is newer than", id="newer-deploys"),
        pytest.param(
            Relation.DIVERGED, False, True, False, True, "different lines", id="diverged-deploys-warns"
        ),
        pytest.param(
            Relation.GONE, False, True, False, True, "no longer in the repository", id="gone-deploys"
        ),
        pytest.param(Relation.OLDER, False, False, False, False, "SKIPPED", id="older-is-skipped"),
        pytest.param(Relation.OLDER, True, True, True, True, "ROLLBACK", id="older-with-allow-older"),
        pytest.param(
            Relation.NEWER, True, True, False, False, "is newer", id="allow-older-changes-nothing-else"
        ),
    ],
)
def test_decide(  # noqa: PLR0917 - one parameter per column of the table
    relation: Relation, allow_older: bool, proceed: bool, rollback: bool, warning: bool, words: str
) -> None:
    decision = decide(NEW, OLD, relation, environment="prod", allow_older=allow_older, deployed_at="x")
    assert decision.proceed is proceed
    assert decision.skipped is (not proceed)
    assert (decision.rollback_of == OLD) is rollback
    assert decision.warning is warning
    assert words in decision.message


def test_a_skip_names_both_commits_and_the_way_to_roll_back_on_purpose() -> None:
    decision = decide(
        OLD, NEW, Relation.OLDER, environment="prod", allow_older=False, deployed_at="2026-11-26"
    )
    assert decision.message.startswith(
        f"SKIPPED: {OLD[:12]} is older than {NEW[:12]}, which prod already runs"
    )
    assert "(deployed 2026-11-26)" in decision.message
    assert "nothing was written" in decision.message
    assert "allow_older: true (--allow-older)" in decision.message


def test_the_first_deploy_has_nothing_to_compare_with() -> None:
    decision = decide(NEW, None, None, environment="dev", allow_older=False)
    assert decision.proceed and decision.relation is None
    assert "nothing has been deployed successfully to dev yet" in decision.message


@pytest.mark.parametrize(
    ("event", "automatic", "allowed"),
    [
        pytest.param("workflow_dispatch", False, True, id="manual-dispatch"),
        pytest.param("workflow_dispatch", True, False, id="dispatch-sent-by-automation"),
        pytest.param("push", False, False, id="push"),
        pytest.param("schedule", False, False, id="schedule"),
        pytest.param("workflow_call", False, False, id="workflow-call"),
    ],
)
def test_only_a_person_may_roll_back_or_bind_a_cluster(event: str, automatic: bool, allowed: bool) -> None:
    assert (manual_only(event=event, automatic=automatic) is None) is allowed
