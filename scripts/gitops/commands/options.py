"""Options shared by the verbs, declared once and composed per verb (pip's ``cli/cmdoptions.py``).

**How an action input reaches its verb** (the one convention of every ``action.yml``): the
action's single step passes each input ``NAME`` through ``env:`` as ``GITOPS_INPUT_<NAME>``
(upper case, ``-`` -> ``_``; never ``${{ }}`` inside ``run:``) and runs ``gitops VERB --format
json`` with no other flag. Every option that backs an input is declared here or in its verb
with ``input="NAME"``: its default is read from that variable, a flag given on the command line
still wins, and an empty input means the option's own default (unless the option says that
empty means something, e.g. "skip this check"). An option that is required on the command line
is not when its input is set. tests/unit/commands/test_action_inputs.py checks, for every
action, that each input arrives at an option of its verb this way.

Booleans are 'true'/'false' (``--flag`` alone means true) and durations plain seconds, both
parsed by :mod:`gitops.core.inputs`; an error names the flag and, when the value came from an
action, the input.

Groups: cluster connection (:func:`add_kube_args`), the gate (:func:`add_gate_args`,
:func:`gate_request`), the manifests to render (:func:`add_overlay`, :func:`add_secret_map`,
:func:`add_placeholder`), the repository and GitHub authentication (:func:`add_repo_and_app`),
and the durations and switches several verbs share.

Why one module of ~570 lines: it is the ONE place a shared flag is declared, next to the reader
that turns it into a request (``gate_request``, ``kube_source``, ``github_access``) and the
runner defaults it falls back to (``$GITHUB_REF``, the triggering actor); most of it is argparse
declarations, one group per concern in the order above. Split, a flag's declaration and its
reader would live in two places, which is what this module exists to prevent.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops.adapters import runner
from gitops.core.inputs import parse_bool, parse_seconds
from gitops.errors import ConfigurationError

if TYPE_CHECKING:  # imported where used: `gitops changes` must not pay for the kube adapter
    from gitops.adapters.github import Access
    from gitops.adapters.kubeconfig_source import KubeconfigSource
    from gitops.operations.gating import GateRequest

INPUT_PREFIX = "GITOPS_INPUT_"

Container = argparse.ArgumentParser | argparse._ArgumentGroup


# -- action inputs ---------------------------------------------------------------------------------


def input_env(name: str) -> str:
    """The variable that carries action input ``name`` (``app-id`` -> ``GITOPS_INPUT_APP_ID``)."""
    return INPUT_PREFIX + name.upper().replace("-", "_")


def from_input(name: str, default: str = "") -> str:
    """Action input ``name`` as its step passed it, or ``default`` when it is empty or absent."""
    value = os.environ.get(input_env(name), "")
    return value if value.strip() else default


def label(flag: str, input_name: str | None) -> str:
    """How an error names a value: the flag, plus the action input when the value came from one."""
    if input_name and os.environ.get(input_env(input_name), "").strip():
        return f"{flag} (input `{input_name}`)"
    return flag


def add(
    container: Container,
    *flags: str,
    input: str | None = None,  # the action input's name, as action.yml spells it
    keep_empty: bool = False,
    default: Any = "",
    required: bool = False,
    **kwargs: Any,
) -> argparse.Action:
    """``add_argument`` whose default comes from action input ``input`` (see the module docstring).

    ``keep_empty``: an empty input is passed on as ``""`` instead of meaning the default, for
    the options where empty says something (``--csi-driver ''`` skips that check).
    """
    if input is not None and (from_input(input) or (keep_empty and input_env(input) in os.environ)):
        value = os.environ[input_env(input)]
        default = [value] if kwargs.get("action") == "append" else value
        required = False
    return container.add_argument(*flags, default=default, required=required, **kwargs)


class _Typed:
    """An option whose text is parsed when it is read, so the error can name flag and input.

    Plain classes, not dataclasses: every verb imports this module, and `dataclasses` (with the
    inspect/ast/dis it imports) is a visible share of a short verb's start (gitops changes).
    """

    def __init__(self, flag: str, help: str, input: str | None = None) -> None:
        self.flag = flag
        self.help = help
        self.input = input

    def text(self, args: argparse.Namespace) -> tuple[str | None, str]:
        """The option's text and the name an error should give it."""
        value: str | None = getattr(args, self.flag.lstrip("-").replace("-", "_"))
        return value, label(self.flag, self.input)


