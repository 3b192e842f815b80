"""Real git repositories in tmp for tests: commits, branches, merges, tags, renames, deletions,
an "origin" bare remote to push to (and force-push to), shallow clones, and GitHub event payloads.

    def test_x(git_repo: GitRepo) -> None:
        git_repo.write_infra()
        first = git_repo.commit("infra")
        second = git_repo.commit("bump", files={"infra/k8s/base/a.yaml": "b: 2\\n"})
        clone = git_repo.shallow_clone()        # `git clone --depth 1 file://origin`

Every repository is isolated from the user's git configuration (HOME points into tmp).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

ZERO = "0" * 40

DEPLOY_CONTROL = """\
# Deployment policy
version: 3
global:
  auto_deploy: true
environments:
  dev:
    branch: dev
    enabled: true
    auto_deploy: true
  test:
    branch: test
    enabled: true
    auto_deploy: true
  prod:
    branch: main
    enabled: true
    auto_deploy: false
  local:
    branch: main
    enabled: true
    auto_deploy: false
"""

# The standard tree: base, three hetzner overlays with cluster configs, podman/local.
INFRA: dict[str, str] = {
    "infra/deploy-control.yaml": DEPLOY_CONTROL,
    "infra/k8s/base/kustomization.yaml": "resources:\n  - statefulsets/postgres.statefulset.yaml\n",
    "infra/k8s/base/statefulsets/postgres.statefulset.yaml": "kind: StatefulSet\nmetadata: {name: pg}\n",
    "infra/k8s/base/statefulsets/redis.statefulset.yaml": "kind: StatefulSet\nmetadata: {name: redis}\n",
    "infra/k8s/podman/local/kustomization.yaml": "resources:\n  - ../../base\n",
    "infra/k8s/podman/local/patches/postgres.yaml": "replicas: 1\n",
    "README.md": "# platform\n",
}
for _env in ("dev", "test", "prod"):
    INFRA[f"infra/k8s/hetzner/{_env}/kustomization.yaml"] = "resources:\n  - ../../../base\n"
    INFRA[f"infra/k8s/hetzner/{_env}/patches/postgres.yaml"] = f"# {_env}\nreplicas: 1\n"
    INFRA[f"infra/k8s/hetzner/{_env}/cluster/cluster-config.yaml"] = f"cluster_name: {_env}\n"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Test",
            "GIT_AUTHOR_EMAIL": "test@example.invalid",
            "GIT_COMMITTER_NAME": "Test",
            "GIT_COMMITTER_EMAIL": "test@example.invalid",
            "LC_ALL": "C",
        }
    )
    return env


class GitRepo:
    """A working repository with a bare ``origin`` next to it."""

    def __init__(self, path: Path, origin: Path, home: Path) -> None:
        self.path = path
        self.origin = origin
        self.home = home
        self._env = _env(home)
        self._tick = 0

    @classmethod
    def create(cls, root: Path, *, branch: str = "main") -> GitRepo:
        home = root / "home"
        home.mkdir(parents=True, exist_ok=True)
        origin = root / "origin.git"
        path = root / "work"
        env = _env(home)
        subprocess.run(["git", "init", "-q", "--bare", "-b", branch, str(origin)], check=True, env=env)
        subprocess.run(["git", "init", "-q", "-b", branch, str(path)], check=True, env=env)
        repo = cls(path, origin, home)
        repo.git("remote", "add", "origin", repo.origin_url)
        return repo

    @property
    def origin_url(self) -> str:
        return f"file://{self.origin}"

    # -- plumbing ------------------------------------------------------------------------------
    def git(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=cwd or self.path, env=self._env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc.stdout.strip()

    def rev(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", f"{rev}^{{commit}}")

    # -- the work tree -------------------------------------------------------------------------
    def write(self, files: Mapping[str, str]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")

    def write_infra(self, overrides: Mapping[str, str] | None = None) -> None:
        self.write({**INFRA, **(overrides or {})})

    def commit(
        self,
        message: str = "change",
        *,
        files: Mapping[str, str] | None = None,
        delete: tuple[str, ...] = (),
        rename: Mapping[str, str] | None = None,
        allow_empty: bool = False,
    ) -> str:
        """Write ``files``, ``git rm`` ``delete``, ``git mv`` each ``rename`` old->new, commit all."""
        self.write(files or {})
        for path in delete:
            self.git("rm", "-q", "-r", path)
        for old, new in (rename or {}).items():
            (self.path / new).parent.mkdir(parents=True, exist_ok=True)
            self.git("mv", old, new)
        self.git("add", "-A")
        self._tick += 1
        # distinct, increasing timestamps keep history order deterministic
        stamp = f"@{1_700_000_000 + self._tick * 60} +0000"
        args = ["-c", "commit.gpgsign=false", "commit", "-q", "-m", message]
        if allow_empty:
            args.append("--allow-empty")
        env_stamp = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        self._env.update(env_stamp)
        try:
            self.git(*args)
        finally:
            for key in env_stamp:
                self._env.pop(key, None)
        return self.rev()

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git("checkout", "-q", "-b", name, start)

    def checkout(self, rev: str) -> None:
        self.git("checkout", "-q", rev)

    def merge(self, other: str, message: str | None = None) -> str:
        self.git(
            "-c", "commit.gpgsign=false", "merge", "-q", "--no-ff", "-m", message or f"merge {other}", other
        )
        return self.rev()

    def tag(self, name: str, rev: str = "HEAD", *, annotated: bool = False) -> str:
        if annotated:
            self.git("-c", "tag.gpgsign=false", "tag", "-a", "-m", name, name, rev)
        else:
            self.git("tag", name, rev)
        return self.git("rev-parse", name)

    def push(self, *refspecs: str, force: bool = False) -> None:
        self.git("push", "-q", *(["--force"] if force else []), "origin", *(refspecs or ("HEAD",)))

    def reset_hard(self, rev: str) -> None:
        self.git("reset", "-q", "--hard", rev)

    # -- clones --------------------------------------------------------------------------------
    def clone(self, dest: Path, *, depth: int | None = None, branch: str | None = None) -> GitRepo:
        args = ["clone", "-q"]
        if depth is not None:
            args += ["--depth", str(depth)]
        if branch is not None:
            args += ["--branch", branch]
        self.git(*args, self.origin_url, str(dest), cwd=dest.parent)
        return GitRepo(dest, self.origin, self.home)

    def shallow_clone(
        self, dest: Path | None = None, *, branch: str | None = None, depth: int = 1
    ) -> GitRepo:
        """``git clone --depth N file://origin`` (what actions/checkout does by default)."""
        return self.clone(dest or self.path.parent / f"shallow-{self._next()}", depth=depth, branch=branch)

    def checkout_like_actions(self, sha: str, ref: str, dest: Path | None = None) -> GitRepo:
        """What actions/checkout does with fetch-depth 1: init, fetch ONE commit for the ref, check it out."""
        dest = dest or self.path.parent / f"checkout-{self._next()}"
        dest.mkdir(parents=True)
        repo = GitRepo(dest, self.origin, self.home)
        repo.git("init", "-q")
        repo.git("remote", "add", "origin", self.origin_url)
        short = ref.removeprefix("refs/heads/")
        target = f"refs/remotes/origin/{short}" if ref.startswith("refs/heads/") else ref
        repo.git("fetch", "-q", "--no-tags", "--depth=1", "origin", f"+{sha}:{target}")
        repo.git("checkout", "-q", "--detach", sha)
        return repo

    def _next(self) -> int:
        self._tick += 1
        return self._tick

    def is_shallow(self) -> bool:
        return self.git("rev-parse", "--is-shallow-repository") == "true"

    # -- GitHub event payloads -----------------------------------------------------------------
    def event(self, payload: Mapping[str, Any], name: str = "event") -> Path:
        target = self.path.parent / f"{name}-{self._next()}.json"
        target.write_text(json.dumps(payload), encoding="utf-8")
        return target

    def push_event(
        self,
        before: str,
        after: str,
        *,
        ref: str = "refs/heads/main",
        default_branch: str = "main",
        forced: bool = False,
    ) -> Path:
        return self.event(
            {
                "ref": ref,
                "before": before,
                "after": after,
                "created": before == ZERO,
                "deleted": after == ZERO,
                "forced": forced,
                "repository": {"default_branch": default_branch, "full_name": "acme/platform"},
            },
            "push",
        )

    def pull_request_event(self, base: str, head: str, *, number: int = 7) -> Path:
        return self.event(
            {
                "action": "synchronize",
                "number": number,
                "pull_request": {
                    "number": number,
                    "base": {"ref": "main", "sha": base},
                    "head": {"ref": "feature", "sha": head},
                },
                "repository": {"default_branch": "main", "full_name": "acme/platform"},
            },
            "pull_request",
        )

    def merge_group_event(self, base: str, head: str) -> Path:
        return self.event(
            {
                "action": "checks_requested",
                "merge_group": {
                    "base_sha": base,
                    "head_sha": head,
                    "base_ref": "refs/heads/main",
                    "head_ref": "refs/heads/gh-readonly-queue/main/pr-7-" + base[:8],
                },
                "repository": {"default_branch": "main"},
            },
            "merge_group",
        )


@pytest.fixture
def git_repo(tmp_path: Path, require_binary: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitRepo]:
    """An empty repository on branch ``main`` with a bare ``origin``; see :class:`GitRepo`.

    The code under test also runs without the user's git configuration.
    """
    require_binary("git")
    repo = GitRepo.create(tmp_path / "repo")
    monkeypatch.setenv("HOME", str(repo.home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(repo.home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    yield repo
