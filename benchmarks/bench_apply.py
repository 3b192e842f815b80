"""Benchmark: `gitops apply` next to `kubectl apply --server-side` on the same fake API server.

Input: the rendered prod overlay (infra/k8s/hetzner/prod, 18 objects) plus --configmaps extra
ConfigMaps (default 200). The fake is a standalone `python -m tests.fakekube` process (HTTPS +
token, as a cluster would be); every tool gets a fresh one of the same build and knobs, at each
round trip of --round-trips (the fake's latency knob `delay`: each answer that much later).
Each measurement is a fresh process, --repeat times (median reported):

  kubectl apply --server-side              the floor: one PATCH per object, nothing waited for
  kubectl apply --server-side + rollout    the same, then `kubectl rollout status` per StatefulSet
  gitops apply                             staged SSA + drift detection + rollout wait + verify

each for a first apply (everything created) and a second (nothing changed). `gitops apply` runs
with its bytecode compiled (every run after the first on a machine or runner), and once more
(the second apply) as the first run of a fresh venv: nothing but the interpreter's standard
library compiled yet, as for the first `gitops` call of a CI job. Requests per object are
counted in the fake's request log.

Rollout-detection latency: a StatefulSet is held unready (fake knob never_ready) while
`RolloutWaiter.wait` (what `gitops apply` uses) watches it; then the knob is cleared. The
latency is from the fake's storage write that makes the StatefulSet ready (its history
timestamp) to the moment our wait returns; `kubectl rollout status` is measured the same way
(to its process exit) for comparison.

    python benchmarks/bench_apply.py                     # full size, writes benchmarks/results/apply.md
    python benchmarks/bench_apply.py --configmaps 5 --repeat 1 --latency-samples 1 --output /tmp/x.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from tests.support.infra import SECRET_VARIABLES  # noqa: E402 - needs ROOT on sys.path first

SECRETS = {name: f"bench-{name.lower()}" for name in SECRET_VARIABLES}
STATEFULSETS = ("postgres", "redis", "jaeger")


class Fake:
    """A standalone fake API server process."""

    def __init__(self, workdir: Path, knobs: dict[str, Any] | None = None) -> None:
        self.kubeconfig = workdir / f"kubeconfig-{time.monotonic_ns()}.yaml"
        args = [sys.executable, "-m", "tests.fakekube", "--port", "0", "--kubeconfig", str(self.kubeconfig)]
        for name, value in (knobs or {}).items():
            args += ["--knob", f"{name}={json.dumps(value)}"]
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self.url = ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("FAKEKUBE_URL="):
                self.url = line.split("=", 1)[1].strip()
            if line.strip() == "FAKEKUBE_READY":
                break
        if not self.url:
            raise RuntimeError("the fake API server did not start")
        self._context = ssl.create_default_context()
        self._context.check_hostname = False
        self._context.verify_mode = ssl.CERT_NONE

    def control(self, action: str, payload: Any = None, method: str = "GET") -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        url = f"{self.url}/__fake__/{action}"  # https://127.0.0.1:<port> from the fake itself
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, context=self._context, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@contextmanager
def fake_server(workdir: Path, knobs: dict[str, Any] | None = None) -> Iterator[Fake]:
    fake = Fake(workdir, knobs)
    try:
        yield fake
    finally:
        fake.stop()


def manifests(configmaps: int) -> tuple[str, int]:
    """The manifests as YAML, and how many objects of the prod overlay they start with."""
    from gitops.operations.rendering import dump_manifests, render_overlay

    objects = render_overlay(ROOT / "infra/k8s/hetzner/prod", SECRETS).objects
    overlay = len(objects)
    for i in range(configmaps):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"bench-{i:04d}", "labels": {"app.kubernetes.io/part-of": "bench"}},
                "data": {"index": str(i), "payload": "x" * 256},
            }
        )
    return dump_manifests(objects), overlay


def timed(args: Sequence[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return elapsed


def kubectl() -> str:
    from gitops.adapters.kubectl import kubectl_binary

    return kubectl_binary()


def gitops_cmd(kubeconfig: Path, path: Path) -> list[str]:
    gitops = Path(sys.executable).with_name("gitops")
    command = [str(gitops)] if gitops.exists() else [sys.executable, "-m", "gitops"]
    return [*command, "apply", "-f", str(path), "--kubeconfig", str(kubeconfig), "--format", "json"]


def kubectl_apply(kubeconfig: Path, path: Path) -> list[str]:
    base = [kubectl(), "--kubeconfig", str(kubeconfig), "apply", "--server-side"]
    return [*base, "--field-manager", "bench", "-f", str(path)]


def kubectl_rollout(kubeconfig: Path) -> list[list[str]]:
    return [
        [
            kubectl(),
            "--kubeconfig",
            str(kubeconfig),
            "rollout",
            "status",
            f"statefulset/{name}",
            "--timeout",
            "120s",
        ]
        for name in STATEFULSETS
    ]


PHASES = ("create", "no change")
KUBECTL = "kubectl apply --server-side"
KUBECTL_ROLLOUT = "kubectl apply --server-side + rollout status"
GITOPS = "gitops apply"
GITOPS_FIRST = "gitops apply, first run of a fresh venv"
START_UP_ROW = "start-up: everything gitops apply imports"
WHOLE_PACKAGE_ROW = "for comparison: import kubernetes (the whole package)"
START_UP = (
    "from gitops.commands import apply\n"
    "from gitops.adapters import kube_modules\n"
    "kube_modules.module('client.rest')\n"
)


class Bytecode:
    """Two bytecode caches for the gitops processes (PYTHONPYCACHEPREFIX), whatever the venv holds.

    ``warm``: everything `gitops apply` imports, compiled by one untimed run first. ``cold``: only
    the interpreter's standard library (as a runner's Python comes), so each run compiles the
    venv's packages and ours on import, as the first `gitops` call in a fresh venv does.
    """

    def __init__(self, workdir: Path, path: Path) -> None:
        self.warm_dir = workdir / "pycache-warm"
        self.cold_dir = workdir / "pycache-cold"
        scripts = f"{ROOT / 'scripts'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        base["PYTHONPATH"] = scripts
        self.warm = {**base, "PYTHONPYCACHEPREFIX": str(self.warm_dir), "PYTHONDONTWRITEBYTECODE": "1"}
        self.cold = {**base, "PYTHONPYCACHEPREFIX": str(self.cold_dir), "PYTHONDONTWRITEBYTECODE": "1"}
        writing = {**base, "PYTHONPYCACHEPREFIX": str(self.warm_dir)}
        with fake_server(workdir) as fake:  # compiles (and writes) what a run imports
            timed(gitops_cmd(fake.kubeconfig, path), writing)
        timed([sys.executable, "-c", "import kubernetes"], writing)  # for the comparison row
        probe = (
            "import importlib.util, os; print(os.path.dirname(importlib.util.cache_from_source(os.__file__)))"
        )
        stdlib = subprocess.run(
            [sys.executable, "-c", probe], env=self.warm, capture_output=True, text=True, check=True
        ).stdout.strip()
        target = self.cold_dir / Path(stdlib).relative_to(self.warm_dir)
        shutil.copytree(stdlib, target, ignore=shutil.ignore_patterns("site-packages"))


def requests_by(fake: Fake, agent: str, since: int) -> tuple[int, int]:
    """(requests from clients whose User-Agent starts with ``agent`` after ``since``, the last seq)."""
    log = fake.control(f"requests?since={since}")
    mine = [e for e in log if str(e.get("user_agent", "")).startswith(agent)]
    return len(mine), max([since, *(int(e["seq"]) for e in log)])


def measure_apply(
    workdir: Path, path: Path, repeat: int, round_trips: Sequence[int]
) -> tuple[dict[tuple[int, str, str], list[float]], dict[tuple[int, str, str], int]]:
    """(seconds, requests) per (round trip in ms, tool, phase)."""
    seconds: dict[tuple[int, str, str], list[float]] = {}
    requests: dict[tuple[int, str, str], int] = {}
    bytecode = Bytecode(workdir, path)
    for rep in range(repeat):
        for ms in round_trips:
            knobs = {"delay": ms / 1000} if ms else None

            def add(tool: str, phase: str, value: float, ms: int = ms) -> None:
                seconds.setdefault((ms, tool, phase), []).append(value)

            def kubectl_alone(ms: int = ms, knobs: dict[str, float] | None = knobs) -> None:
                with fake_server(workdir, knobs) as fake:
                    seq = 0
                    for phase in PHASES:
                        add(KUBECTL, phase, timed(kubectl_apply(fake.kubeconfig, path)), ms)
                        requests[ms, KUBECTL, phase], seq = requests_by(fake, "kubectl", seq)

            def kubectl_and_rollout(ms: int = ms, knobs: dict[str, float] | None = knobs) -> None:
                with fake_server(workdir, knobs) as fake:
                    for phase in PHASES:
                        took = timed(kubectl_apply(fake.kubeconfig, path))
                        took += sum(timed(c) for c in kubectl_rollout(fake.kubeconfig))
                        add(KUBECTL_ROLLOUT, phase, took, ms)

            def gitops(ms: int = ms, knobs: dict[str, float] | None = knobs) -> None:
                with fake_server(workdir, knobs) as fake:
                    seq = 0
                    for phase in PHASES:
                        add(GITOPS, phase, timed(gitops_cmd(fake.kubeconfig, path), bytecode.warm), ms)
                        requests[ms, GITOPS, phase], seq = requests_by(fake, "gitops", seq)
                    add(
                        GITOPS_FIRST, "no change", timed(gitops_cmd(fake.kubeconfig, path), bytecode.cold), ms
                    )

            tools = [kubectl_alone, kubectl_and_rollout, gitops]
            for measure in tools if rep % 2 == 0 else reversed(tools):  # who goes first alternates
                measure()
    for _ in range(repeat):  # the conditions alternate, so a burst of load hits both alike
        for env, label in ((bytecode.warm, "bytecode compiled"), (bytecode.cold, "fresh venv")):
            for what, code in ((START_UP_ROW, START_UP), (WHOLE_PACKAGE_ROW, "import kubernetes")):
                seconds.setdefault((0, what, label), []).append(timed([sys.executable, "-c", code], env))
    return seconds, requests


def measure_latency(workdir: Path, path: Path, samples: int) -> dict[str, list[float]]:
    from gitops.adapters.kube import Kube, KubeconfigSource
    from gitops.core.apply_plan import ObjectRef
    from gitops.operations.rollout import RolloutWaiter

    ours: list[float] = []
    theirs: list[float] = []
    for i in range(samples):
        name = STATEFULSETS[i % len(STATEFULSETS)]
        held = [f"statefulset/{n}" for n in STATEFULSETS]
        with fake_server(workdir, {"never_ready": held}) as fake:
            timed(kubectl_apply(fake.kubeconfig, path))
            ref = ObjectRef("apps", "v1", "StatefulSet", "default", name)
            kube = Kube.connect(KubeconfigSource(path=fake.kubeconfig))
            res = kube.resource("apps/v1", "StatefulSet")
            assert res is not None
            returned: dict[str, float] = {}

            def wait(
                kube: Kube = kube, res: Any = res, ref: ObjectRef = ref, out: dict[str, float] = returned
            ) -> None:
                RolloutWaiter(kube, progress_interval=3600).wait([(ref, res)], 60)
                out["ours"] = time.time()

            thread = threading.Thread(target=wait)
            thread.start()
            kubectl_proc_start = time.time()
            status = subprocess.Popen(
                [kubectl(), "--kubeconfig", str(fake.kubeconfig), "rollout", "status", f"statefulset/{name}",
                 "--timeout", "60s"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1.0)  # both watches are established
            fake.control("knobs", {"never_ready": [n for n in held if n != f"statefulset/{name}"]}, "POST")
            thread.join(timeout=60)
            status.wait(timeout=60)
            kubectl_done = time.time()
            kube.close()
            history = fake.control(f"history?kind=StatefulSet&name={name}")
            ready_at = _ready_write(history, returned["ours"])
            ours.append(returned["ours"] - ready_at)
            if kubectl_done > kubectl_proc_start:
                theirs.append(kubectl_done - ready_at)
    return {"gitops (RolloutWaiter, in-process)": ours, "kubectl rollout status (process exit)": theirs}


def _ready_write(history: list[dict[str, Any]], returned: float) -> float:
    """The time of the last write to the StatefulSet before our wait returned: the one that made it ready."""
    writes = [float(e["time"]) for e in history if float(e["time"]) <= returned]
    if not writes:
        raise RuntimeError("no write to the StatefulSet before the wait returned")
    return max(writes)


def render(  # noqa: PLR0917 - one table per measurement
    seconds: dict[tuple[int, str, str], list[float]],
    requests: dict[tuple[int, str, str], int],
    latency: dict[str, list[float]],
    sizes: tuple[int, int],
    repeat: int,
    round_trips: Sequence[int],
    load: tuple[float, float],
) -> str:
    def med(key: tuple[int, str, str]) -> float:
        return statistics.median(seconds[key])

    overlay, configmaps = sizes
    objects = overlay + configmaps
    lines = [
        "# Benchmark: gitops apply vs kubectl apply --server-side",
        "",
        f"Generated by `python benchmarks/bench_apply.py` on {platform.platform()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs (load average {load[0]:.1f} at the start, "
        f"{load[1]:.1f} at the end). "
        f"Objects: the prod overlay ({overlay}) + {configmaps} ConfigMaps = {objects}. "
        "Both tools against the same fake API server (standalone process, HTTPS + token), "
        "each on a fresh instance with the same knobs; the round trip is the fake's latency knob "
        "(`delay`: every answer that much later). "
        f"Median of {repeat} run(s), each a fresh process.",
        "",
        "Targets (issue 15): `gitops apply` at most 1.5x `kubectl apply --server-side` at a 0 ms round "
        "trip and 0.3x at 20 ms; at most 1.2 requests per object.",
        "",
        f"| round trip | phase | {KUBECTL} | {KUBECTL_ROLLOUT} | {GITOPS} | gitops / kubectl apply "
        "| gitops / (kubectl + rollout status) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for ms in round_trips:
        for phase in PHASES:
            floor, full = med((ms, KUBECTL, phase)), med((ms, KUBECTL_ROLLOUT, phase))
            rows = [(phase, med((ms, GITOPS, phase)))]
            if (ms, GITOPS_FIRST, phase) in seconds:
                rows.append((f"{phase}, gitops's first run in a fresh venv", med((ms, GITOPS_FIRST, phase))))
            for label, ours in rows:
                lines.append(
                    f"| {ms} ms | {label} | {floor:.2f} s | {full:.2f} s | {ours:.2f} s "
                    f"| {ours / floor:.2f}x | {ours / full:.2f}x |"
                )
    lines += [
        "",
        "`gitops apply` does more than `kubectl apply`: discovery and a check of every kind before the",
        "first write, staged order, a live read per object (one LIST per kind above 5 objects; Secrets",
        "one GET each) to report created/configured/unchanged exactly, the rollout wait of the three",
        "StatefulSets and a final verification, then it sets their volumes to Retain and checks that",
        "PostgreSQL finished initialising: a Job, run once per revision (in the create rows), whose",
        "end operations/postgres_check.py learns from a watch. The `+ rollout status` column reaches",
        "the same end state without those two. Objects are applied 16 at a time in the Secret,",
        "ConfigMap and Service stages and 4 at a time in the others; kubectl sends one request after",
        "the other. The first run of a fresh venv also compiles every module it imports (the venv's",
        "packages and ours; the standard library comes compiled with the interpreter).",
        "",
        "## Requests per object",
        "",
        f"Counted in the fake's request log: every request of the run ({objects} objects).",
        "",
        "| round trip | phase | kubectl apply --server-side | gitops apply | gitops per object |",
        "|---|---|---:|---:|---:|",
    ]
    for ms in round_trips:
        for phase in PHASES:
            ours = requests[ms, GITOPS, phase]
            lines.append(
                f"| {ms} ms | {phase} | {requests[ms, KUBECTL, phase]} | {ours} | {ours / objects:.2f} |"
            )
    lines += [
        "",
        "kubectl's count includes its discovery and OpenAPI downloads; ours the discovery of each",
        "group version, the live reads, the rollout watches and verification, one GET per volume",
        "(and its PATCH to Retain, in the create rows) and the check's LIST of earlier check Jobs",
        "(in the create rows also its create and the watches of its Job and pods, a LIST and a WATCH",
        "each). Counted for the last run of each row.",
        "",
        "## Start-up",
        "",
        "| process | bytecode compiled | fresh venv |",
        "|---|---:|---:|",
    ]
    for what in (START_UP_ROW, WHOLE_PACKAGE_ROW):
        warm, cold = med((0, what, "bytecode compiled")), med((0, what, "fresh venv"))
        lines.append(f"| {what} | {warm:.2f} s | {cold:.2f} s |")
    lines += [
        "",
        "`gitops apply` imports three modules of the kubernetes package (the client's settings, its",
        "urllib3 pool and its exceptions), and its kubeconfig loader only for exec plugins and auth",
        "providers; importing the package imports all of it.",
        "",
        "## Rollout-detection latency",
        "",
        "From the fake's storage write that makes a StatefulSet ready to the wait returning.",
        "",
        "| waiter | samples | median ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    for key, values in latency.items():
        if values:
            median = statistics.median(values)
            lines.append(f"| {key} | {len(values)} | {median * 1000:.0f} | {max(values) * 1000:.0f} |")
    lines += [
        "",
        "Ours is a watch event delivered to a thread and handed to the waiting loop through a queue;",
        "kubectl's includes its process exit.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configmaps", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--round-trips", type=int, nargs="+", default=[0, 20], metavar="MS")
    parser.add_argument("--latency-samples", type=int, default=6)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "apply.md")
    args = parser.parse_args(argv)
    os.environ.update(SECRETS)
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        workdir = Path(tmp)
        path = workdir / "manifests.yaml"
        text, overlay = manifests(args.configmaps)
        path.write_text(text, encoding="utf-8")
        seconds, requests = measure_apply(workdir, path, args.repeat, args.round_trips)
        latency = measure_latency(workdir, path, args.latency_samples)
    load = (load_at_start, os.getloadavg()[0])
    text = render(seconds, requests, latency, (overlay, args.configmaps), args.repeat, args.round_trips, load)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
