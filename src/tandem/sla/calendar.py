"""Business calendars: when a party's service hours are open, in real (UTC) time.

A calendar is plain, immutable data: an IANA time zone, a weekly schedule of local wall-clock
intervals, full days off (holidays) and special days whose hours replace the weekly ones (half
days, a Saturday on call). Everything here is pure and free of Django; the ORM builds a
``BusinessCalendar`` from its rows and calls these functions.

Time model
==========

* Inputs and outputs are timezone-aware datetimes; outputs are in UTC. Naive datetimes are
  rejected because their meaning would depend on the server's zone.
* Resolution is one second: sub-second parts of inputs are dropped (floored). SLA targets are
  minutes or hours; carrying microseconds would only make results harder to compare.
* Intervals are half-open ``[start, end)``: a calendar open 09:00-17:00 is open at 16:59:59 and
  closed at 17:00:00. ``"24:00"`` as an end means the next local midnight.
* Open time is real elapsed time. A 24/7 calendar therefore counts 23 hours on the
  spring-forward day and 25 hours on the fall-back day, exactly like a stopwatch.

Daylight saving time
====================

A local wall time ``w`` on a date is placed at the *earliest instant at which the local clock
reads ``w`` or later*:

* an ambiguous time (fall back, the hour that happens twice) is its first occurrence
  (``fold=0``): a shift ending at 02:30 ends the first time the clock shows 02:30;
* a time that does not exist (spring forward gap) is the instant the clock jumps past it, i.e.
  the end of the gap: 02:30 on a day Berlin jumps from 02:00 to 03:00 becomes 03:00 CEST.

This rule is monotonic (a later wall time never lands at an earlier instant), so intervals that
do not overlap on the wall clock never overlap in real time, touching intervals stay touching,
and an interval entirely inside a gap simply vanishes. Examples in Europe/Berlin: a 01:00-03:00
schedule is open for 1 real hour on the spring-forward day and 3 real hours on the fall-back
day (01:00 CEST until 03:00 CET).

Speed
=====

Each calendar is compiled once (cached per calendar value) into a flat, sorted list of open
intervals in epoch seconds with running totals, built year by year as queries need it. Then
"open seconds between a and b" is two binary searches and "the instant when n open seconds have
elapsed" is one binary search more, whatever the span: a target of several weeks costs the same
as one of five minutes. Touching intervals are merged, so a 24/7 calendar is a single interval.
The SLA clock reads these lists directly (``_Span``), in the shape that makes its hot loop
cheapest; see docs/decisions/0012-sla-clock-speed.md.
"""

from __future__ import annotations

import math
import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "ALWAYS_OPEN",
    "BusinessCalendar",
    "Interval",
    "add_business_seconds",
    "always_open",
    "build_calendar",
    "business_seconds_between",
    "is_open",
    "next_open",
    "open_intervals",
    "public_holidays",
]

#: A local wall-clock interval, ``("HH:MM", "HH:MM")``; the end may be ``"24:00"``.
Interval = tuple[str, str]

_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_DAY_MINUTES = 24 * 60
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _parse_time(text: object, *, where: str, is_end: bool) -> int:
    """Minutes after local midnight for ``"HH:MM"``; ``"24:00"`` is allowed only as an end."""
    if not isinstance(text, str):
        raise ValueError(f"{where}: time must be a string 'HH:MM', got {text!r}")
    if text == "24:00":
        if not is_end:
            raise ValueError(f"{where}: '24:00' can only end an interval, not start one")
        return _DAY_MINUTES
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{where}: {text!r} is not a time 'HH:MM' (00:00-23:59, or 24:00 as end)")
    return int(match.group(1)) * 60 + int(match.group(2))


