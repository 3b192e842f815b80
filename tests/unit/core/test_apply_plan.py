from __future__ import annotations

from typing import Any

import pytest

from gitops.core.apply_plan import (
    ObjectRef,
    Stage,
    build_plan,
    split_api_version,
    stage_of,
    unknown_skip_error,
)
from gitops.errors import ConfigurationError

CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "StorageClass", "PriorityClass", "ClusterRole"}


def namespaced(api_version: str, kind: str) -> bool:
    return kind not in CLUSTER_SCOPED


def obj(
    kind: str, name: str, api_version: str = "v1", service: str | None = None, **meta: Any
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **meta}
    if service:
        metadata["labels"] = {"app.kubernetes.io/name": service}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


@pytest.mark.parametrize(
    ("api_version", "expected"),
    [
        pytest.param("v1", ("", "v1"), id="core"),
        pytest.param("apps/v1", ("apps", "v1"), id="group"),
        pytest.param("apiextensions.k8s.io/v1", ("apiextensions.k8s.io", "v1"), id="dotted-group"),
    ],
)
def test_split_api_version(api_version: str, expected: tuple[str, str]) -> None:
    assert split_api_version(api_version) == expected


@pytest.mark.parametrize(
    ("group", "kind", "stage"),
    [
        pytest.param("apiextensions.k8s.io", "CustomResourceDefinition", Stage.CRDS, id="crd"),
        pytest.param("", "Namespace", Stage.NAMESPACES, id="namespace"),
        pytest.param("storage.k8s.io", "StorageClass", Stage.CLUSTER_CLASSES, id="storageclass"),
        pytest.param("scheduling.k8s.io", "PriorityClass", Stage.CLUSTER_CLASSES, id="priorityclass"),
        pytest.param("networking.k8s.io", "IngressClass", Stage.CLUSTER_CLASSES, id="ingressclass"),
        pytest.param("", "ServiceAccount", Stage.ACCESS, id="serviceaccount"),
        pytest.param("", "Secret", Stage.SECRETS, id="secret"),
        pytest.param("", "ConfigMap", Stage.CONFIGMAPS, id="configmap"),
        pytest.param("", "PersistentVolumeClaim", Stage.STORAGE, id="pvc"),
        pytest.param("", "Service", Stage.SERVICES, id="service"),
        pytest.param("apps", "StatefulSet", Stage.WORKLOADS, id="statefulset"),
        pytest.param("batch", "Job", Stage.WORKLOADS, id="job"),
        pytest.param("policy", "PodDisruptionBudget", Stage.REST, id="pdb-last"),
        pytest.param("example.com", "Widget", Stage.REST, id="custom-resource-last"),
        pytest.param("other.io", "Secret", Stage.REST, id="same-kind-other-group-is-not-core"),
    ],
)
def test_stage_of(group: str, kind: str, stage: Stage) -> None:
    assert stage_of(group, kind) is stage


def test_plan_orders_stages_and_keeps_input_order_within_a_stage() -> None:
    manifests = [
        obj("PodDisruptionBudget", "pg", "policy/v1"),
        obj("StatefulSet", "postgres", "apps/v1"),
        obj("Service", "postgres"),
        obj("ConfigMap", "b"),
        obj("ConfigMap", "a"),
        obj("Secret", "s"),
        obj("StorageClass", "fast", "storage.k8s.io/v1"),
        obj("Namespace", "apps"),
        obj("CustomResourceDefinition", "widgets.example.com", "apiextensions.k8s.io/v1"),
    ]
    plan = build_plan(manifests, namespaced=namespaced, default_namespace="default")
    order = [(o.ref.kind, o.ref.name) for o in plan.objects]
    assert order == [
        ("CustomResourceDefinition", "widgets.example.com"),
        ("Namespace", "apps"),
        ("StorageClass", "fast"),
        ("Secret", "s"),
        ("ConfigMap", "b"),
        ("ConfigMap", "a"),
        ("Service", "postgres"),
        ("StatefulSet", "postgres"),
        ("PodDisruptionBudget", "pg"),
    ]
    assert [stage for stage, _ in plan.stages()] == sorted(stage for stage, _ in plan.stages())


def test_namespaces_are_defaulted_only_for_namespaced_kinds() -> None:
    plan = build_plan(
        [obj("ConfigMap", "a"), obj("ConfigMap", "b", namespace="other"), obj("Namespace", "other")],
        namespaced=namespaced,
        default_namespace="team",
    )
    refs = {o.ref.name: o.ref for o in plan.objects}
    assert refs["a"].namespace == "team"
    assert refs["b"].namespace == "other"
    assert refs["other"].namespace is None
    assert next(o for o in plan.objects if o.ref.name == "a").manifest["metadata"]["namespace"] == "team"


def test_skipped_services_are_left_out_by_label() -> None:
    manifests = [
        obj("StatefulSet", "postgres", "apps/v1", service="postgres"),
        obj("Secret", "postgres", service="postgres"),
        obj("StatefulSet", "redis", "apps/v1", service="redis"),
        obj("ConfigMap", "shared"),
    ]
    plan = build_plan(
        manifests, namespaced=namespaced, default_namespace="default", skip_services=["postgres"]
    )
    assert sorted(o.ref.name for o in plan.objects) == ["redis", "shared"]
    assert sorted(str(o.ref) for o in plan.skipped) == [
        "Secret default/postgres",
        "StatefulSet default/postgres",
    ]
    assert plan.skipped_services == ("postgres",)
    assert plan.unknown_skip_names == ()


def test_an_unknown_skip_name_is_reported_not_ignored() -> None:
    plan = build_plan(
        [obj("StatefulSet", "redis", "apps/v1", service="redis")],
        namespaced=namespaced,
        default_namespace="default",
        skip_services=["postgress"],
    )
    assert plan.unknown_skip_names == ("postgress",)
    error = unknown_skip_error(plan, "overlay")
    assert "postgress" in error.message and "redis" in str(error.hint)


@pytest.mark.parametrize(
    ("manifests", "fragment"),
    [
        pytest.param([obj("ConfigMap", "a"), obj("ConfigMap", "a")], "appears twice", id="duplicate"),
        pytest.param(
            [{"kind": "ConfigMap", "metadata": {"name": "x"}}], "lacks apiVersion", id="no-apiversion"
        ),
        pytest.param(
            [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}], "metadata.name", id="no-name"
        ),
        pytest.param(
            [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "x-"}}],
            "generateName",
            id="generate-name",
        ),
        pytest.param([["not", "a", "map"]], "not a Kubernetes object", id="list"),
        pytest.param([obj("Namespace", "x", namespace="y")], "cluster-scoped", id="cluster-scoped-with-ns"),
    ],
)
def test_invalid_manifests_fail_before_anything_is_applied(manifests: list[Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        build_plan(manifests, namespaced=namespaced, default_namespace="default", source="in.yaml")
    assert any(fragment in str(p) for p in info.value.problems), info.value.problems
    assert "nothing was applied" in info.value.message


def test_object_ref_strings_and_json() -> None:
    ref = ObjectRef.of(obj("StatefulSet", "postgres", "apps/v1", namespace="default"))
    assert str(ref) == "StatefulSet default/postgres"
    assert ref.to_json() == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "namespace": "default",
        "name": "postgres",
    }
    assert str(ObjectRef.of(obj("StorageClass", "fast", "storage.k8s.io/v1"))) == "StorageClass fast"
