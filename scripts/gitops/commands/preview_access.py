"""``gitops preview-access``: create the read-only identity of previews in a cluster, store its kubeconfig."""

from __future__ import annotations

import argparse

from gitops.adapters import deadline, runner
from gitops.commands import options
from gitops.commands.options import KUBECONFIG_HELP
from gitops.commands.output import emit
from gitops.errors import EXIT_OK

DESCRIPTION = """\
Create (or keep) the read-only identity `gitops diff` uses in preview and drift jobs, and
store a kubeconfig for it as the KUBECONFIG_READONLY secret of the `<env>-preview` GitHub
environment.

With the cluster's admin kubeconfig it server-side applies gitops/data/preview-access.yaml:
ServiceAccount kube-system/gitops-preview, its long-lived token Secret, ClusterRole
gitops-preview (get, list, watch on the kinds an overlay deploys; NO Secrets, no writes, so no
server-side dry run either) and its ClusterRoleBinding. It waits for the token, builds the
kubeconfig in memory (the admin kubeconfig's server and CA, the token), masks it, and uploads
it like `gitops upload-kubeconfig` does (sealed box, then read back). Nothing touches disk.

Token: GH_TOKEN or GITHUB_TOKEN with "Environments" and "Secrets" write (a fine-grained PAT or
a GitHub App, --app-id), as for upload-kubeconfig; --create-environment creates <env>-preview.
"""

EPILOG = f"""\
examples:
  # after a cluster run (hetzner-cluster-environment.yml does exactly this)
  GH_TOKEN=github_pat_... gitops preview-access --environment dev --kubeconfig ./kubeconfig \\
      --repo acme/platform --create-environment

{KUBECONFIG_HELP}
outputs (in Actions): environment, secret-name, updated-at, service-account.
exit codes: 0 stored; 1 a problem you can fix (kubeconfig, permissions, names).
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    options.add_environment(
        p, help="the environment whose cluster this is, e.g. dev; its kubeconfig goes to <ENV>-preview"
    )
    options.add(
        p,
        "--preview-environment",
        input="preview-environment",
        default=None,
        metavar="NAME",
        help="the GitHub environment that receives the secret (default: <environment>-preview)",
    )
    options.add(
        p,
        "--name",
        input="secret-name",
        default="KUBECONFIG_READONLY",
        metavar="SECRET",
        help="the secret's name (default: KUBECONFIG_READONLY)",
    )
    CREATE_ENVIRONMENT.add(p)
    options.add_kube_args(p)
    options.add_repo_and_app(p)


PREVIEW_ACCESS_REQUEST_BUDGET = 30  # the verb's time limit in units of --request-timeout

CREATE_ENVIRONMENT = options.Switch(
    "--create-environment",
    "create the <env>-preview environment when it does not exist (unprotected; needs Administration write)",
    input="create-environment",
)


def run(args: argparse.Namespace) -> int:
    from gitops.commands.upload_kubeconfig import validated_name
    from gitops.operations.kubeconfig_upload import UploadRequest
    from gitops.operations.preview_access import AccessRequest, create

    environment = options.require(args.environment, "--environment", "dev")
    preview = (args.preview_environment or "").strip() or f"{environment}-preview"
    name = validated_name(options.require(args.name, "--name", "KUBECONFIG_READONLY"))
    upload = UploadRequest(
        access=options.github_access(args),
        environment=preview,
        name=name,
        file=None,
        from_env=None,
        create_environment=CREATE_ENVIRONMENT.read(args),
        made="the read-only kubeconfig made in memory for ServiceAccount kube-system/gitops-preview",
    )
    request = AccessRequest(
        source=options.kube_source(args),
        upload=upload,
        request_timeout=options.REQUEST_TIMEOUT.read(args),
    )
    # A few requests to the cluster and to GitHub, no waits: the verb's time limit is a budget of requests.
    deadline.limit_verb_to({}, request.request_timeout, requests=PREVIEW_ACCESS_REQUEST_BUDGET)
    access = create(request)
    console = runner.current()
    data = {
        "environment": environment,
        "preview_environment": preview,
        "secret_name": name,
        "updated_at": access.secret.updated_at,
        "service_account": access.service_account,
        "applied": access.applied,
        "environment_created": access.environment_created,
    }
    console.set_output("environment", preview)
    console.set_output("secret-name", name)
    console.set_output("updated-at", str(access.secret.updated_at or ""))
    console.set_output("service-account", access.service_account)
    console.summary(
        f"### :lock: Read-only preview access for {environment}\n\n"
        f"ServiceAccount `{access.service_account}` (get/list/watch on the kinds we deploy, no Secrets, "
        f"no writes) is in place; its kubeconfig is the `{name}` secret of the `{preview}` environment "
        f"(updated {access.secret.updated_at}). `gitops diff` uses it in preview and drift jobs.\n"
    )
    emit(
        args.format,
        data,
        lambda: (
            f"stored {name} in environment {preview} for ServiceAccount {access.service_account} "
            f"({', '.join(access.applied)})"
        ),
    )
    return EXIT_OK
