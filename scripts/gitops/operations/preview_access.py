"""The read-only identity of previews and drift checks: create it in a cluster, store its kubeconfig.

``gitops preview-access`` (run by the Hetzner cluster workflow after each cluster run):

1. server-side applies, with the cluster's admin kubeconfig, the objects of
   ``gitops/data/preview-access.yaml``: a ServiceAccount, its long-lived token Secret, a
   ClusterRole that may get, list and watch the kinds an overlay deploys and nothing else (no
   Secrets, no writes, so no dry run either), and the binding;
2. waits (bounded) until the token controller has put the token into the Secret;
3. builds a kubeconfig for that token, in memory: the admin kubeconfig's server and certificate
   authority, the token as its only credential; every credential in it is masked first;
4. stores it as the ``KUBECONFIG_READONLY`` secret of the ``<env>-preview`` GitHub environment
   (:func:`gitops.operations.kubeconfig_upload.store`: validated, sealed, written, read back).

The kubeconfig is never written to disk and never printed. Running it again keeps the same
token (rotate it by deleting the Secret ``kube-system/gitops-preview-token`` first).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gitops.adapters import runner
from gitops.adapters.clock import SYSTEM_CLOCK, Clock, poll
from gitops.core.redaction import kubeconfig_text_pieces
from gitops.errors import ConfigurationError
from gitops.operations import kubeconfig_upload
from gitops.operations.connection import connected

if TYPE_CHECKING:
    from gitops.adapters.github import StoredSecret
    from gitops.adapters.kube import Kube
    from gitops.adapters.kubeconfig_source import KubeconfigSource
    from gitops.operations.kubeconfig_upload import UploadRequest

MANIFESTS = "data/preview-access.yaml"
TOKEN_SECRET = ("kube-system", "gitops-preview-token")
ACCOUNT = "gitops-preview"
TOKEN_TIMEOUT = 60.0  # the token controller fills a new token Secret within seconds


@dataclass(frozen=True)
class AccessRequest:
    source: KubeconfigSource  # the cluster's admin kubeconfig
    upload: UploadRequest  # where the read-only kubeconfig goes (environment, secret name, token)
    request_timeout: float = 30.0
    field_manager: str = "gitops"


@dataclass(frozen=True)
class Access:
    service_account: str  # namespace/name
    applied: list[str]  # the objects, as "Kind name"
    secret: StoredSecret
    environment_created: bool


def manifests() -> list[dict[str, Any]]:
    """The read-only identity's objects, as shipped (the README shows the same file)."""
    from gitops.operations.rendering import load_manifests

    text = resources.files("gitops").joinpath(MANIFESTS).read_text(encoding="utf-8")
    return load_manifests(text, f"gitops/{MANIFESTS}")


def create(request: AccessRequest, *, clock: Clock = SYSTEM_CLOCK) -> Access:
    """Apply the identity, wait for its token, upload its kubeconfig. See the module docstring."""
    needs = "create and patch on serviceaccounts, secrets, clusterroles, clusterrolebindings (admin)"
    with connected(request.source, request.request_timeout, needs=needs, did="nothing was stored") as kube:
        applied = _apply(kube, request.field_manager)
        content = kubeconfig(kube, _token(kube, clock))
    stored = kubeconfig_upload.store(request.upload, content)
    namespace, _ = TOKEN_SECRET
    return Access(f"{namespace}/{ACCOUNT}", applied, stored.secret, stored.environment_created)


def _apply(kube: Kube, field_manager: str) -> list[str]:
    console = runner.current()
    applied: list[str] = []
    for obj in manifests():
        res = kube.resource(str(obj["apiVersion"]), str(obj["kind"]))
        if res is None:
            raise ConfigurationError(
                f"the cluster at {kube.host} does not serve {obj['kind']} ({obj['apiVersion']})",
                title="Unknown kind",
            )
        kube.apply(res, obj, field_manager=field_manager)
        name = f"{obj['kind']} {obj['metadata']['name']}"
        console.log(f"applied {name}")
        applied.append(name)
    return applied


def _token(kube: Kube, clock: Clock) -> str:
    """The ServiceAccount's token, once the token controller has filled it in (masked at once)."""
    from gitops.operations.apply_engine.kinds import SECRET

    res = SECRET
    namespace, name = TOKEN_SECRET

    def look() -> str | None:
        secret = kube.get(res, namespace, name) or {}
        value = (secret.get("data") or {}).get("token")
        if not value:
            return None
        try:
            token = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
        runner.current().mask(token)
        return token

    token = poll(clock, look, bool, timeout=TOKEN_TIMEOUT, interval=1.0)
    if not token:
        raise ConfigurationError(
            f"the token controller did not fill Secret {namespace}/{name} within {TOKEN_TIMEOUT:.0f}s",
            title="No ServiceAccount token",
            hint="check that kube-controller-manager runs its serviceaccount-token controller "
            "(k3s does by default), then run again",
        )
    return token


def kubeconfig(kube: Kube, token: str) -> str:
    """A kubeconfig for ``token`` on the admin kubeconfig's server and CA; masked before it is returned."""
    ca = _ca_data(kube)
    cluster: dict[str, Any] = {"server": kube.host}
    if ca:
        cluster["certificate-authority-data"] = ca
    name = f"{kube.connection.context}-readonly"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": ACCOUNT, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": ACCOUNT}}],
        "current-context": name,
    }
    text = yaml.safe_dump(config, sort_keys=False)
    console = runner.current()
    for piece in kubeconfig_text_pieces(text):
        console.mask(piece)
    return text


def _ca_data(kube: Kube) -> str | None:
    """The certificate authority the admin kubeconfig trusts, base64 (None: the system's)."""
    configuration = kube.connection.configuration
    data = getattr(configuration, "ca_cert_data", None)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if data:
        return base64.b64encode(data).decode("ascii")
    path = getattr(configuration, "ssl_ca_cert", None)
    if path:
        # a file the admin kubeconfig names
        return base64.b64encode(Path(str(path)).read_bytes()).decode("ascii")
    return None
