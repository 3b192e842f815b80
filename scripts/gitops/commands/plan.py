"""``gitops plan``: every environment x affected? x gate decision, from git and the policy (and, where
a cluster can be reached, what it runs)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitops.adapters import runner
from gitops.commands.output import emit, markdown_table, text_table, until
from gitops.commands.status import cluster_kubeconfigs, when
from gitops.core import gate
from gitops.core.deploy_plan import EVENT_KINDS, Row, blocked_label
from gitops.core.policy import UNGOVERNED
from gitops.core.policy_schema import DEFAULT_PATH, parse_instant
from gitops.core.windows import fmt_local
from gitops.errors import EXIT_OK, ConfigurationError
from gitops.operations import planning
from gitops.operations.deploy_status import EnvironmentStatus
from gitops.operations.planning import PlanRequest

DESCRIPTION = """\
Show, with no cluster and no GitHub, what a change would deploy where, and why.

For a commit range or a GitHub event payload (default: the last commit, HEAD~1..HEAD) and an
instant (default: now), one row per environment (every environment in the policy, and every
overlay on disk, so also `local`): whether the change affects it and which files (or which
reason) make it so, what the gate says for an automatic push to the environment's branch and
for a manual workflow_dispatch, with the first failing check, whether approval is required,
and the deployment window (open until, or when it next opens).

Where an environment's cluster can be reached (a kubeconfig from --cluster ENV=PATH, or the
kubeconfig_path of its Hetzner cluster config when that file exists; the kubernetes client
installed), a DEPLOYED column shows what it runs, from the deploy record in the cluster (read
only; see `gitops status`). --no-status never reaches a cluster.
"""

EPILOG = """\
examples:
  # the last commit, now
  gitops plan

  # a feature branch against main, rehearsed for a Friday afternoon
  gitops plan --base main --head feature/bigger-volumes --at 2026-11-27T16:30:00+01:00

  # what a manual run of the deploy workflow would do (no diff: every environment)
  gitops plan --event-kind workflow_dispatch

  # exactly what CI saw for a push event
  gitops plan --event event.json --event-name push --format json

JSON: {"base","head","event_kind","at","files":[...],"note",
       "environments":[{"environment","governed","branch","affected","cluster_affected",
        "reasons":[...],"outcome","push":<gate decision>|null,"dispatch":<gate decision>|null,
        "requires_approval","window":{"enabled","open","closes_at","next_open","detail"}|null,
        "services":{"<name>":{"push":bool,"dispatch":bool}},"not_governed":<why>|null,
        "deployed":<gitops status of the environment>|null}]}
where <gate decision> is the `gitops gate` JSON; `deployed` is null where no cluster was asked.
Exit 0, or 1 for a bad policy or revision.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", default=".", metavar="DIR", help="the git repository (default: .)")
    p.add_argument("--base", default="", metavar="REV", help="compare from this revision (default: HEAD~1)")
    p.add_argument("--head", default="", metavar="REV", help="compare to this revision (default: HEAD)")
    p.add_argument(
        "--event", default="", metavar="PATH", help="a GitHub event payload instead of --base/--head"
    )
    p.add_argument("--event-name", default="", metavar="NAME", help="the event's name (default: inferred)")
    p.add_argument(
        "--at", default="", metavar="ISO8601", help="the instant to plan for, with offset (default: now)"
    )
    p.add_argument(
        "--event-kind",
        default="push",
        choices=EVENT_KINDS,
        help="plan a push (diff, automatic gate; default) or a manual workflow_dispatch (every environment)",
    )
    p.add_argument(
        "--control", default="", metavar="FILE", help=f"the policy file (default: <repo>/{DEFAULT_PATH})"
    )
    p.add_argument(
        "--infra", default="infra", metavar="DIR", help="the infra directory in the repo (default: infra)"
    )
    p.add_argument(
        "--cluster",
        action="append",
        default=[],
        metavar="ENV=PATH",
        help="the kubeconfig of ENV's cluster, to show what it runs (repeatable; default: its cluster "
        "config's kubeconfig_path, when that file exists)",
    )
    p.add_argument("--no-status", action="store_true", help="never reach a cluster (no DEPLOYED column)")


