"""``gitops deploy``: gate -> apply -> verify for one environment (what the root action.yml runs).

The gate (:func:`gitops.core.gate.evaluate`) decides for the environment and then for each
service in deploy-control.yaml. A blocked environment applies nothing and exits 0 (a decision,
not an error) with the reason. Blocked services are left out of the apply (their objects carry
``app.kubernetes.io/name: <service>``) and named; the others are applied with the
environment's ``rollout_timeout_seconds`` and each service's ``rollback_on_failure``.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops.adapters import runner
from gitops.commands import apply as apply_command
from gitops.commands._kube_args import KUBECONFIG_HELP, add_kube_args, seconds
from gitops.commands.apply import add_apply_args, execute, load_input
from gitops.commands.output import emit, markdown_table, text_table
from gitops.core.inputs import parse_bool
from gitops.errors import EXIT_DEPLOY_FAILED, EXIT_OK
from gitops.operations.apply_engine import ApplyReport, ApplySettings, RollbackSetting

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
    group = p.add_argument_group("environment and gate")
    group.add_argument(
        "--environment",
        "--env",
        dest="environment",
        required=True,
        metavar="ENV",
        help="the environment to deploy: a key of `environments:` in the policy, e.g. dev",
    )
    group.add_argument(
        "--overlay",
        default="",
        metavar="DIR",
        help="overlay to deploy (default: infra/k8s/hetzner/<environment>)",
    )
    group.add_argument(
        "--control", default="", metavar="FILE", help="policy file (default: infra/deploy-control.yaml)"
    )
    group.add_argument(
        "--event",
        default="",
        metavar="NAME",
        help="triggering event, e.g. push or workflow_dispatch (default: $GITHUB_EVENT_NAME, else "
        "workflow_dispatch)",
    )
    group.add_argument(
        "--ref",
        default="",
        metavar="REF",
        help="branch being deployed, main or refs/heads/main (default: $GITHUB_REF)",
    )
    group.add_argument(
        "--at",
        default="",
        metavar="ISO8601",
        help="decide for this instant, with an offset, e.g. 2026-12-24T10:00:00+01:00 (default: now)",
    )
    group.add_argument(
        "--override",
        nargs="?",
        const="true",
        default="",
        metavar="true|false",
        help="request an emergency override of the deployment windows (only the windows), if the "
        "policy allows it (default: false)",
    )
    group.add_argument(
        "--reason", default="", metavar="TEXT", help="why the override is needed, e.g. 'INC-42' (recorded)"
    )
    group.add_argument("--actor", default="", metavar="LOGIN", help="who asks (default: $GITHUB_ACTOR)")
    group.add_argument(
        "--triggered-by",
        default="",
        metavar="NAME",
        help="automation that dispatched this deploy, e.g. hetzner-k8s (default: $GITOPS_TRIGGERED_BY)",
    )
    inputs = p.add_argument_group("input")
    inputs.add_argument(
        "--secret-map",
        default="",
        metavar="FILE",
        help="YAML: Secret name -> JSONPath -> variable name (see gitops render --help)",
    )
    inputs.add_argument(
        "--placeholder",
        default="",
        metavar="TEXT",
        help="stand-in Secret value (default: StrongBase64Password)",
    )
    add_kube_args(p)
    add_apply_args(p, deploy=True)


def run(args: argparse.Namespace) -> int:
    from gitops.commands.gate import automatic_from
    from gitops.core import gate
    from gitops.core.policy import Override
    from gitops.core.policy_schema import DEFAULT_PATH, load_policy, parse_instant

    console = runner.current()
    environment = args.environment.strip()
    control = Path(args.control.strip() or DEFAULT_PATH)
    policy = load_policy(control)
    event = args.event.strip() or console.env("GITHUB_EVENT_NAME") or "workflow_dispatch"
    ref = args.ref.strip() or console.env("GITHUB_REF") or None
    at = parse_instant(args.at) if args.at.strip() else datetime.now(UTC)
    override = None
    if parse_bool(args.override, "--override"):
        override = Override(
            actor=args.actor.strip() or console.env("GITHUB_ACTOR") or None,
            reason=args.reason.strip() or None,
        )
    automatic = automatic_from(args.triggered_by.strip() or console.env("GITOPS_TRIGGERED_BY"))

    def decide(service: str | None) -> gate.Decision:
        return gate.evaluate(
            policy,
            environment=environment,
            service=service,
            event=event,
            ref=ref,
            at=at,
            override=override,
            automatic=automatic,
        )

    env_decision = decide(None)
    data: dict[str, Any] = {"environment": environment, "gate": env_decision.to_json()}
    if not env_decision.allowed:
        return _blocked(args, data, env_decision, "")
    services = {name: decide(name) for name in gate.environment_of(policy, environment).services}
    blocked = sorted(name for name, d in services.items() if not d.allowed)
    data["services"] = {
        name: {
            "allowed": d.allowed,
            "rollback_on_failure": d.rollback_on_failure,
            "reason": None if d.allowed else _reason(d),
        }
        for name, d in services.items()
    }
    if services and len(blocked) == len(services):
        return _blocked(args, data, services[blocked[0]], " (every service)")
    for name in blocked:
        console.notice(
            f"{name} is skipped: {_reason(services[name])}", title=f"Deploy gate: {environment}/{name}"
        )
    overlay = args.overlay.strip() or f"infra/k8s/hetzner/{environment}"
    objects, source = load_input(overlay, "", placeholder=args.placeholder, secret_map=args.secret_map)
    settings = ApplySettings(
        field_manager=args.field_manager.strip() or "gitops",
        namespace=args.namespace.strip() or None,
        rollout_timeout=float(env_decision.rollout_timeout_seconds),
        rollback=RollbackSetting(
            env_decision.rollback_on_failure, {name: d.rollback_on_failure for name, d in services.items()}
        ),
        dry_run=parse_bool(args.dry_run, "--dry-run"),
        skip_services=tuple(blocked),
        strict_skip=False,
        progress_interval=seconds(args.progress_interval, "--progress-interval", 10.0),
    )
    report = execute(args, objects, source, settings)
    if report is None:
        return EXIT_DEPLOY_FAILED
    data.update(
        {
            "allowed": True,
            "applied": not settings.dry_run,
            "reason": None,
            "skipped_services": blocked,
            "result": report.result,
            "exit_code": report.exit_code,
            "apply": report.to_json(),
        }
    )
    apply_command.publish(report, summary=_deploy_summary(data, env_decision, report))
    console.set_output("allowed", "true")
    console.set_output("skipped-services", json.dumps(blocked))
    console.set_output("reason", "")
    console.set_output("deploy", json.dumps(data, separators=(",", ":")))
    emit(args.format, data, lambda: _human(data, report))
    return report.exit_code


def _reason(decision: Decision) -> str:
    check = decision.blocked_by
    return f"{check.name}: {check.detail}" if check else "blocked"


def _check_rows(decision: Decision, *, markdown: bool) -> list[list[str]]:
    """The gate's checks in the gate's own words: pass/FAIL in a terminal, icons in a summary."""
    if markdown:
        return [[c.name, ":white_check_mark:" if c.passed else ":x:", c.detail] for c in decision.checks]
    return [[c.name, "pass" if c.passed else "FAIL", c.detail] for c in decision.checks]


def _blocked(args: argparse.Namespace, data: dict[str, Any], decision: Decision, scope: str) -> int:
    from gitops.commands.gate import next_window_text

    console = runner.current()
    environment = data["environment"]
    reason = _reason(decision)
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
