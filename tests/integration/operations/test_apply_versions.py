"""The same changes against the answers of two minor versions, with a slow and a stuck garbage
collector, and the diagnoses a user reads when the cluster says no.

1.36 refuses a StatefulSet's immutable fields with one Forbidden cause on ``spec``; 1.37 with one
Invalid cause per field (kubernetes/kubernetes#138080). The fake plays each version's bodies
exactly as tests/corpus/kubernetes/<minor>/ records them (tests/fakekube/test_corpus.py).
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
from tests.fakekube import FakeKube
from tests.support import manifests as m
from tests.support.apply import Cluster, SteppingClock, by_name, client_deletes, file_applier, report_of

pytestmark = pytest.mark.integration

VERSIONS = ["1.36", "1.37"]
ORPHAN_FINALIZER_SECONDS = 1.5


def db(**spec: Any) -> dict[str, Any]:
    """Two replicas of a database with one claim template, claims kept on delete."""
    sts = m.statefulset(
        "db",
        image="postgres:18",
        replicas=2,
        storage_class="hcloud-volumes",
        retention="Retain",
        namespace=None,
    )
    sts["spec"].update(spec)
    return sts


def grown() -> dict[str, Any]:
    sts = db()
    sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "20Gi"
    return sts


@pytest.fixture
def apply(cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path) -> Callable[..., Any]:
    return file_applier(cli, cluster.kubeconfig, tmp_path, "--timeout", "30", "--progress-interval", "2")


def pod_uids(cluster: Cluster) -> dict[str, str]:
    pods = cluster.need_fake().list_objects("v1", "Pod", "default")
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods}


@pytest.mark.parametrize("cluster", VERSIONS, indirect=True)
def test_service_name_and_pod_management_policy_change_recreates_it_keeping_pods_and_volumes(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    assert apply([db()]).code == 0
    pods, claims = pod_uids(cluster), fake.list_objects("v1", "PersistentVolumeClaim", "default")
    assert set(pods) == {"db-0", "db-1"}
    fake.set_knobs(orphan_finalizer_seconds=ORPHAN_FINALIZER_SECONDS)

    result = apply([db(serviceName="db-headless", podManagementPolicy="Parallel")])

    assert result.code == 0, result.output
    obj = by_name(report_of(result.stdout))["StatefulSet/db"]
    assert obj["action"] == "recreated" and obj["rollout"] == "ready"
    assert obj["evidence"] == "the server's causes"
    # Each version's words name the fields: 1.36 "spec" (and which of its fields changed), 1.37 each field.
    fields = {
        "1.36": "immutable field(s) spec (spec.serviceName, spec.podManagementPolicy)",
        "1.37": "immutable field(s) spec.podManagementPolicy, spec.serviceName",
    }[fake.server_version]
    assert obj["message"].startswith(fields), obj["message"]
    live = fake.get("apps/v1", "StatefulSet", "default", "db")
    assert live is not None
    assert (live["spec"]["serviceName"], live["spec"]["podManagementPolicy"]) == ("db-headless", "Parallel")
    assert [(d["kind"], d["name"], d["propagationPolicy"]) for d in client_deletes(fake)] == [
        ("StatefulSet", "db", "Orphan")
    ]
    assert pod_uids(cluster) == pods  # adopted, not re-created
    assert [c["metadata"]["uid"] for c in fake.list_objects("v1", "PersistentVolumeClaim", "default")] == [
        c["metadata"]["uid"] for c in claims
    ]
    [deleting] = fake.history(kind="StatefulSet", name="db", action="deleting")
    [deleted] = fake.history(kind="StatefulSet", name="db", action="deleted")
    assert deleted["time"] - deleting["time"] >= ORPHAN_FINALIZER_SECONDS


@pytest.mark.parametrize("cluster", VERSIONS, indirect=True)
def test_a_garbage_collector_that_never_finishes_stops_the_recreate_and_the_next_run_completes_it(
    cluster: Cluster,
) -> None:
    """The orphan finalizer is never removed: the re-create waits ``delete_timeout`` (on the engine's
    clock), says which finalizer holds the object, re-creates nothing; a run while it still
    terminates waits for it and writes nothing to it; once the garbage collector catches up, the
    next run creates the StatefulSet and grows its claims."""
    fake = cluster.need_fake()
    clock = SteppingClock()
    kube = Kube.connect(KubeconfigSource(path=cluster.kubeconfig))
    try:
        assert Engine(kube, ApplySettings(rollout_timeout=30), clock=clock).run([db()], "db.yaml").ok
        pods = pod_uids(cluster)
        old = fake.get("apps/v1", "StatefulSet", "default", "db")
        assert old is not None
        fake.set_knobs(gc_stalled=True)

        stuck = Engine(kube, ApplySettings(rollout_timeout=30), clock=clock).run([grown()], "grown.yaml")

        [obj] = stuck.objects
        assert obj.action is Action.FAILED and stuck.exit_code == 2
        assert (
            obj.message is not None and "is still terminating after 120s (finalizers: orphan)" in obj.message
        )
        assert "it was not re-created yet" in obj.message
        terminating = fake.get("apps/v1", "StatefulSet", "default", "db")
        assert terminating is not None and terminating["metadata"]["uid"] == old["metadata"]["uid"]
        assert terminating["metadata"]["deletionTimestamp"]
        assert pod_uids(cluster) == pods and not fake.history(kind="PersistentVolumeClaim", action="deleted")

        # Run again while it still terminates: the engine waits for it, and writes nothing to it.
        fake.reset_logs()
        again = Engine(kube, ApplySettings(rollout_timeout=30), clock=clock).run([grown()], "grown.yaml")
        [obj] = again.objects
        assert obj.action is Action.FAILED and obj.message is not None
        assert obj.message.endswith(
            "is still being deleted after 120s (finalizers: orphan); nothing was applied to it"
        )
        assert obj.hint is not None and "garbage collector" in obj.hint
        assert not fake.requests(method="PATCH", path="statefulsets/db") and not client_deletes(fake)

        # The garbage collector catches up while the next run waits: it creates the StatefulSet anew.
        fake.set_knobs(gc_stalled=False)
        done = Engine(kube, ApplySettings(rollout_timeout=30), clock=clock).run([grown()], "grown.yaml")
    finally:
        kube.close()
    [obj] = done.objects
    assert done.ok and obj.action is Action.CREATED, obj.message
    assert obj.volumes is not None and obj.volumes["expanded"] == [
        "data-db-0: 10Gi -> 20Gi",
        "data-db-1: 10Gi -> 20Gi",
    ]
    assert pod_uids(cluster) == pods
    assert not client_deletes(fake)  # the only delete was the first run's (logs were reset since)


# -- the diagnoses -------------------------------------------------------------------------------


def test_a_policy_denial_is_reported_as_a_denial_with_its_message(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    """Before: "the server's error names configmaps ..., not the ConfigMap we sent ... a webhook or proxy
    may be rewriting errors". A ValidatingAdmissionPolicy's 422 names the resource in details.kind."""
    fake = cluster.need_fake()
    assert apply([m.configmap("app-config", namespace=None)]).code == 0
    fake.set_knobs(deny=["configmap/app-config=policy/require-team-label:every ConfigMap needs a team label"])

    result = apply([m.configmap("app-config", {"mode": "fast"}, namespace=None)])

    assert result.code == 2
    obj = by_name(report_of(result.stdout))["ConfigMap/app-config"]
    assert obj["action"] == "failed"
    assert obj["message"].startswith(
        "denied by ValidatingAdmissionPolicy 'require-team-label' (binding 'require-team-label-binding'): "
        "every ConfigMap needs a team label"
    )
    assert "admission control refused" in obj["hint"] and "rewriting" not in obj["hint"]
    assert obj["evidence"] == "the admission denial in the server's message"
    assert obj["server"]["code"] == 422
    assert not client_deletes(fake)


