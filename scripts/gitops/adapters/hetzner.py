"""hetzner-k3s on this machine: install the pinned, checksum-verified binary; run it; private files.

* Downloads go to a temporary file next to the cache entry, are hashed while they stream,
  and only a file whose sha256 matches is made executable and moved into the cache
  (``<tool cache>/gitops/hetzner-k3s/<sha256>/hetzner-k3s``). A cached binary is hashed again
  before every use, so a file changed on a shared runner is never run.
* Secrets for the run (SSH keys, the rewritten config) live in a private directory (0700) under
  ``$RUNNER_TEMP``, files 0600, removed when the step ends, also on failure or cancellation.
* The child gets the Hetzner token only as ``HCLOUD_TOKEN``; other credentials of this process
  (GitHub tokens, the key variables) are removed from its environment. Its output is streamed
  line by line through the runner, which masks every registered secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import FrameType

from gitops.adapters import runner
from gitops.core import documents
from gitops.core.hetzner_k3s import Release, load_release
from gitops.errors import ConfigurationError

DOWNLOAD_TIMEOUT = 120
CHUNK = 1 << 20
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


def pinned_release() -> Release:
    text = resources.files("gitops").joinpath("data/hetzner-k3s.json").read_text(encoding="utf-8")
    source = "scripts/gitops/data/hetzner-k3s.json"
    return load_release(documents.parse_json(text, source, _RELEASE), source)


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
    base: Mapping[str, str], token: str, *, home: Path, path_prefix: Sequence[str]
) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in CHILD_ENV_DROP}
    env["HCLOUD_TOKEN"] = token
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join([*path_prefix, base.get("PATH", os.defpath)])
    return env


def run_streaming(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> int:
    """Run ``argv``, each output line through the runner (redacted); the child is stopped if we are."""
    run = runner.current()
    process = subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
    )

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # unwinds through the finally blocks: keys removed, child stopped

    previous = None
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        previous = signal.signal(signal.SIGTERM, on_term)
    try:
        assert process.stdout is not None  # noqa: S101 - Popen with stdout=PIPE
        for line in process.stdout:
            run.log(line.rstrip("\r\n"))
        return process.wait()
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