class Switch(_Typed):
    """A boolean option: ``--flag``, ``--flag true|false``, or its action input; empty = false."""

    def add(self, container: Container) -> None:
        add(
            container,
            self.flag,
            input=self.input,
            nargs="?",
            const="true",
            metavar="true|false",
            help=f"{self.help} (default: false)",
        )

    def read(self, args: argparse.Namespace) -> bool:
        return parse_bool(*self.text(args))


class Duration(_Typed):
    """A number of seconds (units such as 5m are refused, not guessed); empty = ``default``."""

    def __init__(self, flag: str, help: str, input: str | None = None, default: float = 0.0) -> None:
        super().__init__(flag, help, input)
        self.default = default

    def add(self, container: Container) -> None:
        add(
            container,
            self.flag,
            input=self.input,
            metavar="SECONDS",
            help=f"{self.help} (default: {self.default:g})",
        )

    def read(self, args: argparse.Namespace) -> float:
        return parse_seconds(*self.text(args), self.default)


def require(value: str | None, flag: str, example: str) -> str:
    """A text option that has no default: present on the command line or as its input."""
    if value is None or not str(value).strip():
        raise ConfigurationError(
            f"{flag} is required (or its action input)",
            key=flag,
            title="Missing argument",
            hint=f"e.g. {flag} {example}",
        )
    return str(value).strip()


# -- shared switches and durations -----------------------------------------------------------------

DRY_RUN = Switch(
    "--dry-run",
    "server-side dry run of every object with a diff summary; nothing is written",
    input="dry-run",
)
# 30 s: adapters.kube.DEFAULT_REQUEST_TIMEOUT (tests/unit/commands/test_options.py keeps them equal)
REQUEST_TIMEOUT = Duration(
    "--request-timeout",
    "the longest one API request may take, the whole answer included (a server that sends too slowly "
    "is cut off)",
    default=30.0,
)
PROGRESS_INTERVAL = Duration(
    "--progress-interval", "how often to print a progress line while waiting", default=10.0
)


# -- cluster connection ----------------------------------------------------------------------------

KUBECONFIG_HELP = """\
kubeconfig: --kubeconfig PATH, or --kubeconfig-env VAR (the kubeconfig CONTENT, plain or
base64, in that environment variable: how a workflow passes a secret without writing it to
disk), else $KUBECONFIG / ~/.kube/config. Credentials are masked and never written to disk
(client certificates live in anonymous memory files on Linux).
"""


def add_kube_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cluster connection")
    add(group, "--kubeconfig", input="kubeconfig-path", metavar="PATH", help="kubeconfig file")
    add(
        group,
        "--kubeconfig-env",
        input="kubeconfig-env",
        metavar="VAR",
        help="environment variable holding the kubeconfig content (never written to disk)",
    )
    add(group, "--context", input="context", metavar="NAME", help="kubeconfig context (default: current)")
    REQUEST_TIMEOUT.add(group)


def kube_source(args: argparse.Namespace) -> KubeconfigSource:
    from gitops.adapters.kubeconfig_source import KubeconfigSource

    path = args.kubeconfig.strip()
    env_var = args.kubeconfig_env.strip()
    if path and env_var:
        raise ConfigurationError(
            "--kubeconfig and --kubeconfig-env are mutually exclusive",
            key="--kubeconfig-env",
            hint="pass the kubeconfig one way only",
            title="Invalid arguments",
        )
    return KubeconfigSource(Path(path) if path else None, env_var or None, args.context.strip() or None)


