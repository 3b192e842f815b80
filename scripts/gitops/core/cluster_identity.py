"""Which environment a cluster belongs to: the identity record every deploy reads before it writes.

Why a record at all: an environment secret that does not exist falls back to a repository secret
of the same name, so prod's job can be handed dev's ``KUBECONFIG`` and would deploy prod's
manifests (and prod's database passwords) onto dev's cluster. The kubeconfig cannot tell which
environment a cluster is; the cluster can, if it carries a record that says so.

The record is a ConfigMap, ``gitops-system/gitops-cluster-identity``, whose
``data.environment`` names the environment (the other keys say who bound it, when and how):

* a ConfigMap, not a custom resource: nothing to install first (a CRD needs cluster-admin),
  readable with ``kubectl get configmap``;
* in its own namespace, not ``kube-system``: a least-privilege deployer gets a Role in
  ``gitops-system`` with ``get`` on exactly ``resourceNames: [gitops-cluster-identity,
  gitops-deploy-record]`` (and ``update`` on the record), and needs no right at all in
  ``kube-system``, where k3s keeps its own secrets; no overlay deploys into ``gitops-system``,
  so a ``namespace:`` transformer or a pruned application namespace never touches it;
* reading it is one ``GET`` of that ConfigMap: no ``list``, no discovery. A deployer that may not
  read it gets a 403, which is refused like a missing record (we cannot tell whose cluster it is).

Nothing here deletes a record: binding a cluster to another environment is a person's decision,
made by deleting the ConfigMap by hand (the refusal says how) and claiming again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

NAMESPACE = "gitops-system"
IDENTITY = "gitops-cluster-identity"
MANAGED_BY = {"app.kubernetes.io/managed-by": "gitops", "app.kubernetes.io/part-of": "gitops-deploy-suite"}
DELETE_COMMAND = f"kubectl --namespace {NAMESPACE} delete configmap {IDENTITY}"


@dataclass(frozen=True)
class Identity:
    """What the record says. Only ``environment`` decides anything; the rest is for people."""

    environment: str
    claimed_at: str = ""
    claimed_by: str = ""
    via: str = ""  # "gitops claim", "gitops deploy --claim", "hetzner-k8s" ...
    repository: str = ""

    def describe(self) -> str:
        """``claimed 2026-11-26T10:00:00Z by alice via gitops claim``."""
        parts = [f"claimed {self.claimed_at}" if self.claimed_at else "claimed"]
        if self.claimed_by:
            parts.append(f"by {self.claimed_by}")
        if self.via:
            parts.append(f"via {self.via}")
        if self.repository:
            parts.append(f"for {self.repository}")
        return " ".join(parts)

    def to_json(self) -> dict[str, str]:
        return {
            "environment": self.environment,
            "claimed_at": self.claimed_at,
            "claimed_by": self.claimed_by,
            "via": self.via,
            "repository": self.repository,
        }


class RecordUnreadable(ValueError):  # noqa: N818 - the name says what happened
    """A record ConfigMap exists but is not what gitops wrote (edited by hand?)."""


def parse(configmap: Mapping[str, Any] | None) -> Identity | None:
    """The identity in a ConfigMap as the API returns it; None when there is none."""
    if configmap is None:
        return None
    data = configmap.get("data")
    if not isinstance(data, Mapping):
        raise RecordUnreadable(f"{NAMESPACE}/{IDENTITY} has no data")
    environment = data.get("environment")
    if not isinstance(environment, str) or not environment.strip():
        raise RecordUnreadable(f"{NAMESPACE}/{IDENTITY} has no data.environment")

    def text(key: str) -> str:
        value = data.get(key)
        return value.strip() if isinstance(value, str) else ""

    return Identity(
        environment=environment.strip(),
        claimed_at=text("claimed-at"),
        claimed_by=text("claimed-by"),
        via=text("claimed-via"),
        repository=text("repository"),
    )


def namespace_body() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": dict(MANAGED_BY)},
    }


def configmap_body(identity: Identity) -> dict[str, Any]:
    """The record to create for ``identity`` (POST; never an update of someone else's record)."""
    data = {
        "environment": identity.environment,
        "claimed-at": identity.claimed_at,
        "claimed-by": identity.claimed_by,
        "claimed-via": identity.via,
        "repository": identity.repository,
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": IDENTITY,
            "namespace": NAMESPACE,
            "labels": dict(MANAGED_BY),
            "annotations": {
                "gitops/purpose": "Names the environment this cluster belongs to. Every gitops deploy "
                "reads it before its first write and refuses a cluster of another environment."
            },
        },
        "data": {key: value for key, value in data.items() if value},
    }


class Verdict(Enum):
    OURS = "ours"  # the record names this environment
    OTHER = "other"  # it names another environment: refuse
    UNCLAIMED = "unclaimed"  # no record: refuse, or claim it when asked to


@dataclass(frozen=True)
class Binding:
    """What a deploy may do with the cluster it reached, and the sentence that says why."""

    verdict: Verdict
    environment: str  # the environment being deployed
    identity: Identity | None
    message: str
    hint: str = ""

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.OURS


# What is refused, and what was therefore not done, per use case ({env}: the environment).
REFUSALS = {
    "deploy": ("refusing to deploy {env} onto it", "nothing was written"),
    "diff": ("refusing to compare {env}'s manifests with it", "nothing was sent to it"),
}


def check(
    identity: Identity | None, environment: str, *, host: str, claim_command: str, action: str = "deploy"
) -> Binding:
    """Does the cluster at ``host`` belong to ``environment``? ``claim_command`` is what binds it;
    ``action`` (a key of :data:`REFUSALS`) what the caller was about to do.

    Environment names compare exactly (``prod`` is not ``Prod``): they are keys of the policy.
    """
    refusing, not_done = REFUSALS[action]
    refusing = refusing.format(env=environment)
    if identity is None:
        return Binding(
            Verdict.UNCLAIMED,
            environment,
            None,
            f"the cluster at {host} has no identity record ({NAMESPACE}/{IDENTITY}), so nothing says it "
            f"is {environment}'s: {refusing}; {not_done}",
            hint=f"if this IS {environment}'s cluster, bind it once: {claim_command} (the cluster "
            "workflow binds the clusters it creates); if it is not, the kubeconfig is wrong",
        )
    if identity.environment == environment:
        return Binding(
            Verdict.OURS,
            environment,
            identity,
            f"the cluster at {host} is {environment}'s ({identity.describe()})",
        )
    return Binding(
        Verdict.OTHER,
        environment,
        identity,
        f"the cluster at {host} belongs to environment '{identity.environment}' ({identity.describe()}), "
        f"not to '{environment}': {refusing}; {not_done}",
        hint=f"the kubeconfig given for {environment} reaches {identity.environment}'s cluster. In a "
        f"workflow this happens when environment '{environment}' has no KUBECONFIG secret of its own "
        "and GitHub falls back to the repository secret of the same name: add the secret to the "
        f"'{environment}' environment (Settings > Environments). If this cluster really is "
        f"{environment}'s now, unbind it first ({DELETE_COMMAND}), then {claim_command}",
    )
