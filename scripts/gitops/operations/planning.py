"""The deploy plan as a use case (``gitops plan``): the policy file and git, and what is deployed.

Reads deploy-control.yaml, detects what the commit range or event changed
(:func:`gitops.operations.change_detection.detect`), and builds one row per environment with
:func:`gitops.core.deploy_plan.plan_rows`. No GitHub. A cluster only where one can be reached:
for an environment with a known kubeconfig (``--cluster ENV=PATH``, or its Hetzner cluster
config's ``kubeconfig_path`` when that file exists) and the ``kubernetes`` client installed, what
it runs is read from its deploy record (:mod:`gitops.operations.deploy_status`); nothing else
ever reaches a cluster, and nothing is written.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from gitops.core.deploy_plan import Row, plan_rows
from gitops.operations.change_detection import ChangeReport, detect
from gitops.operations.deploy_status import EnvironmentStatus
from gitops.operations.gating import load_policy


@dataclass(frozen=True)
class PlanRequest:
    repo: Path
    control: Path
    at: datetime
    event_kind: str  # push (diff, automatic gate) or workflow_dispatch (every environment)
    base: str | None = None
    head: str | None = None
    event_name: str | None = None
    event_path: Path | None = None
    infra: str = "infra"
    clusters: Mapping[str, Path] = field(default_factory=dict)  # --cluster ENV=PATH
    status: bool = True  # read what runs where a cluster can be reached


@dataclass(frozen=True)
class Plan:
    changes: ChangeReport
    rows: list[Row]
    deployed: dict[str, EnvironmentStatus] = field(default_factory=dict)  # where a cluster was asked


def plan(request: PlanRequest) -> Plan:
    policy = load_policy(request.control)
    changes = detect(
        request.repo,
        base=request.base,
        head=request.head,
        event_name=request.event_name,
        event_path=request.event_path,
        infra=request.infra,
    )
    rows = plan_rows(policy, changes, changes.known_environments, request.at, request.event_kind)
    governed = [row.environment for row in rows if row.not_governed is None]
    deployed = _deployed(governed, request) if request.status else {}
    return Plan(changes, rows, deployed)


def _deployed(environments: list[str], request: PlanRequest) -> dict[str, EnvironmentStatus]:
    """What runs in each environment whose cluster has a known kubeconfig; the others are left out."""
    from gitops.adapters.kubeconfig_source import KubeconfigSource
    from gitops.operations import deploy_status

    if importlib.util.find_spec("kubernetes") is None:  # the core profile: plan without clusters
        return {}
    found = {}
    for environment in environments:
        path, described = deploy_status.kubeconfig_of(
            environment, request.repo / request.infra, request.clusters
        )
        if path is not None:
            found[environment] = deploy_status.read(environment, KubeconfigSource(path=path), described)
    return found
