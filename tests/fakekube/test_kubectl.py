"""The fake API server against the real kubectl 1.37 binary: proof that it speaks the wire format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakekube import FakeKube
from tests.fakekube.target import KubeTarget

pytestmark = pytest.mark.integration


def manifest(name: str = "postgres", image: str = "postgis/postgis:18-3.6", storage: str = "10Gi") -> str:
    labels = {"app.kubernetes.io/name": name}
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": image, "ports": [{"containerPort": 5432}]}]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": storage}},
                    },
                }
            ],
        },
    }
    return yaml.safe_dump(sts)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def get(target: KubeTarget, *args: str) -> Any:
    return json.loads(target.kubectl("get", *args, "-o", "json").stdout)


def test_kubectl_server_side_apply_create_unchanged_and_conflict(
    kube_target: KubeTarget, tmp_path: Path
) -> None:
    path = write(tmp_path, manifest())

    first = kube_target.kubectl("apply", "--server-side", "-f", str(path))
    rv = get(kube_target, "sts/postgres")["metadata"]["resourceVersion"]
    second = kube_target.kubectl("apply", "--server-side", "-f", str(path))

    assert first.stdout.strip() == "statefulset.apps/postgres serverside-applied"
    assert second.stdout.strip() == "statefulset.apps/postgres serverside-applied"
    live = get(kube_target, "sts/postgres")
    assert live["metadata"]["generation"] == 1
    if kube_target.fake is not None:
        writes = kube_target.fake.history(kind="StatefulSet", name="postgres")
        assert [w["action"] for w in writes if w["actor"] == "client:kubectl"] == ["created"]
        assert int(rv) <= int(live["metadata"]["resourceVersion"])
    other = write(tmp_path, manifest(image="postgis/postgis:18-3.6-alpine"))
    conflict = kube_target.kubectl(
        "apply", "--server-side", "--field-manager=other", "-f", str(other), check=False
    )
    assert conflict.returncode == 1
    assert 'conflict with "kubectl"' in conflict.stderr
    assert '.spec.template.spec.containers[name="postgres"].image' in conflict.stderr
    kube_target.kubectl(
        "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", str(other)
    )
    image = get(kube_target, "sts/postgres")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "postgis/postgis:18-3.6-alpine"


def test_kubectl_server_dry_run_changes_nothing(kube_target: KubeTarget, tmp_path: Path) -> None:
    path = write(tmp_path, manifest())

    result = kube_target.kubectl("apply", "--server-side", "--dry-run=server", "-f", str(path), "-o", "json")

    assert json.loads(result.stdout)["metadata"]["name"] == "postgres"
    missing = kube_target.kubectl("get", "sts/postgres", check=False)
    assert missing.returncode == 1
    assert 'statefulsets.apps "postgres" not found' in missing.stderr


def test_kubectl_rollout_status_succeeds_once_pods_are_ready(kube_target: KubeTarget, tmp_path: Path) -> None:
    kube_target.kubectl("apply", "--server-side", "-f", str(write(tmp_path, manifest())))

    result = kube_target.kubectl("rollout", "status", "statefulset/postgres", "--timeout=20s")

    assert "partitioned roll out complete: 1 new pods have been updated" in result.stdout


def test_kubectl_rollout_status_times_out_on_a_never_ready_workload(
    fake_kube_factory: Callable[..., FakeKube], tmp_path: Path
) -> None:
    fake = fake_kube_factory(never_ready=["statefulset/postgres"])
    target = KubeTarget(fake.kubeconfig_path or Path(), "default", fake, False, tmp_path / "cache")
    target.kubectl("apply", "--server-side", "-f", str(write(tmp_path, manifest())))

    result = target.kubectl("rollout", "status", "statefulset/postgres", "--timeout=1s", check=False)

    assert result.returncode == 1
    assert "Waiting for 1 pods to be ready..." in result.stdout
    assert "timed out waiting for the condition" in result.stderr


def test_kubectl_rollout_undo_restores_the_previous_template(kube_target: KubeTarget, tmp_path: Path) -> None:
    kube_target.kubectl("apply", "--server-side", "-f", str(write(tmp_path, manifest())))
    kube_target.kubectl("rollout", "status", "statefulset/postgres", "--timeout=20s")
    kube_target.kubectl(
        "apply", "--server-side", "-f", str(write(tmp_path, manifest(image="postgis/postgis:19")))
    )
    kube_target.kubectl("rollout", "status", "statefulset/postgres", "--timeout=20s")

    undo = kube_target.kubectl("rollout", "undo", "statefulset/postgres")
    kube_target.kubectl("rollout", "status", "statefulset/postgres", "--timeout=20s")

    assert undo.stdout.strip() == "statefulset.apps/postgres rolled back"
    live = get(kube_target, "sts/postgres")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "postgis/postgis:18-3.6"
    pod = get(kube_target, "pod/postgres-0")
    assert pod["spec"]["containers"][0]["image"] == "postgis/postgis:18-3.6"
    revisions = get(kube_target, "controllerrevisions")["items"]
    assert sorted(r["revision"] for r in revisions) == [2, 3]
    assert live["status"]["currentRevision"] == live["status"]["updateRevision"]
    again = kube_target.kubectl("rollout", "undo", "statefulset/postgres", "--to-revision=3")
    assert again.stdout.strip() == (
        "statefulset.apps/postgres skipped rollback (current template already matches revision 3)"
    )


def test_kubectl_orphan_delete_keeps_pod_and_pvc_and_recreate_adopts(
    kube_target: KubeTarget, tmp_path: Path
) -> None:
    kube_target.kubectl("apply", "--server-side", "-f", str(write(tmp_path, manifest())))
    kube_target.kubectl("rollout", "status", "statefulset/postgres", "--timeout=20s")
    pod_uid = get(kube_target, "pod/postgres-0")["metadata"]["uid"]
    pvc_uid = get(kube_target, "pvc/data-postgres-0")["metadata"]["uid"]

    deleted = kube_target.kubectl("delete", "statefulset/postgres", "--cascade=orphan")

    assert 'statefulset.apps "postgres" deleted' in deleted.stdout
    orphan = get(kube_target, "pod/postgres-0")
    assert orphan["metadata"]["uid"] == pod_uid
    assert "ownerReferences" not in orphan["metadata"]
    kube_target.kubectl("apply", "--server-side", "-f", str(write(tmp_path, manifest(storage="20Gi"))))
    kube_target.kubectl("rollout", "status", "statefulset/postgres", "--timeout=20s")
    sts_uid = get(kube_target, "sts/postgres")["metadata"]["uid"]
    adopted = get(kube_target, "pod/postgres-0")
    assert adopted["metadata"]["uid"] == pod_uid
    assert [r["uid"] for r in adopted["metadata"]["ownerReferences"]] == [sts_uid]
    assert get(kube_target, "pvc/data-postgres-0")["metadata"]["uid"] == pvc_uid
    if kube_target.fake is not None:
        deletes = [(d["kind"], d["propagationPolicy"]) for d in kube_target.fake.delete_events]
        assert deletes == [("StatefulSet", "Orphan")]
        delete_request = kube_target.fake.requests(method="DELETE")[0]
        assert delete_request["path"] == "/apis/apps/v1/namespaces/default/statefulsets/postgres"


def test_kubectl_get_prints_tables_and_wait_sees_conditions(kube_target: KubeTarget, tmp_path: Path) -> None:
    kube_target.kubectl("apply", "--server-side", "-f", str(write(tmp_path, manifest())))
    kube_target.kubectl("rollout", "status", "statefulset/postgres", "--timeout=20s")

    kube_target.kubectl("wait", "--for=condition=Ready", "pod/postgres-0", "--timeout=20s")
    table = kube_target.kubectl("get", "pods").stdout.splitlines()

    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert table[1].split()[:4] == ["postgres-0", "1/1", "Running", "0"]
    nodes = kube_target.kubectl("get", "nodes").stdout.splitlines()
    assert nodes[1].split()[1] == "Ready"


def test_kubectl_create_sends_protobuf_for_namespaces_configmaps_and_secrets(kube_target: KubeTarget) -> None:
    kube_target.kubectl("create", "configmap", "settings", "--from-literal=mode=fast", "--save-config")
    kube_target.kubectl("create", "secret", "generic", "creds", "--from-literal=PASSWORD=hunter2")

    configmap = get(kube_target, "configmap/settings")
    secret = get(kube_target, "secret/creds")

    assert configmap["data"] == {"mode": "fast"}
    assert "kubectl.kubernetes.io/last-applied-configuration" in configmap["metadata"]["annotations"]
    assert (secret["type"], secret["data"]) == ("Opaque", {"PASSWORD": "aHVudGVyMg=="})
    if kube_target.fake is not None:
        kinds = {r["content_type"] for r in kube_target.fake.requests(method="POST")}
        assert kinds == {"application/vnd.kubernetes.protobuf"}


def test_kubectl_upgrades_client_side_apply_ownership_to_server_side(
    kube_target: KubeTarget, tmp_path: Path
) -> None:
    two = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1', b: '2'}\n"
    one = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n"
    kube_target.kubectl("apply", "-f", str(write(tmp_path, two)))

    kube_target.kubectl("apply", "--server-side", "-f", str(write(tmp_path, one)))

    live = get(kube_target, "configmap/settings")
    assert live["data"] == {"a": "1"}
    managers = json.loads(
        kube_target.kubectl("get", "configmap/settings", "-o", "json", "--show-managed-fields").stdout
    )["metadata"]["managedFields"]
    assert ("kubectl", "Apply") in {(m["manager"], m["operation"]) for m in managers}
    assert "kubectl-client-side-apply" not in {m["manager"] for m in managers}
