"""``gitops apply``: staged server-side apply, immutable-field re-create, rollout wait, rollback, verify."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from gitops.adapters import runner
from gitops.commands import options
from gitops.commands.options import KUBECONFIG_HELP
from gitops.commands.output import emit, markdown_table, text_table
from gitops.core.kube_errors import UNREACHABLE_HINT
from gitops.errors import EXIT_DEPLOY_FAILED
from gitops.operations import deployment
from gitops.operations.apply_engine import APPLIED, ApplyReport, ApplySettings, ObjectResult, RollbackSetting

DESCRIPTION = """\
Apply Kubernetes manifests to a cluster, safely, and wait until they run.

Input: --overlay DIR (kustomize build + Secret placeholders filled from the environment, in
memory, as `gitops render` does) or -f FILE (- for stdin).

1. Every kind must be served by the cluster (or defined by a CRD in the input): checked
   before the first write. Objects of --skip-service services are left out.
2. Staged server-side apply (field manager --field-manager, conflicts forced): CRDs and
   Namespaces (waited for), cluster-scoped classes, RBAC, Secrets, ConfigMaps, PVCs,
   Services, workloads, the rest. "unchanged" means the API server made no write.
3. A change to an immutable field (the server's 422, classified from its structured causes):
   StatefulSet/Deployment/DaemonSet are deleted with propagationPolicy Orphan (pods and
   volumes stay and are adopted), Jobs with Background, Services re-created (the ClusterIP
   changes). Always: a dry run of the re-create first, delete only that object (uid
   precondition), wait until it is gone, re-apply, verify adoption, restore the old object if
   the re-create fails. Never a PVC (fatal, with the diff), a Namespace, or a StatefulSet
   whose PVC retention policy is whenDeleted: Delete. Existing PVCs grow to a larger
   volumeClaimTemplates size when their StorageClass allows expansion.
4. Rollout wait by watching (kstatus rules; CrashLoopBackOff/ImagePullBackOff fail at once),
   with progress lines and every object's state on timeout; with --rollback-on-failure,
   `kubectl rollout undo` semantics, then another wait. The run still fails (exit 2).
5. Verify: every applied object exists, StatefulSet volumes are Bound.

API requests are retried (bounded, with backoff) on 409 conflicts, 429, 5xx and dropped
connections; never on validation errors.
"""

EPILOG = f"""\
examples:
  # what would change in prod (server-side dry run, nothing written)?
  gitops apply --overlay infra/k8s/hetzner/prod --kubeconfig ~/.kube/prod --dry-run

  # deploy the local overlay to the current context, roll back a failed rollout
  gitops apply --overlay infra/k8s/podman/local --rollback-on-failure --timeout 120

  # in a workflow: the kubeconfig content is in $KUBECONFIG_DATA, postgres is gate-blocked
  gitops apply --overlay infra/k8s/hetzner/dev --kubeconfig-env KUBECONFIG_DATA --skip-service postgres

  # plain manifests from stdin
  kubectl kustomize infra/k8s/hetzner/dev | gitops apply -f - --namespace default

{KUBECONFIG_HELP}
exit codes: 0 applied and ready, 1 bad input (nothing applied), 2 the deploy failed
(an object was rejected, a rollout failed or timed out; also after a successful rollback).
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("input")
    options.add_overlay(group, help="kustomize overlay to render and apply")
    options.add(
        group, "-f", "--filename", input="file", metavar="FILE", help="manifests file, or - for stdin"
    )
    options.add_secret_map(group)
    options.add_placeholder(group)
    options.add_kube_args(p)
    group = add_apply_args(p)
    ROLLOUT_TIMEOUT.add(group)
    ROLLBACK_ON_FAILURE.add(group)
    options.add(
        group,
        "--skip-service",
        input="skip-services",
        action="append",
        default=[],
        metavar="NAME",
        help="leave out objects labelled app.kubernetes.io/name=NAME (repeat, or comma-separate)",
    )


ROLLOUT_TIMEOUT = options.Duration(
    "--timeout",
    "how long to wait for the rollout, and again after a rollback",
    input="timeout",
    default=300.0,
)
ROLLBACK_ON_FAILURE = options.Switch(
    "--rollback-on-failure",
    "roll back workloads whose rollout failed or timed out; the run still exits 2",
    input="rollback-on-failure",
)


def add_apply_args(p: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """How to apply: shared by ``gitops apply`` and ``gitops deploy``."""
    group = p.add_argument_group("apply")
    options.add_namespace_and_field_manager(group)
    options.DRY_RUN.add(group)
    options.PROGRESS_INTERVAL.add(group)
    return group


def skip_names(values: Sequence[str]) -> tuple[str, ...]:
    names = [n.strip() for v in values for n in v.replace("\n", ",").split(",")]
    return tuple(sorted({n for n in names if n}))


def connection(args: argparse.Namespace) -> deployment.Connection:
    return deployment.Connection(options.kube_source(args), options.REQUEST_TIMEOUT.read(args))


def run(args: argparse.Namespace) -> int:
    manifests = deployment.Manifests(
        overlay=args.overlay,
        filename=args.filename,
        placeholder=options.placeholder(args),
        secret_map=options.secret_map(args),
    )
    settings = ApplySettings(
        field_manager=args.field_manager.strip() or "gitops",
        namespace=args.namespace.strip() or None,
        rollout_timeout=ROLLOUT_TIMEOUT.read(args),
        rollback=RollbackSetting(ROLLBACK_ON_FAILURE.read(args)),
        dry_run=options.DRY_RUN.read(args),
        skip_services=skip_names(args.skip_service),
        progress_interval=options.PROGRESS_INTERVAL.read(args),
    )
    try:
        report = deployment.apply(manifests, connection(args), settings)
    except deployment.ClusterUnreachable as exc:
        return unreachable(exc, "apply")
    publish(report)
    emit(args.format, report.to_json(), lambda: human(report))
    return report.exit_code


def unreachable(exc: deployment.ClusterUnreachable, verb: str) -> int:
    """The cluster never answered: say so where the user looks, with the fix; the deploy failed."""
    console = runner.current()
    console.error(f"{exc}; nothing was applied", title="Kubernetes API unreachable")
    console.log(f"How to fix: {UNREACHABLE_HINT}")
    console.summary(
        f"### :x: gitops {verb}: API server {exc.host} unreachable, nothing applied\n\n"
        f"{exc.detail}\n\n**How to fix:** {UNREACHABLE_HINT}\n"
    )
    return EXIT_DEPLOY_FAILED


# -- output ----------------------------------------------------------------------------------------

ICONS = {
    "applied": ":white_check_mark:",
    "dry-run": ":mag:",
    "failed": ":x:",
    "rolled-back": ":leftwards_arrow_with_hook:",
}


def _note(o: ObjectResult) -> str:
    parts = []
    if o.rollout_message and o.rollout not in (None, "ready"):
        parts.append(o.rollout_message)
    elif o.message:
        parts.append(o.message)
    if o.volumes and o.volumes.get("expanded"):
        parts.append("expanded " + ", ".join(o.volumes["expanded"]))
    if o.volumes and o.volumes.get("grow"):  # a dry run's foresight
        parts.append("would grow " + ", ".join(o.volumes["grow"]))
    if o.volumes and o.volumes.get("retained"):
        parts.append(
            "volume kept when its claim is deleted (reclaim policy Retain): "
            + ", ".join(o.volumes["retained"])
        )
    return "; ".join(parts)


def _rows_of(objects: Sequence[ObjectResult]) -> list[list[object]]:
    return [[str(o.ref), o.action, o.rollout or "-", f"{o.seconds:.2f}", _note(o)] for o in objects]


def _rows(report: ApplyReport) -> list[list[object]]:
    return _rows_of([*report.objects, *report.skipped])


HEADERS = ("object", "action", "rollout", "seconds", "note")


def _counts(report: ApplyReport) -> str:
    return ", ".join(f"{n} {a}" for a, n in report.counts().items()) or "nothing to apply"


def headline(report: ApplyReport, title: str = "gitops apply") -> str:
    """``gitops apply infra/k8s/hetzner/dev: applied (3 configured, 11 unchanged)``."""
    return f"{title}: {report.result} ({_counts(report)})"


def human(report: ApplyReport, title: str | None = None) -> str:
    lines = [
        f"{headline(report, title or f'gitops apply {report.source}')} on {report.cluster['host']} "
        f"[{report.cluster['context']}] in {report.seconds:.1f}s",
        "",
        text_table(HEADERS, _rows(report)),
    ]
    problems = [o for o in report.objects if not o.ok]
    if problems:
        lines.append("")
        for o in problems:
            lines.append(f"FAILED {o.ref}: {o.rollout_message or o.message or ''}")
            lines += [f"  - {e}" for e in o.errors]
            lines += [f"  pod {p}" for p in o.pods]
            if o.hint:
                lines.append(f"  what to do: {o.hint}")
    for r in report.rollbacks:
        if r.performed:
            after = r.rollout_message or r.rollout or "not waited for"
            lines.append(f"ROLLED BACK {r.ref}: {r.message}; after the rollback: {after}")
        else:
            lines.append(f"no rollback for {r.ref}: {r.message.removeprefix('not rolled back: ')}")
    for c in report.verify:
        if not c.passed:
            lines.append(f"verify {c.ref} {c.name}: {c.detail}")
    return "\n".join(lines)


def _quiet(o: ObjectResult) -> bool:
    """Nothing to look at: the server made no write and the object is fine."""
    return o.action == "unchanged" and o.ok and o.rollout in (None, "ready") and not o.warnings


def summary_markdown(report: ApplyReport, title: str | None = None, level: str = "###") -> str:
    """Headline (result and counts) first, then what went wrong, then the objects that changed;
    objects the server left unchanged are folded away."""
    icon = ICONS.get(report.result, "")
    parts = [
        f"{level} {icon} {headline(report, title or f'gitops apply `{report.source}`')}",
        "",
        f"To `{report.cluster['host']}` (context `{report.cluster['context']}`) in {report.seconds:.1f}s: "
        f"{report.requests} API requests, {report.retries} retries.",
        "",
    ]
    failures = [o for o in report.objects if not o.ok]
    if failures:
        parts.append("**What went wrong**\n")
        for o in failures:
            text = f"- `{o.ref}`: {o.rollout_message or o.message or ''}"
            text += "".join(f"; {e}" for e in o.errors)
            if o.pods:
                text += f" (pods: {'; '.join(o.pods)})"
            if o.hint:
                text += f"<br>**What to do:** {o.hint}"
            parts.append(text)
        parts.append("")
    if report.rollbacks:
        rows = [
            [
                str(r.ref),
                "yes" if r.performed else "no",
                r.message,
                r.rollout or "-",
                ", ".join(r.deleted_pods),
            ]
            for r in report.rollbacks
        ]
        parts += [
            "**Rollbacks**",
            "",
            markdown_table(("object", "performed", "what", "after", "pods deleted"), rows),
        ]
    failed_checks = [c for c in report.verify if not c.passed]
    if failed_checks:
        parts += [
            "**Verification failed**",
            "",
            *[f"- `{c.ref}` {c.name}: {c.detail}" for c in failed_checks],
            "",
        ]
    warnings = [w for o in report.objects for w in o.warnings]
    if warnings:
        parts += ["**Warnings**", "", *[f"- {w}" for w in warnings], ""]
    everything = [*report.objects, *report.skipped]
    shown = [o for o in everything if not _quiet(o)]
    quiet = [o for o in everything if _quiet(o)]
    if shown:
        parts.append(markdown_table(HEADERS, _rows_of(shown)))
    if quiet:
        parts += [
            f"<details><summary>{len(quiet)} unchanged object(s)</summary>",
            "",
            markdown_table(HEADERS, _rows_of(quiet)),
            "</details>",
            "",
        ]
    return "\n".join(parts) + "\n"


def publish(report: ApplyReport, *, summary: str | None = None) -> None:
    """Step outputs and the job summary (``summary`` replaces the default one, e.g. for deploy)."""
    console = runner.current()
    data = report.to_json()
    console.set_output("result", report.result)
    console.set_output(
        "changed", str(sum(1 for o in report.objects if o.action in APPLIED and o.action != "unchanged"))
    )
    console.set_output(
        "recreated", json.dumps([str(o.ref) for o in report.objects if o.action == "recreated"])
    )
    console.set_output("failed", json.dumps([str(o.ref) for o in report.objects if not o.ok]))
    console.set_output("report", json.dumps(data, separators=(",", ":")))
    console.summary(summary if summary is not None else summary_markdown(report))
