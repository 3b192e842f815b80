"""Is this deploy's commit older than the deployed one? Asked of git, else of GitHub.

git first, in the repository of the working directory (the deploy job's checkout): the two
commits are fetched, and a shallow clone deepened, exactly as change detection makes history
available (:meth:`gitops.adapters.git.Git.make_available`), then ``git merge-base --is-ancestor``
both ways. With ``fetch-depth: 0`` (what the deploy workflow checks out) nothing needs fetching.

When git cannot answer (no checkout; a shallow clone without credentials to deepen; no remote to
fetch a missing commit from), GitHub's compare API answers for the repository of the run:
``GET /repos/{owner}/{repo}/compare/{deployed}...{commit}``, whose ``status`` is ``behind`` when
the commit is an ancestor of the deployed one. That needs PyGithub (the ``github`` bootstrap
profile) and a token (``GH_TOKEN``/``GITHUB_TOKEN``) that may read the repository.

When neither can answer, the deploy stops (exit 1) rather than guess: a guess could roll an
environment back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitops.adapters import runner
from gitops.core.deploy_order import COMPARE_STATUS, Relation, relation_from_ancestry, short
from gitops.errors import ConfigurationError


@dataclass(frozen=True)
class Ancestry:
    relation: Relation
    source: str  # "git" or "GitHub"


def head_commit(repo_dir: Path) -> str:
    """``git rev-parse HEAD`` of the checkout (the commit a deploy without --commit deploys)."""
    from gitops.adapters.git import Git

    try:
        sha = Git(repo_dir).commit("HEAD")
    except ConfigurationError as exc:  # not a checkout, or git missing
        sha, why = None, exc.message
    else:
        why = f"{repo_dir} has no commit checked out"
    if sha is None:
        raise ConfigurationError(
            f"no commit to deploy: --commit is empty, $GITHUB_SHA is not set, and {why}",
            key="--commit",
            title="No commit",
            hint="pass --commit SHA, the commit the manifests come from (it is recorded in the cluster and "
            "compared with the deployed one), or deploy from the repository's checkout",
        )
    return sha


def relation(commit: str, deployed: str, *, repo_dir: Path, repository: str | None) -> Ancestry:
    """How ``commit`` relates to ``deployed`` (see the module docstring for who is asked)."""
    if commit == deployed:
        return Ancestry(Relation.SAME, "same commit")
    why_not_git = ""
    try:
        found = _from_git(commit, deployed, repo_dir)
        if found is not None:
            return Ancestry(found, "git")
        why_not_git = f"the checkout in {repo_dir} does not have both commits and their history"
    except ConfigurationError as exc:  # not a repository, git missing, fetch not authorized
        why_not_git = exc.message
    runner.current().log(
        f"git cannot order {short(commit)} and {short(deployed)} ({why_not_git}); asking GitHub"
    )
    found_api, why_not_api = _from_github(commit, deployed, repository)
    if found_api is not None:
        return Ancestry(found_api, "GitHub")
    raise ConfigurationError(
        f"cannot tell whether {short(commit)} is older than {short(deployed)}, the commit deployed last: "
        f"git: {why_not_git}; GitHub: {why_not_api}. Nothing was written",
        key="--commit",
        title="Commit order unknown",
        hint="deploy from a checkout with the whole history (actions/checkout with `fetch-depth: 0`), or "
        "give the step a token that may read the repository (GH_TOKEN) and the github bootstrap profile",
    )


def _from_git(commit: str, deployed: str, repo_dir: Path) -> Relation | None:
    from gitops.adapters.git import Git

    git = Git(repo_dir)

    def connected() -> bool:
        present = git.has_commit(commit) and git.has_commit(deployed)
        return present and git.merge_base(commit, deployed) is not None

    if git.make_available([commit, deployed], connected):
        return relation_from_ancestry(
            commit,
            deployed,
            commit_is_ancestor=git.is_ancestor(commit, deployed),
            deployed_is_ancestor=git.is_ancestor(deployed, commit),
        )
    if git.is_shallow() or not git.has_commit(commit):
        return None  # history is missing here: git cannot tell
    if not git.has_commit(deployed):
        # A full clone that could not fetch the deployed commit: no branch or tag reaches it any
        # more (force-pushed away). Without a remote it may just never have been fetched here.
        return Relation.GONE if git.has_remote() else None
    return Relation.DIVERGED  # both here, whole history, no common ancestor


def _from_github(commit: str, deployed: str, repository: str | None) -> tuple[Relation | None, str]:
    if not repository:
        return None, "no repository to ask (GITHUB_REPOSITORY is not set)"
    import importlib.util

    from gitops.adapters.github import GitHubUnavailable, Repo, connect, parse_repo

    if importlib.util.find_spec("github") is None:  # the adapter imports PyGithub when it connects
        return None, "PyGithub is not installed here (the github bootstrap profile)"
    try:
        owner, name = parse_repo(repository, flag="GITHUB_REPOSITORY")
        client = connect(owner, name)
    except ConfigurationError as exc:
        return None, exc.message
    try:
        status = client.compare_commits(Repo(owner, name), deployed, commit)
    except (ConfigurationError, GitHubUnavailable) as exc:
        return None, exc.message
    finally:
        client.close()
    if status is None:
        return Relation.GONE, "404"
    return COMPARE_STATUS[status], status
