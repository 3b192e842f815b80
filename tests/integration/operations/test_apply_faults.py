"""Fault runs on the fake API server: flaky API, a workload that never becomes ready, a crash loop."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.apply import (
    Cluster,
    by_name,
    client_deletes,
    report_of,
    write_overlay,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("secrets_env")]


def apply(cli: Callable[[list[str]], Any], overlay: Path, cluster: Cluster, *extra: str) -> Any:
    args = ["apply", "--overlay", str(overlay), "--kubeconfig", str(cluster.kubeconfig), "--format", "json"]
    return cli([*args, "--progress-interval", "1", *extra])


def test_twenty_percent_faults_converge_and_delete_only_what_must_go(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path
) -> None:
    """500, 429 (Retry-After) and dropped connections on 20% of requests, before or after the write.

    Transient ones: at most three in a row for one request, so our six attempts always get through
    (uncapped, which request meets which fault depends on thread timing, and one in a few hundred
    runs had a request fail six times in a row)."""
    fake = cluster.need_fake()
    fake.set_knobs(
        fault_rate=0.2,
        fault_kinds=["500", "429", "drop"],
        fault_phase="random",
        fault_seed=7,
        fault_max_streak=3,
        retry_after=0,
    )
    v10 = write_overlay(tmp_path / "v10", postgres_storage="10Gi")
    v20 = write_overlay(tmp_path / "v20", postgres_storage="20Gi")

    first = apply(cli, v10, cluster)
    assert first.code == 0, first.output
    pod_uid = fake.get("v1", "Pod", "default", "postgres-0")["metadata"]["uid"]  # type: ignore[index]
    pvc_uid = fake.get("v1", "PersistentVolumeClaim", "default", "data-postgres-0")["metadata"]["uid"]  # type: ignore[index]
    second = apply(cli, v20, cluster)
    assert second.code == 0, second.output
    report = report_of(second.stdout)

    assert fake.faults_injected > 0
    assert report["retries"] > 0
    assert "retrying" in second.stderr
    assert by_name(report)["StatefulSet/postgres"]["action"] == "recreated"
    # Only the postgres StatefulSet was ever deleted by us (a retried DELETE may repeat, same uid).
    deleted = {(d["kind"], d["name"], d["propagationPolicy"]) for d in client_deletes(fake)}
    assert deleted == {("StatefulSet", "postgres", "Orphan")}
    assert {d["uid"] for d in client_deletes(fake)} and len({d["uid"] for d in client_deletes(fake)}) == 1
    # The data survived: same pod, same claim, grown.
    pod = fake.get("v1", "Pod", "default", "postgres-0")
    pvc = fake.get("v1", "PersistentVolumeClaim", "default", "data-postgres-0")
    assert pod is not None and pod["metadata"]["uid"] == pod_uid
    assert pvc is not None and pvc["metadata"]["uid"] == pvc_uid
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"

    # Converged: with the faults still on, the next run finds nothing to do.
    third = apply(cli, v20, cluster)
    assert third.code == 0, third.output
    assert {o["action"] for o in report_of(third.stdout)["objects"]} == {"unchanged"}


def test_a_never_ready_workload_times_out_with_each_objects_state(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path
) -> None:
    fake = cluster.need_fake()
    fake.set_knobs(never_ready=["statefulset/redis"])
    result = apply(cli, write_overlay(tmp_path / "prod"), cluster, "--timeout", "4")
    assert result.code == 2, result.output
    report = report_of(result.stdout)
    objects = by_name(report)
    redis = objects["StatefulSet/redis"]
    assert redis["rollout"] == "timeout"
    assert redis["rollout_message"] == "not ready after 4s: 0 of 1 pods ready"
    assert redis["pods"] == ["redis-0: Running, 0/1 ready"]
    assert objects["StatefulSet/postgres"]["rollout"] == "ready"
    assert objects["StatefulSet/jaeger"]["rollout"] == "ready"
    assert report["result"] == "failed" and report["rollbacks"] == []
    # progress lines while waiting, and the state of the object on expiry, on stderr
    assert "still waiting" in result.stderr
    expected = "StatefulSet default/redis: rollout timeout: not ready after 4s: 0 of 1 pods ready"
    assert expected in result.stderr
    assert not client_deletes(fake)


def test_crash_loop_fails_fast_and_rolls_back_when_enabled(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path
) -> None:
    fake = cluster.need_fake()
    good = write_overlay(tmp_path / "good")
    assert apply(cli, good, cluster).code == 0
    template_before = fake.get("apps/v1", "StatefulSet", "default", "redis")["spec"]["template"]  # type: ignore[index]
    fake.set_knobs(crashloop=["image=valkey/valkey:9.0.1-broken"])
    bad = write_overlay(tmp_path / "bad", images={"redis": "valkey/valkey:9.0.1-broken"})

    # A generous timeout: the crash loop must fail the rollout long before it.
    result = apply(cli, bad, cluster, "--timeout", "120", "--rollback-on-failure")
    assert result.code == 2, result.output
    report = report_of(result.stdout)
    redis = by_name(report)["StatefulSet/redis"]
    assert redis["action"] == "configured"
    assert redis["rollout"] == "rolled-back"
    assert report["result"] == "rolled-back"
    [rollback] = report["rollbacks"]
    assert rollback["performed"] and rollback["rollout"] == "ready"
    assert rollback["from_revision"] == 2 and rollback["to_revision"] == 1
    # the broken pod of the failed revision is deleted so the StatefulSet can re-create it
    assert rollback["deleted_pods"] == ["redis-0"]
    assert "CrashLoopBackOff" in result.stderr
    assert "rollout failed: pod redis-0: container" in result.stderr
    live = fake.get("apps/v1", "StatefulSet", "default", "redis")
    assert live is not None
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "valkey/valkey:9.0-alpine"
    assert live["spec"]["template"] == template_before
    # nothing but that pod was deleted, and no volume
    assert [(d["kind"], d["name"]) for d in client_deletes(fake)] == [("Pod", "redis-0")]


def test_crash_loop_without_rollback_leaves_it_failed(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path
) -> None:
    fake = cluster.need_fake()
    assert apply(cli, write_overlay(tmp_path / "good"), cluster).code == 0
    fake.set_knobs(crashloop=["image=valkey/valkey:9.0.1-broken"])
    bad = write_overlay(tmp_path / "bad", images={"redis": "valkey/valkey:9.0.1-broken"})
    result = apply(cli, bad, cluster, "--timeout", "120")
    assert result.code == 2
    report = report_of(result.stdout)
    redis = by_name(report)["StatefulSet/redis"]
    assert redis["rollout"] == "failed"
    assert "CrashLoopBackOff" in redis["rollout_message"]
    assert "kubectl describe statefulset redis -n default" in redis["hint"]
    assert report["rollbacks"] == []
    assert not client_deletes(fake)
    live = fake.get("apps/v1", "StatefulSet", "default", "redis")
    assert live is not None
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "valkey/valkey:9.0.1-broken"


def test_unchanged_reapplies_under_faults_never_delete_or_write(
    cli: Callable[[list[str]], Any], cluster: Cluster, tmp_path: Path
) -> None:
    """A plain re-apply is a set of server-side no-ops whatever the API does meanwhile: lost
    answers of writes (the fault after the write), 500/503/429, dropped connections, watches cut
    and expired between runs. A re-create (a DELETE) of an object that did not change would be
    the worst thing this tool could do, so no client write of any kind may reach the storage.
    At most two faults in a row per request, so none exhausts its six attempts."""
    fake = cluster.need_fake()
    overlay = write_overlay(tmp_path / "prod")
    assert apply(cli, overlay, cluster).code == 0
    fake.reset_logs()

    for run in range(2):
        fake.set_knobs(
            fault_rate=0.2,
            fault_kinds=["500", "503", "429", "drop"],
            fault_phase="random",
            fault_seed=100 + run,
            fault_max_streak=2,
            retry_after=0,
        )
        result = apply(cli, overlay, cluster)
        assert result.code == 0, result.output
        assert {o["action"] for o in report_of(result.stdout)["objects"]} == {"unchanged"}, result.stdout
        assert fake.faults_injected > 0
        fake.drop_watches()
        fake.compact()

    assert not client_deletes(fake)
    assert not [e for e in fake.history() if str(e["actor"]).startswith("client")]
