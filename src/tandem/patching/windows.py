"""Maintenance windows: an RFC 5545 recurrence rule in a time zone, with a duration.

A pure core over ``dateutil.rrule`` (no hand-written recurrence): the rule is expanded in
the window's *local* wall-clock time ("every Saturday at 22:00 Europe/Berlin" stays at
22:00 across the change to and from summer time) and each occurrence is then placed on the
time line with ``zoneinfo``. An occurrence that falls in the hour a clock skips (02:30 on
the spring-forward night) starts at the same offset before the change, which is the moment
the wall clock jumps past (RFC 5545 §3.3.5 says such a time is read with the offset before
the gap). Durations are elapsed time: a four-hour window is four real hours even on the
night the clock turns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

#: How far ahead :func:`next_window` looks before it says there is none (a yearly rule
#: needs a year; nothing sensible needs more).
LOOKAHEAD = dt.timedelta(days=400)
MAX_DURATION = dt.timedelta(days=7)


class WindowError(ValueError):
    """A window that cannot be used: the message says why, in words for the form."""


@dataclass(frozen=True)
class WindowSpec:
    """A window as plain data: ``rule`` is an RRULE value (``FREQ=WEEKLY;BYDAY=SA``, the
    ``RRULE:`` prefix optional), ``first_start`` the local wall-clock time of the first
    occurrence (naive), ``time_zone`` an IANA name, ``duration`` elapsed time."""

    rule: str
    first_start: dt.datetime
    time_zone: str
    duration: dt.timedelta


def _rule_text(rule: str) -> str:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    return text


def parse(spec: WindowSpec) -> tuple[rrule, ZoneInfo]:
    """The expanded rule (naive, local) and the zone; :class:`WindowError` when unusable."""
    text = _rule_text(spec.rule)
    if not text or "\n" in text or "DTSTART" in text.upper():
        raise WindowError("Give one RRULE value, such as FREQ=WEEKLY;BYDAY=SA (no DTSTART).")
    if spec.first_start.tzinfo is not None:
        raise WindowError("The first start is a local wall-clock time, without a zone.")
    try:
        zone = ZoneInfo(spec.time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WindowError(f"Unknown time zone {spec.time_zone!r}.") from exc
    if not dt.timedelta(minutes=1) <= spec.duration <= MAX_DURATION:
        raise WindowError("A window lasts between one minute and seven days.")
    try:
        rule = rrulestr(text, dtstart=spec.first_start)
    except (ValueError, TypeError) as exc:
        raise WindowError(f"Not a recurrence rule: {exc}.") from exc
    if not isinstance(rule, rrule):
        raise WindowError("Give one RRULE, not a set of rules.")
    if "UNTIL" in text.upper() and ("Z" in text.upper().split("UNTIL=", 1)[1].split(";")[0]):
        raise WindowError("UNTIL is a local time here (the window has its own time zone).")
    return rule, zone


def _place(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A local wall-clock time on the time line; a time the clock skipped counts with the
    offset before the gap (fold=0), normalised through UTC to the real instant."""
    return local.replace(tzinfo=zone).astimezone(dt.UTC)


def occurrences(
    spec: WindowSpec, start: dt.datetime, end: dt.datetime
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Every window (UTC start, UTC end) that overlaps ``[start, end)``, in order.
    ``start`` and ``end`` are aware."""
    rule, zone = parse(spec)
    # Local bounds widened by the duration and a day: offsets differ by hours at most.
    local_from = start.astimezone(zone).replace(tzinfo=None) - spec.duration - dt.timedelta(days=1)
    local_to = end.astimezone(zone).replace(tzinfo=None) + dt.timedelta(days=1)
    for local in rule.xafter(local_from, inc=True):
        if local > local_to:
            return
        opens = _place(local, zone)
        closes = opens + spec.duration
        if closes > start and opens < end:
            yield opens, closes


def window_at(spec: WindowSpec, moment: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The window ``moment`` is inside (start inclusive, end exclusive), else None."""
    for opens, closes in occurrences(spec, moment, moment + dt.timedelta(microseconds=1)):
        if opens <= moment < closes:
            return opens, closes
    return None


def next_window(
    spec: WindowSpec, after: dt.datetime, lookahead: dt.timedelta = LOOKAHEAD
) -> tuple[dt.datetime, dt.datetime] | None:
    """The first window that is open at ``after`` or opens after it, as (start, end) in
    UTC; None when the rule has ended or nothing comes within ``lookahead``. A window
    already open at ``after`` is returned whole (its start is in the past)."""
    for window in occurrences(spec, after, after + lookahead):
        return window
    return None


def validate(spec: WindowSpec) -> None:
    """Raise :class:`WindowError` unless the window parses and occurs at least once."""
    rule, _ = parse(spec)
    if rule.after(spec.first_start, inc=True) is None:
        raise WindowError("The rule never occurs.")
