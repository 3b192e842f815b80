"""``gitops upload-kubeconfig``: store a kubeconfig as a GitHub ENVIRONMENT secret.

Order matters: the kubeconfig is masked line by line before anything else, validated
before any API call, and sealed (libsodium ``crypto_box_seal``) with the public key of the
target environment (https://docs.github.com/en/rest/actions/secrets). After the PUT the
secret's metadata is read back and its ``updated_at`` reported, which proves the write landed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops.adapters import runner
from gitops.commands import options
from gitops.commands import output as report
from gitops.core import github_errors
from gitops.core.kubeconfig import MAX_SECRET_BYTES, KubeconfigFacts, mask_pieces, validate_kubeconfig
from gitops.errors import EXIT_DEPLOY_FAILED, ConfigurationError

SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

DESCRIPTION = """\
Store a kubeconfig as a secret of a GitHub deployment ENVIRONMENT (not a repository secret),
so only jobs that declare `environment: <name>` (and pass its protection rules) can read it.

The kubeconfig is masked line by line, checked (one current context that exists, an https
server URL, credentials embedded, at most 48 KB), encrypted with the environment's public key
(libsodium sealed box) and written with PUT; then the secret's metadata is read back.

Token: GH_TOKEN or GITHUB_TOKEN. The workflow's own GITHUB_TOKEN can NEVER write secrets: use a
fine-grained personal access token with "Environments" and "Secrets" read/write on the
repository, a classic token with `repo`, or a GitHub App (--app-id) with the same permissions.
"""

EPILOG = """\
examples:
  GH_TOKEN=github_pat_... gitops upload-kubeconfig --repo acme/platform --environment dev \\
      --file ./kubeconfig
  gitops upload-kubeconfig --environment prod --from-env PROD_KUBECONFIG --check-server
  GITHUB_APP_PRIVATE_KEY="$(cat app.pem)" gitops upload-kubeconfig --repo acme/platform \\
      --environment test --file kubeconfig --app-id 123456 --create-environment

outputs (in Actions): secret-name, updated-at, environment.
exit codes: 0 stored; 1 a problem you can fix (kubeconfig, token permission, names);
2 GitHub failed (5xx / no answer) after retries.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    options.add(
        p,
        "--environment",
        input="environment",
        default=None,
        metavar="ENV",
        help="the GitHub deployment environment that will hold the secret (e.g. dev)",
    )
    options.add(
        p,
        "--name",
        input="secret-name",
        default="KUBECONFIG",
        metavar="SECRET",
        help="the secret's name (default: KUBECONFIG); letters, digits and _, not starting with GITHUB_",
    )
    options.add(
        p,
        "--file",
        input="kubeconfig-path",
        default=None,
        metavar="PATH",
        help="read the kubeconfig from this file",
    )
    options.add(
        p,
        "--from-env",
        input="kubeconfig-env",
        default=None,
        metavar="VAR",
        help="read the kubeconfig's CONTENT from this environment variable instead of a file",
    )
    CREATE_ENVIRONMENT.add(p)
    CHECK_SERVER.add(p)
    options.add_repo_and_app(p)


CREATE_ENVIRONMENT = options.Switch(
    "--create-environment",
    "create the environment when it does not exist (needs Environments/Administration write)",
    input="create-environment",
)
CHECK_SERVER = options.Switch(
    "--check-server",
    "before uploading, check that the server URL answers a TLS handshake (5 s; no credentials sent)",
    input="check-server",
)


@dataclass(frozen=True)
class Settings:
    owner: str
    repo: str
    environment: str
    name: str
    file: Path | None
    from_env: str | None
    create_environment: bool
    check_server: bool
    app_id: str | None
    app_private_key_env: str

    @property
    def source(self) -> str:
        return str(self.file) if self.file is not None else f"${self.from_env}"


def settings(args: argparse.Namespace) -> Settings:
    owner, repo = options.repository(args)
    environment = options.require(args.environment, "--environment", "dev")
    if len(environment) > 255:
        raise ConfigurationError(
            "--environment is longer than 255 characters (GitHub's limit for an environment name)",
            key="--environment",
            title="Invalid input",
        )
    name = options.require(args.name, "--name", "KUBECONFIG")
    if not SECRET_NAME.match(name) or name.upper().startswith("GITHUB_"):
        raise ConfigurationError(
            f"invalid secret name {name!r}: GitHub allows letters, digits and _, not starting with a digit "
            "or with GITHUB_",
            key="--name",
            title="Invalid secret name",
        )
    if bool(args.file) == bool(args.from_env):
        raise ConfigurationError(
            "pass exactly one of --file PATH and --from-env VAR",
            key="--file",
            title="Missing argument",
            hint="e.g. --file ./kubeconfig (the path hetzner-k3s wrote)",
        )
    return Settings(
        owner=owner,
        repo=repo,
        environment=environment,
        name=name.upper(),  # GitHub stores secret names upper-cased
        file=Path(args.file) if args.file else None,
        from_env=args.from_env or None,
        create_environment=CREATE_ENVIRONMENT.read(args),
        check_server=CHECK_SERVER.read(args),
        app_id=args.app_id,
        app_private_key_env=args.app_private_key_env,
    )


