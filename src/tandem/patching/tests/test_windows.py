"""Maintenance windows over ``dateutil.rrule``: DST-correct, on dates far from today (the
pure core takes every moment as an argument, so no clock is involved)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.patching.windows import WindowError, WindowSpec, next_window, validate, window_at

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
#: A year far from any test run: the rules are pure, the year only has to have DST.
YEAR = 2031


def _last_sunday(year: int, month: int) -> dt.date:
    day = dt.date(year, month + 1, 1) - dt.timedelta(days=1)
    return day - dt.timedelta(days=(day.weekday() - 6) % 7)


SPRING = _last_sunday(YEAR, 3)  # Europe's clocks go forward 02:00 → 03:00
AUTUMN = _last_sunday(YEAR, 10)  # and back 03:00 → 02:00


def saturday_night(hours: int = 4) -> WindowSpec:
    first = dt.datetime(YEAR, 1, 4, 22, 0)  # a Saturday
    assert first.weekday() == 5
    return WindowSpec("FREQ=WEEKLY;BYDAY=SA", first, "Europe/Berlin", dt.timedelta(hours=hours))


def test_a_weekly_window_keeps_its_local_time_across_the_spring_change() -> None:
    spec = saturday_night()
    before = next_window(spec, dt.datetime.combine(SPRING - dt.timedelta(days=3), dt.time(), UTC))
    after = next_window(spec, dt.datetime.combine(SPRING + dt.timedelta(days=1), dt.time(), UTC))
    assert before and after
    # 22:00 in Berlin both times: 21:00 UTC in winter, 20:00 UTC in summer.
    assert before[0].astimezone(BERLIN).hour == after[0].astimezone(BERLIN).hour == 22
    assert (before[0].hour, after[0].hour) == (21, 20)
    assert after[0] - before[0] == dt.timedelta(days=7, hours=-1)


def test_a_time_the_clock_skips_opens_when_the_clock_jumps() -> None:
    spec = WindowSpec(
        "FREQ=DAILY", dt.datetime(YEAR, 1, 1, 2, 30), "Europe/Berlin", dt.timedelta(hours=1)
    )
    found = next_window(
        spec, dt.datetime.combine(SPRING, dt.time(0, 0), UTC) - dt.timedelta(hours=2)
    )
    assert found is not None
    opens, closes = found
    # 02:30 does not exist that night: read with the winter offset, it is 01:30 UTC.
    assert opens == dt.datetime.combine(SPRING, dt.time(1, 30), UTC)
    assert opens.astimezone(BERLIN).strftime("%H:%M") == "03:30"
    assert closes - opens == dt.timedelta(hours=1)


def test_a_window_over_the_autumn_change_lasts_its_real_hours() -> None:
    spec = WindowSpec(
        "FREQ=DAILY", dt.datetime(YEAR, 1, 1, 0, 0), "Europe/Berlin", dt.timedelta(hours=4)
    )
    found = next_window(
        spec, dt.datetime.combine(AUTUMN, dt.time(0, 0), UTC) - dt.timedelta(hours=3)
    )
    assert found is not None
    opens, closes = found
    assert opens.astimezone(BERLIN).date() == AUTUMN and opens.astimezone(BERLIN).hour == 0
    assert closes - opens == dt.timedelta(hours=4)
    # Four real hours after local midnight is 03:00 local, the clock having gone back.
    assert closes.astimezone(BERLIN).strftime("%H:%M") == "03:00"


def test_inside_a_window_from_its_start_until_just_before_its_end() -> None:
    spec = saturday_night(hours=2)
    opens, closes = next_window(spec, dt.datetime(YEAR, 6, 1, tzinfo=UTC)) or (None, None)
    assert opens and closes
    assert window_at(spec, opens) == (opens, closes)
    assert window_at(spec, closes - dt.timedelta(seconds=1)) == (opens, closes)
    assert window_at(spec, closes) is None
    assert window_at(spec, opens - dt.timedelta(seconds=1)) is None
    # A window already open is returned whole by next_window.
    assert next_window(spec, opens + dt.timedelta(minutes=30)) == (opens, closes)


def test_a_rule_that_ended_has_no_next_window() -> None:
    spec = WindowSpec(
        "FREQ=WEEKLY;COUNT=2", dt.datetime(YEAR, 1, 4, 22), "Europe/Berlin", dt.timedelta(hours=1)
    )
    assert next_window(spec, dt.datetime(YEAR, 3, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("rule", "zone", "minutes", "words"),
    [
        ("FREQ=SOMETIMES", "Europe/Berlin", 60, "Not a recurrence rule"),
        ("DTSTART:20310101T000000\nRRULE:FREQ=DAILY", "Europe/Berlin", 60, "one RRULE value"),
        ("FREQ=DAILY", "Mars/Olympus_Mons", 60, "Unknown time zone"),
        ("FREQ=DAILY", "Europe/Berlin", 0, "between one minute and seven days"),
        ("", "Europe/Berlin", 60, "one RRULE value"),
    ],
)
def test_unusable_windows_are_refused_with_the_reason(
    rule: str, zone: str, minutes: int, words: str
) -> None:
    spec = WindowSpec(rule, dt.datetime(YEAR, 1, 1), zone, dt.timedelta(minutes=minutes))
    with pytest.raises(WindowError, match=words):
        validate(spec)


ZONES = st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"])
MOMENTS = st.datetimes(
    min_value=dt.datetime(YEAR - 1, 1, 1), max_value=dt.datetime(YEAR + 1, 12, 31)
).map(lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=150, deadline=None)
@given(
    zone=ZONES,
    hour=st.integers(0, 23),
    minutes=st.integers(1, 6 * 60),
    rule=st.sampled_from(["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=SA,SU", "FREQ=MONTHLY;BYDAY=2TU"]),
    moment=MOMENTS,
)
def test_next_window_and_window_at_agree(
    zone: str, hour: int, minutes: int, rule: str, moment: dt.datetime
) -> None:
    spec = WindowSpec(rule, dt.datetime(YEAR - 2, 1, 1, hour), zone, dt.timedelta(minutes=minutes))
    found = next_window(spec, moment)
    assert found is not None
    opens, closes = found
    assert closes > moment and closes - opens == spec.duration
    inside = window_at(spec, moment)
    if opens <= moment:
        assert inside == found
    else:
        assert inside is None
