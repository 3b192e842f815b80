"""Benchmark: what `source scripts/bootstrap.sh` costs each composite action.

The first call of a job builds the hash-locked venv (python -m venv + pip --require-hashes);
every later call must cost "well under a second": it only checks the marker of the venv keyed
by the lock's hash and exports PATH/PYTHONPATH. Measures both in a throwaway tool cache:

    python benchmarks/bench_bootstrap.py [--runs 20] [--output benchmarks/results/bootstrap.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def source_once(cache: Path) -> float:
    env = {**os.environ, "RUNNER_TOOL_CACHE": str(cache), "GITOPS_PYTHON": sys.executable}
    env.pop("GITOPS_CACHE_DIR", None)
    start = time.perf_counter()
    subprocess.run(
        ["bash", "-c", f'source "{ROOT}/scripts/bootstrap.sh" && command -v gitops >/dev/null'],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "bootstrap.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gitops-bench-bootstrap-") as tmp:
        first = source_once(Path(tmp))
        again = [source_once(Path(tmp)) for _ in range(args.runs)]
    median = statistics.median(again)
    text = "\n".join(
        [
            "# Benchmark: sourcing scripts/bootstrap.sh",
            "",
            "| call | seconds |",
            "|---|---:|",
            "| first call of a job (builds the venv from requirements/runtime.txt; pip cache warm) "
            f"| {first:.1f} |",
            f"| every later call (median of {args.runs}) | {median:.3f} |",
            f"| every later call (max) | {max(again):.3f} |",
            "",
            f"Measured on {platform.system()} {platform.machine()}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPU(s), with `python benchmarks/bench_bootstrap.py --runs {args.runs}`.",
            "",
        ]
    )
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
