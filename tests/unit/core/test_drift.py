from __future__ import annotations

import copy
from typing import Any

import pytest

from gitops.core.drift import Change, applied_change, changed_paths, is_unchanged, strip_server_fields


def live(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "postgres",
            "namespace": "default",
            "uid": "u1",
            "resourceVersion": "10",
            "generation": 2,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [{"manager": "gitops", "time": "2026-01-01T00:00:00Z"}],
            "labels": {"app": "pg"},
        },
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "pg", "image": "pg:17"}]}}},
        "status": {"readyReplicas": 1},
    }
    for path, value in changes.items():
        target = obj
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return obj


@pytest.mark.parametrize(
    ("after", "unchanged"),
    [
        pytest.param(live(), True, id="same-resource-version"),
        pytest.param(
            live(metadata__resourceVersion="11", status={"readyReplicas": 0}), True, id="only-status-moved"
        ),
        pytest.param(
            live(
                metadata__resourceVersion="11", metadata__managedFields=[{"manager": "gitops", "time": "x"}]
            ),
            True,
            id="only-bookkeeping-moved",
        ),
        pytest.param(live(metadata__resourceVersion="11", spec={"replicas": 2}), False, id="spec-changed"),
        pytest.param(live(metadata__resourceVersion="11", metadata__labels={"app": "x"}), False, id="labels"),
    ],
)
def test_is_unchanged(after: dict[str, Any], unchanged: bool) -> None:
    assert is_unchanged(live(), after) is unchanged


def test_nothing_live_means_created() -> None:
    assert is_unchanged(None, live()) is False


def test_strip_server_fields_keeps_what_can_be_recreated() -> None:
    original = live()
    stripped = strip_server_fields(original)
    assert "status" not in stripped
    assert set(stripped["metadata"]) == {"name", "namespace", "labels"}
    assert stripped["spec"] == original["spec"]
    assert original["metadata"]["uid"] == "u1"  # the input is untouched


def test_changed_paths_names_fields_and_containers() -> None:
    after = copy.deepcopy(live())
    after["spec"]["template"]["spec"]["containers"][0]["image"] = "pg:18"
    after["spec"]["replicas"] = 3
    assert changed_paths(live(), after) == [
        "spec.replicas: 1 -> 3",
        "spec.template.spec.containers[pg].image: 'pg:17' -> 'pg:18'",
    ]


def test_changed_paths_hides_secret_values() -> None:
    old = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"A": "c2VjcmV0", "B": "eA=="}}
    new = {"kind": "Secret", "metadata": {"name": "s"}, "data": {"A": "b3RoZXI=", "C": "eQ=="}}
    lines = changed_paths(old, new, show_values=False)
    assert lines == ["data.A: changed", "data.B: removed", "data.C: added"]
    assert not any("c2VjcmV0" in line or "b3RoZXI=" in line for line in lines)


def test_changed_paths_is_bounded() -> None:
    old = {"metadata": {"name": "x"}, "data": {str(i): "a" for i in range(30)}}
    new = {"metadata": {"name": "x"}, "data": {str(i): "b" for i in range(30)}}
    lines = changed_paths(old, new, limit=5)
    assert len(lines) == 6 and lines[-1] == "... and 25 more"


@pytest.mark.parametrize(
    ("before", "answer", "dry_run", "change"),
    [
        pytest.param(None, live(), False, Change.CREATE, id="create"),
        pytest.param(None, live(), True, Change.CREATE, id="would-create"),
        pytest.param(live(), live(), False, Change.UNCHANGED, id="unchanged"),
        pytest.param(
            live(),
            live(metadata__resourceVersion="11", spec={"replicas": 2}),
            False,
            Change.CONFIGURE,
            id="configure",
        ),
        # A real apply that kept the resourceVersion made no write (the API server skips the
        # storage write of a no-op update), whatever its answer shows; a dry run writes nothing
        # either way, so only its diff can tell.
        pytest.param(live(), live(spec={"replicas": 2}), False, Change.UNCHANGED, id="same-version-no-write"),
        pytest.param(
            live(), live(spec={"replicas": 2}), True, Change.CONFIGURE, id="dry-run-judged-by-its-diff"
        ),
        pytest.param(
            live(),
            live(metadata__resourceVersion="11", status={}),
            True,
            Change.UNCHANGED,
            id="dry-run-no-diff",
        ),
    ],
)
def test_applied_change(
    before: dict[str, Any] | None, answer: dict[str, Any], dry_run: bool, change: Change
) -> None:
    assert applied_change(before, answer, dry_run=dry_run) is change