def read_kubeconfig(s: Settings) -> str:
    run = runner.current()
    if s.file is not None:
        try:
            text = s.file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigurationError(
                f"kubeconfig file {s.file} does not exist",
                file=str(s.file),
                key="--file",
                title="Kubeconfig not found",
                hint="pass the path hetzner-k3s wrote (the `kubeconfig` output of actions/hetzner-cluster)",
            ) from None
        except UnicodeDecodeError:
            raise ConfigurationError(
                f"kubeconfig file {s.file} is not UTF-8 text", file=str(s.file), title="Invalid kubeconfig"
            ) from None
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read kubeconfig file {s.file}: {exc.strerror}",
                file=str(s.file),
                title="Kubeconfig unreadable",
            ) from None
    else:
        text = run.env(s.from_env or "")
        if not text.strip():
            raise ConfigurationError(
                f"${s.from_env} is empty or not set",
                key=s.from_env,
                title="Kubeconfig missing",
                hint=f"pass it from a secret: `env: {s.from_env}: ${{{{ secrets.NAME }}}}`",
            )
    # Mask first: nothing below may print a line of it, even by mistake.
    for piece in mask_pieces(text):
        run.mask(piece)
    return text


def seal(public_key_b64: str, value: str) -> str:
    """libsodium ``crypto_box_seal`` of ``value`` for ``public_key_b64``, base64 (what GitHub expects)."""
    from nacl.public import PublicKey, SealedBox

    sealed = SealedBox(PublicKey(base64.b64decode(public_key_b64, validate=True))).encrypt(
        value.encode("utf-8")
    )
    return base64.b64encode(sealed).decode("ascii")


def run(args: argparse.Namespace) -> int:
    from gitops.adapters.github import GitHubUnavailable

    try:
        return _run(args)
    except GitHubUnavailable as exc:
        runner.current().error(
            f"{exc.message}. Nothing is known to be stored; re-run the step.", title="GitHub unavailable"
        )
        return EXIT_DEPLOY_FAILED


def _run(args: argparse.Namespace) -> int:
    from gitops.adapters import github as gh
    from gitops.adapters.github import GitHubUnavailable, segment

    console = runner.current()
    s = settings(args)
    content = read_kubeconfig(s)
    facts = validate_kubeconfig(content, s.source)
    for warning in facts.warnings:
        console.warning(warning, title="Kubeconfig")
    probe_detail = None
    if s.check_server:
        probe_detail = _check_server(content, facts)

    client = gh.connect(s.owner, s.repo, app_id=s.app_id, app_private_key_env=s.app_private_key_env)
    try:
        requirements = [("secrets", "environments")] + ([("administration",)] if s.create_environment else [])
        client.require_app_permissions(
            *requirements, operation=f"write environment secrets of {s.owner}/{s.repo}"
        )
        base = f"/repos/{segment(s.owner)}/{segment(s.repo)}/environments/{segment(s.environment)}"
        where = f"environment {s.environment!r} of {s.owner}/{s.repo}"
        needs = github_errors.SECRETS_WRITE

        environment_created = False
        if s.create_environment:
            found = client.request("GET", base, operation=f"read {where}", needs=needs, handle=(404,))
            if found.status == 404:
                _repository_or_fail(client, s)
                client.request(
                    "PUT",
                    base,
                    operation=f"create {where}",
                    needs=github_errors.Needs(
                        fine_grained='the repository permission "Administration: Read and write" (creating '
                        "environments)",
                        classic="the `repo` scope",
                        app='the repository permission "Administration: Read and write"',
                    ),
                    body={},
                    ok=(200, 201),
                )
                environment_created = True
                console.log(f"created {where}")

        key = client.request(
            "GET",
            f"{base}/secrets/public-key",
            operation=f"read the public key of {where}",
            needs=needs,
            handle=(404,),
        )
        if key.status == 404:
            _explain_missing(client, s, base)
        key_id, public_key = _public_key(key.body)
        try:
            encrypted = seal(public_key, content)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise GitHubUnavailable(
                f"GitHub returned a public key for {where} that is not a 32-byte base64 key "
                f"({type(exc).__name__})"
            ) from None
        put = client.request(
            "PUT",
            f"{base}/secrets/{segment(s.name)}",
            operation=f"write secret {s.name} in {where}",
            needs=needs,
            body={"encrypted_value": encrypted, "key_id": key_id},
            ok=(201, 204),
        )
        created = put.status == 201
        meta = client.request(
            "GET",
            f"{base}/secrets/{segment(s.name)}",
            operation=f"read back secret {s.name} in {where}",
            needs=needs,
        )
    finally:
        client.close()

    body: Mapping[str, Any] = meta.body if isinstance(meta.body, Mapping) else {}
    data = {
        "repository": f"{s.owner}/{s.repo}",
        "environment": s.environment,
        "secret_name": s.name,
        "created": created,
        "environment_created": environment_created,
        "created_at": body.get("created_at"),
        "updated_at": body.get("updated_at"),
        "kubeconfig": {
            "source": s.source,
            "current_context": facts.current_context,
            "auth": facts.auth,
            "size_bytes": facts.size_bytes,
            "encrypted_size_bytes": len(encrypted),
            "limit_bytes": MAX_SECRET_BYTES,
            "server_check": probe_detail,
        },
        "token": client.token.describe(),
    }
    console.set_output("secret-name", s.name)
    console.set_output("updated-at", str(body.get("updated_at") or ""))
    console.set_output("environment", s.environment)
    console.summary(_summary(data))
    report.emit(args.format, data, lambda: _table(data))
    return 0


