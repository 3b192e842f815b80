"""Running a script of benchmarks/ the way its smoke tests do: a fresh interpreter, the output
captured, a time limit.

    text = benchmark_report("bench_apply.py", tmp_path / "apply.md", "--configmaps", "3", timeout=300)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python benchmarks/<script> <args>``; the caller checks the exit code."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def benchmark_report(script: str, output: Path, *args: str, timeout: float) -> str:
    """Run the benchmark with ``--output output``, require exit 0, and return the report it wrote."""
    proc = run_benchmark(script, *args, "--output", str(output), timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return output.read_text(encoding="utf-8")