def _normalize_day(
    intervals: Iterable[Sequence[str]], *, where: str
) -> tuple[tuple[Interval, ...], tuple[tuple[int, int], ...]]:
    """Validate one day's intervals; return them sorted and as merged minute ranges."""
    if isinstance(intervals, str):
        raise ValueError(f"{where}: expected a list of (start, end) pairs, got a string")
    parsed: list[tuple[int, int, Interval]] = []
    for pair in intervals:
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"{where}: each interval must be a (start, end) pair, got {pair!r}")
        start_text, end_text = pair[0], pair[1]
        start = _parse_time(start_text, where=where, is_end=False)
        end = _parse_time(end_text, where=where, is_end=True)
        if end <= start:
            raise ValueError(
                f"{where}: interval {start_text}-{end_text} ends before or when it starts"
            )
        parsed.append((start, end, (start_text, end_text)))
    parsed.sort()
    minutes: list[tuple[int, int]] = []
    for index, (start, end, _) in enumerate(parsed):
        if index and start < parsed[index - 1][1]:
            before = parsed[index - 1][2]
            raise ValueError(
                f"{where}: intervals {before[0]}-{before[1]} and "
                f"{parsed[index][2][0]}-{parsed[index][2][1]} overlap"
            )
        if minutes and minutes[-1][1] == start:
            # 09:00-12:00 plus 12:00-17:00 is simply 09:00-17:00.
            minutes[-1] = (minutes[-1][0], end)
        else:
            minutes.append((start, end))
    return tuple(item[2] for item in parsed), tuple(minutes)


def _zone(key: object) -> ZoneInfo:
    if not isinstance(key, str) or not key:
        raise ValueError(f"time zone must be an IANA name such as 'Europe/Berlin', got {key!r}")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {key!r}") from error


@dataclass(frozen=True, eq=True)
class BusinessCalendar:
    """A party's service hours: time zone, weekly schedule, holidays and special days.

    ``weekly`` maps a weekday (0 = Monday ... 6 = Sunday) to its local intervals; a missing
    weekday is closed. ``holidays`` are full days off. ``special_days`` replace the weekly hours
    of one date (a half day is ``{date(2025, 12, 24): (("09:00", "12:00"),)}``; an empty tuple
    closes the date). A special day wins over a holiday on the same date: an explicit local
    decision is more specific than a country's holiday list.

    Construction validates everything and raises ``ValueError`` with a message naming the
    offending weekday or date. The value is immutable and hashable, so compiled lookup data can
    be cached per calendar.
    """

    time_zone: str
    weekly: Mapping[int, Sequence[Interval]]
    holidays: frozenset[date] = frozenset()
    special_days: Mapping[date, Sequence[Interval]] = field(default_factory=dict)
    # Derived data, filled in __post_init__; excluded from comparison and repr.
    _weekly_minutes: tuple[tuple[tuple[int, int], ...], ...] = field(
        init=False, repr=False, compare=False
    )
    _special_minutes: Mapping[date, tuple[tuple[int, int], ...]] = field(
        init=False, repr=False, compare=False
    )
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _zone(self.time_zone)
        if not isinstance(self.weekly, Mapping):
            raise ValueError("weekly must map weekday numbers (0 = Monday) to intervals")
        weekly: dict[int, tuple[Interval, ...]] = {}
        weekly_minutes: list[tuple[tuple[int, int], ...]] = [()] * 7
        for weekday, intervals in self.weekly.items():
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
            texts, minutes = _normalize_day(intervals, where=_WEEKDAY_NAMES[weekday])
            if texts:
                weekly[weekday] = texts
                weekly_minutes[weekday] = minutes
        if not weekly:
            # A calendar that never opens would make every due date infinite.
            raise ValueError("weekly schedule has no open hours")
        holidays = frozenset(self.holidays)
        for day in holidays:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ValueError(f"holidays must be dates, got {day!r}")
        special: dict[date, tuple[Interval, ...]] = {}
        special_minutes: dict[date, tuple[tuple[int, int], ...]] = {}
        for day, intervals in dict(self.special_days).items():
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ValueError(f"special days must be keyed by date, got {day!r}")
            texts, minutes = _normalize_day(intervals, where=day.isoformat())
            special[day] = texts
            special_minutes[day] = minutes
        set_ = object.__setattr__  # the dataclass is frozen; this is its own initialisation
        set_(self, "weekly", MappingProxyType(dict(sorted(weekly.items()))))
        set_(self, "holidays", holidays)
        set_(self, "special_days", MappingProxyType(dict(sorted(special.items()))))
        set_(self, "_weekly_minutes", tuple(weekly_minutes))
        set_(self, "_special_minutes", MappingProxyType(special_minutes))
        set_(
            self,
            "_hash",
            hash(
                (
                    self.time_zone,
                    tuple(sorted(weekly.items())),
                    holidays,
                    tuple(sorted(special.items())),
                )
            ),
        )

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[BusinessCalendar], tuple[object, ...]]:
        # Read-only mapping proxies cannot be pickled; rebuild from plain dicts (for caches and
        # process pools).
        return (
            BusinessCalendar,
            (self.time_zone, dict(self.weekly), self.holidays, dict(self.special_days)),
        )

    def minutes_on(self, day: date) -> tuple[tuple[int, int], ...]:
        """Open local minute ranges ``(start, end)`` of ``day``, after holidays and overrides."""
        special = self._special_minutes.get(day)
        if special is not None:
            return special
        if day in self.holidays:
            return ()
        return self._weekly_minutes[day.weekday()]

    @property
    def is_always_open(self) -> bool:
        """True for a 24/7 calendar: every day 00:00-24:00, no holidays, no special days."""
        return (
            not self.holidays
            and not self.special_days
            and all(day == ((0, _DAY_MINUTES),) for day in self._weekly_minutes)
        )


