"""Helpers for the apply / deploy / cluster-ready tests: a fake cluster, prod overlay variants, secrets.

The overlays are the REAL ``infra/k8s/hetzner/<env>`` trees, wrapped in a throwaway overlay
under ``tmp_path`` that references them by relative path and patches what a scenario changes
(PostgreSQL storage, an image), so the tests exercise exactly what users deploy.

The scenarios built on :func:`start_fake` need the fake's knobs (never-ready, crash loops,
faults) and its request/storage log, so they always run on the fake. What also runs on a real
cluster (``GITOPS_TEST_KUBECONFIG``) uses the shared ``kube_target`` fixture instead
(tests/integration/operations/test_apply_cluster.py).
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakekube import FakeKube
from tests.support.infra import SECRET_VARIABLES

ROOT = Path(__file__).resolve().parents[2]


def secret_values() -> dict[str, str]:
    """Distinctive values, so a leak is easy to find in any output."""
    return {name: f"s3cr3t-{name.lower()}-Zq9" for name in SECRET_VARIABLES}


@dataclass
class Cluster:
    kubeconfig: Path
    fake: FakeKube

    def need_fake(self) -> FakeKube:
        return self.fake


class SteppingClock:
    """A :class:`gitops.adapters.clock.Clock` whose ``sleep`` returns at once and moves time on:
    a bounded poll runs to its deadline without waiting for it. ``monotonic`` still follows real
    time, so waits on events (the rollout waiter) work as usual."""

    def __init__(self) -> None:
        self.slept = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.slept

    def sleep(self, seconds: float) -> None:
        self.slept += seconds


def start_fake(tmp_path: Path, **knobs: Any) -> Iterator[Cluster]:
    """A started fake (TLS, bearer token) and its kubeconfig; stopped and checked for fake bugs after."""
    fake = FakeKube(**knobs).start()
    try:
        yield Cluster(fake.write_kubeconfig(tmp_path / "kubeconfig.yaml"), fake)
    finally:
        fake.stop()
    assert not fake.bugs, "the fake API server hit a bug:\n" + "\n".join(fake.bugs)


def write_overlay(
    directory: Path,
    base: str = "infra/k8s/hetzner/prod",
    *,
    postgres_storage: str | None = None,
    images: dict[str, str] | None = None,
    patches: Sequence[dict[str, Any]] = (),
) -> Path:
    """An overlay on top of a real one, with JSON 6902 patches for what the scenario changes."""
    directory.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = list(patches)
    if postgres_storage:
        entries.append(
            {
                "target": {"kind": "StatefulSet", "name": "postgres"},
                "patch": yaml.safe_dump(
                    [
                        {
                            "op": "replace",
                            "path": "/spec/volumeClaimTemplates/0/spec/resources/requests/storage",
                            "value": postgres_storage,
                        }
                    ]
                ),
            }
        )
    for name, image in (images or {}).items():
        entries.append(
            {
                "target": {"kind": "StatefulSet", "name": name},
                "patch": yaml.safe_dump(
                    [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image}]
                ),
            }
        )
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(ROOT / base, directory)],
        "patches": entries,
    }
    text = yaml.safe_dump(kustomization, sort_keys=False)
    (directory / "kustomization.yaml").write_text(text, encoding="utf-8")
    return directory


def file_applier(
    cli: Callable[[list[str]], Any], kubeconfig: Path, directory: Path, *options: str
) -> Callable[..., Any]:
    """``run(objects, *extra)``: ``gitops apply -f FILE --format json OPTIONS EXTRA`` of ``objects``,
    written to a new FILE under ``directory`` for each call."""
    counter = itertools.count()

    def run(objects: Sequence[dict[str, Any]], *extra: str) -> Any:
        path = directory / f"manifests-{next(counter)}.yaml"
        path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")
        args = ["apply", "-f", str(path), "--kubeconfig", str(kubeconfig), "--format", "json"]
        return cli([*args, *options, *extra])

    return run


def report_of(stdout: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(stdout)
    return data


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Objects of an apply report keyed ``Kind/name``."""
    return {f"{o['kind']}/{o['name']}": o for o in report["objects"]}


def client_deletes(fake: FakeKube) -> list[dict[str, Any]]:
    """DELETEs sent by a client (not by the fake's controllers or garbage collector)."""
    return [e for e in fake.delete_events if str(e.get("actor", "")).startswith("client")]


def client_writes(fake: FakeKube, kind: str, name: str) -> list[dict[str, Any]]:
    """Writes that reached the fake's storage for one object and came from a client."""
    return [e for e in fake.history(kind=kind, name=name) if str(e.get("actor", "")).startswith("client")]


# -- fixtures (registered in tests/conftest.py) -------------------------------------------------


@pytest.fixture
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    """A fake API server for one test (a module may define its own `cluster` to use knobs).

    Parametrize it indirectly with minor versions to run a test against each version's answers:
    ``@pytest.mark.parametrize("cluster", ["1.36", "1.37"], indirect=True)``.
    """
    version = getattr(request, "param", None)
    yield from start_fake(tmp_path, **({"server_version": version} if version else {}))


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The nine secret variables set to test values (use with `pytest.mark.usefixtures`)."""
    values = secret_values()
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values
