"""actions/detect-changes: its one `run:` script, executed by bash as the runner would.

bootstrap.sh is pointed at a cache whose "venv" is the dev venv (marked complete), so no pip
install runs; everything else (the env: mapping, quoting, the gitops call, $GITHUB_OUTPUT) is
the real thing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.actions import GhaEnv, parse_output_file
from tests.support.git_repo import GitRepo, git_repo  # noqa: F401

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
ACTION = ROOT / "actions" / "detect-changes" / "action.yml"
DEV_PATCH = "infra/k8s/hetzner/dev/patches/postgres.yaml"


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
    inputs: dict[str, str], env: dict[str, str], cwd: Path, tmp: Path
) -> subprocess.CompletedProcess[str]:
    step = spec()["runs"]["steps"][0]
    declared = spec()["inputs"]
    values = {name: inputs.get(name, str(meta.get("default", ""))) for name, meta in declared.items()}
    step_env = {}
    for key, expr in step["env"].items():
        match = re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", expr)
        assert match, f"{key} must come straight from an input"
        step_env[key] = values[match[1]]
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITOPS_"))},
        **env,
        **step_env,
        "GITHUB_ACTION_PATH": str(ACTION.parent),
        "GITOPS_CACHE_DIR": str(fake_bootstrap_cache(tmp)),
        "GITOPS_PYTHON": sys.executable,
        "PYTHONPATH": "",
    }
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_every_input_reaches_the_script_through_env_only() -> None:
    data = spec()
    step = data["runs"]["steps"][0]
    assert "${{" not in step["run"]
    mapped = {re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", v)[1] for v in step["env"].values()}  # type: ignore[index]
    assert mapped == set(data["inputs"])
    for name, meta in data["inputs"].items():
        assert meta.get("description") and "default" in meta, name


def test_action_on_a_push(git_repo: GitRepo, gha_env: GhaEnv, tmp_path: Path) -> None:  # noqa: F811
    git_repo.write_infra()
    before = git_repo.commit("infra")
    git_repo.commit("dev", files={DEV_PATCH: "replicas: 2\n"})
    event = git_repo.push_event(before, git_repo.rev())
    proc = run_action(
        {"filters": "pg:\n  - '**/postgres.yaml'\n  - '!**/prod/**'"},
        {**gha_env.variables(), "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "push"},
        git_repo.path,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["environments"] == ["dev"]
    outputs = gha_env.outputs()
    declared = spec()["outputs"]
    assert set(declared) <= set(outputs), set(declared) - set(outputs)
    for name, meta in declared.items():
        assert meta["value"] == f"${{{{ steps.changes.outputs.{name} }}}}"
    assert outputs["matrix"] == json.dumps({"include": [{"environment": "dev"}]})
    assert (outputs["dev"], outputs["prod"], outputs["any"]) == ("true", "false", "true")
    assert json.loads(outputs["filters"]) == {"pg": True}
    assert outputs["base"] == before
    assert "| dev | yes |" in gha_env.summary()


def test_action_on_workflow_dispatch_in_a_subdirectory_checkout(
    git_repo: GitRepo,  # noqa: F811
    gha_env: GhaEnv,
    tmp_path: Path,
) -> None:
    git_repo.write_infra()
    git_repo.commit("infra")
    event = git_repo.event({"inputs": {}})
    proc = run_action(
        {"path": str(git_repo.path)},
        {**gha_env.variables(), "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "workflow_dispatch"},
        tmp_path,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    outputs = parse_output_file(gha_env.output.read_text())
    assert json.loads(outputs["environments"]) == ["dev", "test", "prod", "local"]
    assert outputs["base"] == ""


def test_action_error_is_an_annotation_and_exit_1(git_repo: GitRepo, gha_env: GhaEnv, tmp_path: Path) -> None:  # noqa: F811
    git_repo.write_infra()
    git_repo.commit("infra")
    proc = run_action({"base": "does-not-exist"}, gha_env.variables(), git_repo.path, tmp_path)
    assert proc.returncode == 1
    assert "::error title=Unknown revision::" in proc.stderr
    assert "Traceback" not in proc.stderr
