"""Is a (new) cluster ready to take deploys? Pure: the checks from what the API server returned.

``gitops cluster-ready`` polls the API and calls :func:`evaluate` with one :class:`Observation`
per poll. The checks, in order:

* ``api``: the API server answered at all.
* ``nodes``: at least ``min_nodes`` nodes exist and every one is ``Ready`` (the kubelet's
  ``Ready`` condition, https://kubernetes.io/docs/reference/node/node-status/#condition) and
  initialized by the cloud controller manager: until the CCM has set a node's provider ID it
  carries the ``node.cloudprovider.kubernetes.io/uninitialized`` taint
  (https://kubernetes.io/docs/reference/labels-annotations-taints/#node-cloudprovider-kubernetes-io-uninitialized)
  and volumes cannot attach to it.
* ``csi-driver``: the ``CSIDriver`` object exists. That object is only the driver's
  registration with the API; it says nothing about whether the driver runs.
* ``csi-node-plugin``: the driver's node plugin RUNS on the nodes. Two signals, both needed:
  its DaemonSet has at least one pod scheduled and is rolled out as ``kubectl rollout status
  daemonset`` judges it (:func:`gitops.core.readiness.assess`: every scheduled pod updated and
  available), and every
  Ready node's ``CSINode`` object lists the driver: the kubelet writes a driver into
  ``CSINode.spec.drivers`` only after the plugin's node-driver-registrar registered its socket
  (https://kubernetes-csi.github.io/docs/csi-node-object.html). A node without it cannot mount
  a volume, so a database pod scheduled there would hang in ``ContainerCreating``.
* ``storage-class``: the StorageClass the overlays' claims name exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitops.core.checks import Check
from gitops.core.readiness import State, assess

UNINITIALIZED_TAINT = "node.cloudprovider.kubernetes.io/uninitialized"


@dataclass(frozen=True)
class Wanted:
    """What ready means for this cluster; an empty name skips that check."""

    min_nodes: int
    csi_driver: str
    storage_class: str
    node_plugin: str = ""  # "NAMESPACE/NAME" of the CSI node plugin's DaemonSet


@dataclass(frozen=True)
class Observation:
    """One poll's answers; ``None`` = could not be read (or not asked for)."""

    nodes: Sequence[Mapping[str, Any]] | None = None
    csi_driver: bool | None = None
    storage_class: bool | None = None
    csi_nodes: Sequence[Mapping[str, Any]] | None = None
    node_plugin: Mapping[str, Any] | None = None  # the DaemonSet, None when it does not exist
    api_error: str | None = None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}  # an API answer is data, not a promise


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def node_state(node: Mapping[str, Any]) -> tuple[bool, str]:
    """(ready, why) for one Node (fields of the wrong type count as missing)."""
    status, spec = _mapping(node.get("status")), _mapping(node.get("spec"))
    conditions = {c.get("type"): c for c in _list(status.get("conditions")) if isinstance(c, Mapping)}
    ready = conditions.get("Ready") or {}
    if ready.get("status") != "True":
        why = ready.get("message") or ready.get("reason") or "no Ready condition yet"
        return False, f"NotReady: {why}"
    taints = [t.get("key") for t in _list(spec.get("taints")) if isinstance(t, Mapping)]
    if UNINITIALIZED_TAINT in taints:
        return False, "Ready, but not yet initialized by the cloud controller manager"
    if spec.get("unschedulable"):
        return True, "Ready (cordoned)"
    return True, "Ready"


def node_version(node: Mapping[str, Any]) -> str:
    """The kubelet's version as the node reports it (``v1.36.4+k3s1``), '' when not reported."""
    return str(_mapping(_mapping(node.get("status")).get("nodeInfo")).get("kubeletVersion") or "")


def _name(obj: Mapping[str, Any]) -> str:
    return str(_mapping(obj.get("metadata")).get("name") or "")


def node_plugin_check(
    driver: str,
    daemonset_name: str,
    daemonset: Mapping[str, Any] | None,
    ready_nodes: Sequence[str],
    csi_nodes: Sequence[Mapping[str, Any]] | None,
) -> Check:
    """The CSI node plugin runs: its DaemonSet's pods are Ready and each Ready node registered it."""
    problems: list[str] = []
    if daemonset_name:
        if daemonset is None:
            problems.append(f"DaemonSet {daemonset_name} does not exist yet")
        elif not int(((daemonset.get("status") or {}).get("desiredNumberScheduled")) or 0):
            problems.append(f"DaemonSet {daemonset_name} has no pod scheduled yet")
        else:
            rollout = assess({**daemonset, "kind": "DaemonSet"})
            if rollout.state is not State.READY:
                problems.append(f"DaemonSet {daemonset_name}: {rollout.message}")
    registered = {
        _name(csi_node)
        for csi_node in csi_nodes or ()
        if any(d.get("name") == driver for d in (csi_node.get("spec") or {}).get("drivers") or [])
    }
    missing = [node for node in ready_nodes if node not in registered]
    if csi_nodes is None:
        problems.append("cannot list CSINode objects")
    elif missing:
        problems.append(f"not registered on {len(missing)} node(s) yet: {', '.join(missing)}")
    if problems:
        return Check("csi-node-plugin", False, f"{driver} node plugin: " + "; ".join(problems))
    where = f"on all {len(ready_nodes)} Ready node(s)"
    pods = f"; DaemonSet {daemonset_name} Ready" if daemonset_name else ""
    return Check("csi-node-plugin", True, f"{driver} node plugin registered {where}{pods}")


def evaluate(seen: Observation, wanted: Wanted) -> tuple[list[Check], list[dict[str, Any]]]:
    """The checks, and one row per node (name, ready, detail, version)."""
    if seen.api_error is not None:
        return [Check("api", False, seen.api_error)], []
    checks = [Check("api", True, "the API server answers")]
    rows: list[dict[str, Any]] = []
    for node in seen.nodes or []:
        ok, why = node_state(node)
        rows.append({"name": _name(node), "ready": ok, "detail": why, "version": node_version(node)})
    ready_names = [row["name"] for row in rows if row["ready"]]
    not_ready = [f"{row['name']} ({row['detail']})" for row in rows if not row["ready"]]
    if seen.nodes is None:
        checks.append(Check("nodes", False, "cannot list nodes"))
    else:
        detail = f"{len(ready_names)}/{len(rows)} Ready (need at least {wanted.min_nodes})"
        if not_ready:
            detail += f"; not ready: {', '.join(not_ready)}"
        checks.append(Check("nodes", len(ready_names) >= wanted.min_nodes and not not_ready, detail))
    if wanted.csi_driver:
        found = bool(seen.csi_driver)
        state = "registered" if found else "not registered yet"
        checks.append(Check("csi-driver", found, f"CSIDriver {wanted.csi_driver} {state}"))
        checks.append(
            node_plugin_check(
                wanted.csi_driver, wanted.node_plugin, seen.node_plugin, ready_names, seen.csi_nodes
            )
        )
    if wanted.storage_class:
        found = bool(seen.storage_class)
        state = "exists" if found else "does not exist yet"
        checks.append(Check("storage-class", found, f"StorageClass {wanted.storage_class} {state}"))
    return checks, rows
