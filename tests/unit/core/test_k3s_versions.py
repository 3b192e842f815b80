"""gitops.core.k3s_versions: may create run, and what an upgrade does, from the nodes' kubelet versions.

Version strings are k3s release tags as nodes report them in status.nodeInfo.kubeletVersion
(https://github.com/k3s-io/k3s/releases: v1.36.4+k3s1). The one-minor-at-a-time rule is the
Kubernetes version skew policy (https://kubernetes.io/releases/version-skew-policy/).
"""

from __future__ import annotations

import pytest

from gitops.core.k3s_versions import K3sVersion, Verdict, parse, plan_create, plan_upgrade

V136 = "v1.36.4+k3s1"
IS = f"the config's k3s_version is {V136} but the cluster runs"
RESTART = "create would reinstall k3s on every node at once, control plane included, without draining"
DOWN = "k3s cannot be downgraded in place"
WANTED = K3sVersion(1, 36, 4, 1)


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("v1.36.4+k3s1", K3sVersion(1, 36, 4, 1)),
        (" v1.9.10+k3s2 ", K3sVersion(1, 9, 10, 2)),
        ("v1.36.4-rc1+k3s1", None),  # release candidates are not releases
        ("v1.36.4", None),  # upstream Kubernetes, not k3s
        ("1.36.4+k3s1", None),
        ("", None),
    ],
)
def test_parse(text: str, version: K3sVersion | None) -> None:
    assert parse(text) == version


def test_versions_order_numerically() -> None:
    assert parse("v1.10.0+k3s1") > parse("v1.9.9+k3s9") > parse("v1.9.9+k3s1")  # type: ignore[operator]
    assert str(WANTED) == V136


@pytest.mark.parametrize(
    ("nodes", "verdict", "reason"),
    [
        pytest.param(None, Verdict.CREATE, "no running cluster was given to compare with", id="first-create"),
        pytest.param({}, Verdict.CREATE, "the cluster has no nodes yet", id="no-nodes"),
        pytest.param({"m1": V136, "w1": V136}, Verdict.CREATE, f"all 2 node(s) run {V136}", id="same"),
        pytest.param({"m1": "v1.35.6+k3s1", "w1": "v1.35.6+k3s1"}, Verdict.REFUSE,
                     f"{IS} v1.35.6+k3s1 on m1, w1; {RESTART}",
                     id="upgrade-needed"),
        pytest.param({"m1": V136, "w1": "v1.36.3+k3s1"}, Verdict.REFUSE,
                     f"{IS} v1.36.3+k3s1 on w1; {V136} on m1; {RESTART}",
                     id="patch-or-half-done"),
        pytest.param({"m1": "v1.37.0+k3s1"}, Verdict.REFUSE,
                     f"the config's k3s_version {V136} is OLDER than what runs (v1.37.0+k3s1 on m1): {DOWN}",
                     id="downgrade"),
        pytest.param({"m1": "v1.36.4"}, Verdict.REFUSE,
                     "cannot compare k3s versions: m1 report(s) no k3s release version (v1.36.4 on m1)",
                     id="not-k3s"),
    ],
)  # fmt: skip
def test_plan_create(nodes: dict[str, str] | None, verdict: Verdict, reason: str) -> None:
    plan = plan_create(WANTED, nodes)
    assert (plan.verdict, plan.reason) == (verdict, reason)


@pytest.mark.parametrize(
    ("nodes", "verdict", "current", "reason"),
    [
        pytest.param({"m1": "v1.35.6+k3s1", "w1": "v1.35.6+k3s1"}, Verdict.UPGRADE, "v1.35.6+k3s1",
                     f"v1.35.6+k3s1 on m1, w1 -> {V136}", id="minor"),
        pytest.param({"m1": V136, "w1": "v1.36.2+k3s1"}, Verdict.UPGRADE, "v1.36.2+k3s1",
                     f"v1.36.2+k3s1 on w1; {V136} on m1 -> {V136}", id="resume-half-done-from-the-oldest"),
        pytest.param({"m1": V136}, Verdict.UP_TO_DATE, V136, f"all 1 node(s) already run {V136}", id="done"),
        pytest.param({"m1": "v1.34.9+k3s1"}, Verdict.REFUSE, "v1.34.9+k3s1",
                     f"v1.34.9+k3s1 -> {V136} skips a minor version; Kubernetes upgrades one minor version "
                     "at a time: set k3s_version to the newest v1.35.x+k3sN release first, upgrade, then to "
                     f"{V136}",
                     id="skips-a-minor"),
        pytest.param(None, Verdict.REFUSE, None,
                     "an upgrade needs the running cluster's kubeconfig to read its nodes", id="no-cluster"),
        pytest.param({}, Verdict.REFUSE, None, "the cluster has no nodes to upgrade", id="no-nodes"),
        pytest.param({"m1": "v1.36.5+k3s1"}, Verdict.REFUSE, "v1.36.5+k3s1",
                     f"the config's k3s_version {V136} is OLDER than what runs (v1.36.5+k3s1 on m1): {DOWN}",
                     id="downgrade"),
    ],
)  # fmt: skip
def test_plan_upgrade(
    nodes: dict[str, str] | None, verdict: Verdict, current: str | None, reason: str
) -> None:
    plan = plan_upgrade(WANTED, nodes)
    assert (plan.verdict, str(plan.current) if plan.current else None, plan.reason) == (
        verdict,
        current,
        reason,
    )
    assert plan.allowed is (verdict is not Verdict.REFUSE)
