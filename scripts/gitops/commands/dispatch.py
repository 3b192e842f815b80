"""``gitops dispatch``: start a workflow with ``workflow_dispatch`` and, optionally, wait for its conclusion.

The use case, and how the run is found when GitHub does not return it, is
:mod:`gitops.operations.dispatching`; this module parses the flags and reports.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from gitops.adapters import deadline, runner
from gitops.commands import options
from gitops.commands import output as report
from gitops.core import workflow_dispatch as wd
from gitops.errors import EXIT_DEPLOY_FAILED
from gitops.operations import dispatching
from gitops.operations.dispatching import DispatchRequest

# The verb's time limit beyond its waits, in units of --request-timeout: a dispatch sends a handful
# of requests besides its polls (workflows, ref, the dispatch, the run), some of them retried.
DISPATCH_REQUEST_BUDGET = 20

DESCRIPTION = """\
Dispatch a workflow (`on: workflow_dispatch`) on a branch or tag, with inputs, and print the
run's id and URL. With --wait, follow the run until it completes and exit 0 only if it
concluded `success`; every other conclusion (failure, cancelled, timed_out, action_required,
startup_failure, stale, neutral, skipped) exits 2 with a sentence saying what it means.

Token: GH_TOKEN or GITHUB_TOKEN. In the same repository the workflow's GITHUB_TOKEN works when
the job grants `permissions: actions: write` (runs it starts DO trigger workflow_dispatch);
for another repository use a personal access token (fine-grained: "Actions: Read and write")
or a GitHub App (--app-id).

Finding the run when GitHub cannot return it (GitHub Enterprise Server, or a 5xx on the
dispatch): declare an input `dispatch_id` in the target workflow and put it in its `run-name`
(e.g. `run-name: "Deploy ${{ inputs.environment }} ${{ inputs.dispatch_id }}"`); gitops sends a
fresh id and picks the run whose title carries it. Without it, the run is the oldest
workflow_dispatch run of that workflow on that ref created since the dispatch.
"""

EPILOG = """\
examples:
  gitops dispatch --repo acme/platform --workflow deploy-k8s-resources.yml --ref main \\
      -f environment=dev -f triggered_by=hetzner-k8s
  gitops dispatch --workflow "Deploy Kubernetes resources" --ref main \\
      --inputs '{"environment": "prod", "dry_run": false}' --wait --timeout 1800

outputs (in Actions): run-id, run-url, conclusion (empty without --wait).
exit codes: 0 dispatched (with --wait: concluded success); 1 nothing dispatched (bad input,
unknown or disabled workflow, unknown ref, permission); 2 the run did not succeed, the wait
timed out, or GitHub failed and the run cannot be found.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    options.add(
        p,
        "--workflow",
        input="workflow",
        default=None,
        metavar="FILE|NAME|ID",
        help="the workflow: file name (deploy.yml), path, display name, or numeric id",
    )
    options.add(
        p,
        "--ref",
        input="ref",
        default=None,
        metavar="REF",
        help="branch or tag to run the workflow from: main, refs/heads/main, refs/tags/v1.2.0 "
        "(default: $GITHUB_REF_NAME)",
    )
    p.add_argument(
        "-f",
        "--field",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="one workflow input (repeatable)",
    )
    options.add(
        p,
        "--inputs",
        input="inputs",
        default=None,
        metavar="JSON",
        help='inputs as one JSON object of strings, booleans or numbers, e.g. \'{"environment": "dev"}\'',
    )
    WAIT.add(p)
    WAIT_TIMEOUT.add(p)
    POLL_INTERVAL.add(p)
    FIND_TIMEOUT.add(p)
    options.add_repo_and_app(p)


WAIT = options.Switch("--wait", "wait for the run to complete; exit 0 only on success", input="wait")
WAIT_TIMEOUT = options.Duration(
    "--timeout",
    "with --wait: give up waiting after this long; the run keeps running",
    input="timeout",
    default=1800.0,
)
POLL_INTERVAL = options.Duration(
    "--poll-interval", "seconds between status checks while waiting", input="poll-interval", default=10.0
)
FIND_TIMEOUT = options.Duration(
    "--find-timeout", "how long to look for the run when GitHub does not return it", default=60.0
)


def settings(args: argparse.Namespace) -> DispatchRequest:
    inputs = wd.parse_inputs(args.inputs, args.field)  # first: a bad input must not even need a token
    access = options.github_access(args)
    workflow = options.require(args.workflow, "--workflow", "deploy-k8s-resources.yml")
    ref = options.require(args.ref or runner.current().env("GITHUB_REF_NAME"), "--ref", "main")
    ref_name, ref_kind = wd.split_ref(ref)
    return DispatchRequest(
        access=access,
        workflow=workflow,
        ref=ref,
        ref_name=ref_name,
        ref_kind=ref_kind,
        inputs=inputs,
        wait=WAIT.read(args),
        timeout=WAIT_TIMEOUT.read(args),
        poll_interval=POLL_INTERVAL.read(args),
        find_timeout=FIND_TIMEOUT.read(args),
    )


