"""The workflows and actions pass actionlint (with shellcheck), zizmor and the GitHub JSON schemas,
and keep this suite's own rules, checked structurally:

* every ``uses:`` is a local ``./`` action or pinned to one of TOOLING.md's commits with its
  ``# vX.Y.Z`` comment; nothing uses the ``$/`` syntax act cannot run;
* no ``${{`` inside any ``run:``; ``secrets.*`` only in ``env:`` or a reusable-workflow call's
  ``secrets:``;
* ``permissions: {}`` at the top of every workflow and an explicit, commented grant per job;
* ``timeout-minutes`` on every job that runs steps; ``persist-credentials: false`` on every
  checkout; every job with an ``environment:`` has ``concurrency`` on that environment without
  cancel-in-progress; the pull-request job has no environment and no secrets;
* every action documents each input (description, required, a default when optional) and
  output, and has branding; Dependabot covers every action folder.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
BIN = ROOT / ".venv" / "bin"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted(
    [*([ROOT / "action.yml"] if (ROOT / "action.yml").exists() else []), *ROOT.glob("actions/*/action.yml")]
)
STUB_ACTIONS = sorted((ROOT / "tests" / "e2e" / "stubs").glob("*/action.yml"))

# TOOLING.md "Pinned third-party actions": the only commits a `uses:` may name.
PINNED = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/cache": ("27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
    "helm/kind-action": ("ef37e7f390d99f746eb8b610417061a60e82a6cc", "v1.14.0"),
}
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{rel(path)} is not a mapping"
    return data


def run_tool(*argv: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


# -- the linters -----------------------------------------------------------------------------------
def test_there_is_something_to_lint() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {"deploy-k8s-resources.yml", "hetzner-k8s.yml", "ci.yml"} <= names, names
    assert ACTIONS, "no action.yml found"


def test_lint_script_passes_actionlint_with_shellcheck_and_zizmor(require_binary: Any) -> None:
    """The exact command the PR validation job and CI run (scripts/lint-workflows.sh)."""
    require_binary("shellcheck")  # without it actionlint silently skips every run: script
    for tool in ("actionlint", "zizmor"):
        assert (BIN / tool).exists(), f"{BIN / tool} is missing; run `bash scripts/dev.sh setup`"
    result = run_tool("bash", "scripts/lint-workflows.sh")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "No findings to report" in result.stdout + result.stderr


def test_lint_script_fails_on_a_finding(tmp_path: Path) -> None:
    """The lint can fail: a template injection in a copy of the repository is reported."""
    copy = tmp_path / "repo"
    (copy / ".github" / "workflows").mkdir(parents=True)
    (copy / "scripts").mkdir()
    (copy / "scripts" / "lint-workflows.sh").write_text(
        (ROOT / "scripts" / "lint-workflows.sh").read_text(encoding="utf-8")
    )
    (copy / ".github" / "zizmor.yml").write_text(
        (ROOT / ".github" / "zizmor.yml").read_text(encoding="utf-8")
    )
    (copy / ".github" / "workflows" / "bad.yml").write_text(
        "name: bad\non: pull_request\npermissions: {}\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 5\n    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n",
        encoding="utf-8",
    )
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    env = os.environ | {"LINT_BIN_DIR": str(BIN)}
    result = subprocess.run(
        ["bash", "scripts/lint-workflows.sh"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "template-injection" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("schema", "paths"),
    [
        pytest.param("vendor.github-workflows", WORKFLOWS, id="workflows"),
        pytest.param("vendor.github-actions", ACTIONS + STUB_ACTIONS, id="actions"),
    ],
)
def test_github_json_schemas(schema: str, paths: list[Path]) -> None:
    assert (BIN / "check-jsonschema").exists()
    result = run_tool("check-jsonschema", "--builtin-schema", schema, *map(str, paths))
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"


# -- our own structural rules -------------------------------------------------------------------------
def all_yaml() -> list[Path]:
    return WORKFLOWS + ACTIONS + STUB_ACTIONS


def steps_of(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(job id or 'action', step) for every step of a workflow or composite action."""
    for job_id, job in (doc.get("jobs") or {}).items():
        for step in job.get("steps") or []:
            yield job_id, step
    for step in (doc.get("runs") or {}).get("steps") or []:
        yield "action", step


