"""Dispatching a workflow (``workflow_dispatch``) and, optionally, waiting for its run's conclusion.

Before dispatching, everything that would make GitHub refuse is checked and reported with
nothing sent: the workflow (by file name, name or id; a disabled one is refused, a missing one
lists the available ones), the ref (an existing branch or tag), and the workflow file at that
ref (``on: workflow_dispatch`` present, inputs declared, required ones given).

The POST asks for ``return_run_details`` (GitHub answers 200 with the run's id and URLs).
GitHub Enterprise Server versions that reject that field (400/422 naming it) get the same POST
once more without it, and the run is then found by listing runs; see
:mod:`gitops.core.workflow_dispatch` for how (``dispatch_id`` input, else a documented
heuristic). A 5xx or a lost connection on the POST is NEVER answered with another POST: GitHub
may have started the run anyway, so we look for it for ``find_timeout`` seconds and fail only
if it does not appear, saying that it may still appear later.

Every wait goes through :data:`gitops.adapters.github.clock`, so tests never sleep.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gitops.adapters import runner
from gitops.core import github_errors
from gitops.core import workflow_dispatch as wd
from gitops.errors import ConfigurationError

if TYPE_CHECKING:
    from gitops.adapters.github import Access, GitHub, Repo, Response

SINCE_FALLBACK_SECONDS = 120.0  # when no Date header tells GitHub's time: accept runs this much older


@dataclass(frozen=True)
class DispatchRequest:
    """``gitops dispatch``, its flags checked (inputs parsed, ref split)."""

    access: Access
    workflow: str  # file name, path, display name or id
    ref: str  # as given: main, refs/heads/main, refs/tags/v1.2.0
    ref_name: str  # main, v1.2.0 (core.workflow_dispatch.split_ref)
    ref_kind: str | None  # heads, tags, or None: either
    inputs: dict[str, str]
    wait: bool = False
    timeout: float = 1800.0
    poll_interval: float = 10.0
    find_timeout: float = 60.0

    @property
    def repo(self) -> Repo:
        return self.access.repo


@dataclass
class Dispatched:
    """The run a dispatch started, as far as it is known."""

    run_id: int | None
    html_url: str
    api_url: str
    how: str  # return_run_details | dispatch_id | heuristic | none
    note: str | None = None


@dataclass
class Outcome:
    """What :func:`dispatch` did; ``status`` and after are filled in by waiting."""

    workflow: Mapping[str, Any]
    inputs: dict[str, str]  # as sent, with a generated dispatch_id where the workflow declares one
    run: Dispatched
    status: str | None = None
    conclusion: str | None = None
    succeeded: bool | None = None
    waited_seconds: int | None = None
    wait_timed_out: bool = False

    @property
    def run_url(self) -> str:
        return self.run.html_url


@dataclass(frozen=True)
class _Target:
    """What is dispatched, where, and since when (GitHub's clock) its run can exist."""

    request: DispatchRequest
    workflow: Mapping[str, Any]
    inputs: dict[str, str]
    spec: wd.WorkflowSpec | None
    since: float

    @property
    def path(self) -> str:
        return str(self.workflow.get("path", ""))


def dispatch(request: DispatchRequest, *, on_dispatched: Callable[[Outcome], None]) -> Outcome:
    """Check, dispatch, find the run, and with ``request.wait`` follow it to its conclusion.

    ``on_dispatched`` hears about the run as soon as it is known, before any wait (so its id
    reaches the step outputs even when the wait fails). Raises ``GitHubUnavailable`` when
    GitHub failed for good, :class:`ConfigurationError` for what the user can fix.
    """

    client = request.access.connect()
    try:
        client.require_app_permissions(("actions",), operation=f"dispatch workflows in {request.repo.full}")
        workflow = wd.match_workflow(_workflows(client, request.repo), request.workflow, request.repo.full)
        since = _check_ref(client, request)
        inputs, spec = _check_workflow_file(client, request, workflow)
        target = _Target(request, workflow, inputs, spec, since)
        outcome = Outcome(workflow, inputs, _dispatch(client, target))
        on_dispatched(outcome)
        if request.wait:
            _wait(client, request, outcome)
        return outcome
    finally:
        client.close()


# -- before dispatching --------------------------------------------------------------------------


def _workflows(client: GitHub, repo: Repo) -> list[dict[str, Any]]:
    workflows = client.list_workflows(repo)
    if workflows is not None:
        return workflows
    if not client.repository_visible(repo.owner, repo.name):
        raise ConfigurationError(
            f"repository {repo.full} was not found, or {client.token.describe()} cannot see it",
            key="--repo",
            title="Repository not found",
            hint="check --repo; the token needs access to this repository",
        )
    raise ConfigurationError(
        f"{repo.full} answered 404 for its workflows: GitHub Actions may be disabled for it",
        key="--repo",
        hint="check Settings > Actions > General of the repository (Actions permissions)",
        title="Workflows not found",
    )


def _check_ref(client: GitHub, request: DispatchRequest) -> float:
    """Fail unless the ref is an existing branch or tag; return GitHub's clock (epoch) from its answer."""
    from gitops.adapters import github as gh

    kinds = [request.ref_kind] if request.ref_kind else ["heads", "tags"]
    for kind in kinds:
        found = client.git_ref(request.repo, kind, request.ref_name)
        if found is not None:
            return found.server_time or gh.clock.time() - SINCE_FALLBACK_SECONDS
    what = {"heads": "branch", "tags": "tag"}.get(request.ref_kind or "", "branch or tag")
    raise ConfigurationError(
        f"no {what} {request.ref_name!r} in {request.repo.full}; nothing was dispatched",
        key="--ref",
        title="Unknown ref",
        hint="workflow_dispatch needs an existing branch or tag, e.g. --ref main",
    )


def _check_workflow_file(
    client: GitHub, request: DispatchRequest, workflow: Mapping[str, Any]
) -> tuple[dict[str, str], wd.WorkflowSpec | None]:
    """Validate the inputs against the workflow file at the ref; add ``dispatch_id`` when it is declared."""
    path = str(workflow.get("path", ""))
    inputs = dict(request.inputs)
    text = client.file_text(request.repo, path, request.ref_name)
    spec = None
    if text is not None:
        try:
            spec = wd.read_workflow(text)
        except ValueError:
            spec = None
    if spec is None:
        runner.current().debug(
            f"could not read {path} at {request.ref_name}; GitHub will validate the inputs itself"
        )
        return inputs, None
    problems = wd.check_inputs(spec, inputs, path)
    if problems:
        raise ConfigurationError(
            f"{path} at {request.ref_name} would refuse this dispatch; nothing was dispatched",
            file=path,
            key="--inputs",
            title="Workflow inputs do not match",
            problems=tuple(problems),
        )
    if spec.correlates and wd.CORRELATION_INPUT not in inputs:
        inputs[wd.CORRELATION_INPUT] = uuid.uuid4().hex
    return inputs, spec


# -- dispatching ---------------------------------------------------------------------------------


def _dispatch(client: GitHub, t: _Target) -> Dispatched:
    from gitops.adapters.github import GitHubUnavailable

    console, request = runner.current(), t.request
    try:
        response = client.dispatch_workflow(request.repo, t.workflow, request.ref, t.inputs, run_details=True)
        if response.status in (400, 422):
            if "return_run_details" not in response.text:
                raise _refusal(client, t, response)
            # GitHub Enterprise Server without run details: the first POST was refused, so this
            # is the one dispatch (never a repeat of an accepted one).
            console.log("this GitHub does not accept return_run_details; dispatching without it")
            response = client.dispatch_workflow(
                request.repo, t.workflow, request.ref, t.inputs, run_details=False
            )
    except GitHubUnavailable as exc:
        console.warning(
            f"{exc.message}. GitHub may have started the run anyway, so the dispatch is NOT sent again; "
            f"looking for the run for {request.find_timeout:g}s",
            title="Dispatch answer lost",
        )
        found = _find_run(client, t)
        if found.run_id is None:
            raise GitHubUnavailable(
                f"the dispatch of {t.path} on {request.ref} failed ({exc.message}) and no new run "
                f"appeared within {request.find_timeout:g}s. It may still appear later: check "
                f"https://github.com/{request.repo.full}/actions before dispatching again",
                status=exc.status,
            ) from None
        found.note = (
            found.note + " " if found.note else ""
        ) + "The dispatch answer was lost; this run was found."
        return found
    details = response.json_object
    if response.status == 200 and details.get("workflow_run_id"):
        return Dispatched(
            int(details["workflow_run_id"]),
            str(details.get("html_url") or ""),
            str(details.get("run_url") or ""),
            "return_run_details",
        )
    return _find_run(client, t)


def _refusal(client: GitHub, t: _Target, response: Response) -> ConfigurationError:
    """GitHub refused the dispatch itself (400/422): explain, naming the inputs when they are why."""
    from gitops.adapters.github import dispatch_words

    error = github_errors.explain(
        response.status,
        response.body,
        response.headers,
        operation=dispatch_words(t.workflow, t.request.ref),
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
            f"declares at {t.request.ref} (names are case-sensitive), each as -f NAME=VALUE"
        )
    return error


def _actor(client: GitHub) -> str | None:
    """The login behind a personal token (runs it starts carry it as actor); None for app tokens."""
    if client.token.kind not in (
        github_errors.CLASSIC_PAT,
        github_errors.FINE_GRAINED_PAT,
        github_errors.OAUTH,
        github_errors.APP_USER,
    ):
        return None
    return client.user_login()


def _find_run(client: GitHub, t: _Target) -> Dispatched:
    from gitops.adapters import github as gh

    console, request, workflow, spec = runner.current(), t.request, t.workflow, t.spec
    correlation = t.inputs.get(wd.CORRELATION_INPUT)
    actor = None if correlation else _actor(client)
    created = datetime.fromtimestamp(t.since, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    deadline = gh.clock.monotonic() + request.find_timeout
    attempt = 0
    while True:
        attempt += 1
        runs = client.workflow_runs(request.repo, workflow, created_since=created)
        pick = wd.pick_run(
            runs, since=t.since, branch=request.ref_name, correlation_id=correlation, actor=actor
        )
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
        remaining = deadline - gh.clock.monotonic()
        if remaining <= 0:
            return Dispatched(None, "", "", "none")
        console.log(f"the run has not appeared yet (check {attempt}); looking again in 3s")
        gh.clock.sleep(min(3.0, remaining))


# -- waiting -------------------------------------------------------------------------------------


def elapsed(seconds: float) -> str:
    """``2m05s`` / ``45s``."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _wait(client: GitHub, request: DispatchRequest, outcome: Outcome) -> None:
    """Follow the run until it completes or ``request.timeout`` passes; fills in ``outcome``."""
    from gitops.adapters import github as gh

    console, run = runner.current(), outcome.run
    if run.run_id is None:
        console.error(
            "the workflow was dispatched but its run could not be identified, so it cannot be waited for; "
            f"see https://github.com/{request.repo.full}/actions",
            title="Run not found",
        )
        return
    start = gh.clock.monotonic()
    last_status: str | None = None
    last_report = start
    console.log(f"waiting up to {elapsed(request.timeout)} for run {run.run_id} ({run.html_url})")
    while True:
        body = client.workflow_run(request.repo, run.run_id)
        status = str(body.get("status") or "unknown")
        now = gh.clock.monotonic()
        outcome.status = status
        if body.get("html_url") and not run.html_url:
            run.html_url = str(body["html_url"])
        if status != last_status or now - last_report >= 60:
            word = wd.STATUS_WORDS.get(status, status)
            prefix = "still " if status == last_status else ""
            console.log(f"run {run.run_id}: {prefix}{word} ({elapsed(now - start)})")
            last_status, last_report = status, now
        if status == "completed":
            conclusion = body.get("conclusion")
            ok, sentence = wd.outcome(conclusion if isinstance(conclusion, str) else None)
            outcome.conclusion = conclusion if isinstance(conclusion, str) else None
            outcome.succeeded, outcome.waited_seconds = ok, round(now - start)
            if ok:
                console.notice(f"run {run.run_id}: {sentence}", title="Dispatched run succeeded")
            else:
                console.error(f"run {run.run_id}: {sentence} ({run.html_url})", title=f"Run {conclusion}")
            return
        remaining = request.timeout - (now - start)
        if remaining <= 0:
            outcome.succeeded, outcome.waited_seconds, outcome.wait_timed_out = (
                False,
                round(now - start),
                True,
            )
            console.error(
                f"run {run.run_id} is still {wd.STATUS_WORDS.get(status, status)} after "
                f"{elapsed(request.timeout)}; stopped waiting (the run goes on: {run.html_url})",
                title="Wait timed out",
            )
            return
        gh.clock.sleep(min(request.poll_interval, remaining))
