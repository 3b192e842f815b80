"""Did PostgreSQL's first start finish initialising? The read-only check Job, and what its outcome means.

The postgres image runs /docker-entrypoint-initdb.d only while the data directory is empty
(docker-library/postgres docker-entrypoint.sh: ``if [ -z "$DATABASE_ALREADY_EXISTS" ]``, set from
``$PGDATA/PG_VERSION``). initdb writes PG_VERSION first; if the container is stopped during the
init scripts (an OOM kill, a node drain, a failing script), the next start finds PG_VERSION,
skips them, and the server comes up Ready without the service roles and databases. Nothing in the
pod's state shows it: the deploy must ask the database.

It asks without ``kubectl exec``: a StatefulSet annotated ``gitops/verify-postgres: <ConfigMap>``
gets a short Job that runs that ConfigMap's ``verify.sql`` with the StatefulSet's own image and
client (psql), as its POSTGRES_USER (password from the same Secret key), against its first pod,
in a read-only session (``default_transaction_read_only=on``). The script raises an error naming
what is missing; the Job's container keeps the end of its output as its termination message
(``terminationMessagePolicy: FallbackToLogsOnError``), which is how the failure reaches the deploy
without reading logs.

One Job per StatefulSet revision (``status.updateRevision``): a re-apply of an unchanged
StatefulSet whose check already passed creates nothing; a failed check is retried by the next
deploy with a new attempt number. Finished Jobs are removed by the TTL controller after a week.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ANNOTATION = "gitops/verify-postgres"
SCRIPT_KEY = "verify.sql"
MOUNT = "/verify"
LABEL_FOR = "gitops/verify-for"
LABEL_REVISION = "gitops/verify-revision"
TTL_SECONDS = 7 * 24 * 3600
DEADLINE_SECONDS = 180


class NotVerifiable(ValueError):  # noqa: N818 - a condition of the object, not a failure of ours
    """The annotated StatefulSet lacks what the check needs (said in the message)."""


@dataclass(frozen=True)
class Target:
    namespace: str
    statefulset: str
    configmap: str


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def targets(objects: Sequence[Mapping[str, Any]], default_namespace: str) -> list[Target]:
    """The applied StatefulSets that ask for the check, with the ConfigMap holding verify.sql."""
    found = []
    for obj in objects:
        if obj.get("kind") != "StatefulSet":
            continue
        configmap = str((_meta(obj).get("annotations") or {}).get(ANNOTATION) or "").strip()
        if configmap:
            namespace = str(_meta(obj).get("namespace") or default_namespace)
            found.append(Target(namespace, str(_meta(obj).get("name")), configmap))
    return found


def _postgres_container(sts: Mapping[str, Any]) -> Mapping[str, Any]:
    containers = ((sts.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    for container in containers:
        names = {e.get("name") for e in container.get("env") or []}
        if {"POSTGRES_USER", "POSTGRES_PASSWORD"} <= names:
            return container  # type: ignore[no-any-return]
    raise NotVerifiable("no container sets POSTGRES_USER and POSTGRES_PASSWORD")


def revision(sts: Mapping[str, Any]) -> str:
    """What one check covers: the StatefulSet's update revision (its generation before it has one)."""
    status = sts.get("status") or {}
    value = str(
        status.get("updateRevision") or f"{_meta(sts).get('name')}-g{_meta(sts).get('generation', 0)}"
    )
    return re.sub(r"[^A-Za-z0-9_.-]", "-", value)[-63:].strip("-_.") or "unknown"


def job_name(sts_name: str, rev: str, attempt: int) -> str:
    """``<statefulset>-verify-<revision hash>-<attempt>`` within the 63 characters a Job's pods need."""
    digest = rev.rsplit("-", 1)[-1][:10]
    return f"{sts_name[:38]}-verify-{digest}-{attempt}"


