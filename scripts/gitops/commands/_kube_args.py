"""Arguments shared by the verbs that talk to a cluster (apply, cluster-ready, deploy).

Every option accepts an empty value as "the default", so a composite action can pass each
input through ``--flag="$GITOPS_INPUT_X"`` unchanged. Booleans are exactly 'true'/'false'.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gitops.adapters.kube import DEFAULT_REQUEST_TIMEOUT, KubeconfigSource
from gitops.errors import ConfigurationError

UNREACHABLE_HINT = (
    "check that the cluster is up and that the kubeconfig's server URL is reachable from here "
    "(for a Hetzner cluster: networking.allowed_networks.api in its cluster config must admit this machine)"
)

KUBECONFIG_HELP = """\
kubeconfig: --kubeconfig PATH, or --kubeconfig-env VAR (the kubeconfig CONTENT, plain or
base64, in that environment variable: how a workflow passes a secret without writing it to
disk), else $KUBECONFIG / ~/.kube/config. Credentials are masked and never written to disk
(client certificates live in anonymous memory files on Linux).
"""


def add_kube_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cluster connection")
    group.add_argument("--kubeconfig", default="", metavar="PATH", help="kubeconfig file")
    group.add_argument(
        "--kubeconfig-env",
        default="",
        metavar="VAR",
        help="environment variable holding the kubeconfig content (never written to disk)",
    )
    group.add_argument("--context", default="", metavar="NAME", help="kubeconfig context (default: current)")
    group.add_argument(
        "--request-timeout",
        default="",
        metavar="SECONDS",
        help=f"timeout of each API request (default: {DEFAULT_REQUEST_TIMEOUT:.0f})",
    )


def kube_source(args: argparse.Namespace) -> KubeconfigSource:
    path = args.kubeconfig.strip()
    env_var = args.kubeconfig_env.strip()
    if path and env_var:
        raise ConfigurationError(
            "--kubeconfig and --kubeconfig-env are mutually exclusive",
            key="--kubeconfig-env",
            hint="pass the kubeconfig one way only",
            title="Invalid arguments",
        )
    return KubeconfigSource(Path(path) if path else None, env_var or None, args.context.strip() or None)


def seconds(value: str, name: str, default: float) -> float:
    """A positive number of seconds; empty = ``default``."""
    text = value.strip()
    if not text:
        return default
    try:
        number = float(text)
    except ValueError:
        number = -1
    if number <= 0:
        raise ConfigurationError(
            f"{name} must be a positive number of seconds, not {value!r}",
            key=name,
            title="Invalid input",
            hint=f"write plain seconds, e.g. {name} {default:.0f} (units such as 5m are not accepted)",
        )
    return number


def credentials_error(
    host: str, context: str, source: KubeconfigSource, status: int | None, detail: str, *, needs: str
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
