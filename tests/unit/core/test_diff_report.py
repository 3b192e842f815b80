"""gitops diff's report (gitops.core.diff_report): actions, Secret keys without values, the unified diff.

The JSON shape is the contract of DESIGN.md and issue 17:
``{environment, mode, objects: [{kind, namespace, name, action, fields, diff}], counts}``;
``--exit-code`` exits 2 "when anything would change" (issue 17), as ``git diff --exit-code``
signals differences by its exit status. Secret keys are "changed" or "unchanged", nothing more.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from gitops.core.apply_plan import ObjectRef
from gitops.core.diff_report import (
    DiffAction,
    DiffReport,
    Mode,
    ObjectDiff,
    Recreate,
    common_labels,
    secret_key_states,
    secret_view,
    unified,
)
from gitops.core.drift import Change
from gitops.core.volumes import GrowthPlan, Resize

SECRET_VALUE = "s3cr3t-Zq9-value"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(**fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
        **fields,
    }


@pytest.mark.parametrize(
    ("live", "result", "unknown", "states"),
    [
        pytest.param(
            {"data": {"a": b64("x")}},
            {"stringData": {"a": "x"}},
            (),
            {"a": "unchanged"},
            id="stringData-equals-data",
        ),
        pytest.param(
            {"data": {"a": b64("x")}}, {"data": {"a": b64("y")}}, (), {"a": "changed"}, id="value-changes"
        ),
        pytest.param({"data": {}}, {"stringData": {"new": "v"}}, (), {"new": "changed"}, id="key-added"),
        pytest.param({"data": {"old": b64("v")}}, {"data": {}}, (), {"old": "changed"}, id="key-removed"),
        pytest.param(
            {"data": {"a": b64("x")}},
            {"stringData": {"a": "Placeholder"}},
            ("a",),
            {"a": "unknown"},
            id="value-not-here",
        ),
        pytest.param(
            {"data": {"a": b64("x")}},
            {"data": {"a": b64("y")}, "stringData": {"a": "x"}},
            (),
            {"a": "unchanged"},
            id="stringData-wins-over-data",  # https://kubernetes.io/docs/concepts/configuration/secret/
        ),
    ],
)
def test_secret_keys_are_changed_unchanged_or_unknown(
    live: dict[str, Any], result: dict[str, Any], unknown: tuple[str, ...], states: dict[str, str]
) -> None:
    assert secret_key_states(secret(**live), secret(**result), frozenset(unknown)) == states


def test_a_prediction_drops_only_the_keys_it_is_told() -> None:
    live = secret(data={"kept": b64("a"), "ours": b64("b")})
    assert secret_key_states(live, secret(data={}), dropped=frozenset({"ours"})) == {"ours": "changed"}


def test_the_secret_views_hold_no_value_and_no_hash() -> None:
    live = secret(
        data={"password": b64(SECRET_VALUE)},
        metadata={
            "name": "db",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                    {"stringData": {"password": SECRET_VALUE}}
                )
            },
        },
    )
    desired = secret(stringData={"password": SECRET_VALUE + "-new"})
    states = secret_key_states(live, desired)
    shown = json.dumps([secret_view(live), secret_view(desired, states)])
    assert SECRET_VALUE not in shown and b64(SECRET_VALUE) not in shown
    assert secret_view(desired, states)["data"] == {"password": "(changed)"}
    assert secret_view(live)["data"] == {"password": "(hidden)"}
    text = unified(secret_view(live), secret_view(desired, states), "Secret/default/db")
    assert "-  password: (hidden)" in text and "+  password: (changed)" in text
    assert SECRET_VALUE not in text


def test_unified_diff_of_a_new_object_and_its_limit() -> None:
    text = unified(None, {"kind": "ConfigMap", "data": {"k": "v"}}, "ConfigMap/default/c")
    assert text.splitlines()[:2] == ["--- /dev/null", "+++ git/ConfigMap/default/c"]
    assert unified({"a": 1}, {"a": 1}, "x") == ""
    long = unified({}, {"data": {f"k{i}": i for i in range(50)}}, "x", limit=10)
    # 54 lines: ---, +++, the @@ hunk header, "data:", 50 keys; 10 shown
    assert long.splitlines()[-1] == "... 44 more line(s)"


def test_actions_map_what_apply_does_and_count_for_exit_code() -> None:
    assert [DiffAction.of(c) for c in Change] == [
        DiffAction.CREATE,
        DiffAction.UPDATE,
        DiffAction.UNCHANGED,
        DiffAction.RECREATE,
        DiffAction.REFUSE,
    ]
    changing = {a for a in DiffAction if a.changes}
    assert changing == {DiffAction.CREATE, DiffAction.UPDATE, DiffAction.RECREATE, DiffAction.REFUSE}


def ref(kind: str = "ConfigMap", name: str = "c") -> ObjectRef:
    return ObjectRef("", "v1", kind, "default", name)


def report(*objects: ObjectDiff) -> DiffReport:
    return DiffReport(
        "prod", "infra/k8s/hetzner/prod", {"host": "h", "context": "c"}, "gitops", list(objects)
    )


def test_the_json_contract_and_exit_codes() -> None:
    same = report(ObjectDiff(ref(), DiffAction.UNCHANGED, Mode.SERVER))
    assert same.exit_code(exit_code=True) == 0
    left = report(
        ObjectDiff(ref(), DiffAction.LEFT_BEHIND), ObjectDiff(ref("Secret", "s"), DiffAction.UNKNOWN)
    )
    assert left.exit_code(exit_code=True) == 0, "left-behind and unknown are said, not counted as changes"
    changed = report(ObjectDiff(ref(), DiffAction.UPDATE, Mode.CLIENT, ["data.k"], "--- a\n+++ b"))
    assert changed.exit_code(exit_code=False) == 0 and changed.exit_code(exit_code=True) == 2
    data = changed.to_json()
    assert {"environment", "mode", "objects", "counts"} <= set(data)
    assert data["mode"] == "client"
    assert {"kind", "namespace", "name", "action", "fields", "diff"} <= set(data["objects"][0])
    assert data["counts"] == {
        "create": 0,
        "update": 1,
        "unchanged": 0,
        "recreate": 0,
        "refuse": 0,
        "left-behind": 0,
        "unknown": 0,
        "skipped": 0,
    }
    assert data["gate"] == {"evaluated": False}


def test_what_the_deploy_gate_skips_is_said_and_never_a_change() -> None:
    """Issue 17's follow-up: objects of blocked services are not counted for --exit-code."""
    skipped = report(
        ObjectDiff(ref(), DiffAction.SKIPPED, message="service jaeger is blocked", service="jaeger"),
        ObjectDiff(ref(name="d"), DiffAction.UNCHANGED, Mode.SERVER, service="postgres"),
    )
    assert not DiffAction.SKIPPED.changes
    assert skipped.exit_code(exit_code=True) == 0 and skipped.changes == []
    data = skipped.to_json()
    assert data["counts"]["skipped"] == 1 and data["changed"] == 0
    assert data["objects"][0]["action"] == "skipped" and data["objects"][0]["service"] == "jaeger"


