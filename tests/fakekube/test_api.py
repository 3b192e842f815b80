"""The fake API server against the real ``kubernetes`` Python client: CRUD, server-side apply, deletes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.fakekube import FakeKube
from tests.fakekube.wire import Wire
from tests.support import manifests as samples

pytestmark = pytest.mark.integration


def statefulset(
    name: str = "postgres",
    *,
    image: str = "postgis/postgis:18-3.6",
    storage: str = "10Gi",
    retention: str | None = None,
) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name}
    spec: dict[str, Any] = {
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
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}},
            }
        ],
    }
    if retention:
        spec["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": retention, "whenScaled": "Retain"}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": spec,
    }


def dynamic(fake: FakeKube) -> Any:
    from kubernetes import config, dynamic

    assert fake.kubeconfig_path is not None
    return dynamic.DynamicClient(config.new_client_from_config(str(fake.kubeconfig_path)))


def api_error(call: Any) -> tuple[int, dict[str, Any]]:
    from kubernetes.client.exceptions import ApiException

    with pytest.raises(ApiException) as info:
        call()
    return info.value.status, json.loads(info.value.body)


def test_server_side_apply_creates_then_is_a_no_op_with_unchanged_resource_version(
    fake_kube: FakeKube,
) -> None:
    client = dynamic(fake_kube)
    cms = client.resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "1"}}

    created = cms.server_side_apply(body, name="settings", namespace="default", field_manager="gitops")
    again = cms.server_side_apply(body, name="settings", namespace="default", field_manager="gitops")

    assert again.metadata.resourceVersion == created.metadata.resourceVersion
    entries = [(m.manager, m.operation) for m in again.metadata.managedFields]
    assert entries == [("gitops", "Apply")]
    assert again.metadata.managedFields[0].fieldsV1.to_dict() == {"f:data": {"f:a": {}}}
    history = fake_kube.history(kind="ConfigMap", name="settings")
    assert [h["action"] for h in history] == ["created"]


def test_apply_removes_fields_the_manager_stopped_applying_and_updates_changed_ones(
    fake_kube: FakeKube,
) -> None:
    client = dynamic(fake_kube)
    cms = client.resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}
    first = cms.server_side_apply(body, name="c", namespace="default", field_manager="gitops")
    body["data"] = {"a": "changed"}

    second = cms.server_side_apply(body, name="c", namespace="default", field_manager="gitops")

    assert second.data.to_dict() == {"a": "changed"}
    assert int(second.metadata.resourceVersion) > int(first.metadata.resourceVersion)


def test_conflicting_apply_is_409_with_field_manager_conflict_causes_unless_forced(
    fake_kube: FakeKube,
) -> None:
    client = dynamic(fake_kube)
    sts = client.resources.get(api_version="apps/v1", kind="StatefulSet")
    sts.server_side_apply(statefulset(), name="postgres", namespace="default", field_manager="helm")
    changed = statefulset(image="postgis/postgis:18-3.6-alpine")

    status, body = api_error(
        lambda: sts.server_side_apply(changed, name="postgres", namespace="default", field_manager="gitops")
    )

    assert status == 409
    assert body["reason"] == "Conflict"
    path = '.spec.template.spec.containers[name="postgres"].image'
    assert body["message"] == f'Apply failed with 1 conflict: conflict with "helm": {path}'
    assert body["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "helm"',
            "field": '.spec.template.spec.containers[name="postgres"].image',
        }
    ]
    forced = sts.server_side_apply(
        changed, name="postgres", namespace="default", field_manager="gitops", force_conflicts=True
    )
    assert forced.spec.template.spec.containers[0].image == "postgis/postgis:18-3.6-alpine"
    owners = {m.manager: m.fieldsV1.to_dict() for m in forced.metadata.managedFields}
    helm_containers = owners["helm"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert "f:image" not in helm_containers['k:{"name":"postgres"}']


def test_applying_the_same_value_as_another_manager_shares_ownership_without_conflict(
    fake_kube: FakeKube,
) -> None:
    client = dynamic(fake_kube)
    sts = client.resources.get(api_version="apps/v1", kind="StatefulSet")
    sts.server_side_apply(statefulset(), name="postgres", namespace="default", field_manager="helm")

    shared = sts.server_side_apply(
        statefulset(), name="postgres", namespace="default", field_manager="gitops"
    )

    assert {m.manager for m in shared.metadata.managedFields} >= {"helm", "gitops"}


def test_orphan_delete_keeps_pods_and_pvcs_and_a_recreated_statefulset_adopts_them(
    fake_kube: FakeKube,
) -> None:
    client = dynamic(fake_kube)
    sts = client.resources.get(api_version="apps/v1", kind="StatefulSet")
    sts.server_side_apply(statefulset(), name="postgres", namespace="default", field_manager="gitops")
    pod = fake_kube.wait_for(lambda: _ready_pod(fake_kube, "postgres-0"))
    pvc = fake_kube.get("v1", "PersistentVolumeClaim", "default", "data-postgres-0")
    assert pvc is not None
    assert "ownerReferences" not in pvc["metadata"]  # whenDeleted: Retain -> no owner

    deleting = sts.delete(name="postgres", namespace="default", body={"propagationPolicy": "Orphan"})
    assert deleting.metadata.finalizers == ["orphan"]
    assert deleting.metadata.deletionTimestamp
    fake_kube.wait_for(lambda: fake_kube.get("apps/v1", "StatefulSet", "default", "postgres") is None)
    orphan = fake_kube.get("v1", "Pod", "default", "postgres-0")
    assert orphan is not None
    assert orphan["metadata"]["uid"] == pod["metadata"]["uid"]
    assert "ownerReferences" not in orphan["metadata"]

    bigger = statefulset(storage="20Gi")
    sts.server_side_apply(bigger, name="postgres", namespace="default", field_manager="gitops")
    new_uid = fake_kube.get("apps/v1", "StatefulSet", "default", "postgres")["metadata"]["uid"]  # type: ignore[index]
    adopted = fake_kube.wait_for(
        lambda: _owned_by(fake_kube.get("v1", "Pod", "default", "postgres-0"), new_uid)
    )
    assert adopted["metadata"]["uid"] == pod["metadata"]["uid"]
    pod_deletes = [d for d in fake_kube.delete_events if d["kind"] == "Pod"]
    assert pod_deletes == []
    assert [d["propagationPolicy"] for d in fake_kube.delete_events] == ["Orphan"]


def test_background_delete_removes_pods_but_never_retained_pvcs(fake_kube: FakeKube) -> None:
    client = dynamic(fake_kube)
    sts = client.resources.get(api_version="apps/v1", kind="StatefulSet")
    sts.server_side_apply(statefulset(), name="postgres", namespace="default", field_manager="gitops")
    fake_kube.wait_for(lambda: _ready_pod(fake_kube, "postgres-0"))

    sts.delete(name="postgres", namespace="default", body={"propagationPolicy": "Background"})

    fake_kube.wait_for(lambda: fake_kube.get("v1", "Pod", "default", "postgres-0") is None)
    assert fake_kube.get("v1", "PersistentVolumeClaim", "default", "data-postgres-0") is not None


def test_pvcs_are_owned_by_the_statefulset_only_when_retention_says_delete(fake_kube: FakeKube) -> None:
    client = dynamic(fake_kube)
    sts = client.resources.get(api_version="apps/v1", kind="StatefulSet")
    sts.server_side_apply(
        statefulset(retention="Delete"), name="postgres", namespace="default", field_manager="g"
    )
    uid = fake_kube.wait_for(lambda: fake_kube.get("apps/v1", "StatefulSet", "default", "postgres"))[
        "metadata"
    ]["uid"]

    pvc = fake_kube.wait_for(
        lambda: _owned_by(fake_kube.get("v1", "PersistentVolumeClaim", "default", "data-postgres-0"), uid)
    )
    assert pvc["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    sts.delete(name="postgres", namespace="default", body={"propagationPolicy": "Foreground"})
    fake_kube.wait_for(
        lambda: fake_kube.get("v1", "PersistentVolumeClaim", "default", "data-postgres-0") is None
    )


def test_dry_run_persists_nothing(fake_kube: FakeKube) -> None:
    client = dynamic(fake_kube)
    sts = client.resources.get(api_version="apps/v1", kind="StatefulSet")
    before = fake_kube.store.rv

    created = sts.server_side_apply(
        statefulset(), name="postgres", namespace="default", field_manager="g", dry_run="All"
    )

    assert created.metadata.name == "postgres"
    assert fake_kube.get("apps/v1", "StatefulSet", "default", "postgres") is None
    assert fake_kube.store.rv == before
    assert fake_kube.history(kind="StatefulSet") == []


@pytest.mark.parametrize("fake_kube", ["1.36"], indirect=True)
def test_statefulset_storage_change_is_422_forbidden_like_the_real_1_36_apiserver(
    fake_kube: FakeKube,
) -> None:
    """Up to 1.36 one Forbidden cause on `spec` (1.37's per-field causes: test_corpus.py)."""
    client = dynamic(fake_kube)
    sts = client.resources.get(api_version="apps/v1", kind="StatefulSet")
    sts.server_side_apply(statefulset(), name="postgres", namespace="default", field_manager="gitops")

    status, body = api_error(
        lambda: sts.server_side_apply(
            statefulset(storage="20Gi"), name="postgres", namespace="default", field_manager="gitops"
        )
    )

    forbidden = (
        "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
        "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
        "'minReadySeconds' are forbidden"
    )
    assert status == 422
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'StatefulSet.apps "postgres" is invalid: spec: {forbidden}',
        "reason": "Invalid",
        "details": {
            "name": "postgres",
            "group": "apps",
            "kind": "StatefulSet",
            "causes": [{"reason": "FieldValueForbidden", "message": forbidden, "field": "spec"}],
        },
        "code": 422,
    }


