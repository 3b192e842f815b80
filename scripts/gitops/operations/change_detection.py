"""Change detection: which environments and clusters a commit range or GitHub event affects.

:func:`detect` picks the commits to compare (:mod:`gitops.operations.commit_range`: from
``--base``/``--head`` or the event, and what each event compares), runs ONE ``git diff``, and maps
the changed files with :mod:`gitops.core.change_map` (``git show`` runs only for
deploy-control.yaml, to compare it by meaning) and the path filters with :mod:`gitops.core.filters`.
A deleted ref affects nothing; a run with no diff (``workflow_dispatch``, ``schedule``, a vanished
``before``) counts every environment, cluster and filter.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

from gitops.adapters import runner, textfile
from gitops.adapters.git import ZERO_SHA, Git
from gitops.core.change_map import (
    BASE_DIR,
    CLUSTER_DIR,
    KUSTOMIZATION_FILES,
    ControlImpact,
    FileChange,
    Impact,
    Layout,
    Overlay,
    control_impact,
    everything,
    find_overlays,
    map_changes,
    merge_control_impacts,
    merge_overlays,
    removed_overlays,
    sort_environments,
    touches_control_file,
    union_changes,
)
from gitops.core.filters import Filter, FilterOutcome, evaluate, every_filter, parse_filters
from gitops.errors import ConfigurationError
from gitops.operations.commit_range import CommitRange, Resolver, choose, infer_event, read_event


class ChangeReport(NamedTuple):
    """The answer of :func:`detect`; :meth:`to_json` gives the ``gitops changes`` JSON."""

    base: str | None
    head: str
    files: list[str]
    environments: list[str]
    clusters: list[str]
    reasons: dict[str, list[str]]
    note: str | None
    filters: dict[str, FilterOutcome]
    cluster_reasons: dict[str, list[str]]
    file_statuses: list[FileChange]
    event: str | None
    known_environments: list[str]
    unmapped: list[str]
    diffed: bool = True
    worktree: bool = False  # --base HEAD: the working tree against HEAD

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "base": self.base,
            "head": self.head,
            "files": self.files,
            "environments": self.environments,
            "clusters": self.clusters,
            "reasons": self.reasons,
            "cluster_reasons": self.cluster_reasons,
            "note": self.note,
            "event": self.event,
            "diffed": self.diffed,
            "worktree": self.worktree,
            "known_environments": self.known_environments,
            "file_statuses": [c.to_json() for c in self.file_statuses],
            "unmapped": self.unmapped,
        }
        if self.filters:
            data["filters"] = self.filters
        return data


def _tree_overlays(git: Git, rev: str, layout: Layout) -> list[Overlay]:
    """Overlays in the tree of ``rev``: <k8s>/<provider>/<env> holding a kustomization file or cluster/.

    Reads only those directories (one tree object each, from the one cat-file process), never
    the whole tree below <k8s>.
    """
    paths: list[str] = []
    for provider in git.tree(rev, layout.k8s) or ():
        if not provider.is_dir or provider.name == BASE_DIR:
            continue
        for env in git.tree(rev, f"{layout.k8s}/{provider.name}") or ():
            if not env.is_dir:
                continue
            directory = f"{layout.k8s}/{provider.name}/{env.name}"
            for entry in git.tree(rev, directory) or ():
                if entry.name in KUSTOMIZATION_FILES or entry.name == CLUSTER_DIR:
                    paths.append(f"{directory}/{entry.name}")
    return find_overlays(paths, layout)


def load_filters(spec: str, repo: Path) -> list[Filter]:
    """``--filters``: inline YAML, or a file (relative to the working directory or the repository)."""
    text: str | None = None
    source = "--filters"
    if "\n" not in spec:
        for candidate in (Path(spec), repo / spec):
            if candidate.is_file():
                text = textfile.read_input(
                    candidate,
                    what=f"the filters file {spec}",
                    shown=spec,
                    key="--filters",
                    title="Invalid filters",
                )
                source = spec
                break
        if text is None and ":" not in spec:
            raise ConfigurationError(
                f"filters file {spec} not found",
                hint="pass a path relative to the repository, or the filters themselves as YAML",
                key="--filters",
                title="Filters not found",
            )
    return parse_filters(text if text is not None else spec, source=source)


def detect(
    repo: Path,
    *,
    base: str | None = None,
    head: str | None = None,
    event_name: str | None = None,
    event_path: Path | None = None,
    filters: str | None = None,
    infra: str = "infra",
    predicate_quantifier: str = "some",
) -> ChangeReport:
    """What changed and which environments/clusters it affects. Raises ConfigurationError."""
    parsed = load_filters(filters, repo) if filters else []
    payload = read_event(event_path) if event_path is not None else None
    if event_name is not None and not re.fullmatch(r"[a-z_]{1,64}", event_name):
        raise ConfigurationError(  # GitHub's event names are words: push, pull_request, workflow_dispatch
            f"--event-name {event_name[:40]!r} is not a GitHub event name",
            key="--event-name",
            title="Invalid input",
            hint="e.g. --event-name push (or leave it out: it is read from the payload)",
        )
    with Git(repo) as git:
        return _detect(
            git,
            base=base,
            head=head,
            event_name=event_name,
            event_path=event_path,
            payload=payload,
            parsed=parsed,
            layout=Layout(infra),
            predicate_quantifier=predicate_quantifier,
        )


def _detect(
    git: Git,
    *,
    base: str | None,
    head: str | None,
    event_name: str | None,
    event_path: Path | None,
    payload: dict[str, Any] | None,
    parsed: list[Filter],
    layout: Layout,
    predicate_quantifier: str,
) -> ChangeReport:
    try:
        event = event_name or (infer_event(payload) if payload is not None else None)
        rng = choose(Resolver(git), base=base, head=head, event=event, payload=payload)
    except ConfigurationError as exc:
        if exc.key in ("--event", "--event-name") and exc.file is None and event_path is not None:
            exc.file = str(event_path)  # a payload problem: say which file
        raise
    note = " ".join(rng.notes) or None
    if rng.nothing or not rng.diff:
        return _without_diff(git, rng, layout, parsed, event=event, note=note)
    return _compared(git, rng, layout, parsed, event=event, note=note, quantifier=predicate_quantifier)


def _without_diff(
    git: Git, rng: CommitRange, layout: Layout, parsed: list[Filter], *, event: str | None, note: str | None
) -> ChangeReport:
    """No diff to map: a deleted branch or tag affects nothing; a dispatch, a schedule or a vanished
    ``before`` affects every environment, cluster and filter."""
    if rng.nothing:
        overlays = _tree_overlays(git, rng.head, layout) if rng.head != ZERO_SHA else []
        impact = Impact(environments=[], clusters=[], reasons={}, cluster_reasons={}, unmapped=[])
        filters = evaluate(parsed, [])
    else:
        overlays = _tree_overlays(git, rng.head, layout)
        impact = everything(overlays, rng.reason or "no diff, every environment")
        filters = every_filter(parsed)
    return ChangeReport(
        base=None,
        head=rng.head,
        files=[],
        environments=impact.environments,
        clusters=impact.clusters,
        reasons=impact.reasons,
        cluster_reasons=impact.cluster_reasons,
        note=note,
        filters=filters,
        file_statuses=[],
        event=event,
        known_environments=sort_environments(o.environment for o in overlays),
        unmapped=[],
        diffed=False,
    )


def _compared(
    git: Git,
    rng: CommitRange,
    layout: Layout,
    parsed: list[Filter],
    *,
    event: str | None,
    note: str | None,
    quantifier: str,
) -> ChangeReport:
    """ONE diff (two after a force push), mapped to environments, clusters and filters."""
    changes = git.diff_worktree() if rng.worktree else git.diff(rng.base, rng.head)
    extra = git.diff(rng.also, rng.head) if rng.also else []
    if extra:
        changes = union_changes(changes, extra)
    # Overlays of the base tree that head no longer has show up as deleted (or renamed-away)
    # kustomization or cluster files in the diff itself, so the base tree needs no listing.
    overlays = merge_overlays(
        _tree_overlays(git, rng.head, layout),
        removed_overlays(changes, layout),
        # the working tree may hold a new overlay that HEAD's tree does not have yet
        find_overlays([c.path for c in changes], layout) if rng.worktree else (),
    )
    control = _control_impact(git, rng, layout, changes, extra)
    impact: Impact = map_changes(changes, overlays, layout=layout, control=control)
    runner.current().debug(f"{len(changes)} changes, {git.calls} git calls")
    return ChangeReport(
        base=rng.base,
        head=rng.head,
        files=_touched_paths(changes),
        environments=impact.environments,
        clusters=impact.clusters,
        reasons=impact.reasons,
        cluster_reasons=impact.cluster_reasons,
        note=note,
        filters=evaluate(parsed, changes, quantifier),
        file_statuses=changes,
        event=event,
        known_environments=sort_environments(o.environment for o in overlays),
        unmapped=impact.unmapped,
        worktree=rng.worktree,
    )


def _control_impact(
    git: Git, rng: CommitRange, layout: Layout, changes: list[FileChange], extra: list[FileChange]
) -> ControlImpact | None:
    """What a changed deploy-control.yaml changes, compared by meaning with each base; None if untouched."""
    if not touches_control_file(changes, layout):
        return None
    if rng.worktree:
        on_disk = git.root / layout.control_file
        head_text = on_disk.read_text(encoding="utf-8", errors="replace") if on_disk.is_file() else None
    else:
        head_text = git.show(rng.head, layout.control_file)
    bases = [b for b in (rng.base, rng.also if touches_control_file(extra, layout) else None) if b]
    impacts = [
        control_impact(git.show(b, layout.control_file), head_text, path=layout.control_file) for b in bases
    ]
    if impacts:
        return merge_control_impacts(*impacts)
    return control_impact(None, head_text, path=layout.control_file)


def _touched_paths(changes: list[FileChange]) -> list[str]:
    """Every path a change touches (a rename's both), once each, in the diff's order."""
    files: list[str] = []
    seen: set[str] = set()
    for change in changes:
        for path in change.touched_paths():
            if path not in seen:
                seen.add(path)
                files.append(path)
    return files
