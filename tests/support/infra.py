"""The repository's real infra/k8s tree, rendered with kustomize (once per process and overlay)."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from gitops.adapters.kustomize import build

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra" / "k8s"
BASE = INFRA / "base"
OVERLAYS = {
    "dev": INFRA / "hetzner" / "dev",
    "test": INFRA / "hetzner" / "test",
    "prod": INFRA / "hetzner" / "prod",
    "local": INFRA / "podman" / "local",
}
HETZNER = ("dev", "test", "prod")
SERVICES = ("postgres", "redis", "jaeger")
PLACEHOLDER = "StrongBase64Password"
# The variables the deploy workflow provides, one per placeholder Secret key (the infra contract:
# tests/infra/test_overlays.py checks the rendered Secrets carry exactly these keys).
SECRET_VARIABLES = (
    "POSTGRES_SA_PASSWORD",
    "ACCOUNT_SERVICE_DB_USER_PASSWORD",
    "MESSAGING_SERVICE_DB_USER_PASSWORD",
    "PROPERTY_SERVICE_DB_USER_PASSWORD",
    "REDIS_ADMIN_PASSWORD",
    "REDIS_PUBSUB_PASSWORD",
    "REDIS_CACHE_PASSWORD",
    "REDIS_RATELIMIT_PASSWORD",
    "REDIS_MONITOR_PASSWORD",
)

Obj = dict[str, Any]


@functools.cache
def _render(directory: Path) -> tuple[Obj, ...]:
    return tuple(doc for doc in yaml.safe_load_all(build(directory)) if doc)


def render(env_or_dir: str | Path) -> list[Obj]:
    """Rendered objects of an overlay (``dev``, ``test``, ``prod``, ``local``) or a directory;
    deep copies, so a test may change them freely."""
    directory = OVERLAYS[env_or_dir] if isinstance(env_or_dir, str) else env_or_dir
    return copy.deepcopy(list(_render(directory)))


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    """The one object of ``kind`` called ``name``."""
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def container(statefulset: Obj, name: str, *, init: bool = False) -> Obj:
    """A (init) container of a StatefulSet's pod template by name."""
    key = "initContainers" if init else "containers"
    found = [c for c in statefulset["spec"]["template"]["spec"].get(key, []) if c["name"] == name]
    assert len(found) == 1, f"expected one {key[:-1]} {name!r} in {statefulset['metadata']['name']}"
    return found[0]


def container_env(c: Obj, secret_values: dict[str, str]) -> dict[str, str]:
    """A container's environment as the kubelet would build it: literal values, and for
    ``secretKeyRef`` the value from ``secret_values`` (keyed by the Secret's key name)."""
    env: dict[str, str] = {}
    for entry in c.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        elif "secretKeyRef" in entry.get("valueFrom", {}):
            env[entry["name"]] = secret_values[entry["valueFrom"]["secretKeyRef"]["key"]]
    return env
