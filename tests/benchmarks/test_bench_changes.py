"""The change-detection benchmark still runs (tiny size), so it cannot rot between measurements."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.benchmarks import ROOT, benchmark_report, run_benchmark

pytestmark = pytest.mark.integration


def test_benchmark_runs_at_a_tiny_size(tmp_path: Path, require_binary: object) -> None:
    require_binary("git")  # type: ignore[operator]
    text = benchmark_report(
        "bench_changes.py",
        tmp_path / "changes.md",
        *("--files", "200", "--changed", "20", "--runs", "1"),
        timeout=60,
    )
    assert "Repository: 200 files; one commit changing 20 of them" in text
    assert "4 environments affected" in text  # base changes reach every overlay
    assert "| `gitops changes`, four filters |" in text
    assert "first call of a fresh checkout" in text
    assert "dorny" not in text.split("| command |")[1]  # no --dorny: no paths-filter row


# A stand-in for dorny/paths-filter's dist/index.js (its code never enters this repository): it
# checks the inputs the benchmark must pass, as @actions/core reads them, and writes outputs the
# way @actions/core does, one of them wrong, so the comparison must report it.
STAND_IN = r"""
const fs = require('fs')
for (const name of ['INPUT_FILTERS', 'INPUT_BASE', 'INPUT_REF', 'INPUT_LIST-FILES', 'GITHUB_EVENT_PATH']) {
  if (!process.env[name]) { console.error(`missing ${name}`); process.exit(1) }
}
const out = []
for (const name of ['shared', 'dev-overlay', 'python', 'yaml']) {
  out.push(`${name}<<EOF\n${name === 'python' ? 'true' : 'false'}\nEOF\n`)
}
fs.appendFileSync(process.env.GITHUB_OUTPUT, out.join(''))
"""


def test_benchmark_runs_paths_filter_side_by_side_and_compares_outputs(
    tmp_path: Path, require_binary: object
) -> None:
    require_binary("node")  # type: ignore[operator]
    dist = tmp_path / "paths-filter" / "dist"
    dist.mkdir(parents=True)
    (dist / "index.js").write_text(STAND_IN, encoding="utf-8")
    text = benchmark_report(
        "bench_changes.py",
        tmp_path / "changes.md",
        *("--files", "200", "--changed", "20", "--runs", "1"),
        *("--dorny", str(dist.parent), "--dorny-label", "stand-in"),
        timeout=120,
    )
    assert "| dorny/paths-filter stand-in `dist/index.js`, four filters |" in text
    assert "**`gitops changes` with four filters / dorny/paths-filter:" in text
    assert "Outputs that differ from paths-filter's:" in text
    assert "- python: dorny 'true' gitops 'false'" in text
    assert "- yaml: dorny 'false' gitops 'true'" in text


def test_benchmark_refuses_paths_filter_inside_this_repository() -> None:
    proc = run_benchmark(
        "bench_changes.py", "--files", "50", "--changed", "5", "--dorny", str(ROOT / "benchmarks"), timeout=60
    )
    assert proc.returncode != 0
    assert "keep dorny/paths-filter's code outside this repository" in proc.stderr
