"""``gitops deploy``: gate -> apply -> verify for one environment (what the root action.yml runs).

The use case is :func:`gitops.operations.deployment.deploy`; this module parses the flags and
says what happened. A blocked environment applied nothing and exits 0 (a decision, not an
error) with the reason; services the gate blocked were left out of the apply and are named. A
commit older than the deployed one is skipped the same way (exit 0, nothing written). A cluster
of another environment, or of none, is refused (exit 1) by the operation.
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
from gitops.commands.output import emit, markdown_table, next_window_text, plain, text_table
from gitops.commands.status import history_markdown, history_rows
from gitops.core import deploy_gate
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

Before its first write a deploy checks the cluster and the commit:
  * the cluster's identity record (ConfigMap gitops-system/gitops-cluster-identity) must name
    this environment. Another environment's cluster, or one without a record, is refused: exit
    1, nothing written, both environments named. --claim binds an unbound cluster first (only
    on a manual run); `gitops claim` does the same without deploying.
  * the commit (--commit, default $GITHUB_SHA, else git rev-parse HEAD) is compared with the
    last successful deploy in the cluster's record: an OLDER commit (an ancestor of it) is
    skipped, exit 0, nothing written. --allow-older deploys it anyway, as a rollback, on a
    manual run only. The order is asked of git in this checkout (fetching and deepening as
    `gitops changes` does), else of GitHub's compare API.
Every deploy that goes ahead is recorded in the cluster (gitops-system/gitops-deploy-record,
the last 20): commit, ref, event, actor and triggering actor, times, result, override, the
gate's decision. `gitops status` reads it.
"""

