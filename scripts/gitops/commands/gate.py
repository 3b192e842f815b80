"""``gitops gate``: evaluate infra/deploy-control.yaml for one environment (and service), now."""

from __future__ import annotations

import argparse
import json

from gitops.adapters import runner
from gitops.commands import options
from gitops.commands.output import emit, markdown_table, mention, next_window_text, plain, text_table
from gitops.core import gate
from gitops.core.windows import fmt_local
from gitops.errors import EXIT_OK
from gitops.operations import gating

DESCRIPTION = """\
Evaluate the deploy-control policy for one environment (and optionally one service) and say
whether it may be deployed now, check by check.

Automatic events (push, schedule, or a dispatch sent by automation: --triggered-by NAME) need
the kill switch global.auto_deploy, the environment's enabled and auto_deploy, the pushed
branch to equal the environment's branch, the service's enabled and auto_deploy, and an open
deployment window. A manual workflow_dispatch needs enabled flags and an open window only.
pull_request never deploys. --override bypasses deployment windows (and nothing else) when
the policy allows it: a reason if required, an actor from the list.

Exit 0 whether the answer is "allowed" or "blocked" (read `allowed`); exit 1 only for a bad
policy file or bad arguments. Without --service only the environment-level checks run.
Every empty option means its default, so an action can pass inputs through unchanged.
"""

EPILOG = """\
examples:
  # may prod be deployed by hand right now?
  gitops gate --env prod --event workflow_dispatch

  # would a push to dev deploy postgres on Saturday night?
  gitops gate --env dev --service postgres --event push --ref dev --at 2026-11-28T23:00:00+01:00

  # an emergency fix during a freeze (needs the policy to allow it and a reason)
  gitops gate --env prod --event workflow_dispatch --override --reason "INC-42 data loss" --actor alice

defaults: --event $GITHUB_EVENT_NAME (else workflow_dispatch), --ref $GITHUB_REF,
--actor $GITHUB_ACTOR, --at now, --control infra/deploy-control.yaml.
In GitHub Actions the decision also goes to step outputs (allowed, requires-approval,
rollback-on-failure, rollout-timeout, next-allowed-at, decision) and to the job summary.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    group = options.add_gate_args(p, title="what to decide for", environment_help="dev, test, prod, ...")
    options.add(
        group, "--service", input="service", metavar="NAME", help="postgres, redis, jaeger (default: none)"
    )
    CLUSTER.add(group)


CLUSTER = options.Switch(
    "--cluster",
    "gate creating/updating the environment's cluster (cluster.enabled, cluster.auto_deploy) instead "
    "of a deploy",
    input="cluster",
)


def run(args: argparse.Namespace) -> int:
    request = options.gate_request(args)
    service = args.service.strip() or None
    if service is not None:
        options.policy_name(service, "--service", "service", "postgres")
    decision = gating.decide(request, service=service, cluster=CLUSTER.read(args))
    data = decision.to_json()
    data["control"] = str(request.control)
    publish(decision, data)
    emit(args.format, data, lambda: human(decision))
    return EXIT_OK


def publish(decision: gate.Decision, data: dict[str, object]) -> None:
    """Step outputs, job summary and annotations (no-ops outside Actions)."""
    console = runner.current()
    console.set_output("allowed", _bool(decision.allowed))
    console.set_output("requires-approval", _bool(decision.requires_approval))
    console.set_output("rollback-on-failure", _bool(decision.rollback_on_failure))
    console.set_output("rollout-timeout", str(decision.rollout_timeout_seconds))
    console.set_output("next-allowed-at", str(data["next_allowed_at"] or ""))
    console.set_output("decision", json.dumps(data, separators=(",", ":")))
    console.summary(summary_markdown(decision))
    target = _target(decision)
    if decision.override is not None and decision.override.bypassed_window:
        reason = decision.override.reason or "(no reason)"
        console.warning(
            f"emergency override by {_who(decision.override.actor)}: {reason}",
            title=f"Deployment windows bypassed for {target}",
        )
    blocked = decision.blocked_by
    if blocked is not None and console.in_actions:
        console.notice(f"{blocked.name}: {blocked.detail}", title=f"Deploy gate: {target} blocked")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _who(actor: str | None) -> str:
    return f"@{actor}" if actor else "an unnamed actor"


def _target(decision: gate.Decision) -> str:
    what = decision.environment
    if decision.service:
        what += f"/{decision.service}"
    if decision.cluster:
        what += " cluster"
    return what


def verdict(decision: gate.Decision) -> str:
    return "ALLOWED" if decision.allowed else "BLOCKED"


def _headline(decision: gate.Decision) -> str:
    kind = "automatic" if decision.automatic else "manual"
    if decision.event in gate.VALIDATION_ONLY_EVENTS:
        kind = "validation only"
    ref = f", ref {decision.ref}" if decision.ref else ""
    when = fmt_local(decision.at, decision.timezone)
    return f"{_target(decision)}: {verdict(decision)} ({decision.event}, {kind}{ref}; at {when})"


def _facts(decision: gate.Decision) -> list[str]:
    lines = []
    if decision.override is not None:
        bypass = (
            "deployment windows BYPASSED" if decision.override.bypassed_window else "not needed: window open"
        )
        reason = decision.override.reason or "(no reason)"
        lines.append(f"EMERGENCY OVERRIDE by {_who(decision.override.actor)}: {reason} ({bypass})")
    if not decision.allowed and decision.next_allowed_at is not None:
        lines.append(f"Next allowed: {next_window_text(decision)}")
    lines.append(
        f"Approval required: {'yes' if decision.requires_approval else 'no'}; "
        f"rollback on failure: {'yes' if decision.rollback_on_failure else 'no'}; "
        f"rollout timeout: {decision.rollout_timeout_seconds}s"
    )
    return lines


def human(decision: gate.Decision) -> str:
    rows = [(c.name, "pass" if c.passed else "FAIL", c.detail) for c in decision.checks]
    return "\n".join(
        [_headline(decision), "", text_table(("CHECK", "RESULT", "DETAIL"), rows), "", *_facts(decision)]
    )


def summary_markdown(decision: gate.Decision) -> str:
    icon = ":white_check_mark:" if decision.allowed else ":no_entry:"
    parts = [f"### {icon} Deploy gate — {_headline(decision)}", ""]
    if decision.override is not None:
        bypass = (
            "deployment windows **bypassed**"
            if decision.override.bypassed_window
            else "not needed: window open"
        )
        reason = plain(decision.override.reason or "") or "(no reason)"  # the user's words, not markdown
        who = mention(decision.override.actor)
        parts += [f"> [!WARNING]\n> **Emergency override** by {who}: {reason} — {bypass}", ""]
    rows = [(c.name, ":white_check_mark:" if c.passed else ":x:", plain(c.detail)) for c in decision.checks]
    parts.append(markdown_table(("check", "", "detail"), rows))
    parts += [f"- {line}" for line in _facts(decision) if not line.startswith("EMERGENCY")]
    return "\n".join(parts) + "\n"
