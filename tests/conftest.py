"""Fixtures shared by every test.

* every test starts outside GitHub Actions (GITHUB_* variables of the host are removed) with
  a fresh process-wide runner;
* ``gha_env`` puts the test *inside* Actions: ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY`` and
  ``GITHUB_ENV`` point at files in ``tmp_path``;
* ``cli`` runs ``gitops`` in-process and returns exit code, stdout and stderr;
* ``require_binary`` fails loudly (never skips) when a tool the test needs is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitops.adapters import runner
from tests.support.actions import GhaEnv

# Shared fixtures that live next to the code they support: `git_repo` builds real commits,
# `fake_kube`/`kube_target` start the wire-level fake Kubernetes API server (or use the real
# cluster named by GITOPS_TEST_KUBECONFIG), `cluster`/`secrets_env` serve the apply tests.
pytest_plugins = [
    "tests.support.git_repo",
    "tests.fakekube.plugin",
    "tests.support.apply",
    "tests.support.services",
]


@pytest.fixture(autouse=True)
def _outside_actions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "RUNNER_", "INPUT_", "GITOPS_INPUT_")) or name in (
            "CI",
            "ACTIONS_RUNTIME_TOKEN",
        ):
            monkeypatch.delenv(name, raising=False)
    runner.reset()
    yield
    runner.reset()


@pytest.fixture
def gha_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GhaEnv:
    env = GhaEnv.create(tmp_path / "gha")
    for key, value in env.variables().items():
        monkeypatch.setenv(key, value)
    runner.reset()
    return env


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> object:
    from gitops.cli import main

    def invoke(argv: Sequence[str]) -> CliResult:
        runner.reset()
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def require_binary() -> object:
    def need(name: str) -> str:
        path = shutil.which(name)
        if path is None:
            pytest.fail(f"{name} is not installed; run `bash scripts/dev.sh setup` (tests never skip for it)")
        return path

    return need
