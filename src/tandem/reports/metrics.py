"""The dashboards' arithmetic: plain functions over plain rows, free of Django.

``queries.py`` loads the rows a principal may see; everything here is a function of those
rows and a time window, so the numbers can be checked by hand (see ``tests/test_metrics.py``).

Rules
=====

* **Attainment.** A party's metric (``first_response``, ``resolution``) of a ticket counts
  in the window when that party's clock for it was *met* in the window (``met`` timestamp) or
  *breached* in the window (``breached`` timestamp). A clock still stored as running whose due
  date has passed by ``until`` is breached at its due date: the stored state is only
  recomputed on the ticket's next change, but the breach has already happened.
  Percent = met / (met + breached), one decimal; ``None`` when nothing counted.
* **Open work.** Tickets whose status kind is neither resolved nor closed, by holding party.
* **Backlog age.** Open tickets by age since creation, in the buckets of ``AGE_BUCKETS``.
* **Handoffs.** Per (from party, to party): handoffs in the window and how many of them were
  ping-pong (a return to the previous holder within the tenant's window, decided when the
  handoff was made).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The metrics shown as attainment (next update is a sequence of cycles, reported as breaches).
ATTAINMENT_METRICS: tuple[str, ...] = ("first_response", "resolution")
#: Status kinds that end the work on a ticket.
DONE_KINDS = frozenset({"resolved", "closed"})
#: (label, lower bound, upper bound) of ticket age; the last bucket is open-ended.
AGE_BUCKETS: tuple[tuple[str, dt.timedelta, dt.timedelta | None], ...] = (
    ("0–1 d", dt.timedelta(0), dt.timedelta(days=1)),
    ("1–3 d", dt.timedelta(days=1), dt.timedelta(days=3)),
    ("3–7 d", dt.timedelta(days=3), dt.timedelta(days=7)),
    ("7–30 d", dt.timedelta(days=7), dt.timedelta(days=30)),
    (">30 d", dt.timedelta(days=30), None),
)


@dataclass(frozen=True)
class TicketRow:
    """What the dashboards need of one ticket."""

    ticket_id: int
    tenant_id: int
    party_id: int
    status_kind: str
    created_at: dt.datetime
    #: ``Ticket.sla_state``: ``{party_id: {metric: {state, met, breached, due, ...}}}``.
    sla_state: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status_kind not in DONE_KINDS


@dataclass(frozen=True)
class HandoffRow:
    """One handoff between two parties."""

    from_party_id: int
    to_party_id: int
    at: dt.datetime
    is_ping_pong: bool = False


@dataclass(frozen=True)
class Attainment:
    """Met and breached clocks of one party and metric in a window."""

    met: int = 0
    breached: int = 0

    @property
    def total(self) -> int:
        return self.met + self.breached

    @property
    def percent(self) -> float | None:
        return round(100 * self.met / self.total, 1) if self.total else None


@dataclass(frozen=True)
class HandoffCount:
    handoffs: int = 0
    ping_pong: int = 0


def _moment(value: Any) -> dt.datetime | None:
    if not value:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"SLA timestamps must be timezone-aware, got {value!r}")
    return moment


def outcome(entry: Mapping[str, Any], *, until: dt.datetime) -> tuple[str, dt.datetime] | None:
    """``("met", when)`` or ``("breached", when)`` for one stored clock as of ``until``, or
    ``None`` while it is still running within its target (or paused)."""
    state = entry.get("state")
    if state == "met":
        met = _moment(entry.get("met"))
        return ("met", met) if met else None
    if state == "breached":
        breached = _moment(entry.get("breached")) or _moment(entry.get("due"))
        return ("breached", breached) if breached else None
    if state == "running":
        due = _moment(entry.get("due"))
        if due is not None and due <= until:
            return ("breached", due)
    return None


def _outcomes(
    rows: Iterable[TicketRow], *, since: dt.datetime, until: dt.datetime, metrics: Iterable[str]
) -> Iterable[tuple[int, str, str]]:
    """(party id, metric, "met"|"breached") of every clock that ended in ``[since, until]``."""
    wanted = tuple(metrics)
    for row in rows:
        for party, clocks in row.sla_state.items():
            for metric in wanted:
                entry = clocks.get(metric)
                if not entry:
                    continue
                result = outcome(entry, until=until)
                if result is not None and since <= result[1] <= until:
                    yield int(party), metric, result[0]


def attainment(
    rows: Iterable[TicketRow],
    *,
    since: dt.datetime,
    until: dt.datetime,
    metrics: Iterable[str] = ATTAINMENT_METRICS,
) -> dict[int, dict[str, Attainment]]:
    """``{party_id: {metric: Attainment}}`` of the clocks that ended in the window; every
    metric asked for is present for every party that appears."""
    wanted = tuple(metrics)
    counts: dict[int, dict[str, list[int]]] = {}
    for party, metric, result in _outcomes(rows, since=since, until=until, metrics=wanted):
        per_metric = counts.setdefault(party, {m: [0, 0] for m in wanted})
        per_metric[metric][0 if result == "met" else 1] += 1
    return {
        party: {m: Attainment(met=c[0], breached=c[1]) for m, c in per_metric.items()}
        for party, per_metric in counts.items()
    }


def breaches(
    rows: Iterable[TicketRow],
    *,
    since: dt.datetime,
    until: dt.datetime,
    metrics: Iterable[str] = ("first_response", "next_update", "resolution"),
) -> dict[int, dict[str, int]]:
    """``{party_id: {metric: breaches}}``: clocks breached in the window (parties and metrics
    without a breach are left out)."""
    found: dict[int, dict[str, int]] = {}
    for party, metric, result in _outcomes(rows, since=since, until=until, metrics=metrics):
        if result == "breached":
            per_metric = found.setdefault(party, {})
            per_metric[metric] = per_metric.get(metric, 0) + 1
    return found


def open_by_party(rows: Iterable[TicketRow]) -> dict[int, int]:
    """Open tickets per holding party."""
    found: dict[int, int] = {}
    for row in rows:
        if row.is_open:
            found[row.party_id] = found.get(row.party_id, 0) + 1
    return found


def age_bucket(age: dt.timedelta) -> str:
    """The label of the bucket ``age`` falls in (lower bound inclusive)."""
    for label, low, high in AGE_BUCKETS:
        if age >= low and (high is None or age < high):
            return label
    return AGE_BUCKETS[0][0]  # created "in the future" (clock skew): as new as it gets


def backlog_age_buckets(rows: Iterable[TicketRow], *, now: dt.datetime) -> dict[str, int]:
    """Open tickets by age since creation, every bucket present, in order."""
    found = {label: 0 for label, _, _ in AGE_BUCKETS}
    for row in rows:
        if row.is_open:
            found[age_bucket(now - row.created_at)] += 1
    return found


def handoff_stats(
    handoffs: Iterable[HandoffRow],
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict[tuple[int, int], HandoffCount]:
    """``{(from party, to party): HandoffCount}`` of the handoffs in the window."""
    counts: dict[tuple[int, int], list[int]] = {}
    for handoff in handoffs:
        if since is not None and handoff.at < since:
            continue
        if until is not None and handoff.at > until:
            continue
        pair = counts.setdefault((handoff.from_party_id, handoff.to_party_id), [0, 0])
        pair[0] += 1
        pair[1] += int(handoff.is_ping_pong)
    return {key: HandoffCount(handoffs=c[0], ping_pong=c[1]) for key, c in counts.items()}
