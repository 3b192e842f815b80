"""The bootstrap benchmark still runs (one profile, one build), so it cannot rot between measurements."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_runs_for_one_profile(tmp_path: Path) -> None:
    output = tmp_path / "bootstrap.md"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_bootstrap.py"),
            "--profiles",
            "core",
            "--repeat",
            "1",
            "--runs",
            "2",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    text = output.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `core` |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1].endswith(" s") and cells[2].endswith(" s"), row
    assert cells[3].count(" ms") == 2, row
    assert cells[4].endswith(" MB"), row
