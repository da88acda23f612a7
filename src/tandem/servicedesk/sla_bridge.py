"""Between the ORM and the pure SLA clock: load a ticket's history, policies and calendars,
compute every party's clock, and store the results on the ticket."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.servicedesk import desk_config
from tandem.servicedesk.choices import EventKind
from tandem.servicedesk.desk_config import DeskConfig
from tandem.servicedesk.tickets.models import Ticket, TicketEvent
from tandem.sla import clock
from tandem.sla.calendar import BusinessCalendar

# The pages still name the settings row through this module; it lives with the rest of the
# desk configuration's read side.
desk_settings = desk_config.desk_settings

_KIND = {
    EventKind.RESPONDED: clock.EventKind.RESPONDED,
    EventKind.RESOLVED: clock.EventKind.RESOLVED,
    EventKind.REOPENED: clock.EventKind.REOPENED,
}


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
    return dict(desk_config.current(tenant_id).calendars)


class PartyCalendars(dict):  # type: ignore[type-arg]
    """Party calendars with a default for parties that have none."""

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(key, super().get(0))


def sla_state(
    events: list[clock.TicketEvent], config: DeskConfig, *, now: dt.datetime
) -> dict[str, Any]:
    """Every policy-holding party's clocks over ``events``, as stored in ``Ticket.sla_state``."""
    calendars = PartyCalendars(config.calendars)
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
    config: DeskConfig | None = None,
    events: list[TicketEvent] | None = None,
    save: bool = True,
) -> dict[str, Any]:
    """Recompute every party's clock for ``ticket`` and store the results on it.

    The ticket's headline due dates are those of the party holding it now. ``config`` (the
    tenant's :class:`~tandem.servicedesk.desk_config.DeskConfig`) and ``events`` (the whole
    history, unsaved rows allowed) spare the queries when the caller has them; with
    ``save=False`` only the instance is updated, for a caller about to save it anyway.
    """
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
