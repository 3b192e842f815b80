"""Benchmark: what `source scripts/bootstrap.sh PROFILE` costs each composite action.

Three costs per profile, each in a throwaway tool cache whose package cache (uv's downloads and
the uv wheel) is warm, as the workflows' actions/cache step leaves it on a GitHub-hosted runner:

* first action of a job: nothing installed yet: pip installs uv from its hash-pinned wheel,
  then uv builds the profile's venv (a GitHub-hosted runner, every job);
* a fresh venv with uv already there: the second profile of a job, or a self-hosted runner
  whose tool cache has uv but not this lock's venv;
* every later sourcing: the venv exists; only its marker is checked (median of --runs).

With --pip, the same first-action build with pip instead of uv (the fallback where uv cannot
run). Sizes are the venv directory's disk use. Run:

    python benchmarks/bench_bootstrap.py [--profiles core kube github validate all] [--repeat 3]
        [--runs 20] [--pip] [--output benchmarks/results/bootstrap.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("core", "kube", "github", "validate", "all")
# The interpreter a runner has (with pip), not a dev venv's.
PYTHON = os.path.realpath(sys.executable)


def environment(cache: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITOPS_", "UV_", "VIRTUAL_ENV"))}
    return {**env, "GITOPS_CACHE_DIR": str(cache), "GITOPS_PYTHON": PYTHON, **extra}


def source(profile: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            "bash",
            "-eo",
            "pipefail",
            "-c",
            f'source "{ROOT}/scripts/bootstrap.sh" {profile} && command -v gitops',
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def venv_of(cache: Path, profile: str) -> Path:
    return next(cache.glob(f"venv-{profile}-py*"))


def megabytes(path: Path) -> float:
    done = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0]) / 1024


def fresh_cache(work: Path, warm: Path, with_uv: bool) -> Path:
    """A new tool cache holding a hard-linked copy of the warm package cache (and uv)."""
    cache = Path(tempfile.mkdtemp(dir=work, prefix="cache-"))
    subprocess.run(["cp", "-al", str(warm / "packages"), str(cache / "packages")], check=True)
    if with_uv:
        for uv in warm.glob("uv-*"):
            subprocess.run(["cp", "-al", str(uv), str(cache / uv.name)], check=True)
    return cache


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", nargs="+", choices=PROFILES, default=list(PROFILES))
    parser.add_argument("--repeat", type=int, default=3, help="cold builds per profile (median)")
    parser.add_argument("--runs", type=int, default=20, help="later sourcings per profile (median)")
    parser.add_argument("--pip", action="store_true", help="also time the pip fallback (slow)")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "bootstrap.md")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="gitops-bench-bootstrap-") as tmp:
        work = Path(tmp)
        warm = work / "warm"
        for profile in args.profiles:  # fills the package cache (downloads happen here, untimed)
            source(profile, environment(warm))
        for profile in args.profiles:
            first, again_fresh, size = [], [], 0.0
            for _ in range(args.repeat):
                cache = fresh_cache(work, warm, with_uv=False)
                first.append(source(profile, environment(cache)))
                size = megabytes(venv_of(cache, profile))
                shutil.rmtree(venv_of(cache, profile))
                again_fresh.append(source(profile, environment(cache)))
                later = [source(profile, environment(cache)) for _ in range(args.runs)]
                shutil.rmtree(cache)
            pip = None
            if args.pip:
                cache = fresh_cache(work, warm, with_uv=False)
                pip = source(profile, environment(cache, GITOPS_UV=str(work / "no-uv")))
                shutil.rmtree(cache)
            rows.append(
                (
                    profile,
                    statistics.median(first),
                    statistics.median(again_fresh),
                    statistics.median(later),
                    max(later),
                    size,
                    pip,
                )
            )

    head = (
        "| profile | first action of a job (uv installed, then the venv) | fresh venv, uv present "
        "| later sourcing (median / max) | venv size |"
    )
    sep = "|---|---:|---:|---:|---:|"
    if args.pip:
        head += " pip instead of uv (first action) |"
        sep += "---:|"
    lines = [
        "# Benchmark: sourcing scripts/bootstrap.sh PROFILE",
        "",
        "Package cache warm (as actions/cache restores it); tool cache otherwise empty. "
        f"Cold builds: median of {args.repeat}; later sourcings: {args.runs} per build.",
        "",
        head,
        sep,
    ]
    for profile, first, fresh, later, later_max, size, pip in rows:
        line = (
            f"| `{profile}` | {first:.2f} s | {fresh:.2f} s "
            f"| {later * 1000:.0f} ms / {later_max * 1000:.0f} ms | {size:.0f} MB |"
        )
        if args.pip:
            line += f" {pip:.1f} s |" if pip is not None else " - |"
        lines.append(line)
    lines += [
        "",
        "Before profiles and uv (one venv of every runtime package, built by pip from a warm pip "
        "cache): 25.4 s and 389 MB for every job's first action, whatever it needed.",
        "",
        f"Measured on {platform.system()} {platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPU(s) (load average {load:.1f} at the start), "
        "with `python benchmarks/bench_bootstrap.py "
        f"--profiles {' '.join(args.profiles)} --repeat {args.repeat} --runs {args.runs}"
        f"{' --pip' if args.pip else ''}`.",
        "",
    ]
    text = "\n".join(lines)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
