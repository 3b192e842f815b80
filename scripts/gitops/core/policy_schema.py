"""The schema of ``infra/deploy-control.yaml`` (version 3), read into :mod:`gitops.core.policy`.

The file is composed by :func:`gitops.core.documents.compose` (line marks, limits, no alias
bombs or cycles) and read node by node by a :class:`gitops.core.yaml_schema.SchemaReader`, so
every finding carries its line and duplicate keys are caught. Every problem in the file is
collected and raised together in ONE :class:`~gitops.errors.ConfigurationError`
(``problems=[...]``), each with file, line and key path
(``environments.test.deployment_windows.allow[0].end``).

Type rules (also in the header of ``infra/deploy-control.yaml``); the generic ones (booleans
are ``true``/``false`` and never YAML 1.1's ``yes/no/on/off``; integers are plain decimal
digits; names YAML would turn into numbers or booleans must be quoted) are the reader's:

* Times, dates, time zones and the override's actors belong to ``deployment_windows``, read by
  :mod:`gitops.core.windows_schema` (this reader inherits it).
* ``<<`` merge keys and anchors/aliases work; keys written explicitly win over merged ones.

Keys that may be left out (:data:`gitops.core.policy.DEFAULTS`): ``version`` (absent, ``3``,
``"3"`` or any ``"3.x.y"`` all mean version 3), and per environment ``branch``,
``rollout_timeout_seconds``, ``cluster`` (and each of its keys), ``deployment_windows``'
``timezone``, ``allow``, ``deny`` and ``emergency_override`` (and each of its keys), and
``services``. That is the reference's own v3.0.0 file, which sets only ``enabled``,
``auto_deploy``, ``require_manual_approval``, ``deployment_windows.enabled`` and ``services``.
Parity holds over the keys present: a key one environment sets, every environment sets (or none
does, and all get the default), so a key left out in ONE environment is still an error.

One reader method per section of the file, each next to the messages it gives; the
``deployment_windows`` section is :mod:`gitops.core.windows_schema`, and how YAML is read is
:mod:`gitops.core.yaml_schema`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from yaml.nodes import MappingNode, Node

from gitops.core import documents
from gitops.core.documents import line_of
from gitops.core.policy import (
    DEFAULT_ROLLOUT_TIMEOUT_SECONDS,
    DEFAULTS,
    POLICY_VERSION,
    ClusterPolicy,
    EnvironmentPolicy,
    Policy,
    ServicePolicy,
    default_branch,
)
from gitops.core.windows_schema import (
    ALLOW_KEYS,
    DENY_KEYS,
    OVERRIDE_KEYS,
    REQUIRED_WINDOWS_KEYS,
    WINDOWS_KEYS,
    WindowsReader,
)
from gitops.core.yaml_schema import Entries, describe
from gitops.errors import ConfigurationError, Problem

DEFAULT_PATH = Path("infra/deploy-control.yaml")

TOP_KEYS = ("version", "global", "environments")
GLOBAL_KEYS = ("auto_deploy",)
ENV_KEYS = (
    "branch",
    "enabled",
    "auto_deploy",
    "require_manual_approval",
    "rollout_timeout_seconds",
    "cluster",
    "deployment_windows",
    "services",
)
CLUSTER_KEYS = ("enabled", "auto_deploy")
SERVICE_KEYS = ("enabled", "auto_deploy", "rollback_on_failure")

# The keys the reference's own v3.0.0 file writes are the ones that must be there; every other
# key has a default (DEFAULTS) and is checked for parity instead (_key_parity).
REQUIRED_ENV_KEYS = ("enabled", "auto_deploy", "require_manual_approval", "deployment_windows")
_DEFAULT_RULES = dict(DEFAULTS)
# Optional key paths under environments.<env>, parents before their children.
_OPTIONAL_PATHS = (
    "branch",
    "rollout_timeout_seconds",
    "cluster",
    *(f"cluster.{k}" for k in CLUSTER_KEYS),
    *(f"deployment_windows.{k}" for k in WINDOWS_KEYS if k not in REQUIRED_WINDOWS_KEYS),
    *(f"deployment_windows.emergency_override.{k}" for k in OVERRIDE_KEYS),
    "services",
)
# The defaults of a whole optional section, in words, for "leave it out everywhere".
_SECTION_RULES = {
    "cluster": "enabled: true, auto_deploy: the environment's auto_deploy",
    "deployment_windows.emergency_override": "enabled: false",
}
_VERSION = re.compile(rf"v?{POLICY_VERSION}(\.[0-9]+){{0,2}}")

# Where each key belongs, to say "`timezone` belongs under deployment_windows" for a misplaced key.
_HOMES: dict[str, list[str]] = {}
for _where, _keys in (
    ("the top level", TOP_KEYS),
    ("global", GLOBAL_KEYS),
    ("environments.<env>", ENV_KEYS),
    ("environments.<env>.cluster", CLUSTER_KEYS),
    ("environments.<env>.deployment_windows", WINDOWS_KEYS),
    ("deployment_windows.allow[]", ALLOW_KEYS),
    ("deployment_windows.deny[]", DENY_KEYS),
    ("deployment_windows.emergency_override", OVERRIDE_KEYS),
    ("environments.<env>.services.<service>", SERVICE_KEYS),
):
    for _key in _keys:
        _HOMES.setdefault(_key, []).append(_where)

MAX_TIMEOUT_SECONDS = 86_400
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")  # DNS label: used in labels and job names
_BAD_BRANCH = re.compile(r"[\s~^:?*\[\\]|\.\.|@\{|^[/.-]|[/.]$|\.lock$|//")

T = TypeVar("T")

POLICY = documents.DocumentKind(
    title="Invalid deploy-control policy",
    hint="fix the YAML syntax at that line (indentation, a missing colon or quote)",
)


def parse_policy(text: str, source: str = str(DEFAULT_PATH)) -> Policy:
    """Validate policy ``text`` (read from ``source``, used in messages) into a :class:`Policy`."""
    try:
        root = documents.compose(text, source, POLICY, duplicates=True).root
    except documents.DocumentError as exc:
        if not exc.key:
            raise  # not YAML at all: the loader's message says so, and where
        raise _invalid(exc.problems, source, exc.hint) from None  # an alias cycle or bomb at a key
    reader = _PolicyReader(source)
    policy = reader.policy(root)
    if reader.problems or policy is None:
        raise _invalid(reader.problems, source)
    return policy


def _invalid(found: Sequence[Problem], source: str, hint: str | None = None) -> ConfigurationError:
    """One error listing every problem, sorted by line."""
    problems = sorted(found, key=lambda p: (p.line or 0, p.key or ""))
    if not problems:  # pragma: no cover - a None policy always comes with a problem
        problems = [Problem("invalid policy", source)]
    count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
    return ConfigurationError(
        f"{count} in the deploy-control policy",
        file=source,
        line=problems[0].line,
        hint=hint
        or "fix every problem listed; the schema is described at the top of infra/deploy-control.yaml",
        title="Invalid deploy-control policy",
        problems=tuple(problems),
    )


class _PolicyReader(WindowsReader):
    """Walks the node tree, building the model and collecting every problem on the way."""

    def __init__(self, source: str) -> None:
        super().__init__(source, _HOMES)

    def missing_key_note(self, key: str) -> str:
        return " (every environment has the same keys)" if key.startswith("environments.") else ""

    def named(self, entries: Entries, key: str, what: str) -> Iterator[tuple[str, str, Node]]:
        """(name, its key path, its value) of each entry named by a DNS label; ``what`` names the
        others in their problem (the names become labels and Job names)."""
        for name, (key_node, value) in entries.items():
            if _NAME.fullmatch(name):
                yield name, f"{key}.{name}", value
            else:
                self.problem(key_node, f"{key}.{name}", f"{name!r} is not a valid {what}")

    # -- the schema ----------------------------------------------------------------------
    def policy(self, root: Node | None) -> Policy | None:
        if root is None:
            self.problems.append(
                Problem("the file is empty; it needs global and environments", self.source, 1)
            )
            return None
        top = self.mapping(root, "", TOP_KEYS, required=("global", "environments"))
        if top is None:
            return None
        version: int | None = POLICY_VERSION
        if "version" in top:
            version = self.version(top["version"][1])
        else:
            self.defaults["version"] = _DEFAULT_RULES["version"]
        auto_deploy = None
        if "global" in top:
            glob = self.mapping(top["global"][1], "global", GLOBAL_KEYS)
            if glob and "auto_deploy" in glob:
                auto_deploy = self.boolean(glob["auto_deploy"][1], "global.auto_deploy")
        environments = self.environments(top["environments"][1]) if "environments" in top else None
        if self.problems or environments is None or auto_deploy is None or version is None:
            return None
        return Policy(
            version=version,
            auto_deploy=auto_deploy,
            environments=environments,
            source=self.source,
            lines=dict(self.lines),
            defaults=dict(self.defaults),
        )

    def version(self, node: Node) -> int | None:
        """``3``, ``"3"``, ``"3.x"`` or ``"3.x.y"`` (a leading ``v`` too): the schema's major version."""
        text = self.scalar_text(node, "version", f"the schema version {POLICY_VERSION}")
        if text is None:
            return None
        if _VERSION.fullmatch(text.strip()):
            return POLICY_VERSION
        major = re.match(r"v?([0-9]+)", text.strip())
        if major:
            self.problem(
                node,
                "version",
                f"version {text} is not supported: this suite reads version {POLICY_VERSION} "
                f'(3, "3" or "3.x.y"; or leave version out)',
            )
        else:
            self.problem(
                node,
                "version",
                f'expected the schema version {POLICY_VERSION} (3, "3" or "3.x.y"), got {describe(node)}',
            )
        return None

    def environments(self, node: Node) -> dict[str, EnvironmentPolicy] | None:
        entries = self.mapping(node, "environments", None, " of environment names")
        if entries is None:
            return None
        if not entries:
            self.problem(node, "environments", "no environments: list at least one (dev, test, prod)")
            return None
        result: dict[str, EnvironmentPolicy] = {}
        service_sets: dict[str, tuple[Node, Entries]] = {}
        read: list[str] = []  # environments whose mapping could be read (for the key parity)
        for name, _, value in self.named(
            entries, "environments", "environment name (lowercase letters, digits, -)"
        ):
            env = self.environment(name, value, service_sets)
            if isinstance(value, MappingNode):
                read.append(name)
            if env is not None:
                result[name] = env
        self._key_parity(read)
        self._parity(service_sets)
        return result if len(result) == len(entries) and not self.problems else None

    def _key_parity(self, environments: Sequence[str]) -> None:
        """An optional key one environment sets, every environment sets (the reference's rule)."""
        present = {
            env: {
                path.removeprefix(f"environments.{env}.")
                for path in self.lines
                if path.startswith(f"environments.{env}.")
            }
            for env in environments
        }
        for path in _OPTIONAL_PATHS:
            owners = [env for env in environments if path in present[env]]
            if not owners:
                continue
            owner = owners[0]
            parent = path.rpartition(".")[0]
            for env in environments:
                if path in present[env] or (parent and parent not in present[env]):
                    continue  # a missing parent is reported once, for the parent
                where = f"environments.{env}" + (f".{parent}" if parent else "")
                rule = _DEFAULT_RULES.get(path) or _SECTION_RULES[path]
                self.problems.append(
                    Problem(
                        f"key {path.rpartition('.')[2]!r} is missing; every environment has the same "
                        f"keys ({owner} sets it at line {self.lines[f'environments.{owner}.{path}']}): "
                        f"set it here too, or leave it out everywhere for the default"
                        + (f" ({rule})" if rule else ""),
                        self.source,
                        self.lines.get(where),
                        f"environments.{env}.{path}",
                    )
                )

    def _parity(self, service_sets: dict[str, tuple[Node, Entries]]) -> None:
        """Every environment lists the same services (other keys are all required anyway)."""
        every: dict[str, tuple[str, int]] = {}
        for env, (_, services) in service_sets.items():
            for name, (key_node, _) in services.items():
                every.setdefault(name, (env, line_of(key_node)))
        for env, (node, services) in service_sets.items():
            for name, (owner, line) in every.items():
                if name not in services:
                    self.problem(
                        node,
                        f"environments.{env}.services.{name}",
                        f"service {name!r} is missing; every environment lists the same services "
                        f"({owner} has it at line {line}), set enabled: false to leave it out",
                    )

    def environment(
        self, name: str, node: Node, service_sets: dict[str, tuple[Node, Entries]]
    ) -> EnvironmentPolicy | None:
        key = f"environments.{name}"
        entries = self.mapping(node, key, ENV_KEYS, required=REQUIRED_ENV_KEYS)
        if entries is None:
            return None

        def get(field: str, read: Callable[[Node, str], T | None]) -> T | None:
            return read(entries[field][1], f"{key}.{field}") if field in entries else None

        def default(field: str, value: T) -> T:
            return self.default(f"{key}.{field}", _DEFAULT_RULES[field], value)

        if "branch" in entries:
            branch = get("branch", self.branch)
        else:
            branch = default("branch", default_branch(name))
        enabled = get("enabled", self.boolean)
        auto_deploy = get("auto_deploy", self.boolean)
        approval = get("require_manual_approval", self.boolean)
        if "rollout_timeout_seconds" in entries:
            timeout = get(
                "rollout_timeout_seconds",
                lambda n, k: self.integer(n, k, 1, MAX_TIMEOUT_SECONDS, "seconds"),
            )
        else:
            timeout = default("rollout_timeout_seconds", DEFAULT_ROLLOUT_TIMEOUT_SECONDS)
        cluster_node = entries["cluster"][1] if "cluster" in entries else None
        cluster = self.cluster(cluster_node, f"{key}.cluster", auto_deploy)
        windows = get("deployment_windows", self.windows)
        services: dict[str, ServicePolicy] | None = None
        if "services" in entries:
            services = self.services(entries["services"][1], f"{key}.services", name, service_sets)
        else:
            services = default("services", {})
        if (
            branch is None
            or enabled is None
            or auto_deploy is None
            or approval is None
            or timeout is None
            or cluster is None
            or windows is None
            or services is None
        ):
            return None
        return EnvironmentPolicy(
            name=name,
            branch=branch,
            enabled=enabled,
            auto_deploy=auto_deploy,
            require_manual_approval=approval,
            rollout_timeout_seconds=timeout,
            cluster=cluster,
            deployment_windows=windows,
            services=services,
        )

    def branch(self, node: Node, key: str) -> str | None:
        text = self.string(node, key, "a branch name")
        if text is None:
            return None
        if text.startswith("refs/"):
            self.problem(node, key, f"write the branch name without refs/heads/: {text.split('/', 2)[-1]!r}")
            return None
        if _BAD_BRANCH.search(text):
            self.problem(node, key, f"{text!r} is not a valid git branch name")
            return None
        return text

    def cluster(self, node: Node | None, key: str, env_auto_deploy: bool | None) -> ClusterPolicy | None:
        """The cluster's gate; left out (or any key of it): enabled, and automatic as the environment."""
        entries: Entries | None = {}
        if node is not None:
            entries = self.mapping(node, key, CLUSTER_KEYS, required=())
        if entries is None:
            return None
        if "enabled" in entries:
            enabled = self.boolean(entries["enabled"][1], f"{key}.enabled")
        else:
            enabled = self.default(f"{key}.enabled", _DEFAULT_RULES["cluster.enabled"], True)
        if "auto_deploy" in entries:
            auto = self.boolean(entries["auto_deploy"][1], f"{key}.auto_deploy")
        else:
            auto = self.default(f"{key}.auto_deploy", _DEFAULT_RULES["cluster.auto_deploy"], env_auto_deploy)
        if enabled is None or auto is None:
            return None
        return ClusterPolicy(enabled=enabled, auto_deploy=auto)

    def services(
        self, node: Node, key: str, env: str, service_sets: dict[str, tuple[Node, Entries]]
    ) -> dict[str, ServicePolicy] | None:
        entries = self.mapping(node, key, None, " of service names")
        if entries is None:
            return None
        service_sets[env] = (node, entries)
        result: dict[str, ServicePolicy] = {}
        for name, skey, value in self.named(entries, key, "service name (the app.kubernetes.io/name label)"):
            svc = self.mapping(value, skey, SERVICE_KEYS)
            if svc is None:
                continue
            flags = [self.boolean(svc[f][1], f"{skey}.{f}") if f in svc else None for f in SERVICE_KEYS]
            if None in flags:
                continue
            enabled, auto, rollback = (bool(f) for f in flags)
            result[name] = ServicePolicy(enabled=enabled, auto_deploy=auto, rollback_on_failure=rollback)
        return result if len(result) == len(entries) else None


