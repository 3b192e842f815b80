"""The apply benchmark still runs (tiny size), so it cannot rot between measurements."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.benchmarks import benchmark_report

pytestmark = pytest.mark.integration


def test_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    text = benchmark_report(
        "bench_apply.py",
        tmp_path / "apply.md",
        *("--configmaps", "3", "--repeat", "1", "--latency-samples", "1", "--round-trips", "0", "20"),
        timeout=300,
    )
    sizes = re.search(r"the prod overlay \((\d+)\) \+ 3 ConfigMaps = (\d+)\.", text)
    assert sizes and int(sizes[1]) + 3 == int(sizes[2])
    for round_trip in ("0 ms", "20 ms"):  # kubectl and gitops side by side, from the same run
        for phase in ("create", "no change", "no change, gitops's first run in a fresh venv"):
            assert re.search(
                rf"^\| {round_trip} \| {phase} \| [\d.]+ s \| [\d.]+ s \| [\d.]+ s \| [\d.]+x \|", text, re.M
            )
        assert re.search(rf"^\| {round_trip} \| no change \| \d+ \| \d+ \| [\d.]+ \|$", text, re.M)
    assert "| start-up: everything gitops apply imports |" in text
    assert "| gitops (RolloutWaiter, in-process) | 1 |" in text