def _ready_pod(fake: FakeKube, name: str) -> dict[str, Any] | None:
    pod = fake.get("v1", "Pod", "default", name)
    if pod is None:
        return None
    ready = [c for c in pod["status"].get("conditions", []) if c["type"] == "Ready" and c["status"] == "True"]
    return pod if ready else None


def _owned_by(obj: dict[str, Any] | None, uid: str) -> dict[str, Any] | None:
    if obj is None:
        return None
    refs = obj["metadata"].get("ownerReferences") or []
    return copy.deepcopy(obj) if any(r["uid"] == uid for r in refs) else None


def test_generation_tracks_spec_changes_only_and_status_is_a_subresource(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    path = "/apis/apps/v1/namespaces/default/deployments/web"
    wire.apply(samples.deployment())
    fake_kube.wait_for(lambda: (fake_kube.get("apps/v1", "Deployment", "default", "web") or {}).get("status"))
    labelled = samples.deployment()
    labelled["metadata"]["labels"] = {"team": "web"}

    after_labels = wire.apply(labelled).body
    status_only = wire.call(
        "PATCH",
        f"{path}/status",
        {"status": {"replicas": 7}, "spec": {"replicas": 9}},
        content_type="application/merge-patch+json",
    ).body
    main_status = wire.call(
        "PATCH", path, {"status": {"replicas": 5}}, content_type="application/merge-patch+json"
    ).body
    after_spec = wire.apply({**labelled, "spec": {**labelled["spec"], "replicas": 2}}).body

    assert after_labels["metadata"]["generation"] == 1
    assert status_only["status"]["replicas"] == 7 and status_only["spec"]["replicas"] == 1
    assert status_only["metadata"]["generation"] == 1
    assert main_status["status"]["replicas"] != 5
    assert after_spec["metadata"]["generation"] == 2
    managers = {(m["manager"], m.get("subresource", "")) for m in status_only["metadata"]["managedFields"]}
    assert ("gitops", "") in managers


def test_delete_preconditions_and_foreground_finalizer(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    path = "/apis/apps/v1/namespaces/default/statefulsets/postgres"
    created = wire.apply(samples.statefulset()).body
    fake_kube.wait_for(lambda: _ready_pod(fake_kube, "postgres-0"))

    wrong = wire.call("DELETE", path, {"preconditions": {"uid": "not-the-uid"}})
    foreground = wire.call(
        "DELETE",
        path,
        {"propagationPolicy": "Foreground", "preconditions": {"uid": created["metadata"]["uid"]}},
    )

    assert wrong.status == 409 and wrong.body["reason"] == "Conflict"
    # rest.BeforeDelete (apiserver registry/rest/delete.go) refuses a stale uid before storage is asked.
    assert (
        "the UID in the precondition (not-the-uid) does not match the UID in record" in wrong.body["message"]
    )
    assert wrong.body["details"]["kind"] == "StatefulSet"
    assert foreground.status == 200
    assert foreground.body["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert foreground.body["metadata"]["deletionTimestamp"]
    fake_kube.wait_for(lambda: fake_kube.get("apps/v1", "StatefulSet", "default", "postgres") is None)
    assert fake_kube.get("v1", "Pod", "default", "postgres-0") is None
    assert fake_kube.get("v1", "PersistentVolumeClaim", "default", "data-postgres-0") is not None


def test_request_delay_knob_slows_matching_requests_only(fake_kube_factory: Any) -> None:
    fake = fake_kube_factory(delay=0.2, delay_verbs=["list"])
    wire = Wire(fake)

    wire.call("GET", "/api/v1/namespaces/default/configmaps")
    wire.call("GET", "/api/v1/namespaces/default/configmaps/none")

    listed, got = fake.request_log[-2:]
    assert listed["verb"] == "list" and listed["duration"] >= 0.2
    assert got["verb"] == "get"


def test_strategic_merge_patch_merges_lists_by_their_keys(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    sts = samples.statefulset()
    container = sts["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    sts["spec"]["template"]["spec"]["containers"].append({"name": "exporter", "image": "exporter:1"})
    wire.apply(sts)
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "postgres",
                            "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "3"}],
                        },
                    ]
                }
            }
        }
    }

    answer = wire.call(
        "PATCH", wire.path_of(sts), patch, content_type="application/strategic-merge-patch+json"
    )

    containers = answer.body["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["postgres", "exporter"]
    assert containers[0]["image"] == "postgis/postgis:18-3.6"
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}]
    managers = {m["manager"]: m["operation"] for m in answer.body["metadata"]["managedFields"]}
    assert (managers["gitops"], managers["fakekube-wire"]) == ("Apply", "Update")


