"""The records gitops keeps in a cluster, written as a cluster would hold them, for tests to seed.

The identity record is spelled out here as a literal (not built by gitops' own code), so a test
that seeds it also pins the format an existing cluster carries: a change to the format that
would make gitops stop recognising clusters it bound earlier fails these tests.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakekube import FakeKube

NAMESPACE = "gitops-system"
IDENTITY = "gitops-cluster-identity"
RECORD = "gitops-deploy-record"


def bind_cluster(fake: FakeKube, environment: str, *, claimed_by: str = "platform-admin") -> None:
    """Make ``fake`` the cluster of ``environment`` (what `gitops claim` leaves behind)."""
    fake.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    fake.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": IDENTITY, "namespace": NAMESPACE},
            "data": {
                "environment": environment,
                "claimed-at": "2026-11-01T09:00:00Z",
                "claimed-by": claimed_by,
                "claimed-via": "gitops claim",
            },
        }
    )


def identity_of(fake: FakeKube) -> str | None:
    found = fake.get("v1", "ConfigMap", NAMESPACE, IDENTITY)
    return None if found is None else str((found.get("data") or {}).get("environment"))


def deploy_entries(fake: FakeKube) -> list[dict[str, Any]]:
    """Every deploy in the cluster's record, oldest first."""
    found = fake.get("v1", "ConfigMap", NAMESPACE, RECORD)
    if found is None:
        return []
    data = found.get("data") or {}
    return [json.loads(data[key]) for key in sorted(data) if key.startswith("deploy-")]


def last_successful(fake: FakeKube) -> dict[str, Any] | None:
    found = fake.get("v1", "ConfigMap", NAMESPACE, RECORD)
    raw = ((found or {}).get("data") or {}).get("last-successful")
    return json.loads(raw) if raw else None


def writes_to(fake: FakeKube) -> list[dict[str, Any]]:
    """Every write request the fake received (what "nothing was written" is checked against)."""
    return [r for r in fake.requests() if r["method"] in ("POST", "PUT", "PATCH", "DELETE")]


def seed_deploy(fake: FakeKube, environment: str, commit: str, *, actor: str = "alice") -> dict[str, Any]:
    """A cluster whose record says ``commit`` was deployed successfully (what `gitops deploy` leaves)."""
    entry = {
        "id": "seed0001",
        "seq": 1,
        "environment": environment,
        "commit": commit,
        "ref": "refs/heads/main",
        "event": "push",
        "actor": actor,
        "triggering_actor": actor,
        "started_at": "2026-11-26T09:58:00Z",
        "finished_at": "2026-11-26T10:02:03Z",
        "result": "applied",
        "automatic": True,
        "override": None,
        "older_than": None,
        "gate": {"allowed": True},
        "run_url": None,
        "changed": 3,
    }
    fake.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": RECORD, "namespace": NAMESPACE},
            "data": {"deploy-000001-seed0001": json.dumps(entry), "last-successful": json.dumps(entry)},
        }
    )
    return entry
