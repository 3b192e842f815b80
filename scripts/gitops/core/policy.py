"""The deploy-control policy as plain, immutable data (``infra/deploy-control.yaml``, version 3).

:mod:`gitops.core.policy_schema` reads and validates the file and builds these objects; everything that
decides (:mod:`gitops.core.gate`, :mod:`gitops.core.windows`) takes them as plain input.
Every environment has the same keys (only values differ), so a feature can be tried in ``dev``
with the exact structure that ``prod`` will get.

Keys may be left out, in every environment at once (the reference's own v3.0.0 file sets only
``enabled``, ``auto_deploy``, ``require_manual_approval``, ``deployment_windows.enabled`` and
``services``); each one left out has the default :data:`DEFAULTS` documents, and
:attr:`Policy.defaults` says which values of a file came from a default. A service that is not
listed under ``services`` follows its environment (:func:`gitops.core.gate.evaluate` says so
in its checks).

Environments that are not in the file are not governed by it. The one such environment in this
repository is ``local`` (``infra/k8s/podman/local``): it deploys only to the kube context on a
developer's own machine (``gitops apply --overlay infra/k8s/podman/local``) and no workflow
deploys it. :data:`UNGOVERNED` says so in words the CLI shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

POLICY_VERSION = 3

# Where an environment's branch is not written: dev, test and prod deploy from the branches of
# the reference's workflows (push to dev, test, main); any other environment from its own name.
DEFAULT_BRANCHES: Mapping[str, str] = {"dev": "dev", "test": "test", "prod": "main"}
DEFAULT_ROLLOUT_TIMEOUT_SECONDS = 300
DEFAULT_TIMEZONE = "UTC"

# Every key that may be left out, with its default in words (key paths under environments.<env>;
# the schema's reader applies them, `gitops validate --explain` and the README show them).
DEFAULTS: tuple[tuple[str, str], ...] = (
    ("version", f"{POLICY_VERSION}"),
    ("branch", "dev -> dev, test -> test, prod -> main, any other environment -> its own name"),
    ("rollout_timeout_seconds", f"{DEFAULT_ROLLOUT_TIMEOUT_SECONDS}"),
    ("cluster.enabled", "true"),
    ("cluster.auto_deploy", "the environment's auto_deploy"),
    ("deployment_windows.timezone", DEFAULT_TIMEZONE),
    ("deployment_windows.allow", "[] (any time; only deny restricts)"),
    ("deployment_windows.deny", "[]"),
    ("deployment_windows.emergency_override.enabled", "false"),
    ("deployment_windows.emergency_override.require_reason", "true"),
    ("deployment_windows.emergency_override.actors", "[] (anyone allowed to run the workflow)"),
    ("services", "{} (a service not listed follows its environment)"),
)


def default_branch(environment: str) -> str:
    """The branch automatic deploys of ``environment`` come from when the file names none."""
    return DEFAULT_BRANCHES.get(environment, environment)


# Day names used in ``allow[].days``; index = ``date.weekday()``.
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Environments that exist as overlays but are deliberately outside the policy, with the reason.
UNGOVERNED: Mapping[str, str] = {
    "local": (
        "not governed by deploy-control.yaml: laptop only, no workflow deploys it "
        "(gitops apply --overlay infra/k8s/podman/local deploys to your current kube context)"
    ),
}


@dataclass(frozen=True)
class AllowWindow:
    """A weekly window: on each of ``days`` (0=Monday) from ``start`` until ``end``, wall clock.

    ``end <= start`` means the window runs past midnight into the next day (``days`` names the
    day it starts); ``start == end`` is a full 24 hours.
    """

    days: frozenset[int]
    start: time
    end: time

    @property
    def wraps(self) -> bool:
        return self.end <= self.start

    def describe(self) -> str:
        names = ",".join(WEEKDAYS[d] for d in sorted(self.days))
        return f"{names} {self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class DenyPeriod:
    """A freeze that beats every allow window.

    A :class:`~datetime.date` bound means the whole day in the window's time zone (``end`` is
    inclusive: the freeze lasts until the end of that day). A :class:`~datetime.datetime` bound
    is an instant; a naive one is wall-clock time in the window's time zone. A datetime ``end``
    is exclusive.
    """

    start: date | datetime
    end: date | datetime
    reason: str


@dataclass(frozen=True)
class EmergencyOverride:
    enabled: bool
    require_reason: bool
    actors: tuple[str, ...]  # GitHub logins; empty = anyone allowed to run the workflow


@dataclass(frozen=True)
class DeploymentWindows:
    enabled: bool
    timezone: ZoneInfo
    allow: tuple[AllowWindow, ...]
    deny: tuple[DenyPeriod, ...]
    emergency_override: EmergencyOverride


@dataclass(frozen=True)
class ServicePolicy:
    enabled: bool
    auto_deploy: bool
    rollback_on_failure: bool


@dataclass(frozen=True)
class ClusterPolicy:
    """Whether the environment's cluster may be created/updated (and automatically, on push)."""

    enabled: bool
    auto_deploy: bool


@dataclass(frozen=True)
class EnvironmentPolicy:
    name: str
    branch: str
    enabled: bool
    auto_deploy: bool
    require_manual_approval: bool
    rollout_timeout_seconds: int
    cluster: ClusterPolicy
    deployment_windows: DeploymentWindows
    services: Mapping[str, ServicePolicy]


@dataclass(frozen=True)
class Policy:
    version: int
    auto_deploy: bool  # global kill switch for automatic deploys
    environments: Mapping[str, EnvironmentPolicy]
    source: str | None = None  # the file it was read from, for messages
    # key path (``environments.prod.deployment_windows``) -> 1-based line in ``source``
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)
    # key path (``environments.dev.branch``) -> the default rule in words, for every value the
    # file left out; empty for a file that writes every key
    defaults: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def services(self) -> tuple[str, ...]:
        """Service names (the same in every environment), in file order."""
        for env in self.environments.values():
            return tuple(env.services)
        return ()

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key)


@dataclass(frozen=True)
class Override:
    """An emergency override as requested by a person (``gitops gate --override``)."""

    actor: str | None
    reason: str | None
