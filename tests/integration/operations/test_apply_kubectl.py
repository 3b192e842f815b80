"""The apply scenarios with the REAL kubectl as the fake API server's client.

If kubectl (client-go) gets the same answers as our client for server-side apply, the
immutable-field 422, an orphaning delete and ``rollout status``, then the fake speaks the wire
format and what ``gitops apply`` does on it is what it would do on a cluster. The fake's own
tests cover single requests; these run the seed scenario and compare our rollback with
``kubectl rollout undo``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gitops.adapters.kubectl import kubectl_binary
from gitops.operations.rendering import dump_manifests, render_overlay
from tests.support.apply import (
    Cluster,
    by_name,
    client_deletes,
    report_of,
    secret_values,
    write_overlay,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("secrets_env")]


@pytest.fixture
def kubectl(cluster: Cluster) -> Callable[..., subprocess.CompletedProcess[str]]:
    binary = kubectl_binary()

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [binary, "--kubeconfig", str(cluster.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    return run


def rendered(directory: Path, **changes: Any) -> Path:
    overlay = write_overlay(directory, **changes)
    objects = render_overlay(overlay, secret_values()).objects
    path = directory / "rendered.yaml"
    path.write_text(dump_manifests(objects), encoding="utf-8")
    return path


# What kubectl prints of each version's 422
# (tests/corpus/kubernetes/<minor>/statefulset-volumeclaimtemplates.json).
REFUSAL = {
    "1.36": 'The StatefulSet "postgres" is invalid: spec: Forbidden: updates to statefulset spec',
    "1.37": 'The StatefulSet "postgres" is invalid: spec.volumeClaimTemplates: Invalid value: ',
}


@pytest.mark.parametrize("cluster", sorted(REFUSAL), indirect=True)
def test_seed_scenario_driven_by_kubectl(
    kubectl: Callable[..., subprocess.CompletedProcess[str]], cluster: Cluster, tmp_path: Path
) -> None:
    fake = cluster.need_fake()
    v10 = rendered(tmp_path / "v10", postgres_storage="10Gi")
    v20 = rendered(tmp_path / "v20", postgres_storage="20Gi")

    applied = kubectl("apply", "--server-side", "--field-manager", "gitops", "-f", str(v10))
    assert "statefulset.apps/postgres serverside-applied" in applied.stdout
    status = kubectl("rollout", "status", "statefulset/postgres", "--timeout", "60s")
    assert "roll out complete" in status.stdout  # a defaulted partition: 0 makes kubectl say "partitioned"
    pod_uid = fake.get("v1", "Pod", "default", "postgres-0")["metadata"]["uid"]  # type: ignore[index]

    # The 422 our classifier reads; kubectl words it from details.kind/name ("The StatefulSet ...").
    rejected = kubectl("apply", "--server-side", "--field-manager", "gitops", "-f", str(v20), check=False)
    assert rejected.returncode != 0
    assert REFUSAL[fake.server_version] in rejected.stderr, rejected.stderr

    deleted = kubectl("delete", "statefulset", "postgres", "--cascade=orphan")
    assert 'statefulset.apps "postgres" deleted' in deleted.stdout
    assert [(d["name"], d["propagationPolicy"]) for d in client_deletes(fake)] == [("postgres", "Orphan")]
    assert fake.get("v1", "Pod", "default", "postgres-0") is not None

    kubectl("apply", "--server-side", "--field-manager", "gitops", "-f", str(v20))
    kubectl("rollout", "status", "statefulset/postgres", "--timeout", "60s")
    pod = fake.get("v1", "Pod", "default", "postgres-0")
    sts = fake.get("apps/v1", "StatefulSet", "default", "postgres")
    assert pod is not None and sts is not None
    assert pod["metadata"]["uid"] == pod_uid
    assert [o["uid"] for o in pod["metadata"]["ownerReferences"] if o.get("controller")] == [
        sts["metadata"]["uid"]
    ]


def test_kubectl_and_gitops_agree_on_state(
    cli: Callable[[list[str]], Any],
    kubectl: Callable[..., subprocess.CompletedProcess[str]],
    cluster: Cluster,
    tmp_path: Path,
) -> None:
    """What gitops applied, kubectl re-applies as a no-op and reports rolled out; and the reverse."""
    fake = cluster.need_fake()
    overlay = write_overlay(tmp_path / "prod")
    first = cli(
        ["apply", "--overlay", str(overlay), "--kubeconfig", str(cluster.kubeconfig), "--format", "json"]
    )
    assert first.code == 0, first.output
    for name in ("postgres", "redis", "jaeger"):
        kubectl("rollout", "status", f"statefulset/{name}", "--timeout", "30s")
    fake.reset_logs()
    path = tmp_path / "prod" / "rendered.yaml"
    path.write_text(dump_manifests(render_overlay(overlay, secret_values()).objects), encoding="utf-8")
    kubectl("apply", "--server-side", "--field-manager", "gitops", "-f", str(path))
    assert not [e for e in fake.history() if str(e["actor"]).startswith("client")], "kubectl's re-apply wrote"
    again = cli(
        ["apply", "--overlay", str(overlay), "--kubeconfig", str(cluster.kubeconfig), "--format", "json"]
    )
    assert {o["action"] for o in report_of(again.stdout)["objects"]} == {"unchanged"}


def test_never_ready_times_out_for_kubectl_too(
    kubectl: Callable[..., subprocess.CompletedProcess[str]], cluster: Cluster, tmp_path: Path
) -> None:
    fake = cluster.need_fake()
    fake.set_knobs(never_ready=["statefulset/redis"])
    kubectl("apply", "--server-side", "-f", str(rendered(tmp_path / "prod")))
    waited = kubectl("rollout", "status", "statefulset/redis", "--timeout", "3s", check=False)
    assert waited.returncode != 0
    assert "timed out waiting for the condition" in waited.stderr
    assert "Waiting for 1 pods to be ready" in waited.stdout


def test_our_rollback_is_kubectl_rollout_undo(
    cli: Callable[[list[str]], Any],
    kubectl: Callable[..., subprocess.CompletedProcess[str]],
    cluster: Cluster,
    tmp_path: Path,
) -> None:
    fake = cluster.need_fake()
    good = write_overlay(tmp_path / "good")
    bad = write_overlay(tmp_path / "bad", images={"redis": "valkey/valkey:9.0.1-broken"})
    base = ["--kubeconfig", str(cluster.kubeconfig), "--format", "json", "--timeout", "60"]
    assert cli(["apply", "--overlay", str(good), *base]).code == 0
    fake.set_knobs(crashloop=["image=valkey/valkey:9.0.1-broken"])

    ours = cli(["apply", "--overlay", str(bad), *base, "--rollback-on-failure"])
    assert ours.code == 2
    assert by_name(report_of(ours.stdout))["StatefulSet/redis"]["rollout"] == "rolled-back"
    after_ours = fake.get("apps/v1", "StatefulSet", "default", "redis")

    # The same failed change again, undone by kubectl this time.
    assert cli(["apply", "--overlay", str(bad), *base]).code == 2
    undo = kubectl("rollout", "undo", "statefulset/redis")
    assert "rolled back" in undo.stdout
    after_kubectl = fake.get("apps/v1", "StatefulSet", "default", "redis")
    assert after_ours is not None and after_kubectl is not None
    assert after_kubectl["spec"]["template"] == after_ours["spec"]["template"]
