"""Benchmark: `gitops changes` next to `git diff`, and next to dorny/paths-filter run on the same repository.

Generates a repository of --files files (default 20,000) spread over the base, the four
overlays, their cluster configs and unrelated application code, then one commit that changes
--changed of them (default 2,000: modifications, renames, deletions and additions across base
and overlays, plus deploy-control.yaml so the semantic diff runs). The history is written with
`git fast-import` (seconds, not minutes). Then, --runs times each, round-robin (median and
peak memory reported):

  git diff --name-status -M -z BASE HEAD        the floor: what any tool must run
  gitops changes (no filters / four filters)    the whole CLI as the action runs it: a fresh
                                                process inside "Actions" ($GITHUB_OUTPUT, summary)
  dorny/paths-filter dist/index.js              with --dorny DIR: the same four filters, the same
                                                commits, under node, as its action runs
  detect() in-process                           the detection without interpreter start-up
  gitops --version                              interpreter start-up + the CLI module alone

With --dorny, one more (untimed) run of each with `list-files: json` compares every output
paths-filter sets (`<filter>`, `<filter>_count`, `<filter>_files`, `changes`) with ours.

dorny/paths-filter's code is never part of this repository: pass the directory of a release's
committed `dist/` (node from Debian: `apt-get install -y nodejs`), e.g.

    git -C /tmp/paths-filter archive v4.0.2 dist | tar -x -C /tmp/dorny-v4.0.2
    python benchmarks/bench_changes.py --dorny /tmp/dorny-v4.0.2 --dorny-label v4.0.2
    python benchmarks/bench_changes.py --files 300 --changed 30 --runs 1 --output /tmp/x.md
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))  # tests.support.actions reads $GITHUB_OUTPUT as the runner does

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
# Four filters of the kinds people write: a directory, an overlay, a language across the
# tree, two extensions everywhere. No '!' exclusion: there paths-filter and we differ on
# purpose (README), and the outputs are compared. (Not named 'base' or 'dev': those are
# outputs of ours already, and a filter may not overwrite another output.)
FILTERS = """\
shared: 'infra/k8s/base/**'
dev-overlay:
  - 'infra/k8s/hetzner/dev/**'
  - 'infra/k8s/base/kustomization.yaml'
