"""gitops.adapters.textfile: a file the user named, read up to a limit and only as UTF-8."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from gitops.adapters import textfile


def test_reads_utf8_text(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("a: café\n", encoding="utf-8")
    assert textfile.read(tmp_path / "f") == "a: café\n"


def test_an_endless_device_is_refused_at_the_limit() -> None:
    with pytest.raises(OSError) as info:
        textfile.read("/dev/zero", limit=1024)
    assert info.value.errno == errno.EFBIG
    assert "more than 1,024 bytes" in str(info.value.strerror)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"ok: 1\nname: caf\xe9\n")
    with pytest.raises(OSError) as info:
        textfile.read(tmp_path / "f")
    assert info.value.errno == errno.EILSEQ
    assert "not UTF-8 text (line 2" in str(info.value.strerror)


@pytest.mark.parametrize("where", ["missing", "."])
def test_a_missing_file_or_a_directory_is_an_oserror(tmp_path: Path, where: str) -> None:
    with pytest.raises(OSError):
        textfile.read(tmp_path / where)
