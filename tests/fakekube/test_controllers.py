"""The fake's controllers: StatefulSet ordering/partition/OnDelete, Deployments, DaemonSets, Jobs, CRDs."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.fakekube import FakeKube
from tests.fakekube.target import KubeTarget
from tests.fakekube.wire import Wire
from tests.support import manifests as s

pytestmark = pytest.mark.integration


def sts_status(fake: FakeKube, name: str = "postgres") -> dict[str, Any]:
    return dict((fake.get("apps/v1", "StatefulSet", "default", name) or {}).get("status") or {})


def rolled_out(fake: FakeKube, name: str = "postgres", replicas: int = 1) -> bool:
    sts = fake.get("apps/v1", "StatefulSet", "default", name) or {}
    status = sts.get("status") or {}
    return (
        status.get("observedGeneration") == sts.get("metadata", {}).get("generation")
        and status.get("readyReplicas") == replicas
        and status.get("updatedReplicas") == replicas
        and status.get("currentRevision") == status.get("updateRevision")
    )


def with_image(obj: dict[str, Any], image: str) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return new


def controller_pod_deletes(fake: FakeKube) -> list[str]:
    return [
        d["name"] for d in fake.delete_events if d["kind"] == "Pod" and d["actor"] == "controller:statefulset"
    ]


def test_rolling_update_replaces_pods_from_the_highest_ordinal_and_keeps_pvcs(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    wire.apply(s.statefulset(replicas=3))
    fake_kube.wait_for(lambda: rolled_out(fake_kube, replicas=3))
    creations = [h["name"] for h in fake_kube.history(kind="Pod", action="created")]
    pvcs = {
        p["metadata"]["name"]: p["metadata"]["uid"]
        for p in fake_kube.list_objects("v1", "PersistentVolumeClaim")
    }

    wire.apply(with_image(s.statefulset(replicas=3), "postgis/postgis:19"))
    fake_kube.wait_for(lambda: rolled_out(fake_kube, replicas=3))

    assert creations == ["postgres-0", "postgres-1", "postgres-2"]
    assert controller_pod_deletes(fake_kube) == ["postgres-2", "postgres-1", "postgres-0"]
    after = {
        p["metadata"]["name"]: p["metadata"]["uid"]
        for p in fake_kube.list_objects("v1", "PersistentVolumeClaim")
    }
    assert after == pvcs
    revisions = sorted(
        r["revision"] for r in fake_kube.list_objects("apps/v1", "ControllerRevision", "default")
    )
    assert revisions == [1, 2]
    revision = fake_kube.list_objects("apps/v1", "ControllerRevision", "default")[0]
    assert revision["data"]["spec"]["template"]["$patch"] == "replace"
    assert revision["metadata"]["labels"]["controller.kubernetes.io/hash"] in revision["metadata"]["name"]


def test_partition_updates_only_the_ordinals_at_or_above_it(fake_kube_target: KubeTarget) -> None:
    kube_target = fake_kube_target
    fake = kube_target.fake
    assert fake is not None
    wire = Wire(fake)
    partitioned = s.statefulset(
        replicas=3, strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    )
    wire.apply(partitioned)
    fake.wait_for(lambda: rolled_out(fake, replicas=3))

    wire.apply(with_image(partitioned, "postgis/postgis:19"))
    status = fake.wait_for(lambda: sts_status(fake).get("updatedReplicas") == 1 and sts_status(fake))
    rollout = kube_target.kubectl("rollout", "status", "statefulset/postgres", "--timeout=20s")

    assert status["currentRevision"] != status["updateRevision"]
    assert controller_pod_deletes(fake) == ["postgres-2"]
    images = {
        p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in fake.list_objects("v1", "Pod")
    }
    assert images == {
        "postgres-0": "postgis/postgis:18-3.6",
        "postgres-1": "postgis/postgis:18-3.6",
        "postgres-2": "postgis/postgis:19",
    }
    assert "partitioned roll out complete: 1 new pods have been updated" in rollout.stdout


def test_on_delete_strategy_updates_a_pod_only_when_it_is_deleted(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    on_delete = s.statefulset(strategy={"type": "OnDelete"})
    wire.apply(on_delete)
    fake_kube.wait_for(lambda: sts_status(fake_kube).get("readyReplicas") == 1)
    wire.apply(with_image(on_delete, "postgis/postgis:19"))
    fake_kube.wait_for(lambda: sts_status(fake_kube).get("observedGeneration") == 2)
    fake_kube.settle()

    assert controller_pod_deletes(fake_kube) == []
    wire.call("DELETE", "/api/v1/namespaces/default/pods/postgres-0")
    pod = fake_kube.wait_for(
        lambda: (
            (fake_kube.get("v1", "Pod", "default", "postgres-0") or {})
            .get("spec", {})
            .get("containers", [{}])[0]
            .get("image")
            == "postgis/postgis:19"
        )
    )
    assert pod


def test_ordered_ready_creates_the_next_pod_only_after_the_previous_is_ready(
    fake_kube_factory: Callable[..., FakeKube],
) -> None:
    fake = fake_kube_factory(never_ready=["pod/postgres-1"])
    Wire(fake).apply(s.statefulset(replicas=3))

    fake.wait_for(lambda: fake.get("v1", "Pod", "default", "postgres-1"))
    fake.settle()

    assert fake.get("v1", "Pod", "default", "postgres-2") is None
    assert sts_status(fake)["readyReplicas"] == 1
    fake.set_knobs(never_ready=[])
    fake.wait_for(lambda: rolled_out(fake, replicas=3))


@pytest.mark.parametrize("forced_issue", [True, False], ids=["real-forced-rollback-issue", "knob-off"])
def test_reverting_a_broken_template_leaves_the_broken_pod_until_deleted(
    fake_kube_factory: Callable[..., FakeKube], forced_issue: bool
) -> None:
    fake = fake_kube_factory(crashloop=["image~broken"], sts_forced_rollback_required=forced_issue)
    wire = Wire(fake)
    wire.apply(s.statefulset())
    fake.wait_for(lambda: rolled_out(fake))
    wire.apply(with_image(s.statefulset(), "postgis/postgis:broken"))
    fake.wait_for(lambda: _waiting_reason(fake, "postgres-0") == "CrashLoopBackOff")

    wire.apply(s.statefulset())
    fake.wait_for(lambda: sts_status(fake).get("observedGeneration") == 3)
    fake.settle()

    if forced_issue:
        assert _waiting_reason(fake, "postgres-0") == "CrashLoopBackOff"
        wire.call("DELETE", "/api/v1/namespaces/default/pods/postgres-0")
    fake.wait_for(lambda: rolled_out(fake))
    pod = fake.get("v1", "Pod", "default", "postgres-0")
    assert pod is not None and pod["spec"]["containers"][0]["image"] == "postgis/postgis:18-3.6"


def test_scale_down_removes_the_highest_ordinals_and_keeps_their_pvcs(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    wire.apply(s.statefulset(replicas=3))
    fake_kube.wait_for(lambda: rolled_out(fake_kube, replicas=3))

    wire.apply(s.statefulset(replicas=1))
    fake_kube.wait_for(lambda: sts_status(fake_kube).get("replicas") == 1)

    assert controller_pod_deletes(fake_kube) == ["postgres-2", "postgres-1"]
    assert len(fake_kube.list_objects("v1", "PersistentVolumeClaim")) == 3


def test_deployment_rollout_undo_and_progress_deadline(fake_kube_target: KubeTarget) -> None:
    kube_target = fake_kube_target
    fake = kube_target.fake
    assert fake is not None
    wire = Wire(fake)
    wire.apply(s.deployment(replicas=2, deadline=1))
    kube_target.kubectl("rollout", "status", "deployment/web", "--timeout=20s")
    first_rs = fake.list_objects("apps/v1", "ReplicaSet")
    fake.set_knobs(never_ready=["image=nginx:broken"])

    wire.apply(with_image(s.deployment(replicas=2, deadline=1), "nginx:broken"))
    failed = kube_target.kubectl("rollout", "status", "deployment/web", "--timeout=20s", check=False)
    undo = kube_target.kubectl("rollout", "undo", "deployment/web")
    kube_target.kubectl("rollout", "status", "deployment/web", "--timeout=20s")

    assert len(first_rs) == 1 and first_rs[0]["metadata"]["labels"]["pod-template-hash"]
    assert failed.returncode == 1
    assert 'deployment "web" exceeded its progress deadline' in failed.stderr
    assert undo.stdout.strip() == "deployment.apps/web rolled back"
    deploy = fake.get("apps/v1", "Deployment", "default", "web")
    assert deploy is not None
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.29"
    assert deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    progressing = next(c for c in deploy["status"]["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable"


def test_daemonset_runs_one_pod_per_node(fake_kube_factory: Callable[..., FakeKube]) -> None:
    fake = fake_kube_factory(nodes=2)
    Wire(fake).apply(s.daemonset())

    status = fake.wait_for(
        lambda: (
            (fake.get("apps/v1", "DaemonSet", "default", "agent") or {}).get("status", {}).get("numberReady")
            == 2
            and fake.get("apps/v1", "DaemonSet", "default", "agent")
        )
    )
    fake.seed_node("fakekube-node-3")
    fake.wait_for(
        lambda: (
            (fake.get("apps/v1", "DaemonSet", "default", "agent") or {}).get("status", {}).get("numberReady")
            == 3
        )
    )

    assert status["status"]["desiredNumberScheduled"] == 2
    nodes = sorted(p["spec"]["nodeName"] for p in fake.list_objects("v1", "Pod"))
    assert nodes == ["fakekube-node-1", "fakekube-node-2", "fakekube-node-3"]


def test_jobs_complete_or_fail(fake_kube_factory: Callable[..., FakeKube]) -> None:
    fake = fake_kube_factory(crashloop=["image=busybox:broken"])
    wire = Wire(fake)
    failing = s.job("broken", image="busybox:broken")
    failing["spec"]["backoffLimit"] = 0

    wire.apply(s.job())
    wire.apply(failing)

    def condition(name: str) -> str | None:
        job = fake.get("batch/v1", "Job", "default", name) or {}
        done = [
            c["type"]
            for c in job.get("status", {}).get("conditions", [])
            if c["type"] in ("Complete", "Failed")
        ]
        return done[0] if done else None

    fake.wait_for(lambda: condition("migrate") == "Complete" and condition("broken") == "Failed")
    job = fake.get("batch/v1", "Job", "default", "migrate")
    assert job is not None and job["status"]["succeeded"] == 1
    assert job["spec"]["selector"]["matchLabels"] == {
        "batch.kubernetes.io/controller-uid": job["metadata"]["uid"]
    }
    deleted = wire.call("DELETE", "/apis/batch/v1/namespaces/default/jobs/migrate")
    assert deleted.headers["warning"].startswith('299 - "child pods are preserved by default')


def test_custom_resource_definitions_serve_their_kind(fake_kube_target: KubeTarget) -> None:
    kube_target = fake_kube_target
    fake = kube_target.fake
    assert fake is not None
    wire = Wire(fake)
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "backups.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Backup", "plural": "backups", "singular": "backup", "shortNames": ["bk"]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"schedule": {"type": "string"}}}
                            },
                        }
                    },
                }
            ],
        },
    }
    backup = {
        "apiVersion": "example.com/v1",
        "kind": "Backup",
        "metadata": {"name": "nightly", "namespace": "default"},
        "spec": {"schedule": "0 3 * * *"},
    }

    assert wire.apply(crd).status == 201
    fake.wait_for(lambda: fake.registry.by_kind("example.com/v1", "Backup"))
    created = wire.apply(backup)
    unknown = wire.apply({**backup, "spec": {"schedule": "x", "retention": 3}})
    listed = json.loads(kube_target.kubectl("get", "bk", "-o", "json").stdout)

    assert created.status == 201 and created.body["metadata"]["generation"] == 1
    assert unknown.status == 500 and "field not declared in schema" in unknown.body["message"]
    assert [i["metadata"]["name"] for i in listed["items"]] == ["nightly"]
    established = fake.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "backups.example.com")
    assert established is not None
    assert {c["type"]: c["status"] for c in established["status"]["conditions"]}["Established"] == "True"
    wire.call("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/backups.example.com")
    fake.wait_for(lambda: fake.registry.by_kind("example.com/v1", "Backup") is None)


def test_deleting_a_namespace_removes_its_contents(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    fake_kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "scratch"}})
    cm = s.configmap()
    cm["metadata"]["namespace"] = "scratch"
    wire.apply(cm)

    deleting = wire.call("DELETE", "/api/v1/namespaces/scratch")

    assert deleting.body["status"]["phase"] == "Terminating"
    fake_kube.wait_for(lambda: fake_kube.get("v1", "Namespace", None, "scratch") is None)
    assert fake_kube.get("v1", "ConfigMap", "scratch", "settings") is None


def _waiting_reason(fake: FakeKube, name: str) -> str | None:
    pod = fake.get("v1", "Pod", "default", name) or {}
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return ((statuses[0].get("state") or {}).get("waiting") or {}).get("reason")


def test_events_and_disruption_budgets_as_kubectl_shows_them(fake_kube_target: KubeTarget) -> None:
    kube_target = fake_kube_target
    fake = kube_target.fake
    assert fake is not None
    fake.set_knobs(crashloop=["image~broken"])
    wire = Wire(fake)
    wire.apply(s.statefulset())
    wire.apply(
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "postgres", "namespace": "default"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "postgres"}}},
        }
    )
    fake.wait_for(lambda: rolled_out(fake))
    pdb = fake.wait_for(
        lambda: (
            (
                (fake.get("policy/v1", "PodDisruptionBudget", "default", "postgres") or {}).get("status")
                or {}
            ).get("expectedPods")
            == 1
            and fake.get("policy/v1", "PodDisruptionBudget", "default", "postgres")
        )
    )

    evicted = wire.call(
        "POST",
        "/api/v1/namespaces/default/pods/postgres-0/eviction",
        {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "postgres-0"}},
    )
    wire.apply(with_image(s.statefulset(), "postgis/postgis:broken"))
    fake.wait_for(lambda: _waiting_reason(fake, "postgres-0") == "CrashLoopBackOff")
    events = json.loads(kube_target.kubectl("get", "events", "-o", "json").stdout)["items"]

    assert pdb["status"]["disruptionsAllowed"] == 0 and pdb["status"]["currentHealthy"] == 1
    assert evicted.status == 429 and evicted.causes[0]["reason"] == "DisruptionBudget"
    reasons = {(e["involvedObject"]["kind"], e["reason"], e["type"]) for e in events}
    assert ("StatefulSet", "SuccessfulCreate", "Normal") in reasons
    assert ("StatefulSet", "SuccessfulDelete", "Normal") in reasons
    assert ("Pod", "Scheduled", "Normal") in reasons
    assert ("Pod", "BackOff", "Warning") in reasons
    described = kube_target.kubectl("describe", "pod", "postgres-0").stdout
    assert "Back-off restarting failed container postgres" in described


def test_claims_bind_when_their_pod_is_scheduled_never_later(
    fake_kube_factory: Callable[..., FakeKube],
) -> None:
    """WaitForFirstConsumer on a real cluster: the scheduler binds a pod's claims as it picks the node,
    before the pod runs. A pod with a node (or Ready) and a Pending claim must never be observable."""
    fake = fake_kube_factory(tick=None)
    fake.put(s.statefulset("db", replicas=2, policy="Parallel"))
    nowhere = s.statefulset("lost")
    nowhere["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] = "no-such-class"
    fake.put(nowhere)

    for _ in range(4):
        fake.step()
        claims = {
            c["metadata"]["name"]: c for c in fake.list_objects("v1", "PersistentVolumeClaim", "default")
        }
        for pod in fake.list_objects("v1", "Pod", "default"):
            phases = {
                v["persistentVolumeClaim"]["claimName"]: claims[v["persistentVolumeClaim"]["claimName"]][
                    "status"
                ]["phase"]
                for v in pod["spec"]["volumes"]
                if "persistentVolumeClaim" in v
            }
            if pod["spec"].get("nodeName"):
                assert set(phases.values()) == {"Bound"}, (pod["metadata"]["name"], phases)

    pods = {p["metadata"]["name"]: p for p in fake.list_objects("v1", "Pod", "default")}
    assert pods["db-0"]["spec"]["nodeName"] and pods["db-1"]["spec"]["nodeName"]
    bound = fake.get("v1", "PersistentVolumeClaim", "default", "data-db-0")
    assert bound is not None
    assert (
        bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"]
        == pods["db-0"]["spec"]["nodeName"]
    )
    assert "nodeName" not in pods["lost-0"]["spec"]
    scheduled = next(c for c in pods["lost-0"]["status"]["conditions"] if c["type"] == "PodScheduled")
    assert (scheduled["status"], scheduled["reason"]) == ("False", "Unschedulable")
    assert fake.get("v1", "PersistentVolumeClaim", "default", "data-lost-0")["status"]["phase"] == "Pending"  # type: ignore[index]
