from __future__ import annotations

from typing import Any

import pytest

from gitops.core.apply_plan import ObjectRef
from gitops.core.drift import Change
from gitops.core.immutable import Remedy, classify
from gitops.core.invalid_status import Cause, causes_of
from tests.support import manifests as m

STS = ObjectRef("apps", "v1", "StatefulSet", "default", "postgres")
DEPLOY = ObjectRef("apps", "v1", "Deployment", "default", "web")
DS = ObjectRef("apps", "v1", "DaemonSet", "default", "agent")
JOB = ObjectRef("batch", "v1", "Job", "default", "migrate")
SVC = ObjectRef("", "v1", "Service", "default", "postgres")
PVC = ObjectRef("", "v1", "PersistentVolumeClaim", "default", "data-postgres-0")
NS = ObjectRef("", "v1", "Namespace", None, "apps")
CM = ObjectRef("", "v1", "ConfigMap", "default", "settings")

STS_MESSAGE = (
    'StatefulSet.apps "postgres" is invalid: spec: Forbidden: updates to statefulset spec for fields other '
    "than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)


def status(
    ref: ObjectRef, causes: list[dict[str, str]] | None, message: str = "", *, details: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": "Invalid",
        "code": 422,
    }
    if details:
        body["details"] = {"name": ref.name, "group": ref.group, "kind": ref.kind, "causes": causes}
    return body


def live(ref: ObjectRef, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """The object ``ref`` names, as stored (uid "old"), with just the ``spec`` a case is about."""
    return m.with_meta(m.obj(ref.api_version, ref.kind, ref.name, ref.namespace, spec=spec or {}), uid="old")


FORBIDDEN_SPEC = [{"reason": "FieldValueForbidden", "field": "spec", "message": "Forbidden: updates to ..."}]
SELECTOR = [
    {
        "reason": "FieldValueInvalid",
        "field": "spec.selector",
        "message": "Invalid value: ...: field is immutable",
    }
]


@pytest.mark.parametrize(
    ("ref", "body", "remedy", "propagation"),
    [
        pytest.param(
            STS, status(STS, FORBIDDEN_SPEC, STS_MESSAGE), Remedy.RECREATE_ORPHAN, "Orphan", id="sts-spec"
        ),
        pytest.param(
            DEPLOY, status(DEPLOY, SELECTOR), Remedy.RECREATE_ORPHAN, "Orphan", id="deployment-selector"
        ),
        pytest.param(DS, status(DS, SELECTOR), Remedy.RECREATE_ORPHAN, "Orphan", id="daemonset-selector"),
        pytest.param(JOB, status(JOB, SELECTOR), Remedy.RECREATE_BACKGROUND, "Background", id="job-selector"),
        pytest.param(
            JOB,
            status(
                JOB,
                [{"reason": "FieldValueInvalid", "field": "spec.template", "message": "field is immutable"}],
            ),
            Remedy.RECREATE_BACKGROUND,
            "Background",
            id="job-template",
        ),
        pytest.param(
            SVC,
            status(
                SVC,
                # validateUpgradeDowngradeClusterIPs (pkg/apis/core/validation/validation.go)
                [
                    {
                        "reason": "FieldValueInvalid",
                        "field": "spec.clusterIPs[0]",
                        "message": 'Invalid value: ["None"]: may not change once set',
                    }
                ],
            ),
            Remedy.RECREATE_SERVICE,
            "Background",
            id="service-clusterips",
        ),
        pytest.param(
            PVC,
            status(PVC, [{"reason": "FieldValueForbidden", "field": "spec", "message": "spec is immutable"}]),
            Remedy.FATAL_PVC,
            None,
            id="pvc-is-fatal",
        ),
        pytest.param(
            CM,
            status(
                CM, [{"reason": "FieldValueForbidden", "field": "data", "message": "field is immutable when"}]
            ),
            Remedy.REFUSE,
            None,
            id="immutable-configmap-refused",
        ),
    ],
)
def test_structured_causes_decide(
    ref: ObjectRef, body: dict[str, Any], remedy: Remedy, propagation: str | None
) -> None:
    verdict = classify(body, ref=ref, live=live(ref, {"clusterIP": "10.0.0.7"}), desired=live(ref))
    assert verdict.remedy is remedy, verdict.summary
    assert verdict.propagation == propagation
    assert verdict.recreate == (propagation is not None)
    assert verdict.change is (Change.RECREATE if verdict.recreate else Change.REFUSE)


def test_service_recreate_warns_that_the_cluster_ip_changes() -> None:
    body = status(
        SVC,
        [{"reason": "FieldValueInvalid", "field": "spec.clusterIP", "message": "may not change once set"}],
    )
    verdict = classify(body, ref=SVC, live=live(SVC, {"clusterIP": "10.43.0.12"}), desired=live(SVC))
    assert any("ClusterIP 10.43.0.12 changes" in w for w in verdict.warnings)


def test_pvc_verdict_carries_the_diff() -> None:
    body = status(PVC, [{"reason": "FieldValueForbidden", "field": "spec", "message": "spec is immutable"}])
    old = live(PVC, {"storageClassName": "hcloud-volumes", "resources": {"requests": {"storage": "10Gi"}}})
    new = live(PVC, {"storageClassName": "fast", "resources": {"requests": {"storage": "10Gi"}}})
    verdict = classify(body, ref=PVC, live=old, desired=new)
    assert verdict.diff == ("spec.storageClassName: 'hcloud-volumes' -> 'fast'",)
    assert "never deleted" in verdict.summary


def test_a_namespace_is_never_recreated() -> None:
    body = status(
        NS, [{"reason": "FieldValueInvalid", "field": "metadata.name", "message": "field is immutable"}]
    )
    verdict = classify(body, ref=NS, live=live(NS), desired=live(NS))
    assert verdict.remedy is Remedy.REFUSE
    assert "never deleted" in verdict.summary


def test_statefulset_with_delete_retention_is_refused_with_the_fix() -> None:
    old = live(
        STS, {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"}}
    )
    verdict = classify(status(STS, FORBIDDEN_SPEC), ref=STS, live=old, desired=live(STS))
    assert verdict.remedy is Remedy.REFUSE
    assert "whenDeleted: Delete" in verdict.summary
    assert verdict.hint and "kubectl patch statefulset postgres -n default" in verdict.hint


def test_retain_retention_is_fine() -> None:
    old = live(STS, {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain"}})
    assert classify(status(STS, FORBIDDEN_SPEC), ref=STS, live=old, desired=live(STS)).recreate


@pytest.mark.parametrize(
    ("body", "why"),
    [
        pytest.param(
            status(
                DEPLOY,
                [
                    *SELECTOR,
                    {
                        "reason": "FieldValueInvalid",
                        "field": "spec.template.metadata.labels",
                        "message": "selector does not match template labels",
                    },
                ],
            ),
            "also invalid",
            id="immutable-plus-other-error",
        ),
        pytest.param(
            status(
                DEPLOY,
                [{"reason": "FieldValueRequired", "field": "spec.template.spec.containers", "message": "x"}],
            ),
            "",
            id="ordinary-validation-error",
        ),
        pytest.param(
            {**status(DEPLOY, SELECTOR), "code": 409, "reason": "Conflict"},
            "",
            id="not-a-422",
        ),
        pytest.param(
            status(
                DEPLOY,
                [
                    {
                        "reason": "FieldValueInvalid",
                        "field": "spec.selector.matchLabels",
                        "message": "invalid label",
                    }
                ],
            ),
            "",
            id="selector-syntax-is-not-immutability",
        ),
    ],
)
def test_not_immutable(body: dict[str, Any], why: str) -> None:
    verdict = classify(body, ref=DEPLOY, live=live(DEPLOY), desired=live(DEPLOY))
    assert verdict.remedy is Remedy.NOT_IMMUTABLE
    assert not verdict.recreate and verdict.propagation is None
    assert why in verdict.summary


def test_an_error_naming_another_object_never_deletes() -> None:
    body = status(STS, FORBIDDEN_SPEC)
    body["details"]["name"] = "redis"
    verdict = classify(body, ref=STS, live=live(STS), desired=live(STS))
    assert verdict.remedy is Remedy.REFUSE
    assert "'redis'" in verdict.summary and "refusing" in verdict.summary


def test_missing_live_object_means_nothing_to_recreate() -> None:
    assert (
        classify(status(STS, FORBIDDEN_SPEC), ref=STS, live=None, desired=live(STS)).remedy
        is Remedy.NOT_IMMUTABLE
    )


@pytest.mark.parametrize(
    ("ref", "message", "expected"),
    [
        pytest.param(STS, STS_MESSAGE, [Cause("FieldValueForbidden", "spec")], id="statefulset"),
        pytest.param(
            DEPLOY,
            'Deployment.apps "web" is invalid: spec.selector: Invalid value: '
            'v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}}: field is immutable',
            [Cause("FieldValueInvalid", "spec.selector")],
            id="deployment",
        ),
        pytest.param(
            SVC,
            'Service "postgres" is invalid: spec.clusterIPs[0]: Invalid value: []string{"None"}: '
            "may not change once set",
            [Cause("FieldValueInvalid", "spec.clusterIPs[0]")],
            id="service",
        ),
        pytest.param(
            DEPLOY,
            'Deployment.apps "web" is invalid: [spec.selector: Invalid value: "x": field is immutable, '
            "spec.template.metadata.labels: Invalid value: map[]: "
            "`selector` does not match template `labels`]",
            [
                Cause("FieldValueInvalid", "spec.selector"),
                Cause("FieldValueInvalid", "spec.template.metadata.labels"),
            ],
            id="aggregate",
        ),
    ],
)
def test_messages_are_parsed_only_as_a_fallback(ref: ObjectRef, message: str, expected: list[Cause]) -> None:
    causes = causes_of(status(ref, None, message, details=False))
    assert [(c.reason, c.field) for c in causes] == [(c.reason, c.field) for c in expected]


def test_classify_from_message_alone() -> None:
    body = status(STS, None, STS_MESSAGE, details=False)
    verdict = classify(body, ref=STS, live=live(STS), desired=live(STS))
    assert verdict.remedy is Remedy.RECREATE_ORPHAN


def test_structured_causes_win_over_the_message() -> None:
    # The message says "immutable", the structured cause says otherwise: trust the structure.
    body = status(
        DEPLOY,
        [
            {
                "reason": "FieldValueRequired",
                "field": "spec.template.spec.containers",
                "message": "Required value",
            }
        ],
        'Deployment.apps "web" is invalid: spec.selector: Invalid value: x: field is immutable',
    )
    assert classify(body, ref=DEPLOY, live=live(DEPLOY), desired=live(DEPLOY)).remedy is Remedy.NOT_IMMUTABLE


def test_selector_change_warns_about_orphaned_pods() -> None:
    old = live(DEPLOY, {"selector": {"matchLabels": {"app": "a"}}})
    new = live(DEPLOY, {"selector": {"matchLabels": {"app": "b"}}})
    verdict = classify(status(DEPLOY, SELECTOR), ref=DEPLOY, live=old, desired=new)
    assert any("NOT adopt" in w for w in verdict.warnings)


# -- StatefulSets: what the re-create would do to its pods and volumes ---------------------------
# The StatefulSet controller names pods <name>-<ordinal> and claims <template>-<name>-<ordinal>
# (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#stable-network-id and
# #stable-storage), and adopts only pods its selector matches.

DB = ObjectRef("apps", "v1", "StatefulSet", "default", "db")


def db(**changes: Any) -> dict[str, Any]:
    return m.with_meta(m.statefulset("db", replicas=2, **changes), uid="old")


def claims(template: str = "data") -> list[dict[str, Any]]:
    return [m.pvc(f"{template}-db-{i}") for i in (0, 1)]


def test_a_statefulset_whose_volumes_grow_is_recreated() -> None:
    verdict = classify(
        status(DB, FORBIDDEN_SPEC), ref=DB, live=db(), desired=db(storage="20Gi"), claims=claims()
    )
    assert verdict.remedy is Remedy.RECREATE_ORPHAN and verdict.propagation == "Orphan"


def test_a_statefulset_selector_change_is_refused_and_nothing_is_deleted() -> None:
    desired = db(labels={"app.kubernetes.io/name": "db", "tier": "primary"})
    body = status(DB, [*FORBIDDEN_SPEC, *SELECTOR])
    verdict = classify(body, ref=DB, live=db(), desired=desired, claims=claims())
    assert verdict.remedy is Remedy.REFUSE and verdict.change is Change.REFUSE
    assert "selector changes" in verdict.summary and "Nothing was deleted" in verdict.summary
    assert verdict.hint and "kubectl delete statefulset db -n default --cascade=orphan" in verdict.hint


def test_a_renamed_claim_template_is_refused_naming_the_claims_left_behind() -> None:
    verdict = classify(
        status(DB, FORBIDDEN_SPEC), ref=DB, live=db(), desired=db(claim="pgdata"), claims=claims()
    )
    assert verdict.remedy is Remedy.REFUSE
    assert "data-db-0, data-db-1" in verdict.summary and "NEW EMPTY volumes" in verdict.summary


def test_a_renamed_template_without_claims_loses_nothing() -> None:
    """Claims of another StatefulSet ("db-replica") never count as this one's."""
    others = [m.pvc("data-db-replica-0")]
    verdict = classify(
        status(DB, FORBIDDEN_SPEC), ref=DB, live=db(), desired=db(claim="pgdata"), claims=others
    )
    assert verdict.remedy is Remedy.RECREATE_ORPHAN


def test_delete_retention_is_refused_before_anything_else_is_looked_at() -> None:
    verdict = classify(
        status(DB, FORBIDDEN_SPEC),
        ref=DB,
        live=db(retention="Delete"),
        desired=db(retention="Delete", claim="pgdata"),
        claims=claims(),
    )
    assert verdict.remedy is Remedy.REFUSE and "whenDeleted: Delete" in verdict.summary
