"""gitops.core.postgres_check: the read-only check Job built from the PostgreSQL StatefulSet.

Field meanings are the API's: batch/v1 Job (backoffLimit, activeDeadlineSeconds,
ttlSecondsAfterFinished: https://kubernetes.io/docs/concepts/workloads/controllers/job/), the
container's terminationMessagePolicy FallbackToLogsOnError
(https://kubernetes.io/docs/tasks/debug/debug-application/determine-reason-pod-failure/), libpq's
PG* environment variables (https://www.postgresql.org/docs/current/libpq-envars.html) and
default_transaction_read_only (https://www.postgresql.org/docs/current/runtime-config-client.html).
The StatefulSet below has the shape of infra/k8s's (tests/infra/test_postgres.py runs the Job built
from the real rendered one against a real PostgreSQL).
"""

from __future__ import annotations

from typing import Any

import pytest

from gitops.core.postgres_check import (
    ANNOTATION,
    NotVerifiable,
    Target,
    failure_detail,
    finished,
    job_name,
    recovery_steps,
    revision,
    targets,
    verification_job,
)


@pytest.fixture
def postgres() -> dict[str, Any]:
    main = {
        "name": "postgres",
        "image": "postgis/postgis:18-3.6",
        "ports": [{"name": "postgresql", "containerPort": 5432}],
        "env": [
            {"name": "POSTGRES_USER", "value": "postgres_sa"},
            {"name": "POSTGRES_DB", "value": "appdb"},
            {"name": "POSTGRES_PASSWORD",
             "valueFrom": {"secretKeyRef": {"name": "postgres-credentials", "key": "POSTGRES_SA_PASSWORD"}}},
        ],
    }  # fmt: skip
    return {
        "kind": "StatefulSet",
        "metadata": {"name": "postgres", "annotations": {ANNOTATION: "postgres-verify"}, "generation": 4},
        "spec": {
            "serviceName": "postgres-headless",
            "template": {
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 999,
                        "fsGroupChangePolicy": "Always",
                    },
                    "containers": [{"name": "exporter", "image": "x"}, main],
                }
            },
            "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
        },
        "status": {"updateRevision": "postgres-6c9d8b7f45"},
    }


def test_the_postgres_statefulset_asks_for_the_check(postgres: dict[str, Any]) -> None:
    assert postgres["metadata"]["annotations"][ANNOTATION] == "postgres-verify"
    others = [{"kind": "StatefulSet", "metadata": {"name": "redis"}}, {"kind": "ConfigMap", "metadata": {}}]
    assert targets([postgres, *others], "default") == [Target("default", "postgres", "postgres-verify")]


def test_the_job_connects_as_postgres_user_read_only_to_the_first_pod(postgres: dict[str, Any]) -> None:
    job = verification_job(postgres, Target("default", "postgres", "postgres-verify"), attempt=2)
    assert job["metadata"]["name"] == "postgres-verify-6c9d8b7f45-2"
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (
        0, 180, 604800
    )  # fmt: skip
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    [check] = pod["containers"]
    assert check["image"] == "postgis/postgis:18-3.6"  # the same psql as the server
    env = {e["name"]: e for e in check["env"]}
    assert env["PGHOST"]["value"] == "postgres-0.postgres-headless"  # <pod>.<serviceName>
    assert env["PGUSER"]["value"] == "postgres_sa"
    assert env["PGPASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "postgres-credentials", "key": "POSTGRES_SA_PASSWORD"}
    }
    assert env["PGOPTIONS"]["value"] == "-c default_transaction_read_only=on"
    assert check["command"] == ["psql", "--no-psqlrc", "--set=ON_ERROR_STOP=1", "--file=/verify/verify.sql"]
    assert check["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert check["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 999}
    assert pod["volumes"] == [
        {"name": "verify", "configMap": {"name": "postgres-verify", "defaultMode": 0o444}}
    ]
    # never selected by the database's Service, PodDisruptionBudget or StatefulSet
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "postgres-verify"


def test_a_statefulset_without_postgres_env_cannot_be_checked() -> None:
    sts = {"metadata": {"name": "x"}, "spec": {"serviceName": "x", "template": {"spec": {"containers": [
        {"name": "x", "image": "x", "env": [{"name": "POSTGRES_USER", "value": "u"}]}]}}}}  # fmt: skip
    with pytest.raises(NotVerifiable, match="POSTGRES_USER and POSTGRES_PASSWORD"):
        verification_job(sts, Target("default", "x", "cm"), attempt=1)


def test_revision_and_job_names_fit_label_and_name_limits() -> None:
    long = {
        "metadata": {"name": "p" * 80, "generation": 3},
        "status": {"updateRevision": "p" * 80 + "-abcdef0123"},
    }
    assert len(revision(long)) <= 63
    assert revision({"metadata": {"name": "pg", "generation": 3}}) == "pg-g3"
    assert len(job_name("p" * 80, revision(long), 12)) <= 63


@pytest.mark.parametrize(
    ("conditions", "state"),
    [
        ([{"type": "Complete", "status": "True"}], True),
        ([{"type": "SuccessCriteriaMet", "status": "True"}], None),
        ([{"type": "FailureTarget", "status": "True"}, {"type": "Failed", "status": "True"}], False),
        ([], None),
    ],
)
def test_finished(conditions: list[dict[str, str]], state: bool | None) -> None:
    assert finished({"status": {"conditions": conditions}}) is state


def test_failure_detail_prefers_what_the_check_printed() -> None:
    message = "ERROR:  PostgreSQL is not fully initialised: missing login role account_service"
    pods = [
        {"status": {"containerStatuses": [{"state": {"terminated": {"exitCode": 3, "message": message}}}]}}
    ]
    assert failure_detail({}, pods) == message
    bare = [
        {"status": {"containerStatuses": [{"state": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}}
    ]
    assert failure_detail({}, bare) == "exit code 2 (Error)"
    failed = {"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
              "message": "Job was active longer than specified deadline"}  # fmt: skip
    deadline = {"status": {"conditions": [failed]}}
    assert failure_detail(deadline, []) == "DeadlineExceeded: Job was active longer than specified deadline"


def test_recovery_names_the_pod_container_and_claim(postgres: dict[str, Any]) -> None:
    steps = recovery_steps(Target("default", "postgres", "postgres-verify"), postgres)
    assert "kubectl -n default exec postgres-0 -c postgres -- bash -c" in steps[1]
    assert "/docker-entrypoint-initdb.d/*.sh" in steps[1]
    assert "delete the claim(s) data-postgres-0" in steps[2] and "never deletes a claim" in steps[2]
