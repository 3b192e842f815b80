"""Benchmark: `gitops changes` next to the plain `git diff --name-status` it needs.

Generates a repository of --files files (default 20,000) spread over the base, the four
overlays, their cluster configs and unrelated application code, then one commit that changes
--changed of them (default 2,000: modifications, renames, deletions and additions across base
and overlays, plus deploy-control.yaml so the semantic diff runs). The history is written with
`git fast-import` (seconds, not minutes). Then, --runs times each (median reported):

  git diff --name-status -M -z BASE HEAD         the floor: what any tool must run
  gitops changes --base BASE --head HEAD         the whole CLI, a fresh Python process each run
  detect() in-process                            the same work without interpreter start-up
  gitops --version                               interpreter start-up + the CLI module alone

    python benchmarks/bench_changes.py                         # full size, writes the results file
    python benchmarks/bench_changes.py --files 300 --changed 30 --runs 1 --output /tmp/x.md
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

ENV_DIRS = [
    "infra/k8s/hetzner/dev",
    "infra/k8s/hetzner/test",
    "infra/k8s/hetzner/prod",
    "infra/k8s/podman/local",
]
CONTROL = """\
version: 3
global: {auto_deploy: true}
environments:
  dev: {enabled: true, auto_deploy: true}
  test: {enabled: true, auto_deploy: true}
  prod: {enabled: true, auto_deploy: false}
  local: {enabled: true, auto_deploy: false}