INSTANT_RANGE = (datetime(1970, 1, 1, tzinfo=UTC), datetime(3000, 1, 1, tzinfo=UTC))


def parse_instant(text: str, what: str = "--at") -> datetime:
    """An aware datetime from ISO 8601 text (``Z`` or an offset is required)."""
    stripped = text.strip()
    try:
        value = datetime.fromisoformat(stripped)
    except ValueError as exc:
        why = "" if str(exc).startswith("Invalid isoformat") else f" ({exc})"
        raise ConfigurationError(
            f"{what} {text!r} is not an ISO 8601 date and time{why}",
            key=what,
            hint="write a date, a time and an offset, e.g. 2026-11-23T08:30:00+01:00 or 2026-11-23T07:30:00Z",
            title="Invalid date and time",
        ) from None
    if value.tzinfo is None:
        full = stripped if "T" in stripped or " " in stripped else f"{stripped}T00:00"
        raise ConfigurationError(
            f"{what} {text!r} has no UTC offset, so it could be any of 24 instants",
            key=what,
            hint=f"add Z or an offset: {full}Z or {full}+01:00",
            title="Invalid date and time",
        )
    # Years 1 and 9999 are valid ISO 8601 but leave the windows arithmetic (the next open window,
    # a day later in another zone) nowhere to go: datetime overflows at its edges. No deploy
    # happens before 1970 or after 2999, so anything outside is a typo.
    if not (INSTANT_RANGE[0].year <= value.year < INSTANT_RANGE[1].year):
        raise ConfigurationError(
            f"{what} {text!r} is outside the years {INSTANT_RANGE[0].year}-{INSTANT_RANGE[1].year - 1}",
            key=what,
            hint="write the instant to decide for, e.g. 2026-11-23T08:30:00+01:00",
            title="Invalid date and time",
        )
    return value.astimezone(UTC)
