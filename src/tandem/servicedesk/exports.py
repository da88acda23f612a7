"""The queue as CSV: what the caller may see, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from tandem.core.principal import Principal
from tandem.core.scoping import principal_scope
from tandem.servicedesk import queries
from tandem.servicedesk.models import Ticket

HEADER = (
    "number",
    "tenant",
    "subject",
    "status",
    "priority",
    "party",
    "assignee",
    "created",
    "resolution due",
    "SLA state",
)
#: Characters that make a spreadsheet read a cell as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The cell as text, with a leading quote when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def tickets_csv(principal: Principal, rows: QuerySet[Ticket]) -> Iterator[str]:
    """Stream ``rows`` as CSV lines. For tickets of tenants where the caller is only a
    requester, the party reads "IT" and the assignee and SLA columns stay empty."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    it_tenants = queries.it_tenant_ids(principal)
    now = timezone.now()
    # The response streams after the view has returned: enter the caller's scope again.
    with principal_scope(principal):
        yield from _lines(writer, rows, it_tenants, now)


def _lines(writer: Any, rows: QuerySet[Ticket], it_tenants: set[int], now: Any) -> Iterator[str]:
    for ticket in queries.queue_rows_of(rows):
        it = ticket.tenant_id in it_tenants
        yield writer.writerow(
            [
                safe_cell(c)
                for c in (
                    ticket.number,
                    ticket.tenant_name,
                    ticket.subject,
                    ticket.status,
                    ticket.priority,
                    ticket.party_name if it else "IT",
                    (ticket.assignee_full_name or ticket.assignee_email or "") if it else "",
                    ticket.created_at.isoformat(),
                    ticket.resolution_due.isoformat() if it and ticket.resolution_due else "",
                    queries.SLA_STATES[queries.sla_state_of(ticket, now)] if it else "",
                )
            ]
        )
