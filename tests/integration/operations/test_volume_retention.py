"""Volume retention against the fake API server: PersistentVolumes bound to our claims end up Retain.

The fake plays the CSI external-provisioner: a claim of a StorageClass gets a PersistentVolume with
the class's reclaimPolicy (hcloud-volumes: Delete, as Hetzner's) and a claimRef; when the claim goes,
a Delete volume is deleted, a Retain one stays Released
(https://kubernetes.io/docs/concepts/storage/persistent-volumes/#reclaiming).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops.adapters.kube import Kube
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.core.retry import RetryPolicy
from gitops.operations.volume_retention import retain_volumes
from tests.fakekube import FakeKube
from tests.support.manifests import statefulset

pytestmark = pytest.mark.integration


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeKube]:
    fake = FakeKube(nodes=1).start()
    for name in ("postgres", "other"):
        fake.put(statefulset(name, storage_class="hcloud-volumes"))
    fake.wait_for(lambda: len(fake.list_objects("v1", "PersistentVolume")) == 2, 30)
    yield fake
    fake.stop()
    assert not fake.bugs


def connect(fake: FakeKube, tmp_path: Path, **kwargs: Any) -> Kube:
    return Kube.connect(KubeconfigSource(fake.write_kubeconfig(tmp_path / "kc.yaml"), None, None), **kwargs)


def volume_of(fake: FakeKube, claim: str) -> dict[str, Any] | None:
    pvc = fake.get("v1", "PersistentVolumeClaim", "default", claim)
    name = (pvc or {}).get("spec", {}).get("volumeName") if pvc else None
    return fake.get("v1", "PersistentVolume", None, name) if name else None


def test_our_volumes_become_retain_and_outlive_their_claims(fake: FakeKube, tmp_path: Path) -> None:
    ours = volume_of(fake, "data-postgres-0")
    theirs = volume_of(fake, "data-other-0")
    assert ours and theirs
    assert ours["spec"]["persistentVolumeReclaimPolicy"] == "Delete"  # hcloud-volumes' reclaimPolicy
    with connect(fake, tmp_path) as kube:
        rows = retain_volumes(kube, [statefulset("postgres")], "default")
    assert [r.to_json() for r in rows] == [
        {
            "claim": "default/data-postgres-0",
            "volume": ours["metadata"]["name"],
            "reclaim_policy_before": "Delete",
            "action": "set-retain",
            "error": None,
        }
    ]
    after = fake.get("v1", "PersistentVolume", None, ours["metadata"]["name"])
    assert after is not None and after["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    [patch] = fake.requests(verb="patch", path="/persistentvolumes/")
    assert patch["content_type"] == "application/merge-patch+json"
    assert rows[0].text == f"data-postgres-0 -> {ours['metadata']['name']} (was Delete)"

    # The point of it: a claim deleted by hand (or with its namespace) no longer takes the disk along.
    # (Its pod goes first: a claim in use is only marked for deletion, kubernetes.io/pvc-protection.)
    for name in ("postgres", "other"):
        fake.delete("apps/v1", "StatefulSet", "default", name)
    fake.wait_for(lambda: not fake.list_objects("v1", "Pod", "default"), 30)
    for claim in ("data-postgres-0", "data-other-0"):
        fake.delete("v1", "PersistentVolumeClaim", "default", claim)
    fake.wait_for(lambda: fake.get("v1", "PersistentVolume", None, theirs["metadata"]["name"]) is None, 30)
    kept = fake.get("v1", "PersistentVolume", None, ours["metadata"]["name"])
    assert kept is not None  # control above: a Delete volume of a deleted claim is gone
    fake.wait_for(
        lambda: (
            (fake.get("v1", "PersistentVolume", None, ours["metadata"]["name"]) or {})
            .get("status", {})
            .get("phase")
            == "Released"
        ),
        30,
    )


def test_a_second_run_changes_nothing_and_never_goes_back(fake: FakeKube, tmp_path: Path) -> None:
    with connect(fake, tmp_path) as kube:
        retain_volumes(kube, [statefulset("postgres")], "default")
        fake.reset_logs()
        again = retain_volumes(kube, [statefulset("postgres")], "default")
    assert [r.retention.action.value for r in again] == ["already-retained"]
    assert fake.requests(verb="patch") == []


def test_a_volume_that_cannot_be_patched_is_a_warning_naming_the_fix(
    fake: FakeKube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.set_knobs(fault_rate=1.0, fault_kinds=["500"], fault_verbs=["patch"], fault_path="persistentvolumes")
    with connect(fake, tmp_path, retry=RetryPolicy(attempts=1)) as kube:
        [row] = retain_volumes(kube, [statefulset("postgres")], "default")
    assert row.error and "500" in row.error
    err = capsys.readouterr().err
    assert "warning: Volume not protected: the volume of PersistentVolumeClaim default/data-postgres-0" in err
    assert "Grant the deploy's kubeconfig get and patch on persistentvolumes" in err
    pv = volume_of(fake, "data-postgres-0")
    assert pv is not None and pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"


def test_a_claim_not_bound_yet_is_reported_not_touched(fake: FakeKube, tmp_path: Path) -> None:
    fake.put(statefulset("pending", storage_class="no-such-class"))  # never binds
    fake.wait_for(
        lambda: fake.get("v1", "PersistentVolumeClaim", "default", "data-pending-0") is not None, 30
    )
    with connect(fake, tmp_path) as kube:
        rows = retain_volumes(kube, [statefulset("pending")], "default")
    assert [(r.retention.claim, r.retention.action.value) for r in rows] == [("data-pending-0", "not-bound")]
    assert fake.requests(verb="patch") == []
