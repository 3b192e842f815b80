"""A thin wrapper over the git command line (argument lists, never a shell; ``-z`` output).

Only what change detection needs: resolve revisions, merge-base and ancestry, one
``git diff --name-status -M -z``, file contents and tree listings, and making missing history
available in a shallow clone (``actions/checkout`` fetches ONE commit
by default): first the wanted commits by SHA, then ``git fetch --deepen=N`` doubling N up to a
bound, then ``--unshallow``.

Every object read (a revision's commit, a tree, deploy-control.yaml at two commits) goes to
ONE ``git cat-file --batch`` process that lives as long as the :class:`Git`: starting a git
process costs more than most of what change detection asks, so a run starts four (top level,
merge-base, diff, cat-file) where it started nine.

A checkout that belongs to another user (a container job: the workspace is the runner's uid
1001, the job runs as root) makes git refuse with "detected dubious ownership". Every command
is then retried once with ``git -c safe.directory=<that path>`` (command-line configuration is
honoured for this since git 2.39's "protected configuration"), for this process only, and a
notice says so; nothing is written to the user's git configuration.

Fetching needs the checkout's credentials. ``actions/checkout`` with
``persist-credentials: false`` leaves none, so on a private repository deepening fails; the
error then says to use ``fetch-depth: 0`` (which needs no later fetch at all).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from gitops.adapters import runner
from gitops.core.change_map import STATUS_WORDS, FileChange
from gitops.errors import ConfigurationError

ZERO_SHA = "0" * 40
_SHA = re.compile(r"(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
# Variables that would point git somewhere other than the repository we were given.
_SCRUBBED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR")
_AUTH_FAILURE = (
    "could not read username",
    "could not read password",
    "authentication failed",
    "terminal prompts disabled",
    "permission denied",
    "repository not found",
    "http basic: access denied",
    "host key verification failed",
)
SHALLOW_HINT = (
    "use actions/checkout with `fetch-depth: 0` (recommended: works with persist-credentials: false), "
    "or keep the checkout's credentials so gitops can deepen the clone"
)
INITIAL_DEEPEN = 32
MAX_DEEPEN = 2048


# git >= 2.35.2 (CVE-2022-24765): "detected dubious ownership in repository at '/x'"; older
# backports: "unsafe repository ('/x' is owned by someone else)". Exit code 128 either way.
_DUBIOUS = ("detected dubious ownership", "unsafe repository")
_REFUSED_PATH = re.compile(r"(?:repository at|unsafe repository \()\s*'([^']+)'")


def _dubious_ownership(result: GitResult) -> bool:
    lowered = result.stderr.lower()
    return result.code == 128 and any(marker in lowered for marker in _DUBIOUS)


def is_zero_sha(value: str | None) -> bool:
    return bool(value) and set(value or "") == {"0"}


def looks_like_sha(value: str) -> bool:
    return bool(_SHA.match(value))


class GitResult(NamedTuple):
    code: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")


class Git:
    """Git commands against one repository (its top level, found from ``path``)."""

    def __init__(self, path: Path, *, remote: str = "origin") -> None:
        self.remote = remote
        self._cwd = path
        self._env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        # Stable, parseable messages; never wait for a password prompt in CI.
        self._env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"})
        self._env.setdefault("GIT_ASKPASS", "")
        self.calls = 0
        self._safe_directory: str | None = None
        self._objects: _ObjectReader | None = None
        self.root = self._toplevel(path)
        self._cwd = self.root

    def close(self) -> None:
        """End the ``git cat-file --batch`` process, if one was started."""
        if self._objects is not None:
            self._objects.close()
            self._objects = None

    def __enter__(self) -> Git:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------
    def run(self, *args: str, check: bool = True, stdin: bytes | None = None) -> GitResult:
        result = self._run(args, stdin)
        if _dubious_ownership(result) and self._safe_directory is None:
            self._trust(result)
            result = self._run(args, stdin)
        if check and result.code != 0:
            self._fail(args, result)
        return result

    def _argv(self, args: Sequence[str]) -> list[str]:
        argv = ["git", "-c", "core.quotepath=off", "-c", "diff.relative=false"]
        if self._safe_directory is not None:
            argv += ["-c", f"safe.directory={self._safe_directory}"]
        return [*argv, *args]

    def _run(self, args: Sequence[str], stdin: bytes | None) -> GitResult:
        argv = self._argv(args)
        self.calls += 1
        runner.current().debug("$ " + " ".join(argv))
        try:
            proc = subprocess.run(
                argv, cwd=self._cwd, env=self._env, input=stdin, capture_output=True, check=False
            )
        except FileNotFoundError as exc:
            raise ConfigurationError(
                "git is not installed (or not on PATH)",
                hint="install git (Debian/Ubuntu: apt-get install git); GitHub-hosted runners have it",
                title="git not found",
            ) from exc
        return GitResult(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", errors="replace"))

    def _trust(self, refused: GitResult) -> None:
        """Retry as ``git -c safe.directory=<the path git named>``: this process only, said in a notice."""
        match = _REFUSED_PATH.search(refused.stderr)
        self._safe_directory = match[1] if match else str(self._cwd.absolute())
        runner.current().notice(
            f"git refused the checkout at {self._safe_directory}: detected dubious ownership (it belongs to "
            "another user, as in a container job where the workspace is the runner's). Continuing with "
            f"`git -c safe.directory={self._safe_directory}` for this run only. To avoid it, run the "
            "container as the runner's user (`options: --user 1001`) or run `git config --global --add "
            'safe.directory "$GITHUB_WORKSPACE"` in a step before this one.',
            title="git: dubious ownership",
        )

    def _fail(self, args: Sequence[str], result: GitResult) -> None:
        message = result.stderr.strip() or f"exit code {result.code}"
        if _dubious_ownership(result):
            where = self._safe_directory or str(self._cwd.absolute())
            raise ConfigurationError(
                f"git refuses to work in {where}: {message.splitlines()[0]} (also with "
                f"`-c safe.directory={where}`)",
                hint=(
                    "run the container as the runner's user (`options: --user 1001`), or run "
                    f"`git config --global --add safe.directory {where}` in a step before this one"
                ),
                title="git: unsafe repository",
            )
        raise ConfigurationError(
            f"`git {' '.join(args)}` failed: {message}", title="git failed", hint="see git's message above"
        )

    def _toplevel(self, path: Path) -> Path:
        if not path.is_dir():
            raise ConfigurationError(
                f"{path} is not a directory",
                key="--repo",
                hint="pass --repo with the directory of a git checkout (default: the current directory)",
                title="Repository not found",
            )
        result = self.run("rev-parse", "--show-toplevel", check=False)
        if result.code != 0:
            if _dubious_ownership(result):
                self._fail(("rev-parse", "--show-toplevel"), result)
            raise ConfigurationError(
                f"{path.absolute()} is not inside a git repository",
                key="--repo",
                hint="run in a checkout (actions/checkout in a workflow) or pass --repo DIR",
                title="Not a git repository",
            )
        return Path(result.text.strip())

    # -- questions -------------------------------------------------------------------------------
    def is_shallow(self) -> bool:
        return self.run("rev-parse", "--is-shallow-repository").text.strip() == "true"

    def read_object(self, name: str) -> GitObject | None:
        """``git cat-file --batch`` for one object name (``REV^{commit}``, ``REV:path``); None if missing."""
        if self._objects is None:
            self.calls += 1
            argv = self._argv(["cat-file", "--batch"])
            runner.current().debug("$ " + " ".join(argv))
            self._objects = _ObjectReader(argv, self._cwd, self._env)
        runner.current().debug(f"  cat-file <- {name}")
        try:
            return self._objects.read(name)
        except _ReaderDiedError as exc:
            self._objects = None
            raise ConfigurationError(
                f"`git cat-file --batch` ended while reading {name}: {exc}",
                title="git failed",
                hint="see git's message above",
            ) from None

    def commit(self, rev: str) -> str | None:
        """The commit SHA ``rev`` names (tags are peeled), or None when it is not here."""
        found = self.read_object(f"{rev}^{{commit}}")
        return found.oid if found is not None and found.kind == "commit" else None

    def ref_name(self, rev: str) -> str | None:
        """The full ref ``rev`` names (``main`` -> ``refs/heads/main``, or ``refs/remotes/origin/main``
        when only the remote branch is here), None for a commit id or ``HEAD~2``."""
        if rev.startswith("-"):
            return None  # git 2.39's rev-parse prints --end-of-options instead of honouring it
        for candidate in (rev, f"{self.remote}/{rev}"):
            result = self.run("rev-parse", "--symbolic-full-name", candidate, check=False)
            name = result.text.strip()
            if result.code == 0 and name.startswith("refs/"):
                return name
        return None

    def has_commit(self, sha: str) -> bool:
        return self.commit(sha) is not None

    def parents(self, sha: str) -> list[str]:
        line = self.run("rev-list", "--parents", "-n", "1", "--end-of-options", sha).text.split()
        return line[1:]

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor; None when there is none here (yet) or a commit is missing."""
        result = self.run("merge-base", "--end-of-options", a, b, check=False)
        if result.code == 1 or (result.code != 0 and "not a valid" in result.stderr.lower()):
            return None
        if result.code != 0:
            self._fail(("merge-base", a, b), result)
        return result.text.strip() or None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        argv = ("merge-base", "--is-ancestor", "--end-of-options", ancestor, descendant)
        result = self.run(*argv, check=False)
        if result.code not in (0, 1):
            self._fail(("merge-base", "--is-ancestor", ancestor, descendant), result)
        return result.code == 0

    def has_remote(self) -> bool:
        return self.run("remote", check=False).text.split().count(self.remote) > 0

    def empty_tree(self) -> str:
        """The empty tree's id in this repository's hash (SHA-1 or SHA-256)."""
        return self.run("hash-object", "-t", "tree", "--stdin", stdin=b"").text.strip()

    # -- content ---------------------------------------------------------------------------------
    def diff(self, base: str | None, head: str) -> list[FileChange]:
        """``git diff --name-status -M -z base head``; every file of ``head`` as added when base is None."""
        left = base if base is not None else self.empty_tree()
        out = self.run(
            "diff",
            "--name-status",
            "-z",
            "-M",
            "--no-ext-diff",
            "--no-textconv",
            "--no-color",
            "--end-of-options",
            left,
            head,
            "--",
        ).stdout
        return parse_name_status(out)

    def diff_worktree(self) -> list[FileChange]:
        """``git diff --name-status -M -z HEAD``: staged and unstaged changes (not untracked files)."""
        out = self.run(
            "diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv", "--no-color", "HEAD", "--"
        ).stdout
        return parse_name_status(out)

    def show(self, rev: str, path: str) -> str | None:
        """The text of ``path`` at ``rev`` (``git show REV:path``), None when it is not in that tree."""
        found = self.read_object(f"{rev}:{path}")
        if found is None or found.kind != "blob":
            return None
        return found.content.decode("utf-8", errors="replace")

    def tree(self, rev: str, path: str) -> list[TreeEntry] | None:
        """The entries of directory ``path`` in the tree of ``rev``; None when it is no directory there."""
        found = self.read_object(f"{rev}:{path}")
        if found is None or found.kind != "tree":
            return None
        return parse_tree(found.content, len(found.oid) // 2)

    # -- history ---------------------------------------------------------------------------------
    def fetch(self, *args: str) -> GitResult:
        """``git fetch`` with ``args``: options first, then the remote and what to fetch, which git
        never reads as options (``--end-of-options``: a revision from a payload cannot be one)."""
        self.close()  # a fresh cat-file process sees what the fetch brings
        first = next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))
        args = (*args[:first], "--end-of-options", *args[first:])
        result = self.run("fetch", "--no-tags", "--quiet", *args, check=False)
        if result.code != 0:
            lowered = result.stderr.lower()
            if any(marker in lowered for marker in _AUTH_FAILURE):
                raise ConfigurationError(
                    f"cannot fetch missing history from '{self.remote}': {result.stderr.strip()}",
                    hint=(
                        "the checkout has no credentials (actions/checkout with persist-credentials: false). "
                        "Use actions/checkout with `fetch-depth: 0` so nothing needs fetching later"
                    ),
                    title="git fetch: not authorized",
                )
            runner.current().debug(f"git fetch {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def fetch_one(self, spec: str) -> bool:
        """Fetch one SHA or refspec (one commit deep in a shallow clone); False when the remote lacks it."""
        depth = ["--depth=1"] if self.is_shallow() else []
        return self.fetch(*depth, self.remote, spec).code == 0

    def make_available(self, wanted: Sequence[str], satisfied: Callable[[], bool]) -> bool:
        """Fetch until ``satisfied()`` (commits present, a merge-base found), or history runs out.

        ``wanted`` are SHAs or refspecs to fetch. In a shallow clone: those commits first (depth
        1), then ``--deepen`` doubling from :data:`INITIAL_DEEPEN` to :data:`MAX_DEEPEN`, then
        ``--unshallow``. In a full clone: one plain fetch of the wanted SHAs (a PR head, or a commit
        a force push left behind). Returns ``satisfied()``.
        """
        if satisfied():
            return True
        if not self.has_remote():
            return False
        shallow = self.is_shallow()
        missing = [w for w in wanted if not looks_like_sha(w) or not self.has_commit(w)]
        log = runner.current().log
        if missing:
            log(f"fetching {', '.join(missing)} from {self.remote}")
            self.fetch(*(["--depth=1"] if shallow else []), self.remote, *missing)
            if satisfied():
                return True
        if not shallow:
            return False
        tips = [w for w in wanted if not looks_like_sha(w) or self.has_commit(w)]
        depth = INITIAL_DEEPEN
        while depth <= MAX_DEEPEN:
            log(f"shallow clone: deepening by {depth} commits to find the history between the commits")
            self.fetch(f"--deepen={depth}", self.remote, *tips)
            if satisfied():
                return True
            if not self.is_shallow():
                return False
            depth *= 2
        log("shallow clone: fetching the whole history (--unshallow)")
        self.fetch("--unshallow", self.remote, *tips)
        return satisfied()


def parse_name_status(out: bytes) -> list[FileChange]:
    """Parse ``git diff --name-status -z`` (``R100\\0old\\0new\\0`` for renames and copies)."""
    tokens = out.decode("utf-8", errors="replace").split("\0")
    changes: list[FileChange] = []
    i = 0
    while i < len(tokens) and tokens[i]:
        letter = tokens[i][0]
        status = STATUS_WORDS.get(letter, "modified")
        if letter in "RC":
            changes.append(FileChange(status, tokens[i + 2], tokens[i + 1]))
            i += 3
        else:
            changes.append(FileChange(status, tokens[i + 1]))
            i += 2
    return changes


class GitObject(NamedTuple):
    oid: str
    kind: str  # commit, tree, blob, tag
    content: bytes


class TreeEntry(NamedTuple):
    name: str
    is_dir: bool


def parse_tree(raw: bytes, oid_size: int) -> list[TreeEntry]:
    """A raw tree object: ``<mode> <name>\\0<oid bytes>`` per entry; mode 40000 is a directory."""
    entries: list[TreeEntry] = []
    i = 0
    while i < len(raw):
        space = raw.index(b" ", i)
        nul = raw.index(b"\0", space)
        mode = raw[i:space]
        entries.append(TreeEntry(raw[space + 1 : nul].decode("utf-8", errors="replace"), mode == b"40000"))
        i = nul + 1 + oid_size
    return entries


class _ReaderDiedError(Exception):
    pass


class _ObjectReader:
    """One ``git cat-file --batch`` process, asked one object at a time (it flushes after each)."""

    def __init__(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        self._proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def read(self, name: str) -> GitObject | None:
        proc = self._proc
        if proc.stdin is None or proc.stdout is None:
            raise _ReaderDiedError("no pipes")
        if "\n" in name or "\r" in name:
            return None  # one name per line: a line break cannot name an object
        try:
            proc.stdin.write(name.encode("utf-8", errors="surrogateescape") + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline()
        except OSError as exc:
            raise _ReaderDiedError(self._stderr() or str(exc)) from None
        if not header:
            raise _ReaderDiedError(self._stderr() or "no answer")
        # "<oid> <type> <size>", or "<name> missing" / "<name> ambiguous"
        fields = header.rstrip(b"\n").rsplit(b" ", 2)
        if len(fields) != 3 or not fields[2].isdigit():
            return None
        size = int(fields[2])
        content = proc.stdout.read(size)
        proc.stdout.read(1)  # the newline after the content
        return GitObject(fields[0].decode("ascii"), fields[1].decode("ascii"), content)

    def _stderr(self) -> str:
        return self.close().decode("utf-8", errors="replace").strip()

    def close(self) -> bytes:
        """End the process (it exits when its stdin closes); returns what it wrote to stderr."""
        proc = self._proc
        if proc.stdin is not None and not proc.stdin.closed:
            with contextlib.suppress(OSError):  # it may have exited already
                proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err = proc.stderr.read() if proc.stderr is not None and not proc.stderr.closed else b""
        for stream in (proc.stdout, proc.stderr):
            if stream is not None and not stream.closed:
                stream.close()
        return err
