"""Pytest fixtures for the fake Kubernetes API server (register with ``pytest_plugins``).

- ``fake_kube``: a started :class:`FakeKube` (function scope, ~0.1 s), stopped afterwards; the test fails if
  the fake recorded an internal bug. Its kubeconfig is ``fake_kube.kubeconfig_path``. Parametrize it
  indirectly with a minor version to play that version's answers:
  ``@pytest.mark.parametrize("fake_kube", ["1.36", "1.37"], indirect=True)``.
- ``fake_kube_factory``: ``make(**kwargs) -> FakeKube`` for tests that need knobs at construction
  (``make(never_ready=["statefulset/redis"], fault_rate=0.2)``) or several servers.
- ``kube_target``: a :class:`KubeTarget` - the fake by default, or the real cluster named by
  ``$GITOPS_TEST_KUBECONFIG`` (then ``has_knobs`` is False and a throwaway namespace is used).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.fakekube.fake import FakeKube
from tests.fakekube.target import REAL_CLUSTER_ENV, KubeTarget, kubectl_path
from tests.fakekube.validation import DEFAULT_MINOR

__all__ = ["KubeTarget", "fake_kube", "fake_kube_factory", "fake_kube_target", "kube_target"]


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
def fake_kube(request: pytest.FixtureRequest, fake_kube_factory: Callable[..., FakeKube]) -> FakeKube:
    return fake_kube_factory(server_version=getattr(request, "param", DEFAULT_MINOR))


@pytest.fixture
def fake_kube_target(fake_kube: FakeKube, tmp_path: Path) -> KubeTarget:
    """A KubeTarget on a fresh fake even when GITOPS_TEST_KUBECONFIG is set (tests of fake-only features)."""
    assert fake_kube.kubeconfig_path is not None
    return KubeTarget(fake_kube.kubeconfig_path, "default", fake_kube, False, tmp_path / "kubectl-cache")


def _kubectl(kubeconfig: Path, args: Sequence[str], cache_dir: Path) -> None:
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
    _kubectl(kubeconfig, ["create", "namespace", namespace], cache_dir)
    try:
        yield KubeTarget(kubeconfig, namespace, None, True, cache_dir)
    finally:
        _kubectl(kubeconfig, ["delete", "namespace", namespace, "--wait=false"], cache_dir)


KUBE_FIXTURES = frozenset({"kube_target", "fake_kube", "fake_kube_factory", "fake_kube_target"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that talks to an API server `kube`, so `pytest -m kube` selects them
    (the CI job with a real kind cluster runs exactly those; the ones that need the fake's knobs
    use `fake_kube*` and say so in their own assertions)."""
    for item in items:
        if KUBE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kube)
