"""Dates for tests that must pass on any day, and the whole-suite clock shift that proves it.

Tests that need "a Tuesday at 10:00 in Berlin" ask :func:`upcoming` for the next such working
day after today, instead of writing a calendar date: the persona world is built at the real
"now" (its engagements start today), so a fixed date drifts into the past and the world no
longer matches it.

``pytest --clock-shift=365`` (or ``TANDEM_TEST_CLOCK_SHIFT=365``) runs the whole session with
the clock moved that many days (negative: back), from before the test database and the
persona world are built; ``scripts/test`` runs the date-sensitive tests a year ahead and a
year back that way (decision 0019).
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import holidays
import pytest
import time_machine

_SHIFT: list[time_machine.travel] = []


def upcoming(
    weekday: int,
    hour: int,
    zone: ZoneInfo,
    *,
    minute: int = 0,
    holidays_in: tuple[str, str] | None = ("DE", "BE"),
    span: int = 1,
) -> dt.datetime:
    """The first ``weekday`` (0 = Monday) after today at ``hour:minute`` in ``zone`` that
    starts ``span`` days none of which is a public holiday of ``holidays_in`` (country,
    subdivision): the test desk's office calendar closes on Berlin's holidays, so a ticket
    opened on one would route differently.
    """
    start = dt.datetime.now(zone).date() + dt.timedelta(days=1)
    return _working(start, 1, weekday, hour, minute, zone, holidays_in, span)


def earlier(
    weekday: int,
    hour: int,
    zone: ZoneInfo,
    *,
    minute: int = 0,
    holidays_in: tuple[str, str] | None = ("DE", "BE"),
    span: int = 1,
) -> dt.datetime:
    """Like :func:`upcoming`, but the latest such day at least a week before today: before
    the persona world's own tickets were opened, so a periodic check run "then" sees only
    what the test itself created."""
    start = dt.datetime.now(zone).date() - dt.timedelta(days=7)
    return _working(start, -1, weekday, hour, minute, zone, holidays_in, span)


def _working(
    day: dt.date,
    step: int,
    weekday: int,
    hour: int,
    minute: int,
    zone: ZoneInfo,
    holidays_in: tuple[str, str] | None,
    span: int,
) -> dt.datetime:
    # The holiday table fills in each year as it is asked about (expand=True).
    observed = holidays.country_holidays(*holidays_in) if holidays_in else None

    def is_holiday(first: dt.date) -> bool:
        days = (first + dt.timedelta(days=n) for n in range(span))
        return observed is not None and any(d in observed for d in days)

    while day.weekday() != weekday or is_holiday(day):
        day += dt.timedelta(days=step)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def monday_of(moment: dt.datetime) -> dt.datetime:
    """Midnight on the Monday of ``moment``'s week, in ``moment``'s zone."""
    start = moment.date() - dt.timedelta(days=moment.weekday())
    return dt.datetime.combine(start, dt.time(), tzinfo=moment.tzinfo)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-shift",
        type=int,
        default=int(os.environ.get("TANDEM_TEST_CLOCK_SHIFT", "0") or 0),
        help="run the session with the clock moved this many days (negative: back)",
    )


def pytest_configure(config: pytest.Config) -> None:
    days = config.getoption("--clock-shift")
    if days:
        # Ticking, so time still passes (timeouts, ordering by creation time); tests that
        # travel themselves nest inside this shift and come back to it.
        shift = time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=days), tick=True)
        shift.start()
        _SHIFT.append(shift)


def pytest_report_header(config: pytest.Config) -> str | None:
    days = config.getoption("--clock-shift")
    return (
        f"clock shifted by {days} days: now is {dt.datetime.now(dt.UTC):%Y-%m-%d}" if days else None
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    while _SHIFT:
        _SHIFT.pop().stop()
