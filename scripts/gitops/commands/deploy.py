"""``gitops deploy``: gate -> apply -> verify for one environment (what the root action.yml runs).

The use case is :func:`gitops.operations.deployment.deploy`; this module parses the flags and
says what happened. A blocked environment applied nothing and exits 0 (a decision, not an
error) with the reason; services the gate blocked were left out of the apply and are named.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from gitops.adapters import runner
from gitops.commands import apply as apply_command
from gitops.commands import options
from gitops.commands.apply import add_apply_args, connection, unreachable
from gitops.commands.options import KUBECONFIG_HELP
from gitops.commands.output import emit, markdown_table, next_window_text, text_table
from gitops.errors import EXIT_OK
from gitops.operations import deployment
from gitops.operations.apply_engine import ApplyReport

if TYPE_CHECKING:
    from gitops.core.gate import Decision

DESCRIPTION = """\
Deploy one environment end to end: evaluate the deploy gate (infra/deploy-control.yaml) for
the environment and each of its services, then apply the overlay with the environment's
rollout timeout and each service's rollback_on_failure, wait, roll back on failure, verify.

Blocked environment: nothing is applied, exit 0, the reason is printed (and is the `reason`
output). Some services blocked: the others are applied, the skipped ones are named.
"""

EPILOG = f"""\
examples:
  # deploy dev by hand, kubeconfig content in $KUBECONFIG_DATA
  gitops deploy --environment dev --event workflow_dispatch --kubeconfig-env KUBECONFIG_DATA

  # what would a prod deploy do now (gate + server-side dry run)?
  gitops deploy --environment prod --kubeconfig ~/.kube/prod --dry-run

  # emergency fix during a freeze (the policy must allow overrides)
  gitops deploy --environment prod --override --reason "INC-42" --actor alice --kubeconfig-env KC

defaults: --overlay infra/k8s/hetzner/<environment>, --control infra/deploy-control.yaml,
--event $GITHUB_EVENT_NAME (else workflow_dispatch), --ref $GITHUB_REF, --actor $GITHUB_ACTOR.
{KUBECONFIG_HELP}
exit codes: 0 deployed, or blocked by the gate (nothing applied); 1 bad input; 2 the deploy
failed (including after a rollback).
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    group = options.add_gate_args(
        p,
        title="environment and gate",
        environment_help="the environment to deploy: a key of `environments:` in the policy, e.g. dev",
    )
    options.add_overlay(group, help="overlay to deploy (default: infra/k8s/hetzner/<environment>)")
    inputs = p.add_argument_group("input")
    options.add_secret_map(inputs)
    options.add_placeholder(inputs)
    options.add_kube_args(p)
    add_apply_args(p)


def run(args: argparse.Namespace) -> int:
    request = deployment.DeployRequest(
        gate=options.gate_request(args),
        connection=connection(args),
        overlay=args.overlay,
        placeholder=options.placeholder(args),
        secret_map=options.secret_map(args),
        field_manager=args.field_manager.strip() or "gitops",
        namespace=args.namespace.strip() or None,
        dry_run=options.DRY_RUN.read(args),
        progress_interval=options.PROGRESS_INTERVAL.read(args),
    )
    try:
        outcome = deployment.deploy(request)
    except deployment.ClusterUnreachable as exc:
        return unreachable(exc, "deploy")
    data = _data(outcome)
    report = outcome.report
    if report is None:
        decision, scope = outcome.blocker or (outcome.decision, "")
        return _blocked(args, data, decision, scope)
    apply_command.publish(report, summary=_deploy_summary(data, outcome.decision, report))
    console = runner.current()
    console.set_output("allowed", "true")
    console.set_output("skipped-services", json.dumps(outcome.skipped))
    console.set_output("reason", "")
    console.set_output("deploy", json.dumps(data, separators=(",", ":")))
    emit(args.format, data, lambda: _human(data, report))
    return report.exit_code


def _data(outcome: deployment.Deployment) -> dict[str, Any]:
    """The ``gitops deploy`` JSON (also the ``deploy`` output)."""
    data: dict[str, Any] = {"environment": outcome.environment, "gate": outcome.decision.to_json()}
    if outcome.decision.allowed:
        data["services"] = {
            name: {
                "allowed": d.allowed,
                "rollback_on_failure": d.rollback_on_failure,
                "reason": None if d.allowed else deployment.reason(d),
            }
            for name, d in outcome.services.items()
        }
    report = outcome.report
    if report is not None:
        data.update(
            {
                "allowed": True,
                "applied": not report.dry_run,
                "reason": None,
                "skipped_services": outcome.skipped,
                "result": report.result,
                "exit_code": report.exit_code,
                "apply": report.to_json(),
            }
        )
    return data


