"""hetzner-k3s on this machine: install the pinned, checksum-verified binary; run it; private files.

* Downloads go to a temporary file next to the cache entry, are hashed while they stream,
  and only a file whose sha256 matches is made executable and moved into the cache
  (``<tool cache>/gitops/hetzner-k3s/<sha256>/hetzner-k3s``). A cached binary is hashed again
  before every use, so a file changed on a shared runner is never run.
* Secrets for the run (SSH keys, the rewritten config) live in a private directory (0700) under
  ``$RUNNER_TEMP``, files 0600, removed when the step ends, also on failure or cancellation.
* The child gets the Hetzner token only as ``HCLOUD_TOKEN``; other credentials of this process
  (GitHub tokens, the key variables) are removed from its environment. Its ``HOME`` and ``TMPDIR``
  are inside the private directory: hetzner-k3s writes every shell command it runs - the Hetzner
  token among them - to a 0755 file from ``File.tempname`` (src/util/shell.cr), i.e. under
  ``$TMPDIR``, world-readable in a shared /tmp. Its output is streamed line by line through the
  runner, which masks every registered secret.
* It runs in a process group of its own, so a deadline or a cancelled job stops it AND what it
  started (ssh, bash, kubectl, helm): SIGTERM to the group, SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import FrameType

from gitops.adapters import runner
from gitops.core import documents
from gitops.core.hetzner_k3s import RELEASE_CACHE, Release, load_release
from gitops.errors import ConfigurationError

DOWNLOAD_TIMEOUT = 120
CHUNK = 1 << 20
STOP_GRACE_SECONDS = 10.0  # SIGTERM to the process group, then SIGKILL
# Never handed to hetzner-k3s: it needs HCLOUD_TOKEN only.
CHILD_ENV_DROP = frozenset(
    {
        "HCLOUD_TOKEN",
        "HETZNER_TOKEN",
        "HETZNER_SSH_PRIVATE_KEY",
        "HETZNER_SSH_PUBLIC_KEY",
        "GH_TOKEN",
        "GITHUB_TOKEN",
        "GITHUB_APP_PRIVATE_KEY",
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
    }
)


_RELEASE = documents.DocumentKind(title="Invalid pinned release")


def pinned_release(section: str = "") -> Release:
    """The pinned release for ``create`` (``section=""``) or for ``upgrade``."""
    text = resources.files("gitops").joinpath("data/hetzner-k3s.json").read_text(encoding="utf-8")
    source = "scripts/gitops/data/hetzner-k3s.json"
    return load_release(documents.parse_json(text, source, _RELEASE), source, section)


def cache_root() -> Path:
    """The same cache bootstrap.sh uses for the venv."""
    run = runner.current()
    base = run.env("GITOPS_CACHE_DIR") or (
        str(Path(run.env("RUNNER_TOOL_CACHE")) / "gitops")
        if run.env("RUNNER_TOOL_CACHE")
        else str(Path(run.env("XDG_CACHE_HOME") or Path.home() / ".cache") / "gitops")
    )
    return Path(base) / "hetzner-k3s"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_mismatch(what: str, expected: str, actual: str) -> ConfigurationError:
    return ConfigurationError(
        f"{what} has sha256 {actual}, expected {expected}: refusing to run it",
        key="--sha256",
        title="Checksum mismatch",
        hint="a wrong pin or a tampered download; check the release's published checksum before changing "
        "scripts/gitops/data/hetzner-k3s.json or --sha256",
    )


def verify(path: Path, expected: str, what: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise checksum_mismatch(what, expected, actual)


def install(url: str, expected: str, *, root: Path | None = None) -> tuple[Path, str]:
    """The verified binary for ``expected`` (from the cache, else downloaded); (path, "cache"|"download")."""
    run = runner.current()
    root = root or cache_root()
    entry = root / expected
    binary = entry / "hetzner-k3s"
    if binary.is_file():
        verify(binary, expected, f"the cached {binary}")
        return binary, "cache"
    entry.mkdir(parents=True, exist_ok=True)
    handle, partial_name = tempfile.mkstemp(prefix=".download-", dir=entry)
    partial = Path(partial_name)
    digest = hashlib.sha256()
    try:
        if not url.startswith(("https://", "http://")):
            raise ConfigurationError(
                f"the download URL must be http(s), found {url!r}",
                key="--download-url",
                title="Invalid input",
                hint="a template such as https://mirror.example/hetzner-k3s/{version}/hetzner-k3s-{platform}",
            )
        run.log(f"downloading {url}")
        request = urllib.request.Request(url, headers={"User-Agent": "gitops-deploy-suite"})  # noqa: S310 - checked above
        try:
            with (
                os.fdopen(handle, "wb") as out,
                urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response,  # noqa: S310 - checked above
            ):
                for block in iter(lambda: response.read(CHUNK), b""):
                    digest.update(block)
                    out.write(block)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise ConfigurationError(
                f"could not download hetzner-k3s from {url} ({reason})",
                title="Download failed",
                hint="check the runner's network access to github.com, or pass --hetzner-k3s PATH",
            ) from None
        actual = digest.hexdigest()
        if actual != expected:
            raise checksum_mismatch(f"the download from {url}", expected, actual)
        partial.chmod(0o755)  # only now, after the checksum matched
        partial.replace(binary)
    finally:
        partial.unlink(missing_ok=True)
    return binary, "download"


@contextlib.contextmanager
def private_directory(prefix: str) -> Iterator[Path]:
    """A 0700 directory under ``$RUNNER_TEMP`` (else the system temp dir), removed on exit."""
    base = runner.current().env("RUNNER_TEMP") or None
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    path.chmod(0o700)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def write_private(path: Path, content: str) -> Path:
    """Create ``path`` with mode 0600 from the start (never readable by others, even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return path


def child_environment(
    base: Mapping[str, str], token: str, *, home: Path, tmpdir: Path, path_prefix: Sequence[str]
) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in CHILD_ENV_DROP}
    env["HCLOUD_TOKEN"] = token
    env["HOME"] = str(home)
    for name in ("TMPDIR", "TMP", "TEMP"):
        env[name] = str(tmpdir)
    env["PATH"] = os.pathsep.join([*path_prefix, base.get("PATH", os.defpath)])
    return env