# -- the environment, and how its objects are applied ---------------------------------------------


def add_environment(container: Container, *, help: str) -> None:
    """``--environment``/``--env`` (required, or its action input), for the verbs about one environment."""
    add(
        container,
        "--environment",
        "--env",
        dest="environment",
        input="environment",
        required=True,
        metavar="ENV",
        help=help,
    )


# The policy's environment and service names (core.policy_schema: a DNS label, as labels and job
# names need).
POLICY_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def policy_name(value: str, flag: str, input_name: str | None, example: str) -> str:
    """``value`` when it is a name the policy could hold (lower-case letters, digits, '-'), so a path,
    a line break or 5,000 characters is refused here, by its flag, instead of being looked up and
    echoed back into a message or a summary."""
    if not POLICY_NAME.fullmatch(value):
        shown = value if len(value) <= 40 else f"{value[:40]}..."
        raise ConfigurationError(
            f"{label(flag, input_name)} must be a name of the policy: lower-case letters, digits and '-' "
            f"(a DNS label), not {shown!r}",
            key=flag,
            title="Invalid input",
            hint=f"e.g. {flag} {example}",
        )
    return value


def environment_name(value: str | None, example: str = "dev") -> str:
    """``--environment`` of a verb about a policy environment: present, and a policy name."""
    return policy_name(require(value, "--environment", example), "--environment", "environment", example)


def add_namespace_and_field_manager(container: Container) -> None:
    """``--namespace`` and ``--field-manager``: where namespace-less objects go, whose fields are ours."""
    add(
        container,
        "--namespace",
        input="namespace",
        metavar="NS",
        help="namespace for objects without one (default: the context's)",
    )
    add(
        container,
        "--field-manager",
        input="field-manager",
        metavar="NAME",
        help="server-side apply field manager (default: gitops)",
    )


# -- the gate --------------------------------------------------------------------------------------

OVERRIDE = Switch(
    "--override",
    "request an emergency override of the deployment windows (only the windows), if the policy allows it",
    input="override",
)


def add_gate_args(
    parser: argparse.ArgumentParser, *, title: str, environment_help: str
) -> argparse._ArgumentGroup:
    """The gate's flags, for ``gitops gate`` and ``gitops deploy``; read them with :func:`gate_request`."""
    group = parser.add_argument_group(title)
    add_environment(group, help=environment_help)
    add_gate_flags(group)
    return group


def add_gate_flags(group: Container) -> None:
    """The gate's flags besides ``--environment`` (``gitops diff`` has its own ``--environment``)."""
    from gitops.core.gate import EVENTS
    from gitops.core.policy_schema import DEFAULT_PATH

    add(
        group,
        "--control",
        input="control-file",
        metavar="FILE",
        help=f"the policy file (default: {DEFAULT_PATH})",
    )
    add(
        group,
        "--event",
        input="event",
        metavar="NAME",
        help=f"the triggering event, one of {', '.join(EVENTS)} (default: $GITHUB_EVENT_NAME, else "
        "workflow_dispatch)",
    )
    add(
        group,
        "--ref",
        input="ref",
        metavar="REF",
        help="the branch being deployed, main or refs/heads/main (default: $GITHUB_REF)",
    )
    add(
        group,
        "--at",
        input="at",
        metavar="ISO8601",
        help="decide for this instant, with an offset, e.g. 2026-12-24T10:00:00+01:00 (default: now)",
    )
    OVERRIDE.add(group)
    add(
        group,
        "--reason",
        input="reason",
        metavar="TEXT",
        help="why the override is needed, e.g. 'INC-42' (recorded)",
    )
    add(
        group,
        "--actor",
        input="actor",
        metavar="LOGIN",
        help="who asks, checked against emergency_override.actors (default: $GITHUB_TRIGGERING_ACTOR, who "
        "started this attempt of the run: on a re-run the person who re-ran it; else $GITHUB_ACTOR)",
    )
    add(
        group,
        "--triggered-by",
        input="triggered-by",
        metavar="NAME",
        help="the automation that sent a workflow_dispatch (e.g. hetzner-k8s): makes it an automatic "
        "deploy (default: $GITOPS_TRIGGERED_BY; empty or 'manual' = a person)",
    )


