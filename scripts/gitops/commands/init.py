"""``gitops init``: scaffold a repository that uses this suite.

The use case is :mod:`gitops.operations.scaffolding`; this module parses the flags and reports.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gitops.adapters import runner
from gitops.commands.output import emit, markdown_table, text_table
from gitops.errors import EXIT_OK
from gitops.operations import scaffolding
from gitops.operations.scaffolding import InitRequest

DESCRIPTION = """\
Scaffold a repository that deploys with this suite: its infrastructure skeleton, its policy and
its workflows, pinned to one commit of the suite.

Writes into DIR (created if missing):
  infra/deploy-control.yaml            the policy: every key written out and commented, each
                                       default marked `# default: <rule>` (dev deploys on push,
                                       test by hand, prod by hand with approval)
  infra/k8s/base/                      an empty kustomize base for your services
  infra/k8s/hetzner/<env>/             dev, test, prod: the base plus the environment's labels,
                                       and the hetzner-k3s cluster configuration in cluster/
  infra/k8s/podman/local/              a laptop overlay
  .github/workflows/                   this suite's workflows (pull-request validation, deploy,
                                       clusters), every `uses:` of the suite rewritten to
                                       OWNER/REPO/actions/<name>@SHA # VERSION (the root action:
                                       OWNER/REPO@SHA # VERSION)
With --with-examples, infra/ is this suite's own: PostgreSQL+PostGIS, Valkey with ACL users and
Jaeger in base and overlays, and the policy written for them.

The files come from the suite's checkout this gitops runs from (read now, never from copies);
check it out at SHA so that the workflows match the actions they pin (a warning says when they
do not). A file that exists with other content is never overwritten without --force, and
then nothing is written until every file can be: each one in the way is listed.
"""

EPILOG = """\
examples:
  gitops init ../platform --suite acme/gitops-suite@3d3c42e5aac5ba805825da76410c181273ba90b1 --version v1.2.0
  gitops init --with-examples --suite acme/gitops-suite@<40-hex-sha>    # here, with the examples

then, in DIR:
  git init -b main && git add -A && git commit -m "GitOps scaffold"
  gitops validate && gitops plan             # the policy and every overlay, and what a push would deploy
  create the GitHub environments dev, test, prod and their secrets (README: Secrets, per environment)

exit codes: 0 written, 1 a bad flag or a file in the way (nothing written), 3 a bug.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", nargs="?", default=".", metavar="DIR", help="the new repository (default: .)")
    p.add_argument(
        "--suite",
        required=True,
        metavar="OWNER/REPO@SHA",
        help="this suite's GitHub repository and the full commit SHA the workflows pin",
    )
    p.add_argument(
        "--version",
        default=None,
        metavar="vX.Y.Z",
        help="the release SHA is, written after each pinned uses: (default: the release tag of the "
        "suite's checkout that points at SHA)",
    )
    p.add_argument(
        "--with-examples",
        action="store_true",
        help="scaffold this suite's own infra/ (PostgreSQL, Valkey, Jaeger) instead of empty skeletons",
    )
    p.add_argument("--force", action="store_true", help="overwrite files that exist with other content")


def run(args: argparse.Namespace) -> int:
    request = InitRequest(
        directory=Path(args.directory),
        suite=args.suite,
        version=args.version,
        with_examples=args.with_examples,
        force=args.force,
    )
    result = scaffolding.init(request)
    console = runner.current()
    for warning in result.warnings:
        console.warning(warning, title="gitops init")
    data = result.to_json()
    console.summary(_summary(data))
    emit(args.format, data, lambda: _table(data))
    return EXIT_OK


def _counts(data: dict[str, Any]) -> str:
    actions = [f["action"] for f in data["files"]]
    kinds = ("created", "overwritten", "unchanged")
    return ", ".join(f"{actions.count(a)} {a}" for a in kinds if a in actions)


def _headline(data: dict[str, Any]) -> str:
    kind = "with this suite's examples" if data["with_examples"] else "skeleton"
    suite = data["suite"]
    return (
        f"scaffolded {data['directory']} ({kind}; {_counts(data)}), "
        f"pinned to {suite['repository']}@{suite['sha'][:12]} {suite['version']}"
    )


def _table(data: dict[str, Any]) -> str:
    rows = [[f["action"], f["path"]] for f in data["files"]]
    return (
        f"gitops init: {_headline(data)}\n\n"
        + text_table(("action", "file"), rows)
        + "\nnext, in that directory:\n"
        "  git init -b main && git add -A && git commit -m 'GitOps scaffold'   (if it is no repository yet)\n"
        "  gitops validate && gitops plan\n"
        "  create the GitHub environments dev, test, prod and their secrets "
        "(README: Secrets, per environment)\n"
    )


def _summary(data: dict[str, Any]) -> str:
    rows = [[f"`{f['path']}`", f["action"], f"`{f['origin']}`"] for f in data["files"]]
    return f"### gitops init: {_headline(data)}\n\n" + markdown_table(("file", "action", "from"), rows)