def write_release_cache(home: Path, content: str) -> Path:
    """Seed hetzner-k3s's k3s release list in its (private) HOME, so it does not ask GitHub."""
    directory = home / Path(RELEASE_CACHE).parent
    directory.mkdir(mode=0o700, exist_ok=True)
    return write_private(home / RELEASE_CACHE, content)


def tool_version(binary: Path, env: Mapping[str, str]) -> str:
    """What ``hetzner-k3s --version`` prints ('' when it cannot say)."""
    try:
        done = subprocess.run(
            [str(binary), "--version"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout or "").strip()


@dataclass(frozen=True)
class Finished:
    code: int | None  # None: stopped at the deadline
    timed_out: bool
    seconds: float


def _stop_group(process: subprocess.Popen[str]) -> None:
    """SIGTERM to the child's process group (it and what it started), SIGKILL after the grace period."""
    for sig, grace in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_streaming(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    *,
    stdin: str | None = None,
    timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
) -> Finished:
    """Run ``argv`` in its own process group, each output line through the runner (redacted).

    ``stdin`` is written to the child and closed (answers to its prompts); without it the child's
    stdin is /dev/null, so a prompt ends the read instead of waiting. At ``timeout`` seconds, or
    when we are stopped, the whole process group is stopped.
    """
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    process = subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
        start_new_session=True,  # its own process group: killpg reaches ssh, bash, kubectl, helm
    )
    lines = _output_lines(process)
    with _sigterm_unwinds():
        try:
            if stdin is not None:
                _answer(process, stdin)
            if not _relay(lines, deadline, on_line):
                _stop_group(process)
                return Finished(None, True, time.monotonic() - started)
            return _exit(process, deadline, started)
        finally:
            _reap(process)


def _output_lines(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The child's output, line by line, read by a thread of its own; None when it ends."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None  # noqa: S101 - Popen with stdout=PIPE
        for line in process.stdout:
            lines.put(line.rstrip("\r\n"))
        lines.put(None)

    threading.Thread(target=read, name="hetzner-k3s-output", daemon=True).start()
    return lines


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM (a cancelled job) raises KeyboardInterrupt, which unwinds through the finally
    blocks: keys removed, child stopped. Only in the main thread; other threads leave signals alone."""

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = None
    with contextlib.suppress(ValueError):  # not the main thread
        previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _answer(process: subprocess.Popen[str], stdin: str) -> None:
    """Write the answers to the child's prompts and close its stdin (it may have exited already)."""
    assert process.stdin is not None  # noqa: S101 - Popen with stdin=PIPE
    with contextlib.suppress(BrokenPipeError):
        process.stdin.write(stdin)
    with contextlib.suppress(BrokenPipeError):
        process.stdin.close()


def _relay(
    lines: queue.Queue[str | None], deadline: float | None, on_line: Callable[[str], None] | None
) -> bool:
    """Log each line (the runner redacts) and hand it to ``on_line`` until the output ends (True) or
    the deadline comes first (False)."""
    run = runner.current()
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            line = lines.get(timeout=wait)
        except queue.Empty:
            return False
        if line is None:
            return True
        run.log(line)
        if on_line is not None:
            on_line(line)


def _exit(process: subprocess.Popen[str], deadline: float | None, started: float) -> Finished:
    """The child's exit, waited for within what is left of the deadline (its output has ended)."""
    remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
    try:
        code = process.wait(timeout=remaining)
    except subprocess.TimeoutExpired:
        _stop_group(process)
        return Finished(None, True, time.monotonic() - started)
    return Finished(code, False, time.monotonic() - started)


def _reap(process: subprocess.Popen[str]) -> None:
    """Nothing of the run outlives it: the child if it still runs, else what it left in its group."""
    if process.poll() is None:
        _stop_group(process)
    else:
        # It exited; anything it left running in its group (a stray ssh) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
