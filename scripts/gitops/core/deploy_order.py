"""May this commit be deployed after the one that is deployed? Never an older one by accident.

GitHub starts jobs waiting on a concurrency group in the order they began waiting, a re-run keeps
its run's original commit, and a pending run can be replaced by a newer one: so the deploy of an
older commit can run after a newer one's and would silently roll the environment back. Every
deploy is therefore compared with the last SUCCESSFUL deploy in the cluster's record
(:mod:`gitops.core.deploy_record`):

============  ==========================================================  ======================
relation      meaning (deployed D, this deploy's commit C)                 decision
============  ==========================================================  ======================
``same``      C == D                                                      deploy (re-apply)
``newer``     D is an ancestor of C                                       deploy
``diverged``  neither is an ancestor of the other (another branch,         deploy, said so
              a hotfix, history rewritten around D)
``gone``      D no longer exists in the repository (force-pushed away)    deploy, said so
``older``     C is an ancestor of D: C is older than what runs            SKIP: exit 0, nothing
                                                                          written; or, with
                                                                          ``--allow-older`` on a
                                                                          manual dispatch, deploy
                                                                          and record it as a
                                                                          rollback
============  ==========================================================  ======================

The relation comes from git (``git merge-base``) or GitHub's compare API, whose ``status`` is
``behind`` exactly when the head (C) is an ancestor of the base (D):
https://docs.github.com/en/rest/commits/commits#compare-two-commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Relation(Enum):
    SAME = "same"
    NEWER = "newer"
    OLDER = "older"
    DIVERGED = "diverged"
    GONE = "gone"


# GitHub's compare status (base = deployed, head = this deploy) -> relation.
COMPARE_STATUS = {
    "identical": Relation.SAME,
    "ahead": Relation.NEWER,
    "behind": Relation.OLDER,
    "diverged": Relation.DIVERGED,
}


def relation_from_ancestry(
    commit: str, deployed: str, *, commit_is_ancestor: bool, deployed_is_ancestor: bool
) -> Relation:
    """The relation from two ``git merge-base --is-ancestor`` answers."""
    if commit == deployed:
        return Relation.SAME
    if commit_is_ancestor:
        return Relation.OLDER
    if deployed_is_ancestor:
        return Relation.NEWER
    return Relation.DIVERGED


def short(sha: str) -> str:
    return sha[:12]


@dataclass(frozen=True)
class OrderDecision:
    relation: Relation | None  # None: nothing was deployed successfully yet
    proceed: bool
    message: str
    rollback_of: str | None = None  # the newer commit a deliberate rollback replaces
    warning: bool = False  # worth an annotation (diverged, gone)

    @property
    def skipped(self) -> bool:
        return not self.proceed


def decide(
    commit: str,
    deployed: str | None,
    relation: Relation | None,
    *,
    environment: str,
    allow_older: bool,
    deployed_at: str = "",
) -> OrderDecision:
    """What to do with a deploy of ``commit`` when ``deployed`` is the last successful one."""
    if deployed is None or relation is None:
        return OrderDecision(None, True, f"nothing has been deployed successfully to {environment} yet")
    when = f" (deployed {deployed_at})" if deployed_at else ""
    if relation is Relation.SAME:
        return OrderDecision(
            relation, True, f"{short(commit)} is what {environment} runs{when}: applied again"
        )
    if relation is Relation.NEWER:
        return OrderDecision(
            relation, True, f"{short(commit)} is newer than {short(deployed)}, which {environment} runs{when}"
        )
    if relation is Relation.DIVERGED:
        return OrderDecision(
            relation,
            True,
            f"{short(commit)} and {short(deployed)}, which {environment} runs{when}, are on different lines "
            "of history (neither is an ancestor of the other): deploying, as a person or a branch rule asked",
            warning=True,
        )
    if relation is Relation.GONE:
        return OrderDecision(
            relation,
            True,
            f"{short(deployed)}, which {environment} runs{when}, is no longer in the repository "
            f"(force-pushed away?), so {short(commit)} cannot be older than it: deploying",
            warning=True,
        )
    if allow_older:
        return OrderDecision(
            relation,
            True,
            f"ROLLBACK: {short(commit)} is older than {short(deployed)}, which {environment} runs{when}; "
            "deploying it anyway because --allow-older was given on a manual dispatch (recorded)",
            rollback_of=deployed,
            warning=True,
        )
    return OrderDecision(
        relation,
        False,
        f"SKIPPED: {short(commit)} is older than {short(deployed)}, which {environment} already runs{when}; "
        "deploying it would roll the environment back, so nothing was written. To roll back on purpose, "
        "dispatch the deploy by hand with allow_older: true (--allow-older)",
    )


def manual_only(*, event: str, automatic: bool) -> str | None:
    """Why ``--allow-older`` (or ``--claim``) may not be used for this run; None when it may.

    Both are a person's decision: only a manual ``workflow_dispatch`` (not one sent by automation
    such as the cluster workflow) may roll an environment back or bind a cluster."""
    if event != "workflow_dispatch":
        return f"only a manual workflow_dispatch may use it (this run's event is {event})"
    if automatic:
        return "only a MANUAL workflow_dispatch may use it (this one was sent by automation: --triggered-by)"
    return None
