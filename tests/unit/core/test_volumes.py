from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gitops.core.volumes import (
    ClaimState,
    abandoned_claims,
    claim_states,
    claims_of,
    kept_classes,
    parse_quantity,
    plan_growth,
    undersized_claims,
)
from tests.support import manifests as m


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("10Gi", Decimal(10 * 1024**3), id="Gi"),
        pytest.param("512Mi", Decimal(512 * 1024**2), id="Mi"),
        pytest.param("1G", Decimal(10**9), id="G"),
        pytest.param("1.5Gi", Decimal("1.5") * 1024**3, id="fraction"),
        pytest.param("100m", Decimal("0.1"), id="milli"),
        pytest.param("1e3", Decimal(1000), id="exponent"),
        pytest.param("1024", Decimal(1024), id="plain"),
    ],
)
def test_parse_quantity(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("bad", ["", "Gi", "10 GB", "ten", "10Gb"])
def test_parse_quantity_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity(bad)


def sts(storage: str, template: str = "data") -> dict[str, Any]:
    return m.statefulset("postgres", storage=storage, claim=template)


def pvc(name: str, storage: str, storage_class: str | None = "hcloud-volumes") -> dict[str, Any]:
    return m.pvc(name, storage=storage, storage_class=storage_class)


EXPANDABLE = {"hcloud-volumes": {"allowVolumeExpansion": True}, "fixed": {}}


def test_claims_of_matches_only_the_statefulset_pattern_in_ordinal_order() -> None:
    pvcs = [pvc("data-postgres-10", "1Gi"), pvc("data-postgres-2", "1Gi"), pvc("data-postgres-x", "1Gi")]
    pvcs += [pvc("data-postgres-replica-0", "1Gi"), pvc("other-postgres-0", "1Gi")]
    assert [p["metadata"]["name"] for p in claims_of("postgres", "data", pvcs)] == [
        "data-postgres-2",
        "data-postgres-10",
    ]


def test_growth_plan() -> None:
    pvcs = [
        pvc("data-postgres-0", "10Gi"),
        pvc("data-postgres-1", "20Gi"),
        pvc("data-postgres-2", "10Gi", "fixed"),
        pvc("data-postgres-3", "10Gi", None),
        pvc("data-postgres-4", "30Gi"),
        pvc("data-postgres-5", "10Gi", "missing"),
    ]
    plan = plan_growth(sts("20Gi"), pvcs, EXPANDABLE, default_class=None)
    assert [(r.pvc, r.current, r.wanted) for r in plan.resize] == [("data-postgres-0", "10Gi", "20Gi")]
    blocked = {b.pvc: b.why for b in plan.blocked}
    assert "allowVolumeExpansion" in blocked["data-postgres-2"]
    assert "no default StorageClass" in blocked["data-postgres-3"]
    assert "does not exist" in blocked["data-postgres-5"]
    assert any("data-postgres-4" in n and "cannot shrink" in n for n in plan.notes)


def test_default_storage_class_applies_to_claims_without_one() -> None:
    plan = plan_growth(sts("20Gi"), [pvc("data-postgres-0", "10Gi", None)], EXPANDABLE, "hcloud-volumes")
    assert [r.pvc for r in plan.resize] == ["data-postgres-0"]


def test_abandoned_claims_after_a_template_rename() -> None:
    pvcs = [pvc("data-postgres-0", "10Gi"), pvc("pgdata-postgres-0", "10Gi")]
    assert abandoned_claims(sts("10Gi"), sts("10Gi", template="pgdata"), pvcs) == ["data-postgres-0"]
    assert abandoned_claims(sts("10Gi"), sts("20Gi"), pvcs) == []


def test_the_precheck_and_the_plan_agree_on_which_claims_are_smaller() -> None:
    """Only claims named <template>-<statefulset>-<ordinal> belong to the StatefulSet
    (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#stable-storage):
    "data-postgres-replica-0" is another StatefulSet's ("postgres-replica"), however small."""
    pvcs = [
        pvc("data-postgres-0", "10Gi"),
        pvc("data-postgres-replica-0", "1Gi"),
        pvc("data-postgres-1", "30Gi"),
    ]
    smaller, notes = undersized_claims(sts("20Gi"), pvcs)
    assert [(p["metadata"]["name"], r.current, r.wanted) for p, r in smaller] == [
        ("data-postgres-0", "10Gi", "20Gi")
    ]
    assert [r.pvc for r in plan_growth(sts("20Gi"), pvcs, EXPANDABLE, None).resize] == ["data-postgres-0"]
    assert len(notes) == 1 and "data-postgres-1" in notes[0]
    assert undersized_claims(sts("20Gi"), [pvc("data-postgres-replica-0", "1Gi")]) == ([], [])


def bound(name: str, requested: str, capacity: str) -> dict[str, Any]:
    return m.with_status(pvc(name, requested), phase="Bound", capacity={"storage": capacity})


def test_claim_states_of_every_replica_from_the_start_ordinal() -> None:
    """spec.ordinals.start shifts the pod (and claim) ordinals
    (https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#start-ordinal)."""
    live = sts("20Gi")
    live["spec"].update(replicas=3, ordinals={"start": 5})
    pvcs = [
        bound("data-postgres-5", "20Gi", "20Gi"),
        bound("data-postgres-6", "20Gi", "10Gi"),
        m.with_status(pvc("data-postgres-7", "20Gi"), phase="Pending"),
        bound("data-postgres-0", "20Gi", "20Gi"),  # below the start ordinal: not one of its claims
    ]
    assert claim_states(live, pvcs) == [
        ClaimState("data-postgres-5", True, "Bound, requested 20Gi, capacity 20Gi"),
        ClaimState(
            "data-postgres-6", True, "Bound, requested 20Gi, capacity 10Gi (expansion to 20Gi in progress)"
        ),
        ClaimState("data-postgres-7", False, "Pending, requested 20Gi, capacity unknown"),
    ]
    assert claim_states(live, [])[0] == ClaimState(
        "data-postgres-5", False, "the PersistentVolumeClaim does not exist"
    )


def test_no_claims_without_templates_or_replicas() -> None:
    assert claim_states(m.statefulset(storage=None), []) == []
    assert claim_states(m.statefulset(replicas=0), []) == []


def test_claims_keep_their_storage_class_when_the_template_changes_it() -> None:
    # "spec is immutable after creation except resources.requests and volumeAttributesClassName for
    # bound claims" (the API server's 422 for a PVC), and the StatefulSet controller creates only the
    # claims that are missing: after a re-create, existing claims stay on their class.
    new = m.statefulset("postgres", storage="10Gi", storage_class="local-path")
    pvcs = [
        pvc("data-postgres-0", "10Gi"),
        pvc("data-postgres-1", "10Gi", "local-path"),
        pvc("data-postgres-2", "10Gi", None),
    ]
    kept = kept_classes(new, pvcs)
    assert [(k.pvc, k.current, k.wanted) for k in kept] == [
        ("data-postgres-0", "hcloud-volumes", "local-path"),
        ("data-postgres-2", "", "local-path"),
    ]
    # a template that names no class means the cluster's default, which only the cluster knows
    assert kept_classes(m.statefulset("postgres", storage="10Gi"), pvcs) == []
