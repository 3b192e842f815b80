"""Which commits ``gitops changes`` compares: from ``--base``/``--head``, or from the GitHub event.

:func:`choose` decides, fetching or deepening a shallow checkout where a commit is missing
(:class:`Resolver`); :mod:`gitops.operations.change_detection` then diffs what it chose. By event:

* ``push``: ``before..after``. A new branch or tag (``before`` is all zeros) is compared with
  its merge-base with the default branch (``origin/<repository.default_branch>``), or counts
  every file when there is none (the first push of the default branch). A force push whose
  ``before`` is not an ancestor of ``after`` compares the two TREES (``git diff before after``:
  what ran is before's tree, what must run is after's, so a dropped commit's files count),
  plus what ``after`` adds since their merge-base; ``note`` says so. When ``before`` no longer
  exists there is nothing to compare: every environment counts. A deleted branch or tag
  affects nothing.
* ``pull_request``, ``pull_request_target``, ``merge_group``: the merge-base of the base and
  head commits of the payload (what the PR itself changes).
* ``workflow_dispatch``, ``schedule`` and any other event: no diff; every environment, cluster and
  filter counts, and the reason says so.
* no event: ``--base``/``--head``; by default ``HEAD~1..HEAD``, or every file of a root commit.

An explicit ``base`` always wins over the event. A base that is not an ancestor of head is
compared like a force push when it is a commit (a SHA, ``HEAD~2``), and by the merge-base
when it is a branch or tag name (what a pull request shows, and what dorny/paths-filter does);
``note`` says which. ``--base HEAD`` compares the working tree with HEAD (staged and unstaged
changes; untracked files are not included), as dorny/paths-filter does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitops.adapters import runner, textfile
from gitops.adapters.git import SHALLOW_HINT, ZERO_SHA, Git, is_zero_sha, looks_like_sha
from gitops.errors import ConfigurationError

PR_EVENTS = ("pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment")
DIFF_EVENTS = ("push", "merge_group", *PR_EVENTS)


class CommitRange:
    """Which commits to compare (a plain class: the event readers refine it as they go)."""

    def __init__(
        self,
        *,
        head: str,
        base: str | None = None,  # None while diff is True: every file of head counts as added
        diff: bool = True,
        reason: str | None = None,  # the sentence for every environment, when diff is False
        notes: list[str] | None = None,
        nothing: bool = False,  # a deleted ref: nothing to deploy
        also: str | None = None,  # a second base (the merge-base) whose diff to head is added
        worktree: bool = False,  # the working tree against HEAD (--base HEAD)
    ) -> None:
        self.head = head
        self.base = base
        self.diff = diff
        self.reason = reason
        self.notes = notes if notes is not None else []
        self.nothing = nothing
        self.also = also
        self.worktree = worktree


EVENT_HINT = (
    'in a workflow pass --event "$GITHUB_EVENT_PATH" (the payload the runner wrote); '
    "locally leave --event out and compare --base/--head"
)


def read_event(path: Path) -> dict[str, Any]:
    from gitops.core import documents  # only when there is a payload to read (an import of PyYAML)

    kind = documents.DocumentKind(
        title="Invalid event payload",
        message="the event payload is {problem}",
        hint=EVENT_HINT,
        limits=documents.PAYLOAD,
        flag="--event",
    )
    try:
        text = textfile.read(path, documents.PAYLOAD.max_bytes)
        data = documents.parse_json(text, str(path), kind)
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"event payload {path} not found",
            file=str(path),
            key="--event",
            hint=EVENT_HINT,
            title="Event payload not found",
        ) from exc
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the event payload: {exc.strerror or exc}",
            file=str(path),
            key="--event",
            hint=EVENT_HINT,
            title="Invalid event payload",
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"the event payload is a JSON {type(data).__name__ if data is not None else 'null'}, "
            "not an object",
            file=str(path),
            key="--event",
            hint=EVENT_HINT,
            title="Invalid event payload",
        )
    return data


def infer_event(payload: dict[str, Any]) -> str:
    if "merge_group" in payload:
        return "merge_group"
    if "pull_request" in payload:
        return "pull_request"
    if "before" in payload and "after" in payload:
        return "push"
    raise ConfigurationError(
        "cannot tell which event the payload belongs to (it has no pull_request, merge_group, or "
        "before and after)",
        hint="pass --event-name (in Actions: $GITHUB_EVENT_NAME), e.g. --event-name workflow_dispatch",
        key="--event-name",
        title="Unknown event",
    )


def _dig(payload: dict[str, Any], *keys: str) -> str | None:
    node: Any = payload
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, str) and node else None


def _sha(payload: dict[str, Any], *keys: str) -> str | None:
    """A commit SHA of the payload (None when absent). GitHub sends 40 (or 64) hex digits; anything
    else is refused before it reaches git, where ``--output=...`` would be read as an option."""
    node: Any = payload
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    if node is None:
        return None
    if not isinstance(node, str) or not (looks_like_sha(node) or is_zero_sha(node)):
        raise ConfigurationError(
            f"the event payload's {'.'.join(keys)} is not a commit SHA",
            key=f"--event {'.'.join(keys)}",
            hint=EVENT_HINT,
            title="Invalid event payload",
        )
    return node


def _short(sha: str | None) -> str:
    return (sha or "")[:12]


class Resolver:
    def __init__(self, git: Git) -> None:
        self.git = git

    def commit(self, rev: str, role: str) -> str:
        """The SHA of ``rev``, fetching or deepening first when it is missing.

        A depth-1 checkout lacks most names: a SHA is fetched directly; ``main`` or ``v1.2`` is
        fetched as a tag or branch (a branch lands in ``origin/main``); ``origin/main`` as that
        branch; a relative revision (``HEAD~3``, ``main^``) deepens the history behind its base.
        """
        git = self.git
        found = git.commit(rev)
        if found:
            return found
        if git.has_remote():
            found = self._fetch_and_resolve(rev)
            if found:
                return found
        hints = []
        if git.is_shallow():
            hints.append(f"this is a shallow clone: {SHALLOW_HINT}")
        if looks_like_sha(rev):
            hints.append("the commit may have been force-pushed away (then pass an existing --base)")
        raise ConfigurationError(
            f"the {role} revision '{rev}' is not in {git.root}",
            hint="; ".join(hints) or "check the revision with `git rev-parse REV`",
            key=f"--{role}",
            title="Unknown revision",
        )

    def _fetch_and_resolve(self, rev: str) -> str | None:
        git = self.git
        cut = min((i for i in (rev.find("~"), rev.find("^")) if i >= 0), default=len(rev))
        name, suffix = rev[:cut], rev[cut:]
        remote = git.remote
        if looks_like_sha(name):
            specs = [name]
        elif name.startswith(f"{remote}/"):
            branch = name.removeprefix(f"{remote}/")
            specs = [f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"]
        elif name and name != "HEAD" and not name.startswith("refs/") and ":" not in name:
            specs = [
                f"+refs/tags/{name}:refs/tags/{name}",
                f"+refs/heads/{name}:refs/remotes/{remote}/{name}",
            ]
        else:
            specs = []
        resolved_name = git.commit(name) if name else None
        for spec in specs:
            if resolved_name:
                break
            git.fetch_one(spec)
            resolved_name = git.commit(name) or git.commit(f"{remote}/{name}")
        if resolved_name is None:
            return None
        if not suffix:
            return resolved_name
        target = resolved_name + suffix
        git.make_available([resolved_name], lambda: git.commit(target) is not None)
        return git.commit(target)

    def merge_base(self, a: str, b: str) -> str | None:
        """Their merge-base, fetching missing commits and history first when there is none here."""
        git = self.git
        found = git.merge_base(a, b)
        if found:
            return found
        git.make_available([a, b], lambda: bool(git.merge_base(a, b)))
        return git.merge_base(a, b)


def _trees_note(what: str, base: str, head: str, mb: str | None) -> str:
    since = f", plus what {_short(head)} adds since their merge-base {_short(mb)}" if mb else ""
    return f"{what}: compared the trees {_short(base)}..{_short(head)}{since}"


def _explicit_range(resolver: Resolver, base: str, head: str) -> CommitRange:
    head_sha = resolver.commit(head, "head")
    base_sha = resolver.commit(base, "base")
    result = CommitRange(head=head_sha, base=base_sha)
    if base_sha == head_sha:
        return result
    mb = resolver.merge_base(base_sha, head_sha)
    if mb and mb != base_sha:
        not_ancestor = f"{base} ({_short(base_sha)}) is not an ancestor of {head} ({_short(head_sha)})"
        if resolver.git.ref_name(base) is None:
            # a commit (a SHA, HEAD~2): like a force push, what differs between the two trees counts
            result.also = mb
            result.notes.append(_trees_note(not_ancestor, base_sha, head_sha, mb))
        else:
            # a branch or tag: what head adds to it, as a pull request (and dorny/paths-filter) shows
            result.base = mb
            result.notes.append(f"{not_ancestor}: compared with their merge-base {_short(mb)}")
    return result


def _worktree_range(resolver: Resolver, head: str | None) -> CommitRange:
    head_sha = resolver.commit("HEAD", "base")
    if head and head != "HEAD":
        runner.current().warning(
            f"--head is ignored with --base HEAD (got '{head}'): the working tree is compared with HEAD",
            title="Change detection",
        )
    note = (
        f"--base HEAD: the working tree (staged and unstaged changes) against HEAD ({_short(head_sha)}); "
        "untracked files are not included"
    )
    return CommitRange(head=head_sha, base=head_sha, worktree=True, notes=[note])


def _default_range(resolver: Resolver, head: str) -> CommitRange:
    git = resolver.git
    head_sha = resolver.commit(head, "head")

    parents = git.parents(head_sha)
    if not parents and git.is_shallow():  # a shallow boundary looks like a root commit
        git.make_available([head_sha], lambda: bool(git.parents(head_sha)))
        parents = git.parents(head_sha)
    if not parents:
        return CommitRange(
            head=head_sha, notes=[f"{_short(head_sha)} is a root commit: every file counts as added"]
        )
    return CommitRange(head=head_sha, base=parents[0])


def _push_range(resolver: Resolver, payload: dict[str, Any], head: str | None) -> CommitRange:
    git = resolver.git
    ref = _dig(payload, "ref") or ""
    before = _sha(payload, "before")
    after = _sha(payload, "after")
    if payload.get("deleted") is True or (after is not None and is_zero_sha(after)):
        current = git.commit("HEAD") or ZERO_SHA
        return CommitRange(
            head=current, nothing=True, notes=[f"push: {ref or 'the ref'} was deleted; nothing to deploy"]
        )
    if after is None:
        # GitHub always sends `after`; without it this is not a push payload, and treating it as a
        # new branch ("every file counts") would deploy every environment on a wrong file.
        raise ConfigurationError(
            "the push payload has no 'after' commit, so it is not a GitHub push event",
            key="--event",
            hint=EVENT_HINT + "; for another event pass its --event-name",
            title="Invalid event payload",
        )
    head_sha = resolver.commit(head or after, "head")
    kind = "tag" if ref.startswith("refs/tags/") else "branch"
    short_ref = ref.removeprefix("refs/heads/").removeprefix("refs/tags/") or "(no ref in the payload)"

    if before is None or is_zero_sha(before):
        default = _dig(payload, "repository", "default_branch")
        if default and ref != f"refs/heads/{default}":
            remote_ref = f"refs/remotes/{git.remote}/{default}"
            spec = f"+refs/heads/{default}:{remote_ref}"
            git.make_available(
                [spec, head_sha],
                lambda: git.commit(remote_ref) is not None and bool(git.merge_base(remote_ref, head_sha)),
            )
            default_sha = git.commit(remote_ref)
            mb = git.merge_base(default_sha, head_sha) if default_sha else None
            if mb:
                return CommitRange(
                    head=head_sha,
                    base=mb,
                    notes=[
                        f"push of a new {kind} {short_ref}: compared with its merge-base with "
                        f"{git.remote}/{default} ({_short(mb)})"
                    ],
                )
            why = (
                f"no history in common with {git.remote}/{default}"
                if default_sha
                else f"{git.remote}/{default} is not available"
            )
            return CommitRange(
                head=head_sha, notes=[f"push of a new {kind} {short_ref}: {why}; every file counts"]
            )
        return CommitRange(
            head=head_sha, notes=[f"push of a new {kind} {short_ref}: nothing to compare; every file counts"]
        )

    mb = resolver.merge_base(before, head_sha)
    if not git.has_commit(before):
        reason = (
            f"push: the previous commit {_short(before)} is gone (force-pushed away?); "
            "no diff, every environment"
        )
        return CommitRange(head=head_sha, diff=False, reason=reason, notes=[reason])
    if mb == before:
        return CommitRange(head=head_sha, base=before)
    # A force push: before's tree is what ran, after's is what must run, so the two trees are
    # compared (a dropped commit's files are back to their old content and must count), plus
    # what after adds since the merge-base (a rebased branch's own changes).
    what = (
        f"force push: {_short(before)} is not an ancestor of {_short(head_sha)}"
        if mb
        else f"force push: {_short(before)} and {_short(head_sha)} share no history"
    )
    return CommitRange(head=head_sha, base=before, also=mb, notes=[_trees_note(what, before, head_sha, mb)])


def _pair_range(
    resolver: Resolver, event: str, base_sha: str | None, head_sha: str | None, head: str | None
) -> CommitRange:
    if not base_sha or not (head or head_sha):
        what = "merge_group.base_sha/head_sha" if event == "merge_group" else "pull_request.base.sha/head.sha"
        raise ConfigurationError(
            f"the {event} payload lacks the base or head commit ({what})",
            hint="pass the real $GITHUB_EVENT_PATH, or --base and --head",
            key="--event",
            title="Invalid event payload",
        )
    git = resolver.git
    head_rev = head or head_sha or "HEAD"
    if looks_like_sha(head_rev) and not git.has_commit(head_rev):
        git.make_available([head_rev], lambda: git.has_commit(head_rev))
    head_commit = resolver.commit(head_rev, "head")
    mb = resolver.merge_base(base_sha, head_commit)
    if mb:
        return CommitRange(head=head_commit, base=mb)
    if not git.has_commit(base_sha):
        raise ConfigurationError(
            f"{event}: the base commit {base_sha} is not in {git.root} and could not be fetched",
            hint=SHALLOW_HINT,
            key="--event",
            title="Unknown revision",
        )
    return CommitRange(
        head=head_commit,
        notes=[f"{event}: {_short(base_sha)} and {_short(head_commit)} share no history; every file counts"],
    )


def _event_range(
    resolver: Resolver, event: str, payload: dict[str, Any] | None, head: str | None
) -> CommitRange:
    if event not in DIFF_EVENTS:
        head_sha = resolver.commit(head or "HEAD", "head")
        reason = f"{event}: no diff, every environment"
        return CommitRange(head=head_sha, diff=False, reason=reason)
    if payload is None:
        raise ConfigurationError(
            f"a {event} run needs its event payload to know what changed",
            hint="pass --event $GITHUB_EVENT_PATH (the action does this), or --base and --head",
            key="--event",
            title="Event payload missing",
        )
    if event == "push":
        return _push_range(resolver, payload, head)
    if event == "merge_group":
        return _pair_range(
            resolver,
            event,
            _sha(payload, "merge_group", "base_sha"),
            _sha(payload, "merge_group", "head_sha"),
            head,
        )
    return _pair_range(
        resolver,
        event,
        _sha(payload, "pull_request", "base", "sha"),
        _sha(payload, "pull_request", "head", "sha"),
        head,
    )


def choose(
    resolver: Resolver,
    *,
    base: str | None,
    head: str | None,
    event: str | None,
    payload: dict[str, Any] | None,
) -> CommitRange:
    """The commits to compare: an explicit base wins over the event; no event, the previous commit."""
    if base == "HEAD":
        return _worktree_range(resolver, head)
    if base:
        return _explicit_range(resolver, base, head or "HEAD")
    if event:
        return _event_range(resolver, event, payload, head)
    return _default_range(resolver, head or "HEAD")
