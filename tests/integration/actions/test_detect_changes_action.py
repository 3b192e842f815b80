"""actions/detect-changes: its launcher run by node as the runner runs a JavaScript action.

The runner passes every declared input as ``INPUT_<NAME>`` (upper-cased, spaces as ``_``; the
declared default when the workflow gives none) and runs ``node main.js``. bootstrap.sh is
pointed at a cache whose "venv" is the dev venv (marked complete), so no pip install runs;
everything else (the launcher, bash, the gitops call, $GITHUB_OUTPUT) is the real thing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.commands.options import input_env
from tests.support.actions import GhaEnv, parse_output_file
from tests.support.git_repo import GitRepo, git_repo  # noqa: F401

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
ACTION = ROOT / "actions" / "detect-changes" / "action.yml"
DEV_PATCH = "infra/k8s/hetzner/dev/patches/postgres.yaml"
RunInputs = Callable[[dict[str, str]], subprocess.CompletedProcess[str]]  # the action, run with these inputs


def spec() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return data


def fake_bootstrap_cache(tmp: Path) -> Path:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    lock = hashlib.sha256((ROOT / "requirements" / "core.txt").read_bytes()).hexdigest()[:16]
    venv = tmp / "cache" / f"venv-core-py{version}-{lock}"  # the action sources the core profile
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / ".gitops-complete").touch()
    return tmp / "cache"


def run_action(
    inputs: dict[str, str], env: dict[str, str], cwd: Path, tmp: Path, node: str
) -> subprocess.CompletedProcess[str]:
    declared = spec()["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"not inputs of the action: {unknown}"
    values = {name: inputs.get(name, str(meta.get("default", ""))) for name, meta in declared.items()}
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITOPS_", "INPUT_"))},
        **env,
        **{f"INPUT_{name.replace(' ', '_').upper()}": value for name, value in values.items()},
        "GITOPS_CACHE_DIR": str(fake_bootstrap_cache(tmp)),
        "GITOPS_PYTHON": sys.executable,
        "PYTHONPATH": "",
    }
    main = ACTION.parent / spec()["runs"]["main"]
    return subprocess.run(
        [node, str(main)], cwd=cwd, env=full, capture_output=True, text=True, check=False, timeout=60
    )


@pytest.fixture
def node(require_binary: Any) -> str:
    path: str = require_binary("node")  # Debian's nodejs (scripts/dev.sh installs it)
    return path


@pytest.fixture
def run_on_infra(
    git_repo: GitRepo,  # noqa: F811
    gha_env: GhaEnv,
    tmp_path: Path,
    node: str,
) -> RunInputs:
    """The action run with the given inputs in a repository holding one commit of the standard tree."""
    git_repo.write_infra()
    git_repo.commit("infra")

    def run(inputs: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return run_action(inputs, gha_env.variables(), git_repo.path, tmp_path, node)

    return run


def test_the_launcher_passes_every_input_as_its_variable_and_runs_the_verb(tmp_path: Path, node: str) -> None:
    """Only JavaScript (and Docker) actions may set outputs they do not declare, which
    dorny/paths-filter's per-filter outputs need (actions/runner#2515). The launcher follows the
    convention of every action (gitops/commands/options.py): input NAME arrives as
    GITOPS_INPUT_<NAME>, and the step runs `gitops changes --format json` and nothing else."""
    data = spec()
    assert data["runs"]["using"] == "node24"
    fake = tmp_path / "bin"
    fake.mkdir()
    record = tmp_path / "record.json"
    (fake / "bash").write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'env': dict(os.environ)}}, open({str(record)!r}, 'w'))\n",
        encoding="utf-8",
    )
    (fake / "bash").chmod(0o755)
    inputs = {name: f"value of {name}" for name in data["inputs"]}
    env = {
        "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
        "GITOPS_INPUT_STALE": "from an earlier step",  # not an input of this step: dropped
        **{f"INPUT_{name.replace(' ', '_').upper()}": value for name, value in inputs.items()},
    }
    proc = subprocess.run(
        [node, str(ACTION.parent / "main.js")], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(record.read_text(encoding="utf-8"))
    assert seen["argv"][-4:] == [str(ROOT / "scripts" / "bootstrap.sh"), "changes", "--format", "json"]
    assert 'source "$bootstrap" core && gitops "$@"' in seen["argv"][1]
    passed = {k: v for k, v in seen["env"].items() if k.startswith("GITOPS_INPUT_")}
    assert passed == {input_env(name): value for name, value in inputs.items()}
    for name, meta in data["inputs"].items():
        assert meta.get("description") and "default" in meta, name


def test_action_on_a_push(git_repo: GitRepo, gha_env: GhaEnv, tmp_path: Path, node: str) -> None:  # noqa: F811
    git_repo.write_infra()
    before = git_repo.commit("infra")
    git_repo.commit("dev", files={DEV_PATCH: "replicas: 2\n"})
    event = git_repo.push_event(before, git_repo.rev())
    proc = run_action(
        {"filters": "pg:\n  - '**/postgres.yaml'\n  - '!**/prod/**'", "list-files": "json"},
        {**gha_env.variables(), "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "push"},
        git_repo.path,
        tmp_path,
        node,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["environments"] == ["dev"]
    outputs = gha_env.outputs()
    declared = spec()["outputs"]
    assert set(declared) <= set(outputs), set(declared) - set(outputs)
    assert outputs["matrix"] == json.dumps({"include": [{"environment": "dev"}]})
    assert (outputs["dev"], outputs["prod"], outputs["any"]) == ("true", "false", "true")
    # dorny/paths-filter's outputs, named after the filter: undeclared, so only a JS action has them
    assert (outputs["pg"], outputs["pg_count"], outputs["pg_files"]) == ("true", "1", json.dumps([DEV_PATCH]))
    assert json.loads(outputs["changes"]) == ["pg"]
    assert json.loads(outputs["filters"]) == {"pg": True}
    assert outputs["base"] == before
    assert "| dev | yes |" in gha_env.summary()


def test_dorny_input_names_work(git_repo: GitRepo, gha_env: GhaEnv, tmp_path: Path, node: str) -> None:  # noqa: F811
    """dorny/paths-filter's `with:` keys for what we call path and head: working-directory, ref."""
    git_repo.write_infra()
    first = git_repo.commit("infra")
    git_repo.commit("dev", files={DEV_PATCH: "replicas: 2\n"})
    git_repo.commit("later", files={"README.md": "# later\n"})
    proc = run_action(
        {
            "working-directory": str(git_repo.path),
            "base": first,
            "ref": "HEAD~1",
            "filters": "dev-patch: 'infra/k8s/hetzner/dev/**'\nreadme: README.md",
        },
        gha_env.variables(),
        tmp_path,
        tmp_path,
        node,
    )
    assert proc.returncode == 0, proc.stderr
    outputs = gha_env.outputs()
    assert (outputs["dev-patch"], outputs["readme"]) == ("true", "false")  # ref HEAD~1: not the README commit


