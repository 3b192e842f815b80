"""gitops.core.cluster_readiness: the checks of ``gitops cluster-ready``, from plain API objects.

Object shapes are the API's: Node conditions and taints (k8s.io/api core/v1 NodeStatus, the
uninitialized taint from
https://kubernetes.io/docs/reference/labels-annotations-taints/#node-cloudprovider-kubernetes-io-uninitialized),
CSINode ``spec.drivers[].name`` (storage/v1 CSINodeSpec), DaemonSet status counters (apps/v1
DaemonSetStatus; "rolled out" as kubectl's DaemonSetStatusViewer: updated and available ==
desired).
"""

from __future__ import annotations

from typing import Any

import pytest

from gitops.core.cluster_readiness import Observation, Wanted, evaluate, node_plugin_check, node_state

HETZNER = Wanted(min_nodes=2, csi_driver="csi.hetzner.cloud", storage_class="hcloud-volumes",
                 node_plugin="kube-system/hcloud-csi-node")  # fmt: skip


def node(
    name: str, *, ready: str = "True", taints: list[str] = (), unschedulable: bool = False
) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "metadata": {"name": name},
        "spec": {
            "taints": [{"key": t, "effect": "NoSchedule"} for t in taints],
            "unschedulable": unschedulable,
        },
        "status": {
            "conditions": [
                {"type": "Ready", "status": ready, "message": "kubelet stopped posting node status"}
            ],
            "nodeInfo": {"kubeletVersion": "v1.36.4+k3s1"},
        },
    }


def csi_node(name: str, *drivers: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"drivers": [{"name": d, "nodeID": name} for d in drivers]}}


def daemonset(desired: int, updated: int, available: int) -> dict[str, Any]:
    return {
        "metadata": {"name": "hcloud-csi-node", "namespace": "kube-system", "generation": 1},
        "spec": {"updateStrategy": {"type": "RollingUpdate"}},
        "status": {
            "observedGeneration": 1,
            "desiredNumberScheduled": desired,
            "updatedNumberScheduled": updated,
            "numberAvailable": available,
            "numberReady": available,
        },
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(node("a"), (True, "Ready"), id="ready"),
        pytest.param(node("a", ready="Unknown"), (False, "NotReady: kubelet stopped posting node status"),
                     id="unknown"),
        pytest.param(node("a", taints=["node.cloudprovider.kubernetes.io/uninitialized"]),
                     (False, "Ready, but not yet initialized by the cloud controller manager"),
                     id="uninitialized"),
        pytest.param(node("a", unschedulable=True), (True, "Ready (cordoned)"), id="cordoned"),
        pytest.param({"metadata": {"name": "a"}}, (False, "NotReady: no Ready condition yet"), id="new"),
    ],
)  # fmt: skip
def test_node_state(obj: dict[str, Any], expected: tuple[bool, str]) -> None:
    assert node_state(obj) == expected


H = "csi.hetzner.cloud"
BOTH = [csi_node("a", H), csi_node("b", H)]
P = "csi.hetzner.cloud node plugin: "
DS = "DaemonSet kube-system/hcloud-csi-node"


@pytest.mark.parametrize(
    ("plugin", "csi_nodes", "passed", "detail"),
    [
        pytest.param(daemonset(2, 2, 2), BOTH, True,
                     f"{H} node plugin registered on all 2 Ready node(s); {DS} Ready", id="running"),
        pytest.param(None, BOTH, False, f"{P}{DS} does not exist yet", id="no-daemonset"),
        pytest.param(daemonset(0, 0, 0), BOTH, False, f"{P}{DS} has no pod scheduled yet",
                     id="nothing-scheduled"),
        pytest.param(daemonset(2, 2, 1), BOTH, False, f"{P}{DS}: 1 of 2 updated pods available",
                     id="one-pod-not-available"),
        pytest.param(daemonset(2, 2, 2), [csi_node("a", H), csi_node("b")], False,
                     f"{P}not registered on 1 node(s) yet: b", id="one-node-unregistered"),
        pytest.param(daemonset(2, 2, 2), [csi_node("a", H)], False, f"{P}not registered on 1 node(s) yet: b",
                     id="no-csinode"),
        pytest.param(daemonset(2, 2, 2), [csi_node("a", "ebs.csi.aws.com"), csi_node("b", H)], False,
                     f"{P}not registered on 1 node(s) yet: a", id="other-driver"),
        pytest.param(daemonset(2, 2, 2), None, False, f"{P}cannot list CSINode objects",
                     id="csinodes-unreadable"),
    ],
)  # fmt: skip
def test_node_plugin_check(
    plugin: dict[str, Any] | None, csi_nodes: list[dict[str, Any]] | None, passed: bool, detail: str
) -> None:
    check = node_plugin_check(
        "csi.hetzner.cloud", "kube-system/hcloud-csi-node", plugin, ["a", "b"], csi_nodes
    )
    assert (check.name, check.passed, check.detail) == ("csi-node-plugin", passed, detail)


def test_without_a_daemonset_name_only_the_registration_counts() -> None:
    check = node_plugin_check("x.csi", "", None, ["a"], [csi_node("a", "x.csi")])
    assert check.passed and check.detail == "x.csi node plugin registered on all 1 Ready node(s)"


def test_a_ready_cluster() -> None:
    seen = Observation(
        nodes=[node("a"), node("b")],
        csi_driver=True,
        storage_class=True,
        csi_nodes=[csi_node("a", "csi.hetzner.cloud"), csi_node("b", "csi.hetzner.cloud")],
        node_plugin=daemonset(2, 2, 2),
    )
    checks, rows = evaluate(seen, HETZNER)
    assert [c.name for c in checks if c.passed] == [
        "api", "nodes", "csi-driver", "csi-node-plugin", "storage-class"
    ]  # fmt: skip
    assert rows == [
        {"name": "a", "ready": True, "detail": "Ready", "version": "v1.36.4+k3s1"},
        {"name": "b", "ready": True, "detail": "Ready", "version": "v1.36.4+k3s1"},
    ]


def test_fewer_ready_nodes_than_the_config_has_is_not_ready() -> None:
    checks, _ = evaluate(
        Observation(nodes=[node("a")], csi_driver=True, storage_class=True, csi_nodes=[]), HETZNER
    )
    nodes = next(c for c in checks if c.name == "nodes")
    assert (nodes.passed, nodes.detail) == (False, "1/1 Ready (need at least 2)")


def test_an_unreachable_api_is_the_only_check() -> None:
    checks, rows = evaluate(Observation(api_error="not answering yet: connection refused"), HETZNER)
    assert [(c.name, c.passed, c.detail) for c in checks] == [
        ("api", False, "not answering yet: connection refused")
    ]
    assert rows == []


def test_empty_names_skip_the_csi_and_storage_checks() -> None:
    checks, _ = evaluate(Observation(nodes=[node("a")]), Wanted(min_nodes=1, csi_driver="", storage_class=""))
    assert [c.name for c in checks] == ["api", "nodes"]