def always_open(time_zone: str = "UTC") -> BusinessCalendar:
    """A 24/7 calendar: open time equals real elapsed time, in any zone and across DST."""
    return BusinessCalendar(
        time_zone=time_zone, weekly={day: (("00:00", "24:00"),) for day in range(7)}
    )


#: The 24/7 calendar, for parties (typically MSP NOCs) that work around the clock.
ALWAYS_OPEN = always_open()


def public_holidays(
    country: str,
    subdivision: str | None = None,
    *,
    years: Iterable[int],
    categories: Iterable[str] | None = None,
) -> frozenset[date]:
    """Public holidays of a country (and subdivision) from the ``holidays`` package.

    ``years`` must be listed explicitly: holidays are data for a known period, and the caller
    (the ORM layer) decides how far ahead to materialise them. Observed substitute days (a
    holiday falling on a Sunday observed on Monday) are included, because offices close then.
    Unknown countries or subdivisions raise ``ValueError``.
    """
    import holidays as holidays_package  # imported here: only calendar construction needs it

    year_list = sorted(set(years))
    if not year_list:
        raise ValueError("years must list at least one year")
    try:
        found = holidays_package.country_holidays(
            country,
            subdiv=subdivision,
            years=year_list,
            categories=tuple(categories) if categories is not None else None,
        )
    except NotImplementedError as error:
        raise ValueError(str(error)) from error
    return frozenset(found.keys())


def build_calendar(
    *,
    time_zone: str,
    weekly: Mapping[int, Sequence[Interval]],
    country: str | None = None,
    subdivision: str | None = None,
    years: Iterable[int] = (),
    extra_holidays: Iterable[date] = (),
    special_days: Mapping[date, Sequence[Interval]] | None = None,
) -> BusinessCalendar:
    """Build a calendar whose holidays are a country's public holidays plus custom dates.

    ``country``/``subdivision`` are ISO 3166 codes as understood by the ``holidays`` package
    (``"GB"``, ``"ENG"``; ``"DE"``, ``"BY"``); ``years`` says which years to include.
    ``extra_holidays`` adds company days off; ``special_days`` overrides single dates.
    """
    days_off = set(extra_holidays)
    if country is not None:
        days_off |= public_holidays(country, subdivision, years=years)
    elif subdivision is not None:
        raise ValueError("a subdivision needs a country")
    return BusinessCalendar(
        time_zone=time_zone,
        weekly=weekly,
        holidays=frozenset(days_off),
        special_days=special_days or {},
    )


# --------------------------------------------------------------------------------------------
# Compiled form


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch(moment: datetime, name: str = "datetime") -> int:
    """Whole epoch seconds (floored) of an aware datetime.

    Exact: the difference to the epoch is a normalised timedelta, whereas the float of
    ``timestamp()`` can round up to the next second for far-future instants (the SLA clock
    converts the same way).
    """
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")
    delta = moment - _EPOCH
    return delta.days * 86400 + delta.seconds


