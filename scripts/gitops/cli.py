"""The ``gitops`` command line: wires verbs (``gitops.commands.*``) to the runner.

Exit codes: 0 success (also "the gate said no": that is a decision, not an error),
1 a mistake the user can fix (:class:`~gitops.errors.ConfigurationError`),
2 a deployment that ran and failed (rollout timeout, rollback), 3 a bug in this suite.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from gitops import __version__, runner
from gitops.errors import EXIT_INTERNAL_ERROR, EXIT_USER_ERROR, ConfigurationError

# verb -> module under gitops.commands. Order is the order of `gitops --help`.
VERBS: dict[str, str] = {
    "plan": "plan",
    "changes": "changes",
    "gate": "gate",
    "render": "render",
    "validate": "validate",
    "apply": "apply",
    "cluster-ready": "cluster_ready",
    "deploy": "deploy",
    "upload-kubeconfig": "upload_kubeconfig",
    "dispatch": "dispatch",
    "cluster": "cluster",
}

DESCRIPTION = """\
GitOps deploy suite: take Kubernetes infrastructure from Git to running clusters, safely.

Locally, `gitops plan` shows what the last commit would deploy where, and why, with no
cluster and no GitHub. In GitHub Actions each verb backs one composite action.
"""

EPILOG = """\
exit codes: 0 ok (a gate that says "blocked" is still 0), 1 a mistake you can fix
(the message names the file, key or flag), 2 a deployment ran and failed, 3 a bug.
Output: --format json (default inside GitHub Actions) or --format table.
"""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage mistake exits 1 (a mistake you can fix), not argparse's 2,
    which this CLI reserves for "a deployment ran and failed"."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\nRun `{self.prog} --help` for examples.\n")


def _load(module: str) -> ModuleType:
    return importlib.import_module(f"gitops.commands.{module}")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="gitops",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gitops {__version__}")
    common = ArgumentParser(add_help=False)
    common.add_argument(
        "--format",
        choices=("json", "table"),
        default=None,
        help="output format on stdout (default: json inside GitHub Actions, table elsewhere)",
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, module in VERBS.items():
        try:
            mod = _load(module)
        except ModuleNotFoundError as exc:  # a verb not built yet must not break the others
            if exc.name != f"gitops.commands.{module}":
                raise
            continue
        mod.add_parser(sub, verb, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    run = runner.current()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.format is None:
        from gitops.report import default_format

        args.format = default_format()
    try:
        code: int = args.handler(args)
        return code
    except ConfigurationError as exc:
        run.error(
            _problem_text(exc),
            file=exc.file,
            line=exc.line,
            title=exc.title,
        )
        if exc.hint:
            run.log(f"How to fix: {exc.hint}")
        run.summary(_summary_markdown(exc))
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        run.log("interrupted")
        return 130
    except Exception as exc:
        with run.group(f"Internal error: {type(exc).__name__} (please report this traceback)"):
            run.log("".join(traceback.format_exception(exc)))
        run.error(f"internal error: {type(exc).__name__}: {exc}", title="gitops bug")
        return EXIT_INTERNAL_ERROR


def _problem_text(exc: ConfigurationError) -> str:
    lines = [f"{exc.key}: {exc.message}" if exc.key else exc.message]
    lines.extend(f"- {p}" for p in exc.problems)
    return "\n".join(lines)


def _summary_markdown(exc: ConfigurationError) -> str:
    where = ":".join(p for p in (exc.file, str(exc.line) if exc.line else None) if p)
    parts = [f"### :x: {exc.title}", "", f"{exc.message}"]
    if where or exc.key:
        parts += ["", f"Where: `{where}` {f'`{exc.key}`' if exc.key else ''}".rstrip()]
    if exc.problems:
        parts += ["", *[f"- {p}" for p in exc.problems]]
    if exc.hint:
        parts += ["", f"**How to fix:** {exc.hint}"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
