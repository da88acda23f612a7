"""Between the ORM and the pure SLA clock: load a ticket's history, policies and calendars,
compute every party's clock, and store the results on the ticket."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from tandem.servicedesk.choices import EventKind
from tandem.servicedesk.config.models import DeskSettings
from tandem.servicedesk.tickets.models import Ticket, TicketEvent
from tandem.sla import clock
from tandem.sla.calendar import BusinessCalendar, build_calendar
from tandem.sla.models import Calendar, SlaPolicy

_KIND = {
    EventKind.RESPONDED: clock.EventKind.RESPONDED,
    EventKind.RESOLVED: clock.EventKind.RESOLVED,
    EventKind.REOPENED: clock.EventKind.REOPENED,
}


#: Built calendars by (row id, last change, year): building one asks the ``holidays`` package
#: for four years of holidays, which costs more than a whole SLA computation. A calendar
#: edit changes ``updated_at`` and so misses the cache; the year rolls the holiday window.
_BUILT: dict[tuple[int, dt.datetime, int], BusinessCalendar] = {}


def to_business_calendar(row: Calendar) -> BusinessCalendar:
    """The pure calendar of a stored one, with the public holidays of last year through the
    year after next (from the ``holidays`` package) plus the tenant's own days off."""
    this_year = timezone.now().year
    if row.pk is None:
        return _build(row, this_year)
    key = (row.pk, row.updated_at, this_year)
    built = _BUILT.get(key)
    if built is None:
        if len(_BUILT) > 10_000:
            _BUILT.clear()
        built = _BUILT[key] = _build(row, this_year)
    return built


def _build(row: Calendar, this_year: int) -> BusinessCalendar:
    return build_calendar(
        time_zone=row.time_zone,
        weekly={int(day): [tuple(i) for i in intervals] for day, intervals in row.weekly.items()},
        country=row.holiday_country or None,
        subdivision=row.holiday_subdivision or None,
        years=range(this_year - 1, this_year + 3),
        extra_holidays=[dt.date.fromisoformat(d) for d in row.custom_holidays],
        special_days={
            dt.date.fromisoformat(day): [tuple(i) for i in intervals]
            for day, intervals in row.special_days.items()
        },
    )


def to_clock_policy(row: SlaPolicy) -> clock.SlaPolicy:
    """The pure policy: targets in minutes become business seconds; statuses pause metrics."""
    return clock.SlaPolicy(
        targets={
            f"P{priority}": {metric: int(minutes) * 60 for metric, minutes in metrics.items()}
            for priority, metrics in row.targets.items()
        },
        pauses={metric: frozenset(statuses) for metric, statuses in row.pause_statuses.items()},
        warn_fraction=row.warn_at_percent / 100 if 0 < row.warn_at_percent < 100 else None,
        around_the_clock=frozenset({"P1"}),
    )


def as_clock_event(event: TicketEvent) -> clock.TicketEvent:
    """The pure clock's view of one history entry.

    Merging a ticket into another closes it, so for its clocks the merge is a resolution
    (one of a ticket resolved already changes nothing); the ticket it was merged into
    merely changed (its entry names the merged ticket, not an ``into_id``)."""
    kind = _KIND.get(event.kind, clock.EventKind.CHANGE)  # type: ignore[call-overload]
    if event.kind == EventKind.MERGED and "into_id" in (event.detail or {}):
        kind = clock.EventKind.RESOLVED
    return clock.TicketEvent(
        at=event.at,
        status=event.status,
        holder=event.party_id,
        priority=f"P{event.priority}",
        kind=kind,
    )


def history(ticket: Ticket) -> list[clock.TicketEvent]:
    return [
        as_clock_event(e) for e in TicketEvent.objects.filter(ticket=ticket).order_by("at", "id")
    ]


def party_calendars(tenant_id: int, time_zone: str = "") -> dict[int, BusinessCalendar]:
    """Each party's SLA calendar: its active policy's, else its first coverage calendar,
    else around the clock in the tenant's zone (key 0)."""
    from tandem.servicedesk import desk_config

    return dict(desk_config.current(tenant_id).calendars)


class _Calendars(dict):  # type: ignore[type-arg]
    """Party calendars with a default for parties that have none."""

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(key, super().get(0))


