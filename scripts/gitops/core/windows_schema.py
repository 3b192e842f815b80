"""The ``deployment_windows`` section of ``infra/deploy-control.yaml``: its keys and how each is read.

Part of the policy's schema: :class:`gitops.core.policy_schema._PolicyReader` inherits this reader,
so every finding lands in the same list of problems with its line, and every key left out is
recorded with its default (:data:`gitops.core.policy.DEFAULTS`; ``gitops validate --explain``
shows them). What a section means at an instant is :mod:`gitops.core.windows`.

* Times are ``HH:MM`` (00:00-23:59), quoted or not; we read the text, so YAML 1.1's
  sexagesimal integers (unquoted ``17:00`` = 1020) cannot bite. ``24:00`` is refused: an
  ``end`` of ``00:00`` already means midnight at the end of the day (``end <= start`` wraps).
* Dates are ISO ``YYYY-MM-DD``; datetimes ISO ``YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]``; a deny
  period must end after it starts, compared as instants in the section's time zone.
* Time zones are IANA names (``Europe/Berlin``), never offsets: offsets do not follow daylight saving.
* ``emergency_override.actors`` are GitHub logins, written without ``@``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from yaml.nodes import Node

from gitops.core import windows as win
from gitops.core.policy import (
    DEFAULT_TIMEZONE,
    DEFAULTS,
    WEEKDAYS,
    AllowWindow,
    DenyPeriod,
    DeploymentWindows,
    EmergencyOverride,
)
from gitops.core.yaml_schema import Entries, SchemaReader, did_you_mean

WINDOWS_KEYS = ("enabled", "timezone", "allow", "deny", "emergency_override")
ALLOW_KEYS = ("days", "start", "end")
DENY_KEYS = ("start", "end", "reason")
OVERRIDE_KEYS = ("enabled", "require_reason", "actors")
REQUIRED_WINDOWS_KEYS = ("enabled",)
_DEFAULT_RULES = dict(DEFAULTS)

_TIME = re.compile(r"([0-9]{2}):([0-9]{2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?")

T = TypeVar("T")


class WindowsReader(SchemaReader):
    """Reads a ``deployment_windows`` section; records the default of every key left out in ``defaults``."""

    def __init__(self, source: str, homes: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(source, homes)
        self.defaults: dict[str, str] = {}  # key path -> the default rule, for each key left out

    def default(self, key: str, rule: str, value: T) -> T:
        """``value``, recorded as the default of ``key`` (``rule`` the default in words)."""
        self.defaults[key] = rule
        return value

    def each(self, node: Node, key: str, what: str, read: Callable[[Node, str], T | None]) -> list[T] | None:
        """A list whose every item ``read`` accepts (``key[i]`` in its problems); None when any is not."""
        items = self.sequence(node, key, what)
        if items is None:
            return None
        got = [read(item, f"{key}[{i}]") for i, item in enumerate(items)]
        return [g for g in got if g is not None] if None not in got else None

    # -- scalars of the section -----------------------------------------------------------
    def time_of_day(self, node: Node, key: str) -> time | None:
        text = self.scalar_text(node, key, 'a time "HH:MM"')
        if text is None:
            return None
        match = _TIME.fullmatch(text)
        if match is None:
            fix = ""
            if re.fullmatch(r"[0-9]:[0-9]{2}", text):
                fix = f'; write "0{text}"'
            elif re.fullmatch(r"[0-9]{2}:[0-9]{2}:[0-9]{2}", text):
                fix = f'; seconds are not supported, write "{text[:5]}"'
            self.problem(node, key, f'expected a time "HH:MM" (24-hour clock), got {text!r}{fix}')
            return None
        hour, minute = int(match[1]), int(match[2])
        if (hour, minute) == (24, 0):
            self.problem(
                node,
                key,
                '"24:00" is not a time of day; use "00:00": an end at or before the start runs past '
                "midnight, so 00:00 already means the end of the day",
            )
            return None
        if hour > 23 or minute > 59:
            self.problem(node, key, f"{text!r} is not a time of day (00:00-23:59)")
            return None
        return time(hour, minute)

    def date_or_datetime(self, node: Node, key: str) -> date | datetime | None:
        text = self.scalar_text(node, key, "an ISO date or datetime")
        if text is None:
            return None
        try:
            if _DATE.fullmatch(text):
                return date.fromisoformat(text)
            if _DATETIME.fullmatch(text):
                return datetime.fromisoformat(text)
        except ValueError as exc:
            self.problem(node, key, f"{text!r} is not a valid date/time: {exc}")
            return None
        self.problem(
            node,
            key,
            f"expected an ISO date (2026-12-24) or datetime (2026-12-24T18:00, optionally with Z or "
            f"+01:00), got {text!r}",
        )
        return None

    def timezone(self, node: Node, key: str) -> ZoneInfo | None:
        text = self.string(node, key, "an IANA time zone name (e.g. Europe/Berlin)")
        if text is None:
            return None
        try:
            return ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            zones = sorted(available_timezones())
            by_lower = {z.lower(): z for z in zones}
            if re.match(r"(UTC|GMT)?\s*[+-][0-9]", text, re.I):
                hint = "; name a place (Europe/Berlin), not an offset: offsets do not follow daylight saving"
            elif text.lower() in by_lower:
                hint = f"; did you mean {by_lower[text.lower()]!r}?"
            else:
                close = difflib.get_close_matches(text.lower(), list(by_lower), n=1, cutoff=0.6)
                hint = f"; did you mean {by_lower[close[0]]!r}?" if close else ""
            self.problem(
                node, key, f"{text!r} is not an IANA time zone (like Europe/Berlin or America/New_York){hint}"
            )
            return None

    # -- the section ------------------------------------------------------------------
    def windows(self, node: Node, key: str) -> DeploymentWindows | None:
        entries = self.mapping(node, key, WINDOWS_KEYS, required=REQUIRED_WINDOWS_KEYS)
        if entries is None:
            return None

        def default(field: str, value: T) -> T:
            return self.default(f"{key}.{field}", _DEFAULT_RULES[f"deployment_windows.{field}"], value)

        enabled = self.boolean(entries["enabled"][1], f"{key}.enabled") if "enabled" in entries else None
        if "timezone" in entries:
            tz = self.timezone(entries["timezone"][1], f"{key}.timezone")
        else:
            tz = default("timezone", ZoneInfo(DEFAULT_TIMEZONE))
        allow: list[AllowWindow] | None
        if "allow" in entries:
            allow = self.each(
                entries["allow"][1], f"{key}.allow", "windows {days, start, end}", self.allow_window
            )
        else:
            allow = default("allow", [])
        deny: list[DenyPeriod] | None
        if "deny" in entries:
            deny = self.each(
                entries["deny"][1],
                f"{key}.deny",
                "periods {start, end, reason}",
                lambda item, item_key: self.deny_period(item, item_key, tz),
            )
        else:
            deny = default("deny", [])
        override_node = entries["emergency_override"][1] if "emergency_override" in entries else None
        override = self.override(override_node, f"{key}.emergency_override")
        if enabled is None or tz is None or allow is None or deny is None or override is None:
            return None
        return DeploymentWindows(
            enabled=enabled, timezone=tz, allow=tuple(allow), deny=tuple(deny), emergency_override=override
        )

    def allow_window(self, node: Node, key: str) -> AllowWindow | None:
        entries = self.mapping(node, key, ALLOW_KEYS)
        if entries is None:
            return None
        days = self.days(entries["days"][1], f"{key}.days") if "days" in entries else None
        start = self.time_of_day(entries["start"][1], f"{key}.start") if "start" in entries else None
        end = self.time_of_day(entries["end"][1], f"{key}.end") if "end" in entries else None
        if days is None or start is None or end is None:
            return None
        return AllowWindow(days=days, start=start, end=end)

    def days(self, node: Node, key: str) -> frozenset[int] | None:
        items = self.sequence(node, key, f"day names ({', '.join(WEEKDAYS)})")
        if items is None:
            return None
        if not items:
            self.problem(node, key, "no days: list at least one of " + ", ".join(WEEKDAYS))
            return None
        found: set[int] = set()
        ok = True
        for i, item in enumerate(items):
            text = self.scalar_text(item, f"{key}[{i}]", "a day name")
            if text is None:
                ok = False
                continue
            if text not in WEEKDAYS:
                ok = False
                guess = text[:3].lower() if text[:3].lower() in WEEKDAYS else None
                hint = f"; did you mean {guess!r}?" if guess else did_you_mean(text.lower(), WEEKDAYS)
                self.problem(item, f"{key}[{i}]", f"unknown day {text!r} (use {', '.join(WEEKDAYS)}){hint}")
                continue
            day = WEEKDAYS.index(text)
            if day in found:
                self.problem(item, f"{key}[{i}]", f"{text!r} is listed twice")
                ok = False
            found.add(day)
        return frozenset(found) if ok else None

    def deny_period(self, node: Node, key: str, tz: ZoneInfo | None) -> DenyPeriod | None:
        entries = self.mapping(node, key, DENY_KEYS)
        if entries is None:
            return None
        start = self.date_or_datetime(entries["start"][1], f"{key}.start") if "start" in entries else None
        end = self.date_or_datetime(entries["end"][1], f"{key}.end") if "end" in entries else None
        reason = (
            self.string(entries["reason"][1], f"{key}.reason", "a reason") if "reason" in entries else None
        )
        if start is None or end is None or reason is None:
            return None
        period = DenyPeriod(start=start, end=end, reason=reason)
        # Compare as instants in the window's zone (UTC if the zone itself is wrong).
        begins, ends = win.deny_interval(period, tz or ZoneInfo("UTC"))
        if ends <= begins:
            self.problem(
                entries["end"][1],
                f"{key}.end",
                f"end ({end.isoformat()}) is {'before' if ends < begins else 'the same instant as'} "
                f"start ({start.isoformat()}); a deny period must end after it starts",
            )
            return None
        return period

    def override(self, node: Node | None, key: str) -> EmergencyOverride | None:
        """The emergency override; left out (or any key of it): see DEFAULTS (disabled)."""
        entries: Entries | None = {}
        if node is not None:
            entries = self.mapping(node, key, OVERRIDE_KEYS, required=())
        if entries is None:
            return None

        def default(field: str, value: T) -> T:
            rule = _DEFAULT_RULES[f"deployment_windows.emergency_override.{field}"]
            return self.default(f"{key}.{field}", rule, value)

        if "enabled" in entries:
            enabled = self.boolean(entries["enabled"][1], f"{key}.enabled")
        else:
            enabled = default("enabled", False)
        if "require_reason" in entries:
            reason = self.boolean(entries["require_reason"][1], f"{key}.require_reason")
        else:
            reason = default("require_reason", True)
        actors: list[str] | None
        if "actors" in entries:
            actors = self.each(
                entries["actors"][1], f"{key}.actors", "GitHub logins ([] = anyone)", self.actor
            )
        else:
            actors = default("actors", [])
        if enabled is None or reason is None or actors is None:
            return None
        return EmergencyOverride(enabled=enabled, require_reason=reason, actors=tuple(actors))

    def actor(self, node: Node, key: str) -> str | None:
        text = self.string(node, key, "a GitHub login")
        if text is None:
            return None
        if text.startswith("@"):
            self.problem(node, key, f"write the login without '@': {text[1:]!r}")
            return None
        if not _LOGIN.fullmatch(text):
            self.problem(node, key, f"{text!r} is not a GitHub login")
            return None
        return text