python: 'app/**/*.py'
yaml: '**/*.{yaml,yml}'
"""
FILTER_NAMES = ("shared", "dev-overlay", "python", "yaml")


def _git_env() -> dict[str, str]:
    # Bytecode is cached as on a runner (PYTHONDONTWRITEBYTECODE unset); the first call of a fresh
    # checkout compiles the modules it imports: measured on its own ("first call").
    ignored = ("GIT_", "GITHUB_", "RUNNER_", "INPUT_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ignored)}
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
    subprocess.run(["git", "checkout", "-q", "main"], cwd=target, check=True, env=env)
    return count


# -- running things -------------------------------------------------------------------------------


@dataclass
class Timed:
    seconds: list[float]
    peak_kib: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def _run_measured(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str]) -> tuple[float, int]:
    """Wall time and peak RSS (KiB; 0 when unknown) of one process, which must succeed.

    The peak comes from GNU time (`-f %M`): a child's own rusage would report this big Python
    process's RSS for every small child, since exec records the memory it replaces.
    """
    with tempfile.NamedTemporaryFile(prefix="bench-rss-") as rss:
        wrapper = [GNU_TIME, "-q", "-o", rss.name, "-f", "%M"] if GNU_TIME else []
        start = time.perf_counter()
        done = subprocess.run(
            [*wrapper, *argv],
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(
                f"{' '.join(argv[:3])} ... failed ({done.returncode}):\n{done.stderr.decode()[-3000:]}"
            )
        text = Path(rss.name).read_text(encoding="utf-8").strip() if GNU_TIME else ""
    return elapsed, int(text.splitlines()[-1]) if text else 0


def _interleaved(fns: Mapping[str, Callable[[], tuple[float, int]]], runs: int) -> dict[str, Timed]:
    """Each function ``runs`` times, round-robin, so a busy machine slows all of them alike."""
    results = {name: Timed([], 0) for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            seconds, peak = fn()
            results[name].seconds.append(seconds)
            results[name].peak_kib = max(results[name].peak_kib, peak)
    return results


@dataclass
class Actions:
    """A fake runner environment in a temp dir: event payload, $GITHUB_OUTPUT, summary."""

    root: Path
    repo: Path
    base: str
    head: str

    def __post_init__(self) -> None:
        self.event = self.root / "event.json"
        payload = {
            "ref": "refs/heads/main",
            "before": self.base,
            "after": self.head,
            "repository": {"default_branch": "main", "full_name": "acme/bench"},
        }
        self.event.write_text(json.dumps(payload), encoding="utf-8")
        self.output = self.root / "output"
        self.summary = self.root / "summary.md"

    def env(self, base_env: Mapping[str, str]) -> dict[str, str]:
        self.output.write_text("")
        self.summary.write_text("")
        return {
            **base_env,
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_EVENT_PATH": str(self.event),
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_REF": "refs/heads/main",
            "GITHUB_SHA": self.head,
            "GITHUB_REPOSITORY": "acme/bench",
            "GITHUB_WORKSPACE": str(self.repo),
            "RUNNER_TEMP": str(self.root),
            "HOME": str(self.root),
        }

    def outputs(self) -> dict[str, str]:
        from tests.support.actions import parse_output_file

        return parse_output_file(self.output.read_text(encoding="utf-8"))


def dorny_env(actions: Actions, base_env: Mapping[str, str], list_files: str = "none") -> dict[str, str]:
    """paths-filter reads its inputs from INPUT_<NAME> (@actions/core getInput), as the runner sets them."""
    return {
        **actions.env(base_env),
        "INPUT_FILTERS": FILTERS,
        "INPUT_BASE": actions.base,
        "INPUT_REF": actions.head,
        "INPUT_LIST-FILES": list_files,
        "INPUT_PREDICATE-QUANTIFIER": "some",
        "INPUT_INITIAL-FETCH-DEPTH": "100",
        "INPUT_TOKEN": "",
        "INPUT_WORKING-DIRECTORY": "",
    }


def locate_dorny(directory: Path) -> Path:
    """dist/index.js of a paths-filter release, which must live outside this repository."""
    directory = directory.resolve()
    if directory == ROOT or ROOT in directory.parents:
        raise SystemExit(f"--dorny {directory}: keep dorny/paths-filter's code outside this repository")
    script = directory / "dist" / "index.js"
    if not script.is_file():
        raise SystemExit(f"--dorny {directory}: no dist/index.js (pass the directory of a release's dist/)")
    if shutil.which("node") is None:
        raise SystemExit("node is not installed: apt-get install -y nodejs (Debian/Ubuntu)")
    return script


@dataclass
class Result:
    timed: dict[str, Timed]
    files: int
    environments: int
    filter_counts: dict[str, int]
    parity: list[str] | None  # outputs that differ from paths-filter's; None without --dorny
    load: tuple[float, float]  # the 1-minute load average before and after the timed runs


class Bench:
    """The commands, as the runner starts them, on one repository."""

    def __init__(self, repo: Path, workdir: Path, dorny: Path | None) -> None:
        self.repo, self.workdir, self.dorny = repo, workdir, dorny
        self.env = _git_env()
        base, head = (
            subprocess.run(
                ["git", "rev-parse", rev], cwd=repo, env=self.env, capture_output=True, text=True, check=True
            ).stdout.strip()
            for rev in ("HEAD~1", "HEAD")
        )
        self.actions = Actions(workdir, repo, base, head)
        self.filters_file = workdir / "filters.yaml"
        self.filters_file.write_text(FILTERS, encoding="utf-8")
        # What the action runs: scripts/bin/gitops (`python -m gitops`) with the venv's python first on PATH
        path = os.pathsep.join([str(Path(sys.executable).parent), self.env.get("PATH", "")])
        self.cli_env = {**self.env, "PATH": path, "PYTHONPATH": str(ROOT / "scripts")}
        self.fresh = 0

    def changes(self, *extra: str, scripts: Path = ROOT / "scripts") -> tuple[float, int]:
        argv = [str(ROOT / "scripts" / "bin" / "gitops"), "changes", "--base", self.actions.base]
        env = {**self.actions.env(self.cli_env), "PYTHONPATH": str(scripts)}
        return _run_measured([*argv, "--head", self.actions.head, *extra], cwd=self.repo, env=env)

    def with_filters(self) -> tuple[float, int]:
        return self.changes("--filters", str(self.filters_file))

    def first_call(self) -> tuple[float, int]:
        """A fresh checkout of the action: our modules have no __pycache__ yet (the venv's have)."""
        self.fresh += 1
        scripts = self.workdir / f"fresh-{self.fresh}"
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / "scripts" / "gitops", scripts / "gitops", ignore=ignore)
        return self.changes("--filters", str(self.filters_file), scripts=scripts)

    def paths_filter(self, list_files: str = "none") -> tuple[float, int]:
        assert self.dorny is not None
        env = dorny_env(self.actions, self.env, list_files)
        return _run_measured(["node", str(self.dorny)], cwd=self.repo, env=env)

    def git_diff(self) -> tuple[float, int]:
        argv = ["git", "diff", "--name-status", "-M", "-z", self.actions.base, self.actions.head, "--"]
        return _run_measured(argv, cwd=self.repo, env=self.env)

    def startup(self) -> tuple[float, int]:
        argv = [str(ROOT / "scripts" / "bin" / "gitops"), "--version"]
        return _run_measured(argv, cwd=self.repo, env=self.cli_env)

    def in_process(self) -> tuple[float, int]:
        from gitops.operations.change_detection import detect

        start = time.perf_counter()
        detect(self.repo, base=self.actions.base, head=self.actions.head, filters=FILTERS)
        return time.perf_counter() - start, 0

    def compare_outputs(self) -> list[str]:
        """Every output paths-filter sets, ours next to its, with list-files json; the differences."""
        self.paths_filter("json")
        theirs = self.actions.outputs()
        self.changes("--filters", str(self.filters_file), "--list-files", "json")
        ours = self.actions.outputs()
        names = [n for f in FILTER_NAMES for n in (f, f"{f}_count", f"{f}_files")] + ["changes"]
        return [
            f"{n}: dorny {theirs.get(n)!r:.80} gitops {ours.get(n)!r:.80}"
            for n in names
            if theirs.get(n) != ours.get(n)
        ]


