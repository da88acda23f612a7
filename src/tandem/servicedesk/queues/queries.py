"""Reads of the queue: filters, search, SLA states, rows and saved views."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass as _dataclass
from typing import Any as _Any

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection as _connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone as _timezone

from tandem.core.lookups import IdIn
from tandem.core.principal import Principal
from tandem.core.scoping import system_context
from tandem.servicedesk.queues.models import SavedView
from tandem.servicedesk.tickets.models import Ticket
from tandem.servicedesk.tickets.queries import it_tenant_ids, own_party_ids, tickets

#: How close a due date must be for a ticket to count as "due soon".
DUE_SOON = _dt.timedelta(hours=1)
SLA_STATES = {"breached": "Breached", "due_soon": "Due soon", "on_time": "On time"}
#: Status filters over each tenant's own workflow, whatever its statuses are called: every
#: status not of kind resolved or closed, or every one that is. Status keys are lower-case
#: letters, digits and hyphens, so these values can never be a tenant's status.
OPEN_STATUSES = "is:open"
DONE_STATUSES = "is:done"
STATUS_GROUPS = {OPEN_STATUSES: "Any open status", DONE_STATUSES: "Resolved or closed"}
_DUE_FIELDS = ("first_response_due", "next_update_due", "resolution_due")


@_dataclass
class QueueRow:
    """One row of a queue page, read as plain values (no model instances: building fifty
    tickets with their tenant, party and assignee cost more than the query). The views fill
    in the links, display times and labels (``queues.views.prepare_rows``)."""

    pk: int
    tenant_id: int
    number: int
    subject: str
    status: str
    priority: int
    party_id: int
    assignee_id: int | None
    created_at: _dt.datetime
    first_response_due: _dt.datetime | None
    next_update_due: _dt.datetime | None
    resolution_due: _dt.datetime | None
    tenant_name: str
    tenant_time_zone: str
    party_name: str
    assignee_full_name: str | None
    assignee_email: str | None
    requester_full_name: str
    requester_email: str
    source: str
    # Filled in for display by the views.
    url: str = ""
    tenant_url: str = ""
    created_iso: str = ""
    created_label: str = ""
    due_iso: str = ""
    due_label: str = ""
    overdue: bool = False
    assignee_name: str = ""
    requester_name: str = ""
    source_label: str = ""
    status_name: str = ""
    status_tone: str = ""
    it: bool = False
    sla_label: str = ""


#: ``QueueRow``'s columns, in its field order.
_QUEUE_ROW_COLUMNS = (
    "pk",
    "tenant_id",
    "number",
    "subject",
    "status",
    "priority",
    "party_id",
    "assignee_id",
    "created_at",
    *_DUE_FIELDS,
    "tenant__name",
    "tenant__time_zone",
    "party__name",
    "assignee__full_name",
    "assignee__email",
    "requester__full_name",
    "requester__email",
    "source",
)


def queue_rows(keys: list[int]) -> list[QueueRow]:
    """The queue rows of ``keys``, in that order. The keys come from a queue read through
    the principal's policy and scope, so the rows are read by key alone."""

    if not keys:
        return []
    with system_context("load the rows of a page whose keys were read in scope"):
        found = {
            values[0]: values
            for values in Ticket._base_manager.filter(IdIn("pk", keys))
            .order_by()
            .values_list(*_QUEUE_ROW_COLUMNS)
        }
    return [QueueRow(*found[key]) for key in keys if key in found]


def queue_rows_of(rows: QuerySet[Ticket], chunk_size: int = 500) -> Iterator[QueueRow]:
    """Every row of ``rows`` as a :class:`QueueRow`, streamed in chunks (the CSV export)."""
    for values in rows.values_list(*_QUEUE_ROW_COLUMNS).iterator(chunk_size=chunk_size):
        yield QueueRow(*values)