EPILOG = f"""\
examples:
  # deploy dev by hand, kubeconfig content in $KUBECONFIG_DATA
  gitops deploy --environment dev --event workflow_dispatch --kubeconfig-env KUBECONFIG_DATA

  # what would a prod deploy do now (gate + server-side dry run)?
  gitops deploy --environment prod --kubeconfig ~/.kube/prod --dry-run

  # emergency fix during a freeze (the policy must allow overrides)
  gitops deploy --environment prod --override --reason "INC-42" --actor alice --kubeconfig-env KC

  # the first deploy onto a cluster you set up by hand: bind it to prod, then deploy
  gitops deploy --environment prod --kubeconfig ~/.kube/prod.yaml --claim

  # roll prod back to an older commit on purpose (check it out first)
  git checkout 1a2b3c4 && gitops deploy --environment prod --kubeconfig ~/.kube/prod.yaml --allow-older

defaults: --overlay infra/k8s/hetzner/<environment>, --control infra/deploy-control.yaml,
--event $GITHUB_EVENT_NAME (else workflow_dispatch), --ref $GITHUB_REF, --actor
$GITHUB_TRIGGERING_ACTOR (else $GITHUB_ACTOR), --commit $GITHUB_SHA (else HEAD).
{KUBECONFIG_HELP}
exit codes: 0 deployed, blocked by the gate, or skipped as older (nothing applied); 1 bad input,
or a cluster that is not this environment's (nothing written); 2 the deploy failed (including
after a rollback).
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
    record = p.add_argument_group("cluster binding and deploy order")
    options.add(
        record,
        "--commit",
        input="commit",
        metavar="SHA",
        help="the commit being deployed, compared with the deployed one and recorded (default: $GITHUB_SHA, "
        "else git rev-parse HEAD)",
    )
    CLAIM.add(record)
    ALLOW_OLDER.add(record)


CLAIM = options.Switch(
    "--claim",
    "bind a cluster that has no identity record to this environment before deploying (manual runs only; "
    "a cluster of another environment is still refused)",
    input="claim",
)
ALLOW_OLDER = options.Switch(
    "--allow-older",
    "deploy a commit older than the deployed one: a deliberate rollback, recorded as such (manual runs only)",
    input="allow-older",
)


def run(args: argparse.Namespace) -> int:
    gate = options.gate_request(args)
    console = runner.current()
    request = deployment.DeployRequest(
        gate=gate,
        connection=connection(args),
        overlay=args.overlay,
        placeholder=options.placeholder(args),
        secret_map=options.secret_map(args),
        field_manager=args.field_manager.strip() or "gitops",
        namespace=args.namespace.strip() or None,
        dry_run=options.DRY_RUN.read(args),
        progress_interval=options.PROGRESS_INTERVAL.read(args),
        commit=args.commit.strip() or console.env("GITHUB_SHA").strip() or None,
        claim=CLAIM.read(args),
        allow_older=ALLOW_OLDER.read(args),
        actor=options.run_actor(),
        triggering_actor=args.actor.strip() or options.triggering_actor() or options.run_actor(),
        repository=console.env("GITHUB_REPOSITORY").strip() or None,
        run_url=options.run_url(),
        claim_command=options.claim_command(args, gate.environment),
    )
    try:
        outcome = deployment.deploy(request)
    except deployment.ClusterUnreachable as exc:
        return unreachable(exc, "deploy")
    data = _data(outcome)
    report = outcome.report
    if outcome.stale:
        return _stale(args, data, outcome)
    if report is None:
        decision, scope = outcome.blocker or (outcome.decision, "")
        return _blocked(args, data, decision, scope)
    apply_command.publish(report, summary=_deploy_summary(data, outcome, report))
    console.set_output("allowed", "true")
    console.set_output("skipped-services", json.dumps(outcome.skipped))
    console.set_output("reason", "")
    console.set_output("deploy", json.dumps(data, separators=(",", ":")))
    emit(args.format, data, lambda: _human(data, outcome, report))
    return report.exit_code


def _data(outcome: deployment.Deployment) -> dict[str, Any]:
    """The ``gitops deploy`` JSON (also the ``deploy`` output)."""
    data: dict[str, Any] = {"environment": outcome.environment, "gate": outcome.decision.to_json()}
    if outcome.decision.allowed:
        data["services"] = outcome.gate.services_json()
    if outcome.binding is not None:
        data["commit"] = outcome.commit
        identity = outcome.binding.identity
        claimed = outcome.claimed
        data["cluster"] = {
            "identity": identity.to_json() if identity else None,
            "claimed": bool(claimed and claimed.created),
        }
    order = outcome.order
    if order is not None:
        data["order"] = {
            "relation": order.relation.value if order.relation else None,
            "deployed": outcome.history.last_successful.commit
            if outcome.history and outcome.history.last_successful
            else None,
            "proceed": order.proceed,
            "rollback_of": order.rollback_of,
            "message": order.message,
        }
    data["record"] = outcome.entry.to_json() if outcome.entry else None
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
    if markdown:  # details carry the override's reason and actor: the user's words, not markdown
        return [
            [c.name, ":white_check_mark:" if c.passed else ":x:", plain(c.detail)] for c in decision.checks
        ]
    return [[c.name, "pass" if c.passed else "FAIL", c.detail] for c in decision.checks]


def _blocked(args: argparse.Namespace, data: dict[str, Any], decision: Decision, scope: str) -> int:
    console = runner.current()
    environment = data["environment"]
    reason = deploy_gate.reason(decision)
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
        f"### :no_entry: {head}\n\n{plain(detail)}"
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


def _stale(args: argparse.Namespace, data: dict[str, Any], outcome: deployment.Deployment) -> int:
    """An older commit than the deployed one: nothing written, exit 0, said in one line first."""
    console = runner.current()
    environment = outcome.environment
    message = outcome.order.message if outcome.order else "skipped"
    data.update(
        {
            "allowed": True,
            "applied": False,
            "reason": message,
            "skipped_services": outcome.skipped,
            "result": "skipped",
            "exit_code": EXIT_OK,
            "apply": None,
        }
    )
    console.notice(message, title=f"Deploy {environment}: older commit skipped")
    console.set_output("allowed", "true")
    console.set_output("result", "skipped")
    console.set_output("reason", message)
    console.set_output("skipped-services", json.dumps(outcome.skipped))
    console.set_output("deploy", json.dumps(data, separators=(",", ":")))
    commit = str(outcome.commit)[:12]
    head = f"gitops deploy {environment}: SKIPPED, {commit} is older than what runs; nothing written"
    current = _current_section(outcome)
    console.summary(f"### :fast_forward: {head}\n\n{message}\n\n" + current)
    emit(args.format, data, lambda: f"{head}\n{message}\n\n" + _current_text(outcome))
    return EXIT_OK


def _current_section(outcome: deployment.Deployment, limit: int = 5) -> str:
    """The "what runs now" section of a deploy's summary, from the cluster's record."""
    history = outcome.history
    if history is None or not history.deploys:
        return ""
    current = history.last_successful
    runs = f"`{current.commit[:12]}`" if current else "nothing successful yet"
    return (
        f"#### {outcome.environment} runs {runs}: its last {min(limit, len(history.deploys))} deploys\n\n"
        + history_markdown(history.recent(limit))
    )


def _current_text(outcome: deployment.Deployment, limit: int = 5) -> str:
    history = outcome.history
    if history is None or not history.deploys:
        return ""
    return f"{outcome.environment}: last deploys (newest first)\n" + text_table(
        ("started", "commit", "ref", "by", "how", "result", "override"), history_rows(history.recent(limit))
    )


def _cluster_line(data: dict[str, Any]) -> str | None:
    cluster = data.get("cluster")
    if not cluster or not cluster.get("identity"):
        return None
    identity = cluster["identity"]
    verb = (
        "bound now (--claim)"
        if cluster.get("claimed")
        else f"claimed {identity.get('claimed_at') or ''}".strip()
    )
    return f"Cluster: {identity['environment']}'s ({verb})."


def _override_line(gate_json: dict[str, Any], *, markdown: bool = False) -> str | None:
    override = gate_json.get("override")
    if not override:
        return None
    actor = override.get("actor") or "unknown"
    reason = override.get("reason") or "(no reason)"
    if markdown:  # the user's words, shown as written: no emphasis, link or HTML comes out of them
        actor, reason = plain(actor), plain(reason)
    bypassed = "it bypassed a closed window" if override.get("bypassed_window") else "no window was closed"
    return f"emergency override by {actor}: {reason} ({bypassed})"


def _gate_line(gate_json: dict[str, Any]) -> str:
    """``allowed (workflow_dispatch, manual, ref main)``."""
    kind = "automatic" if gate_json.get("automatic") else "manual"
    ref = f", ref {gate_json['ref']}" if gate_json.get("ref") else ""
    return f"allowed ({gate_json.get('event')}, {kind}{ref})"


def _deploy_summary(data: dict[str, Any], outcome: deployment.Deployment, report: ApplyReport) -> str:
    """What happened to the environment first, then how the gate allowed it, the cluster and the
    commit order, the apply, and what the environment runs now."""
    decision = outcome.decision
    icon = apply_command.ICONS.get(report.result, "")
    title = "gitops deploy " + data["environment"]
    lines = [
        f"### {icon} {apply_command.headline(report, title)}",
        "",
        f"Gate: {_gate_line(data['gate'])}.",
    ]
    cluster = _cluster_line(data)
    if cluster:
        lines += ["", cluster]
    if outcome.order is not None:
        warn = ":warning: " if outcome.order.warning else ""
        lines += ["", f"{warn}Commit `{str(outcome.commit)[:12]}`: {outcome.order.message}."]
    override = _override_line(data["gate"], markdown=True)
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
    apply = apply_command.summary_markdown(report, apply_title, level="####")
    return "\n".join(lines) + "\n" + apply + "\n" + _current_section(outcome)


def _human(data: dict[str, Any], outcome: deployment.Deployment, report: ApplyReport) -> str:
    title = "gitops deploy " + data["environment"]
    lines = [f"{apply_command.headline(report, title)}; gate: {_gate_line(data['gate'])}"]
    cluster = _cluster_line(data)
    if cluster:
        lines.append(cluster)
    if outcome.order is not None:
        lines.append(f"commit {str(outcome.commit)[:12]}: {outcome.order.message}")
    override = _override_line(data["gate"])
    if override:
        lines.append(override[0].upper() + override[1:])
    for name in data["skipped_services"]:
        lines.append(f"skipped by the gate: {name}: {data['services'][name]['reason']}")
    current = _current_text(outcome)
    return "\n".join(lines) + "\n\n" + apply_command.human(report) + ("\n\n" + current if current else "")
