"""What to tell the user when the Kubernetes API server refuses a kubeconfig or cannot be reached.

A 401 and a 403 need different fixes (Kubernetes: "Authenticating" vs "Authorization"
overview, https://kubernetes.io/docs/reference/access-authn-authz/): 401 means the server does
not know who is asking (a wrong or expired token or client certificate), 403 that it knows
and RBAC does not allow the request. The GitHub counterpart is :mod:`gitops.core.github_errors`.
"""

from __future__ import annotations

from typing import Protocol

from gitops.errors import ConfigurationError

UNREACHABLE_HINT = (
    "check that the cluster is up and that the kubeconfig's server URL is reachable from here "
    "(for a Hetzner cluster: networking.allowed_networks.api in its cluster config must admit this machine)"
)


class KubeconfigOrigin(Protocol):
    """Where a kubeconfig came from (``adapters.kubeconfig_source.KubeconfigSource``), said in words."""

    def describe(self) -> str: ...


def credentials_error(
    host: str, context: str, source: KubeconfigOrigin, status: int | None, detail: str, *, needs: str
) -> ConfigurationError:
    """The API server said 401 (who are you?) or 403 (not allowed): two different fixes."""
    where = f"context {context!r} of {source.describe()}"
    if status == 401:
        return ConfigurationError(
            f"the API server at {host} rejected the credentials of {where} (HTTP 401: the token or "
            f"client certificate is wrong or expired): {detail}",
            title="Kubernetes credentials rejected",
            hint="get a fresh kubeconfig for this cluster (for a Hetzner cluster, the hetzner-k8s workflow "
            "stores a new KUBECONFIG secret after every run) and check that --context names this cluster",
        )
    return ConfigurationError(
        f"the API server at {host} accepted the credentials of {where} but does not allow this "
        f"(HTTP 403): {detail}",
        title="Kubernetes permission missing",
        hint=f"grant the kubeconfig's user (RBAC) {needs}, or use a kubeconfig with more rights",
    )
