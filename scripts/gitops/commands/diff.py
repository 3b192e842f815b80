"""``gitops diff``: what a deploy of one environment would change in its cluster, object by object."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from gitops.adapters import deadline, runner
from gitops.commands import options
from gitops.commands.options import KUBECONFIG_HELP
from gitops.commands.output import emit, markdown_table, text_table
from gitops.core.deploy_gate import DeployGate, reason
from gitops.core.diff_report import DiffAction, DiffReport, Mode, ObjectDiff
from gitops.core.windows import fmt_local
from gitops.errors import ConfigurationError

DESCRIPTION = """\
Show what `gitops deploy --environment ENV` would do to the cluster, per object, and write
nothing. Every rendered object is one of:

  create       it does not exist yet
  update       these fields change (FIELDS), with a unified diff of the fields we manage
  unchanged    nothing to do
  recreate     an immutable field changes: which one, what happens to its pods (kept, orphan
               cascade) and its PersistentVolumeClaims (grown to the new size), exactly as apply
               would decide it
  refuse       apply would stop here, and why (the server's and the classifier's words)
  unknown      cannot be told with these credentials or values, and why (a Secret a read-only
               kubeconfig may not read; a key whose value this job does not have)
  skipped      the deploy gate blocks its service (or the whole deploy): `gitops deploy` leaves
               it out, and the gate's reason is shown. Only with the gate's flags (below); never
               counted as a change
and, for objects in the cluster that carry the overlay's labels and were applied by gitops
but are no longer rendered: left-behind (gitops does not prune; they stay until deleted).

How: a server-side dry run of each object (dryRun=All: the API server decides, stores
nothing) when the credentials allow it, else a client-side comparison with the fields our
field manager owns (metadata.managedFields). The output says which (`mode`). The only
requests that are not reads are those dry runs.

The deploy gate: given --gate or any of the gate's flags (--event, --ref, --at, --override,
--reason, --actor, --triggered-by, --control; the same flags as `gitops deploy`, with the same
defaults), deploy-control.yaml is evaluated exactly as `gitops deploy` evaluates it, for the
environment and then each service, and the objects of the services it blocks (label
app.kubernetes.io/name: <service>) are `skipped`, as the deploy skips them; nothing is sent for
them. Without them the gate is not evaluated, every object is compared, and the output says so.

Secrets: a key is "changed", "unchanged" or "unknown", nothing more; no value, and no hash of
one, appears in any output. Without the Secret values (a preview job holds only the read-only
kubeconfig) the Secrets keep their placeholders and their keys are "unknown".
"""

EPILOG = f"""\
examples:
  # what would a deploy of prod change now?
  gitops diff --environment prod --kubeconfig ~/.kube/prod

  # in a drift check: exit 2 when the cluster differs from Git
  gitops diff --environment dev --kubeconfig-env KUBECONFIG_READONLY --exit-code

  # what the deploy job of a push to main would do, services blocked by the gate left out
  gitops diff --environment prod --kubeconfig ~/.kube/prod --event push --ref main

  # the JSON other tools read
  gitops diff --environment test --format json | jq '.objects[] | select(.action != "unchanged")'