"""


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C"})
    return env


def _layout(files: int) -> list[str]:
    """``files`` repository paths: 30% base, 40% overlays, 30% application code."""
    paths = ["infra/deploy-control.yaml", "infra/k8s/base/kustomization.yaml"]
    for env in ENV_DIRS:
        paths.append(f"{env}/kustomization.yaml")
        if "hetzner" in env:
            paths.append(f"{env}/cluster/cluster-config.yaml")
    i = 0
    while len(paths) < files:
        bucket = i % 10
        if bucket < 3:
            paths.append(f"infra/k8s/base/components/c{i % 97}/res{i}.yaml")
        elif bucket < 7:
            paths.append(f"{ENV_DIRS[i % 4]}/patches/p{i % 53}/patch{i}.yaml")
        else:
            paths.append(f"app/src/module{i % 211}/file{i}.py")
        i += 1
    return paths[:files]


def _blob(path: str, version: int) -> bytes:
    if path.endswith("deploy-control.yaml"):
        text = CONTROL if version == 0 else CONTROL.replace("prod: {enabled: true", "prod: {enabled: false")
    else:
        text = f"# {path}\nversion: {version}\n"
    return text.encode()


def _fast_import_stream(paths: Sequence[str], changed: int, rng: random.Random) -> tuple[bytes, int]:
    """Two commits on refs/heads/main; returns the stream and how many paths the second touches."""
    out: list[bytes] = []

    def commit(mark: int, message: str, ops: list[bytes], parent: int | None) -> None:
        stamp = 1_700_000_000 + mark
        out.append(b"commit refs/heads/main\n")
        out.append(f"mark :{mark}\n".encode())
        out.append(f"committer Bench <bench@example.invalid> {stamp} +0000\n".encode())
        out.append(f"data {len(message)}\n{message}\n".encode())
        if parent is not None:
            out.append(f"from :{parent}\n".encode())
        out.extend(ops)

    def modify(path: str, version: int) -> bytes:
        data = _blob(path, version)
        return f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n"

    commit(1, "generated tree", [modify(p, 0) for p in paths], None)

    infra = [
        p for p in paths if p.startswith("infra/k8s/") and "kustomization" not in p and "/cluster/" not in p
    ]
    picked = rng.sample(infra, min(max(changed - 1, 0), len(infra)))
    ops = [modify("infra/deploy-control.yaml", 1)]
    renames = len(picked) // 10
    deletes = len(picked) // 20
    for n, path in enumerate(picked):
        if n < renames:
            target = path.replace("/patches/", "/moved/").replace("/components/", "/moved/")
            ops.append(f"R {path} {target}\n".encode())
        elif n < renames + deletes:
            ops.append(f"D {path}\n".encode())
        else:
            ops.append(modify(path, 1))
    commit(2, "a big change", ops, 1)
    return b"".join(out), len(ops)


def make_repo(target: Path, files: int, changed: int, seed: int = 7) -> int:
    """Create the benchmark repository; returns the number of changes in HEAD~1..HEAD."""
    env = _git_env()
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True, env=env)
    stream, count = _fast_import_stream(_layout(files), changed, random.Random(seed))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=target, input=stream, check=True, env=env)
    return count


def _interleaved_medians(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median wall time of each function, run round-robin so a busy machine slows all alike."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def measure(repo: Path, runs: int) -> dict[str, float | int]:
    from gitops.operations.change_detection import detect

    env = _git_env()
    base, head = "HEAD~1", "HEAD"
    git_argv = ["git", "diff", "--name-status", "-M", "-z", base, head, "--"]
    cli_env = {**env, "PYTHONPATH": str(ROOT / "scripts")}
    cli_argv = [
        sys.executable,
        "-m",
        "gitops",
        "changes",
        "--repo",
        str(repo),
        "--base",
        base,
        "--head",
        head,
    ]
    cli_argv += ["--format", "json"]

    def git_diff() -> None:
        subprocess.run(git_argv, cwd=repo, env=env, check=True, capture_output=True)

    def cli() -> None:
        subprocess.run(cli_argv, env=cli_env, check=True, capture_output=True)

    def startup() -> None:
        subprocess.run(
            [sys.executable, "-m", "gitops", "--version"], env=cli_env, check=True, capture_output=True
        )

    def in_process() -> None:
        detect(repo, base=base, head=head)

    git_diff()  # warm the page cache once for everyone
    report = detect(repo, base=base, head=head)
    medians = _interleaved_medians(
        {"git_s": git_diff, "cli_s": cli, "detect_s": in_process, "startup_s": startup}, runs
    )
    return {
        **medians,
        "files": len(report.files),
        "environments": len(report.environments),
    }


def render(files: int, changed: int, runs: int, result: dict[str, float | int]) -> str:
    git_s, cli_s, detect_s = float(result["git_s"]), float(result["cli_s"]), float(result["detect_s"])
    startup_s = float(result["startup_s"])
    rows = [
        ("`git diff --name-status -M -z` (the floor)", git_s, 1.0),
        ("`gitops changes` (new process, JSON on stdout)", cli_s, cli_s / git_s),
        ("`gitops.operations.change_detection.detect()` in-process", detect_s, detect_s / git_s),
        ("`gitops --version` (interpreter start-up + the CLI module)", startup_s, startup_s / git_s),
    ]
    lines = [
        "# Change detection benchmark",
        "",
        f"Repository: {files:,} files; one commit changing {changed:,} of them (modified, renamed, deleted "
        f"across base and overlays, plus deploy-control.yaml). {result['files']:,} paths reported, "
        f"{result['environments']} environments affected. Median of {runs} run(s).",
        "",
        "| command | median | x git diff |",
        "|---|---:|---:|",
        *[f"| {name} | {seconds * 1000:.1f} ms | {ratio:.2f} |" for name, seconds, ratio in rows],
        "",
        f"**Ratio `gitops changes` / `git diff`: {cli_s / git_s:.2f}x** "
        f"(in-process: {detect_s / git_s:.2f}x). Of the CLI's {cli_s * 1000:.0f} ms, "
        f"{startup_s * 1000:.0f} ms is interpreter start-up and "
        f"{detect_s * 1000:.0f} ms the detection itself; "
        "the rest is importing the verb's modules (PyYAML among them) and writing the JSON.",
        "",
        f"Measured on {platform.system()} {platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPU(s), with `python benchmarks/bench_changes.py --files {files} "
        f"--changed {changed} --runs {runs}`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--changed", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "changes.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-changes-") as tmp:
        repo = Path(tmp) / "repo"
        started = time.perf_counter()
        changes = make_repo(repo, args.files, args.changed)
        took = time.perf_counter() - started
        print(f"generated {args.files} files and a {changes}-entry change in {took:.1f}s")
        result = measure(repo, args.runs)
    text = render(args.files, changes, args.runs, result)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