def test_reapplying_jobs_and_secrets_with_server_filled_fields_is_a_no_op(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "default"},
        "stringData": {"PASSWORD": "hunter2"},
    }
    first = [wire.apply(samples.job()), wire.apply(secret), wire.apply(samples.service())]

    again = [wire.apply(samples.job()), wire.apply(secret), wire.apply(samples.service())]

    assert [a.status for a in first] == [201, 201, 201]
    assert [a.status for a in again] == [200, 200, 200]
    client_updates = [h for h in fake_kube.history(action="updated") if h["actor"].startswith("client:")]
    assert client_updates == []
    assert again[1].body["data"] == {"PASSWORD": "aHVudGVyMg=="} and "stringData" not in again[1].body


def test_eviction_deletes_the_pod_gracefully(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    wire.apply(samples.statefulset())
    pod = fake_kube.wait_for(lambda: _ready_pod(fake_kube, "postgres-0"))

    evicted = wire.call(
        "POST",
        "/api/v1/namespaces/default/pods/postgres-0/eviction",
        {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "postgres-0"}},
    )

    assert evicted.status == 201 and evicted.body["status"] == "Success"
    fake_kube.wait_for(
        lambda: (
            (fake_kube.get("v1", "Pod", "default", "postgres-0") or pod)["metadata"]["uid"]
            != pod["metadata"]["uid"]
        )
    )
    assert [d["actor"] for d in fake_kube.delete_events] == ["client:fakekube-wire (eviction)"]


