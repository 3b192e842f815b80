"""Decisions behind ``gitops dispatch`` (pure): inputs, which workflow, which run, what it means.

Correlation, when GitHub cannot tell us the run it started (GitHub Enterprise Server without
``return_run_details``, or a POST that failed with 5xx after GitHub may have acted on it):

1. If the target workflow declares a ``workflow_dispatch`` input named ``dispatch_id``
   (:data:`CORRELATION_INPUT`), we send a fresh random ID in it and pick the run whose title
   (``display_title``, i.e. the workflow's ``run-name``) contains that ID. Put
   ``run-name: "Deploy ${{ inputs.environment }} (${{ inputs.dispatch_id }})"`` in the
   workflow to make this exact.
2. Otherwise (or when no title carries the ID) the run is the OLDEST ``workflow_dispatch`` run
   of that workflow on that branch/tag created at or after GitHub's own clock time just before
   our POST (the ``Date`` header of our previous API call, so the runner's clock does not
   matter) and, for personal tokens, started by the same user. When several runs match, the
   choice is reported as a guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitops.core import documents
from gitops.errors import ConfigurationError, Problem

CORRELATION_INPUT = "dispatch_id"
MAX_INPUTS = 25  # GitHub's limit on workflow_dispatch inputs (docs: "Events that trigger workflows")
_INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

DISABLED_STATES = {
    "disabled_manually": "it was disabled by hand",
    "disabled_inactivity": "GitHub disabled it after 60 days without repository activity",
    "disabled_fork": "workflows in a fork are disabled until enabled in the fork",
}


# -- inputs ------------------------------------------------------------------------------------


def _as_input(name: str, value: object, source: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    kind = "null" if value is None else type(value).__name__
    raise ConfigurationError(
        f"input {name!r} in {source} is {kind}; workflow_dispatch inputs are strings, booleans or numbers",
        key=source,
        title="Invalid workflow inputs",
        hint='e.g. --inputs \'{"environment": "dev", "force": true}\'',
    )


INPUTS = documents.DocumentKind(
    title="Invalid workflow inputs",
    message="--inputs is {problem}",
    hint='pass one JSON object, e.g. --inputs \'{"environment": "dev"}\'',
    limits=documents.INPUTS,
    flag="--inputs",
)
WORKFLOW = documents.DocumentKind(title="Invalid workflow")


def parse_inputs(inputs_json: str | None, fields: Sequence[str]) -> dict[str, str]:
    """Merge ``--inputs JSON`` and ``-f KEY=VALUE`` into the string map GitHub takes.

    Booleans become ``"true"``/``"false"`` and numbers their JSON text, which is how GitHub
    passes them to ``inputs.<name>``. A key given twice is an error, not a silent override.
    """
    result: dict[str, str] = {}
    if inputs_json is not None and inputs_json.strip():
        data = documents.parse_json(inputs_json, None, INPUTS)
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"--inputs must be a JSON object, found {type(data).__name__}",
                key="--inputs",
                title="Invalid workflow inputs",
                hint='e.g. --inputs \'{"environment": "dev"}\'',
            )
        for name, value in data.items():
            result[str(name)] = _as_input(str(name), value, "--inputs")
    for item in fields:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(
                f"-f expects KEY=VALUE, found {item.split('=')[0]!r}"
                if sep
                else f"-f expects KEY=VALUE, found {item!r}",
                key="-f",
                title="Invalid workflow inputs",
                hint="e.g. -f environment=dev -f triggered_by=hetzner-k8s",
            )
        name = name.strip()
        if name in result:
            raise ConfigurationError(
                f"input {name!r} is given twice (in --inputs and -f, or in two -f); give it once",
                key="-f",
                title="Invalid workflow inputs",
            )
        result[name] = value
    bad = [n for n in result if not _INPUT_NAME.match(n)]
    if bad:
        raise ConfigurationError(
            f"invalid input name(s): {', '.join(map(repr, bad))}; names start with a letter or _ and hold "
            "only letters, digits, - and _",
            key="--inputs",
            title="Invalid workflow inputs",
        )
    if len(result) > MAX_INPUTS:
        raise ConfigurationError(
            f"{len(result)} inputs given; GitHub accepts at most {MAX_INPUTS} per workflow_dispatch",
            key="--inputs",
            title="Invalid workflow inputs",
        )
    return result


# -- refs --------------------------------------------------------------------------------------


def split_ref(ref: str) -> tuple[str, str | None]:
    """Branch or tag name and its kind: ``refs/tags/v1`` -> ("v1", "tags"), ``main`` -> ("main", None)."""
    ref = ref.strip()
    for kind in ("heads", "tags"):
        prefix = f"refs/{kind}/"
        if ref.startswith(prefix):
            return ref[len(prefix) :], kind
    if not ref or ref.startswith("refs/") or ".." in ref or ref.endswith("/"):
        raise ConfigurationError(
            f"--ref must be a branch or tag name (or refs/heads/..., refs/tags/...), found {ref!r}",
            key="--ref",
            title="Invalid ref",
            hint="workflow_dispatch runs a workflow from a branch or a tag, e.g. --ref main",
        )
    return ref, None


# -- which workflow ----------------------------------------------------------------------------


def _describe(workflow: Mapping[str, Any]) -> str:
    path = str(workflow.get("path", ""))
    name, ident, state = workflow.get("name"), workflow.get("id"), workflow.get("state")
    return f"{path.rsplit('/', 1)[-1]} ({name!s}, id {ident!s}, {state!s})"


def match_workflow(workflows: Sequence[Mapping[str, Any]], wanted: str, repo: str) -> Mapping[str, Any]:
    """The workflow named by id, file name (``deploy.yml``), path or display name; fails if disabled."""
    wanted = wanted.strip()
    found: list[Mapping[str, Any]]
    if wanted.isdigit():
        found = [w for w in workflows if str(w.get("id")) == wanted]
    elif wanted.endswith((".yml", ".yaml")):
        found = [
            w
            for w in workflows
            if str(w.get("path", "")) == wanted or str(w.get("path", "")).rsplit("/", 1)[-1] == wanted
        ]
    else:
        found = [w for w in workflows if w.get("name") == wanted] or [
            w for w in workflows if str(w.get("name", "")).casefold() == wanted.casefold()
        ]
    if not found:
        available = [f"- {_describe(w)}" for w in workflows]
        raise ConfigurationError(
            f"no workflow {wanted!r} in {repo}",
            key="--workflow",
            title="Workflow not found",
            hint="pass a file name (deploy-k8s-resources.yml), the workflow's name, or its numeric id",
            problems=tuple(Problem(line[2:]) for line in available)
            or (Problem("the repository has no workflows"),),
        )
    if len(found) > 1:
        raise ConfigurationError(
            f"{len(found)} workflows in {repo} are named {wanted!r}; pass the file name or id instead",
            key="--workflow",
            title="Workflow ambiguous",
            problems=tuple(Problem(_describe(w)) for w in found),
        )
    workflow = found[0]
    state = str(workflow.get("state", "active"))
    if state != "active":
        why = DISABLED_STATES.get(state, f"its state is {state}")
        raise ConfigurationError(
            f"workflow {_describe(workflow)} is disabled ({why}); nothing was dispatched",
            key="--workflow",
            title="Workflow disabled",
            hint=f"enable it in the repository's Actions tab, or `gh workflow enable {workflow.get('id')!s} "
            f"--repo {repo}`",
        )
    return workflow


# -- the workflow file -------------------------------------------------------------------------


@dataclass(frozen=True)
class InputSpec:
    required: bool = False
    has_default: bool = False
    type: str = "string"
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkflowSpec:
    dispatchable: bool
    inputs: dict[str, InputSpec] = field(default_factory=dict)
    run_name: str | None = None

    @property
    def correlates(self) -> bool:
        return CORRELATION_INPUT in self.inputs

    @property
    def title_carries_id(self) -> bool:
        return bool(self.run_name) and f"inputs.{CORRELATION_INPUT}" in (self.run_name or "")


def read_workflow(text: str) -> WorkflowSpec | None:
    """What a workflow file says about ``workflow_dispatch``; None when it cannot be read."""
    try:
        data = documents.load(text, None, WORKFLOW)
    except documents.DocumentError:
        return None
    if not isinstance(data, Mapping):
        return None
    # YAML 1.1 reads the bare key `on` as the boolean true.
    triggers = data.get("on", data.get(True))
    run_name = data.get("run-name")
    run_name = run_name if isinstance(run_name, str) else None
    if isinstance(triggers, str):
        return WorkflowSpec(triggers == "workflow_dispatch", run_name=run_name)
    if isinstance(triggers, list):
        return WorkflowSpec("workflow_dispatch" in triggers, run_name=run_name)
    if not isinstance(triggers, Mapping) or "workflow_dispatch" not in triggers:
        return WorkflowSpec(False, run_name=run_name)
    body = triggers.get("workflow_dispatch")
    raw_inputs = body.get("inputs") if isinstance(body, Mapping) else None
    inputs: dict[str, InputSpec] = {}
    if isinstance(raw_inputs, Mapping):
        for name, raw in raw_inputs.items():
            spec: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            options = spec.get("options")
            inputs[str(name)] = InputSpec(
                required=spec.get("required") is True,
                has_default="default" in spec,
                type=str(spec.get("type", "string")),
                options=tuple(str(o) for o in options) if isinstance(options, list) else (),
            )
    return WorkflowSpec(True, inputs, run_name)


def check_inputs(spec: WorkflowSpec, inputs: Mapping[str, str], path: str) -> list[Problem]:
    """What GitHub would reject with 422, found before dispatching (names only, never values)."""
    if not spec.dispatchable:
        return [Problem("the workflow has no `on: workflow_dispatch` trigger at this ref", path, None, "on")]
    problems: list[Problem] = []
    for name in inputs:
        if name not in spec.inputs:
            declared = ", ".join(sorted(spec.inputs)) or "none"
            problems.append(
                Problem(
                    f"input {name!r} is not declared by the workflow (declared: {declared})", path, None, name
                )
            )
    for name, item in spec.inputs.items():
        if item.required and not item.has_default and name not in inputs and name != CORRELATION_INPUT:
            problems.append(Problem(f"required input {name!r} is missing", path, None, name))
        if name in inputs and item.type == "boolean" and inputs[name] not in ("true", "false"):
            problems.append(Problem(f"input {name!r} is a boolean: pass true or false", path, None, name))
        if name in inputs and item.type == "choice" and item.options and inputs[name] not in item.options:
            problems.append(
                Problem(f"input {name!r} must be one of: {', '.join(item.options)}", path, None, name)
            )
    return problems


# -- which run ---------------------------------------------------------------------------------


def parse_time(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class RunPick:
    run: Mapping[str, Any] | None
    how: str  # "dispatch_id", "heuristic", "none"
    candidates: int = 0


def pick_run(
    runs: Sequence[Mapping[str, Any]],
    *,
    since: float,
    branch: str,
    correlation_id: str | None,
    actor: str | None = None,
) -> RunPick:
    """The run our dispatch created, among a workflow's runs (see module docstring)."""
    candidates = [
        r
        for r in runs
        if r.get("event") == "workflow_dispatch"
        and r.get("head_branch") == branch
        and (parse_time(r.get("created_at")) or 0.0) >= since
    ]
    if correlation_id:
        tagged = [
            r for r in candidates if correlation_id in f"{r.get('display_title', '')} {r.get('name', '')}"
        ]
        if tagged:
            return RunPick(tagged[0], CORRELATION_INPUT, len(tagged))
    if actor:
        candidates = [
            r
            for r in candidates
            if actor
            in {str((r.get("actor") or {}).get("login")), str((r.get("triggering_actor") or {}).get("login"))}
        ]
    if not candidates:
        return RunPick(None, "none")
    oldest = min(candidates, key=lambda r: (parse_time(r.get("created_at")) or 0.0, int(r.get("id") or 0)))
    return RunPick(oldest, "heuristic", len(candidates))


