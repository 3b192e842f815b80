"""Writing a file that holds secrets: mode 0600 from its first byte, never through a symlink.

``gitops render --output FILE`` writes substituted manifests (real secret values) where the
user asked, through here; nothing else writes them to a disk.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gitops.errors import ConfigurationError


def check_target(path: Path) -> None:
    """Refuse a symlink, a non-file, or a missing directory, before any work is done."""
    if path.is_symlink():
        raise ConfigurationError(
            f"{path} is a symbolic link; refusing to write secrets through it",
            file=str(path),
            key="--output",
            hint="Write to a regular file path (it is created with mode 0600).",
            title="Unsafe output path",
        )
    if path.exists() and not path.is_file():
        raise ConfigurationError(
            f"{path} exists and is not a regular file",
            file=str(path),
            key="--output",
            title="Unsafe output path",
        )
    if not path.parent.is_dir():
        raise ConfigurationError(
            f"the directory of {path} does not exist",
            file=str(path),
            key="--output",
            title="Invalid output path",
        )


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the first byte, atomically.

    A temporary file in the same directory is created with ``O_CREAT|O_EXCL|O_NOFOLLOW`` and
    mode 0600 (so there is never a moment where another user can read it), filled, synced
    and renamed over ``path``. ``rename`` replaces a symlink rather than following it, and a
    symlink at ``path`` is refused up front anyway.
    """
    check_target(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    temp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(temp, flags, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # the umask can only remove bits; make it exactly 0600
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
