from __future__ import annotations

from typing import Any

import pytest

from gitops.core.rollback import StuckPod, deployment_rollback, statefulset_rollback, stuck_pods
from tests.support import manifests as m

LABELS = {"app.kubernetes.io/name": "postgres"}


def sts(image: str, uid: str = "sts-uid") -> dict[str, Any]:
    return m.with_meta(m.statefulset("postgres", image=image, storage=None), uid=uid)


def revision(
    n: int, image: str, owner: str | None = "sts-uid", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    made = m.controller_revision(f"postgres-{n}", n, sts(image)["spec"]["template"])
    m.with_meta(made, labels=dict(LABELS if labels is None else labels))
    return m.owned_by(made, owner)


def test_statefulset_rolls_back_to_the_second_highest_revision() -> None:
    revisions = [revision(1, "pg:16"), revision(3, "pg:18-broken"), revision(2, "pg:17")]
    plan = statefulset_rollback(sts("pg:18-broken"), revisions)
    assert (plan.from_revision, plan.to_revision) == (3, 2)
    assert plan.patch == revisions[2]["data"]
    assert plan.patch is not revisions[2]["data"]
    assert plan.patch["spec"]["template"]["$patch"] == "replace"


@pytest.mark.parametrize(
    ("revisions", "fragment"),
    [
        pytest.param([revision(1, "pg:18")], "one revision", id="only-one"),
        pytest.param(
            [revision(1, "pg:17", owner="someone-else"), revision(2, "pg:18")],
            "one revision",
            id="foreign-owner",
        ),
        pytest.param([revision(1, "pg:17", owner=None), revision(2, "pg:18")], "one revision", id="orphan"),
        pytest.param(
            [revision(1, "pg:17", labels={"app.kubernetes.io/name": "redis"}), revision(2, "pg:18")],
            "one revision",
            id="selector-mismatch",
        ),
        pytest.param([revision(1, "pg:18"), revision(2, "pg:18")], "skipped", id="equal-template-skipped"),
    ],
)
def test_statefulset_nothing_to_do(revisions: list[dict[str, Any]], fragment: str) -> None:
    plan = statefulset_rollback(sts("pg:18"), revisions)
    assert plan.patch is None
    assert fragment in plan.reason


def replicaset(n: int, image: str, owner: str = "d-uid") -> dict[str, Any]:
    made = m.replicaset(f"web-h{n}", image=image, labels={**LABELS, "pod-template-hash": f"h{n}"}, revision=n)
    return m.owned_by(made, owner, kind="Deployment", name="web")


def deployment(image: str, revision_annotation: str | None = "3") -> dict[str, Any]:
    annotations = {"deployment.kubernetes.io/revision": revision_annotation} if revision_annotation else {}
    return m.with_meta(m.deployment("web", image=image, labels=LABELS), uid="d-uid", annotations=annotations)


def test_deployment_rolls_back_to_the_previous_replicaset_template() -> None:
    rss = [replicaset(1, "web:1"), replicaset(2, "web:2"), replicaset(3, "web:3-broken")]
    plan = deployment_rollback(deployment("web:3-broken"), rss)
    assert (plan.from_revision, plan.to_revision) == (3, 2)
    assert plan.patch is not None
    tpl = plan.patch["spec"]["template"]
    assert tpl["spec"]["containers"][0]["image"] == "web:2"
    assert "pod-template-hash" not in tpl["metadata"]["labels"]
    assert tpl["$patch"] == "replace"
    assert rss[1]["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == "h2"  # input untouched


def test_deployment_without_history() -> None:
    assert deployment_rollback(deployment("web:1", "1"), [replicaset(1, "web:1")]).patch is None
    foreign = [replicaset(1, "web:1", owner="x"), replicaset(2, "web:2")]
    assert deployment_rollback(deployment("web:2", "2"), foreign).patch is None


def test_deployment_revision_falls_back_to_the_newest_replicaset() -> None:
    plan = deployment_rollback(deployment("web:2", None), [replicaset(1, "web:1"), replicaset(2, "web:2")])
    assert plan.to_revision == 1 and plan.patch is not None


def crashing(
    name: str, revision: str, owner: str | None = "sts-uid", reason: str = "CrashLoopBackOff"
) -> dict[str, Any]:
    made = m.with_meta(
        m.pod(name, labels={**LABELS, "controller-revision-hash": revision}), uid=f"{name}-uid"
    )
    state = {"waiting": {"reason": reason}}
    return m.owned_by(m.with_status(made, containerStatuses=[{"name": "postgres", "state": state}]), owner)


def test_only_stuck_pods_of_the_failed_revision_are_deleted_after_a_statefulset_rollback() -> None:
    """The forced rollback of
    https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#forced-rollback: after
    reverting the template, delete the pods the StatefulSet tried to run with the bad one."""
    failed = m.with_status(
        sts("pg:18-broken"), updateRevision="postgres-bad", currentRevision="postgres-good"
    )
    pods = [
        crashing("postgres-0", "postgres-bad"),
        crashing("postgres-1", "postgres-good"),  # the previous revision: not ours to touch
        crashing("postgres-2", "postgres-bad", owner="another-uid"),  # controlled by someone else
        crashing("postgres-3", "postgres-bad", reason="ContainerCreating"),  # still starting, not stuck
    ]
    assert stuck_pods(failed, pods) == [
        StuckPod("postgres-0", "postgres-0-uid", "pod postgres-0: container postgres: CrashLoopBackOff")
    ]
    assert stuck_pods(sts("pg:18"), pods) == []  # no updateRevision reported: nothing is known to be bad
