"""The client-side comparison on the fields our field manager owns (gitops.core.managed_fields).

Expectations come from the Server-Side Apply documentation
(https://kubernetes.io/docs/reference/using-api/server-side-apply/, "Field management"):

* [SSA-own]  "Whenever a field's value does change, ownership moves from its current manager to
  the manager making the change": a field another tool changed with an Update is theirs now,
  and our next apply (with force) sets it back.
* [SSA-drop] "If you remove a field from a manifest and apply that manifest, Server-Side Apply
  checks for any other field managers that also own the field. If the field is not owned by any
  other field managers, it is either deleted from the live object or reset to its default value
  ... The same rule applies to associative list or map items."
* [SSA-merge] fields the manifest does not mention are left alone (defaults, other managers').
* [fieldsV1] the managedFields example of that page: ``f:<name>`` for a field, ``k:{...}`` for
  an associative list item, ``v:`` for a set item, ``.`` for the item itself, ``{}`` a leaf.
* [quantity] a quantity is stored in canonical form (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/):
  ``1024Mi`` and ``1Gi`` are the same amount.

The integration test tests/integration/operations/test_diff.py checks the same predictions
against the fake API server's own server-side apply (tests/fakekube/ssa.py, after
structured-merge-diff) side by side.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitops.core import managed_fields as mf


def entry(manager: str, fields: dict[str, Any], operation: str = "Apply", **extra: Any) -> dict[str, Any]:
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        **extra,
    }


def configmap(
    data: dict[str, str], labels: dict[str, str] | None = None, managed: list[Any] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "test-cm", "namespace": "default"}
    if labels is not None:
        meta["labels"] = labels
    if managed is not None:
        meta["managedFields"] = managed
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


# The docs' example, as the API server stores it after `kubectl apply --server-side` as "gitops".
DOCS_LIVE = configmap(
    {"key": "some value"},
    {"test-label": "test"},
    [entry("gitops", {"f:metadata": {"f:labels": {"f:test-label": {}}}, "f:data": {"f:key": {}}})],
)


def container_sts(containers: list[dict[str, Any]], managed: list[Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "namespace": "default"}
    if managed is not None:
        meta["managedFields"] = managed
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta,
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": containers}},
        },
    }


CONTAINERS_OWNED = {
    "f:spec": {
        "f:selector": {},
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"app"}': {".": {}, "f:name": {}, "f:image": {}},
                    'k:{"name":"sidecar"}': {".": {}, "f:name": {}, "f:image": {}},
                }
            }
        },
    }
}


def live_sts(**changes: Any) -> dict[str, Any]:
    app = {
        "name": "app",
        "image": "app:1",
        "terminationMessagePath": "/dev/termination-log",
    }  # a server default
    side = {"name": "sidecar", "image": "side:1", "imagePullPolicy": "IfNotPresent"}
    sts = container_sts([app, side], [entry("gitops", CONTAINERS_OWNED)])
    sts["spec"]["template"]["spec"]["containers"][0].update(changes)
    return sts


def desired_sts(*containers: dict[str, Any]) -> dict[str, Any]:
    return container_sts(
        list(containers) or [{"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "side:1"}]
    )


CASES = [
    pytest.param(
        DOCS_LIVE, configmap({"key": "some value"}, {"test-label": "test"}), [], id="docs-example-unchanged"
    ),
    pytest.param(
        DOCS_LIVE,
        configmap({"key": "new value"}, {"test-label": "test"}),
        ["data.key"],
        id="docs-value-changes",
    ),
    pytest.param(
        DOCS_LIVE, configmap({"key": "some value"}), ["metadata.labels"], id="ssa-drop-a-field-we-owned"
    ),
    pytest.param(
        configmap(
            {"key": "some value"},
            {"test-label": "test"},
            [
                entry("gitops", {"f:metadata": {"f:labels": {"f:test-label": {}}}, "f:data": {"f:key": {}}}),
                entry("kubectl", {"f:metadata": {"f:labels": {"f:test-label": {}}}}, operation="Update"),
            ],
        ),
        configmap({"key": "some value"}),
        [],
        id="ssa-drop-keeps-what-another-manager-owns",
    ),
    pytest.param(
        configmap(
            {"key": "edited by hand"},
            None,
            [
                entry("gitops", {"f:data": {}}),
                entry("kubectl-edit", {"f:data": {"f:key": {}}}, operation="Update"),
            ],
        ),
        configmap({"key": "some value"}),
        ["data.key"],
        id="ssa-own-drift-is-set-back",
    ),
    pytest.param(
        configmap(
            {"key": "some value", "extra": "set by a controller"},
            None,
            [entry("gitops", {"f:data": {"f:key": {}}})],
        ),
        configmap({"key": "some value"}),
        [],
        id="ssa-merge-a-field-nobody-applied-is-left-alone",
    ),
    pytest.param(live_sts(), desired_sts(), [], id="fieldsV1-defaults-inside-keyed-items-are-not-ours"),
    pytest.param(
        live_sts(),
        desired_sts({"name": "sidecar", "image": "side:1"}, {"name": "app", "image": "app:1"}),
        [],
        id="fieldsV1-keyed-items-match-by-key-not-position",
    ),
    pytest.param(
        live_sts(),
        desired_sts({"name": "app", "image": "app:2"}, {"name": "sidecar", "image": "side:1"}),
        ["spec.template.spec.containers[name=app].image"],
        id="fieldsV1-one-keyed-item-changes",
    ),
    pytest.param(
        live_sts(),
        desired_sts({"name": "app", "image": "app:1"}),
        ["spec.template.spec.containers[name=sidecar]"],
        id="ssa-drop-an-associative-list-item",
    ),
    pytest.param(
        live_sts(),
        desired_sts(
            {"name": "app", "image": "app:1", "args": ["--fast"]}, {"name": "sidecar", "image": "side:1"}
        ),
        ["spec.template.spec.containers[name=app].args"],
        id="a-new-field-in-an-item",
    ),
]


@pytest.mark.parametrize(("live", "desired", "fields"), CASES)
def test_the_fields_a_forced_apply_changes(
    live: dict[str, Any], desired: dict[str, Any], fields: list[str]
) -> None:
    assert mf.compare(live, desired, "gitops").fields == fields


def test_an_atomic_map_is_compared_whole() -> None:
    """``spec.selector`` is ``x-kubernetes-map-type: atomic`` (fieldsV1 ``f:selector: {}``): one field."""
    live = live_sts()
    desired = desired_sts()
    desired["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "front"}}
    assert mf.compare(live, desired, "gitops").fields == ["spec.selector"]


@pytest.mark.parametrize(
    ("have", "want", "same"),
    [
        pytest.param("1Gi", "1024Mi", True, id="binary-suffixes"),
        pytest.param("0.5", "500m", True, id="decimal-millis"),
        pytest.param("1G", "1Gi", False, id="decimal-vs-binary-giga"),
        pytest.param("10Gi", "20Gi", False, id="growth"),
    ],
)
def test_quantities_compare_by_amount(have: str, want: str, same: bool) -> None:
    managed = [entry("gitops", {"f:spec": {"f:resources": {"f:requests": {"f:storage": {}}}}})]
    live = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "d", "managedFields": managed},
    }
    live["spec"] = {"resources": {"requests": {"storage": have}}}
    desired = copy.deepcopy(live)
    del desired["metadata"]["managedFields"]
    desired["spec"]["resources"]["requests"]["storage"] = want
    assert (mf.compare(live, desired, "gitops").fields == []) is same


def test_a_set_list_is_matched_by_value() -> None:
    """[fieldsV1] ``v:`` items: a set (finalizers) compares by member, not position."""
    managed = [entry("gitops", {"f:metadata": {"f:finalizers": {'v:"a"': {}, 'v:"b"': {}}}})]
    live = configmap({}, None, managed)
    live["metadata"]["finalizers"] = ["a", "b"]
    desired = configmap({})
    desired["metadata"]["finalizers"] = ["b", "a"]
    assert mf.compare(live, desired, "gitops").fields == []
    desired["metadata"]["finalizers"] = ["a", "c"]
    assert mf.compare(live, desired, "gitops").fields == ["metadata.finalizers[b]", "metadata.finalizers[c]"]


def test_the_projection_shows_only_what_we_manage() -> None:
    live = live_sts()
    compared = mf.compare(
        live, desired_sts({"name": "app", "image": "app:2"}, {"name": "sidecar", "image": "side:1"}), "gitops"
    )
    containers = compared.before["spec"]["template"]["spec"]["containers"]
    assert containers[0] == {"name": "app", "image": "app:1"}  # no terminationMessagePath: a default
    assert compared.after["spec"]["template"]["spec"]["containers"][0]["image"] == "app:2"


def test_an_object_to_create_is_all_new() -> None:
    compared = mf.compare(None, configmap({"key": "v"}), "gitops")
    assert compared.before == {}
    assert {c.what for c in compared.changes} == {"added"}


def test_field_set_reads_the_docs_example() -> None:
    """[fieldsV1] leaves and ``.`` members become paths."""
    paths = mf.field_set(
        {"f:data": {"f:key": {}}, "f:spec": {"f:c": {'k:{"name":"a"}': {".": {}, "f:image": {}}}}}
    )
    assert paths == {
        ("f:data", "f:key"),
        ("f:spec", "f:c", 'k:{"name":"a"}'),
        ("f:spec", "f:c", 'k:{"name":"a"}', "f:image"),
    }
    assert mf.readable(("f:spec", "f:c", 'k:{"name":"a"}', "f:image")) == "spec.c[name=a].image"
    assert (
        mf.readable(("f:spec", "f:ports", 'k:{"containerPort":80,"protocol":"TCP"}'))
        == "spec.ports[containerPort=80,protocol=TCP]"
    )


def test_only_apply_entries_of_our_manager_are_ours() -> None:
    obj = configmap(
        {},
        None,
        [
            entry("gitops", {"f:data": {"f:a": {}}}),
            entry("gitops", {"f:data": {"f:b": {}}}, operation="Update"),  # a patch we sent (PVC growth)
            entry("gitops", {"f:status": {"f:x": {}}}, subresource="status"),
            entry("other", {"f:data": {"f:c": {}}}),
        ],
    )
    assert mf.owned_by(obj, "gitops") == {("f:data", "f:a")}
    assert mf.applied_by(obj, "gitops") and not mf.applied_by(obj, "nobody")
