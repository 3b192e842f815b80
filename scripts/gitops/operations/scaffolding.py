"""Scaffold a repository that uses this suite (``gitops init``): read the suite's checkout, write files.

The templates are this suite's real files, read at run time from the checkout this ``gitops``
package lives in (``scripts/gitops`` of a clone, which is also where the actions source it from):
its workflows, rewritten by :func:`gitops.core.scaffold.rewrite_workflow` to use the actions at
the pinned commit; its overlays' kustomizations as skeletons, and its cluster configurations;
with ``--with-examples`` its whole ``infra/`` (PostgreSQL, Valkey, Jaeger and the policy made
for them). A file that exists with other content is overwritten only with ``--force``, and
then only if it is a regular file: without it, nothing at all is written and every such file is
listed.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gitops
from gitops.adapters.git import Git
from gitops.core import scaffold
from gitops.core.scaffold import SuitePin
from gitops.errors import ConfigurationError, Problem

WORKFLOWS = Path(".github/workflows")
INFRA = Path("infra")


@dataclass(frozen=True)
class InitRequest:
    directory: Path
    suite: str  # OWNER/REPO@SHA
    version: str | None = None  # vX.Y.Z; default: the release tag that points at SHA in the checkout
    with_examples: bool = False
    force: bool = False
    checkout: Path | None = None  # the suite's checkout to read; default: this package's


@dataclass(frozen=True)
class PlannedFile:
    path: str  # relative to the new repository, posix
    content: bytes
    mode: int
    origin: str  # the suite file it comes from, or "generated"


@dataclass(frozen=True)
class WrittenFile:
    path: str
    action: str  # created, overwritten, unchanged
    origin: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "action": self.action, "origin": self.origin}


@dataclass
class Scaffold:
    """What :func:`init` did."""

    directory: Path
    pin: SuitePin
    with_examples: bool
    checkout: Path
    files: list[WrittenFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "suite": {
                "repository": self.pin.repository,
                "sha": self.pin.sha,
                "version": self.pin.version,
                "uses": self.pin.uses("<action>"),
            },
            "with_examples": self.with_examples,
            "checkout": str(self.checkout),
            "files": [f.to_json() for f in self.files],
            "warnings": self.warnings,
        }


def suite_checkout() -> Path:
    """The checkout this package runs from (``<root>/scripts/gitops``), which must be the suite's."""
    root = Path(gitops.__file__).resolve().parents[2]
    if all((root / p).exists() for p in (WORKFLOWS, INFRA / "k8s", Path("actions"))):
        return root
    raise ConfigurationError(
        f"gitops init reads the suite's workflows and infra/ from its checkout, and this gitops "
        f"({Path(gitops.__file__).resolve().parent}) does not run from one",
        hint="run gitops from a clone of the suite: `bash scripts/dev.sh venv` there, or "
        "`pip install -e <clone>`, then `<clone>/.venv/bin/gitops init ...`",
        title="Suite checkout not found",
    )


# -- the suite's files -----------------------------------------------------------------------------


def _git(checkout: Path) -> Git | None:
    """The git adapter for the checkout, or None when it is not a git work tree."""
    return Git(checkout) if (checkout / ".git").exists() else None


