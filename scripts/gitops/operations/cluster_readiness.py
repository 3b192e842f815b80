"""Wait until a cluster is ready for deploys: poll the API, judge each poll with core.cluster_readiness.

Polling, not watching: the objects may not exist yet (a CSIDriver, a DaemonSet) and a new
cluster's API server may not answer at all for a while, so each poll is one fresh attempt per
read and the poll loop is the retry. Every state change is printed once; while nothing changes
a "still waiting" line appears every :data:`STILL_WAITING_SECONDS` so a long wait does not look
hung.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gitops.adapters import runner
from gitops.adapters.kube import ApiResource, Kube, KubeError
from gitops.core.checks import Check
from gitops.core.cluster_readiness import Observation, Wanted, evaluate

STILL_WAITING_SECONDS = 30.0

NODES = ApiResource("", "v1", "Node", "nodes", False)
CSI_DRIVERS = ApiResource("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False)
CSI_NODES = ApiResource("storage.k8s.io", "v1", "CSINode", "csinodes", False)
STORAGE_CLASSES = ApiResource("storage.k8s.io", "v1", "StorageClass", "storageclasses", False)
DAEMONSETS = ApiResource("apps", "v1", "DaemonSet", "daemonsets", True)

# What the kubeconfig's user must be allowed, for the 403 hint.
NEEDS = "list on nodes and csinodes, get on csidrivers, storageclasses and daemonsets"


class CredentialsRejectedError(Exception):
    """401/403: polling on would only repeat it."""

    def __init__(self, error: KubeError) -> None:
        super().__init__(error.describe())
        self.error = error


@dataclass
class Readiness:
    ready: bool
    elapsed: float
    checks: list[Check] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)


def observe(kube: Kube, wanted: Wanted) -> Observation:
    """One poll: a single attempt per read (KubeError propagates)."""
    nodes = kube.list(NODES).items
    csi = kube.get(CSI_DRIVERS, None, wanted.csi_driver) is not None if wanted.csi_driver else None
    csi_nodes = kube.list(CSI_NODES).items if wanted.csi_driver else None
    plugin = None
    if wanted.csi_driver and wanted.node_plugin:
        namespace, _, name = wanted.node_plugin.rpartition("/")
        plugin = kube.get(DAEMONSETS, namespace or "kube-system", name)
    sc = kube.get(STORAGE_CLASSES, None, wanted.storage_class) is not None if wanted.storage_class else None
    return Observation(nodes=nodes, csi_driver=csi, storage_class=sc, csi_nodes=csi_nodes, node_plugin=plugin)


def wait_until_ready(
    kube: Kube,
    wanted: Wanted,
    *,
    timeout: float,
    interval: float,
) -> Readiness:
    """Poll until every check passes or ``timeout`` expires; raises CredentialsRejectedError on 401/403."""
    console = runner.current()
    start = time.monotonic()
    last: list[Check] = []
    rows: list[dict[str, Any]] = []
    last_report = 0.0
    while True:
        try:
            checks, rows = evaluate(observe(kube, wanted), wanted)
        except KubeError as err:
            if err.status in (401, 403):
                raise CredentialsRejectedError(err) from None
            checks, rows = evaluate(Observation(api_error=f"not answering yet: {err.describe()}"), wanted)
        elapsed = time.monotonic() - start
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
            return Readiness(ready, time.monotonic() - start, last, rows)
        time.sleep(min(interval, max(0.0, timeout - elapsed)))
