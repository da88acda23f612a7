"""The SLA clock: named cases from the issue, and a property test against a minute oracle."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tandem.sla.bench import bench
from tandem.sla.calendar import BusinessCalendar, always_open, open_intervals
from tandem.sla.clock import (
    ClockState,
    EventKind,
    Metric,
    MetricClock,
    SlaPolicy,
    TicketEvent,
    compute_clock,
    notify_at,
    recompute_many,
)

HOUR = 3600
MINUTE = 60
BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar(
    time_zone="Europe/Berlin", weekly={day: (("09:00", "17:00"),) for day in range(5)}
)
CALENDARS: dict[Hashable, BusinessCalendar] = {
    "internal": OFFICE,  # the tenant's own IT, office hours
    "msp": always_open("America/New_York"),  # the MSP's NOC, around the clock
}


def targets(first_response: int, next_update: int, resolution: int) -> dict[Metric, int]:
    return {
        Metric.FIRST_RESPONSE: first_response,
        Metric.NEXT_UPDATE: next_update,
        Metric.RESOLUTION: resolution,
    }


POLICY = SlaPolicy(
    targets={
        "P1": targets(15 * MINUTE, HOUR, 4 * HOUR),
        "P3": targets(HOUR, 4 * HOUR, 16 * HOUR),
        "P4": targets(4 * HOUR, 8 * HOUR, 120 * HOUR),
    },
    pauses={
        Metric.NEXT_UPDATE: frozenset({"waiting_on_customer"}),
        Metric.RESOLUTION: frozenset({"waiting_on_customer"}),
    },
    warn_fraction=0.8,
    around_the_clock=frozenset({"P1"}),
)

# The week of Monday 2 June 2025, in Berlin.
MON, TUE, WED, THU, FRI, SAT = 2, 3, 4, 5, 6, 7


def at(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=BERLIN)


def event(
    when: datetime,
    status: str = "open",
    holder: str = "internal",
    priority: str = "P3",
    kind: EventKind = EventKind.CHANGE,
) -> TicketEvent:
    return TicketEvent(when, status, holder, priority, kind)


def clock(events: Sequence[TicketEvent], now: datetime, **options: Any) -> Any:
    return compute_clock(events, policy=POLICY, calendars=CALENDARS, now=now, **options)


# --------------------------------------------------------------------------------------------
# Named cases


def test_first_response_met_and_next_update_and_resolution_running() -> None:
    result = clock(
        [event(at(MON, 10)), event(at(MON, 10, 30), kind=EventKind.RESPONDED)], at(MON, 11)
    )
    first = result.first_response
    assert first.state is ClockState.MET
    assert (first.elapsed, first.remaining, first.met_at, first.due_at) == (
        1800,
        1800,
        at(MON, 10, 30),
        None,
    )
    update = result.next_update
    assert update.state is ClockState.RUNNING
    assert (update.elapsed, update.due_at) == (1800, at(MON, 14, 30))
    assert update.warn_at == at(MON, 13, 42)  # 80 % of 4 h after 10:30
    resolution = result.resolution
    assert resolution.state is ClockState.RUNNING
    # 16 business hours: Monday 10-17 (7), Tuesday (8), Wednesday 9-10 (1).
    assert (resolution.elapsed, resolution.due_at) == (HOUR, at(WED, 10))
    assert resolution.by_party == {"internal": HOUR}
    assert result.as_of == at(MON, 11) and result.priority == "P3" and result.holder == "internal"


def test_a_first_response_missed_overnight_is_breached_at_the_due_time() -> None:
    history = [event(at(MON, 16, 30)), event(at(TUE, 10), kind=EventKind.RESPONDED)]
    first = clock(history, at(TUE, 12)).first_response
    assert first.state is ClockState.BREACHED
    assert first.due_at == first.breached_at == at(TUE, 9, 30)
    assert first.met_at == at(TUE, 10)
    assert (first.elapsed, first.remaining, first.breaches) == (5400, -1800, 1)
    # While still open and overdue, the due date stays where it was.
    overdue = clock(history[:1], at(TUE, 12)).first_response
    assert overdue.state is ClockState.BREACHED and overdue.met_at is None
    assert overdue.due_at == at(TUE, 9, 30)


def test_completion_exactly_at_the_due_instant_is_met() -> None:
    first = clock(
        [event(at(MON, 9)), event(at(MON, 10), kind=EventKind.RESPONDED)], at(MON, 12)
    ).first_response
    assert first.state is ClockState.MET and first.remaining == 0


def test_a_due_at_closing_is_missed_by_a_reply_before_the_next_opening() -> None:
    # Due Monday 17:00; a reply at 18:00 used no more business time, but came after the due
    # date the requester was shown, so it is late (GLPI and Zammad judge it the same way).
    first = clock(
        [event(at(MON, 16)), event(at(MON, 18), kind=EventKind.RESPONDED)], at(MON, 19)
    ).first_response
    assert first.state is ClockState.BREACHED
    assert first.breached_at == at(MON, 17) and first.elapsed == HOUR and first.remaining == 0


def test_a_pause_that_starts_and_ends_outside_hours_costs_nothing() -> None:
    start = [event(at(MON, 10)), event(at(MON, 10, 5), kind=EventKind.RESPONDED)]
    paused = start + [event(at(MON, 18), "waiting_on_customer"), event(at(TUE, 8))]
    with_pause = clock(paused, at(TUE, 12)).resolution
    without = clock(start, at(TUE, 12)).resolution
    assert with_pause == without
    assert with_pause.elapsed == 10 * HOUR  # Monday 10-17, Tuesday 9-12
    # A pause inside hours does cost: the due moves by the paused business time.
    inside = start + [event(at(MON, 15), "waiting_on_customer"), event(at(TUE, 11))]
    moved = clock(inside, at(TUE, 12)).resolution
    assert moved.elapsed == 6 * HOUR
    assert moved.due_at == at(WED, 14)  # 10 h left from Tuesday 12:00: 5 + 5


def test_waiting_on_customer_pauses_resolution_but_not_first_response() -> None:
    result = clock([event(at(MON, 10)), event(at(MON, 10), "waiting_on_customer")], at(MON, 12))
    assert result.first_response.state is ClockState.BREACHED
    assert result.first_response.breached_at == at(MON, 11)
    assert result.resolution.state is ClockState.PAUSED
    assert (result.resolution.elapsed, result.resolution.due_at) == (0, None)


def test_reopening_continues_the_resolution_clock() -> None:
    history = [
        event(at(MON, 9)),
        event(at(MON, 12), "resolved", kind=EventKind.RESOLVED),
        event(at(WED, 9), kind=EventKind.REOPENED),
    ]
    solved = clock(history[:2], at(TUE, 12))
    assert solved.resolution.state is ClockState.MET
    assert (solved.resolution.elapsed, solved.resolution.met_at) == (3 * HOUR, at(MON, 12))
    # Resolved without a reply: the resolution notice is the (late) first response.
    assert solved.first_response.state is ClockState.BREACHED
    assert solved.first_response.met_at == at(MON, 12)
    assert solved.next_update is None  # never started: nobody replied

    reopened = clock(history, at(WED, 11)).resolution
    assert reopened.state is ClockState.RUNNING and reopened.met_at is None
    assert reopened.elapsed == 5 * HOUR  # 3 h before, 2 h since: not from zero
    assert reopened.due_at == at(THU, 14)  # 11 h left: Wednesday 11-17, Thursday 9-14
    update = clock(history, at(WED, 11)).next_update
    assert update.state is ClockState.RUNNING and update.due_at == at(WED, 13)


def test_a_priority_change_recomputes_from_the_start_with_the_new_target() -> None:
    history = [
        event(at(MON, 9)),
        event(at(MON, 9, 10), kind=EventKind.RESPONDED),
        event(at(MON, 14), priority="P1"),
    ]
    before = clock(history, at(MON, 13, 30))
    assert before.priority == "P3" and before.resolution.state is ClockState.RUNNING
    after = clock(history, at(MON, 14, 30))
    assert after.priority == "P1"
    resolution = after.resolution
    # Four P1 hours from creation ran out at 13:00, before anyone raised the priority.
    assert resolution.state is ClockState.BREACHED and resolution.breached_at == at(MON, 13)
    assert after.first_response.state is ClockState.MET  # 10 minutes < 15
    assert after.next_update.breached_at == at(MON, 10, 10)
    assert after.next_update.breaches == 1


def test_a_downgrade_gives_a_target_spanning_weeks() -> None:
    history = [event(at(MON, 9), priority="P1"), event(at(MON, 10), priority="P4")]
    resolution = clock(history, at(MON, 11)).resolution
    # 120 business hours = three 40-hour weeks, counted from creation.
    assert resolution.state is ClockState.RUNNING
    assert resolution.due_at == at(20, 17)
    assert resolution.warn_at == at(17, 17)  # 96 h: Tuesday of the third week, at closing


def test_a_ticket_created_on_the_weekend_starts_on_monday() -> None:
    result = clock([event(at(SAT, 10))], at(SAT, 12))
    assert result.first_response.state is ClockState.RUNNING
    assert result.first_response.elapsed == 0
    assert result.first_response.due_at == at(9, 10)  # Monday 9 June, 10:00


def test_a_24_7_party_counts_real_time_across_dst() -> None:
    calendars = {"msp": always_open("Europe/Berlin")}
    created = datetime(2025, 3, 29, 22, tzinfo=BERLIN)
    resolution = compute_clock(
        [event(created, holder="msp", priority="P1")],
        policy=POLICY,
        calendars=calendars,
        now=created + timedelta(hours=1),
    ).resolution
    assert resolution is not None and resolution.elapsed == HOUR
    # 4 real hours: 02:00 CET is 03:00 CEST that night.
    assert resolution.due_at == created.astimezone(UTC) + timedelta(hours=4)
    assert resolution.due_at == datetime(2025, 3, 30, 3, tzinfo=BERLIN)


def test_time_is_charged_to_the_holder_in_its_own_calendar() -> None:
    history = [
        event(at(MON, 16)),
        event(at(MON, 16, 10), kind=EventKind.RESPONDED),
        event(at(MON, 17, 30), holder="msp"),  # handoff from internal IT to the MSP NOC
    ]
    result = clock(history, at(MON, 20))
    resolution = result.resolution
    assert resolution.by_party == {"internal": HOUR, "msp": int(2.5 * HOUR)}
    assert resolution.elapsed == int(3.5 * HOUR)
    # The rest is measured in the MSP's 24/7 calendar: 15 h after the 17:30 handoff.
    assert resolution.due_at == at(TUE, 8, 30)
    assert result.next_update.by_party == {"internal": 50 * MINUTE, "msp": int(2.5 * HOUR)}


def test_an_ola_counts_only_the_party_s_own_time() -> None:
    history = [
        event(at(MON, 16)),
        event(at(MON, 16, 10), kind=EventKind.RESPONDED),
        event(at(MON, 17, 30), holder="msp"),
    ]
    internal = clock(history, at(MON, 20), party="internal").resolution
    assert internal.state is ClockState.PAUSED and internal.due_at is None
    assert internal.by_party == {"internal": HOUR}
    msp = clock(history, at(MON, 20), party="msp").resolution
    assert msp.state is ClockState.RUNNING and msp.by_party == {"msp": int(2.5 * HOUR)}
    assert msp.due_at == at(TUE, 9, 30)  # 16 h of its own from the handoff


def test_next_update_cycles_count_their_breaches() -> None:
    history = [
        event(at(MON, 9)),
        event(at(MON, 10), kind=EventKind.RESPONDED),
        event(at(MON, 15, 30), kind=EventKind.RESPONDED),  # 5.5 h after the last: late
    ]
    update = clock(history, at(MON, 16)).next_update
    assert update.state is ClockState.RUNNING
    assert (update.breaches, update.breached_at, update.elapsed) == (1, None, 30 * MINUTE)
    assert update.due_at == at(TUE, 11, 30)
    late = clock(history[:2], at(MON, 15)).next_update
    assert late.state is ClockState.BREACHED and late.breached_at == at(MON, 14)


def test_events_after_now_are_ignored() -> None:
    history = [
        event(at(MON, 9)),
        event(at(MON, 10), kind=EventKind.RESPONDED),
        event(at(TUE, 10), "resolved", kind=EventKind.RESOLVED),
    ]
    assert clock(history, at(MON, 12)) == clock(history[:2], at(MON, 12))


def test_a_priority_without_targets_has_no_clocks_and_batches_match() -> None:
    result = clock([event(at(MON, 9), priority="P5")], at(MON, 12))
    assert (result.first_response, result.next_update, result.resolution) == (None, None, None)
    assert list(result.metrics()) == []
    histories = [
        [event(at(MON, 9))],
        [event(at(MON, 9)), event(at(MON, 11), holder="msp", kind=EventKind.RESPONDED)],
        [event(at(MON, 8), priority="P1")],
    ]
    batch = recompute_many(histories, policy=POLICY, calendars=CALENDARS, now=at(TUE, 9))
    assert batch == [clock(history, at(TUE, 9)) for history in histories]
    assert [m.metric for m in batch[1].metrics()] == list(Metric)


def test_kinds_may_be_plain_strings() -> None:
    history = [
        event(at(MON, 9)),
        TicketEvent(at(MON, 9, 30), "open", "internal", "P3", "responded"),
    ]
    assert clock(history, at(MON, 10)).first_response.met_at == at(MON, 9, 30)


def test_invalid_histories_are_rejected() -> None:
    with pytest.raises(ValueError, match="creation"):
        clock([], at(MON, 9))
    with pytest.raises(ValueError, match="created after now"):
        clock([event(at(TUE, 9))], at(MON, 9))
    with pytest.raises(ValueError, match="not ordered"):
        clock([event(at(MON, 10)), event(at(MON, 9))], at(MON, 12))
    with pytest.raises(ValueError, match="naive"):
        clock([event(datetime(2025, 6, 2, 9))], at(MON, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock([event(at(MON, 9))], datetime(2025, 6, 2, 12))
    with pytest.raises(ValueError, match="no calendar for party 'nobody'"):
        clock([event(at(MON, 9), holder="nobody")], at(MON, 12))


def test_a_broken_history_is_reported_as_such_whatever_else_is_wrong() -> None:
    # The first problem of the history wins over a missing calendar met on the way.
    nobody = event(at(MON, 9), holder="nobody")
    with pytest.raises(ValueError, match="not ordered by time at position 2"):
        clock([nobody, event(at(MON, 11)), event(at(MON, 10))], at(MON, 12))
    with pytest.raises(ValueError, match="event 2 has a naive time"):
        clock([nobody, event(at(MON, 10)), event(datetime(2025, 6, 2, 11))], at(MON, 12))
    # Also out of order across an event far after now, and among events after now.
    far = event(datetime(2027, 1, 4, 9, tzinfo=BERLIN))
    with pytest.raises(ValueError, match="not ordered by time at position 2"):
        clock([event(at(MON, 9)), far, event(at(MON, 10))], at(MON, 12))
    with pytest.raises(ValueError, match="not ordered by time at position 3"):
        clock([event(at(MON, 9)), event(at(TUE, 9)), far, event(at(WED, 9))], at(MON, 12))


def test_invalid_policies_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown metric 'speed'"):
        SlaPolicy(targets={"P1": {"speed": 60}})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="whole seconds"):
        SlaPolicy(targets={"P1": {Metric.RESOLUTION: -1}})
    with pytest.raises(ValueError, match="whole seconds"):
        SlaPolicy(targets={"P1": {Metric.RESOLUTION: 1.5}})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="warn_fraction"):
        SlaPolicy(targets={}, warn_fraction=1.0)
    with pytest.raises(ValueError, match="not a string"):
        SlaPolicy(targets={}, pauses={Metric.RESOLUTION: "waiting"})  # type: ignore[dict-item]
    policy = SlaPolicy(targets={"P1": {"resolution": 60}})  # type: ignore[dict-item]
    assert policy.target("P1", Metric.RESOLUTION) == 60
    assert policy.target("P1", Metric.FIRST_RESPONSE) is None


def test_the_benchmark_runs() -> None:
    # Throughput is measured (python -m tandem.sla.bench), not asserted; this keeps it working.
    assert bench(30) > 0


def test_notifications_wait_for_service_hours_unless_the_priority_demands_it() -> None:
    evening = at(MON, 19)
    assert notify_at(policy=POLICY, calendar=OFFICE, priority="P3", at=evening) == at(TUE, 9)
    assert notify_at(policy=POLICY, calendar=OFFICE, priority="P1", at=evening) == evening
    assert notify_at(policy=POLICY, calendar=OFFICE, priority="P3", at=at(MON, 17)) == at(MON, 17)
    assert notify_at(policy=POLICY, calendar=OFFICE, priority="P3", at=at(MON, 11)) == at(MON, 11)


# --------------------------------------------------------------------------------------------
# Property: the fold agrees with a minute-by-minute simulation of the same rules.
#
# Open minutes come from ``open_intervals`` (itself checked against its own oracle in
# test_calendar); everything else (segments, pauses, charging, cycles, breaches, warnings,
# projections) is simulated naively, one minute at a time.

ORACLE_CALENDARS: dict[Hashable, BusinessCalendar] = {
    "internal": BusinessCalendar(
        time_zone="Europe/Berlin",
        weekly={day: (("08:00", "12:00"), ("13:00", "17:30")) for day in range(5)},
    ),
    "msp": always_open("America/New_York"),
    "desk": BusinessCalendar(
        time_zone="America/New_York",
        weekly={day: (("07:00", "19:00"),) for day in range(6)},
    ),
}
STATUSES = ("open", "waiting_on_customer", "waiting_on_vendor")
PAUSES = {
    Metric.FIRST_RESPONSE: frozenset({"waiting_on_vendor"}),
    Metric.NEXT_UPDATE: frozenset({"waiting_on_customer"}),
    Metric.RESOLUTION: frozenset({"waiting_on_customer", "waiting_on_vendor"}),
}
BASES = (
    datetime(2025, 3, 28, 6, tzinfo=UTC),  # Friday before Berlin springs forward
    datetime(2025, 10, 24, 6, tzinfo=UTC),  # Friday before Berlin falls back
    datetime(2025, 11, 1, 6, tzinfo=UTC),  # Saturday before New York falls back
    datetime(2025, 6, 4, 6, tzinfo=UTC),  # an ordinary Wednesday
)


def _open_minutes(calendar: BusinessCalendar, start: int, end: int) -> set[int]:
    minutes: set[int] = set()
    for low, high in open_intervals(
        calendar, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    ):
        minutes.update(range(int(low.timestamp()), int(high.timestamp()), 60))
    return minutes


def oracle(
    events: Sequence[TicketEvent],
    policy: SlaPolicy,
    calendars: Mapping[Hashable, BusinessCalendar],
    now: int,
    party: Hashable | None,
) -> dict[Metric, dict[str, Any] | None]:
    """Simulate the documented rules minute by minute (events and now on whole minutes)."""
    stamps = [int(e.at.timestamp()) for e in events]
    kept = [(stamp, e) for stamp, e in zip(stamps, events, strict=True) if stamp <= now]
    first, last = kept[0][0], kept[-1][0]
    priority = kept[-1][1].priority
    horizon = now + 40 * 86400
    open_by_party = {p: _open_minutes(c, first, horizon) for p, c in calendars.items()}
    metrics: dict[Metric, dict[str, Any]] = {}
    for metric in Metric:
        target = policy.target(priority, metric)
        if target is not None:
            metrics[metric] = {
                "target": target,
                "threshold": int(target * (policy.warn_fraction or 0)),
                "active": False, "started": False, "elapsed": 0, "by_party": {},
                "met": None, "breached": None, "breaches": 0, "warn": None,
            }  # fmt: skip
    resolved = False
    snapshot: TicketEvent | None = None
    elapsed_at_last: dict[Metric, int] = {}

    def new_cycle(state: dict[str, Any]) -> None:
        state.update(
            active=True, started=True, elapsed=0, by_party={}, met=None, breached=None, warn=None
        )

    def running(metric: Metric, state: dict[str, Any], shot: TicketEvent) -> bool:
        return (
            state["active"]
            and shot.status not in policy.pauses.get(metric, frozenset())
            and (party is None or shot.holder == party)
        )

    moment = first
    queue = list(kept)
    while True:
        while queue and queue[0][0] == moment:
            _, happening = queue.pop(0)
            if snapshot is None:
                for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
                    if metric in metrics:
                        metrics[metric].update(active=True, started=True)
            kind = happening.kind
            fr, nu, res = (metrics.get(m) for m in Metric)
            if kind == EventKind.RESPONDED:
                # A party's first response is met only by one made while it holds the ticket.
                if fr and fr["active"] and (party is None or happening.holder == party):
                    fr.update(active=False, met=moment)
                if nu and not resolved:
                    new_cycle(nu)
            elif kind == EventKind.RESOLVED and not resolved:
                resolved = True
                for state in metrics.values():
                    if state["active"]:
                        state.update(active=False, met=moment)
            elif kind == EventKind.REOPENED and resolved:
                resolved = False
                if res:
                    res.update(active=True, met=None)
                if nu:
                    new_cycle(nu)
            snapshot = happening
            if moment == last:
                elapsed_at_last = {m: s["elapsed"] for m, s in metrics.items()}
        assert snapshot is not None
        if moment >= now:
            break
        for metric, state in metrics.items():
            if not running(metric, state, snapshot):
                continue
            # The clock runs on past this instant with the whole target used: a breach.
            if state["breached"] is None and state["elapsed"] >= state["target"]:
                state["breached"] = moment
                state["breaches"] += 1
            if moment in open_by_party[snapshot.holder]:
                state["elapsed"] += 60
                holder = snapshot.holder
                state["by_party"][holder] = state["by_party"].get(holder, 0) + 60
                if state["warn"] is None and state["elapsed"] >= state["threshold"]:
                    state["warn"] = moment + 60
        moment += 60

    assert snapshot is not None
    results: dict[Metric, dict[str, Any] | None] = {}
    for metric, state in metrics.items():
        if not state["started"]:
            results[metric] = None
            continue
        due = None
        warn = state["warn"]
        if state["breached"] is not None:
            status = ClockState.BREACHED
            due = state["breached"]
        elif not state["active"]:
            status = ClockState.MET
        elif not running(metric, state, snapshot):
            status = ClockState.PAUSED
        else:
            status = ClockState.RUNNING
            # Project from the last event, as if nothing else happened.
            elapsed = elapsed_at_last[metric]
            minute = last
            open_minutes = open_by_party[snapshot.holder]
            due = last if elapsed >= state["target"] else None
            while due is None or (warn is None and elapsed < state["threshold"]):
                if minute in open_minutes:
                    elapsed += 60
                    if warn is None and elapsed >= state["threshold"]:
                        warn = minute + 60
                    if due is None and elapsed >= state["target"]:
                        due = minute + 60
                minute += 60
                assert minute < horizon
        results[metric] = {
            "state": status, "elapsed": state["elapsed"], "due": due, "warn": warn,
            "met": state["met"], "breached": state["breached"], "breaches": state["breaches"],
            "by_party": state["by_party"],
        }  # fmt: skip
    return results


def _as_dict(metric: MetricClock | None) -> dict[str, Any] | None:
    if metric is None:
        return None
    return {
        "state": metric.state, "elapsed": metric.elapsed, "due": metric.due, "warn": metric.warn,
        "met": metric.met, "breached": metric.breached, "breaches": metric.breaches,
        "by_party": dict(metric.by_party),
    }  # fmt: skip


# Even minutes, so that half a target (the warning) is whole minutes too. Half hours make due
# instants coincide with events and with the calendars' boundaries, where off-by-one hides.
_targets = st.one_of(
    st.integers(1, 20).map(lambda halves: halves * 1800),
    st.integers(1, 240).map(lambda minutes: minutes * 120),
)
_gaps = st.sampled_from(("half hours", "minutes", "hours", "same instant")).flatmap(
    lambda size: {
        "half hours": st.integers(1, 16).map(lambda halves: halves * 30),
        "minutes": st.integers(1, 240),
        "hours": st.integers(240, 1800),
        "same instant": st.just(0),
    }[size]
)


@st.composite
def tickets(draw: st.DrawFn) -> tuple[list[TicketEvent], SlaPolicy, int, Hashable | None]:
    moment = int(draw(st.sampled_from(BASES)).timestamp()) + draw(st.integers(0, 48)) * 1800
    events = []
    for position in range(draw(st.integers(1, 8))):
        events.append(
            TicketEvent(
                datetime.fromtimestamp(moment, UTC),
                draw(st.sampled_from(STATUSES[:1] * 3 + STATUSES[1:])),
                draw(st.sampled_from(sorted(ORACLE_CALENDARS, key=str))),
                draw(st.sampled_from(("P1", "P2"))),
                EventKind.CHANGE  # the creation
                if position == 0
                else draw(
                    st.sampled_from(
                        (EventKind.RESPONDED, EventKind.CHANGE, EventKind.RESOLVED)
                        + (EventKind.REOPENED,) * 2
                    )
                ),
            )
        )
        moment += 60 * draw(_gaps)
    first = int(events[0].at.timestamp())
    last = int(events[-1].at.timestamp())
    # Mostly after the last event; sometimes in the middle of the history.
    now = draw(
        st.one_of(
            st.integers(0, 20).map(lambda halves: last + 1800 * halves),
            st.integers(0, 600).map(lambda minutes: last + 60 * minutes),
            st.integers(0, (last - first) // 60).map(lambda minutes: first + 60 * minutes),
        )
    )
    policy = SlaPolicy(
        targets={
            priority: {
                metric: draw(_targets)
                for metric in Metric
                if draw(st.integers(0, 5))  # now and then a metric without a target
            }
            for priority in ("P1", "P2")
        },
        pauses=PAUSES,
        warn_fraction=0.5,
    )
    party = draw(st.sampled_from((None, None, "internal", "msp")))
    return events, policy, now, party


@settings(max_examples=80, deadline=None)
@given(tickets())
def test_the_fold_matches_a_minute_by_minute_simulation(
    case: tuple[list[TicketEvent], SlaPolicy, int, Hashable | None],
) -> None:
    events, policy, now, party = case
    expected = oracle(events, policy, ORACLE_CALENDARS, now, party)
    result = compute_clock(
        events,
        policy=policy,
        calendars=ORACLE_CALENDARS,
        now=datetime.fromtimestamp(now, UTC),
        party=party,
    )
    for metric, found in zip(
        Metric, (result.first_response, result.next_update, result.resolution), strict=True
    ):
        assert _as_dict(found) == expected.get(metric), metric
