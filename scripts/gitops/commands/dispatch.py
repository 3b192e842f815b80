"""``gitops dispatch``: start a workflow with ``workflow_dispatch`` and, optionally, wait for its conclusion.

Before dispatching, everything that would make GitHub refuse is checked and reported with
nothing sent: the inputs (JSON object of strings/booleans/numbers, ``-f KEY=VALUE``), the
workflow (by file name, name or id; a disabled one is refused, a missing one lists the
available ones), the ref (an existing branch or tag), and the workflow file at that ref
(``on: workflow_dispatch`` present, inputs declared, required ones given).

The POST asks for ``return_run_details`` (GitHub answers 200 with the run's id and URLs).
GitHub Enterprise Server versions that reject that field (400/422 naming it) get the same POST
once more without it, and the run is then found by listing runs; see
:mod:`gitops.core.workflow_dispatch` for how (``dispatch_id`` input, else a documented
heuristic). A 5xx or a lost connection on the POST is NEVER answered with another POST: GitHub
may have started the run anyway, so we look for it for ``--find-timeout`` seconds and fail
(exit 2) only if it does not appear, saying that it may still appear later.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from gitops.adapters import runner
from gitops.commands import options
from gitops.commands import output as report
from gitops.core import github_errors
from gitops.core import workflow_dispatch as wd
from gitops.errors import EXIT_DEPLOY_FAILED, ConfigurationError

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

SINCE_FALLBACK_SECONDS = 120.0  # when no Date header tells GitHub's time: accept runs this much older


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


@dataclass(frozen=True)
class Settings:
    owner: str
    repo: str
    workflow: str
    ref: str
    ref_name: str
    ref_kind: str | None
    inputs: dict[str, str]
    wait: bool
    timeout: float
    poll_interval: float
    find_timeout: float
    app_id: str | None
    app_private_key_env: str

    @property
    def full(self) -> str:
        return f"{self.owner}/{self.repo}"


def settings(args: argparse.Namespace) -> Settings:
    inputs = wd.parse_inputs(args.inputs, args.field)  # first: a bad input must not even need a token
    owner, repo = options.repository(args)
    workflow = options.require(args.workflow, "--workflow", "deploy-k8s-resources.yml")
    ref = options.require(args.ref or runner.current().env("GITHUB_REF_NAME"), "--ref", "main")
    ref_name, ref_kind = wd.split_ref(ref)
    return Settings(
        owner=owner,
        repo=repo,
        workflow=workflow,
        ref=ref,
        ref_name=ref_name,
        ref_kind=ref_kind,
        inputs=inputs,
        wait=WAIT.read(args),
        timeout=WAIT_TIMEOUT.read(args),
        poll_interval=POLL_INTERVAL.read(args),
        find_timeout=FIND_TIMEOUT.read(args),
        app_id=args.app_id,
        app_private_key_env=args.app_private_key_env,
    )


def run(args: argparse.Namespace) -> int:
    from gitops.adapters.github import GitHubUnavailable

    try:
        return _run(args)
    except GitHubUnavailable as exc:
        runner.current().error(exc.message, title="GitHub unavailable")
        return EXIT_DEPLOY_FAILED


@dataclass(frozen=True)
class Target:
    """What is dispatched, where, and since when (GitHub's clock) its run can exist."""

    s: Settings
    workflow: Mapping[str, Any]
    inputs: dict[str, str]
    spec: wd.WorkflowSpec | None
    since: float

    @property
    def path(self) -> str:
        return str(self.workflow.get("path", ""))


@dataclass
class Dispatched:
    run_id: int | None
    html_url: str
    api_url: str
    how: str  # return_run_details | dispatch_id | heuristic | none
    note: str | None = None


def _run(args: argparse.Namespace) -> int:
    from gitops.adapters import github as gh

    console = runner.current()
    s = settings(args)
    client = gh.connect(s.owner, s.repo, app_id=s.app_id, app_private_key_env=s.app_private_key_env)
    try:
        client.require_app_permissions(("actions",), operation=f"dispatch workflows in {s.full}")
        workflow = wd.match_workflow(_list_workflows(client, s), s.workflow, s.full)
        since = _check_ref(client, s)
        inputs, spec = _check_workflow_file(client, s, workflow)
        dispatched = _dispatch(client, Target(s, workflow, inputs, spec, since))
        data: dict[str, Any] = {
            "repository": s.full,
            "workflow": {
                "id": workflow.get("id"),
                "name": workflow.get("name"),
                "path": workflow.get("path"),
            },
            "ref": s.ref,
            "inputs": inputs,
            "run_id": dispatched.run_id,
            "run_url": dispatched.html_url,
            "api_url": dispatched.api_url,
            "found_by": dispatched.how,
            "status": None,
            "conclusion": None,
            "succeeded": None,
        }
        if dispatched.note:
            console.warning(dispatched.note, title="Dispatch")
        console.log(
            f"dispatched {workflow.get('path')} on {s.ref}: run {dispatched.run_id or '(unknown)'} "
            f"{dispatched.html_url}".rstrip()
        )
        console.set_output("run-id", str(dispatched.run_id or ""))
        console.set_output("run-url", dispatched.html_url)
        code = 0
        if s.wait:
            code = _wait(client, s, dispatched, data)
        console.set_output("conclusion", str(data["conclusion"] or ""))
    finally:
        client.close()
    console.summary(_summary(data))
    report.emit(args.format, data, lambda: _table(data))
    return code


# -- before dispatching --------------------------------------------------------------------------


def _base(s: Settings) -> str:
    from gitops.adapters.github import segment

    return f"/repos/{segment(s.owner)}/{segment(s.repo)}"


def _list_workflows(client: Any, s: Settings) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in range(1, 11):
        response = client.request(
            "GET",
            f"{_base(s)}/actions/workflows",
            operation=f"list the workflows of {s.full}",
            needs=github_errors.ACTIONS_WRITE,
            params={"per_page": "100", "page": str(page)},
            handle=(404,),
        )
        if response.status == 404:
            if not client.repository_visible(s.owner, s.repo):
                raise ConfigurationError(
                    f"repository {s.full} was not found, or {client.token.describe()} cannot see it",
                    key="--repo",
                    title="Repository not found",
                    hint="check --repo; the token needs access to this repository",
                )
            raise ConfigurationError(
                f"{s.full} answered 404 for its workflows: GitHub Actions may be disabled for it",
                key="--repo",
                hint="check Settings > Actions > General of the repository (Actions permissions)",
                title="Workflows not found",
            )
        body = response.body if isinstance(response.body, Mapping) else {}
        batch = [w for w in body.get("workflows", []) if isinstance(w, dict)]
        items.extend(batch)
        total = body.get("total_count")
        if len(batch) < 100 or (isinstance(total, int) and len(items) >= total):
            break
    return items


def _date(response: Any) -> float | None:
    value = response.header("date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _check_ref(client: Any, s: Settings) -> float:
    """Fail unless the ref is an existing branch or tag; return GitHub's clock (epoch) from its answer."""
    from gitops.adapters.github import clock

    kinds = [s.ref_kind] if s.ref_kind else ["heads", "tags"]
    for kind in kinds:
        response = client.request(
            "GET",
            f"{_base(s)}/git/ref/{kind}/{quote(s.ref_name, safe='/')}",
            operation=f"look up {kind[:-1] if kind == 'heads' else 'tag'} {s.ref_name!r} in {s.full}",
            needs=github_errors.READ_REPO,
            handle=(404,),
        )
        if response.status == 200:
            return _date(response) or clock.time() - SINCE_FALLBACK_SECONDS
    what = {"heads": "branch", "tags": "tag"}.get(s.ref_kind or "", "branch or tag")
    raise ConfigurationError(
        f"no {what} {s.ref_name!r} in {s.full}; nothing was dispatched",
        key="--ref",
        title="Unknown ref",
        hint="workflow_dispatch needs an existing branch or tag, e.g. --ref main",
    )


def _check_workflow_file(
    client: Any, s: Settings, workflow: Mapping[str, Any]
) -> tuple[dict[str, str], wd.WorkflowSpec | None]:
    """Validate the inputs against the workflow file at the ref; add ``dispatch_id`` when it is declared."""
    path = str(workflow.get("path", ""))
    inputs = dict(s.inputs)
    response = client.request(
        "GET",
        f"{_base(s)}/contents/{quote(path, safe='/')}",
        operation=f"read {path} at {s.ref_name}",
        needs=github_errors.READ_REPO,
        params={"ref": s.ref_name},
        handle=(403, 404),
    )
    spec = None
    if response.status == 200 and isinstance(response.body, Mapping):
        try:
            text = base64.b64decode(str(response.body.get("content", ""))).decode("utf-8")
            spec = wd.read_workflow(text)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            spec = None
    if spec is None:
        runner.current().debug(
            f"could not read {path} at {s.ref_name}; GitHub will validate the inputs itself"
        )
        return inputs, None
    problems = wd.check_inputs(spec, inputs, path)
    if problems:
        raise ConfigurationError(
            f"{path} at {s.ref_name} would refuse this dispatch; nothing was dispatched",
            file=path,
            key="--inputs",
            title="Workflow inputs do not match",
            problems=tuple(problems),
        )
    if spec.correlates and wd.CORRELATION_INPUT not in inputs:
        inputs[wd.CORRELATION_INPUT] = uuid.uuid4().hex
    return inputs, spec


# -- dispatching ---------------------------------------------------------------------------------


def _dispatch(client: Any, t: Target) -> Dispatched:
    from gitops.adapters.github import GitHubUnavailable

    console, s = runner.current(), t.s
    path = f"{_base(s)}/actions/workflows/{t.workflow.get('id')}/dispatches"
    operation = f"dispatch {t.path} on {s.ref}"
    body: dict[str, Any] = {"ref": s.ref, "inputs": t.inputs, "return_run_details": True}
    try:
        response = client.request(
            "POST",
            path,
            operation=operation,
            needs=github_errors.ACTIONS_WRITE,
            body=body,
            ok=(200, 204),
            handle=(400, 422),
        )
        if response.status in (400, 422):
            if "return_run_details" not in response.text:
                error = github_errors.explain(
                    response.status,
                    response.body,
                    response.headers,
                    operation=operation,
                    token=client.token,
                    needs=github_errors.ACTIONS_WRITE,
                )
                if "input" in response.text.lower():
                    # "Unexpected inputs provided", "Required input 'x' not provided", ...
                    error.title = "Workflow inputs do not match"
                    error.message += "; nothing was dispatched"
                    error.key = "--field"
                    error.hint = (
                        f"give exactly the inputs that `on.workflow_dispatch.inputs` of {t.path} "
                        f"declares at {s.ref} (names are case-sensitive), each as -f NAME=VALUE"
                    )
                raise error
            # GitHub Enterprise Server without run details: the first POST was refused, so this
            # is the one dispatch (never a repeat of an accepted one).
            console.log("this GitHub does not accept return_run_details; dispatching without it")
            body.pop("return_run_details")
            response = client.request(
                "POST", path, operation=operation, needs=github_errors.ACTIONS_WRITE, body=body, ok=(200, 204)
            )
    except GitHubUnavailable as exc:
        console.warning(
            f"{exc.message}. GitHub may have started the run anyway, so the dispatch is NOT sent again; "
            f"looking for the run for {s.find_timeout:g}s",
            title="Dispatch answer lost",
        )
        found = _find_run(client, t)
        if found.run_id is None:
            raise GitHubUnavailable(
                f"the dispatch of {t.path} on {s.ref} failed ({exc.message}) and no new run "
                f"appeared within {s.find_timeout:g}s. It may still appear later: check "
                f"https://github.com/{s.full}/actions before dispatching again",
                status=exc.status,
            ) from None
        found.note = (
            found.note + " " if found.note else ""
        ) + "The dispatch answer was lost; this run was found."
        return found
    if response.status == 200 and isinstance(response.body, Mapping) and response.body.get("workflow_run_id"):
        details = response.body
        return Dispatched(
            int(details["workflow_run_id"]),
            str(details.get("html_url") or ""),
            str(details.get("run_url") or ""),
            "return_run_details",
        )
    return _find_run(client, t)


def _actor(client: Any) -> str | None:
    """The login behind a personal token (runs it starts carry it as actor); None for app tokens."""
    if client.token.kind not in (
        github_errors.CLASSIC_PAT,
        github_errors.FINE_GRAINED_PAT,
        github_errors.OAUTH,
        github_errors.APP_USER,
    ):
        return None
    response = client.request(
        "GET",
        "/user",
        operation="read the token's user",
        needs=github_errors.READ_REPO,
        handle=(401, 403, 404),
    )
    login = (
        response.body.get("login") if response.status == 200 and isinstance(response.body, Mapping) else None
    )
    return str(login) if login else None


def _find_run(client: Any, t: Target) -> Dispatched:
    from gitops.adapters.github import clock

    console, s, workflow, spec = runner.current(), t.s, t.workflow, t.spec
    correlation = t.inputs.get(wd.CORRELATION_INPUT)
    actor = None if correlation else _actor(client)
    created = datetime.fromtimestamp(t.since, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    deadline = clock.monotonic() + s.find_timeout
    attempt = 0
    while True:
        attempt += 1
        response = client.request(
            "GET",
            f"{_base(s)}/actions/workflows/{workflow.get('id')}/runs",
            operation=f"list the runs of {workflow.get('path')}",
            needs=github_errors.ACTIONS_WRITE,
            params={"event": "workflow_dispatch", "created": f">={created}", "per_page": "50"},
        )
        runs = response.body.get("workflow_runs", []) if isinstance(response.body, Mapping) else []
        pick = wd.pick_run(runs, since=t.since, branch=s.ref_name, correlation_id=correlation, actor=actor)
        if pick.run is not None:
            found = pick.run
            note = None
            if pick.how == "heuristic":
                why = (
                    f"{workflow.get('path')} declares no `{wd.CORRELATION_INPUT}` input"
                    if spec is None or not spec.correlates
                    else f"no run title carries the {wd.CORRELATION_INPUT} (put it in the run-name)"
                )
                note = f"run {found.get('id')} was matched by time, branch and event ({why})" + (
                    f"; {pick.candidates} runs matched, the oldest was taken" if pick.candidates > 1 else ""
                )
            return Dispatched(
                int(found.get("id") or 0),
                str(found.get("html_url") or ""),
                str(found.get("url") or ""),
                pick.how,
                note,
            )
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            return Dispatched(None, "", "", "none")
        console.log(f"the run has not appeared yet (check {attempt}); looking again in 3s")
        clock.sleep(min(3.0, remaining))


# -- waiting -------------------------------------------------------------------------------------


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _wait(client: Any, s: Settings, dispatched: Dispatched, data: dict[str, Any]) -> int:
    from gitops.adapters.github import clock

    console = runner.current()
    if dispatched.run_id is None:
        console.error(
            "the workflow was dispatched but its run could not be identified, so it cannot be waited for; "
            f"see https://github.com/{s.full}/actions",
            title="Run not found",
        )
        return EXIT_DEPLOY_FAILED
    start = clock.monotonic()
    last_status: str | None = None
    last_report = start
    console.log(f"waiting up to {_elapsed(s.timeout)} for run {dispatched.run_id} ({dispatched.html_url})")
    while True:
        response = client.request(
            "GET",
            f"{_base(s)}/actions/runs/{dispatched.run_id}",
            operation=f"read run {dispatched.run_id}",
            needs=github_errors.ACTIONS_WRITE,
        )
        body = response.body if isinstance(response.body, Mapping) else {}
        status = str(body.get("status") or "unknown")
        now = clock.monotonic()
        data["status"] = status
        if body.get("html_url") and not data["run_url"]:
            data["run_url"] = str(body["html_url"])
        if status != last_status or now - last_report >= 60:
            word = wd.STATUS_WORDS.get(status, status)
            prefix = "still " if status == last_status else ""
            console.log(f"run {dispatched.run_id}: {prefix}{word} ({_elapsed(now - start)})")
            last_status, last_report = status, now
        if status == "completed":
            conclusion = body.get("conclusion")
            ok, sentence = wd.outcome(conclusion if isinstance(conclusion, str) else None)
            data.update(conclusion=conclusion, succeeded=ok, waited_seconds=round(now - start))
            if ok:
                console.notice(f"run {dispatched.run_id}: {sentence}", title="Dispatched run succeeded")
                return 0
            console.error(
                f"run {dispatched.run_id}: {sentence} ({dispatched.html_url})", title=f"Run {conclusion}"
            )
            return EXIT_DEPLOY_FAILED
        remaining = s.timeout - (now - start)
        if remaining <= 0:
            data.update(succeeded=False, waited_seconds=round(now - start), wait_timed_out=True)
            console.error(
                f"run {dispatched.run_id} is still {wd.STATUS_WORDS.get(status, status)} after "
                f"{_elapsed(s.timeout)}; stopped waiting (the run goes on: {dispatched.html_url})",
                title="Wait timed out",
            )
            return EXIT_DEPLOY_FAILED
        clock.sleep(min(s.poll_interval, remaining))


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
        ("Inputs", ", ".join(f"`{k}`={v}" for k, v in data["inputs"].items()) or "none"),
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
