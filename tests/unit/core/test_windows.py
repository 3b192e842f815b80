"""Deployment-window arithmetic: wall-clock windows in IANA zones, DST days, deny periods, next opening."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gitops.core.policy import DeploymentWindows
from gitops.core.windows import open_intervals, resolve_wall_time, state_at
from tests.support.policy import allow, deny, windows


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


BUSINESS = windows("Europe/Berlin", [allow("mon-fri", "09:00", "17:00")])
OVERNIGHT = windows("Europe/Berlin", [allow("fri", "22:00", "02:00")])
FULL_SATURDAY = windows("Europe/Berlin", [allow("sat", "00:00", "00:00")])
BERLIN_SPRING = windows("Europe/Berlin", [allow("sun", "02:30", "05:00")])  # 2026-03-29: 02:00 -> 03:00
BERLIN_INSIDE_GAP = windows("Europe/Berlin", [allow("sun", "02:10", "02:50")])
BERLIN_FALL = windows("Europe/Berlin", [allow("sun", "02:30", "04:00")])  # 2026-10-25: 03:00 -> 02:00
BERLIN_FALL_END = windows("Europe/Berlin", [allow("sun", "00:00", "02:30")])
NY_SPRING = windows("America/New_York", [allow("sun", "02:15", "04:00")])  # 2026-03-08: 02:00 -> 03:00
NY_FALL = windows("America/New_York", [allow("sun", "01:30", "03:00")])  # 2026-11-01: 02:00 -> 01:00
NY_OVERNIGHT_FALL = windows("America/New_York", [allow("sat", "23:00", "01:30")])
LORD_HOWE = windows("Australia/Lord_Howe", [allow("sun", "02:10", "03:00")])  # 2026-10-04: 02:00 -> 02:30
FREEZE = windows(
    "Europe/Berlin",
    [allow("mon-fri", "09:00", "17:00")],
    [deny("2026-12-21", "2027-01-01", "year-end freeze")],
)
FREEZE_DATETIMES = windows(
    "Europe/Berlin",
    [allow("mon-fri", "09:00", "17:00")],
    [
        deny("2026-11-25T12:00", "2026-11-25T14:30", "naive: Berlin wall clock"),
        deny("2026-11-26T08:00Z", "2026-11-26T09:30Z"),
    ],
)
ONLY_DENY = windows("Europe/Berlin", [], [deny("2026-11-25", "2026-11-25", "one day")])
LONG_FREEZE = windows("UTC", [allow("mon", "09:00", "10:00")], [deny("2026-11-20", "2026-12-31")])
DISABLED = windows("Europe/Berlin", [allow("mon", "09:00", "10:00")], enabled=False)


@pytest.mark.parametrize(
    ("policy", "at", "is_open", "closes_at", "next_open"),
    [
        pytest.param(
            BUSINESS,
            "2026-11-25T10:00+01:00",
            True,
            "2026-11-25T17:00+01:00",
            None,
            id="inside-business-hours",
        ),
        pytest.param(
            BUSINESS,
            "2026-11-25T08:59:59+01:00",
            False,
            None,
            "2026-11-25T09:00+01:00",
            id="one-second-early",
        ),
        pytest.param(
            BUSINESS, "2026-11-25T09:00+01:00", True, "2026-11-25T17:00+01:00", None, id="start-inclusive"
        ),
        pytest.param(
            BUSINESS, "2026-11-25T17:00+01:00", False, None, "2026-11-26T09:00+01:00", id="end-exclusive"
        ),
        pytest.param(
            BUSINESS, "2026-11-27T17:30+01:00", False, None, "2026-11-30T09:00+01:00", id="over-the-weekend"
        ),
        pytest.param(
            BUSINESS, "2026-11-28T12:00Z", False, None, "2026-11-30T09:00+01:00", id="utc-input-saturday"
        ),
        pytest.param(
            OVERNIGHT,
            "2026-11-28T01:00+01:00",
            True,
            "2026-11-28T02:00+01:00",
            None,
            id="overnight-past-midnight",
        ),
        pytest.param(
            OVERNIGHT,
            "2026-11-27T23:00+01:00",
            True,
            "2026-11-28T02:00+01:00",
            None,
            id="overnight-before-midnight",
        ),
        pytest.param(
            OVERNIGHT,
            "2026-11-28T22:30+01:00",
            False,
            None,
            "2026-12-04T22:00+01:00",
            id="overnight-days-name-start-day",
        ),
        pytest.param(
            OVERNIGHT,
            "2026-11-27T02:00+01:00",
            False,
            None,
            "2026-11-27T22:00+01:00",
            id="overnight-thursday-night-closed",
        ),
        pytest.param(
            FULL_SATURDAY,
            "2026-11-28T23:59+01:00",
            True,
            "2026-11-29T00:00+01:00",
            None,
            id="start-equals-end-24h",
        ),
        pytest.param(
            BERLIN_SPRING,
            "2026-03-29T01:59:59+01:00",
            False,
            None,
            "2026-03-29T03:00+02:00",
            id="berlin-spring-skipped-start",
        ),
        pytest.param(
            BERLIN_SPRING,
            "2026-03-29T03:00+02:00",
            True,
            "2026-03-29T05:00+02:00",
            None,
            id="berlin-spring-open-after-gap",
        ),
        pytest.param(
            BERLIN_INSIDE_GAP,
            "2026-03-29T00:00Z",
            False,
            None,
            "2026-04-05T02:10+02:00",
            id="berlin-window-inside-gap-never-opens",
        ),
        pytest.param(
            BERLIN_FALL,
            "2026-10-25T02:29+02:00",
            False,
            None,
            "2026-10-25T02:30+02:00",
            id="berlin-fall-first-0230",
        ),
        pytest.param(
            BERLIN_FALL,
            "2026-10-25T02:15+01:00",
            True,
            "2026-10-25T04:00+01:00",
            None,
            id="berlin-fall-no-hole-in-repeat",
        ),
        pytest.param(
            BERLIN_FALL_END,
            "2026-10-25T02:29+02:00",
            True,
            "2026-10-25T02:30+02:00",
            None,
            id="berlin-fall-end-first-0230",
        ),
        pytest.param(
            BERLIN_FALL_END,
            "2026-10-25T02:15+01:00",
            False,
            None,
            "2026-11-01T00:00+01:00",
            id="berlin-fall-closed-in-repeat",
        ),
        pytest.param(
            NY_SPRING,
            "2026-03-08T01:59-05:00",
            False,
            None,
            "2026-03-08T03:00-04:00",
            id="ny-spring-skipped-start",
        ),
        pytest.param(
            NY_FALL,
            "2026-11-01T01:10-05:00",
            True,
            "2026-11-01T03:00-05:00",
            None,
            id="ny-fall-second-0110-open",
        ),
        pytest.param(
            NY_FALL,
            "2026-11-01T01:29-04:00",
            False,
            None,
            "2026-11-01T01:30-04:00",
            id="ny-fall-opens-first-0130",
        ),
        pytest.param(
            NY_OVERNIGHT_FALL,
            "2026-11-01T01:10-04:00",
            True,
            "2026-11-01T01:30-04:00",
            None,
            id="ny-overnight-ends-at-first-0130",
        ),
        pytest.param(
            NY_OVERNIGHT_FALL,
            "2026-11-01T01:10-05:00",
            False,
            None,
            "2026-11-07T23:00-05:00",
            id="ny-overnight-closed-in-repeated-hour",
        ),
        pytest.param(
            LORD_HOWE, "2026-10-04T01:59+10:30", False, None, "2026-10-04T02:30+11:00", id="half-hour-dst-gap"
        ),
        pytest.param(
            FREEZE, "2026-12-23T10:00+01:00", False, None, "2027-01-04T09:00+01:00", id="deny-beats-allow"
        ),
        pytest.param(
            FREEZE,
            "2027-01-01T23:59+01:00",
            False,
            None,
            "2027-01-04T09:00+01:00",
            id="deny-date-end-inclusive",
        ),
        pytest.param(
            FREEZE, "2026-12-18T16:00+01:00", True, "2026-12-18T17:00+01:00", None, id="before-freeze-open"
        ),
        pytest.param(
            FREEZE_DATETIMES,
            "2026-11-25T12:00+01:00",
            False,
            None,
            "2026-11-25T14:30+01:00",
            id="naive-deny-in-window-tz",
        ),
        pytest.param(
            FREEZE_DATETIMES,
            "2026-11-25T11:00+01:00",
            True,
            "2026-11-25T12:00+01:00",
            None,
            id="open-until-deny-starts",
        ),
        pytest.param(
            FREEZE_DATETIMES, "2026-11-26T09:00+01:00", False, None, "2026-11-26T10:30+01:00", id="aware-deny"
        ),
        pytest.param(
            ONLY_DENY,
            "2026-11-24T23:00+01:00",
            True,
            "2026-11-25T00:00+01:00",
            None,
            id="no-allow-means-any-time",
        ),
        pytest.param(
            ONLY_DENY,
            "2026-11-25T12:00+01:00",
            False,
            None,
            "2026-11-26T00:00+01:00",
            id="no-allow-deny-only",
        ),
        pytest.param(LONG_FREEZE, "2026-11-23T12:00Z", False, None, None, id="nothing-within-14-days"),
        pytest.param(DISABLED, "2026-11-28T03:00Z", True, None, None, id="disabled-always-open"),
    ],
)
def test_state_at(
    policy: DeploymentWindows, at: str, is_open: bool, closes_at: str | None, next_open: str | None
) -> None:
    state = state_at(policy, utc(at))
    assert state.open is is_open, state.detail
    assert state.closes_at == (utc(closes_at) if closes_at else None), state.detail
    assert state.next_open == (utc(next_open) if next_open else None), state.detail


@pytest.mark.parametrize(
    ("zone", "wall", "expected"),
    [
        pytest.param("Europe/Berlin", "2026-11-25T09:00", "2026-11-25T08:00Z", id="ordinary"),
        pytest.param(
            "Europe/Berlin", "2026-03-29T02:30", "2026-03-29T01:00Z", id="skipped-is-first-instant-after"
        ),
        pytest.param("Europe/Berlin", "2026-03-29T02:00", "2026-03-29T01:00Z", id="gap-start"),
        pytest.param("Europe/Berlin", "2026-03-29T03:00", "2026-03-29T01:00Z", id="gap-end-same-instant"),
        pytest.param("Europe/Berlin", "2026-10-25T02:30", "2026-10-25T00:30Z", id="repeated-is-first"),
        pytest.param("America/New_York", "2026-03-08T02:59", "2026-03-08T07:00Z", id="ny-skipped"),
        pytest.param("America/New_York", "2026-11-01T01:30", "2026-11-01T05:30Z", id="ny-repeated-is-edt"),
        pytest.param("Australia/Lord_Howe", "2026-10-04T02:10", "2026-10-03T15:30Z", id="half-hour-gap"),
    ],
)
def test_resolve_wall_time(zone: str, wall: str, expected: str) -> None:
    assert resolve_wall_time(datetime.fromisoformat(wall), ZoneInfo(zone)) == utc(expected)


def test_closed_detail_names_the_deny_reason_and_local_time() -> None:
    state = state_at(FREEZE, utc("2026-12-23T10:00+01:00"))
    assert state.deny is not None
    assert "year-end freeze" in state.detail
    assert "Wed 2026-12-23 10:00 CET" in state.detail
    assert "next opens Mon 2027-01-04 09:00 CET" in state.detail


def test_open_detail_names_the_window_and_its_end() -> None:
    state = state_at(OVERNIGHT, utc("2026-11-28T01:00+01:00"))
    assert state.window is not None and state.window.describe() == "fri 22:00-02:00"
    assert "until Sat 2026-11-28 02:00 CET" in state.detail


def test_a_week_of_business_hours_is_five_exact_intervals() -> None:
    got = open_intervals(BUSINESS, utc("2026-11-23T00:00+01:00"), utc("2026-11-30T00:00+01:00"))
    assert got == [
        (utc(f"2026-11-{d}T09:00+01:00"), utc(f"2026-11-{d}T17:00+01:00")) for d in (23, 24, 25, 26, 27)
    ]


def test_adjacent_windows_merge_into_one_stretch() -> None:
    both = windows("UTC", [allow("mon", "09:00", "12:00"), allow("mon", "12:00", "15:00")])
    state = state_at(both, utc("2026-11-23T10:00Z"))
    assert state.closes_at == utc("2026-11-23T15:00Z")


def test_naive_at_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        state_at(BUSINESS, datetime(2026, 11, 25, 10, 0))


ZONES_AND_WINDOWS = [
    windows("Europe/Berlin", [allow("mon-fri", "09:00", "17:00"), allow("sun", "02:30", "03:15")]),
    windows("America/New_York", [allow("sat", "23:00", "01:30"), allow("sun", "01:00", "02:30")]),
    windows("Australia/Lord_Howe", [allow("sun", "01:45", "02:15")], [deny("2026-10-10", "2026-10-12")]),
    windows(
        "Europe/Berlin", [allow("fri", "22:00", "02:00")], [deny("2026-03-27T23:00", "2026-03-28T01:00")]
    ),
]


@pytest.mark.parametrize("policy", ZONES_AND_WINDOWS, ids=["berlin", "new-york", "lord-howe", "berlin-deny"])
def test_state_is_consistent_with_next_open_at_random_instants(policy: DeploymentWindows) -> None:
    """Properties over a year of instants (DST days included): the reported opening is an edge."""
    rng = random.Random(20261128)
    start = utc("2026-01-01T00:00Z")
    for _ in range(300):
        at = start + timedelta(seconds=rng.randrange(365 * 86400))
        state = state_at(policy, at)
        if state.open:
            assert state.closes_at is None or state.closes_at > at
            if state.closes_at is not None:
                assert not state_at(policy, state.closes_at).open
                assert state_at(policy, state.closes_at - timedelta(seconds=1)).open
        else:
            assert state.next_open is None or at < state.next_open <= at + timedelta(days=14)
            if state.next_open is not None:
                assert state_at(policy, state.next_open).open
                assert not state_at(policy, state.next_open - timedelta(seconds=1)).open
