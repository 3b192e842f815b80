"""``gitops render``: kustomize build + in-memory secret substitution; ``--check`` for PRs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from gitops.adapters import private_file, runner
from gitops.commands import options
from gitops.commands.output import emit, markdown_table, text_table
from gitops.errors import EXIT_OK, ConfigurationError, Problem

DESCRIPTION = """\
Render a Kustomize overlay and fill its Secret placeholders in memory.

Every Secret value equal to the placeholder (default StrongBase64Password; in data: its
base64) is replaced by the environment variable named like the key (POSTGRES_SA_PASSWORD),
or by the variable a --secret-map file names for it. data gets the base64 of the value,
stringData the text. Values are masked before anything is printed. Any variable missing
(unset, or empty without --allow-empty), or any placeholder left anywhere, fails before
output with one message naming every Secret, key and variable, never a value.

Manifests go to stdout, or with --output FILE to a new file of mode 0600 (never a symlink).
--output '' writes no manifests at all: substitution is verified in memory and objects are
counted (what actions/substitute-secrets does by default; the apply action renders in memory
itself). With --output FILE or '' the report goes to stdout instead (--format json|table).

--check needs no values: it lists, per overlay, the secrets each one needs and whether each
variable is set, and exits 1 only with --require-all when one is missing (or when a
placeholder sits where it can never be substituted). This is what PR validation runs.
"""

EPILOG = """\
examples:
  # what does the dev overlay need, and is it all set here?
  gitops render --check --overlay infra/k8s/hetzner/dev

  # PR validation: every overlay, fail if a placeholder can never be substituted
  gitops render --check --overlay infra/k8s/hetzner/dev --overlay infra/k8s/hetzner/prod

  # render with values from the environment and apply, nothing on disk
  POSTGRES_SA_PASSWORD=... gitops render --overlay infra/k8s/podman/local | kubectl apply -f -

  # keys whose variable is named differently (JSONPath into the Secret -> variable)
  printf 'postgres-credentials:\\n  "$.stringData.POSTGRES_SA_PASSWORD": PG_SA\\n' > map.yaml
  gitops render --overlay infra/k8s/hetzner/dev --secret-map map.yaml --output '' --format table