def _public_key(body: object) -> tuple[str, str]:
    from gitops.adapters.github import GitHubUnavailable

    if isinstance(body, Mapping) and isinstance(body.get("key"), str) and body.get("key_id") is not None:
        return str(body["key_id"]), str(body["key"])
    raise GitHubUnavailable("GitHub's public-key answer has no `key` and `key_id`")


def _repository_or_fail(client: Any, s: Settings) -> None:
    if not client.repository_visible(s.owner, s.repo):
        raise ConfigurationError(
            f"repository {s.owner}/{s.repo} was not found, or {client.token.describe()} cannot see it",
            key="--repo",
            title="Repository not found",
            hint="check --repo; a fine-grained token must list this repository under 'Repository access', "
            "a GitHub App must be installed on it, a classic token needs `repo` for a private repository",
        )


def _explain_missing(client: Any, s: Settings, base: str) -> None:
    """A 404 on the public key: the repository, the environment, or the token's permission?"""
    _repository_or_fail(client, s)
    env = client.request(
        "GET",
        base,
        operation=f"read environment {s.environment!r}",
        needs=github_errors.SECRETS_WRITE,
        handle=(404,),
    )
    if env.status == 404:
        raise ConfigurationError(
            f"environment {s.environment!r} does not exist in {s.owner}/{s.repo}",
            key="--environment",
            title="Environment not found",
            hint="create it (Settings > Environments > New environment), or pass --create-environment "
            "(input create-environment: 'true')",
        )
    raise ConfigurationError(
        f"environment {s.environment!r} exists in {s.owner}/{s.repo}, but its secrets API answered 404 to "
        f"{client.token.describe()}",
        key="--environment",
        title="Environment secrets not accessible",
        hint=f"give the token {github_errors.SECRETS_WRITE.fine_grained} (fine-grained), "
        f"{github_errors.SECRETS_WRITE.classic} (classic) or {github_errors.SECRETS_WRITE.app} (GitHub App)",
    )


def _check_server(content: str, facts: KubeconfigFacts) -> str:
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


def _summary(data: Mapping[str, Any]) -> str:
    kc = data["kubeconfig"]
    verb = "created" if data["created"] else "updated"
    rows = [
        ("Repository", data["repository"]),
        ("Environment", data["environment"] + (" (created now)" if data["environment_created"] else "")),
        ("Secret", f"`{data['secret_name']}` ({verb})"),
        ("Updated at", data["updated_at"]),
        ("Kubeconfig", f"context `{kc['current_context']}`, {kc['auth']} auth, {kc['size_bytes']:,} bytes"),
    ]
    if kc["server_check"]:
        rows.append(("Server check", kc["server_check"]))
    head = (
        f"### :key: Kubeconfig stored: secret `{data['secret_name']}` of environment "
        f"`{data['environment']}` in {data['repository']} ({verb})"
    )
    return f"{head}\n\n" + report.markdown_table(["", ""], rows)


def _table(data: Mapping[str, Any]) -> str:
    kc = data["kubeconfig"]
    rows = [
        ("repository", data["repository"]),
        ("environment", data["environment"] + (" (created)" if data["environment_created"] else "")),
        ("secret", f"{data['secret_name']} ({'created' if data['created'] else 'updated'})"),
        ("updated at", data["updated_at"]),
        ("context", kc["current_context"]),
        ("auth", kc["auth"]),
        (
            "size",
            f"{kc['size_bytes']:,} bytes (limit {kc['limit_bytes']:,}; "
            f"encrypted {kc['encrypted_size_bytes']:,})",
        ),
    ]
    return report.text_table(["field", "value"], rows)