@pytest.mark.parametrize("path", all_yaml(), ids=rel)
def test_every_uses_is_local_or_pinned_by_sha_with_version_comment(path: Path) -> None:
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = USES_LINE.match(line)
        if not match:
            continue
        ref, rest = match["ref"].strip("'\""), match["rest"]
        if ref.startswith("$/"):
            problems.append(f"{number}: {ref}: act cannot run the $/ syntax; use ./")
        elif ref.startswith("./"):
            continue
        elif "@" not in ref:
            problems.append(f"{number}: {ref}: not pinned")
        else:
            name, sha = ref.split("@", 1)
            base = "/".join(name.split("/")[:2])
            pinned = PINNED.get(base)
            comment = re.search(r"#\s*(v\d+\.\d+\.\d+)\s*$", rest)
            if pinned is None:
                problems.append(f"{number}: {name} is not one of TOOLING.md's pinned actions")
            elif sha != pinned[0]:
                problems.append(f"{number}: {name}@{sha} is not TOOLING.md's commit {pinned[0]}")
            elif comment is None or comment.group(1) != pinned[1]:
                problems.append(f"{number}: {name} needs the comment '# {pinned[1]}'")
    assert not problems, f"{rel(path)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", all_yaml(), ids=rel)
def test_no_expressions_inside_run(path: Path) -> None:
    bad = [
        f"{job}: {step.get('name') or step['run'][:60]!r}"
        for job, step in steps_of(load(path))
        if "${{" in str(step.get("run", ""))
    ]
    assert not bad, f"{rel(path)}: pass values through env:, never ${{{{ }}}} inside run: {bad}"


def _secret_uses(node: Any, where: str) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _secret_uses(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _secret_uses(value, f"{where}[{index}]")
    elif isinstance(node, str) and re.search(r"\bsecrets\.", node):
        yield where


@pytest.mark.parametrize("path", WORKFLOWS, ids=rel)
def test_secrets_only_reach_steps_through_env(path: Path) -> None:
    doc = load(path)
    places = list(_secret_uses(doc.get("jobs") or {}, "jobs"))
    allowed = re.compile(
        r"^jobs\.[^.]+(\.steps\[\d+\])?\.env\.[A-Z0-9_]+$|^jobs\.[^.]+\.secrets\.[A-Z0-9_]+$"
    )
    bad = [p for p in places if not allowed.match(p)]
    assert not bad, f"{rel(path)}: secrets outside env:/secrets: mappings: {bad}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=rel)
def test_permissions_empty_at_top_and_commented_per_job(path: Path) -> None:
    doc = load(path)
    assert doc.get("permissions") == {}, f"{rel(path)}: start from `permissions: {{}}`"
    lines = path.read_text(encoding="utf-8").splitlines()
    root = yaml.compose(path.read_text(encoding="utf-8"))
    assert isinstance(root, yaml.MappingNode)
    jobs_node = next(v for k, v in root.value if k.value == "jobs")
    problems = []
    for job_key, job_node in jobs_node.value:
        perms = next((v for k, v in job_node.value if k.value == "permissions"), None)
        if perms is None:
            problems.append(f"job {job_key.value}: no `permissions:` (grant what it needs, or {{}})")
            continue
        if isinstance(perms, yaml.MappingNode):
            for grant_key, _ in perms.value:
                if "#" not in lines[grant_key.start_mark.line]:
                    problems.append(
                        f"job {job_key.value}: grant `{grant_key.value}` needs a comment saying why"
                    )
    assert not problems, f"{rel(path)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", WORKFLOWS, ids=rel)
def test_job_timeouts_checkout_credentials_and_environment_concurrency(path: Path) -> None:
    doc = load(path)
    problems = []
    for job_id, job in doc["jobs"].items():
        if "uses" not in job and "timeout-minutes" not in job:
            problems.append(f"{job_id}: no timeout-minutes")
        if "environment" in job:
            concurrency = job.get("concurrency") or {}
            env_expr = str(job["environment"])
            if not isinstance(concurrency, dict) or concurrency.get("cancel-in-progress") is not False:
                problems.append(
                    f"{job_id}: an environment job needs concurrency with cancel-in-progress: false"
                )
            elif env_expr.strip("${} ") not in str(concurrency.get("group", "")):
                problems.append(f"{job_id}: concurrency group must name the environment ({env_expr})")
        for step in job.get("steps") or []:
            is_checkout = str(step.get("uses", "")).startswith("actions/checkout@")
            if is_checkout and (step.get("with") or {}).get("persist-credentials") is not False:
                problems.append(f"{job_id}: checkout without persist-credentials: false")
    assert not problems, f"{rel(path)}:\n" + "\n".join(problems)


