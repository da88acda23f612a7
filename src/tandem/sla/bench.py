"""Throughput of SLA recomputation on synthetic tickets (measured, never asserted in tests).

    python -m tandem.sla.bench 200000 --processes 2

A "recomputation" is one ticket's full clock (all three metrics) from its whole history, as
the worker does after a change. Tickets have up to 12 events (7 on average) over hours to
weeks: pauses, handoffs between internal IT (office hours, Bavarian holidays) and an MSP (24/7
NOC or London service desk), responses, resolutions, reopenings and priority changes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import time
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from typing import Any

from tandem.sla.calendar import BusinessCalendar, always_open, build_calendar
from tandem.sla.clock import EventKind, Metric, SlaPolicy, TicketEvent, recompute_many

NOW = datetime(2025, 12, 15, 12, 0, tzinfo=UTC)
HOUR = 3600

RawEvent = tuple[datetime, str, str, str, EventKind]


def bench_calendars() -> dict[Hashable, BusinessCalendar]:
    """Three parties: internal IT in Munich, a 24/7 MSP NOC, a London MSP service desk."""
    office = {day: (("08:00", "12:00"), ("13:00", "17:00")) for day in range(5)}
    return {
        "internal": build_calendar(
            time_zone="Europe/Berlin", weekly=office, country="DE", subdivision="BY",
            years=range(2024, 2027),
        ),
        "msp-noc": always_open("America/New_York"),
        "msp-desk": build_calendar(
            time_zone="Europe/London",
            weekly={day: (("08:00", "18:00"),) for day in range(5)},
            country="GB", subdivision="ENG", years=range(2024, 2027),
        ),
    }  # fmt: skip


def bench_policy() -> SlaPolicy:
    """ITIL-style targets P1-P5 with waiting-on-customer pausing update and resolution."""
    hours = {"P1": (0.25, 1, 4), "P2": (0.5, 2, 8), "P3": (1, 4, 24), "P4": (4, 8, 48)}
    return SlaPolicy(
        targets={
            priority: {
                Metric.FIRST_RESPONSE: int(first * HOUR),
                Metric.NEXT_UPDATE: int(update * HOUR),
                Metric.RESOLUTION: int(resolve * HOUR),
            }
            for priority, (first, update, resolve) in hours.items()
        },
        pauses={
            Metric.NEXT_UPDATE: frozenset({"waiting_on_customer"}),
            Metric.RESOLUTION: frozenset({"waiting_on_customer", "waiting_on_vendor"}),
        },
        around_the_clock=frozenset({"P1"}),
    )


def synthetic_history(rng: random.Random) -> list[RawEvent]:
    """One plausible ticket history ending before ``NOW``."""
    at = NOW - timedelta(days=rng.uniform(0.1, 120))
    holder = rng.choice(("internal", "internal", "msp-desk"))
    priority = rng.choice(("P1", "P2", "P3", "P3", "P4", "P4"))
    status = "new"
    events: list[RawEvent] = [(at, status, holder, priority, EventKind.CHANGE)]
    resolved = False
    for _ in range(rng.randint(3, 11)):
        at += timedelta(minutes=rng.choice((5, 30, 90, 240, 1200, 3000)) * rng.random())
        if at >= NOW:
            break
        roll = rng.random()
        kind = EventKind.CHANGE
        if resolved:
            if roll < 0.3:
                kind, status, resolved = EventKind.REOPENED, "in_progress", False
            else:
                continue
        elif roll < 0.3:
            kind, status = EventKind.RESPONDED, "in_progress"
        elif roll < 0.45:
            status = rng.choice(("waiting_on_customer", "waiting_on_vendor"))
        elif roll < 0.6:
            status = "in_progress"
        elif roll < 0.75:
            holder = rng.choice(("internal", "msp-noc", "msp-desk"))  # a handoff
        elif roll < 0.8:
            priority = rng.choice(("P1", "P2", "P3", "P4"))
        elif roll < 0.9:
            kind, status, resolved = EventKind.RESOLVED, "resolved", True
        events.append((at, status, holder, priority, kind))
    return events


def clock_events(raw: list[RawEvent]) -> list[TicketEvent]:
    return [
        TicketEvent(at, status, holder, priority, kind)
        for at, status, holder, priority, kind in raw
    ]


def _measure(
    tickets: int, seed: int, include_build: bool, ready: Callable[[], object] | None = None
) -> tuple[int, float]:
    rng = random.Random(seed)
    raw = [synthetic_history(rng) for _ in range(tickets)]
    policy, calendars = bench_policy(), bench_calendars()
    # Warm the compiled calendars (built once per calendar and year, then cached).
    warm = [clock_events(history) for history in raw[:200]]
    recompute_many(warm, policy=policy, calendars=calendars, now=NOW)
    histories = None if include_build else [clock_events(history) for history in raw]
    if ready is not None:
        ready()  # all processes start the timed part together
    started = time.perf_counter()
    if histories is None:
        histories = [clock_events(history) for history in raw]
    recompute_many(histories, policy=policy, calendars=calendars, now=NOW)
    return tickets, time.perf_counter() - started


def _worker(tickets: int, seed: int, include_build: bool, barrier: Any, results: Any) -> None:
    results.put(_measure(tickets, seed, include_build, barrier.wait))


def bench(n: int, *, processes: int = 1, include_build: bool = False, seed: int = 0) -> float:
    """Recompute ``n`` synthetic tickets and return recomputations per second.

    With ``processes`` > 1 the tickets are split over that many processes (Python runs one
    core per process) and the rate is the total divided by the slowest process's time.
    ``include_build`` also times building the ``TicketEvent`` objects from plain tuples, as the
    ORM layer will from its rows.
    """
    if processes <= 1:
        count, seconds = _measure(n, seed, include_build)
        return count / seconds
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    barrier = context.Barrier(processes)
    share = n // processes
    workers = [
        context.Process(target=_worker, args=(share, seed + index, include_build, barrier, results))
        for index in range(processes)
    ]
    for worker in workers:
        worker.start()
    measured = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    return sum(count for count, _ in measured) / max(seconds for _, seconds in measured)


def main() -> None:
    """Command line: ``python -m tandem.sla.bench N [--processes P] [--include-build]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("tickets", type=int, nargs="?", default=100_000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--include-build", action="store_true")
    arguments = parser.parse_args()
    rate = bench(
        arguments.tickets, processes=arguments.processes, include_build=arguments.include_build
    )
    print(
        f"{rate:,.0f} recomputations/s "
        f"({arguments.tickets} tickets, {arguments.processes} process(es))"
    )


if __name__ == "__main__":
    main()
