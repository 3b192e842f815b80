"""The change-detection benchmark still runs (tiny size), so it cannot rot between measurements."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_runs_at_a_tiny_size(tmp_path: Path, require_binary: object) -> None:
    require_binary("git")  # type: ignore[operator]
    output = tmp_path / "changes.md"
    script = ROOT / "benchmarks" / "bench_changes.py"
    proc = subprocess.run(
        [
            sys.executable,
            str(script),
            "--files",
            "200",
            "--changed",
            "20",
            "--runs",
            "1",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    text = output.read_text(encoding="utf-8")
    assert "Repository: 200 files; one commit changing 20 of them" in text
    assert "4 environments affected" in text  # base changes reach every overlay
    assert "**Ratio `gitops changes` / `git diff`:" in text
