"""The SLA clock: due dates, elapsed time and breaches of one ticket, from its history.

Pure and free of Django. The ORM turns a ticket's status/assignment/priority history into
``TicketEvent`` snapshots, loads the engagement's ``SlaPolicy`` and each party's
``BusinessCalendar``, and calls ``compute_clock`` (or ``recompute_many`` for a batch) on every
change, and again whenever a calendar or policy changes. Nothing is stored incrementally: the
result is always a function of the whole history, so a due date can never drift.

Rules
=====

* **Metrics.** ``first_response`` runs from creation until the first public response (or the
  resolution, which is communicated too). ``next_update`` runs from each public response (and
  from a reopening) until the next one, so it is a sequence of cycles; ``breaches`` counts the
  cycles that missed their target. ``resolution`` runs from creation until resolved; a
  reopening continues the count where it stopped, it does not start from zero.
* **Pauses.** ``SlaPolicy.pauses`` says which statuses pause which metric ("waiting on
  customer" typically pauses resolution but not first response, as in GLPI).
* **Who is charged.** Each stretch of the history is measured in the calendar of the party
  holding the ticket during it, and charged to that party (``by_party``). A pause, or a stretch
  outside the holder's hours, costs nothing, wherever it starts and ends.
* **Priority.** The target is the one of the ticket's *current* priority, applied to the whole
  history ("recompute from the start with the new target", as Zammad and GLPI do): raising P3
  to P1 after two hours can mean the ticket has already breached.
* **Breach.** ``due_at`` is the earliest instant by which the target is used up. Completing at
  or before it meets the metric; otherwise it is breached at ``due_at`` (``breached_at``). This
  is the usual reading (GLPI compares the solve date with the due date). A breach falling
  outside hours still happens then; only its *notification* waits for the party's hours, see
  ``notify_at``.
* **As of now.** Events after ``now`` are ignored, so the same function answers "what did the
  clock say last Tuesday".

Each metric is folded over the events in one pass: O(events) plus a few binary searches per
event in the compiled calendars, independent of how long the ticket stays open.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from tandem.sla.calendar import (
    BusinessCalendar,
    _CompiledCalendar,
    _Span,
    compiled,
    is_open,
    next_open,
)

__all__ = [
    "ClockState",
    "EventKind",
    "Metric",
    "MetricClock",
    "SlaPolicy",
    "TicketClock",
    "TicketEvent",
    "compute_clock",
    "notify_at",
    "recompute_many",
]


class Metric(StrEnum):
    """What an SLA target measures."""

    FIRST_RESPONSE = "first_response"
    NEXT_UPDATE = "next_update"
    RESOLUTION = "resolution"


class EventKind(StrEnum):
    """What happened at a history event, beyond the snapshot it carries."""

    CHANGE = "change"  # status, holder or priority changed (or creation)
    RESPONDED = "responded"  # a public response to the requester
    RESOLVED = "resolved"
    REOPENED = "reopened"


class ClockState(StrEnum):
    """State of one metric as of ``now``."""

    RUNNING = "running"
    PAUSED = "paused"  # by the ticket's status, or (for an OLA) another party holds it
    MET = "met"  # completed within the target
    BREACHED = "breached"  # the target ran out before completion; completed or not


def _epoch(moment: datetime, name: str) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")
    return math.floor(moment.timestamp())


def _datetime(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class TicketEvent(NamedTuple):
    """The ticket right after one change: its status, holding party and priority.

    The first event is the creation. ``holder`` is the id of the party charged for the time
    until the next event; ``kind`` marks public responses, resolutions and reopenings (plain
    strings such as ``"responded"`` work too). A named tuple because the worker builds millions
    of these from database rows.
    """

    at: datetime
    status: str
    holder: Hashable
    priority: str
    kind: str = EventKind.CHANGE


@dataclass(frozen=True)
class SlaPolicy:
    """Targets and pause rules of one SLA (per engagement) or OLA (per party).

    ``targets[priority][metric]`` is the target in business seconds of the holder's calendar;
    a priority or metric without a target has no clock. ``pauses[metric]`` lists the statuses
    that stop that metric. ``warn_fraction`` places the warning (0.8: when 80 % of the target
    is used). Breach and warning notifications for ``around_the_clock`` priorities are sent at
    once; all others wait for the party's service hours.
    """

    targets: Mapping[str, Mapping[Metric, int]]
    pauses: Mapping[Metric, frozenset[str]] = field(default_factory=dict)
    warn_fraction: float | None = 0.8
    around_the_clock: frozenset[str] = frozenset()
    _plans: Mapping[str, tuple[tuple[Metric, int, int | None, frozenset[str]] | None, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        targets: dict[str, dict[Metric, int]] = {}
        for priority, by_metric in self.targets.items():
            targets[priority] = {}
            for metric, seconds in by_metric.items():
                name = _metric(metric)
                if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
                    raise ValueError(
                        f"target for {priority}/{name} must be whole seconds >= 0, got {seconds!r}"
                    )
                targets[priority][name] = seconds
        pauses: dict[Metric, frozenset[str]] = {}
        for metric, statuses in self.pauses.items():
            if isinstance(statuses, str):
                raise ValueError(f"pauses for {metric} must be a set of statuses, not a string")
            pauses[_metric(metric)] = frozenset(statuses)
        if self.warn_fraction is not None and not 0 < self.warn_fraction < 1:
            raise ValueError(f"warn_fraction must be between 0 and 1, got {self.warn_fraction}")
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "pauses", pauses)
        object.__setattr__(self, "around_the_clock", frozenset(self.around_the_clock))
        # Per priority, what each metric's run needs, resolved once instead of per ticket.
        fraction = self.warn_fraction
        plans: dict[str, tuple[tuple[Metric, int, int | None, frozenset[str]] | None, ...]] = {}
        for priority, by_metric in targets.items():
            plans[priority] = tuple(
                None
                if (target := by_metric.get(metric)) is None
                else (
                    metric,
                    target,
                    None if fraction is None else int(target * fraction),
                    pauses.get(metric, frozenset()),
                )
                for metric in Metric
            )
        object.__setattr__(self, "_plans", plans)

    def target(self, priority: str, metric: Metric) -> int | None:
        """Target in business seconds, or None when this priority has none for the metric."""
        by_metric = self.targets.get(priority)
        return None if by_metric is None else by_metric.get(metric)


def _metric(value: object) -> Metric:
    try:
        return Metric(str(value))
    except ValueError:
        names = ", ".join(m.value for m in Metric)
        raise ValueError(f"unknown metric {value!r}; expected one of {names}") from None


class MetricClock(NamedTuple):
    """One metric as of ``now``. Instants are epoch seconds; the ``*_at`` properties give UTC
    datetimes (converted on access: the worker reads few of them, and it recomputes a lot).

    ``elapsed``/``remaining`` are business seconds (``remaining`` is negative when overdue);
    for ``next_update`` they describe the current cycle and ``breaches`` counts all cycles.
    ``due`` is when the target was or will be used up: the breach instant once breached, the
    projection while running (assuming holder and status stay), None while paused or after an
    on-time completion. ``warn`` is likewise when ``warn_fraction`` of the target was or will
    be used. ``met`` is when the metric was completed (also when late). ``by_party`` is the
    elapsed time charged to each holder.
    """

    metric: Metric
    state: ClockState
    target: int
    elapsed: int
    due: int | None
    warn: int | None
    met: int | None
    breached: int | None
    breaches: int
    by_party: Mapping[Hashable, int]

    @property
    def remaining(self) -> int:
        """Business seconds left of the target; negative when overdue."""
        return self.target - self.elapsed

    @property
    def due_at(self) -> datetime | None:
        """``due`` as a UTC datetime."""
        return _datetime(self.due)

    @property
    def warn_at(self) -> datetime | None:
        """``warn`` as a UTC datetime."""
        return _datetime(self.warn)

    @property
    def met_at(self) -> datetime | None:
        """``met`` as a UTC datetime."""
        return _datetime(self.met)

    @property
    def breached_at(self) -> datetime | None:
        """``breached`` as a UTC datetime."""
        return _datetime(self.breached)


class TicketClock(NamedTuple):
    """All metrics of one ticket as of ``as_of``; a metric without a clock is None.

    ``next_update`` is None until the first public response starts it.
    """

    as_of: datetime
    priority: str
    status: str
    holder: Hashable
    first_response: MetricClock | None
    next_update: MetricClock | None
    resolution: MetricClock | None

    def metrics(self) -> Iterator[MetricClock]:
        """The metrics that have a clock: first response, next update, resolution."""
        for clock in (self.first_response, self.next_update, self.resolution):
            if clock is not None:
                yield clock


_NEVER = 1 << 62  # an elapsed value no clock reaches: "no milestone left"
_NO_PLAN = (None, None, None)
_CHANGE, _RESPONDED = EventKind.CHANGE, EventKind.RESPONDED
_RESOLVED, _REOPENED = EventKind.RESOLVED, EventKind.REOPENED


class _Run:
    """Mutable fold state of one metric (the current cycle, for next_update)."""

    __slots__ = (
        "active",
        "breached",
        "breaches",
        "by_party",
        "due",
        "elapsed",
        "mark",
        "met",
        "metric",
        "pauses",
        "target",
        "warn",
        "warn_threshold",
    )

    def __init__(
        self, metric: Metric, target: int, warn_threshold: int | None, pauses: frozenset[str]
    ) -> None:
        self.metric = metric
        self.target = target
        self.warn_threshold = warn_threshold
        self.pauses = pauses
        self.breaches = 0
        self.active = False
        self.elapsed = 0
        self.by_party: dict[Hashable, int] = {}
        self.due: int | None = None
        self.warn: int | None = None
        self.met: int | None = None
        self.breached: int | None = None
        # The next elapsed value at which something happens (the warning, then the due);
        # stretches that stay below it only add up seconds. The threshold is <= the target.
        self.mark = target if warn_threshold is None else warn_threshold

    def start_cycle(self) -> None:
        """Start a next_update cycle from zero; past cycles only stay counted in breaches."""
        self.active = True
        self.elapsed = 0
        self.by_party = {}
        self.due = self.warn = self.met = self.breached = None
        threshold = self.warn_threshold
        self.mark = self.target if threshold is None else threshold

    def milestones(
        self,
        calendar: _CompiledCalendar,
        span: _Span,
        start: int,
        opened: int,
        seconds: int,
        end: int,
        final: bool,
    ) -> None:
        """Find the warning and due instants in the stretch ``[start, end)``.

        ``opened`` is the span's cumulative open time at ``start``. A due instant before
        ``end`` is a breach (time-based: completing exactly at the due instant is on time).
        """
        elapsed = self.elapsed
        if self.breached is None:
            due = _reach(calendar, span, start, opened, self.target - elapsed)
            if due < end:
                self.breached = due
                self.breaches += 1
            if final:
                self.due = due
        threshold = self.warn_threshold
        if (
            threshold is not None
            and self.warn is None
            and elapsed <= threshold
            and (final or elapsed + seconds >= threshold)
        ):
            self.warn = _reach(calendar, span, start, opened, threshold - elapsed)
        if threshold is not None and self.warn is None:
            self.mark = threshold
        else:
            self.mark = self.target if self.breached is None else _NEVER

    def result(self, paused: bool) -> MetricClock:
        if self.breached is not None:
            state, due = ClockState.BREACHED, self.breached
        elif not self.active:
            state, due = ClockState.MET, None
        elif paused:
            state, due = ClockState.PAUSED, None
        else:
            state, due = ClockState.RUNNING, self.due
        # `warn` needs no filtering: a projection is only made while the clock runs; otherwise
        # it records when the threshold was actually crossed.
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


def _reach(calendar: _CompiledCalendar, span: _Span, start: int, opened: int, more: int) -> int:
    """The instant ``more`` open seconds after ``start`` (``opened`` = cumulative at start)."""
    if more <= 0:
        return start
    found = span.reach(opened + more)
    return found if found is not None else calendar.add(start, more)


class _Calendars:
    """Compiled calendars per party and their current spans, resolved once per batch."""

    __slots__ = ("by_party", "calendars")

    def __init__(self, calendars: Mapping[Any, BusinessCalendar]) -> None:
        self.calendars = calendars
        self.by_party: dict[Hashable, tuple[_CompiledCalendar, _Span]] = {}

    def covering(self, party: Hashable, first: int, last: int) -> tuple[_CompiledCalendar, _Span]:
        """The party's compiled calendar and a span containing ``[first, last]``."""
        found = self.by_party.get(party)
        if found is not None and found[1].low <= first and last < found[1].high:
            return found
        if found is None:
            calendar = self.calendars.get(party)
            if calendar is None:
                raise ValueError(f"no calendar for party {party!r}")
            index = compiled(calendar)
        else:
            index = found[0]
        found = self.by_party[party] = (index, index.covering(first, last))
        return found


