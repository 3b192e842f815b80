"""k3s versions: what the config asks for against what the nodes run, and what may be done about it.

``hetzner-k3s create`` (re)runs the k3s install script on EVERY node with the config's
``k3s_version``, all at once and without draining (hetzner-k3s src/kubernetes/installer.cr,
v2.4.6 to v2.6.0). Run against a cluster whose nodes run another version, it is an unplanned
in-place upgrade of every control-plane node at the same time. An upgrade is instead done by
``hetzner-k3s upgrade``, which hands it to the system-upgrade-controller: control-plane nodes
one at a time, cordoned and drained (templates/upgrade_plan_for_*.yaml, ``concurrency: 1``,
``cordon: true``), then the workers. So:

* :func:`plan_create` lets ``create`` run only when every node already runs the config's
  version (or no running cluster is known: a first create) and otherwise names the upgrade;
* :func:`plan_upgrade` decides an upgrade: never a downgrade (k3s has none), never more than one
  minor version at a time (the Kubernetes version skew policy: "kube-apiserver instances ... must
  be upgraded one minor version at a time",
  https://kubernetes.io/releases/version-skew-policy/#supported-component-upgrade-order), and
  ``from`` is the OLDEST node's version, because hetzner-k3s's validator wants the new version
  to be newer than the config's (src/configuration/validators/new_k3s_version.cr).

Versions are k3s release tags, ``v<major>.<minor>.<patch>+k3s<n>`` (https://github.com/k3s-io/k3s/tags),
exactly as a node reports them in ``status.nodeInfo.kubeletVersion``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)\+k3s(\d+)$")


@dataclass(frozen=True, order=True)
class K3sVersion:
    major: int
    minor: int
    patch: int
    build: int

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}+k3s{self.build}"

    @property
    def kubernetes_minor(self) -> str:
        return f"{self.major}.{self.minor}"


def parse(text: str) -> K3sVersion | None:
    """``v1.36.4+k3s1`` -> K3sVersion; None for anything else (rc tags, missing +k3sN, garbage)."""
    match = _TAG.match(text.strip())
    return K3sVersion(*(int(g) for g in match.groups())) if match else None


class Verdict(Enum):
    CREATE = "create"  # create may run: the nodes already run the config's version, or none is known
    UPGRADE = "upgrade"  # upgrade from .current to .wanted
    UP_TO_DATE = "up-to-date"  # upgrade asked for, every node already runs the config's version
    REFUSE = "refuse"


@dataclass(frozen=True)
class VersionPlan:
    verdict: Verdict
    wanted: K3sVersion
    current: K3sVersion | None  # the oldest node's version
    nodes: dict[str, str]  # node -> the version it reports
    reason: str

    @property
    def allowed(self) -> bool:
        return self.verdict is not Verdict.REFUSE


def _group(nodes: Mapping[str, str]) -> str:
    by_version: dict[str, list[str]] = {}
    for node, version in sorted(nodes.items()):
        by_version.setdefault(version or "(no version reported)", []).append(node)
    return "; ".join(f"{version} on {', '.join(names)}" for version, names in sorted(by_version.items()))


def _survey(wanted: K3sVersion, nodes: Mapping[str, str]) -> tuple[K3sVersion | None, VersionPlan | None]:
    """The oldest version running, or a refusal for versions that cannot be compared or go backwards."""
    node_map = dict(nodes)
    unknown = sorted(node for node, version in nodes.items() if parse(version) is None)
    if unknown:
        return None, VersionPlan(
            Verdict.REFUSE,
            wanted,
            None,
            node_map,
            f"cannot compare k3s versions: {', '.join(unknown)} report(s) no k3s release version "
            f"({_group({n: nodes[n] for n in unknown})})",
        )
    versions = [v for v in (parse(version) for version in nodes.values()) if v is not None]
    newer = sorted(node for node, version in nodes.items() if (parse(version) or wanted) > wanted)
    if newer:
        return None, VersionPlan(
            Verdict.REFUSE,
            wanted,
            min(versions),
            node_map,
            f"the config's k3s_version {wanted} is OLDER than what runs ({_group(nodes)}): k3s cannot be "
            "downgraded in place",
        )
    return (min(versions) if versions else None), None


def plan_create(wanted: K3sVersion, nodes: Mapping[str, str] | None) -> VersionPlan:
    """May ``hetzner-k3s create`` run? ``nodes``: node -> kubeletVersion; None = no running cluster known."""
    if nodes is None or not nodes:
        why = (
            "no running cluster was given to compare with"
            if nodes is None
            else "the cluster has no nodes yet"
        )
        return VersionPlan(Verdict.CREATE, wanted, None, dict(nodes or {}), why)
    current, refusal = _survey(wanted, nodes)
    if refusal is not None:
        return refusal
    if current == wanted:
        return VersionPlan(
            Verdict.CREATE, wanted, current, dict(nodes), f"all {len(nodes)} node(s) run {wanted}"
        )
    return VersionPlan(
        Verdict.REFUSE,
        wanted,
        current,
        dict(nodes),
        f"the config's k3s_version is {wanted} but the cluster runs {_group(nodes)}; create would reinstall "
        "k3s on every node at once, control plane included, without draining",
    )


def plan_upgrade(wanted: K3sVersion, nodes: Mapping[str, str] | None) -> VersionPlan:
    """How to bring every node to ``wanted`` with ``hetzner-k3s upgrade``."""
    if nodes is None:
        return VersionPlan(
            Verdict.REFUSE,
            wanted,
            None,
            {},
            "an upgrade needs the running cluster's kubeconfig to read its nodes",
        )
    if not nodes:
        return VersionPlan(Verdict.REFUSE, wanted, None, {}, "the cluster has no nodes to upgrade")
    current, refusal = _survey(wanted, nodes)
    if refusal is not None:
        return refusal
    assert current is not None  # noqa: S101 - nodes is not empty and every version parsed
    if current == wanted:
        return VersionPlan(
            Verdict.UP_TO_DATE, wanted, current, dict(nodes), f"all {len(nodes)} node(s) already run {wanted}"
        )
    if (wanted.major, wanted.minor) > (current.major, current.minor + 1):
        step = f"v{current.major}.{current.minor + 1}"
        return VersionPlan(
            Verdict.REFUSE,
            wanted,
            current,
            dict(nodes),
            f"{current} -> {wanted} skips a minor version; Kubernetes upgrades one minor version at a time: "
            f"set k3s_version to the newest {step}.x+k3sN release first, upgrade, then to {wanted}",
        )
    return VersionPlan(Verdict.UPGRADE, wanted, current, dict(nodes), f"{_group(nodes)} -> {wanted}")
