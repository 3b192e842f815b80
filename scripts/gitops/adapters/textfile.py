"""Reading an input file the user named: at most so many bytes, and UTF-8 or an error.

``Path.read_text`` reads to the end, whatever that is: ``--control /dev/zero`` (or a FIFO that
never ends, or a 10 GB file passed by mistake) would fill the memory before any size limit of
:mod:`gitops.core.documents` could look at the text; and a file that is not UTF-8 raises
``UnicodeDecodeError``, which the readers did not expect (a traceback, exit 3). Here a read stops
one byte past the limit, and both problems are ``OSError``\\ s with a ``strerror`` that says what is
wrong, so every reader's existing ``except OSError`` reports them like a missing file: exit 1,
naming the file. Devices and FIFOs stay readable (``--kubeconfig <(...)`` is a FIFO).
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

from gitops.errors import ConfigurationError

# The limit for a file a person writes (policy, filters, secret map, kubeconfig, cluster config,
# token file): core.documents.CONFIG's, which the text is checked against again when it is parsed.
# Not imported from there: `gitops changes` reads files without loading PyYAML when it can.
CONFIG_BYTES = 1024 * 1024


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise OSError(errno.EILSEQ, f"not UTF-8 text (line {line}; is it a binary file?)", name) from None


def read(path: Path | str, limit: int = CONFIG_BYTES) -> str:
    """The UTF-8 text of ``path``; ``OSError`` when it cannot be read, is larger than ``limit``
    bytes, or is not UTF-8 (``strerror`` says which)."""
    with Path(path).open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"too large: more than {limit:,} bytes (is it the right file?)", str(path))
    return _decode(data, str(path))


def read_input(
    path: Path | str,
    *,
    what: str,
    title: str,
    key: str | None = None,
    hint: str | None = None,
    shown: str | None = None,
    limit: int = CONFIG_BYTES,
) -> str:
    """:func:`read` for a file the user named: a failure is the user's to fix, so it is a
    :class:`ConfigurationError` "cannot read WHAT: why" naming the file (``shown``, else the
    path) and the flag (``key``) that named it."""
    try:
        return read(path, limit)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {what}: {exc.strerror or exc}",
            file=shown if shown is not None else str(path),
            key=key,
            title=title,
            hint=hint,
        ) from None


def read_stdin(limit: int) -> str:
    """Standard input as UTF-8 text, at most ``limit`` bytes (the same errors as :func:`read`)."""
    binary = getattr(sys.stdin, "buffer", None)
    if binary is None:  # a text stream put in its place (tests, an embedding program): already decoded
        text = str(sys.stdin.read(limit + 1))
        data = text.encode("utf-8", "surrogatepass")
    else:
        data = binary.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"too large: more than {limit:,} bytes", "stdin")
    return _decode(data, "stdin")
