"""Service-desk API: tickets, their notes, history, handoffs and time; the matrix and its
gap analysis. Thin handlers: find through the policy (404 out of reach), call one service."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from tandem.accounts.models import User
from tandem.core import policies
from tandem.core.actions import declare_action
from tandem.core.api import CappedLimitOffsetPagination, Id, Pagination, ordered, principal_of
from tandem.core.errors import InvalidInput
from tandem.servicedesk import queries, services, services_config
from tandem.servicedesk.models import ResponsibilityRow
from tandem.servicedesk.schemas import (
    AssignIn,
    CalendarIn,
    CalendarOut,
    CannedReplyIn,
    CannedReplyOut,
    CannedReplyPatch,
    CommentIn,
    CommentView,
    CoverageIn,
    CoverageOut,
    EventOut,
    HandoffIn,
    MatrixOut,
    MatrixRowIn,
    MatrixRowOut,
    PriorityIn,
    SlaPolicyIn,
    SlaPolicyOut,
    StatusIn,
    TicketFilter,
    TicketIn,
    TicketView,
    TimeIn,
    TimeOut,
)
from tandem.tenancy import queries as tenancy_queries

router = Router(tags=["service desk"])

#: A party id the caller may not see reads exactly as one that does not exist.
NO_SUCH_PARTY = "No such party in this tenant."

TICKET_ORDER = {
    "number": "number",
    "created_at": "created_at",
    "priority": "priority",
    "status": "status",
    "resolution_due": "resolution_due",
}


def _tenant_for_write(request: HttpRequest, tenant_id: int):  # type: ignore[no-untyped-def]
    try:
        return tenancy_queries.tenant(principal_of(request), tenant_id)
    except Http404 as exc:
        raise InvalidInput({"tenant_id": ["No such tenant."]}) from exc


@router.get("/tickets", response=list[TicketView])
@paginate(CappedLimitOffsetPagination)
@declare_action("servicedesk.view_ticket")
def list_tickets(request: HttpRequest, filters: Query[TicketFilter], ordering: str | None = None):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    rows = filters.filter(queries.tickets(principal))
    if queries.uses_it_only(filters.model_dump(), ordering):
        rows = queries.only_where_it(principal, rows)
    # TicketView names only the party: joining the tenant, people and area as the pages do
    # tripled the time PostgreSQL spent planning the page's load.
    rows = rows.select_related(None).select_related("party")
    return ordered(rows, ordering or "-created_at", TICKET_ORDER)


@router.post("/tickets", response={201: TicketView})
@declare_action("servicedesk.add_ticket")
def create_ticket(request: HttpRequest, payload: TicketIn):  # type: ignore[no-untyped-def]
    """Open a ticket as its requester, or (IT people) log one for a caller: the caller is
    one of the tenant's people (``requester_id``) or someone new (``requester``), with how
    they called (``source``) and optionally who takes it (``party_id``, ``assignee_id``).
    Requesters may not set those (403)."""
    principal = principal_of(request)
    tenant = _tenant_for_write(request, payload.tenant_id)
    own = payload.model_dump(
        exclude={"tenant_id", "requester_id", "requester", "source", "party_id", "assignee_id"}
    )
    if payload.logs_for_caller():
        caller = payload.requester
        ticket = services.log_ticket_for_caller(
            actor=principal,
            tenant=tenant,
            requester_id=payload.requester_id,
            new_requester_name=caller.full_name if caller else "",
            new_requester_email=caller.email if caller else "",
            source=payload.source or "",
            holder_id=payload.party_id,
            assignee_id=payload.assignee_id,
            via="api",
            **own,
        )
    else:
        user = User.objects.get(pk=principal.user_id or 0)
        ticket = services.create_ticket(
            actor=principal, tenant=tenant, requester=user, via="api", **own
        )
    return 201, queries.ticket(principal, ticket.pk)


@router.get("/tickets/{ticket_id}", response=TicketView)
@declare_action("servicedesk.view_ticket")
def get_ticket(request: HttpRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    return queries.ticket(principal_of(request), ticket_id)


@router.post("/tickets/{ticket_id}/status", response=TicketView)
@declare_action("servicedesk.change_ticket")
def change_status(request: HttpRequest, ticket_id: Id, payload: StatusIn):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    services.change_status(actor=principal, ticket=ticket, status=payload.status)
    return queries.ticket(principal, ticket_id)


@router.post("/tickets/{ticket_id}/priority", response=TicketView)
@declare_action("servicedesk.change_ticket")
def reprioritise(request: HttpRequest, ticket_id: Id, payload: PriorityIn):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    services.reprioritise_ticket(actor=principal, ticket=ticket, **payload.model_dump())
    return queries.ticket(principal, ticket_id)


@router.post("/tickets/{ticket_id}/handoff", response=TicketView)
@declare_action("servicedesk.handoff_ticket")
def handoff(request: HttpRequest, ticket_id: Id, payload: HandoffIn):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    # Only parties the caller sees: one it may not see answers as one that does not exist
    # (the service's refusal would name it).
    party = queries.parties(principal, ticket.tenant_id).filter(pk=payload.to_party_id).first()
    if party is None:
        raise InvalidInput({"to_party_id": [NO_SUCH_PARTY]})
    services.handoff_ticket(actor=principal, ticket=ticket, to_party=party, reason=payload.reason)
    return queries.ticket(principal, ticket_id)


@router.post("/tickets/{ticket_id}/assign", response=TicketView)
@declare_action("servicedesk.change_ticket")
def assign(request: HttpRequest, ticket_id: Id, payload: AssignIn):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    assignee = None
    if payload.assignee_id is not None:
        assignee = User.objects.filter(pk=payload.assignee_id, is_active=True).first()
        if assignee is None:
            # The same words as for a real person who may not take it (``assign_ticket``).
            raise InvalidInput({"assignee_id": [services.NOT_ASSIGNABLE]})
    services.assign_ticket(actor=principal, ticket=ticket, assignee=assignee)
    return queries.ticket(principal, ticket_id)


@router.get("/tickets/{ticket_id}/comments", response=list[CommentView])
@paginate(Pagination)
@declare_action("servicedesk.view_ticket")
def list_comments(request: HttpRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    return queries.comments(principal, queries.ticket(principal, ticket_id))


@router.post("/tickets/{ticket_id}/comments", response={201: CommentView})
@declare_action("servicedesk.comment_ticket")
def add_comment(request: HttpRequest, ticket_id: Id, payload: CommentIn):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    comment = services.add_comment(
        actor=principal,
        ticket=ticket,
        body=payload.body,
        visibility=payload.visibility,
        via="api",
    )
    return 201, comment


@router.get("/tickets/{ticket_id}/events", response=list[EventOut])
@paginate(Pagination)
@declare_action("servicedesk.view_ticket")
def list_events(request: HttpRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    """The ticket's history (holders, routing and handoff reasons): IT people only."""
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    if not queries.is_it_in(principal, ticket.tenant_id):
        raise PermissionDenied("the history is for IT people")
    return ticket.events.all()


