"""Run ``gitops`` the way an attacker or an unlucky user would, and judge what comes out.

A :class:`Case` is data: the command line, environment, stdin and files of one run, what it
must end with (exit code, words that name the place of the mistake) and which values are
secret. :func:`run_case` gives each case a fresh directory, runs ``python -m gitops`` in it as
a separate process inside GitHub Actions' environment (``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``,
``GITHUB_ENV``, ``GITHUB_PATH``, ``GITHUB_STATE`` are files there, ``TMPDIR`` and ``RUNNER_TEMP``
too), under a wall-clock deadline and an address-space limit, and measures its peak memory.
:func:`judge` then lists every way the run fell short:

* the exit code differs, or the process had to be killed (a hang), or it used too much memory;
* a Python traceback was printed (exit 3 is a bug unless the case expects one);
* the message does not name the place (file:line, key or flag) the case says it must;
* a secret leaked: any secret value in play, its base64, or any of its lines, in stdout,
  stderr (``::add-mask::`` lines aside: the runner consumes them and shows nothing), any
  ``GITHUB_*`` file, or any file the run left in its directory or temp directories.

``HOSTILE_GITOPS_SCRIPTS=/path/to/scripts`` runs another checkout's package (e.g. the commit
before a fix, to see its cases fail).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GITHUB_FILES = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE")
TRACEBACK = "Traceback (most recent call last)"
ADDRESS_SPACE_LIMIT = 3 * 1024**3  # a safety net; the judged limit is Case.max_rss_mb


@dataclass(frozen=True)
class Context:
    """What a case's callables and ``{placeholders}`` can use: its directory and the fake API servers."""

    dir: Path
    fake: Any = None  # tests.fakekube.FakeKube when the case needs a cluster
    github: Any = None  # tests.fakegithub.FakeGitHub when the case talks to GitHub

    def values(self) -> dict[str, str]:
        found = {"dir": str(self.dir), "root": str(ROOT)}
        if self.fake is not None:
            found.update(
                server=self.fake.url,
                server_host=self.fake.url.split("://", 1)[1],
                token=self.fake.token,
                kubeconfig=str(self.dir / "kubeconfig"),
            )
        if self.github is not None:
            found.update(github=self.github.url, github_host=self.github.url.split("://", 1)[1])
        return found


Content = str | bytes | Callable[[Context], str | bytes]


@dataclass(frozen=True)
class Case:
    """One hostile run. Strings in argv, env, stdin and text files may use ``{dir}``, ``{root}``,
    ``{server}``, ``{server_host}``, ``{token}`` and ``{kubeconfig}`` (a kubeconfig for the fake,
    written for every case that has one), ``{github}`` and ``{github_host}`` (the fake GitHub's
    URL); other braces are left alone."""

    id: str
    argv: Sequence[str]
    issue: str  # the item it proves, e.g. "13.1" (issue 13, item 1) or "10.5"
    exit: int = 1
    names: Sequence[str] = ()  # words stderr must contain: the file:line, key or flag at fault
    env: Mapping[str, str | Callable[[Context], str]] = field(default_factory=dict)
    stdin: Content | None = None
    files: Mapping[str, Content] = field(default_factory=dict)
    secrets: Sequence[str] = ()  # values that must not leak (env values named like a secret are added)
    fake: Mapping[str, Any] | None = None  # knobs of the fake API server; None = no server
    github: Mapping[str, Any] | None = None  # FakeGitHub keywords; None = no fake GitHub
    cwd: str = "{dir}"
    git: bool = False  # the case directory is a git repository with two commits (HEAD~1, HEAD)
    json_stdout: bool = False  # stdout must be one valid JSON document
    check: Callable[[Result], list[str]] | None = None  # further findings, e.g. on outputs
    setup: Callable[[Context], None] | None = None  # last step before the run (e.g. chmod a file)
    max_seconds: float = 40.0
    max_rss_mb: int = 450


