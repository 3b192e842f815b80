"""Error answers of the fake API server, compared field by field with what a real 1.37 apiserver sends.

Answers that differ between minor versions are also checked, version by version, against the
corpus of real bodies in tests/fakekube/test_corpus.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.fakekube import FakeKube
from tests.fakekube.wire import Wire
from tests.support import manifests as s

pytestmark = pytest.mark.integration

# 1.37 (kubernetes/kubernetes#138080): ValidateImmutableField per StatefulSet field.
IMMUTABLE = ": field is immutable"


def changed(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    cursor: Any = new
    parts = path.split(".")
    for part in parts[:-1]:
        cursor = cursor[int(part)] if isinstance(cursor, list) else cursor[part]
    if isinstance(cursor, list):
        cursor[int(parts[-1])] = value
    else:
        cursor[parts[-1]] = value
    return new


@pytest.mark.parametrize(
    ("original", "path", "value", "field", "reason", "message_start"),
    [
        pytest.param(
            s.statefulset(),
            "spec.volumeClaimTemplates.0.spec.resources.requests.storage",
            "20Gi",
            "spec.volumeClaimTemplates",
            "FieldValueInvalid",
            'Invalid value: [{"apiVersion":"v1","kind":"PersistentVolumeClaim"',
            id="statefulset-storage",
        ),
        pytest.param(
            s.statefulset(),
            "spec.serviceName",
            "other",
            "spec.serviceName",
            "FieldValueInvalid",
            'Invalid value: "other"' + IMMUTABLE,
            id="statefulset-service-name",
        ),
        pytest.param(
            s.statefulset(),
            "spec.podManagementPolicy",
            "Parallel",
            "spec.podManagementPolicy",
            "FieldValueInvalid",
            'Invalid value: "Parallel"' + IMMUTABLE,
            id="statefulset-pod-management",
        ),
        pytest.param(
            s.deployment(),
            "spec.selector",
            {"matchLabels": {"app": "web", "tier": "x"}},
            "spec.selector",
            "FieldValueInvalid",
            'Invalid value: {"matchLabels":{"app":"web","tier":"x"}}',
            id="deployment-selector",
        ),
        pytest.param(
            s.daemonset(),
            "spec.selector",
            {"matchLabels": {"app": "agent", "tier": "x"}},
            "spec.selector",
            "FieldValueInvalid",
            "Invalid value: ",
            id="daemonset-selector",
        ),
        pytest.param(
            s.job(),
            "spec.template.spec.containers.0.image",
            "busybox:1.38",
            "spec.template",
            "FieldValueInvalid",
            "Invalid value: ",
            id="job-template",
        ),
        pytest.param(
            s.service(cluster_ip="10.43.7.7"),
            "spec.clusterIP",
            "10.43.8.8",
            "spec.clusterIPs[0]",
            "FieldValueInvalid",
            'Invalid value: ["10.43.8.8"]: may not change once set',
            id="service-cluster-ip",
        ),
        pytest.param(
            s.pvc(),
            "spec.storageClassName",
            "local-path",
            "spec",
            "FieldValueForbidden",
            "Forbidden: spec is immutable after creation except resources.requests and "
            "volumeAttributesClassName for bound claims",
            id="pvc-storage-class",
        ),
        pytest.param(
            s.pvc(),
            "spec.accessModes",
            ["ReadWriteMany"],
            "spec",
            "FieldValueForbidden",
            "Forbidden: spec is immutable after creation",
            id="pvc-access-modes",
        ),
        pytest.param(
            s.pvc(),
            "spec.resources.requests.storage",
            "5Gi",
            "spec.resources.requests.storage",
            "FieldValueForbidden",
            "Forbidden: field can not be less than status.capacity",
            id="pvc-shrink",
        ),
    ],
)
def test_immutable_field_changes_answer_422_invalid_with_causes(
    fake_kube: FakeKube,
    *,
    original: dict[str, Any],
    path: str,
    value: Any,
    field: str,
    reason: str,
    message_start: str,
) -> None:
    wire = Wire(fake_kube)
    created = wire.apply(original)
    assert created.status == 201, created.body
    if original["kind"] == "PersistentVolumeClaim":
        fake_kube.wait_for(
            lambda: (
                (fake_kube.get("v1", "PersistentVolumeClaim", "default", "data") or {})
                .get("status", {})
                .get("phase")
                == "Bound"
            )
        )

    answer = wire.apply(changed(original, path, value), force=True)

    res = fake_kube.resource(original["apiVersion"], original["kind"])
    name = original["metadata"]["name"]
    assert answer.status == 422, answer.body
    assert set(answer.body) == {
        "kind",
        "apiVersion",
        "metadata",
        "status",
        "message",
        "reason",
        "details",
        "code",
    }
    assert (
        answer.body["kind"] == "Status"
        and answer.body["apiVersion"] == "v1"
        and answer.body["metadata"] == {}
    )
    assert (
        answer.body["status"] == "Failure"
        and answer.body["reason"] == "Invalid"
        and answer.body["code"] == 422
    )
    expected_details = {"name": name, "kind": res.kind}
    if res.group:
        expected_details["group"] = res.group
    assert {k: v for k, v in answer.body["details"].items() if k != "causes"} == expected_details
    [cause] = answer.causes
    assert cause["reason"] == reason
    assert cause["field"] == field
    assert cause["message"].startswith(message_start)
    assert answer.body["message"] == f'{res.qualified_kind} "{name}" is invalid: {field}: {cause["message"]}'
    # The failed change left the object alone.
    live = fake_kube.get(original["apiVersion"], original["kind"], "default", name)
    assert live is not None
    assert value_at(live, path) != value


def value_at(obj: dict[str, Any], path: str) -> Any:
    cursor: Any = obj
    for part in path.split("."):
        cursor = cursor[int(part)] if isinstance(cursor, list) else cursor.get(part)
    return cursor


@pytest.mark.parametrize(
    ("original", "path", "value"),
    [
        pytest.param(s.statefulset(), "spec.replicas", 2, id="statefulset-replicas"),
        pytest.param(
            s.statefulset(),
            "spec.template.spec.containers.0.image",
            "postgis/postgis:19",
            id="statefulset-template",
        ),
        pytest.param(s.statefulset(), "spec.updateStrategy", {"type": "OnDelete"}, id="statefulset-strategy"),
        pytest.param(s.statefulset(), "spec.minReadySeconds", 5, id="statefulset-min-ready"),
        pytest.param(
            s.statefulset(),
            "spec.persistentVolumeClaimRetentionPolicy",
            {"whenDeleted": "Delete", "whenScaled": "Retain"},
            id="statefulset-retention",
        ),
        pytest.param(s.service(), "spec.type", "NodePort", id="service-type-nodeport"),
        pytest.param(
            s.deployment(), "spec.template.spec.containers.0.image", "nginx:1.30", id="deployment-image"
        ),
    ],
)
def test_mutable_changes_are_accepted(
    fake_kube: FakeKube, original: dict[str, Any], path: str, value: Any
) -> None:
    wire = Wire(fake_kube)
    assert wire.apply(original).status == 201

    answer = wire.apply(changed(original, path, value))

    assert answer.status == 200, answer.body
    if path == "spec.type":
        assert answer.body["spec"]["ports"][0]["nodePort"] >= 30000
        assert answer.body["spec"]["clusterIP"]


def test_service_cluster_ip_is_allocated_and_kept_when_the_manifest_omits_it(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)

    created = wire.apply(s.service())
    again = wire.apply(s.service())

    ip = created.body["spec"]["clusterIP"]
    assert ip.startswith("10.43.")
    assert created.body["spec"]["clusterIPs"] == [ip]
    assert again.body["metadata"]["resourceVersion"] == created.body["metadata"]["resourceVersion"]


def bound(fake: FakeKube, name: str) -> bool:
    claim = fake.get("v1", "PersistentVolumeClaim", "default", name) or {}
    return bool((claim.get("status") or {}).get("phase") == "Bound")


def test_pvc_growth_needs_an_expandable_storage_class(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    assert wire.apply(s.pvc("grow")).status == 201
    assert wire.apply(s.pvc("fixed", storage_class="local-path")).status == 201
    fake_kube.wait_for(lambda: bound(fake_kube, "grow") and bound(fake_kube, "fixed"))

    grown = wire.apply(s.pvc("grow", storage="20Gi"))
    refused = wire.apply(s.pvc("fixed", storage="20Gi", storage_class="local-path"))

    assert grown.status == 200
    capacity = fake_kube.wait_for(
        lambda: (
            (fake_kube.get("v1", "PersistentVolumeClaim", "default", "grow") or {})
            .get("status", {})
            .get("capacity", {})
            .get("storage")
            == "20Gi"
        )
    )
    assert capacity
    assert refused.status == 403
    assert refused.body["reason"] == "Forbidden"
    assert refused.body["message"] == (
        'persistentvolumeclaims "fixed" is forbidden: only dynamically provisioned pvc can be resized and '
        "the storageclass that provisions the pvc must support resize"
    )
    assert refused.body["details"] == {"name": "fixed", "kind": "persistentvolumeclaims"}


def test_common_error_bodies(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    path = "/apis/apps/v1/namespaces/default/statefulsets"

    missing = wire.call("GET", f"{path}/nope")
    created = wire.call("POST", path, s.statefulset())
    duplicate = wire.call("POST", path, s.statefulset())
    stale = wire.call(
        "PUT",
        f"{path}/postgres",
        {**s.statefulset(), "metadata": {**s.statefulset()["metadata"], "resourceVersion": "1"}},
    )
    unauthorized = Wire(fake_kube, token="wrong").call("GET", f"{path}/postgres")
    no_manager = wire.call(
        "PATCH", f"{path}/postgres", s.statefulset(), content_type="application/apply-patch+yaml"
    )
    unknown = wire.call("GET", "/apis/apps/v1/namespaces/default/widgets")
    bad_media = wire.call("PATCH", f"{path}/postgres", {}, content_type="text/plain")
    ghost = s.configmap()
    del ghost["metadata"]["namespace"]
    no_namespace = wire.call("POST", "/api/v1/namespaces/ghost/configmaps", ghost)

    assert (missing.status, missing.body) == (
        404,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": 'statefulsets.apps "nope" not found',
            "reason": "NotFound",
            "details": {"name": "nope", "group": "apps", "kind": "statefulsets"},
            "code": 404,
        },
    )
    assert created.status == 201
    assert (duplicate.status, duplicate.body["reason"], duplicate.body["message"]) == (
        409,
        "AlreadyExists",
        'statefulsets.apps "postgres" already exists',
    )
    assert (stale.status, stale.body["reason"]) == (409, "Conflict")
    assert stale.body["message"] == (
        'Operation cannot be fulfilled on statefulsets.apps "postgres": the object has been modified; please '
        "apply your changes to the latest version and try again"
    )
    assert stale.body["details"] == {"name": "postgres", "group": "apps", "kind": "statefulsets"}
    assert (unauthorized.status, unauthorized.body) == (
        401,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        },
    )
    assert no_manager.status == 400 and no_manager.body["reason"] == "BadRequest"
    assert (unknown.status, unknown.body["message"]) == (
        404,
        "the server could not find the requested resource",
    )
    assert (bad_media.status, bad_media.body["reason"]) == (415, "UnsupportedMediaType")
    assert (no_namespace.status, no_namespace.body["message"]) == (404, 'namespaces "ghost" not found')


def test_schema_errors_answer_like_the_real_server(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    bad = changed(s.statefulset(), "spec.replicas", "three")
    unknown = changed(s.statefulset(), "spec.replicaz", 3)
    path = "/apis/apps/v1/namespaces/default/statefulsets"

    applied = wire.apply(bad)
    applied_unknown = wire.apply(unknown)
    posted = wire.call("POST", path, bad)
    strict = wire.call("POST", path, unknown, query={"fieldValidation": "Strict"})
    warned = wire.call("POST", path, unknown, query={"fieldValidation": "Warn"})

    # Real apiservers answer typed-patch errors of server-side apply with a reason-less 500
    # (kubernetes/kubernetes#122480); typed decoding errors of create/update are 400.
    assert applied.status == 500
    assert "reason" not in applied.body
    assert applied.body["message"] == (
        "failed to create typed patch object (default/postgres; apps/v1, Kind=StatefulSet): .spec.replicas: "
        "expected numeric (int or float), got string"
    )
    assert applied_unknown.body["message"].endswith(".spec.replicaz: field not declared in schema")
    assert posted.status == 400 and posted.body["reason"] == "BadRequest"
    assert strict.status == 400
    assert strict.body["message"] == (
        'StatefulSet in version "v1" cannot be handled as a StatefulSet: strict decoding error: '
        'unknown field "spec.replicaz"'
    )
    assert warned.status == 201
    assert warned.headers["warning"] == '299 - "unknown field \\"spec.replicaz\\""'
    assert "replicaz" not in warned.body["spec"]


def test_invalid_names_and_missing_selectors_are_422(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    bad_name = changed(s.configmap(), "metadata.name", "Bad_Name")
    no_selector = s.deployment()
    del no_selector["spec"]["selector"]

    named = wire.call("POST", "/api/v1/namespaces/default/configmaps", bad_name)
    selectorless = wire.call("POST", "/apis/apps/v1/namespaces/default/deployments", no_selector)

    assert named.status == 422
    assert named.causes[0]["field"] == "metadata.name"
    assert named.causes[0]["message"].startswith('Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain')
    assert selectorless.status == 422
    assert [c["field"] for c in selectorless.causes] == ["spec.selector"]


def test_dry_run_on_every_mutating_verb_persists_nothing(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    assert wire.apply(s.configmap()).status == 201
    path = "/api/v1/namespaces/default/configmaps"
    rv = fake_kube.store.rv
    history = len(fake_kube.history())
    dry = {"dryRun": "All"}

    answers = [
        wire.call("POST", path, s.configmap("other"), query=dry),
        wire.call("PUT", f"{path}/settings", s.configmap(data={"a": "2"}), query=dry),
        wire.call(
            "PATCH",
            f"{path}/settings",
            {"data": {"a": "3"}},
            content_type="application/merge-patch+json",
            query=dry,
        ),
        wire.call(
            "PATCH",
            f"{path}/settings",
            [{"op": "replace", "path": "/data/a", "value": "4"}],
            content_type="application/json-patch+json",
            query=dry,
        ),
        wire.apply(s.configmap(data={"a": "5"}), dry_run=True),
        wire.call("DELETE", f"{path}/settings", query=dry),
    ]

    assert [a.status for a in answers] == [201, 200, 200, 200, 200, 200]
    assert [a.body["data"]["a"] for a in answers[1:5]] == ["2", "3", "4", "5"]
    assert fake_kube.store.rv == rv
    assert len(fake_kube.history()) == history
    assert fake_kube.get("v1", "ConfigMap", "default", "settings")["data"] == {"a": "1"}  # type: ignore[index]
    assert fake_kube.get("v1", "ConfigMap", "default", "other") is None
    assert [d["dryRun"] for d in fake_kube.delete_events] == [True]


def test_create_validates_before_it_finds_the_name_taken(fake_kube: FakeKube) -> None:
    """The generic registry validates (BeforeCreate) before its storage create meets the existing key,
    dry run or not: a taken name hides no validation error behind a 409."""
    wire = Wire(fake_kube)
    path = "/apis/apps/v1/namespaces/default/statefulsets"
    assert wire.call("POST", path, s.statefulset()).status == 201
    assert fake_kube.settle()  # the controllers' pods are written first: only our requests may move rv
    invalid = s.statefulset()
    invalid["spec"]["template"]["metadata"]["labels"] = {"app.kubernetes.io/name": "other"}
    rv = fake_kube.store.rv

    answers = [
        wire.call("POST", path, invalid, query={"dryRun": "All"}),
        wire.call("POST", path, invalid),
        wire.call("POST", path, s.statefulset(), query={"dryRun": "All"}),
    ]

    assert [(a.status, a.body["reason"]) for a in answers] == [
        (422, "Invalid"),
        (422, "Invalid"),
        (409, "AlreadyExists"),
    ]
    assert [c["field"] for c in answers[0].causes] == ["spec.template.metadata.labels"]
    assert fake_kube.store.rv == rv

    fake_kube.set_knobs(pod_termination_seconds=60)
    fake_kube.wait_for(lambda: fake_kube.list_objects("v1", "Pod", "default"))
    pod = fake_kube.list_objects("v1", "Pod", "default")[0]
    pod_path = "/api/v1/namespaces/default/pods"
    assert wire.call("DELETE", f"{pod_path}/{pod['metadata']['name']}").status == 200
    again = wire.call("POST", pod_path, {**pod, "metadata": {"name": pod["metadata"]["name"]}})
    assert (again.status, again.body["message"]) == (
        409,
        f'object is being deleted: pods "{pod["metadata"]["name"]}" already exists',
    )


def _headless(**spec: Any) -> dict[str, Any]:
    service = s.service(cluster_ip="None")
    service["spec"].update(spec)
    return service


@pytest.mark.parametrize(
    ("manifest", "field", "message"),
    [
        pytest.param(
            _headless(type="NodePort"),
            "spec.clusterIPs[0]",
            "Invalid value: \"None\": may not be set to 'None' for NodePort services",
            id="headless-nodeport",
        ),
        pytest.param(
            _headless(type="LoadBalancer"),
            "spec.clusterIPs[0]",
            "Invalid value: \"None\": may not be set to 'None' for LoadBalancer services",
            id="headless-loadbalancer",
        ),
        pytest.param(
            _headless(clusterIPs=["10.43.0.99"]),
            "spec.clusterIPs",
            'Invalid value: ["10.43.0.99"]: first value must match `clusterIP`',
            id="list-disagrees",
        ),
        pytest.param(
            _headless(clusterIPs=["None", "10.43.0.99"]),
            "spec.clusterIPs",
            'Invalid value: ["None","10.43.0.99"]: \'None\' must be the first and only value',
            id="none-not-alone",
        ),
        pytest.param(
            s.service(cluster_ip="10.43.0.300"),
            "spec.clusterIPs[0]",
            'Invalid value: "10.43.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
            id="not-an-ip",
        ),
    ],
)
def test_service_cluster_ip_validation_on_create(
    fake_kube: FakeKube, manifest: dict[str, Any], field: str, message: str
) -> None:
    answer = Wire(fake_kube).apply(manifest)

    assert (answer.status, answer.body["reason"]) == (422, "Invalid"), answer.body
    assert [(c["field"], c["message"]) for c in answer.causes] == [(field, message)]
    assert fake_kube.get("v1", "Service", "default", "postgres") is None


def test_headless_services_as_the_registry_normalizes_and_guards_them(fake_kube: FakeKube) -> None:
    """``clusterIP: None`` without ``clusterIPs``: the registry starts the list on create, keeps a
    headless Service headless when the field is dropped, and refuses to turn an allocated IP into
    None (or the reverse) whichever way the request says it."""
    wire = Wire(fake_kube)
    path = "/api/v1/namespaces/default/services"
    headless = _headless()
    del headless["spec"]["ports"]  # ports are optional for a headless Service

    created = wire.apply(headless)
    dropped = wire.apply(s.service())  # the manifest no longer says clusterIP: None
    wire.apply(s.service("web"))
    via_apply = wire.apply(s.service("web", cluster_ip="None"), force=True)
    live = wire.call("GET", f"{path}/web").body
    put = {**live, "spec": {k: v for k, v in live["spec"].items() if k != "clusterIPs"}}
    put["spec"]["clusterIP"] = "None"
    via_put = wire.call("PUT", f"{path}/web", put)
    to_ip = wire.apply(s.service(cluster_ip="10.43.0.77"), force=True)

    assert created.status == 201, created.body
    assert (created.body["spec"]["clusterIP"], created.body["spec"]["clusterIPs"]) == ("None", ["None"])
    assert dropped.status == 200 and dropped.body["spec"]["clusterIPs"] == ["None"]
    assert [(c["field"], c["message"]) for c in via_apply.causes] == [
        ("spec.clusterIPs[0]", 'Invalid value: ["None"]: may not change once set')
    ]
    ip = live["spec"]["clusterIP"]
    assert [(c["field"], c["message"]) for c in via_put.causes] == [
        ("spec.clusterIPs", f'Invalid value: ["{ip}"]: first value must match `clusterIP`')
    ]
    assert [(c["field"], c["message"]) for c in to_ip.causes] == [
        ("spec.clusterIPs[0]", 'Invalid value: ["10.43.0.77"]: may not change once set')
    ]
    stored = fake_kube.get("v1", "Service", "default", "web")
    assert stored is not None and stored["spec"]["clusterIPs"] == [ip] == [stored["spec"]["clusterIP"]]


def test_an_unbound_claim_cannot_grow(fake_kube_factory: Callable[..., FakeKube]) -> None:
    """ValidatePersistentVolumeClaimUpdate: only a Bound claim may change its requests; a Pending one
    answers the same whole-spec Forbidden as any other spec change (the registry, not admission)."""
    fake = fake_kube_factory(tick=None)  # no controllers: the claim stays Pending
    wire = Wire(fake)
    assert wire.apply(s.pvc("scratch")).status == 201
    assert not bound(fake, "scratch")

    answer = wire.apply(s.pvc("scratch", storage="20Gi"), force=True)

    assert answer.status == 422, answer.body
    [cause] = answer.causes
    assert (cause["reason"], cause["field"]) == ("FieldValueForbidden", "spec")
    assert cause["message"].startswith(
        "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName "
        "for bound claims\n"
    )
    assert '"10Gi"' in cause["message"] and '"20Gi"' in cause["message"]


@pytest.mark.parametrize(
    ("kind", "change", "field", "reason", "message"),
    [
        pytest.param(
            "ConfigMap",
            {"data": {"mode": "fast"}},
            "data",
            "FieldValueForbidden",
            "Forbidden: field is immutable when `immutable` is set",
            id="configmap-data",
        ),
        pytest.param(
            "ConfigMap",
            {"immutable": False},
            "immutable",
            "FieldValueForbidden",
            "Forbidden: field is immutable when `immutable` is set",
            id="configmap-unset-immutable",
        ),
        pytest.param(
            "Secret",
            {"data": {"password": "bmV3"}},
            "data",
            "FieldValueForbidden",
            "Forbidden: field is immutable when `immutable` is set",
            id="secret-data",
        ),
    ],
)
def test_immutable_configmaps_and_secrets_refuse_changes(
    fake_kube: FakeKube, *, kind: str, change: dict[str, Any], field: str, reason: str, message: str
) -> None:
    """ValidateConfigMapUpdate / ValidateSecretUpdate (pkg/apis/core/validation/validation.go)."""
    wire = Wire(fake_kube)
    original: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": "settings", "namespace": "default"},
        "immutable": True,
        "data": {"mode": "slow"} if kind == "ConfigMap" else {"password": "b2xk"},
    }
    assert wire.apply(original).status == 201

    answer = wire.apply({**original, **change}, force=True)

    assert answer.status == 422, answer.body
    [cause] = answer.causes
    assert (cause["reason"], cause["field"], cause["message"]) == (reason, field, message)
    assert answer.body["message"] == f'{kind} "settings" is invalid: {field}: {message}'
    # Labels may still change: only data and the flag itself are frozen.
    relabelled = copy.deepcopy(original)
    relabelled["metadata"]["labels"] = {"tier": "x"}
    assert wire.apply(relabelled, force=True).status == 200


def test_a_secret_type_never_changes(fake_kube: FakeKube) -> None:
    """ValidateSecretUpdate: ValidateImmutableField(newSecret.Type, oldSecret.Type, type)."""
    wire = Wire(fake_kube)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "auth", "namespace": "default"}}
    assert (
        wire.apply({**secret, "type": "Opaque", "stringData": {"username": "u", "password": "p"}}).status
        == 201
    )

    answer = wire.apply(
        {**secret, "type": "kubernetes.io/basic-auth", "stringData": {"username": "u"}}, force=True
    )

    assert answer.status == 422, answer.body
    assert answer.causes == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "kubernetes.io/basic-auth": field is immutable',
            "field": "type",
        }
    ]
