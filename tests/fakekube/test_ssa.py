"""Server-side apply ownership rules of the fake (structured-merge-diff semantics), case by case."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakekube import FakeKube
from tests.fakekube.ssa import from_fields_v1, path_string, to_fields_v1
from tests.fakekube.wire import Wire
from tests.support import manifests as s

pytestmark = pytest.mark.integration


def env_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(obj["spec"]["template"]["spec"]["containers"][0].get("env") or [])


def with_env(*pairs: tuple[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    sts = s.statefulset()
    sts["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": k, "value": v} for k, v in pairs]
    if labels is not None:
        sts["metadata"]["labels"] = labels
    return sts


def fields_of(obj: dict[str, Any], manager: str) -> dict[str, Any]:
    for entry in obj["metadata"]["managedFields"]:
        if entry["manager"] == manager:
            return dict(entry["fieldsV1"])
    raise AssertionError(f"{manager} manages nothing")


def test_an_applier_removes_what_it_stopped_applying_but_not_what_others_own(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    wire.apply(with_env(("A", "1"), ("B", "2"), labels={"app.kubernetes.io/name": "postgres", "tier": "db"}))
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "postgres", "env": [{"name": "X", "value": "9"}]}]}}
        }
    }
    wire.call(
        "PATCH", wire.path_of(s.statefulset()), patch, content_type="application/strategic-merge-patch+json"
    )

    after = wire.apply(with_env(("A", "1"))).body

    assert env_of(after) == [{"name": "A", "value": "1"}, {"name": "X", "value": "9"}]
    assert after["metadata"]["labels"] == {"app.kubernetes.io/name": "postgres"}


def test_shared_fields_survive_when_one_applier_lets_go(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    wire.apply(with_env(("A", "1")), manager="first")
    wire.apply(with_env(("A", "1")), manager="second")

    after = wire.apply(with_env(), manager="first").body

    assert env_of(after) == [{"name": "A", "value": "1"}]
    env_key = 'k:{"name":"A"}'
    second = fields_of(after, "second")["f:spec"]["f:template"]["f:spec"]["f:containers"][
        'k:{"name":"postgres"}'
    ]
    assert env_key in second["f:env"]


def test_an_update_takes_ownership_without_conflict_and_the_next_apply_conflicts(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    wire.apply(s.statefulset())
    scaled = wire.call(
        "PATCH",
        wire.path_of(s.statefulset()),
        {"spec": {"replicas": 3}},
        content_type="application/merge-patch+json",
    )

    conflict = wire.apply(s.statefulset())
    forced = wire.apply(s.statefulset(), force=True)

    assert scaled.status == 200 and scaled.body["spec"]["replicas"] == 3
    assert "f:replicas" not in fields_of(scaled.body, "gitops")["f:spec"]
    assert conflict.status == 409
    assert conflict.causes == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "fakekube-wire" using apps/v1',
            "field": ".spec.replicas",
        }
    ]
    assert forced.body["spec"]["replicas"] == 1
    assert all(m["manager"] != "fakekube-wire" for m in forced.body["metadata"]["managedFields"])


def test_status_is_applied_through_the_status_subresource_only(fake_kube: FakeKube) -> None:
    wire = Wire(fake_kube)
    wire.apply(s.pvc())
    status = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "default"},
        "status": {"conditions": [{"type": "Resizing", "status": "True"}]},
    }

    ignored = wire.call(
        "PATCH",
        wire.path_of(status),
        status,
        content_type="application/apply-patch+yaml",
        query={"fieldManager": "gitops"},
    )
    applied = wire.call(
        "PATCH",
        wire.path_of(status) + "/status",
        status,
        content_type="application/apply-patch+yaml",
        query={"fieldManager": "resizer"},
    )

    assert "conditions" not in ignored.body.get("status", {})
    assert applied.status == 200
    assert applied.body["status"]["conditions"][0]["type"] == "Resizing"
    entry = next(m for m in applied.body["metadata"]["managedFields"] if m["manager"] == "resizer")
    assert entry["subresource"] == "status" and entry["operation"] == "Apply"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        pytest.param(("f:spec", "f:replicas"), ".spec.replicas", id="field"),
        pytest.param(
            ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"app"}', "f:image"),
            '.spec.template.spec.containers[name="app"].image',
            id="keyed-item",
        ),
        pytest.param(
            ("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}'),
            '.spec.ports[port=80,protocol="TCP"]',
            id="multi-key",
        ),
        pytest.param(("f:metadata", "f:finalizers", 'v:"x"'), '.metadata.finalizers[="x"]', id="set-value"),
    ],
)
def test_paths_print_and_round_trip_through_fields_v1(path: tuple[str, ...], text: str) -> None:
    assert path_string(path) == text
    assert from_fields_v1(to_fields_v1([path, path[:-1]])) == {path, path[:-1]}
    nested = to_fields_v1([path, path[:-1]])
    cursor = nested
    for element in path[:-1]:
        cursor = cursor[element]
    assert cursor["."] == {}