def verification_job(sts: Mapping[str, Any], target: Target, *, attempt: int) -> dict[str, Any]:
    """The Job that runs ``verify.sql`` read-only against the StatefulSet's first pod."""
    spec = sts.get("spec") or {}
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    postgres = _postgres_container(sts)
    env = {e["name"]: e for e in postgres.get("env") or [] if "name" in e}
    user = env["POSTGRES_USER"].get("value")
    password_ref = (env["POSTGRES_PASSWORD"].get("valueFrom") or {}).get("secretKeyRef")
    if not user or not password_ref:
        raise NotVerifiable("POSTGRES_USER must be a plain value and POSTGRES_PASSWORD a secretKeyRef")
    port = next((p.get("containerPort") for p in postgres.get("ports") or [] if p.get("containerPort")), 5432)
    service = spec.get("serviceName")
    if not service:
        raise NotVerifiable("spec.serviceName is empty, so its pods have no DNS name")
    rev = revision(sts)
    labels = {
        "app.kubernetes.io/name": f"{target.statefulset}-verify",
        "app.kubernetes.io/managed-by": "gitops",
        LABEL_FOR: target.statefulset,
        LABEL_REVISION: rev,
    }
    security = {
        k: v for k, v in (pod_spec.get("securityContext") or {}).items() if k != "fsGroupChangePolicy"
    }
    connection: list[dict[str, Any]] = [
        {"name": "PGHOST", "value": f"{target.statefulset}-0.{service}"},
        {"name": "PGPORT", "value": str(port)},
        {"name": "PGUSER", "value": str(user)},
        {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": dict(password_ref)}},
    ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(target.statefulset, rev, attempt),
            "namespace": target.namespace,
            "labels": labels,
            "annotations": {"gitops/verifies": f"statefulset/{target.statefulset} revision {rev}"},
        },
        "spec": {
            "backoffLimit": 0,  # a check that fails has an answer; running it again gives the same one
            "activeDeadlineSeconds": DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": TTL_SECONDS,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": security,
                    "containers": [_psql_container(postgres, connection)],
                    "volumes": [
                        {"name": "verify", "configMap": {"name": target.configmap, "defaultMode": 0o444}}
                    ],
                },
            },
        },
    }


def _psql_container(postgres: Mapping[str, Any], connection: list[dict[str, Any]]) -> dict[str, Any]:
    """psql with the database's own image, read-only, least privilege; ``connection`` the PG* variables."""
    return {
        "name": "verify",
        "image": postgres.get("image"),
        "imagePullPolicy": postgres.get("imagePullPolicy", "IfNotPresent"),
        "command": ["psql", "--no-psqlrc", "--set=ON_ERROR_STOP=1", f"--file={MOUNT}/{SCRIPT_KEY}"],
        "env": [
            *connection,
            {"name": "PGDATABASE", "value": "postgres"},
            {"name": "PGCONNECT_TIMEOUT", "value": "10"},
            {"name": "PGAPPNAME", "value": "gitops-verify"},
            # Read-only whatever the script says: a check never changes the database.
            {"name": "PGOPTIONS", "value": "-c default_transaction_read_only=on"},
        ],
        "volumeMounts": [{"name": "verify", "mountPath": MOUNT, "readOnly": True}],
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def finished(job: Mapping[str, Any]) -> bool | None:
    """True: the check passed; False: it failed; None: still running."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") == "Complete":
            return True
        if condition.get("status") == "True" and condition.get("type") == "Failed":
            return False
    return None


def failure_detail(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> str:
    """What the check said: the termination messages of its pods, else the Job's condition."""
    messages = []
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (status.get("state") or {}).get("terminated") or {}
            text = str(terminated.get("message") or "").strip()
            if text:
                messages.append(text)
            elif terminated:
                messages.append(f"exit code {terminated.get('exitCode')} ({terminated.get('reason')})")
    if messages:
        return "\n".join(messages)
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            return f"{condition.get('reason')}: {condition.get('message')}"
    return "no message"


def recovery_steps(target: Target, sts: Mapping[str, Any]) -> list[str]:
    """What a person does when the check fails (nothing of it is done automatically)."""
    pod = f"{target.statefulset}-0"
    ns = target.namespace
    container = _postgres_container(sts).get("name", "postgres")
    claims = [
        f"{(t.get('metadata') or {}).get('name')}-{pod}"
        for t in (sts.get("spec") or {}).get("volumeClaimTemplates") or []
    ]
    return [
        "The database started without finishing its first-start initialisation: the init scripts run only "
        "on an empty data directory, so they will not run again by themselves.",
        "If the database holds data: run the init scripts by hand; ours are idempotent (they create only "
        f"what is missing): kubectl -n {ns} exec {pod} -c {container} -- bash -c "
        "'for f in /docker-entrypoint-initdb.d/*.sh; do \"$f\" || exit 1; done'",
        f"If it holds nothing yet, a clean first start is simpler: kubectl -n {ns} scale statefulset "
        f"{target.statefulset} --replicas=0, delete the claim(s) {', '.join(claims) or '(its data claim)'} "
        "(the deploy never deletes a claim; with the volume set to Retain its PersistentVolume stays and "
        "must be deleted too), then deploy again.",
        "Then deploy again: the check runs once more and passes.",
    ]
