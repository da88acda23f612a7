"""The queue as CSV: what the caller may see, in the page's words (status names, "P2",
times in each tenant's zone), safe to open in a spreadsheet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils import timezone

from tandem.core.csv_export import csv_lines
from tandem.core.principal import Principal
from tandem.core.scoping import principal_scope
from tandem.servicedesk.choices import SOURCE_LABELS
from tandem.servicedesk.config import queries as config_queries
from tandem.servicedesk.queues import queries
from tandem.servicedesk.tickets import queries as ticket_queries
from tandem.servicedesk.tickets.models import Ticket

HEADER = (
    "number",
    "tenant",
    "subject",
    "status",
    "priority",
    "party",
    "assignee",
    "requester",
    "source",
    "created",
    "resolution due",
    "time zone",
    "SLA state",
)


def tickets_csv(principal: Principal, rows: QuerySet[Ticket]) -> Iterator[str]:
    """Stream ``rows`` as CSV lines. For tickets of tenants where the caller is only a
    requester, the party reads "IT" and the assignee and SLA columns stay empty."""
    it_tenants = ticket_queries.it_tenant_ids(principal)
    now = timezone.now()
    # The response streams after the view has returned: enter the caller's scope again.
    with principal_scope(principal):
        # Every tenant's status names at once (cached per desk configuration).
        names = {
            tenant_id: {key: name for key, name, _kind in statuses}
            for tenant_id, statuses in config_queries.workflows(principal.tenant_ids).items()
        }
        yield from csv_lines(HEADER, _rows(rows, it_tenants, names, now))


def local_time(moment: dt.datetime | None, zone: ZoneInfo) -> str:
    """``2026-12-05 14:05`` on the tenant's wall clock, as the page shows it (a spreadsheet
    reads it as a date and time); the zone is in its own column."""
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}" if moment is not None else ""


def _rows(
    rows: QuerySet[Ticket],
    it_tenants: set[int],
    status_names: dict[int, dict[str, str]],
    now: dt.datetime,
) -> Iterator[tuple[Any, ...]]:
    """The queue's rows as the page words them (cells made safe by :func:`csv_lines`)."""
    zones: dict[str, ZoneInfo] = {}
    for ticket in queries.queue_rows_of(rows):
        it = ticket.tenant_id in it_tenants
        name = ticket.tenant_time_zone
        zone = zones.get(name) or zones.setdefault(name, ZoneInfo(name))
        yield (
            ticket.number,
            ticket.tenant_name,
            ticket.subject,
            status_names.get(ticket.tenant_id, {}).get(ticket.status, ticket.status),
            f"P{ticket.priority}",
            ticket.party_name if it else "IT",
            (ticket.assignee_full_name or ticket.assignee_email or "") if it else "",
            (ticket.requester_full_name or ticket.requester_email) if it else "",
            SOURCE_LABELS.get(ticket.source, ticket.source),
            local_time(ticket.created_at, zone),
            local_time(ticket.resolution_due, zone) if it else "",
            name,
            queries.SLA_STATES[queries.sla_state_of(ticket, now)] if it else "",
        )
