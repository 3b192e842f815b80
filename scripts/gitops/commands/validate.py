"""``gitops validate``: every overlay builds and every object passes strict schema validation.

The use case is :mod:`gitops.operations.validation`; this module parses the flags and reports.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gitops.adapters import runner
from gitops.commands import options
from gitops.commands.output import emit, markdown_table, text_table
from gitops.errors import EXIT_OK, EXIT_USER_ERROR, ConfigurationError
from gitops.operations import validation
from gitops.operations.validation import DEFAULT_KUBERNETES_VERSION

DESCRIPTION = """\
Check the infrastructure tree without a cluster and without any secret value.

Every overlay (a directory two levels under INFRA/k8s/ holding a kustomization.yaml, e.g.
hetzner/dev or podman/local; base/ is not an overlay) is rendered with kustomize, with its
Secret placeholders left in place, and every object is validated against the Kubernetes
OpenAPI schema of --kubernetes-version in strict mode (unknown fields are errors). Every
failing object is reported with its overlay, the file and line that set the bad field
(found through kustomize's origin annotations, then the overlay's patches), kind, name and
the schema error. A placeholder that could never be substituted (outside a whole Secret
value) fails too. When INFRA/deploy-control.yaml exists it is loaded with every check of
`gitops gate`, and its environments must match the overlays.
"""

EPILOG = """\
examples:
  gitops validate                                  # ./infra, Kubernetes 1.37
  gitops validate --infra path/to/infra --format json
  gitops validate --kubernetes-version 1.35.0

Objects of API groups without a bundled schema (custom resources) are listed as skipped.
exit codes: 0 everything valid, 1 any failure (all of them are listed).
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--infra", default="infra", metavar="DIR", help="the infrastructure tree (default: infra)")
    p.add_argument(
        "--kubernetes-version",
        default=DEFAULT_KUBERNETES_VERSION,
        metavar="X.Y.Z",
        help=f"schema version to validate against (default: {DEFAULT_KUBERNETES_VERSION})",
    )
    options.add_placeholder(p)


def run(args: argparse.Namespace) -> int:
    placeholder = options.placeholder(args)
    if not placeholder:
        raise ConfigurationError(
            "--placeholder must not be empty", key="--placeholder", title="Invalid input"
        )
    result = validation.validate(Path(args.infra), args.kubernetes_version, placeholder)
    console = runner.current()
    for f in result.failures:
        where = _what(f.kind, f.name) + (f" in {f.overlay}" if f.overlay else "")
        console.error(
            f"{where}: {f.field + ': ' if f.field else ''}{f.error}",
            file=f.file,
            line=f.line,
            title="Validation failed" if f.kind != "deploy-control" else "deploy-control.yaml",
        )
    report = {
        "kubernetes_version": result.kubernetes_version,
        "infra": str(args.infra),
        "ok": result.ok,
        "overlays": [r.to_json() for r in result.overlays],
        "failures": [f.to_json() for f in result.failures],
        "policy": result.policy,
    }
    console.set_output("ok", "true" if result.ok else "false")
    console.set_output("failure-count", str(len(result.failures)))
    console.summary(_summary(report))
    emit(args.format, report, lambda: _table(report))
    return EXIT_OK if result.ok else EXIT_USER_ERROR


def _what(kind: str, name: str) -> str:
    """``StatefulSet/postgres``; a policy problem is named by its key path alone."""
    return name if kind == "deploy-control" else f"{kind}/{name}"


def _headline(report: dict[str, Any]) -> str:
    overlays = report["overlays"]
    objects = sum(o["objects"] for o in overlays)
    policy = f" and {report['policy']['file']}" if report["policy"] else ""
    if report["ok"]:
        return (
            f"valid: {len(overlays)} overlay(s) ({objects} objects){policy}, "
            f"Kubernetes {report['kubernetes_version']}"
        )
    return (
        f"FAILED: {len(report['failures'])} problem(s) in {len(overlays)} overlay(s){policy}, "
        f"Kubernetes {report['kubernetes_version']}"
    )


def _table(report: dict[str, Any]) -> str:
    rows = [
        [o["overlay"], o["objects"], o["valid"], o["failed"], len(o["skipped"])] for o in report["overlays"]
    ]
    parts = [f"gitops validate: {_headline(report)}"]
    if report["failures"]:
        parts.append("")
        for f in report["failures"]:
            where = ":".join(str(p) for p in (f["file"], f["line"]) if p) or "?"
            field = f" {f['field']}:" if f["field"] else ":"
            parts.append(f"  {where}: {_what(f['kind'], f['name'])}{field} {f['error']}")
    parts += ["", text_table(("overlay", "objects", "valid", "failed", "skipped"), rows)]
    if report["policy"]:
        parts.append(f"{report['policy']['file']}: {'valid' if report['policy']['ok'] else 'FAILED'}")
    return "\n".join(parts) + "\n"


def _summary(report: dict[str, Any]) -> str:
    icon = ":white_check_mark:" if report["ok"] else ":x:"
    lines = [f"### {icon} gitops validate: {_headline(report)}", ""]
    if report["failures"]:
        frows = [
            [
                f"`{f['file']}:{f['line']}`"
                if f["file"] and f["line"]
                else (f"`{f['file']}`" if f["file"] else ""),
                _what(f["kind"], f["name"]),
                f["field"] or "",
                f["error"],
            ]
            for f in report["failures"]
        ]
        lines.append(markdown_table(("where", "object or key", "field", "problem"), frows))
    rows = [
        [f"`{o['overlay']}`", o["objects"], o["valid"], o["failed"], len(o["skipped"])]
        for o in report["overlays"]
    ]
    lines.append(markdown_table(("overlay", "objects", "valid", "failed", "skipped"), rows))
    if report["policy"]:
        state = "valid" if report["policy"]["ok"] else f"{report['policy']['problems']} problem(s)"
        lines += [f"`{report['policy']['file']}`: {state}", ""]
    return "\n".join(lines) + "\n"