def _kept_alive(fake: FakeKube) -> Any:
    """An HTTPS connection that made one request and is kept alive, waiting for the next one."""
    import http.client
    import ssl

    context = ssl.create_default_context(cadata=fake.ca_pem.decode())
    conn = http.client.HTTPSConnection(fake.host, fake.port, timeout=10, context=context)
    conn.request("GET", "/version", headers={"Authorization": f"Bearer {fake.token}"})
    assert conn.getresponse().read()
    return conn


def _served(fake: FakeKube) -> bool:
    """Every connection's handler thread has finished (including socketserver's error handling)."""
    server = fake._server
    assert server is not None
    return not any(thread.is_alive() for thread in list(server._threads))  # type: ignore[attr-defined]


def test_clients_going_away_print_no_traceback_and_record_no_bug(
    fake_kube: FakeKube, capfd: pytest.CaptureFixture[str]
) -> None:
    import os
    import socket
    import struct

    reset = _kept_alive(fake_kube)  # closed with an RST: ConnectionResetError on the server's read
    reset.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    reset.sock.close()
    garbled = _kept_alive(fake_kube)  # a record the server's TLS layer rejects: an SSLError
    os.write(garbled.sock.fileno(), b"\x15\x03\x03\x00\x02\x02\x32")
    cut = _kept_alive(fake_kube)  # urllib3's way to end a watch: shutdown without close_notify
    cut.sock.shutdown(socket.SHUT_RDWR)
    cut.sock.close()

    fake_kube.wait_for(lambda: _served(fake_kube))
    garbled.close()
    fake_kube.wait_for(lambda: _served(fake_kube))

    assert "Traceback" not in capfd.readouterr().err
    assert fake_kube.bugs == []


