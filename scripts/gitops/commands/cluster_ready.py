"""``gitops cluster-ready``: wait until a fresh cluster can run our workloads.

What ready means is decided in :mod:`gitops.core.cluster_readiness` (the API answers; at least
``--min-nodes`` nodes, all Ready and initialized by the cloud controller manager; the CSI driver
registered AND its node plugin running on every node; the StorageClass present); the polling is
:mod:`gitops.operations.cluster_readiness`. This module parses the flags and prints the result:
on timeout every check's last state, and exit 2.
"""

from __future__ import annotations

import argparse
import json

from gitops.adapters import deadline, runner
from gitops.commands.options import KUBECONFIG_HELP, REQUEST_TIMEOUT, add, add_kube_args, kube_source, label
from gitops.commands.output import emit, markdown_table, text_table
from gitops.core.cluster_readiness import Wanted
from gitops.core.inputs import parse_seconds
from gitops.core.kube_errors import UNREACHABLE_HINT, credentials_error
from gitops.errors import EXIT_DEPLOY_FAILED, EXIT_OK, ConfigurationError

HETZNER_CSI_DRIVER = "csi.hetzner.cloud"
HETZNER_NODE_PLUGIN = "kube-system/hcloud-csi-node"  # the DaemonSet in hcloud-csi.yml

# What to do about each check that is still failing when the wait gives up.
NOT_READY_HINTS = {
    "api": UNREACHABLE_HINT,
    "nodes": "`kubectl get nodes -o wide` shows which node is missing or NotReady and why; a new node needs "
    "a few minutes, so a larger --timeout may be all it takes",
    "csi-driver": "install the CSI driver (hetzner-k3s installs csi.hetzner.cloud unless its config disables "
    "it), or pass --csi-driver with your provider's driver ('' skips the check)",
    "csi-node-plugin": "`kubectl -n kube-system get pods -o wide` shows the node plugin's pods and why one "
    "is not Ready (ImagePullBackOff, CrashLoopBackOff); `kubectl get csinode NODE -o yaml` lists the "
    "drivers a node registered. Without it no volume mounts on that node",
    "storage-class": "create the StorageClass or pass --storage-class with the one your overlays use "
    "('' skips the check)",
}

DESCRIPTION = """\
Wait until a cluster is ready for deploys: the API server answers, at least --min-nodes nodes
exist and all are Ready (and initialized by the cloud controller manager), the CSI driver is
registered, its node plugin runs on every node (its DaemonSet's pods Ready, the driver listed in
each node's CSINode) and the StorageClass exists. Prints progress while waiting; on timeout
reports the state of every check and exits 2.
"""

EPILOG = f"""\
examples:
  # a new Hetzner cluster (defaults: csi.hetzner.cloud, kube-system/hcloud-csi-node, hcloud-volumes, 600s)
  gitops cluster-ready --kubeconfig ./kubeconfig --min-nodes 5

  # another provider: its CSI driver and StorageClass; skip the CSI checks with ''
  gitops cluster-ready --csi-driver ebs.csi.aws.com --csi-node-daemonset kube-system/ebs-csi-node \\
    --storage-class gp3 --timeout 300

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
        help="CSIDriver that must be registered and whose node plugin must run on every node "
        "(default: csi.hetzner.cloud; '' skips the CSI checks)",
    )
    add(
        group,
        "--csi-node-daemonset",
        input="csi-node-daemonset",
        metavar="NAMESPACE/NAME",
        help="the DaemonSet of the CSI node plugin, whose pods must all be Ready (default or '': "
        f"{HETZNER_NODE_PLUGIN} for csi.hetzner.cloud, else none; 'none' skips it, the per-node CSINode "
        "check stays)",
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


def _wanted(args: argparse.Namespace) -> Wanted:
    try:
        min_nodes = int(args.min_nodes.strip() or "1")
    except ValueError:
        min_nodes = -1
    if min_nodes < 0:
        raise ConfigurationError(
            f"{label('--min-nodes', 'min-nodes')} must be a whole number, not {args.min_nodes!r}",
            key="--min-nodes",
            title="Invalid input",
            hint="e.g. --min-nodes 5 (the cluster's master and worker nodes together; the hetzner-cluster "
            "action's node-count output)",
        )
    csi = HETZNER_CSI_DRIVER if args.csi_driver is None else args.csi_driver.strip()
    plugin = (args.csi_node_daemonset or "").strip()
    if not plugin:
        plugin = HETZNER_NODE_PLUGIN if csi == HETZNER_CSI_DRIVER else ""
    elif plugin == "none":
        plugin = ""
    if plugin and (plugin.count("/") > 1 or plugin.endswith("/")):
        raise ConfigurationError(
            f"--csi-node-daemonset must be NAMESPACE/NAME (or NAME in kube-system), not {plugin!r}",
            key="--csi-node-daemonset",
            title="Invalid input",
            hint=f"e.g. --csi-node-daemonset {HETZNER_NODE_PLUGIN}",
        )
    if plugin and "/" not in plugin:
        plugin = f"kube-system/{plugin}"
    storage_class = "hcloud-volumes" if args.storage_class is None else args.storage_class.strip()
    return Wanted(min_nodes=min_nodes, csi_driver=csi, storage_class=storage_class, node_plugin=plugin)


def run(args: argparse.Namespace) -> int:
    from gitops.adapters.kube import Kube
    from gitops.core.retry import RetryPolicy
    from gitops.operations.cluster_readiness import NEEDS, CredentialsRejectedError, wait_until_ready

    console = runner.current()
    wanted = _wanted(args)
    timeout = parse_seconds(args.timeout, label("--timeout", "timeout"), 600.0)
    interval = parse_seconds(args.interval, label("--interval", "interval"), 5.0)
    request_timeout = REQUEST_TIMEOUT.read(args)
    deadline.limit_verb_to({"--timeout": timeout}, request_timeout, requests=2)  # the last poll may run on
    # One attempt per request: the poll loop is the retry, and the client's own retries would print
    # five "retrying" lines per poll while a new cluster's API server is not up yet.
    kube = Kube.connect(kube_source(args), request_timeout=request_timeout, retry=RetryPolicy(attempts=1))
    console.log(f"waiting up to {timeout:g}s for {kube.host} to be ready")
    try:
        result = wait_until_ready(kube, wanted, timeout=timeout, interval=interval)
    except CredentialsRejectedError as rejected:
        raise credentials_error(
            kube.host,
            kube.connection.context,
            kube_source(args),
            rejected.error.status,
            rejected.error.describe(),
            needs=NEEDS,
        ) from None
    finally:
        kube.close()
    ready, last = result.ready, result.checks
    data = {
        "ready": ready,
        "cluster": {"host": kube.host, "context": kube.connection.context},
        "elapsed_seconds": round(result.elapsed, 1),
        "timeout_seconds": timeout,
        "checks": [c.to_json() for c in last],
        "nodes": result.nodes,
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
    console.set_output("nodes-ready", str(sum(1 for n in result.nodes if n["ready"])))
    console.set_output("report", json.dumps(data, separators=(",", ":")))
    context = kube.connection.context
    if ready:
        verdict = f"cluster ready: {kube.host} (context {context}) after {result.elapsed:.0f}s"
    else:
        verdict = (
            f"cluster NOT ready within {timeout:g}s: {kube.host} (context {context}), "
            f"waited {result.elapsed:.0f}s"
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