@dataclass
class Result:
    case: Case
    dir: Path
    code: int | None  # None: killed at the deadline
    stdout: str
    stderr: str
    seconds: float
    rss_mb: float
    files: dict[str, str]  # every file the run created or changed (relative path -> text)
    secrets: list[str]
    fake: Any = None  # the fake API server after the run (its request log), if the case had one
    github: Any = None  # the fake GitHub after the run, if the case had one

    def github_file(self, name: str) -> str:
        return self.files.get(f"github/{name}", "")

    def outputs(self) -> dict[str, str]:
        from tests.support.actions import parse_output_file

        return parse_output_file(self.github_file("GITHUB_OUTPUT"))


SECRET_NAMES = ("TOKEN", "PASSWORD", "SECRET", "KEY", "KUBECONFIG", "CREDENTIAL")


def _fill(text: str, ctx: Context) -> str:
    """Replace the known ``{placeholders}``; every other brace (YAML, JSON) stays as written."""
    if "{" in text:
        for key, value in ctx.values().items():
            text = text.replace("{" + key + "}", value)
    return text


def _content(value: Content, ctx: Context) -> bytes:
    produced = value(ctx) if callable(value) else value
    return produced if isinstance(produced, bytes) else _fill(produced, ctx).encode("utf-8")


def _snapshot(directory: Path) -> dict[str, str]:
    found = {}
    for p in directory.rglob("*"):
        if p.is_file() and not p.is_symlink():
            with contextlib.suppress(OSError):  # a file the case made unreadable on purpose
                found[str(p.relative_to(directory))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


def _two_commits(directory: Path, env: Mapping[str, str]) -> None:
    git = {**env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    git.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "one", "--allow-empty"]):
        subprocess.run(["git", *args], cwd=directory, env=git, check=True)
    subprocess.run(["git", "commit", "-qm", "two", "--allow-empty"], cwd=directory, env=git, check=True)


@dataclass(frozen=True)
class Launch:
    """One prepared run: what to execute, where, and the files that take its streams."""

    argv: list[str]  # gitops's arguments
    env: dict[str, str]
    cwd: str
    stdin: Path
    stdout: Path
    stderr: Path
    max_seconds: float


@dataclass(frozen=True)
class Finished:
    code: int | None  # None: killed at the deadline
    seconds: float
    rss_kb: int


def base_env(directory: Path) -> dict[str, str]:
    """The environment of an Actions step, with every runner file and temp directory in ``directory``."""
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(directory / "home"),
        "LANG": "C.UTF-8",
        "TMPDIR": str(directory / "tmp"),
        "RUNNER_TEMP": str(directory / "runner-temp"),
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(directory),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in GITHUB_FILES:
        env[name] = str(directory / "github" / name)
    scripts = os.environ.get("HOSTILE_GITOPS_SCRIPTS")
    if scripts:
        env["PYTHONPATH"] = scripts
    return env


