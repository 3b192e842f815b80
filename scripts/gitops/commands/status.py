"""``gitops status``: what is deployed in each environment, read from its cluster's deploy record.

The use case is :mod:`gitops.operations.deploy_status`; this module parses the flags and prints.
The rows of one environment's history are also the "what runs now" section of the deploy summary
(:func:`history_markdown`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from gitops.adapters import runner
from gitops.commands import options
from gitops.commands.output import emit, markdown_table, text_table
from gitops.core.deploy_record import DeployEntry
from gitops.core.inputs import parse_seconds
from gitops.errors import EXIT_OK, ConfigurationError
from gitops.operations import deploy_status
from gitops.operations.deploy_status import EnvironmentStatus

DESCRIPTION = """\
Show what is deployed in each environment: the commit, when, by whom, how it was started, its
result and any emergency override, read from the deploy record every `gitops deploy` keeps in
its cluster (ConfigMap gitops-system/gitops-deploy-record). Nothing is written.

Each environment's cluster is reached with --cluster ENV=PATH, else with the kubeconfig_path of
its Hetzner cluster config (infra/k8s/hetzner/<env>/cluster/cluster-config.yaml) when that file
exists. With --kubeconfig/--kubeconfig-env, only the one cluster it reaches is shown, under the
environment its identity record names. A cluster that belongs to another environment, or that
cannot be reached, is said so; it never counts as the environment's state.
"""

EPILOG = """\
examples:
  # every environment of the policy, through the kubeconfigs hetzner-k3s wrote
  gitops status

  # one cluster, e.g. in a workflow step with the environment's KUBECONFIG secret
  gitops status --kubeconfig-env KUBECONFIG_DATA

  # prod through an explicit kubeconfig, with its last 10 deploys
  gitops status --environment prod --cluster prod=~/.kube/prod.yaml --history 10

JSON: {"environments":[{"environment","kubeconfig","reached","problem","identity",
        "deployed":<entry>|null,"latest":<entry>|null,"history":[<entry>...]}]}