def run(args: argparse.Namespace) -> int:
    repo = Path(args.repo)
    if (args.base or args.head) and args.event:
        raise ConfigurationError(
            "give either --base/--head or --event, not both", key="--event", hint="drop one of them"
        )
    at = parse_instant(args.at) if args.at.strip() else datetime.now(UTC)
    event_name = args.event_name or None
    if args.event_kind == "workflow_dispatch" and not args.event:
        event_name = "workflow_dispatch"
    request = PlanRequest(
        repo=repo,
        control=Path(args.control) if args.control else repo / DEFAULT_PATH,
        at=at,
        event_kind=args.event_kind,
        base=args.base or None,
        head=args.head or None,
        event_name=event_name,
        event_path=Path(args.event) if args.event else None,
        infra=args.infra,
        clusters=cluster_kubeconfigs(args.cluster),
        status=not args.no_status,
    )
    result = planning.plan(request)
    report, rows, deployed = result.changes, result.rows, result.deployed
    data = {
        "base": report.base,
        "head": report.head,
        "event_kind": args.event_kind,
        "event": event_name,
        "at": at.isoformat(),
        "control": str(request.control),
        "files": list(report.files),
        "note": report.note,
        "environments": [
            r.to_json()
            | {"deployed": deployed[r.environment].to_json(0) if r.environment in deployed else None}
            for r in rows
        ],
    }
    publish(rows, data, deployed)
    emit(args.format, data, lambda: human(rows, data, deployed))
    return EXIT_OK


def _decision_cell(decision: gate.Decision | None) -> str:
    if decision is None:
        return ""
    # the gate's own words, so plan, gate and deploy read alike
    return "allowed" if decision.allowed else f"blocked: {blocked_label(decision)}"


def _window_cell(row: Row) -> str:
    if row.window is None or row.push is None:
        return ""
    tz = row.push.timezone
    if not row.window.enabled:
        return "no windows"
    if row.window.open:
        if row.window.closes_at is None:
            return "open"
        return f"open until {fmt_local(row.window.closes_at, tz)}"
    if row.window.next_open is None:
        return "closed for 14+ days"
    return f"opens {fmt_local(row.window.next_open, tz)} ({until(row.window.next_open, row.push.at)})"


def _area(reason: str) -> str:
    """What part of infra a triggering file is in: base, overlay, cluster config, policy."""
    path = reason.split(": ", 1)[0]  # "infra/deploy-control.yaml: added; every environment counts"
    if " " in path or "/" not in path:  # a sentence ("workflow_dispatch: no diff, every environment")
        return reason
    parts = path.split("/")
    if parts[-1] == DEFAULT_PATH.name:
        return "policy"
    if "k8s" in parts[:-1]:
        rest = parts[parts.index("k8s") + 1 : -1]
        if rest[:1] == ["base"]:
            return "base"
        return "cluster config" if "cluster" in rest else "overlay"
    return "other"


def _why_cell(row: Row) -> str:
    """The one triggering file or sentence, or ``17 files: base, overlay``."""
    if not row.reasons:
        return "-"
    if len(row.reasons) == 1:
        return row.reasons[0]
    areas = list(dict.fromkeys(_area(r) for r in row.reasons))
    return f"{len(row.reasons)} files: {', '.join(areas)}"


def _affected_cell(row: Row) -> str:
    text = "yes" if row.affected else "no"
    return text + (" +cluster" if row.cluster_affected else "")


HEADERS = ("ENV", "BRANCH", "AFFECTED", "WHY", "PUSH", "MANUAL DISPATCH", "APPROVAL", "WINDOW")