def test_pull_request_job_gets_no_secret_no_environment_no_write() -> None:
    """A pull request job never holds write credentials (issue 17). The only secret one may see is
    the read-only preview kubeconfig, in the unprotected ``<env>-preview`` environment, and only
    for a pull request from this repository: a fork's code never runs with a kubeconfig."""
    doc = load(ROOT / ".github" / "workflows" / "deploy-k8s-resources.yml")
    pr_jobs = {k: j for k, j in doc["jobs"].items() if "pull_request" in str(j.get("if", ""))}
    assert pr_jobs, "no job runs for pull_request"
    previews = []
    for job_id, job in pr_jobs.items():
        assert set((job.get("permissions") or {}).values()) <= {"read"}, f"{job_id} has write permissions"
        uses = {str(s.get("uses", "")) for s in job.get("steps") or []}
        assert not {u for u in uses if u in ("./", "./actions/apply", "./actions/cluster-ready")}, uses
        if "environment" not in job:
            assert not list(_secret_uses(job, job_id)), f"{job_id} references secrets"
            continue
        previews.append(job_id)
        assert str(job["environment"]).endswith("-preview"), f"{job_id}: only a <env>-preview environment"
        assert "head.repo.full_name == github.repository" in str(job["if"]), f"{job_id} would run for forks"
        secrets = set(re.findall(r"secrets\.([A-Z0-9_]+)", yaml.safe_dump(job)))
        assert secrets == {"KUBECONFIG_READONLY"}, f"{job_id} sees {secrets}"
        assert uses & {"./actions/diff"}, f"{job_id}: a preview job runs gitops diff"
    assert previews == ["preview"], previews
    others = {k: j for k, j in doc["jobs"].items() if k not in pr_jobs}
    for job_id, job in others.items():
        assert "github.event_name != 'pull_request'" in str(job.get("if", "")) or "needs" in job, (
            f"{job_id} could run on a pull request"
        )


@pytest.mark.parametrize("path", ACTIONS, ids=rel)
def test_action_inputs_outputs_documented_and_branded(path: Path) -> None:
    doc = load(path)
    problems = []
    if not doc.get("description"):
        problems.append("no description")
    # act refuses to load an action with an expression in any description ("expressions are
    # not allowed here"); GitHub shows the text verbatim anyway, so describe it in words.
    descriptions = {"action": doc.get("description", "")}
    for section in ("inputs", "outputs"):
        for name, spec in (doc.get(section) or {}).items():
            descriptions[f"{section}.{name}"] = (spec or {}).get("description", "")
    problems.extend(
        f"{where}: description contains an expression (`${{{{`)"
        for where, text in descriptions.items()
        if "${{" in str(text)
    )
    branding = doc.get("branding") or {}
    if not branding.get("icon") or not branding.get("color"):
        problems.append("branding needs icon and color")
    for name, declared in (doc.get("inputs") or {}).items():
        spec = declared or {}
        if not str(spec.get("description", "")).strip():
            problems.append(f"input {name}: no description")
        if "required" not in spec:
            problems.append(f"input {name}: say `required: true|false`")
        if not spec.get("required") and "default" not in spec:
            problems.append(f'input {name}: optional inputs need a default (even "")')
    for name, spec in (doc.get("outputs") or {}).items():
        if not str((spec or {}).get("description", "")).strip():
            problems.append(f"output {name}: no description")
    runs = doc.get("runs") or {}
    if runs.get("using") == "composite":
        for step in runs.get("steps") or []:
            if "run" in step and "scripts/bootstrap.sh" not in step["run"]:
                problems.append(f"step {step.get('id', '?')}: does not source scripts/bootstrap.sh")
    assert not problems, f"{rel(path)}:\n" + "\n".join(problems)


def test_dependabot_covers_pip_and_every_action_folder() -> None:
    config = load(ROOT / ".github" / "dependabot.yml")
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert "pip" in updates
    actions = updates["github-actions"]
    covered = set(actions.get("directories") or [actions.get("directory")])
    wanted = {"/"} | {f"/{p.parent.relative_to(ROOT).as_posix()}" for p in ROOT.glob("actions/*/action.yml")}
    assert wanted <= covered, f"add to .github/dependabot.yml: {sorted(wanted - covered)}"


def test_zizmor_config_disables_only_self_repository() -> None:
    config = load(ROOT / ".github" / "zizmor.yml")
    disabled = {name for name, rule in (config.get("rules") or {}).items() if (rule or {}).get("disable")}
    assert disabled == {"self-repository"}
