"""Builders for deploy-control policy objects, so core tests read like the YAML they stand for,
and the corpus of bad policy files with the problems each must produce."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from gitops.core.policy import (
    WEEKDAYS,
    AllowWindow,
    ClusterPolicy,
    DenyPeriod,
    DeploymentWindows,
    EmergencyOverride,
    EnvironmentPolicy,
    Policy,
    ServicePolicy,
)
from gitops.core.policy_schema import parse_policy


def days(spec: str) -> frozenset[int]:
    """``"mon-fri"``, ``"sat,sun"`` or ``"fri"`` -> weekday numbers."""
    found: set[int] = set()
    for part in spec.split(","):
        if "-" in part:
            first, last = (WEEKDAYS.index(p) for p in part.split("-"))
            found.update(range(first, last + 1))
        else:
            found.add(WEEKDAYS.index(part))
    return frozenset(found)


def allow(day_spec: str, start: str, end: str) -> AllowWindow:
    return AllowWindow(days(day_spec), time.fromisoformat(start), time.fromisoformat(end))


def _bound(text: str) -> date | datetime:
    return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)


def deny(start: str, end: str, reason: str = "freeze") -> DenyPeriod:
    """``deny("2026-12-24", "2026-12-26")`` (whole days) or ISO datetimes (naive = window zone)."""
    return DenyPeriod(_bound(start), _bound(end), reason)


def windows(
    tz: str = "Europe/Berlin",
    allow_: Iterable[AllowWindow] = (),
    deny_: Iterable[DenyPeriod] = (),
    *,
    enabled: bool = True,
    override: EmergencyOverride | None = None,
) -> DeploymentWindows:
    return DeploymentWindows(
        enabled=enabled,
        timezone=ZoneInfo(tz),
        allow=tuple(allow_),
        deny=tuple(deny_),
        emergency_override=override or EmergencyOverride(enabled=True, require_reason=True, actors=()),
    )


def service(
    enabled: bool = True, auto_deploy: bool = True, rollback_on_failure: bool = True
) -> ServicePolicy:
    return ServicePolicy(enabled, auto_deploy, rollback_on_failure)


def environment(
    name: str,
    branch: str | None = None,
    *,
    enabled: bool = True,
    auto_deploy: bool = True,
    require_manual_approval: bool = False,
    rollout_timeout_seconds: int = 300,
    cluster: ClusterPolicy | None = None,
    deployment_windows: DeploymentWindows | None = None,
    services: dict[str, ServicePolicy] | None = None,
) -> EnvironmentPolicy:
    return EnvironmentPolicy(
        name=name,
        branch=branch or name,
        enabled=enabled,
        auto_deploy=auto_deploy,
        require_manual_approval=require_manual_approval,
        rollout_timeout_seconds=rollout_timeout_seconds,
        cluster=cluster or ClusterPolicy(True, True),
        deployment_windows=deployment_windows or windows(enabled=False),
        services=services
        if services is not None
        else {n: service() for n in ("postgres", "redis", "jaeger")},
    )


def policy(*envs: EnvironmentPolicy, auto_deploy: bool = True) -> Policy:
    return Policy(
        version=3, auto_deploy=auto_deploy, environments={e.name: e for e in envs}, source="test.yaml"
    )


GOOD_POLICY = """\
version: 3
global:
  auto_deploy: true
environments:
  dev:
    branch: dev
    enabled: true
    auto_deploy: true
    require_manual_approval: false
    rollout_timeout_seconds: 300
    cluster: {enabled: true, auto_deploy: true}
    deployment_windows:
      enabled: false
      timezone: Europe/Berlin
      allow: []
      deny: []
      emergency_override: {enabled: true, require_reason: false, actors: []}
    services:
      postgres: {enabled: true, auto_deploy: true, rollback_on_failure: true}
      redis: {enabled: true, auto_deploy: true, rollback_on_failure: true}
  prod:
    branch: main
    enabled: true
    auto_deploy: false
    require_manual_approval: true
    rollout_timeout_seconds: 600
    cluster: {enabled: true, auto_deploy: false}
    deployment_windows:
      enabled: true
      timezone: Europe/Berlin
      allow:
        - days: [mon, tue, wed, thu, fri]
          start: "09:00"
          end: "17:00"
      deny:
        - start: 2026-12-21
          end: 2027-01-01
          reason: year-end freeze
      emergency_override: {enabled: true, require_reason: true, actors: [alice]}
    services:
      postgres: {enabled: true, auto_deploy: false, rollback_on_failure: true}
      redis: {enabled: true, auto_deploy: false, rollback_on_failure: false}
"""


def good_policy() -> Policy:
    return parse_policy(GOOD_POLICY, "good.yaml")


BAD_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "policies" / "bad"
BAD_FILES = sorted(BAD_DIR.glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (?P<key>\S+) @ (?P<line>\d+): (?P<message>.+)$", re.M)


class Expectation(NamedTuple):
    """One problem a bad file must produce: key path (None = the file has none), line, message part."""

    key: str | None
    line: int
    message: str


def expectations(path: Path) -> list[Expectation]:
    """The ``# expect: KEY @ LINE: MESSAGE`` header lines of a bad policy file (key ``-`` = none)."""
    found = [
        Expectation(None if m["key"] == "-" else m["key"], int(m["line"]), m["message"])
        for m in _EXPECT.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found, f"{path.name} has no '# expect:' header"
    return found
