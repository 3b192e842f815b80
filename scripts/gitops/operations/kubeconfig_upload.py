"""Storing a kubeconfig as a GitHub ENVIRONMENT secret (``gitops upload-kubeconfig``).

Order matters: the kubeconfig is masked line by line before anything else, validated before
any API call (:func:`gitops.core.kubeconfig.validate_kubeconfig`), optionally probed with a TLS
handshake, and sealed (libsodium ``crypto_box_seal``) with the public key of the target
environment (https://docs.github.com/en/rest/actions/secrets). After the PUT the secret's
metadata is read back and its ``updated_at`` reported, which proves the write landed. A 404 on
the public key is explained: the repository, the environment, or the token's permission.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitops.adapters import runner, textfile
from gitops.core import github_errors
from gitops.core.kubeconfig import KubeconfigFacts, validate_kubeconfig
from gitops.core.redaction import kubeconfig_text_pieces
from gitops.errors import ConfigurationError

if TYPE_CHECKING:
    from gitops.adapters.github import Access, GitHub, Repo, StoredSecret


@dataclass(frozen=True)
class UploadRequest:
    """``gitops upload-kubeconfig``, its flags checked."""

    access: Access
    environment: str
    name: str  # the secret's name, upper case (GitHub stores it so)
    file: Path | None  # exactly one of file and from_env
    from_env: str | None
    create_environment: bool = False
    check_server: bool = False
    made: str | None = None  # neither: what made the kubeconfig in memory (gitops preview-access)

    @property
    def repo(self) -> Repo:
        return self.access.repo

    @property
    def source(self) -> str:
        if self.made:
            return self.made
        return str(self.file) if self.file is not None else f"${self.from_env}"


@dataclass(frozen=True)
class Uploaded:
    """What :func:`upload` stored, and what it learned about the kubeconfig on the way."""

    facts: KubeconfigFacts
    secret: StoredSecret
    environment_created: bool
    server_check: str | None  # the probe's answer, with --check-server
    token: str  # which token wrote it, described (never its value)


def upload(request: UploadRequest) -> Uploaded:
    """Read, mask, validate, (probe,) seal and store the kubeconfig; see the module docstring."""
    return store(request, read_kubeconfig(request))


def store(request: UploadRequest, content: str) -> Uploaded:
    """Validate, (probe,) seal and store ``content``, a kubeconfig whose credentials are masked
    already (:func:`read_kubeconfig` does that; so does ``gitops preview-access``, which makes one)."""
    console = runner.current()
    facts = validate_kubeconfig(content, request.source)
    for warning in facts.warnings:
        console.warning(warning, title="Kubeconfig")
    probe_detail = check_server(content, facts) if request.check_server else None

    repo = request.repo
    client = request.access.connect()
    try:
        requirements = [("secrets", "environments")] + (
            [("administration",)] if request.create_environment else []
        )
        client.require_app_permissions(*requirements, operation=f"write environment secrets of {repo.full}")
        environment_created = False
        if request.create_environment and not client.environment_exists(
            repo, request.environment, needs=github_errors.SECRETS_WRITE
        ):
            _repository_or_fail(client, repo)
            client.create_environment(repo, request.environment)
            environment_created = True
            console.log(f"created environment {request.environment!r} of {repo.full}")
        key = client.environment_public_key(repo, request.environment)
        if key is None:
            raise _missing(client, repo, request.environment)
        stored = client.put_environment_secret(repo, request.environment, request.name, content, key)
    finally:
        client.close()
    return Uploaded(facts, stored, environment_created, probe_detail, client.token.describe())


def read_kubeconfig(request: UploadRequest) -> str:
    """The kubeconfig's text, every credential in it masked before it is returned."""
    console = runner.current()
    if request.file is not None:
        path = request.file
        try:
            text = textfile.read(path)
        except FileNotFoundError:
            raise ConfigurationError(
                f"kubeconfig file {path} does not exist",
                file=str(path),
                key="--file",
                title="Kubeconfig not found",
                hint="pass the path hetzner-k3s wrote (the `kubeconfig` output of actions/hetzner-cluster)",
            ) from None
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read kubeconfig file {path}: {exc.strerror}",
                file=str(path),
                title="Kubeconfig unreadable",
            ) from None
    else:
        variable = request.from_env or ""
        text = console.env(variable)
        if not text.strip():
            raise ConfigurationError(
                f"${variable} is empty or not set",
                key=variable,
                title="Kubeconfig missing",
                hint=f"pass it from a secret: `env: {variable}: ${{{{ secrets.NAME }}}}`",
            )
    # Mask first: nothing below may print a line of it, even by mistake.
    for piece in kubeconfig_text_pieces(text):
        console.mask(piece)
    return text


def check_server(content: str, facts: KubeconfigFacts) -> str:
    """A TLS handshake with the API server (no credentials sent); its answer, or an error."""
    from gitops.adapters.tls_probe import probe
    from gitops.core.kubeconfig import certificate_authority

    result = probe(facts.server, certificate_authority(content))
    if not result.reachable:
        raise ConfigurationError(
            f"the cluster's API server is not reachable: {result.detail}",
            key="--check-server",
            title="Cluster not reachable",
            hint="the cluster may still be starting, or a firewall (hetzner-k3s "
            "`networking.allowed_networks.api`) blocks this runner; drop --check-server to upload anyway",
        )
    runner.current().log(f"server check: {result.detail}")
    return result.detail


def _repository_or_fail(client: GitHub, repo: Repo) -> None:
    if not client.repository_visible(repo.owner, repo.name):
        raise ConfigurationError(
            f"repository {repo.full} was not found, or {client.token.describe()} cannot see it",
            key="--repo",
            title="Repository not found",
            hint="check --repo; a fine-grained token must list this repository under 'Repository access', "
            "a GitHub App must be installed on it, a classic token needs `repo` for a private repository",
        )


def _missing(client: GitHub, repo: Repo, environment: str) -> ConfigurationError:
    """A 404 on the public key: the repository, the environment, or the token's permission?"""
    _repository_or_fail(client, repo)
    if not client.environment_exists(repo, environment, needs=github_errors.SECRETS_WRITE):
        return ConfigurationError(
            f"environment {environment!r} does not exist in {repo.full}",
            key="--environment",
            title="Environment not found",
            hint="create it (Settings > Environments > New environment), or pass --create-environment "
            "(input create-environment: 'true')",
        )
    return ConfigurationError(
        f"environment {environment!r} exists in {repo.full}, but its secrets API answered 404 to "
        f"{client.token.describe()}",
        key="--environment",
        title="Environment secrets not accessible",
        hint=f"give the token {github_errors.SECRETS_WRITE.fine_grained} (fine-grained), "
        f"{github_errors.SECRETS_WRITE.classic} (classic) or {github_errors.SECRETS_WRITE.app} (GitHub App)",
    )
