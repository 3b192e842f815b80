"""The ``gitops`` command line: wires verbs (``gitops.commands.*``) to the runner.

Exit codes: 0 success (also "the gate said no": that is a decision, not an error),
1 a mistake the user can fix (:class:`~gitops.errors.ConfigurationError`),
2 a deployment that ran and failed (rollout timeout, rollback), 3 a bug in this suite.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from gitops import __version__, profiles
from gitops.adapters import deadline, runner
from gitops.errors import EXIT_INTERNAL_ERROR, EXIT_USER_ERROR, ConfigurationError, Problem

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
    "diff": "diff",
    "status": "status",
    "claim": "claim",
    "upload-kubeconfig": "upload_kubeconfig",
    "preview-access": "preview_access",
    "dispatch": "dispatch",
    "cluster": "cluster",
    "init": "init",
}

# One line per verb for `gitops --help`, so listing verbs imports none of them.
SUMMARIES: dict[str, str] = {
    "plan": "every environment x affected? x gate decision, from git + policy (no cluster, no GitHub)",
    "changes": "changed files between two commits or from an event -> environments and clusters",
    "gate": "evaluate infra/deploy-control.yaml for one environment (and service) now",
    "render": "kustomize build + in-memory secret substitution; --check lists needed secrets",
    "validate": "deploy-control.yaml schema and parity; every overlay builds and passes schema validation",
    "apply": "staged server-side apply, immutable-field recreate, rollout wait, rollback, verify",
    "cluster-ready": (
        "wait until the config's number of nodes are Ready with the CSI node plugin running, "
        "and the StorageClass exists"
    ),
    "deploy": "gate + apply + verify for one environment (its own cluster only, never an older commit)",
    "diff": "what a deploy would change, per object (server-side dry run or client-side); writes nothing",
    "status": "what is deployed in each environment (commit, when, who, result), from the deploy record",
    "claim": "bind a cluster to an environment (the identity record every deploy checks)",
    "upload-kubeconfig": "sealed-box encrypt a kubeconfig and store it as a GitHub environment secret",
    "preview-access": "create the read-only identity of previews in a cluster; store its KUBECONFIG_READONLY",
    "dispatch": "start a workflow_dispatch run with inputs; optionally wait for its conclusion",
    "cluster": "create or update the environment's cluster with the pinned hetzner-k3s",
    "init": "scaffold a repository for the suite: infra skeleton, policy, workflows pinned to a commit",
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
    which this CLI reserves for "a deployment ran and failed"; and its message (which quotes
    the bad value, perhaps a URL with a password) is redacted like everything else."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        text = f"{self.prog}: error: {message}\nRun `{self.prog} --help` for examples.\n"
        self.exit(EXIT_USER_ERROR, runner.current().redact(text))


def _load(module: str) -> ModuleType:
    return importlib.import_module(f"gitops.commands.{module}")


def requested_verb(argv: Sequence[str]) -> str | None:
    """The verb on the command line, if any (no global option takes a value)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in VERBS else None
    return None


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Build the parser, importing only the module of the verb being run.

    Other verbs get a placeholder sub-parser with their one-line summary, so `gitops --help`
    lists them all and a start-up never pays for kubernetes/github imports it does not use.
    """
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
    wanted = requested_verb(argv)
    for verb, module in VERBS.items():
        if verb == wanted:
            mod = _load(module)
            verb_parser = sub.add_parser(
                verb,
                parents=[common],
                help=SUMMARIES.get(verb, ""),
                description=mod.DESCRIPTION,
                epilog=mod.EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            mod.add_arguments(verb_parser)
            verb_parser.set_defaults(handler=mod.run)
        else:
            sub.add_parser(verb, help=SUMMARIES.get(verb, ""))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    run = runner.current()
    deadline.reset()  # each verb sets its own time limit
    arguments = sys.argv[1:] if argv is None else list(argv)
    wanted = requested_verb(arguments)
    if not {"-h", "--help"} & set(arguments):
        try:
            profiles.require(wanted)  # the packages of the verb's bootstrap profile, before any import
        except ConfigurationError as exc:
            return _user_error(exc, wanted)
    parser = build_parser(arguments)
    args = parser.parse_args(arguments)
    if args.format is None:
        from gitops.commands.output import default_format

        args.format = default_format()
    try:
        run.check_files()
        if hasattr(args, "allow_remote"):  # a verb that renders overlays: may kustomize fetch?
            from gitops.commands.options import allow_remote

            allow_remote(args)
        code: int = args.handler(args)
        return code
    except ConfigurationError as exc:
        return _user_error(exc, args.verb)
    except KeyboardInterrupt:
        run.log("interrupted")
        return 130
    except Exception as exc:
        missing = profiles.explain(exc, args.verb)
        if missing is not None:
            return _user_error(missing, args.verb)
        import traceback  # only for a bug: every run would pay for importing it

        with run.group(f"Internal error: {type(exc).__name__} (please report this traceback)"):
            run.log("".join(traceback.format_exception(exc)))
        run.error(f"internal error: {type(exc).__name__}: {exc}", title="gitops bug")
        return EXIT_INTERNAL_ERROR


def _user_error(exc: ConfigurationError, verb: str | None) -> int:
    run = runner.current()
    _report_configuration_error(exc)
    if exc.hint:
        run.log(f"How to fix: {exc.hint}")
    run.summary(_summary_markdown(exc, verb=verb))
    return EXIT_USER_ERROR


def _keyed(key: str | None, message: str) -> str:
    """``key: message``, unless the message already starts with the key (``--at '...' is not ...``)."""
    return f"{key}: {message}" if key and not message.startswith(key) else message


def _headline(exc: ConfigurationError) -> str:
    return _keyed(exc.key, exc.message)


def _listed_problems(exc: ConfigurationError) -> list[Problem]:
    """The problems worth listing under the headline: not a lone one that only repeats it."""
    problems = list(exc.problems)
    if len(problems) == 1 and problems[0].message == exc.message:
        return []
    return problems


def _report_configuration_error(exc: ConfigurationError) -> None:
    """In Actions, one annotation per located problem, so a PR shows each bad line where it is;
    in a terminal, one block listing every problem as ``file:line key: message``."""
    run = runner.current()
    headline = _headline(exc)
    if not exc.problems or not run.in_actions:
        lines = [headline, *(f"- {p}" for p in _listed_problems(exc))]
        run.error("\n".join(lines), file=exc.file, line=exc.line, title=exc.title)
        return
    run.log(f"{exc.title}: {headline}")
    for problem in exc.problems:
        text = _keyed(problem.key, problem.message)
        run.error(text, file=problem.file or exc.file, line=problem.line, title=exc.title)


def _summary_markdown(exc: ConfigurationError, verb: str | None = None) -> str:
    where = ":".join(p for p in (exc.file, str(exc.line) if exc.line else None) if p)
    head = f"gitops {verb}: {exc.title}" if verb else exc.title
    parts = [f"### :x: {head}", "", f"{exc.message}"]
    located = [f"`{part}`" for part in (where, exc.key) if part]
    if located:
        parts += ["", f"Where: {' '.join(located)}"]
    problems = _listed_problems(exc)
    if problems:
        parts += ["", *[f"- {p}" for p in problems]]
    if exc.hint:
        parts += ["", f"**How to fix:** {exc.hint}"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