def search_tickets(rows: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    """Tickets whose subject or description match ``text``, or whose number it is.

    PostgreSQL: full-text search in web-search syntax ("printer -jam", quoted phrases).
    Elsewhere (SQLite in development and tests): a case-insensitive substring match.
    """
    text = text.strip()
    if not text:
        return rows
    number = text.lstrip("#")
    by_number = Q(number=int(number)) if number.isdigit() and len(number) < 10 else Q(pk__in=[])
    if _connection.vendor == "postgresql":
        # The same configuration on both sides: with the server's default (often "english")
        # for the text, "Acme" became "acm" and never matched the query's "acme". The
        # expression is exactly the one of the GIN index (migration 0008), so it is used.
        vector = SearchVector("subject", "description", config="simple")
        query = SearchQuery(text, search_type="websearch", config="simple")
        return rows.annotate(search=vector).filter(Q(search=query) | by_number)
    return rows.filter(Q(subject__icontains=text) | Q(description__icontains=text) | by_number)


def sla_condition(state: str, now: _dt.datetime | None = None) -> Q:
    """Tickets in an SLA state: ``breached`` (a running clock's due date has passed),
    ``due_soon`` (none passed, one due within the hour) or ``on_time`` (the rest, including
    tickets whose clocks are met or paused: their due dates are cleared)."""
    now = now or _timezone.now()
    breached = Q(pk__in=[])
    soon = Q(pk__in=[])
    for field in _DUE_FIELDS:
        breached |= Q(**{f"{field}__lt": now})
        soon |= Q(**{f"{field}__gte": now, f"{field}__lt": now + DUE_SOON})
    if state == "breached":
        return breached
    if state == "due_soon":
        return soon & ~breached
    return ~breached & ~soon


def sla_state_of(ticket: Ticket | QueueRow, now: _dt.datetime) -> str:
    """The same classification as :func:`sla_condition`, for one loaded ticket."""
    dues = [d for d in (getattr(ticket, f) for f in _DUE_FIELDS) if d is not None]
    if any(d < now for d in dues):
        return "breached"
    if any(d < now + DUE_SOON for d in dues):
        return "due_soon"
    return "on_time"


def queue(principal: Principal, filters: dict[str, _Any]) -> QuerySet[Ticket]:
    """The tickets of a queue: those the principal sees, narrowed by ``filters``.

    Keys (all optional): ``scope`` (``mine``: assigned to me; ``my_parties``: held by a
    party I act for), ``tenant_id``, ``status``, ``priority``, ``party_id``,
    ``assignee_id``, ``service_area_id``, ``sla`` (see :func:`sla_condition`), ``q`` (text).
    Unknown keys are ignored, so a saved view written by an older version still opens.
    """
    rows = tickets(principal)
    if filters.get("scope") in ("mine", "my_parties") or uses_it_only(filters):
        rows = only_where_it(principal, rows)
    scope = filters.get("scope")
    if scope == "mine":
        rows = rows.filter(assignee_id=principal.user_id)
    elif scope == "my_parties":
        rows = rows.filter(party_id__in=sorted(own_party_ids(principal)))
    for key in ("tenant_id", "status", "priority", "party_id", "assignee_id", "service_area_id"):
        if filters.get(key) not in (None, ""):
            if key == "status" and filters[key] in STATUS_GROUPS:
                rows = rows.filter(status_group_condition(filters[key]))
                continue
            rows = rows.filter(**{key: filters[key]})
    if filters.get("sla") in SLA_STATES:
        rows = rows.filter(sla_condition(filters["sla"]))
    if filters.get("q"):
        rows = search_tickets(rows, str(filters["q"]))
    return rows


#: Filters over what requesters are never shown of a ticket (who holds it, whom it is
#: assigned to, its service area, its clocks). Filtering by a hidden field would tell it
#: anyway ("which of my tickets does party 7 hold?"), so these reach only the tickets of
#: tenants where the caller works in IT: :func:`only_where_it`.
IT_ONLY_FILTERS = ("party_id", "assignee_id", "service_area_id", "sla")
#: Orderings by such fields (the API's ``ordering``), treated the same way.
IT_ONLY_ORDERINGS = ("resolution_due",)


def uses_it_only(filters: dict[str, _Any], ordering: str | None = None) -> bool:
    """Whether ``filters`` (or ``ordering``) ask about something requesters are not shown."""
    if (ordering or "").lstrip("-") in IT_ONLY_ORDERINGS:
        return True
    return any(filters.get(key) not in (None, "") for key in IT_ONLY_FILTERS)


def only_where_it(principal: Principal, rows: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """``rows`` narrowed to the tenants where the principal works for a party: a requester
    learns nothing from a filter over what it is not shown (it finds nothing)."""
    return rows.filter(tenant_id__in=sorted(it_tenant_ids(principal)))


def status_group_condition(group: str) -> Q:
    """Tickets that are open (``is:open``: not resolved or closed, whatever each tenant
    calls its statuses) or resolved or closed (``is:done``).

    Read from ``resolved_at``, which the status services keep in step with the kind of a
    ticket's status: set when it is resolved or closed (or merged), cleared when it is
    reopened; a status's kind cannot change while tickets hold it. So no workflow is
    consulted, and the database walks the small newest-first index of open tickets
    (``ticket_open_created``) instead of every ticket.
    """
    return Q(resolved_at__isnull=group == OPEN_STATUSES)


def saved_views(principal: Principal) -> QuerySet[_Any]:
    """The principal's own saved views: they are personal, nobody else sees them."""

    return SavedView.objects.filter(owner_id=principal.user_id or 0).order_by("name")


def saved_view(principal: Principal, saved_view_id: int) -> _Any:
    """One of the principal's saved views; anyone else's is not found."""

    found = saved_views(principal).filter(pk=saved_view_id).first()
    if found is None:
        raise Http404("no such saved view")
    return found


def bulk_tickets(principal: Principal, ticket_ids: list[int]) -> list[Ticket]:
    """The tickets of a bulk change, in the order given, if the principal sees every one;
    else not found (one out of reach must not tell which of the others exist)."""
    wanted = list(dict.fromkeys(ticket_ids))
    found = {t.pk: t for t in tickets(principal).filter(pk__in=wanted)}
    if len(found) != len(wanted):
        raise Http404("no such ticket")
    return [found[pk] for pk in wanted]