# The limits are set by a tiny Python that then execs gitops: a preexec_fn is not safe in a test
# process whose fake API server runs threads (the child could deadlock before exec).
_LIMITED = (
    "import os, resource, sys; "
    f"resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE_LIMIT}, {ADDRESS_SPACE_LIMIT})); "
    "resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def spawn(launch: Launch) -> Finished:
    """Run ``python -m gitops`` as a new process (what :class:`Zygote` saves the start-up of)."""
    argv = [sys.executable, "-c", _LIMITED, "-m", "gitops", *launch.argv]
    start = time.monotonic()
    with (
        launch.stdin.open("rb") as stdin,
        launch.stdout.open("wb") as out,
        launch.stderr.open("wb") as err,
    ):
        proc = subprocess.Popen(
            argv, stdin=stdin, stdout=out, stderr=err, cwd=launch.cwd, env=launch.env, start_new_session=True
        )
        done = threading.Event()
        killed: list[bool] = []

        def deadline() -> None:
            if not done.wait(launch.max_seconds):
                killed.append(True)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

        watchdog = threading.Thread(target=deadline, daemon=True)
        watchdog.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # whatever the case started and left behind
    return Finished(None if killed else proc.returncode, time.monotonic() - start, usage.ru_maxrss)


class Zygote:
    """``tests/hostile/zygote.py``: a process with gitops and its clients imported that forks one
    case per job (see its docstring). Thread-safe: several cases may run at once."""

    def __init__(self) -> None:
        env = base_env(Path(tempfile.gettempdir()))
        env["PYTHONPATH"] = os.environ.get("HOSTILE_GITOPS_SCRIPTS") or str(ROOT / "scripts")
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("zygote.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=str(ROOT),
        )
        assert self._proc.stdout is not None
        ready = self._proc.stdout.readline()
        if ready.strip() != b"ready":
            raise RuntimeError(f"the hostile-case zygote did not start: {ready!r}")
        self._lock = threading.Lock()
        self._waiting: dict[str, threading.Event] = {}
        self._ids = itertools.count()
        self._reader = threading.Thread(target=self._read, name="zygote-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            words = line.decode().split()
            if len(words) == 2 and words[0] == "done":
                with self._lock:
                    event = self._waiting.pop(words[1], None)
                if event is not None:
                    event.set()
        with self._lock:  # the zygote died: wake everyone (their result files are missing)
            for event in self._waiting.values():
                event.set()

    def run(self, launch: Launch) -> Finished:
        job_id = str(next(self._ids))
        result = launch.stdout.with_name("zygote-result.json")
        event = threading.Event()
        job = {
            "id": job_id,
            "argv": list(launch.argv),
            "env": launch.env,
            "cwd": launch.cwd,
            "stdin": str(launch.stdin),
            "stdout": str(launch.stdout),
            "stderr": str(launch.stderr),
            "result": str(result),
            "max_seconds": launch.max_seconds,
            "address_space": ADDRESS_SPACE_LIMIT,
        }
        with self._lock:
            self._waiting[job_id] = event
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(job).encode() + b"\n")
            self._proc.stdin.flush()
        if not event.wait(launch.max_seconds + 60):
            raise RuntimeError(f"the zygote never reported job {job_id}")
        found = json.loads(result.read_text(encoding="utf-8"))
        result.unlink()
        return Finished(found["code"], found["seconds"], found["rss_kb"])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def run_case(
    case: Case,
    directory: Path,
    fake: Any = None,
    github: Any = None,
    execute: Callable[[Launch], Finished] = spawn,
) -> Result:
    ctx = Context(directory, fake, github)
    for sub in ("github", "tmp", "runner-temp", "home"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    if fake is not None:
        fake.write_kubeconfig(directory / "kubeconfig")
    for name, value in case.files.items():
        target = directory / _fill(name, ctx)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_content(value, ctx))
    env = base_env(directory)
    for name in GITHUB_FILES:
        Path(env[name]).touch()
    env.update({k: v(ctx) if callable(v) else _fill(v, ctx) for k, v in case.env.items()})
    if case.git:
        _two_commits(directory, env)
    stdin_path = directory / "stdin"
    stdin_path.write_bytes(_content(case.stdin, ctx) if case.stdin is not None else b"")
    if case.setup is not None:
        case.setup(ctx)
    before = _snapshot(directory)
    launch = Launch(
        argv=[_fill(a, ctx) for a in case.argv],
        env=env,
        cwd=_fill(case.cwd, ctx),
        stdin=stdin_path,
        stdout=directory / "stdout",
        stderr=directory / "stderr",
        max_seconds=case.max_seconds,
    )
    finished = execute(launch)
    after = _snapshot(directory)
    changed = {}
    for name, digest in after.items():
        if before.get(name) != digest and name not in ("stdout", "stderr"):
            changed[name] = (directory / name).read_bytes().decode("utf-8", "replace")
    return Result(
        case=case,
        dir=directory,
        code=finished.code,
        stdout=launch.stdout.read_bytes().decode("utf-8", "replace"),
        stderr=launch.stderr.read_bytes().decode("utf-8", "replace"),
        seconds=finished.seconds,
        rss_mb=finished.rss_kb / 1024,  # KiB on Linux
        files=changed,
        secrets=_secrets_in_play(case, ctx, env),
        fake=fake,
        github=github,
    )


def _secrets_in_play(case: Case, ctx: Context, env: Mapping[str, str]) -> list[str]:
    """The case's secrets, the values of its variables named like a secret, the fake's token.

    A value too short or too common to hide is documented as not masked, so it is not scanned
    for: :func:`documented_unmaskable`, the README's rule written down here, not imported from
    the redaction under test (a looser rule there must make these scans fail, not shrink them).
    """
    values = [_fill(s, ctx) for s in case.secrets]
    values += [env[k] for k in case.env if any(word in k.upper() for word in SECRET_NAMES)]
    if ctx.fake is not None:
        values.append(ctx.fake.token)
    return sorted({v for v in values if v.strip() and not documented_unmaskable(v)})


# The README's "Security" section: "A value shorter than 4 characters, or equal to a YAML/JSON word
# (true, false, null, none, yes, no, on, off, any case) ... is used as given, neither masked nor
# sent as ::add-mask::". The same words as gitops.core.redaction, kept apart on purpose.
DOCUMENTED_MIN_LENGTH = 4
DOCUMENTED_WORDS = frozenset({"true", "false", "null", "none", "yes", "no", "on", "off"})


def documented_unmaskable(value: str) -> bool:
    """Is ``value`` one the README says is not masked (too short, or a YAML/JSON word)?"""
    stripped = value.strip()
    return len(stripped) < DOCUMENTED_MIN_LENGTH or stripped.lower() in DOCUMENTED_WORDS


def leak_forms(value: str) -> list[str]:
    """A value, its base64 and its lines: every form a leak of it can take (short lines aside)."""
    forms = {value, base64.b64encode(value.encode("utf-8")).decode("ascii")}
    forms.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 6)
    return sorted(f for f in forms if f)


