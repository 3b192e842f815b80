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
the schema error. A placeholder that could never be substituted (anywhere but a Secret's
data/stringData value that is exactly the placeholder, or under data its base64) fails too.
When INFRA/deploy-control.yaml exists it is loaded with every check of `gitops gate`, and its
environments must match the overlays. Keys the policy leaves out get their documented
defaults; --explain prints the policy as the gate reads it, every key of every environment,
each default marked `# default: <rule>`.
"""

EXPLAIN = options.Switch(
    "--explain",
    "also print the effective deploy-control policy, each value the file leaves out marked as a default",
    input="explain",
)

EPILOG = """\
examples:
  gitops validate                                  # ./infra, Kubernetes 1.37
  gitops validate --infra path/to/infra --format json
  gitops validate --kubernetes-version 1.35.0
  gitops validate --explain                        # and the policy as the gate reads it, defaults marked

Objects of API groups without a bundled schema (custom resources) are listed as skipped.
exit codes: 0 everything valid, 1 any failure (all of them are listed).
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    options.add(
        p,
        "--infra",
        input="infra",
        default="infra",
        metavar="DIR",
        help="the infrastructure tree (default: infra)",
    )
    options.add(
        p,
        "--kubernetes-version",
        input="kubernetes-version",
        default=DEFAULT_KUBERNETES_VERSION,
        metavar="X.Y.Z",
        help=f"schema version to validate against (default: {DEFAULT_KUBERNETES_VERSION})",
    )
    options.add_placeholder(p)
    EXPLAIN.add(p)
    options.ALLOW_REMOTE.add(p)


def run(args: argparse.Namespace) -> int:
    placeholder = options.placeholder(args)
    explain = EXPLAIN.read(args)
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
    if explain:
        report["explain"] = _explained(result)
    console.set_output("ok", "true" if result.ok else "false")
    console.set_output("failure-count", str(len(result.failures)))
    console.summary(_summary(report))
    emit(args.format, report, lambda: _table(report))
    return EXIT_OK if result.ok else EXIT_USER_ERROR


def _explained(result: validation.Validation) -> dict[str, Any] | None:
    """The effective policy (JSON and the commented YAML text), or None when there is none to show."""
    from gitops.core.policy_explain import effective, explain

    if result.loaded is None:
        return None
    return {
        "file": result.policy["file"] if result.policy else None,
        "policy": effective(result.loaded),
        "defaults": dict(result.loaded.defaults),
        "text": explain(result.loaded),
    }


def _explanation(report: dict[str, Any]) -> str:
    """The --explain block of the table output: the policy as read, or why there is none."""
    explained = report.get("explain")
    if explained is None:
        why = "it has problems (listed below)" if report["policy"] else "there is no deploy-control.yaml"
        return f"--explain: no effective policy to show: {why}\n\n"
    head = (
        f"Effective policy of {explained['file']} ({len(explained['defaults'])} value(s) from defaults, "
        "marked `# default: <rule>`):"
    )
    return f"{head}\n\n{explained['text']}\n"


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
    parts = [_explanation(report) + f"gitops validate: {_headline(report)}"] if "explain" in report else []
    parts = parts or [f"gitops validate: {_headline(report)}"]
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
    if report.get("explain"):
        explained = report["explain"]
        lines += [
            f"<details><summary>Effective policy ({len(explained['defaults'])} value(s) from defaults, "
            "marked <code># default</code>)</summary>",
            "",
            "```yaml",
            explained["text"].rstrip("\n"),
            "```",
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines) + "\n"
