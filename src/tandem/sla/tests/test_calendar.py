"""Business calendars: property tests against a minute-by-minute oracle, and named cases."""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tandem.sla.calendar import (
    ALWAYS_OPEN,
    BusinessCalendar,
    add_business_seconds,
    always_open,
    build_calendar,
    business_seconds_between,
    compiled,
    is_open,
    next_open,
    open_intervals,
    public_holidays,
)

HOUR = 3600
OFFICE = {day: (("09:00", "17:00"),) for day in range(5)}
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")

# Zones chosen for their transitions: Berlin and New York (both directions at 02:00/03:00),
# Lord Howe (a 30-minute shift), Santiago (transitions at local midnight), Kolkata (a half-hour
# offset, no DST), UTC.
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
    "UTC",
)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=zone)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def transition_days(zone_name: str) -> list[date]:
    """Local dates in 2024-2025 whose UTC offset differs from the day before's."""
    zone = ZoneInfo(zone_name)
    days = []
    day = date(2024, 1, 1)
    offset = datetime(2024, 1, 1, 12, tzinfo=zone).utcoffset()
    while day < date(2026, 1, 1):
        day += timedelta(days=1)
        now = datetime(day.year, day.month, day.day, 12, tzinfo=zone).utcoffset()
        if now != offset:
            days.append(day)
            offset = now
    return days


TRANSITIONS = {zone: transition_days(zone) for zone in ZONES}


# --------------------------------------------------------------------------------------------
# The oracle: an independent, deliberately naive definition of "open during this minute".
#
# Walk real time minute by minute and keep the running maximum of the local wall clock (the
# latest time the clock has shown so far). A minute is open when that wall time lies in an open
# interval of its date. This is the module's documented rule ("a wall time is placed at the
# earliest instant the clock reads it or later") stated from the other side, with no zoneinfo
# fold/gap handling at all.


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _open_on_wall(calendar: BusinessCalendar, wall: datetime) -> bool:
    day = wall.date()
    if day in calendar.special_days:
        intervals = calendar.special_days[day]
    elif day in calendar.holidays:
        intervals = ()
    else:
        intervals = calendar.weekly.get(day.weekday(), ())
    minute = wall.hour * 60 + wall.minute
    return any(_minutes(start) <= minute < _minutes(end) for start, end in intervals)


def oracle_minutes(calendar: BusinessCalendar, start: int) -> Iterator[bool]:
    """For each minute from ``start`` (a minute-aligned epoch) on: is it open?"""
    zone = ZoneInfo(calendar.time_zone)
    latest: datetime | None = None
    moment = start - 4 * HOUR  # warm up the running maximum across any recent fall-back
    while True:
        wall = datetime.fromtimestamp(moment, zone).replace(tzinfo=None)
        latest = wall if latest is None or wall > latest else latest
        if moment >= start:
            yield _open_on_wall(calendar, latest)
        moment += 60