def _deployed_cell(status: EnvironmentStatus | None) -> str:
    """``1a2b3c4d5e6f 2026-11-26 10:02 UTC``, or why the cluster did not say."""
    if status is None:
        return "-"
    current = status.history.last_successful if status.history else None
    if status.problem or current is None:
        return f"? {status.problem}" if status.problem else "nothing yet"
    return f"{current.commit[:12]} {when(current.finished_at or current.started_at)}"


def _headers(deployed: Mapping[str, EnvironmentStatus]) -> tuple[str, ...]:
    return (*HEADERS, "DEPLOYED") if deployed else HEADERS


def _with_deployed(row: Row, deployed: Mapping[str, EnvironmentStatus]) -> tuple[str, ...]:
    cells = _cells(row)
    return (*cells, _deployed_cell(deployed.get(row.environment))) if deployed else cells


def _cells(row: Row) -> tuple[str, ...]:
    if row.not_governed is not None:
        short = "not governed (laptop only)" if row.environment in UNGOVERNED else "NOT IN POLICY"
        return (row.environment, "-", _affected_cell(row), _why_cell(row), short, short, "-", "-")
    approval = "required" if row.push and row.push.requires_approval else "-"
    return (
        row.environment,
        row.branch or "-",
        _affected_cell(row),
        _why_cell(row),
        _decision_cell(row.push),
        _decision_cell(row.dispatch),
        approval,
        _window_cell(row),
    )


def _range_text(data: dict[str, Any]) -> str:
    head = str(data["head"])[:7]
    base = data["base"]
    files = data["files"]
    count = f"{len(files)} file{'s' if len(files) != 1 else ''} changed"
    if base:
        return f"{str(base)[:7]}..{head}, {count}"
    if files:
        return f"{head} (every file), {count}"
    return f"{head} (no diff)"


def human(rows: list[Row], data: dict[str, Any], deployed: Mapping[str, EnvironmentStatus]) -> str:
    at = datetime.fromisoformat(str(data["at"]))
    lines = [f"gitops plan: {_range_text(data)}; {data['event_kind']} at {at:%a %Y-%m-%d %H:%M} UTC", ""]
    if data.get("note"):
        lines += [f"note: {data['note']}", ""]
    lines.append(text_table(_headers(deployed), [_with_deployed(r, deployed) for r in rows]))
    lines.append("")
    width = max(len(r.environment) for r in rows) if rows else 0
    lines += [f"{r.environment.ljust(width)}  {r.outcome}" for r in rows]
    return "\n".join(lines)


def summary_markdown(
    rows: list[Row], data: dict[str, Any], deployed: Mapping[str, EnvironmentStatus] | None = None
) -> str:
    found = deployed or {}
    parts = [f"### Deploy plan — {_range_text(data)}", ""]
    if data.get("note"):
        parts += [f"> {data['note']}", ""]
    table_rows = [(*_with_deployed(r, found), r.outcome) for r in rows]
    parts.append(markdown_table((*_headers(found), "OUTCOME"), table_rows))
    return "\n".join(parts)


def publish(rows: list[Row], data: dict[str, Any], deployed: Mapping[str, EnvironmentStatus]) -> None:
    console = runner.current()
    console.summary(summary_markdown(rows, data, deployed))
    console.set_output("plan", json.dumps(data, separators=(",", ":")))
    deploys = [
        r.environment
        for r in rows
        if r.affected
        and r.push is not None
        and r.dispatch is not None
        and (r.push.allowed if data["event_kind"] == "push" else r.dispatch.allowed)
    ]
    console.set_output("deploys", json.dumps(deploys))
    # Each governed environment and the branch it deploys from: a matrix for jobs that check
    # out what an environment runs, e.g. the drift check (.github/workflows/drift.yml).
    branches = [{"environment": r.environment, "branch": r.branch} for r in rows if r.not_governed is None]
    console.set_output("branches", json.dumps(branches, separators=(",", ":")))