def gate_flags_given(args: argparse.Namespace) -> bool:
    """Was any gate flag given (on the command line or as its action input), not only defaulted
    from the runner? ``gitops diff`` evaluates the gate only then (or with ``--gate``)."""
    texts = (args.control, args.event, args.ref, args.at, args.reason, args.actor, args.triggered_by)
    return any(str(text).strip() for text in texts) or OVERRIDE.read(args)


def triggering_actor() -> str:
    """Who started this attempt of the run: ``github.triggering_actor`` (a re-run's is the person who
    re-ran it; ``github.actor`` stays the first run's user), else ``github.actor``."""
    console = runner.current()
    return console.env("GITHUB_TRIGGERING_ACTOR").strip() or console.env("GITHUB_ACTOR").strip()


def run_actor() -> str:
    """``github.actor`` (who started the run), else the local user."""
    import getpass

    actor = runner.current().env("GITHUB_ACTOR").strip()
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "unknown"


def run_url() -> str | None:
    """This run attempt's page, in Actions."""
    console = runner.current()
    server, repo, run = (
        console.env(n).strip() for n in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if not (server and repo and run):
        return None
    attempt = console.env("GITHUB_RUN_ATTEMPT").strip()
    return f"{server}/{repo}/actions/runs/{run}" + (f"/attempts/{attempt}" if attempt else "")


def claim_command(args: argparse.Namespace, environment: str) -> str:
    """The exact ``gitops claim`` for the cluster these kube flags reach (said when it is not bound)."""
    parts = ["gitops", "claim", "--environment", environment]
    for flag, value in (
        ("--kubeconfig", args.kubeconfig.strip()),
        ("--kubeconfig-env", args.kubeconfig_env.strip()),
        ("--context", args.context.strip()),
    ):
        if value:
            parts += [flag, value]
    command = "`" + " ".join(parts) + "`"
    if runner.current().in_actions:
        command += (
            " on a machine that has the kubeconfig, or dispatch the deploy workflow by hand with "
            "claim_cluster: true"
        )
    return command


def automatic_from(triggered_by: str) -> bool | None:
    """A dispatch naming the automation that sent it is automatic; none or 'manual' is a person."""
    value = triggered_by.strip()
    return True if value and value.lower() != "manual" else None


def gate_request(args: argparse.Namespace) -> GateRequest:
    """The gate flags of :func:`add_gate_args`, with their defaults from the runner, checked once."""
    from datetime import UTC, datetime

    from gitops.core.policy import Override
    from gitops.core.policy_schema import DEFAULT_PATH, parse_instant
    from gitops.operations.gating import GateRequest

    console = runner.current()
    override = None
    if OVERRIDE.read(args):
        override = Override(
            actor=args.actor.strip() or triggering_actor() or None,
            reason=args.reason.strip() or None,
        )
    elif args.reason.strip():
        console.warning("--reason is ignored without --override", title="Deploy gate")
    return GateRequest(
        environment=environment_name(args.environment),
        control=Path(args.control.strip() or DEFAULT_PATH),
        event=args.event.strip() or console.env("GITHUB_EVENT_NAME") or "workflow_dispatch",
        ref=args.ref.strip() or console.env("GITHUB_REF") or None,
        at=parse_instant(args.at) if args.at.strip() else datetime.now(UTC),
        override=override,
        automatic=automatic_from(args.triggered_by.strip() or console.env("GITOPS_TRIGGERED_BY")),
    )


# -- the manifests to render -----------------------------------------------------------------------


ALLOW_REMOTE = Switch(
    "--allow-remote",
    "let kustomize fetch what the overlay names outside the repository (http(s) files, git bases, Helm "
    "charts); without it such a reference is an error naming its file and line",
)


def allow_remote(args: argparse.Namespace) -> None:
    """Tell the kustomize adapter whether this verb may fetch remote references (set once, for the
    process, by the CLI for every verb that has --allow-remote)."""
    from gitops.adapters import kustomize

    kustomize.allow_remote(ALLOW_REMOTE.read(args))


def add_overlay(container: Container, *, help: str, many: bool = False) -> None:
    """``--overlay DIR`` (``many``: repeatable, or one per line; required), and ``--allow-remote``."""
    ALLOW_REMOTE.add(container)
    if many:
        add(
            container,
            "--overlay",
            input="overlay",
            action="append",
            default=[],
            required=True,
            metavar="DIR",
            help=help,
        )
    else:
        add(container, "--overlay", input="overlay", metavar="DIR", help=help)


def add_secret_map(container: Container) -> None:
    add(
        container,
        "--secret-map",
        input="secret-map",
        metavar="FILE",
        help="YAML: Secret name -> JSONPath expression -> variable name, for keys whose variable is "
        "named differently (see gitops render --help)",
    )


def add_placeholder(container: Container) -> None:
    add(
        container,
        "--placeholder",
        input="placeholder",
        default=None,
        metavar="TEXT",
        help="the stand-in value in the Secrets (default: StrongBase64Password)",
    )


def placeholder(args: argparse.Namespace) -> str:
    """The placeholder; an explicit empty one is passed on, to be refused where it is used."""
    from gitops.core.secrets import DEFAULT_PLACEHOLDER

    value: str | None = args.placeholder
    return DEFAULT_PLACEHOLDER if value is None else value


def secret_map(args: argparse.Namespace) -> Path | None:
    text: str = args.secret_map.strip()
    return Path(text) if text else None


# -- the repository and GitHub authentication ------------------------------------------------------


def add_repo_and_app(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("repository and authentication")
    add(
        group,
        "--repo",
        input="repository",
        default=None,
        metavar="OWNER/NAME",
        help="the repository (default: $GITHUB_REPOSITORY, the repository the workflow runs in)",
    )
    add(
        group,
        "--app-id",
        input="app-id",
        default=None,
        metavar="ID",
        help="authenticate as this GitHub App (numeric App ID) instead of GH_TOKEN/GITHUB_TOKEN: an "
        "installation token for --repo is minted from the App's private key",
    )
    group.add_argument(
        "--app-private-key-env",
        metavar="VAR",
        default="GITHUB_APP_PRIVATE_KEY",
        help="environment variable holding the App's PEM private key (default: GITHUB_APP_PRIVATE_KEY)",
    )
    if REQUEST_TIMEOUT.flag not in parser._option_string_actions:  # a verb may talk to a cluster too
        REQUEST_TIMEOUT.add(group)


def github_access(args: argparse.Namespace) -> Access:
    """The repository of --repo (else $GITHUB_REPOSITORY) and the GitHub App to act as, if any."""
    from gitops.adapters.github import Access, Repo, api_url, parse_repo

    api_url()  # GITHUB_API_URL is checked before anything happens (a plain-http URL is refused)
    value = args.repo or os.environ.get("GITHUB_REPOSITORY", "")
    if not value:
        raise ConfigurationError(
            "no repository: --repo is empty and $GITHUB_REPOSITORY is not set",
            key="--repo",
            title="Repository missing",
            hint="pass --repo OWNER/NAME, e.g. --repo acme/platform (inside Actions it defaults to "
            "the repository the workflow runs in)",
        )
    return Access(
        Repo(*parse_repo(str(value))), args.app_id, args.app_private_key_env, REQUEST_TIMEOUT.read(args)
    )
