"""The seed scenario, end to end on the fake API server with the real prod overlay.

Prod PostgreSQL storage grows from 10Gi to 20Gi. A StatefulSet's volumeClaimTemplates are
immutable, so the API server answers 422 (in the shape of the minor version the fake plays: 1.36
and 1.37 differ); ``gitops apply`` must re-create ONLY the postgres StatefulSet with orphan
cascade, wait for the garbage collector (slow here), leave redis and jaeger untouched, expand the
existing PVC and never delete the pod.

"Not touched" is asserted on the fake's storage history: no write of any kind (no new
resourceVersion, no new generation, no delete) reached redis's or jaeger's objects. Their
server-side apply requests are sent (that is how we learn they have not drifted), but the
API server turns them into no-ops.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.apply import (
    Cluster,
    by_name,
    client_deletes,
    client_writes,
    report_of,
    write_overlay,
)

pytestmark = pytest.mark.integration

ORPHAN_FINALIZER_SECONDS = 1.5


def new_uid(fake: Any) -> str:
    sts = fake.get("apps/v1", "StatefulSet", "default", "postgres")
    assert sts is not None
    return str(sts["metadata"]["uid"])


def apply(cli: Callable[[list[str]], Any], overlay: Path, kubeconfig: Path, *extra: str) -> Any:
    args = ["apply", "--overlay", str(overlay), "--kubeconfig", str(kubeconfig), "--format", "json"]
    return cli([*args, *extra])


# 1.36 answers the immutable volumeClaimTemplates with one Forbidden cause on `spec`, 1.37 with one
# Invalid cause on `spec.volumeClaimTemplates` (tests/corpus/kubernetes/<minor>/statefulset-*.json).
@pytest.mark.parametrize("cluster", ["1.36", "1.37"], indirect=True)
def test_prod_postgres_storage_10gi_to_20gi(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path, secrets_env: dict[str, str]
) -> None:
    fake = cluster.need_fake()
    v10 = write_overlay(tmp_path / "prod-10Gi", postgres_storage="10Gi")
    v20 = write_overlay(tmp_path / "prod-20Gi", postgres_storage="20Gi")

    first = apply(cli, v10, cluster.kubeconfig)
    assert first.code == 0, first.output
    created = report_of(first.stdout)
    assert {o["action"] for o in created["objects"]} == {"created"}
    assert by_name(created)["StatefulSet/postgres"]["rollout"] == "ready"
    pvc = fake.get("v1", "PersistentVolumeClaim", "default", "data-postgres-0")
    assert pvc is not None and pvc["spec"]["resources"]["requests"]["storage"] == "10Gi"

    def uid(api_version: str, kind: str, name: str) -> str:
        obj = fake.get(api_version, kind, "default", name)
        assert obj is not None, f"{kind}/{name} is missing"
        return str(obj["metadata"]["uid"])

    before = {
        "postgres-0": uid("v1", "Pod", "postgres-0"),
        "data-postgres-0": pvc["metadata"]["uid"],
        "sts/postgres": uid("apps/v1", "StatefulSet", "postgres"),
        "sts/redis": uid("apps/v1", "StatefulSet", "redis"),
        "sts/jaeger": uid("apps/v1", "StatefulSet", "jaeger"),
        "redis-0": uid("v1", "Pod", "redis-0"),
        "jaeger-0": uid("v1", "Pod", "jaeger-0"),
    }
    generations = {
        name: fake.get("apps/v1", "StatefulSet", "default", name)["metadata"]["generation"]  # type: ignore[index]
        for name in ("redis", "jaeger")
    }
    fake.reset_logs()
    # A busy garbage collector: the orphan finalizer of the deleted StatefulSet lingers for seconds.
    fake.set_knobs(orphan_finalizer_seconds=ORPHAN_FINALIZER_SECONDS)

    second = apply(cli, v20, cluster.kubeconfig)
    assert second.code == 0, second.output
    report = report_of(second.stdout)
    objects = by_name(report)

    # Only postgres was re-created; everything else did not drift.
    assert objects["StatefulSet/postgres"]["action"] == "recreated"
    assert objects["StatefulSet/postgres"]["rollout"] == "ready"
    assert {k for k, o in objects.items() if o["action"] != "unchanged"} == {"StatefulSet/postgres"}
    assert report["summary"] == {"unchanged": len(objects) - 1, "recreated": 1}

    # Exactly one delete: the postgres StatefulSet, orphaning its dependents.
    deletes = client_deletes(fake)
    assert [(d["kind"], d["name"], d["propagationPolicy"]) for d in deletes] == [
        ("StatefulSet", "postgres", "Orphan")
    ]
    assert deletes[0]["uid"] == before["sts/postgres"]
    # ... and the re-create waited for the garbage collector instead of racing it.
    [deleting] = fake.history(kind="StatefulSet", uid=before["sts/postgres"], action="deleting")
    [deleted] = fake.history(kind="StatefulSet", uid=before["sts/postgres"], action="deleted")
    [created] = fake.history(kind="StatefulSet", uid=new_uid(fake), action="created")
    assert deleted["time"] - deleting["time"] >= ORPHAN_FINALIZER_SECONDS
    assert created["seq"] > deleted["seq"]
    assert objects["StatefulSet/postgres"]["evidence"] == "the server's causes"

    # redis and jaeger were not touched: no write, no new generation, same objects and pods.
    for name in ("redis", "jaeger"):
        for kind in ("StatefulSet", "Service", "ConfigMap", "PodDisruptionBudget"):
            assert client_writes(fake, kind, name) == [], f"{kind}/{name} was written"
        sts = fake.get("apps/v1", "StatefulSet", "default", name)
        assert sts is not None
        assert sts["metadata"]["uid"] == before[f"sts/{name}"]
        assert sts["metadata"]["generation"] == generations[name]
        assert uid("v1", "Pod", f"{name}-0") == before[f"{name}-0"]
    writes = [r["path"] for r in fake.requests() if r["method"] in ("PUT", "POST", "DELETE")]
    assert not [p for p in writes if "/redis" in p or "/jaeger" in p]

    # The pod was never deleted, and the new StatefulSet adopted it.
    pod = fake.get("v1", "Pod", "default", "postgres-0")
    assert pod is not None and pod["metadata"]["uid"] == before["postgres-0"]
    new_sts = fake.get("apps/v1", "StatefulSet", "default", "postgres")
    assert new_sts is not None and new_sts["metadata"]["uid"] != before["sts/postgres"]
    owners = [o["uid"] for o in pod["metadata"].get("ownerReferences", []) if o.get("controller")]
    assert owners == [new_sts["metadata"]["uid"]]
    assert not fake.history(kind="Pod", action="deleted")

    # The existing PVC was expanded in place (same claim, new size), never deleted.
    pvc = fake.get("v1", "PersistentVolumeClaim", "default", "data-postgres-0")
    assert pvc is not None and pvc["metadata"]["uid"] == before["data-postgres-0"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert objects["StatefulSet/postgres"]["volumes"]["expanded"] == ["data-postgres-0: 10Gi -> 20Gi"]
    assert not fake.history(kind="PersistentVolumeClaim", action="deleted")
    fake.wait_for(
        lambda: (
            (fake.get("v1", "PersistentVolumeClaim", "default", "data-postgres-0") or {})
            .get("status", {})
            .get("capacity", {})
            .get("storage")
            == "20Gi"
        )
    )

    # The report says what happened and verify passed; no secret value leaked anywhere.
    assert "propagationPolicy Orphan" in objects["StatefulSet/postgres"]["message"]
    assert report["verify"] and all(c["passed"] for c in report["verify"])
    for value in secrets_env.values():
        assert value not in second.output


def test_a_second_apply_changes_nothing(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path, secrets_env: dict[str, str]
) -> None:
    fake = cluster.need_fake()
    overlay = write_overlay(tmp_path / "prod")
    assert apply(cli, overlay, cluster.kubeconfig).code == 0
    fake.reset_logs()
    again = apply(cli, overlay, cluster.kubeconfig)
    assert again.code == 0, again.output
    report = report_of(again.stdout)
    assert {o["action"] for o in report["objects"]} == {"unchanged"}
    assert not [e for e in fake.history() if str(e["actor"]).startswith("client")]
    assert not client_deletes(fake)
