"""Arguments shared by the GitHub-facing verbs, and reading action inputs from the environment.

Composite actions pass every input through ``env:`` (``GITOPS_INPUT_<NAME>``), never through
``${{ }}`` in ``run:``; each flag here falls back to its variable, so the action's one step
is just ``gitops <verb>``. Booleans accept exactly ``true``/``false`` (or empty for the default).
"""

from __future__ import annotations

import argparse
import os

from gitops.core.inputs import parse_bool
from gitops.errors import ConfigurationError


def input_env(name: str) -> str:
    """The environment variable that carries action input ``name`` (``app-id`` -> ``GITOPS_INPUT_APP_ID``)."""
    return "GITOPS_INPUT_" + name.upper().replace("-", "_")


def env_default(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(input_env(name), "").strip()
    return value or default


def env_flag(name: str) -> bool:
    """A boolean action input read from its ``GITOPS_INPUT_*`` variable; empty = false."""
    var = input_env(name)
    return parse_bool(os.environ.get(var, ""), f"input `{name}` ({var})")


def add_repo_and_app(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("repository and authentication")
    group.add_argument(
        "--repo",
        metavar="OWNER/NAME",
        default=env_default("repo"),
        help="the repository (default: $GITHUB_REPOSITORY, the repository the workflow runs in)",
    )
    group.add_argument(
        "--app-id",
        metavar="ID",
        default=env_default("app-id"),
        help="authenticate as this GitHub App (numeric App ID) instead of GH_TOKEN/GITHUB_TOKEN: an "
        "installation token for --repo is minted from the App's private key",
    )
    group.add_argument(
        "--app-private-key-env",
        metavar="VAR",
        default=env_default("app-private-key-env", "GITHUB_APP_PRIVATE_KEY"),
        help="environment variable holding the App's PEM private key (default: GITHUB_APP_PRIVATE_KEY)",
    )


def repository(args: argparse.Namespace) -> str:
    value = args.repo or os.environ.get("GITHUB_REPOSITORY", "")
    if not value:
        raise ConfigurationError(
            "no repository: --repo is empty and $GITHUB_REPOSITORY is not set",
            key="--repo",
            title="Repository missing",
            hint="pass --repo OWNER/NAME, e.g. --repo acme/platform (inside Actions it defaults to "
            "the repository the workflow runs in)",
        )
    return str(value)


def require(value: str | None, flag: str, example: str) -> str:
    if value is None or not str(value).strip():
        raise ConfigurationError(
            f"{flag} is required (or its action input)",
            key=flag,
            title="Missing argument",
            hint=f"e.g. {flag} {example}",
        )
    return str(value).strip()


def seconds_flag(text: str) -> float:
    """argparse ``type=`` for a number of seconds, with a message that says so (not 'invalid float')."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds, e.g. 1800 (units such as 30m are not accepted), not {text!r}"
        ) from None
    return value
