"""``gitops cluster-ready``: wait until a fresh cluster can run our workloads.

Ready means: the API server answers; at least ``--min-nodes`` nodes exist and every node is
``Ready`` and initialized by the cloud controller manager (no
``node.cloudprovider.kubernetes.io/uninitialized`` taint: until the Hetzner CCM has set a
node's provider ID, volumes cannot attach to it); the CSI driver is registered (a
``CSIDriver`` object, default ``csi.hetzner.cloud``); the StorageClass exists (default
``hcloud-volumes``). Polls every ``--interval`` seconds until ``--timeout``, printing each
change; on timeout it reports every check's last state and exits 2.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitops.adapters import runner
from gitops.commands.options import KUBECONFIG_HELP, add, add_kube_args, kube_source
from gitops.commands.output import emit, markdown_table, text_table
from gitops.core.inputs import parse_seconds as seconds
from gitops.core.kube_errors import UNREACHABLE_HINT, credentials_error
from gitops.errors import EXIT_DEPLOY_FAILED, EXIT_OK, ConfigurationError

UNINITIALIZED_TAINT = "node.cloudprovider.kubernetes.io/uninitialized"

STILL_WAITING_SECONDS = 30.0  # a line this often while nothing changes, so a long wait does not look hung

# What to do about each check that is still failing when the wait gives up.
NOT_READY_HINTS = {
    "api": UNREACHABLE_HINT,
    "nodes": "`kubectl get nodes -o wide` shows which node is missing or NotReady and why; a new node needs "
    "a few minutes, so a larger --timeout may be all it takes",
    "csi-driver": "install the CSI driver (hetzner-k3s installs csi.hetzner.cloud unless its config disables "
    "it), or pass --csi-driver with your provider's driver ('' skips the check)",
    "storage-class": "create the StorageClass or pass --storage-class with the one your overlays use "
    "('' skips the check)",
}

DESCRIPTION = """\
Wait until a cluster is ready for deploys: the API server answers, at least --min-nodes nodes
exist and all are Ready (and initialized by the cloud controller manager), the CSI driver is
registered and the StorageClass exists. Prints progress while waiting; on timeout reports the
state of every check and exits 2.
"""

EPILOG = f"""\
examples:
  # a new Hetzner cluster (defaults: csi.hetzner.cloud, hcloud-volumes, 600s)
  gitops cluster-ready --kubeconfig ./kubeconfig --min-nodes 3

  # another provider: its CSI driver and StorageClass; skip the CSI check with ''
  gitops cluster-ready --csi-driver ebs.csi.aws.com --storage-class gp3 --timeout 300

{KUBECONFIG_HELP}
exit codes: 0 ready, 1 bad arguments or kubeconfig, 2 not ready within --timeout.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_kube_args(p)
    group = p.add_argument_group("readiness")
    add(group, "--min-nodes", input="min-nodes", metavar="N", help="nodes that must exist (default: 1)")
    add(
        group,
        "--csi-driver",
        input="csi-driver",
        keep_empty=True,
        default=None,
        metavar="NAME",
        help="CSIDriver that must be registered (default: csi.hetzner.cloud; '' skips the check)",
    )
    add(
        group,
        "--storage-class",
        input="storage-class",
        keep_empty=True,
        default=None,
        metavar="NAME",
        help="StorageClass that must exist (default: hcloud-volumes; '' skips the check)",
    )
    add(group, "--timeout", input="timeout", metavar="SECONDS", help="how long to wait (default: 600)")
    add(group, "--interval", input="interval", metavar="SECONDS", help="seconds between checks (default: 5)")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


def node_state(node: dict[str, Any]) -> tuple[bool, str]:
    """(ready, why) for one Node."""
    conditions = {c.get("type"): c for c in (node.get("status") or {}).get("conditions") or []}
    ready = conditions.get("Ready") or {}
    if ready.get("status") != "True":
        why = ready.get("message") or ready.get("reason") or "no Ready condition yet"
        return False, f"NotReady: {why}"
    taints = [t.get("key") for t in (node.get("spec") or {}).get("taints") or []]
    if UNINITIALIZED_TAINT in taints:
        return False, "Ready, but not yet initialized by the cloud controller manager"
    if (node.get("spec") or {}).get("unschedulable"):
        return True, "Ready (cordoned)"
    return True, "Ready"


def evaluate(
    nodes: list[dict[str, Any]] | None,
    csi: bool | None,
    storage_class: bool | None,
    *,
    min_nodes: int,
    csi_name: str,
    class_name: str,
    api_error: str | None = None,
) -> tuple[list[Check], list[dict[str, Any]]]:
    """Pure: the checks from what the API returned (None = could not be read)."""
    checks: list[Check] = []
    node_rows: list[dict[str, Any]] = []
    if api_error is not None:
        return [Check("api", False, api_error)], []
    checks.append(Check("api", True, "the API server answers"))
    for node in nodes or []:
        ok, why = node_state(node)
        node_rows.append({"name": node["metadata"]["name"], "ready": ok, "detail": why})
    ready = sum(1 for n in node_rows if n["ready"])
    not_ready = [f"{n['name']} ({n['detail']})" for n in node_rows if not n["ready"]]
    if nodes is None:
        checks.append(Check("nodes", False, "cannot list nodes"))
    else:
        detail = f"{ready}/{len(node_rows)} Ready (need at least {min_nodes})"
        if not_ready:
            detail += f"; not ready: {', '.join(not_ready)}"
        checks.append(Check("nodes", ready >= min_nodes and not not_ready, detail))
    if csi_name:
        checks.append(
            Check(
                "csi-driver",
                bool(csi),
                f"CSIDriver {csi_name} " + ("registered" if csi else "not registered yet"),
            )
        )
    if class_name:
        checks.append(
            Check(
                "storage-class",
                bool(storage_class),
                f"StorageClass {class_name} " + ("exists" if storage_class else "does not exist yet"),
            )
        )
    return checks, node_rows


