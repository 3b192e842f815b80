"""Which environments and clusters a set of changed files affects (pure: plain data in and out).

The layout (``infra`` is configurable, e.g. ``deploy/infra``)::

    <infra>/deploy-control.yaml            policy: only environments whose section changed
    <infra>/k8s/base/**                    every overlay
    <infra>/k8s/<provider>/<env>/**        that environment (outside cluster/)
    <infra>/k8s/<provider>/<env>/cluster/** that environment's cluster

The environment key is the overlay's last path segment (``hetzner/dev`` -> ``dev``,
``podman/local`` -> ``local``). Overlays come from the trees of BOTH sides of the diff, so an
overlay deleted in head still counts as affected. A rename counts for its old and its new path;
a deletion counts like any other change.

Everything here is linear in the number of changed files: each path is classified by a fixed
number of dictionary lookups on its leading segments. The records are NamedTuples, not
dataclasses: ``gitops changes`` starts a process per CI run, and importing ``dataclasses``
(with the inspect/ast/dis it pulls in) plus generating each class's methods is a visible
share of that start (benchmarks/results/changes.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

# git's --name-status letters -> the words used in our JSON (and by dorny/paths-filter).
STATUS_WORDS: dict[str, str] = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
    "T": "type-changed",
    "U": "unmerged",
}

# Files whose presence in <infra>/k8s/<provider>/<env>/ makes that directory an overlay.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
CLUSTER_DIR = "cluster"
BASE_DIR = "base"
CONTROL_FILE = "deploy-control.yaml"

# Promotion order first, then anything else alphabetically.
_KNOWN_ORDER = {name: rank for rank, name in enumerate(("dev", "test", "prod", "local"))}


class FileChange(NamedTuple):
    """One entry of ``git diff --name-status``: ``old_path`` is set for renames and copies."""

    status: str
    path: str
    old_path: str | None = None

    def touched_paths(self) -> tuple[str, ...]:
        """Paths whose content changed: both sides of a rename, only the new path of a copy."""
        if self.status == "renamed" and self.old_path and self.old_path != self.path:
            return (self.old_path, self.path)
        return (self.path,)

    def to_json(self) -> dict[str, str]:
        data = {"status": self.status, "path": self.path}
        if self.old_path is not None:
            data["old_path"] = self.old_path
        return data


class Overlay(NamedTuple):
    """An environment directory ``<infra>/k8s/<provider>/<environment>``."""

    provider: str
    environment: str
    path: str
    has_cluster: bool = False


class Layout(NamedTuple):
    """Where things live under the infra root (``infra`` unless the user moved it)."""

    infra: str = "infra"

    @property
    def root(self) -> str:
        cleaned = self.infra.strip().replace("\\", "/")
        while cleaned.startswith("./"):
            cleaned = cleaned[2:]
        return cleaned.strip("/")

    def _join(self, *parts: str) -> str:
        return "/".join(p for p in (self.root, *parts) if p)

    @property
    def k8s(self) -> str:
        return self._join("k8s")

    @property
    def control_file(self) -> str:
        return self._join(CONTROL_FILE)


DEFAULT_LAYOUT = Layout()


class ControlImpact(NamedTuple):
    """What a deploy-control.yaml change means: per-environment reasons, or everything."""

    environments: Mapping[str, str] = MappingProxyType({})
    every_environment: str | None = None  # the reason, when every environment counts


class Impact(NamedTuple):
    environments: list[str]
    clusters: list[str]
    reasons: dict[str, list[str]]
    cluster_reasons: dict[str, list[str]]
    unmapped: list[str]


def sort_environments(names: Iterable[str]) -> list[str]:
    """dev, test, prod, local first (promotion order), then the rest alphabetically; no duplicates."""
    return sorted(set(names), key=lambda n: (_KNOWN_ORDER.get(n, len(_KNOWN_ORDER)), n))


def find_overlays(paths: Iterable[str], layout: Layout = DEFAULT_LAYOUT) -> list[Overlay]:
    """Overlays among ``paths`` (files and directories of a tree, repo-relative, '/'-separated).

    A directory ``<infra>/k8s/<provider>/<env>`` (provider != base) is an environment when it
    holds a kustomization file or a ``cluster/`` directory.
    """
    prefix = layout.k8s + "/"
    kustomized: set[tuple[str, str]] = set()
    clustered: set[tuple[str, str]] = set()
    for path in paths:
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        if len(parts) < 3 or parts[0] == BASE_DIR or not parts[0] or not parts[1]:
            continue
        key = (parts[0], parts[1])
        if parts[2] in KUSTOMIZATION_FILES:
            kustomized.add(key)
        elif parts[2] == CLUSTER_DIR:
            clustered.add(key)
    found = [
        Overlay(provider, env, f"{prefix}{provider}/{env}", has_cluster=(provider, env) in clustered)
        for provider, env in sorted(kustomized | clustered)
    ]
    return sorted(found, key=lambda o: (_KNOWN_ORDER.get(o.environment, len(_KNOWN_ORDER)), o.path))


def merge_overlays(*groups: Iterable[Overlay]) -> list[Overlay]:
    """Union of overlays seen in several trees (base and head), keyed by path."""
    by_path: dict[str, Overlay] = {}
    for group in groups:
        for overlay in group:
            seen = by_path.get(overlay.path)
            if seen is None or (overlay.has_cluster and not seen.has_cluster):
                by_path[overlay.path] = overlay
    return sorted(
        by_path.values(), key=lambda o: (_KNOWN_ORDER.get(o.environment, len(_KNOWN_ORDER)), o.path)
    )


def removed_overlays(changes: Iterable[FileChange], layout: Layout = DEFAULT_LAYOUT) -> list[Overlay]:
    """Overlays the base side had and the diff removed files of (deleted or renamed away).

    An overlay that exists at base but not at head must have lost its kustomization file or
    its cluster/ files, and those appear in the diff as deletions or rename sources. Together
    with the head tree's overlays this is exactly the base-or-head overlay set, without
    listing the base tree.
    """
    gone = [
        c.old_path if c.status == "renamed" and c.old_path else c.path
        for c in changes
        if c.status == "deleted" or (c.status == "renamed" and c.old_path)
    ]
    return find_overlays(gone, layout)


def union_changes(primary: Sequence[FileChange], extra: Iterable[FileChange]) -> list[FileChange]:
    """``primary`` plus the entries of ``extra`` whose paths it does not already report, in path order.

    A force push compares before's and after's trees (``primary``: each file's status there is the
    truth about what changes on deploy) and adds what after brought since the merge-base
    (``extra``: a rebased change that both trees hold).
    """
    seen = {path for change in primary for path in change.touched_paths()}
    merged = list(primary)
    for change in extra:
        if not seen.issuperset(change.touched_paths()):
            merged.append(change)
            seen.update(change.touched_paths())
    return sorted(merged, key=lambda c: c.path)


def touches_control_file(changes: Iterable[FileChange], layout: Layout = DEFAULT_LAYOUT) -> bool:
    target = layout.control_file
    return any(target in change.touched_paths() for change in changes)


def map_changes(
    changes: Sequence[FileChange],
    overlays: Sequence[Overlay],
    *,
    layout: Layout = DEFAULT_LAYOUT,
    control: ControlImpact | None = None,
) -> Impact:
    """Affected environments and clusters, each with the files (or sentences) that explain why."""
    k8s_prefix = layout.k8s + "/"
    control_file = layout.control_file
    env_of_dir: dict[tuple[str, str], str] = {(o.provider, o.environment): o.environment for o in overlays}
    every_env = sort_environments(o.environment for o in overlays)

    reasons: dict[str, list[str]] = {}
    cluster_reasons: dict[str, list[str]] = {}
    unmapped: list[str] = []
    base_files: list[str] = []

    def add(target: dict[str, list[str]], env: str, why: str) -> None:
        bucket = target.setdefault(env, [])
        if not bucket or bucket[-1] != why:
            bucket.append(why)

    for change in changes:
        for path in change.touched_paths():
            if path == control_file:
                continue  # handled below from the semantic diff
            if not path.startswith(k8s_prefix):
                unmapped.append(path)
                continue
            parts = path[len(k8s_prefix) :].split("/", 3)
            if parts[0] == BASE_DIR and len(parts) > 1:
                base_files.append(path)
                continue
            env = env_of_dir.get((parts[0], parts[1])) if len(parts) > 2 else None
            if env is None:
                unmapped.append(path)
            elif parts[2] == CLUSTER_DIR and len(parts) > 3:
                add(cluster_reasons, env, path)
            else:
                add(reasons, env, path)

    if base_files:
        for env in every_env:
            bucket = reasons.setdefault(env, [])
            bucket[:0] = base_files  # base first: it is usually the bigger story

    if control is not None:
        if control.every_environment is not None:
            for env in every_env:
                add(reasons, env, control.every_environment)
        else:
            known = set(every_env)
            for env, why in control.environments.items():
                if env in known:
                    add(reasons, env, why)

    ordered_reasons = {env: reasons[env] for env in sort_environments(reasons)}
    ordered_clusters = {env: cluster_reasons[env] for env in sort_environments(cluster_reasons)}
    return Impact(
        environments=list(ordered_reasons),
        clusters=list(ordered_clusters),
        reasons=ordered_reasons,
        cluster_reasons=ordered_clusters,
        unmapped=unmapped,
    )


def everything(overlays: Sequence[Overlay], reason: str) -> Impact:
    """Every environment (and every cluster) with one sentence as the reason: a run with no diff."""
    envs = sort_environments(o.environment for o in overlays)
    clusters = sort_environments(o.environment for o in overlays if o.has_cluster)
    return Impact(
        environments=envs,
        clusters=clusters,
        reasons={env: [reason] for env in envs},
        cluster_reasons={env: [reason] for env in clusters},
        unmapped=[],
    )


# -- deploy-control.yaml: a semantic diff -------------------------------------------------------


class _UnparseableError(Exception):
    pass


def _load(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    # The one bounded reader (and PyYAML with it) only when deploy-control.yaml changed: it is
    # the largest import of a CLI start, and most runs never read the policy.
    from gitops.core import documents

    try:
        data = documents.load(text, None, documents.DocumentKind(title="Invalid deploy-control policy"))
    except documents.DocumentError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        raise _UnparseableError(f"not valid YAML{where}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _UnparseableError(f"the top level is a {type(data).__name__}, not a mapping")
    return data


def _same(a: Any, b: Any) -> bool:
    """Structural equality that tells ``true`` from ``1`` and ``1`` from ``1.0`` (Python does not)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _first_difference(a: Any, b: Any, path: str) -> str:
    """The dotted key path of the first place where ``a`` and ``b`` differ (for the reason text)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                return sub
            if not _same(a[key], b[key]):
                return _first_difference(a[key], b[key], sub)
        return path
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            if not _same(x, y):
                return _first_difference(x, y, f"{path}[{index}]")
    return path


def merge_control_impacts(*impacts: ControlImpact) -> ControlImpact:
    """What several comparisons of deploy-control.yaml say together (a force push compares two)."""
    for impact in impacts:
        if impact.every_environment is not None:
            return impact
    merged: dict[str, str] = {}
    for impact in impacts:
        for env, why in impact.environments.items():
            merged.setdefault(env, why)
    return ControlImpact(environments={e: merged[e] for e in sort_environments(merged)})


def control_impact(base_text: str | None, head_text: str | None, *, path: str) -> ControlImpact:
    """Compare two versions of deploy-control.yaml by meaning, not by text.

    ``None`` means the file does not exist on that side. Comments, formatting and key order do
    not count. A difference outside ``environments`` (``global``, ``version``, anything else)
    affects every environment; an environment section added, removed or changed affects that
    environment. A file that does not parse on either side affects every environment, and the
    reason says so (the policy validator reports the actual error).
    """
    try:
        base = _load(base_text)
    except _UnparseableError as exc:
        return ControlImpact(every_environment=f"{path}: {exc} at base; every environment counts")
    try:
        head = _load(head_text)
    except _UnparseableError as exc:
        return ControlImpact(every_environment=f"{path}: {exc} at head; every environment counts")
    if base is None and head is None:
        return ControlImpact()
    if base is None or head is None:
        state = "added" if base is None else "deleted"
        return ControlImpact(every_environment=f"{path}: {state}; every environment counts")

    for key in [*base, *(k for k in head if k not in base)]:
        if key == "environments":
            continue
        if key not in base or key not in head or not _same(base[key], head[key]):
            where = _first_difference(base.get(key), head.get(key), str(key))
            return ControlImpact(every_environment=f"{path}: {where} changed; every environment counts")

    base_envs = base.get("environments")
    head_envs = head.get("environments")
    if not isinstance(base_envs, dict) or not isinstance(head_envs, dict):
        if _same(base_envs, head_envs):
            return ControlImpact()
        return ControlImpact(
            every_environment=f"{path}: environments is not a mapping on one side; every environment counts"
        )

    result: dict[str, str] = {}
    for env in [*base_envs, *(e for e in head_envs if e not in base_envs)]:
        name = str(env)
        if env not in base_envs:
            result[name] = f"{path}: environments.{name} added"
        elif env not in head_envs:
            result[name] = f"{path}: environments.{name} removed"
        elif not _same(base_envs[env], head_envs[env]):
            where = _first_difference(base_envs[env], head_envs[env], f"environments.{name}")
            result[name] = f"{path}: {where} changed"
    return ControlImpact(environments={e: result[e] for e in sort_environments(result)})
