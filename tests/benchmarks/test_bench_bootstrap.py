"""The bootstrap benchmark still runs (one profile, one build), so it cannot rot between measurements."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.benchmarks import benchmark_report

pytestmark = pytest.mark.integration


def test_benchmark_runs_for_one_profile(tmp_path: Path) -> None:
    text = benchmark_report(
        "bench_bootstrap.py",
        tmp_path / "bootstrap.md",
        *("--profiles", "core", "--repeat", "1", "--runs", "2"),
        timeout=300,
    )
    row = next(line for line in text.splitlines() if line.startswith("| `core` |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1].endswith(" s") and cells[2].endswith(" s"), row
    assert cells[3].count(" ms") == 2, row
    assert cells[4].endswith(" MB"), row