defaults: --overlay infra/k8s/hetzner/<environment>, --mode auto (server-dry-run, else client
when the API server forbids the dry run), --field-manager gitops.
{KUBECONFIG_HELP}
exit codes: 0 (also when something would change); with --exit-code, 2 when a deploy would
create, update, re-create or refuse anything (objects the gate skips never count); 1 bad input
(a policy file the gate cannot read included) or an unreachable cluster.
"""

ICONS = {
    DiffAction.CREATE: ":new:",
    DiffAction.UPDATE: ":pencil2:",
    DiffAction.UNCHANGED: ":white_check_mark:",
    DiffAction.RECREATE: ":recycle:",
    DiffAction.REFUSE: ":no_entry:",
    DiffAction.LEFT_BEHIND: ":wastebasket:",
    DiffAction.UNKNOWN: ":grey_question:",
    DiffAction.SKIPPED: ":no_entry_sign:",
}
HEADERS = ("object", "action", "what")


DIFF_REQUEST_BUDGET = 40  # the verb's time limit in units of --request-timeout

EXIT_CODE = options.Switch("--exit-code", "exit 2 when a deploy would change anything", input="exit-code")
GATE = options.Switch(
    "--gate",
    "evaluate the deploy gate as `gitops deploy` would (implied by any other gate flag) and show the "
    "objects of the services it blocks as skipped",
    input="gate",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("what to compare")
    options.add_environment(
        group, help="the environment, e.g. prod (names the report and the default overlay)"
    )
    options.add_overlay(group, help="overlay to compare (default: infra/k8s/hetzner/<environment>)")
    options.add_secret_map(group)
    options.add_placeholder(group)
    gate = p.add_argument_group(
        "the deploy gate (optional: without these flags it is not evaluated and every object is compared)"
    )
    GATE.add(gate)
    options.add_gate_flags(gate)
    options.add_kube_args(p)
    how = p.add_argument_group("how")
    options.add(
        how,
        "--mode",
        input="mode",
        metavar="auto|server-dry-run|client",
        help="server-dry-run asks the API server; client compares here; auto (default) dry-runs and "
        "falls back to client when the credentials may not",
    )
    options.add_namespace_and_field_manager(how)
    EXIT_CODE.add(how)
    options.add(
        how,
        "--title",
        input="title",
        metavar="TEXT",
        help="heading of the job summary (default: 'gitops diff <environment>')",
    )


def run(args: argparse.Namespace) -> int:
    from gitops.operations.diffing import MODES, DiffRequest, diff

    environment = options.environment_name(args.environment)
    mode = args.mode.strip() or "auto"
    if mode not in MODES:
        raise ConfigurationError(
            f"{options.label('--mode', 'mode')} must be one of {', '.join(MODES)}, not {mode!r}",
            key="--mode",
            title="Invalid arguments",
            hint="leave it out (auto) unless you want to force one way",
        )
    exit_code = EXIT_CODE.read(args)
    gate = options.gate_request(args) if GATE.read(args) or options.gate_flags_given(args) else None
    request = DiffRequest(
        environment=environment,
        overlay=Path(args.overlay.strip() or f"infra/k8s/hetzner/{environment}"),
        source=options.kube_source(args),
        request_timeout=options.REQUEST_TIMEOUT.read(args),
        field_manager=args.field_manager.strip() or "gitops",
        namespace=args.namespace.strip() or None,
        mode=mode,
        placeholder=options.placeholder(args),
        secret_map=options.secret_map(args),
        claim_command=options.claim_command(args, environment),
        gate=gate,
    )
    # A diff only reads and dry-runs: its time limit is a budget of requests (no waits).
    deadline.limit_verb_to({}, request.request_timeout, requests=DIFF_REQUEST_BUDGET)
    report = diff(request)
    title = args.title.strip() or f"gitops diff {environment}"
    publish(report, title)
    emit(args.format, report.to_json(), lambda: human(report, title))
    return report.exit_code(exit_code=exit_code)


# -- output ----------------------------------------------------------------------------------------


def _counts(report: DiffReport) -> str:
    return ", ".join(f"{n} {a}" for a, n in report.counts().items() if n) or "nothing rendered"


def headline(report: DiffReport, title: str) -> str:
    """``gitops diff prod: 2 of 14 objects would change (1 update, 1 recreate, 12 unchanged)``;
    the objects the gate skips are counted apart, and a deploy the gate blocks says so first."""
    blocker = report.gate.blocker if report.gate is not None else None
    if blocker is not None:
        check = blocker[0].blocked_by
        name = check.name if check else "the gate"
        return f"{title}: BLOCKED by {name}{blocker[1]}, a deploy applies nothing ({_counts(report)})"
    deployed = [o for o in report.objects if o.action not in (DiffAction.LEFT_BEHIND, DiffAction.SKIPPED)]
    changed = len(report.changes)
    verdict = f"{changed} of {len(deployed)} object(s) would change" if changed else "no change"
    return f"{title}: {verdict} ({_counts(report)})"


def gate_lines(report: DiffReport) -> tuple[str, list[tuple[str, str]]]:
    """What the deploy gate decided: one line (evaluated or not, for which event and instant,
    allowed or what blocks it), then one line per service it leaves out, in the gate's words."""
    gate = report.gate
    if gate is None:
        return (
            "not evaluated (no gate inputs): every rendered object is compared as if deploy-control.yaml "
            "allowed every service, but gitops deploy leaves out the services it blocks; give --gate or "
            "the gate's flags (--event, --ref, --override, ...) to see what a deploy would skip",
            [],
        )
    d = gate.decision
    kind = "automatic" if d.automatic else "manual"
    ref = f", ref {d.ref}" if d.ref else ""
    how = f"{d.event}, {kind}{ref}, at {fmt_local(d.at, d.timezone)}"
    blocker = gate.blocker
    if blocker is not None:
        return f"BLOCKED ({how}){blocker[1]}: {reason(blocker[0])}; a deploy applies nothing", []
    if not gate.skipped:
        return f"allowed ({how}) for every service", []
    left_out = [(name, reason(gate.services[name])) for name in gate.skipped]
    return f"allowed ({how}); a deploy leaves out {', '.join(gate.skipped)}", left_out


