"""The apply benchmark still runs (tiny size), so it cannot rot between measurements."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    output = tmp_path / "apply.md"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_apply.py"),
            "--configmaps",
            "3",
            "--repeat",
            "1",
            "--latency-samples",
            "1",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    text = output.read_text(encoding="utf-8")
    assert "the prod overlay (17) + 3 ConfigMaps" in text
    assert "| gitops apply (create) |" in text and "| kubectl apply --server-side (create) | " in text
    assert "| gitops (RolloutWaiter, in-process) | 1 |" in text
