"""A connection to one cluster for a use case, closed after it, with the API server's refusals explained.

``gitops diff`` and ``gitops preview-access`` each make one such connection. A 401 or 403 is the
user's to fix (:func:`gitops.core.kube_errors.credentials_error`, with what the kubeconfig needs);
no answer at all is too, and names the usual cause (:data:`gitops.core.kube_errors.UNREACHABLE_HINT`).
Both exit 1: a use case that could not talk to the cluster did nothing, it did not fail half-way.
(``gitops apply``/``deploy`` report an unreachable cluster as a failed deploy instead:
:mod:`gitops.operations.deployment`.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from gitops.core.kube_errors import UNREACHABLE_HINT, credentials_error
from gitops.errors import ConfigurationError

if TYPE_CHECKING:
    from gitops.adapters.kube import Kube
    from gitops.adapters.kubeconfig_source import KubeconfigSource


@contextmanager
def connected(source: KubeconfigSource, request_timeout: float, *, needs: str, did: str) -> Iterator[Kube]:
    """``Kube`` on ``source``; ``needs``: the RBAC grant a 403 asks for; ``did``: what was done, for
    the unreachable message (``nothing was compared``)."""
    from gitops.adapters.kube import Kube, KubeError

    kube = Kube.connect(source, request_timeout=request_timeout)
    try:
        yield kube
    except KubeError as err:
        context = kube.connection.context
        if err.status in (401, 403):
            raise credentials_error(
                kube.host, context, source, err.status, err.describe(), needs=needs
            ) from None
        raise ConfigurationError(
            f"cannot talk to the API server at {kube.host} (context {context!r}): {err.describe()}; {did}",
            title="Kubernetes API unreachable",
            hint=UNREACHABLE_HINT,
        ) from None
    finally:
        kube.close()
