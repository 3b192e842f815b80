"""What the case tables share: flags, environments, and checks on a run's outputs."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.hostile import builders as b
from tests.hostile.harness import Result

KUBE = ("--kubeconfig", "{kubeconfig}")
# The flags every dispatch row starts with: a repository, a workflow and a ref (inputs vary by row).
DISPATCH = ("dispatch", "--repo", "octo/infra", "--workflow", "deploy.yml", "--ref", "main")
SECRET_ENV = {"DB_PASSWORD": b.DB_PASSWORD, "API_KEY": b.API_KEY}
DENY_CREDS = {"deny": ["secret/creds=webhook/deny.fakekube.test:{object}"]}
DENY_GIVEN = {"deny": ["secret/given=webhook/deny.fakekube.test:{object}"]}
FAST = ("--timeout", "20", "--progress-interval", "1")
# A fake that passes cluster-ready: a Hetzner cluster whose CSI node plugin runs too.
READY = {"csi_node_plugin": True}
CONFIGMAP_X = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
GH_TOKEN = "ghp_" + "A1b2C3d4" * 5  # the shape of a classic token: redacted even unregistered
# GitHub at an address nothing listens on: a case that must fail before any request says so.
NO_GITHUB = {"GH_TOKEN": GH_TOKEN, "GITHUB_API_URL": "https://127.0.0.1:9"}


def output_is_json(name: str) -> Callable[[Result], list[str]]:
    """The step output ``name`` was written and is valid JSON (so the leak scan looked at a real one)."""

    def check(result: Result) -> list[str]:
        value = result.outputs().get(name)
        if not value:
            return [f"no {name!r} output was written"]
        try:
            json.loads(value)
        except ValueError as exc:
            return [f"the {name!r} output is not valid JSON ({exc})"]
        return []

    return check


def warned(*words: str) -> Callable[[Result], list[str]]:
    """stderr carries each of ``words`` (a warning the run must give)."""

    def check(result: Result) -> list[str]:
        return [f"no warning naming {w!r}" for w in words if w not in result.stderr]

    return check


def absent(*words: str) -> Callable[[Result], list[str]]:
    """None of ``words`` appears in stdout, stderr or any file the run wrote."""

    def check(result: Result) -> list[str]:
        places = {"stdout": result.stdout, "stderr": result.stderr, **result.files}
        return [f"{where} contains {w!r}" for w in words for where, text in places.items() if w in text]

    return check


def summary_has(*words: str) -> Callable[[Result], list[str]]:
    def check(result: Result) -> list[str]:
        summary = result.github_file("GITHUB_STEP_SUMMARY")
        return [f"the job summary does not say {w!r}" for w in words if w not in summary]

    return check


def no_requests(result: Result) -> list[str]:
    """The fake API servers received nothing: the run refused before any call."""
    found = []
    if result.fake is not None:
        sent = [f"{r['method']} {r['path']}" for r in result.fake.request_log]
        if sent:
            found.append(f"the API server got {len(sent)} requests (first: {sent[0]})")
    if result.github is not None and result.github.requests:
        first = result.github.requests[0]
        count = len(result.github.requests)
        found.append(f"GitHub got {count} requests (first: {first.method} {first.path})")
    return found


def both(*checks: Callable[[Result], list[str]]) -> Callable[[Result], list[str]]:
    return lambda result: [p for c in checks for p in c(result)]
