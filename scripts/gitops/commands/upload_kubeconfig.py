"""``gitops upload-kubeconfig``: store a kubeconfig as a GitHub ENVIRONMENT secret.

The use case is :mod:`gitops.operations.kubeconfig_upload`; this module checks the flags
(GitHub's rules for environment and secret names) and reports what was stored.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitops.adapters import deadline, runner
from gitops.commands import options
from gitops.commands import output as report
from gitops.core.kubeconfig import MAX_SECRET_BYTES
from gitops.errors import EXIT_DEPLOY_FAILED, ConfigurationError
from gitops.operations import kubeconfig_upload
from gitops.operations.kubeconfig_upload import UploadRequest

SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The verb's time limit in units of --request-timeout: an upload sends about eight requests (App
# token, environment, public key, secret, read-back), some of them retried.
UPLOAD_REQUEST_BUDGET = 20

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


def settings(args: argparse.Namespace) -> UploadRequest:
    access = options.github_access(args)
    environment = options.require(args.environment, "--environment", "dev")
    if len(environment) > 255:
        raise ConfigurationError(
            "--environment is longer than 255 characters (GitHub's limit for an environment name)",
            key="--environment",
            title="Invalid input",
        )
    name = validated_name(options.require(args.name, "--name", "KUBECONFIG"))
    if bool(args.file) == bool(args.from_env):
        raise ConfigurationError(
            "pass exactly one of --file PATH and --from-env VAR",
            key="--file",
            title="Missing argument",
            hint="e.g. --file ./kubeconfig (the path hetzner-k3s wrote)",
        )
    return UploadRequest(
        access=access,
        environment=environment,
        name=name,
        file=Path(args.file) if args.file else None,
        from_env=args.from_env or None,
        create_environment=CREATE_ENVIRONMENT.read(args),
        check_server=CHECK_SERVER.read(args),
    )


def validated_name(name: str) -> str:
    """A secret name GitHub accepts, upper-cased as GitHub stores it."""
    if not SECRET_NAME.match(name) or name.upper().startswith("GITHUB_"):
        raise ConfigurationError(
            f"invalid secret name {name!r}: GitHub allows letters, digits and _, not starting with a digit "
            "or with GITHUB_",
            key="--name",
            title="Invalid secret name",
        )
    return name.upper()


def run(args: argparse.Namespace) -> int:
    from gitops.adapters.github import GitHubUnavailable

    request = settings(args)
    deadline.limit_verb_to({}, request.access.request_timeout, requests=UPLOAD_REQUEST_BUDGET)
    try:
        uploaded = kubeconfig_upload.upload(request)
    except GitHubUnavailable as exc:
        runner.current().error(
            f"{exc.message}. Nothing is known to be stored; re-run the step.", title="GitHub unavailable"
        )
        return EXIT_DEPLOY_FAILED
    facts, secret = uploaded.facts, uploaded.secret
    data = {
        "repository": request.repo.full,
        "environment": request.environment,
        "secret_name": request.name,
        "created": secret.created,
        "environment_created": uploaded.environment_created,
        "created_at": secret.created_at,
        "updated_at": secret.updated_at,
        "kubeconfig": {
            "source": request.source,
            "current_context": facts.current_context,
            "auth": facts.auth,
            "size_bytes": facts.size_bytes,
            "encrypted_size_bytes": secret.encrypted_size,
            "limit_bytes": MAX_SECRET_BYTES,
            "server_check": uploaded.server_check,
        },
        "token": uploaded.token,
    }
    console = runner.current()
    console.set_output("secret-name", request.name)
    console.set_output("updated-at", str(secret.updated_at or ""))
    console.set_output("environment", request.environment)
    console.summary(_summary(data))
    report.emit(args.format, data, lambda: _table(data))
    return 0


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