exit codes: 0 ok, 1 missing variables / leftover placeholders / a bad overlay or map.
"""

MODES = ("render", "check")


def add_arguments(p: argparse.ArgumentParser) -> None:
    options.add_overlay(
        p,
        many=True,
        help="overlay directory (holds kustomization.yaml); repeat it, or give one per line, with --check",
    )
    options.add_secret_map(p)
    options.add_placeholder(p)
    options.add(
        p, "--mode", input="mode", default="render", metavar="render|check", help="render (default) or check"
    )
    p.add_argument("--check", action="store_const", const="check", dest="mode", help="same as --mode check")
    REQUIRE_ALL.add(p)
    ALLOW_EMPTY.add(p)
    options.add(
        p,
        "--output",
        input="output-file",
        keep_empty=True,  # the action's default: write the manifests nowhere
        default="-",
        metavar="FILE",
        help="where the manifests go: - (stdout, default), a FILE (created 0600), or '' (nowhere)",
    )


REQUIRE_ALL = options.Switch(
    "--require-all",
    "with --check: exit 1 when a needed variable is missing (false: warn)",
    input="require-all",
)
ALLOW_EMPTY = options.Switch(
    "--allow-empty",
    "treat a variable set to '' as a value (false: as missing, because Actions turns an unknown "
    "${{ secrets.X }} into '')",
    input="allow-empty",
)


def _overlays(values: list[str]) -> list[Path]:
    result = [Path(line.strip()) for value in values for line in value.splitlines() if line.strip()]
    if not result:
        raise ConfigurationError(
            "--overlay is empty",
            key="--overlay",
            hint="Pass an overlay directory, e.g. --overlay infra/k8s/hetzner/dev.",
            title="Missing argument",
        )
    return result


def run(args: argparse.Namespace) -> int:
    mode = args.mode
    if mode not in MODES:
        raise ConfigurationError(
            f"--mode must be 'render' or 'check', not {mode!r}", key="--mode", title="Invalid input"
        )
    require_all = REQUIRE_ALL.read(args)
    allow_empty = ALLOW_EMPTY.read(args)
    overlays = _overlays(args.overlay)
    secret_map = options.secret_map(args)
    placeholder = options.placeholder(args)
    if mode == "check":
        return _check(
            args, overlays, secret_map, placeholder, require_all=require_all, allow_empty=allow_empty
        )
    if len(overlays) != 1:
        raise ConfigurationError(
            f"render takes one overlay, got {len(overlays)}",
            key="--overlay",
            hint="Render one overlay at a time; --check accepts several.",
            title="Invalid arguments",
        )
    if require_all:
        runner.current().warning("--require-all only applies to --check; rendering always requires all")
    return _render(args, overlays[0], secret_map, placeholder, allow_empty=allow_empty)


# -- render ----------------------------------------------------------------------------------


def _render(
    args: argparse.Namespace, overlay: Path, secret_map: Path | None, placeholder: str, *, allow_empty: bool
) -> int:
    from gitops.operations.rendering import display_path, render_overlay

    run = runner.current()
    output: str = args.output
    target = None if output in ("", "-") else Path(output)
    if target is not None:
        private_file.check_target(target)  # before any work: a bad path should not cost a render
    rendered = render_overlay(
        overlay, os.environ, placeholder=placeholder, secret_map=secret_map, allow_empty=allow_empty
    )
    shown = display_path(overlay)
    if output == "-":
        where = "stdout"
    elif target is not None:
        where = display_path(target)
    else:
        where = None
    # Manifests carry the values: written unredacted, and only where the user asked.
    if output == "-":
        sys.stdout.flush()
        binary = getattr(sys.stdout, "buffer", None)
        if binary is not None:  # UTF-8 whatever the locale says
            binary.write(rendered.to_yaml().encode("utf-8"))
            binary.flush()
        else:  # pragma: no cover - a text-only stdout replacement
            sys.stdout.write(rendered.to_yaml())
            sys.stdout.flush()
    elif target is not None:
        private_file.write_private(target, rendered.to_yaml().encode("utf-8"))
    report = _report("render", placeholder, [(shown, rendered)], output=where)
    _publish(report)
    message = (
        f"rendered {len(rendered.objects)} object(s) from {shown}; "
        f"{len(rendered.needed)} secret value(s) substituted in memory; manifests: "
        + (where or "not written (verified in memory only)")
    )
    run.log(message)
    if output != "-":  # otherwise stdout carries the manifests
        emit(args.format, report, lambda: _table(report))
    return EXIT_OK


# -- check -----------------------------------------------------------------------------------


def _check(
    args: argparse.Namespace,
    overlays: list[Path],
    secret_map: Path | None,
    placeholder: str,
    *,
    require_all: bool,
    allow_empty: bool,
) -> int:
    from gitops.operations.rendering import display_path, render_overlay

    if args.output not in ("", "-"):
        raise ConfigurationError(
            "--output does not apply to --check (check reads no values and writes no manifests)",
            key="--output",
            hint="Drop --output, or use --mode render.",
            title="Invalid arguments",
        )
    results = []
    for overlay in overlays:
        rendered = render_overlay(
            overlay,
            os.environ,
            placeholder=placeholder,
            secret_map=secret_map,
            substitute_values=False,
            allow_empty=allow_empty,
        )
        results.append((display_path(overlay), rendered))
    report = _report("check", placeholder, results, output=None)
    _publish(report)
    emit(args.format, report, lambda: _table(report))
    problems = [Problem(f"{shown}: {stray}") for shown, rendered in results for stray in rendered.scan.strays]
    missing = [
        Problem(f"{shown}: variable {n.variable} is {_state_text(n.state)}: Secret {n.secret}, key {n.key}")
        for shown, rendered in results
        for n in rendered.needed
        if not n.is_set
    ]
    if problems or (missing and require_all):
        raise ConfigurationError(
            f"{len(problems) + (len(missing) if require_all else 0)} secret problem(s) found by --check",
            hint=(
                "Set the listed variables (in Actions: the step's env: from secrets.*), or map keys to "
                "other variables with --secret-map. A placeholder outside a whole Secret value must be "
                "moved into a Secret's data/stringData."
            ),
            title="Secrets check failed",
            problems=problems + (missing if require_all else []),
        )
    if missing:
        names = sorted({n.variable for _, r in results for n in r.needed if not n.is_set})
        runner.current().warning(
            f"{len(names)} needed variable(s) are not set here: {', '.join(names)} "
            "(pass --require-all to make this an error)",
            title="Secrets not set",
        )
    return EXIT_OK


def _state_text(state: str) -> str:
    return {"unset": "not set", "empty": "set but empty", "set": "set"}.get(state, state)


# -- report ----------------------------------------------------------------------------------


def _report(
    mode: str, placeholder: str, results: list[tuple[str, Any]], *, output: str | None
) -> dict[str, Any]:
    overlays: list[dict[str, Any]] = []
    for shown, rendered in results:
        overlays.append(
            {
                "overlay": shown,
                "object_count": len(rendered.objects),
                "secrets": [n.to_json() for n in rendered.needed],
                "needed_secrets": list(dict.fromkeys(n.variable for n in rendered.needed)),
                "missing_secrets": list(dict.fromkeys(n.variable for n in rendered.needed if not n.is_set)),
                "unsubstitutable": [str(p) for p in rendered.scan.strays],
                "unused_map_secrets": list(rendered.scan.unused_map_secrets),
            }
        )
    needed = sorted({v for o in overlays for v in o["needed_secrets"]})
    missing = sorted({v for o in overlays for v in o["missing_secrets"]})
    return {
        "mode": mode,
        "placeholder": placeholder,
        "overlays": overlays,
        "object_count": sum(o["object_count"] for o in overlays),
        "needed_secrets": needed,
        "missing_secrets": missing,
        "output": output,
        "ok": not missing and not any(o["unsubstitutable"] for o in overlays),
    }


def _rows(overlay: dict[str, Any]) -> list[list[str]]:
    return [
        [s["secret"], s["key"], s["variable"], _state_text(s["state"]) if s["state"] != "set" else "yes"]
        for s in overlay["secrets"]
    ]


HEADERS = ("secret", "key", "variable", "set")


def _headline(report: dict[str, Any]) -> tuple[str, str]:
    """(icon, text): the verdict for the job summary and the table, before any detail."""
    overlays = report["overlays"]
    where = overlays[0]["overlay"] if len(overlays) == 1 else f"{len(overlays)} overlays"
    needed, missing = report["needed_secrets"], report["missing_secrets"]
    strays = sum(len(o["unsubstitutable"]) for o in overlays)
    if report["mode"] == "render":
        return ":white_check_mark:", (
            f"gitops render {where}: {report['object_count']} object(s), "
            f"{len(needed)} secret variable(s) substituted in memory"
        )
    head = f"gitops render --check {where}: "
    if strays:
        return ":x:", head + f"{strays} placeholder(s) that can never be substituted"
    if missing:
        names = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        return ":warning:", head + f"{len(missing)} of {len(needed)} needed variable(s) not set: {names}"
    if not needed:
        return ":white_check_mark:", head + "no secret placeholders"
    return ":white_check_mark:", head + f"all {len(needed)} needed variable(s) set"


def _table(report: dict[str, Any]) -> str:
    parts = [_headline(report)[1], ""]
    for overlay in report["overlays"]:
        parts.append(f"{overlay['overlay']}: {overlay['object_count']} object(s)")
        rows = _rows(overlay)
        parts.append(text_table(HEADERS, rows) if rows else "(no secret placeholders)")
        parts.extend(f"! {p}" for p in overlay["unsubstitutable"])
        parts.append("")
    if report["mode"] == "render":
        parts.append(f"manifests: {report['output'] or 'not written (verified in memory only)'}")
    return "\n".join(parts).rstrip() + "\n"


def _publish(report: dict[str, Any]) -> None:
    """Step outputs, warnings and the job summary (names and states only; values never get here)."""
    import json

    run = runner.current()
    for overlay in report["overlays"]:
        for name in overlay["unused_map_secrets"]:
            run.warning(
                f"the secret map names Secret {name}, which {overlay['overlay']} does not render "
                "(map keys are rendered Secret names, after namePrefix/nameSuffix)",
                title="Unused secret map entry",
            )
    run.set_output("needed-secrets", json.dumps(report["needed_secrets"]))
    run.set_output("missing-secrets", json.dumps(report["missing_secrets"]))
    run.set_output("object-count", str(report["object_count"]))
    icon, text = _headline(report)
    lines = [f"### {icon} {text}", ""]
    for overlay in report["overlays"]:
        lines += [f"**{overlay['overlay']}**: {overlay['object_count']} object(s)", ""]
        rows = _rows(overlay)
        lines.append(markdown_table(HEADERS, rows) if rows else "No secret placeholders.\n")
        lines.extend(f"- :x: {p}" for p in overlay["unsubstitutable"])
        if overlay["unsubstitutable"]:
            lines.append("")
    if report["mode"] == "render":
        lines.append(f"Manifests: {report['output'] or 'not written (substitution verified in memory)'}")
    run.summary("\n".join(lines) + "\n")
