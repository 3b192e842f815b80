"""gitops.operations.commit_order: is a commit older than the deployed one? git, else GitHub.

Every expectation comes from the history built here: ``a`` is the parent of ``b`` (so ``a`` is
older), ``side`` branches off ``a`` (so it and ``b`` have diverged). What git calls an ancestor
(``git merge-base --is-ancestor``) and what GitHub's compare API answers for it
(https://docs.github.com/en/rest/commits/commits#compare-two-commits: ``behind`` when head is an
ancestor of base, ``ahead`` the reverse, ``identical``, ``diverged``) must agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from gitops.adapters import runner
from gitops.core.deploy_order import Relation
from gitops.errors import ConfigurationError
from gitops.operations.commit_order import relation
from tests.fakegithub import FakeGitHub
from tests.support.git_repo import GitRepo

pytestmark = pytest.mark.integration


@dataclass
class Topology:
    repo: GitRepo
    a: str
    b: str
    side: str


@pytest.fixture
def topology(git_repo: GitRepo) -> Topology:
    git_repo.commit("root", files={"f": "0\n"})
    a = git_repo.commit("a", files={"f": "1\n"})
    b = git_repo.commit("b", files={"f": "2\n"})
    git_repo.branch("side", a)
    side = git_repo.commit("side", files={"g": "1\n"})
    git_repo.checkout("main")
    for _ in range(40):  # enough history that a depth-1 clone must be deepened to connect a and b
        git_repo.commit("more", allow_empty=True)
    git_repo.push("main", "side")
    return Topology(git_repo, a, b, side)


CASES = [
    pytest.param("b", "a", Relation.NEWER, id="newer"),
    pytest.param("a", "b", Relation.OLDER, id="older"),
    pytest.param("b", "b", Relation.SAME, id="same"),
    pytest.param("side", "b", Relation.DIVERGED, id="diverged"),
]


@pytest.mark.parametrize(("commit", "deployed", "expected"), CASES)
def test_git_orders_commits_in_a_full_clone(
    topology: Topology, commit: str, deployed: str, expected: Relation
) -> None:
    found = relation(
        getattr(topology, commit), getattr(topology, deployed), repo_dir=topology.repo.path, repository=None
    )
    assert found.relation is expected


def test_a_depth_1_checkout_is_deepened_to_find_the_answer(topology: Topology) -> None:
    """What actions/checkout leaves with its default fetch-depth: one commit; the deployed one and
    the history between them are fetched from the remote (here file://, no credentials needed)."""
    clone = topology.repo.checkout_like_actions(topology.b, "refs/heads/main")
    assert clone.is_shallow()
    found = relation(topology.a, topology.b, repo_dir=clone.path, repository=None)
    assert (found.relation, found.source) == (Relation.OLDER, "git")


def test_a_deployed_commit_no_branch_reaches_any_more_is_gone(topology: Topology) -> None:
    clone = topology.repo.clone(topology.repo.path.parent / "full")
    vanished = "0123456789abcdef" * 2 + "01234567"  # never existed: what a force push leaves behind
    found = relation(topology.b, vanished, repo_dir=clone.path, repository=None)
    assert found.relation is Relation.GONE


@pytest.mark.parametrize(("commit", "deployed", "expected"), CASES)
def test_githubs_compare_api_answers_when_there_is_no_checkout(  # noqa: PLR0917 - fixtures and a table
    topology: Topology,
    commit: str,
    deployed: str,
    expected: Relation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GH_TOKEN", "ghs_reader")
    with FakeGitHub(repo_dir=topology.repo.path, tokens={"ghs_reader": ("token", {"contents"})}) as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        runner.reset()  # the runner reads the environment when it is made
        found = relation(
            getattr(topology, commit),
            getattr(topology, deployed),
            repo_dir=tmp_path,
            repository="acme/platform",
        )
        calls = [c.path for c in github.calls("GET", "/compare/")]
    assert (found.relation, found.source) == (expected, "same commit" if commit == deployed else "GitHub")
    if commit != deployed:
        sha_c, sha_d = getattr(topology, commit), getattr(topology, deployed)
        assert calls == [f"/repos/acme/platform/compare/{sha_d}...{sha_c}"]


def test_github_not_knowing_the_deployed_commit_means_it_is_gone(
    topology: Topology, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_TOKEN", "ghs_reader")
    with FakeGitHub(repo_dir=topology.repo.path, tokens={"ghs_reader": ("token", {"contents"})}) as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        runner.reset()  # the runner reads the environment when it is made
        found = relation(topology.b, "f" * 40, repo_dir=tmp_path, repository="acme/platform")
    assert found.relation is Relation.GONE


def test_neither_git_nor_github_means_no_guess(topology: Topology, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        relation(topology.a, topology.b, repo_dir=tmp_path, repository=None)
    assert f"cannot tell whether {topology.a[:12]} is older than {topology.b[:12]}" in caught.value.message
    assert "GITHUB_REPOSITORY is not set" in caught.value.message


def test_a_token_that_may_not_read_the_repository_is_said(
    topology: Topology, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_TOKEN", "ghs_actions_only")
    with FakeGitHub(
        repo_dir=topology.repo.path, tokens={"ghs_actions_only": ("token", {"actions"})}
    ) as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        runner.reset()  # the runner reads the environment when it is made
        with pytest.raises(ConfigurationError) as caught:
            relation(topology.a, topology.b, repo_dir=tmp_path, repository="acme/platform")
    assert "GitHub:" in caught.value.message and "403" in caught.value.message
