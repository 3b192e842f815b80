"""Benchmark: `gitops apply` next to `kubectl apply --server-side` on the same fake API server.

Input: the rendered prod overlay (infra/k8s/hetzner/prod, 17 objects) plus --configmaps extra
ConfigMaps (default 200). Each tool gets its OWN fresh fake API server (a standalone
`python -m tests.fakekube` process, HTTPS + token, as a cluster would be), and each
measurement is a fresh process, --repeat times (median reported):

  kubectl apply --server-side              the floor: one PATCH per object, nothing waited for
  kubectl apply --server-side + rollout    the same, then `kubectl rollout status` per StatefulSet
  gitops apply                             staged SSA + drift detection + rollout wait + verify

each for a first apply (everything created) and a second (nothing changed).

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


def manifests(configmaps: int) -> str:
    from gitops.operations.rendering import dump_manifests, render_overlay

    objects = render_overlay(ROOT / "infra/k8s/hetzner/prod", SECRETS).objects
    for i in range(configmaps):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"bench-{i:04d}", "labels": {"app.kubernetes.io/part-of": "bench"}},
                "data": {"index": str(i), "payload": "x" * 256},
            }
        )
    return dump_manifests(objects)


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


def measure_apply(workdir: Path, path: Path, repeat: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        results.setdefault(key, []).append(value)

    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'scripts'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for _ in range(repeat):
        with fake_server(workdir) as fake:
            add("kubectl apply --server-side (create)", timed(kubectl_apply(fake.kubeconfig, path)))
            add("kubectl apply --server-side (no change)", timed(kubectl_apply(fake.kubeconfig, path)))
        with fake_server(workdir) as fake:
            first = timed(kubectl_apply(fake.kubeconfig, path))
            first += sum(timed(cmd) for cmd in kubectl_rollout(fake.kubeconfig))
            add("kubectl apply --server-side + rollout status (create)", first)
            again = timed(kubectl_apply(fake.kubeconfig, path))
            again += sum(timed(cmd) for cmd in kubectl_rollout(fake.kubeconfig))
            add("kubectl apply --server-side + rollout status (no change)", again)
        with fake_server(workdir) as fake:
            add("gitops apply (create)", timed(gitops_cmd(fake.kubeconfig, path), env))
            add("gitops apply (no change)", timed(gitops_cmd(fake.kubeconfig, path), env))
        add(
            "of which: importing the kubernetes client package",
            timed([sys.executable, "-c", "import kubernetes"]),
        )
    return results


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


def render(
    apply: dict[str, list[float]], latency: dict[str, list[float]], configmaps: int, repeat: int
) -> str:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    floor_create = med(apply["kubectl apply --server-side (create)"])
    floor_again = med(apply["kubectl apply --server-side (no change)"])
    lines = [
        "# Benchmark: gitops apply vs kubectl apply --server-side",
        "",
        f"Generated by `python benchmarks/bench_apply.py` on {platform.platform()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs. Objects: the prod overlay (17) + {configmaps} "
        f"ConfigMaps. Each tool on its own fresh fake API server (standalone process, HTTPS); median of "
        f"{repeat} run(s), each a fresh process.",
        "",
        "| measurement | median seconds | ratio to kubectl apply (same phase) |",
        "|---|---:|---:|",
    ]
    for key, values in apply.items():
        floor = floor_create if "(create)" in key else floor_again
        ratio = "-" if key.startswith("of which") else f"{med(values) / floor:.2f}x"
        lines.append(f"| {key} | {med(values):.2f} | {ratio} |")
    lines += [
        "",
        "`gitops apply` does more than `kubectl apply`: discovery and a check of every kind before the",
        "first write, staged order, a live read per object (one LIST per kind above 5 objects) to report",
        "created/configured/unchanged exactly, the rollout wait of the three StatefulSets and a final",
        "verification. Compare it with the `+ rollout status` row for the same end state. Objects of",
        "one stage are applied 4 at a time; against this single-process fake that gains little (the",
        "fake is the bottleneck), against a real API server each round trip is network-bound.",
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
            lines.append(f"| {key} | {len(values)} | {med(values) * 1000:.0f} | {max(values) * 1000:.0f} |")
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
    parser.add_argument("--latency-samples", type=int, default=6)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "apply.md")
    args = parser.parse_args(argv)
    os.environ.update(SECRETS)
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        workdir = Path(tmp)
        path = workdir / "manifests.yaml"
        path.write_text(manifests(args.configmaps), encoding="utf-8")
        apply = measure_apply(workdir, path, args.repeat)
        latency = measure_latency(workdir, path, args.latency_samples)
    text = render(apply, latency, args.configmaps, args.repeat)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