@router.post("/tickets/{ticket_id}/time", response={201: TimeOut})
@declare_action("servicedesk.log_time_on_ticket")
def log_time(request: HttpRequest, ticket_id: Id, payload: TimeIn):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    ticket = queries.ticket(principal, ticket_id)
    return 201, services.log_time(actor=principal, ticket=ticket, **payload.model_dump())


@router.get("/tickets/{ticket_id}/time", response=list[TimeOut])
@paginate(Pagination)
@declare_action("servicedesk.log_time_on_ticket")
def list_time(request: HttpRequest, ticket_id: Id):  # type: ignore[no-untyped-def]
    """Time entries: the tenant's IT sees all of them, a provider its own party's (the
    ticket page's rule, ``queries.time_entries``)."""
    principal = principal_of(request)
    return queries.time_entries(principal, queries.ticket(principal, ticket_id))


@router.get("/tenants/{tenant_id}/matrix", response=MatrixOut)
@declare_action("servicedesk.view_matrix")
def get_matrix(request: HttpRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The responsibility matrix, the coverage, and what it leaves uncovered this week: what
    the matrix page shows the caller (a provider: its engagement's areas and sites, and no
    other provider's parties)."""
    principal = principal_of(request)
    view = queries.matrix_view(principal, _matrix_tenant(request, tenant_id))
    return {
        "tenant_id": tenant_id,
        "version": view.version,
        "rows": view.rows,
        "coverage": view.coverage,
        "findings": [
            {
                "kind": f.kind,
                "message": f.message,
                "service_area_id": f.service_area_id,
                "priority": f.priority,
                "windows": [[a.isoformat(), b.isoformat()] for a, b in f.windows],
            }
            for f in view.findings
        ],
    }


@router.post("/matrix-rows", response={201: MatrixRowOut})
@declare_action("servicedesk.change_matrix")
def add_matrix_row(request: HttpRequest, payload: MatrixRowIn):  # type: ignore[no-untyped-def]
    tenant = _tenant_for_write(request, payload.tenant_id)
    row = services.add_matrix_row(
        actor=principal_of(request), tenant=tenant, **payload.model_dump(exclude={"tenant_id"})
    )
    return 201, row


@router.delete("/matrix-rows/{matrix_row_id}", response={204: None})
@declare_action("servicedesk.change_matrix")
def remove_matrix_row(request: HttpRequest, matrix_row_id: Id):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    row = ResponsibilityRow.objects.filter(pk=matrix_row_id).select_related("tenant").first()
    if row is None or not policies.allowed(principal, "servicedesk.view_matrix", row.tenant):
        raise Http404("not found")
    services.remove_matrix_row(actor=principal, row=row)
    return 204, None


# --- Calendars, SLA policies, coverage ------------------------------------------------------


def _matrix_tenant(request: HttpRequest, tenant_id: int):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    tenant = tenancy_queries.tenant(principal, tenant_id)
    policies.authorize(principal, "servicedesk.view_matrix", tenant)
    return tenant


@router.get("/tenants/{tenant_id}/calendars", response=list[CalendarOut])
@paginate(Pagination)
@declare_action("servicedesk.view_matrix")
def list_calendars(request: HttpRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    from tandem.sla.models import Calendar

    return Calendar.objects.filter(tenant=_matrix_tenant(request, tenant_id))


@router.post("/calendars", response={201: CalendarOut})
@declare_action("servicedesk.change_matrix")
def create_calendar(request: HttpRequest, payload: CalendarIn):  # type: ignore[no-untyped-def]
    tenant = _tenant_for_write(request, payload.tenant_id)
    data = payload.model_dump(exclude={"tenant_id"})
    # The same full validation as the pages (errors name the zone, weekday or date).
    return 201, services_config.add_calendar(actor=principal_of(request), tenant=tenant, **data)


@router.get("/tenants/{tenant_id}/sla-policies", response=list[SlaPolicyOut])
@paginate(Pagination)
@declare_action("servicedesk.view_matrix")
def list_sla_policies(request: HttpRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's IT sees every SLA and OLA; a provider only the terms of its own party
    (another provider's contract is none of its business)."""
    tenant = _matrix_tenant(request, tenant_id)
    return services_config.sla_policies(principal_of(request), tenant.pk)


@router.post("/sla-policies", response={201: SlaPolicyOut})
@declare_action("servicedesk.change_matrix")
def create_sla_policy(request: HttpRequest, payload: SlaPolicyIn):  # type: ignore[no-untyped-def]
    tenant = _tenant_for_write(request, payload.tenant_id)
    data = payload.model_dump(exclude={"tenant_id"})
    # Targets and pause statuses validated and normalised as the pages and edits do.
    return 201, services_config.add_sla_policy(actor=principal_of(request), tenant=tenant, **data)


@router.post("/coverage", response={201: CoverageOut})
@declare_action("servicedesk.change_matrix")
def add_coverage(request: HttpRequest, payload: CoverageIn):  # type: ignore[no-untyped-def]
    tenant = _tenant_for_write(request, payload.tenant_id)
    party = queries.parties(principal_of(request), tenant.pk).filter(pk=payload.party_id).first()
    if party is None:
        raise InvalidInput({"party_id": [NO_SUCH_PARTY]})
    data = payload.model_dump(exclude={"tenant_id", "party_id"})
    return 201, services.add_coverage(
        actor=principal_of(request), tenant=tenant, party=party, **data
    )


# --- Canned replies -----------------------------------------------------------------------------


@router.get("/tenants/{tenant_id}/canned-replies", response=list[CannedReplyOut])
@paginate(Pagination)
@declare_action("servicedesk.view_cannedreply")
def list_canned_replies(request: HttpRequest, tenant_id: Id):  # type: ignore[no-untyped-def]
    """The tenant's canned replies and your own party's (another party's are never listed)."""
    principal = principal_of(request)
    tenant = tenancy_queries.tenant(principal, tenant_id)
    return queries.canned_replies(principal, tenant.pk)


@router.get("/canned-replies/{canned_reply_id}", response=CannedReplyOut)
@declare_action("servicedesk.view_cannedreply")
def get_canned_reply(request: HttpRequest, canned_reply_id: Id):  # type: ignore[no-untyped-def]
    return queries.canned_reply(
        principal_of(request), canned_reply_id, "servicedesk.view_cannedreply"
    )


@router.post("/canned-replies", response={201: CannedReplyOut})
@declare_action("servicedesk.change_cannedreply")
def create_canned_reply(request: HttpRequest, payload: CannedReplyIn):  # type: ignore[no-untyped-def]
    tenant = _tenant_for_write(request, payload.tenant_id)
    return 201, services.create_canned_reply(
        actor=principal_of(request), tenant=tenant, **payload.model_dump(exclude={"tenant_id"})
    )


@router.patch("/canned-replies/{canned_reply_id}", response=CannedReplyOut)
@declare_action("servicedesk.change_cannedreply")
def update_canned_reply(request: HttpRequest, canned_reply_id: Id, payload: CannedReplyPatch):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    reply = queries.canned_reply(principal, canned_reply_id, "servicedesk.change_cannedreply")
    return services.update_canned_reply(
        actor=principal, reply=reply, **payload.model_dump(exclude_unset=True)
    )


@router.delete("/canned-replies/{canned_reply_id}", response={204: None})
@declare_action("servicedesk.change_cannedreply")
def delete_canned_reply(request: HttpRequest, canned_reply_id: Id):  # type: ignore[no-untyped-def]
    principal = principal_of(request)
    reply = queries.canned_reply(principal, canned_reply_id, "servicedesk.change_cannedreply")
    services.delete_canned_reply(actor=principal, reply=reply)
    return 204, None