def test_a_webhook_denial_says_so_instead_of_asking_for_rbac(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    fake = cluster.need_fake()
    fake.set_knobs(
        deny=["deployment/web=webhook/validate.policy.example.com:images must come from registry.example.com"]
    )

    result = apply([m.deployment("web", namespace=None)])

    assert result.code == 2
    obj = by_name(report_of(result.stdout))["Deployment/web"]
    assert obj["server"]["code"] == 403
    assert 'admission webhook "validate.policy.example.com"' in obj["hint"]
    assert "RBAC" not in obj["hint"] and "grant" not in obj["hint"]
    assert "images must come from registry.example.com" in obj["message"]


def test_a_resize_refused_by_admission_names_the_storage_class_not_rbac(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    """The PersistentVolumeClaimResize plugin's 403 (tests/corpus/kubernetes/*/pvc-resize-admission.json)."""
    fake = cluster.need_fake()
    assert apply([m.pvc("scratch", storage="1Gi", storage_class="local-path", namespace=None)]).code == 0
    fake.wait_for(
        lambda: (
            ((fake.get("v1", "PersistentVolumeClaim", "default", "scratch") or {}).get("status") or {}).get(
                "phase"
            )
            == "Bound"
        )
    )

    result = apply([m.pvc("scratch", storage="2Gi", storage_class="local-path", namespace=None)])

    assert result.code == 2
    obj = by_name(report_of(result.stdout))["PersistentVolumeClaim/scratch"]
    assert obj["server"]["code"] == 403
    assert "StorageClass does not allow volume expansion" in obj["hint"]
    assert "RBAC" not in obj["hint"] and "grant" not in obj["hint"]


def test_growing_an_unbound_claim_says_it_is_not_bound(
    cli: Callable[[list[str]], Any], fake_kube_factory: Callable[..., FakeKube], tmp_path: Path
) -> None:
    fake = fake_kube_factory(tick=None)  # no controllers: the claim stays Pending
    assert fake.kubeconfig_path is not None
    run = file_applier(cli, fake.kubeconfig_path, tmp_path, "--timeout", "5")
    fake.put(m.pvc("scratch", storage="1Gi", storage_class="local-path"))

    result = run([m.pvc("scratch", storage="2Gi", storage_class="local-path", namespace=None)])

    obj = by_name(report_of(result.stdout))["PersistentVolumeClaim/scratch"]
    assert obj["action"] == "failed" and obj["server"]["code"] == 422
    assert obj["message"].startswith("the PersistentVolumeClaim is Pending, not Bound")
    assert "once the claim is Bound" in obj["hint"]
    assert not client_deletes(fake)


def test_a_uid_precondition_conflict_is_answered_once_not_retried(cluster: Cluster) -> None:
    """409 "the UID in the precondition (...) does not match the UID in record" (corpus
    delete-uid-precondition, rest.BeforeDelete): asking again with the same uid cannot succeed, so it
    is not retried six times."""
    fake = cluster.need_fake()
    fake.put(m.statefulset("db", storage=None))
    fake.reset_logs()
    sts = Kube.connect(KubeconfigSource(path=cluster.kubeconfig))
    try:
        res = sts.resource("apps/v1", "StatefulSet")
        assert res is not None
        with pytest.raises(KubeError) as refused:
            sts.delete(res, "default", "db", propagation="Orphan", uid="8b0b7c6e-5a1d-4d8e-9f1e-2c4a8e0d1f11")
    finally:
        sts.close()
    assert refused.value.status == 409 and refused.value.attempts == 1
    assert "does not match the UID in record" in refused.value.message
    assert len(fake.requests(method="DELETE", path="statefulsets/db")) == 1
    assert fake.get("apps/v1", "StatefulSet", "default", "db") is not None


def test_recreating_a_load_balancer_warns_that_its_address_changes(
    apply: Callable[..., Any], cluster: Cluster
) -> None:
    def lb(klass: str) -> dict[str, Any]:
        svc = m.service("ingress", kind="LoadBalancer", namespace=None)
        svc["spec"]["loadBalancerClass"] = klass
        return svc

    assert apply([lb("example.com/public")]).code == 0
    result = apply([lb("example.com/internal")])
    assert result.code == 0, result.output
    obj = by_name(report_of(result.stdout))["Service/ingress"]
    assert obj["action"] == "recreated"
    assert any(
        "it is a LoadBalancer" in w and "NEW load balancer and external IP" in w for w in obj["warnings"]
    )


def test_the_error_line_names_the_object_once(apply: Callable[..., Any], cluster: Cluster) -> None:
    """Before: "error: apply failed: StatefulSet default/db: StatefulSet default/db: failed (0.12s):
    StatefulSet default/db: ..." - the object three times."""
    assert apply([db()]).code == 0
    result = apply(
        [
            db(
                selector={"matchLabels": {"app.kubernetes.io/name": "db2"}},
                template=copy.deepcopy(
                    m.statefulset("db", labels={"app.kubernetes.io/name": "db2"})["spec"]["template"]
                ),
            )
        ]
    )
    assert result.code == 2
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert line.count("StatefulSet default/db") == 1, line
    assert line.startswith("error: StatefulSet default/db: apply failed (")
    assert "the selector changes" in line
