"""Binding a cluster to its environment: read the identity record, claim a cluster, and the check
every deploy makes before its first write (the record and the decision: :mod:`gitops.core.cluster_identity`).

Reads are one ``GET`` of ``gitops-system/gitops-cluster-identity`` (no discovery, no ``list``), so
a least-privilege deployer needs only ``get`` on that one ConfigMap. A claim creates the
``gitops-system`` Namespace (if missing) and the ConfigMap with POST: it never replaces a record,
so a claim can never move a cluster from one environment to another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitops.core import cluster_identity
from gitops.core.cluster_identity import DELETE_COMMAND, IDENTITY, NAMESPACE, Binding, Identity
from gitops.errors import ConfigurationError

if TYPE_CHECKING:
    from gitops.adapters.kube import ApiResource, Kube
    from gitops.core.deploy_record import DeployHistory
    from gitops.core.handover import Handover
    from gitops.operations.deployment import Connection
    from gitops.operations.gating import GateRequest


def configmaps() -> ApiResource:
    """The core ConfigMap resource, without discovery (one less request a deployer must be allowed)."""
    from gitops.adapters.kube import ApiResource

    return ApiResource("", "v1", "ConfigMap", "configmaps", namespaced=True)


def _namespaces() -> ApiResource:
    from gitops.adapters.kube import ApiResource

    return ApiResource("", "v1", "Namespace", "namespaces", namespaced=False)


def read_identity(kube: Kube) -> Identity | None:
    """The cluster's identity record; None when it has none. A record that is not ours is an error."""
    found = kube.get(configmaps(), NAMESPACE, IDENTITY)
    try:
        return cluster_identity.parse(found)
    except cluster_identity.RecordUnreadable as exc:
        raise ConfigurationError(
            f"the identity record of the cluster at {kube.host} is unreadable: {exc}",
            key=f"{NAMESPACE}/{IDENTITY}",
            title="Cluster identity unreadable",
            hint="set data.environment to the environment this cluster belongs to "
            f"(kubectl --namespace {NAMESPACE} edit configmap {IDENTITY}), or delete it "
            f"({DELETE_COMMAND}) and claim the cluster again (gitops claim --environment ENV)",
        ) from None


def check(kube: Kube, environment: str, *, claim_command: str, action: str = "deploy") -> Binding:
    """Is the cluster ``kube`` reaches the cluster of ``environment``? Reads, never writes."""
    return cluster_identity.check(
        read_identity(kube), environment, host=kube.host, claim_command=claim_command, action=action
    )


@dataclass(frozen=True)
class Claim:
    """What a claim did: ``created`` the record, found it ``existed`` naming the environment, or
    (a dry run) neither."""

    identity: Identity
    created: bool
    existed: bool
    dry_run: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "identity": self.identity.to_json(),
            "created": self.created,
            "existed": self.existed,
            "dry_run": self.dry_run,
        }


def refusal(binding: Binding) -> ConfigurationError:
    """The exit-1 error for a cluster that is not the environment's."""
    title = "Wrong cluster" if binding.verdict is cluster_identity.Verdict.OTHER else "Cluster not bound"
    return ConfigurationError(binding.message, key=f"{NAMESPACE}/{IDENTITY}", title=title, hint=binding.hint)


def claim(
    kube: Kube, identity: Identity, *, claim_command: str, dry_run: bool = False, raced: bool = False
) -> Claim:
    """Bind the cluster to ``identity.environment``; refuse (exit 1) a cluster bound to another one."""
    from gitops.adapters.kube import KubeError

    binding = check(kube, identity.environment, claim_command=claim_command)
    if binding.identity is not None:
        if not binding.allowed:
            raise refusal(binding)
        return Claim(binding.identity, created=False, existed=True, dry_run=dry_run)
    if dry_run:
        return Claim(identity, created=False, existed=False, dry_run=True)
    try:
        kube.create(_namespaces(), cluster_identity.namespace_body(), field_manager="gitops")
    except KubeError as err:
        if err.status != 409:  # AlreadyExists: the namespace is there, which is all we need
            raise
    try:
        kube.create(configmaps(), cluster_identity.configmap_body(identity), field_manager="gitops")
    except KubeError as err:
        if err.status != 409 or raced:
            raise
        # Another claim won the race between our read and our create: what did it say?
        return claim(kube, identity, claim_command=claim_command, raced=True)
    return Claim(identity, created=True, existed=False)


# -- gitops claim ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimRequest:
    """``gitops claim``: bind the cluster a kubeconfig reaches to ``environment``."""

    environment: str
    connection: Connection
    claimed_by: str
    via: str
    repository: str = ""
    dry_run: bool = False
    claim_command: str = "gitops claim --environment ENV"


@dataclass(frozen=True)
class HandoverRequest:
    """``--handover WORKFLOW``: would the automatic deploy of ``workflow`` the cluster workflow
    dispatches next deploy anything? (:mod:`gitops.core.handover`)"""

    workflow: str
    gate: GateRequest  # the automatic dispatch, as the cluster workflow sends it
    actions_url: str
    ref: str


@dataclass(frozen=True)
class ClaimOutcome:
    claim: Claim
    host: str
    handover: Handover | None = None


def claim_cluster(request: ClaimRequest, handover_request: HandoverRequest | None = None) -> ClaimOutcome:
    """Connect, claim, and (when asked) decide the handover to the deploy workflow."""
    from gitops.operations import deploy_records
    from gitops.operations.connection import connected

    identity = Identity(
        request.environment, deploy_records.now(), request.claimed_by, request.via, request.repository
    )
    needs = (
        "get and create on ConfigMaps in the gitops-system namespace (and create on Namespaces, the first "
        "time), get on gitops-system/gitops-deploy-record"
    )
    source, timeout = request.connection.source, request.connection.request_timeout
    with connected(source, timeout, needs=needs, did="nothing was claimed") as kube:
        done = claim(kube, identity, claim_command=request.claim_command, dry_run=request.dry_run)
        history = deploy_records.read(kube) if handover_request else None
        host = kube.host
    if handover_request is None:
        return ClaimOutcome(done, host)
    return ClaimOutcome(done, host, _handover(request.environment, handover_request, history))


def _handover(environment: str, request: HandoverRequest, history: DeployHistory | None) -> Handover:
    from dataclasses import replace

    from gitops.core.handover import handover
    from gitops.operations.gating import load_policy

    policy = load_policy(request.gate.control)
    automatic = request.gate.evaluate(policy)
    manual = replace(request.gate, automatic=None).evaluate(policy)
    current = history.last_successful if history else None
    deployed = None
    if current is not None:
        deployed = f"{current.commit[:12]} (deployed {current.finished_at or current.started_at})"
    return handover(
        environment,
        automatic,
        manual,
        workflow=request.workflow,
        ref=request.ref,
        actions_url=request.actions_url,
        deployed=deployed,
    )