def _mode_line(report: DiffReport) -> str:
    if report.mode is Mode.SERVER:
        return "server-side dry run (the API server answered for every object; nothing was written)"
    return "client-side comparison on the fields gitops manages (the credentials may not dry-run)"


def _what(o: ObjectDiff, gate: DeployGate | None) -> str:
    """The table's last column: the fields, the re-create, the reason; Secret keys by state."""
    if o.action is DiffAction.SKIPPED and gate is not None:  # the gate's words are in the gate lines
        who, decision = gate.blocking(o.service)
        check = decision.blocked_by if decision is not None else None
        return f"{who} blocked by the deploy gate ({check.name if check else 'blocked'})"
    if o.recreate is not None:
        text = o.headline.split(" with ", 1)[-1]
        text = f"with {text}" if text != o.headline else text
    elif o.action is DiffAction.UPDATE:
        text = ", ".join(o.fields) or (o.message or "")
    elif o.action in (DiffAction.REFUSE, DiffAction.UNKNOWN, DiffAction.LEFT_BEHIND, DiffAction.SKIPPED):
        text = o.message or ""
    else:
        text = ""
    if o.secret_keys and o.action is not DiffAction.UNCHANGED:
        # A Secret's keys by state (never a value); the unchanged ones are not worth a mention.
        states = {
            state: [k for k, v in o.secret_keys.items() if v == state] for state in ("changed", "unknown")
        }
        keys = "; ".join(f"keys {state}: {', '.join(names)}" for state, names in states.items() if names)
        text = (
            keys
            if o.action in (DiffAction.UPDATE, DiffAction.CREATE)
            else f"{text}; {keys}"
            if text
            else keys
        )
    if o.growth is not None and o.growth.resize:
        text += f"; grow {', '.join(map(str, o.growth.resize))}"
    return text


def _row(o: ObjectDiff, gate: DeployGate | None) -> list[object]:
    return [str(o.ref), o.action.value, _what(o, gate)]


def _quiet(o: ObjectDiff) -> bool:
    """Folded away in the summary: unchanged objects, and the skipped ones (the gate line says why)."""
    return (o.action is DiffAction.UNCHANGED and not o.warnings) or o.action is DiffAction.SKIPPED


