"""The PostgreSQL check after a rollout, against the fake API server: the Job is created, waited for
by a watch, and a failure fails loudly with what the check printed and the recovery steps.

The fake's Job controller runs the check's pod to completion (Complete), or, with the ``crashloop``
knob on the Job, to failure with the message the ``termination_message`` knob gives its container
(what the kubelet copies from the output with terminationMessagePolicy FallbackToLogsOnError). What
psql itself does with verify.sql is tested against a real PostgreSQL in tests/infra/test_postgres.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitops.adapters.kube import Kube
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.operations import postgres_check
from gitops.operations.postgres_check import PostgresCheck, verify_postgres
from gitops.operations.rollout import RolloutWaiter
from tests.fakekube import FakeKube
from tests.support.infra import find, render

pytestmark = pytest.mark.integration

MISSING = (
    "ERROR:  PostgreSQL is not fully initialised: missing database account_db owned by account_service\n"
    "HINT:  the first start's /docker-entrypoint-initdb.d/10-init-databases.sh did not finish"
)


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[tuple[FakeKube, Kube, list[Any]]]:
    """dev's PostgreSQL objects (the rendered overlay) in the fake, its StatefulSet rolled out."""
    yield from _deploy(FakeKube(nodes=1), tmp_path)


@pytest.fixture
def deployed_by_hand(tmp_path: Path) -> Iterator[tuple[FakeKube, Kube, list[Any]]]:
    """The same, on a fake whose controllers run only when the test ticks them (``tick=None``)."""
    yield from _deploy(FakeKube(nodes=1, tick=None), tmp_path)


def _deploy(fake: FakeKube, tmp_path: Path) -> Iterator[tuple[FakeKube, Kube, list[Any]]]:
    objects = render("dev")
    names = ("postgres", "postgres-verify", "postgres-credentials", "postgres-init", "postgres-headless")
    mine = [o for o in objects if o["metadata"]["name"] in names]
    fake.start()
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


def test_a_check_that_does_not_finish_is_a_failure_that_says_where_it_stopped(
    deployed: tuple[FakeKube, Kube, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, kube, applied = deployed
    monkeypatch.setattr(postgres_check, "WAIT_SECONDS", 0.5)
    fake.set_knobs(readiness_delay=600.0)  # new pods stay ContainerCreating: the Job runs on and on
    [result] = verify_postgres(kube, applied, "default")
    assert not result.passed
    assert result.detail.startswith("the check did not finish within 0.5s (the Job: running: ")
    assert "ContainerCreating" in result.detail  # its pod's state at the deadline
    assert result.recovery


def test_an_image_that_cannot_be_pulled_fails_the_check_at_once_with_the_pods_reason(
    deployed: tuple[FakeKube, Kube, list[Any]],
) -> None:
    # core.readiness's Job rules: a pod in ImagePullBackOff fails the wait (kubelet reasons as in
    # k8s.io/kubernetes pkg/kubelet/images: ErrImagePull, then ImagePullBackOff); the Job itself would
    # only fail at its activeDeadlineSeconds. WAIT_SECONDS stays 240: a timeout would say so instead.
    fake, kube, applied = deployed
    fake.set_knobs(image_pull_backoff=["app.kubernetes.io/name=postgres-verify"])
    [result] = verify_postgres(kube, applied, "default")
    assert not result.passed
    assert "container verify: ImagePullBackOff: Back-off pulling image" in result.detail, result.detail
    assert "did not finish" not in result.detail
    assert result.recovery


class NoSleep:
    """A clock whose sleep fails the test: whatever waits on it must wait on events instead."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s on the clock")


def until(condition: Callable[[], Any], timeout: float = 30.0) -> None:
    """Wait for ``condition`` (the fake's ``wait_for`` ticks its controllers, which here must not run)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


def test_the_check_job_is_watched_and_the_check_ends_when_the_job_does(
    deployed_by_hand: tuple[FakeKube, Kube, list[Any]],
) -> None:
    fake, kube, applied = deployed_by_hand
    seen = {("default", "postgres"): fake.get("apps/v1", "StatefulSet", "default", "postgres") or {}}
    fake.reset_logs()
    results: list[PostgresCheck] = []
    waiter = RolloutWaiter(kube, clock=NoSleep())
    check = threading.Thread(
        target=lambda: results.extend(verify_postgres(kube, applied, "default", waiter=waiter, seen=seen))
    )
    check.start()

    # No controller runs until the test ticks them: the Job is created and then only watched.
    until(lambda: fake.requests(verb="watch", path="/jobs"))
    [job] = fake.list_objects("batch/v1", "Job", "default")
    assert check.is_alive() and not results and not job.get("status", {}).get("conditions")
    assert fake.settle()  # the Job controller and the kubelet run the check to Complete
    check.join(timeout=60)
    assert not check.is_alive()
    [result] = results
    assert result.passed, result.detail

    name = job["metadata"]["name"]
    jobs = [(r["verb"], r["query"].get("labelSelector")) for r in fake.request_log if "/jobs" in r["path"]]
    revision = seen["default", "postgres"]["status"]["updateRevision"]
    assert jobs == [
        (
            "list",
            f"gitops/verify-for=postgres,gitops/verify-revision={revision}",
        ),  # a check of this revision?
        ("create", None),
        ("list", None),  # the watch: LIST, then WATCH from its resourceVersion (kubectl rollout status too)
        ("watch", None),
    ]
    assert not fake.requests(verb="get", path=f"/jobs/{name}")  # never polled
    assert not fake.requests(path="/statefulsets")  # the StatefulSet as the rollout watch saw it