where <entry> is {"commit","ref","event","actor","triggering_actor","started_at",
"finished_at","result","automatic","override","older_than","gate","run_url","changed",...}.
`deployed` is the last successful deploy; `latest` the newest one, whatever its result.
Exit 0 (also when a cluster cannot be reached: the row says why); 1 for bad arguments.
"""

HEADERS = ("ENV", "RUNS", "SINCE", "BY", "HOW", "OVERRIDE", "LATEST DEPLOY", "NOTE")
HISTORY_HEADERS = ("STARTED", "COMMIT", "REF", "BY", "HOW", "RESULT", "OVERRIDE")


def add_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_argument_group("which environments")
    which.add_argument(
        "--environment",
        "--env",
        dest="environments",
        action="append",
        default=[],
        metavar="ENV",
        help="an environment to show (repeatable; default: every environment of the policy)",
    )
    which.add_argument(
        "--cluster",
        action="append",
        default=[],
        metavar="ENV=PATH",
        help="the kubeconfig of ENV's cluster (repeatable; default: its cluster config's kubeconfig_path)",
    )
    which.add_argument(
        "--control", default="", metavar="FILE", help="the policy file (default: infra/deploy-control.yaml)"
    )
    which.add_argument("--infra", default="infra", metavar="DIR", help="the infra directory (default: infra)")
    p.add_argument(
        "--history", type=int, default=5, metavar="N", help="deploys to list per environment (default: 5)"
    )
    options.add_kube_args(p)


def run(args: argparse.Namespace) -> int:
    if args.history < 0:
        raise ConfigurationError("--history must be 0 or more", key="--history", hint="e.g. --history 10")
    for name in args.environments:
        options.environment_name(name)  # a name the policy could hold, not a path or a line break
    timeout = parse_seconds(args.request_timeout, "--request-timeout", deploy_status.STATUS_TIMEOUT)
    if args.kubeconfig.strip() or args.kubeconfig_env.strip():
        found = _one_cluster(args, timeout)
    else:
        environments = args.environments or _policy_environments(args)
        found = deploy_status.statuses(
            environments, Path(args.infra), cluster_kubeconfigs(args.cluster), timeout
        )
    data = {"environments": [s.to_json(args.history) for s in found]}
    console = runner.current()
    console.summary(summary_markdown(found, args.history))
    console.set_output("status", json.dumps(data, separators=(",", ":")))
    emit(args.format, data, lambda: human(found, args.history))
    return EXIT_OK


def _one_cluster(args: argparse.Namespace, timeout: float) -> list[EnvironmentStatus]:
    source = options.kube_source(args)
    if len(args.environments) > 1:
        raise ConfigurationError(
            "one kubeconfig reaches one cluster: give at most one --environment with --kubeconfig",
            key="--environment",
            hint="use --cluster ENV=PATH once per environment instead",
        )
    if args.environments:
        return [deploy_status.read(args.environments[0], source, source.describe(), timeout)]
    return [deploy_status.read_cluster(source, source.describe(), timeout)]


def _policy_environments(args: argparse.Namespace) -> list[str]:
    from gitops.core.policy_schema import DEFAULT_PATH

    return deploy_status.policy_environments(Path(args.control) if args.control else DEFAULT_PATH)


def cluster_kubeconfigs(pairs: Sequence[str]) -> dict[str, Path]:
    """``--cluster ENV=PATH`` flags (also ``gitops plan``'s) as environment -> kubeconfig."""
    found: dict[str, Path] = {}
    for pair in pairs:
        environment, sep, path = pair.partition("=")
        if not sep or not environment.strip() or not path.strip():
            raise ConfigurationError(
                f"--cluster {pair!r} is not ENV=PATH",
                key="--cluster",
                hint="e.g. --cluster prod=~/.kube/prod.yaml",
            )
        found[environment.strip()] = Path(path.strip()).expanduser()
    return found


# -- one deploy in words ---------------------------------------------------------------------------


def when(stamp: str | None) -> str:
    """``2026-11-26 10:02 UTC`` from the record's ``2026-11-26T10:02:03Z``."""
    if not stamp:
        return "-"
    return stamp.replace("T", " ")[:16] + " UTC"


def who(entry: DeployEntry) -> str:
    """``alice``, or ``bob (re-ran alice's run)`` when the triggering actor differs."""
    actor, triggering = entry.actor or "?", entry.triggering_actor or entry.actor or "?"
    return triggering if triggering == actor else f"{triggering} (re-ran {actor}'s run)"


def how(entry: DeployEntry) -> str:
    """``push, automatic`` / ``workflow_dispatch, manual``; ``ROLLBACK`` for a deliberate older commit."""
    text = f"{entry.event or '?'}, {'automatic' if entry.automatic else 'manual'}"
    return text + (f", ROLLBACK from {entry.older_than[:12]}" if entry.older_than else "")


def override_text(entry: DeployEntry) -> str:
    if not entry.override:
        return "-"
    reason = entry.override.get("reason") or "(no reason)"
    return f"{reason} (by {entry.override.get('actor') or '?'})"


def history_rows(entries: Sequence[DeployEntry]) -> list[list[str]]:
    return [
        [when(e.started_at), e.commit[:12], e.ref.removeprefix("refs/heads/") or "-", who(e), how(e),
         e.result, override_text(e)]
        for e in entries
    ]  # fmt: skip


def history_markdown(entries: Sequence[DeployEntry]) -> str:
    return markdown_table(HISTORY_HEADERS, history_rows(entries))


# -- the table -------------------------------------------------------------------------------------


def _row(status: EnvironmentStatus) -> list[str]:
    history = status.history
    current = history.last_successful if history else None
    latest = history.latest if history else None
    note = status.problem or ""
    if history is not None and current is None and not note:
        note = "nothing deployed with gitops yet"
    latest_text = "-"
    if latest is not None and (current is None or latest.id != current.id):
        latest_text = f"{latest.result} {latest.commit[:12]} {when(latest.started_at)}"
    if current is None:
        return [status.environment, "-", "-", "-", "-", "-", latest_text, note]
    return [
        status.environment,
        current.commit[:12],
        when(current.finished_at or current.started_at),
        who(current),
        how(current),
        override_text(current),
        latest_text,
        note,
    ]


def _headline(found: Sequence[EnvironmentStatus]) -> str:
    reached = sum(1 for s in found if s.reached)
    return f"gitops status: {reached} of {len(found)} environment{'s' if len(found) != 1 else ''} reached"


def human(found: Sequence[EnvironmentStatus], limit: int) -> str:
    lines = [_headline(found), "", text_table(HEADERS, [_row(s) for s in found])]
    for status in found:
        if status.history is None or limit == 0 or not status.history.deploys:
            continue
        lines += ["", f"{status.environment}: last {limit} deploys (newest first)"]
        lines.append(text_table(HISTORY_HEADERS, history_rows(status.history.recent(limit))))
    return "\n".join(lines)


def summary_markdown(found: Sequence[EnvironmentStatus], limit: int) -> str:
    parts = [f"### {_headline(found)}", "", markdown_table(HEADERS, [_row(s) for s in found])]
    for status in found:
        if status.history is None or limit == 0 or not status.history.deploys:
            continue
        parts += [
            f"<details><summary>{status.environment}: last {limit} deploys</summary>",
            "",
            history_markdown(status.history.recent(limit)),
            "</details>",
            "",
        ]
    return "\n".join(parts)