def test_a_handler_crash_is_a_recorded_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakekube.server import Handler

    def crash(self: Handler) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Handler, "handle", crash)
    fake = FakeKube(tick=None).start()
    try:
        import ssl

        context = ssl.create_default_context(cadata=fake.ca_pem.decode())
        with socket_to(fake) as raw, context.wrap_socket(raw, server_hostname=fake.host) as tls:
            tls.recv(1)  # the server closes the connection after the crash
        fake.wait_for(lambda: fake.bugs)
    finally:
        fake.stop()
    [bug] = fake.bugs
    assert "RuntimeError: boom" in bug


def socket_to(fake: FakeKube) -> Any:
    import socket

    return socket.create_connection((fake.host, fake.port), timeout=10)


def test_deny_knob_quotes_the_object_as_a_webhook_may(fake_kube: FakeKube) -> None:
    # k8s.io/apiserver pkg/admission/plugin/webhook/errors ToStatusErr: "admission webhook %q denied
    # the request: <message>"; a webhook's message may quote the object it judged (a Secret's value too).
    fake_kube.set_knobs(deny=["secret/db=webhook/deny.fakekube.test:refused {object}"])
    wire = Wire(fake_kube)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "default"}}
    answer = wire.apply({**secret, "stringData": {"password": "quoted-back"}})
    assert answer.status == 403
    assert answer.body["message"].startswith(
        'admission webhook "deny.fakekube.test" denied the request: refused {'
    )
    assert '"password":"quoted-back"' in answer.body["message"]
    assert fake_kube.get("v1", "Secret", "default", "db") is None
    other = {**secret, "metadata": {"name": "other", "namespace": "default"}}
    assert wire.apply(other).status == 201
