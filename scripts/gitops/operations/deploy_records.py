"""Reading and writing the deploy record in the cluster (the format: :mod:`gitops.core.deploy_record`).

A read is one ``GET`` of ``gitops-system/gitops-deploy-record``. A write is a JSON merge patch
of the deploy's own key (``POST`` of the ConfigMap for the very first deploy), so two writers
never overwrite each other's entry and nothing needs a resourceVersion retry loop.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gitops.core import deploy_record
from gitops.core.cluster_identity import NAMESPACE, RecordUnreadable
from gitops.core.deploy_record import RECORD, DeployEntry, DeployHistory
from gitops.errors import ConfigurationError
from gitops.operations.cluster_binding import configmaps

if TYPE_CHECKING:
    from gitops.adapters.kube import Kube


def read(kube: Kube) -> DeployHistory:
    """The cluster's deploy history (empty when nothing was ever deployed with gitops)."""
    found = kube.get(configmaps(), NAMESPACE, RECORD)
    try:
        return deploy_record.parse(found)
    except RecordUnreadable as exc:
        raise ConfigurationError(
            f"the deploy record of the cluster at {kube.host} is unreadable: {exc}",
            key=f"{NAMESPACE}/{RECORD}",
            title="Deploy record unreadable",
            hint=f"repair or remove the key it names (kubectl --namespace {NAMESPACE} edit configmap "
            f"{RECORD}); the stale-deploy check compares with data.last-successful",
        ) from None


def write(kube: Kube, history: DeployHistory, entry: DeployEntry) -> DeployHistory:
    """Record ``entry`` (new, or the finished form of a running one); returns the history with it."""
    from gitops.adapters.kube import KubeError

    updated, patch = history.record(entry)
    if not history.entries and history.last_successful is None:
        try:
            kube.create(configmaps(), deploy_record.configmap_body(updated), field_manager="gitops")
            return updated
        except KubeError as err:
            if err.status != 409:  # AlreadyExists: another deploy created it meanwhile; patch it
                raise
    kube.patch(configmaps(), NAMESPACE, RECORD, patch, patch_type="merge", field_manager="gitops")
    return updated


def now() -> str:
    """The record's timestamps: UTC, to the second, ``2026-11-26T10:02:03Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