# -- what a conclusion means -------------------------------------------------------------------

# Every conclusion a workflow run can have (REST: "workflow run" object). Only success is 0:
# `neutral` and `skipped` mean nothing was deployed, which a caller waiting for a deploy must
# not mistake for one.
CONCLUSIONS: dict[str, str] = {
    "success": "the run succeeded",
    "failure": "the run failed: at least one job failed",
    "cancelled": "the run was cancelled (by a person, by a newer run in the same concurrency group, or "
    "by the API)",
    "timed_out": "the run timed out: a job exceeded its timeout-minutes",
    "action_required": "the run is waiting for someone to approve it (a required reviewer or a first-time "
    "contributor check); approve it on GitHub",
    "startup_failure": "the run could not start: the workflow file is invalid at that ref, or refers to "
    "something missing (a reusable workflow, a permission); the run page shows why",
    "stale": "GitHub marked the run stale: it stayed incomplete for too long",
    "neutral": "the run ended neutral (neither success nor failure); nothing is known to be deployed",
    "skipped": "the run was skipped: its jobs' `if:` conditions were false, so nothing ran",
}


def outcome(conclusion: str | None) -> tuple[bool, str]:
    """(succeeded?, a plain sentence) for a completed run's ``conclusion``."""
    if conclusion is None or conclusion == "":
        return False, "the run completed without a conclusion"
    return conclusion == "success", CONCLUSIONS.get(
        conclusion, f"the run ended with an unknown conclusion {conclusion!r}"
    )


STATUS_WORDS = {
    "queued": "queued",
    "requested": "requested",
    "pending": "pending (waiting for a concurrency slot)",
    "waiting": "waiting (for an environment's protection rules, e.g. a reviewer)",
    "in_progress": "in progress",
    "completed": "completed",
}
