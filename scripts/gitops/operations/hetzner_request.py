"""What one ``gitops cluster`` run works with, read and checked before anything runs.

:func:`prepare` turns what was asked (:class:`Inputs`: the flags or action inputs, as text) into
the :class:`gitops.operations.hetzner_cluster.Request` that
:func:`gitops.operations.hetzner_cluster.provision` runs:

* the environment's cluster config (``infra/k8s/hetzner/<env>/cluster/cluster-config.yaml``
  unless another is named), read bounded (:mod:`gitops.core.documents`) and its ``k3s_version``
  checked;
* the Hetzner token and the nodes' SSH key pair from the environment variables named, masked
  before anything can print them; without the key pair, the config's own key files must exist
  here (a laptop);
* where hetzner-k3s writes the kubeconfig: in Actions a ``~/`` path goes under ``$RUNNER_TEMP``,
  which the runner empties when the job ends;
* the running cluster's kubeconfig, if any (an empty ``KUBECONFIG`` secret: no cluster yet);
* the hetzner-k3s to run, verified (:mod:`gitops.operations.hetzner_tool`) before any secret is
  written to disk.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.adapters import runner, textfile
from gitops.adapters.kubeconfig_source import KubeconfigSource
from gitops.core import documents
from gitops.core import hetzner_k3s as hk
from gitops.errors import ConfigurationError
from gitops.operations import hetzner_tool
from gitops.operations.hetzner_cluster import Request, Secrets

CONFIG_TEMPLATE = "infra/k8s/hetzner/{env}/cluster/cluster-config.yaml"

CLUSTER_CONFIG = documents.DocumentKind(
    title="Invalid cluster config",
    message="the cluster config is {problem}",
    hint="fix the YAML syntax at that line (indentation, a missing colon or quote)",
)


@dataclass(frozen=True)
class Inputs:
    """What the run was asked to do, as given: flags and variable names, nothing read yet."""

    environment: str
    config: str | None  # the cluster config's path; None: CONFIG_TEMPLATE of the environment
    timeout: float
    upgrade: bool
    skip_version_check: bool
    token_env: str | None  # None: HCLOUD_TOKEN, else HETZNER_TOKEN
    ssh_private_key_env: str
    ssh_public_key_env: str
    kubeconfig_path: str | None  # None: the config's kubeconfig_path
    cluster_kubeconfig: str  # the running cluster's kubeconfig file ("" when not given)
    cluster_kubeconfig_env: str  # or the variable holding it
    cluster_context: str
    binary: str | None  # hetzner-k3s: a given binary, else the pinned release
    version: str | None
    sha256: str | None
    download_url: str | None


def prepare(inputs: Inputs) -> Request:
    """The request for :func:`gitops.operations.hetzner_cluster.provision`; the tool verified
    before any secret is written."""
    config_path = _config_path(inputs.config, inputs.environment)
    secrets = _secrets(inputs)
    document = _load_config(config_path)
    if not isinstance(document, Mapping):
        document = {}
    configured_private, configured_public, configured_kubeconfig = hk.configured_paths(document)
    hk.k3s_version_of(document, str(config_path))
    if secrets.private_key is None:
        _check_key_files(inputs.ssh_private_key_env, (configured_private, configured_public))
    kubeconfig = _kubeconfig_target(
        inputs.kubeconfig_path, configured_kubeconfig or "kubeconfig", inputs.environment
    )
    running = _running(inputs)
    tool = hetzner_tool.resolve_tool(
        inputs.binary,
        version=inputs.version,
        sha256=inputs.sha256,
        download_url=inputs.download_url,
        section="upgrade" if inputs.upgrade else "",
    )
    return Request(
        environment=inputs.environment,
        config_path=config_path,
        document=document,
        secrets=secrets,
        kubeconfig=kubeconfig,
        tool=tool,
        timeout=inputs.timeout,
        upgrade=inputs.upgrade,
        running=running,
        skip_version_check=inputs.skip_version_check,
        path_prefix=hetzner_tool.tool_path_prefix(os.environ),
    )


def _token(token_env: str | None) -> str:
    console = runner.current()
    names = [token_env] if token_env else ["HCLOUD_TOKEN", "HETZNER_TOKEN"]
    for name in names:
        value = console.env(name).strip()
        if value:
            console.mask(value)
            return value
    raise ConfigurationError(
        f"no Hetzner Cloud token: set {' or '.join(names)}",
        key=names[0],
        title="Hetzner token missing",
        hint="in a workflow: `env: HCLOUD_TOKEN: ${{ secrets.HETZNER_TOKEN }}` on the step (a read & write "
        "API token of the environment's Hetzner project)",
    )


def _secrets(inputs: Inputs) -> Secrets:
    console = runner.current()
    token = _token(inputs.token_env)
    private = console.env(inputs.ssh_private_key_env)
    public = console.env(inputs.ssh_public_key_env)
    if private.strip():
        console.mask(private)
        private = hk.normalize_key(private)
        console.mask(private)
        if not hk.looks_like_private_key(private):
            raise ConfigurationError(
                f"${inputs.ssh_private_key_env} does not hold a private key "
                "(no -----BEGIN ... PRIVATE KEY----- block)",
                key=inputs.ssh_private_key_env,
                title="SSH key invalid",
                hint="store the whole key file: `gh secret set HETZNER_SSH_PRIVATE_KEY < ~/.ssh/id_ed25519`",
            )
        if not public.strip():
            raise ConfigurationError(
                f"${inputs.ssh_private_key_env} is set but ${inputs.ssh_public_key_env} is empty; "
                "hetzner-k3s needs both",
                key=inputs.ssh_public_key_env,
                title="SSH key missing",
            )
        return Secrets(token, private, hk.normalize_key(public))
    return Secrets(token, None, None)


def _config_path(config: str | None, environment: str) -> Path:
    path = Path(config or CONFIG_TEMPLATE.format(env=environment))
    if not path.is_file():
        found = sorted(p.parts[-3] for p in Path().glob(CONFIG_TEMPLATE.format(env="*")))
        raise ConfigurationError(
            f"cluster config {path} {'is a directory, not a file' if path.is_dir() else 'does not exist'}",
            file=str(path),
            key="--config",
            title="Cluster config not found",
            hint=f"environments with a cluster config: {', '.join(found) or 'none'}; or pass --config PATH",
        )
    return path


def _load_config(path: Path) -> Any:
    text = textfile.read_input(
        path, what=f"the cluster config {path}", key="--config", title="Invalid cluster config"
    )
    if not text.strip():
        raise ConfigurationError(
            f"the cluster config {path} is empty",
            file=str(path),
            key="--config",
            title="Invalid cluster config",
            hint="write the hetzner-k3s cluster config (https://github.com/vitobotta/hetzner-k3s)",
        )
    return documents.load(text, str(path), CLUSTER_CONFIG)


def _check_key_files(private_key_env: str, configured: tuple[str, str]) -> None:
    """Without the key pair in secrets, the config's own key files must exist here (a laptop)."""
    missing = [p for p in configured if not Path(p).expanduser().is_file()]
    if missing:
        raise ConfigurationError(
            f"no SSH key: ${private_key_env} is empty and the config's key files do not exist "
            f"here ({', '.join(missing)})",
            key=private_key_env,
            title="SSH key missing",
            hint="pass the key pair from secrets: HETZNER_SSH_PRIVATE_KEY and HETZNER_SSH_PUBLIC_KEY",
        )


