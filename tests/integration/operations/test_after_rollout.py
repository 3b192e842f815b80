"""What a deploy does after its rollouts, as ``gitops apply`` of the real dev overlay shows it: the
PersistentVolumes of the StatefulSets' claims are set to Retain, and PostgreSQL is checked.

Against the fake API server (it provisions a PersistentVolume per claim with hcloud-volumes'
reclaimPolicy Delete, and runs Jobs). The check's SQL itself runs against a real PostgreSQL in
tests/infra/test_postgres.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.actions import GhaEnv
from tests.support.apply import Cluster, by_name, client_deletes, report_of, write_overlay

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("secrets_env")]


def apply(cli: Callable[[list[str]], Any], overlay: Path, cluster: Cluster) -> Any:
    return cli(
        ["apply", "--overlay", str(overlay), "--kubeconfig", str(cluster.kubeconfig), "--format", "json"]
    )


def test_a_deploy_keeps_the_volumes_and_checks_postgres(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path, gha_env: GhaEnv
) -> None:
    fake = cluster.need_fake()
    result = apply(cli, write_overlay(tmp_path / "dev", "infra/k8s/hetzner/dev"), cluster)
    assert result.code == 0, result.output
    report = report_of(result.stdout)
    objects = by_name(report)
    for service in ("postgres", "redis", "jaeger"):
        [retention] = objects[f"StatefulSet/{service}"]["volumes"]["retention"]
        assert retention["claim"] == f"default/data-{service}-0"
        assert (retention["reclaim_policy_before"], retention["action"]) == ("Delete", "set-retain")
        pv = fake.get("v1", "PersistentVolume", None, retention["volume"])
        assert pv is not None and pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    [check] = [c for c in report["verify"] if c["check"] == "postgres initialised"]
    assert check["passed"] is True and "StatefulSet" in check["object"] and "postgres" in check["object"]
    assert "volume kept when its claim is deleted (reclaim policy Retain): data-postgres-0 -> pvc-" in (
        gha_env.summary()
    )
    [job] = fake.list_objects("batch/v1", "Job", "default")
    assert job["metadata"]["labels"]["gitops/verify-for"] == "postgres"


def test_a_half_initialised_database_fails_the_deploy_with_the_recovery_steps(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path, gha_env: GhaEnv
) -> None:
    fake = cluster.need_fake()
    fake.set_knobs(
        crashloop=["app.kubernetes.io/name=postgres-verify"],
        termination_message="ERROR:  PostgreSQL is not fully initialised: missing login role account_service",
    )
    result = apply(cli, write_overlay(tmp_path / "dev", "infra/k8s/hetzner/dev"), cluster)
    assert result.code == 2, result.output
    report = report_of(result.stdout)
    [failed] = [c for c in report["verify"] if not c["passed"]]
    assert failed["check"] == "postgres initialised"
    assert failed["detail"].startswith("ERROR:  PostgreSQL is not fully initialised: missing login role")
    summary = gha_env.summary()
    assert summary.startswith("### :x: gitops apply")
    assert "**Verification failed**" in summary and "How to recover: (1)" in summary
    # nothing of the database was touched: only the check Job and the volumes' reclaim policy written
    assert client_deletes(fake) == []