def leaks(result: Result) -> list[str]:
    """Where a secret of the run appears: ``"<place>: <form of which secret>"``."""
    places = {"stdout": result.stdout}
    places["stderr"] = "\n".join(
        line for line in result.stderr.splitlines() if not line.startswith("::add-mask::")
    )
    places.update(result.files)
    found: list[str] = []
    for index, secret in enumerate(result.secrets):
        for form in leak_forms(secret):
            for place, text in places.items():
                if form in text:
                    what = "the value" if form == secret else "its base64 or a line of it"
                    found.append(f"{place}: {what} (secret #{index + 1}, {len(secret)} characters)")
    return sorted(set(found))


_ANNOTATION = re.compile(r"^::(error|warning|notice)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def _unescape(text: str) -> str:
    return (
        text.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


def readable_stderr(stderr: str) -> str:
    """stderr with each annotation (``::error file=F,line=L,title=T::M``) written as a terminal
    shows it (``error: F:L: T: M``), so "F:L" can be looked for whichever form was printed."""
    lines = []
    for line in stderr.splitlines():
        found = _ANNOTATION.match(line)
        if found is None:
            lines.append(line)
            continue
        props = dict(p.split("=", 1) for p in (found["props"] or "").split(",") if "=" in p)
        where = ":".join(_unescape(props[k]) for k in ("file", "line") if k in props)
        head = f"{found[1]}: " + (f"{where}: " if where else "")
        if "title" in props:
            head += f"{_unescape(props['title'])}: "
        lines.append(head + _unescape(found["message"]))
    return "\n".join(lines)


def judge(result: Result) -> list[str]:
    """Every way ``result`` fell short of its case."""
    case = result.case
    problems: list[str] = []
    if result.code is None:
        problems.append(f"killed after {case.max_seconds:.0f}s: the run hangs")
    elif result.code != case.exit:
        problems.append(f"exit {result.code}, expected {case.exit}")
    if TRACEBACK in result.stderr and case.exit != 3:
        problems.append("a traceback was printed")
    if result.rss_mb > case.max_rss_mb:
        problems.append(f"peak memory {result.rss_mb:.0f} MB > {case.max_rss_mb} MB")
    readable = readable_stderr(result.stderr)
    for words in case.names:
        if words not in readable:
            problems.append(f"stderr does not name {words!r}")
    if case.json_stdout:
        import json

        try:
            json.loads(result.stdout)
        except ValueError as exc:
            problems.append(f"stdout is not valid JSON ({exc})")
    problems.extend(f"leak: {where}" for where in leaks(result))
    if case.check is not None and result.code is not None:
        problems.extend(case.check(result))
    return problems