def _kubeconfig_target(asked: str | None, configured: str, environment: str) -> Path:
    console = runner.current()
    if asked:
        return Path(asked).expanduser().absolute()
    if configured.startswith("~") and console.env("RUNNER_TEMP"):
        # Not in the runner's home: RUNNER_TEMP is emptied when the job ends, a home directory of a
        # self-hosted runner is not.
        return Path(console.env("RUNNER_TEMP")) / f"gitops-kubeconfig-{environment}" / Path(configured).name
    return Path(configured).expanduser().absolute()


def _running(inputs: Inputs) -> KubeconfigSource | None:
    path, env_var = inputs.cluster_kubeconfig.strip(), inputs.cluster_kubeconfig_env.strip()
    if path and env_var:
        raise ConfigurationError(
            "--cluster-kubeconfig and --cluster-kubeconfig-env are mutually exclusive",
            key="--cluster-kubeconfig-env",
            title="Invalid arguments",
            hint="pass the running cluster's kubeconfig one way only",
        )
    if env_var and not runner.current().env(env_var).strip():
        return None  # the KUBECONFIG secret does not exist yet: no cluster was ever created
    if not path and not env_var:
        return None
    return KubeconfigSource(
        Path(path) if path else None, env_var or None, inputs.cluster_context.strip() or None
    )