def test_two_names_for_one_input_are_refused(run_on_infra: RunInputs) -> None:
    proc = run_on_infra({"head": "HEAD", "ref": "main"})
    assert proc.returncode == 1
    assert "--head (input `head`) is 'HEAD' and --ref (input `ref`) is 'main': they name the same thing" in (
        proc.stderr
    )


def test_action_on_workflow_dispatch_in_a_subdirectory_checkout(
    git_repo: GitRepo,  # noqa: F811
    gha_env: GhaEnv,
    tmp_path: Path,
    node: str,
) -> None:
    git_repo.write_infra()
    git_repo.commit("infra")
    event = git_repo.event({"inputs": {}})
    proc = run_action(
        {"path": str(git_repo.path)},
        {**gha_env.variables(), "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "workflow_dispatch"},
        tmp_path,
        tmp_path,
        node,
    )
    assert proc.returncode == 0, proc.stderr
    outputs = parse_output_file(gha_env.output.read_text())
    assert json.loads(outputs["environments"]) == ["dev", "test", "prod", "local"]
    assert outputs["base"] == ""


def test_action_error_is_an_annotation_and_exit_1(run_on_infra: RunInputs) -> None:
    proc = run_on_infra({"base": "does-not-exist"})
    assert proc.returncode == 1
    assert "::error title=Unknown revision::" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_bad_list_format_names_the_input(run_on_infra: RunInputs) -> None:
    proc = run_on_infra({"list-files": "yaml"})
    assert proc.returncode == 1
    assert "::error title=Invalid input::--list-files (input `list-files`) is 'yaml'" in proc.stderr
    assert "use one of: none, csv, shell, escape, json" in proc.stderr
