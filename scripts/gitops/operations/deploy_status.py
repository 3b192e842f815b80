"""What is deployed where (``gitops status``, and the column of ``gitops plan``), read from each
environment's cluster: its identity record and its deploy record (:mod:`gitops.core.deploy_record`).

Which kubeconfig reaches which environment's cluster, in order:

1. ``--cluster ENV=PATH`` given for that environment;
2. the ``kubeconfig_path`` of its committed Hetzner cluster config
   (``infra/k8s/hetzner/<env>/cluster/cluster-config.yaml``): where ``hetzner-k3s create`` run
   on a laptop writes it, e.g. ``~/.kube/hetzner-dev-cluster.yaml``; only when that file exists.

Or one kubeconfig (``--kubeconfig``/``--kubeconfig-env``/``--context``): then the one cluster it
reaches is reported, under the environment its identity record names.

Reading is two ``GET`` requests per cluster with a short timeout and one retry: a status must not
hang on a cluster that is down. Nothing is written. A cluster whose identity names another
environment is reported as such, never as this environment's state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops.adapters import textfile
from gitops.core import documents
from gitops.core.cluster_identity import Identity
from gitops.core.deploy_record import DeployHistory
from gitops.errors import ConfigurationError

if TYPE_CHECKING:
    from gitops.adapters.kubeconfig_source import KubeconfigSource

CLUSTER_CONFIG = "k8s/hetzner/{env}/cluster/cluster-config.yaml"  # under the infra directory
STATUS_TIMEOUT = 10.0
_CLUSTER_CONFIG = documents.DocumentKind(title="Invalid cluster config")


@dataclass(frozen=True)
class EnvironmentStatus:
    """One environment's cluster as it answered (or why it could not)."""

    environment: str
    kubeconfig: str  # where the kubeconfig came from, in words; "" when there is none
    identity: Identity | None = None
    history: DeployHistory | None = None  # None: not read (no kubeconfig, unreachable, another's cluster)
    problem: str | None = None

    @property
    def reached(self) -> bool:
        return self.history is not None

    def to_json(self, limit: int) -> dict[str, Any]:
        history = self.history
        current = history.last_successful if history else None
        return {
            "environment": self.environment,
            "kubeconfig": self.kubeconfig or None,
            "reached": self.reached,
            "problem": self.problem,
            "identity": self.identity.to_json() if self.identity else None,
            "deployed": current.to_json() if current else None,
            "latest": history.latest.to_json() if history and history.latest else None,
            "history": [e.to_json() for e in history.recent(limit)] if history else [],
        }


def read(
    environment: str, source: KubeconfigSource, described: str, request_timeout: float = STATUS_TIMEOUT
) -> EnvironmentStatus:
    """The status of ``environment`` through ``source`` (a cluster of another environment is a problem)."""
    found = read_cluster(source, described, request_timeout)
    if found.identity is not None and found.identity.environment != environment:
        return EnvironmentStatus(
            environment,
            described,
            found.identity,
            None,
            f"this kubeconfig reaches {found.identity.environment}'s cluster, not {environment}'s",
        )
    problem = found.problem
    if problem is None and found.identity is None:
        problem = f"the cluster is bound to no environment (gitops claim --environment {environment})"
    return EnvironmentStatus(environment, described, found.identity, found.history, problem)


def read_cluster(
    source: KubeconfigSource, described: str, request_timeout: float = STATUS_TIMEOUT
) -> EnvironmentStatus:
    """Whatever cluster ``source`` reaches: its identity names the environment ("?" when none)."""
    from gitops.adapters.kube import Kube, KubeError
    from gitops.core.retry import RetryPolicy
    from gitops.operations import cluster_binding, deploy_records

    try:
        kube = Kube.connect(source, request_timeout=request_timeout, retry=RetryPolicy(attempts=2))
    except ConfigurationError as exc:
        return EnvironmentStatus("?", described, problem=f"unusable kubeconfig: {exc.message}")
    try:
        identity = cluster_binding.read_identity(kube)
        history = deploy_records.read(kube)
    except KubeError as err:
        what = "not allowed" if err.status in (401, 403) else "unreachable"
        return EnvironmentStatus("?", described, problem=f"{what}: {err.describe()}")
    except ConfigurationError as exc:
        return EnvironmentStatus("?", described, problem=exc.message)
    finally:
        kube.close()
    return EnvironmentStatus(identity.environment if identity else "?", described, identity, history)


def kubeconfig_of(environment: str, infra: Path, explicit: Mapping[str, Path]) -> tuple[Path | None, str]:
    """The kubeconfig of ``environment``'s cluster and where it came from (see the module docstring)."""
    from gitops.core.hetzner_k3s import configured_paths

    if environment in explicit:
        return explicit[environment], f"--cluster {environment}={explicit[environment]}"
    config = infra / CLUSTER_CONFIG.format(env=environment)
    try:
        doc = documents.load(textfile.read(config), str(config), _CLUSTER_CONFIG)
    except (OSError, documents.DocumentError):
        return None, ""  # no usable cluster config: no kubeconfig known for this environment
    configured = configured_paths(doc)[2] if isinstance(doc, Mapping) else ""
    if not configured:
        return None, ""
    path = Path(configured).expanduser()
    if not path.is_file():
        return None, ""
    return path, f"{configured} (kubeconfig_path of {config})"


def policy_environments(control: Path) -> list[str]:
    """The environments the policy governs, in its order (what ``gitops status`` shows by default)."""
    from gitops.operations.gating import load_policy

    return list(load_policy(control).environments)


def statuses(
    environments: Sequence[str],
    infra: Path,
    explicit: Mapping[str, Path],
    request_timeout: float = STATUS_TIMEOUT,
) -> list[EnvironmentStatus]:
    """Every environment's status, each through its own kubeconfig."""
    from gitops.adapters.kubeconfig_source import KubeconfigSource

    found = []
    for environment in environments:
        path, described = kubeconfig_of(environment, infra, explicit)
        if path is None:
            found.append(EnvironmentStatus(environment, "", problem="no kubeconfig for its cluster"))
            continue
        found.append(read(environment, KubeconfigSource(path=path), described, request_timeout))
    return found
