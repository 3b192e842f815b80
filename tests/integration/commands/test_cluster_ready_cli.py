"""``gitops cluster-ready`` against the fake API server: nodes, the CSI driver and its node plugin,
the StorageClass.

The fake plays the kubelet: every node has a CSINode (empty until a node plugin registers, as the
kubelet creates it: https://kubernetes-csi.github.io/docs/csi-node-object.html) and
``seed_csi_node_plugin`` adds the hcloud-csi-node DaemonSet (name and namespace as in the driver's
deploy/kubernetes/hcloud-csi.yml, v2.22.1) whose pods the fake's DaemonSet controller runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakekube import FakeKube
from tests.fakekube.plugin import KubeTarget
from tests.support.actions import GhaEnv

pytestmark = pytest.mark.integration


@pytest.fixture
def make_fake(tmp_path: Path) -> Iterator[Callable[..., tuple[FakeKube, Path]]]:
    fakes: list[FakeKube] = []

    def make(*, node_plugin: bool = True, **kwargs: Any) -> tuple[FakeKube, Path]:
        fake = FakeKube(**kwargs).start()
        if node_plugin:
            fake.seed_csi_node_plugin()
        fakes.append(fake)
        return fake, fake.write_kubeconfig(tmp_path / f"kc-{len(fakes)}.yaml")

    yield make
    for fake in fakes:
        fake.stop()
        assert not fake.bugs


def ready(cli: Callable[[list[str]], Any], kubeconfig: Path, *args: str) -> Any:
    return cli(
        ["cluster-ready", "--kubeconfig", str(kubeconfig), "--interval", "0.1", "--format", "json", *args]
    )


def checks(stdout: str) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(stdout)["checks"]}


def test_a_ready_hetzner_cluster(
    cli: Callable[[list[str]], Any], make_fake: Callable[..., tuple[FakeKube, Path]], gha_env: GhaEnv
) -> None:
    _fake, kubeconfig = make_fake(nodes=3)
    result = ready(cli, kubeconfig, "--min-nodes", "3")
    assert result.code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ready"] is True
    assert checks(result.stdout)["nodes"]["detail"] == "3/3 Ready (need at least 3)"
    assert checks(result.stdout)["csi-driver"]["detail"] == "CSIDriver csi.hetzner.cloud registered"
    assert checks(result.stdout)["csi-node-plugin"]["detail"] == (
        "csi.hetzner.cloud node plugin registered on all 3 Ready node(s); "
        "DaemonSet kube-system/hcloud-csi-node Ready"
    )
    assert checks(result.stdout)["storage-class"]["detail"] == "StorageClass hcloud-volumes exists"
    assert [n["ready"] for n in data["nodes"]] == [True, True, True]
    assert {n["version"] for n in data["nodes"]} == {"v1.37.0+k3s1"}  # what each kubelet reports
    outputs = gha_env.outputs()
    assert outputs["ready"] == "true" and outputs["nodes-ready"] == "3"
    assert json.loads(outputs["report"])["ready"] is True
    headline = gha_env.summary().splitlines()[0]
    assert headline.startswith(":white_check_mark: cluster ready: https://127.0.0.1:", 4)
    assert "(context " in headline


def test_waits_for_a_node_to_become_ready(
    cli: Callable[[list[str]], Any], make_fake: Callable[..., tuple[FakeKube, Path]]
) -> None:
    fake, kubeconfig = make_fake(nodes=0, node_plugin=False)
    fake.seed_node("worker-1", ready=False)
    fake.seed_csi_node_plugin()

    def ready_after_the_first_poll() -> None:
        # Not after a fixed delay: a slow first poll would already see the node Ready. The log
        # has a request's status once its answer is computed, so this flips it after that answer.
        fake.wait_for(lambda: [r for r in fake.requests(verb="list", path="/nodes$") if r["status"]], 30)
        fake.set_node_ready("worker-1", True)

    flipper = threading.Thread(target=ready_after_the_first_poll, daemon=True)
    flipper.start()
    result = ready(cli, kubeconfig, "--timeout", "30")
    flipper.join(timeout=30)
    assert result.code == 0, result.output
    assert "nodes: waiting: 0/1 Ready (need at least 1); not ready: worker-1 (NotReady:" in result.stderr
    assert "nodes: ok: 1/1 Ready" in result.stderr


def test_times_out_with_every_checks_state(
    cli: Callable[[list[str]], Any], make_fake: Callable[..., tuple[FakeKube, Path]], gha_env: GhaEnv
) -> None:
    _fake, kubeconfig = make_fake(nodes=1, csi_drivers=(), storage_classes=[], node_plugin=False)
    result = ready(cli, kubeconfig, "--timeout", "1")
    assert result.code == 2
    state = checks(result.stdout)
    assert state["nodes"]["passed"] is True
    assert state["csi-driver"] == {
        "name": "csi-driver",
        "passed": False,
        "detail": "CSIDriver csi.hetzner.cloud not registered yet",
    }
    assert state["csi-node-plugin"]["detail"] == (
        "csi.hetzner.cloud node plugin: DaemonSet kube-system/hcloud-csi-node does not exist yet; "
        "not registered on 1 node(s) yet: fakekube-node-1"
    )
    assert state["storage-class"]["detail"] == "StorageClass hcloud-volumes does not exist yet"
    assert (
        "::error title=cluster not ready within 1s::csi-driver: CSIDriver csi.hetzner.cloud" in result.stderr
    )
    assert "How to fix: install the CSI driver" in result.stderr
    assert gha_env.outputs()["ready"] == "false"
    summary = gha_env.summary()
    assert summary.startswith("### :x: cluster NOT ready within 1s: https://127.0.0.1:")
    assert "| csi-driver | :x: | CSIDriver csi.hetzner.cloud not registered yet |" in summary
    assert "**How to fix storage-class:** create the StorageClass" in summary
    assert "How to fix nodes" not in summary  # only the checks that failed


def test_a_long_wait_says_it_is_still_waiting_and_an_api_that_is_down_is_not_retried_noisily(
    cli: Callable[[list[str]], Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import socket

    from gitops.operations import cluster_readiness

    monkeypatch.setattr(cluster_readiness, "STILL_WAITING_SECONDS", 0.3)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = tmp_path / "closed.yaml"
    closed.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t0ken-t0ken"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        ),
        encoding="utf-8",
    )
    result = ready(cli, closed, "--timeout", "1", "--interval", "0.1")
    assert result.code == 2
    assert "still waiting (up to 1s): api: not answering yet" in result.stderr
    assert "retrying" not in result.stderr  # the poll is the retry
    assert result.stderr.count("api: waiting:") == 1  # a state is printed once, not every poll


def test_table_uses_the_gates_words(
    cli: Callable[[list[str]], Any], make_fake: Callable[..., tuple[FakeKube, Path]]
) -> None:
    _fake, kubeconfig = make_fake(nodes=1, csi_drivers=(), node_plugin=False)
    result = cli(["cluster-ready", "--kubeconfig", str(kubeconfig), "--timeout", "0.3", "--format", "table"])
    assert result.code == 2
    lines = result.stdout.splitlines()
    assert lines[0].startswith("cluster NOT ready within 0.3s: https://127.0.0.1:")
    assert lines[2].split() == ["CHECK", "RESULT", "DETAIL"]
    assert any(line.split()[:2] == ["csi-driver", "FAIL"] for line in lines)
    assert any(line.split()[:2] == ["nodes", "pass"] for line in lines)


def test_rejected_credentials_exit_1_naming_the_context_never_the_token(
    cli: Callable[[list[str]], Any], make_fake: Callable[..., tuple[FakeKube, Path]], tmp_path: Path
) -> None:
    _fake, kubeconfig = make_fake()
    wrong = tmp_path / "expired.yaml"
    text = kubeconfig.read_text(encoding="utf-8")
    token = _fake.token
    wrong.write_text(text.replace(token, "expired-token-value"), encoding="utf-8")
    result = ready(cli, wrong, "--timeout", "5")
    assert result.code == 1
    assert "rejected the credentials of context 'fakekube' of " + str(wrong) in result.stderr
    assert "HTTP 401" in result.stderr
    assert "How to fix: get a fresh kubeconfig" in result.stderr
    assert "expired-token-value" not in result.output and "Traceback" not in result.output


def test_a_node_the_cloud_controller_has_not_initialized_is_not_ready(
    cli: Callable[[list[str]], Any], make_fake: Callable[..., tuple[FakeKube, Path]]
) -> None:
    fake, kubeconfig = make_fake(nodes=1)
    node = fake.get("v1", "Node", None, "fakekube-node-1")
    assert node is not None
    node["spec"]["taints"] = [
        {"key": "node.cloudprovider.kubernetes.io/uninitialized", "effect": "NoSchedule"}
    ]
    fake.put(node)
    result = ready(cli, kubeconfig, "--timeout", "0.5")
    assert result.code == 2
    assert "not yet initialized by the cloud controller manager" in checks(result.stdout)["nodes"]["detail"]


def test_other_providers_name_their_driver_and_class_or_skip_them(
    cli: Callable[[list[str]], Any], make_fake: Callable[..., tuple[FakeKube, Path]]
) -> None:
    _fake, kubeconfig = make_fake(csi_drivers=(), node_plugin=False)
    result = ready(cli, kubeconfig, "--csi-driver", "", "--storage-class", "local-path", "--timeout", "5")
    assert result.code == 0, result.output
    assert set(checks(result.stdout)) == {"api", "nodes", "storage-class"}


def test_a_csidriver_object_is_not_enough_the_node_plugin_must_run_on_every_node(
    cli: Callable[[list[str]], Any], make_fake: Callable[..., tuple[FakeKube, Path]], gha_env: GhaEnv
) -> None:
    fake, kubeconfig = make_fake(nodes=2, crashloop=["daemonset/hcloud-csi-node"])
    # The plugin crash-loops, so its registration on fakekube-node-2 never happened.
    fake.register_csi_driver("fakekube-node-2", "csi.hetzner.cloud", registered=False)
    result = ready(cli, kubeconfig, "--timeout", "1")
    assert result.code == 2
    state = checks(result.stdout)
    assert state["csi-driver"]["passed"] is True  # the object exists ...
    plugin = state["csi-node-plugin"]  # ... but nothing can mount a volume on node 2
    assert plugin["passed"] is False
    assert "DaemonSet kube-system/hcloud-csi-node: " in plugin["detail"]
    assert plugin["detail"].endswith("not registered on 1 node(s) yet: fakekube-node-2")
    assert "**How to fix csi-node-plugin:** `kubectl -n kube-system get pods -o wide`" in gha_env.summary()


def test_the_node_plugin_daemonset_can_be_named_or_skipped(
    cli: Callable[[list[str]], Any], make_fake: Callable[..., tuple[FakeKube, Path]]
) -> None:
    fake, kubeconfig = make_fake(nodes=1, node_plugin=False)
    fake.register_csi_driver("fakekube-node-1", "csi.hetzner.cloud")
    named = ready(cli, kubeconfig, "--csi-node-daemonset", "storage/csi-node", "--timeout", "0.5")
    assert named.code == 2
    assert (
        "DaemonSet storage/csi-node does not exist yet" in checks(named.stdout)["csi-node-plugin"]["detail"]
    )
    skipped = ready(cli, kubeconfig, "--csi-node-daemonset", "none", "--timeout", "5")
    assert skipped.code == 0, skipped.output
    assert checks(skipped.stdout)["csi-node-plugin"]["detail"] == (
        "csi.hetzner.cloud node plugin registered on all 1 Ready node(s)"
    )


def test_too_few_nodes(
    cli: Callable[[list[str]], Any], make_fake: Callable[..., tuple[FakeKube, Path]]
) -> None:
    _fake, kubeconfig = make_fake(nodes=1)
    result = ready(cli, kubeconfig, "--min-nodes", "3", "--timeout", "0.5")
    assert result.code == 2
    assert checks(result.stdout)["nodes"]["detail"] == "1/1 Ready (need at least 3)"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        pytest.param(["--min-nodes", "three"], "--min-nodes must be a whole number", id="min-nodes"),
        pytest.param(["--timeout", "-1"], "--timeout must be a positive number", id="timeout"),
        pytest.param(["--csi-node-daemonset", "a/b/c"], "must be NAMESPACE/NAME", id="daemonset"),
    ],
)
def test_bad_arguments(
    cli: Callable[[list[str]], Any],
    make_fake: Callable[..., tuple[FakeKube, Path]],
    args: list[str],
    fragment: str,
) -> None:
    _fake, kubeconfig = make_fake()
    result = ready(cli, kubeconfig, *args)
    assert result.code == 1
    assert fragment in result.stderr


def test_any_cluster_with_ready_nodes(cli: Callable[[list[str]], Any], kube_target: KubeTarget) -> None:
    """Runs on a real cluster too (GITOPS_TEST_KUBECONFIG): nodes only, no provider-specific checks."""
    result = ready(cli, kube_target.kubeconfig, "--csi-driver", "", "--storage-class", "", "--timeout", "120")
    assert result.code == 0, result.output
    assert set(checks(result.stdout)) == {"api", "nodes"}
