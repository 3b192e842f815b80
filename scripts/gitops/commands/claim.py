"""``gitops claim``: bind the cluster a kubeconfig reaches to one environment.

The use case is :func:`gitops.operations.cluster_binding.claim_cluster`; this module parses the
flags and says what happened.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from gitops.adapters import runner
from gitops.commands import options
from gitops.commands.apply import connection
from gitops.commands.output import emit
from gitops.core.cluster_identity import DELETE_COMMAND, IDENTITY, NAMESPACE
from gitops.errors import EXIT_OK
from gitops.operations import cluster_binding
from gitops.operations.cluster_binding import ClaimOutcome, ClaimRequest, HandoverRequest

DESCRIPTION = f"""\
Bind the cluster a kubeconfig reaches to one environment: write its identity record, the
ConfigMap {NAMESPACE}/{IDENTITY} with data.environment = ENV. Every `gitops deploy` reads it
before its first write and refuses a cluster that belongs to another environment, or to none.

The cluster workflow (hetzner-k8s.yml) binds every cluster it creates or updates; run this once
for a cluster you manage by hand (or deploy with --claim). Claiming a cluster that already names
the environment changes nothing; one that names ANOTHER environment is refused (exit 1): moving a
cluster between environments is done by deleting the record by hand first
({DELETE_COMMAND}).

--handover WORKFLOW (the cluster workflow uses it): also decide whether the AUTOMATIC deploy of
WORKFLOW it dispatches next would deploy anything (deploy-control.yaml's auto_deploy, branch and
windows), and if not, say so in the summary with the exact manual dispatch to run. Output
`deploy-allowed` is 'true' or 'false'.
"""

EPILOG = f"""\
examples:
  # a hand-managed cluster becomes prod's
  gitops claim --environment prod --kubeconfig ~/.kube/prod.yaml

  # what would it do?
  gitops claim --environment prod --kubeconfig ~/.kube/prod.yaml --dry-run

{options.KUBECONFIG_HELP}
Reading the record needs `get` on that one ConfigMap; claiming needs `create` on ConfigMaps in
{NAMESPACE} (and on Namespaces, if {NAMESPACE} does not exist yet).
JSON: {{"environment","cluster","identity":{{"environment","claimed_at","claimed_by","via","repository"}},
       "created","dry_run","handover":{{"dispatch","headline","lines"}}|null}}
exit codes: 0 bound (now or already); 1 bound to another environment, the API server refused or
did not answer (nothing was claimed), or bad input.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("claim")
    options.add_environment(
        group,
        help="the environment the cluster belongs to, a key of `environments:` in the policy, e.g. prod",
    )
    options.DRY_RUN.add(group)
    handover = p.add_argument_group("handover to the deploy workflow (the cluster workflow)")
    options.add(
        handover,
        "--handover",
        input="handover",
        metavar="WORKFLOW",
        help="the deploy workflow the cluster workflow dispatches next, e.g. deploy-k8s-resources.yml",
    )
    options.add(
        handover,
        "--control",
        input="control-file",
        metavar="FILE",
        help="the policy file (default: infra/deploy-control.yaml)",
    )
    options.add_kube_args(p)


def run(args: argparse.Namespace) -> int:
    environment = options.environment_name(args.environment, "prod")
    console = runner.current()
    via = "gitops claim"
    if console.env("GITHUB_RUN_ID"):
        via += f" in {console.env('GITHUB_WORKFLOW') or 'a workflow'} run {console.env('GITHUB_RUN_ID')}"
    request = ClaimRequest(
        environment=environment,
        connection=connection(args),
        claimed_by=options.triggering_actor() or options.run_actor(),
        via=via,
        repository=console.env("GITHUB_REPOSITORY"),
        dry_run=options.DRY_RUN.read(args),
        claim_command=options.claim_command(args, environment),
    )
    outcome = cluster_binding.claim_cluster(request, _handover(args, environment))
    data = _data(environment, outcome)
    console.set_output("claimed", "true" if outcome.claim.created else "false")
    if outcome.handover is not None:
        console.set_output("deploy-allowed", "true" if outcome.handover.dispatch else "false")
    console.set_output("claim", json.dumps(data, separators=(",", ":")))
    console.summary(_summary(data))
    if outcome.handover is not None and not outcome.handover.dispatch:
        console.warning(outcome.handover.headline, title=f"Cluster {environment}: nothing deployed")
    emit(args.format, data, lambda: _human(data))
    return EXIT_OK


def _handover(args: argparse.Namespace, environment: str) -> HandoverRequest | None:
    from datetime import UTC, datetime
    from pathlib import Path

    from gitops.core.policy_schema import DEFAULT_PATH
    from gitops.operations.gating import GateRequest

    workflow = args.handover.strip()
    if not workflow:
        return None
    console = runner.current()
    ref = console.env("GITHUB_REF_NAME") or console.env("GITHUB_REF").removeprefix("refs/heads/") or "main"
    server = console.env("GITHUB_SERVER_URL") or "https://github.com"
    repository = console.env("GITHUB_REPOSITORY") or "OWNER/REPO"
    gate = GateRequest(
        environment=environment,
        control=Path(args.control.strip() or DEFAULT_PATH),
        event="workflow_dispatch",
        ref=f"refs/heads/{ref}",
        at=datetime.now(UTC),
        automatic=True,  # what the cluster workflow sends: triggered_by hetzner-k8s
    )
    return HandoverRequest(workflow, gate, f"{server}/{repository}/actions", ref)


def _data(environment: str, outcome: ClaimOutcome) -> dict[str, Any]:
    handover = outcome.handover
    return {
        "environment": environment,
        "cluster": outcome.host,
        **outcome.claim.to_json(),
        "handover": None
        if handover is None
        else {"dispatch": handover.dispatch, "headline": handover.headline, "lines": list(handover.lines)},
    }


def _what(data: dict[str, Any]) -> str:
    identity = data["identity"]
    if data["created"]:
        return f"the cluster at {data['cluster']} is now {data['environment']}'s (identity record written)"
    if not data["existed"]:
        return f"dry run: the cluster at {data['cluster']} would be bound to {data['environment']}"
    claimed = identity["claimed_at"] or "earlier"
    return f"the cluster at {data['cluster']} already is {data['environment']}'s (claimed {claimed})"


def _summary(data: dict[str, Any]) -> str:
    lines = [f"### :link: gitops claim {data['environment']}: {_what(data)}", ""]
    handover = data["handover"]
    if handover is not None:
        icon = ":rocket:" if handover["dispatch"] else ":warning:"
        lines += [f"#### {icon} {handover['headline']}", "", *handover["lines"], ""]
    return "\n".join(lines)


def _human(data: dict[str, Any]) -> str:
    lines = [f"gitops claim {data['environment']}: {_what(data)}"]
    handover = data["handover"]
    if handover is not None:
        lines += ["", handover["headline"], *handover["lines"]]
    return "\n".join(lines)