def measure(repo: Path, runs: int, dorny: Path | None, workdir: Path) -> Result:
    from gitops.operations.change_detection import detect

    bench = Bench(repo, workdir, dorny)
    fns: dict[str, Callable[[], tuple[float, int]]] = {
        "git": bench.git_diff,
        "cli": bench.changes,
        "cli_filters": bench.with_filters,
    }
    if dorny is not None:
        fns["dorny"] = bench.paths_filter
    fns.update(cli_cold=bench.first_call, detect=bench.in_process, startup=bench.startup)

    bench.git_diff()  # warm the page cache once for everyone
    bench.with_filters()  # and write our modules' __pycache__, as the first call of a job does
    actions = bench.actions
    report = detect(repo, base=actions.base, head=actions.head, filters=FILTERS)
    load_before = os.getloadavg()[0]
    timed = _interleaved(fns, runs)
    load = (load_before, os.getloadavg()[0])
    return Result(
        timed=timed,
        load=load,
        files=len(report.files),
        environments=len(report.environments),
        filter_counts={name: len(o["files"]) for name, o in report.filters.items()},
        parity=bench.compare_outputs() if dorny is not None else None,
    )


def render(args: argparse.Namespace, changes: int, result: Result) -> str:
    timed = result.timed
    git = timed["git"].median
    rows: list[tuple[str, Timed]] = [
        ("`git diff --name-status -M -z` (the floor)", timed["git"]),
        ("`gitops changes`, no filters", timed["cli"]),
        ("`gitops changes`, four filters", timed["cli_filters"]),
    ]
    if "dorny" in timed:
        rows.append((f"dorny/paths-filter {args.dorny_label} `dist/index.js`, four filters", timed["dorny"]))
    rows += [
        (
            "`gitops changes`, four filters, first call of a fresh checkout (compiles our modules)",
            timed["cli_cold"],
        ),
        ("`detect()` in-process, four filters (no start-up)", timed["detect"]),
        ("`gitops --version` (interpreter start-up + the CLI module)", timed["startup"]),
    ]
    matched = ", ".join(f"{name} {count:,}" for name, count in result.filter_counts.items())
    lines = [
        "# Change detection benchmark",
        "",
        f"Repository: {args.files:,} files; one commit changing {changes:,} of them (modified, renamed, "
        f"deleted across base and overlays, plus deploy-control.yaml). {result.files:,} paths reported, "
        f"{result.environments} environments affected. Four filters ({matched} files matched). Every "
        'command is a new process started as the runner starts it, inside "Actions" (event payload, '
        "`$GITHUB_OUTPUT`, job summary); ours is `scripts/bin/gitops` as the action runs it, paths-filter "
        f"runs under node. Median of {args.runs} run(s), round-robin; peak memory: the largest RSS of any "
        "run (GNU time).",
        "",
        "| command | median | x git diff | peak memory |",
        "|---|---:|---:|---:|",
    ]
    for name, t in rows:
        memory = f"{t.peak_kib / 1024:.0f} MiB" if t.peak_kib else "-"
        lines.append(f"| {name} | {t.median * 1000:.1f} ms | {t.median / git:.2f} | {memory} |")
    lines.append("")
    cli_filters = timed["cli_filters"]
    if "dorny" in timed:
        theirs = timed["dorny"]
        memory = f"{cli_filters.peak_kib / theirs.peak_kib:.2f}x" if theirs.peak_kib else "unknown"
        lines += [
            f"**`gitops changes` with four filters / dorny/paths-filter: "
            f"{cli_filters.median / theirs.median:.2f}x wall time** (target: at most 0.5x), {memory} peak "
            f"memory; without filters {timed['cli'].median / theirs.median:.2f}x.",
            "",
        ]
    if result.parity == []:
        lines += [
            "Outputs compared in the same run (`list-files: json`): every `<filter>`, `<filter>_count`, "
            "`<filter>_files` and `changes` that paths-filter set is identical in ours.",
            "",
        ]
    elif result.parity:
        lines += ["Outputs that differ from paths-filter's:", "", *[f"- {p}" for p in result.parity], ""]
    lines += [
        f"Of `gitops changes`'s {cli_filters.median * 1000:.0f} ms with filters, "
        f"{timed['startup'].median * 1000:.0f} ms is interpreter start-up with the CLI module and "
        f"{timed['detect'].median * 1000:.0f} ms the detection itself ({git * 1000:.0f} ms of it the one "
        "`git diff`).",
        "",
        f"Measured on {platform.system()} {platform.machine()}, Python {platform.python_version()}, "
        f"{_node_version()}{os.cpu_count()} CPU(s) (load average {result.load[0]:.1f} before the timed runs, "
        f"{result.load[1]:.1f} after: other work on the machine slows every command alike, as they "
        "run round-robin), with `python benchmarks/bench_changes.py --files "
        f"{args.files} --changed {args.changed} --runs {args.runs}"
        + (f" --dorny DIR --dorny-label {args.dorny_label}`" if args.dorny else "`")
        + (f" (dist/index.js sha256 {args.dorny_sha[:16]})." if args.dorny else "."),
        "",
    ]
    return "\n".join(lines)


def _node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return ""
    done = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    return f"node {done.stdout.strip()}, " if done.returncode == 0 else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--changed", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--dorny", type=Path, default=None, metavar="DIR", help="a paths-filter release's directory"
    )
    parser.add_argument(
        "--dorny-label", default="(unlabelled)", help="the release, for the table, e.g. v4.0.2"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "changes.md")
    args = parser.parse_args(argv)
    dorny = locate_dorny(args.dorny) if args.dorny else None
    args.dorny_sha = hashlib.sha256(dorny.read_bytes()).hexdigest() if dorny else ""
    with tempfile.TemporaryDirectory(prefix="bench-changes-") as tmp:
        repo = Path(tmp) / "repo"
        started = time.perf_counter()
        changes = make_repo(repo, args.files, args.changed)
        took = time.perf_counter() - started
        print(f"generated {args.files} files and a {changes}-entry change in {took:.1f}s")
        workdir = Path(tmp) / "work"
        workdir.mkdir()
        result = measure(repo, args.runs, dorny, workdir)
    text = render(args, changes, result)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
