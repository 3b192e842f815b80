"""Deployment-window arithmetic: pure functions of a :class:`DeploymentWindows` and an instant.

Semantics (documented for users in ``infra/deploy-control.yaml``):

* Windows are wall-clock times in the window's IANA time zone. A wall-clock time means *the
  first instant the clock shows it*; for a time the clock skips (spring forward) that is the
  first instant after the gap, so a window that starts at 02:30 on a day the clock jumps from
  02:00 to 03:00 opens at 03:00. For a time the clock shows twice (fall back) it is the first
  of the two (``fold=0``): a window opens at the first 02:30 and closes the first time the
  clock reads its end, and is one continuous interval (no hole while the hour repeats).
* An allow window whose ``end <= start`` wraps past midnight; ``days`` names the day it starts.
* Deny periods beat allow windows. A date bound is the whole day in the window's time zone
  (``end`` inclusive); a datetime bound is an instant (naive = wall clock in the zone; ``end``
  exclusive).
* ``allow: []`` with windows enabled means "any time outside the deny periods".

Everything is computed from the exact boundary instants of the occurrences near ``at`` (a few
dozen at most), never by stepping through minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gitops.core.policy import AllowWindow, DenyPeriod, DeploymentWindows

HORIZON = timedelta(days=14)

Interval = tuple[datetime, datetime]  # [start, end) in UTC


def resolve_wall_time(local: datetime, tz: ZoneInfo) -> datetime:
    """The first UTC instant at which the clock in ``tz`` shows ``local`` (naive) or later.

    Ordinary times map to their one instant; repeated (fall-back) times to the earlier one;
    skipped (spring-forward) times to the first instant after the gap, which is the transition.
    """
    naive = local.replace(tzinfo=None)
    early = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if early.astimezone(tz).replace(tzinfo=None) == naive:
        return early
    # In a gap: fold=0 used the offset before the jump, fold=1 the one after. The transition lies
    # between the two; find the first whole second whose wall clock is at or after `naive`.
    late = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = int(min(early, late).timestamp()), int(max(early, late).timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def deny_interval(period: DenyPeriod, tz: ZoneInfo) -> Interval:
    """The UTC interval a deny period covers."""
    return _bound(period.start, tz, is_end=False), _bound(period.end, tz, is_end=True)


def _bound(value: date | datetime, tz: ZoneInfo, *, is_end: bool) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return resolve_wall_time(value, tz)
        return value.astimezone(UTC)
    day = value + timedelta(days=1) if is_end else value
    return resolve_wall_time(datetime.combine(day, time(0, 0)), tz)


@dataclass(frozen=True)
class Occurrence:
    window: AllowWindow
    start: datetime
    end: datetime


def occurrences(windows: DeploymentWindows, first: date, last: date) -> list[Occurrence]:
    """Every allow-window occurrence that starts on a local date in ``[first, last]``."""
    tz = windows.timezone
    found: list[Occurrence] = []
    day = first
    while day <= last:
        for window in windows.allow:
            if day.weekday() not in window.days:
                continue
            end_day = day + timedelta(days=1) if window.wraps else day
            start = resolve_wall_time(datetime.combine(day, window.start), tz)
            end = resolve_wall_time(datetime.combine(end_day, window.end), tz)
            if end > start:  # a window lying wholly inside a DST gap never opens
                found.append(Occurrence(window, start, end))
        day += timedelta(days=1)
    found.sort(key=lambda o: (o.start, o.end))
    return found


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    result: list[Interval] = []
    for start, end in intervals:
        pieces = [(start, end)]
        for h_start, h_end in holes:
            next_pieces: list[Interval] = []
            for p_start, p_end in pieces:
                if h_end <= p_start or h_start >= p_end:
                    next_pieces.append((p_start, p_end))
                    continue
                if p_start < h_start:
                    next_pieces.append((p_start, h_start))
                if h_end < p_end:
                    next_pieces.append((h_end, p_end))
            pieces = next_pieces
        result.extend(pieces)
    return result


def open_intervals(windows: DeploymentWindows, start: datetime, end: datetime) -> list[Interval]:
    """The UTC intervals within ``[start, end)`` in which deploying is allowed, merged and sorted."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if windows.allow:
        tz = windows.timezone
        # A wrapping window from the day before can still be open; DST can shift a day by hours.
        first = start.astimezone(tz).date() - timedelta(days=2)
        last = end.astimezone(tz).date() + timedelta(days=1)
        allowed = _merge([(o.start, o.end) for o in occurrences(windows, first, last)])
    else:
        allowed = [(start, end)]
    denied = _merge([deny_interval(p, windows.timezone) for p in windows.deny])
    clipped = [(max(s, start), min(e, end)) for s, e in _subtract(allowed, denied)]
    return [(s, e) for s, e in clipped if e > s]


@dataclass(frozen=True)
class WindowState:
    """Where ``at`` falls. ``closes_at`` is set when open; ``next_open`` when closed (or None)."""

    open: bool
    detail: str
    window: AllowWindow | None = None
    deny: DenyPeriod | None = None
    closes_at: datetime | None = None
    next_open: datetime | None = None
    enabled: bool = True  # False: the environment has no windows, so it is always open


def state_at(windows: DeploymentWindows, at: datetime, horizon: timedelta = HORIZON) -> WindowState:
    """Whether ``at`` (aware) is inside an allowed window, and when it closes or next opens."""
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    tz = windows.timezone
    if not windows.enabled:
        return WindowState(True, "deployment windows are disabled for this environment", enabled=False)
    at = at.astimezone(UTC)
    intervals = open_intervals(windows, at, at + horizon)
    local_now = fmt_local(at, tz)
    current = next((iv for iv in intervals if iv[0] <= at < iv[1]), None)
    if current is not None:
        occurrence = _occurrence_at(windows, at)
        what = f"allow window {occurrence.window.describe()}" if occurrence else "no weekly windows"
        # An interval reaching the horizon was clipped there: its true end is further away.
        closes = current[1] if current[1] < at + horizon else None
        until = f"until {fmt_local(closes, tz)}" if closes else "for at least 14 days"
        return WindowState(
            True,
            f"open: {what} ({tz.key}), {until}; now {local_now}",
            window=occurrence.window if occurrence else None,
            closes_at=closes,
        )
    deny = next(
        (p for p in windows.deny if (iv := deny_interval(p, tz))[0] <= at < iv[1]),
        None,
    )
    next_open = intervals[0][0] if intervals else None
    if deny is not None:
        why = f"deny period {_describe_deny(deny)}: {deny.reason}"
    else:  # with no allow windows only a deny period can close the gate, so there are some
        allowed = "; ".join(w.describe() for w in windows.allow)
        why = f"outside every allow window ({allowed}, {tz.key})"
    nxt = f"next opens {fmt_local(next_open, tz)}" if next_open else "no opening within 14 days"
    return WindowState(False, f"closed: {why}; now {local_now}; {nxt}", deny=deny, next_open=next_open)


def _occurrence_at(windows: DeploymentWindows, at: datetime) -> Occurrence | None:
    day = at.astimezone(windows.timezone).date()
    for occ in occurrences(windows, day - timedelta(days=2), day + timedelta(days=1)):
        if occ.start <= at < occ.end:
            return occ
    return None


def _describe_deny(period: DenyPeriod) -> str:
    return f"{period.start.isoformat()}..{period.end.isoformat()}"


def fmt_local(instant: datetime, tz: ZoneInfo) -> str:
    """``Mon 2026-11-23 09:00 CET``: how people read an instant in a window's zone."""
    return instant.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z")
