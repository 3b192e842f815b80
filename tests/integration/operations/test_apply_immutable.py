"""Immutable-field handling beyond the seed scenario, with small manifests applied through ``-f``.

Each test first creates the objects, then applies a change the API server rejects with 422,
and checks what was (and, above all, what was NOT) deleted.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitops.adapters.kube import Kube, KubeError
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.operations.apply_engine import Action, ApplySettings, Engine
from tests.support import manifests as m
from tests.support.apply import Cluster, SteppingClock, by_name, client_deletes, file_applier, report_of

pytestmark = pytest.mark.integration

LABELS = {"app.kubernetes.io/name": "db"}


def statefulset(
    storage: str = "10Gi", storage_class: str = "hcloud-volumes", retention: str = "Retain"
) -> dict[str, Any]:
    """The database of these scenarios: two replicas, one claim template, claims kept on delete."""
    return m.statefulset(
        "db",
        image="postgres:18",
        replicas=2,
        storage=storage,
        storage_class=storage_class,
        retention=retention,
        namespace=None,
    )


def service(cluster_ip: str | None = None) -> dict[str, Any]:
    ips = [cluster_ip] if cluster_ip else None
    return m.service(
        "db", port_name="pg", cluster_ip=cluster_ip, cluster_ips=ips, labels=LABELS, namespace=None
    )


def deployment(app: str) -> dict[str, Any]:
    return m.deployment("web", image="nginx", labels={"app": app}, namespace=None)


def job(image: str) -> dict[str, Any]:
    return m.job("migrate", image=image, command=None, labels={}, namespace=None)


def pvc(storage_class: str) -> dict[str, Any]:
    return m.pvc("scratch", storage_class=storage_class, namespace=None)


@pytest.fixture
def apply(cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path) -> Callable[..., Any]:
    return file_applier(cli, cluster.kubeconfig, tmp_path, "--timeout", "30", "--progress-interval", "2")


def test_service_cluster_ip_change_recreates_it_and_says_so(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    assert apply([service()]).code == 0
    old = fake.get("v1", "Service", "default", "db")
    assert old is not None
    result = apply([service("None")])
    assert result.code == 0, result.output
    obj = by_name(report_of(result.stdout))["Service/db"]
    assert obj["action"] == "recreated"
    assert any(f"ClusterIP {old['spec']['clusterIP']} changes" in w for w in obj["warnings"])
    assert "changes" in result.stderr
    new = fake.get("v1", "Service", "default", "db")
    assert new is not None and new["spec"]["clusterIP"] == "None"
    assert [(d["kind"], d["name"]) for d in client_deletes(fake)] == [("Service", "db")]


def test_deployment_selector_change_orphans_and_names_the_old_replicasets(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    assert apply([deployment("web-v1")]).code == 0
    old_rs = [r["metadata"]["name"] for r in fake.list_objects("apps/v1", "ReplicaSet", "default")]
    result = apply([deployment("web-v2")])
    assert result.code == 0, result.output
    obj = by_name(report_of(result.stdout))["Deployment/web"]
    assert obj["action"] == "recreated" and obj["rollout"] == "ready"
    assert [(d["kind"], d["propagationPolicy"]) for d in client_deletes(fake)] == [("Deployment", "Orphan")]
    # The old ReplicaSet keeps running (nothing of it was deleted) and the user is told how to clean up.
    assert all(fake.get("apps/v1", "ReplicaSet", "default", name) is not None for name in old_rs)
    assert any("kubectl delete replicasets -n default " + old_rs[0] in w for w in obj["warnings"])


def test_job_template_change_reruns_it_with_background_deletion(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    assert apply([job("migrate:1")]).code == 0
    result = apply([job("migrate:2")])
    assert result.code == 0, result.output
    assert by_name(report_of(result.stdout))["Job/migrate"]["action"] == "recreated"
    assert [(d["kind"], d["propagationPolicy"]) for d in client_deletes(fake)] == [("Job", "Background")]


def test_pvc_change_is_fatal_with_the_diff_and_deletes_nothing(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    assert apply([pvc("hcloud-volumes")]).code == 0
    result = apply([pvc("local-path")])
    assert result.code == 2
    obj = by_name(report_of(result.stdout))["PersistentVolumeClaim/scratch"]
    assert obj["action"] == "failed"
    assert "never deleted" in obj["message"]
    assert obj["diff"] == ["spec.storageClassName: 'hcloud-volumes' -> 'local-path'"]
    assert obj["server"]["code"] == 422
    assert "spec.storageClassName: 'hcloud-volumes' -> 'local-path'" in result.stderr
    assert not client_deletes(fake)


def test_statefulset_with_delete_retention_is_refused(apply: Callable[..., Any], cluster: Cluster) -> None:
    fake = cluster.need_fake()
    assert apply([statefulset(retention="Delete")]).code == 0
    result = apply([statefulset(storage="20Gi", retention="Delete")])
    assert result.code == 2
    obj = by_name(report_of(result.stdout))["StatefulSet/db"]
    assert obj["action"] == "failed"
    assert "whenDeleted: Delete" in obj["message"]
    assert "kubectl patch statefulset db -n default" in obj["hint"]
    assert not client_deletes(fake)


def test_immutable_change_in_an_otherwise_invalid_manifest_deletes_nothing(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    assert apply([statefulset()]).code == 0
    broken = statefulset(storage="20Gi")
    broken["spec"]["template"]["metadata"]["labels"] = {"app.kubernetes.io/name": "other"}
    result = apply([broken])
    assert result.code == 2
    obj = by_name(report_of(result.stdout))["StatefulSet/db"]
    assert obj["action"] == "failed"
    assert obj["server"]["code"] == 422
    assert not client_deletes(fake), result.output


def test_a_rejected_dry_run_of_the_recreate_deletes_nothing(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    assert apply([statefulset()]).code == 0
    # every POST fails (429 with Retry-After: 0, so the bounded retries take no time)
    fake.set_knobs(fault_rate=1.0, fault_kinds=["429"], retry_after=0, fault_verbs=["create"])
    result = apply([statefulset(storage="20Gi")])
    assert result.code == 2
    obj = by_name(report_of(result.stdout))["StatefulSet/db"]
    assert obj["action"] == "failed"
    assert obj["message"].startswith("a dry run of the re-create was rejected, so nothing was deleted")
    assert not client_deletes(fake)
    assert fake.get("apps/v1", "StatefulSet", "default", "db") is not None


def test_a_failed_recreate_restores_the_old_object(
    apply: Callable[..., Any], cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = cluster.need_fake()
    assert apply([statefulset()]).code == 0
    old = fake.get("apps/v1", "StatefulSet", "default", "db")
    assert old is not None
    pods = {p["metadata"]["name"]: p["metadata"]["uid"] for p in fake.list_objects("v1", "Pod", "default")}
    real_apply = Kube.apply
    calls = {"n": 0}

    def flaky_apply(self: Kube, res: Any, obj: Any, **kwargs: Any) -> dict[str, Any]:
        if obj["kind"] == "StatefulSet":
            calls["n"] += 1
            if calls["n"] == 2:  # the re-apply after the delete
                raise KubeError("PATCH", "/apis/apps/v1/...", 500, "injected: the re-create failed")
        return real_apply(self, res, obj, **kwargs)

    monkeypatch.setattr(Kube, "apply", flaky_apply)
    result = apply([statefulset(storage="20Gi")])
    assert result.code == 2
    obj = by_name(report_of(result.stdout))["StatefulSet/db"]
    assert obj["action"] == "failed"
    assert "the old object was restored from the copy taken before the delete" in obj["message"]
    restored = fake.get("apps/v1", "StatefulSet", "default", "db")
    assert restored is not None and restored["metadata"]["uid"] != old["metadata"]["uid"]
    assert restored["spec"]["volumeClaimTemplates"] == old["spec"]["volumeClaimTemplates"]
    assert restored["spec"]["template"] == old["spec"]["template"]
    # its pods were orphaned, never deleted, and the restored object adopts them again
    assert {
        p["metadata"]["name"]: p["metadata"]["uid"] for p in fake.list_objects("v1", "Pod", "default")
    } == pods
    assert [(d["kind"], d["propagationPolicy"]) for d in client_deletes(fake)] == [("StatefulSet", "Orphan")]


def test_growth_without_expansion_support_names_the_pvcs_left_behind(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    assert apply([statefulset(storage_class="local-path")]).code == 0
    result = apply([statefulset(storage="20Gi", storage_class="local-path")])
    assert result.code == 0, result.output
    obj = by_name(report_of(result.stdout))["StatefulSet/db"]
    assert obj["action"] == "recreated"
    left = obj["volumes"]["left_at_old_size"]
    assert left == [
        f"data-db-{i} (10Gi, wanted 20Gi: StorageClass local-path does not set allowVolumeExpansion: true)"
        for i in (0, 1)
    ]
    assert any("left at their old size" in w for w in obj["warnings"])
    for i in (0, 1):
        claim = fake.get("v1", "PersistentVolumeClaim", "default", f"data-db-{i}")
        assert claim is not None and claim["spec"]["resources"]["requests"]["storage"] == "10Gi"


def test_renamed_claim_template_is_refused(apply: Callable[..., Any], cluster: Cluster) -> None:
    fake = cluster.need_fake()
    assert apply([statefulset()]).code == 0
    renamed = statefulset()
    renamed["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] = "pgdata"
    result = apply([renamed])
    assert result.code == 2
    obj = by_name(report_of(result.stdout))["StatefulSet/db"]
    assert "NEW EMPTY volumes" in obj["message"] and "data-db-0, data-db-1" in obj["message"]
    assert not client_deletes(fake)


def test_dry_run_refuses_what_apply_refuses_with_the_same_words(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    """The dry run goes through the same 422 handling: a re-create that the real run would refuse
    (here: claims left behind by a renamed template) is "would-fail", not "would-recreate"."""
    fake = cluster.need_fake()
    assert apply([statefulset()]).code == 0
    renamed = statefulset()
    renamed["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] = "pgdata"
    fake.reset_logs()
    preview = by_name(report_of(apply([renamed], "--dry-run").stdout))["StatefulSet/db"]
    assert not [e for e in fake.history() if str(e["actor"]).startswith("client")]
    real = by_name(report_of(apply([renamed]).stdout))["StatefulSet/db"]
    assert (preview["action"], real["action"]) == ("would-fail", "failed")
    assert preview["message"] == real["message"] and "NEW EMPTY volumes" in preview["message"]
    assert preview["hint"] == real["hint"]
    assert not client_deletes(fake)


def test_dry_run_shows_what_would_happen_and_writes_nothing(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    fresh = apply([service(), statefulset()], "--dry-run")
    assert fresh.code == 0, fresh.output
    assert {o["action"] for o in report_of(fresh.stdout)["objects"]} == {"would-create"}
    assert fake.get("apps/v1", "StatefulSet", "default", "db") is None

    assert apply([service(), statefulset()]).code == 0
    fake.reset_logs()
    changed = statefulset(storage="20Gi")
    image = copy.deepcopy(service())
    image["metadata"]["labels"] = {**LABELS, "tier": "db"}
    result = apply([image, changed], "--dry-run")
    assert result.code == 0, result.output
    report = report_of(result.stdout)
    objects = by_name(report)
    assert report["result"] == "dry-run"
    assert objects["StatefulSet/db"]["action"] == "would-recreate"
    assert objects["Service/db"]["action"] == "would-configure"
    assert objects["Service/db"]["diff"] == ["metadata.labels.tier: (unset) -> 'db'"]
    assert not [e for e in fake.history() if str(e["actor"]).startswith("client")]
    assert not client_deletes(fake)


def test_an_object_that_never_goes_away_is_reported_and_not_recreated(cluster: Cluster) -> None:
    """A finalizer nobody removes keeps the deleted StatefulSet terminating: the re-create waits
    ``delete_timeout`` (on the engine's clock), then stops and says which finalizers hold it."""
    fake = cluster.need_fake()
    held = m.with_meta(statefulset(), finalizers=["example.com/hold"])
    grown = m.with_meta(statefulset(storage="20Gi"), finalizers=["example.com/hold"])
    clock = SteppingClock()
    kube = Kube.connect(KubeconfigSource(path=cluster.kubeconfig))
    try:
        assert Engine(kube, ApplySettings(rollout_timeout=30), clock=clock).run([held], "held.yaml").ok
        before = fake.get("apps/v1", "StatefulSet", "default", "db")
        report = Engine(kube, ApplySettings(rollout_timeout=30), clock=clock).run([grown], "grown.yaml")
    finally:
        kube.close()
    [obj] = report.objects
    assert obj.action is Action.FAILED and report.exit_code == 2
    assert obj.message is not None and "is still terminating after 120s" in obj.message
    assert "example.com/hold" in obj.message and "it was not re-created yet" in obj.message
    assert clock.slept >= 120  # the wait was bounded by delete_timeout, measured on the injected clock
    after = fake.get("apps/v1", "StatefulSet", "default", "db")
    assert before is not None and after is not None
    assert after["metadata"]["uid"] == before["metadata"]["uid"] and after["metadata"]["deletionTimestamp"]
    assert [(d["kind"], d["propagationPolicy"]) for d in client_deletes(fake)] == [("StatefulSet", "Orphan")]
    assert fake.get("v1", "PersistentVolumeClaim", "default", "data-db-0") is not None
