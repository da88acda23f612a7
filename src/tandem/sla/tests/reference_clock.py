"""A plain reference fold of the SLA clock, for tests: the algorithm before it was tuned.

``tandem.sla.clock._compute`` is written for speed (unrolled metrics, inlined span searches,
one pass that converts times as it goes). This is the same rules written the obvious way: one
object per metric, one loop over the events, and business time from the calendar's *public*
functions (``business_seconds_between``, ``add_business_seconds``), which test_calendar checks
against a minute-by-minute oracle. The tests compare the two on many histories, so every path
of the fast fold (holder changes, pauses, cycles, reopenings, breaches in long stretches,
projections past the compiled years) is held to the same answer.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tandem.sla.calendar import BusinessCalendar, add_business_seconds, business_seconds_between
from tandem.sla.clock import (
    ClockState,
    EventKind,
    Metric,
    MetricClock,
    SlaPolicy,
    TicketClock,
    TicketEvent,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _seconds(moment: datetime) -> int:
    """Whole epoch seconds, floored (exactly: timedelta division is integer arithmetic)."""
    return (moment - _EPOCH) // timedelta(seconds=1)


class _Run:
    """One metric's fold state (the current cycle, for next update)."""

    def __init__(self, metric: Metric, target: int, threshold: int | None, pauses: frozenset[str]):
        self.metric, self.target, self.threshold, self.pauses = metric, target, threshold, pauses
        self.active = False
        self.breaches = 0
        self.start_cycle()
        self.active = False

    def start_cycle(self) -> None:
        self.active = True
        self.elapsed = 0
        self.by_party: dict[Hashable, int] = {}
        self.due: int | None = None
        self.warn: int | None = None
        self.met: int | None = None
        self.breached: int | None = None

    def charge(
        self, calendar: BusinessCalendar, holder: Hashable, start: int, end: int, final: bool
    ) -> None:
        """Add the stretch ``[start, end)``; find the warning and due instants it reaches."""
        seconds = business_seconds_between(calendar, _at(start), _at(end))
        elapsed = self.elapsed

        def reach(more: int) -> int:
            found = add_business_seconds(calendar, _at(start), max(more, 0))
            return _seconds(found)

        if self.breached is None and (final or elapsed + seconds >= self.target):
            due = reach(self.target - elapsed)
            if due < end:
                self.breached = due
                self.breaches += 1
            if final:
                self.due = due
        threshold = self.threshold
        if (
            threshold is not None
            and self.warn is None
            and elapsed <= threshold
            and (final or elapsed + seconds >= threshold)
        ):
            self.warn = reach(threshold - elapsed)
        if seconds:
            self.elapsed = elapsed + seconds
            self.by_party[holder] = self.by_party.get(holder, 0) + seconds

    def result(self, paused: bool) -> MetricClock:
        if self.breached is not None:
            state, due = ClockState.BREACHED, self.breached
        elif not self.active:
            state, due = ClockState.MET, None
        elif paused:
            state, due = ClockState.PAUSED, None
        else:
            state, due = ClockState.RUNNING, self.due
        return MetricClock(
            self.metric,
            state,
            self.target,
            self.elapsed,
            due,
            self.warn,
            self.met,
            self.breached,
            self.breaches,
            self.by_party,
        )


def reference_clock(
    events: Sequence[TicketEvent],
    *,
    policy: SlaPolicy,
    calendars: Mapping[Any, BusinessCalendar],
    now: datetime,
    party: Hashable | None = None,
) -> TicketClock:
    """What ``compute_clock`` must return, computed the slow, obvious way."""
    epochs = [_seconds(event.at) for event in events]
    assert epochs == sorted(epochs), "the reference takes valid histories only"
    moment = _seconds(now)
    kept = [(at, event) for at, event in zip(epochs, events, strict=True) if at <= moment]
    current = kept[-1][1]
    runs: dict[Metric, _Run] = {}
    for metric in Metric:
        target = policy.target(current.priority, metric)
        if target is not None:
            fraction = policy.warn_fraction
            runs[metric] = _Run(
                metric,
                target,
                None if fraction is None else int(target * fraction),
                policy.pauses.get(metric, frozenset()),
            )
    first_response = runs.get(Metric.FIRST_RESPONSE)
    next_update = runs.get(Metric.NEXT_UPDATE)
    resolution = runs.get(Metric.RESOLUTION)
    for run in (first_response, resolution):
        if run is not None:
            run.active = True
    resolved = False
    for position, (start, event) in enumerate(kept):
        final = position == len(kept) - 1
        end = moment if final else kept[position + 1][0]
        kind = event.kind
        if kind == EventKind.RESPONDED:
            own = party is None or event.holder == party  # another party's answer is not ours
            if first_response is not None and first_response.active and own:
                first_response.active, first_response.met = False, start
            if next_update is not None and not resolved:
                next_update.start_cycle()
        elif kind == EventKind.RESOLVED and not resolved:
            resolved = True
            for run in runs.values():
                if run.active:
                    run.active, run.met = False, start
        elif kind == EventKind.REOPENED and resolved:
            resolved = False
            if resolution is not None:
                resolution.active, resolution.met = True, None
            if next_update is not None:
                next_update.start_cycle()
        if party is not None and event.holder != party:
            continue
        calendar = calendars.get(event.holder)
        assert calendar is not None
        for run in runs.values():
            if run.active and event.status not in run.pauses:
                run.charge(calendar, event.holder, start, end, final)
    held_elsewhere = party is not None and current.holder != party

    def result(run: _Run | None) -> MetricClock | None:
        if run is None:
            return None
        return run.result(held_elsewhere or current.status in run.pauses)

    started = next_update is not None and (next_update.active or next_update.met is not None)
    return TicketClock(
        now.astimezone(UTC),
        current.priority,
        current.status,
        current.holder,
        result(first_response),
        result(next_update) if started else None,
        result(resolution),
    )