def run(args: argparse.Namespace) -> int:
    from gitops.adapters.github import GitHubUnavailable

    request = settings(args)
    waits = {"--find-timeout": request.find_timeout}
    if request.wait:
        waits["--timeout"] = request.timeout
    deadline.limit_verb_to(waits, request.access.request_timeout, requests=DISPATCH_REQUEST_BUDGET)
    try:
        outcome = dispatching.dispatch(request, on_dispatched=lambda found: _announce(request, found))
    except GitHubUnavailable as exc:
        runner.current().error(exc.message, title="GitHub unavailable")
        return EXIT_DEPLOY_FAILED
    data = _data(request, outcome)
    console = runner.current()
    console.set_output("conclusion", str(outcome.conclusion or ""))
    console.summary(_summary(data))
    report.emit(args.format, data, lambda: _table(data))
    return EXIT_DEPLOY_FAILED if request.wait and outcome.succeeded is not True else 0


def _announce(request: DispatchRequest, outcome: dispatching.Outcome) -> None:
    """The run is known: say so, and put its id in the outputs before any wait."""
    console, run = runner.current(), outcome.run
    if run.note:
        console.warning(run.note, title="Dispatch")
    console.log(
        f"dispatched {outcome.workflow.get('path')} on {request.ref}: run {run.run_id or '(unknown)'} "
        f"{run.html_url}".rstrip()
    )
    console.set_output("run-id", str(run.run_id or ""))
    console.set_output("run-url", run.html_url)


def _data(request: DispatchRequest, outcome: dispatching.Outcome) -> dict[str, Any]:
    """The ``gitops dispatch`` JSON."""
    workflow = outcome.workflow
    data: dict[str, Any] = {
        "repository": request.repo.full,
        "workflow": {"id": workflow.get("id"), "name": workflow.get("name"), "path": workflow.get("path")},
        "ref": request.ref,
        "inputs": outcome.inputs,
        "run_id": outcome.run.run_id,
        "run_url": outcome.run.html_url,
        "api_url": outcome.run.api_url,
        "found_by": outcome.run.how,
        "status": outcome.status,
        "conclusion": outcome.conclusion,
        "succeeded": outcome.succeeded,
    }
    if outcome.waited_seconds is not None:
        data["waited_seconds"] = outcome.waited_seconds
    if outcome.wait_timed_out:
        data["wait_timed_out"] = True
    return data


# -- presenting ----------------------------------------------------------------------------------


def _summary(data: Mapping[str, Any]) -> str:
    wf = data["workflow"]
    what = f"{wf['name'] or wf['path']} on {data['ref']}"
    run = f"run {data['run_id']}" if data["run_id"] else "run not identified"
    if data["succeeded"] is True:
        head = f":white_check_mark: {what}: {run} succeeded"
    elif data["succeeded"] is False:
        outcome = (
            f"concluded {data['conclusion']}"
            if data.get("conclusion")
            else f"still {data['status']} when the wait timed out"
        )
        head = f":x: {what}: {run} {outcome}"
    else:
        head = f":rocket: Dispatched {what}: {run}"
    run_cell = (
        f"[{data['run_id']}]({data['run_url']})"
        if data["run_id"] and data["run_url"]
        else str(data["run_id"] or "unknown")
    )
    rows: list[tuple[str, object]] = [
        ("Workflow", f"{wf['name']} (`{wf['path']}`)"),
        ("Repository", data["repository"]),
        ("Ref", data["ref"]),
        ("Run", run_cell),
        ("Inputs", ", ".join(f"`{k}`={report.plain(str(v))}" for k, v in data["inputs"].items()) or "none"),
    ]
    if data["found_by"] not in ("return_run_details",):
        rows.append(("Run found by", data["found_by"]))
    if data["conclusion"] is not None or data.get("wait_timed_out"):
        rows.append(("Conclusion", data["conclusion"] or f"still {data['status']} (wait timed out)"))
    return f"### {head}\n\n" + report.markdown_table(["", ""], rows)


def _table(data: Mapping[str, Any]) -> str:
    wf = data["workflow"]
    rows: list[tuple[str, object]] = [
        ("workflow", f"{wf['name']} ({wf['path']}, id {wf['id']})"),
        ("ref", data["ref"]),
        ("run", f"{data['run_id'] or 'unknown'} {data['run_url']}".strip()),
        ("found by", data["found_by"]),
        ("inputs", ", ".join(f"{k}={v}" for k, v in data["inputs"].items()) or "-"),
    ]
    if data["status"] is not None:
        rows.append(("status", data["status"]))
        rows.append(("conclusion", data["conclusion"] or "-"))
    return report.text_table(["field", "value"], rows)
