"""The deploy plan as a use case (``gitops plan``): the policy file and git, nothing else.

Reads deploy-control.yaml, detects what the commit range or event changed
(:func:`gitops.operations.change_detection.detect`), and builds one row per environment with
:func:`gitops.core.deploy_plan.plan_rows`. No cluster, no GitHub.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gitops.core.deploy_plan import Row, plan_rows
from gitops.operations.change_detection import ChangeReport, detect
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


@dataclass(frozen=True)
class Plan:
    changes: ChangeReport
    rows: list[Row]


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
    return Plan(changes, rows)
