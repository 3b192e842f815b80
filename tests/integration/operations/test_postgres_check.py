"""The PostgreSQL check after a rollout, against the fake API server: the Job is created, waited for,
and a failure fails loudly with what the check printed and the recovery steps.

The fake's Job controller runs the check's pod to completion (Complete), or, with the ``crashloop``
knob on the Job, to failure with the message the ``termination_message`` knob gives its container
(what the kubelet copies from the output with terminationMessagePolicy FallbackToLogsOnError). What
psql itself does with verify.sql is tested against a real PostgreSQL in tests/infra/test_postgres.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops.adapters.kube import Kube, KubeconfigSource
from gitops.operations import postgres_check
from gitops.operations.postgres_check import verify_postgres
from tests.fakekube import FakeKube
from tests.support.infra import find, render

pytestmark = pytest.mark.integration

MISSING = (
    "ERROR:  PostgreSQL is not fully initialised: missing database account_db owned by account_service\n"
    "HINT:  the first start's /docker-entrypoint-initdb.d/10-init-databases.sh did not finish"
)


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeKube, Kube, list[Any]]]:
    """dev's PostgreSQL objects (the rendered overlay) in the fake, its StatefulSet rolled out."""
    monkeypatch.setattr(postgres_check, "POLL_SECONDS", 0.05)
    objects = render("dev")
    names = ("postgres", "postgres-verify", "postgres-credentials", "postgres-init", "postgres-headless")
    mine = [o for o in objects if o["metadata"]["name"] in names]
    fake = FakeKube(nodes=1).start()
    for obj in mine:
        fake.put(obj)
    fake.wait_for(lambda: (fake.get("apps/v1", "StatefulSet", "default", "postgres") or {}).get("status", {})
                  .get("readyReplicas") == 1, 30)  # fmt: skip
    kube = Kube.connect(KubeconfigSource(fake.write_kubeconfig(tmp_path / "kc.yaml"), None, None))
    yield fake, kube, [find(objects, "StatefulSet", "postgres")]
    kube.close()
    fake.stop()
    assert not fake.bugs


def jobs(fake: FakeKube) -> list[dict[str, Any]]:
    return fake.list_objects("batch/v1", "Job", "default")


def test_a_passing_check_runs_once_per_revision(deployed: tuple[FakeKube, Kube, list[Any]]) -> None:
    fake, kube, applied = deployed
    [result] = verify_postgres(kube, applied, "default")
    assert result.passed, result.detail
    [job] = jobs(fake)
    live = fake.get("apps/v1", "StatefulSet", "default", "postgres")
    revision = (live or {})["status"]["updateRevision"]
    assert job["metadata"]["labels"]["gitops/verify-revision"] == revision
    assert job["spec"]["template"]["spec"]["containers"][0]["env"][0] == {
        "name": "PGHOST", "value": "postgres-0.postgres-headless"
    }  # fmt: skip
    # An unchanged re-deploy: the same revision was already checked, so nothing is written.
    fake.reset_logs()
    [again] = verify_postgres(kube, applied, "default")
    assert again.passed and "checked for revision" in again.detail
    assert [r for r in fake.request_log if r["method"] not in ("GET",)] == []
    assert len(jobs(fake)) == 1


def test_a_failing_check_fails_loudly_with_what_is_missing_and_how_to_recover(
    deployed: tuple[FakeKube, Kube, list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, kube, applied = deployed
    fake.set_knobs(crashloop=["app.kubernetes.io/name=postgres-verify"], termination_message=MISSING)
    [result] = verify_postgres(kube, applied, "default")
    assert not result.passed
    assert result.detail == MISSING
    err = capsys.readouterr().err
    assert "error: PostgreSQL check failed: default/postgres is NOT fully initialised" in err
    assert "How to recover:" in err and "kubectl -n default exec postgres-0 -c postgres" in err
    # one line for the apply report's verify entry (and so the job summary)
    assert result.summary.startswith(
        "ERROR:  PostgreSQL is not fully initialised: missing database account_db owned by account_service / "
        "HINT:"
    )
    assert ". How to recover: (1) The database started without finishing" in result.summary
    assert fake.history(kind="StatefulSet", name="postgres")[-1]["action"] != "deleted"  # nothing touched

    # After the recovery the next deploy checks again (a new attempt; the failed Job stays for its logs).
    fake.set_knobs(crashloop=[], termination_message="")
    [retried] = verify_postgres(kube, applied, "default")
    assert retried.passed, retried.detail
    assert sorted(j["metadata"]["name"].rsplit("-", 1)[1] for j in jobs(fake)) == ["1", "2"]
    assert not [e for e in fake.delete_events if str(e["actor"]).startswith("client")]


def test_a_check_that_does_not_finish_is_a_failure_too(
    deployed: tuple[FakeKube, Kube, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, kube, applied = deployed
    monkeypatch.setattr(postgres_check, "WAIT_SECONDS", 0.5)
    fake.set_knobs(image_pull_backoff=["app.kubernetes.io/name=postgres-verify"])
    [result] = verify_postgres(kube, applied, "default")
    assert not result.passed
    assert "the check did not finish within 0.5s" in result.detail
    assert result.recovery