def _check_rows(decision: Decision, *, markdown: bool) -> list[list[str]]:
    """The gate's checks in the gate's own words: pass/FAIL in a terminal, icons in a summary."""
    if markdown:
        return [[c.name, ":white_check_mark:" if c.passed else ":x:", c.detail] for c in decision.checks]
    return [[c.name, "pass" if c.passed else "FAIL", c.detail] for c in decision.checks]


def _blocked(args: argparse.Namespace, data: dict[str, Any], decision: Decision, scope: str) -> int:
    console = runner.current()
    environment = data["environment"]
    reason = deployment.reason(decision)
    data.update(
        {
            "allowed": False,
            "applied": False,
            "reason": reason,
            "skipped_services": sorted(data.get("services", {})),
            "result": "blocked",
            "exit_code": EXIT_OK,
            "apply": None,
        }
    )
    console.notice(f"{environment}{scope} is not deployed: {reason}", title="Deploy gate: blocked")
    console.set_output("allowed", "false")
    console.set_output("result", "blocked")
    console.set_output("reason", reason)
    console.set_output("skipped-services", json.dumps(data["skipped_services"]))
    console.set_output("deploy", json.dumps(data, separators=(",", ":")))
    check = decision.blocked_by
    blocker = check.name if check else "the gate"
    head = f"gitops deploy {environment}: BLOCKED by {blocker}{scope}, nothing applied"
    detail = check.detail if check else reason
    next_at = next_window_text(decision) if decision.next_allowed_at is not None else None
    console.summary(
        f"### :no_entry: {head}\n\n{detail}"
        + (f"\n\nNext allowed: {next_at}" if next_at else "")
        + "\n\n"
        + markdown_table(("check", "", "detail"), _check_rows(decision, markdown=True))
    )
    emit(
        args.format,
        data,
        lambda: (
            f"{head}\n{detail}"
            + (f"\nNext allowed: {next_at}" if next_at else "")
            + "\n\n"
            + text_table(("check", "result", "detail"), _check_rows(decision, markdown=False))
        ),
    )
    return EXIT_OK


def _override_line(gate_json: dict[str, Any]) -> str | None:
    override = gate_json.get("override")
    if not override:
        return None
    actor = override.get("actor") or "unknown"
    reason = override.get("reason") or "(no reason)"
    bypassed = "it bypassed a closed window" if override.get("bypassed_window") else "no window was closed"
    return f"emergency override by {actor}: {reason} ({bypassed})"


def _gate_line(gate_json: dict[str, Any]) -> str:
    """``allowed (workflow_dispatch, manual, ref main)``."""
    kind = "automatic" if gate_json.get("automatic") else "manual"
    ref = f", ref {gate_json['ref']}" if gate_json.get("ref") else ""
    return f"allowed ({gate_json.get('event')}, {kind}{ref})"


def _deploy_summary(data: dict[str, Any], decision: Decision, report: ApplyReport) -> str:
    """What happened to the environment first, then how the gate allowed it, then the apply."""
    icon = apply_command.ICONS.get(report.result, "")
    title = "gitops deploy " + data["environment"]
    lines = [
        f"### {icon} {apply_command.headline(report, title)}",
        "",
        f"Gate: {_gate_line(data['gate'])}.",
    ]
    override = _override_line(data["gate"])
    if override:
        lines += ["", f":warning: **{override[0].upper()}{override[1:]}**"]
    for name in data["skipped_services"]:
        lines += ["", f"- `{name}` skipped by the gate: {data['services'][name]['reason']}"]
    passed = sum(1 for c in decision.checks if c.passed)
    lines += [
        "",
        f"<details><summary>Gate checks: {passed} of {len(decision.checks)} passed</summary>",
        "",
        markdown_table(("check", "", "detail"), _check_rows(decision, markdown=True)),
        "</details>",
        "",
    ]
    apply_title = f"Apply `{report.source}`"
    return "\n".join(lines) + "\n" + apply_command.summary_markdown(report, apply_title, level="####")


def _human(data: dict[str, Any], report: ApplyReport) -> str:
    title = "gitops deploy " + data["environment"]
    lines = [f"{apply_command.headline(report, title)}; gate: {_gate_line(data['gate'])}"]
    override = _override_line(data["gate"])
    if override:
        lines.append(override[0].upper() + override[1:])
    for name in data["skipped_services"]:
        lines.append(f"skipped by the gate: {name}: {data['services'][name]['reason']}")
    return "\n".join(lines) + "\n\n" + apply_command.human(report)