def test_the_mode_is_client_when_any_object_was_compared_client_side() -> None:
    assert report(ObjectDiff(ref(), DiffAction.UNCHANGED, Mode.SERVER)).mode is Mode.SERVER
    mixed = report(
        ObjectDiff(ref(), DiffAction.UNCHANGED, Mode.SERVER),
        ObjectDiff(ref(name="d"), DiffAction.UPDATE, Mode.CLIENT),
    )
    assert mixed.mode is Mode.CLIENT


def test_a_recreate_says_what_happens_to_pods_and_volumes() -> None:
    growth = GrowthPlan((Resize("data-postgres-0", "10Gi", "20Gi"),))
    sts = ObjectRef("apps", "v1", "StatefulSet", "default", "postgres")
    plan = Recreate(("spec.volumeClaimTemplates",), "Orphan", "Pod", ("postgres-0",), growth)
    assert plan.headline(sts) == (
        "recreate StatefulSet default/postgres with orphan cascade, grow its PVCs "
        "(data-postgres-0: 10Gi -> 20Gi), keep its pods (postgres-0); immutable: spec.volumeClaimTemplates"
    )
    assert plan.to_json()["dependents"] == {"kind": "Pod", "names": ["postgres-0"], "fate": "kept"}
    assert plan.to_json()["volumes"]["grow"] == ["data-postgres-0: 10Gi -> 20Gi"]
    job = Recreate(("spec.template",), "Background", "Pod", ("migrate-x",))
    assert "delete its pods (migrate-x) (it runs again)" in job.headline(
        ObjectRef("batch", "v1", "Job", "default", "migrate")
    )


def test_common_labels_are_the_overlays_own() -> None:
    objects = [
        {"metadata": {"labels": {"environment": "prod", "app.kubernetes.io/name": "postgres"}}},
        {"metadata": {"labels": {"environment": "prod", "app.kubernetes.io/name": "redis"}}},
    ]
    assert common_labels(objects) == {"environment": "prod"}
    assert common_labels([]) == {}