def compute_clock(
    events: Sequence[TicketEvent],
    *,
    policy: SlaPolicy,
    calendars: Mapping[Any, BusinessCalendar],
    now: datetime,
    party: Hashable | None = None,
) -> TicketClock:
    """The ticket's SLA clock as of ``now``, recomputed from its whole history.

    ``events`` are ordered by time (ties keep their order); events after ``now`` are ignored.
    ``calendars`` gives each holder's calendar. With ``party`` set the result is that party's
    OLA: time counts only while ``party`` holds the ticket and is paused otherwise. Raises
    ``ValueError`` for an empty or unordered history, a missing calendar, or naive times.
    """
    moment = _epoch(now, "now")
    return _compute(events, policy, _Calendars(calendars), moment, now.astimezone(UTC), party)


def recompute_many(
    histories: Iterable[Sequence[TicketEvent]],
    *,
    policy: SlaPolicy,
    calendars: Mapping[Any, BusinessCalendar],
    now: datetime,
    party: Hashable | None = None,
) -> list[TicketClock]:
    """``compute_clock`` for many tickets under one policy (one engagement), sharing lookups.

    The worker batches by engagement after a calendar or policy change.
    """
    resolved = _Calendars(calendars)
    moment = _epoch(now, "now")
    as_of = now.astimezone(UTC)
    return [_compute(events, policy, resolved, moment, as_of, party) for events in histories]