def human(report: DiffReport, title: str) -> str:
    gate, left_out = gate_lines(report)
    lines = [
        f"{headline(report, title)} on {report.cluster['host']} [{report.cluster['context']}]",
        f"mode: {report.mode.value}: {_mode_line(report)}",
        f"deploy gate: {gate}",
        *(f"  {name}: {why}" for name, why in left_out),
        "",
        text_table(HEADERS, [_row(o, report.gate) for o in report.objects]),
    ]
    for o in report.objects:
        if o.action is DiffAction.RECREATE:
            lines += ["", o.headline]
        if o.action in (DiffAction.REFUSE, DiffAction.UNKNOWN, DiffAction.LEFT_BEHIND) and (
            o.message or o.hint
        ):
            lines += ["", f"{o.action.value.upper()} {o.ref}: {o.message or ''}"]
            if o.hint:
                lines.append(f"  what to do: {o.hint}")
        lines += [f"  warning: {w}" for w in o.warnings]
        if o.diff and o.action.changes:
            lines += ["", o.diff]
    lines += ["", *[f"note: {n}" for n in report.notes]] if report.notes else []
    return "\n".join(lines)


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text`` (a ConfigMap may hold some)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def summary_markdown(report: DiffReport, title: str) -> str:
    """Headline first, then what would change (with each object's diff folded), then the rest."""
    icon = ":warning:" if any(o.action is DiffAction.REFUSE for o in report.objects) else ":mag:"
    gate, left_out = gate_lines(report)
    parts = [
        f"### {icon} {headline(report, title)}",
        "",
        f"Cluster `{report.cluster['host']}` (context `{report.cluster['context']}`), overlay "
        f"`{report.source}`. Mode **{report.mode.value}**: {_mode_line(report)}.",
        "",
        f"Deploy gate: {gate}.",
        "",
        *(f"- :no_entry_sign: `{name}`: {why}" for name, why in left_out),
        *([""] if left_out else []),
    ]
    shown = [o for o in report.objects if not _quiet(o)]
    quiet = [o for o in report.objects if _quiet(o)]
    if shown:
        parts.append(
            markdown_table(
                HEADERS,
                [[f"{ICONS[o.action]} `{o.ref}`", o.action.value, _what(o, report.gate)] for o in shown],
            )
        )
    for o in shown:
        details = [f"- **{o.headline}**"] if o.recreate is not None else []
        details += [f"- :warning: {w}" for w in o.warnings]
        if o.hint and o.action in (DiffAction.REFUSE, DiffAction.LEFT_BEHIND, DiffAction.UNKNOWN):
            details.append(f"- **What to do:** {o.hint}")
        if o.action in (DiffAction.REFUSE, DiffAction.UNKNOWN, DiffAction.LEFT_BEHIND) and o.message:
            details.insert(0, f"- {o.message}")
        if o.diff and o.action.changes:
            fence = _fence(o.diff)
            details += ["", f"{fence}diff", o.diff, fence] if details else [f"{fence}diff", o.diff, fence]
        if details:
            parts += [
                f"<details><summary>{o.action.value} <code>{o.ref}</code></summary>",
                "",
                *details,
                "",
                "</details>",
                "",
            ]
    for what, folded in (
        ("unchanged object(s)", [o for o in quiet if o.action is DiffAction.UNCHANGED]),
        (
            "object(s) skipped by the deploy gate (above: why)",
            [o for o in quiet if o.action is DiffAction.SKIPPED],
        ),
    ):
        if folded:
            parts += [
                f"<details><summary>{len(folded)} {what}</summary>",
                "",
                ", ".join(f"`{o.ref}`" for o in folded),
                "",
                "</details>",
                "",
            ]
    if report.notes:
        parts += [*(f"> {n}" for n in report.notes), ""]
    return "\n".join(parts) + "\n"


def publish(report: DiffReport, title: str) -> None:
    """Step outputs and the job summary (every text passes the runner's redaction)."""
    console = runner.current()
    data = report.to_json()
    console.set_output("mode", report.mode.value)
    console.set_output("changed", str(len(report.changes)))
    console.set_output("counts", json.dumps(report.counts(), separators=(",", ":")))
    console.set_output("skipped-services", json.dumps(report.gate.skipped if report.gate else []))
    console.set_output("report", console.redact(json.dumps(data, separators=(",", ":"))))
    console.summary(summary_markdown(report, title))
