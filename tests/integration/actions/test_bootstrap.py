"""scripts/bootstrap.sh: the hash-locked venv every composite action sources."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BOOTSTRAP = ROOT / "scripts" / "bootstrap.sh"


def lock_key() -> str:
    return hashlib.sha256((ROOT / "requirements" / "runtime.txt").read_bytes()).hexdigest()[:16]


def source(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f'source "{BOOTSTRAP}" && {script}'],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def base_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "RUNNER_TOOL_CACHE": str(tmp_path / "toolcache"),
    }


def test_refuses_python_older_than_3_11(tmp_path: Path) -> None:
    stub = tmp_path / "python3.10"
    stub.write_text('#!/bin/sh\ncase "$2" in\n  *"print("*) echo 3.10 ;;\n  *) exit 1 ;;\nesac\n')
    stub.chmod(0o755)
    env = base_env(tmp_path) | {"GITOPS_PYTHON": str(stub)}
    result = source("echo reached", env)
    assert result.returncode != 0
    assert "reached" not in result.stdout
    assert "Python >= 3.11 is required, found 3.10" in result.stderr
    assert "::error title=gitops bootstrap::" in result.stderr


def test_missing_python_is_named(tmp_path: Path) -> None:
    env = base_env(tmp_path) | {"GITOPS_PYTHON": "python-does-not-exist"}
    result = source("echo reached", env)
    assert result.returncode != 0
    assert "python-does-not-exist not found" in result.stderr


def test_second_call_reuses_the_venv_without_installing(tmp_path: Path) -> None:
    """A completed venv for this lock is reused: no `python -m venv`, no pip, just PATH/PYTHONPATH."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    venv = tmp_path / "toolcache" / "gitops" / f"venv-py{version}-{lock_key()}"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / ".gitops-complete").touch()
    calls = tmp_path / "calls.log"
    stub = tmp_path / "python3"
    stub.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\nexec "{sys.executable}" "$@"\n')
    stub.chmod(0o755)
    env = base_env(tmp_path) | {"GITOPS_PYTHON": str(stub)}
    result = source('echo "VENV=$GITOPS_VENV"; command -v python; gitops --version', env)
    assert result.returncode == 0, result.stderr
    assert f"VENV={venv}" in result.stdout
    assert f"{venv}/bin/python" in result.stdout
    assert "gitops 0.1.0" in result.stdout
    logged = calls.read_text()
    assert "-m venv" not in logged
    assert "pip" not in logged


def test_an_incomplete_venv_is_rebuilt_not_trusted(tmp_path: Path) -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    venv = tmp_path / "toolcache" / "gitops" / f"venv-py{version}-{lock_key()}"
    (venv / "bin").mkdir(parents=True)  # no .gitops-complete marker: a build that died half way
    calls = tmp_path / "calls.log"
    stub = tmp_path / "python3"
    stub.write_text(
        f'#!/bin/sh\necho "$*" >> "{calls}"\n'
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then exit 97; fi\n'
        f'exec "{sys.executable}" "$@"\n'
    )
    stub.chmod(0o755)
    env = base_env(tmp_path) | {"GITOPS_PYTHON": str(stub)}
    result = source("echo reached", env)
    assert result.returncode != 0
    assert "-m venv" in calls.read_text()
    assert "installing" in result.stderr and "failed" in result.stderr
    assert not (venv.parent / f"{venv.name}.lock").exists(), "the build lock must be released on failure"


@pytest.mark.integration
def test_real_build_installs_the_hash_locked_runtime(tmp_path: Path) -> None:
    """The real thing, once: python -m venv + pip --require-hashes from requirements/runtime.txt."""
    env = base_env(tmp_path) | {"GITOPS_PYTHON": sys.executable}
    if "PIP_CACHE_DIR" in os.environ:
        env["PIP_CACHE_DIR"] = os.environ["PIP_CACHE_DIR"]
    env["HOME"] = os.environ.get("HOME", str(tmp_path))  # reuse the user's pip cache
    result = source("gitops --version && kubectl version --client -o json && echo VENV=$GITOPS_VENV", env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gitops 0.1.0" in result.stdout
    assert '"gitVersion": "v1.37' in result.stdout
    venv = Path(result.stdout.split("VENV=")[1].strip())
    assert (venv / ".gitops-complete").exists()
    assert venv.is_relative_to(tmp_path / "toolcache")
    again = source("echo VENV=$GITOPS_VENV", env)
    assert again.returncode == 0
    assert "creating the hash-locked venv" not in again.stderr
