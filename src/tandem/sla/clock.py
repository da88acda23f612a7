"""The SLA clock: due dates, elapsed time and breaches of one ticket, from its history.

Pure and free of Django. The ORM turns a ticket's status/assignment/priority history into
``TicketEvent`` snapshots, loads the engagement's ``SlaPolicy`` and each party's
``BusinessCalendar``, and calls ``compute_clock`` (or ``recompute_many`` for a batch) on every
change, and again whenever a calendar or policy changes. Nothing is stored incrementally: the
result is always a function of the whole history, so a due date can never drift.

Rules
=====

* **Metrics.** ``first_response`` runs from creation until the first public response (or the
  resolution, which is communicated too). A party's clock (``party``) is met by a response
  made while *that party* holds the ticket: handing a ticket on after answering it does not
  meet the receiving party's first response. ``next_update`` runs from each public response (and
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

All metrics are folded over the events in one pass: O(events) plus a few binary searches in
the compiled calendars, independent of how long the ticket stays open. The fold is tuned for
CPython (see ``_compute`` and docs/decisions/0012-sla-clock-speed.md); tests/reference_clock.py
holds the same rules written plainly, and the tests compare the two on many histories.
"""

from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch(moment: datetime, name: str) -> int:
    """Whole epoch seconds (floored) of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")
    delta = moment - _EPOCH
    return delta.days * 86400 + delta.seconds


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
_CHANGE, _RESPONDED = EventKind.CHANGE, EventKind.RESPONDED
_RESOLVED, _REOPENED = EventKind.RESOLVED, EventKind.REOPENED
_RUNNING, _PAUSED = ClockState.RUNNING, ClockState.PAUSED
_MET, _BREACHED = ClockState.MET, ClockState.BREACHED
#: The run plan of a metric without a target: never active, so its other fields are not read.
_NO_RUN: tuple[Metric | None, int, int | None, frozenset[str]] = (None, 0, None, frozenset())
_NO_PLAN = (None, None, None)
#: A holder no event has: "no calendar looked up yet".
_NOBODY: Any = object()
#: Builds named tuples without their generated ``__new__`` (a Python-level function): the
#: fields are passed in order, exactly as that ``__new__`` would store them.
_new_tuple = tuple.__new__


def _milestones(
    calendar: _CompiledCalendar | None,
    span: _Span | None,
    start: int,
    opened: int,
    seconds: int,
    end: int,
    final: bool,
    target: int,
    threshold: int | None,
    elapsed: int,
    due: int | None,
    warn: int | None,
    breached: int | None,
    breaches: int,
) -> tuple[int | None, int | None, int | None, int, int]:
    """Find the warning and due instants of one metric in the stretch ``[start, end)``.

    Called only for a stretch in which the metric runs and its elapsed time reaches the next
    mark, or for the last stretch (``final``: the projection). ``opened`` is the span's
    cumulative open time at ``start``; ``seconds`` the open time of the stretch; ``elapsed``
    the metric's time before it. A due instant before ``end`` is a breach (time-based:
    completing exactly at the due instant is on time). Returns the new ``due``, ``warn``,
    ``breached``, ``breaches`` and the next mark (the elapsed value at which this must be
    called again).
    """
    assert calendar is not None and span is not None  # the stretch was measured
    # Each instant is found by a binary search for the interval in which the span's
    # cumulative open time reaches `wanted` (see _Span.reach). The warning comes first: the
    # due instant is never earlier, and usually lies in the same interval or the next, so
    # its search starts from the warning's.
    after = span.after
    size = len(after)
    low = 0  # no instant searched for below lies in an interval before this one
    if (
        threshold is not None
        and warn is None
        and elapsed <= threshold
        and (final or elapsed + seconds >= threshold)
    ):
        more = threshold - elapsed
        if more <= 0:
            warn = start
        else:
            wanted = opened + more
            low = bisect_left(after, wanted)
            # Past the span's end, the compiled calendar extends itself.
            warn = wanted - span.offsets[low] if low < size else calendar.add(start, more)
    # The due instant: needed for the projection, or when the stretch may reach it (before
    # `end` it is a breach); a stretch whose open time stays below the target cannot.
    if breached is None and (final or elapsed + seconds >= target):
        more = target - elapsed
        if more <= 0:
            found = start
        else:
            wanted = opened + more
            if not low:
                index = bisect_left(after, wanted)
            else:
                index = low
                if index < size and after[index] < wanted:
                    index += 1
                    if index < size and after[index] < wanted:
                        index = bisect_left(after, wanted, index + 1)
            found = wanted - span.offsets[index] if index < size else calendar.add(start, more)
        if found < end:
            breached = found
            breaches += 1
        if final:
            due = found
    if threshold is not None and warn is None:
        mark = threshold
    else:
        mark = target if breached is None else _NEVER
    return due, warn, breached, breaches, mark


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
    # A batch keeps a few small containers per ticket (the results) and creates no reference
    # cycles, so the cyclic garbage collector finds nothing here; but the results it keeps
    # allocating trigger its passes, and those walk every object the process holds (a worker
    # holding a whole engagement's histories: a fifth of the batch's time in the benchmark).
    # It is paused for the batch, as Mercurial does when it builds large structures;
    # reference counting still frees everything at once, and the collector resumes after.
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        return [_compute(events, policy, resolved, moment, as_of, party) for events in histories]
    finally:
        if collecting:
            gc.enable()


def _epochs(events: Sequence[TicketEvent]) -> list[int]:
    """Whole epoch seconds (floored) of every event; ``ValueError`` for an empty history, a
    naive time or events out of order, naming the first offending position."""
    epochs: list[int] = []
    previous = -_NEVER
    for position, event in enumerate(events):
        at = event[0]
        if at.tzinfo is None:
            raise ValueError(f"event {position} has a naive time {at!r}")
        delta = at - _EPOCH  # exact, unlike the float `timestamp()`
        moment = delta.days * 86400 + delta.seconds
        if moment < previous:
            raise ValueError(f"events are not ordered by time at position {position}")
        epochs.append(moment)
        previous = moment
    if not epochs:
        raise ValueError("a ticket history needs at least its creation event")
    return epochs


def _compute(
    events: Sequence[TicketEvent],
    policy: SlaPolicy,
    calendars: _Calendars,
    now: int,
    as_of: datetime,
    party: Hashable | None,
) -> TicketClock:
    # Written for speed: it runs for every ticket after every change, and a worker recomputes
    # whole engagements after a calendar edit. One pass over the events; the three metrics
    # are unrolled into plain local variables (no per-metric objects, loops or attribute
    # access), a stretch's open time is measured once for all metrics, and milestones (the
    # warning and the due instant) are searched only in the stretch that reaches them.
    # Each event's epoch second is computed once, as the end of the stretch before it. When
    # the last event is not after now (nearly always), all events count and that is all;
    # otherwise _epochs() converts and checks the whole history first to find the cut. Any
    # error in the loop re-checks the whole history, so that a malformed history is reported
    # as such, as the first problem in it, whatever else is wrong.
    epoch = _EPOCH
    epochs: list[int] | None = None
    try:
        current = events[-1]
        if current[0] <= as_of:
            count = len(events)
            delta = events[0][0] - epoch
            first = delta.days * 86400 + delta.seconds
        else:
            epochs = _epochs(events)
            count = bisect_right(epochs, now)  # events after now are ignored
            if count == 0:
                raise ValueError("the ticket was created after now")
            current = events[count - 1]
            first = epochs[0]
    except (IndexError, TypeError):
        _epochs(events)  # raises the history's own error (empty, naive, unordered)
        raise

    # The current priority's targets apply to the whole history.
    fr_plan, nu_plan, rs_plan = policy._plans.get(current[3], _NO_PLAN)
    fr_on, nu_on, rs_on = fr_plan is not None, nu_plan is not None, rs_plan is not None
    fr_metric, fr_target, fr_threshold, fr_pauses = fr_plan or _NO_RUN
    nu_metric, nu_target, nu_threshold, nu_pauses = nu_plan or _NO_RUN
    rs_metric, rs_target, rs_threshold, rs_pauses = rs_plan or _NO_RUN
    # Per metric (fr_ first response, nu_ next update, rs_ resolution): whether it runs
    # (until completed), its elapsed time, the next elapsed value at which a milestone is due
    # (below it, stretches only add up seconds; _NEVER when none is left), the instants found
    # so far, and the time charged per party. Time is added to ``by`` only when the holder
    # changes (``holder``, from elapsed ``base`` on), not stretch by stretch. Creation starts
    # first response and resolution; next update starts at the first response.
    fr_active = fr_on
    fr_elapsed = fr_breaches = fr_base = 0
    fr_mark = fr_target if fr_threshold is None else fr_threshold
    fr_due: int | None = None
    fr_warn: int | None = None
    fr_met: int | None = None
    fr_breached: int | None = None
    fr_by: dict[Hashable, int] | None = None  # made at the first charge
    fr_holder = _NOBODY
    nu_active = False
    nu_elapsed = nu_breaches = nu_base = 0
    nu_first_mark = nu_mark = nu_target if nu_threshold is None else nu_threshold
    nu_due: int | None = None
    nu_warn: int | None = None
    nu_met: int | None = None
    nu_breached: int | None = None
    nu_by: dict[Hashable, int] | None = None  # made at the first charge
    nu_holder = _NOBODY
    rs_active = rs_on
    rs_elapsed = rs_breaches = rs_base = 0
    rs_mark = rs_target if rs_threshold is None else rs_threshold
    rs_due: int | None = None
    rs_warn: int | None = None
    rs_met: int | None = None
    rs_breached: int | None = None
    rs_by: dict[Hashable, int] | None = None  # made at the first charge
    rs_holder = _NOBODY

    ola = party is not None
    resolved = False
    spans = calendars.by_party
    # The holder whose calendar was looked up last, that calendar and its span's lists.
    span_holder = _NOBODY
    calendar: _CompiledCalendar | None = None
    span: _Span | None = None
    bounds: list[int] = []
    span_ends: list[int] = []
    offsets: list[int] = []
    after: list[int] = []
    # The cumulative open time at the end of the previous measured stretch, reused as the
    # start of the next when the span is the same.
    last_span: _Span | None = None
    last_index = last_cumulative = 0
    final_position = count - 1
    end = first
    try:
        for position in range(count):
            # The stretch from this event until the next (or now).
            start = end
            if position < final_position:
                final = False
                if epochs is None:
                    delta = events[position + 1][0] - epoch
                    end = delta.days * 86400 + delta.seconds
                    if end < start:
                        raise ValueError(
                            f"events are not ordered by time at position {position + 1}"
                        )
                else:
                    end = epochs[position + 1]
            else:
                final, end = True, now
            _, status, holder, _, kind = events[position]
            # 1. What the event does to the clocks, at its instant. A response or resolution of
            # a resolved ticket and a reopening of an open one change nothing.
            if kind != _CHANGE:
                if kind == _RESPONDED:
                    if not resolved:
                        # A party's first response is its own: one made while another party
                        # held the ticket does not meet it (it meets the holder's).
                        if fr_active and (not ola or holder == party):
                            fr_active, fr_met = False, start
                        if nu_on:  # a new cycle; past cycles only stay counted in breaches
                            nu_active, nu_elapsed, nu_mark, nu_base = True, 0, nu_first_mark, 0
                            nu_by, nu_holder = None, _NOBODY
                            nu_due = nu_warn = nu_met = nu_breached = None
                elif kind == _RESOLVED:
                    if not resolved:
                        resolved = True
                        if fr_active:
                            fr_active, fr_met = False, start
                        if nu_active:
                            nu_active, nu_met = False, start
                        if rs_active:
                            rs_active, rs_met = False, start
                elif kind == _REOPENED and resolved:
                    resolved = False
                    if rs_on:  # continue the count: elapsed time and any breach stay
                        rs_active, rs_met = True, None
                    if nu_on:
                        nu_active, nu_elapsed, nu_mark, nu_base = True, 0, nu_first_mark, 0
                        nu_by, nu_holder = None, _NOBODY
                        nu_due = nu_warn = nu_met = nu_breached = None

            # 2. Charge the stretch until the next event (or now) to the holder.
            if ola and holder != party:
                last_span = None
                continue  # an OLA pauses while another party holds the ticket
            fr_run = fr_active and status not in fr_pauses
            nu_run = nu_active and status not in nu_pauses
            rs_run = rs_active and status not in rs_pauses
            if not (fr_run or nu_run or rs_run):
                last_span = None
                continue
            if holder != span_holder:
                entry = spans.get(holder)
                if entry is None or entry[1].low > first or now >= entry[1].high:
                    entry = calendars.covering(holder, first, now)
                calendar, span = entry
                bounds, span_ends, offsets, after = span.bounds, span.ends, span.offsets, span.after
                span_holder = holder
            # Open seconds from the span's start to `start` and to `end` (see _Span.cumulative):
            # `index` is the last interval starting at or before the instant. A stretch usually
            # ends in the interval it starts in or the next, so `end` is found by probing forward
            # from `start` before falling back to a binary search.
            if span is last_span:
                index, opened = last_index, last_cumulative
            else:
                index = bisect_right(bounds, start) - 1
                if index < 0:
                    opened = 0
                else:
                    opened = offsets[index] + start if start < span_ends[index] else after[index]
            if bounds[index + 1] <= end:
                index += 1
                if bounds[index + 1] <= end:
                    index = bisect_right(bounds, end, index + 1) - 1
            if index < 0:
                closed = 0
            else:
                closed = offsets[index] + end if end < span_ends[index] else after[index]
            seconds = closed - opened
            last_span, last_index, last_cumulative = span, index, closed
            # Milestones: where the elapsed time reaches the next mark, and in the last stretch
            # (the projection) unless the metric has none left.
            if fr_run:
                if fr_elapsed + seconds >= fr_mark or final and fr_mark != _NEVER:
                    fr_due, fr_warn, fr_breached, fr_breaches, fr_mark = _milestones(
                        calendar, span, start, opened, seconds, end, final, fr_target,
                        fr_threshold, fr_elapsed, fr_due, fr_warn, fr_breached, fr_breaches,
                    )  # fmt: skip
                if seconds:
                    if holder != fr_holder:
                        if fr_elapsed > fr_base:
                            if fr_by is None:
                                fr_by = {fr_holder: fr_elapsed - fr_base}
                            else:
                                fr_by[fr_holder] = fr_by.get(fr_holder, 0) + fr_elapsed - fr_base
                        fr_holder, fr_base = holder, fr_elapsed
                    fr_elapsed += seconds
            if nu_run:
                if nu_elapsed + seconds >= nu_mark or final and nu_mark != _NEVER:
                    nu_due, nu_warn, nu_breached, nu_breaches, nu_mark = _milestones(
                        calendar, span, start, opened, seconds, end, final, nu_target,
                        nu_threshold, nu_elapsed, nu_due, nu_warn, nu_breached, nu_breaches,
                    )  # fmt: skip
                if seconds:
                    if holder != nu_holder:
                        if nu_elapsed > nu_base:
                            if nu_by is None:
                                nu_by = {nu_holder: nu_elapsed - nu_base}
                            else:
                                nu_by[nu_holder] = nu_by.get(nu_holder, 0) + nu_elapsed - nu_base
                        nu_holder, nu_base = holder, nu_elapsed
                    nu_elapsed += seconds
            if rs_run:
                if rs_elapsed + seconds >= rs_mark or final and rs_mark != _NEVER:
                    rs_due, rs_warn, rs_breached, rs_breaches, rs_mark = _milestones(
                        calendar, span, start, opened, seconds, end, final, rs_target,
                        rs_threshold, rs_elapsed, rs_due, rs_warn, rs_breached, rs_breaches,
                    )  # fmt: skip
                if seconds:
                    if holder != rs_holder:
                        if rs_elapsed > rs_base:
                            if rs_by is None:
                                rs_by = {rs_holder: rs_elapsed - rs_base}
                            else:
                                rs_by[rs_holder] = rs_by.get(rs_holder, 0) + rs_elapsed - rs_base
                        rs_holder, rs_base = holder, rs_elapsed
                    rs_elapsed += seconds
    except (IndexError, TypeError, ValueError):
        if epochs is None:
            _epochs(events)  # an error in the history itself comes first
        raise

    # The results as of now. A metric that ran in the last stretch has its projection in
    # `due`; otherwise it is breached, met or paused.
    _, status, holder, priority, _ = current
    held_elsewhere = ola and holder != party
    first_response = next_update = resolution = None
    if fr_on:
        if fr_elapsed > fr_base:  # the last holder's share
            if fr_by is None:
                fr_by = {fr_holder: fr_elapsed - fr_base}
            else:
                fr_by[fr_holder] = fr_by.get(fr_holder, 0) + fr_elapsed - fr_base
        elif fr_by is None:
            fr_by = {}
        if fr_breached is not None:
            state, due = _BREACHED, fr_breached
        elif not fr_active:
            state, due = _MET, None
        elif held_elsewhere or status in fr_pauses:
            state, due = _PAUSED, None
        else:
            state, due = _RUNNING, fr_due
        first_response = _new_tuple(
            MetricClock,
            (fr_metric, state, fr_target, fr_elapsed, due, fr_warn, fr_met, fr_breached,
             fr_breaches, fr_by),
        )  # fmt: skip
    if nu_on and (nu_active or nu_met is not None):  # None until a response starts it
        if nu_elapsed > nu_base:  # the last holder's share
            if nu_by is None:
                nu_by = {nu_holder: nu_elapsed - nu_base}
            else:
                nu_by[nu_holder] = nu_by.get(nu_holder, 0) + nu_elapsed - nu_base
        elif nu_by is None:
            nu_by = {}
        if nu_breached is not None:
            state, due = _BREACHED, nu_breached
        elif not nu_active:
            state, due = _MET, None
        elif held_elsewhere or status in nu_pauses:
            state, due = _PAUSED, None
        else:
            state, due = _RUNNING, nu_due
        next_update = _new_tuple(
            MetricClock,
            (nu_metric, state, nu_target, nu_elapsed, due, nu_warn, nu_met, nu_breached,
             nu_breaches, nu_by),
        )  # fmt: skip
    if rs_on:
        if rs_elapsed > rs_base:  # the last holder's share
            if rs_by is None:
                rs_by = {rs_holder: rs_elapsed - rs_base}
            else:
                rs_by[rs_holder] = rs_by.get(rs_holder, 0) + rs_elapsed - rs_base
        elif rs_by is None:
            rs_by = {}
        if rs_breached is not None:
            state, due = _BREACHED, rs_breached
        elif not rs_active:
            state, due = _MET, None
        elif held_elsewhere or status in rs_pauses:
            state, due = _PAUSED, None
        else:
            state, due = _RUNNING, rs_due
        resolution = _new_tuple(
            MetricClock,
            (rs_metric, state, rs_target, rs_elapsed, due, rs_warn, rs_met, rs_breached,
             rs_breaches, rs_by),
        )  # fmt: skip
    # `warn` needs no filtering: a projection is only made while the clock runs; otherwise
    # it records when the threshold was actually crossed.
    clock: TicketClock = _new_tuple(
        TicketClock,
        (as_of, priority, status, holder, first_response, next_update, resolution),
    )
    return clock


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