def run(args: argparse.Namespace, *, clock: Callable[[], float] = time.monotonic) -> int:
    from gitops.adapters.kube import ApiResource, Kube, KubeError
    from gitops.core.retry import RetryPolicy

    console = runner.current()
    try:
        min_nodes = int(args.min_nodes.strip() or "1")
    except ValueError:
        min_nodes = -1
    if min_nodes < 0:
        raise ConfigurationError(
            f"--min-nodes must be a whole number, not {args.min_nodes!r}",
            key="--min-nodes",
            title="Invalid input",
            hint="e.g. --min-nodes 3 (the cluster's master and worker nodes together)",
        )
    csi_name = "csi.hetzner.cloud" if args.csi_driver is None else args.csi_driver.strip()
    class_name = "hcloud-volumes" if args.storage_class is None else args.storage_class.strip()
    timeout = seconds(args.timeout, "--timeout", 600.0)
    interval = seconds(args.interval, "--interval", 5.0)
    node_res = ApiResource("", "v1", "Node", "nodes", False)
    csi_res = ApiResource("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False)
    sc_res = ApiResource("storage.k8s.io", "v1", "StorageClass", "storageclasses", False)
    # One attempt per request: the poll loop is the retry, and the client's own retries would print
    # five "retrying" lines per poll while a new cluster's API server is not up yet.
    kube = Kube.connect(
        kube_source(args),
        request_timeout=seconds(args.request_timeout, "--request-timeout", 30.0),
        retry=RetryPolicy(attempts=1),
    )
    start = clock()
    last: list[Check] = []
    last_report = 0.0
    nodes_rows: list[dict[str, Any]] = []
    console.log(f"waiting up to {timeout:g}s for {kube.host} to be ready")
    try:
        while True:
            try:
                nodes = kube.list(node_res).items
                csi = kube.get(csi_res, None, csi_name) is not None if csi_name else None
                sc = kube.get(sc_res, None, class_name) is not None if class_name else None
                checks, nodes_rows = evaluate(
                    nodes, csi, sc, min_nodes=min_nodes, csi_name=csi_name, class_name=class_name
                )
            except KubeError as err:
                if err.status in (401, 403):
                    raise credentials_error(
                        kube.host,
                        kube.connection.context,
                        kube_source(args),
                        err.status,
                        err.describe(),
                        needs="list on nodes and get on csidrivers and storageclasses",
                    ) from None
                checks, nodes_rows = evaluate(
                    None, None, None, min_nodes=min_nodes, csi_name=csi_name, class_name=class_name,
                    api_error=f"not answering yet: {err.describe()}",
                )  # fmt: skip
            elapsed = clock() - start
            if checks != last:
                for check in checks:
                    if check not in last:
                        mark = "ok" if check.passed else "waiting"
                        console.log(f"  [{elapsed:.0f}s] {check.name}: {mark}: {check.detail}")
                last, last_report = checks, elapsed
            elif elapsed - last_report >= STILL_WAITING_SECONDS:
                waiting = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.passed)
                console.log(f"  [{elapsed:.0f}s] still waiting (up to {timeout:g}s): {waiting}")
                last_report = elapsed
            ready = all(c.passed for c in checks)
            if ready or elapsed >= timeout:
                break
            time.sleep(min(interval, max(0.0, timeout - elapsed)))
    finally:
        kube.close()
    elapsed = clock() - start
    data = {
        "ready": ready,
        "cluster": {"host": kube.host, "context": kube.connection.context},
        "elapsed_seconds": round(elapsed, 1),
        "timeout_seconds": timeout,
        "checks": [c.to_json() for c in last],
        "nodes": nodes_rows,
    }
    if not ready:
        for check in last:
            if not check.passed:
                console.error(
                    f"{check.name}: {check.detail}",
                    title=f"cluster not ready within {timeout:g}s",
                )
        hints = [NOT_READY_HINTS[c.name] for c in last if not c.passed and c.name in NOT_READY_HINTS]
        console.log("How to fix: " + "; ".join(hints))
    console.set_output("ready", "true" if ready else "false")
    console.set_output("nodes-ready", str(sum(1 for n in nodes_rows if n["ready"])))
    console.set_output("report", json.dumps(data, separators=(",", ":")))
    context = kube.connection.context
    if ready:
        verdict = f"cluster ready: {kube.host} (context {context}) after {elapsed:.0f}s"
    else:
        verdict = (
            f"cluster NOT ready within {timeout:g}s: {kube.host} (context {context}), waited {elapsed:.0f}s"
        )
    console.summary(
        f"### {':white_check_mark:' if ready else ':x:'} {verdict}\n\n"
        + markdown_table(
            ("check", "", "detail"),
            [[c.name, ":white_check_mark:" if c.passed else ":x:", c.detail] for c in last],
        )
        + "".join(
            f"\n**How to fix {c.name}:** {NOT_READY_HINTS[c.name]}\n"
            for c in last
            if not c.passed and c.name in NOT_READY_HINTS
        )
    )
    rows = [[c.name, "pass" if c.passed else "FAIL", c.detail] for c in last]
    emit(args.format, data, lambda: f"{verdict}\n\n" + text_table(("check", "result", "detail"), rows))
    return EXIT_OK if ready else EXIT_DEPLOY_FAILED
