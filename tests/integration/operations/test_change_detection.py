"""gitops.operations.change_detection.detect and `gitops changes` over real git repositories built in tmp.

Table-driven: each scenario builds history (commits, merges, renames, deletions, tags, force
pushes, shallow clones) and names what must be affected.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gitops.adapters import runner
from gitops.errors import ConfigurationError
from gitops.operations.change_detection import detect
from tests.support.actions import GhaEnv
from tests.support.git_repo import DEPLOY_CONTROL, ZERO, GitRepo, git_repo  # noqa: F401

pytestmark = pytest.mark.integration

ALL = ["dev", "test", "prod", "local"]
CLUSTERS = ["dev", "test", "prod"]
DEV_PATCH = "infra/k8s/hetzner/dev/patches/postgres.yaml"
PROD_PATCH = "infra/k8s/hetzner/prod/patches/postgres.yaml"
BASE_FILE = "infra/k8s/base/statefulsets/redis.statefulset.yaml"
CONTROL = "infra/deploy-control.yaml"


@pytest.fixture
def repo(git_repo: GitRepo) -> GitRepo:  # noqa: F811 - the fixture imported above
    """The standard infra tree committed on main and pushed to origin."""
    git_repo.write_infra()
    git_repo.commit("infra")
    git_repo.push("main")
    return git_repo


Kwargs = dict[str, Any]


@dataclass
class Case:
    build: Callable[[GitRepo], Kwargs]
    environments: list[str]
    clusters: list[str] = field(default_factory=list)
    files: list[str] | None = None
    note: str | None = None  # a substring the note must contain; None: no note at all
    reason: str | None = None  # a substring of every environment's reason


def change_base(r: GitRepo) -> Kwargs:
    r.commit("base", files={BASE_FILE: "kind: StatefulSet\nspec: {replicas: 1}\n"})
    return {}


def change_dev(r: GitRepo) -> Kwargs:
    r.commit("dev", files={DEV_PATCH: "replicas: 2\n"})
    return {}


def change_cluster(r: GitRepo) -> Kwargs:
    r.commit("cluster", files={"infra/k8s/hetzner/prod/cluster/cluster-config.yaml": "masters: 3\n"})
    return {}


def merge_feature(r: GitRepo) -> Kwargs:
    r.branch("feature")
    r.commit("f1", files={DEV_PATCH: "replicas: 2\n"})
    r.commit("f2", files={"infra/k8s/podman/local/patches/postgres.yaml": "replicas: 3\n"})
    r.checkout("main")
    r.commit("meanwhile on main", files={"README.md": "# changed\n"})
    r.merge("feature")
    return {}  # HEAD~1..HEAD: the first parent, i.e. everything the merge brought in


def rename_across_envs(r: GitRepo) -> Kwargs:
    r.commit("move", rename={DEV_PATCH: "infra/k8s/hetzner/test/patches/moved.yaml"})
    return {}


def delete_file(r: GitRepo) -> Kwargs:
    r.commit("drop", delete=(PROD_PATCH,))
    return {}


def delete_overlay(r: GitRepo) -> Kwargs:
    r.commit("drop test", delete=("infra/k8s/hetzner/test",))
    return {}


def unrelated_only(r: GitRepo) -> Kwargs:
    r.commit("docs", files={"README.md": "# docs only\n", "infra/k8s/hetzner/notes.md": "x\n"})
    return {}


def control_edit(old: str, new: str) -> Callable[[GitRepo], Kwargs]:
    def build(r: GitRepo) -> Kwargs:
        assert old in DEPLOY_CONTROL
        r.commit("policy", files={CONTROL: DEPLOY_CONTROL.replace(old, new)})
        return {}

    return build


def control_broken(r: GitRepo) -> Kwargs:
    r.commit("policy", files={CONTROL: "environments: [unclosed\n"})
    return {}


def root_commit(r: GitRepo) -> Kwargs:
    return {}  # the fixture's single commit


def explicit_non_ancestor(r: GitRepo) -> Kwargs:
    r.branch("feature")
    r.commit("on feature", files={DEV_PATCH: "replicas: 5\n"})
    r.checkout("main")
    r.commit("main moved on", files={BASE_FILE: "moved: true\n"})
    return {"base": "main", "head": "feature", "_head": "feature"}


def push(r: GitRepo) -> Kwargs:
    before = r.rev()
    r.commit("a", files={DEV_PATCH: "replicas: 2\n"})
    r.commit("b", files={"infra/k8s/hetzner/prod/cluster/cluster-config.yaml": "x: 1\n"})
    after = r.rev()
    r.push("main")
    return {"event_name": "push", "event_path": r.push_event(before, after)}


def push_new_branch(r: GitRepo) -> Kwargs:
    r.commit("main moves", files={BASE_FILE: "main: moved\n"})
    r.push("main")
    r.branch("feature", "HEAD~1")
    r.commit("feature work", files={PROD_PATCH: "replicas: 2\n"})
    r.push("feature")
    return {"event_name": "push", "event_path": r.push_event(ZERO, r.rev(), ref="refs/heads/feature")}


def push_first_default_branch(r: GitRepo) -> Kwargs:
    return {"event_name": "push", "event_path": r.push_event(ZERO, r.rev(), ref="refs/heads/main")}


def push_new_tag_on_main(r: GitRepo) -> Kwargs:
    r.commit("release", files={DEV_PATCH: "replicas: 4\n"})
    r.push("main")
    sha = r.tag("v1.0.0", annotated=True)  # annotated: `after` is the tag object
    r.push("v1.0.0")
    return {"event_name": "push", "event_path": r.push_event(ZERO, sha, ref="refs/tags/v1.0.0")}


def push_new_tag_on_branch(r: GitRepo) -> Kwargs:
    r.branch("hotfix")
    r.commit("fix", files={"infra/k8s/podman/local/patches/postgres.yaml": "fixed: true\n"})
    sha = r.tag("v1.0.1")
    r.push("hotfix", "v1.0.1")
    return {"event_name": "push", "event_path": r.push_event(ZERO, sha, ref="refs/tags/v1.0.1")}


def force_push(r: GitRepo) -> Kwargs:
    r.commit("shared", files={"README.md": "# shared\n"})
    r.commit("dropped later", files={DEV_PATCH: "replicas: 9\n"})
    r.push("main")
    before = r.rev()
    r.reset_hard("HEAD~1")
    r.commit("rewritten", files={PROD_PATCH: "replicas: 3\n"})
    r.push("main", force=True)
    return {"event_name": "push", "event_path": r.push_event(before, r.rev(), forced=True)}


def force_push_rebased(r: GitRepo) -> Kwargs:
    """A branch rebased onto main and force-pushed: its own change is in both trees."""
    r.branch("feature")
    r.commit("feature work", files={"infra/k8s/podman/local/patches/postgres.yaml": "replicas: 2\n"})
    r.push("feature")
    before = r.rev()
    r.checkout("main")
    r.commit("main moved on", files={PROD_PATCH: "replicas: 4\n"})
    r.checkout("feature")
    r.git("-c", "commit.gpgsign=false", "rebase", "-q", "main")
    r.push("feature", force=True)
    return {
        "event_name": "push",
        "event_path": r.push_event(before, r.rev(), ref="refs/heads/feature", forced=True),
    }


def explicit_sha_non_ancestor(r: GitRepo) -> Kwargs:
    kwargs = explicit_non_ancestor(r)
    return {**kwargs, "base": r.rev("main")}


def push_before_gone(r: GitRepo) -> Kwargs:
    r.commit("x", files={DEV_PATCH: "replicas: 2\n"})
    return {"event_name": "push", "event_path": r.push_event("1" * 40, r.rev())}


def push_deleted(r: GitRepo) -> Kwargs:
    return {"event_name": "push", "event_path": r.push_event(r.rev(), ZERO, ref="refs/heads/gone")}


def pull_request(r: GitRepo) -> Kwargs:
    r.branch("feature")
    r.commit("pr work", files={DEV_PATCH: "replicas: 2\n"})
    head = r.rev()
    r.checkout("main")
    r.commit("main moved on", files={BASE_FILE: "moved: true\n"})  # must NOT count
    return {"event_name": "pull_request", "event_path": r.pull_request_event(r.rev(), head), "_head": head}


def pull_request_target(r: GitRepo) -> Kwargs:
    kwargs = pull_request(r)
    return {**kwargs, "event_name": "pull_request_target"}


def merge_group(r: GitRepo) -> Kwargs:
    base = r.rev()
    r.branch("gh-readonly-queue/main/pr-7")
    r.commit("queued", files={"infra/k8s/hetzner/test/patches/postgres.yaml": "replicas: 2\n"})
    return {"event_name": "merge_group", "event_path": r.merge_group_event(base, r.rev())}


def dispatch(name: str) -> Callable[[GitRepo], Kwargs]:
    def build(r: GitRepo) -> Kwargs:
        r.commit("whatever", files={"README.md": "# x\n"})
        return {"event_name": name, "event_path": r.event({"inputs": {}, "ref": "refs/heads/main"})}

    return build


def dispatch_without_payload(r: GitRepo) -> Kwargs:
    return {"event_name": "schedule"}


def payload_infers_push(r: GitRepo) -> Kwargs:
    kwargs = push(r)
    return {"event_path": kwargs["event_path"]}


def explicit_base_wins_over_event(r: GitRepo) -> Kwargs:
    first = r.rev()
    r.commit("dev", files={DEV_PATCH: "replicas: 2\n"})
    return {"base": first, "event_name": "workflow_dispatch"}


CASES = [
    pytest.param(Case(change_base, ALL, files=[BASE_FILE]), id="base-affects-all"),
    pytest.param(Case(change_dev, ["dev"], files=[DEV_PATCH]), id="overlay-affects-one"),
    pytest.param(Case(change_cluster, [], ["prod"]), id="cluster-only"),
    pytest.param(Case(merge_feature, ["dev", "local"]), id="merge-commit-first-parent"),
    pytest.param(Case(rename_across_envs, ["dev", "test"]), id="rename-old-and-new-env"),
    pytest.param(Case(delete_file, ["prod"], files=[PROD_PATCH]), id="deletion"),
    pytest.param(Case(delete_overlay, ["test"], ["test"]), id="deleted-overlay-still-affected"),
    pytest.param(Case(unrelated_only, []), id="nothing-relevant"),
    pytest.param(
        Case(control_edit("  test:\n    branch: test", "  test:\n    branch: release"), ["test"]),
        id="deploy-control-one-env",
    ),
    pytest.param(
        Case(control_edit("# Deployment policy", "# Deployment policy, reworded"), []),
        id="deploy-control-comment-only",
    ),
    pytest.param(
        Case(control_edit("global:\n  auto_deploy: true", "global:\n  auto_deploy: false"), ALL),
        id="deploy-control-global",
    ),
    pytest.param(Case(control_broken, ALL, reason="not valid YAML"), id="deploy-control-unparseable"),
    pytest.param(Case(root_commit, ALL, CLUSTERS, note="root commit"), id="root-commit-every-file"),
    # a branch name keeps the merge-base, as in dorny/paths-filter (git.ts getChangesSinceMergeBase)
    pytest.param(Case(explicit_non_ancestor, ["dev"], note="merge-base"), id="explicit-base-not-ancestor"),
    # issue 12, defect 1: a SHA compares the two trees (main's base change is not in feature's
    # tree), unioned with what feature adds since the merge-base
    pytest.param(
        Case(explicit_sha_non_ancestor, ALL, note="compared the trees"), id="explicit-sha-not-ancestor-trees"
    ),
    pytest.param(Case(push, ["dev"], ["prod"]), id="push"),
    pytest.param(Case(payload_infers_push, ["dev"], ["prod"]), id="push-event-name-inferred"),
    pytest.param(
        Case(push_new_branch, ["prod"], note="merge-base with origin/main"), id="zero-sha-new-branch"
    ),
    pytest.param(
        Case(push_first_default_branch, ALL, CLUSTERS, note="every file"), id="zero-sha-default-branch"
    ),
    pytest.param(Case(push_new_tag_on_main, [], note="new tag v1.0.0"), id="tag-on-main-nothing-new"),
    pytest.param(Case(push_new_tag_on_branch, ["local"], note="new tag v1.0.1"), id="tag-on-hotfix-branch"),
    # issue 12, defect 1: the dropped commit changed dev; after's tree has dev's old content back
    pytest.param(Case(force_push, ["dev", "prod"], note="force push"), id="force-push-trees"),
    pytest.param(Case(force_push_rebased, ["prod", "local"], note="force push"), id="force-push-rebase"),
    pytest.param(Case(push_before_gone, ALL, CLUSTERS, note="gone", reason="gone"), id="before-gone"),
    pytest.param(Case(push_deleted, [], note="deleted"), id="branch-deleted"),
    pytest.param(Case(pull_request, ["dev"], files=[DEV_PATCH]), id="pull-request-merge-base"),
    pytest.param(Case(pull_request_target, ["dev"], files=[DEV_PATCH]), id="pull-request-target"),
    pytest.param(Case(merge_group, ["test"]), id="merge-group"),
    pytest.param(
        Case(dispatch("workflow_dispatch"), ALL, CLUSTERS, reason="workflow_dispatch: no diff"),
        id="workflow-dispatch-every-env",
    ),
    pytest.param(
        Case(dispatch("schedule"), ALL, CLUSTERS, reason="schedule: no diff"), id="schedule-every-env"
    ),
    pytest.param(Case(dispatch_without_payload, ALL, CLUSTERS, reason="schedule"), id="schedule-no-payload"),
    pytest.param(Case(explicit_base_wins_over_event, ["dev"]), id="explicit-base-wins"),
]


@pytest.mark.parametrize("case", CASES)
def test_detect(repo: GitRepo, case: Case) -> None:
    kwargs = case.build(repo)
    head = repo.rev(kwargs.pop("_head", "HEAD"))
    report = detect(repo.path, **kwargs)
    assert report.environments == case.environments
    assert report.clusters == case.clusters
    if case.files is not None:
        assert report.files == case.files
    if case.note is None:
        assert report.note is None
    else:
        assert report.note is not None and case.note in report.note
    if case.reason is not None:
        assert all(case.reason in " ".join(report.reasons[env]) for env in case.environments)
    assert report.head == head


def test_rename_reports_status_and_both_paths(repo: GitRepo) -> None:
    rename_across_envs(repo)
    report = detect(repo.path)
    new = "infra/k8s/hetzner/test/patches/moved.yaml"
    assert [c.to_json() for c in report.file_statuses] == [
        {"status": "renamed", "path": new, "old_path": DEV_PATCH}
    ]
    assert report.files == [DEV_PATCH, new]
    assert report.reasons == {"dev": [DEV_PATCH], "test": [new]}


def test_force_push_compares_the_trees_and_adds_what_after_brought(repo: GitRepo) -> None:
    """Issue 12, defect 1: what runs is before's tree, what must run is after's."""
    kwargs = force_push(repo)
    before = json.loads(Path(kwargs["event_path"]).read_text())["before"]
    report = detect(repo.path, **kwargs)
    assert report.base == before  # two-dot: before..after
    assert report.files == [DEV_PATCH, PROD_PATCH]  # the dropped commit's file is back to its old content
    assert report.note is not None
    assert f"merge-base {repo.rev('HEAD~1')[:12]}" in report.note


def test_force_push_rebase_lists_the_rebased_change_too(repo: GitRepo) -> None:
    kwargs = force_push_rebased(repo)
    report = detect(repo.path, **kwargs)
    # before..after: only main's change; merge-base..after adds the branch's own (rebased) change
    assert report.files == [PROD_PATCH, "infra/k8s/podman/local/patches/postgres.yaml"]


def test_force_push_without_common_history_compares_the_trees(repo: GitRepo) -> None:
    before = repo.rev()
    repo.git("checkout", "-q", "--orphan", "rewritten")
    repo.git("rm", "-q", "-r", "--cached", ".")
    repo.write_infra({PROD_PATCH: "replicas: 6\n"})
    after = repo.commit("history rewritten from scratch")
    report = detect(repo.path, event_name="push", event_path=repo.push_event(before, after, forced=True))
    assert report.files == [PROD_PATCH]  # not "every file": the trees differ in one
    assert report.note is not None and "share no history: compared the trees" in report.note


def test_force_push_union_keeps_each_files_status_and_filters_see_both(repo: GitRepo) -> None:
    repo.commit("shared", files={"README.md": "# shared\n"})
    repo.commit("dropped later", files={"docs/dropped.md": "gone after the force push\n"})
    before = repo.rev()
    repo.reset_hard("HEAD~1")
    repo.commit("rewritten", files={"docs/new.md": "new\n"})
    event = repo.push_event(before, repo.rev(), forced=True)
    report = detect(repo.path, event_name="push", event_path=event, filters="docs: 'docs/**'")
    statuses = {c.path: c.status for c in report.file_statuses}
    assert statuses == {"docs/dropped.md": "deleted", "docs/new.md": "added"}
    assert report.filters["docs"]["files"] == ["docs/dropped.md", "docs/new.md"]


def test_pull_request_ignores_what_moved_on_the_base_branch(repo: GitRepo) -> None:
    kwargs = pull_request(repo)
    kwargs.pop("_head")
    report = detect(repo.path, **kwargs)
    assert BASE_FILE not in report.files
    assert report.base == repo.rev("main~1")


def test_dispatch_counts_every_filter_and_needs_no_base(repo: GitRepo) -> None:
    report = detect(repo.path, event_name="workflow_dispatch", filters="docs: '**/*.md'")
    assert report.base is None
    assert report.filters == {"docs": {"changed": True, "files": []}}
    assert not report.diffed


def test_filters_through_detect(repo: GitRepo) -> None:
    repo.commit("mixed", files={DEV_PATCH: "r: 2\n", "infra/k8s/hetzner/dev/README.md": "x\n"})
    filters = repo.path / ".github" / "filters.yaml"
    filters.parent.mkdir()
    filters.write_text("dev:\n  - 'infra/k8s/hetzner/dev/**'\n  - '!**/*.md'\ndocs: '**/*.md'\n")
    report = detect(repo.path, filters=".github/filters.yaml")
    assert report.filters == {
        "dev": {"changed": True, "files": [DEV_PATCH]},
        "docs": {"changed": True, "files": ["infra/k8s/hetzner/dev/README.md"]},
    }


@pytest.mark.parametrize(
    ("build", "reads"),
    [
        pytest.param(change_base, 0, id="no-policy-change-no-read"),
        pytest.param(
            control_edit("  dev:\n    branch: dev", "  dev:\n    branch: develop"), 2, id="policy-read-twice"
        ),
    ],
)
def test_four_git_processes_one_diff_and_the_policy_read_only_when_it_changed(
    repo: GitRepo,
    build: Callable[[GitRepo], Kwargs],
    reads: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    """Starting git costs more than most questions asked of it: top level, the parent, the diff,
    and ONE `git cat-file --batch` for every object (commits, trees, the policy at both ends)."""
    build(repo)
    monkeypatch.setenv("GITOPS_DEBUG", "1")  # the runner then logs every git command line
    runner.reset()
    detect(repo.path)
    err = capsys.readouterr().err.splitlines()
    commands = [line for line in err if line.startswith("debug: $ git")]
    subcommands = [line.split(" -c ")[-1].split()[1] for line in commands]
    assert subcommands == ["rev-parse", "cat-file", "rev-list", "diff"]
    objects = [line for line in err if line.startswith("debug:   cat-file <- ")]
    assert sum(line.endswith(f":{CONTROL}") for line in objects) == reads


def test_custom_infra_dir(git_repo: GitRepo) -> None:  # noqa: F811
    git_repo.write({"deploy/infra/k8s/hetzner/dev/kustomization.yaml": "resources: []\n"})
    git_repo.commit("one")
    git_repo.commit("two", files={"deploy/infra/k8s/hetzner/dev/x.yaml": "x: 1\n"})
    assert detect(git_repo.path, infra="deploy/infra").environments == ["dev"]
    assert detect(git_repo.path, infra="deploy/infra").known_environments == ["dev"]


def test_detect_from_a_subdirectory_uses_the_top_level(repo: GitRepo) -> None:
    change_dev(repo)
    assert detect(repo.path / "infra" / "k8s").environments == ["dev"]


# -- shallow clones ----------------------------------------------------------------------------


def long_history(r: GitRepo, commits: int) -> str:
    """``commits`` commits on main after the current one; returns the commit they start from."""
    start = r.rev()
    for i in range(commits):
        r.commit(f"c{i}", files={"infra/k8s/hetzner/dev/counter.yaml": f"n: {i}\n"})
    r.push("main")
    return start


def test_shallow_push_deepens_until_before_is_found(repo: GitRepo) -> None:
    before = repo.rev()
    repo.commit("prod", files={PROD_PATCH: "replicas: 2\n"})
    long_history(repo, 40)  # more than the first --deepen (32): the doubling is exercised
    clone = repo.checkout_like_actions(repo.rev(), "refs/heads/main")
    assert clone.is_shallow()
    report = detect(clone.path, event_name="push", event_path=repo.push_event(before, repo.rev()))
    assert report.environments == ["dev", "prod"]
    assert report.base == before
    assert report.note is None  # found by deepening: not mistaken for a force push


def test_shallow_pull_request_finds_merge_base(repo: GitRepo) -> None:
    fork = repo.rev()
    repo.branch("feature")
    repo.commit("pr", files={"infra/k8s/podman/local/patches/postgres.yaml": "r: 2\n"})
    head = repo.rev()
    repo.push("feature")
    repo.checkout("main")
    long_history(repo, 5)
    clone = repo.checkout_like_actions(head, "refs/heads/feature")
    report = detect(
        clone.path, event_name="pull_request", event_path=repo.pull_request_event(repo.rev(), head)
    )
    assert report.environments == ["local"]
    assert report.base == fork


def test_shallow_default_range_deepens_for_the_parent(repo: GitRepo) -> None:
    change_dev(repo)
    repo.push("main")
    clone = repo.shallow_clone()
    assert clone.is_shallow()
    report = detect(clone.path)
    assert report.environments == ["dev"]
    assert report.note is None  # not mistaken for a root commit


def test_shallow_new_branch_fetches_the_default_branch(repo: GitRepo) -> None:
    kwargs = push_new_branch(repo)
    clone = repo.checkout_like_actions(repo.rev(), "refs/heads/feature")
    report = detect(clone.path, **kwargs)
    assert report.environments == ["prod"]


def test_shallow_explicit_relative_base(repo: GitRepo) -> None:
    long_history(repo, 3)
    clone = repo.shallow_clone()
    assert detect(clone.path, base="HEAD~3").environments == ["dev"]


@pytest.mark.parametrize("base", ["main", "origin/main", "v1", "v1~0", "main^"])
def test_shallow_checkout_fetches_a_named_base(repo: GitRepo, base: str) -> None:
    repo.commit("tagged", files={"README.md": "# v1\n"})
    repo.tag("v1", annotated=True)
    repo.commit("main", files={"README.md": "# main\n"})
    repo.push("main", "v1")
    repo.branch("feature", "v1")
    repo.commit("feature", files={DEV_PATCH: "replicas: 3\n"})
    repo.push("feature")
    clone = repo.checkout_like_actions(repo.rev(), "refs/heads/feature")
    report = detect(clone.path, base=base)
    assert report.environments == ["dev"]
    assert report.files == [DEV_PATCH]  # the merge-base, whichever name reached it


class _Unauthorized(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # every git smart-HTTP request asks for credentials
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def unauthorized_remote() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/acme/platform.git"
    server.shutdown()
    server.server_close()


def test_shallow_without_credentials_says_use_fetch_depth_0(repo: GitRepo, unauthorized_remote: str) -> None:
    before = repo.rev()
    change_dev(repo)
    repo.push("main")
    clone = repo.checkout_like_actions(repo.rev(), "refs/heads/main")
    clone.git("remote", "set-url", "origin", unauthorized_remote)  # like persist-credentials: false
    with pytest.raises(ConfigurationError) as info:
        detect(clone.path, event_name="push", event_path=repo.push_event(before, repo.rev()))
    assert "fetch-depth: 0" in (info.value.hint or "")
    assert "not authorized" in info.value.title


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        pytest.param({"base": "no-such-branch"}, "'no-such-branch' is not in", id="unknown-base"),
        pytest.param({"head": "v9.9.9"}, "'v9.9.9' is not in", id="unknown-head"),
        pytest.param({"base": "2" * 40}, "force-pushed away", id="unknown-sha-hints-force-push"),
        pytest.param({"event_name": "push"}, "needs its event payload", id="push-without-payload"),
        pytest.param({"filters": "missing-filters.yaml"}, "not found", id="filters-file-missing"),
        pytest.param({"filters": "a:\n  - [x"}, "not valid YAML", id="filters-invalid"),
    ],
)
def test_user_errors(repo: GitRepo, kwargs: Kwargs, needle: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        detect(repo.path, **kwargs)
    assert needle in str(info.value)


def test_bad_payload(repo: GitRepo, tmp_path: Path) -> None:
    bad = tmp_path / "event.json"
    bad.write_text('{\n  "after": "abc",\n  not json\n}')
    with pytest.raises(ConfigurationError, match=r"not valid JSON: .*\(line 3, column 3\)") as info:
        detect(repo.path, event_path=bad)
    assert (info.value.file, info.value.line, info.value.key) == (str(bad), 3, "--event")
    assert "$GITHUB_EVENT_PATH" in (info.value.hint or "")
    bad.write_text("[]")
    with pytest.raises(ConfigurationError, match="is a JSON list, not an object"):
        detect(repo.path, event_path=bad)
    bad.write_text(json.dumps({"inputs": {}}))
    with pytest.raises(ConfigurationError, match="--event-name"):
        detect(repo.path, event_path=bad)
    bad.write_text(json.dumps({"pull_request": {"base": {}}}))
    with pytest.raises(ConfigurationError, match="lacks the base or head") as info:
        detect(repo.path, event_path=bad)
    assert info.value.file == str(bad)


def test_a_push_payload_without_after_is_refused_not_treated_as_a_new_branch(
    repo: GitRepo, tmp_path: Path
) -> None:
    # it used to say "push of a new branch : nothing to compare; every file counts", i.e. deploy everything
    empty = tmp_path / "event.json"
    empty.write_text("{}")
    with pytest.raises(ConfigurationError, match="no 'after' commit, so it is not a GitHub push") as info:
        detect(repo.path, event_name="push", event_path=empty)
    assert info.value.file == str(empty)


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not inside a git repository") as info:
        detect(tmp_path)
    assert "--repo" in (info.value.hint or "")


# -- the CLI and the Actions outputs -----------------------------------------------------------


def test_cli_outputs_in_actions(repo: GitRepo, gha_env: GhaEnv, cli: Any) -> None:
    before = repo.rev()
    push(repo)
    event = repo.push_event(before, repo.rev())
    filters = "pg: 'infra/**/postgres.yaml'\ndocs: '**/*.md'"
    result = cli(
        [
            "changes",
            "--repo",
            str(repo.path),
            "--event",
            str(event),
            "--event-name",
            "push",
            "--filters",
            filters,
        ]
    )
    assert result.code == 0, result.output
    data = json.loads(result.stdout)  # JSON is the default inside Actions
    assert data["environments"] == ["dev"]
    assert data["filters"]["pg"] == {"changed": True, "files": [DEV_PATCH]}
    out = gha_env.outputs()
    assert json.loads(out["environments"]) == ["dev"]
    assert json.loads(out["matrix"]) == {"include": [{"environment": "dev"}]}
    assert json.loads(out["clusters"]) == ["prod"]
    assert out["any"] == "true"
    assert out["any-cluster"] == "true"
    assert json.loads(out["files"]) == [DEV_PATCH, "infra/k8s/hetzner/prod/cluster/cluster-config.yaml"]
    assert (out["dev"], out["test"], out["prod"], out["local"]) == ("true", "false", "false", "false")
    assert (out["pg"], out["docs"]) == ("true", "false")
    assert (out["pg_count"], out["docs_count"]) == ("1", "0")  # dorny/paths-filter's outputs
    assert "pg_files" not in out  # only with --list-files
    assert json.loads(out["changes"]) == ["pg"]
    assert json.loads(out["filters"]) == {"pg": True, "docs": False}
    assert out["files-truncated"] == "false"
    assert out["head"] == repo.rev()
    summary = gha_env.summary()
    assert summary.startswith("### Change detection: dev affected; cluster(s): prod\n")
    assert f"| dev | yes | `{DEV_PATCH}` |" in summary
    assert "| prod | no |  |" in summary


def test_cli_summary_and_files_output_are_capped(repo: GitRepo, gha_env: GhaEnv, cli: Any) -> None:
    repo.commit("many", files={f"infra/k8s/base/generated/f{i:04}.yaml": f"n: {i}\n" for i in range(1003)})
    result = cli(["changes", "--repo", str(repo.path)])
    assert result.code == 0, result.output
    out = gha_env.outputs()
    assert len(json.loads(out["files"])) == 1000
    assert (out["files-count"], out["files-truncated"]) == ("1003", "true")
    assert "the 'files' output lists the first 1000" in result.stderr
    assert "… and 998 more" in gha_env.summary()
    assert len(json.loads(result.stdout)["files"]) == 1003


def test_cli_filter_name_clashing_with_an_output(repo: GitRepo, gha_env: GhaEnv, cli: Any) -> None:
    change_dev(repo)
    result = cli(["changes", "--repo", str(repo.path), "--filters", "dev: '**'"])
    assert result.code == 1
    assert "filter 'dev': its output would overwrite the 'dev' environment's output" in result.stderr
    assert gha_env.outputs() == {}


def test_cli_table_outside_actions(repo: GitRepo, cli: Any) -> None:
    force_push(repo)
    result = cli(["changes", "--repo", str(repo.path), "--base", "HEAD~1"])
    assert result.code == 0
    assert "ENVIRONMENT" in result.stdout
    assert "prod         yes" in result.stdout


def test_cli_event_from_environment(repo: GitRepo, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_EVENT_NAME", "schedule")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(repo.event({"schedule": "0 3 * * *"})))
    result = cli(["changes", "--repo", str(repo.path), "--format", "json"])
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["environments"] == ALL
    assert data["reasons"]["prod"] == ["schedule: no diff, every environment"]


def test_cli_warns_about_infra_files_no_environment_counts(repo: GitRepo, cli: Any) -> None:
    repo.commit("component", files={"infra/k8s/components/monitoring/x.yaml": "a: 1\n"})
    result = cli(["changes", "--repo", str(repo.path), "--format", "json"])
    assert result.code == 0
    assert json.loads(result.stdout)["unmapped"] == ["infra/k8s/components/monitoring/x.yaml"]
    assert "no environment counts them" in result.stderr


def test_cli_bad_revision_is_exit_1_without_traceback(repo: GitRepo, cli: Any) -> None:
    result = cli(["changes", "--repo", str(repo.path), "--base", "nope"])
    assert result.code == 1
    assert "Traceback" not in result.output
    assert "'nope' is not in" in result.stderr


def test_cli_help_teaches(cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli(["changes", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text
    assert "fetch-depth: 0" in text
    assert "EXCLUDES" in text


# -- issue 12, defect 5: --base HEAD means the working tree, as in dorny/paths-filter --------------


def test_base_head_is_staged_and_unstaged_changes_against_head(repo: GitRepo) -> None:
    """dorny main.ts: "if base is 'HEAD' only local uncommitted changes will be detected";
    git.ts getChangesOnHead: `git diff HEAD` (staged and unstaged, untracked not included)."""
    repo.write({DEV_PATCH: "replicas: 7\n"})  # unstaged
    repo.write({PROD_PATCH: "replicas: 8\n"})
    repo.git("add", PROD_PATCH)  # staged
    repo.write({"infra/k8s/hetzner/test/patches/new.yaml": "untracked: true\n"})  # untracked: ignored
    report = detect(repo.path, base="HEAD")
    assert report.files == [DEV_PATCH, PROD_PATCH]
    assert report.environments == ["dev", "prod"]
    assert report.base == report.head == repo.rev()
    assert report.note is not None and "untracked" in report.note


def test_base_head_policy_change_in_the_working_tree(repo: GitRepo) -> None:
    repo.write({CONTROL: DEPLOY_CONTROL.replace("  test:\n    branch: test", "  test:\n    branch: release")})
    assert detect(repo.path, base="HEAD").environments == ["test"]


def test_base_head_with_nothing_changed_says_so(repo: GitRepo) -> None:
    report = detect(repo.path, base="HEAD")
    assert report.files == []
    assert report.note is not None and "working tree" in report.note


def test_base_head_ignores_head_with_a_warning(repo: GitRepo, capsys: Any) -> None:
    repo.write({DEV_PATCH: "replicas: 7\n"})
    report = detect(repo.path, base="HEAD", head="HEAD~0")
    assert report.environments == ["dev"]
    assert "--head is ignored" in capsys.readouterr().err


# -- issue 12, defect 4: a checkout owned by another user (container jobs) ---------------------


def _owned_by_someone_else(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """The container-job situation: the workspace belongs to uid 1001, git runs as another user.

    As root (CI here) the files really are chowned to 1001; otherwise git's own test switch
    GIT_TEST_ASSUME_DIFFERENT_OWNER makes the same ownership check fail."""
    if os.geteuid() == 0:
        for path in [repo.path, *repo.path.rglob("*")]:
            os.lchown(path, 1001, 1001)
    else:
        monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")


def test_dubious_ownership_is_retried_with_safe_directory(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    change_dev(repo)
    _owned_by_someone_else(repo, monkeypatch)
    report = detect(repo.path / "infra")
    assert report.environments == ["dev"]
    err = capsys.readouterr().err
    assert "dubious ownership" in err
    assert f"safe.directory={repo.path}" in err


def test_cli_dubious_ownership_is_a_notice_not_a_traceback(
    repo: GitRepo, gha_env: GhaEnv, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    change_dev(repo)
    _owned_by_someone_else(repo, monkeypatch)
    result = cli(["changes", "--repo", str(repo.path)])
    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    assert "::notice title=git%3A dubious ownership::" in result.stderr
    assert gha_env.outputs()["dev"] == "true"


# -- issue 12, defect 6: filter names and clashes with other outputs ----------------------------


def test_cli_filter_name_clash_is_refused_outside_actions_too(repo: GitRepo, cli: Any) -> None:
    change_dev(repo)
    result = cli(["changes", "--repo", str(repo.path), "--format", "json", "--filters", "any: '**'"])
    assert result.code == 1
    assert "filter 'any': its output would overwrite a built-in output" in result.stderr


def test_cli_any_yaml_key_is_a_filter_and_an_output(repo: GitRepo, gha_env: GhaEnv, cli: Any) -> None:
    change_dev(repo)
    result = cli(["changes", "--repo", str(repo.path), "--filters", "web.app: 'web/**'\n1-api: 'infra/**'"])
    assert result.code == 0, result.output
    out = gha_env.outputs()
    assert (out["web.app"], out["1-api"], out["1-api_count"]) == ("false", "true", "1")