def _compute(
    events: Sequence[TicketEvent],
    policy: SlaPolicy,
    calendars: _Calendars,
    now: int,
    as_of: datetime,
    party: Hashable | None,
) -> TicketClock:
    # Written for speed (it runs for every ticket after every change): one pass, locals, no
    # per-event allocation beyond the epoch list.
    floor = math.floor
    epochs: list[int] = []
    previous_epoch = -_NEVER
    for position, event in enumerate(events):
        at = event.at
        if at.tzinfo is None:
            raise ValueError(f"event {position} has a naive time {at!r}")
        moment = floor(at.timestamp())
        if moment < previous_epoch:
            raise ValueError(f"events are not ordered by time at position {position}")
        epochs.append(moment)
        previous_epoch = moment
    if not epochs:
        raise ValueError("a ticket history needs at least its creation event")
    count = bisect_right(epochs, now)  # events after now are ignored
    if count == 0:
        raise ValueError("the ticket was created after now")

    # The current priority's targets apply to the whole history.
    current = events[count - 1]
    plan = policy._plans.get(current.priority, _NO_PLAN)
    first_spec, update_spec, resolution_spec = plan
    first_response = None if first_spec is None else _Run(*first_spec)
    next_update = None if update_spec is None else _Run(*update_spec)
    resolution = None if resolution_spec is None else _Run(*resolution_spec)
    runs = [run for run in (first_response, next_update, resolution) if run is not None]

    first = epochs[0]
    del epochs[count:]
    epochs.append(now)  # the last stretch runs until now
    # Creation starts first response and resolution; next update starts at the first response.
    if first_response is not None:
        first_response.active = True
    if resolution is not None:
        resolution.active = True
    resolved = False
    # Per holder: its compiled calendar and a span covering the whole history, looked up once.
    holders: dict[Hashable, tuple[_CompiledCalendar, _Span]] = {}
    # The cumulative open time at the end of the previous stretch, reused as the start of the
    # next when the span is the same.
    last_span: _Span | None = None
    last_cumulative = 0
    left = count
    # events may be longer (those after now); zip stops at the last stretch.
    for event, start, end in zip(events, epochs, epochs[1:], strict=False):
        left -= 1
        # 1. What the event does to the clocks, at its instant.
        kind = event.kind
        if kind != _CHANGE:
            if kind == _RESPONDED:
                if first_response is not None and first_response.active:
                    first_response.active = False
                    first_response.met = start
                if next_update is not None and not resolved:
                    next_update.start_cycle()
            elif kind == _RESOLVED:
                if not resolved:
                    resolved = True
                    for run in runs:
                        if run.active:
                            run.active = False
                            run.met = start
            elif kind == _REOPENED and resolved:
                resolved = False
                if resolution is not None:
                    # Continue the count: elapsed time and any breach stay.
                    resolution.active = True
                    resolution.met = None
                if next_update is not None:
                    next_update.start_cycle()

        # 2. Charge the stretch until the next event (or now) to the holder.
        holder = event.holder
        if party is not None and holder != party:
            last_span = None
            continue  # an OLA pauses while another party holds the ticket
        status = event.status
        measured = False
        for run in runs:
            if not run.active or status in run.pauses:
                continue
            if not measured:
                measured = True
                entry = holders.get(holder)
                if entry is None:
                    entry = holders[holder] = calendars.covering(holder, first, now)
                calendar, span = entry
                opened = last_cumulative if span is last_span else span.cumulative(start)
                closed = span.cumulative(end) if end > start else opened
                seconds = closed - opened
                last_span, last_cumulative = span, closed
            elapsed = run.elapsed
            if not left or elapsed + seconds >= run.mark:
                run.milestones(calendar, span, start, opened, seconds, end, not left)
            if seconds:
                run.elapsed = elapsed + seconds
                by_party = run.by_party
                by_party[holder] = by_party.get(holder, 0) + seconds
        if not measured:
            last_span = None

    holder = current.holder
    status = current.status
    held_elsewhere = party is not None and holder != party
    return TicketClock(
        as_of,
        current.priority,
        status,
        holder,
        None
        if first_response is None
        else first_response.result(held_elsewhere or status in first_response.pauses),
        None
        if next_update is None or (next_update.met is None and not next_update.active)
        else next_update.result(held_elsewhere or status in next_update.pauses),
        None
        if resolution is None
        else resolution.result(held_elsewhere or status in resolution.pauses),
    )


def notify_at(
    *, policy: SlaPolicy, calendar: BusinessCalendar, priority: str, at: datetime
) -> datetime:
    """When to send a warning or breach notification due at ``at`` to a party.

    Never outside the party's service hours unless the priority is ``around_the_clock``: a
    breach at 19:00 is announced at the next opening. An instant that closes an open interval
    (a deadline at 17:00 sharp) still counts as within hours.
    """
    if priority in policy.around_the_clock:
        return at.astimezone(UTC)
    if is_open(calendar, at) or is_open(calendar, at - timedelta(seconds=1)):
        return at.astimezone(UTC)
    return next_open(calendar, at)
