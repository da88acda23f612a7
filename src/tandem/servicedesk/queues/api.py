"""The queue API: list, export, saved views and bulk changes."""

from typing import Any

from django.http import StreamingHttpResponse
from ninja import Query, Router
from ninja.pagination import paginate

from tandem.accounts.models import User
from tandem.core.actions import declare_action
from tandem.core.api import (
    CappedLimitOffsetPagination,
    Id,
    Pagination,
    ordered,
)
from tandem.core.errors import InvalidInput
from tandem.core.principal import Principal
from tandem.core.request import TandemRequest
from tandem.servicedesk.queues import exports, queries, services
from tandem.servicedesk.queues.schemas import (
    BulkIn,
    BulkOut,
    QueueFilter,
    SavedViewIn,
    SavedViewOut,
)
from tandem.servicedesk.tickets import services as ticket_services
from tandem.servicedesk.tickets.queries import TICKET_ORDER
from tandem.servicedesk.tickets.schemas import TicketView

router = Router(tags=["service desk"])


def queue_filters(principal: Principal, given: QueueFilter) -> dict[str, Any]:
    """The filters to apply: the saved view's (if any), overridden by those given."""
    filters: dict[str, Any] = {}
    if given.view_id is not None:
        filters.update(queries.saved_view(principal, given.view_id).filters)
    filters.update(given.model_dump(exclude={"view_id"}, exclude_none=True))
    return filters


@router.get("/queue", response=list[TicketView])
@paginate(CappedLimitOffsetPagination)
@declare_action("servicedesk.view_ticket")
def list_queue(request: TandemRequest, filters: Query[QueueFilter], ordering: str | None = None):  # type: ignore[no-untyped-def]
    """Tickets the caller may see, filtered (text search is full-text on PostgreSQL)."""
    principal = request.principal
    rows = queries.queue(principal, queue_filters(principal, filters))
    if queries.uses_it_only({}, ordering):
        rows = queries.only_where_it(principal, rows)
    rows = rows.select_related(None).select_related("party")  # all TicketView names
    return ordered(rows, ordering or "-created_at", TICKET_ORDER)


@router.get("/queue/export")
@declare_action("servicedesk.view_ticket")
def export_queue(request: TandemRequest, filters: Query[QueueFilter]):  # type: ignore[no-untyped-def]
    """The filtered queue as CSV, newest first (requesters: their own tickets, without the
    party, assignee or SLA columns' contents)."""
    principal = request.principal
    rows = queries.queue(principal, queue_filters(principal, filters)).order_by("-created_at")
    response = StreamingHttpResponse(
        exports.tickets_csv(principal, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="tandem-tickets.csv"'
    return response


@router.get("/saved-views", response=list[SavedViewOut])
@paginate(Pagination)
@declare_action("servicedesk.view_ticket")
def list_saved_views(request: TandemRequest):  # type: ignore[no-untyped-def]
    """The caller's own saved views (nobody else's, whatever their role)."""
    return queries.saved_views(request.principal)


@router.post("/saved-views", response={201: SavedViewOut})
@declare_action("servicedesk.view_ticket")
def create_saved_view(request: TandemRequest, payload: SavedViewIn):  # type: ignore[no-untyped-def]
    view = services.create_saved_view(
        actor=request.principal, name=payload.name, filters=payload.filters
    )
    return 201, view


@router.delete("/saved-views/{saved_view_id}", response={204: None})
@declare_action("servicedesk.view_ticket")
def delete_saved_view(request: TandemRequest, saved_view_id: Id):  # type: ignore[no-untyped-def]
    principal = request.principal
    services.delete_saved_view(actor=principal, view=queries.saved_view(principal, saved_view_id))
    return 204, None


@router.post("/queue/bulk", response=BulkOut)
@declare_action("servicedesk.change_ticket")
def bulk_change(request: TandemRequest, payload: BulkIn):  # type: ignore[no-untyped-def]
    """Change up to 200 tickets at once: all or nothing. Any ticket the caller cannot see
    makes the whole request 404; any it sees but may not change, 403."""
    principal = request.principal
    tickets = queries.bulk_tickets(principal, payload.ticket_ids)
    assignee = None
    if payload.action == "assign" and payload.assignee_id is not None:
        assignee = User.objects.filter(pk=payload.assignee_id, is_active=True).first()
        if assignee is None:
            # The same words as for a real person who may not take the tickets.
            raise InvalidInput({"assignee_id": [ticket_services.NOT_ASSIGNABLE]})
    services.bulk_update_tickets(
        actor=principal,
        tickets=tickets,
        action=payload.action,
        assignee=assignee,
        status=payload.status,
        impact=payload.impact,
        urgency=payload.urgency,
    )
    return {"updated": len(tickets), "ticket_ids": [t.pk for t in tickets]}