def sla_state(events: list[clock.TicketEvent], config: Any, *, now: dt.datetime) -> dict[str, Any]:
    """Every policy-holding party's clocks over ``events``, as stored in ``Ticket.sla_state``."""
    calendars = _Calendars(config.calendars)
    state: dict[str, Any] = {}
    holders = {int(e.holder) for e in events}  # type: ignore[call-overload]
    for party_id in sorted(holders & set(config.policies)):
        result = clock.compute_clock(
            events, policy=config.policies[party_id], calendars=calendars, now=now, party=party_id
        )
        state[str(party_id)] = {
            m.metric.value: {
                "state": m.state.value,
                "target": m.target,
                "elapsed": m.elapsed,
                "due": m.due_at.isoformat() if m.due_at else None,
                "met": m.met_at.isoformat() if m.met_at else None,
                "breached": m.breached_at.isoformat() if m.breached_at else None,
                "breaches": m.breaches,
            }
            for m in result.metrics()
        }
    return state


def recompute_sla(
    ticket: Ticket,
    *,
    now: dt.datetime | None = None,
    config: Any = None,
    events: list[TicketEvent] | None = None,
    save: bool = True,
) -> dict[str, Any]:
    """Recompute every party's clock for ``ticket`` and store the results on it.

    The ticket's headline due dates are those of the party holding it now. ``config`` (the
    tenant's :class:`~tandem.servicedesk.desk_config.DeskConfig`) and ``events`` (the whole
    history, unsaved rows allowed) spare the queries when the caller has them; with
    ``save=False`` only the instance is updated, for a caller about to save it anyway.
    """
    from tandem.servicedesk import desk_config

    now = now or timezone.now()
    timeline = history(ticket) if events is None else [as_clock_event(e) for e in events]
    if not timeline:
        return {}
    config = config or desk_config.current(ticket.tenant_id)
    state = sla_state(timeline, config, now=now)
    _store(ticket, state)
    if save:
        ticket.save(update_fields=list(SLA_FIELDS))
    return state


SLA_FIELDS = ("sla_state", "first_response_due", "next_update_due", "resolution_due", "updated_at")


def recompute_open_tickets(
    tenant_id: int, *, now: dt.datetime | None = None, chunk: int = 500
) -> int:
    """Recompute and store the clocks of every open ticket of one tenant; how many.

    Works in chunks of ``chunk`` tickets, each in its own transaction: the chunk's rows are
    locked (so a ticket changed meanwhile is not overwritten with clocks from its older
    history), their events read in one query, the clocks computed in memory and written
    back in one bulk update. Call it in a named system context.
    """
    from django.db import transaction

    from tandem.servicedesk import desk_config

    now = now or timezone.now()
    config = desk_config.current(tenant_id)
    open_ids = list(
        Ticket.objects.filter(tenant_id=tenant_id, resolved_at__isnull=True, closed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(open_ids), chunk):
        with transaction.atomic():
            tickets = list(
                Ticket.objects.select_for_update().filter(pk__in=open_ids[start : start + chunk])
            )
            timelines: dict[int, list[clock.TicketEvent]] = {t.pk: [] for t in tickets}
            for event in TicketEvent.objects.filter(ticket_id__in=list(timelines)).order_by(
                "ticket_id", "at", "id"
            ):
                timelines[event.ticket_id].append(as_clock_event(event))
            for ticket in tickets:
                _store(ticket, sla_state(timelines[ticket.pk], config, now=now))
                ticket.updated_at = now
            Ticket.objects.bulk_update(tickets, SLA_FIELDS)
    return len(open_ids)


def _store(ticket: Ticket, state: dict[str, Any]) -> None:
    """Put computed clocks on the instance: the holder's due dates are the headline ones."""
    current = state.get(str(ticket.party_id), {})
    ticket.sla_state = state
    ticket.first_response_due = _due(current, "first_response")
    ticket.next_update_due = _due(current, "next_update")
    ticket.resolution_due = _due(current, "resolution")


def _due(metrics: dict[str, Any], name: str) -> dt.datetime | None:
    entry = metrics.get(name)
    if not entry or entry["state"] not in ("running", "breached") or not entry["due"]:
        return None
    return dt.datetime.fromisoformat(entry["due"])


def desk_settings(tenant_id: int) -> DeskSettings:
    from tandem.servicedesk.choices import DEFAULT_PRIORITY_MATRIX, DEFAULT_STATUSES

    found, _ = DeskSettings.objects.get_or_create(
        tenant_id=tenant_id,
        defaults={
            "priority_matrix": DEFAULT_PRIORITY_MATRIX,
            "statuses": [list(s) for s in DEFAULT_STATUSES],
        },
    )
    return found
