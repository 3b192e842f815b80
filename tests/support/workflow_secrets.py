"""Generate the deploy workflows' secret lists from what the overlays need, so they cannot drift.

    python -m tests.support.workflow_secrets --write    # rewrite the generated blocks in place
    python -m tests.support.workflow_secrets --check    # exit 1 if a block is stale

The one source is the Hetzner overlays themselves: every Secret value that holds the
placeholder needs a variable (``gitops render --check``, the product's own reading,
:func:`gitops.operations.rendering.render_overlay`), plus ``KUBECONFIG`` for the cluster and
``KUBECONFIG_READONLY`` for the read-only preview (``gitops diff``) before an approval. GitHub
Actions has no loop over secrets, so the names must be written out where a reusable workflow
declares them (``on.workflow_call.secrets``), where the caller passes them, and where the
deploy job's diff and deploy steps read them into their environment: five places in two
workflows, each a block between
``# BEGIN GENERATED SECRETS: <kind>`` and ``# END GENERATED SECRETS``. A kind says what to
write: ``declare`` (workflow_call declarations, KUBECONFIG first), ``pass`` (``NAME: ${{
secrets.NAME }}`` for every secret) or ``substituted`` (the same for the substituted ones only).

tests/integration/actions/test_workflow_secrets.py runs the check.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = (
    ROOT / ".github" / "workflows" / "deploy-k8s-resources.yml",
    ROOT / ".github" / "workflows" / "deploy-environment.yml",
)
HETZNER_OVERLAYS = tuple(ROOT / "infra" / "k8s" / "hetzner" / env for env in ("dev", "test", "prod"))
KUBECONFIG = "KUBECONFIG"
KUBECONFIG_READONLY = "KUBECONFIG_READONLY"  # the preview job's (gitops diff), in <env>-preview
BLOCK = re.compile(
    r"^(?P<indent> *)# BEGIN GENERATED SECRETS: (?P<kind>\w+)[^\n]*\n"
    r".*?^(?P=indent)# END GENERATED SECRETS\n",
    re.M | re.S,
)
DESCRIPTIONS = {
    KUBECONFIG: "Kubeconfig content of the target cluster; an environment secret of the same name wins",
    KUBECONFIG_READONLY: (
        "Read-only kubeconfig (get/list/watch, no Secrets) for the preview job; the secret of the same "
        "name in the <env>-preview environment wins"
    ),
    None: "Substituted into the Secrets in memory; an environment secret of the same name wins",
}


@functools.cache
def substituted() -> tuple[str, ...]:
    """The variables the Hetzner overlays' placeholders need, in the order they first appear."""
    from gitops.operations.rendering import render_overlay

    names: dict[str, None] = {}
    for overlay in HETZNER_OVERLAYS:
        for needed in render_overlay(overlay, {}, substitute_values=False).needed:
            names.setdefault(needed.variable)
    return tuple(names)


def every_secret() -> tuple[str, ...]:
    return (KUBECONFIG, KUBECONFIG_READONLY, *substituted())


def _lines(kind: str, indent: str) -> list[str]:
    if kind == "declare":
        return [
            line
            for name in every_secret()
            for line in (
                f"{indent}{name}:",
                f"{indent}  description: {DESCRIPTIONS.get(name, DESCRIPTIONS[None])}",
                f"{indent}  required: false",
            )
        ]
    names = {"pass": every_secret(), "substituted": substituted()}.get(kind)
    if names is None:
        raise SystemExit(f"unknown generated block kind {kind!r} (declare, pass or substituted)")
    return [f"{indent}{name}: ${{{{ secrets.{name} }}}}" for name in names]


def generated(text: str) -> str:
    """``text`` with every generated block rewritten."""

    def block(match: re.Match[str]) -> str:
        indent, kind = match["indent"], match["kind"]
        head = match.group(0).splitlines()[0]
        return "\n".join([head, *_lines(kind, indent), f"{indent}# END GENERATED SECRETS"]) + "\n"

    return BLOCK.sub(block, text)


def blocks(text: str) -> list[str]:
    return [m["kind"] for m in BLOCK.finditer(text)]


def stale() -> list[Path]:
    return [p for p in WORKFLOWS if generated(p.read_text(encoding="utf-8")) != p.read_text(encoding="utf-8")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.write:
        for path in WORKFLOWS:
            path.write_text(generated(path.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    outdated = stale()
    for path in outdated:
        print(f"{path.relative_to(ROOT)}: stale: run python -m tests.support.workflow_secrets --write")
    return 1 if outdated else 0


if __name__ == "__main__":
    sys.exit(main())