def oracle_open_minutes(calendar: BusinessCalendar, start: int, end: int) -> list[bool]:
    return list(islice(oracle_minutes(calendar, start), (end - start) // 60))


def oracle_between(calendar: BusinessCalendar, start: int, end: int) -> int:
    return 60 * sum(oracle_open_minutes(calendar, start, end))


def oracle_add(calendar: BusinessCalendar, start: int, seconds: int, horizon_days: int) -> int:
    """Step minute by minute until ``seconds`` of open time have passed."""
    if seconds == 0:
        return start
    left = seconds
    flags = islice(oracle_minutes(calendar, start), horizon_days * 1440)
    for index, is_open_minute in enumerate(flags):
        if is_open_minute:
            if left <= 60:
                return start + index * 60 + left
            left -= 60
    raise LookupError("horizon too short")


# --------------------------------------------------------------------------------------------
# Strategies

_points = st.one_of(
    st.integers(0, 96).map(lambda quarter: quarter * 15),  # on the quarter hour: hits 02:00
    st.integers(0, 1440),
)


@st.composite
def day_intervals(draw: st.DrawFn) -> tuple[tuple[str, str], ...]:
    points = sorted(draw(st.lists(_points, max_size=6, unique=True)))
    pairs = []
    for index in range(0, len(points) - 1, 2):
        start, end = points[index], points[index + 1]
        pairs.append((f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"))
    return tuple(pairs)


@st.composite
def calendars_near_transitions(draw: st.DrawFn) -> tuple[BusinessCalendar, date]:
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(
        st.one_of(
            st.sampled_from(TRANSITIONS[zone] or [date(2025, 3, 30)]),
            st.dates(date(2024, 1, 1), date(2025, 12, 31)),
        )
    )
    weekly: dict[int, tuple[tuple[str, str], ...]]
    if draw(st.integers(0, 9)) == 0:
        weekly = {day: (("00:00", "24:00"),) for day in range(7)}
    else:
        weekly = {day: draw(day_intervals()) for day in range(7)}
    assume(any(weekly.values()))
    near = st.integers(-3, 5).map(lambda offset: anchor + timedelta(days=offset))
    holidays = draw(st.frozensets(near, max_size=3))
    special = draw(st.dictionaries(near, day_intervals(), max_size=2))
    calendar = BusinessCalendar(
        time_zone=zone, weekly=weekly, holidays=holidays, special_days=special
    )
    return calendar, anchor


def _anchor_epoch(anchor: date) -> int:
    return epoch(datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC))


# --------------------------------------------------------------------------------------------
# Properties


@settings(max_examples=80, deadline=None)
@given(
    calendars_near_transitions(),
    st.integers(-2 * 1440, 2 * 1440),
    st.integers(0, 3 * 1440),
)
def test_between_matches_the_minute_oracle(
    case: tuple[BusinessCalendar, date], offset: int, length: int
) -> None:
    calendar, anchor = case
    start = _anchor_epoch(anchor) + offset * 60
    end = start + length * 60
    assert business_seconds_between(calendar, utc(start), utc(end)) == oracle_between(
        calendar, start, end
    )


@settings(max_examples=50, deadline=None)
@given(
    calendars_near_transitions(),
    st.integers(-2 * 1440, 2 * 1440),
    st.one_of(st.integers(0, 12 * HOUR), st.integers(0, 720).map(lambda m: m * 60)),
)
def test_add_matches_the_minute_oracle(
    case: tuple[BusinessCalendar, date], offset: int, seconds: int
) -> None:
    calendar, anchor = case
    start = _anchor_epoch(anchor) + offset * 60
    try:
        expected = oracle_add(calendar, start, seconds, horizon_days=15)
    except LookupError:
        assume(False)  # a very sparse calendar; the inverse property still covers it
        raise
    assert add_business_seconds(calendar, utc(start), seconds) == utc(expected)


@settings(max_examples=40, deadline=None)
@given(calendars_near_transitions(), st.integers(-2 * 1440, 2 * 1440), st.integers(0, 2 * 1440))
def test_is_open_and_open_intervals_match_the_oracle(
    case: tuple[BusinessCalendar, date], offset: int, length: int
) -> None:
    calendar, anchor = case
    start = _anchor_epoch(anchor) + offset * 60
    end = start + length * 60
    flags = oracle_open_minutes(calendar, start, end)
    assert [is_open(calendar, utc(start + 60 * i)) for i in range(len(flags))] == flags
    intervals = open_intervals(calendar, utc(start), utc(end))
    covered = [False] * len(flags)
    for low, high in intervals:
        assert low < high
        for minute in range(epoch(low), epoch(high), 60):
            covered[(minute - start) // 60] = True
    assert covered == flags
    # Maximal: consecutive intervals never touch.
    assert all(a[1] < b[0] for a, b in zip(intervals, intervals[1:], strict=False))


@settings(max_examples=60, deadline=None)
@given(
    calendars_near_transitions(),
    st.integers(-3 * 86400, 3 * 86400),
    st.integers(0, 40 * HOUR),
    st.integers(0, 40 * HOUR),
)
def test_add_then_measure_gives_the_seconds_back(
    case: tuple[BusinessCalendar, date], offset: int, seconds: int, more: int
) -> None:
    calendar, anchor = case
    start = utc(_anchor_epoch(anchor) + offset)  # any second, not only whole minutes
    due = add_business_seconds(calendar, start, seconds)
    assert due >= start
    assert business_seconds_between(calendar, start, due) == seconds
    if seconds:
        # Minimal: one second earlier, one second of open time is still missing.
        assert business_seconds_between(calendar, start, due - timedelta(seconds=1)) == seconds - 1
    # Monotonic in the seconds, and adding in two steps equals adding at once.
    later = add_business_seconds(calendar, start, seconds + more)
    assert later >= due
    assert add_business_seconds(calendar, due, more) == later or more == 0


@settings(max_examples=60, deadline=None)
@given(
    calendars_near_transitions(),
    st.lists(st.integers(-3 * 86400, 3 * 86400), min_size=3, max_size=3),
)
def test_between_is_additive_and_monotonic(
    case: tuple[BusinessCalendar, date], offsets: list[int]
) -> None:
    calendar, anchor = case
    a, b, c = (utc(_anchor_epoch(anchor) + offset) for offset in sorted(offsets))
    ab = business_seconds_between(calendar, a, b)
    bc = business_seconds_between(calendar, b, c)
    assert 0 <= ab <= business_seconds_between(calendar, a, c) == ab + bc
    assert business_seconds_between(calendar, c, a) == -(ab + bc)
    assert ab <= epoch(b) - epoch(a)


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.integers(epoch(datetime(2024, 1, 1, tzinfo=UTC)), epoch(datetime(2026, 1, 1, tzinfo=UTC))),
    st.integers(0, 30 * 86400),
)
def test_always_open_is_plain_elapsed_time(zone: str, start: int, seconds: int) -> None:
    calendar = always_open(zone)
    assert business_seconds_between(calendar, utc(start), utc(start + seconds)) == seconds
    assert add_business_seconds(calendar, utc(start), seconds) == utc(start + seconds)
    assert is_open(calendar, utc(start))


# --------------------------------------------------------------------------------------------
# Daylight saving time, named


@pytest.mark.parametrize(
    ("zone", "spring", "fall"),
    [
        (BERLIN, date(2025, 3, 30), date(2025, 10, 26)),  # 02:00->03:00, 03:00->02:00
        (NEW_YORK, date(2025, 3, 9), date(2025, 11, 2)),  # 02:00->03:00, 02:00->01:00
    ],
)
def test_a_01_to_03_schedule_is_one_hour_in_spring_and_three_in_autumn(
    zone: ZoneInfo, spring: date, fall: date
) -> None:
    nights = BusinessCalendar(
        time_zone=str(zone), weekly={day: (("01:00", "03:00"),) for day in range(7)}
    )

    def open_on(day: date) -> int:
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        following = day + timedelta(days=1)
        return business_seconds_between(
            nights, midnight, datetime(following.year, following.month, following.day, tzinfo=zone)
        )

    assert open_on(spring - timedelta(days=1)) == 2 * HOUR
    # Spring: the clock skips from 02:00 to 03:00, so 01:00-03:00 lasts one real hour.
    assert open_on(spring) == 1 * HOUR
    # Autumn: from the first 01:00 until the clock shows 03:00, across the repeated hour.
    assert open_on(fall) == 3 * HOUR
    assert open_on(fall + timedelta(days=1)) == 2 * HOUR


def test_spring_forward_gap_maps_to_the_end_of_the_gap() -> None:
    # 02:30 does not exist in Berlin on 2025-03-30; it is placed where the clock jumps, 03:00.
    inside = BusinessCalendar(time_zone="Europe/Berlin", weekly={6: (("02:30", "04:00"),)})
    start = local(BERLIN, 2025, 3, 30)
    assert open_intervals(inside, start, start + timedelta(days=1)) == [
        (local(BERLIN, 2025, 3, 30, 3).astimezone(UTC), local(BERLIN, 2025, 3, 30, 4))
    ]
    # An interval entirely inside the gap has no real time at all that day.
    vanished = BusinessCalendar(time_zone="Europe/Berlin", weekly={6: (("02:00", "02:30"),)})
    assert business_seconds_between(vanished, start, start + timedelta(days=1)) == 0
    assert (
        business_seconds_between(vanished, start + timedelta(days=7), start + timedelta(days=8))
        == 1800
    )


def test_fall_back_ambiguous_end_is_the_first_occurrence() -> None:
    # 02:30 happens twice in Berlin on 2025-10-26; a shift ending at 02:30 ends the first time.
    shift = BusinessCalendar(time_zone="Europe/Berlin", weekly={6: (("00:00", "02:30"),)})
    start = local(BERLIN, 2025, 10, 26)
    ((opened, closed),) = open_intervals(shift, start, start + timedelta(days=1))
    assert opened == datetime(2025, 10, 25, 22, tzinfo=UTC)  # 00:00 CEST
    assert closed == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # the first 02:30, CEST


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK])
def test_office_hours_across_both_dst_weekends(zone: ZoneInfo) -> None:
    office = BusinessCalendar(time_zone=str(zone), weekly=OFFICE)
    for friday in (
        [date(2025, 3, 28), date(2025, 10, 24)]
        if zone is BERLIN
        else [date(2025, 3, 7), date(2025, 10, 31)]
    ):
        start = datetime(friday.year, friday.month, friday.day, 16, tzinfo=zone)
        monday = friday + timedelta(days=3)
        # One hour on Friday, one on Monday: wall-clock 10:00 whatever the offset did.
        due = add_business_seconds(office, start, 2 * HOUR)
        assert due.astimezone(zone).replace(tzinfo=None) == datetime(
            monday.year, monday.month, monday.day, 10
        )
        monday_close = due.astimezone(zone).replace(hour=17)
        assert (
            business_seconds_between(office, start - timedelta(hours=7), monday_close) == 16 * HOUR
        )


@pytest.mark.parametrize(
    ("zone", "saturday", "hours"),
    [
        (BERLIN, date(2025, 3, 29), 23),
        (BERLIN, date(2025, 10, 25), 25),
        (NEW_YORK, date(2025, 3, 8), 23),
        (NEW_YORK, date(2025, 11, 1), 25),
    ],
)
def test_always_open_counts_real_hours_across_dst(
    zone: ZoneInfo, saturday: date, hours: int
) -> None:
    calendar = always_open(str(zone))
    noon = datetime(saturday.year, saturday.month, saturday.day, 12, tzinfo=zone)
    next_noon = noon.replace(day=saturday.day + 1)  # wall-clock noon the next day
    assert business_seconds_between(calendar, noon, next_noon) == hours * HOUR
    due = add_business_seconds(calendar, noon, 24 * HOUR)
    assert due - noon.astimezone(UTC) == timedelta(hours=24)
    assert due.astimezone(zone).hour == 12 + (24 - hours)


# --------------------------------------------------------------------------------------------
# Holidays, half days, 24:00, weekends, long targets


def test_a_friday_bank_holiday_pushes_the_due_date_to_monday() -> None:
    # New Year's Day 2027 is a Friday, an English bank holiday.
    london = build_calendar(
        time_zone="Europe/London", weekly=OFFICE, country="GB", subdivision="ENG", years=[2027]
    )
    assert date(2027, 1, 1) in london.holidays
    thursday = local(LONDON, 2026, 12, 31, 16)
    assert add_business_seconds(london, thursday, 2 * HOUR) == local(LONDON, 2027, 1, 4, 10)
    without = BusinessCalendar(time_zone="Europe/London", weekly=OFFICE)
    assert add_business_seconds(without, thursday, 2 * HOUR) == local(LONDON, 2027, 1, 1, 10)


def test_public_holidays_by_country_and_subdivision() -> None:
    bavaria = public_holidays("DE", "BY", years=[2025])
    germany = public_holidays("DE", years=[2025])
    assert date(2025, 1, 6) in bavaria  # Epiphany, Bavaria only
    assert date(2025, 1, 6) not in germany
    assert date(2025, 5, 1) in germany
    with pytest.raises(ValueError, match="XX"):
        public_holidays("XX", years=[2025])
    with pytest.raises(ValueError, match="subdivision"):
        public_holidays("GB", "ZZZ", years=[2025])
    with pytest.raises(ValueError, match="years"):
        public_holidays("GB", years=[])


def test_custom_holidays_and_a_half_day() -> None:
    calendar = build_calendar(
        time_zone="Europe/Berlin",
        weekly=OFFICE,
        extra_holidays=[date(2025, 12, 22)],
        special_days={date(2025, 12, 23): (("09:00", "12:00"),)},
    )
    monday = local(BERLIN, 2025, 12, 22)
    assert business_seconds_between(calendar, monday, monday + timedelta(days=2)) == 3 * HOUR
    # Four hours from Tuesday 10:00: two on the half day, two on Wednesday.
    assert add_business_seconds(calendar, monday.replace(day=23, hour=10), 4 * HOUR) == local(
        BERLIN, 2025, 12, 24, 11
    )


def test_a_special_day_wins_over_a_holiday() -> None:
    calendar = BusinessCalendar(
        time_zone="UTC",
        weekly=OFFICE,
        holidays=frozenset({date(2025, 12, 24)}),
        special_days={date(2025, 12, 24): (("09:00", "11:00"),)},
    )
    day = datetime(2025, 12, 24, tzinfo=UTC)
    assert business_seconds_between(calendar, day, day + timedelta(days=1)) == 2 * HOUR


def test_24_00_closes_at_midnight_and_joins_the_next_day() -> None:
    evenings = BusinessCalendar(
        time_zone="Europe/Berlin", weekly={0: (("20:00", "24:00"),), 1: (("00:00", "02:00"),)}
    )
    monday = local(BERLIN, 2025, 6, 2)
    assert open_intervals(evenings, monday, monday + timedelta(days=2)) == [
        (local(BERLIN, 2025, 6, 2, 20).astimezone(UTC), local(BERLIN, 2025, 6, 3, 2))
    ]
    assert add_business_seconds(evenings, monday.replace(hour=23), 2 * HOUR) == local(
        BERLIN, 2025, 6, 3, 1
    )


def test_a_ticket_created_on_the_weekend_starts_at_the_next_opening() -> None:
    office = BusinessCalendar(time_zone="Europe/Berlin", weekly=OFFICE)
    saturday = local(BERLIN, 2025, 6, 7, 10)
    assert not is_open(office, saturday)
    assert next_open(office, saturday) == local(BERLIN, 2025, 6, 9, 9)
    assert add_business_seconds(office, saturday, HOUR) == local(BERLIN, 2025, 6, 9, 10)
    assert business_seconds_between(office, saturday, local(BERLIN, 2025, 6, 9, 9)) == 0


def test_targets_spanning_weeks_and_years_are_direct() -> None:
    office = BusinessCalendar(time_zone="Europe/Berlin", weekly=OFFICE)
    monday = local(BERLIN, 2025, 6, 2, 9)
    # 120 business hours = three 40-hour weeks: Friday of the third week at closing.
    assert add_business_seconds(office, monday, 120 * HOUR) == local(BERLIN, 2025, 6, 20, 17)
    # Running off the compiled year and back before it.
    assert add_business_seconds(office, local(BERLIN, 2025, 12, 31, 16), 2 * HOUR) == local(
        BERLIN, 2026, 1, 1, 10
    )
    assert business_seconds_between(office, local(BERLIN, 2019, 1, 7, 9), monday) > 0
    started = time.perf_counter()
    for week in range(1000):
        add_business_seconds(office, monday + timedelta(hours=week), (week % 12 + 1) * 40 * HOUR)
    assert time.perf_counter() - started < 1.0  # no minute loop: microseconds per call


def test_seconds_resolution_and_half_open_intervals() -> None:
    office = BusinessCalendar(time_zone="UTC", weekly=OFFICE)
    assert is_open(office, datetime(2025, 6, 2, 16, 59, 59, 999999, tzinfo=UTC))
    assert not is_open(office, datetime(2025, 6, 2, 17, tzinfo=UTC))
    # The due lands on the closing instant, not the next morning.
    assert add_business_seconds(office, datetime(2025, 6, 2, 9, tzinfo=UTC), 8 * HOUR) == (
        datetime(2025, 6, 2, 17, tzinfo=UTC)
    )
    start = datetime(2025, 6, 2, 10, 0, 0, 700000, tzinfo=UTC)
    assert add_business_seconds(office, start, 0) == start
    assert business_seconds_between(office, start, start + timedelta(seconds=90)) == 90
    assert next_open(office, start) == start
    # Flooring is exact even where a float timestamp rounds up to the next second. (A
    # calendar of its own, so that only that year gets compiled.)
    late = datetime(2514, 5, 30, 7, 53, 54, 999999, tzinfo=UTC)
    around_the_clock = always_open("Etc/UTC")
    assert business_seconds_between(around_the_clock, late, late + timedelta(microseconds=1)) == 1


def test_inputs_in_any_zone_give_utc_outputs() -> None:
    office = BusinessCalendar(time_zone="Europe/Berlin", weekly=OFFICE)
    due = add_business_seconds(office, local(NEW_YORK, 2025, 6, 2, 4), HOUR)
    assert due.tzinfo is UTC
    assert due == local(BERLIN, 2025, 6, 2, 11)


# --------------------------------------------------------------------------------------------
# Validation and identity


@pytest.mark.parametrize(
    ("weekly", "message"),
    [
        (
            {0: (("09:00", "12:00"), ("11:00", "13:00"))},
            "Monday: intervals 09:00-12:00 and 11:00-13:00 overlap",
        ),
        ({1: (("17:00", "09:00"),)}, "Tuesday: interval 17:00-09:00 ends before"),
        ({2: (("09:00", "09:00"),)}, "ends before or when it starts"),
        ({0: (("9:00", "17:00"),)}, "'9:00' is not a time"),
        ({0: (("09:00", "25:00"),)}, "'25:00' is not a time"),
        ({0: (("09:60", "17:00"),)}, "not a time"),
        ({0: (("24:00", "24:00"),)}, "'24:00' can only end"),
        ({0: (("09:00",),)}, "pair"),
        ({0: ("09:00-17:00",)}, "pair"),
        ({7: (("09:00", "17:00"),)}, "weekday must be 0"),
        ({}, "no open hours"),
        ({0: ()}, "no open hours"),
    ],
)
def test_invalid_schedules_are_rejected_with_clear_messages(
    weekly: dict[int, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(time_zone="UTC", weekly=weekly)


def test_invalid_zone_dates_and_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        BusinessCalendar(time_zone="Mars/Olympus", weekly=OFFICE)
    with pytest.raises(ValueError, match="IANA"):
        BusinessCalendar(time_zone="", weekly=OFFICE)
    with pytest.raises(ValueError, match="holidays must be dates"):
        BusinessCalendar(time_zone="UTC", weekly=OFFICE, holidays=frozenset({"2025-12-25"}))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2025-12-24: interval 12:00-09:00"):
        BusinessCalendar(
            time_zone="UTC", weekly=OFFICE, special_days={date(2025, 12, 24): (("12:00", "09:00"),)}
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(ALWAYS_OPEN, datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="negative"):
        add_business_seconds(ALWAYS_OPEN, datetime(2025, 1, 1, tzinfo=UTC), -1)
    with pytest.raises(ValueError, match="subdivision needs a country"):
        build_calendar(time_zone="UTC", weekly=OFFICE, subdivision="BY")


def test_touching_intervals_are_accepted_and_equal_calendars_share_their_index() -> None:
    split = BusinessCalendar(time_zone="UTC", weekly={0: (("12:00", "17:00"), ("09:00", "12:00"))})
    assert split.weekly[0] == (("09:00", "12:00"), ("12:00", "17:00"))
    again = BusinessCalendar(time_zone="UTC", weekly={0: [("09:00", "12:00"), ("12:00", "17:00")]})
    assert split == again and hash(split) == hash(again)
    assert compiled(split) is compiled(again)
    assert split != BusinessCalendar(time_zone="Europe/Berlin", weekly=split.weekly)
    # Equal values hash equal whatever order the weekdays were given in.
    forwards = BusinessCalendar(time_zone="UTC", weekly={0: OFFICE[0], 4: OFFICE[4]})
    backwards = BusinessCalendar(time_zone="UTC", weekly={4: OFFICE[4], 0: OFFICE[0]})
    assert forwards == backwards and hash(forwards) == hash(backwards)
    assert ALWAYS_OPEN.is_always_open and not split.is_always_open


def test_calendars_survive_pickling() -> None:
    calendar = BusinessCalendar(
        time_zone="Europe/Berlin",
        weekly=OFFICE,
        holidays=frozenset({date(2025, 12, 25)}),
        special_days={date(2025, 12, 24): (("09:00", "12:00"),)},
    )
    copy = pickle.loads(pickle.dumps(calendar))
    assert copy == calendar and hash(copy) == hash(calendar)