def _from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _wall_to_epoch(zone: ZoneInfo, wall: datetime) -> int:
    """Earliest instant at which the local clock reads ``wall`` (naive) or later.

    See the module docstring: ambiguous times take their first occurrence, times inside a
    spring-forward gap take the end of the gap.
    """
    first = math.floor(wall.replace(tzinfo=zone, fold=0).timestamp())
    if datetime.fromtimestamp(first, zone).replace(tzinfo=None) == wall:
        return first  # exists (the first occurrence when ambiguous)
    # In a gap. fold=1 applies the offset after the jump, which lands before the transition;
    # fold=0 lands after it. Search the transition between them: where the clock passes `wall`.
    low = math.floor(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = first
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


class _Span:
    """Open intervals of the local years ``first_year..last_year`` in epoch seconds.

    ``covers`` is ``[low, high)``: every query instant in it sees every interval it needs.
    ``after[i]`` is the open time from ``low`` to ``ends[i]``; ``offsets[i]`` is the open time
    from ``low`` to ``starts[i]``, minus ``starts[i]``, so that the open time from ``low`` to an
    instant ``t`` inside interval ``i`` is simply ``offsets[i] + t``. ``bounds`` is ``starts``
    followed by ``high``, so a search probing forward from an interval needs no length check
    (no query instant reaches ``high``). Instances are never mutated; extending a calendar
    swaps in a new span, so readers in other threads always see consistent lists.
    """

    __slots__ = (
        "after",
        "bounds",
        "ends",
        "first_year",
        "high",
        "last_year",
        "low",
        "offsets",
        "starts",
    )

    def __init__(
        self,
        first_year: int,
        last_year: int,
        low: int,
        high: int,
        starts: list[int],
        ends: list[int],
    ) -> None:
        self.first_year = first_year
        self.last_year = last_year
        self.low = low
        self.high = high
        self.starts = starts
        self.ends = ends
        self.bounds = [*starts, high]
        offsets: list[int] = []
        after: list[int] = []
        total = 0
        for start, end in zip(starts, ends, strict=True):
            offsets.append(total - start)
            total += end - start
            after.append(total)
        self.offsets = offsets
        self.after = after

    def cumulative(self, moment: int) -> int:
        """Open seconds from ``low`` up to ``moment``."""
        index = bisect_right(self.starts, moment) - 1
        if index < 0:
            return 0
        if moment < self.ends[index]:
            return self.offsets[index] + moment
        return self.after[index]

    def reach(self, cumulative: int) -> int | None:
        """The earliest instant at which ``cumulative`` open seconds (from ``low``) have
        elapsed, or None when that lies past this span."""
        index = bisect_left(self.after, cumulative)
        if index < len(self.after):
            return cumulative - self.offsets[index]
        return None


class _CompiledCalendar:
    """Lazily extended open-interval index of one calendar. Shared by all equal calendars."""

    __slots__ = ("calendar", "lock", "span", "zone")

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self.zone = _zone(calendar.time_zone)
        self.lock = threading.Lock()
        self.span: _Span | None = None

    def _local_year(self, moment: int) -> int:
        return datetime.fromtimestamp(moment, self.zone).year

    def _build(self, first_year: int, last_year: int) -> _Span:
        if first_year < 2 or last_year > 9997:
            raise ValueError("dates outside the years 2-9997 are not supported")
        zone = self.zone
        starts: list[int] = []
        ends: list[int] = []
        day = date(first_year, 1, 1)
        stop = date(last_year + 1, 1, 1)
        one_day = timedelta(days=1)
        while day < stop:
            ranges = self.calendar.minutes_on(day)
            if ranges:
                midnight = datetime(day.year, day.month, day.day)
                for start_minute, end_minute in ranges:
                    start = _wall_to_epoch(zone, midnight + timedelta(minutes=start_minute))
                    end = _wall_to_epoch(zone, midnight + timedelta(minutes=end_minute))
                    if end <= start:
                        continue  # the whole interval fell into a spring-forward gap
                    if ends and ends[-1] >= start:
                        # Touching (across midnight, or 24/7); merge so the lists stay short.
                        ends[-1] = max(ends[-1], end)
                    else:
                        starts.append(start)
                        ends.append(end)
            day += one_day
        low = _wall_to_epoch(zone, datetime(first_year, 1, 1))
        high = _wall_to_epoch(zone, datetime(last_year + 1, 1, 1))
        return _Span(first_year, last_year, low, high, starts, ends)

    def covering(self, first: int, last: int | None = None) -> _Span:
        """A span whose ``[low, high)`` contains ``first`` and ``last``."""
        span = self.span
        if last is None:
            last = first
        if span is not None and span.low <= first and last < span.high:
            return span
        with self.lock:
            span = self.span
            if span is not None and span.low <= first and last < span.high:
                return span
            first_year = self._local_year(first)
            last_year = self._local_year(last)
            if span is not None:
                first_year = min(first_year, span.first_year)
                last_year = max(last_year, span.last_year)
            span = self._build(first_year, last_year)
            self.span = span
            return span

    def extended(self, span: _Span) -> _Span:
        """A span reaching at least one year past ``span``, for searches that ran off its end.

        Searches always end: the weekly schedule is never empty and holidays are finite, so
        open time exists within a week after the last holiday.
        """
        with self.lock:
            current = self.span
            assert current is not None
            if current.last_year > span.last_year:
                return current
            current = self._build(current.first_year, span.last_year + 1)
            self.span = current
            return current

    # Queries in epoch seconds --------------------------------------------------------------

    def between(self, start: int, end: int) -> int:
        if end < start:
            return -self.between(end, start)
        span = self.covering(start, end)
        return span.cumulative(end) - span.cumulative(start)

    def add(self, start: int, seconds: int) -> int:
        if seconds <= 0:
            if seconds < 0:
                raise ValueError(f"seconds must not be negative, got {seconds}")
            return start
        span = self.covering(start)
        while True:
            # Recomputed per span: a span rebuilt by another thread may start earlier.
            found = span.reach(span.cumulative(start) + seconds)
            if found is not None:
                return found
            span = self.extended(span)

    def is_open(self, moment: int) -> bool:
        span = self.covering(moment)
        index = bisect_right(span.starts, moment) - 1
        return index >= 0 and moment < span.ends[index]

    def next_open(self, moment: int) -> int:
        span = self.covering(moment)
        while True:
            index = bisect_right(span.starts, moment) - 1
            if index >= 0 and moment < span.ends[index]:
                return moment
            if index + 1 < len(span.starts):
                return span.starts[index + 1]
            span = self.extended(span)

    def intervals(self, start: int, end: int) -> list[tuple[int, int]]:
        if end <= start:
            return []
        span = self.covering(start, end)
        index = max(bisect_right(span.starts, start) - 1, 0)
        found: list[tuple[int, int]] = []
        starts, ends = span.starts, span.ends
        while index < len(starts) and starts[index] < end:
            low, high = max(starts[index], start), min(ends[index], end)
            if low < high:
                found.append((low, high))
            index += 1
        return found


@lru_cache(maxsize=256)
def compiled(calendar: BusinessCalendar) -> _CompiledCalendar:
    """The compiled index of ``calendar``; equal calendars share one (cached by value)."""
    return _CompiledCalendar(calendar)


# --------------------------------------------------------------------------------------------
# Public functions


def open_intervals(
    calendar: BusinessCalendar, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Maximal open intervals of ``calendar`` within ``[start, end)``, as UTC datetimes.

    Touching intervals are merged (a day ending at 24:00 and the next starting at 00:00 give one
    interval), and the first and last are clipped to ``start`` and ``end``.
    """
    found = compiled(calendar).intervals(_epoch(start, "start"), _epoch(end, "end"))
    return [(_from_epoch(low), _from_epoch(high)) for low, high in found]


def business_seconds_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    """Open seconds of ``calendar`` in ``[start, end)``; negative when ``end`` is earlier.

    The sign makes the measure additive: ``between(a, b) + between(b, c) == between(a, c)``.
    """
    return compiled(calendar).between(_epoch(start, "start"), _epoch(end, "end"))


def add_business_seconds(calendar: BusinessCalendar, start: datetime, seconds: int) -> datetime:
    """The earliest instant by which ``seconds`` of open time have elapsed since ``start``.

    Outside hours the clock effectively starts at the next opening; a result on a closing
    instant (17:00:00) means the time ran out exactly at closing, not the next morning. Zero
    seconds give ``start`` itself (in UTC). Negative seconds raise ``ValueError``.
    """
    if seconds == 0:
        _epoch(start, "start")
        return start.astimezone(UTC)
    return _from_epoch(compiled(calendar).add(_epoch(start, "start"), seconds))


def is_open(calendar: BusinessCalendar, at: datetime) -> bool:
    """Whether ``calendar`` is open at the instant ``at``."""
    return compiled(calendar).is_open(_epoch(at, "at"))


def next_open(calendar: BusinessCalendar, at: datetime) -> datetime:
    """``at`` itself (in UTC) if the calendar is open then, otherwise its next opening."""
    moment = _epoch(at, "at")
    opening = compiled(calendar).next_open(moment)
    return at.astimezone(UTC) if opening == moment else _from_epoch(opening)