def _files_under(checkout: Path, prefix: Path) -> list[Path]:
    """The suite's files under ``prefix`` (relative): what git tracks, or without git, every file
    but what the tree's .gitignore files exclude (rendered manifests, kubeconfigs)."""
    repo = _git(checkout)
    if repo is not None:
        out = repo.run("ls-files", "-z", "--", prefix.as_posix()).stdout.decode()
        return sorted(Path(name) for name in out.split("\0") if name and (checkout / name).is_file())
    patterns = [
        line.strip()
        for ignore in (checkout / prefix).rglob(".gitignore")
        for line in ignore.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(rel: Path) -> bool:
        return any(fnmatch.fnmatch(part, pattern.rstrip("/")) for pattern in patterns for part in rel.parts)

    found = (p.relative_to(checkout) for p in (checkout / prefix).rglob("*") if p.is_file())
    return sorted(rel for rel in found if not ignored(rel))


def _copy(checkout: Path, rel: Path) -> PlannedFile:
    source = checkout / rel
    return PlannedFile(rel.as_posix(), source.read_bytes(), source.stat().st_mode & 0o777, rel.as_posix())


def _generated(rel: str, text: str, origin: str = "generated") -> PlannedFile:
    return PlannedFile(rel, text.encode("utf-8"), 0o644, origin)


def _workflows(checkout: Path, pin: SuitePin, with_examples: bool) -> list[PlannedFile]:
    sources = sorted(
        p
        for p in (checkout / WORKFLOWS).iterdir()
        if p.suffix in (".yml", ".yaml") and p.name not in scaffold.SUITE_ONLY_WORKFLOWS
    )
    texts = {p: p.read_text(encoding="utf-8") for p in sources}
    drop = set() if with_examples else scaffold.substituted_secrets(texts.values())
    planned = []
    for path, text in texts.items():
        rel = (WORKFLOWS / path.name).as_posix()
        rewritten = scaffold.rewrite_workflow(text, pin, drop_secrets=drop)
        left = scaffold.leftovers(rewritten)
        if left:  # the suite's workflow gained something the scaffold does not handle: a bug here
            where = "; ".join(f"line {line}: {what}" for line, what in left)
            raise RuntimeError(f"scaffolded {rel} still refers to the suite's own tree ({where})")
        planned.append(_generated(rel, rewritten, origin=rel))
    return planned


def _overlays(checkout: Path) -> list[Path]:
    """The suite's overlay directories (relative): infra/k8s/<provider>/<env> with a kustomization."""
    k8s = checkout / INFRA / "k8s"
    return sorted(
        p.parent.relative_to(checkout)
        for p in k8s.glob("*/*/kustomization.yaml")
        if p.parent.parent.name != "base"
    )


def _infra(checkout: Path, pin: SuitePin, with_examples: bool) -> list[PlannedFile]:
    if with_examples:
        return [_copy(checkout, rel) for rel in _files_under(checkout, INFRA)]
    suite = f"{pin.repository}@{pin.sha[:12]}"
    policy = (checkout / INFRA / "deploy-control.yaml").read_text(encoding="utf-8")
    planned = [
        _generated("infra/deploy-control.yaml", scaffold.skeleton_policy(policy)),
        _generated("infra/k8s/base/kustomization.yaml", scaffold.base_skeleton(suite)),
    ]
    for overlay in _overlays(checkout):
        kustomization = overlay / "kustomization.yaml"
        text = (checkout / kustomization).read_text(encoding="utf-8")
        skeleton = scaffold.overlay_skeleton(text, kustomization.as_posix(), suite)
        planned.append(_generated(kustomization.as_posix(), skeleton, origin=kustomization.as_posix()))
        # The overlay's .gitignore (rendered manifests, kubeconfigs) and its cluster configuration.
        for rel in _files_under(checkout, overlay):
            if rel.name == ".gitignore" or rel.parent.name == "cluster":
                planned.append(_copy(checkout, rel))
    return planned


def planned_files(checkout: Path, pin: SuitePin, with_examples: bool) -> list[PlannedFile]:
    """Every file of the scaffold, from the suite's checkout (nothing is written)."""
    return _infra(checkout, pin, with_examples) + _workflows(checkout, pin, with_examples)


# -- the pin ---------------------------------------------------------------------------------------


def _version(request: InitRequest, checkout: Path, sha: str) -> str:
    if request.version:
        return scaffold.parse_version(request.version)
    repo = _git(checkout)
    tags = repo.run("tag", "--points-at", sha, check=False).text.split() if repo else []
    version = scaffold.version_of_tags(tags)
    if version is None:
        raise ConfigurationError(
            f"which release is {sha[:12]}? No release tag (vX.Y.Z) of the suite's checkout points at it",
            key="--version",
            hint="pass the release the commit is, e.g. --version v1.2.0: it becomes the comment after "
            "each pinned uses:, which Dependabot updates together with the SHA",
            title="Version needed",
        )
    return version


def _warnings(checkout: Path, sha: str) -> list[str]:
    """Whether the files read are those of the pinned commit."""
    repo = _git(checkout)
    if repo is None:
        return [f"{checkout} is not a git checkout: its files may not be those of {sha[:12]}"]
    found = []
    head = repo.run("rev-parse", "HEAD", check=False).text.strip()
    if head != sha:
        found.append(
            f"the workflows and infra/ come from the suite's checkout at {head[:12] or 'no commit'}, "
            f"but --suite pins {sha[:12]}: check out {sha[:12]} there and run again if their action "
            "inputs could differ"
        )
    paths = [WORKFLOWS.as_posix(), INFRA.as_posix()]
    if repo.run("status", "--porcelain", "--", *paths, check=False).text.strip():
        found.append(f"the suite's checkout has uncommitted changes under {' and '.join(paths)}")
    return found


# -- writing ---------------------------------------------------------------------------------------


def _conflict(directory: Path, path: str, content: bytes, force: bool) -> str | None:
    """Why ``directory / path`` may not be written, or None (``directory`` is resolved)."""
    target = directory / path
    for between in list(Path(path).parents)[:-1]:  # the directories between DIR and the file
        parent = directory / between
        if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
            return f"{parent} is {'a symbolic link' if parent.is_symlink() else 'not a directory'}"
    if target.is_symlink():
        return "is a symbolic link (never written through)"
    if target.exists() and not target.is_file():
        return "exists and is not a regular file"
    if target.is_file() and target.read_bytes() != content and not force:
        return "exists with other content (--force overwrites it)"
    return None


def _write(target: Path, content: bytes, mode: int) -> None:
    """``content`` into ``target`` atomically: a temporary file beside it, then a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        temporary.chmod(mode)
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def init(request: InitRequest) -> Scaffold:
    """Scaffold ``request.directory``; see the module docstring."""
    owner, repo, sha = scaffold.parse_suite(request.suite)
    checkout = (request.checkout or suite_checkout()).resolve()
    directory = request.directory.resolve()
    if directory == checkout or checkout in directory.parents:
        raise ConfigurationError(
            f"{request.directory} is inside the suite's own checkout ({checkout})",
            key="DIR",
            hint="scaffold a new repository elsewhere, e.g. gitops init ../platform --suite ...",
            title="Invalid input",
        )
    if directory.exists() and not directory.is_dir():
        raise ConfigurationError(
            f"{request.directory} exists and is not a directory", key="DIR", title="Invalid input"
        )
    pin = SuitePin(owner, repo, sha, _version(request, checkout, sha))
    result = Scaffold(directory, pin, request.with_examples, checkout, warnings=_warnings(checkout, sha))
    planned = planned_files(checkout, pin, request.with_examples)
    problems = [
        Problem(why, str(directory / f.path))
        for f in planned
        if (why := _conflict(directory, f.path, f.content, request.force)) is not None
    ]
    if problems:
        raise ConfigurationError(
            f"{len(problems)} file(s) of the scaffold cannot be written in {request.directory}; "
            "nothing was written",
            file=problems[0].file,
            hint="scaffold into a new or empty directory, or pass --force to overwrite files that "
            "differ (review the result with git diff); symbolic links are never written through",
            title="Files exist",
            problems=tuple(problems),
        )
    for f in planned:
        target = directory / f.path
        if target.is_file() and target.read_bytes() == f.content:
            result.files.append(WrittenFile(f.path, "unchanged", f.origin))
            continue
        action = "overwritten" if target.exists() else "created"
        _write(target, f.content, f.mode)
        result.files.append(WrittenFile(f.path, action, f.origin))
    return result
